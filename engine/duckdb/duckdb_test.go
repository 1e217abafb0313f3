package duckdb_test

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/querytest"
)

// Five days of March 2024, one record a day at 00:00 UTC.
const fiveDays = `2 123456789012 eni-0a1b2c3d 10.0.1.5 10.0.0.220 49152 443 6 10 840 1709251200 1709251260 ACCEPT OK
2 123456789012 eni-0a1b2c3d 10.0.1.6 10.0.0.220 49153 443 6 10 840 1709337600 1709337660 ACCEPT OK
2 123456789012 eni-0a1b2c3d 10.0.1.7 10.0.0.220 49154 22 6 1 40 1709424000 1709424060 REJECT OK
2 123456789012 eni-0a1b2c3d 10.0.1.8 10.0.0.220 49155 22 6 1 40 1709510400 1709510460 REJECT OK
2 123456789012 eni-0a1b2c3d 10.0.1.9 10.0.0.220 49156 80 6 3 180 1709596800 1709596860 ACCEPT OK
`

func newLake(t *testing.T, lines string) (*duckdb.Engine, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	lake := engine.LakeDir(dir)
	if _, err := querytest.WriteLake(ctx, lake, strings.NewReader(lines), nil); err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, lake, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, dir
}

func query(t *testing.T, e engine.Engine, sql string) [][]string {
	t.Helper()
	res, err := e.Query(context.Background(), engine.Request{SQL: sql})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return querytest.Cells(res)
}

