package lake

import (
	stdcmp "cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/google/go-cmp/cmp"
)

// duck opens an in-memory DuckDB that never fetches extensions.
func duck(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false"); err != nil {
		t.Fatal(err)
	}
	return db
}

// query returns the rows of q as strings ("NULL" for nulls).
func query(t testing.TB, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// glob is how outside readers (Athena, DuckDB) see the lake.
func glob(dir string) string {
	return filepath.Join(TableDir(dir), "**", "*.parquet")
}

// batches parses lines (header lines switch the format) into per-day batches.
func batches(t testing.TB, text string) map[Day]*Batch {
	t.Helper()
	sc := flowlog.NewScanner(strings.NewReader(text), flowlog.ScanOptions{})
	out := map[Day]*Batch{}
	for {
		r, err := sc.Next()
		if err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("line %d: %v", sc.Line(), err)
		}
		s, _ := r.Int(flowlog.Start)
		d := DayOf(s)
		if out[d] == nil {
			out[d] = NewBatch(d, 16)
		}
		out[d].Append(r, sc.Format())
	}
}

// ingestText commits text as one transaction.
func ingestText(t testing.TB, l *Lake, text string, src string) *Txn {
	t.Helper()
	txn, err := l.Begin("ingest")
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for _, b := range batches(t, text) {
		if _, err := txn.WriteBatch(b, WriteOptions{RowGroupRows: 2}); err != nil {
			t.Fatal(err)
		}
		n += int64(b.Len())
	}
	if src != "" {
		txn.AddSource(Source{Path: src, Size: int64(len(text)), SHA256: src, Records: n, Stored: n})
	}
	if err := txn.Commit(n); err != nil {
		t.Fatal(err)
	}
	return txn
}

func open(t testing.TB, dir string) *Lake {
	t.Helper()
	l, err := Open(context.Background(), dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

const sample = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 443 6 10 840 1709251300 1709251360 ACCEPT OK
2 123456789012 eni-0a1b 10.0.0.220 10.0.1.5 443 49152 6 12 9000 1709251200 1709251260 ACCEPT OK
2 123456789012 eni-0a1b 203.0.113.9 10.0.1.5 51000 22 6 1 40 1709251250 1709251260 REJECT OK
2 123456789012 eni-0c2d - - - - - - - 1709337700 1709337760 - NODATA
2 123456789012 eni-0c2d 2001:db8::1 2001:db8::2 0 0 58 3 300 1709337600 1709337660 ACCEPT OK
version vpc-id srcaddr dstaddr dstport start action pkt-dst-aws-service my-extra tcp-flags
5 vpc-0f00 10.0.2.7 52.95.1.1 443 1709337650 ACCEPT S3 hello 18
5 vpc-0f00 10.0.2.8 52.95.1.2 443 1709337651 ACCEPT - - -
`

func TestRoundTripThroughDuckDB(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	ingestText(t, l, sample, "")
	db := duck(t)

	// The files themselves: the lake's schema, no partition columns inside.
	got := query(t, db, fmt.Sprintf(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('%s', hive_partitioning=false))`, glob(dir)))
	types := map[string]string{}
	for _, r := range got {
		types[r[0]] = r[1]
	}
	want := map[string]string{ExtraColumn: "VARCHAR"}
	for _, f := range flowlog.Fields() {
		want[f.Column] = f.Type.SQL()
	}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("file schema (-want +got):\n%s", diff)
	}

	got = query(t, db, fmt.Sprintf(`SELECT year, month, day, version, srcaddr, dstaddr, srcport, dstport, protocol, bytes, start, action, log_status, vpc_id, tcp_flags, pkt_dst_aws_service, extra
		FROM read_parquet('%s', hive_partitioning=true) ORDER BY start, srcaddr`, glob(dir)))
	wantRows := [][]string{
		{"2024", "03", "01", "2", "10.0.0.220", "10.0.1.5", "443", "49152", "6", "9000", "1709251200", "ACCEPT", "OK", "NULL", "NULL", "NULL", "NULL"},
		{"2024", "03", "01", "2", "203.0.113.9", "10.0.1.5", "51000", "22", "6", "40", "1709251250", "REJECT", "OK", "NULL", "NULL", "NULL", "NULL"},
		{"2024", "03", "01", "2", "10.0.1.5", "10.0.0.220", "49152", "443", "6", "840", "1709251300", "ACCEPT", "OK", "NULL", "NULL", "NULL", "NULL"},
		{"2024", "03", "02", "2", "2001:db8::1", "2001:db8::2", "0", "0", "58", "300", "1709337600", "ACCEPT", "OK", "NULL", "NULL", "NULL", "NULL"},
		{"2024", "03", "02", "5", "10.0.2.7", "52.95.1.1", "NULL", "443", "NULL", "NULL", "1709337650", "ACCEPT", "NULL", "vpc-0f00", "18", "S3", `{"my-extra":"hello"}`},
		{"2024", "03", "02", "5", "10.0.2.8", "52.95.1.2", "NULL", "443", "NULL", "NULL", "1709337651", "ACCEPT", "NULL", "vpc-0f00", "NULL", "NULL", `{"my-extra":null}`},
		{"2024", "03", "02", "2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "1709337700", "NULL", "NODATA", "NULL", "NULL", "NULL", "NULL"},
	}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got := query(t, db, fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, filepath.Join(TableDir(dir), "year=2024", "month=03", "day=02", "*.parquet"))); got[0][0] != "4" {
		t.Errorf("2024-03-02 partition: %s rows, want 4", got[0][0])
	}
}

