package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/detect"
	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/flowlog"
)

// The user's guide queries (DESIGN §5).
const (
	guideTopTalkers = `fields @timestamp, srcaddr, dstaddr, bytes
| filter action = "ACCEPT"
| stats sum(bytes) as total_bytes by srcaddr, dstaddr
| sort total_bytes desc
| limit 20`
	guideRejected = `fields @timestamp, srcaddr, dstaddr, srcport, dstport, action
| filter action = "REJECT"
| stats count() as rejected_count by srcaddr, dstaddr, dstport
| sort rejected_count desc
| limit 50`
	guideScanners = `fields @timestamp, srcaddr, dstaddr, dstport
| filter action = "REJECT"
| stats dc(dstport) as unique_ports, count() as attempts by srcaddr
| where unique_ports > 10 and attempts > 50
| sort attempts desc`
	guideSQLTalkers = `SELECT srcaddr, dstaddr, SUM(bytes) as total_bytes, COUNT(*) as flow_count
FROM vpc_flow_logs WHERE year = '2024' AND month = '03' AND action = 'ACCEPT'
GROUP BY srcaddr, dstaddr ORDER BY total_bytes DESC LIMIT 100;`
	guideSQLMining = `SELECT srcaddr, dstaddr, dstport, COUNT(*) as connections FROM vpc_flow_logs
WHERE dstport IN (4444, 8333, 9999, 14444) AND action = 'ACCEPT'
GROUP BY srcaddr, dstaddr, dstport ORDER BY connections DESC;`
	guideExfiltration = `SELECT srcaddr, dstaddr, SUM(bytes) AS total_bytes FROM vpc_flow_logs GROUP BY srcaddr ORDER BY total_bytes DESC`
)

