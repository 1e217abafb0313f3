package compile

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/insights"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCase is one query whose compiled SQL is kept in testdata/NAME.golden
// and run by DuckDB in TestGoldenRunInDuckDB.
type goldenCase struct {
	name  string
	query string
	opts  Options
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var goldenCases = []goldenCase{
	// The guide's Insights queries (DESIGN §5), verbatim.
	{name: "guide_accepted_bytes", query: "fields @timestamp, srcaddr, dstaddr, bytes\n| filter action = \"ACCEPT\"\n| stats sum(bytes) as total_bytes by srcaddr, dstaddr\n| sort total_bytes desc\n| limit 20"},
	{name: "guide_rejected_count", query: "fields @timestamp, srcaddr, dstaddr, srcport, dstport, action\n| filter action = \"REJECT\"\n| stats count() as rejected_count by srcaddr, dstaddr, dstport\n| sort rejected_count desc\n| limit 50"},
	{name: "guide_port_scan", query: "fields @timestamp, srcaddr, dstaddr, dstport\n| filter action = \"REJECT\"\n| stats dc(dstport) as unique_ports, count() as attempts by srcaddr\n| where unique_ports > 10 and attempts > 50\n| sort attempts desc"},
	// AWS's sample queries for VPC flow logs.
	{name: "aws_top_talkers", query: "stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15"},
	{name: "aws_subnet", query: `filter isIpv4InSubnet(srcAddr, "192.0.2.0/24") | fields srcAddr, action`},
	{name: "aws_skipdata", query: `filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`},
	{name: "aws_rejections", query: `filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc`},
	// Commands.
	{name: "parse_glob", query: `parse interface_id "eni-*" as eni_id | stats count(*) as flows by eni_id | sort flows desc, eni_id | limit 5`},
	{name: "parse_glob_message", query: `parse @message "* * * * *" as version, account, eni, src, rest | filter src like "10.0." | display eni, src | limit 5`},
	{name: "parse_regex", query: `parse interface_id /^eni-(?<prefix>[0-9a-f]{4})(?<rest>[0-9a-f]*)$/ | stats count(*) as n by prefix | sort n desc, prefix | limit 3`},
	{name: "dedup", query: "sort bytes desc | fields srcaddr, bytes | dedup srcaddr | limit 10"},
	{name: "dedup_default_order", query: "fields srcaddr, @timestamp | dedup srcaddr"},
	{name: "several_stats", query: "stats count(*) as flows by srcaddr, bin(5m) as t | stats max(flows) as peak, avg(flows) as mean by srcaddr | sort peak desc, srcaddr | limit 5"},
	{name: "fields_defined", query: "fields bytes / packets as avg_size, @logStream | filter avg_size > 100 | sort avg_size desc | limit 10"},
	{name: "filter_after_limit", query: `filter action = "ACCEPT" | limit 100 | filter dstport = 443 | stats count(*) as n`},
	{name: "display", query: "fields srcaddr, dstaddr, bytes * 8 as bits | display srcaddr, bits | sort bits desc | limit 3"},
	{name: "sort_limit_sort", query: "sort bytes desc | limit 10 | sort srcaddr asc"},
	{name: "shadowed_column", query: "fields bytes * 8 as bytes | limit 5 | filter bytes > 100"},
	{name: "sort_limit_dedup", query: "fields srcaddr, bytes | sort bytes asc | limit 50 | dedup srcaddr"},
	{name: "sort_shadowed", query: "sort bytes desc | fields srcaddr, 0 - bytes as bytes | limit 20 | filter bytes < -100"},
	{name: "no_fields", query: "filter dstport = 22"},
	{name: "message", query: "fields @timestamp, @message | sort @timestamp desc | limit 3"},
	// Expressions and functions.
	{name: "like_regex", query: `filter srcaddr like /^10\.0\.[0-9]+\.1$/ or dstaddr =~ /^172\.(1[6-9]|2[0-9]|3[01])\./ or srcaddr not like "192." | stats count(*) as n by action | sort action`},
	{name: "in_list", query: `filter dstport in [22, 3389, 443] and action not in ["ACCEPT"] | stats count(*) as n by dstport | sort dstport`},
	{name: "in_list_parsed", query: `parse interface_id "eni-*" as id | filter id in ["0a1b2c3d", "77aa00bb"] and id not in [1, 2] | stats count(*) by action | sort ` + "`count(*)`" + ` desc`},
	{name: "loose_types", query: `filter dstport = "443" and account_id = 123456789012 and dstport > "100" | stats count(*) as n`},
	{name: "aggregates", query: "stats earliest(action) as first, latest(action) as last, pct(bytes, 95) as p95, stddev(bytes) as sd, min(srcaddr), max(bytes), count(srcaddr) by interface_id | sort interface_id"},
	{name: "aggregate_arithmetic", query: "stats sum(bytes) / count(*) as mean_bytes, ceil(avg(packets)) as p by protocol | sort protocol"},
	{name: "strings", query: `fields toupper(action) as a, strlen(srcaddr) as l, substr(interface_id, 4) as e, substr(interface_id, 0, 3) as p, replace(srcaddr, ".", "-") as r, concat(srcaddr, ":", srcport) as c, strcontains(srcaddr, "10.") as s, trim(" x ") as t, isempty(instance_id) as ie, isblank(vpc_id) as ib, ispresent(pkt_srcaddr) as ip, coalesce(pkt_srcaddr, srcaddr) as o | sort @timestamp | limit 5`},
	{name: "numbers", query: "fields abs(srcport - dstport) as d, floor(bytes / 1000) as kb, greatest(srcport, dstport) as hi, least(srcport, dstport) as lo, log(bytes + 1) as lg, sqrt(packets) as sq, 2 ^ 10 as k, bytes % 7 as m | sort bytes | limit 5"},
	{name: "datetimes", query: "stats sum(bytes) as b by datefloor(@timestamp, 1h) as hour, bin(1d) as day_bin | sort hour"},
	{name: "datetime_functions", query: "fields dateceil(@timestamp, 15m) as up, toMillis(@timestamp) as ms, fromMillis(start * 1000) as t | filter @timestamp >= \"2024-03-01T00:00:00Z\" | sort ms | limit 3"},
	{name: "calendar_bin", query: "stats count(*) as n by bin(1mo) as month_bin"},
	{name: "ip_functions", query: `filter isValidIp(srcaddr) and (isValidIpV4(srcaddr) or isValidIpV6(srcaddr)) | stats count(*) as n, count_distinct(srcaddr) as hosts by isIpInSubnet(srcaddr, "10.0.0.0/8") as internal | sort internal`},
	{name: "ip_subnet_bits", query: `filter isIpv4InSubnet(srcaddr, "10.0.16.0/20") or isIpInSubnet(dstaddr, "192.0.2.7/32") or isIpInSubnet(dstaddr, "0.0.0.0/0") | stats count(*) as n`},
	{name: "ip_v6", query: `filter isIpInSubnet(srcaddr, "2001:db8::/32") or isIpv6InSubnet(dstaddr, "2001:db8:0:8000::/49") | stats count(*) as n`},
	// A null field of the view is CloudWatch's "-" in comparisons (dash.go).
	{name: "dash_negations", query: `filter action != "REJECT" and not (dstport > 100) and action not like /ACC/ and srcaddr not in ["10.0.0.1"] and not (action = "ACCEPT" or log_status = "NODATA") | stats count(*) as n by action`},
	{name: "dash_literals", query: `filter action = "-" or dstport = "-" or dstport != "-" or action < "A" or action in ["-", "REJECT"] or action like "-" or dstport not in ["-"] | stats count(*) as n`},
	{name: "dash_fields", query: `filter srcaddr = dstaddr or srcport = dstport or srcport != dstport or srcaddr = srcport | stats count(*) as n`},
	{name: "dash_value", query: `fields action != "REJECT" as kept, srcaddr, dstport | limit 5`},
	// Time ranges.
	{name: "time_range", query: `filter action = "REJECT" | stats count(*) as n by dstport | sort n desc, dstport | limit 10`,
		opts: Options{From: utc("2024-03-01T10:00:00Z"), To: utc("2024-03-01T12:00:00Z")}},
	{name: "time_range_months", query: `stats count(*) as n`,
		opts: Options{From: utc("2024-02-28T23:00:00Z"), To: utc("2024-03-02T00:00:00Z")}},
	{name: "time_range_open", query: `fields srcaddr | limit 1`,
		opts: Options{From: utc("2024-03-01T00:00:00.5Z"), Table: "flows", DefaultLimit: -1}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			sql := compileQuery(t, tc.query, tc.opts)
			path := filepath.Join("testdata", tc.name+".golden")
			got := goldenText(tc.query, sql)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got); run go test -update if the change is right:\n%s", path, diff)
			}
		})
	}
}

