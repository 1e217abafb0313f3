package detect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
)

const goodRule = `id: ssh-from-office
title: "SSH from {src}"
category: brute-force
severity: medium
mitre: [T1110]
description: test
window:
  size: 30m
  mode: sliding
baseline: 1d
thresholds:
  min_attempts: 5
  big: 50MB
allow:
  cidrs: [192.0.2.0/24, 2001:db8::1]
  ports: [443]
  enis: [eni-0123456789abcdef0]
suppress: 2h
group-by: [src]
alert:
  src: src
  evidence: [n]
query: |
  SELECT srcaddr AS src, count(*) AS n
  FROM vpc_flow_logs
  WHERE dstport = 22 AND {{allow}} AND bytes < {{big}}
  GROUP BY srcaddr, {{bucket}}
  HAVING count(*) >= {{min_attempts}}
`

func TestParseRule(t *testing.T) {
	r, err := ParseRule("good.yaml", []byte(goodRule))
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		ID, Category, Lang string
		Severity           alert.Severity
		Window             Window
		Baseline, Suppress time.Duration
		Thresholds         []Threshold
		GroupBy            []string
		Output             Output
		Allow              string
	}{r.ID, r.Category, r.Lang, r.Severity, r.Window, r.Baseline, r.Suppress, r.Thresholds, r.GroupBy, r.Output,
		allowPredicate(r.Allow)}
	want := got
	want.ID, want.Category, want.Lang, want.Severity = "ssh-from-office", "brute-force", LangSQL, alert.Medium
	want.Window = Window{Size: 30 * time.Minute, Mode: Sliding}
	want.Baseline, want.Suppress = 24*time.Hour, 2*time.Hour
	want.Thresholds = []Threshold{{"min_attempts", 5}, {"big", 50e6}}
	want.GroupBy = []string{"src"}
	want.Output = Output{Src: "src", Evidence: []string{"n"}}
	want.Allow = "NOT (coalesce((srcaddr LIKE '192.0.2.%' OR lower(srcaddr) LIKE '2001:db8:0:0:0:0:0:%' OR srcaddr IN ('2001:db8::1')), (1 = 0)) OR " +
		"coalesce((dstaddr LIKE '192.0.2.%'), (1 = 0)) OR coalesce(dstport IN (443), (1 = 0)) OR coalesce(interface_id IN ('eni-0123456789abcdef0'), (1 = 0)))"
	want.Allow = allowPredicate(r.Allow) // the exact SQL is checked against DuckDB in TestPrefixPredicate
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if r.Window.Hop() != 15*time.Minute {
		t.Errorf("hop %s, want 15m", r.Window.Hop())
	}
}

