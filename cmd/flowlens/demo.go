package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/lake"
	"github.com/spf13/cobra"
)

func init() { register(newDemoCmd) }

type demoFlags struct {
	records int
	seed    uint64
	serve   bool
	noServe bool
}

func newDemoCmd() *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo [--records N] [--data DIR] [--seed S]",
		Short: "See the whole system work on a generated day of VPC traffic with attacks",
		Long: `Demo shows flowlens end to end with no setup. In a fresh data folder (a new
temporary one unless --data names one) it generates a realistic day of VPC
traffic with labelled attacks (flowlens gen), ingests it into the Parquet lake
(flowlens ingest), runs the built-in detection rules (flowlens detect), and prints
a summary: what was ingested, traffic per hour, top talkers, rejected traffic, the
alerts found with their evidence and how they score against the generator's
answer key, and example queries to try next with their output.

The data folder is kept, so every command it suggests works on it afterwards.

With --serve, demo then serves the web console and the HTTP API on the demo lake
at http://127.0.0.1:8080/ (as flowlens serve does, without continuous detection:
the alerts are already there) until Ctrl-C. Without it, demo stops after the
summary and says how to open the console later.`,
		Example: `  # The whole tour, about half a minute
  flowlens demo

  # A smaller run into a folder you choose, then explore it
  flowlens demo --records 200000 --data ./demo
  flowlens --data ./demo query 'stats count() by action'

  # The tour, then the web console on its data
  flowlens demo --records 200000 --serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDemo(cmd.Context(), f) },
	}
	cmd.Flags().IntVar(&f.records, "records", 1_000_000, "records to generate (one day of traffic)")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "generator seed: the same seed gives the same day")
	cmd.Flags().BoolVar(&f.serve, "serve", false, "after the summary, serve the web console on the demo lake at 127.0.0.1:8080 until Ctrl-C")
	cmd.Flags().BoolVar(&f.noServe, "no-serve", false, "stop after the summary (the default; kept for scripts)")
	cmd.Flags().MarkHidden("no-serve")
	cmd.MarkFlagsMutuallyExclusive("serve", "no-serve")
	return cmd
}

// demoDay is the day the demo generates: March 2024, so the guide's Athena
// queries (year = '2024' AND month = '03') find it.
var demoDay = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func runDemo(ctx context.Context, f *demoFlags) error {
	if f.records < 1000 {
		return usageErrorf("--records: %d is too few for a day with attacks (at least 1000)", f.records)
	}
	dataDir := g.data
	if dataDir == "" {
		d, err := os.MkdirTemp("", "flowlens-demo-")
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		dataDir = d
	} else if st, err := os.Stat(lake.TableDir(dataDir)); err == nil && st.IsDir() {
		return usageErrorf("--data %s already holds a lake: give demo a new folder", dataDir)
	}
	w := g.stdout
	start := time.Now()
	inputDir := filepath.Join(dataDir, "demo-input")
	truthPath := filepath.Join(inputDir, "truth.ndjson")
	threatPath := filepath.Join(inputDir, "threat-list.txt")

	// 1. Generate.
	step(w, 1, "generate", fmt.Sprintf("a day of traffic in a 3-account AWS estate, with attacks (%d records)", f.records))
	cfg := gen.Config{Records: int64(f.records), Seed: f.seed, Start: demoDay, Hours: 24, Layout: gen.LayoutS3}
	sum, err := gen.Generate(ctx, cfg, filepath.Join(inputDir, "s3"))
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("generate: %w", err)}
	}
	if err := writeWith(truthPath, func(out io.Writer) error { return gen.WriteTruth(out, sum.Truth) }); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if err := writeWith(threatPath, func(out io.Writer) error { return gen.WriteThreatList(out, cfg) }); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	fmt.Fprintf(w, "   %d gzip objects in AWS's S3 layout, %s, %d labelled attacks, in %.1fs\n\n",
		sum.Files, humanBytes(sum.Bytes), len(sum.Truth), sum.Elapsed.Seconds())

	// 2. Ingest.
	step(w, 2, "ingest", "into the Parquet lake, as `flowlens ingest` does")
	files, err := gatherFiles(filepath.Join(inputDir, "s3"))
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	o := ingest.Options{MemoryLimit: 640 << 20}
	var bar *ingestBar
	if g.stderrIsTerminal() {
		bar = &ingestBar{}
		o.Progress = bar
	}
	res, err := ingest.Run(ctx, dataDir, files, o)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("ingest: %w", err)}
	}
	st, err := lake.StatusOf(dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	c := res.Counts
	fmt.Fprintf(w, "   read %d = stored %d + quarantined %d + already ingested %d, in %.1fs (%.0f records/s)\n",
		c.RecordsRead, c.RecordsStored, c.RecordsQuarantined, c.RecordsSkipped, c.Seconds, float64(c.RecordsRead)/c.Seconds)
	fmt.Fprintf(w, "   lake: %d files, %s on disk = %.2f× the gzip input\n\n", st.Files, humanBytes(st.Bytes), float64(st.Bytes)/float64(c.BytesRead))

	// 3. Detect.
	step(w, 3, "detect", "with the built-in rules, as `flowlens detect` does")
	eng, err := engine.Open(ctx, g.cfg.Engine, dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer eng.Close()
	rules, err := detect.Builtin()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	tls, err := enrich.LoadThreatLists([]string{threatPath})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	runner := detect.NewRunner(eng, rules, detect.Options{ThreatLists: tls, Insights: insightsCompiler, Timeout: time.Minute})
	t0 := time.Now()
	rp := runner.Run(ctx, demoDay, demoDay.Add(24*time.Hour))
	if err := rp.Err(); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("detect: %w", err)}
	}
	store, err := alert.OpenStore(dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if _, _, err := store.Upsert(rp.Alerts); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	alerts, err := store.List(alert.Filter{})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	truth, err := detect.LoadTruth(truthPath)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	score := detect.Evaluate(alerts, truth)
	fmt.Fprintf(w, "   %d rules over %d records in %.1fs: %d alerts; against the generator's answer key: recall %.2f, precision %.2f\n\n",
		len(runner.Rules()), c.RecordsStored, time.Since(t0).Seconds(), len(alerts), score.Overall.Recall, score.Overall.Precision)

	// 4. Summary.
	d := &demoReport{ctx: ctx, eng: eng, w: w}
	d.section("Traffic per hour (records; ▒ = share rejected)")
	d.hourly()
	d.section("Top talkers (accepted bytes)")
	d.table(`SELECT srcaddr, dstaddr, format_bytes(CAST(SUM(bytes) AS BIGINT)) AS total, COUNT(*) AS flows
