package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowlens/flowlens/alert"
)

// Lang is the language of a rule's query.
const (
	LangSQL      = "sql"
	LangInsights = "insights"
)

// Window modes.
const (
	// Tumbling windows do not overlap: [0, size), [size, 2·size), …
	Tumbling = "tumbling"
	// Sliding windows overlap by half: they start every size/2, so an event
	// that straddles a tumbling boundary still falls wholly in one window.
	Sliding = "sliding"
)

// Window is how a rule cuts time: every evaluation looks at Size of records,
// windows starting every Hop (Size for tumbling, Size/2 for sliding).
type Window struct {
	Size time.Duration
	Mode string
}

// Hop is the time between window starts.
func (w Window) Hop() time.Duration {
	if w.Mode == Sliding {
		return w.Size / 2
	}
	return w.Size
}

// Threshold is one named number a rule's query uses as {{name}}. Users tune a
// rule by changing thresholds, never its SQL.
type Threshold struct {
	Name  string
	Value float64
}

// Allow lists traffic a rule ignores: records from or to Allow.CIDRs, to
// Allow.Ports, or on Allow.ENIs. The query applies them through {{allow}};
// alerts whose src or dst is inside an allowed CIDR are dropped afterwards too.
type Allow struct {
	CIDRs []netip.Prefix
	Ports []int
	ENIs  []string
}

// Empty reports whether nothing is allowed.
func (a Allow) Empty() bool { return len(a.CIDRs) == 0 && len(a.Ports) == 0 && len(a.ENIs) == 0 }

// Output maps the query's result columns to the alert. Empty names take the
// defaults: src, dst, first_seen, last_seen, count and severity, each used
// when the result has a column of that name. Evidence columns default to
// every column not used otherwise.
type Output struct {
	Src, Dst            string
	FirstSeen, LastSeen string
	Count               string
	Severity            string
	Evidence            []string
}

// Rule is one detection: a query over a window whose result rows become alerts.
type Rule struct {
	ID          string
	Title       string // may name result columns as {column}
	Category    string
	Severity    alert.Severity
	MITRE       []string
	Description string
	Lang        string
	Query       string
	Window      Window
	// Baseline is how far before the evaluated range the query may look, for
	// rules that compare a window with the source's own history.
	Baseline   time.Duration
	Thresholds []Threshold
	// GroupBy names the result columns that identify one incident; rows with
	// the same values whose spans are within Suppress of each other become one
	// alert. Default: the src and dst columns.
	GroupBy []string
	Allow   Allow
	// Suppress is the incident window: a firing within it of the last one is
	// the same alert (alert.Alert.Window). Default 1h.
	Suppress time.Duration
	Output   Output
	Enabled  bool
	// File is where the rule was read (for built-in rules "builtin:NAME.yaml").
	File string
	// Builtin marks a rule of the embedded pack.
	Builtin bool
	// Text is the rule file's content.
	Text []byte

	queryPos func(off int) (line, col int)
	// colPos is where the rule names result columns: "title",
	// "group-by NAME", "alert.KEY" and "alert.evidence NAME", for errors
	// found when the query's columns are known; and "id", for a clash of
	// ids between files.
	colPos map[string]position
}

// position is a line and column in a rule file.
type position struct{ line, col int }

// at renders where the rule names a result column (see colPos): file:line:col,
// or the file alone when the position is unknown.
func (r *Rule) at(key string) string {
	if p, ok := r.colPos[key]; ok {
		return fmt.Sprintf("%s:%d:%d", r.File, p.line, p.col)
	}
	return r.File
}

// Threshold returns the value of the named threshold.
func (r *Rule) Threshold(name string) (float64, bool) {
	for _, t := range r.Thresholds {
		if t.Name == name {
			return t.Value, true
		}
	}
	return 0, false
}