func queryBody(t testing.TB, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAPI checks every endpoint and error path: the exact status and JSON
// body (testdata/api/NAME.golden) and the security headers of each answer.
func TestAPI(t *testing.T) {
	q := func(query string, more ...any) string {
		m := map[string]any{"query": query}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i].(string)] = more[i+1]
		}
		return queryBody(t, m)
	}
	tests := []struct {
		name string
		req  request
	}{
		{"healthz", request{path: "/healthz"}},
		{"healthz-post", request{method: "POST", path: "/healthz"}},
		{"query-insights-top-talkers", request{path: "/api/v1/query", body: q(guideTopTalkers)}},
		{"query-insights-rejected", request{path: "/api/v1/query", body: q(guideRejected, "lang", "insights")}},
		{"query-insights-scanners", request{path: "/api/v1/query", body: q(guideScanners)}},
		{"query-sql-talkers", request{path: "/api/v1/query", body: q(guideSQLTalkers, "lang", "sql", "limit", 5)}},
		{"query-sql-mining", request{path: "/api/v1/query", body: q(guideSQLMining)}},
		{"query-bin", request{path: "/api/v1/query", body: q(`filter action = "REJECT" | stats count(*) as rejected by bin(6h)`)}},
		{"query-range-rfc3339", request{path: "/api/v1/query", body: q("stats count(*) as n", "from", "2024-03-01T06:00:00Z", "to", "2024-03-01T12:00:00Z")}},
		{"query-range-unix", request{path: "/api/v1/query", body: q("SELECT count(*) AS n FROM flows", "from", 1709272800, "to", "1709294400")}},
		{"query-truncated", request{path: "/api/v1/query", body: q("SELECT srcaddr FROM flows ORDER BY srcaddr, start LIMIT 10", "limit", 3)}},
		{"query-null-and-types", request{path: "/api/v1/query", body: q("SELECT NULL AS nothing, 1.5::DOUBLE AS x, 'nan'::DOUBLE AS nan, TIMESTAMPTZ '2024-03-01 10:00:00+00' AS t, [1, 2] AS list, 170141183460469231731687303715884105727::HUGEINT AS big")}},
		{"error-insights-parse", request{path: "/api/v1/query", body: q("stats count(*) by srcaddr\n| sortt n")}},
		{"error-insights-after-stats", request{path: "/api/v1/query", body: q("fields srcaddr, dstaddr | stats sum(bytes) as b by srcaddr | filter dstaddr = \"x\"")}},
		{"error-insights-unicode-position", request{path: "/api/v1/query", body: q("filter srcaddr = \"名前\" | stats count(*) by srcaddr | sortt n")}},
		{"error-sql-unknown-column", request{path: "/api/v1/query", body: q("SELECT srcaddr, count(*) FROM flows GROUP BY srcadr")}},
		{"error-sql-exfiltration", request{path: "/api/v1/query", body: q(guideExfiltration)}},
		{"error-sql-copy", request{path: "/api/v1/query", body: q("COPY (SELECT 1) TO '/tmp/x.csv'")}},
		{"error-sql-file", request{path: "/api/v1/query", body: q("SELECT * FROM read_csv('/etc/passwd')", "lang", "sql")}},
		{"error-sql-overflow", request{path: "/api/v1/query", body: q("SELECT sum(bytes * 9223372036854775807) FROM flows")}},
		{"error-empty-query", request{path: "/api/v1/query", body: q("  \n")}},
		{"error-bad-lang", request{path: "/api/v1/query", body: q("stats count(*)", "lang", "kql")}},
		{"error-bad-from", request{path: "/api/v1/query", body: q("stats count(*)", "from", "yesterday")}},
		{"error-from-millis", request{path: "/api/v1/query", body: q("stats count(*)", "from", 1709272800000)}},
		{"error-from-after-to", request{path: "/api/v1/query", body: q("stats count(*)", "from", "2024-03-02T00:00:00Z", "to", "2024-03-01T00:00:00Z")}},
		{"error-limit", request{path: "/api/v1/query", body: q("stats count(*)", "limit", 1_000_000)}},
		{"error-bad-json", request{path: "/api/v1/query", body: `{"query": "stats count(*)",}`}},
		{"error-truncated-json", request{path: "/api/v1/query", body: `{"query": "stats`}},
		{"error-unknown-field", request{path: "/api/v1/query", body: `{"query": "stats count(*)", "since": "24h"}`}},
		{"error-wrong-type", request{path: "/api/v1/query", body: `{"query": 42}`}},
		{"error-trailing", request{path: "/api/v1/query", body: `{"query": "stats count(*)"} {"query": "x"}`}},
		{"error-empty-body", request{method: "POST", path: "/api/v1/query", header: map[string]string{"Content-Type": "application/json"}}},
		{"error-content-type", request{path: "/api/v1/query", body: q("stats count(*)"), header: map[string]string{"Content-Type": "text/plain"}}},
		{"error-too-large", request{path: "/api/v1/query", body: q(strings.Repeat("#", DefaultMaxBodyBytes) + "\nstats count(*)")}},
		{"error-query-get", request{path: "/api/v1/query"}},
		{"error-unknown-endpoint", request{path: "/api/v1/nope"}},
		{"error-cross-site", request{path: "/api/v1/status", header: map[string]string{"Sec-Fetch-Site": "cross-site"}}},
		{"error-rebinding-host", request{path: "/api/v1/status", header: map[string]string{"Host": "attacker.example:8080"}}},
		{"status", request{path: "/api/v1/status"}},
		{"status-post", request{method: "POST", path: "/api/v1/status", body: "{}"}},
		{"alerts-open", request{path: "/api/v1/alerts"}},
		{"alerts-high", request{path: "/api/v1/alerts?status=all&severity=high"}},
		{"alerts-category", request{path: "/api/v1/alerts?status=open&category=flow-log-health"}},
		{"alerts-since", request{path: "/api/v1/alerts?status=all&since=2024-03-01T12:00:00Z"}},
		{"alerts-page", request{path: "/api/v1/alerts?status=all&limit=1&offset=1"}},
		{"alerts-bad-severity", request{path: "/api/v1/alerts?severity=urgent"}},
		{"alerts-bad-category", request{path: "/api/v1/alerts?category=ddos"}},
		{"alerts-bad-status", request{path: "/api/v1/alerts?status=closed"}},
		{"alerts-bad-since", request{path: "/api/v1/alerts?since=last-week"}},
		{"alerts-bad-limit", request{path: "/api/v1/alerts?limit=5000"}},
		{"alerts-unknown-param", request{path: "/api/v1/alerts?sev=high"}},
		{"ack-unknown", request{path: "/api/v1/alerts/a-0000000000/ack", body: "{}"}},
		{"ack-get", request{path: "/api/v1/alerts/a-0000000000/ack"}},
		{"ack-no-content-type", request{method: "POST", path: "/api/v1/alerts/a-0000000000/ack"}},
		{"ack-unknown-field", request{path: "/api/v1/alerts/a-0000000000/ack", body: `{"reason": "x"}`}},
		{"complete", request{path: "/api/v1/complete", body: `{"query": "filter action = \"REJECT\" | sta", "cursor": 30}`}},
		{"complete-bad-cursor", request{path: "/api/v1/complete", body: `{"query": "x", "cursor": 9}`}},
		{"rule-unknown", request{path: "/api/v1/rules/nope"}},
		{"console-post", request{method: "POST", path: "/", body: "{}"}},
	}
	s := newTestServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.req)
			checkSecurityHeaders(t, r)
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			checkGolden(t, "api/"+tt.name, golden(t, r))
		})
	}
}

