package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/insights"
)

// Options configure a Runner.
type Options struct {
	// ThreatLists feed {{threat(col)}}; rules using it are skipped without.
	ThreatLists []*enrich.ThreatList
	// Internal are the estate's own networks for {{internal(col)}} and
	// {{external(col)}}; nil means enrich.InternalPrefixes.
	Internal []netip.Prefix
	// Insights compiles a Logs Insights query to SQL for a dialect; rules in
	// Insights fail without it.
	Insights func(query, dialect string) (string, error)
	// Parallel is how many rules run at once; zero means the number of CPUs.
	Parallel int
	// Timeout bounds each query; zero means engine.DefaultTimeout.
	Timeout time.Duration
	// OnRule, when set, is called as each rule of a run finishes, from the
	// goroutine that ran it (so possibly from several at once), for
	// progress.
	OnRule func(RuleResult)

	// inlineThreat overrides defaultInlineThreat (tests run both paths).
	inlineThreat int
}

// Runner evaluates rules over time ranges of one engine's lake.
type Runner struct {
	eng   engine.Engine
	rules []*Rule
	o     Options

	threat *enrich.PrefixSet
}

// NewRunner returns a runner of the enabled rules among rules.
func NewRunner(eng engine.Engine, rules []*Rule, o Options) *Runner {
	r := &Runner{eng: eng, o: o}
	for _, rl := range rules {
		if rl.Enabled {
			r.rules = append(r.rules, rl)
		}
	}
	if r.o.Internal == nil {
		r.o.Internal = enrich.InternalPrefixes
	}
	if r.o.Parallel <= 0 {
		r.o.Parallel = runtime.NumCPU()
	}
	var ps []netip.Prefix
	for _, tl := range o.ThreatLists {
		ps = append(ps, tl.Set().Prefixes()...)
	}
	if len(ps) > 0 {
		r.threat = enrich.NewPrefixSet(ps)
	}
	return r
}

// Rules returns the enabled rules the runner evaluates.
func (r *Runner) Rules() []*Rule { return r.rules }

// RuleResult is what one rule did in a run.
type RuleResult struct {
	Rule    *Rule
	Queries int
	Rows    int
	Alerts  int
	Elapsed time.Duration
	// Skipped says why the rule did not run ("" when it ran).
	Skipped string
	Err     error
}

// Report is the outcome of a run.
type Report struct {
	From, To time.Time
	// Alerts are the firings, one per incident found, sorted by first_seen,
	// rule, src and dst.
	Alerts []alert.Alert
	Rules  []RuleResult
}

// Err joins the rules' errors, each text once: when the range cannot be read
// every rule has the same error, and it should be read once.
func (rp *Report) Err() error {
	var errs []error
	seen := map[string]bool{}
	for _, rr := range rp.Rules {
		if rr.Err != nil && !seen[rr.Err.Error()] {
			seen[rr.Err.Error()] = true
			errs = append(errs, rr.Err)
		}
	}
	return errors.Join(errs...)
}

// Run evaluates every rule over [from, to) concurrently. A failing rule does
// not stop the others: its error is in its RuleResult (and Report.Err).
func (r *Runner) Run(ctx context.Context, from, to time.Time) *Report {
	from, to = from.UTC().Truncate(time.Second), to.UTC()
	rp := &Report{From: from, To: to, Rules: make([]RuleResult, len(r.rules))}
	// Clamp the range to the records it holds, so that a long range over a
	// short lake (--since 30d, a follow from an old --from) evaluates only
	// the windows that can fire.
	lo, hi, ok, err := r.extent(ctx, from, to)
	if err != nil {
		for i, rl := range r.rules {
			rp.Rules[i] = RuleResult{Rule: rl, Err: err}
		}
		return rp
	}
	if !ok {
		for i, rl := range r.rules {
			rp.Rules[i] = RuleResult{Rule: rl, Skipped: "no records in the range"}
		}
		return rp
	}
	from, to = maxTime(from, lo), minTime(to, hi)
	sem := make(chan struct{}, r.o.Parallel)
	var wg sync.WaitGroup
	alerts := make([][]alert.Alert, len(r.rules))
	for i, rl := range r.rules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			began := time.Now()
			res := &rp.Rules[i]
			res.Rule = rl
			alerts[i] = r.runRule(ctx, rl, from, to, res)
			res.Alerts = len(alerts[i])
			res.Elapsed = time.Since(began)
			if r.o.OnRule != nil {
				r.o.OnRule(*res)
			}
			if res.Err != nil {
				slog.Warn("rule failed", "rule", rl.ID, "err", res.Err)
			} else {
				slog.Debug("rule evaluated", "rule", rl.ID, "queries", res.Queries, "rows", res.Rows, "alerts", res.Alerts, "seconds", res.Elapsed.Seconds())
			}
		}()
	}
	wg.Wait()
	for _, as := range alerts {
		rp.Alerts = append(rp.Alerts, as...)
	}
	sort.SliceStable(rp.Alerts, func(i, j int) bool {
		a, b := &rp.Alerts[i], &rp.Alerts[j]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Src != b.Src {
			return a.Src < b.Src
		}
		return a.Dst < b.Dst
	})
	return rp
}

