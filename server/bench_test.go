package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/duckdb"
)

// BenchmarkGuideQuery measures the guide's top-talkers Insights query over
// the test lake two ways in one run: compiled and run on the engine
// directly, and as POST /api/v1/query over loopback HTTP (JSON in and out).
// It reports requests per second and the median and 99th percentile
// latencies, so the server's own cost is the difference.
//
//	go test ./server -run '^$' -bench GuideQuery -benchtime 200x
func BenchmarkGuideQuery(b *testing.B) {
	data, _ := testLake(b)
	// An engine of its own with DuckDB's default threads, as serve opens it
	// (the tests' shared engine runs on one thread for stable row order).
	eng, err := duckdb.Open(context.Background(), engine.LakeDir(data), duckdb.Options{DataDir: data})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	body := queryBody(b, map[string]any{"query": guideTopTalkers})
	s, err := New(Options{DataDir: data, Engine: eng, Insights: compileInsights})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	client := ts.Client()
	post := func(b *testing.B, body string) {
		resp, err := client.Post(ts.URL+"/api/v1/query", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < 100 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}

	b.Run("engine", func(b *testing.B) {
		measure(b, func() {
			sql, err := compileInsights(guideTopTalkers, eng.Dialect())
			if err != nil {
				b.Fatal(err)
			}
			res, err := eng.Query(context.Background(), engine.Request{SQL: sql, MaxRows: DefaultRows})
			if err != nil || len(res.Rows) != 20 {
				b.Fatalf("%d rows, %v", len(res.Rows), err)
			}
		})
	})
	b.Run("http", func(b *testing.B) {
		measure(b, func() { post(b, body) })
	})
	// The server's own cost per request, apart from the query's: the
	// smallest statement, on the engine and over HTTP.
	b.Run("engine-select-1", func(b *testing.B) {
		measure(b, func() {
			if _, err := eng.Query(context.Background(), engine.Request{SQL: "SELECT 1 AS one"}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("http-select-1", func(b *testing.B) {
		measure(b, func() { post(b, `{"query": "SELECT 1 AS one"}`) })
	})
}

// measure runs op b.N times and reports req/s, p50-ms and p99-ms.
func measure(b *testing.B, op func()) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	began := time.Now()
	for b.Loop() {
		t := time.Now()
		op()
		lat = append(lat, time.Since(t))
	}
	total := time.Since(began)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lat))/total.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
