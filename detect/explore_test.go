package detect

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowlens/flowlens/engine"
	_ "github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/enrich"
)

// TestExplore runs the pack over the lake in FLOWLENS_GENLAKE and prints the score.
func TestExplore(t *testing.T) {
	dir := os.Getenv("FLOWLENS_GENLAKE")
	if dir == "" || os.Getenv("FLOWLENS_EXPLORE") == "" {
		t.Skip("set FLOWLENS_GENLAKE and FLOWLENS_EXPLORE")
	}
	ctx := context.Background()
	eng, err := engine.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rules, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tl, err := enrich.LoadThreatList(filepath.Join(dir, "threats.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(eng, rules, Options{ThreatLists: []*enrich.ThreatList{tl}})
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	rp := r.Run(ctx, from, from.Add(24*time.Hour))
	for _, rr := range rp.Rules {
		t.Logf("%-28s q=%d rows=%d alerts=%d %s %v %s", rr.Rule.ID, rr.Queries, rr.Rows, rr.Alerts, rr.Elapsed.Round(time.Millisecond), rr.Err, rr.Skipped)
	}
	truth, err := LoadTruth(filepath.Join(dir, "truth.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	s := Evaluate(rp.Alerts, truth)
	t.Logf("\n%s", s.Table())
	for _, m := range s.Missed {
		t.Logf("missed %+v", m)
	}
	for _, a := range s.FalseAlerts {
		t.Logf("false %s", a.Line())
	}
	if os.Getenv("FLOWLENS_EXPLORE") == "all" {
		for _, a := range rp.Alerts {
			t.Logf("alert %s", a.Line())
		}
	}
}