// SetThreshold changes a threshold's value; the name must exist.
func (r *Rule) SetThreshold(name string, v float64) error {
	for i := range r.Thresholds {
		if r.Thresholds[i].Name == name {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("rule %s: threshold %s: %v is not a finite number", r.ID, name, v)
			}
			r.Thresholds[i].Value = v
			return nil
		}
	}
	names := make([]string, len(r.Thresholds))
	for i, t := range r.Thresholds {
		names[i] = t.Name
	}
	return fmt.Errorf("rule %s has no threshold %q (it has: %s)", r.ID, name, strings.Join(names, ", "))
}

// Error is one problem in a rule file, with its position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error renders file:line:column: message.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Errors is every problem found in one or more rule files.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// err returns es as an error, nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

var (
	idRE        = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	nameRE      = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	mitreRE     = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	enisRE      = regexp.MustCompile(`^eni-[0-9a-f]{8,17}$`)
	identRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	ruleKeys    = []string{"id", "title", "category", "severity", "mitre", "description", "lang", "query", "window", "baseline", "thresholds", "group-by", "allow", "suppress", "alert", "enabled"}
	windowKeys  = []string{"size", "mode"}
	allowKeys   = []string{"cidrs", "ports", "enis"}
	outputKeys  = []string{"src", "dst", "first-seen", "last-seen", "count", "severity", "evidence"}
	reservedKey = []string{"from", "to", "window", "bucket", "baseline", "baseline_from", "allow", "internal", "external", "threat"}
)

// parser reads one rule file with positions.
type parser struct {
	file string
	src  []byte
	errs Errors
	pos  map[string]position // result column names, see Rule.colPos
}

// note records where the rule names a result column.
func (p *parser) note(key string, n *yaml.Node) {
	if _, ok := p.pos[key]; !ok {
		p.pos[key] = position{n.Line, n.Column}
	}
}

