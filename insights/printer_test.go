package insights

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpus holds valid queries: the printer tests round-trip them and the
// fuzz target starts from them.
var corpus = []string{
	// The guide queries of DESIGN §5.
	"fields @timestamp, srcaddr, dstaddr, bytes\n| filter action = \"ACCEPT\"\n| stats sum(bytes) as total_bytes by srcaddr, dstaddr\n| sort total_bytes desc\n| limit 20",
	"fields @timestamp, srcaddr, dstaddr, srcport, dstport, action\n| filter action = \"REJECT\"\n| stats count() as rejected_count by srcaddr, dstaddr, dstport\n| sort rejected_count desc\n| limit 50",
	"fields @timestamp, srcaddr, dstaddr, dstport\n| filter action = \"REJECT\"\n| stats dc(dstport) as unique_ports, count() as attempts by srcaddr\n| where unique_ports > 10 and attempts > 50\n| sort attempts desc",
	// AWS's sample flow-log queries.
	"stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15",
	`filter isIpv4InSubnet(srcAddr, "192.0.2.0/24") | fields srcAddr, action`,
	`filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`,
	`filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc`,
	// Everything else.
	`parse @message "* * * * * * * * * * * * * *" as v, acct, eni, src, dst, sp, dp, proto, pk, bts, st, en, act, ls | filter act = "REJECT" | display src, dp`,
	`parse interface_id /eni-(?<eni>[0-9a-f]+)/ | stats count(*) by eni`,
	"sort @timestamp desc | dedup srcaddr, dstaddr | limit 5",
	"stats count(*) as c by srcaddr, bin(5m) as t | stats avg(c) as mean, max(c) by t | sort t asc",
	"filter (a or b) and not c = 1 + 2 * -3 ^ 2 ^ -1 % 4",
	"fields a - (b - c), (a - b) - c, a / (b * c), -(a + b), - -a, 2 ^ (3 ^ 2), (2 ^ 3) ^ 2, (-2) ^ 2",
	`filter srcaddr like "10.0." or srcaddr like /^172\.(1[6-9]|2[0-9])\./ or srcaddr not like 'x' or dstaddr =~ /\/24$/`,
	`filter action =~ "EJECT" or action =~ 'ACC' or not action =~ /^(?i)accept$/`,
	`filter dstport in [22, 3389] and action not in ["REJECT"] and protocol in [-1, 1 + 2]`,
	`filter b = "say \"hi\"\n\t\\" or c = 'C:\data' or d = 'don\'t'`,
	"fields `by`, `a``b` as `c d`, `x-y` as @z",
	"fields datefloor(@timestamp, 1h), dateceil(@timestamp, 30s), bin(1d), bin(2w), bin(1mo), bin(500ms), bin(10min)",
	"stats dc(dstport), count_distinct(srcaddr), pct(bytes, 99.9), ceil(avg(bytes)) as a, stddev(bytes), earliest(action), latest(action), min(start), max(end), count(srcaddr), count(), count(*)",
	`fields strlen(srcaddr), toupper(action), tolower(action), trim(" x "), ltrim(a, "b"), rtrim(a), substr(a, 1, 2), replace(a, "b", "c"), strcontains(a, "b"), concat(a, b, c), isempty(a), isblank(a), ispresent(a), coalesce(a, b, c)`,
	`fields abs(a), ceil(a), floor(a), greatest(a, b, c), least(a, b), log(a), sqrt(a), fromMillis(a), toMillis(@timestamp)`,
	`filter isValidIp(a) or isValidIpV4(a) or isValidIpV6(a) or isIpInSubnet(a, "10.0.0.0/8") or isIpv6InSubnet(a, "2001:db8::/32")`,
	"# comment\nFILTER a = 1 # trailing\n| LIMIT 3",
	"filter not not a and not (b or c)",
	"filter (a = 1) = (b = 2)",
	"filter @logStream like 'eni-' | fields @message, @logStream",
}

func TestPrint(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"fields @timestamp, srcaddr, dstaddr, bytes\n| filter action = \"ACCEPT\"\n| stats sum(bytes) as total_bytes by srcaddr, dstaddr\n| sort total_bytes desc\n| limit 20",
			`fields @timestamp, srcaddr, dstaddr, bytes | filter action = "ACCEPT" | stats sum(bytes) as total_bytes by srcaddr, dstaddr | sort total_bytes desc | limit 20`},
		{`filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t`,
			`filter logStatus = "SKIPDATA" | stats count(*) by bin(1h) as t | sort t`},
		{"FILTER a=1 AND b NOT LIKE 'x' OR c NOT IN [1,2] # c\n| LIMIT 007",
			`filter a = 1 and b not like "x" or c not in [1, 2] | limit 7`},
		{"fields (a - b) - c, a - (b - c), ((a)), -(-5), 2^-1, (-2)^2",
			"fields a - b - c, a - (b - c), a, --5, 2 ^ -1, (-2) ^ 2"},
		{"filter not (a = 1 or b = 2) and (c = 3 or d = 4)",
			"filter not (a = 1 or b = 2) and (c = 3 or d = 4)"},
		{"fields `srcaddr`, `and`, `a b`, `@x`, `x``y` as `1st`",
			"fields srcaddr, `and`, `a b`, @x, `x``y` as `1st`"},
		{`parse '[*] *' as level, msg | parse @message /(?<a>\d+)/`,
			`parse "[*] *" as level, msg | parse @message /(?<a>\d+)/`},
		{`filter a = 'it\'s "x"' | where b = "tab\there"`,
			`filter a = "it's \"x\"" | where b = "tab\there"`},
		{"stats count(*) by bin(60minutes), bin(1hour)", "stats count(*) by bin(60m), bin(1h)"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.query)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.query, err)
		}
		if diff := cmp.Diff(tt.want, q.String()); diff != "" {
			t.Errorf("String() of %q mismatch (-want +got):\n%s", tt.query, diff)
		}
	}
}

// TestRoundTrip checks that printing a parsed query gives text that parses
// to the same tree and prints the same again.
func TestRoundTrip(t *testing.T) {
	for _, query := range corpus {
		t.Run(query, func(t *testing.T) { roundTrip(t, query) })
	}
}

func roundTrip(t *testing.T, query string) {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	text := q.String()
	q2, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(String()) of %q = %q: %v", query, text, err)
	}
	if diff := cmp.Diff(q, q2, ignorePos); diff != "" {
		t.Fatalf("round trip of %q through %q mismatch (-first +second):\n%s", query, text, diff)
	}
	if text2 := q2.String(); text2 != text {
		t.Fatalf("String() is not stable: %q then %q", text, text2)
	}
}
