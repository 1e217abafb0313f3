package compile

import (
	"database/sql"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/insights"
	"github.com/google/go-cmp/cmp"

	_ "github.com/duckdb/duckdb-go/v2"
)

// flow is one test record of the vpc_flow_logs table. Empty strings and
// zero numbers of a NODATA record are stored as NULL.
type flow struct {
	version                 int
	account, eni, src, dst  string
	srcport, dstport, proto int
	packets, bytes          int64
	start, end              int64
	action, status          string
	instance, vpc           string
	pktSrc                  string
}

const t0 = 1709251200 // 2024-03-01T00:00:00Z

// testFlows is a small day of traffic: ordinary accepted flows between a
// few hosts, a port scanner (10.0.9.9) rejected on many ports, a noisy host
// (10.0.3.3) rejected often on a few ports, traffic from 192.0.2.0/24 and
// from IPv6 addresses, and NODATA/SKIPDATA records without addresses.
var testFlows = func() []flow {
	r := rand.New(rand.NewPCG(1, 2))
	var out []flow
	hosts := []string{"10.0.1.1", "10.0.1.2", "10.0.2.1", "10.0.17.5", "172.16.0.4", "192.168.1.10"}
	servers := []string{"10.0.0.10", "10.0.0.20", "172.31.255.1", "192.0.2.7", "198.51.100.1"}
	enis := []string{"eni-0a1b2c3d", "eni-0a1b9999", "eni-77aa00bb"}
	add := func(f flow) {
		f.version, f.account = 2, "123456789012"
		if f.status == "" {
			f.status = "OK"
		}
		if f.end == 0 && f.start != 0 {
			f.end = f.start + 60
		}
		out = append(out, f)
	}
	for i := 0; i < 300; i++ {
		add(flow{eni: enis[r.IntN(len(enis))], src: hosts[r.IntN(len(hosts))], dst: servers[r.IntN(len(servers))],
			srcport: 1024 + r.IntN(60000), dstport: []int{443, 80, 22, 5432}[r.IntN(4)], proto: 6,
			packets: 1 + r.Int64N(500), bytes: 100 + r.Int64N(5_000_000), start: t0 + r.Int64N(86400),
			action:   []string{"ACCEPT", "ACCEPT", "ACCEPT", "REJECT"}[r.IntN(4)],
			instance: []string{"", "i-0123456789abcdef0", " "}[r.IntN(3)], vpc: "vpc-1"})
	}
	for i := 0; i < 120; i++ { // the scanner: 120 rejects over 40 ports
		add(flow{eni: enis[0], src: "10.0.9.9", dst: servers[i%3], srcport: 40000 + i, dstport: 1 + i%40, proto: 6,
			packets: 1, bytes: 44, start: t0 + 36000 + int64(i)*7, action: "REJECT", vpc: "vpc-1"})
	}
	for i := 0; i < 70; i++ { // many rejects on few ports: not a scan
		add(flow{eni: enis[1], src: "10.0.3.3", dst: servers[1], srcport: 30000 + i, dstport: []int{22, 23, 3389}[i%3], proto: 6,
			packets: 2, bytes: 120, start: t0 + 40000 + int64(i)*11, action: "REJECT", vpc: "vpc-1"})
	}
	for i := 0; i < 25; i++ { // a documentation subnet talking to us
		add(flow{eni: enis[2], src: fmt.Sprintf("192.0.2.%d", 1+i*9), dst: "10.0.0.10", srcport: 5000 + i, dstport: 443, proto: 6,
			packets: 10, bytes: 1000 + int64(i), start: t0 + 50000 + int64(i)*13, action: []string{"ACCEPT", "REJECT"}[i%2], vpc: "vpc-1"})
	}
	for i, a := range []string{"2001:db8::1", "2001:db8:0:8000::5", "2001:db9::1", "fd00::1:2", "::ffff:10.0.0.1", "2001:DB8:0:0:0:0:0:FFFF"} {
		add(flow{eni: enis[2], src: a, dst: []string{"2001:db8:0:8001::1", "fd00::3", "2001:db8::2"}[i%3], srcport: 6000 + i, dstport: 443, proto: 6,
			packets: 3, bytes: 300, start: t0 + 60000 + int64(i), action: "ACCEPT", vpc: "vpc-1", pktSrc: a})
	}
	for i := 0; i < 12; i++ { // health records: no addresses
		status := []string{"NODATA", "SKIPDATA"}[i%2]
		add(flow{eni: enis[i%3], start: t0 + int64(i)*7200 + 5, status: status})
	}
	// A record of the previous day, outside the time-range queries.
	add(flow{eni: enis[0], src: "10.0.1.1", dst: "10.0.0.10", srcport: 1, dstport: 443, proto: 6, packets: 1, bytes: 1,
		start: t0 - 3600, action: "REJECT", vpc: "vpc-1"})
	return out
}()