// extent returns the first and last record start in [from, to) (the last
// plus one second), and whether there is any record.
func (r *Runner) extent(ctx context.Context, from, to time.Time) (time.Time, time.Time, bool, error) {
	res, err := r.eng.Query(ctx, engine.Request{SQL: "SELECT min(start), max(start) FROM vpc_flow_logs", Range: engine.Range{From: from, To: to}, Timeout: r.o.Timeout})
	if err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("find the records of the range: %w", err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] == nil {
		return time.Time{}, time.Time{}, false, nil
	}
	lo, ok1 := numberValue(res.Rows[0][0])
	hi, ok2 := numberValue(res.Rows[0][1])
	if !ok1 || !ok2 {
		return time.Time{}, time.Time{}, false, fmt.Errorf("find the records of the range: unexpected %v", res.Rows[0])
	}
	return time.Unix(int64(lo), 0).UTC(), time.Unix(int64(hi)+1, 0).UTC(), true, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// span is one evaluation: the query text for [from, to).
type span struct {
	from, to time.Time
	offset   int64 // bucket offset in seconds (sliding windows)
}

func (r *Runner) runRule(ctx context.Context, rl *Rule, from, to time.Time, res *RuleResult) []alert.Alert {
	refs, rerr := scanRefs(rl.Query)
	if rerr != nil {
		res.Err = fmt.Errorf("rule %s: %s", rl.ID, rerr.msg)
		return nil
	}
	usesThreat := slices.ContainsFunc(refs, func(x ref) bool { return x.name == "threat" })
	if usesThreat && r.threat == nil {
		res.Skipped = "no threat list loaded (give --threat-list or threat-lists in the configuration)"
		if len(r.o.ThreatLists) > 0 {
			paths := make([]string, len(r.o.ThreatLists))
			for i, tl := range r.o.ThreatLists {
				paths[i] = tl.Path
			}
			res.Skipped = "the threat lists (" + strings.Join(paths, ", ") + ") hold no addresses"
		}
		return nil
	}
	bucketed := rl.Lang == LangSQL && slices.ContainsFunc(refs, func(x ref) bool { return x.name == "bucket" })
	size := int64(rl.Window.Size / time.Second)
	hop := int64(rl.Window.Hop() / time.Second)
	var spans []span
	if bucketed {
		spans = append(spans, span{from: from, to: to})
		if rl.Window.Mode == Sliding {
			spans = append(spans, span{from: from, to: to, offset: hop})
		}
	} else {
		first := floorDiv(from.Unix(), hop) * hop
		for w := first; w < to.Unix(); w += hop {
			spans = append(spans, span{from: time.Unix(w, 0).UTC(), to: time.Unix(w+size, 0).UTC()})
		}
	}
	var hits *threatHits
	if usesThreat && r.threat.Len() > r.inlineThreat() && len(spans) > 0 {
		h, err := r.lookupThreats(ctx, spans[0].from.Add(-rl.Baseline), spans[len(spans)-1].to)
		if err != nil {
			res.Err = fmt.Errorf("rule %s: match the threat lists: %w", rl.ID, err)
			return nil
		}
		hits = h
	}
	var rows []firing
	for _, sp := range spans {
		if ctx.Err() != nil {
			res.Err = fmt.Errorf("rule %s: %w", rl.ID, ctx.Err())
			return nil
		}
		q, exp, err := r.render(rl, refs, sp, size, hits)
		if err != nil {
			res.Err = err
			return nil
		}
		req := engine.Request{SQL: q, Range: engine.Range{From: sp.from.Add(-rl.Baseline), To: sp.to}, Timeout: r.o.Timeout}
		out, err := r.eng.Query(ctx, req)
		res.Queries++
		if err != nil {
			res.Err = r.queryError(rl, exp, err)
			return nil
		}
		if out.Truncated {
			slog.Warn("rule result truncated", "rule", rl.ID, "rows", len(out.Rows))
		}
		res.Rows += len(out.Rows)
		fs, err := r.firings(rl, out, sp)
		if err != nil {
			res.Err = err
			return nil
		}
		rows = append(rows, fs...)
	}
	alerts := r.merge(rl, rows, from)
	if usesThreat {
		for i := range alerts {
			r.threatEvidence(&alerts[i])
		}
	}
	return alerts
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// render substitutes the rule's parameters for one span and, for Insights
// rules, compiles the result to SQL. hits, when set, are the threat-list
// matches {{threat(col)}} tests against (see lookupThreats).
func (r *Runner) render(rl *Rule, refs []ref, sp span, size int64, hits *threatHits) (string, *expansion, error) {
	exp, err := expand(rl.Query, refs, func(x ref) (string, error) {
		if x.name == "threat" && hits != nil {
			return hits.predicate(x.arg), nil
		}
		return r.value(rl, x, sp, size)
	})
	if err != nil {
		return "", nil, fmt.Errorf("rule %s: %w", rl.ID, err)
	}
	if rl.Lang != LangInsights {
		return exp.SQL, exp, nil
	}
	if r.o.Insights == nil {
		return "", nil, fmt.Errorf("rule %s: this flowlens cannot compile Insights rules", rl.ID)
	}
	q, err := r.o.Insights(exp.SQL, r.eng.Dialect())
	if err != nil {
		// A positioned error is about the expanded query: show it at its
		// place in the rule file, as engine errors are.
		var ie *insights.Error
		if errors.As(err, &ie) && rl.queryPos != nil {
			line, col := rl.queryPos(exp.origOffset(ie.Pos.Start))
			return "", nil, fmt.Errorf("%s:%d:%d: rule %s: compile the Insights query: %s", rl.File, line, col, rl.ID, ie.Msg)
		}
		return "", nil, fmt.Errorf("%s: rule %s: compile the Insights query: %w", rl.File, rl.ID, err)
	}
	return q, nil, nil
}

// value is the SQL text of one parameter: a Literal, or a predicate built
// from fixed SQL, column names checked at parse time and Literals.
func (r *Runner) value(rl *Rule, x ref, sp span, size int64) (string, error) {
	switch x.name {
	case "from":
		return engine.Literal(sp.from.Unix()), nil
	case "to":
		return engine.Literal(ceilUnix(sp.to)), nil
	case "window":
		return engine.Literal(size), nil
	case "baseline":
		return engine.Literal(int64(rl.Baseline / time.Second)), nil
	case "baseline_from":
		return engine.Literal(sp.from.Add(-rl.Baseline).Unix()), nil
	case "bucket":
		if sp.offset == 0 {
			return fmt.Sprintf("(CAST(floor(start / %s) AS BIGINT) * %s)", engine.Literal(size), engine.Literal(size)), nil
		}
		return fmt.Sprintf("(CAST(floor((start - %s) / %s) AS BIGINT) * %s + %s)",
			engine.Literal(sp.offset), engine.Literal(size), engine.Literal(size), engine.Literal(sp.offset)), nil
	case "internal":
		return prefixPredicate(x.arg, r.o.Internal), nil
	case "external":
		return fmt.Sprintf("(%s IS NOT NULL AND NOT %s)", x.arg, prefixPredicate(x.arg, r.o.Internal)), nil
	case "threat":
		// The estate's own networks are never matches: feeds such as
		// FireHOL level1 list the private ranges as bogons, which would
		// make every internal connection a threat-list hit.
		return fmt.Sprintf("(%s AND NOT %s)", prefixPredicate(x.arg, r.threat.Prefixes()), prefixPredicate(x.arg, r.o.Internal)), nil
	case "allow":
		return allowPredicate(rl.Allow), nil
	}
	if v, ok := rl.Threshold(x.name); ok {
		return engine.Literal(v), nil
	}
	return "", fmt.Errorf("unknown parameter {{%s}}", x.text)
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// allowPredicate is TRUE for records the allow lists do not cover.
func allowPredicate(a Allow) string {
	if a.Empty() {
		return sqlTrue
	}
	var terms []string
	if len(a.CIDRs) > 0 {
		terms = append(terms, "coalesce("+prefixPredicate("srcaddr", a.CIDRs)+", "+sqlFalse+")",
			"coalesce("+prefixPredicate("dstaddr", a.CIDRs)+", "+sqlFalse+")")
	}
	if len(a.Ports) > 0 {
		ps := make([]string, len(a.Ports))
		for i, p := range a.Ports {
			ps[i] = engine.Literal(p)
		}
		terms = append(terms, "coalesce(dstport IN ("+strings.Join(ps, ", ")+"), "+sqlFalse+")")
	}
	if len(a.ENIs) > 0 {
		es := make([]string, len(a.ENIs))
		for i, e := range a.ENIs {
			es[i] = engine.Literal(e)
		}
		terms = append(terms, "coalesce(interface_id IN ("+strings.Join(es, ", ")+"), "+sqlFalse+")")
	}
	return "NOT (" + strings.Join(terms, " OR ") + ")"
}

// queryError places an engine error in the rule file when it has a position.
func (r *Runner) queryError(rl *Rule, exp *expansion, err error) error {
	qe := engine.AsError(err)
	if qe == nil || qe.Pos < 0 || exp == nil || rl.queryPos == nil {
		return fmt.Errorf("%s: rule %s: %w", rl.File, rl.ID, err)
	}
	line, col := rl.queryPos(exp.origOffset(qe.Pos))
	return fmt.Errorf("%s:%d:%d: rule %s: %w", rl.File, line, col, rl.ID, err)
}

// firing is one result row read as an alert candidate.
type firing struct {
	a   alert.Alert
	key string
}

// columns resolves the output mapping against a result's columns.
type columns struct {
	src, dst, first, last, count, sev int
	evidence                          []int
	group                             []int
	names                             []string
}

func (r *Runner) resolve(rl *Rule, res *engine.Result) (*columns, error) {
	names := res.Names()
	idx := func(name string) int { return slices.Index(names, name) }
	pick := func(key, explicit string, defaults ...string) (int, error) {
		if explicit != "" {
			i := idx(explicit)
			if i < 0 {
				return -1, fmt.Errorf("%s: rule %s: the alert mapping names column %q, the query returns %s", rl.at(key), rl.ID, explicit, strings.Join(names, ", "))
			}
			return i, nil
		}
		for _, d := range defaults {
			if i := idx(d); i >= 0 {
				return i, nil
			}
		}
		return -1, nil
	}
	for _, name := range titleRefs(rl.Title) {
		if name != "src" && name != "dst" && idx(name) < 0 {
			return nil, fmt.Errorf("%s: rule %s: the title names {%s}, but the query returns %s ({src} and {dst} are the alert's addresses)",
				rl.at("title"), rl.ID, name, strings.Join(names, ", "))
		}
	}
	c := &columns{names: names}
	var err error
	o := rl.Output
	for _, f := range []struct {
		dst           *int
		key, explicit string
		defs          []string
	}{
		{&c.src, "alert.src", o.Src, []string{"src", "srcaddr"}},
		{&c.dst, "alert.dst", o.Dst, []string{"dst", "dstaddr"}},
		{&c.first, "alert.first-seen", o.FirstSeen, []string{"first_seen"}},
		{&c.last, "alert.last-seen", o.LastSeen, []string{"last_seen"}},
		{&c.count, "alert.count", o.Count, []string{"count"}},
		{&c.sev, "alert.severity", o.Severity, []string{"severity"}},
	} {
		if *f.dst, err = pick(f.key, f.explicit, f.defs...); err != nil {
			return nil, err
		}
	}
	used := []int{c.src, c.dst, c.first, c.last, c.count, c.sev}
	if len(o.Evidence) > 0 {
		for _, e := range o.Evidence {
			i := idx(e)
			if i < 0 {
				return nil, fmt.Errorf("%s: rule %s: alert.evidence names column %q, the query returns %s", rl.at("alert.evidence "+e), rl.ID, e, strings.Join(names, ", "))
			}
			c.evidence = append(c.evidence, i)
		}
	} else {
		for i := range names {
			if !slices.Contains(used, i) {
				c.evidence = append(c.evidence, i)
			}
		}
	}
	if len(rl.GroupBy) > 0 {
		for _, g := range rl.GroupBy {
			i := idx(g)
			if i < 0 {
				return nil, fmt.Errorf("%s: rule %s: group-by names column %q, the query returns %s", rl.at("group-by "+g), rl.ID, g, strings.Join(names, ", "))
			}
			c.group = append(c.group, i)
		}
	} else {
		for _, i := range []int{c.src, c.dst} {
			if i >= 0 {
				c.group = append(c.group, i)
			}
		}
	}
	return c, nil
}

// firings turns result rows into alert candidates.
func (r *Runner) firings(rl *Rule, res *engine.Result, sp span) ([]firing, error) {
	// Resolve the columns even without rows, so that a mapping naming a
	// column the query does not return fails on the first run (and in
	// Check, over an empty lake), not on the day the rule first fires.
	c, err := r.resolve(rl, res)
	if err != nil {
		return nil, err
	}
	if len(res.Rows) == 0 {
		return nil, nil
	}
	out := make([]firing, 0, len(res.Rows))
	for _, row := range res.Rows {
		a := alert.Alert{
			Rule: rl.ID, Category: rl.Category, Severity: rl.Severity,
			MITRE: slices.Clone(rl.MITRE), Window: rl.Suppress, Count: 1,
			Evidence: map[string]any{},
		}
		if c.src >= 0 {
			a.Src = addrText(row[c.src])
		}
		if c.dst >= 0 {
			a.Dst = addrText(row[c.dst])
		}
		a.FirstSeen, a.LastSeen = sp.from, sp.to.Add(-time.Second)
		if c.first >= 0 {
			t, ok := timeValue(row[c.first])
			if !ok {
				return nil, fmt.Errorf("%s: rule %s: column %s: %v is not a time (want Unix seconds or a timestamp)", rl.File, rl.ID, c.names[c.first], row[c.first])
			}
			a.FirstSeen = t
			a.LastSeen = t
		}
		if c.last >= 0 {
			t, ok := timeValue(row[c.last])
			if !ok {
				return nil, fmt.Errorf("%s: rule %s: column %s: %v is not a time (want Unix seconds or a timestamp)", rl.File, rl.ID, c.names[c.last], row[c.last])
			}
			a.LastSeen = t
		}
		if a.LastSeen.Before(a.FirstSeen) {
			a.LastSeen = a.FirstSeen
		}
		if c.count >= 0 {
			if n, ok := numberValue(row[c.count]); ok && n >= 1 {
				a.Count = int64(n)
			}
		}
		if c.sev >= 0 {
			if s, ok := row[c.sev].(string); ok {
				if sev, err := alert.ParseSeverity(s); err == nil {
					a.Severity = sev
				}
			}
		}
		for _, i := range c.evidence {
			a.Evidence[c.names[i]] = evidenceValue(row[i])
		}
		a.Title = titleText(rl.Title, &a, c.names, row)
		var key strings.Builder
		var extra []string
		for _, i := range c.group {
			key.WriteString(fmt.Sprint(row[i]))
			key.WriteByte(0)
			// Group-by columns other than the addresses and times tell
			// this rule's incidents apart in the alert store too.
			if i != c.src && i != c.dst && i != c.first && i != c.last {
				extra = append(extra, cellText(row[i]))
			}
		}
		a.Key = strings.Join(extra, " ")
		out = append(out, firing{a: a, key: key.String()})
	}
	return out, nil
}

// merge folds firings with the same group key whose spans are within the
// rule's suppression window into one alert, drops those that ended before
// from (they lie in the baseline) or that the allow lists cover.
func (r *Runner) merge(rl *Rule, fs []firing, from time.Time) []alert.Alert {
	allowed := enrich.NewPrefixSet(rl.Allow.CIDRs)
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].key != fs[j].key {
			return fs[i].key < fs[j].key
		}
		return fs[i].a.FirstSeen.Before(fs[j].a.FirstSeen)
	})
	var out []alert.Alert
	w := rl.Suppress
	for i := 0; i < len(fs); {
		j := i + 1
		cur := fs[i].a
		for j < len(fs) && fs[j].key == fs[i].key && !fs[j].a.FirstSeen.After(cur.LastSeen.Add(w)) {
			n := fs[j].a
			if n.LastSeen.After(cur.LastSeen) {
				cur.LastSeen = n.LastSeen
				cur.Title = n.Title
			}
			cur.Count += n.Count
			if n.Severity > cur.Severity {
				cur.Severity = n.Severity
			}
			for k, v := range n.Evidence {
				cur.Evidence[k] = maxEvidence(cur.Evidence[k], v)
			}
			j++
		}
		i = j
		if cur.LastSeen.Before(from) {
			continue
		}
		if allowedAddr(allowed, cur.Src) || allowedAddr(allowed, cur.Dst) {
			continue
		}
		out = append(out, cur)
	}
	return out
}

