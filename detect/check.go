package detect

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
)

// Check runs every rule once over an empty lake with the real engine, so that
// SQL errors (unknown columns, syntax, types) and Insights compile errors are
// found before the rules meet data. Errors carry the rule file's line and
// column when the engine gives a position. spec is the engine spec
// (engine.Open); opts as for NewRunner (a stand-in threat list is used when
// none is given, so that threat rules are checked too).
func Check(ctx context.Context, spec string, rules []*Rule, opts Options) error {
	dir, err := os.MkdirTemp("", "flowlens-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	eng, err := engine.Open(ctx, spec, dir)
	if err != nil {
		return err
	}
	defer eng.Close()
	if len(opts.ThreatLists) == 0 {
		tl, _ := enrich.ParseThreatList("check", strings.NewReader("192.0.2.0/24\n198.51.100.7\n"))
		opts.ThreatLists = []*enrich.ThreatList{tl}
	}
	checked := make([]*Rule, 0, len(rules))
	for _, r := range rules {
		c := *r
		c.Enabled = true
		// One window of each rule is enough to bind its SQL.
		checked = append(checked, &c)
	}
	if opts.Internal == nil {
		opts.Internal = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	}
	run := NewRunner(eng, checked, opts)
	// The lake is empty: each rule runs once directly, so that its SQL is
	// bound even though no window holds records.
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var errs []error
	for i := range run.rules {
		rp := &Report{Rules: make([]RuleResult, 1)}
		res := &rp.Rules[0]
		res.Rule = run.rules[i]
		run.runRule(ctx, run.rules[i], t0, t0.Add(run.rules[i].Window.Size), res)
		if res.Err != nil {
			errs = append(errs, res.Err)
		}
	}
	return errors.Join(errs...)
}