func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// openTestDB creates the vpc_flow_logs table of the test schema in an
// in-memory DuckDB and loads testFlows.
func openTestDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var cols []string
	for _, c := range testColumns {
		cols = append(cols, DuckDB.ident(c.Name)+" "+c.Type)
	}
	if _, err := db.Exec("CREATE TABLE vpc_flow_logs (" + strings.Join(cols, ", ") + ")"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE VIEW flows AS SELECT * FROM vpc_flow_logs"); err != nil {
		t.Fatal(err)
	}
	names := []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
		"packets", "bytes", "start", "end", "action", "log_status", "instance_id", "vpc_id", "pkt_srcaddr", "year", "month", "day"}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = DuckDB.ident(n)
	}
	stmt, err := db.Prepare("INSERT INTO vpc_flow_logs (" + strings.Join(quoted, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for _, f := range testFlows {
		day := time.Unix(f.start, 0).UTC()
		_, err := stmt.Exec(f.version, f.account, f.eni, nullable(f.src), nullable(f.dst), nullable(f.srcport),
			nullable(f.dstport), nullable(f.proto), nullable(f.packets), nullable(f.bytes), f.start, f.end,
			nullable(f.action), f.status, nullable(f.instance), nullable(f.vpc), nullable(f.pktSrc),
			day.Format("2006"), day.Format("01"), day.Format("02"))
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// result is a query's columns and rows, with values normalised for
// comparison: integers as int64, big integers (DuckDB's HUGEINT sums) too.
type result struct {
	cols []string
	rows [][]any
}

func query(t testing.TB, db *sql.DB, text string) result {
	t.Helper()
	rows, err := db.Query(text)
	if err != nil {
		t.Fatalf("DuckDB refused the SQL: %v\n%s", err, text)
	}
	defer rows.Close()
	var res result
	res.cols, _ = rows.Columns()
	for rows.Next() {
		vals := make([]any, len(res.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case *big.Int:
				vals[i] = x.Int64()
			case int32:
				vals[i] = int64(x)
			case int16:
				vals[i] = int64(x)
			case int8:
				vals[i] = int64(x)
			case uint64:
				vals[i] = int64(x)
			}
		}
		res.rows = append(res.rows, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("run SQL: %v\n%s", err, text)
	}
	return res
}

// TestGoldenRunInDuckDB runs every golden statement, as stored, in DuckDB,
// and for the guide and AWS sample queries checks the answer against one
// computed in Go from the same records.
func TestGoldenRunInDuckDB(t *testing.T) {
	db := openTestDB(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("testdata", tc.name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			res := query(t, db, string(text))
			t.Logf("%d rows; first: %v", len(res.rows), first(res.rows))
			if check, ok := expected[tc.name]; ok {
				check(t, res)
			}
		})
	}
}

func first(rows [][]any) any {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

type pair struct{ a, b string }

// expected checks results against answers computed in Go.
var expected = map[string]func(t *testing.T, res result){
	"guide_accepted_bytes": func(t *testing.T, res result) {
		sums := map[pair]int64{}
		for _, f := range testFlows {
			if f.action == "ACCEPT" {
				sums[pair{f.src, f.dst}] += f.bytes
			}
		}
		checkColumns(t, res, "srcaddr", "dstaddr", "total_bytes")
		checkTop(t, res, 20, 2, func(row []any) (any, bool) {
			v, ok := sums[pair{row[0].(string), row[1].(string)}]
			return v, ok
		}, values(sums))
	},
	"guide_rejected_count": func(t *testing.T, res result) {
		type key struct {
			src, dst string
			port     int
		}
		counts := map[key]int64{}
		for _, f := range testFlows {
			if f.action == "REJECT" {
				counts[key{f.src, f.dst, f.dstport}]++
			}
		}
		checkColumns(t, res, "srcaddr", "dstaddr", "dstport", "rejected_count")
		checkTop(t, res, 50, 3, func(row []any) (any, bool) {
			v, ok := counts[key{row[0].(string), row[1].(string), int(row[2].(int64))}]
			return v, ok
		}, values(counts))
	},
	"guide_port_scan": func(t *testing.T, res result) {
		ports := map[string]map[int]bool{}
		attempts := map[string]int64{}
		for _, f := range testFlows {
			if f.action == "REJECT" {
				if ports[f.src] == nil {
					ports[f.src] = map[int]bool{}
				}
				ports[f.src][f.dstport] = true
				attempts[f.src]++
			}
		}
		var want [][]any
		for src, n := range attempts {
			if len(ports[src]) > 10 && n > 50 {
				want = append(want, []any{src, int64(len(ports[src])), n})
			}
		}
		if len(want) == 0 {
			t.Fatal("the test data has no port scan")
		}
		sort.Slice(want, func(i, j int) bool { return want[i][2].(int64) > want[j][2].(int64) })
		checkColumns(t, res, "srcaddr", "unique_ports", "attempts")
		if diff := cmp.Diff(want, res.rows); diff != "" {
			t.Errorf("port scan result mismatch (-want +got):\n%s", diff)
		}
	},
	"aws_top_talkers": func(t *testing.T, res result) {
		sums := map[pair]int64{}
		for _, f := range testFlows {
			if f.src != "" || f.dst != "" || f.packets != 0 {
				sums[pair{f.src, f.dst}] += f.packets
			}
		}
		checkColumns(t, res, "srcAddr", "dstAddr", "packetsTransferred")
		checkTop(t, res, 15, 2, func(row []any) (any, bool) {
			a, _ := row[0].(string)
			b, _ := row[1].(string)
			v, ok := sums[pair{a, b}]
			return v, ok
		}, values(sums))
	},
	"aws_subnet": func(t *testing.T, res result) {
		p := netip.MustParsePrefix("192.0.2.0/24")
		var want []string
		for _, f := range testFlows {
			if a, err := netip.ParseAddr(f.src); err == nil && a.Is4() && p.Contains(a) {
				want = append(want, f.src+" "+f.action)
			}
		}
		var got []string
		for _, row := range res.rows {
			got = append(got, row[0].(string)+" "+row[1].(string))
		}
		checkColumns(t, res, "srcAddr", "action")
		slices.Sort(want)
		slices.Sort(got)
		if len(want) == 0 {
			t.Fatal("no records in 192.0.2.0/24")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("subnet result mismatch (-want +got):\n%s", diff)
		}
	},
	"aws_skipdata": func(t *testing.T, res result) {
		counts := map[int64]int64{}
		for _, f := range testFlows {
			if f.status == "SKIPDATA" {
				counts[f.start/3600*3600]++
			}
		}
		var want [][]any
		for h, n := range counts {
			want = append(want, []any{time.Unix(h, 0).UTC(), n})
		}
		sort.Slice(want, func(i, j int) bool { return want[i][0].(time.Time).Before(want[j][0].(time.Time)) })
		checkColumns(t, res, "t", "count(*)")
		got := make([][]any, len(res.rows))
		for i, row := range res.rows {
			got[i] = []any{row[0].(time.Time).UTC(), row[1]}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SKIPDATA per hour mismatch (-want +got):\n%s", diff)
		}
	},
	"aws_rejections": func(t *testing.T, res result) {
		counts := map[string]int64{}
		for _, f := range testFlows {
			if f.action == "REJECT" {
				counts[f.src]++
			}
		}
		checkColumns(t, res, "srcAddr", "numRejections")
		checkTop(t, res, len(counts), 1, func(row []any) (any, bool) {
			v, ok := counts[row[0].(string)]
			return v, ok
		}, values(counts))
	},
	"dedup": func(t *testing.T, res result) {
		best := map[string]int64{}
		for _, f := range testFlows {
			if f.src != "" && f.bytes > best[f.src] {
				best[f.src] = f.bytes
			}
		}
		checkColumns(t, res, "srcaddr", "bytes")
		checkTop(t, res, 10, 1, func(row []any) (any, bool) {
			v, ok := best[row[0].(string)]
			return v, ok
		}, values(best))
		seen := map[string]bool{}
		for _, row := range res.rows {
			if seen[row[0].(string)] {
				t.Errorf("dedup kept %s twice", row[0])
			}
			seen[row[0].(string)] = true
		}
	},
	"dedup_default_order": func(t *testing.T, res result) {
		// A record without srcaddr shows CloudWatch's "-", which is
		// deduplicated like any other value.
		latest := map[string]int64{}
		for _, f := range testFlows {
			src := f.src
			if src == "" {
				src = "-"
			}
			if f.start > latest[src] {
				latest[src] = f.start
			}
		}
		if len(res.rows) != len(latest) {
			t.Errorf("dedup gave %d rows, want %d (one per source, \"-\" included)", len(res.rows), len(latest))
		}
		for _, row := range res.rows {
			if src, ok := row[0].(string); ok && row[1].(time.Time).Unix() != latest[src] {
				t.Errorf("dedup kept %s at %v, want its latest record at %d", src, row[1], latest[src])
			}
		}
	},
	"parse_glob": func(t *testing.T, res result) {
		counts := map[string]int64{}
		for _, f := range testFlows {
			counts[strings.TrimPrefix(f.eni, "eni-")]++
		}
		checkColumns(t, res, "eni_id", "flows")
		checkTop(t, res, 5, 1, func(row []any) (any, bool) {
			v, ok := counts[row[0].(string)]
			return v, ok
		}, values(counts))
	},
	"several_stats": func(t *testing.T, res result) {
		per := map[pair]int64{}
		for _, f := range testFlows {
			per[pair{f.src, fmt.Sprint(f.start / 300)}]++
		}
		peak := map[string]int64{}
		for k, n := range per {
			peak[k.a] = max(peak[k.a], n)
		}
		checkColumns(t, res, "srcaddr", "peak", "mean")
		for _, row := range res.rows {
			src, _ := row[0].(string)
			if row[1].(int64) != peak[src] {
				t.Errorf("peak of %q = %v, want %d", src, row[1], peak[src])
			}
		}
	},
	"time_range": func(t *testing.T, res result) {
		var n int64
		for _, f := range testFlows {
			if f.action == "REJECT" && f.start >= t0+36000 && f.start < t0+43200 {
				n++
			}
		}
		var got int64
		for _, row := range res.rows {
			got += row[1].(int64)
		}
		if n == 0 || got > n {
			t.Errorf("time range counted %d rejects in its top 10, want at most %d (and some)", got, n)
		}
	},
	"time_range_months": func(t *testing.T, res result) {
		var n int64
		for _, f := range testFlows {
			if f.start >= t0-3600 && f.start < t0+86400 {
				n++
			}
		}
		if diff := cmp.Diff([][]any{{n}}, res.rows); diff != "" {
			t.Errorf("count in range mismatch (-want +got):\n%s", diff)
		}
	},
	"ip_v6": func(t *testing.T, res result) {
		p1, p2 := netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("2001:db8:0:8000::/49")
		var n int64
		for _, f := range testFlows {
			a, err1 := netip.ParseAddr(f.src)
			b, err2 := netip.ParseAddr(f.dst)
			if err1 == nil && !a.Is4() && p1.Contains(a) || err2 == nil && !b.Is4() && p2.Contains(b) {
				n++
			}
		}
		if diff := cmp.Diff([][]any{{n}}, res.rows); diff != "" {
			t.Errorf("IPv6 subnet count mismatch (-want +got):\n%s", diff)
		}
	},
}

func values[K comparable](m map[K]int64) []int64 {
	out := make([]int64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func checkColumns(t *testing.T, res result, cols ...string) {
	t.Helper()
	if diff := cmp.Diff(cols, res.cols); diff != "" {
		t.Errorf("columns mismatch (-want +got):\n%s", diff)
	}
}

// checkTop checks a "sort v desc | limit n" result whose value is column
// col: every row's value is the right one for its key, the values are the n
// largest in descending order, and rows never repeat (ties may come in any
// order).
func checkTop(t *testing.T, res result, n, col int, lookup func([]any) (any, bool), all []int64) {
	t.Helper()
	slices.Sort(all)
	slices.Reverse(all)
	want := all[:min(n, len(all))]
	var got []int64
	seen := map[string]bool{}
	for _, row := range res.rows {
		v, ok := lookup(row)
		if !ok || v != row[col] {
			t.Errorf("row %v: value %v, want %v", row, row[col], v)
		}
		got = append(got, row[col].(int64))
		key := fmt.Sprint(row[:col])
		if seen[key] {
			t.Errorf("row %v repeats", row)
		}
		seen[key] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("top %d values mismatch (-want +got):\n%s", n, diff)
	}
}

// TestIPFunctionsInDuckDB compares the SQL of the IP functions with Go's
// net/netip on addresses and subnets of both families.
func TestIPFunctionsInDuckDB(t *testing.T) {
	db := openTestDB(t)
	addrs := []string{"10.0.0.1", "10.0.15.255", "10.0.16.0", "10.0.31.255", "10.0.32.0", "10.255.255.255", "11.0.0.0",
		"192.0.2.0", "192.0.2.255", "192.0.3.0", "0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"256.1.1.1", "1.2.3.04", "", "abc", "10.0.0.1 ",
		"::", "::1", "1::", "2001:db8::", "2001:db8::1", "2001:DB8::FFFF", "2001:db8:0:0:0:0:0:1", "2001:0db8:ffff::",
		"2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", "2001:db8:8000::", "2001:db9::", "2001:db7:ffff::", "fe80::1:2:3:4",
		"::ffff:10.0.0.1", "::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
		"1::2::3", "12345::", "2001:db8::g", "::ffff:256.0.0.1", "fe80::1%eth0", ":1::", "1:2:3:4:5:6:1.2.3.4",
		"0:0:0:0:0:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	}
	prefixes := []string{"10.0.0.0/8", "10.0.16.0/20", "10.0.0.1/32", "192.0.2.0/24", "0.0.0.0/0", "10.0.0.0/12", "128.0.0.0/1",
		"2001:db8::/32", "2001:db8::/33", "2001:db8:8000::/33", "::/0", "::1/128", "fe80::/10", "::ffff:0:0/96",
		"2001:db8::/31", "64:ff9b::/96", "2001:db8:ffff::/48"}
	for _, p := range prefixes {
		prefix := netip.MustParsePrefix(p)
		schema := NewSchema([]Column{{Name: "addr", Type: "VARCHAR"}, {Name: "i", Type: "INTEGER"}})
		text := fmt.Sprintf(`fields i, isIpInSubnet(addr, %q) as inside, isValidIp(addr) as valid, isValidIpV4(addr) as v4, isValidIpV6(addr) as v6 | sort i`, p)
		q, err := insights.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		sqlText, err := Compile(q, schema, DuckDB, Options{Table: "addrs", DefaultLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		for i, a := range addrs {
			values = append(values, fmt.Sprintf("(%d, %s)", i, DuckDB.str(a)))
		}
		full := "WITH addrs(i, addr) AS (VALUES " + strings.Join(values, ", ") + ") " + sqlText
		res := query(t, db, full)
		for i, row := range res.rows {
			a := addrs[i]
			ip, err := netip.ParseAddr(a)
			valid := err == nil && ip.Zone() == ""
			want := []any{int64(i), valid && ip.Is4() == prefix.Addr().Is4() && prefix.Contains(ip), valid, valid && ip.Is4(), valid && !ip.Is4()}
			if diff := cmp.Diff(want, row); diff != "" {
				t.Errorf("%q in %s: (-netip +duckdb)\n%s", a, p, diff)
			}
		}
	}
}
