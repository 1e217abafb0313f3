package detect

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/insights/compile"
)

// TestPrefixPredicate runs the SQL of prefixPredicate in DuckDB over many
// addresses and compares each answer with netip's.
func TestPrefixPredicate(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	addrs := []string{
		"10.0.0.1", "10.255.255.255", "11.0.0.1", "9.255.255.255", "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0",
		"192.168.1.1", "192.169.0.1", "100.63.255.255", "100.64.0.1", "100.127.255.255", "100.128.0.0", "203.0.113.7", "203.0.113.200",
		"203.0.112.9", "198.51.100.129", "198.51.100.127", "198.51.100.255", "1.2.3.4", "12.34.56.78", "193.142.146.4", "45.95.147.126",
		"8.8.8.8", "fd12:3456::1", "fc00::1", "fe80::1", "2001:db8::5", "2001:db9::5", "2600:1f18::7", "::1", "1.10.16.5", "1.10.32.1",
		// Canonical IPv6 text writes the longest run of zero groups as ::,
		// also when the run lies within a prefix's leading groups.
		"2001:db8:0:1::7", "2001:db8::1:0:0:9", "2001:db8::1:2:3:4", "2001:db8::1:2:3", "2001:0:0:5:1:2:3:4", "2001::5:1:2:3:4",
		"2001::5:1", "2001::", "2001:db8::", "::1:2", "::2:0:0:1", "1:2:3:4::", "1:2:3:0:5::", "2a01:4f8:0:a::1", "2a01:4f8::a:0:0:1",
		"21.7.13.5", "21.7.64.1", "20.0.127.255", "20.0.128.0", "45.95.147.123", "193.142.146.6", "8.8.9.255", "8.8.10.0",
		"2600:1f18:7::1", "2600:1f18:7:1::1", "2600:1f18:8::1", "fd12::", "2a05:105:1::1", "2a05:106::1", "2a05:105::",
	}
	sets := map[string][]netip.Prefix{
		"internal": enrich.InternalPrefixes,
		"feeds": mustPrefixes("203.0.113.0/24", "198.51.100.128/25", "1.10.16.0/20", "193.142.146.0/24", "45.95.147.0/24", "8.8.8.8/32",
			"2001:db8::/32", "12.0.0.0/7"),
		"many /24": mustPrefixes("203.0.113.0/24", "203.0.112.0/24", "193.142.146.0/24", "45.95.147.0/24", "185.220.101.0/24", "109.70.100.0/24"),
		"ipv6 zero groups": mustPrefixes("2001:db8::/48", "2001:db8::/80", "2001:0:0:5::/64", "::/64", "1:2:3::/48",
			"2a01:4f8:0:a::/64", "1:2:3:0:5::/80"),
		"ipv6 /80 of zeros":         mustPrefixes("2001:db8::/80"),
		"many off octet boundaries": manyPrefixes(),
		"many ipv6, zero groups":    append(manyPrefixes()[100+8:], mustPrefixes("2001:db8::/80", "2001:0:0:5::/64", "::/64", "1:2:3:0:5::/80")...),
		"empty":                     nil,
	}
	var values []string
	for _, a := range addrs {
		values = append(values, "("+engine.Literal(a)+")")
	}
	for name, ps := range sets {
		t.Run(name, func(t *testing.T) {
			set := enrich.NewPrefixSet(ps)
			q := "SELECT srcaddr FROM (VALUES " + strings.Join(values, ", ") + ") AS t(srcaddr) WHERE " + prefixPredicate("srcaddr", ps)
			res, err := eng.Query(ctx, engine.Request{SQL: q})
			if err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
			var got, want []string
			for _, r := range res.Rows {
				got = append(got, r[0].(string))
			}
			for _, a := range addrs {
				if set.Contains(netip.MustParseAddr(a)) {
					want = append(want, a)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("SQL matched %v\nnetip matched %v\nSQL: %s", got, want, prefixPredicate("srcaddr", ps))
			}
		})
	}
}

// manyPrefixes is a feed of more than 64 networks off octet boundaries, of
// every length class, around the test addresses.
func manyPrefixes() []netip.Prefix {
	ps := mustPrefixes("203.0.113.0/25", "198.51.100.128/26", "1.10.16.0/20", "12.0.0.0/7", "172.16.0.0/12", "100.64.0.0/10",
		"45.95.147.124/30", "193.142.146.4/31", "128.0.0.0/1", "8.8.8.0/23")
	for i := 0; len(ps) < 100; i++ {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(20 + i), byte(i * 7), byte(i * 13), 0}), 17+i%7).Masked())
	}
	ps = append(ps, mustPrefixes("2001:db8::/32", "2600:1f18:7::/48", "fd12::/16", "2a05:105::/48", "1:2:3::/48", "::/64", "2001:0:0:5::/64", "2001:db8::/80")...)
	for i := range 70 {
		ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("2a%02x:%x::/32", i, 0x100+i)))
	}
	return ps
}

