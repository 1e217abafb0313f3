package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/source/s3test"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// s3IngestCounts is what `ingest -o json` prints with s3:// sources.
type s3IngestCounts struct {
	RecordsRead        int64 `json:"records_read"`
	RecordsStored      int64 `json:"records_stored"`
	RecordsQuarantined int64 `json:"records_quarantined"`
	RecordsSkipped     int64 `json:"records_skipped"`
	Sources            int   `json:"sources"`
	SourcesSkipped     int   `json:"sources_skipped"`
	ObjectsListed      int64 `json:"objects_listed"`
	ObjectsSkipped     int64 `json:"objects_skipped"`
	ObjectsDownloaded  int64 `json:"objects_downloaded"`
	ObjectsFailed      int64 `json:"objects_failed"`
}

// genS3 writes records of gen in AWS's S3 layout under a new folder and
// returns it with the number of records and objects.
func genS3(t *testing.T, records int64, start time.Time, hours float64, seed uint64) (dir string, sum gen.Summary) {
	t.Helper()
	dir = t.TempDir()
	sum, err := gen.Generate(context.Background(), gen.Config{Records: records, Start: start, Hours: hours, Seed: seed, Layout: gen.LayoutS3}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, sum
}

// ingestS3CLI runs `flowlens ingest -o json` in-process over the test
// server's endpoint (or a proxy's) and returns the exit code and counts.
func ingestS3CLI(t *testing.T, data, endpoint string, args ...string) (int, s3IngestCounts, string) {
	t.Helper()
	all := append([]string{"--data", data, "-o", "json", "ingest", "--s3-endpoint", endpoint, "--s3-path-style"}, args...)
	code, out, errOut := runCLI(t, "", all...)
	var c s3IngestCounts
	if code == 0 || code == exitFailure && strings.HasPrefix(out, "{") {
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("ingest printed %q: %v (stderr %s)", out, err, errOut)
		}
	}
	return code, c, errOut
}