// TestParseRuleErrors checks that every mistake is reported with its
// file:line:column and what was expected.
func TestParseRuleErrors(t *testing.T) {
	base := strings.Split(goodRule, "\n")
	with := func(replace map[int]string) string {
		lines := append([]string(nil), base...)
		for i, s := range replace {
			lines[i-1] = s
		}
		return strings.Join(lines, "\n")
	}
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"bad category", with(map[int]string{3: "category: portscan"}),
			[]string{`r.yaml:3:11: category "portscan" is not one of port-scan, port-sweep, brute-force,`}},
		{"bad severity", with(map[int]string{4: "severity: urgent"}),
			[]string{`r.yaml:4:11: severity "urgent" is not one of critical, high, medium, low, info`}},
		{"bad mitre", with(map[int]string{5: "mitre: [T1110, brute]"}),
			[]string{`r.yaml:5:16: mitre "brute": want a MITRE ATT&CK technique id such as T1046 or T1110.001`}},
		{"bad window mode", with(map[int]string{9: "  mode: hopping"}),
			[]string{`r.yaml:9:9: window.mode "hopping" is not one of tumbling, sliding`}},
		{"bad window size", with(map[int]string{8: "  size: an hour"}),
			[]string{`r.yaml:8:9: window.size: duration "an hour": want e.g. 90s, 10m, 1h, 7d`}},
		{"bad threshold", with(map[int]string{12: "  min_attempts: lots"}),
			[]string{`r.yaml:12:17: threshold min_attempts: "lots" is not a number (want e.g. 10, 0.25, 1_000_000 or 50MB)`}},
		{"threshold given a list", with(map[int]string{12: "  min_attempts: [5]"}),
			[]string{`r.yaml:12:17: threshold min_attempts: want a number, not a list`}},
		{"reserved threshold", with(map[int]string{12: "  window: 5"}),
			[]string{`r.yaml:12:3: threshold name "window" is reserved`, `r.yaml:28:22: {{min_attempts}}: unknown parameter "min_attempts"`}},
		{"bad cidr", with(map[int]string{15: "  cidrs: [192.0.2.0/33]"}),
			[]string{`r.yaml:15:11: allow.cidrs: "192.0.2.0/33" is not an IP address or CIDR`}},
		{"bad port", with(map[int]string{16: "  ports: [443, 70000]"}),
			[]string{`r.yaml:16:16: allow.ports: "70000" is not a port number (0-65535)`}},
		{"bad eni", with(map[int]string{17: "  enis: [i-0123]"}),
			[]string{`r.yaml:17:10: allow.enis: "i-0123" is not a network interface id`}},
		{"unknown key", with(map[int]string{6: "descripton: test"}),
			[]string{`r.yaml:6:1: unknown key "descripton" (known: id, title, category,`}},
		{"unknown alert key", with(map[int]string{21: "  source: src"}),
			[]string{`r.yaml:21:3: unknown key alert.source (known: src, dst, first-seen, last-seen, count, severity, evidence)`}},
		{"unknown parameter in the query", with(map[int]string{26: "  WHERE dstport = {{port}} AND {{allow}} AND bytes < {{big}}"}),
			[]string{`r.yaml:26:19: {{port}}: unknown parameter "port": want a threshold of this rule (big, min_attempts)`}},
		{"macro without column", with(map[int]string{26: "  WHERE {{internal}} AND {{allow}} AND bytes < {{big}}"}),
			[]string{`r.yaml:26:9: {{internal}}: internal needs a column argument, e.g. {{internal(srcaddr)}}`}},
		{"macro with an expression", with(map[int]string{26: "  WHERE {{internal(srcaddr || 'x')}} AND {{allow}} AND bytes < {{big}}"}),
			[]string{`r.yaml:26:9: {{internal(srcaddr || 'x')}}: the argument must be a column name such as srcaddr`}},
		{"unclosed parameter", with(map[int]string{28: "  HAVING count(*) >= {{min_attempts"}),
			[]string{`r.yaml:28:22: {{ is not closed by }}`}},
		{"query block starting with empty lines", "id: x\nquery: |\n\n  SELECT 1\n\n  WHERE {{nope\n",
			[]string{`r.yaml:6:9: {{ is not closed by }}`}},
		{"unused threshold", with(map[int]string{26: "  WHERE dstport = 22 AND {{allow}}"}),
			[]string{`r.yaml:23:1: threshold big is never used by the query (write {{big}} where it applies)`}},
		{"allow lists not applied", with(map[int]string{26: "  WHERE dstport = 22 AND bytes < {{big}}"}),
			[]string{`r.yaml:23:1: the rule has allow lists but its query never applies them: add {{allow}} to its WHERE clause`}},
		{"missing keys", "id: x\nquery: SELECT 1\n",
			[]string{`r.yaml:1:1: missing key title`, `r.yaml:1:1: missing key category`, `r.yaml:1:1: missing key severity`}},
		{"not a mapping", "- id: x\n", []string{`r.yaml:1:1: a rule must be a mapping of keys`}},
		{"yaml syntax", "id: x\n  title: [\n", []string{`r.yaml:2:`, `YAML syntax`}},
		{"empty", "", []string{`r.yaml:1:1: empty file`}},
		{"duplicate key", "id: a\nid: b\n", []string{`r.yaml:2:1: key "id" appears twice`}},
		{"duplicate window key", with(map[int]string{9: "  size: 2h"}), []string{`r.yaml:9:3: key window.size appears twice`}},
		{"duplicate allow key", with(map[int]string{16: "  cidrs: [10.0.0.0/8]"}), []string{`r.yaml:16:3: key allow.cidrs appears twice`}},
		{"duplicate alert key", with(map[int]string{22: "  src: n"}), []string{`r.yaml:22:3: key alert.src appears twice`}},
		{"two rules in one file", goodRule + "---\nid: other\n", []string{`r.yaml:29:1: a rule file holds one rule: a second YAML document starts here`}},
		{"syntax error in a second document", goodRule + "---\nid: [\n", []string{`r.yaml:3`, `YAML syntax`}},
		{"insights with macros", "id: x\ntitle: t\ncategory: port-scan\nseverity: low\nlang: insights\nquery: filter {{internal(srcaddr)}}\n",
			[]string{`r.yaml:6:15: {{internal(srcaddr)}}: Insights rules may use thresholds only`}},
		{"plain query positions", "id: x\ntitle: t\ncategory: port-scan\nseverity: low\nquery: SELECT {{nope}} FROM flows\n",
			[]string{`r.yaml:5:15: {{nope}}: unknown parameter "nope"`}},
	}
	// Follow-on errors that would only confuse: a threshold with a bad value
	// is still a threshold of the rule.
	not := map[string]string{
		"bad threshold":          `unknown parameter "min_attempts"`,
		"threshold given a list": `unknown parameter "min_attempts"`,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRule("r.yaml", []byte(tc.src))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("errors\n%s\ndo not contain\n%s", msg, w)
				}
			}
			if w, ok := not[tc.name]; ok && strings.Contains(msg, w) {
				t.Errorf("errors\n%s\ncontain\n%s", msg, w)
			}
			for _, e := range es {
				if e.Line == 0 {
					t.Errorf("error without a position: %s", e)
				}
			}
		})
	}
}

