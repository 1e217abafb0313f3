package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/insights/compile"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// lakeFixture is one generated day ingested into a lake, shared by the
// tests of the package (they only read it).
var lakeFixture struct {
	once sync.Once
	dir  string
	eng  engine.Engine
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if lakeFixture.eng != nil {
		lakeFixture.eng.Close()
	}
	if lakeFixture.dir != "" {
		os.RemoveAll(lakeFixture.dir)
	}
	os.Exit(code)
}

// fixtureRecords is the size of the generated day: enough for every guide
// query to return rows, small enough to build in about a second.
const fixtureRecords = 20_000

// testLake returns the data folder of the shared lake and an engine over it.
func testLake(t testing.TB) (string, engine.Engine) {
	t.Helper()
	f := &lakeFixture
	f.once.Do(func() {
		f.dir, f.err = os.MkdirTemp("", "flowlens-server-test-")
		if f.err != nil {
			return
		}
		ctx := context.Background()
		in := filepath.Join(f.dir, "in", "flow.log.gz")
		cfg := gen.Config{Records: fixtureRecords, Seed: 7, Start: gen.DefaultStart, Hours: 24, Layout: gen.LayoutFlat}
		if _, f.err = gen.Generate(ctx, cfg, in); f.err != nil {
			return
		}
		data := filepath.Join(f.dir, "data")
		if _, f.err = ingest.Run(ctx, data, []string{in}, ingest.Options{}); f.err != nil {
			return
		}
		// One thread makes the order of rows that tie under a sort (the guide
		// queries sort by counts) the same on every run, for the golden files.
		f.eng, f.err = duckdb.Open(ctx, engine.LakeDir(data), duckdb.Options{DataDir: data, Threads: 1})
	})
	if f.err != nil {
		t.Fatalf("build the test lake: %v", f.err)
	}
	return filepath.Join(f.dir, "data"), f.eng
}

// compileInsights is the compiler serve passes in (cmd/flowlens's
// insightsCompiler): Insights over the view's columns, for DuckDB.
func compileInsights(query, dialect string) (string, error) {
	if dialect != "duckdb" {
		return "", fmt.Errorf("the %s engine cannot run Insights queries yet; use SQL", dialect)
	}
	q, err := insights.Parse(query)
	if err != nil {
		return "", err
	}
	var cols []compile.Column
	for _, c := range engine.ViewColumns() {
		cols = append(cols, compile.Column{Name: c.Name, Type: c.Type, Aliases: c.Aliases})
	}
	return compile.Compile(q, compile.NewSchema(cols), compile.DuckDB, compile.Options{})
}

// fixedNow is the clock of the alert stores of the tests.
var fixedNow = time.Date(2024, 3, 2, 9, 0, 0, 0, time.UTC)

// sampleAlerts are firings of three rules, in the store's input shape.
func sampleAlerts() []alert.Alert {
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	return []alert.Alert{
		{Rule: "port-scan-vertical", Category: "port-scan", Severity: alert.High, Title: "203.0.113.66 probed 1000 ports of 10.0.1.5",
			Src: "203.0.113.66", Dst: "10.0.1.5", FirstSeen: day.Add(10 * time.Hour), LastSeen: day.Add(10*time.Hour + 9*time.Minute),
			Count: 1, Evidence: map[string]any{"ports": 1000}, MITRE: []string{"T1046"}},
		{Rule: "ssh-brute-force", Category: "brute-force", Severity: alert.Critical, Title: "198.51.100.7 tried SSH 800 times on 10.0.2.9",
			Src: "198.51.100.7", Dst: "10.0.2.9", FirstSeen: day.Add(14 * time.Hour), LastSeen: day.Add(15 * time.Hour),
			Count: 2, Evidence: map[string]any{"attempts": 800}, MITRE: []string{"T1110"}},
		{Rule: "flow-log-gap", Category: "flow-log-health", Severity: alert.Info, Title: "flow log fl-1 delivered nothing for 2h",
			FirstSeen: day.Add(3 * time.Hour), LastSeen: day.Add(5 * time.Hour), Count: 1, Evidence: map[string]any{"gap_minutes": 120}, Key: "fl-1"},
	}
}

// testStore returns an alert store in a new folder holding sampleAlerts.
func testStore(t testing.TB) *alert.Store {
	t.Helper()
	st, err := alert.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return fixedNow }
	if _, _, err := st.Upsert(sampleAlerts()); err != nil {
		t.Fatal(err)
	}
	return st
}

// newTestServer returns a server over the shared lake with a fresh alert
// store; change adjusts its options first.
func newTestServer(t testing.TB, change func(*Options)) *Server {
	t.Helper()
	data, eng := testLake(t)
	o := Options{DataDir: data, Engine: eng, Insights: compileInsights, Alerts: testStore(t), Version: "test", MaxQueries: 2}
	if change != nil {
		change(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request is one HTTP request of a table-driven test.
type request struct {
	method string
	path   string
	body   string
	header map[string]string
}

// response is what a handler answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) do(t testing.TB, rq request) response {
	t.Helper()
	method := rq.method
	if method == "" {
		method = http.MethodGet
		if rq.body != "" {
			method = http.MethodPost
		}
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:8080"+rq.path, strings.NewReader(rq.body))
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// normalize replaces what changes from run to run (durations, clock times,
// temporary paths) so that a body can be compared with a golden file.
func normalize(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e, k)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e, "")
		}
	case json.Number:
		if key == "seconds" {
			return json.Number("0")
		}
	case string:
		switch key {
		case "last_ingest", "last_run":
			return "TIME"
		case "data":
			return "DATA"
		}
	}
	return v
}

// golden renders a response as its golden text: the status, the headers a
// client relies on, and the body as indented JSON with normalize applied.
func golden(t testing.TB, r response) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "status %d\n", r.status)
	var keys []string
	for _, k := range []string{"Allow", "Content-Type", "Www-Authenticate", "Cache-Control"} {
		if v := r.header.Get(k); v != "" {
			keys = append(keys, k+": "+v)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "\n")
	}
	b.WriteByte('\n')
	var body any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber() // big integers keep every digit
	if err := dec.Decode(&body); err != nil {
		b.Write(r.body)
		return b.String()
	}
	out, err := json.MarshalIndent(normalize(body, ""), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b.Write(out)
	b.WriteByte('\n')
	return b.String()
}

// checkGolden compares got with testdata/NAME.golden, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

// decode reads a JSON body into v.
func decode(t testing.TB, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// readAll reads a response body and closes it.
func readAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
