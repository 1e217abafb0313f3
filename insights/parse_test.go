package insights

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePos compares syntax trees without their positions and source text.
var ignorePos = cmp.Options{
	cmpopts.IgnoreTypes(Pos{}),
	cmpopts.IgnoreFields(Query{}, "Text"),
}

func f(name string) *FieldRef                  { return &FieldRef{Name: name} }
func s(v string) *StringLit                    { return &StringLit{Value: v} }
func n(text string) *NumberLit                 { return &NumberLit{Text: text} }
func bin(op string, x, y Expr) *BinaryExpr     { return &BinaryExpr{Op: op, X: x, Y: y} }
func call(name string, args ...Expr) *CallExpr { return &CallExpr{Name: name, Args: args} }
func proj(x Expr, alias string) *Projection    { return &Projection{X: x, Alias: alias} }

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  []Command
	}{
		{"fields", "fields @timestamp, srcaddr, bytes * 8 as bits", []Command{
			&FieldsCmd{Items: []*Projection{proj(f("@timestamp"), ""), proj(f("srcaddr"), ""),
				proj(bin("*", f("bytes"), n("8")), "bits")}},
		}},
		{"display", "display srcaddr, `dst addr`", []Command{
			&DisplayCmd{Fields: []*FieldRef{f("srcaddr"), f("dst addr")}},
		}},
		{"filter", `filter action = "ACCEPT" and bytes >= 1000`, []Command{
			&FilterCmd{X: bin("and", bin("=", f("action"), s("ACCEPT")), bin(">=", f("bytes"), n("1000")))},
		}},
		{"where", `where dstport != 22`, []Command{
			&FilterCmd{Where: true, X: bin("!=", f("dstport"), n("22"))},
		}},
		{"stats by bin with alias", "stats count(*) as n, sum(bytes) by srcaddr, bin(5m) as t", []Command{
			&StatsCmd{
				Aggs: []*Projection{proj(call("count", &StarExpr{}), "n"), proj(call("sum", f("bytes")), "")},
				By:   []*Projection{proj(f("srcaddr"), ""), proj(call("bin", &DurationLit{N: 5, Unit: "m"}), "t")},
			},
		}},
		{"several stats", "stats count() as c by srcaddr | stats avg(c) as mean", []Command{
			&StatsCmd{Aggs: []*Projection{proj(call("count"), "c")}, By: []*Projection{proj(f("srcaddr"), "")}},
			&StatsCmd{Aggs: []*Projection{proj(call("avg", f("c")), "mean")}},
		}},
		{"sort", "sort bytes desc, srcaddr asc, dstport", []Command{
			&SortCmd{Keys: []*SortKey{{X: f("bytes"), Order: OrderDesc}, {X: f("srcaddr"), Order: OrderAsc}, {X: f("dstport")}}},
		}},
		{"limit", "limit 25", []Command{&LimitCmd{N: 25}}},
		{"parse glob", `parse @message "* * eni-*" as version, account, eni`, []Command{
			&ParseCmd{Field: f("@message"), Pattern: "* * eni-*", Names: []string{"version", "account", "eni"}},
		}},
		{"parse glob default field", `parse "[*]" as level`, []Command{
			&ParseCmd{Pattern: "[*]", Names: []string{"level"}},
		}},
		{"parse regex", `parse interface_id /eni-(?<eni>[0-9a-f]+)/`, []Command{
			&ParseCmd{Field: f("interface_id"), Pattern: "eni-(?<eni>[0-9a-f]+)", Regex: true, Names: []string{"eni"}},
		}},
		{"dedup", "sort @timestamp desc | dedup srcaddr, dstaddr | limit 5", []Command{
			&SortCmd{Keys: []*SortKey{{X: f("@timestamp"), Order: OrderDesc}}},
			&DedupCmd{Fields: []*FieldRef{f("srcaddr"), f("dstaddr")}},
			&LimitCmd{N: 5},
		}},
		{"precedence", "filter a or b and not c = 1 + 2 * -3 ^ 2", []Command{
			&FilterCmd{X: bin("or", f("a"), bin("and", f("b"), &UnaryExpr{Op: "not",
				X: bin("=", f("c"), bin("+", n("1"), bin("*", n("2"), &UnaryExpr{Op: "-", X: bin("^", n("3"), n("2"))})))}))},
		}},
		{"parentheses", "filter (a or b) and c % (2 - 1) = 0", []Command{
			&FilterCmd{X: bin("and", bin("or", f("a"), f("b")), bin("=", bin("%", f("c"), bin("-", n("2"), n("1"))), n("0")))},
		}},
		{"left associative", "fields a - b - c, a / b * c", []Command{
			&FieldsCmd{Items: []*Projection{proj(bin("-", bin("-", f("a"), f("b")), f("c")), ""),
				proj(bin("*", bin("/", f("a"), f("b")), f("c")), "")}},
		}},
		{"power is right associative", "fields 2 ^ 3 ^ 2", []Command{
			&FieldsCmd{Items: []*Projection{proj(bin("^", n("2"), bin("^", n("3"), n("2"))), "")}},
		}},
		{"like and regex", `filter srcaddr like "10.0." or srcaddr like /^172\.(1[6-9]|2[0-9])\./ or srcaddr not like 'x' or dstaddr =~ /\/24$/`, []Command{
			&FilterCmd{X: bin("or", bin("or", bin("or",
				bin("like", f("srcaddr"), s("10.0.")),
				bin("like", f("srcaddr"), &RegexLit{Pattern: `^172\.(1[6-9]|2[0-9])\.`})),
				bin("not like", f("srcaddr"), s("x"))),
				bin("=~", f("dstaddr"), &RegexLit{Pattern: `\/24$`}))},
		}},
		// CloudWatch: "You can use like or =~ ... Enclose your match string
		// with double quotes or single quotes to perform substring matching."
		{"=~ with a string", `filter action =~ "ACC" and srcaddr =~ '10.'`, []Command{
			&FilterCmd{X: bin("and", bin("=~", f("action"), s("ACC")), bin("=~", f("srcaddr"), s("10.")))},
		}},
		{"in lists", `filter dstport in [22, 3389] and action not in ["REJECT"] and protocol in [-1]`, []Command{
			&FilterCmd{X: bin("and", bin("and",
				bin("in", f("dstport"), &ListExpr{Elems: []Expr{n("22"), n("3389")}}),
				bin("not in", f("action"), &ListExpr{Elems: []Expr{s("REJECT")}})),
				bin("in", f("protocol"), &ListExpr{Elems: []Expr{&UnaryExpr{Op: "-", X: n("1")}}}))},
		}},
		{"escapes decoded", `filter b = "say \"hi\"\n\t\\" or c = 'C:\data' or d = 'don\'t'`, []Command{
			&FilterCmd{X: bin("or", bin("or",
				bin("=", f("b"), s("say \"hi\"\n\t\\")),
				bin("=", f("c"), s(`C:\data`))),
				bin("=", f("d"), s("don't")))},
		}},
		{"comments and newlines", "# rejected traffic\nfilter action = \"REJECT\" # only rejects\n| limit 5 # done", []Command{
			&FilterCmd{X: bin("=", f("action"), s("REJECT"))}, &LimitCmd{N: 5},
		}},
		{"case-insensitive keywords", "FILTER a = 1 AND b = 2 | STATS COUNT(*) BY srcaddr | SORT srcaddr DESC | LIMIT 3", []Command{
			&FilterCmd{X: bin("and", bin("=", f("a"), n("1")), bin("=", f("b"), n("2")))},
			&StatsCmd{Aggs: []*Projection{proj(call("COUNT", &StarExpr{}), "")}, By: []*Projection{proj(f("srcaddr"), "")}},
			&SortCmd{Keys: []*SortKey{{X: f("srcaddr"), Order: OrderDesc}}},
			&LimitCmd{N: 3},
		}},
		{"backquoted names", "fields `by`, `a``b` as `c d`", []Command{
			&FieldsCmd{Items: []*Projection{proj(f("by"), ""), proj(f("a`b"), "c d")}},
		}},
		{"durations", "fields datefloor(@timestamp, 1h), dateceil(@timestamp, 30s), bin(1d), bin(2w), bin(1mo), bin(500ms), bin(10min)", []Command{
			&FieldsCmd{Items: []*Projection{
				proj(call("datefloor", f("@timestamp"), &DurationLit{N: 1, Unit: "h"}), ""),
				proj(call("dateceil", f("@timestamp"), &DurationLit{N: 30, Unit: "s"}), ""),
				proj(call("bin", &DurationLit{N: 1, Unit: "d"}), ""),
				proj(call("bin", &DurationLit{N: 2, Unit: "w"}), ""),
				proj(call("bin", &DurationLit{N: 1, Unit: "mo"}), ""),
				proj(call("bin", &DurationLit{N: 500, Unit: "ms"}), ""),
				proj(call("bin", &DurationLit{N: 10, Unit: "m"}), ""),
			}},
		}},
		// Spaces pasted from web pages: no-break, narrow and ideographic
		// spaces, a zero-width space and a byte order mark are blanks.
		{"unicode blanks", "filter\u00a0action\u202f=\u3000\"REJECT\"\u200b\ufeff| stats count(*)", []Command{
			&FilterCmd{X: bin("=", f("action"), s("REJECT"))},
			&StatsCmd{Aggs: []*Projection{proj(call("count", &StarExpr{}), "")}},
		}},
		{"dc alias and pct", "stats dc(dstport), pct(bytes, 99.9), ceil(avg(bytes)) as a", []Command{
			&StatsCmd{Aggs: []*Projection{proj(call("dc", f("dstport")), ""), proj(call("pct", f("bytes"), n("99.9")), ""),
				proj(call("ceil", call("avg", f("bytes"))), "a")}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.query, err)
			}
			if q.Text != tt.query {
				t.Errorf("Text = %q, want the query", q.Text)
			}
			if tt.want != nil {
				if diff := cmp.Diff(&Query{Commands: tt.want}, q, ignorePos); diff != "" {
					t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.query, diff)
				}
			}
			checkPositions(t, tt.query, q)
		})
	}
}