// lakeCounts returns count(*) and the number of distinct records in the lake.
func lakeCounts(t *testing.T, data string) (all, distinct int64) {
	t.Helper()
	code, out, errOut := runCLI(t, "", "--data", data, "-o", "csv", "query", "--lang", "sql",
		"SELECT count(*) AS n, (SELECT count(*) FROM (SELECT DISTINCT * FROM vpc_flow_logs)) AS d FROM vpc_flow_logs")
	if code != 0 {
		t.Fatalf("query: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("query printed %q", out)
	}
	f := strings.Split(lines[1], ",")
	all, _ = strconv.ParseInt(f[0], 10, 64)
	distinct, _ = strconv.ParseInt(f[1], 10, 64)
	return all, distinct
}

// TestIngestS3 ingests gen's objects from a bucket, again (nothing is
// fetched), then with new objects added (only those are fetched).
func TestIngestS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	dir, sum := genS3(t, 20000, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 3, 1)
	srv.Upload(t, bucket, "", dir, 16)
	data := t.TempDir()
	uri := "s3://" + bucket + "/"

	code, c, errOut := ingestS3CLI(t, data, srv.Endpoint, uri)
	if code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	n := int64(sum.Files)
	want := s3IngestCounts{RecordsRead: sum.Records, RecordsStored: sum.Records, Sources: sum.Files, ObjectsListed: n, ObjectsDownloaded: n}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("first ingest (-want +got):\n%s", diff)
	}
	if all, distinct := lakeCounts(t, data); all != sum.Records || distinct != sum.Records {
		t.Errorf("the lake holds %d records, %d distinct; gen wrote %d", all, distinct, sum.Records)
	}
	if m, _ := filepath.Glob(filepath.Join(data, "s3", "staging", "*", "*")); len(m) > 0 {
		t.Errorf("staged copies left behind: %v", m)
	}

	// Again: everything is skipped without a download.
	code, c, errOut = ingestS3CLI(t, data, srv.Endpoint, uri)
	want = s3IngestCounts{RecordsRead: sum.Records, RecordsSkipped: sum.Records, SourcesSkipped: sum.Files, ObjectsListed: n, ObjectsSkipped: n}
	if diff := cmp.Diff(want, c); code != 0 || diff != "" {
		t.Errorf("second ingest: exit %d (-want +got):\n%s\n%s", code, diff, errOut)
	}
	_, out, _ := runCLI(t, "", "--data", data, "ingest", "--s3-endpoint", srv.Endpoint, "--s3-path-style", uri)
	if !strings.Contains(out, fmt.Sprintf("nothing new: all %d sources were already ingested", n)) || !strings.Contains(out, fmt.Sprintf("skipped %d done before; downloaded 0", n)) {
		t.Errorf("text summary of a run with nothing new:\n%s", out)
	}

	// The next day's objects arrive: only they are fetched.
	dir2, sum2 := genS3(t, 5000, time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), 1, 2)
	srv.Upload(t, bucket, "", dir2, 16)
	code, c, errOut = ingestS3CLI(t, data, srv.Endpoint, uri)
	n2 := int64(sum2.Files)
	want = s3IngestCounts{RecordsRead: sum.Records + sum2.Records, RecordsStored: sum2.Records, RecordsSkipped: sum.Records,
		Sources: sum2.Files, SourcesSkipped: sum.Files, ObjectsListed: n + n2, ObjectsSkipped: n, ObjectsDownloaded: n2}
	if diff := cmp.Diff(want, c); code != 0 || diff != "" {
		t.Errorf("ingest of new objects: exit %d (-want +got):\n%s\n%s", code, diff, errOut)
	}
	if all, distinct := lakeCounts(t, data); all != sum.Records+sum2.Records || distinct != all {
		t.Errorf("the lake holds %d records, %d distinct; gen wrote %d", all, distinct, sum.Records+sum2.Records)
	}

	// The catalog names the objects by their s3:// URIs.
	cat, err := os.ReadFile(filepath.Join(data, "catalog.json"))
	if err != nil || !bytes.Contains(cat, []byte(`"path":"s3://`+bucket+`/AWSLogs/`)) {
		t.Errorf("the catalog does not name the objects by s3:// URI (err %v)", err)
	}

	// The data folder's S3 manifest is flowlens's own, never input.
	code, out, errOut = runCLI(t, "", "--data", data, "-o", "json", "ingest", data)
	if code != 0 || !strings.Contains(out, `"records_read":0,`) {
		t.Errorf("ingest of the data folder itself: exit %d: %s %s", code, out, errOut)
	}

	// A lake started again from nothing is filled again, whatever the
	// manifest says: the catalog is the truth.
	for _, p := range []string{"lake", "catalog.json"} {
		os.RemoveAll(filepath.Join(data, p))
	}
	code, c, errOut = ingestS3CLI(t, data, srv.Endpoint, uri)
	if code != 0 || c.RecordsStored != sum.Records+sum2.Records || c.ObjectsDownloaded != n+n2 {
		t.Errorf("ingest into an emptied lake: exit %d, %+v\n%s", code, c, errOut)
	}
}

