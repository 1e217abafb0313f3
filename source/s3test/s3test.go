// Package s3test connects the tests of S3 ingestion to the real S3-compatible
// server that scripts/services/s3.sh runs on 127.0.0.1 (SeaweedFS): it reads
// the endpoint and credentials the script wrote, skips the test with a clear
// message when the server is absent, and makes buckets and objects.
//
// It sits beside source only for tests; production code never imports it.
// The main type is Server.
package s3test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Server is the running S3-compatible server.
type Server struct {
	// Endpoint is its URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey may do everything.
	AccessKey, SecretKey string
	// ReaderKey and ReaderSecret may only list and read ReaderBucket.
	ReaderKey, ReaderSecret, ReaderBucket string
	// Client is an admin client.
	Client *s3.Client
}

// EnvFile returns the file scripts/services/s3.sh writes: $FLOWLENS_S3_ENV,
// else ~/.cache/flowlens/s3.env.
func EnvFile() string {
	if p := os.Getenv("FLOWLENS_S3_ENV"); p != "" {
		return p
	}
	cache := os.Getenv("FLOWLENS_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "flowlens")
	}
	return filepath.Join(cache, "s3.env")
}

var (
	once   sync.Once
	server *Server
	why    string
)

// Start returns the server, or skips t saying how to start it. It never
// returns a server that is not on a loopback address.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { server, why = find() })
	if server == nil {
		t.Skipf("no S3-compatible server: %s (run scripts/services/s3.sh, as ./test.sh does)", why)
	}
	return server
}

func find() (*Server, string) {
	env := map[string]string{}
	f, err := os.Open(EnvFile())
	if err != nil {
		return nil, fmt.Sprintf("%s not found", EnvFile())
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	s := &Server{
		Endpoint: env["FLOWLENS_S3_ENDPOINT"], AccessKey: env["FLOWLENS_S3_ACCESS_KEY"], SecretKey: env["FLOWLENS_S3_SECRET_KEY"],
		ReaderKey: env["FLOWLENS_S3_READER_ACCESS_KEY"], ReaderSecret: env["FLOWLENS_S3_READER_SECRET_KEY"], ReaderBucket: env["FLOWLENS_S3_READER_BUCKET"],
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Sprintf("%s names no endpoint", EnvFile())
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Sprintf("endpoint %s is not a loopback address; tests talk to 127.0.0.1 only", s.Endpoint)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return nil, fmt.Sprintf("nothing answers at %s", s.Endpoint)
	}
	c.Close()
	s.Client = s.NewClient(s.AccessKey, s.SecretKey)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Client.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		return nil, fmt.Sprintf("the server at %s does not answer S3 requests: %v", s.Endpoint, err)
	}
	return s, ""
}

// NewClient returns a client of the server with the given credentials.
func (s *Server) NewClient(key, secret string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
}

// Env returns the environment for a flowlens process or in-process run that
// uses the server with the admin credentials, and nothing of the machine's
// own AWS configuration (no profile, no instance metadata lookups).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=us-east-1",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=",
		"AWS_ENDPOINT_URL_S3=",
	}
}

// SetEnv sets Env for the test (not for parallel tests).
func (s *Server) SetEnv(t *testing.T) {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// NewBucket makes a bucket with a unique name for the test and removes it,
// with its objects, when the test ends.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("fl-%s-%08x", strings.ToLower(sanitize(t.Name())), rand.Uint32())
	if len(name) > 63 {
		name = name[len(name)-63:]
		name = "f" + strings.TrimLeft(name[1:], "-.")
	}
	ctx := context.Background()
	if _, err := s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() { s.EmptyBucket(t, name, true) })
	return name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// EmptyBucket deletes the objects of bucket, and the bucket too when remove.
func (s *Server) EmptyBucket(t testing.TB, bucket string, remove bool) {
	ctx := context.Background()
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Logf("list %s to empty it: %v", bucket, err)
			return
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if len(ids) > 0 {
			if _, err := s.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				t.Logf("empty %s: %v", bucket, err)
			}
		}
	}
	if remove {
		if _, err := s.Client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Logf("delete bucket %s: %v", bucket, err)
		}
	}
}

// Put stores one object.
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	_, err := s.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Upload stores every file under dir as an object named by its path below
// dir, under prefix, n at a time, and returns the keys.
func (s *Server) Upload(t testing.TB, bucket, prefix, dir string, n int) []string {
	t.Helper()
	var files []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(n, 1))
	errs := make(chan error, len(files))
	for i, p := range files {
		rel, _ := filepath.Rel(dir, p)
		keys[i] = prefix + filepath.ToSlash(rel)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := os.ReadFile(p)
			if err == nil {
				_, err = s.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[i]), Body: bytes.NewReader(data)})
			}
			if err != nil {
				errs <- fmt.Errorf("upload %s: %w", p, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return keys
}

// Fault is what a Proxy does to one request instead of passing it on.
type Fault struct {
	// Status, when set, is answered at once with Header and Body.
	Status int
	Header http.Header
	Body   string
	// CutAfter ≥ 0 passes the request on but breaks the connection after
	// this many bytes of the response body.
	CutAfter int64
}

// Proxy is a reverse proxy on 127.0.0.1 in front of the server that counts
// the requests it sees and can answer some itself or cut their responses
// short: throttling, redirects and broken transfers on demand.
type Proxy struct {
	URL  string
	Hook func(r *http.Request) *Fault

	mu       sync.Mutex
	requests []string
}

// NewProxy starts a proxy to s for the test.
func (s *Server) NewProxy(t testing.TB) *Proxy {
	t.Helper()
	target, _ := url.Parse(s.Endpoint)
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+r.URL.RequestURI())
		p.mu.Unlock()
		var f *Fault
		if p.Hook != nil {
			f = p.Hook(r)
		}
		if f != nil && f.Status != 0 {
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(f.Status)
			io.WriteString(w, f.Body)
			return
		}
		if f != nil && f.CutAfter >= 0 {
			rec := &cutWriter{ResponseWriter: w, left: f.CutAfter}
			defer func() {
				if v := recover(); v != nil && v != http.ErrAbortHandler {
					panic(v)
				}
			}()
			rp.ServeHTTP(rec, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	p.URL = ts.URL
	return p
}

// cutWriter passes on left bytes of a body, then aborts the connection.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > c.left {
		c.ResponseWriter.Write(b[:c.left])
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(b))
	return c.ResponseWriter.Write(b)
}

// Requests returns the requests seen so far, as "METHOD /path?query".
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Lists counts the LIST requests seen so far.
func (p *Proxy) Lists() int {
	n := 0
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, "list-type=2") {
			n++
		}
	}
	return n
}
