package source_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flowlens/source"
	"github.com/flowlens/flowlens/source/s3test"
	"github.com/google/go-cmp/cmp"
)

func TestParseS3Location(t *testing.T) {
	tests := []struct {
		in      string
		want    source.S3Location
		wantErr string
	}{
		{in: "s3://bucket", want: source.S3Location{Bucket: "bucket"}},
		{in: "s3://bucket/", want: source.S3Location{Bucket: "bucket"}},
		{in: "s3://my.logs-1/AWSLogs/123/", want: source.S3Location{Bucket: "my.logs-1", Prefix: "AWSLogs/123/"}},
		{in: "s3://b-1/a b/c", want: source.S3Location{Bucket: "b-1", Prefix: "a b/c"}},
		{in: "s3:///key", wantErr: "names no bucket"},
		{in: "s3://", wantErr: "names no bucket"},
		{in: "s3://My_Bucket/x", wantErr: "is not a bucket name"},
		{in: "/tmp/x", wantErr: "is not an s3:// location"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := source.ParseS3Location(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestS3KeyTimes(t *testing.T) {
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		prefix    string
		a, b      time.Time
		depth     int
		wantFound bool
	}{
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/05/", day(2024, 3, 5), day(2024, 3, 6), 3, true},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/", day(2024, 3, 1), day(2024, 4, 1), 2, true},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/", day(2024, 1, 1), day(2025, 1, 1), 1, true},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/05/17/", day(2024, 3, 5).Add(17 * time.Hour), day(2024, 3, 5).Add(18 * time.Hour), 4, true},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/0", day(2024, 3, 1), day(2024, 4, 1), 2, true}, // incomplete last folder
		{"AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=03/day=05/", day(2024, 3, 5), day(2024, 3, 6), 3, true},
		{"logs/year=2023/month=12/day=31/hour=23/", day(2023, 12, 31).Add(23 * time.Hour), day(2024, 1, 1), 4, true},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/", time.Time{}, time.Time{}, 0, false},
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/02/31/", time.Time{}, time.Time{}, 0, false},
		{"AWSLogs/123456789012/", time.Time{}, time.Time{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			a, b, depth, ok := source.FolderTime(tt.prefix)
			if ok != tt.wantFound {
				t.Fatalf("found = %v, want %v", ok, tt.wantFound)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff([]any{tt.a, tt.b, tt.depth}, []any{a, b, depth}); diff != "" {
				t.Error(diff)
			}
		})
	}
	// Objects: the stamp in the name wins over the folders.
	key := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/06/123456789012_vpcflowlogs_us-east-1_fl-0abc_20240306T0005Z_0a1b2c3d.log.gz"
	a, b, ok := source.KeyTime(key)
	if want := time.Date(2024, 3, 6, 0, 5, 0, 0, time.UTC); !ok || !a.Equal(want) || !b.Equal(want.Add(time.Minute)) {
		t.Errorf("KeyTime(%s) = %v %v %v, want %v", key, a, b, ok, want)
	}
}

func TestTimeRangeOverlaps(t *testing.T) {
	t0 := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	r := source.TimeRange{From: t0, To: t0.Add(day)}
	tests := []struct {
		name string
		a, b time.Time
		want bool
	}{
		{"the day before", t0.Add(-day), t0, false},
		{"the day itself", t0, t0.Add(day), true},
		{"the day after, within the slack", t0.Add(day), t0.Add(2 * day), true},
		{"an object at 00:05 the day after", t0.Add(day + 5*time.Minute), t0.Add(day + 6*time.Minute), true},
		{"an object at 01:05 the day after", t0.Add(day + 65*time.Minute), t0.Add(day + 66*time.Minute), false},
		{"an object the minute before From", t0.Add(-time.Minute), t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := source.Overlaps(r, tt.a, tt.b); got != tt.want {
				t.Errorf("overlaps = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestS3Manifest(t *testing.T) {
	dir := t.TempDir()
	m, err := source.OpenS3Manifest(dir, "logs")
	if err != nil {
		t.Fatal(err)
	}
	a := source.S3Object{Bucket: "logs", Key: "a.log.gz", Size: 10, ETag: "e1"}
	b := source.S3Object{Bucket: "logs", Key: "b.log.gz", Size: 20, ETag: "e2"}
	if m.Done(a, "f") {
		t.Fatal("an empty manifest has a done")
	}
	if err := m.Mark([]source.S3ManifestEntry{{Key: a.Key, ETag: a.ETag, Size: a.Size, Format: "f"}}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	// A crash while appending b leaves a cut line: it is ignored, and the
	// next appends start on a line of their own.
	f, err := os.OpenFile(m.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"key":"b.log.gz","etag":"e2","si`)
	f.Close()
	m, err = source.OpenS3Manifest(dir, "logs")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		obj  source.S3Object
		fmt  string
		want bool
	}{
		{"done", a, "f", true},
		{"cut short by a crash", b, "f", false},
		{"another format", a, "g", false},
		{"another etag", source.S3Object{Bucket: "logs", Key: a.Key, Size: a.Size, ETag: "e9"}, "f", false},
		{"another size", source.S3Object{Bucket: "logs", Key: a.Key, Size: 11, ETag: a.ETag}, "f", false},
	}
	for _, tt := range tests {
		if got := m.Done(tt.obj, tt.fmt); got != tt.want {
			t.Errorf("%s: Done = %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := m.Mark([]source.S3ManifestEntry{{Key: b.Key, ETag: b.ETag, Size: b.Size, Format: "f"}}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	m, err = source.OpenS3Manifest(dir, "logs")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.Done(a, "f") || !m.Done(b, "f") || m.Len() != 2 {
		t.Errorf("after a reopen: a %v, b %v, %d entries", m.Done(a, "f"), m.Done(b, "f"), m.Len())
	}
	// A damaged line in the middle is an error naming the file and line.
	os.WriteFile(m.Path(), []byte("{}\nnot json\n{}\n"), 0o644)
	if _, err := source.OpenS3Manifest(dir, "logs"); err == nil || !strings.Contains(err.Error(), "logs.manifest:2") {
		t.Errorf("damaged manifest: err = %v, want one naming line 2", err)
	}
}

// newS3 returns a client of the test server at endpoint (the server itself
// or a proxy in front of it).
func newS3(t *testing.T, srv *s3test.Server, endpoint string) *source.S3 {
	t.Helper()
	srv.SetEnv(t)
	c, err := source.NewS3(context.Background(), source.S3Options{Endpoint: endpoint, PathStyle: true, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// awsKey is the key AWS gives an object delivered at t.
func awsKey(t time.Time, n int) string {
	return fmt.Sprintf("AWSLogs/123456789012/vpcflowlogs/us-east-1/%s/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_%s_%08x.log.gz",
		t.Format("2006/01/02"), t.Format("20060102T1504Z"), n)
}

// hiveKey is the key of a Parquet delivery with Hive-style partitions.
func hiveKey(t time.Time, n int) string {
	return fmt.Sprintf("AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=%s/month=%s/day=%s/hour=%s/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_%s_%08x.log.parquet",
		t.Format("2006"), t.Format("01"), t.Format("02"), t.Format("15"), t.Format("20060102T1504Z"), n)
}

// TestS3ListPrunes lists a bucket of 400 days of objects in both layouts for
// one week: the keys found must be exactly the week's (plus the hour of
// slack after it), and the LIST requests, counted by a proxy in front of the
// server, a few dozen rather than one per thousand keys of the whole bucket.
func TestS3ListPrunes(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	start := time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC)
	var all []string
	for d := range 400 {
		for _, h := range []int{0, 13} {
			at := start.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + 5*time.Minute)
			all = append(all, awsKey(at, d*100+h), hiveKey(at, d*100+h))
		}
	}
	all = append(all, "README.txt", "other/notes.txt")
	put := make(chan string)
	done := make(chan struct{})
	for range 16 {
		go func() {
			for k := range put {
				srv.Put(t, bucket, k, []byte("x"))
			}
			done <- struct{}{}
		}()
	}
	for _, k := range all {
		put <- k
	}
	close(put)
	for range 16 {
		<-done
	}

	proxy := srv.NewProxy(t)
	c := newS3(t, srv, proxy.URL)
	from := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 7)
	r := source.TimeRange{From: from, To: to}
	var got []string
	st, err := c.List(context.Background(), source.S3Location{Bucket: bucket}, r, func(o source.S3Object) error {
		got = append(got, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range all {
		a, _, ok := source.KeyTime(k)
		if !ok || (!a.Before(from) && a.Before(to.Add(source.DeliverySlack))) {
			want = append(want, k)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys listed for %v…%v (-want +got):\n%s", from, to, diff)
	}
	if int(st.Calls) != proxy.Lists() {
		t.Errorf("the client counted %d LIST requests, the server saw %d", st.Calls, proxy.Lists())
	}
	// Flat, the whole bucket takes ceil(1602/1000) = 2 requests and 1602
	// keys go by; the walk lists the folders down to the week's days only.
	if st.Calls > 60 {
		t.Errorf("%d LIST requests for one week", st.Calls)
	}
	t.Logf("one week of a %d-key bucket: %d keys in %d LIST requests, %d objects and folders pruned", len(all), len(got), st.Calls, st.Pruned)

	// Unbounded: one flat listing of everything.
	n := 0
	st, err = c.List(context.Background(), source.S3Location{Bucket: bucket}, source.TimeRange{}, func(source.S3Object) error { n++; return nil })
	if err != nil || n != len(all) || st.Calls != 2 {
		t.Errorf("unbounded listing: %d of %d keys in %d requests, err %v", n, len(all), st.Calls, err)
	}
	// A prefix inside the date folders: the week's days of January, and the
	// first object of the day after (delivered at 00:05, within the slack).
	n = 0
	_, err = c.List(context.Background(), source.S3Location{Bucket: bucket, Prefix: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/"}, r, func(source.S3Object) error { n++; return nil })
	if err != nil || n != 15 {
		t.Errorf("listing January 2024 for the week: %d keys, want 15 (7 days × 2 + 1), err %v", n, err)
	}
}

func TestS3Download(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	srv.Put(t, bucket, "big.log", data)
	srv.Put(t, bucket, "small.log", []byte("hello\n"))

	var cuts atomic.Int64
	proxy := srv.NewProxy(t)
	c := newS3(t, srv, proxy.URL)
	var objs map[string]source.S3Object = map[string]source.S3Object{}
	if _, err := c.List(context.Background(), source.S3Location{Bucket: bucket}, source.TimeRange{}, func(o source.S3Object) error {
		objs[o.Key] = o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lastMod := objs["big.log"].LastModified
	tests := []struct {
		name     string
		key      string
		cutTimes int64 // GETs of the key cut short
		wantErr  string
		wantGets int
	}{
		{name: "whole", key: "big.log", wantGets: 1},
		{name: "cut once, resumed", key: "big.log", cutTimes: 1, wantGets: 2},
		{name: "cut three times, resumed", key: "big.log", cutTimes: 3, wantGets: 4},
		{name: "cut every time", key: "big.log", cutTimes: 100, wantErr: "transfer broke off", wantGets: 4},
		{name: "small", key: "small.log", wantGets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cuts.Store(tt.cutTimes)
			gets := 0
			proxy.Hook = func(r *http.Request) *s3test.Fault {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/"+tt.key) {
					return nil
				}
				gets++
				if cuts.Add(-1) >= 0 {
					return &s3test.Fault{CutAfter: 100 << 10}
				}
				return nil
			}
			dst := filepath.Join(t.TempDir(), "obj")
			_, err := c.Download(context.Background(), objs[tt.key], dst, 4, nil)
			if gets != tt.wantGets {
				t.Errorf("%d GET requests, want %d", gets, tt.wantGets)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "s3://"+bucket+"/"+tt.key) {
					t.Fatalf("err = %v, want %q naming the object", err, tt.wantErr)
				}
				if _, err := os.Stat(dst); err == nil {
					t.Error("a failed download left a file")
				}
				if m, _ := filepath.Glob(dst + "*"); len(m) > 0 {
					t.Errorf("a failed download left %v", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dst)
			want := data
			if tt.key == "small.log" {
				want = []byte("hello\n")
			}
			if !bytes.Equal(got, want) {
				t.Errorf("downloaded %d bytes, not the object's %d", len(got), len(want))
			}
			if st, _ := os.Stat(dst); tt.key == "big.log" && !st.ModTime().Equal(lastMod) {
				t.Errorf("mtime %v, want the object's %v", st.ModTime(), lastMod)
			}
		})
	}
}

// TestS3Errors checks that each way of failing says what is wrong in the
// user's terms.
func TestS3Errors(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	srv.Put(t, bucket, "a.log", []byte("x\n"))
	list := func(c *source.S3, b string) error {
		_, err := c.List(context.Background(), source.S3Location{Bucket: b}, source.TimeRange{}, func(source.S3Object) error { return nil })
		return err
	}
	t.Run("no such bucket", func(t *testing.T) {
		err := list(newS3(t, srv, srv.Endpoint), "flowlens-no-such-bucket")
		if err == nil || !strings.Contains(err.Error(), "no such bucket") || !strings.Contains(err.Error(), "s3://flowlens-no-such-bucket/") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		srv.SetEnv(t)
		t.Setenv("AWS_ACCESS_KEY_ID", srv.ReaderKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", srv.ReaderSecret)
		c, err := source.NewS3(context.Background(), source.S3Options{Endpoint: srv.Endpoint, PathStyle: true, MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := list(c, srv.ReaderBucket); err != nil {
			t.Fatalf("the reader lists its own bucket: %v", err)
		}
		err = list(c, bucket)
		if err == nil || !strings.Contains(err.Error(), "access denied (403)") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		srv.SetEnv(t)
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
		c, _ := source.NewS3(context.Background(), source.S3Options{Endpoint: srv.Endpoint, PathStyle: true, MaxAttempts: 1})
		err := list(c, bucket)
		if err == nil || !(strings.Contains(err.Error(), "credentials were refused") || strings.Contains(err.Error(), "access denied")) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("nothing at the endpoint", func(t *testing.T) {
		err := list(newS3(t, srv, "http://127.0.0.1:1"), bucket)
		if err == nil || !strings.Contains(err.Error(), "cannot reach endpoint http://127.0.0.1:1") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		srv.SetEnv(t)
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		c, err := source.NewS3(context.Background(), source.S3Options{Endpoint: srv.Endpoint, PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckCredentials(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no AWS credentials found") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bucket in another region", func(t *testing.T) {
		proxy := srv.NewProxy(t)
		proxy.Hook = func(r *http.Request) *s3test.Fault {
			return &s3test.Fault{Status: http.StatusMovedPermanently, Header: http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}, "Content-Type": {"application/xml"}},
				Body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`}
		}
		err := list(newS3(t, srv, proxy.URL), bucket)
		if err == nil || !strings.Contains(err.Error(), "region eu-west-1, not us-east-1: give --s3-region eu-west-1") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("throttled, then served", func(t *testing.T) {
		proxy := srv.NewProxy(t)
		var n atomic.Int64
		proxy.Hook = func(r *http.Request) *s3test.Fault {
			if n.Add(1) <= 2 {
				return &s3test.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Content-Type": {"application/xml"}},
					Body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`}
			}
			return nil
		}
		if err := list(newS3(t, srv, proxy.URL), bucket); err != nil {
			t.Errorf("after 2 throttled attempts the third should list: %v", err)
		}
		if got := len(proxy.Requests()); got != 3 {
			t.Errorf("%d requests, want 3", got)
		}
	})
	t.Run("throttled for good", func(t *testing.T) {
		proxy := srv.NewProxy(t)
		proxy.Hook = func(r *http.Request) *s3test.Fault {
			return &s3test.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Content-Type": {"application/xml"}},
				Body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`}
		}
		err := list(newS3(t, srv, proxy.URL), bucket)
		if err == nil || !strings.Contains(err.Error(), "throttled by S3 (SlowDown)") {
			t.Errorf("err = %v", err)
		}
	})
}

// FuzzS3Keys checks the readers of S3 locations and key dates on any text:
// they never panic, a date span found is not empty, and a location parsed
// prints back as given (modulo the slash after the bucket).
func FuzzS3Keys(f *testing.F) {
	for _, s := range []string{
		"s3://bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/05/123456789012_vpcflowlogs_us-east-1_fl-1_20240305T0005Z_0a1b2c3d.log.gz",
		"s3://b.c-d/AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=02/day=29/hour=23/x.log.parquet",
		"s3://bucket", "s3:///", "s3://x/2024/13/40/", "s3://abc/year=1999/month=12/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := source.ParseS3Location(s)
		if err == nil {
			if got := loc.String(); got != s && got != s+"/" {
				t.Errorf("ParseS3Location(%q).String() = %q", s, got)
			}
		}
		if a, b, depth, ok := source.FolderTime(s); ok && (!a.Before(b) || depth < 1 || depth > 4) {
			t.Errorf("FolderTime(%q) = %v, %v, %d", s, a, b, depth)
		}
		if a, b, ok := source.KeyTime(s); ok && !a.Before(b) {
			t.Errorf("KeyTime(%q) = %v, %v", s, a, b)
		}
	})
}