// TestIngestS3Quarantine: bad lines of an object are quarantined under the
// object's s3:// URI and line number.
func TestIngestS3Quarantine(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	key := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/01/123456789012_vpcflowlogs_us-east-1_fl-1_20240301T0005Z_abcd1234.log.gz"
	srv.Put(t, bucket, key, gzipBytes(t, sampleLines+"2 123456789010 eni-1 10.0.0.1 10.0.0.2 x 22 6 1 1 1418530010 1418530070 ACCEPT OK\n"))
	// An object that is not gzip at all: quarantined whole, under its name.
	bad := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/03/01/bad.log.gz"
	srv.Put(t, bucket, bad, []byte("\x1f\x8bnot gzip at all"))
	data := t.TempDir()
	code, c, errOut := ingestS3CLI(t, data, srv.Endpoint, "s3://"+bucket+"/AWSLogs/")
	if code != 0 || c.RecordsStored != 2 || c.RecordsQuarantined != 2 {
		t.Fatalf("exit %d, counts %+v\n%s", code, c, errOut)
	}
	if want := "s3://" + bucket + "/" + bad + ": open s3://" + bucket + "/" + bad + ": corrupt gzip stream"; !strings.Contains(errOut, want) || strings.Contains(errOut, "staging") {
		t.Errorf("stderr does not name the broken object by its URI (want %q):\n%s", want, errOut)
	}
	q, _ := filepath.Glob(filepath.Join(data, "quarantine", "*.ndjson"))
	if len(q) != 1 {
		t.Fatalf("quarantine files %v", q)
	}
	b, _ := os.ReadFile(q[0])
	var e struct {
		Source string `json:"source"`
		Line   int64  `json:"line"`
	}
	var got []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		json.Unmarshal(line, &e)
		got = append(got, fmt.Sprintf("%s:%d", e.Source, e.Line))
	}
	slices.Sort(got)
	want := []string{"s3://" + bucket + "/" + key + ":4", "s3://" + bucket + "/" + bad + ":0"}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" || bytes.Contains(b, []byte("staging")) {
		t.Errorf("quarantined as (-want +got):\n%s\n%s", diff, b)
	}
}

// awsParquetRow is a record as AWS's Parquet delivery has it (default fields).
type awsParquetRow struct {
	Version     int32  `parquet:"version"`
	AccountID   string `parquet:"account_id,optional"`
	InterfaceID string `parquet:"interface_id,optional"`
	Srcaddr     string `parquet:"srcaddr,optional"`
	Dstaddr     string `parquet:"dstaddr,optional"`
	Srcport     *int32 `parquet:"srcport,optional"`
	Dstport     *int32 `parquet:"dstport,optional"`
	Protocol    *int32 `parquet:"protocol,optional"`
	Packets     *int64 `parquet:"packets,optional"`
	Bytes       *int64 `parquet:"bytes,optional"`
	Start       int64  `parquet:"start"`
	End         int64  `parquet:"end"`
	Action      string `parquet:"action,optional"`
	LogStatus   string `parquet:"log_status"`
}