// TestRefused tries to get out of the read-only, lake-only sandbox. Every
// attempt must fail with a clear message, and nothing may have happened.
func TestRefused(t *testing.T) {
	e, dir := newLake(t, fiveDays)
	outside := filepath.Join(dir, "outside")
	if _, err := querytest.WriteLake(context.Background(), outside, strings.NewReader(fiveDays), nil); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "out.csv")
	dbFile := filepath.Join(dir, "x.duckdb")
	lakeFile := filepath.Join(e.Lake(), "stolen.csv")
	tests := []struct {
		sql  string
		kind engine.Kind
		msg  string
	}{
		{"SELECT * FROM read_csv('/etc/passwd')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT * FROM read_text('/etc/passwd')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT * FROM '/etc/passwd'", engine.Invalid, "Table with name /etc/passwd does not exist"},
		{"SELECT * FROM sniff_csv('/etc/passwd')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT * FROM read_csv('https://127.0.0.1:9/x.csv')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT * FROM 's3://bucket/x.parquet'", engine.Refused, "queries may read only the lake's files"},
		{"SELECT st_point(1, 2)", engine.Invalid, "exists in the spatial extension.: flowlens never installs or loads extensions"},
		{"SELECT * FROM glob('/etc/*')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT * FROM query('COPY (SELECT 1) TO ''" + outFile + "''')", engine.Invalid, "Expected a single SELECT statement"},
		{"SELECT * FROM query('CREATE OR REPLACE TEMP VIEW flows AS SELECT 1 AS x')", engine.Invalid, "Expected a single SELECT statement"},
		{"SELECT count(*) FROM read_parquet('" + outside + "/*/*/*/*.parquet')", engine.Refused, "queries may read only the lake's files"},
		{"SELECT count(*) FROM read_parquet('" + e.Lake() + "/../../outside/*/*/*/*.parquet')", engine.Refused, "queries may read only the lake's files"},
		{"COPY (SELECT 1) TO '" + outFile + "'", engine.Refused, "only a SELECT statement may run, not COPY"},
		{"COPY vpc_flow_logs TO '" + lakeFile + "'", engine.Refused, "only a SELECT statement may run, not COPY"},
		{"/* hidden */ COPY (SELECT 1) TO '" + outFile + "'", engine.Refused, "not COPY"},
		{"EXPORT DATABASE '" + filepath.Join(dir, "export") + "'", engine.Refused, "not EXPORT"},
		{"ATTACH '" + dbFile + "' AS x", engine.Refused, "not ATTACH"},
		{"DETACH memory", engine.Refused, "not DETACH"},
		{"INSTALL httpfs", engine.Refused, "not INSTALL"},
		{"LOAD httpfs", engine.Refused, "not LOAD"},
		{"SET threads = 1", engine.Refused, "not SET"},
		{"SET enable_external_access = true", engine.Refused, "not SET"},
		{"RESET lock_configuration", engine.Refused, "not RESET"},
		{"PRAGMA threads = 1", engine.Refused, "not PRAGMA"},
		{"PRAGMA show_tables", engine.Refused, "not PRAGMA"},
		{"CALL pragma_version()", engine.Refused, "not CALL"},
		{"CREATE TABLE t AS SELECT 1 AS x", engine.Refused, "not CREATE"},
		{"CREATE OR REPLACE VIEW vpc_flow_logs AS SELECT 1 AS x", engine.Refused, "not CREATE"},
		{"DROP VIEW vpc_flow_logs", engine.Refused, "not DROP"},
		{"INSERT INTO t VALUES (1)", engine.Refused, "not INSERT"},
		{"EXPLAIN SELECT 1", engine.Refused, "not EXPLAIN"},
		{"BEGIN TRANSACTION", engine.Refused, "not BEGIN"},
		{"CHECKPOINT", engine.Refused, "not CHECKPOINT"},
		{"USE memory", engine.Refused, "not USE"},
		{"SELECT 1; DROP VIEW vpc_flow_logs", engine.Refused, "only one statement may run: DROP follows the first"},
		{"SELECT 1; SELECT 2", engine.Refused, "only one statement may run, the query has 2"},
		{"SELECT 1; SET lock_configuration = false", engine.Refused, "only one statement may run"},
		{"SELECT 1; COPY (SELECT 1) TO '" + outFile + "'", engine.Refused, "only one statement may run"},
		{"SELECT 1; ATTACH '" + dbFile + "' AS y", engine.Refused, "only one statement may run"},
		{"SELECT * FROM t", engine.Invalid, "Table with name t does not exist"},
		{"   ", engine.Invalid, "empty query"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := e.Query(context.Background(), engine.Request{SQL: tt.sql})
			qe := engine.AsError(err)
			if qe == nil {
				t.Fatalf("got %v, want an *engine.Error", err)
			}
			if qe.Kind != tt.kind || !strings.Contains(qe.Error(), tt.msg) {
				t.Errorf("got %v error %q, want %v containing %q", qe.Kind, qe.Error(), tt.kind, tt.msg)
			}
		})
	}
	// Nothing happened: no file written, the views and settings unchanged.
	for _, f := range []string{outFile, dbFile, lakeFile, filepath.Join(dir, "export")} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s exists after the refused statements", f)
		}
	}
	got := query(t, e, "SELECT (SELECT count(*) FROM vpc_flow_logs) AS v, (SELECT count(*) FROM flows) AS f, "+
		"current_setting('enable_external_access') AS ext, current_setting('lock_configuration') AS locked, "+
		"current_setting('autoinstall_known_extensions') AS inst, current_setting('autoload_known_extensions') AS load")
	want := [][]string{{"5", "5", "false", "true", "false", "false"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("state after refused statements (-want +got):\n%s", d)
	}
}

