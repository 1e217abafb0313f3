package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/querytest"
	"github.com/flowlens/flowlens/server"
)

const queryLines = `2 123456789012 eni-01 10.0.1.5 10.0.0.220 49152 443 6 10 840 1709251200 1709251260 ACCEPT OK
2 123456789012 eni-01 203.0.113.7 10.0.1.5 51000 22 6 1 40 1709337600 1709337660 REJECT OK
2 123456789012 eni-01 203.0.113.7 10.0.1.6 51001 22 6 1 40 1709337700 1709337760 REJECT OK
2 123456789012 eni-01 - - - - - - - 1709424000 1709424060 - NODATA
`

func queryData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := querytest.WriteLake(context.Background(), engine.LakeDir(dir), strings.NewReader(queryLines), nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestQueryCommand(t *testing.T) {
	data := queryData(t)
	file := writeFile(t, "q.insights", []byte("filter action = \"REJECT\"\n| stats count(*) as n by srcaddr\n"))
	// Editors on Windows start files with a byte order mark.
	bomSQL := writeFile(t, "q.sql", []byte("\ufeffSELECT count(*) AS n FROM flows\r\n"))
	bomInsights := writeFile(t, "q.insights", []byte("\ufefffilter action = \"REJECT\" | stats count(*) as n"))
	missing := filepath.Join(t.TempDir(), "nosuch")
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string // a substring
	}{
		{name: "json", args: []string{"-o", "json", "SELECT action, count(*) AS n FROM flows GROUP BY action ORDER BY n DESC, action"},
			stdout: `{"columns":["action","n"],"rows":[["REJECT",2],["ACCEPT",1],[null,1]],"stats":{"rows":3,"seconds":S}}`},
		{name: "ndjson", args: []string{"-o", "ndjson", "SELECT srcaddr, dstport FROM vpc_flow_logs WHERE action = 'REJECT' ORDER BY dstaddr"},
			stdout: "{\"srcaddr\":\"203.0.113.7\",\"dstport\":22}\n{\"srcaddr\":\"203.0.113.7\",\"dstport\":22}"},
		{name: "csv insights", args: []string{"-o", "csv", `filter action = "REJECT" | stats count(*) as n by srcAddr`},
			stdout: "srcAddr,n\n203.0.113.7,2"},
		{name: "file", args: []string{"-o", "csv", "@" + file}, stdout: "srcaddr,n\n203.0.113.7,2"},
		{name: "stdin", stdin: "SELECT count(*) AS n FROM flows", args: []string{"-o", "csv", "-"}, stdout: "n\n4"},
		{name: "since nothing", args: []string{"-o", "csv", "--since", "24h", "SELECT count(*) AS n FROM flows"}, stdout: "n\n0"},
		{name: "from to", args: []string{"-o", "csv", "--from", "2024-03-02T00:00:00Z", "--to", "1709424000", "SELECT count(*) AS n FROM flows"}, stdout: "n\n2"},
		{name: "limit", args: []string{"-o", "csv", "--limit", "1", "SELECT start FROM flows ORDER BY start"},
			stdout: "start\n1709251200", stderr: "showing the first 1 rows"},
		{name: "print sql", args: []string{"--print-sql", "SELECT 1"}, stdout: "SELECT 1"},
		{name: "explain", args: []string{"--explain", "--from", "2024-03-02T00:00:00Z", "--to", "2024-03-03T00:00:00Z", "SELECT srcaddr FROM flows"},
			stdout: "Total Files Read: 1"},
		{name: "group by", args: []string{"SELECT srcaddr, dstaddr, SUM(bytes) FROM flows GROUP BY srcaddr"}, code: 2,
			stderr: "flowlens: query:1:17: column dstaddr must appear in GROUP BY or be aggregated\nSELECT srcaddr, dstaddr, SUM(bytes) FROM flows GROUP BY srcaddr\n                ^~~~~~~\nhint: add dstaddr to the GROUP BY list"},
		{name: "refused", args: []string{"SELECT 1; DROP VIEW flows"}, code: 2, stderr: "only one statement may run: DROP follows the first"},
		{name: "file access", args: []string{"SELECT * FROM read_csv('/etc/passwd')"}, code: 2, stderr: "queries may read only the lake's files"},
		{name: "insights error", args: []string{"filter bytes >"}, code: 2, stderr: "query:1:15: expected an expression"},
		{name: "insights error after wide characters", args: []string{`filter srcaddr = "東京🚀" and nosuch = 1`}, code: 2,
			stderr: "flowlens: query:1:28: unknown field \"nosuch\"\nfilter srcaddr = \"東京🚀\" and nosuch = 1\n" + strings.Repeat(" ", 30) + "^~~~~~\n"},
		{name: "bad lang", args: []string{"--lang", "kql", "x"}, code: 2, stderr: "--lang"},
		{name: "since and from", args: []string{"--since", "1h", "--from", "1", "SELECT 1"}, code: 2, stderr: "do not go together"},
		{name: "bad time", args: []string{"--from", "yesterday", "SELECT 1"}, code: 2, stderr: "neither RFC 3339"},
		{name: "empty", args: []string{"  "}, code: 2, stderr: "the query is empty"},
		{name: "missing file", args: []string{"@/nonexistent/q.sql"}, code: 1, stderr: "read the query"},
		{name: "bom sql", args: []string{"-o", "csv", "@" + bomSQL}, stdout: "n\n4"},
		{name: "bom insights", args: []string{"-o", "csv", "@" + bomInsights}, stdout: "n\n2"},
		{name: "at without file", args: []string{"@"}, code: 2, stderr: "@ needs a file name: @FILE"},
		{name: "unknown engine", args: []string{"--engine", "nosuch", "SELECT 1"}, code: 2, stderr: `unknown dialect`},
		{name: "conversion", args: []string{"SELECT srcaddr FROM flows\nWHERE dstport = 'ssh'"}, code: 2,
			stderr: "flowlens: query:2:17: Conversion Error: Could not convert string 'ssh' to INT32\nWHERE dstport = 'ssh'\n                ^~~~~\nhint: TRY_CAST"},
		{name: "details after the caret", args: []string{"SELECT srcaddr,\n  dstadr\nFROM flows"}, code: 2,
			stderr: "flowlens: query:2:3: Binder Error: Referenced column \"dstadr\" not found in FROM clause!\n  dstadr\n  ^~~~~~\nCandidate bindings: \"dstaddr\""},
		{name: "insights run-time error", args: []string{"fields bytes * 9223372036854775807 as x"}, code: 2,
			stderr: "flowlens: query: Out of Range Error: Overflow in multiplication of INT64 (840 * 9223372036854775807)!\nhint: a whole number went past the 64-bit range (±9.2e18) of the engine's integer arithmetic: start the arithmetic with a fraction, such as bytes * 1.0 * 1000000000000, to compute in floating point as CloudWatch does\n"},
		{name: "data folder is a file", args: []string{"--data", file, "SELECT 1"}, code: 2, stderr: "flowlens: the data folder " + file + " is a file, not a folder\n"},
		{name: "missing data folder", args: []string{"--data", missing, "-o", "csv", "SELECT count(*) AS n FROM flows"}, stdout: "n\n0",
			stderr: "note: the data folder " + missing + " does not exist; check --data, or add data with flowlens ingest"},
		{name: "sql typographic dash", args: []string{"SELECT count(*) FROM flows WHERE bytes – 1 > 0"}, code: 2,
			stderr: "flowlens: query:1:40: syntax error: at or near \"–\"\nSELECT count(*) FROM flows WHERE bytes – 1 > 0\n" + strings.Repeat(" ", 39) + "^\nhint: – is a typographic dash, as copied from a web page: write - to subtract"},
		{name: "sql trailing pipe", args: []string{"SELECT count(*) FROM flows WHERE action = 'REJECT' |"}, code: 2,
			stderr: "flowlens: query:1:52: Catalog Error: Scalar Function with name |__postfix does not exist!\nSELECT count(*) FROM flows WHERE action = 'REJECT' |\n" + strings.Repeat(" ", 51) + "^\nhint: SQL has no | between steps, as Insights has: remove the | at the end\n"},
		{name: "sql pipe to a clause", args: []string{"SELECT * FROM flows | limit 5"}, code: 2,
			stderr: "hint: SQL has no | between steps, as Insights has: write the step as a clause (WHERE, GROUP BY, ORDER BY, LIMIT)\n"},
		{name: "sql pipe to an insights command", args: []string{"SELECT srcaddr FROM flows WHERE dstport = 22 | stats count(*)"}, code: 2,
			stderr: "^~~~~\nhint: SQL has no | between steps, as Insights has: write the step as a clause (WHERE, GROUP BY, ORDER BY, LIMIT)\n"},
		{name: "timeout", args: []string{"--timeout", "200ms", "SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3"}, code: 1,
			stderr: "flowlens: query stopped after its time limit of 200ms\nhint: narrow the time range or raise --timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.stdin, append([]string{"--data", data, "query"}, tt.args...)...)
			if tt.name == "missing data folder" {
				if _, err := os.Stat(missing); !os.IsNotExist(err) {
					t.Errorf("the query created %s (%v)", missing, err)
				}
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			out = strings.TrimSpace(out)
			if strings.Contains(tt.stdout, "seconds\":S") {
				var v struct {
					Stats struct{ Seconds float64 } `json:"stats"`
				}
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatal(err)
				}
				out = strings.Replace(out, strings.TrimSuffix(strings.SplitAfter(out, `"seconds":`)[1], "}}"), "S", 1)
			}
			if tt.name == "explain" {
				if !strings.Contains(out, tt.stdout) {
					t.Errorf("plan does not say %q:\n%s", tt.stdout, out)
				}
				return
			}
			if d := cmp.Diff(tt.stdout, out); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if !strings.Contains(errs, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", errs, tt.stderr)
			}
		})
	}
}