func checkSecurityHeaders(t *testing.T, r response) {
	t.Helper()
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy %q allows another origin", csp)
	}
	if v := r.header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("Access-Control-Allow-Origin %q: the API allows no other origin", v)
	}
}

// TestQueryMatchesEngine checks that the API returns what the engine
// returns for the same SQL, range and cap: the rows of a query over HTTP are
// the engine's, not something the server made up.
func TestQueryMatchesEngine(t *testing.T) {
	s := newTestServer(t, nil)
	_, eng := testLake(t)
	from := time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)
	to := from.Add(12 * time.Hour)
	tests := []struct {
		name  string
		body  map[string]any
		rng   engine.Range
		limit int
		rows  int // rows expected at least
	}{
		{"top-talkers", map[string]any{"query": guideTopTalkers}, engine.Range{}, DefaultRows, 20},
		{"rejected", map[string]any{"query": guideRejected}, engine.Range{}, DefaultRows, 50},
		{"scanners", map[string]any{"query": guideScanners}, engine.Range{}, DefaultRows, 1},
		{"sql-talkers", map[string]any{"query": guideSQLTalkers}, engine.Range{}, DefaultRows, 100},
		{"sql-mining", map[string]any{"query": guideSQLMining}, engine.Range{}, DefaultRows, 1},
		{"ranged", map[string]any{"query": "stats count(*) as n by action", "from": from.Format(time.RFC3339), "to": to.Unix()}, engine.Range{From: from, To: to}, DefaultRows, 2},
		{"capped", map[string]any{"query": "SELECT srcaddr, dstaddr, start FROM flows ORDER BY start, srcaddr, dstaddr", "limit": 7}, engine.Range{}, 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, request{path: "/api/v1/query", body: queryBody(t, tt.body)})
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got QueryResponse
			decode(t, r.body, &got)
			sql := got.SQL
			if sql == "" {
				sql = tt.body["query"].(string)
			}
			res, err := eng.Query(context.Background(), engine.Request{SQL: sql, Range: tt.rng, MaxRows: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) < tt.rows {
				t.Fatalf("the engine returned %d rows, the test wants at least %d: the fixture lacks data", len(res.Rows), tt.rows)
			}
			want := QueryResponse{Columns: res.Names(), Types: make([]string, len(res.Columns)), Rows: res.Rows, Lang: got.Lang, SQL: got.SQL,
				Stats: QueryStats{Rows: len(res.Rows), Seconds: got.Stats.Seconds, Truncated: res.Truncated}}
			for i, c := range res.Columns {
				want.Types[i] = c.Type
			}
			for i, row := range want.Rows {
				for j, v := range row {
					want.Rows[i][j] = jsonValue(v)
				}
			}
			wb, _ := json.Marshal(want)
			var wantBack QueryResponse
			decode(t, wb, &wantBack)
			if diff := cmp.Diff(wantBack, got); diff != "" {
				t.Errorf("HTTP answer differs from the engine's (-engine +http):\n%s", diff)
			}
		})
	}
}

// TestCompiledSQLError checks that an engine error about the SQL compiled
// from an Insights query points into that SQL, not into the Insights text.
func TestCompiledSQLError(t *testing.T) {
	s := newTestServer(t, func(o *Options) {
		o.Insights = func(string, string) (string, error) { return "SELECT srcadr FROM flows", nil }
	})
	r := s.do(t, request{path: "/api/v1/query", body: `{"query": "fields srcaddr", "lang": "insights"}`})
	var got struct{ Error Error }
	decode(t, r.body, &got)
	if r.status != http.StatusBadRequest || got.Error.Position != nil || got.Error.SQL != "SELECT srcadr FROM flows" ||
		got.Error.SQLPosition == nil || got.Error.SQLPosition.Start != 7 || got.Error.SQLPosition.End != 13 ||
		!strings.HasSuffix(got.Error.Message, "(in the SQL compiled from the Insights query)") {
		t.Errorf("status %d, error %+v (position %v, sql position %v)", r.status, got.Error, got.Error.Position, got.Error.SQLPosition)
	}
}