// goldenText is the query as SQL comments followed by the compiled SQL, so a
// golden file can be read and run as it is.
func goldenText(query, sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(query, "\n") {
		b.WriteString("-- " + line + "\n")
	}
	b.WriteString(sql + ";\n")
	return b.String()
}

func compileQuery(t testing.TB, query string, opts Options) string {
	t.Helper()
	q, err := insights.Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	sql, err := Compile(q, testSchema, DuckDB, opts)
	if err != nil {
		t.Fatalf("Compile(%q): %v", query, err)
	}
	return sql
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		query       string
		msg         string
		at          string // the text the error covers
		unsupported bool
	}{
		{`filter srcadr = "10.0.0.1"`, `1:8: unknown field "srcadr"; did you mean "srcaddr"?`, "srcadr", false},
		{`filter sourceaddress = "10.0.0.1"`, `1:8: unknown field "sourceaddress"`, "sourceaddress", false},
		{`filter action = ACCEPT`, `1:17: unknown field "ACCEPT"; if ACCEPT is a value, write it in quotes: "ACCEPT"`, "ACCEPT", false},
		{`filter action in ["REJECT", ACCEPT]`, `1:29: unknown field "ACCEPT"; if ACCEPT is a value, write it in quotes: "ACCEPT"`, "ACCEPT", false},
		{`filter isValidIp(srcaddr) = true`, `1:29: unknown field "true"; a condition is used alone (filter isValidIp(srcaddr)), with not, or compared with 1 or 0`, "true", false},
		{`fields substr(srcaddr, 1.5)`, `1:24: the start of substr must be a whole number, found 1.5`, "1.5", false},
		{`fields substr(srcaddr, 1, 2.5)`, `1:27: the length of substr must be a whole number, found 2.5`, "2.5", false},
		{`filter srcaddr != dstadr`, `1:19: unknown field "dstadr"; did you mean "dstaddr"?`, "dstadr", false},
		{`fields @timestmp`, `1:8: unknown field "@timestmp"; did you mean "@timestamp"?`, "@timestmp", false},
		{`stats count(*) by srcaddr | filter dstport = 22`, `1:36: field dstport is not available after stats: only srcaddr, ` + "`count(*)`" + ` can be used; add it to the by clause of stats`, "dstport", false},
		{`stats count(*) by srcaddr | sort count desc`, "1:34: unknown field \"count\"; to use the result count(*) of stats, write it in backquotes: `count(*)`", "count", false},
		{`stats count(*) as n by srcaddr | fields @timestamp`, `1:41: @timestamp is not available after stats: only srcaddr, n can be used`, "@timestamp", false},
		{`stats count(*) + srcport by srcaddr`, `1:18: srcport is used outside an aggregate in stats but is not in the by clause: add it to by, or wrap it in an aggregate such as max(srcport)`, "srcport", false},
		{`stats max(bytes) - strlen(dstaddr) by srcaddr`, `1:20: strlen(dstaddr) is used outside an aggregate in stats but is not in the by clause: add it to by, or wrap it in an aggregate such as max(...)`, "strlen(dstaddr)", false},
		{`fields @ptr`, `1:8: @ptr is not supported: flow-log records in the lake have no CloudWatch record pointer`, "@ptr", true},
		{`filter @log = "x"`, `1:8: @log is not supported: flow-log records in the lake do not keep the CloudWatch log group they came from`, "@log", true},
		{`filter isIpInSubnet(srcaddr, dstaddr)`, `1:30: the subnet of isIpInSubnet must be a string literal such as "10.0.0.0/8"; subnets from fields are not supported`, "dstaddr", true},
		{`filter isIpv4InSubnet(srcaddr, "10.0.0.0/33")`, `1:32: invalid subnet "10.0.0.0/33": expected CIDR notation such as "10.0.0.0/8" or "2001:db8::/32"`, `"10.0.0.0/33"`, false},
		{`filter isIpv4InSubnet(srcaddr, "2001:db8::/32")`, `1:32: isIpv4InSubnet needs an IPv4 subnet such as "10.0.0.0/8"; use isIpv6InSubnet or isIpInSubnet for 2001:db8::/32`, `"2001:db8::/32"`, false},
		{`filter isIpv6InSubnet(srcaddr, "10.0.0.0/8")`, `1:32: isIpv6InSubnet needs an IPv6 subnet such as "2001:db8::/32"; use isIpv4InSubnet or isIpInSubnet for 10.0.0.0/8`, `"10.0.0.0/8"`, false},
		{`fields srcaddr + 1`, `1:8: + needs a number, but srcaddr is a string`, "srcaddr", false},
		{`filter dstport = "https"`, `1:18: cannot compare dstport, a number, with "https": write a number such as 443`, `"https"`, false},
		{`filter @timestamp > "yesterday"`, `1:21: cannot compare the timestamp @timestamp with "yesterday": write a time such as "2024-03-01T12:00:00Z"`, `"yesterday"`, false},
		{`filter srcaddr`, `1:8: expected a condition such as field = value, but srcaddr is a string`, "srcaddr", false},
		{`fields toMillis(srcaddr)`, `1:17: toMillis needs a timestamp such as @timestamp, but srcaddr is a string`, "srcaddr", false},
		{`stats count(*) as n by srcaddr | stats sum(n) by bin(5m)`, `1:50: bin rounds @timestamp, which is not available after stats`, "bin(5m)", false},
		{`stats count(*) by bin(1h) | sort bin(1h) desc`, "1:34: bin rounds @timestamp, which is not available after stats; the bins of the earlier stats are the field `bin(1h)`, in backquotes", "bin(1h)", false},
		{`stats count(*) as n by srcaddr | stats earliest(n)`, `1:40: earliest picks by record start time, which is not available after stats`, "earliest(n)", false},
		{`stats count(*) by bin(500ms)`, `1:23: period 500ms is shorter than the one-second resolution of flow-log times`, "500ms", true},
		{`stats count(*) by bin(2mo)`, `1:23: calendar period 2mo in bin is not supported: use 1mo, 1q or 1y with bin or datefloor`, "2mo", true},
		{`fields dateceil(@timestamp, 1y)`, `1:29: calendar period 1y in dateceil is not supported: use 1mo, 1q or 1y with bin or datefloor`, "1y", true},
		{`stats count(*) as n, sum(bytes) as N`, `1:22: stats gives two results named "N": name one with as`, "sum(bytes) as N", false},
		{`stats count(*) by srcaddr, srcAddr`, `1:28: stats gives two results named "srcAddr": name one with as`, "srcAddr", false},
		{`parse interface_id "eni-*" as id | filter id in [1, "a"]`, `1:49: the values of the list must all be numbers or all be strings`, `[1, "a"]`, false},
		{`filter protocol in [6, "tcp"]`, `1:24: cannot compare protocol, a number, with "tcp": write a number such as 443`, `"tcp"`, false},
		{"filter action = \"A\x00\"", `1:17: string contains a NUL byte`, "\"A\x00\"", false},
		{"filter action = \"\xff\"", `1:17: string is not valid UTF-8`, "\"\xff\"", false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := insights.Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.query, err)
			}
			_, err = Compile(q, testSchema, DuckDB, Options{})
			var e *insights.Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) = %v, want an *insights.Error", tt.query, err)
			}
			if diff := cmp.Diff(tt.msg, e.Error()); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
			if got := tt.query[e.Pos.Start:e.Pos.End]; got != tt.at {
				t.Errorf("error covers %q, want %q", got, tt.at)
			}
			if got := errors.Is(err, insights.ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

func TestCompileOptions(t *testing.T) {
	q, _ := insights.Parse("stats count(*)")
	if _, err := Compile(q, testSchema, DuckDB, Options{From: utc("2024-03-02T00:00:00Z"), To: utc("2024-03-01T00:00:00Z")}); err == nil ||
		!strings.Contains(err.Error(), "empty time range") {
		t.Errorf("Compile with from after to = %v, want an empty time range error", err)
	}
	if _, err := Compile(&insights.Query{}, testSchema, DuckDB, Options{}); err == nil {
		t.Error("Compile of an empty query succeeded")
	}
}

// TestEveryFunctionCompiles compiles the example of every entry of the
// functions table, so that no function lacks a translation.
func TestEveryFunctionCompiles(t *testing.T) {
	for _, fn := range insights.Functions() {
		t.Run(fn.Name, func(t *testing.T) {
			compileQuery(t, fn.Example, Options{})
		})
	}
}

func TestNewSchema(t *testing.T) {
	tests := []struct{ name, column string }{
		{"srcAddr", "srcaddr"}, {"SRCADDR", "srcaddr"}, {"log-status", "log_status"}, {"logStatus", "log_status"},
		{"startTime", "start"}, {"endTime", "end"}, {"windowstart", "start"}, {"flow-log-status", "log_status"},
		{"pkt-src-aws-service", "pkt_src_aws_service"}, {"interfaceId", "interface_id"},
	}
	for _, tt := range tests {
		col, _, ok := testSchema.Resolve(tt.name)
		if !ok || col != tt.column {
			t.Errorf("Resolve(%q) = %q, %v, want %q", tt.name, col, ok, tt.column)
		}
	}
	if _, _, ok := testSchema.Resolve("nosuch"); ok {
		t.Error(`Resolve("nosuch") succeeded`)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		in        string
		q         byte
		backslash bool
		want      string
	}{
		{`plain`, '"', false, `"plain"`},
		{`a"b`, '"', false, `"a""b"`},
		{`it's`, '\'', false, `'it''s'`},
		{`'; DROP TABLE x; --`, '\'', false, `'''; DROP TABLE x; --'`},
		{`back\slash'`, '\'', true, `'back\\slash'''`},
	}
	for _, tt := range tests {
		if got := quote(tt.in, tt.q, tt.backslash); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestGlobRegex(t *testing.T) {
	tests := []struct{ glob, want string }{
		{"*", "(.*)"},
		{"[*] *", `\[(.*?)\] (.*)`},
		{"user=*, id=*;", `user=(.*?), id=(.*?);`},
		{"a.b*c", `a\.b(.*?)c`},
	}
	for _, tt := range tests {
		if got := globRegex(tt.glob); got != tt.want {
			t.Errorf("globRegex(%q) = %q, want %q", tt.glob, got, tt.want)
		}
	}
}

func TestToRE2(t *testing.T) {
	tests := []struct{ in, want string }{
		{`(?<a>x)`, `(?P<a>x)`},
		{`\(?<a>x\)`, `\(?<a>x\)`},
		{`[(?<]x(?<b>y)`, `[(?<]x(?P<b>y)`},
		{`[]?<a>](?<c>.)`, `[]?<a>](?P<c>.)`},
		{`(?P<a>x)(?:y)`, `(?P<a>x)(?:y)`},
	}
	for _, tt := range tests {
		if got := toRE2(tt.in); got != tt.want {
			t.Errorf("toRE2(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkParseCompile(b *testing.B) {
	queries := []string{goldenCases[0].query, goldenCases[2].query, goldenCases[5].query, goldenCases[9].query}
	b.ReportAllocs()
	for b.Loop() {
		for _, text := range queries {
			q, err := insights.Parse(text)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Compile(q, testSchema, DuckDB, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