func TestDetectLang(t *testing.T) {
	tests := map[string]string{
		"SELECT 1":                               "sql",
		"  with a as (select 1) select * from a": "sql",
		"FROM flows":                             "sql",
		"-- top talkers\nSELECT 1":               "sql",
		"/* c */ select 1":                       "sql",
		"(SELECT 1)":                             "sql",
		"COPY x TO 'y'":                          "sql",
		"pragma version":                         "sql",
		"fields srcaddr":                         "insights",
		"filter action = \"REJECT\"":             "insights",
		"stats count(*) by bin(1h)":              "insights",
		"# note\nstats count(*)":                 "insights",
		"where bytes > 10":                       "insights",
		"display srcaddr":                        "insights",
	}
	for q, want := range tests {
		if got := server.DetectLang(q); got != want {
			t.Errorf("server.DetectLang(%q) = %s, want %s", q, got, want)
		}
	}
}

func TestTimeRange(t *testing.T) {
	now := time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		f    queryFlags
		want engine.Range
		err  string
	}{
		{f: queryFlags{}, want: engine.Range{}},
		{f: queryFlags{since: "24h"}, want: engine.Range{From: now.Add(-24 * time.Hour)}},
		{f: queryFlags{since: "7d"}, want: engine.Range{From: now.AddDate(0, 0, -7)}},
		{f: queryFlags{from: "2024-03-01T00:00:00Z", to: "1709337600"},
			want: engine.Range{From: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}},
		{f: queryFlags{from: "2024-03-01", to: "2024-03-02 06:30:00"},
			want: engine.Range{From: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 2, 6, 30, 0, 0, time.UTC)}},
		{f: queryFlags{from: "2024-03-01T10:15"}, want: engine.Range{From: time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC)}},
		{f: queryFlags{from: "2024-03-01T10:00:00+02:00"}, want: engine.Range{From: time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)}},
		{f: queryFlags{from: "2024-02-30"}, err: "neither RFC 3339"},
		{f: queryFlags{since: "2w"}, want: engine.Range{From: now.AddDate(0, 0, -14)}},
		{f: queryFlags{since: "1.5d"}, want: engine.Range{From: now.Add(-36 * time.Hour)}},
		{f: queryFlags{since: "-1h"}, err: "not a duration"},
		{f: queryFlags{since: "200000d"}, err: "too long"},
		{f: queryFlags{since: "1e300w"}, err: "too long"},
		{f: queryFlags{since: "NaNd"}, err: "not a duration"},
		{f: queryFlags{from: "1709251200000"}, err: "beyond the year 9999: milliseconds? 1709251200 is in seconds"},
		{f: queryFlags{to: "99999999999999999999"}, err: "neither RFC 3339"},
		{f: queryFlags{since: "0d"}, err: "not a duration"},
		{f: queryFlags{from: "1709337600", to: "1709337600"}, err: "is not before"},
	}
	for _, tt := range tests {
		got, err := timeRange(&tt.f, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: error %v, want %q", tt.f, err, tt.err)
			}
			continue
		}
		if err != nil || !got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) {
			t.Errorf("%+v: got %v %v, want %v", tt.f, got, err, tt.want)
		}
	}
}