// TestPrefixPredicateSize checks that a long feed of networks off octet
// boundaries becomes IN lists: one term per network made every record test
// thousands of ranges (1,500 /22s took 22 s over a 200,000-record day).
func TestPrefixPredicateSize(t *testing.T) {
	var ps []netip.Prefix
	for i := range 1500 {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i%200), byte(i / 200 * 9), byte(i % 64 * 4), 0}), 22))
	}
	pred := prefixPredicate("srcaddr", ps)
	if n := strings.Count(pred, " OR "); n > 3 {
		t.Errorf("the predicate of 1,500 /22 networks has %d OR terms, want IN lists", n)
	}
	// IPv6 feeds list /32s and /48s by the thousand (5,000 /32s took 25 s).
	ps = ps[:0]
	for i := range 1500 {
		ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("2a%02x:%x::/%d", i%256, 0x100+i, 32+i%2*16)))
	}
	pred = prefixPredicate("srcaddr", ps)
	if n := strings.Count(pred, " OR "); n > 3 {
		t.Errorf("the predicate of 1,500 IPv6 networks has %d OR terms, want IN lists", n)
	}
}

// compileInsights compiles an Insights rule for DuckDB as the CLI does.
func compileInsights(query, dialect string) (string, error) {
	var cols []compile.Column
	for _, c := range engine.ViewColumns() {
		cols = append(cols, compile.Column{Name: c.Name, Type: c.Type, Aliases: c.Aliases})
	}
	q, err := insights.Parse(query)
	if err != nil {
		return "", err
	}
	return compile.Compile(q, compile.NewSchema(cols), compile.DuckDB, compile.Options{})
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestExpansionPositions(t *testing.T) {
	q := "SELECT {{a}} + x FROM {{b}} WHERE y"
	refs, rerr := scanRefs(q)
	if rerr != nil {
		t.Fatal(rerr.msg)
	}
	exp, err := expand(q, refs, func(r ref) (string, error) { return strings.Repeat("Z", 10), nil })
	if err != nil {
		t.Fatal(err)
	}
	// "x" in the expansion maps to "x" in the query; inside a parameter to its {{.
	if got := exp.origOffset(strings.Index(exp.SQL, "x")); got != strings.Index(q, "x") {
		t.Errorf("x maps to %d, want %d", got, strings.Index(q, "x"))
	}
	if got := exp.origOffset(strings.Index(exp.SQL, "Z") + 3); got != strings.Index(q, "{{a}}") {
		t.Errorf("inside {{a}} maps to %d, want %d", got, strings.Index(q, "{{a}}"))
	}
	if got := exp.origOffset(strings.Index(exp.SQL, "WHERE y") + 6); got != strings.Index(q, "WHERE y")+6 {
		t.Errorf("y maps to %d", got)
	}
}

// TestCheckBuiltin binds every built-in rule's SQL against an empty lake, and
// shows that Check reports a broken rule at its file position.
func TestCheckBuiltin(t *testing.T) {
	ctx := context.Background()
	rules, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, "", rules, Options{}); err != nil {
		t.Fatal(err)
	}
	head := "id: bad\ntitle: t\ncategory: port-scan\nseverity: low\n"
	query := "query: |\n  SELECT srcaddr AS src, count(*) AS n\n  FROM vpc_flow_logs\n  GROUP BY srcaddr\n"
	for _, tc := range []struct {
		name, rule, want string
	}{
		{"unknown SQL column", head + "query: |\n  SELECT srcaddr\n  FROM vpc_flow_logs\n  WHERE dstprt = {{window}}\n",
			"bad.yaml:8:9: rule bad: "},
		{"group-by names a column the query does not return", head + "group-by: [src, dport]\n" + query,
			`bad.yaml:5:17: rule bad: group-by names column "dport", the query returns src, n`},
		{"alert mapping names a column the query does not return", head + "alert:\n  dst: target\n" + query,
			`bad.yaml:6:8: rule bad: the alert mapping names column "target", the query returns src, n`},
		{"evidence names a column the query does not return", head + "alert:\n  evidence: [n, bytes]\n" + query,
			`bad.yaml:6:17: rule bad: alert.evidence names column "bytes", the query returns src, n`},
		{"Insights query with an unknown field", head + "thresholds:\n  min: 15\nquery: |\n  filter action = \"REJECT\"\n  | stats count(*) as n by srcaddr\n  | filter n >= {{min}} and dstprt = 22\n",
			`bad.yaml:10:29: rule bad: compile the Insights query: unknown field "dstprt"`},
		{"Insights syntax error", head + "query: |\n  filter action = \"REJECT\"\n  | stats count(*) as n bye srcaddr\n",
			`bad.yaml:7:25: rule bad: compile the Insights query: expected "by" or "|" after stats expression, found "bye"`},
		{"title names a column the query does not return", strings.Replace(head, "title: t", "title: \"{src} sent {bytes} bytes\"", 1) + query,
			`bad.yaml:2:8: rule bad: the title names {bytes}, but the query returns src, n ({src} and {dst} are the alert's addresses)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad, err := ParseRule("bad.yaml", []byte(tc.rule))
			if err != nil {
				t.Fatal(err)
			}
			err = Check(ctx, "", []*Rule{bad}, Options{Insights: compileInsights})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
