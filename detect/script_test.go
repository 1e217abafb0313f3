package detect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/querytest"
)

// Detection scripts (testdata/*.test) work like the query scripts of
// querytest: they load raw flow-log lines into a real Parquet lake and state
// the alerts the built-in rules must raise.
//
//	load [FORMAT]
//	<flow-log lines>
//	repeat N <line with {i}, {A+i}, {A+i*B} counters, i from 0 to N-1>
//
//	threats
//	<threat list lines>
//
//	detect from=T to=T [rules=ID,ID]
//	----
//	<rule> <severity> <src|-> <dst|->    one line per expected alert; none for no alert
//
// Alerts compare as a set. Blocks are separated by blank lines; # starts a
// comment line.

type scriptBlock struct {
	kind     string // load, threats, detect
	line     int
	format   string
	lines    []string
	from, to time.Time
	rules    []string
	want     []string
}

var counterRE = regexp.MustCompile(`\{(-?\d+)?([+-])?i(?:\*(\d+))?\}|\{i\}`)

// expandRepeat expands "repeat N line" into N lines.
func expandRepeat(n int, tmpl string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = counterRE.ReplaceAllStringFunc(tmpl, func(m string) string {
			p := counterRE.FindStringSubmatch(m)
			if m == "{i}" {
				return strconv.Itoa(i)
			}
			base, _ := strconv.Atoi(p[1])
			step := 1
			if p[3] != "" {
				step, _ = strconv.Atoi(p[3])
			}
			if p[2] == "-" {
				step = -step
			}
			return strconv.Itoa(base + i*step)
		})
	}
	return out
}

func parseScript(t *testing.T, path string) []*scriptBlock {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []*scriptBlock
	fail := func(i int, format string, a ...any) {
		t.Fatalf("%s:%d: %s", path, i+1, fmt.Sprintf(format, a...))
	}
	for i := 0; i < len(lines); {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		cmd, rest, _ := strings.Cut(l, " ")
		blk := &scriptBlock{kind: cmd, line: i + 1}
		i++
		var body []string
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			if !strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
				body = append(body, strings.TrimSpace(lines[i]))
			}
			i++
		}
		switch cmd {
		case "load":
			blk.format = strings.TrimSpace(rest)
			for _, bl := range body {
				if r, ok := strings.CutPrefix(bl, "repeat "); ok {
					nText, tmpl, _ := strings.Cut(r, " ")
					n, err := strconv.Atoi(nText)
					if err != nil {
						fail(blk.line, "repeat %q: want a count", nText)
					}
					blk.lines = append(blk.lines, expandRepeat(n, tmpl)...)
					continue
				}
				blk.lines = append(blk.lines, bl)
			}
		case "threats":
			blk.lines = body
		case "detect":
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "from", "to":
					tm, err := time.Parse(time.RFC3339, v)
					if err != nil {
						fail(blk.line, "%s: %v", k, err)
					}
					if k == "from" {
						blk.from = tm
					} else {
						blk.to = tm
					}
				case "rules":
					blk.rules = strings.Split(v, ",")
				default:
					fail(blk.line, "unknown detect option %q", k)
				}
			}
			sep := slices.Index(body, "----")
			if sep < 0 {
				fail(blk.line, "detect without ----")
			}
			for _, w := range body[sep+1:] {
				if w != "none" {
					blk.want = append(blk.want, strings.Join(strings.Fields(w), " "))
				}
			}
		default:
			fail(blk.line, "unknown block %q (want load, threats or detect)", cmd)
		}
		out = append(out, blk)
	}
	return out
}

func runScript(t *testing.T, path string) {
	ctx := context.Background()
	blocks := parseScript(t, path)
	w, err := querytest.NewLakeWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var threats []*enrich.ThreatList
	dir := t.TempDir()
	var eng engine.Engine
	defer func() {
		if eng != nil {
			eng.Close()
		}
	}()
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		switch b.kind {
		case "load":
			var f *flowlog.Format
			if b.format != "" {
				if f, err = flowlog.ParseFormat(b.format); err != nil {
					t.Fatalf("%s:%d: %v", path, b.line, err)
				}
			}
			if _, err := w.AddLines(strings.NewReader(strings.Join(b.lines, "\n")), f); err != nil {
				t.Fatalf("%s:%d: %v", path, b.line, err)
			}
		case "threats":
			tl, err := enrich.ParseThreatList(fmt.Sprintf("%s:%d", filepath.Base(path), b.line), strings.NewReader(strings.Join(b.lines, "\n")))
			if err != nil {
				t.Fatal(err)
			}
			threats = append(threats, tl)
		case "detect":
			if eng == nil {
				if err := w.WriteTo(ctx, engine.LakeDir(dir)); err != nil {
					t.Fatal(err)
				}
				if eng, err = engine.Open(ctx, "", dir); err != nil {
					t.Fatal(err)
				}
			}
			rules := builtin
			if len(b.rules) > 0 {
				rules = nil
				for _, r := range builtin {
					if slices.Contains(b.rules, r.ID) {
						rules = append(rules, r)
					}
				}
				if len(rules) != len(b.rules) {
					t.Fatalf("%s:%d: unknown rule in %v", path, b.line, b.rules)
				}
			}
			rp := NewRunner(eng, rules, Options{ThreatLists: threats}).Run(ctx, b.from, b.to)
			if err := rp.Err(); err != nil {
				t.Fatalf("%s:%d: %v", path, b.line, err)
			}
			var got []string
			ids := map[string]string{}
			for _, a := range rp.Alerts {
				got = append(got, strings.Join([]string{a.Rule, a.Severity.String(), orDash(a.Src), orDash(a.Dst)}, " "))
				// Each incident has an id of its own, also when rules that
				// tell incidents apart by other columns (a flow log, an
				// interface) have neither src nor dst.
				if err := a.Normalize(); err != nil {
					t.Fatalf("%s:%d: %v", path, b.line, err)
				}
				if other, dup := ids[a.ID]; dup {
					t.Errorf("%s:%d: two alerts have id %s:\n%s\n%s", path, b.line, a.ID, other, a.Line())
				}
				ids[a.ID] = a.Line()
			}
			if len(threats) > 0 {
				// The same run with the threat lists matched in Go
				// (lookupThreats) instead of in SQL: identical alerts.
				again := NewRunner(eng, rules, Options{ThreatLists: threats, inlineThreat: -1}).Run(ctx, b.from, b.to)
				if err := again.Err(); err != nil {
					t.Fatalf("%s:%d: threat lookup: %v", path, b.line, err)
				}
				if d := cmp.Diff(alertLines(rp.Alerts), alertLines(again.Alerts)); d != "" {
					t.Errorf("%s:%d: threat lists matched in Go, not SQL (-SQL +Go):\n%s", path, b.line, d)
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			want := slices.Clone(b.want)
			slices.Sort(want)
			if d := cmp.Diff(want, got); d != "" {
				var detail []string
				for _, a := range rp.Alerts {
					detail = append(detail, a.Line())
				}
				t.Errorf("%s:%d: alerts (-want +got):\n%s\n%s", path, b.line, d, strings.Join(detail, "\n"))
			}
		}
	}
}

// alertLines is each alert as its JSON line, sorted.
func alertLines(as []alert.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Line())
	}
	slices.Sort(out)
	return out
}

// TestScripts runs every detection script under testdata.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}