// toParquet turns a gzip object of gen (default format) into AWS's Parquet.
func toParquet(t *testing.T, path string) ([]byte, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := flowlog.NewScanner(zr, flowlog.ScanOptions{})
	var rows []awsParquetRow
	i32 := func(r *flowlog.Record, fl flowlog.FieldID) *int32 {
		if v, ok := r.Int(fl); ok {
			x := int32(v)
			return &x
		}
		return nil
	}
	i64 := func(r *flowlog.Record, fl flowlog.FieldID) *int64 {
		if v, ok := r.Int(fl); ok {
			return &v
		}
		return nil
	}
	// Record values point into the scanner's buffer: copy them.
	str := func(r *flowlog.Record, fl flowlog.FieldID) string {
		v, _ := r.Str(fl)
		return strings.Clone(v)
	}
	addr := func(r *flowlog.Record, fl flowlog.FieldID) string {
		if a, ok := r.Addr(fl); ok {
			return a.String()
		}
		return ""
	}
	for {
		r, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		v, _ := r.Int(flowlog.Version)
		s, _ := r.Int(flowlog.Start)
		e, _ := r.Int(flowlog.End)
		rows = append(rows, awsParquetRow{Version: int32(v), AccountID: str(r, flowlog.AccountID), InterfaceID: str(r, flowlog.InterfaceID),
			Srcaddr: addr(r, flowlog.SrcAddr), Dstaddr: addr(r, flowlog.DstAddr), Srcport: i32(r, flowlog.SrcPort), Dstport: i32(r, flowlog.DstPort),
			Protocol: i32(r, flowlog.Protocol), Packets: i64(r, flowlog.Packets), Bytes: i64(r, flowlog.Bytes), Start: s, End: e,
			Action: str(r, flowlog.Action), LogStatus: str(r, flowlog.LogStatus)})
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[awsParquetRow](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), len(rows)
}

// TestIngestS3Parquet ingests Parquet deliveries in the Hive-style layout.
func TestIngestS3Parquet(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	dir := t.TempDir()
	v2, _ := gen.VersionFormat(2)
	sum, err := gen.Generate(context.Background(), gen.Config{Records: 6000, Hours: 2, Seed: 3, Format: v2, Layout: gen.LayoutS3}, dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	total := 0
	for i, p := range files {
		b, n := toParquet(t, p)
		total += n
		key := fmt.Sprintf("AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=03/day=01/hour=00/123456789012_vpcflowlogs_us-east-1_fl-1_20240301T0005Z_%08x.log.parquet", i)
		srv.Put(t, bucket, key, b)
	}
	if int64(total) != sum.Records {
		t.Fatalf("converted %d of %d records", total, sum.Records)
	}
	data := t.TempDir()
	code, c, errOut := ingestS3CLI(t, data, srv.Endpoint, "s3://"+bucket+"/AWSLogs/", "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z")
	if code != 0 || c.RecordsStored != sum.Records || c.ObjectsDownloaded != int64(len(files)) {
		t.Fatalf("exit %d, counts %+v, want %d records from %d objects\n%s", code, c, sum.Records, len(files), errOut)
	}
	if all, distinct := lakeCounts(t, data); all != sum.Records || distinct != sum.Records {
		t.Errorf("the lake holds %d records, %d distinct; want %d", all, distinct, sum.Records)
	}
}

// TestIngestS3Failures: errors the user can act on, and an object that
// breaks off every time it is fetched is counted as failed (exit 1) while
// the others are stored, and fetched again by the next run.
func TestIngestS3Failures(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	dir, sum := genS3(t, 4000, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 1, 4)
	keys := srv.Upload(t, bucket, "", dir, 16)

	t.Run("no such bucket", func(t *testing.T) {
		code, _, errOut := ingestS3CLI(t, t.TempDir(), srv.Endpoint, "s3://flowlens-absent/")
		if code != exitFailure || !strings.Contains(errOut, "list s3://flowlens-absent/: no such bucket (endpoint "+srv.Endpoint+")") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", srv.ReaderKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", srv.ReaderSecret)
		code, _, errOut := ingestS3CLI(t, t.TempDir(), srv.Endpoint, "s3://"+bucket+"/")
		if code != exitFailure || !strings.Contains(errOut, "access denied (403)") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("wrong endpoint", func(t *testing.T) {
		code, _, errOut := ingestS3CLI(t, t.TempDir(), "http://127.0.0.1:1", "s3://"+bucket+"/")
		if code != exitFailure || !strings.Contains(errOut, "cannot reach endpoint http://127.0.0.1:1") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		code, _, errOut := ingestS3CLI(t, t.TempDir(), srv.Endpoint, "s3://"+bucket+"/")
		if code != exitFailure || !strings.Contains(errOut, "no AWS credentials found") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("flags without s3", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "--data", t.TempDir(), "ingest", "--since", "7d", dir)
		if code != exitUsage || !strings.Contains(errOut, "--since applies to s3:// sources only") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("an object breaks off every time", func(t *testing.T) {
		broken := keys[len(keys)/2]
		proxy := srv.NewProxy(t)
		var mu sync.Mutex
		gets := 0
		proxy.Hook = func(r *http.Request) *s3test.Fault {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+broken) {
				mu.Lock()
				gets++
				mu.Unlock()
				return &s3test.Fault{CutAfter: 100}
			}
			return nil
		}
		data := t.TempDir()
		code, c, errOut := ingestS3CLI(t, data, proxy.URL, "s3://"+bucket+"/")
		if code != exitFailure || c.ObjectsFailed != 1 || c.ObjectsDownloaded != int64(len(keys)-1) {
			t.Fatalf("exit %d, %+v\n%s", code, c, errOut)
		}
		if !strings.Contains(errOut, "s3://"+bucket+"/"+broken+": get s3://"+bucket+"/"+broken+": transfer broke off after") || !strings.Contains(errOut, "will be tried again") {
			t.Errorf("stderr does not name the broken object:\n%s", errOut)
		}
		if gets != 4 {
			t.Errorf("the broken object was fetched %d times, want 4", gets)
		}
		stored := c.RecordsStored
		// Mended: the next run fetches it alone.
		proxy.Hook = nil
		code, c, errOut = ingestS3CLI(t, data, proxy.URL, "s3://"+bucket+"/")
		if code != 0 || c.ObjectsDownloaded != 1 || c.RecordsStored+stored != sum.Records {
			t.Errorf("after mending: exit %d, %+v, %d + %d records of %d\n%s", code, c, stored, c.RecordsStored, sum.Records, errOut)
		}
		if all, distinct := lakeCounts(t, data); all != sum.Records || distinct != all {
			t.Errorf("the lake holds %d records, %d distinct; want %d", all, distinct, sum.Records)
		}
	})
}

// TestIngestS3Since: --since lists only the date folders of the range.
func TestIngestS3Since(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	bucket := srv.NewBucket(t)
	// One small object per day for 60 days up to today.
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	var want int
	for d := range 60 {
		at := today.AddDate(0, 0, -d).Add(5 * time.Minute)
		start := at.Add(-5 * time.Minute).Unix()
		line := fmt.Sprintf("2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 %d 6 1 100 %d %d ACCEPT OK\n", 1000+d, start, start+60)
		key := fmt.Sprintf("AWSLogs/123456789012/vpcflowlogs/us-east-1/%s/123456789012_vpcflowlogs_us-east-1_fl-1_%s_%08x.log.gz", at.Format("2006/01/02"), at.Format("20060102T1504Z"), d)
		srv.Put(t, bucket, key, gzipBytes(t, ingestHeader+line))
		if !at.Before(now.AddDate(0, 0, -6)) {
			want++
		}
	}
	proxy := srv.NewProxy(t)
	data := t.TempDir()
	code, c, errOut := ingestS3CLI(t, data, proxy.URL, "--since", "6d", "s3://"+bucket+"/")
	if code != 0 || c.ObjectsListed != int64(want) || c.RecordsStored != int64(want) {
		t.Errorf("--since 6d: exit %d, %+v; want %d objects\n%s", code, c, want, errOut)
	}
	// Root, AWSLogs/, account, vpcflowlogs/, region, year(s), month(s),
	// and the 7 days: about 15 requests, never one per object.
	if n := proxy.Lists(); n > 20 {
		t.Errorf("%d LIST requests for 7 days of 60", n)
	}
	t.Logf("--since 6d over 60 days: %d objects in %d LIST requests", c.ObjectsListed, proxy.Lists())
}

const ingestHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"

// TestIngestS3Crash kills `flowlens ingest s3://…` processes at random
// moments; after every kill a later run must finish the job, and the lake
// must then hold each generated record exactly once.
func TestIngestS3Crash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flowlens binary and kills ingests")
	}
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	dir, sum := genS3(t, 60000, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 6, 5)
	srv.Upload(t, bucket, "", dir, 16)

	bin := filepath.Join(t.TempDir(), "flowlens")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flowlens: %v\n%s", err, out)
	}
	data := t.TempDir()
	args := []string{"--data", data, "-o", "json", "ingest", "--s3-endpoint", srv.Endpoint, "--s3-path-style", "--txn-bytes", "60000", "--s3-downloads", "4", "s3://" + bucket + "/"}
	env := append(os.Environ(), srv.Env()...)

	// Calibrate on a throwaway data folder.
	t0 := time.Now()
	cal := exec.Command(bin, append([]string{"--data", t.TempDir()}, args[2:]...)...)
	cal.Env = env
	if out, err := cal.CombinedOutput(); err != nil {
		t.Fatalf("calibration: %v\n%s", err, out)
	}
	full := time.Since(t0)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("a whole ingest takes %v; kill seed %d", full, seed)

	kills := 0
	for runs := 0; kills < 8 && runs < 100; runs++ {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(full))))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			kills++
			continue
		}
		if err != nil {
			t.Fatalf("run failed by itself: %v\n%s", err, stderr.String())
		}
		// It finished: start again from an empty lake to kill more.
		if all, distinct := lakeCounts(t, data); all != sum.Records || distinct != all {
			t.Fatalf("after a finished run the lake holds %d records, %d distinct; want %d", all, distinct, sum.Records)
		}
		data = t.TempDir()
		args[1] = data
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("final ingest: %v", err)
	}
	var c s3IngestCounts
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("final ingest printed %q", out)
	}
	if c.RecordsRead != sum.Records || c.RecordsQuarantined != 0 || c.ObjectsListed != int64(sum.Files) {
		t.Errorf("final ingest after %d kills: %+v, want %d records read of %d objects", kills, c, sum.Records, sum.Files)
	}
	if all, distinct := lakeCounts(t, data); all != sum.Records || distinct != sum.Records {
		t.Errorf("after %d kills the lake holds %d records, %d distinct; gen wrote %d", kills, all, distinct, sum.Records)
	}
	if out, err := exec.Command(bin, "--data", data, "lake", "verify").CombinedOutput(); err != nil {
		t.Errorf("lake verify: %v\n%s", err, out)
	}
	t.Logf("%d kills; %d records of %d objects", kills, sum.Records, sum.Files)
}