func TestFileOrder(t *testing.T) {
	// Row groups (of 2 rows here) are cut in order of start; within one,
	// rows are ordered by address pair, then start.
	var b strings.Builder
	b.WriteString("srcaddr start\n")
	for i, s := range []string{"10.0.0.9", "10.0.0.1", "10.0.0.5"} {
		for h := 0; h < 2; h++ {
			fmt.Fprintf(&b, "%s %d\n", s, 1709251200+h*3600+100-i*10)
		}
	}
	dir := t.TempDir()
	ingestText(t, open(t, dir), b.String(), "")
	db := duck(t)
	got := query(t, db, fmt.Sprintf(`SELECT srcaddr, start FROM read_parquet('%s')`, glob(dir)))
	want := [][]string{
		{"10.0.0.1", "1709251290"}, {"10.0.0.5", "1709251280"},
		{"10.0.0.5", "1709254880"}, {"10.0.0.9", "1709251300"},
		{"10.0.0.1", "1709254890"}, {"10.0.0.9", "1709254900"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("file order (-want +got):\n%s", diff)
	}
	// Each row group's start statistics cover its own range, so a time
	// filter prunes row groups.
	got = query(t, db, fmt.Sprintf(`SELECT row_group_id, stats_min_value, stats_max_value FROM parquet_metadata('%s')
		WHERE path_in_schema = 'start' ORDER BY row_group_id`, glob(dir)))
	want = [][]string{{"0", "1709251280", "1709251290"}, {"1", "1709251300", "1709254880"}, {"2", "1709254890", "1709254900"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("row-group start ranges (-want +got):\n%s", diff)
	}
}

func TestActionRowGroups(t *testing.T) {
	// No row group mixes actions, so a filter on action skips the others by
	// their statistics; NODATA records (null action) come first.
	var b strings.Builder
	b.WriteString("srcaddr start action log-status\n")
	for i := 0; i < 12; i++ {
		action, status := []string{"ACCEPT", "REJECT", "-"}[i%3], "OK"
		if action == "-" {
			status = "NODATA"
		}
		fmt.Fprintf(&b, "10.0.0.%d %d %s %s\n", i, 1709251200+i*60, action, status)
	}
	dir := t.TempDir()
	ingestText(t, open(t, dir), b.String(), "")
	got := query(t, duck(t), fmt.Sprintf(`SELECT row_group_id, row_group_num_rows, coalesce(stats_min_value, 'null'), coalesce(stats_max_value, 'null')
		FROM parquet_metadata('%s') WHERE path_in_schema = 'action' ORDER BY row_group_id`, glob(dir)))
	// The test lake cuts row groups of 2 rows.
	want := [][]string{
		{"0", "2", "null", "null"}, {"1", "2", "null", "null"},
		{"2", "2", "ACCEPT", "ACCEPT"}, {"3", "2", "ACCEPT", "ACCEPT"},
		{"4", "2", "REJECT", "REJECT"}, {"5", "2", "REJECT", "REJECT"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("row groups by action (-want +got):\n%s", diff)
	}
}

// files lists the data files in the partition folders, relative to the table.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(TableDir(dir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(TableDir(dir), p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func catalogFiles(c *Catalog) []string {
	var out []string
	for _, f := range c.Files {
		out = append(out, f.Path)
	}
	return out
}

// crash simulates the death of the process holding l: the lock is released
// by the kernel, nothing else is cleaned up.
func crash(l *Lake) {
	l.open = nil
	unlockFile(l.lock)
	l.lock = nil
}

func TestRecovery(t *testing.T) {
	errCrash := errors.New("crash")
	cases := []struct {
		name string
		// fail makes publication stop after n renames (-1: no failure).
		failAfter int
		commit    bool
		wantRows  string
		wantFwd   int
		wantBack  int
	}{
		{name: "crash before the commit rolls back", commit: false, failAfter: -1, wantRows: "0", wantBack: 1},
		{name: "crash after the commit, before publishing, rolls forward", commit: true, failAfter: 0, wantRows: "7", wantFwd: 1},
		{name: "crash half way through publishing rolls forward", commit: true, failAfter: 1, wantRows: "7", wantFwd: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(context.Background(), dir, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			txn, err := l.Begin("ingest")
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range batches(t, sample) {
				if _, err := txn.WriteBatch(b, WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.commit {
				n := tc.failAfter
				testHookPublish = func() error {
					if n == 0 {
						return errCrash
					}
					n--
					return nil
				}
				err := txn.Commit(7)
				testHookPublish = nil
				if !errors.Is(err, errCrash) {
					t.Fatalf("commit: %v, want the simulated crash", err)
				}
			}
			crash(l)

			l2 := open(t, dir)
			if got := len(l2.Recover.RolledForward); got != tc.wantFwd {
				t.Errorf("rolled forward %d, want %d", got, tc.wantFwd)
			}
			if got := len(l2.Recover.RolledBack); got != tc.wantBack {
				t.Errorf("rolled back %d, want %d", got, tc.wantBack)
			}
			if diff := cmp.Diff(catalogFiles(l2.Catalog()), files(t, dir)); diff != "" {
				t.Errorf("partition folders differ from the catalog (-catalog +disk):\n%s", diff)
			}
			if ents, _ := os.ReadDir(filepath.Join(dir, StagingDir)); len(ents) != 0 {
				t.Errorf("staging not empty: %v", ents)
			}
			rows := "0"
			if len(files(t, dir)) > 0 {
				rows = query(t, duck(t), fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, glob(dir)))[0][0]
			}
			if rows != tc.wantRows {
				t.Errorf("%s rows readable, want %s", rows, tc.wantRows)
			}
			rep, err := l2.Verify(false)
			if err != nil || !rep.Clean() {
				t.Errorf("verify after recovery: %+v %v", rep, err)
			}
		})
	}
}

func TestReadLockHoldsPublication(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	release, err := ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		txn, err := l.Begin("ingest")
		if err != nil {
			done <- err
			return
		}
		for _, b := range batches(t, sample) {
			if _, err := txn.WriteBatch(b, WriteOptions{}); err != nil {
				done <- err
				return
			}
		}
		done <- txn.Commit(7)
	}()
	select {
	case err := <-done:
		t.Fatalf("commit finished while a reader held the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files visible while a reader holds the lock: %v", got)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 2 {
		t.Errorf("after the commit: %v, want 2 files", got)
	}
}

func TestVerifyAndRepair(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	ingestText(t, l, sample, "")
	cat := l.Catalog()
	table := TableDir(dir)
	// An orphan, a missing file and a truncated one.
	orphan := filepath.Join(table, "year=2024", "month=03", "day=01", "stray.parquet")
	os.WriteFile(orphan, []byte("PAR1junk"), 0o644)
	os.Remove(filepath.Join(table, filepath.FromSlash(cat.Files[0].Path)))
	os.Truncate(filepath.Join(table, filepath.FromSlash(cat.Files[1].Path)), 100)

	rep, err := l.Verify(false)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range rep.Problems {
		kinds = append(kinds, p.Kind)
	}
	if diff := cmp.Diff([]string{"missing", "size", "orphan"}, kinds); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%+v", diff, rep.Problems)
	}
	if rep.Clean() {
		t.Error("report is clean")
	}
	rep, err = l.Verify(true)
	if err != nil || rep.Clean() != true {
		t.Fatalf("repair: %+v %v", rep, err)
	}
	rep, err = l.Verify(false)
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("verify after repair: %+v %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, OrphanDir, "year=2024", "month=03", "day=01", "stray.parquet")); err != nil {
		t.Errorf("orphan not moved aside: %v", err)
	}
}

func TestCompactAndRetain(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	for i := 0; i < 3; i++ {
		ingestText(t, l, sample, fmt.Sprint("src", i))
	}
	db := duck(t)
	sums := func() []string {
		return query(t, db, fmt.Sprintf(`SELECT count(*), sum(bytes), sum(start), count(extra), count(DISTINCT filename) FROM read_parquet('%s', filename=true)`, glob(dir)))[0]
	}
	if diff := cmp.Diff([]string{"21", "30540", "35895313053", "6", "6"}, sums()); diff != "" {
		t.Errorf("before compaction (-want +got):\n%s", diff)
	}
	rep, err := l.Compact(CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&CompactReport{Partitions: 2, Merged: 6, Written: 2, Records: 21}, rep); diff != "" {
		t.Errorf("compaction (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"21", "30540", "35895313053", "6", "2"}, sums()); diff != "" {
		t.Errorf("after compaction (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(catalogFiles(l.Catalog()), files(t, dir)); diff != "" {
		t.Errorf("partition folders differ from the catalog:\n%s", diff)
	}

	// Keep 1 day as of 2024-03-02 12:00: the 2024-03-01 partition goes.
	ret, err := l.Retain(24*time.Hour, time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&RetainReport{Cutoff: "2024-03-01", Partitions: 0}, ret); diff != "" {
		t.Errorf("retain 1 day (-want +got):\n%s", diff)
	}
	ret, err = l.Retain(12*time.Hour, time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&RetainReport{Cutoff: "2024-03-02", Partitions: 1, Files: 1, Records: 9}, ret); diff != "" {
		t.Errorf("retain 12h (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"12"}, query(t, db, fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, glob(dir)))[0]); diff != "" {
		t.Errorf("after retention:\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(TableDir(dir), "year=2024", "month=03", "day=01")); err == nil {
		t.Error("empty partition folder left behind")
	}
	// Sources stay known after retention.
	if _, ok := l.Catalog().SourceByPath("src0"); !ok {
		t.Error("retention forgot an ingested source")
	}
	st, err := StatusOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Partitions != 1 || st.Files != 1 || st.Records != 12 || st.Sources != 3 || st.FirstDay != "2024-03-02" {
		t.Errorf("status: %+v", st)
	}
}

func TestCatalogChecksum(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	ingestText(t, l, sample, "x")
	l.Close()
	path := filepath.Join(dir, CatalogFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"rows":`, `"rows":1`, 1)), 0o644)
	if _, err := Open(context.Background(), dir, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("open with a damaged catalog: %v, want a checksum mismatch", err)
	}
}

func TestDayOf(t *testing.T) {
	for _, tc := range []struct {
		sec  int64
		want string
	}{
		{0, "year=1970/month=01/day=01"},
		{1709251199, "year=2024/month=02/day=29"},
		{1709251200, "year=2024/month=03/day=01"},
		{-1, "year=1969/month=12/day=31"},
	} {
		if got := DayOf(tc.sec).Dir(); got != tc.want {
			t.Errorf("DayOf(%d) = %s, want %s", tc.sec, got, tc.want)
		}
	}
}

func TestExtraJSON(t *testing.T) {
	f := flowlog.MustFormat("srcaddr start a-b c")
	var r flowlog.Record
	// The parser refuses control characters and bytes that are not UTF-8, so
	// quotes, backslashes and other scripts are what reach the JSON.
	line := []byte("10.0.0.1 1709251200 x\"y\\z \u00e9\u2603")
	if err := flowlog.NewParser(f).Parse(line, &r); err != nil {
		t.Fatal(err)
	}
	got := string(appendExtraJSON(nil, &r, f.Unknown()))
	want := `{"a-b":"x\"y\\z","c":"é☃"}`
	if got != want {
		t.Errorf("extra = %s, want %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

func TestOrder(t *testing.T) {
	// order agrees with a comparison sort written from its definition: rows
	// grouped by action (as text, nulls first), each action's rows cut into
	// row groups by start (nulls first, ties in input order), then
	// within each ordered by conversation (the lower of srcaddr and dstaddr
	// as text, nulls first; rows where it is the source first; the other
	// address), keeping start order among equals. An action of fewer than
	// groupRows/16 rows joins the next action's rows, the last one the rows
	// before it. The wide case takes the comparison path for start ranges
	// over 2^31 seconds.
	var compareAddr func(x, y *string) int
	for _, tc := range []struct {
		wide               bool
		nullMod, rejectMod int
	}{
		{false, 9, 4},   // three actions of hundreds of rows
		{true, 250, 4},  // 20 NODATA rows join the ACCEPT ones
		{false, 9, 400}, // 12 REJECT rows join the ACCEPT ones
	} {
		wide := tc.wide
		var sb strings.Builder
		sb.WriteString("srcaddr dstaddr start action\n")
		for i := 0; i < 5000; i++ {
			src, dst, start, action := "-", "-", "-", "ACCEPT"
			switch {
			case i%tc.nullMod == 0:
				action = "-"
			case i%tc.rejectMod == 1:
				action = "REJECT"
			}
			if i%7 != 0 {
				src = fmt.Sprintf("10.0.%d.%d", i%3, i%11)
			}
			if i%5 != 0 {
				dst = fmt.Sprintf("10.%d.%d.%d", i%2, i%13, i%4)
			}
			if i%17 != 0 {
				v := 1709251200 + (i*7919)%86400
				if wide && i%2 == 0 {
					v = 1000 + i%3
				}
				start = fmt.Sprint(v)
			}
			fmt.Fprintf(&sb, "%s %s %s %s\n", src, dst, start, action)
		}
		b := NewBatch(0, 0)
		sc := flowlog.NewScanner(strings.NewReader(sb.String()), flowlog.ScanOptions{})
		for {
			r, err := sc.Next()
			if err != nil {
				break
			}
			b.Append(r, sc.Format())
		}
		const groupRows = 700
		got, gotEnds := b.order(groupRows)

		// An address is its text, or nil for null, which sorts first.
		addr := func(id flowlog.FieldID, row uint32) *string {
			c := b.cols[id]
			if v := c.id(int(row)); v != 0 {
				return &c.vals[v]
			}
			return nil
		}
		compareAddr = func(x, y *string) int {
			switch {
			case x == nil && y == nil:
				return 0
			case x == nil:
				return -1
			case y == nil:
				return 1
			}
			return stdcmp.Compare(*x, *y)
		}
		// conv is a row's conversation: the lower of its two addresses,
		// whether that is the destination, and the other address.
		type conversation struct {
			lower, other *string
			lowerIsDst   bool
		}
		conv := func(row uint32) conversation {
			s, d := addr(flowlog.SrcAddr, row), addr(flowlog.DstAddr, row)
			if compareAddr(s, d) > 0 {
				return conversation{d, s, true}
			}
			return conversation{s, d, false}
		}
		want := make([]uint32, b.Len())
		for i := range want {
			want[i] = uint32(i)
		}
		slices.SortStableFunc(want, func(x, y uint32) int {
			vx, sx := b.cols[flowlog.Start].int(int(x))
			vy, sy := b.cols[flowlog.Start].int(int(y))
			if sx != sy {
				if !sx {
					return -1
				}
				return 1
			}
			return stdcmp.Compare(vx, vy)
		})
		// Number the actions' groups: in text order (null first), a group
		// closes once it has groupRows/16 rows; a small last group joins the
		// one before it.
		actionText := func(row uint32) string {
			if a := addr(flowlog.Action, row); a != nil {
				return "=" + *a
			}
			return "" // null: before every text
		}
		rows := map[string]int{}
		for _, row := range want {
			rows[actionText(row)]++
		}
		actions := slices.Sorted(maps.Keys(rows))
		groupOf, groupRowsOf := map[string]int{}, []int{}
		for _, a := range actions {
			if len(groupRowsOf) == 0 || groupRowsOf[len(groupRowsOf)-1] >= groupRows/16 {
				groupRowsOf = append(groupRowsOf, 0)
			}
			groupOf[a] = len(groupRowsOf) - 1
			groupRowsOf[len(groupRowsOf)-1] += rows[a]
		}
		if k := len(groupRowsOf); k > 1 && groupRowsOf[k-1] < groupRows/16 {
			for a, g := range groupOf {
				if g == k-1 {
					groupOf[a] = k - 2
				}
			}
		}
		slices.SortStableFunc(want, func(x, y uint32) int {
			return stdcmp.Compare(groupOf[actionText(x)], groupOf[actionText(y)])
		})
		var ends []int
		for lo := 0; lo < len(want); {
			hi := lo + 1
			for hi < len(want) && hi-lo < groupRows && groupOf[actionText(want[lo])] == groupOf[actionText(want[hi])] {
				hi++
			}
			ends = append(ends, hi)
			slices.SortStableFunc(want[lo:hi], func(x, y uint32) int {
				cx, cy := conv(x), conv(y)
				if c := compareAddr(cx.lower, cy.lower); c != 0 {
					return c
				}
				if cx.lowerIsDst != cy.lowerIsDst {
					if cx.lowerIsDst {
						return 1
					}
					return -1
				}
				return compareAddr(cx.other, cy.other)
			})
			lo = hi
		}
		if !slices.Equal(want, got) {
			t.Errorf("%+v: order differs from its definition", tc)
		}
		if !slices.Equal(ends, gotEnds) {
			t.Errorf("%+v: row groups end at %v, want %v", tc, gotEnds, ends)
		}
	}
}

func TestOneWriterAtATime(t *testing.T) {
	dir := t.TempDir()
	first := open(t, dir)
	waited := make(chan int, 1)
	opened := make(chan *Lake)
	go func() {
		l, err := Open(context.Background(), dir, OpenOptions{Wait: func(pid int) { waited <- pid }})
		if err != nil {
			t.Error(err)
		}
		opened <- l
	}()
	select {
	case pid := <-waited:
		if pid != os.Getpid() {
			t.Errorf("waiting for pid %d, want %d", pid, os.Getpid())
		}
	case <-opened:
		t.Fatal("a second writer opened the lake while the first held it")
	case <-time.After(5 * time.Second):
		t.Fatal("the second writer neither waited nor opened")
	}
	first.Close()
	select {
	case l := <-opened:
		l.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the second writer did not get the lake after the first closed it")
	}
	// A cancelled wait gives up.
	held := open(t, dir)
	defer held.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Open(ctx, dir, OpenOptions{Wait: func(int) {}}); err == nil || !strings.Contains(err.Error(), "wait for lock") {
		t.Errorf("open with a cancelled context: %v", err)
	}
}