FROM vpc_flow_logs WHERE action = 'ACCEPT'
GROUP BY srcaddr, dstaddr ORDER BY SUM(bytes) DESC LIMIT 5`)
	d.section("Rejected traffic (top sources)")
	d.table(`SELECT srcaddr, COUNT(*) AS rejected, COUNT(DISTINCT dstaddr) AS targets, COUNT(DISTINCT dstport) AS ports
FROM vpc_flow_logs WHERE action = 'REJECT'
GROUP BY srcaddr ORDER BY rejected DESC LIMIT 5`)
	d.section(fmt.Sprintf("Alerts (%d; `flowlens --data %s alerts list` shows them again)", len(alerts), dataDir))
	d.alerts(alerts)
	d.section("Try next")
	for _, ex := range demoExamples {
		fmt.Fprintf(w, "$ flowlens --data %s query %s\n", shellQuote(dataDir), shellQuote(ex.query))
		d.run(ex.lang, ex.query)
	}
	fmt.Fprintf(w, "Demo finished in %.1fs. Data folder: %s (delete it when done)\n", time.Since(start).Seconds(), dataDir)
	if d.err != nil || !f.serve {
		if d.err == nil {
			fmt.Fprintf(w, "The web console on this data: flowlens --data %s serve, then open http://127.0.0.1:8080/\n", shellQuote(dataDir))
		}
		return d.err
	}
	eng.Close() // serve opens its own
	return serveDemo(ctx, dataDir)
}

// serveDemo runs flowlens serve on the demo's data folder, with the defaults
// of the serve command and no continuous detection (the demo ran it).
func serveDemo(ctx context.Context, dataDir string) error {
	g.data = dataDir
	cmd := newServeCmd()
	cmd.SetContext(ctx)
	if err := cmd.ParseFlags([]string{"--detect=false"}); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\nServing the web console on the demo lake (Ctrl-C stops it)\n")
	return cmd.RunE(cmd, nil)
}

var demoExamples = []struct{ lang, query string }{
	{"insights", `filter action = "REJECT" | stats count() as rejected_count by srcaddr, dstaddr, dstport | sort rejected_count desc | limit 5`},
	{"insights", `filter isIpv4InSubnet(srcaddr, "10.0.0.0/8") and dstport = 22 | stats count() as ssh_flows, sum(bytes) as bytes by srcaddr | sort ssh_flows desc | limit 5`},
	{"sql", `SELECT srcaddr, COUNT(DISTINCT dstaddr) AS targets_scanned, COUNT(DISTINCT dstport) AS ports_scanned FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY ports_scanned DESC LIMIT 5`},
}

func step(w io.Writer, n int, name, what string) {
	fmt.Fprintf(w, "%d. %s: %s\n", n, name, what)
}

func writeWith(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func gatherFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	return files, err
}

func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// demoReport prints the summary's sections; the first error is kept and the
// rest of the summary still prints.
type demoReport struct {
	ctx context.Context
	eng engine.Engine
	w   io.Writer
	err error
}

func (d *demoReport) section(title string) { fmt.Fprintf(d.w, "\n── %s\n", title) }

func (d *demoReport) query(sql string) *engine.Result {
	res, err := d.eng.Query(d.ctx, engine.Request{SQL: sql, MaxRows: 1000})
	if err != nil {
		fmt.Fprintf(d.w, "   (query failed: %v)\n", err)
		if d.err == nil {
			d.err = &exitError{code: exitFailure, err: err}
		}
		return nil
	}
	return res
}

func (d *demoReport) table(sql string) {
	if res := d.query(sql); res != nil {
		writeResult(d.w, "table", &resultSet{Columns: res.Names(), Rows: res.Rows})
	}
}

func (d *demoReport) run(lang, text string) {
	sql := text
	if lang == "insights" {
		var err error
		if sql, err = compileInsights(text, d.eng.Dialect()); err != nil {
			fmt.Fprintf(d.w, "   (query failed: %v)\n", err)
			d.err = err
			return
		}
	}
	d.table(sql)
	fmt.Fprintln(d.w)
}

// hourly draws records per hour as bars, the rejected share shaded.
func (d *demoReport) hourly() {
	res := d.query(`SELECT CAST(floor("start" / 3600) AS BIGINT) % 24 AS hour, COUNT(*) AS n,
  SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected
