package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest/baseline"
)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

// benchInput generates (once, cached under FLOWLENS_BENCH_DIR when set) an S3
// tree of n records in format (a gen --format value: v2, v5, …) over two days.
func benchInput(b *testing.B, n int64, format string) (dir string, gzBytes int64) {
	b.Helper()
	root := os.Getenv("FLOWLENS_BENCH_DIR")
	if root == "" {
		root = b.TempDir()
	}
	dir = filepath.Join(root, fmt.Sprintf("input-%d-%s", n, format))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		os.RemoveAll(dir)
		f, err := gen.ParseFormat(format)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := gen.Generate(context.Background(), gen.Config{Records: n, Hours: 48, Format: f, Layout: gen.LayoutS3, Seed: 1}, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d records in %d files (%d bytes) in %v", sum.Records, sum.Files, sum.Bytes, sum.Elapsed)
		os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
	}
	return dir, dirBytes(dir, ".gz")
}

func dirBytes(dir, suffix string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == suffix {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// usage is what a child process cost.
type usage struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
}

func measure(b *testing.B, cmd *exec.Cmd) (usage, []byte) {
	b.Helper()
	t0 := time.Now()
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			b.Fatalf("%v: %v\n%s", cmd.Args, err, ee.Stderr)
		}
		b.Fatalf("%v: %v", cmd.Args, err)
	}
	u := usage{wall: time.Since(t0), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return u, out
}

// BenchmarkIngestVsDuckDB ingests the same generated gzip S3 tree with the
// flowlens binary and with DuckDB's read_csv → partitioned COPY (each in a
// child process, so wall time, CPU time and peak RSS are each its own), and
// reports records/s, the speed-up, Parquet bytes against the gzip input, and
// peak RSS. FLOWLENS_BENCH_RECORDS sets the size (default 1000000),
// FLOWLENS_BENCH_FORMAT the gen format (default v5: every field of
// versions 2 to 5; v2 is AWS's default format), FLOWLENS_BENCH_DIR caches
// the input, FLOWLENS_BENCH_SKIP_DUCKDB measures flowlens alone. Run with
// -benchtime=1x.
func BenchmarkIngestVsDuckDB(b *testing.B) {
	n := envInt("FLOWLENS_BENCH_RECORDS", 1_000_000)
	format := os.Getenv("FLOWLENS_BENCH_FORMAT")
	if format == "" {
		format = "v5"
	}
	in, gz := benchInput(b, n, format)
	bin := buildFlowlens(b)
	var fl, dd usage
	var lakeBytes, duckBytes int64
	for range b.N {
		data := b.TempDir()
		u, out := measure(b, exec.Command(bin, "--data", data, "-o", "json", "ingest", in))
		var c Counts
		if err := json.Unmarshal(out, &c); err != nil || c.RecordsStored != n {
			b.Fatalf("flowlens ingest printed %s (%v): want %d records stored", out, err, n)
		}
		fl = u
		lakeBytes = dirBytes(filepath.Join(data, "lake"), ".parquet")

		if os.Getenv("FLOWLENS_BENCH_SKIP_DUCKDB") != "" {
			continue
		}
		outDir := filepath.Join(b.TempDir(), "duck")
		cmd := exec.Command(os.Args[0], "-test.run=^TestDuckDBBaselineChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FLOWLENS_BASELINE_GLOB="+filepath.Join(in, "**", "*.log.gz"), "FLOWLENS_BASELINE_OUT="+outDir)
		dd, _ = measure(b, cmd)
		duckBytes = dirBytes(outDir, ".parquet")
	}
	rate := func(u usage) float64 { return float64(n) / u.wall.Seconds() }
	if dd.wall == 0 {
		b.ReportMetric(rate(fl), "flowlens_rec/s")
		b.ReportMetric(float64(lakeBytes)/float64(gz), "lake/gzip")
		b.ReportMetric(float64(fl.maxRSS)/(1<<20), "flowlens_MiB_RSS")
		b.Logf("%d %s records, gzip %d bytes; flowlens ingest: %v wall, %v CPU, %.0f rec/s, lake %d bytes (%.3f× gzip), peak RSS %d MiB (DuckDB skipped)",
			n, format, gz, fl.wall, fl.cpu, rate(fl), lakeBytes, float64(lakeBytes)/float64(gz), fl.maxRSS>>20)
		return
	}
	b.ReportMetric(rate(fl), "flowlens_rec/s")
	b.ReportMetric(rate(dd), "duckdb_rec/s")
	b.ReportMetric(dd.wall.Seconds()/fl.wall.Seconds(), "speedup")
	b.ReportMetric(dd.cpu.Seconds()/fl.cpu.Seconds(), "cpu_speedup")
	b.ReportMetric(float64(lakeBytes)/float64(gz), "lake/gzip")
	b.ReportMetric(float64(duckBytes)/float64(gz), "duckdb/gzip")
	b.ReportMetric(float64(lakeBytes)/float64(n), "lake_B/rec")
	b.ReportMetric(float64(fl.maxRSS)/(1<<20), "flowlens_MiB_RSS")
	b.ReportMetric(float64(dd.maxRSS)/(1<<20), "duckdb_MiB_RSS")
	b.Logf("%d %s records, gzip %d bytes (%.1f B/rec)", n, format, gz, float64(gz)/float64(n))
	b.Logf("flowlens ingest: %v wall, %v CPU, %.0f rec/s, lake %d bytes (%.3f× gzip), peak RSS %d MiB", fl.wall, fl.cpu, rate(fl), lakeBytes, float64(lakeBytes)/float64(gz), fl.maxRSS>>20)
	b.Logf("duckdb copy:     %v wall, %v CPU, %.0f rec/s, parquet %d bytes (%.3f× gzip), peak RSS %d MiB", dd.wall, dd.cpu, rate(dd), duckBytes, float64(duckBytes)/float64(gz), dd.maxRSS>>20)
}

// TestDuckDBBaselineChild is the DuckDB side of BenchmarkIngestVsDuckDB, run
// in a child process.
func TestDuckDBBaselineChild(t *testing.T) {
	glob, out := os.Getenv("FLOWLENS_BASELINE_GLOB"), os.Getenv("FLOWLENS_BASELINE_OUT")
	if glob == "" {
		t.Skip("run by BenchmarkIngestVsDuckDB in a child process")
	}
	if err := baseline.DuckDBCopy(context.Background(), glob, out); err != nil {
		t.Fatal(err)
	}
}
