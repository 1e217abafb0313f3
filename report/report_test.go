package report

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the independent DuckDB of the checks
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/flowlens/flowlens/alert"
	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	_ "github.com/flowlens/flowlens/engine/duckdb" // the embedded engine
	"github.com/flowlens/flowlens/enrich"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/insights/compile"
	"github.com/flowlens/flowlens/internal/human"
	"github.com/flowlens/flowlens/lake"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var day1 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// newLake ingests paths into a new data folder through the ingest package.
func newLake(t testing.TB, paths ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if len(paths) == 0 {
		return dir
	}
	res, err := ingest.Run(context.Background(), dir, paths, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.RecordsQuarantined != 0 {
		t.Fatalf("ingest quarantined %d records", res.Counts.RecordsQuarantined)
	}
	return dir
}

// genLake generates a day with gen and ingests it.
func genLake(t testing.TB, cfg gen.Config) string {
	t.Helper()
	cfg.Layout = gen.LayoutFlat
	path := filepath.Join(t.TempDir(), "flows.log.gz")
	if _, err := gen.Generate(context.Background(), cfg, path); err != nil {
		t.Fatal(err)
	}
	return newLake(t, path)
}

// inputs gathers a report's inputs from a data folder, as the CLI does.
func inputs(t testing.TB, dataDir string) Inputs {
	t.Helper()
	eng, err := engine.Open(context.Background(), "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	in := Inputs{Engine: eng, TableDir: engine.LakeDir(dataDir)}
	if _, err := os.Stat(filepath.Join(dataDir, lake.CatalogFile)); err == nil {
		if in.Catalog, err = lake.ReadCatalog(dataDir); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := os.Stat(filepath.Join(dataDir, "alerts", "state.json")); err == nil {
		store, err := alert.OpenStore(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if in.Alerts, err = store.List(alert.Filter{}); err != nil {
			t.Fatal(err)
		}
		in.AlertState, in.AlertStateUpdated = true, st.ModTime()
	}
	return in
}

func compileInsights(query, dialect string) (string, error) {
	q, err := insights.Parse(query)
	if err != nil {
		return "", err
	}
	var cols []compile.Column
	for _, c := range engine.ViewColumns() {
		cols = append(cols, compile.Column{Name: c.Name, Type: c.Type, Aliases: c.Aliases})
	}
	return compile.Compile(q, compile.NewSchema(cols), compile.DuckDB, compile.Options{})
}

// runDetect runs the built-in rules over the day and records the alerts.
func runDetect(t testing.TB, dataDir string) int {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rp := detect.NewRunner(eng, rules, detect.Options{Insights: compileInsights}).Run(ctx, day1, day1.AddDate(0, 0, 1))
	if err := rp.Err(); err != nil {
		t.Fatal(err)
	}
	store, err := alert.OpenStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Upsert(rp.Alerts); err != nil {
		t.Fatal(err)
	}
	return len(rp.Alerts)
}

// rawDB is a DuckDB of its own over the lake's Parquet files, as Athena
// would read them: the independent side of the checks.
func rawDB(t testing.TB, dataDir string) (*sql.DB, string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	from := fmt.Sprintf("read_parquet('%s', hive_partitioning = true) WHERE start >= %d AND start < %d",
		filepath.Join(engine.LakeDir(dataDir), "*", "*", "*", "*.parquet"), day1.Unix(), day1.AddDate(0, 0, 1).Unix())
	return db, from
}

func queryInts(t testing.TB, db *sql.DB, q string) []int64 {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []int64
	for rows.Next() {
		vals := make([]sql.NullInt64, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			out = append(out, v.Int64)
		}
	}
	return out
}

func TestPrefixSQL(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, nets := range []string{
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16,100.64.0.0/10", "10.1.2.3/32", "10.1.2.0/23", "0.0.0.0/0",
		"fc00::/7", "2600:1f18::/32", "2600:1f18:ab::/48", "2001:db8::1/128", "fd00::/8", "fe80::/10",
	} {
		t.Run(nets, func(t *testing.T) {
			ps, err := ParsePrefixes(nets)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := prefixSQL("a", ps)
			if err != nil {
				t.Fatal(err)
			}
			// Addresses inside and near each network, and random ones.
			var addrs []netip.Addr
			for _, p := range ps {
				a := p.Addr()
				addrs = append(addrs, a, a.Prev(), a.Next())
				for range 40 {
					b := a.AsSlice()
					for i := p.Bits() / 8; i < len(b); i++ {
						b[i] = byte(rnd.IntN(256))
					}
					if x, ok := netip.AddrFromSlice(b); ok {
						addrs = append(addrs, x)
					}
				}
			}
			for range 100 {
				var b [4]byte
				for i := range b {
					b[i] = byte(rnd.IntN(256))
				}
				addrs = append(addrs, netip.AddrFrom4(b))
			}
			addrs = append(addrs, netip.MustParseAddr("fd12:3456::1"), netip.MustParseAddr("2600:1f18:ab:0::9"), netip.MustParseAddr("::1"))
			for _, a := range addrs {
				if !a.IsValid() {
					continue
				}
				want := slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
				var got bool
				if err := db.QueryRow("SELECT " + pred + " FROM (SELECT " + engine.Literal(a.String()) + " AS a)").Scan(&got); err != nil {
					t.Fatalf("%s: %v", pred, err)
				}
				if got != want {
					t.Errorf("%s in %s: got %v, want %v (SQL %s)", a, nets, got, want, pred)
				}
			}
			var null sql.NullBool
			if err := db.QueryRow("SELECT " + pred + " FROM (SELECT NULL::VARCHAR AS a)").Scan(&null); err != nil || null.Bool {
				t.Errorf("a null address is in %s (%v)", nets, err)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "2001:0::/32", "::/64"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) = nil error", bad)
		}
	}
}

// goldenAlerts are fixed alerts of the golden day, in every status.
func goldenAlerts() []alert.Alert {
	mk := func(id, cat string, sev alert.Severity, st alert.Status, first, last time.Time) alert.Alert {
		return alert.Alert{ID: id, Rule: cat + "-rule", Category: cat, Severity: sev, Status: st, Title: "test " + cat,
			Src: "192.0.2.66", Dst: "10.0.1.7", FirstSeen: first, LastSeen: last, Count: 3}
	}
	return []alert.Alert{
		mk("a-1", "brute-force", alert.High, alert.StatusOpen, day1.Add(8*time.Hour), day1.Add(9*time.Hour)),
		mk("a-2", "port-scan", alert.Medium, alert.StatusAcked, day1.Add(-2*time.Hour), day1.Add(time.Hour)),
		mk("a-3", "exposed-service", alert.Low, alert.StatusSuppressed, day1.Add(10*time.Hour), day1.Add(10*time.Hour)),
		mk("a-4", "port-scan", alert.Critical, alert.StatusOpen, day1.Add(-48*time.Hour), day1.Add(-47*time.Hour)), // another day
	}
}

func goldenInputs(t *testing.T) Inputs {
	in := inputs(t, newLake(t, filepath.Join("testdata", "flows.log")))
	in.Alerts, in.AlertState, in.AlertStateUpdated = goldenAlerts(), true, day1.Add(30*time.Hour)
	return in
}

var goldenNow = time.Date(2024, 3, 2, 6, 0, 0, 0, time.UTC)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got; go test ./report -update rewrites it):\n%s", name, d)
	}
}

func TestGolden(t *testing.T) {
	in := goldenInputs(t)
	ctx := context.Background()
	c, err := BuildCompliance(ctx, in, Options{From: day1, To: day1.AddDate(0, 0, 1), Now: goldenNow, Reviewer: "A. Auditor", Retention: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := BuildTraffic(ctx, in, Options{From: day1, To: day1.AddDate(0, 0, 1), Now: goldenNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		name string
		rep  Report
		f    Format
	}{
		{"compliance.md", c, Markdown}, {"compliance.json", c, JSON}, {"compliance.txt", c, Text},
		{"traffic.md", tr, Markdown}, {"traffic.json", tr, JSON},
	} {
		var b bytes.Buffer
		if err := Write(&b, r.f, r.rep); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, r.name, b.Bytes())
	}

	// The golden day was written to hold one case of each finding; check
	// them by name, so that a golden file rewritten by mistake is caught.
	var exc []string
	for _, e := range c.Exceptions {
		exc = append(exc, e.Section+" "+e.Item)
	}
	wantExc := []string{
		"coverage eni-0old",               // logged the day before, silent on the day
		"coverage 2024-03-01 20:00",       // nobody logged
		"coverage eni-0bbb",               // SKIPDATA
		"coverage eni-0bsy",               // 31 records an hour, none at 13h
		"exposure 10.0.0.5 port 22 (ssh)", // SSH accepted from the internet
		"alerts a-1",                      // open high
		"retention retention setting",     // 90d < 12 months
		"retention last 3 months",
		"retention last 12 months",
	}
	sort.Strings(exc)
	sort.Strings(wantExc)
	if d := cmp.Diff(wantExc, exc); d != "" {
		t.Errorf("exceptions (-want +got):\n%s", d)
	}
	type facts struct {
		NoData, SkipData, Rejected, NewSources int64
		NewTop                                 string
		ExposedPorts                           []int64
		Alerts                                 map[string]int
		Review                                 Review
	}
	got := facts{NoData: c.Coverage.NoData, SkipData: c.Coverage.SkipData, Rejected: c.Rejected.Records, NewSources: c.Rejected.NewSources,
		Alerts: c.Alerts.ByStatus, Review: c.Review}
	if len(c.Rejected.NewTop) > 0 {
		got.NewTop = c.Rejected.NewTop[0].Addr
	}
	for _, p := range c.Exposure.Ports {
		got.ExposedPorts = append(got.ExposedPorts, p.Port)
	}
	want := facts{NoData: 6, SkipData: 1, Rejected: 5, NewSources: 1, NewTop: "192.0.2.66", ExposedPorts: []int64{443, 22},
		Alerts: map[string]int{"open": 1, "acked": 1, "suppressed": 1}, Review: Review{Reviewer: "A. Auditor", Date: "2024-03-02"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("compliance facts (-want +got):\n%s", d)
	}
	var nat []string
	for _, e := range tr.Egress {
		if e.NAT {
			nat = append(nat, e.Interface)
		}
	}
	if d := cmp.Diff([]string{"eni-0nat"}, nat); d != "" {
		t.Errorf("NAT interfaces (-want +got):\n%s", d)
	}
}

// TestAgainstDuckDB checks the reports of a generated day (with its
// attacks, and the alerts detect raises on it) against answers computed
// independently: SQL of a DuckDB of its own over the lake's files, and
// address classification in Go.
func TestAgainstDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and ingests a day")
	}
	dataDir := genLake(t, gen.Config{Records: 40_000, Seed: 7})
	nAlerts := runDetect(t, dataDir)
	if nAlerts == 0 {
		t.Fatal("detect raised no alert on a day with attacks")
	}
	in := inputs(t, dataDir)
	ctx := context.Background()
	o := Options{From: day1, To: day1.AddDate(0, 0, 1), Now: goldenNow}
	c, err := BuildCompliance(ctx, in, o)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := BuildTraffic(ctx, in, o)
	if err != nil {
		t.Fatal(err)
	}
	db, from := rawDB(t, dataDir)

	n := queryInts(t, db, `SELECT count(*), count(*) FILTER (WHERE log_status = 'NODATA'), count(*) FILTER (WHERE log_status = 'SKIPDATA'),
		count(DISTINCT interface_id), count(DISTINCT vpc_id), count(DISTINCT account_id),
		count(*) FILTER (WHERE action = 'REJECT'), coalesce(sum(bytes) FILTER (WHERE action = 'REJECT'), 0),
		count(DISTINCT srcaddr) FILTER (WHERE action = 'REJECT'), coalesce(sum(bytes), 0), coalesce(sum(packets), 0) FROM `+from)
	if n[0] < 30_000 {
		t.Fatalf("the lake holds %d records of the day", n[0])
	}
	perHour := queryInts(t, db, `SELECT count(*) FROM range(24) h(h) LEFT JOIN (SELECT * FROM `+from+`) ON start // 3600 = `+
		fmt.Sprint(day1.Unix()/3600)+` + h GROUP BY h ORDER BY h`)
	// The LEFT JOIN counts one row for an empty hour: take it away.
	for i, h := range perHour {
		if h == 1 {
			perHour[i] = queryInts(t, db, fmt.Sprintf("SELECT count(*) FROM %s AND start // 3600 = %d", from, day1.Unix()/3600+int64(i)))[0]
		}
	}
	var gotHours []int64
	for _, h := range c.Coverage.Hours {
		gotHours = append(gotHours, h.Records)
	}
	top := queryInts(t, db, `SELECT count(*) AS n FROM `+from+` AND action = 'REJECT' GROUP BY srcaddr ORDER BY n DESC LIMIT 1`)

	type numbers struct {
		Records, NoData, SkipData                int64
		Interfaces, VPCs, Accounts               int
		Rejected, RejectedBytes, RejectedSources int64
		NewSources, TopRejected                  int64
		Hours                                    []int64
		TrafficBytes, TrafficPackets             int64
		Alerts                                   int
	}
	got := numbers{c.Coverage.Records, c.Coverage.NoData, c.Coverage.SkipData, len(c.Coverage.Interfaces), len(c.Coverage.VPCs), len(c.Coverage.Accounts),
		c.Rejected.Records, c.Rejected.Bytes, c.Rejected.Sources, c.Rejected.NewSources, c.Rejected.TopSources[0].Records, gotHours,
		tr.Total.Bytes, tr.Total.Packets, c.Alerts.Total}
	want := numbers{n[0], n[1], n[2], int(n[3]), int(n[4]), int(n[5]), n[6], n[7], n[8],
		n[8], // a lake of one day has no lookback: every rejected source is new
		top[0], perHour, n[9], n[10], nAlerts}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("numbers (-want +got):\n%s", d)
	}

	// The top talker and the top port by bytes.
	tt := queryInts(t, db, `SELECT sum(bytes) AS b, count(DISTINCT dstaddr) FROM `+from+` AND srcaddr IS NOT NULL GROUP BY srcaddr ORDER BY b DESC LIMIT 1`)
	tp := queryInts(t, db, `SELECT protocol, least(srcport, dstport) AS p, sum(bytes) AS b FROM `+from+` AND protocol IS NOT NULL GROUP BY 1, 2 ORDER BY b DESC LIMIT 1`)
	gotTop := []int64{tr.TopTalkers[0].Bytes, tr.TopTalkers[0].Peers, tr.TopPorts[0].Protocol, tr.TopPorts[0].Port, tr.TopPorts[0].Bytes}
	if d := cmp.Diff(append(tt, tp...), gotTop); d != "" {
		t.Errorf("top talker (bytes, destinations) and top port (protocol, port, bytes) (-want +got):\n%s", d)
	}

	// Exposure and directions, classified in Go from the raw rows.
	rows, err := db.Query(`SELECT srcaddr, dstaddr, srcport, dstport, protocol, action, bytes FROM ` + from + ` AND srcaddr IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	type portKey struct{ port, proto int64 }
	type exp struct {
		Records int64
		Sources map[string]bool
	}
	exposed := map[portKey]*exp{}
	dirs := map[string]int64{}
	for rows.Next() {
		var src, dst string
		var sp, dp, proto sql.NullInt64
		var action sql.NullString
		var by sql.NullInt64
		if err := rows.Scan(&src, &dst, &sp, &dp, &proto, &action, &by); err != nil {
			t.Fatal(err)
		}
		si, di := enrich.IsInternal(netip.MustParseAddr(src)), enrich.IsInternal(netip.MustParseAddr(dst))
		dirs[side(si)+"-"+side(di)] += by.Int64
		if action.String == "ACCEPT" && !si && di && (proto.Int64 == 6 || proto.Int64 == 17) && dp.Int64 < sp.Int64 {
			k := portKey{dp.Int64, proto.Int64}
			if exposed[k] == nil {
				exposed[k] = &exp{Sources: map[string]bool{}}
			}
			exposed[k].Records++
			exposed[k].Sources[src] = true
		}
	}
	rows.Close()
	wantExp := map[portKey][2]int64{}
	for k, e := range exposed {
		wantExp[k] = [2]int64{e.Records, int64(len(e.Sources))}
	}
	gotExp := map[portKey][2]int64{}
	for _, p := range c.Exposure.Ports {
		gotExp[portKey{p.Port, p.Protocol}] = [2]int64{p.Records, p.Sources}
	}
	if d := cmp.Diff(wantExp, gotExp, cmp.AllowUnexported(portKey{})); d != "" {
		t.Errorf("exposure (-want +got):\n%s", d)
	}
	gotDirs := map[string]int64{}
	for _, d := range tr.Directions {
		if d.Direction != "unknown" {
			gotDirs[d.Direction] = d.Bytes
		}
	}
	if d := cmp.Diff(dirs, gotDirs); d != "" {
		t.Errorf("directions by bytes (-want +got):\n%s", d)
	}
	// The generated attacks include SSH and RDP brute force against exposed
	// hosts: the report must raise them as exceptions.
	var adminExc int
	for _, e := range c.Exceptions {
		if e.Section == "exposure" {
			adminExc++
		}
	}
	if adminExc == 0 || adminExc != len(c.Exposure.Admin) {
		t.Errorf("%d exposure exceptions for %d exposed admin targets", adminExc, len(c.Exposure.Admin))
	}
}

func side(internal bool) string {
	if internal {
		return "internal"
	}
	return "external"
}

// TestEmpty checks that an empty data folder and a day without partitions
// give honest reports.
func TestEmpty(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"no data folder", func(t *testing.T) string { return newLake(t) }},
		{"another day", func(t *testing.T) string { return newLake(t, filepath.Join("testdata", "flows.log")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputs(t, tc.dir(t))
			d := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
			c, err := BuildCompliance(ctx, in, Options{From: d, To: d.AddDate(0, 0, 1), Now: goldenNow})
			if err != nil {
				t.Fatal(err)
			}
			var md bytes.Buffer
			if err := Write(&md, Markdown, c); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), "No flow logs for this day") {
				t.Errorf("the report does not say there are no flow logs:\n%s", md.String())
			}
			if c.Coverage.Records != 0 || len(c.Coverage.Interfaces) != 0 || c.Exceptions[0].Reason != "no flow logs for this day: the lake holds no record of it" {
				t.Errorf("coverage %+v, first exception %+v", c.Coverage, c.Exceptions[0])
			}
			tr, err := BuildTraffic(ctx, in, Options{From: d, To: d.AddDate(0, 0, 7), Now: goldenNow})
			if err != nil {
				t.Fatal(err)
			}
			var tb bytes.Buffer
			if err := Write(&tb, HTML, tr); err != nil {
				t.Fatal(err)
			}
			if tr.Total.Records != 0 || !strings.Contains(tb.String(), "The lake holds no record in this range.") {
				t.Errorf("empty traffic report: %+v", tr.Total)
			}
		})
	}
}

// voidElements are the HTML elements without an end tag.
var voidElements = map[string]bool{"meta": true, "br": true, "hr": true, "img": true, "input": true, "link": true,
	"area": true, "base": true, "col": true, "embed": true, "source": true, "track": true, "wbr": true}

// TestHTML parses the HTML reports and checks that they are well formed
// (every element closed in order) and self-contained: no scripts, no
// external references of any kind.
func TestHTML(t *testing.T) {
	in := goldenInputs(t)
	ctx := context.Background()
	o := Options{From: day1, To: day1.AddDate(0, 0, 1), Now: goldenNow}
	c, err := BuildCompliance(ctx, in, o)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := BuildTraffic(ctx, in, o)
	if err != nil {
		t.Fatal(err)
	}
	for name, rep := range map[string]Report{"compliance": c, "traffic": tr} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, HTML, rep); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "://") {
				t.Error("the HTML holds a URL")
			}
			z := html.NewTokenizer(bytes.NewReader(b.Bytes()))
			var stack []string
			elements := map[string]int{}
		loop:
			for {
				switch z.Next() {
				case html.ErrorToken:
					break loop
				case html.StartTagToken, html.SelfClosingTagToken:
					tok := z.Token()
					elements[tok.Data]++
					switch tok.Data {
					case "script", "link", "img", "iframe", "object", "embed", "base", "use", "image", "a":
						t.Errorf("element <%s> in a self-contained report", tok.Data)
					}
					for _, a := range tok.Attr {
						if k := strings.ToLower(a.Key); k == "href" || k == "src" || k == "xlink:href" || k == "action" || strings.HasPrefix(k, "on") ||
							strings.Contains(strings.ToLower(a.Val), "url(") {
							t.Errorf("<%s %s=%q>: an external reference or script", tok.Data, a.Key, a.Val)
						}
					}
					if tok.Type == html.StartTagToken && !voidElements[tok.Data] {
						stack = append(stack, tok.Data)
					}
				case html.EndTagToken:
					tok := z.Token()
					if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
						t.Fatalf("</%s> closes %v", tok.Data, stack)
					}
					stack = stack[:len(stack)-1]
				}
			}
			if err := z.Err(); err != nil && err.Error() != "EOF" {
				t.Fatal(err)
			}
			if len(stack) != 0 {
				t.Errorf("unclosed elements %v", stack)
			}
			if elements["svg"] == 0 || elements["table"] == 0 || elements["style"] != 1 {
				t.Errorf("elements %v: want inline SVG charts, tables and one style sheet", elements)
			}
			doc, err := html.Parse(bytes.NewReader(b.Bytes()))
			if err != nil || doc.FirstChild == nil || doc.FirstChild.Type != html.DoctypeNode {
				t.Errorf("html.Parse: %v; want a document with a doctype", err)
			}
		})
	}
}

// TestJSONKeys checks the JSON report's top-level keys, which are a
// documented interface.
func TestJSONKeys(t *testing.T) {
	in := goldenInputs(t)
	c, err := BuildCompliance(context.Background(), in, Options{From: day1, To: day1.AddDate(0, 0, 1), Now: goldenNow})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, JSON, c); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"alerts", "coverage", "days", "exceptions", "exposure", "from", "generated_at", "integrity", "rejected",
		"report", "requirements", "retention", "review", "scope", "to"}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {3456, "3,456"}, {1234567, "1,234,567"}, {-1234, "-1,234"}} {
		if got := num(tc.in); got != tc.want {
			t.Errorf("num(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1288490189, "1.2 GiB"}} {
		if got := human.Bytes(tc.in); got != tc.want {
			t.Errorf("human.Bytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkCompliance2M builds the compliance and traffic reports of a
// generated day of 2 million records (REPORT_BENCH_RECORDS changes it;
// REPORT_BENCH_DATA names a data folder to keep the lake in).
func BenchmarkCompliance2M(b *testing.B) {
	records := int64(2_000_000)
	if s := os.Getenv("REPORT_BENCH_RECORDS"); s != "" {
		fmt.Sscan(s, &records)
	}
	// REPORT_BENCH_DATA keeps the generated lake in a folder for the next
	// run (generating and ingesting 2 million records takes a minute).
	dataDir := os.Getenv("REPORT_BENCH_DATA")
	if _, err := os.Stat(filepath.Join(dataDir, lake.CatalogFile)); dataDir == "" || err != nil {
		path := filepath.Join(b.TempDir(), "flows.log.gz")
		if _, err := gen.Generate(context.Background(), gen.Config{Records: records, Seed: 1, Layout: gen.LayoutFlat}, path); err != nil {
			b.Fatal(err)
		}
		if dataDir == "" {
			dataDir = filepath.Join(b.TempDir(), "data")
		}
		if _, err := ingest.Run(context.Background(), dataDir, []string{path}, ingest.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	in := inputs(b, dataDir)
	o := Options{From: day1, To: day1.AddDate(0, 0, 1), Now: goldenNow}
	ctx := context.Background()
	b.Run("compliance", func(b *testing.B) {
		for b.Loop() {
			if _, err := BuildCompliance(ctx, in, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("traffic", func(b *testing.B) {
		for b.Loop() {
			if _, err := BuildTraffic(ctx, in, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzParsePrefixes checks that --cde's parser never panics and that every
// list it accepts renders as SQL.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.0.0/16,10.2.3.4", "fc00::/7", "2600:1f18::/32, 192.168.0.0/24", "", ",", "::/0", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes(s)
		if err != nil {
			return
		}
		if _, err := prefixSQL("srcaddr", ps); err != nil {
			t.Errorf("ParsePrefixes(%q) accepted %v, which prefixSQL refuses: %v", s, ps, err)
		}
	})
}