// checkPositions checks that every node's range lies in the query and that
// field names and literals point at their own text.
func checkPositions(t *testing.T, query string, q *Query) {
	t.Helper()
	in := func(n Node) {
		p := n.Position()
		if p.Start < 0 || p.End > len(query) || p.Start > p.End {
			t.Errorf("%T %s: position %v outside the query (%d bytes)", n, n, p, len(query))
		}
	}
	visit := func(e Expr) {
		Walk(e, func(x Expr) bool {
			in(x)
			p := x.Position()
			switch x := x.(type) {
			case *FieldRef:
				if text := query[p.Start:p.End]; text != x.Name && text != "`"+strings.ReplaceAll(x.Name, "`", "``")+"`" {
					t.Errorf("FieldRef %q points at %q", x.Name, text)
				}
			case *NumberLit:
				if text := query[p.Start:p.End]; text != x.Text {
					t.Errorf("NumberLit %q points at %q", x.Text, text)
				}
			case *CallExpr:
				if !strings.HasPrefix(query[p.Start:], x.Name) || query[p.End-1] != ')' {
					t.Errorf("CallExpr %s points at %q", x, query[p.Start:p.End])
				}
			}
			return true
		})
	}
	for _, c := range q.Commands {
		in(c)
		if !strings.EqualFold(query[c.Position().Start:][:len(c.Name())], c.Name()) {
			t.Errorf("command %s starts at %q", c.Name(), query[c.Position().Start:])
		}
		switch c := c.(type) {
		case *FieldsCmd:
			for _, it := range c.Items {
				in(it)
				visit(it.X)
			}
		case *FilterCmd:
			visit(c.X)
		case *StatsCmd:
			for _, it := range append(append([]*Projection(nil), c.Aggs...), c.By...) {
				in(it)
				visit(it.X)
			}
		case *SortCmd:
			for _, k := range c.Keys {
				in(k)
				visit(k.X)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		query       string
		msg         string // the whole Error() text
		at          string // the text the error range covers
		unsupported bool
	}{
		{"", `1:1: empty query: start with a command such as fields, filter or stats`, "", false},
		{"  # only a comment\n", `2:1: empty query: start with a command such as fields, filter or stats`, "", false},
		{"fields a | stats count(*) as n sortt", `1:32: expected "by" or "|" after stats expression, found "sortt"`, "sortt", false},
		{"stats count(*) srcaddr", `1:16: expected "as", "by" or "|" after stats expression, found "srcaddr"`, "srcaddr", false},
		{"sortt bytes", `1:1: unknown command "sortt"; did you mean "sort"?`, "sortt", false},
		{"SELCT count(*) FROM flows", `1:1: unknown command "SELCT"; did you mean SELECT, to write SQL?`, "SELCT", false},
		{"slect * from flows", `1:1: unknown command "slect"; did you mean SELECT, to write SQL?`, "slect", false},
		{"frobnicate", `1:1: unknown command "frobnicate"; commands are fields, display, filter, where, stats, sort, limit, parse, dedup`, "frobnicate", false},
		{"fields a |", `1:11: expected a command after "|", found end of query`, "", false},
		{"| fields a", `1:1: expected a command such as fields, filter or stats, found "|"`, "|", false},
		{"filter cnt(x) > 1", `1:8: unknown function "cnt"; did you mean "count"?`, "cnt", false},
		{"filter sum(bytes) > 1", "1:8: aggregate function sum is only allowed in stats, not in filter; to use the result of an earlier stats, write its name or alias, such as `count(*)` in backquotes", "sum", false},
		{"fields avg(bytes)", "1:8: aggregate function avg is only allowed in stats, not in fields; to use the result of an earlier stats, write its name or alias, such as `count(*)` in backquotes", "avg", false},
		{"stats count() by max(bytes)", `1:18: aggregate function max is only allowed in stats, not in a by clause`, "max", false},
		{"stats sum(count(*))", `1:11: aggregate function count cannot be used inside sum`, "count", false},
		{"stats bytes by srcaddr", `1:7: stats expression bytes has no aggregate function: use one such as count(), sum(field) or avg(field)`, "bytes", false},
		{"stats sum(bytes, packets)", `1:18: sum takes 1 argument`, "packets", false},
		{"fields substr()", `1:8: substr takes 2 to 3 arguments, got 0`, "substr()", false},
		{"fields concat()", `1:8: concat takes at least 1 argument, got 0`, "concat()", false},
		{"stats count(a, b)", `1:16: count takes at most 1 argument`, "b", false},
		{"stats pct(bytes, 101)", `1:18: the percentile of pct must be between 0 and 100, found 101`, "101", false},
		{"stats pct(bytes, p)", `1:18: the percentile of pct must be a number written in the query, such as 95`, "p", false},
		{"stats count() by bin(5)", `1:22: expected a period such as 5m, 1h or 1d as the period of bin, found number 5`, "5", false},
		{"stats count() by bin(5 m)", `1:22: write the period without a space, as 5m`, "5 m", false},
		{"stats count() by bin(1 hour)", `1:22: write the period without a space, as 1hour`, "1 hour", false},
		{"stats count() by bin(5x)", `1:22: invalid number or period "5x": periods end in ms, s, m, h, d, w, mo, q or y`, "5x", false},
		{"stats count() by bin(1.5h)", `1:22: period "1.5h" must be a whole number of h; write 90m`, "1.5h", false},
		{"stats count() by bin(0.25days)", `1:22: period "0.25days" must be a whole number of days; write 6h`, "0.25days", false},
		{"stats count() by bin(1.5y)", `1:22: period "1.5y" must be a whole number of y; write 18mo`, "1.5y", false},
		{"stats count() by bin(1.0001ms)", `1:22: period "1.0001ms" must be a whole number of ms`, "1.0001ms", false},
		{"fields 5m", `1:8: a period such as 5m is only allowed as the period of bin, datefloor or dateceil`, "5m", false},
		{"fields sum(*)", "1:8: aggregate function sum is only allowed in stats, not in fields; to use the result of an earlier stats, write its name or alias, such as `count(*)` in backquotes", "sum", false},
		{"stats sum(*)", `1:11: * is only allowed in count(*)`, "*", false},
		{"filter a = 1 = 2", `1:14: comparisons cannot be chained: join them with and, as in a < b and b < c`, "=", false},
		{"filter a like b", `1:15: expected a "string" or /regular expression/ after like, found "b"`, "b", false},
		{"filter a =~ b", `1:13: expected a "string" or /regular expression/ after =~, found "b"`, "b", false},
		{"filter srcaddr = 10.0.0.1", `1:18: invalid number "10.0.0.1": write an address or other text in quotes, such as "10.0.0.1"`, "10.0.0.1", false},
		{"fields 1.2.3", `1:8: invalid number "1.2.3": write an address or other text in quotes, such as "1.2.3"`, "1.2.3", false},
		{"filter a in (1, 2)", `1:13: expected a list such as ["a", "b"] after in, found "("`, "(", false},
		{"filter a in []", `1:13: empty list: write at least one value between [ and ]`, "[]", false},
		{"filter a like /(/", `1:15: invalid regular expression: missing closing ): ` + "`(`", "/(/", false},
		{"filter a like /abc", `1:15: unterminated regular expression: expected a closing /`, "/abc", false},
		{`filter a = "abc`, `1:12: unterminated string: expected a closing "`, `"abc`, false},
		{"fields `abc", "1:8: unterminated field name: expected a closing `", "`abc", false},
		{"fields ``", "1:8: empty field name ``", "``", false},
		{`filter action == "REJECT"`, `1:15: unexpected "==": write = to compare`, "==", false},
		{`filter action <> "REJECT"`, `1:15: unexpected "<>": write != to compare`, "<>", false},
		{`filter dstport = 22 || dstport = 3389`, `1:21: unexpected "||": write or to join conditions, and one | between commands`, "||", false},
		{`filter action = "REJECT" || stats count(*)`, `1:26: unexpected "||": write or to join conditions, and one | between commands`, "||", false},
		{"filter bytes \u2013 1 > 0", `1:14: unexpected character '–': a typographic dash, as copied from a web page; write - to subtract`, "\u2013", false},
		{"fields a ! b", `1:10: unexpected character '!': write != to compare, or not before a condition`, "!", false},
		{"filter bytes > .5", `1:16: unexpected character '.': write a number with a digit before the point, such as 0.5`, ".", false},
		{"fields 5. as a", `1:9: unexpected character '.': write a number with digits after the point, such as 5.0, or without the point`, ".", false},
		{"filter action = “REJECT”", `1:17: unexpected character '“': a typographic quote, as copied from a web page; write straight quotes, such as "REJECT"`, "“", false},
		{"filter action in [‘REJECT’, 'ACCEPT']", `1:19: unexpected character '‘': a typographic quote, as copied from a web page; write straight quotes, such as "REJECT"`, "‘", false},
		{"filter action = „REJECT", `1:17: unexpected character '„': a typographic quote, as copied from a web page; write straight quotes, such as "REJECT"`, "„", false},
		{"fields é", "1:8: unexpected character 'é': expected a field, a value or an operator; write a field name with other characters than letters, digits, _, . and @ in backquotes, such as `é`, and text in quotes", "é", false},
		{"fields a | head 10", `1:12: the head command is not supported: CloudWatch replaced it with limit, as in limit 10`, "head", true},
		{"TAIL 5", `1:1: the TAIL command is not supported: CloudWatch replaced it with limit; for the oldest records write sort @timestamp asc | limit 5`, "TAIL", true},
		{"fields srcaddr; stats count()", `1:15: unexpected character ';': separate commands with |`, ";", false},
		{"filter a = 1 && b = 2", `1:14: unexpected character '&': write and`, "&", false},
		{"filter a ~ /x/", `1:10: unexpected character '~': write =~ or like before a /regular expression/`, "~", false},
		{"fields a-b, c$d", "1:14: unexpected character '$': expected a field, a value or an operator; write a field name with other characters than letters, digits, _, . and @ in backquotes, such as `c$d`, and text in quotes", "$", false},
		{"fields @", `1:8: expected a field name after @`, "@", false},
		{"filter and", `1:8: expected an expression, found "and"`, "and", false},
		{"filter (a = 1", `1:14: expected ")", found end of query`, "", false},
		{"filter a = /x/", `1:12: a regular expression is only allowed after like or =~, or in parse`, "/", false},
		{"fields [1]", `1:8: a list is only allowed after in or not in`, "[", false},
		{"filter a = 1 sort a", `1:14: expected "and", "or" or "|" after filter expression, found "sort"`, "sort", false},
		{"fields a b", `1:10: expected "as", "," or "|" after fields expression, found "b"`, "b", false},
		{"fields a as", `1:12: expected a field name after as, found end of query`, "", false},
		{"sort a b", `1:8: expected "asc", "desc", "," or "|" after sort expression, found "b"`, "b", false},
		{"limit", `1:6: expected a number of rows after limit, found end of query`, "", false},
		{"limit 0", `1:7: limit needs a whole number of rows from 1 up, found 0`, "0", false},
		{"limit 1.5", `1:7: limit needs a whole number of rows from 1 up, found 1.5`, "1.5", false},
		{"limit 99999999999999999999", `1:7: limit needs a whole number of rows from 1 up, found 99999999999999999999`, "99999999999999999999", false},
		{"limit 5 10", `1:9: expected "|" after limit, found number 10`, "10", false},
		{`parse @message "abc" as x`, `1:16: parse pattern string "abc" has no * to capture: write * where a value goes`, `"abc"`, false},
		{`parse @message "* *" as x`, `1:16: parse pattern has 2 * but 1 field names`, `"* *" as x`, false},
		{`parse @message "*"`, `1:19: expected "as" and 1 field names after the parse pattern, found end of query`, "", false},
		{`parse @message /abc/`, `1:16: parse regular expression needs named groups such as (?<name>...) to define fields`, "/abc/", false},
		{`parse @message /(?<a>x)/ as a`, `1:26: a parse regular expression names its fields with (?<name>...) groups: remove the "as" list`, "as", false},
		{`parse @message`, `1:15: expected a "glob * pattern" or a /regular expression/ after parse, found end of query`, "", false},
		{"dedup srcaddr | sort srcaddr", `1:17: only limit can follow dedup, found "sort"`, "sort", false},
		{"dedup count(x)", `1:7: dedup takes field names, not expressions: define count(...) with fields ... as name first`, "count", false},
		{"display a +", `1:11: expected "," or "|" after display field, found "+"`, "+", false},
		{"pattern @message", `1:1: the pattern command is not supported: it relies on CloudWatch's machine-learning models`, "pattern", true},
		{"fields jsonParse(@message) as j", `1:8: function jsonParse is not supported: flow-log records are not JSON`, "jsonParse", true},
		// CloudWatch's documented form of unmask is a function in fields.
		{"fields @timestamp, unmask(@message)", `1:20: function unmask is not supported: flow logs carry no masked data, so the field itself is the whole content: write it without unmask`, "unmask", true},
		{"filter x = 1\n| stats count(*) by\n  srcaddr sortt", `3:11: expected "as", "," or "|" after by expression, found "sortt"`, "sortt", false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := Parse(tt.query)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want an *Error", tt.query, err)
			}
			if diff := cmp.Diff(tt.msg, e.Error()); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
			if got := tt.query[e.Pos.Start:e.Pos.End]; got != tt.at {
				t.Errorf("error range covers %q, want %q", got, tt.at)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

func TestErrorCaret(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"fields a | stats count(*) as n sortt", "fields a | stats count(*) as n sortt\n                               ^~~~~"},
		{"filter x = 1\n| stats count(*) by\n  srcaddr sortt", "  srcaddr sortt\n          ^~~~~"},
		{"\tfilter a = \"é\" ; x", "\tfilter a = \"é\" ; x\n\t               ^"},
		{"fields a |", "fields a |\n          ^"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.query)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse(%q) = %v, want an error", tt.query, err)
		}
		if diff := cmp.Diff(tt.want, e.Caret(tt.query)); diff != "" {
			t.Errorf("Caret(%q) mismatch (-want +got):\n%s", tt.query, diff)
		}
	}
}

// TestFunctions checks every entry of the functions table: its example
// parses and calls it, and a call with too many arguments is refused.
func TestFunctions(t *testing.T) {
	for _, fn := range Functions() {
		t.Run(fn.Name, func(t *testing.T) {
			q, err := Parse(fn.Example)
			if err != nil {
				t.Fatalf("example %q: %v", fn.Example, err)
			}
			found := false
			for _, c := range q.Commands {
				for _, e := range commandExprs(c) {
					Walk(e, func(x Expr) bool {
						if c, ok := x.(*CallExpr); ok {
							if g, _ := LookupFunction(c.Name); g == fn {
								found = true
							}
						}
						return true
					})
				}
			}
			if !found {
				t.Errorf("example %q does not call %s", fn.Example, fn.Name)
			}
			if fn.MaxArgs() >= 0 {
				args := make([]string, fn.MaxArgs()+1)
				for i := range args {
					args[i] = "x"
					if a, ok := fn.ArgAt(i); ok && a.Type == TypePeriod {
						args[i] = "5m"
					} else if ok && a.Literal {
						args[i] = "50"
					}
				}
				query := "fields " + fn.Name + "(" + strings.Join(args, ", ") + ")"
				if fn.Kind == Aggregate {
					query = "stats " + fn.Name + "(" + strings.Join(args, ", ") + ")"
				}
				if _, err := Parse(query); err == nil || !strings.Contains(err.Error(), fn.Name+" takes") {
					t.Errorf("Parse(%q) = %v, want an arity error", query, err)
				}
			}
			for _, alias := range fn.Aliases {
				if g, ok := LookupFunction(strings.ToUpper(alias)); !ok || g != fn {
					t.Errorf("LookupFunction(%q) = %v, want %s", alias, g, fn.Name)
				}
			}
		})
	}
}

func commandExprs(c Command) []Expr {
	var out []Expr
	switch c := c.(type) {
	case *FieldsCmd:
		for _, it := range c.Items {
			out = append(out, it.X)
		}
	case *FilterCmd:
		out = append(out, c.X)
	case *StatsCmd:
		for _, it := range append(append([]*Projection(nil), c.Aggs...), c.By...) {
			out = append(out, it.X)
		}
	case *SortCmd:
		for _, k := range c.Keys {
			out = append(out, k.X)
		}
	}
	return out
}