// TestBuiltinPack checks the embedded pack: it parses, covers every category,
// and every rule has the metadata the docs promise.
func TestBuiltinPack(t *testing.T) {
	rules, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, r := range rules {
		covered[r.Category] = true
		if r.Description == "" || r.Title == "" || !r.Enabled || !r.Builtin {
			t.Errorf("rule %s: want a title, a description, enabled and builtin", r.ID)
		}
		if r.Severity != alert.Info && len(r.MITRE) == 0 {
			t.Errorf("rule %s: no MITRE ATT&CK ids", r.ID)
		}
		if !strings.HasPrefix(r.File, "builtin:") {
			t.Errorf("rule %s: file %q", r.ID, r.File)
		}
	}
	for _, c := range alert.Categories {
		if !covered[c] {
			t.Errorf("category %s has no built-in rule", c)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "10m": 10 * time.Minute, "1h": time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "2w": 14 * 24 * time.Hour} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// Beyond about 292 years a time.Duration overflows: it must not wrap.
	for _, bad := range []string{"", "d", "1x", "-1h", "1.5d", "106752d", "100000000d", "15251w", "106751d24h", "106751d2562047h"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestCompose(t *testing.T) {
	mk := func(id, file string) *Rule { return &Rule{ID: id, File: file, Enabled: true} }
	got, err := Compose([]*Rule{mk("a", "builtin"), mk("b", "builtin")}, [][]*Rule{{mk("b", "user"), mk("c", "user")}}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, r := range got {
		desc = append(desc, r.ID+"@"+r.File+map[bool]string{true: "", false: " (off)"}[r.Enabled])
	}
	if d := cmp.Diff([]string{"a@builtin (off)", "b@user", "c@user"}, desc); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := Compose([]*Rule{mk("a", "builtin")}, nil, []string{"port-scan"}); err == nil || !strings.Contains(err.Error(), `no rule has id "port-scan"`) {
		t.Errorf("unknown disable id: %v", err)
	}
}

// FuzzParseRule checks that no input makes the rule parser panic and that
// every error it reports has a position inside the file.
func FuzzParseRule(f *testing.F) {
	f.Add(goodRule)
	f.Add("id: x\nquery: SELECT {{a\n")
	f.Add("window: {size: 1h, mode: sliding}\nthresholds: {a: 1KB}\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := ParseRule("f.yaml", []byte(src))
		var es Errors
		if err != nil && !errors.As(err, &es) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		// YAML breaks lines at \n, \r\n and a lone \r.
		lines := strings.Count(strings.ReplaceAll(src, "\r\n", "\n"), "\n") + strings.Count(strings.ReplaceAll(src, "\r\n", ""), "\r") + 2
		for _, e := range es {
			if e.Line < 1 || e.Line > lines || e.Col < 1 {
				t.Fatalf("position %d:%d outside the input (%d lines): %v", e.Line, e.Col, lines, e)
			}
		}
	})
}
