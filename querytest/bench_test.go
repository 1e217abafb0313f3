package querytest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkGuideQueries prepares one dataset (FLOWLENS_BENCH_RECORDS records,
// 2 million by default) and times every guide query on the lake, on DuckDB
// over the gzip text and on DuckDB over a plain Parquet copy, in one run. It
// reports the best time of each as a metric and logs the table; the targets
// are ≥ 20× faster than the gzip text and no slower than the plain copy.
//
//	go test -run '^$' -bench GuideQueries -benchtime 1x ./querytest
func BenchmarkGuideQueries(b *testing.B) {
	n := 2_000_000
	if s := os.Getenv("FLOWLENS_BENCH_RECORDS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("FLOWLENS_BENCH_RECORDS: %v", err)
		}
	}
	ctx := context.Background()
	d, err := PrepareBench(ctx, b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rs []BenchResult
	for i := 0; i < b.N; i++ {
		if rs, err = RunBench(ctx, d, CompileInsights, 6); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for _, r := range rs {
		b.ReportMetric(r.Lake.Seconds()*1000, r.Query+"-lake-ms")
		b.ReportMetric(r.VsRaw(), r.Query+"-x-vs-gzip")
		b.ReportMetric(r.VsPlain(), r.Query+"-x-vs-plain")
	}
	var sb strings.Builder
	FormatBench(&sb, d, rs)
	b.Log("\n" + sb.String())
}

// TestBenchSmall runs the benchmark harness on a small dataset, so that it
// keeps working; the speed targets are for the benchmark.
func TestBenchSmall(t *testing.T) {
	ctx := context.Background()
	d, err := PrepareBench(ctx, t.TempDir(), 30_000)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := RunBench(ctx, d, CompileInsights, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(GuideQueries) {
		t.Fatalf("%d results, want %d", len(rs), len(GuideQueries))
	}
	for _, r := range rs {
		if r.Rows == 0 {
			t.Errorf("%s: no rows", r.Query)
		}
	}
}