func (p *parser) errorf(n *yaml.Node, format string, a ...any) {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// ParseRule reads one rule from YAML content; file names it in errors. It
// returns every problem it finds (Errors), each with file:line:column and what
// was expected.
func ParseRule(file string, src []byte) (*Rule, error) {
	p := &parser{file: file, src: src, pos: map[string]position{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, Errors{yamlError(file, src, err)}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Col: 1, Msg: "empty file: want a rule (a mapping with id, title, category, severity, query…)"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a rule must be a mapping of keys (%s), not a %s", strings.Join(ruleKeys, ", "), kindName(root))
		return nil, p.errs
	}
	if e := extraDocument(file, src); e != nil {
		p.errs = append(p.errs, e)
	}
	r := &Rule{File: file, Text: src, Enabled: true, Window: Window{Size: time.Hour, Mode: Tumbling}, Suppress: alert.DefaultWindow}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, dup := seen[k.Value]; dup {
			p.errorf(k, "key %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "id":
			r.ID = p.str(v, "id")
			p.note("id", v)
			if r.ID != "" && !idRE.MatchString(r.ID) {
				p.errorf(v, "id %q: want lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", r.ID)
			}
		case "title":
			r.Title = p.str(v, "title")
			p.note("title", v)
		case "category":
			r.Category = p.str(v, "category")
			if r.Category != "" && !alert.ValidCategory(r.Category) {
				p.errorf(v, "category %q is not one of %s", r.Category, strings.Join(alert.Categories, ", "))
			}
		case "severity":
			s := p.str(v, "severity")
			if s != "" {
				sev, err := alert.ParseSeverity(s)
				if err != nil {
					p.errorf(v, "%v", err)
				}
				r.Severity = sev
			}
		case "mitre":
			for _, n := range p.strList(v, "mitre") {
				if !mitreRE.MatchString(n.Value) {
					p.errorf(n, "mitre %q: want a MITRE ATT&CK technique id such as T1046 or T1110.001", n.Value)
				}
				r.MITRE = append(r.MITRE, n.Value)
			}
		case "description":
			r.Description = strings.TrimSpace(p.str(v, "description"))
		case "lang":
			r.Lang = p.str(v, "lang")
			if r.Lang != LangSQL && r.Lang != LangInsights {
				p.errorf(v, "lang %q is not one of sql, insights", r.Lang)
			}
		case "query":
			r.Query = p.str(v, "query")
			r.queryPos = p.scalarPos(v)
		case "window":
			p.window(v, &r.Window)
		case "baseline":
			r.Baseline = p.duration(v, "baseline", 0)
		case "thresholds":
			p.thresholds(v, r)
		case "group-by":
			for _, n := range p.strList(v, "group-by") {
				if !identRE.MatchString(n.Value) {
					p.errorf(n, "group-by %q: want a result column name", n.Value)
				}
				p.note("group-by "+n.Value, n)
				r.GroupBy = append(r.GroupBy, n.Value)
			}
		case "allow":
			p.allow(v, &r.Allow)
		case "suppress":
			r.Suppress = p.duration(v, "suppress", time.Minute)
		case "alert":
			p.output(v, &r.Output)
		case "enabled":
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				p.errorf(v, "enabled: want true or false")
			} else {
				r.Enabled = v.Value == "true"
			}
		default:
			p.errorf(k, "unknown key %q (known: %s)", k.Value, strings.Join(ruleKeys, ", "))
		}
	}
	for _, req := range []string{"id", "title", "category", "severity", "query"} {
		if seen[req] == nil {
			p.errs = append(p.errs, &Error{File: file, Line: root.Line, Col: root.Column, Msg: "missing key " + req})
		}
	}
	if r.Lang == "" {
		r.Lang = LangSQL
		if seen["query"] != nil && looksInsights(r.Query) {
			r.Lang = LangInsights
		}
	}
	if seen["query"] != nil {
		p.checkQuery(r, seen["query"])
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	r.colPos = p.pos
	return r, nil
}

// extraDocument reports a second YAML document in a rule file, which would
// otherwise be silently ignored. A trailing empty document (a file ending
// in ---) is harmless.
func extraDocument(file string, src []byte) *Error {
	d := yaml.NewDecoder(bytes.NewReader(src))
	var first, next yaml.Node
	if d.Decode(&first) != nil {
		return nil
	}
	err := d.Decode(&next)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return yamlError(file, src, err)
	case len(next.Content) == 0 || next.Content[0].Tag == "!!null":
		return nil
	}
	return &Error{File: file, Line: next.Line, Col: next.Column,
		Msg: "a rule file holds one rule: a second YAML document starts here (put each rule in a file of its own)"}
}

// looksInsights guesses the language of a query without lang: Insights
// queries start with a command and pipe commands together.
func looksInsights(q string) bool {
	t := strings.ToLower(strings.TrimSpace(q))
	for _, c := range []string{"fields ", "filter ", "stats ", "display ", "parse ", "sort ", "limit ", "dedup "} {
		if strings.HasPrefix(t, c) {
			return true
		}
	}
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// yamlError gives a YAML syntax error a file:line:column form.
func yamlError(file string, src []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// Errors without a line (an unexpected end) point at the end of the input.
	e := &Error{File: file, Msg: "YAML syntax: " + msg, Line: bytes.Count(src, []byte("\n")) + 1, Col: 1}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col = 1
		if m[2] != "" {
			e.Col, _ = strconv.Atoi(m[2])
		}
		e.Msg = "YAML syntax: " + strings.TrimSpace(yamlLineRE.ReplaceAllString(msg, ""))
		e.Msg = strings.TrimSuffix(strings.TrimPrefix(e.Msg, "YAML syntax: :"), ":")
		if !strings.HasPrefix(e.Msg, "YAML syntax") {
			e.Msg = "YAML syntax:" + e.Msg
		}
	}
	return e
}

// dupKeys reports keys that appear twice in the mapping v (YAML parsers
// differ on which one wins, so neither should); prefix names the mapping.
func (p *parser) dupKeys(v *yaml.Node, prefix string) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i]
		if seen[k.Value] {
			p.errorf(k, "key %s%s appears twice", prefix, k.Value)
		}
		seen[k.Value] = true
	}
}

func (p *parser) str(v *yaml.Node, key string) string {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.errorf(v, "%s: want text, not a %s", key, kindName(v))
		return ""
	}
	if strings.TrimSpace(v.Value) == "" {
		p.errorf(v, "%s: want text, got an empty value", key)
	}
	return v.Value
}