func TestCaret(t *testing.T) {
	q := "SELECT a,\n\tbad_col FROM t"
	off := strings.Index(q, "bad_col")
	if got, want := caret(q, off, off+len("bad_col")), "\tbad_col FROM t\n\t^~~~~~~"; got != want {
		t.Errorf("caret:\n%s\nwant:\n%s", got, want)
	}
	if l, c := lineCol(q, off); l != 2 || c != 2 {
		t.Errorf("lineCol = %d:%d, want 2:2", l, c)
	}
	// Wide characters take two columns on a terminal, combining marks none.
	q = "SELECT '東京 🚀 e\u0301', nosuch"
	off = strings.Index(q, "nosuch")
	if got, want := caret(q, off, off+len("nosuch")), q+"\n"+strings.Repeat(" ", 20)+"^~~~~~"; got != want {
		t.Errorf("caret:\n%s\nwant:\n%s", got, want)
	}
	q = "SELECT x + '東京'"
	off = strings.Index(q, "'")
	if got, want := caret(q, off, len(q)), q+"\n           ^~~~~~"; got != want {
		t.Errorf("caret:\n%s\nwant:\n%s", got, want)
	}
	// A line longer than a terminal (a filter of 300 addresses) is cut to
	// a window around the position, with … where it is cut.
	q = "filter " + strings.Repeat(`srcaddr = "10.0.0.1" or `, 300) + "nosuch = 1 | stats count(*) as n"
	off = strings.Index(q, "nosuch")
	want := "…" + q[off-40:] + "\n" + strings.Repeat(" ", 41) + "^~~~~~"
	if got := caret(q, off, off+len("nosuch")); got != want {
		t.Errorf("caret:\n%s\nwant:\n%s", got, want)
	}
	q = "filter " + strings.Repeat(`srcaddr = "10.0.0.1" or `, 300)
	off = strings.Index(q, "or ")
	want = q[:99] + "…\n" + strings.Repeat(" ", off) + "^~"
	if got := caret(q, off, off+2); got != want {
		t.Errorf("caret:\n%s\nwant:\n%s", got, want)
	}
	// Near the start the line is cut at its end only; an underline ends
	// with the window.
	q = "fitler " + strings.Repeat("x", 200)
	want = q[:99] + "…\n^" + strings.Repeat("~", 98)
	if got := caret(q, 0, len(q)); got != want {
		t.Errorf("caret:\n%s\nwant:\n%s", got, want)
	}
}
