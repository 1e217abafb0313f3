package querytest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/clickhouse/chtest"
	"github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest"
)

// rulesNotOnClickHouse lists the built-in rules that cannot run on
// ClickHouse 18.16, with the reason.
var rulesNotOnClickHouse = map[string]string{
	"brute-force-remote-access": cte,
	"c2-beaconing":              cte + " (in the {{internal}} expansion)",
	"crypto-mining-pool":        cte + " (in the {{internal}} expansion)",
	"data-exfiltration-volume":  cte + " (in the {{internal}} expansion)",
	"lateral-movement-fanout":   cte,
	"rejected-spike":            cte,
	"unusual-port":              cte + " (in the {{internal}} expansion)",
	"flow-log-gap":              cte + "; and DuckDB's integer division //",
	"exposed-service":           "DuckDB functions TRY_CAST and split_part",
	"port-scan-vertical":        "DuckDB's TRY_CAST",
	"port-sweep-horizontal":     "DuckDB's mode() aggregate (ClickHouse: topK(1))",
}

const (
	cte = "its SQL names subqueries in WITH (common table expressions), which ClickHouse reads only from 20.x: 18.16's WITH binds expressions"
)

// TestRulesClickHouse runs the built-in rule pack on ClickHouse and on the
// lake over the same generated day, with every gen scenario: each rule that
// runs on ClickHouse must raise the same alerts as on the lake.
func TestRulesClickHouse(t *testing.T) {
	chtest.URL(t)
	ch := openClickHouse(t)
	ctx := context.Background()
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw")
	start := gen.DefaultStart
	if _, err := gen.Generate(ctx, gen.Config{Records: 40_000, Seed: 3, Hours: 24, Layout: gen.LayoutS3}, raw); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(raw, "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*.log.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated files: %v", err)
	}
	data := filepath.Join(dir, "data")
	if _, err := ingest.Run(ctx, data, files, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.ToClickHouse(ctx, ch.Store(), files, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	lake, err := duckdb.Open(ctx, engine.LakeDir(data), duckdb.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	from, to := start, start.Add(24*time.Hour)
	run := func(e engine.Engine) *detect.Report {
		return detect.NewRunner(e, rules, detect.Options{Insights: CompileInsights, Parallel: 2, Timeout: time.Minute}).Run(ctx, from, to)
	}
	want, got := run(lake), run(ch)
	byRule := func(rp *detect.Report) map[string][]string {
		out := map[string][]string{}
		for _, a := range rp.Alerts {
			out[a.Rule] = append(out[a.Rule], alertKey(a))
		}
		for _, v := range out {
			sort.Strings(v)
		}
		return out
	}
	wa, ga := byRule(want), byRule(got)
	results := map[string]detect.RuleResult{}
	for _, rr := range got.Rules {
		results[rr.Rule.ID] = rr
	}
	var summary strings.Builder
	for _, rr := range want.Rules {
		id := rr.Rule.ID
		g := results[id]
		status := fmt.Sprintf("ok, %d alerts", len(ga[id]))
		switch {
		case rr.Skipped != "":
			status = "skipped on both: " + rr.Skipped
		case g.Err != nil:
			status = "error: " + g.Err.Error()
			if why := rulesNotOnClickHouse[id]; why == "" {
				t.Errorf("%s: fails on ClickHouse: %v", id, g.Err)
			}
		case rr.Err != nil:
			t.Errorf("%s: fails on the lake: %v", id, rr.Err)
		default:
			if why := rulesNotOnClickHouse[id]; why != "" {
				t.Errorf("%s runs on ClickHouse now: take it off rulesNotOnClickHouse (%s)", id, why)
			}
			if d := cmp.Diff(wa[id], ga[id]); d != "" {
				t.Errorf("%s: alerts differ (-lake +clickhouse):\n%s", id, d)
			}
		}
		fmt.Fprintf(&summary, "%-28s %s\n", id, status)
	}
	t.Log("built-in rules on ClickHouse:\n" + summary.String())
}

func alertKey(a alert.Alert) string {
	return fmt.Sprintf("%s %s %s %s %d", a.Src, a.Dst, a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339), a.Count)
}