// strList accepts a list of scalars or one scalar.
func (p *parser) strList(v *yaml.Node, key string) []*yaml.Node {
	if v.Kind == yaml.ScalarNode {
		if v.Tag == "!!null" {
			return nil
		}
		return []*yaml.Node{v}
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "%s: want a list, not a %s", key, kindName(v))
		return nil
	}
	var out []*yaml.Node
	for _, n := range v.Content {
		if n.Kind != yaml.ScalarNode {
			p.errorf(n, "%s: want a list of text items, this item is a %s", key, kindName(n))
			continue
		}
		out = append(out, n)
	}
	return out
}

// ParseDuration reads a Go duration with d (days) and w (weeks) added: 90s,
// 10m, 1h, 1d12h, 7d, 2w.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var total time.Duration
	rest := s
	for _, u := range []struct {
		suffix byte
		d      time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		if i := strings.IndexByte(rest, u.suffix); i >= 0 {
			n, err := strconv.Atoi(rest[:i])
			if err != nil || n < 0 {
				return 0, fmt.Errorf("duration %q: want e.g. 90s, 10m, 1h, 7d", s)
			}
			// A Duration holds about 292 years: beyond, the product wraps.
			if int64(n) > int64(math.MaxInt64-total)/int64(u.d) {
				return 0, fmt.Errorf("duration %q is too long: at most about 290 years", s)
			}
			total += time.Duration(n) * u.d
			rest = rest[i+1:]
		}
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("duration %q: want e.g. 90s, 10m, 1h, 7d", s)
		}
		if d > math.MaxInt64-total {
			return 0, fmt.Errorf("duration %q is too long: at most about 290 years", s)
		}
		total += d
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration: want e.g. 90s, 10m, 1h, 7d")
	}
	return total, nil
}

func (p *parser) duration(v *yaml.Node, key string, min time.Duration) time.Duration {
	s := p.str(v, key)
	if s == "" {
		return 0
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errorf(v, "%s: %v", key, err)
		return 0
	}
	if d < min || d == 0 {
		p.errorf(v, "%s: %s is too short: want at least %s", key, s, max(min, time.Second))
	}
	return d
}

func (p *parser) window(v *yaml.Node, w *Window) {
	switch v.Kind {
	case yaml.ScalarNode:
		w.Size = p.duration(v, "window", time.Minute)
	case yaml.MappingNode:
		p.dupKeys(v, "window.")
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, x := v.Content[i], v.Content[i+1]
			switch k.Value {
			case "size":
				w.Size = p.duration(x, "window.size", time.Minute)
			case "mode":
				w.Mode = p.str(x, "window.mode")
				if w.Mode != Tumbling && w.Mode != Sliding {
					p.errorf(x, "window.mode %q is not one of tumbling, sliding", w.Mode)
				}
			default:
				p.errorf(k, "unknown key window.%s (known: %s)", k.Value, strings.Join(windowKeys, ", "))
			}
		}
	default:
		p.errorf(v, "window: want a duration (1h) or a mapping {size: 1h, mode: sliding}, not a %s", kindName(v))
	}
	if w.Size > 0 && w.Size%time.Second != 0 {
		p.errorf(v, "window: want whole seconds")
	}
}

func (p *parser) thresholds(v *yaml.Node, r *Rule) {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "thresholds: want a mapping of names to numbers, not a %s", kindName(v))
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		if !nameRE.MatchString(k.Value) {
			p.errorf(k, "threshold name %q: want lowercase letters, digits and _, starting with a letter", k.Value)
			continue
		}
		if slices.Contains(reservedKey, k.Value) {
			p.errorf(k, "threshold name %q is reserved for a built-in parameter (%s)", k.Value, strings.Join(reservedKey, ", "))
			continue
		}
		if _, dup := r.Threshold(k.Value); dup {
			p.errorf(k, "threshold %q appears twice", k.Value)
			continue
		}
		f, err := parseNumber(x)
		if err != nil {
			p.errorf(x, "threshold %s: %v", k.Value, err)
			// Still a threshold of the rule (which is not returned), so
			// that {{name}} in the query does not read as unknown too.
		}
		r.Thresholds = append(r.Thresholds, Threshold{Name: k.Value, Value: f})
	}
}

