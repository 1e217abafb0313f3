package clickhouse_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/clickhouse"
	"github.com/flowlens/flowlens/engine/clickhouse/chtest"
	"github.com/flowlens/flowlens/ingest"
)

func TestCheckStatement(t *testing.T) {
	tests := []struct {
		sql  string
		kind engine.Kind // 0: accepted
		pos  int
	}{
		{"SELECT 1", 0, 0},
		{"  with x AS (SELECT 1) SELECT * FROM x;", 0, 0},
		{"(SELECT 1)", 0, 0},
		{"SELECT 'a;b' -- c; d\n", 0, 0},
		{"INSERT INTO t VALUES (1)", engine.Refused, 0},
		{"SELECT 1; DROP TABLE flow_logs", engine.Refused, 10},
		{"SELECT * FROM file('/etc/passwd', 'TSV', 'a String')", engine.Refused, 14},
		{"SELECT * FROM vpc_flow_logs JOIN url('http://x', 'TSV', 'a String') USING a", engine.Refused, 33},
		{"SELECT 1 SETTINGS readonly = 0", engine.Refused, 9},
		{"SELECT 1 INTO OUTFILE 'x'", engine.Refused, 9},
		{"SELECT 1 FORMAT JSON", engine.Refused, 9},
		{"/* x */ SET readonly = 0", engine.Refused, 8},
		{"SELECT `a;b`, \"c;d\" FROM vpc_flow_logs", 0, 0},
	}
	for _, tt := range tests {
		err := clickhouse.CheckStatement(tt.sql)
		if tt.kind == 0 {
			if err != nil {
				t.Errorf("%q: %v", tt.sql, err)
			}
			continue
		}
		qe := engine.AsError(err)
		if qe == nil || qe.Kind != tt.kind || qe.Pos != tt.pos {
			t.Errorf("%q: got %#v, want kind %v at %d", tt.sql, qe, tt.kind, tt.pos)
		}
	}
}

