package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/config"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	_ "github.com/flowlens/flowlens/engine/duckdb" // the embedded engine
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/insights/compile"
	"github.com/flowlens/flowlens/lake"
)

func init() {
	register(newDetectCmd)
	register(newRulesCmd)
}

type detectFlags struct {
	since, from, to string
	rules           []string
	threatLists     []string
	truth           string
	noState         bool
	follow          bool
	interval        time.Duration
	engine          string
	set             []string
	validate        []string
	parallel        int
	timeout         time.Duration
}

func newDetectCmd() *cobra.Command {
	var f detectFlags
	cmd := &cobra.Command{
		Use:   "detect [--since DUR | --from T --to T] [--rules DIR]... [--threat-list FILE]... [-o table|json|ndjson] [--truth FILE] [--no-state] [--follow]",
		Short: "Run the detection rules over the lake and raise alerts",
		Long: `Detect runs every enabled detection rule over a time range of the lake: the
built-in pack (see 'flowlens rules list' and docs/rules.md), then the rules in
each --rules folder (default: rules.dirs of the configuration). A user rule with
the id of a built-in one replaces it; rules.disable turns rules off.

Each firing is recorded in the alert state of the data folder (DATA/alerts): the
same incident found again updates one alert's last_seen and count instead of
raising a new one, acknowledged and suppressed alerts stay so (see 'flowlens
alerts'). New open alerts go to the sinks of alerts.sinks in the configuration.
--no-state skips the state and the sinks and only prints what the rules found.

The range is --since or --from/--to (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds). Without either it
is the last 24 hours of data in the lake (so imported history works as it is), or
of the clock with --follow. Rules that compare with a baseline also read their
lookback before it.

Threat lists (--threat-list, default threat-lists of the configuration) are plain
IP/CIDR files with # or ; comments, as public feeds publish them; without one the
threat-intel rule is skipped.

--follow keeps running: after the first pass it watches the lake for newly
committed files and re-runs the rules over the records they add (with each rule's
window of context before them), polling every --interval, so an alert is raised
within seconds of its data being ingested. Stop it with Ctrl-C.

--truth FILE (a generator truth file, one {"category","src","dst","start","end"}
per line) also scores the run: precision and recall per category and overall,
matched as DESIGN §6 says (10 minutes of slack).

--validate DIR checks rule files without running them on data: YAML, keys,
values, parameters, and the SQL itself against the engine; errors name
file:line:column. It exits 2 when any rule is wrong.

Output (-o): table (default on a terminal), json, or ndjson (one alert per line in
the DESIGN §6 shape, the default elsewhere). Rule failures are listed on stderr
and the exit code is 1; the other rules' alerts are still printed. A sink that
fails to deliver also makes the exit code 1: what it did not take stays owed to
it, and every later run sends that first, oldest first (see 'flowlens alerts
pending' and 'flowlens alerts redeliver'; docs/alerts.md). A sink that fails is
not tried again for its other alerts in the same run.

` + exitCodesHelp,
		Example: `  # Last day, built-in rules, alerts as a table
  flowlens detect --since 24h

  # A fixed day with a threat list, NDJSON alerts
  flowlens detect --from 2024-03-01T00:00:00Z --to 2024-03-02T00:00:00Z \
    --threat-list firehol_level1.netset -o ndjson

  # Score the rules on generated data
  flowlens gen --out bucket --truth truth.ndjson --threat-list threats.txt
  flowlens ingest bucket
  flowlens detect --from 2024-03-01T00:00:00Z --to 2024-03-02T00:00:00Z \
    --threat-list threats.txt --truth truth.ndjson --no-state

  # Check your own rules
  flowlens detect --validate ./my-rules

  # Tune a threshold without editing the rule
  flowlens detect --since 24h --set port-scan-vertical.min_ports=25

  # Run continuously, alerting through the configured sinks
  flowlens detect --follow --since 1h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDetect(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "evaluate records that started within this long before now: 90m, 24h, 7d (default 24h)")
	fl.StringVar(&f.from, "from", "", "evaluate records that started at or after this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	fl.StringVar(&f.to, "to", "", "evaluate records that started before this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds; default now)")
	fl.StringArrayVar(&f.rules, "rules", nil, "folder of rule files (*.yaml) to add; repeatable (default: rules.dirs of the configuration)")
	fl.StringArrayVar(&f.threatLists, "threat-list", nil, "threat list file (IPs and CIDRs, # comments); repeatable (default: threat-lists of the configuration)")
	fl.StringVar(&f.truth, "truth", "", "score the alerts against this truth file (NDJSON: category, src, dst, start, end)")
	fl.BoolVar(&f.noState, "no-state", false, "do not record alerts in the alert state nor send them to sinks")
	fl.BoolVar(&f.follow, "follow", false, "keep running and evaluate new data as it is committed to the lake")
	fl.DurationVar(&f.interval, "interval", 5*time.Second, "with --follow, how often to look for new data")
	fl.StringVar(&f.engine, "engine", "", "query engine: duckdb (embedded, the default)")
	fl.StringArrayVar(&f.set, "set", nil, "change a rule threshold: RULE.NAME=VALUE; repeatable")
	fl.StringArrayVar(&f.validate, "validate", nil, "check the rule files of this folder (or file) and exit; repeatable")
	fl.IntVar(&f.parallel, "parallel", 0, "rules run at once (default: the number of CPUs)")
	fl.DurationVar(&f.timeout, "timeout", engine.DefaultTimeout, "stop each rule query after this long")
	return cmd
}

// rulesAndLists loads the rules and threat lists that detect and serve run
// with: rule folders from --rules or else the configuration's rules.dirs, its
// disable list, the --set overrides, and threat lists from --threat-list or
// else the configuration's threat-lists.
func rulesAndLists(cmd *cobra.Command, dirs, lists, set []string) ([]*detect.Rule, []*enrich.ThreatList, error) {
	if !cmd.Flags().Changed("rules") {
		dirs = g.cfg.Rules.Dirs
	}
	rules, err := loadRules(dirs, g.cfg.Rules.Disable, set)
	if err != nil {
		return nil, nil, err
	}
	if !cmd.Flags().Changed("threat-list") {
		lists = g.cfg.ThreatLists
	}
	tls, err := enrich.LoadThreatLists(lists)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	return rules, tls, nil
}

// loadRules composes the rule set: built-in pack, user folders, disable list,
// --set overrides. Rule file errors are usage errors listing every problem.
func loadRules(dirs []string, disable []string, set []string) ([]*detect.Rule, error) {
	builtin, err := detect.Builtin()
	if err != nil {
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("built-in rules: %w", err)}
	}
	var user [][]*detect.Rule
	for _, d := range dirs {
		rs, err := detect.LoadDir(d)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		user = append(user, rs)
	}
	rules, err := detect.Compose(builtin, user, disable)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	for _, s := range set {
		if err := applySet(rules, s); err != nil {
			return nil, usageErrorf("--set %s: %v", s, err)
		}
	}
	return rules, nil
}

// applySet applies one --set RULE.NAME=VALUE to a copy of the rule.
func applySet(rules []*detect.Rule, s string) error {
	lhs, val, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want RULE.NAME=VALUE")
	}
	i := strings.LastIndexByte(lhs, '.')
	if i <= 0 {
		return fmt.Errorf("want RULE.NAME=VALUE")
	}
	id, name := lhs[:i], lhs[i+1:]
	v, err := detect.ParseNumber(val)
	if err != nil {
		return err
	}
	k := slices.IndexFunc(rules, func(r *detect.Rule) bool { return r.ID == id })
	if k < 0 {
		return fmt.Errorf("no rule has id %q (see flowlens rules list)", id)
	}
	c := *rules[k]
	c.Thresholds = slices.Clone(c.Thresholds)
	if err := c.SetThreshold(name, v); err != nil {
		return err
	}
	rules[k] = &c
	return nil
}

// insightsCompiler compiles the Insights query of a rule. Unlike the query
// command's compileInsights it returns the compiler's positioned
// *insights.Error as it is, so that the runner can show it at its place in
// the rule file.
func insightsCompiler(query, dialect string) (string, error) {
	d, ok := insightsDialects[dialect]
	if !ok {
		return "", fmt.Errorf("the %s engine cannot run Insights queries yet; use SQL", dialect)
	}
	q, err := insights.Parse(query)
	if err != nil {
		return "", err
	}
	return compile.Compile(q, insightsSchema(), d, compile.Options{})
}

func validateRules(cmd *cobra.Command, f *detectFlags) error {
	var all [][]*detect.Rule
	var problems []string
	for _, d := range f.validate {
		rs, err := detect.LoadDir(d)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		all = append(all, rs)
	}
	n := 0
	for _, rs := range all {
		n += len(rs)
		opts := detect.Options{Insights: insightsCompiler, Timeout: time.Minute}
		if err := detect.Check(cmd.Context(), f.engine, rs, opts); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return &exitError{code: exitUsage, err: errors.New(strings.Join(problems, "\n"))}
	}
	if !g.quiet {
		fmt.Fprintf(g.stdout, "%d rules OK\n", n)
	}
	return nil
}

func runDetect(cmd *cobra.Command, f *detectFlags) error {
	if len(f.validate) > 0 {
		return validateRules(cmd, f)
	}
	now := time.Now().UTC()
	if f.since == "" && f.from == "" && f.to == "" {
		f.since = "24h"
		// Without a range, look at the last day of data in the lake rather
		// than the day before now: imported history would otherwise show
		// nothing. Follow mode watches live data, so it keeps now.
		if dir, err := g.dataDir(); err == nil && !f.follow {
			if st, err := lake.StatusOf(dir); err == nil && st.MaxStart > 0 {
				if last := time.Unix(st.MaxStart+1, 0).UTC(); last.Before(now.Add(-time.Hour)) {
					now = last
					noticef("detect: no --since or --from given: the last 24 hours of data in the lake (to %s)", now.Format(time.RFC3339))
				}
			}
		}
	}
	r, err := timeRange(&queryFlags{since: f.since, from: f.from, to: f.to}, now)
	if err != nil {
		return err
	}
	if r.To.IsZero() {
		r.To = now
	}
	if r.From.IsZero() {
		return usageErrorf("--to needs --from (or use --since)")
	}
	if !r.From.Before(r.To) {
		// Only --from alone gets here: the range would end now, before it starts.
		return usageErrorf("--from %s is after now (%s): give an earlier --from, or a --to after it", f.from, r.To.Format(time.RFC3339))
	}
	format := g.outputFormat("ndjson")
	switch format {
	case "table", "json", "ndjson", "text":
	default:
		return usageErrorf("-o: detect prints table, json or ndjson, not %s", format)
	}
	if f.follow && format == "json" {
		return usageErrorf("-o json prints one document and cannot follow: use ndjson or table")
	}
	if f.interval <= 0 {
		return usageErrorf("--interval: %s is not a positive duration", f.interval)
	}
	if f.timeout < 0 {
		// Zero is the engine's default; a negative limit is a typo.
		return usageErrorf("--timeout: %s is not a positive duration", f.timeout)
	}
	rules, tls, err := rulesAndLists(cmd, f.rules, f.threatLists, f.set)
	if err != nil {
		return err
	}
	var truth []detect.TruthEvent
	if f.truth != "" {
		if truth, err = detect.LoadTruth(f.truth); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	dataDir, err := g.dataDir()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	ctx := cmd.Context()
	if f.follow {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	eng, err := engine.Open(ctx, f.engine, dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer eng.Close()
	// A bar of the rules done, on a terminal; a continuous run prints its
	// changes between passes instead.
	progress := &ruleProgress{show: g.stderrIsTerminal() && !f.follow}
	runner := detect.NewRunner(eng, rules, detect.Options{ThreatLists: tls, Insights: insightsCompiler, Parallel: f.parallel, Timeout: f.timeout, OnRule: progress.done})

	var store *alert.Store
	var outbox *alert.Outbox
	if !f.noState {
		if store, err = alert.OpenStore(dataDir); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		disp, err := alert.NewDispatcher(ctx, g.cfg.Alerts.Sinks, alert.Env{})
		if err != nil {
			path, _ := config.Path(g.config)
			return &exitError{code: exitUsage, err: alert.InFile(err, path)}
		}
		outbox = alert.NewOutbox(store, disp)
	}
	var watcher *detect.Watcher
	if f.follow {
		// Files committed from now on are new; the first pass covers the rest.
		if watcher, err = detect.NewWatcher(dataDir); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	// A continuous run delivers from a courier of its own, so a slow or dead
	// sink never holds up detection; a one-shot run delivers at the end of
	// its pass and its exit code says whether every sink took its alerts.
	var poke chan struct{}
	if f.follow && outbox != nil {
		outbox.Reprobe = 30 * time.Second
		poke = make(chan struct{}, 1)
		// Stopping (Ctrl-C) ends the loop but lets a delivery under way
		// finish for a while, so that what a sink took is recorded rather
		// than sent again by the next run.
		loopCtx, stopLoop := context.WithCancel(ctx)
		sendCtx, abortSends := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			deliverLoop(loopCtx, sendCtx, outbox, poke, 15*time.Second)
		}()
		defer func() {
			stopLoop()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				abortSends()
				<-done
			}
			abortSends()
		}()
	}

	var all []alert.Alert
	pass := func(ctx context.Context, from, to time.Time) error {
		progress.start(len(runner.Rules()))
		rp := runner.Run(ctx, from, to)
		progress.finish()
		if ctx.Err() != nil {
			return nil
		}
		alerts, changed, err := recordOwed(rp, store, outbox)
		if err != nil {
			return err
		}
		if f.follow {
			// A continuous run prints what changed: new alerts and incidents
			// that went on, not every known alert again on each pass.
			if err := writeAlerts(followFormat(format), changed); err != nil {
				return err
			}
		}
		all = append(all, alerts...)
		if !g.quiet {
			fmt.Fprintf(g.stderr, "detect: %s to %s: %d rules, %d alerts\n", from.Format(time.RFC3339), to.Format(time.RFC3339), len(runner.Rules()), len(alerts))
			for _, rr := range rp.Rules {
				if rr.Skipped != "" {
					fmt.Fprintf(g.stderr, "detect: rule %s skipped: %s\n", rr.Rule.ID, rr.Skipped)
				}
			}
		}
		var owedTo []string
		switch {
		case outbox == nil:
		case f.follow:
			select {
			case poke <- struct{}{}:
			default: // the courier is already due to run
			}
		default:
			// Alerts owed from earlier runs first (oldest first), then this
			// run's: whatever a sink does not take stays owed.
			rep, err := outbox.Deliver(ctx)
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("deliver alerts: %w", err)}
			}
			printDelivery("detect", rep, false)
			for _, s := range rep.Sinks {
				if s.Owed > 0 || s.GaveUp > 0 {
					owedTo = append(owedTo, s.Sink)
				}
			}
		}
		if err := rp.Err(); err != nil {
			fmt.Fprintf(g.stderr, "detect: %v\n", err)
			if !f.follow {
				return &exitError{code: exitFailure, err: errors.New("some rules failed (see above)")}
			}
		}
		if len(owedTo) > 0 {
			return &exitError{code: exitFailure, err: fmt.Errorf("alerts were not delivered to sink %s (see above): they stay owed, and the next detect or 'flowlens alerts redeliver' sends them", strings.Join(owedTo, ", "))}
		}
		return nil
	}
	runErr := pass(ctx, r.From, r.To)
	if f.follow && runErr == nil {
		runErr = detect.Follow(ctx, watcher, f.interval, detect.Lookback(runner.Rules()), pass)
		if errors.Is(runErr, context.Canceled) {
			runErr = nil
		}
		return runErr
	}
	if err := printDetect(format, all, truth, f.truth != ""); err != nil {
		return err
	}
	return runErr
}

func followFormat(format string) string {
	if format == "json" {
		return "ndjson"
	}
	return format
}

// recordAlerts is the step of a continuous detection (flowlens serve):
// it records the run's alerts and what they owe to the sinks, then delivers
// everything owed, earlier failures included. failedSinks names the sinks
// still owed alerts (their errors are printed on stderr); those alerts are
// sent again by the next pass. The dispatcher's outbox lives as long as the
// dispatcher, so a dead sink is tried again only every 30 s or more
// (Outbox.Reprobe), not on every pass.
func recordAlerts(ctx context.Context, rp *detect.Report, store *alert.Store, disp *alert.Dispatcher) (all, changed []alert.Alert, failedSinks []string, err error) {
	var o *alert.Outbox
	if store != nil && disp != nil {
		v, ok := outboxes.Load(disp)
		if !ok {
			fresh := alert.NewOutbox(store, disp)
			fresh.Reprobe = 30 * time.Second
			v, _ = outboxes.LoadOrStore(disp, fresh)
		}
		o = v.(*alert.Outbox)
	}
	all, changed, err = recordOwed(rp, store, o)
	if err != nil || o == nil {
		return all, changed, nil, err
	}
	rep, err := o.Deliver(ctx)
	if err != nil {
		return all, changed, nil, fmt.Errorf("deliver alerts: %w", err)
	}
	printDelivery("detect", rep, true)
	for _, s := range rep.Sinks {
		if s.Owed > 0 || s.GaveUp > 0 {
			failedSinks = append(failedSinks, s.Sink)
		}
	}
	return all, changed, failedSinks, nil
}

// outboxes holds recordAlerts' outbox of each dispatcher.
var outboxes sync.Map

// recordOwed records the run's alerts in the store and what they owe to
// the sinks (delivered afterwards). It returns every alert the run found, as
// the store now holds it, and those the run created or changed. Without a
// store both are the run's alerts in normal form.
func recordOwed(rp *detect.Report, store *alert.Store, outbox *alert.Outbox) (all, changed []alert.Alert, err error) {
	if store == nil {
		out := make([]alert.Alert, 0, len(rp.Alerts))
		for _, a := range rp.Alerts {
			if err := a.Normalize(); err != nil {
				return nil, nil, &exitError{code: exitFailure, err: err}
			}
			out = append(out, a)
		}
		return out, out, nil
	}
	var created, updated []alert.Alert
	if outbox != nil {
		created, updated, err = outbox.Record(rp.Alerts)
	} else {
		created, updated, err = store.Upsert(rp.Alerts)
	}
	if err != nil {
		return nil, nil, &exitError{code: exitFailure, err: fmt.Errorf("record alerts: %w", err)}
	}
	changed = append(append([]alert.Alert(nil), created...), updated...)
	alert.SortAlerts(changed)
	out := append(created, updated...)
	ids := map[string]bool{}
	for _, a := range out {
		ids[a.ID] = true
	}
	// Firings that changed nothing (already known) are still part of the
	// run's answer: look them up so that a re-run prints the same alerts.
	known, err := store.List(alert.Filter{Since: rp.From.Add(-24 * time.Hour)})
	if err != nil {
		return nil, nil, &exitError{code: exitFailure, err: err}
	}
	for _, f := range rp.Alerts {
		for _, k := range known {
			if ids[k.ID] || k.Rule != f.Rule || k.Src != f.Src || k.Dst != f.Dst {
				continue
			}
			if !f.FirstSeen.After(k.LastSeen) && !f.LastSeen.Before(k.FirstSeen) {
				ids[k.ID] = true
				out = append(out, k)
			}
		}
	}
	alert.SortAlerts(out)
	return out, changed, nil
}

// deliverLoop is the courier of a continuous run: it delivers what is owed
// each time a pass pokes it, and every period besides, so alerts owed to a
// sink that was down go out once it is back (Outbox.Reprobe spaces the
// tries of a dead sink) even while no new data arrives. It stops when ctx
// ends; deliveries run under sendCtx, so one under way may finish.
func deliverLoop(ctx, sendCtx context.Context, o *alert.Outbox, poke <-chan struct{}, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poke:
		case <-t.C:
		}
		rep, err := o.Deliver(sendCtx)
		if err != nil {
			fmt.Fprintf(g.stderr, "detect: deliver alerts: %v\n", err)
			continue
		}
		printDelivery("detect", rep, true)
	}
}

// printDelivery reports a delivery on stderr: what each sink took (unless
// -q), and every alert given up, dropped or still owed. quietSkips leaves
// out sinks that were only skipped (down since an earlier try), which a
// continuous run would otherwise repeat on every tick.
func printDelivery(prefix string, rep *alert.DeliveryReport, quietSkips bool) {
	var took []string
	attempted := false
	for _, s := range rep.Sinks {
		if s.Delivered > 0 {
			took = append(took, fmt.Sprintf("%s %d", s.Sink, s.Delivered))
		}
		if s.Err != nil || s.GaveUp > 0 || s.Dropped > 0 {
			attempted = true
		}
	}
	if len(took) > 0 && !g.quiet {
		fmt.Fprintf(g.stderr, "%s: delivered alerts: %s\n", prefix, strings.Join(took, ", "))
	}
	if quietSkips && !attempted {
		return
	}
	for _, n := range rep.Notes() {
		fmt.Fprintf(g.stderr, "%s: %s\n", prefix, n)
	}
}

func printDetect(format string, alerts []alert.Alert, truth []detect.TruthEvent, scored bool) error {
	var score detect.Score
	if scored {
		score = detect.Evaluate(alerts, truth)
	}
	switch format {
	case "json":
		doc := map[string]any{"alerts": alerts}
		if alerts == nil {
			doc["alerts"] = []alert.Alert{}
		}
		if scored {
			doc["score"] = score
		}
		return json.NewEncoder(g.stdout).Encode(doc)
	case "ndjson":
		if err := writeAlerts("ndjson", alerts); err != nil {
			return err
		}
		if scored {
			fmt.Fprint(g.stderr, score.Table())
		}
		return nil
	}
	if err := writeAlerts("table", alerts); err != nil {
		return err
	}
	if scored {
		fmt.Fprintln(g.stdout)
		fmt.Fprint(g.stdout, score.Table())
	}
	return nil
}

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, show and validate detection rules",
		Long: `Rules lists the detection rules that 'flowlens detect' runs (the built-in pack
plus the folders of rules.dirs in the configuration), shows one rule's file, and
validates rule files. The rule format is described in docs/rules.md.

` + exitCodesHelp,
		Example: `  flowlens rules list
  flowlens rules show port-scan-vertical
  flowlens rules validate ./my-rules`,
	}
	var dirs []string
	list := &cobra.Command{
		Use:   "list [--rules DIR]...",
		Short: "List the rules: id, category, severity, window, thresholds",
		Long: `List prints every rule detect would run, built-in and user rules, with its
category, severity, window, thresholds and whether it is enabled.

` + exitCodesHelp,
		Example: `  flowlens rules list
  flowlens rules list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("rules") {
				dirs = g.cfg.Rules.Dirs
			}
			rules, err := loadRules(dirs, g.cfg.Rules.Disable, nil)
			if err != nil {
				return err
			}
			rs := &resultSet{Columns: []string{"id", "category", "severity", "window", "mitre", "thresholds", "enabled", "source", "title"}}
			for _, r := range rules {
				var th []string
				for _, t := range r.Thresholds {
					th = append(th, t.Name+"="+strconv.FormatFloat(t.Value, 'f', -1, 64))
				}
				win := config.FormatDuration(r.Window.Size) + " " + r.Window.Mode
				src := r.File
				if r.Builtin {
					src = "builtin"
				}
				rs.Rows = append(rs.Rows, []any{r.ID, r.Category, r.Severity.String(), win, strings.Join(r.MITRE, " "),
					strings.Join(th, " "), r.Enabled, src, r.Title})
			}
			return writeResult(g.stdout, g.outputFormat("ndjson"), rs)
		},
	}
	list.Flags().StringArrayVar(&dirs, "rules", nil, "folder of rule files to add (default: rules.dirs of the configuration)")
	var showDirs []string
	show := &cobra.Command{
		Use:   "show ID [--rules DIR]...",
		Short: "Print one rule's file",
		Long: `Show prints the YAML of one rule, built-in or from the --rules folders (default:
rules.dirs of the configuration): copy a built-in rule into your rules folder to
change more than its thresholds.

` + exitCodesHelp,
		Example: `  flowlens rules show c2-beaconing > my-rules/c2-beaconing.yaml
  flowlens rules show ssh-from-office --rules ./my-rules`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("rules") {
				showDirs = g.cfg.Rules.Dirs
			}
			rules, err := loadRules(showDirs, nil, nil)
			if err != nil {
				return err
			}
			for _, r := range rules {
				if r.ID == args[0] {
					_, err := g.stdout.Write(r.Text)
					return err
				}
			}
			return usageErrorf("no rule has id %q (see flowlens rules list)", args[0])
		},
	}
	show.Flags().StringArrayVar(&showDirs, "rules", nil, "folder of rule files to add (default: rules.dirs of the configuration)")
	var engineSpec string
	validate := &cobra.Command{
		Use:   "validate DIR|FILE...",
		Short: "Check rule files: YAML, keys, values, parameters and SQL",
		Long: `Validate checks rule files without data: the YAML, every key and value, the
query's {{parameters}}, and the query itself against the engine (an Insights query
is compiled, SQL is bound against the vpc_flow_logs view). Every problem is
printed as file:line:column and what was expected; the exit code is 2 when any.

` + exitCodesHelp,
		Example: `  flowlens rules validate ./my-rules
  flowlens rules validate my-rules/ssh-from-office.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return validateRules(cmd, &detectFlags{validate: args, engine: engineSpec})
		},
	}
	validate.Flags().StringVar(&engineSpec, "engine", "", "query engine to check the SQL with (default duckdb)")
	cmd.AddCommand(list, show, validate)
	return cmd
}

// ruleProgress draws a bar of the rules a detect pass has finished.
type ruleProgress struct {
	show bool
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
}

func (p *ruleProgress) start(rules int) {
	if !p.show {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar = progressbar.NewOptions(rules,
		progressbar.OptionSetWriter(g.stderr),
		progressbar.OptionSetDescription("rules"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
	)
	_ = p.bar.RenderBlank()
}

// done counts a finished rule; the runner calls it from several goroutines.
func (p *ruleProgress) done(rr detect.RuleResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(rr.Rule.ID)
		_ = p.bar.Add(1)
	}
}

func (p *ruleProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
