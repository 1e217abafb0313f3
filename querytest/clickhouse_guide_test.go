package querytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/clickhouse"
	"github.com/flowlens/flowlens/engine/clickhouse/chtest"
	"github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest"
)

// bothEngines generates records records of one day with the gen package and
// ingests the same files into a lake (ingest.Run) and into ClickHouse
// (ingest.ToClickHouse). It returns both engines and the two ingests' times.
func bothEngines(t testing.TB, records int) (lake *duckdb.Engine, ch *clickhouse.Engine, lakeTime, chTime time.Duration, n int64) {
	t.Helper()
	ch = openClickHouse(t)
	ctx := context.Background()
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw")
	sum, err := gen.Generate(ctx, gen.Config{Records: int64(records), Seed: 1, Hours: 24, Format: flowlog.Default(), Layout: gen.LayoutS3}, raw)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(raw, "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*.log.gz"))
	if err != nil || len(files) != sum.Files {
		t.Fatalf("generated %d files, found %d (%v)", sum.Files, len(files), err)
	}
	data := filepath.Join(dir, "data")
	t0 := time.Now()
	lr, err := ingest.Run(ctx, data, files, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lakeTime = time.Since(t0)
	t0 = time.Now()
	cr, err := ingest.ToClickHouse(ctx, ch.Store(), files, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chTime = time.Since(t0)
	if lr.RecordsStored != cr.RecordsStored || lr.RecordsQuarantined != cr.RecordsQuarantined || cr.RecordsStored != sum.Records {
		t.Fatalf("stored %d (quarantined %d) in the lake, %d (%d) in ClickHouse, generated %d",
			lr.RecordsStored, lr.RecordsQuarantined, cr.RecordsStored, cr.RecordsQuarantined, sum.Records)
	}
	if lake, err = duckdb.Open(ctx, engine.LakeDir(data), duckdb.Options{DataDir: data}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	return lake, ch, lakeTime, chTime, sum.Records
}

// guideSQL returns the SQL of a guide query for an engine's dialect.
func guideSQL(t testing.TB, q GuideQuery, dialect string) string {
	if q.Lang != "insights" {
		return q.Text
	}
	s, err := CompileInsights(q.Text, dialect)
	if err != nil {
		t.Fatalf("%s: compile for %s: %v", q.Name, dialect, err)
	}
	return s
}

// TestGuideClickHouse runs the user's guide queries verbatim on ClickHouse
// and on the lake over the same generated day: the answers must be the same,
// row for row where the query orders them (ties compared as sets of rows),
// and the guide's exfiltration query fails on both, saying what to fix.
func TestGuideClickHouse(t *testing.T) {
	chtest.URL(t)
	lake, ch, _, _, _ := bothEngines(t, 60_000)
	ctx := context.Background()
	for _, q := range GuideQueries {
		t.Run(q.Name, func(t *testing.T) {
			want, err := lake.Query(ctx, engine.Request{SQL: guideSQL(t, q, lake.Dialect())})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ch.Query(ctx, engine.Request{SQL: guideSQL(t, q, ch.Dialect())})
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Rows) == 0 {
				t.Fatal("no rows on the lake: the generated day has nothing for this query")
			}
			if !slices.Equal(got.Names(), want.Names()) {
				t.Fatalf("columns %v, want %v", got.Names(), want.Names())
			}
			g, w := Cells(got), Cells(want)
			// The ranked values agree row for row; rows tied on them may
			// come in another order, and a limit may cut ties differently.
			if d := diffRows(lastColumnRows(g), lastColumnRows(w)); d != "" {
				t.Errorf("ranked values differ (-clickhouse +lake):\n%s", d)
			}
			if len(g) == len(w) && !strings.Contains(q.Text, "limit") && !strings.Contains(q.Text, "LIMIT") {
				if d := diffRows(sortedRows(g), sortedRows(w)); d != "" {
					t.Errorf("rows differ (-clickhouse +lake):\n%s", d)
				}
			}
		})
	}
	t.Run("exfiltration", func(t *testing.T) {
		_, err := ch.Query(ctx, engine.Request{SQL: ExfiltrationQuery})
		qe := engine.AsError(err)
		if qe == nil || qe.Kind != engine.Invalid || !strings.Contains(qe.Error(), "dstaddr must appear in GROUP BY") ||
			!strings.Contains(qe.Hint, "add dstaddr to the GROUP BY") {
			t.Fatalf("error %v, want dstaddr must appear in GROUP BY, with how to fix it", err)
		}
		if start, end, ok := qe.Span(); !ok || ExfiltrationQuery[start:end] != "dstaddr" {
			t.Errorf("error points at %d-%d, want dstaddr", start, end)
		}
	})
}

func lastColumnRows(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r[len(r)-1:]
	}
	return out
}

// BenchmarkClickHouse ingests one generated day (FLOWLENS_BENCH_RECORDS
// records, 2 million by default) into the lake and into ClickHouse, then
// times every guide query on both (best of 3), and logs the table:
//
//	go test -run '^$' -bench ClickHouse -benchtime 1x ./querytest
func BenchmarkClickHouse(b *testing.B) {
	chtest.URL(b)
	n := 2_000_000
	if s := os.Getenv("FLOWLENS_BENCH_RECORDS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("FLOWLENS_BENCH_RECORDS: %v", err)
		}
	}
	lake, ch, lt, ct, recs := bothEngines(b, n)
	ctx := context.Background()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d records, one day: ingest into the lake %.1fs (%.0f records/s), into ClickHouse %.1fs (%.0f records/s)\n",
		recs, lt.Seconds(), float64(recs)/lt.Seconds(), ct.Seconds(), float64(recs)/ct.Seconds())
	b.ReportMetric(float64(recs)/lt.Seconds(), "lake-records/s")
	b.ReportMetric(float64(recs)/ct.Seconds(), "clickhouse-records/s")
	fmt.Fprintf(&sb, "%-18s %6s %10s %10s %8s\n", "query", "rows", "duckdb", "clickhouse", "ch/duck")
	b.ResetTimer()
	for range b.N {
		for _, q := range GuideQueries {
			var best [2]time.Duration
			rows := 0
			for i := 0; i < 3; i++ {
				for k, e := range []engine.Engine{lake, ch} {
					t0 := time.Now()
					res, err := e.Query(ctx, engine.Request{SQL: guideSQL(b, q, e.Dialect())})
					if err != nil {
						b.Fatalf("%s on %s: %v", q.Name, e.Dialect(), err)
					}
					if d := time.Since(t0); best[k] == 0 || d < best[k] {
						best[k] = d
					}
					rows = len(res.Rows)
				}
			}
			b.ReportMetric(best[1].Seconds()*1000, q.Name+"-clickhouse-ms")
			fmt.Fprintf(&sb, "%-18s %6d %10s %10s %7.2fx\n", q.Name, rows, best[0].Round(time.Millisecond/10),
				best[1].Round(time.Millisecond/10), best[1].Seconds()/best[0].Seconds())
		}
	}
	b.Log("\n" + sb.String())
}