func open(t testing.TB) (*clickhouse.Engine, string) {
	t.Helper()
	spec := chtest.Spec(t)
	e, err := engine.Open(t.Context(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	eng := e.(*clickhouse.Engine)
	t.Cleanup(func() { eng.Close() })
	return eng, spec
}

const lines = `2 123456789012 eni-1 10.0.0.1 10.0.0.2 1234 22 6 10 840 1709251200 1709251260 ACCEPT OK
2 123456789012 eni-1 10.0.0.3 10.0.0.2 1235 22 6 1 40 1709251300 1709251360 REJECT OK
2 123456789012 eni-1 - - - - - - - 1709337600 1709337660 - NODATA
not a flow log line
2 123456789012 eni-1 192.168.1.1 10.0.0.2 1236 443 6 5 500 1709337700 1709337760 ACCEPT OK
`

func ingestFile(t *testing.T, eng *clickhouse.Engine, path string) *ingest.Result {
	t.Helper()
	res, err := ingest.ToClickHouse(t.Context(), eng.Store(), []string{path}, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func query(t *testing.T, eng *clickhouse.Engine, req engine.Request) [][]any {
	t.Helper()
	res, err := eng.Query(t.Context(), req)
	if err != nil {
		t.Fatalf("%s: %v", req.SQL, err)
	}
	return res.Rows
}

func TestIngestQueryAndIdempotency(t *testing.T) {
	eng, _ := open(t)
	path := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	res := ingestFile(t, eng, path)
	if got, want := res.Counts, (ingest.Counts{RecordsRead: 5, RecordsStored: 4, RecordsQuarantined: 1, Sources: 1, BytesRead: int64(len(lines)), Seconds: res.Seconds}); got != want {
		t.Errorf("first ingest: %+v, want %+v", got, want)
	}
	// A re-run stores nothing and counts the source as already ingested.
	res = ingestFile(t, eng, path)
	if got, want := res.Counts, (ingest.Counts{RecordsRead: 5, RecordsSkipped: 5, Sources: 1, SourcesSkipped: 1, Seconds: res.Seconds}); got != want {
		t.Errorf("second ingest: %+v, want %+v", got, want)
	}
	rows := query(t, eng, engine.Request{SQL: `SELECT year, month, day, count(*) AS n, sum(bytes) AS b, countIf(srcaddr LIKE '10.%') AS ten
		FROM vpc_flow_logs GROUP BY year, month, day ORDER BY year, month, day`})
	want := [][]any{{"2024", "03", "01", int64(2), int64(880), int64(2)}, {"2024", "03", "02", int64(2), int64(500), int64(0)}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("view (-want +got):\n%s", d)
	}
	rows = query(t, eng, engine.Request{SQL: "SELECT windowstart, windowend, flowlogstatus, date FROM flows WHERE action IS NULL"})
	if d := cmp.Diff([][]any{{int64(1709337600), int64(1709337660), "NODATA", "2024-03-02"}}, rows); d != "" {
		t.Errorf("aliases (-want +got):\n%s", d)
	}
	rows = query(t, eng, engine.Request{SQL: "SELECT line, reason != '' FROM flow_quarantine"})
	if d := cmp.Diff([][]any{{int64(4), int64(1)}}, rows); d != "" {
		t.Errorf("quarantine (-want +got):\n%s", d)
	}

	// An ingest killed before its commit left rows of an unrecorded batch:
	// the view never shows them, and the next ingest deletes them.
	row := "2\t123456789012\teni-9\t10.9.9.9\t10.0.0.2\t1\t2\t6\t1\t1\t1709251200\t1709251260\tACCEPT\tOK"
	n := len(clickhouse.StoredColumns()) - 14
	row += strings.Repeat("\t\\N", n) + "\t2024-03-01\tkilled-batch\n"
	if err := eng.Store().InsertRows(t.Context(), []byte(row)); err != nil {
		t.Fatal(err)
	}
	rows = query(t, eng, engine.Request{SQL: "SELECT count() FROM vpc_flow_logs"})
	if d := cmp.Diff([][]any{{int64(4)}}, rows); d != "" {
		t.Errorf("unrecorded batch shows (-want +got):\n%s", d)
	}
	// The rows of an ingest still running are left alone.
	run, err := eng.Store().StartRun(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer run.Stop()
	running := run.NewBatchID()
	if err := eng.Store().InsertRows(t.Context(), []byte(strings.Replace(row, "killed-batch", running, 1))); err != nil {
		t.Fatal(err)
	}
	// A killed source whose every line was bad left quarantine rows only.
	if err := eng.Store().InsertQuarantine(t.Context(), []byte("killed-quarantine\t/x.log\t1\tbad\tjunk\t2024-03-01 00:00:00\n")); err != nil {
		t.Fatal(err)
	}
	rec, err := eng.Store().Recover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(clickhouse.Recovery{Batches: []string{"killed-batch", "killed-quarantine"}, Running: []string{running}, Rows: 1}, rec); d != "" {
		t.Errorf("recovery (-want +got):\n%s", d)
	}

	// Range pushdown and the row cap.
	from := time.Unix(1709251300, 0)
	rows = query(t, eng, engine.Request{SQL: "SELECT srcaddr FROM vpc_flow_logs WHERE srcaddr IS NOT NULL ORDER BY start", Range: engine.Range{From: from, To: from.Add(24*time.Hour + time.Second)}})
	if d := cmp.Diff([][]any{{"10.0.0.3"}, {"192.168.1.1"}}, rows); d != "" {
		t.Errorf("range (-want +got):\n%s", d)
	}
	res2, err := eng.Query(t.Context(), engine.Request{SQL: "SELECT * FROM vpc_flow_logs", MaxRows: 3})
	if err != nil || len(res2.Rows) != 3 || !res2.Truncated {
		t.Errorf("row cap: %v rows, truncated %v, err %v", len(res2.Rows), res2 != nil && res2.Truncated, err)
	}
}

func TestQueryErrors(t *testing.T) {
	eng, _ := open(t)
	exfil := "SELECT srcaddr, dstaddr, SUM(bytes) AS total FROM vpc_flow_logs GROUP BY srcaddr"
	tests := []struct {
		sql     string
		kind    engine.Kind
		pos     int
		message string
	}{
		{"SELECT srcaddr FROMM vpc_flow_logs", engine.Invalid, 21, "Syntax error"},
		{"SELECT nosuch FROM vpc_flow_logs", engine.Invalid, 7, "nosuch"},
		{exfil, engine.Invalid, 16, "column dstaddr must appear in GROUP BY or be aggregated"},
		{"SELECT * FROM nosuch", engine.Invalid, 14, "doesn't exist"},
		{"SELECT * FROM numbers(10)", engine.Refused, 14, "table function numbers"},
		{"DROP TABLE flow_logs", engine.Refused, 0, "only a SELECT"},
		{"SELECT count() FROM system.numbers", engine.Timeout, -1, ""},
	}
	for _, tt := range tests {
		_, err := eng.Query(t.Context(), engine.Request{SQL: tt.sql, Timeout: time.Second})
		qe := engine.AsError(err)
		if qe == nil {
			t.Errorf("%s: error %v, want an *engine.Error", tt.sql, err)
			continue
		}
		if qe.Kind != tt.kind || qe.Pos != tt.pos || !strings.Contains(qe.Error(), tt.message) {
			t.Errorf("%s: %v at %d (%v), want %v at %d containing %q", tt.sql, qe.Kind, qe.Pos, qe, tt.kind, tt.pos, tt.message)
		}
	}
}

// TestCancel: a cancelled query returns at once as a Timeout error and is
// stopped on the server too.
func TestCancel(t *testing.T) {
	eng, _ := open(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := eng.Query(ctx, engine.Request{SQL: "SELECT count() FROM system.numbers WHERE number % 7 = 3"})
	qe := engine.AsError(err)
	if qe == nil || qe.Kind != engine.Timeout {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("returned after %s", d)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows := query(t, eng, engine.Request{SQL: "SELECT count() FROM system.processes WHERE query LIKE '%number % 7 = 3%' AND query NOT LIKE '%system.processes%'"})
		if rows[0][0] == int64(0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled query still runs on the server")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
