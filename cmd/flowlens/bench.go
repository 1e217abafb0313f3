package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/ingest/baseline"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/querytest"
	"github.com/flowlens/flowlens/source"
	"github.com/spf13/cobra"
)

func init() { register(newBenchCmd) }

type benchFlags struct {
	records int
	runs    int
	dir     string
	keep    bool
}

func newBenchCmd() *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench [--records N] [--runs R] [-o table|json]",
		Short: "Measure parse, ingest, lake size, queries and detection against DuckDB baselines",
		Long: `Bench generates a day of traffic (flowlens gen, AWS's default format, S3 layout)
and measures in one run, side by side:

  parse       records per second of the record parser on one core
  ingest      records per second of flowlens ingest of the gzip objects into the
              lake, and its peak memory, against DuckDB's own read_csv of the same
              files COPY'd to Parquet partitioned by year, month and day
  lake size   bytes per record of the lake against the gzip input and DuckDB's copy
  queries     each query of the user's guide (DESIGN §5) on the lake, against DuckDB
              over the raw gzip text and over a plain Parquet copy (best of --runs)
  detection   the built-in rules over the day

The machine's other work skews absolute numbers; the ratios compare runs made
moments apart on the same files. -o json prints everything as one object.`,
		Example: `  flowlens bench
  flowlens bench --records 500000 -o json | jq .ingest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runBench(cmd.Context(), f) },
	}
	cmd.Flags().IntVar(&f.records, "records", 2_000_000, "records to generate")
	cmd.Flags().IntVar(&f.runs, "runs", 5, "runs of each query (best is kept; the gzip text runs half as often)")
	cmd.Flags().StringVar(&f.dir, "dir", "", "work folder (default a new temporary one, removed afterwards)")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "keep the work folder")
	return cmd
}

// benchReport is what bench measured; -o json prints it.
type benchReport struct {
	Records     int64  `json:"records"`
	Format      string `json:"format"`
	GzipObjects int    `json:"gzip_objects"`
	GzipBytes   int64  `json:"gzip_bytes"`
	CPUs        int    `json:"cpus"`
	Parse       struct {
		RecordsPerSecond float64 `json:"records_per_second"`
		NsPerRecord      float64 `json:"ns_per_record"`
	} `json:"parse"`
	Ingest struct {
		Seconds                  float64 `json:"seconds"`
		RecordsPerSecond         float64 `json:"records_per_second"`
		PeakRSSBytes             int64   `json:"peak_rss_bytes"`
		DuckDBSeconds            float64 `json:"duckdb_seconds"`
		DuckDBRecordsPerSecond   float64 `json:"duckdb_records_per_second"`
		SpeedupOverDuckDB        float64 `json:"speedup_over_duckdb"`
		LakeBytes                int64   `json:"lake_bytes"`
		LakeBytesPerRecord       float64 `json:"lake_bytes_per_record"`
		LakeToGzip               float64 `json:"lake_to_gzip"`
		DuckDBBytes              int64   `json:"duckdb_bytes"`
		DuckDBToGzip             float64 `json:"duckdb_to_gzip"`
		GzipBytesPerRecord       float64 `json:"gzip_bytes_per_record"`
		RecordsStoredEqualsInput bool    `json:"records_stored_equals_input"`
	} `json:"ingest"`
	Queries []benchQuery `json:"queries"`
	Detect  struct {
		Rules   int     `json:"rules"`
		Alerts  int     `json:"alerts"`
		Seconds float64 `json:"seconds"`
	} `json:"detect"`
	PlainBytes int64 `json:"plain_parquet_bytes"`
}

type benchQuery struct {
	Name          string  `json:"name"`
	Rows          int     `json:"rows"`
	LakeSeconds   float64 `json:"lake_seconds"`
	GzipSeconds   float64 `json:"gzip_text_seconds"`
	PlainSeconds  float64 `json:"plain_parquet_seconds"`
	FasterThanGz  float64 `json:"times_faster_than_gzip_text"`
	FasterThanPlq float64 `json:"times_faster_than_plain_parquet"`
}

// benchIngestInChild runs the ingest as a child flowlens process, so that its
// peak memory is its own; tests, whose executable is not flowlens, turn it off.
var benchIngestInChild = true

func runBench(ctx context.Context, f *benchFlags) error {
	if f.records < 10000 {
		return usageErrorf("--records: %d is too few to measure (at least 10000)", f.records)
	}
	format := g.outputFormat("table")
	if format != "table" && format != "json" {
		return usageErrorf("-o: bench prints table or json, not %s", format)
	}
	dir := f.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "flowlens-bench-")
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		dir = d
		if !f.keep {
			defer os.RemoveAll(dir)
		}
	}
	stage := func(s string) {
		if !g.quiet {
			fmt.Fprintf(g.stderr, "bench: %s\n", s)
		}
	}
	fail := func(what string, err error) error {
		return &exitError{code: exitFailure, err: fmt.Errorf("bench: %s: %w", what, err)}
	}
	var rep benchReport
	rep.CPUs = runtime.NumCPU()
	rep.Format = "v2 (AWS default)"

	// Data: one day of AWS's S3 delivery, default format.
	stage(fmt.Sprintf("generating %d records", f.records))
	v2, err := gen.VersionFormat(2)
	if err != nil {
		return fail("format", err)
	}
	rawDir := filepath.Join(dir, "raw")
	cfg := gen.Config{Records: int64(f.records), Seed: 1, Start: demoDay, Hours: 24, Format: v2, Layout: gen.LayoutS3}
	sum, err := gen.Generate(ctx, cfg, rawDir)
	if err != nil {
		return fail("generate", err)
	}
	rep.Records, rep.GzipObjects, rep.GzipBytes = sum.Records, sum.Files, sum.Bytes
	files, err := source.Expand([]string{rawDir})
	if err != nil {
		return fail("list", err)
	}
	rawGlob := filepath.Join(rawDir, "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*.log.gz")

	stage("parse rate")
	rate, err := benchParse(files, 500_000)
	if err != nil {
		return fail("parse", err)
	}
	rep.Parse.RecordsPerSecond, rep.Parse.NsPerRecord = rate, 1e9/rate

	stage("ingest")
	dataDir := filepath.Join(dir, "data")
	stored, secs, rss, err := benchIngest(ctx, dataDir, rawDir)
	if err != nil {
		return fail("ingest", err)
	}
	in := &rep.Ingest
	in.Seconds, in.PeakRSSBytes = secs, rss
	in.RecordsPerSecond = float64(rep.Records) / secs
	in.RecordsStoredEqualsInput = stored == rep.Records
	st, err := lake.StatusOf(dataDir)
	if err != nil {
		return fail("lake status", err)
	}
	in.LakeBytes = st.Bytes
	in.LakeBytesPerRecord = float64(st.Bytes) / float64(rep.Records)
	in.GzipBytesPerRecord = float64(rep.GzipBytes) / float64(rep.Records)
	in.LakeToGzip = float64(st.Bytes) / float64(rep.GzipBytes)

	stage("DuckDB read_csv → partitioned Parquet COPY (baseline)")
	duckDir := filepath.Join(dir, "duckdb-copy")
	t0 := time.Now()
	if err := baseline.DuckDBCopy(ctx, rawGlob, duckDir); err != nil {
		return fail("duckdb baseline", err)
	}
	in.DuckDBSeconds = time.Since(t0).Seconds()
	in.DuckDBRecordsPerSecond = float64(rep.Records) / in.DuckDBSeconds
	in.SpeedupOverDuckDB = in.DuckDBSeconds / in.Seconds
	in.DuckDBBytes = treeBytes(duckDir)
	in.DuckDBToGzip = float64(in.DuckDBBytes) / float64(rep.GzipBytes)

	stage("queries of the user's guide: lake vs gzip text vs plain Parquet")
	bd := &querytest.BenchData{Records: rep.Records, Files: rep.GzipObjects, RawGlob: rawGlob, Lake: lake.TableDir(dataDir), Plain: filepath.Join(dir, "plain.parquet")}
	if err := querytest.WritePlain(ctx, rawGlob, bd.Plain); err != nil {
		return fail("plain copy", err)
	}
	bd.Measure()
	rep.PlainBytes = bd.PlainBytes
	results, err := querytest.RunBench(ctx, bd, insightsCompiler, f.runs)
	if err != nil {
		return fail("queries", err)
	}
	for _, r := range results {
		rep.Queries = append(rep.Queries, benchQuery{Name: r.Query, Rows: r.Rows, LakeSeconds: r.Lake.Seconds(), GzipSeconds: r.Raw.Seconds(),
			PlainSeconds: r.Plain.Seconds(), FasterThanGz: r.VsRaw(), FasterThanPlq: r.VsPlain()})
	}

	stage("detection")
	if err := benchDetect(ctx, dataDir, cfg, &rep); err != nil {
		return fail("detect", err)
	}
	if format == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(g.stdout, &rep)
	return nil
}

// benchParse decompresses up to limit lines and times the parser over them on
// one goroutine for at least a second.
func benchParse(files []string, limit int) (float64, error) {
	var buf []byte
	var lines [][2]int
	var f0 *flowlog.Format
	for _, name := range files {
		if len(lines) >= limit {
			break
		}
		f, err := source.Open(name)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() && len(lines) < limit {
			line := sc.Bytes()
			if flowlog.IsHeader(line) {
				if f0 == nil {
					if f0, err = flowlog.ParseFormat(string(line)); err != nil {
						f.Close()
						return 0, err
					}
				}
				continue
			}
			lines = append(lines, [2]int{len(buf), len(buf) + len(line)})
			buf = append(buf, line...)
		}
		f.Close()
	}
	if f0 == nil || len(lines) == 0 {
		return 0, fmt.Errorf("no records to parse")
	}
	p := flowlog.NewParser(f0)
	var r flowlog.Record
	work := bytes.Clone(buf)
	n := 0
	t0 := time.Now()
	for time.Since(t0) < time.Second {
		for _, l := range lines {
			if err := p.Parse(work[l[0]:l[1]], &r); err != nil {
				return 0, err
			}
		}
		n += len(lines)
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// benchIngest ingests rawDir into dataDir and returns the records stored,
// the seconds taken and the peak resident memory of the ingest.
func benchIngest(ctx context.Context, dataDir, rawDir string) (stored int64, secs float64, rss int64, err error) {
	if !benchIngestInChild {
		files, err := source.Expand([]string{rawDir})
		if err != nil {
			return 0, 0, 0, err
		}
		res, err := ingest.Run(ctx, dataDir, files, ingest.Options{MemoryLimit: 640 << 20})
		if err != nil {
			return 0, 0, 0, err
		}
		return res.RecordsStored, res.Seconds, 0, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "--data", dataDir, "-q", "ingest", "-o", "json", rawDir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, 0, fmt.Errorf("%v: %s", err, errb.String())
	}
	secs = time.Since(t0).Seconds()
	var c ingest.Counts
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		return 0, 0, 0, fmt.Errorf("read ingest counts %q: %w", out.String(), err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return c.RecordsStored, secs, rss, nil
}

func benchDetect(ctx context.Context, dataDir string, cfg gen.Config, rep *benchReport) error {
	eng, err := engine.Open(ctx, "", dataDir)
	if err != nil {
		return err
	}
	defer eng.Close()
	rules, err := detect.Builtin()
	if err != nil {
		return err
	}
	var tl bytes.Buffer
	if err := gen.WriteThreatList(&tl, cfg); err != nil {
		return err
	}
	list, err := enrich.ParseThreatList("generated", &tl)
	if err != nil {
		return err
	}
	runner := detect.NewRunner(eng, rules, detect.Options{ThreatLists: []*enrich.ThreatList{list}, Insights: insightsCompiler})
	t0 := time.Now()
	rp := runner.Run(ctx, cfg.Start, cfg.Start.Add(time.Duration(cfg.Hours)*time.Hour))
	rep.Detect.Seconds = time.Since(t0).Seconds()
	if err := rp.Err(); err != nil {
		return err
	}
	rep.Detect.Rules, rep.Detect.Alerts = len(runner.Rules()), len(rp.Alerts)
	return nil
}

func treeBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func printBench(w io.Writer, r *benchReport) {
	in := r.Ingest
	fmt.Fprintf(w, "flowlens bench: %d records, %s, %d gzip objects in AWS's S3 layout (%s), %d CPUs\n\n",
		r.Records, r.Format, r.GzipObjects, humanBytes(r.GzipBytes), r.CPUs)
	rows := [][]any{
		{"parse (1 core)", fmt.Sprintf("%.2f M records/s (%.0f ns/record)", r.Parse.RecordsPerSecond/1e6, r.Parse.NsPerRecord), "", ""},
		{"ingest gzip → lake", fmt.Sprintf("%.0f records/s (%.1f s)", in.RecordsPerSecond, in.Seconds),
			fmt.Sprintf("DuckDB read_csv→COPY: %.0f records/s (%.1f s)", in.DuckDBRecordsPerSecond, in.DuckDBSeconds),
			fmt.Sprintf("%.2f× faster", in.SpeedupOverDuckDB)},
		{"lake size", fmt.Sprintf("%s, %.1f B/record = %.2f× gzip", humanBytes(in.LakeBytes), in.LakeBytesPerRecord, in.LakeToGzip),
			fmt.Sprintf("DuckDB copy: %s = %.2f× gzip", humanBytes(in.DuckDBBytes), in.DuckDBToGzip),
			fmt.Sprintf("%.2f× the size", float64(in.LakeBytes)/float64(in.DuckDBBytes))},
	}
	if in.PeakRSSBytes > 0 {
		rows = append(rows, []any{"ingest peak memory", humanBytes(in.PeakRSSBytes), "", ""})
	}
	writeResult(w, "table", &resultSet{Columns: []string{"stage", "flowlens", "baseline", "ratio"}, Rows: rows})

	fmt.Fprintln(w, "\nqueries of the user's guide (best of runs):")
	var qrows [][]any
	for _, q := range r.Queries {
		qrows = append(qrows, []any{q.Name, q.Rows, ms(q.LakeSeconds), ms(q.GzipSeconds), fmt.Sprintf("%.1f×", q.FasterThanGz), ms(q.PlainSeconds), fmt.Sprintf("%.2f×", q.FasterThanPlq)})
	}
	writeResult(w, "table", &resultSet{Columns: []string{"query", "rows", "lake", "gzip text", "lake faster", "plain Parquet", "lake faster"}, Rows: qrows})
	fmt.Fprintf(w, "\ndetection: %d rules over the day in %.1f s, %d alerts\n", r.Detect.Rules, r.Detect.Seconds, r.Detect.Alerts)
	if !in.RecordsStoredEqualsInput {
		fmt.Fprintln(w, "WARNING: the lake does not hold exactly the generated records")
	}
}

func ms(s float64) string { return fmt.Sprintf("%.0f ms", s*1000) }