// slowSQL takes DuckDB about ten seconds over the test lake: a cross join
// of its 20 000 records with themselves.
const slowSQL = "SELECT sum(a.bytes * b.packets) AS s FROM vpc_flow_logs a, vpc_flow_logs b"

// TestQueryTimeout checks that a query past the server's time limit is
// stopped and answered 504.
func TestQueryTimeout(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.QueryTimeout = 300 * time.Millisecond })
	began := time.Now()
	r := s.do(t, request{path: "/api/v1/query", body: queryBody(t, map[string]any{"query": slowSQL})})
	took := time.Since(began)
	checkGolden(t, "api/error-timeout", golden(t, r))
	if took > 5*time.Second {
		t.Errorf("the query took %s to stop after a 300ms limit", took)
	}
	if c := s.counts(); c.TimedOut != 1 || c.Running != 0 {
		t.Errorf("counters %+v, want one timed out and none running", c)
	}
}

// TestQueryBusy checks that a query that finds every slot taken for the
// whole query timeout is answered 503 busy.
func TestQueryBusy(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.MaxQueries = 1; o.QueryTimeout = 200 * time.Millisecond })
	s.sem <- struct{}{} // the one slot is taken
	r := s.do(t, request{path: "/api/v1/query", body: `{"query": "stats count(*)"}`})
	<-s.sem
	checkGolden(t, "api/error-busy", golden(t, r))
	if r = s.do(t, request{path: "/api/v1/query", body: `{"query": "stats count(*)"}`}); r.status != http.StatusOK {
		t.Errorf("with the slot free: %d %s", r.status, r.body)
	}
}

// TestClientCancel checks that a client going away cancels its DuckDB
// query: the engine returns within seconds, not after the ten the query
// needs, and the server counts it as cancelled.
func TestClientCancel(t *testing.T) {
	s := newTestServer(t, nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/v1/query", strings.NewReader(queryBody(t, map[string]any{"query": slowSQL})))
	req.Header.Set("Content-Type", "application/json")
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("the query answered " + resp.Status + " before it was cancelled")
		}
		errc <- err
	}()
	waitUntil(t, 10*time.Second, "the query to start", func() bool { return s.counts().Running == 1 })
	cancel()
	cancelled := time.Now()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	waitUntil(t, 5*time.Second, "the engine to stop the query", func() bool { c := s.counts(); return c.Running == 0 && c.Cancelled == 1 })
	t.Logf("query stopped %s after the client went away", time.Since(cancelled).Round(time.Millisecond))
	if c := s.counts(); c.Served != 0 || c.Failed != 0 {
		t.Errorf("counters %+v", c)
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuth checks the bearer token: required on every /api path, compared
// exactly, and not needed for /healthz and the console.
func TestAuth(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.Token = "s3cret-token" })
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"no-header", request{path: "/api/v1/status"}, http.StatusUnauthorized},
		{"wrong-token", request{path: "/api/v1/status", header: map[string]string{"Authorization": "Bearer s3cret-tokeN"}}, http.StatusUnauthorized},
		{"prefix-of-token", request{path: "/api/v1/status", header: map[string]string{"Authorization": "Bearer s3cret"}}, http.StatusUnauthorized},
		{"basic-scheme", request{path: "/api/v1/status", header: map[string]string{"Authorization": "Basic s3cret-token"}}, http.StatusUnauthorized},
		{"right-token", request{path: "/api/v1/status", header: map[string]string{"Authorization": "Bearer s3cret-token"}}, http.StatusOK},
		{"scheme-case", request{path: "/api/v1/status", header: map[string]string{"Authorization": "bearer s3cret-token"}}, http.StatusOK},
		{"query-without", request{path: "/api/v1/query", body: `{"query": "stats count(*)"}`}, http.StatusUnauthorized},
		{"unknown-endpoint-without", request{path: "/api/v1/nope"}, http.StatusUnauthorized},
		{"any-host-with-token", request{path: "/api/v1/fields", header: map[string]string{"Host": "flowlens.example.com", "Authorization": "Bearer s3cret-token"}}, http.StatusOK},
		{"healthz-open", request{path: "/healthz"}, http.StatusOK},
		{"console-open", request{path: "/"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == http.StatusUnauthorized {
				checkGolden(t, "api/unauthorized", golden(t, r))
			}
		})
	}
	r := s.do(t, request{path: "/healthz"})
	if want := `{"auth":true,"status":"ok","version":"test"}` + "\n"; string(r.body) != want {
		t.Errorf("healthz %s, want %s", r.body, want)
	}
}