// BenchmarkIngestS3 ingests a day of gen's objects from the test server into
// an empty lake, and the same objects from a local copy, in the same run:
// what fetching from S3 adds to an ingest (download and ingest overlap).
func BenchmarkIngestS3(b *testing.B) {
	srv := s3test.Start(b)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	bucket := srv.NewBucket(b)
	dir := b.TempDir()
	sum, err := gen.Generate(context.Background(), gen.Config{Records: 1_000_000, Hours: 24, Seed: 9, Layout: gen.LayoutS3}, dir)
	if err != nil {
		b.Fatal(err)
	}
	srv.Upload(b, bucket, "", dir, 16)
	for _, tc := range []struct{ name, src string }{{"s3", "s3://" + bucket + "/"}, {"local", dir}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(sum.Bytes)
			args := []string{"ingest", tc.src}
			if tc.name == "s3" {
				args = []string{"ingest", "--s3-endpoint", srv.Endpoint, "--s3-path-style", tc.src}
			}
			for range b.N {
				code, out := runIngestBench(append([]string{"--data", b.TempDir(), "-o", "json"}, args...))
				if code != 0 || !strings.Contains(out, fmt.Sprintf(`"records_stored":%d`, sum.Records)) {
					b.Fatalf("exit %d: %s", code, out)
				}
			}
			b.ReportMetric(float64(sum.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(sum.Files)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// runIngestBench runs flowlens in-process for a benchmark and returns its exit
// code and output (standard error included).
func runIngestBench(args []string) (int, string) {
	cliMu.Lock()
	defer cliMu.Unlock()
	var out bytes.Buffer
	oldOut, oldErr := g.stdout, g.stderr
	g.stdout, g.stderr = &out, &out
	defer func() { g.stdout, g.stderr = oldOut, oldErr }()
	return run(context.Background(), args), out.String()
}