// TestErrors checks the messages and positions of query errors.
func TestErrors(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	exfiltration := "SELECT srcaddr, dstaddr, SUM(bytes) AS total_bytes\nFROM vpc_flow_logs\nWHERE action = 'ACCEPT'\nGROUP BY srcaddr\nORDER BY total_bytes DESC"
	tests := []struct {
		sql  string
		kind engine.Kind
		msg  string
		at   string // the text the position points at, "" for none
	}{
		{exfiltration, engine.Invalid, "column dstaddr must appear in GROUP BY or be aggregated: add dstaddr to the GROUP BY list", "dstaddr, SUM"},
		{"SELECT srcaddr, FROM FROM vpc_flow_logs", engine.Invalid, `syntax error: at or near "FROM"`, "FROM vpc"},
		{"SELECT srcaddr\nFROM vpc_flow_logs\nWHERE nosuch = 1", engine.Invalid, `Referenced column "nosuch" not found`, "nosuch = 1"},
		{"SELECT * FROM vpc_flow_log", engine.Invalid, "the lake is the view vpc_flow_logs", "vpc_flow_log"},
		{"SELECT srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, \"end\", action FROM vpc_flow_logs WHERE nosuch_column_far_to_the_right = 1", engine.Invalid, "nosuch_column_far_to_the_right", "nosuch_column_far"},
		// Conversion errors are the query's to fix (TRY_CAST), and the
		// position DuckDB gives for the LIMIT-wrapped statement maps back.
		{"SELECT CAST(action AS INTEGER) FROM vpc_flow_logs", engine.Invalid, "when casting from source column action: TRY_CAST", "CAST(action"},
		{"SELECT srcaddr FROM vpc_flow_logs WHERE dstport = 'abc'", engine.Invalid, "Could not convert string 'abc' to INT32", "'abc'"},
		{"SELECT srcaddr\nFROM vpc_flow_logs\nWHERE dstport = 'abc'", engine.Invalid, "Could not convert string 'abc' to INT32", "'abc'"},
		{"SELECT bytes * 9223372036854775807 AS x FROM vpc_flow_logs", engine.Invalid, "Overflow in multiplication", ""},
		// DuckDB points at the blanks before a name that follows a tab.
		{"SELECT 1,\tnosuch FROM vpc_flow_logs", engine.Invalid, `Referenced column "nosuch" not found`, "nosuch FROM"},
		{"SELECT srcaddr,\r\n  dstaddr,\r\n\t\tnosuch\r\nFROM vpc_flow_logs", engine.Invalid, `Referenced column "nosuch" not found`, "nosuch\r\n"},
		// end, a flow-log field, is a reserved word.
		{"SELECT start, end - start AS d FROM vpc_flow_logs", engine.Invalid, `syntax error: at or near "end": end is a reserved word in SQL: for the flow-log field, write "end" in double quotes, or its alias windowend`, "end - start"},
		{"SELECT max(END) FROM vpc_flow_logs", engine.Invalid, `write "end" in double quotes`, "END)"},
		// DuckDB's caret counts wide characters as two columns.
		{"SELECT '東京 🚀' AS a, nosuch FROM vpc_flow_logs", engine.Invalid, `Referenced column "nosuch" not found`, "nosuch FROM"},
		{"SELECT 'Zürich 東京 🚀 and a long string so that DuckDB cuts the line' AS a, nosuch FROM vpc_flow_logs", engine.Invalid, `Referenced column "nosuch" not found`, "nosuch FROM"},
		// Curly quotes copied from a web page are part of a name to DuckDB.
		{"SELECT srcaddr FROM vpc_flow_logs WHERE action = ‘REJECT’", engine.Invalid, `‘ is a typographic quote, as copied from a web page: SQL quotes text with straight single quotes, such as 'REJECT'`, "‘REJECT"},
		{"SELECT srcaddr FROM vpc_flow_logs WHERE action IN (“REJECT”)", engine.Invalid, `“ is a typographic quote, as copied from a web page: SQL quotes text with straight single quotes, such as 'REJECT'`, "“REJECT"},
		// Text in double quotes, as in Insights, is a name in SQL.
		{`SELECT count(*) FROM vpc_flow_logs WHERE action = "REJECT"`, engine.Invalid, `in SQL, double quotes name a column; if "REJECT" is text, write it in single quotes: 'REJECT'`, `"REJECT"`},
		// Presto's date_format (Athena) has another name and other letters.
		{`SELECT date_format(from_unixtime(start), '%Y-%m-%d %H:%i') FROM vpc_flow_logs`, engine.Invalid, `date_format is Presto's (Athena); DuckDB writes strftime(t, format), minutes as %M rather than %i, seconds as %S`, "date_format("},
		{`SELECT format_datetime(from_unixtime(start), 'yyyy-MM-dd') FROM vpc_flow_logs`, engine.Invalid, `format_datetime is Presto's (Athena); DuckDB writes strftime(t, format) with % letters, such as '%Y-%m-%d %H:%M:%S'`, "format_datetime("},
		// A misspelt keyword is read as an alias, so DuckDB points at the
		// word after it; the error points at the typo and names the keyword.
		{"SELECT count(*) FRM vpc_flow_logs", engine.Invalid, `syntax error: "FRM" is not a SQL keyword, so the query reads it as a name: did you mean FROM?`, "FRM vpc"},
		{"SELECT count(*) FROM flows\nWHER action = 'REJECT'", engine.Invalid, "did you mean WHERE?", "WHER action"},
		{"SELECT srcaddr FROM flows GRUOP BY srcaddr", engine.Invalid, "did you mean GROUP?", "GRUOP"},
		{"SELECT srcaddr FROM flows LIMT 5", engine.Invalid, "did you mean LIMIT?", "LIMT 5"},
		{"SELECT srcaddr, count(*) FROM flows GROUP srcaddr", engine.Invalid, "syntax error: GROUP must be followed by BY: write GROUP BY", "GROUP srcaddr"},
		{"SELECT srcaddr FROM flows order\tsrcaddr", engine.Invalid, "syntax error: order must be followed by BY: write ORDER BY", "order\t"},
		// A column name before the error is not taken for a typo.
		{"SELECT srcaddr FROM flows WHERE srcaddr dstaddr", engine.Invalid, `syntax error: at or near "dstaddr"`, "dstaddr"},
		// DuckDB lists every overload of +; a few are enough.
		{"SELECT srcaddr + 1 FROM vpc_flow_logs", engine.Invalid, "No function matches the given name and argument types '+(VARCHAR, INTEGER_LITERAL)'", "+ 1"},
		// Types the driver cannot read are named with their column, and
		// what to do about them, instead of the driver's column index.
		{"SELECT 1 AS a, '12:00:00'::TIME_NS AS t", engine.Invalid, "column t has the type TIME_NS, which flowlens cannot read: cast it, such as CAST(t AS VARCHAR)", ""},
		{"SELECT MAP {'k'::BLOB: 1} AS m, srcaddr FROM vpc_flow_logs", engine.Invalid, "column m has the type MAP(BLOB, INTEGER), which flowlens cannot read", ""},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := e.Query(context.Background(), engine.Request{SQL: tt.sql})
			qe := engine.AsError(err)
			if qe == nil {
				t.Fatalf("got %v, want an *engine.Error", err)
			}
			if qe.Kind != tt.kind || !strings.Contains(qe.Error(), tt.msg) {
				t.Errorf("got %v error %q, want %v containing %q", qe.Kind, qe.Error(), tt.kind, tt.msg)
			}
			if n := strings.Count(qe.Msg, "\n"); n > 8 {
				t.Errorf("message of %d lines:\n%s", n+1, qe.Msg)
			}
			switch {
			case tt.at == "" && qe.Pos >= 0:
				t.Errorf("position %d, want none", qe.Pos)
			case tt.at != "" && (qe.Pos < 0 || !strings.HasPrefix(tt.sql[qe.Pos:], tt.at)):
				t.Errorf("position %d, want the offset of %q (%d)", qe.Pos, tt.at, strings.Index(tt.sql, tt.at))
			}
		})
	}
}