func allowedAddr(s *enrich.PrefixSet, addr string) bool {
	if s.Len() == 0 || addr == "" {
		return false
	}
	a, err := netip.ParseAddr(addr)
	return err == nil && s.Contains(a)
}

// threatEvidence names the threat-list entry an alert's src or dst matched.
func (r *Runner) threatEvidence(a *alert.Alert) {
	internal := enrich.NewPrefixSet(r.o.Internal)
	for _, side := range []struct{ key, addr string }{{"src", a.Src}, {"dst", a.Dst}} {
		ip, err := netip.ParseAddr(side.addr)
		if err != nil || internal.Contains(ip) {
			continue // the estate's own addresses never match (see value)
		}
		for _, tl := range r.o.ThreatLists {
			if e, ok := tl.Match(ip); ok {
				a.Evidence["threat_list"] = tl.Name
				a.Evidence["threat_entry"] = e.Prefix.String()
				a.Evidence["threat_side"] = side.key
				if e.Comment != "" {
					a.Evidence["threat_note"] = e.Comment
				}
				return
			}
		}
	}
}

func maxEvidence(a, b any) any {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	if ok1 && ok2 {
		return math.Max(x, y)
	}
	xi, ok1 := a.(int64)
	yi, ok2 := b.(int64)
	if ok1 && ok2 {
		return max(xi, yi)
	}
	if b == nil {
		return a
	}
	return b
}

