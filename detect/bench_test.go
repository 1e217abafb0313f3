package detect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/gen"
)

// BenchmarkDetectDay runs the whole built-in pack over one generated day.
// FLOWLENS_BENCH_RECORDS sets the day's size (default 1 000 000; the target is
// 10 000 000 in under 30 s); the lake is generated once and kept under the
// temporary folder for later runs:
//
//	FLOWLENS_BENCH_RECORDS=10000000 go test ./detect -run '^$' -bench DetectDay -benchtime 1x
func BenchmarkDetectDay(b *testing.B) {
	records := int64(1_000_000)
	if n, err := strconv.ParseInt(os.Getenv("FLOWLENS_BENCH_RECORDS"), 10, 64); err == nil && n > 0 {
		records = n
	}
	cfg := gen.Config{Seed: 1, Start: gen.DefaultStart, Hours: 24, Records: records}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("flowlens-detect-bench-%d", records))
	if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
		os.RemoveAll(dir)
		b.Logf("generating %d records into %s", records, dir)
		genLake(b, dir, cfg)
		os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
	}
	var tlBuf bytes.Buffer
	if err := gen.WriteThreatList(&tlBuf, cfg); err != nil {
		b.Fatal(err)
	}
	tl, err := enrich.ParseThreatList("threats.txt", &tlBuf)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	eng, err := engine.Open(ctx, "", dir)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	rules, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	r := NewRunner(eng, rules, Options{ThreatLists: []*enrich.ThreatList{tl}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		rp := r.Run(ctx, cfg.Start, cfg.Start.Add(24*time.Hour))
		if err := rp.Err(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(records)/time.Since(began).Seconds(), "records/s")
		b.ReportMetric(float64(len(rp.Alerts)), "alerts")
	}
}