// TestAlertAck acknowledges alerts through the API, as flowlens alerts ack
// does, and checks the store.
func TestAlertAck(t *testing.T) {
	s := newTestServer(t, nil)
	list := func(status string) AlertsResponse {
		r := s.do(t, request{path: "/api/v1/alerts?status=" + status})
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var out AlertsResponse
		decode(t, r.body, &out)
		return out
	}
	open := list("open")
	if open.Total != 3 {
		t.Fatalf("%d open alerts, want 3", open.Total)
	}
	first := open.Alerts[0]
	r := s.do(t, request{path: "/api/v1/alerts/" + first.ID + "/ack", body: `{"note": "pentest SEC-42", "by": "alice"}`})
	checkGolden(t, "api/ack", golden(t, r))
	// A unique prefix works as on the command line, and the body is optional.
	second := open.Alerts[1]
	r = s.do(t, request{method: "POST", path: "/api/v1/alerts/" + second.ID[:8] + "/ack", header: map[string]string{"Content-Type": "application/json"}})
	if r.status != http.StatusOK {
		t.Fatalf("ack by prefix: %d %s", r.status, r.body)
	}
	got, err := s.o.Alerts.Get(second.ID)
	if err != nil || got.Status != "acked" || got.AckedBy != "console" || !got.AckedAt.Equal(fixedNow) {
		t.Errorf("after ack by prefix the store holds %+v, %v", got, err)
	}
	if after := list("open"); after.Total != 1 || after.Counts["acked"] != 2 || after.Counts["open"] != 1 {
		t.Errorf("after two acks: total %d, counts %v", after.Total, after.Counts)
	}
	// Unack returns it to open; unacking an open alert is a conflict.
	if r = s.do(t, request{path: "/api/v1/alerts/" + second.ID + "/unack", body: "{}"}); r.status != http.StatusOK {
		t.Errorf("unack: %d %s", r.status, r.body)
	}
	r = s.do(t, request{path: "/api/v1/alerts/" + second.ID + "/unack", body: "{}"})
	checkGolden(t, "api/unack-open", golden(t, r))
	if r = s.do(t, request{path: "/api/v1/alerts/a-/ack", body: "{}"}); r.status != http.StatusNotFound {
		t.Errorf("a short prefix: %d %s", r.status, r.body)
	}
	// Without a store the alert endpoints say so.
	none := newTestServer(t, func(o *Options) { o.Alerts = nil })
	checkGolden(t, "api/alerts-no-store", golden(t, none.do(t, request{path: "/api/v1/alerts"})))
}

// TestRulesAndFields checks the lists against the packages that own them.
func TestRulesAndFields(t *testing.T) {
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, func(o *Options) { o.Rules = rules })
	var rl struct{ Rules []RuleInfo }
	decode(t, s.do(t, request{path: "/api/v1/rules"}).body, &rl)
	if len(rl.Rules) != len(rules) {
		t.Fatalf("%d rules, want %d", len(rl.Rules), len(rules))
	}
	for i, r := range rules {
		got := rl.Rules[i]
		if got.ID != r.ID || got.Category != r.Category || got.Severity != r.Severity.String() || got.Query != r.Query || got.Source != "builtin" || len(got.Thresholds) != len(r.Thresholds) {
			t.Errorf("rule %d: %+v, want %s", i, got, r.ID)
		}
	}
	var one struct {
		Rule RuleInfo
		Text string
	}
	decode(t, s.do(t, request{path: "/api/v1/rules/" + rules[0].ID}).body, &one)
	if one.Rule.ID != rules[0].ID || one.Text != string(rules[0].Text) {
		t.Errorf("rule %s: %+v", rules[0].ID, one.Rule)
	}
	var fl struct {
		Fields  []FieldInfo
		Columns []ColumnInfo
	}
	decode(t, s.do(t, request{path: "/api/v1/fields"}).body, &fl)
	if len(fl.Fields) != len(flowlog.Fields()) || len(fl.Columns) != len(engine.ViewColumns()) {
		t.Fatalf("%d fields and %d columns, want %d and %d", len(fl.Fields), len(fl.Columns), len(flowlog.Fields()), len(engine.ViewColumns()))
	}
	for i, f := range flowlog.Fields() {
		if want := (FieldInfo{f.Name, f.Column, f.Insights, f.Version, f.Type.SQL(), f.Description}); fl.Fields[i] != want {
			t.Errorf("field %d: %+v, want %+v", i, fl.Fields[i], want)
		}
	}
	var fn struct {
		Commands  []string
		Functions []FunctionInfo
	}
	decode(t, s.do(t, request{path: "/api/v1/functions"}).body, &fn)
	if len(fn.Functions) < 30 || len(fn.Commands) != 9 {
		t.Errorf("%d functions and %d commands", len(fn.Functions), len(fn.Commands))
	}
	for _, f := range fn.Functions {
		if f.Name == "bin" && f.Signature != "bin(period)" {
			t.Errorf("bin signature %q", f.Signature)
		}
	}
}