// addrText returns a result value as canonical address text, "" when it is
// not an address.
func addrText(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

func timeValue(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), true
	case string:
		t, err := time.Parse(time.RFC3339, x)
		if err != nil {
			if n, err2 := strconv.ParseInt(x, 10, 64); err2 == nil {
				return time.Unix(n, 0).UTC(), true
			}
			return time.Time{}, false
		}
		return t.UTC(), true
	}
	if n, ok := numberValue(v); ok {
		return time.Unix(int64(n), 0).UTC(), true
	}
	return time.Time{}, false
}

func numberValue(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// evidenceValue keeps numbers, text and booleans; floats are rounded to 4
// significant decimals so that evidence reads well; lists are kept.
func evidenceValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		if x == math.Trunc(x) {
			return x
		}
		p := math.Pow(10, 4-math.Ceil(math.Log10(math.Abs(x))))
		if math.IsInf(p, 0) || p == 0 {
			return x
		}
		return math.Round(x*p) / p
	case int64:
		return float64(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	case nil, string, bool:
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = evidenceValue(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

// titleRefs returns the names of the {column} references of a rule title
// (braces around anything but a name are text).
func titleRefs(tmpl string) []string {
	var out []string
	for rest := tmpl; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return out
		}
		if name := rest[i+1 : i+j]; identRE.MatchString(name) {
			out = append(out, name)
		}
		rest = rest[i+j+1:]
	}
}

// titleText fills {column}, {src} and {dst} in a rule title.
func titleText(tmpl string, a *alert.Alert, names []string, row []any) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '{' {
			b.WriteByte(tmpl[i])
			continue
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl[i:])
			break
		}
		name := tmpl[i+1 : i+j]
		switch {
		case name == "src":
			b.WriteString(orDash(a.Src))
		case name == "dst":
			b.WriteString(orDash(a.Dst))
		case slices.Contains(names, name):
			b.WriteString(cellText(row[slices.Index(names, name)]))
		default:
			b.WriteString(tmpl[i : i+j+1])
		}
		i += j
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cellText(v any) string {
	switch x := evidenceValue(v).(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
