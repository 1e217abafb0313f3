package source_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/s3test"
)

// BenchmarkS3Fetch lists and downloads a bucket as `flowlens ingest s3://…`
// does (16 downloads at once) and, when the aws CLI is installed, as
// `aws s3 sync` does into an empty folder (its default 10 requests at once):
// objects/s and MB/s for 1,000 small objects (a day of one busy flow log:
// 20 KiB each) and for 4 large ones (64 MiB each).
func BenchmarkS3Fetch(b *testing.B) {
	srv := s3test.Start(b)
	for _, tc := range []struct {
		name  string
		n     int
		bytes int
	}{
		{"small-1000x20KiB", 1000, 20 << 10},
		{"large-4x64MiB", 4, 64 << 20},
	} {
		bucket := srv.NewBucket(b)
		rng := rand.New(rand.NewPCG(1, 2))
		body := make([]byte, tc.bytes)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range tc.n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				key := awsKey(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute), i)
				srv.Put(b, bucket, key, bytes.Clone(body))
			}()
		}
		wg.Wait()
		total := int64(tc.n * tc.bytes)

		b.Run("flowlens/"+tc.name, func(b *testing.B) {
			for _, kv := range srv.Env() {
				k, v, _ := strings.Cut(kv, "=")
				b.Setenv(k, v)
			}
			c, err := source.NewS3(context.Background(), source.S3Options{Endpoint: srv.Endpoint, PathStyle: true})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				dir := b.TempDir()
				var objs []source.S3Object
				if _, err := c.List(context.Background(), source.S3Location{Bucket: bucket}, source.TimeRange{}, func(o source.S3Object) error {
					objs = append(objs, o)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				sem := make(chan struct{}, 16)
				for _, o := range objs {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer func() { <-sem; wg.Done() }()
						if _, err := c.Download(context.Background(), o, filepath.Join(dir, source.StagingName(o)), 4, nil); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(tc.n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
		b.Run("aws-s3-sync/"+tc.name, func(b *testing.B) {
			aws, err := exec.LookPath("aws")
			if err != nil {
				b.Skip("the aws CLI is not installed")
			}
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				dir := b.TempDir()
				cmd := exec.Command(aws, "s3", "sync", "--quiet", "--endpoint-url", srv.Endpoint, "s3://"+bucket+"/", dir)
				cmd.Env = cliEnv(srv)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("aws s3 sync: %v\n%s", err, out)
				}
			}
			b.ReportMetric(float64(tc.n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// cliEnv is the environment of the aws CLI: the server's credentials, the
// variables that must be empty left out (the CLI reads AWS_PROFILE= as a
// profile named "").
func cliEnv(srv *s3test.Server) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	for _, kv := range srv.Env() {
		if !strings.HasSuffix(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}