// TestConsoleFiles checks the embedded console: served with the right
// types, and free of external URLs.
func TestConsoleFiles(t *testing.T) {
	s := newTestServer(t, nil)
	for _, tt := range []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/index.html", "text/html; charset=utf-8", 200},
		{"/app.js", "text/javascript; charset=utf-8", 200},
		{"/style.css", "text/css; charset=utf-8", 200},
		{"/favicon.svg", "image/svg+xml", 200},
		{"/nope.js", "text/plain; charset=utf-8", 404},
		{"/server.go", "text/plain; charset=utf-8", 404},
		{"/web/app.js", "text/plain; charset=utf-8", 404},
	} {
		r := s.do(t, request{path: tt.path})
		if r.status != tt.status || r.header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s: %d %q, want %d %q", tt.path, r.status, r.header.Get("Content-Type"), tt.status, tt.ctype)
		}
		checkSecurityHeaders(t, r)
	}
	for _, name := range []string{"index.html", "app.js", "style.css", "favicon.svg"} {
		r := s.do(t, request{path: "/" + name})
		body := string(r.body)
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "eval("} {
			if name == "app.js" && bad == "http://" && strings.Count(body, "http://") == strings.Count(body, "http://www.w3.org/2000/svg") {
				continue // the SVG namespace is a name, not a URL fetched
			}
			if name == "favicon.svg" && bad == "http://" {
				continue
			}
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

// TestCheckListen checks which addresses need a token.
func TestCheckListen(t *testing.T) {
	for _, tt := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"127.0.0.2:0", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"[::]:8080", "", false},
		{"192.168.1.10:8080", "", false},
		{"flowlens.example.com:8080", "", false},
		{"0.0.0.0:8080", "t", true},
		{"127.0.0.1", "", false},
	} {
		err := CheckListen(tt.addr, tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("CheckListen(%q, %q) = %v, want ok %v", tt.addr, tt.token, err, tt.ok)
		}
	}
}

// TestServeShutdown serves on a loopback port and stops on cancel, letting
// a request in flight finish.
func TestServeShutdown(t *testing.T) {
	s := newTestServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 5*time.Second) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, resp.Body); resp.StatusCode != 200 || !strings.Contains(string(b), `"status":"ok"`) {
		t.Fatalf("healthz %d %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// TestServeShutdownCancelsQueries checks that shutdown waits for a query in
// flight only for the grace period, then cancels it in DuckDB.
func TestServeShutdownCancelsQueries(t *testing.T) {
	s := newTestServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 300*time.Millisecond) }()
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/api/v1/query", "application/json", strings.NewReader(queryBody(t, map[string]any{"query": slowSQL})))
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitUntil(t, 10*time.Second, "the query to start", func() bool { return s.counts().Running == 1 })
	cancel()
	stopped := time.Now()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	waitUntil(t, 5*time.Second, "the query to be cancelled", func() bool { c := s.counts(); return c.Running == 0 && c.Cancelled == 1 })
	if d := time.Since(stopped); d > 5*time.Second {
		t.Errorf("shutdown took %s with a 300ms grace", d)
	}
}

// TestDetectLang checks the language guess.
func TestDetectLang(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT 1": "sql", "  with x as (select 1) select * from x": "sql", "-- c\nselect 1": "sql", "(select 1)": "sql",
		"fields srcaddr": "insights", "# c\nfilter x = 1": "insights", "stats count(*)": "insights", "": "insights", "from flows": "sql",
	} {
		if got := DetectLang(q); got != want {
			t.Errorf("DetectLang(%q) = %s, want %s", q, got, want)
		}
	}
}