// parseNumber reads a finite number, allowing _ separators and the byte
// suffixes KB, MB, GB, TB (decimal, as flow logs count bytes).
func parseNumber(x *yaml.Node) (float64, error) {
	if x.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("want a number, not a %s", kindName(x))
	}
	return ParseNumber(x.Value)
}

// ParseNumber reads a threshold value: a finite number, with optional _
// separators and an optional KB, MB, GB or TB suffix (powers of 1000).
func ParseNumber(s string) (float64, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	mult := 1.0
	for _, u := range []struct {
		s string
		m float64
	}{{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}} {
		if strings.HasSuffix(strings.ToUpper(t), u.s) {
			t, mult = strings.TrimSpace(t[:len(t)-2]), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number (want e.g. 10, 0.25, 1_000_000 or 50MB)", s)
	}
	return f * mult, nil
}

func (p *parser) allow(v *yaml.Node, a *Allow) {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "allow: want a mapping with cidrs, ports and/or enis, not a %s", kindName(v))
		return
	}
	p.dupKeys(v, "allow.")
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "cidrs":
			for _, n := range p.strList(x, "allow.cidrs") {
				pf, err := alert.ParsePrefix(n.Value)
				if err != nil {
					p.errorf(n, "allow.cidrs: %q is not an IP address or CIDR (want e.g. 10.0.0.0/8 or 203.0.113.7)", n.Value)
					continue
				}
				a.CIDRs = append(a.CIDRs, pf)
			}
		case "ports":
			for _, n := range p.strList(x, "allow.ports") {
				port, err := strconv.Atoi(n.Value)
				if err != nil || port < 0 || port > 65535 {
					p.errorf(n, "allow.ports: %q is not a port number (0-65535)", n.Value)
					continue
				}
				a.Ports = append(a.Ports, port)
			}
		case "enis":
			for _, n := range p.strList(x, "allow.enis") {
				if !enisRE.MatchString(n.Value) {
					p.errorf(n, "allow.enis: %q is not a network interface id (eni- and 8 or 17 hex digits)", n.Value)
					continue
				}
				a.ENIs = append(a.ENIs, n.Value)
			}
		default:
			p.errorf(k, "unknown key allow.%s (known: %s)", k.Value, strings.Join(allowKeys, ", "))
		}
	}
}

func (p *parser) output(v *yaml.Node, o *Output) {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "alert: want a mapping of alert fields to result columns (%s), not a %s", strings.Join(outputKeys, ", "), kindName(v))
		return
	}
	p.dupKeys(v, "alert.")
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, x := v.Content[i], v.Content[i+1]
		col := func(dst *string) {
			*dst = p.str(x, "alert."+k.Value)
			p.note("alert."+k.Value, x)
			if *dst != "" && !identRE.MatchString(*dst) {
				p.errorf(x, "alert.%s: %q is not a result column name", k.Value, *dst)
			}
		}
		switch k.Value {
		case "src":
			col(&o.Src)
		case "dst":
			col(&o.Dst)
		case "first-seen":
			col(&o.FirstSeen)
		case "last-seen":
			col(&o.LastSeen)
		case "count":
			col(&o.Count)
		case "severity":
			col(&o.Severity)
		case "evidence":
			for _, n := range p.strList(x, "alert.evidence") {
				if !identRE.MatchString(n.Value) {
					p.errorf(n, "alert.evidence: %q is not a result column name", n.Value)
				}
				p.note("alert.evidence "+n.Value, n)
				o.Evidence = append(o.Evidence, n.Value)
			}
		default:
			p.errorf(k, "unknown key alert.%s (known: %s)", k.Value, strings.Join(outputKeys, ", "))
		}
	}
}