func TestEmptyLake(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lake := engine.LakeDir(dir)
	e, err := duckdb.Open(ctx, lake, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := query(t, e, "SELECT (SELECT count(*) FROM (DESCRIBE vpc_flow_logs)) AS columns, (SELECT count(*) FROM flows) AS n, (SELECT max(year) FROM vpc_flow_logs) AS y")
	if d := cmp.Diff([][]string{{"70", "0", "null"}}, got); d != "" {
		t.Errorf("empty lake (-want +got):\n%s", d)
	}
	// Files committed after Open are seen by the next query.
	if _, err := querytest.WriteLake(ctx, lake, strings.NewReader(fiveDays), nil); err != nil {
		t.Fatal(err)
	}
	got = query(t, e, "SELECT count(*) AS n, min(day) AS d FROM vpc_flow_logs")
	if d := cmp.Diff([][]string{{"5", "01"}}, got); d != "" {
		t.Errorf("after the first files (-want +got):\n%s", d)
	}
	// Retention may remove every file again.
	if err := os.RemoveAll(filepath.Join(lake, "year=2024")); err != nil {
		t.Fatal(err)
	}
	got = query(t, e, "SELECT count(*) AS n FROM vpc_flow_logs")
	if d := cmp.Diff([][]string{{"0"}}, got); d != "" {
		t.Errorf("after the last files went (-want +got):\n%s", d)
	}
}

// TestRangePruning checks with EXPLAIN ANALYZE that a time range reads only
// the day folders it covers.
func TestRangePruning(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		r     engine.Range
		files int
		rows  string
	}{
		{engine.Range{}, 5, "5"},
		{engine.Range{From: day(2), To: day(3)}, 1, "1"},
		{engine.Range{From: day(2), To: day(3).Add(time.Second)}, 2, "2"},
		{engine.Range{From: day(4)}, 2, "2"},
		{engine.Range{To: day(2)}, 1, "1"},
		// Records start on whole seconds: one at 00:00:00 is before 00:00:00.5.
		{engine.Range{From: day(2).Add(500 * time.Millisecond), To: day(3)}, 1, "0"},
	}
	re := regexp.MustCompile(`Total Files Read: (\d+)`)
	for _, tt := range tests {
		req := engine.Request{SQL: "SELECT count(*) AS n FROM vpc_flow_logs", Range: tt.r}
		plan, err := e.Explain(context.Background(), engine.Request{SQL: "SELECT srcaddr FROM vpc_flow_logs", Range: tt.r})
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindStringSubmatch(plan)
		if m == nil {
			t.Fatalf("range %v: no file count in the plan:\n%q", tt.r, plan)
		}
		if m[1] != strconv(tt.files) {
			t.Errorf("range %v: read %s files, want %d\n%s", tt.r, m[1], tt.files, plan)
		}
		res, err := e.Query(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := querytest.Cell(res.Rows[0][0]); got != tt.rows {
			t.Errorf("range %v: %s rows, want %s", tt.r, got, tt.rows)
		}
	}
	// The range views are per query: the next query sees everything.
	if got := query(t, e, "SELECT count(*) FROM flows"); got[0][0] != "5" {
		t.Errorf("after ranged queries, flows has %s rows, want 5", got[0][0])
	}
}

func strconv(n int) string { return string(rune('0' + n)) }

func TestTimeoutAndRowCap(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	began := time.Now()
	_, err := e.Query(context.Background(), engine.Request{SQL: "SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3", Timeout: 300 * time.Millisecond})
	if qe := engine.AsError(err); qe == nil || qe.Kind != engine.Timeout {
		t.Errorf("got %v, want a timeout", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("the timeout took %s", d)
	}
	// Cancelling (Ctrl-C) is no time limit: no advice to raise it.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err = e.Query(ctx, engine.Request{SQL: "SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3"})
	if qe := engine.AsError(err); qe == nil || qe.Kind != engine.Timeout || qe.Msg != "query cancelled" || qe.Hint != "" {
		t.Errorf("got %#v, want a cancelled query without a hint", qe)
	}
	res, err := e.Query(context.Background(), engine.Request{SQL: "SELECT start FROM vpc_flow_logs ORDER BY start DESC", MaxRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]string{{"1709596800"}, {"1709510400"}}, querytest.Cells(res)); d != "" || !res.Truncated {
		t.Errorf("capped rows (-want +got):\n%s truncated %v", d, res.Truncated)
	}
	// A statement the LIMIT wrap cannot take (a trailing comment after ';')
	// is capped while reading.
	res, err = e.Query(context.Background(), engine.Request{SQL: "SELECT start FROM vpc_flow_logs ORDER BY start; -- newest last", MaxRows: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 4 || !res.Truncated || querytest.Cell(res.Rows[0][0]) != "1709251200" {
		t.Errorf("got %v truncated %v, want the 4 oldest, truncated", querytest.Cells(res), res.Truncated)
	}
	res, err = e.Query(context.Background(), engine.Request{SQL: "SELECT 1 AS a, 2 AS a", MaxRows: 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a", "a"}, res.Names()); d != "" || res.Truncated {
		t.Errorf("duplicate names (-want +got):\n%s", d)
	}
}

func TestOpenViaRegistry(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Dialect() != "duckdb" {
		t.Errorf("dialect %q", e.Dialect())
	}
	if _, err := engine.Open(context.Background(), "nosuch://x", dir); err == nil || !strings.Contains(err.Error(), "unknown dialect") {
		t.Errorf("unknown dialect: %v", err)
	}
}

// TestMissingDataFolder queries a data folder that does not exist (a typo in
// --data): the answer is empty, and no folder appears.
func TestMissingDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nosuch")
	e, err := engine.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := query(t, e, "SELECT count(*) AS n FROM flows"); got[0][0] != "0" {
		t.Errorf("got %v rows, want 0", got)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the query created %s (%v)", dir, err)
	}
}

// TestConcurrentRanges runs ranged and unranged queries at once: the range
// views of one query must never leak into another.
func TestConcurrentRanges(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		go func() {
			r, want := engine.Range{}, "5"
			if i%2 == 1 {
				d := 1 + i%5
				r, want = engine.Range{From: day(d), To: day(d + 1)}, "1"
			}
			res, err := e.Query(context.Background(), engine.Request{SQL: "SELECT count(*) FROM flows", Range: r})
			switch {
			case err != nil:
				errs <- err
			case querytest.Cell(res.Rows[0][0]) != want:
				errs <- fmt.Errorf("range %v: %v rows, want %s", r, res.Rows[0][0], want)
			default:
				errs <- nil
			}
		}()
	}
	for i := 0; i < 40; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestValueText checks that times of day, intervals and timestamps without a
// time zone come out as DuckDB itself writes them (CAST(x AS VARCHAR)), not
// as Go renders its types.
func TestValueText(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	exprs := []string{
		"TIME '12:00:01'", "TIME '00:00:00'", "TIME '23:59:59.123456'", "TIME '08:30:00.5'",
		"INTERVAL 90 MINUTE", "INTERVAL 0 SECOND", "INTERVAL 1 DAY", "INTERVAL 2 DAY",
		"INTERVAL '1 year 2 months 3 days 04:05:06.5'", "INTERVAL 1 MONTH", "INTERVAL 13 MONTH",
		"INTERVAL '-3 days -1 hour'", "INTERVAL '-00:00:00.25'", "INTERVAL 100 HOUR",
		"to_timestamp(1709251260) - to_timestamp(1709251200)", "INTERVAL '-1 year'", "INTERVAL '-13 months -1 day'",
		"TIMETZ '12:00:01+02'", "TIMETZ '12:00:01.25-05:30'",
		// Wall-clock timestamps have no zone, so they carry no Z either.
		"TIMESTAMP '2024-03-01 10:00:00'", "TIMESTAMP '2024-03-01 10:00:00.5'", "make_timestamp(2024, 3, 1, 23, 59, 59.25)",
		"to_timestamp(1709251200) AT TIME ZONE 'America/New_York'", "strptime('2024-03-01 10:00:01', '%Y-%m-%d %H:%M:%S')",
		"TIMESTAMP_S '2024-03-01 10:00:00'", "TIMESTAMP_MS '2024-03-01 10:00:00.123'", "TIMESTAMP_NS '2024-03-01 10:00:00.123456789'",
		// UUIDs and blobs come from the driver as bytes; DuckDB writes a
		// UUID in its 8-4-4-4-12 form and a blob with \xHH escapes.
		"'8d4e8f1f-5a7a-4a8e-9a5b-1c2d3e4f5a6b'::UUID", "'00000000-0000-0000-0000-000000000000'::UUID",
		"from_hex('00ff5c41227f2027')", "encode('é')", "'plain'::BLOB", "''::BLOB",
		// Infinite times are written as DuckDB writes them, not as the
		// driver's largest time.
		"'infinity'::TIMESTAMP", "'-infinity'::TIMESTAMP", "'infinity'::DATE", "'-infinity'::DATE",
	}
	for _, x := range exprs {
		t.Run(x, func(t *testing.T) {
			res, err := e.Query(context.Background(), engine.Request{SQL: "SELECT " + x + " AS v, CAST(" + x + " AS VARCHAR) AS want"})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := res.Rows[0][0], res.Rows[0][1]; got != want {
				t.Errorf("got %#v, want %q", got, want)
			}
		})
	}
}

// TestNestedValues checks that values inside lists and structs are written
// as at the top level, and that FLOAT values keep the digits DuckDB shows
// rather than those of their widening to float64.
func TestNestedValues(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	res, err := e.Query(context.Background(), engine.Request{SQL: "SELECT ['8d4e8f1f-5a7a-4a8e-9a5b-1c2d3e4f5a6b'::UUID] AS l, " +
		"{'u': '8d4e8f1f-5a7a-4a8e-9a5b-1c2d3e4f5a6b'::UUID, 'b': from_hex('00ff')} AS s, [from_hex('41ff')] AS lb, " +
		"0.1::FLOAT AS f, [0.1::FLOAT] AS lf, 'nan'::FLOAT AS nf, " +
		// Whole decimals are integers, exact past float64's 15 digits.
		"1234567890123456789::DECIMAL(19,0) AS d0, CAST('12345678901234567890123456789012345678' AS DECIMAL(38,0)) AS d38, 1.50::DECIMAL(4,2) AS d2"})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		[]any{"8d4e8f1f-5a7a-4a8e-9a5b-1c2d3e4f5a6b"},
		map[string]any{"u": "8d4e8f1f-5a7a-4a8e-9a5b-1c2d3e4f5a6b", "b": `\x00\xFF`},
		[]any{`A\xFF`},
		0.1, []any{0.1}, math.NaN(),
		int64(1234567890123456789), bigInt(t, "12345678901234567890123456789012345678"), 1.5,
	}
	bigEqual := cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })
	if d := cmp.Diff(want, res.Rows[0], cmpopts.EquateNaNs(), bigEqual); d != "" {
		t.Errorf("nested values (-want +got):\n%s", d)
	}
}

func bigInt(t *testing.T, s string) *big.Int {
	t.Helper()
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return b
}

// TestMapValues checks that DuckDB maps (histogram's answer) come out as
// map[string]any, whose JSON is an object.
func TestMapValues(t *testing.T) {
	e, _ := newLake(t, fiveDays)
	res, err := e.Query(context.Background(), engine.Request{SQL: "SELECT MAP {'k': 1, 'a': NULL} AS m, histogram(dstport) AS h, MAP {1: [2]} AS n FROM vpc_flow_logs"})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"k": int64(1), "a": nil},
		map[string]any{"22": int64(2), "80": int64(1), "443": int64(2)},
		map[string]any{"1": []any{int64(2)}},
	}
	if d := cmp.Diff(want, res.Rows[0]); d != "" {
		t.Errorf("maps (-want +got):\n%s", d)
	}
}