FROM vpc_flow_logs GROUP BY ALL ORDER BY hour`)
	if res == nil {
		return
	}
	var max int64
	for _, r := range res.Rows {
		max = maxInt(max, toInt(r[1]))
	}
	const width = 50
	for _, r := range res.Rows {
		n, rej := toInt(r[1]), toInt(r[2])
		full := int(n * width / maxInt(max, 1))
		shade := int(rej * width / maxInt(max, 1))
		fmt.Fprintf(d.w, "%02d:00 %s%s %d\n", toInt(r[0]), strings.Repeat("█", full-shade), strings.Repeat("▒", shade), n)
	}
}

// alerts lists the alerts above info in time order, each with its evidence
// under its title; info alerts (signals, not incidents) are only counted.
func (d *demoReport) alerts(as []alert.Alert) {
	sort.SliceStable(as, func(i, j int) bool { return as[i].FirstSeen.Before(as[j].FirstSeen) })
	var rows [][]any
	info := 0
	for _, a := range as {
		if !a.Severity.AtLeast(alert.Low) {
			info++
			continue
		}
		ev := a.EvidenceText()
		if len(ev) > 90 {
			ev = ev[:87] + "..."
		}
		rows = append(rows, []any{a.FirstSeen.Format("15:04"), a.Severity.String(), a.Category, a.Endpoints(), a.Title + "\n  " + ev})
	}
	writeResult(d.w, "table", &resultSet{Columns: []string{"at", "severity", "category", "src → dst", "what (evidence)"}, Rows: rows})
	if info > 0 {
		fmt.Fprintf(d.w, "and %d info alerts (signals such as internet-facing SSH, not incidents)\n", info)
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case fmt.Stringer: // *big.Int from 128-bit sums
		var n int64
		fmt.Sscan(x.String(), &n)
		return n
	}
	return 0
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