// scalarPos returns a function that maps a byte offset inside the scalar's
// value to its line and column in the file. Literal (|) and folded (>)
// blocks start on the line after the indicator, at the block's indentation;
// plain and quoted scalars start at the node.
func (p *parser) scalarPos(v *yaml.Node) func(off int) (int, int) {
	block := v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	lines := bytes.Split(p.src, []byte("\n"))
	startLine, indent := v.Line, v.Column-1
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		indent++ // past the quote
	}
	if block {
		// The value keeps the block's leading empty lines, so its lines
		// count from the line after the indicator; the indentation is that
		// of the first line with text.
		startLine = v.Line + 1
		first := startLine
		for first-1 < len(lines) && len(bytes.TrimSpace(lines[first-1])) == 0 {
			first++
		}
		if first-1 < len(lines) {
			l := lines[first-1]
			indent = len(l) - len(bytes.TrimLeft(l, " "))
		}
	}
	value := v.Value
	return func(off int) (int, int) {
		if off > len(value) {
			off = len(value)
		}
		before := value[:off]
		line := strings.Count(before, "\n")
		col := off - (strings.LastIndexByte(before, '\n') + 1)
		if line == 0 && !block {
			return startLine, indent + col + 1
		}
		if !block {
			// A multi-line plain scalar: continuation lines are re-indented.
			return startLine + line, col + 1
		}
		return startLine + line, indent + col + 1
	}
}

// checkQuery checks the query's {{…}} references: every name is a threshold
// or a built-in parameter, every threshold is used, macro arguments are
// column names. It also checks the alert mapping against the rule.
func (p *parser) checkQuery(r *Rule, qn *yaml.Node) {
	refs, err := scanRefs(r.Query)
	if err != nil {
		line, col := r.queryPos(err.off)
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: err.msg})
		return
	}
	used := map[string]bool{}
	for _, ref := range refs {
		line, col := r.queryPos(ref.start)
		bad := func(format string, a ...any) {
			p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)})
		}
		if r.Lang == LangInsights && (ref.arg != "" || ref.name != "" && !isThreshold(r, ref.name) && ref.name != "window") {
			bad("{{%s}}: Insights rules may use thresholds only (and {{window}}); macros such as {{internal(…)}} are for SQL rules", ref.text)
			continue
		}
		switch {
		case ref.arg != "":
			switch ref.name {
			case "internal", "external", "threat":
				if !identRE.MatchString(ref.arg) {
					bad("{{%s}}: the argument must be a column name such as srcaddr", ref.text)
				}
			default:
				bad("{{%s}}: unknown macro %s(…) (known: internal, external, threat)", ref.text, ref.name)
			}
		case slices.Contains(reservedKey, ref.name):
			if ref.name == "internal" || ref.name == "external" || ref.name == "threat" {
				bad("{{%s}}: %s needs a column argument, e.g. {{%s(srcaddr)}}", ref.text, ref.name, ref.name)
			}
		case isThreshold(r, ref.name):
			used[ref.name] = true
		default:
			names := []string{}
			for _, t := range r.Thresholds {
				names = append(names, t.Name)
			}
			sort.Strings(names)
			bad("{{%s}}: unknown parameter %q: want a threshold of this rule (%s) or a built-in (%s)",
				ref.text, ref.name, strings.Join(names, ", "), strings.Join(reservedKey, ", "))
		}
	}
	for _, t := range r.Thresholds {
		if !used[t.Name] {
			p.errorf(qn, "threshold %s is never used by the query (write {{%s}} where it applies)", t.Name, t.Name)
		}
	}
	if !r.Allow.Empty() && r.Lang == LangSQL && !slices.ContainsFunc(refs, func(x ref) bool { return x.name == "allow" && x.arg == "" }) {
		p.errorf(qn, "the rule has allow lists but its query never applies them: add {{allow}} to its WHERE clause")
	}
	if r.Lang == LangInsights && !r.Allow.Empty() && (len(r.Allow.Ports) > 0 || len(r.Allow.ENIs) > 0) {
		p.errorf(qn, "Insights rules can only allow CIDRs (applied to the alert's src and dst); write ports and ENIs into the query's filter")
	}
}

func isThreshold(r *Rule, name string) bool {
	_, ok := r.Threshold(name)
	return ok
}
