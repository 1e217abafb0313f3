package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/ingest/ingesttest"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/source"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"
)

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

// lakeKeys reads every record's key back through DuckDB from the partition
// folders, as Athena would, and counts each.
func lakeKeys(t testing.TB, dataDir string) map[ingesttest.Key]int64 {
	t.Helper()
	out := map[ingesttest.Key]int64{}
	if _, err := os.Stat(lake.TableDir(dataDir)); err != nil {
		return out
	}
	rows, err := duck(t).Query(fmt.Sprintf(`SELECT coalesce(srcaddr, ''), coalesce(dstaddr, ''), coalesce(srcport, -1), coalesce(dstport, -1), start, coalesce(bytes, -1), count(*)
		FROM read_parquet('%s', hive_partitioning=true) GROUP BY ALL`, filepath.Join(lake.TableDir(dataDir), "**", "*.parquet")))
	if err != nil {
		if strings.Contains(err.Error(), "No files found") {
			return out
		}
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k ingesttest.Key
		var n int64
		if err := rows.Scan(&k.Src, &k.Dst, &k.SrcPort, &k.DstPort, &k.Start, &k.Bytes, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

func writeGzip(t testing.TB, path, text string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(text))
	zw.Close()
	writeFile(t, path, b.Bytes())
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t testing.TB, data string, o Options, args ...string) *Result {
	t.Helper()
	files, err := source.Expand(args)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), data, files, o)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if res.RecordsRead != res.RecordsStored+res.RecordsQuarantined+res.RecordsSkipped {
		t.Errorf("read %d != stored %d + quarantined %d + skipped %d", res.RecordsRead, res.RecordsStored, res.RecordsQuarantined, res.RecordsSkipped)
	}
	return res
}

// quarantined reads every quarantine entry of a data folder.
func quarantined(t testing.TB, data string) []lake.QuarantineLine {
	t.Helper()
	var out []lake.QuarantineLine
	paths, _ := filepath.Glob(filepath.Join(data, lake.QuarantineDir, "*.ndjson"))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var q lake.QuarantineLine
			if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			q.Txn, q.Time = "", time.Time{}
			q.Source = filepath.Base(q.Source)
			out = append(out, q)
		}
		f.Close()
	}
	return out
}

func counts(r *Result) Counts {
	c := r.Counts
	c.Seconds, c.BytesRead = 0, 0
	return c
}

func TestIngestS3Tree(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	truth, err := ingesttest.Write(in, ingesttest.Config{Days: 3, ObjectsPerDay: 4, RecordsPerFile: 300, KeepKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, data, Options{FileRows: 1000}, in)
	want := Counts{RecordsRead: truth.Records, RecordsStored: truth.Records, Sources: len(truth.Files)}
	if diff := cmp.Diff(want, counts(res)); diff != "" {
		t.Errorf("first ingest (-want +got):\n%s", diff)
	}
	if res.BytesRead != truth.GzBytes {
		t.Errorf("bytes read %d, want the gzip input's %d", res.BytesRead, truth.GzBytes)
	}
	if diff := cmp.Diff(truth.Keys, lakeKeys(t, data)); diff != "" {
		t.Errorf("records in the lake (-input +lake):\n%s", diff)
	}
	days := map[string]int64{}
	for _, r := range duckRows(t, data, `SELECT year || '-' || month || '-' || day, count(*) FROM %s GROUP BY 1`) {
		var n int64
		fmt.Sscan(r[1], &n)
		days[r[0]] = n
	}
	if diff := cmp.Diff(truth.Days, days); diff != "" {
		t.Errorf("records per partition (-want +got):\n%s", diff)
	}

	// Again: nothing new.
	res = run(t, data, Options{}, in)
	want = Counts{RecordsRead: truth.Records, RecordsSkipped: truth.Records, SourcesSkipped: len(truth.Files)}
	if diff := cmp.Diff(want, counts(res)); diff != "" {
		t.Errorf("second ingest (-want +got):\n%s", diff)
	}
	if res.Files != 0 || res.Txns != 0 {
		t.Errorf("second ingest wrote %d files in %d transactions", res.Files, res.Txns)
	}
	if diff := cmp.Diff(truth.Keys, lakeKeys(t, data)); diff != "" {
		t.Errorf("records after the second ingest (-input +lake):\n%s", diff)
	}
	st, err := lake.StatusOf(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != truth.Records || st.Sources != len(truth.Files) || st.Partitions != 3 {
		t.Errorf("status %+v", st)
	}
}

func duckRows(t testing.TB, data, q string) [][]string {
	t.Helper()
	from := fmt.Sprintf(`read_parquet('%s', hive_partitioning=true)`, filepath.Join(lake.TableDir(data), "**", "*.parquet"))
	rows, err := duck(t).Query(fmt.Sprintf(q, from))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
			if !v.Valid {
				row[i] = "NULL"
			}
		}
		out = append(out, row)
	}
	return out
}

const (
	hdr   = ingesttest.DefaultHeader + "\n"
	line1 = "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 443 6 10 840 1709251300 1709251360 ACCEPT OK\n"
	line2 = "2 123456789012 eni-0a1b 10.0.0.220 10.0.1.5 443 49152 6 12 9000 1709251200 1709251260 ACCEPT OK\n"
	line3 = "2 123456789012 eni-0a1b 203.0.113.9 10.0.1.5 51000 22 6 1 40 1709337650 1709337660 REJECT OK\n"
)

// lakeRows returns count(*) and count(DISTINCT *) of the lake, read
// through DuckDB from the partition folders.
func lakeRows(t testing.TB, data string) (rows, distinct int64) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(lake.TableDir(data), "*", "*", "*", "*.parquet")); len(m) == 0 {
		return 0, 0
	}
	r := duckRows(t, data, `SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT * FROM %[1]s)) FROM %[1]s`)[0]
	fmt.Sscan(r[0], &rows)
	fmt.Sscan(r[1], &distinct)
	return rows, distinct
}

// appendTo appends text to the file at path.
func appendTo(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies the file at from to to, creating to's folder.
func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, b)
}

// gzipMember is text as one gzip member: appended to a gzip file, it makes
// the file grow by lines, as several members are one stream.
func gzipMember(text string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(text))
	zw.Close()
	return b.String()
}

func TestSourceChanges(t *testing.T) {
	type step struct {
		do   func(t *testing.T, in string)
		o    Options                // Workers is always 1, so sources are read in order
		arg  func(in string) string // what is ingested (default: in)
		want Counts
		// notes: which Result lists name a source.
		skipped, grown, changed, reread int
		// lake: distinct records in the lake after the step (0: not checked);
		// quarantine: the reasons of every quarantined line so far.
		lake       int
		quarantine []string
		// rows: count(*) of the lake after the step (0: not checked). After
		// every step, count(*) and count(DISTINCT *) must equal the records
		// stored so far.
		rows int64
	}
	a := func(in string) string { return filepath.Join(in, "a.log") }
	b := func(in string) string { return filepath.Join(in, "copy", "a.log") }
	custom := flowlog.MustFormat("${srcaddr} ${dstaddr} ${dstport} ${start} ${action}")
	const (
		line4   = "2 123456789012 eni-0a1b 203.0.113.9 10.0.1.5 51001 22 6 1 40 1709337660 1709337670 REJECT OK\n"
		custom1 = "10.0.9.1 10.0.9.2 443 1709251200 ACCEPT\n"
	)
	cases := []struct {
		name  string
		steps []step
	}{
		{"copy under another name is skipped", []step{
			{do: func(t *testing.T, in string) { writeGzip(t, filepath.Join(in, "a.log.gz"), hdr+line1+line2) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}},
			{do: func(t *testing.T, in string) {
				b, _ := os.ReadFile(filepath.Join(in, "a.log.gz"))
				writeFile(t, filepath.Join(in, "copy", "b.log.gz"), b)
			}, want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2},
		}},
		{"touched file is skipped", []step{
			{do: func(t *testing.T, in string) { writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1)) },
				want: Counts{RecordsRead: 1, RecordsStored: 1, Sources: 1}},
			{do: func(t *testing.T, in string) {
				os.Chtimes(filepath.Join(in, "a.log"), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
			}, want: Counts{RecordsRead: 1, RecordsSkipped: 1, SourcesSkipped: 1}, skipped: 1},
		}},
		{"grown file is read from the next line", []step{
			{do: func(t *testing.T, in string) { writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1)) },
				want: Counts{RecordsRead: 1, RecordsStored: 1, Sources: 1}},
			{do: func(t *testing.T, in string) {
				writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2+line3))
			}, want: Counts{RecordsRead: 3, RecordsStored: 2, RecordsSkipped: 1, Sources: 1}, grown: 1},
			{do: func(t *testing.T, in string) {}, want: Counts{RecordsRead: 3, RecordsSkipped: 3, SourcesSkipped: 1}, skipped: 1},
		}},
		{"file cut mid-line, then completed: the cut line is read again", []step{
			{do: func(t *testing.T, in string) { writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2[:40])) },
				want: Counts{RecordsRead: 2, RecordsStored: 1, RecordsQuarantined: 1, Sources: 1}},
			{do: func(t *testing.T, in string) {
				writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2+line3))
			}, want: Counts{RecordsRead: 4, RecordsStored: 2, RecordsSkipped: 2, Sources: 1}, grown: 1},
			{do: func(t *testing.T, in string) {}, want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 1}, skipped: 1,
				lake: 3, quarantine: []string{`column 36 (dstaddr): expected an IPv4 or IPv6 address or -, found "10.0."`}},
		}},
		{"file cut in its last value, then completed: the complete line is quarantined, not stored twice", []step{
			{do: func(t *testing.T, in string) {
				writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2[:len(line2)-2]))
			}, want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}},
			{do: func(t *testing.T, in string) {
				writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2+line3))
			}, want: Counts{RecordsRead: 4, RecordsStored: 1, RecordsQuarantined: 1, RecordsSkipped: 2, Sources: 1}, grown: 1,
				lake: 3, quarantine: []string{"line 3 was stored before it was complete, from its first 94 bytes: the complete line is not stored again"}},
		}},
		{"last line without a line ending, then lines appended", []step{
			{do: func(t *testing.T, in string) {
				writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2[:len(line2)-1]))
			}, want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}},
			{do: func(t *testing.T, in string) {
				writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2+line3))
			}, want: Counts{RecordsRead: 3, RecordsStored: 1, RecordsSkipped: 2, Sources: 1}, grown: 1, lake: 3},
		}},
		{"changed file is refused", []step{
			{do: func(t *testing.T, in string) { writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}},
			{do: func(t *testing.T, in string) { writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line3+line2)) },
				want: Counts{SourcesSkipped: 1}, changed: 1},
		}},
		{"same content twice in one run is stored once", []step{
			{do: func(t *testing.T, in string) {
				writeGzip(t, filepath.Join(in, "a.log.gz"), hdr+line1)
				b, _ := os.ReadFile(filepath.Join(in, "a.log.gz"))
				writeFile(t, filepath.Join(in, "b.log.gz"), b)
			}, want: Counts{RecordsRead: 2, RecordsStored: 1, RecordsSkipped: 1, Sources: 1, SourcesSkipped: 1}, skipped: 1, rows: 1},
		}},

		// Copies: the same content under two paths is stored once, and the
		// copy is recorded under its own path, so that when it grows only
		// its new lines are read.
		{"copy grows: only its new lines are read", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, b(in), line3) },
				want: Counts{RecordsRead: 5, RecordsStored: 1, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 3},
			{do: func(t *testing.T, in string) {},
				want: Counts{RecordsRead: 5, RecordsSkipped: 5, SourcesSkipped: 2}, skipped: 2, rows: 3},
		}},
		{"copy of a gzip object grows by a member: only its new lines are read", []step{
			{do: func(t *testing.T, in string) { writeGzip(t, a(in)+".gz", hdr+line1+line2) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in)+".gz", b(in)+".gz") },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, b(in)+".gz", gzipMember(line3+line4)) },
				want: Counts{RecordsRead: 6, RecordsStored: 2, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 4},
		}},
		{"copies given together, then the copy grows", []step{
			{do: func(t *testing.T, in string) {
				writeFile(t, a(in), []byte(hdr+line1+line2))
				copyFile(t, a(in), b(in))
			}, want: Counts{RecordsRead: 4, RecordsStored: 2, RecordsSkipped: 2, Sources: 1, SourcesSkipped: 1}, skipped: 1, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, b(in), line3) },
				want: Counts{RecordsRead: 5, RecordsStored: 1, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 3},
		}},
		{"original grows, copy does not; then the copy grows the same", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, a(in), line3) },
				want: Counts{RecordsRead: 5, RecordsStored: 1, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 3},
			{do: func(t *testing.T, in string) {},
				want: Counts{RecordsRead: 5, RecordsSkipped: 5, SourcesSkipped: 2}, skipped: 2, rows: 3},
			// The copy catches up: its content is the original's again.
			{do: func(t *testing.T, in string) { appendTo(t, b(in), line3) },
				want: Counts{RecordsRead: 6, RecordsSkipped: 6, SourcesSkipped: 2}, skipped: 2, rows: 3},
			{do: func(t *testing.T, in string) { appendTo(t, b(in), line4) },
				want: Counts{RecordsRead: 7, RecordsStored: 1, RecordsSkipped: 6, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 4},
		}},
		{"copy grows first, then the original grows the same", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, b(in), line3) },
				want: Counts{RecordsRead: 5, RecordsStored: 1, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 3},
			{do: func(t *testing.T, in string) { appendTo(t, a(in), line3) },
				want: Counts{RecordsRead: 6, RecordsSkipped: 6, SourcesSkipped: 2}, skipped: 2, rows: 3},
			{do: func(t *testing.T, in string) { appendTo(t, a(in), line4) },
				want: Counts{RecordsRead: 7, RecordsStored: 1, RecordsSkipped: 6, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 4},
		}},
		{"original and copy grow the same in one run", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, a(in), line3); appendTo(t, b(in), line3) },
				want: Counts{RecordsRead: 6, RecordsStored: 1, RecordsSkipped: 5, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 3},
			{do: func(t *testing.T, in string) {},
				want: Counts{RecordsRead: 6, RecordsSkipped: 6, SourcesSkipped: 2}, skipped: 2, rows: 3},
		}},
		// The copy of the grown original's content is listed, and read,
		// before the original: read whole, it would store the original's
		// first lines again.
		{"original grows and a copy of its new content is read first in the same run", []step{
			{do: func(t *testing.T, in string) { writeFile(t, filepath.Join(in, "orig.log"), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) {
				appendTo(t, filepath.Join(in, "orig.log"), line3)
				copyFile(t, filepath.Join(in, "orig.log"), filepath.Join(in, "a-copy.log"))
			}, want: Counts{RecordsRead: 6, RecordsStored: 1, RecordsSkipped: 5, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 3},
			{do: func(t *testing.T, in string) {},
				want: Counts{RecordsRead: 6, RecordsSkipped: 6, SourcesSkipped: 2}, skipped: 2, rows: 3},
			{do: func(t *testing.T, in string) { appendTo(t, filepath.Join(in, "a-copy.log"), line4) },
				want: Counts{RecordsRead: 7, RecordsStored: 1, RecordsSkipped: 6, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 4},
		}},
		{"original and copy grow differently: each one's new lines are its own", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, a(in), line3); appendTo(t, b(in), line4) },
				want: Counts{RecordsRead: 6, RecordsStored: 2, RecordsSkipped: 4, Sources: 2}, grown: 2, rows: 4},
			{do: func(t *testing.T, in string) {},
				want: Counts{RecordsRead: 6, RecordsSkipped: 6, SourcesSkipped: 2}, skipped: 2, rows: 4},
		}},
		{"copy replaced by other content is refused", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { writeFile(t, b(in), []byte(hdr+line3+line2)) },
				want: Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 2}, skipped: 1, changed: 1, rows: 2},
		}},
		{"copy truncated is refused", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(hdr+line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { writeFile(t, b(in), []byte(hdr+line1)) },
				want: Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 2}, skipped: 1, changed: 1, rows: 2},
		}},
		// A copy of a file whose every line was quarantined is no
		// quarantined-only source: when another format reads the original
		// again, the copy stays skipped.
		{"every line quarantined, copied, then read with the right format", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(custom1)) },
				want: Counts{RecordsRead: 1, RecordsQuarantined: 1, Sources: 1}, rows: 0},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 2}, skipped: 2, rows: 0},
			{do: func(t *testing.T, in string) {}, o: Options{Format: custom},
				want: Counts{RecordsRead: 2, RecordsStored: 1, RecordsSkipped: 1, Sources: 1, SourcesSkipped: 1}, skipped: 1, reread: 1, rows: 1},
			{do: func(t *testing.T, in string) {}, o: Options{Format: flowlog.MustFormat("${srcaddr} ${dstaddr} ${srcport} ${start} ${action}")},
				want: Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 2}, skipped: 2, rows: 1},
		}},
		{"every line quarantined, copied, then the copy alone with the right format", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(custom1)) },
				want: Counts{RecordsRead: 1, RecordsQuarantined: 1, Sources: 1}},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 2}, skipped: 2},
			{do: func(t *testing.T, in string) {}, o: Options{Format: custom}, arg: b,
				want: Counts{RecordsRead: 1, RecordsSkipped: 1, SourcesSkipped: 1}, skipped: 1},
			{do: func(t *testing.T, in string) {}, o: Options{Format: custom},
				want: Counts{RecordsRead: 2, RecordsStored: 1, RecordsSkipped: 1, Sources: 1, SourcesSkipped: 1}, skipped: 1, reread: 1, rows: 1},
		}},
		// A copy's own lines, all quarantined, are read again with another
		// format, from the line after the ones it shares: those are its
		// original's, stored already.
		{"copy's own lines all quarantined, then read with the right format", []step{
			{do: func(t *testing.T, in string) { writeFile(t, a(in), []byte(line1+line2)) },
				want: Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, rows: 2},
			{do: func(t *testing.T, in string) { copyFile(t, a(in), b(in)) },
				want: Counts{RecordsRead: 4, RecordsSkipped: 4, SourcesSkipped: 2}, skipped: 2, rows: 2},
			{do: func(t *testing.T, in string) { appendTo(t, b(in), custom1) },
				want: Counts{RecordsRead: 5, RecordsQuarantined: 1, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, grown: 1, rows: 2},
			{do: func(t *testing.T, in string) {}, o: Options{Format: custom},
				want: Counts{RecordsRead: 5, RecordsStored: 1, RecordsSkipped: 4, Sources: 1, SourcesSkipped: 1}, skipped: 1, reread: 1, rows: 3},
			{do: func(t *testing.T, in string) {}, o: Options{Format: custom},
				want: Counts{RecordsRead: 5, RecordsSkipped: 5, SourcesSkipped: 2}, skipped: 2, rows: 3},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, data := t.TempDir(), t.TempDir()
			var stored int64
			for i, s := range tc.steps {
				s.do(t, in)
				o := s.o
				o.Workers = 1
				arg := in
				if s.arg != nil {
					arg = s.arg(in)
				}
				res := run(t, data, o, arg)
				if diff := cmp.Diff(s.want, counts(res)); diff != "" {
					t.Errorf("step %d (-want +got):\n%s", i+1, diff)
				}
				if len(res.Skipped) != s.skipped || len(res.Grown) != s.grown || len(res.Changed) != s.changed || len(res.Reread) != s.reread {
					t.Errorf("step %d: skipped %v grown %v changed %v reread %v", i+1, res.Skipped, res.Grown, res.Changed, res.Reread)
				}
				stored += res.RecordsStored
				if s.rows > 0 && s.rows != stored {
					t.Errorf("step %d: %d records stored so far, want %d", i+1, stored, s.rows)
				}
				if rows, distinct := lakeRows(t, data); rows != stored || distinct != stored {
					t.Errorf("step %d: count(*) %d, count(DISTINCT *) %d, want the %d stored", i+1, rows, distinct, stored)
				}
				if s.lake > 0 {
					if n := len(lakeKeys(t, data)); n != s.lake {
						t.Errorf("step %d: %d distinct records in the lake, want %d", i+1, n, s.lake)
					}
					var reasons []string
					for _, q := range quarantined(t, data) {
						reasons = append(reasons, q.Reason)
					}
					if d := cmp.Diff(s.quarantine, reasons); d != "" {
						t.Errorf("step %d: quarantine reasons (-want +got):\n%s", i+1, d)
					}
				}
			}
			// The lake holds each distinct record once.
			keys := lakeKeys(t, data)
			for k, n := range keys {
				if n != 1 {
					t.Errorf("record %+v stored %d times", k, n)
				}
			}
		})
	}
}

func TestQuarantineAndBrokenSources(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	// Bad lines among good ones.
	writeFile(t, filepath.Join(in, "bad.log"), []byte(hdr+line1+
		"2 123456789012 eni-0a1b 10.0.1.5 10.0.0.999 1 2 6 1 40 1709251300 1709251360 ACCEPT OK\n"+
		"\n"+
		"2 123456789012 eni-0a1b 10.0.1.5\n"+
		line2+
		// Values outside AWS's range of their field.
		"2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 70000 6 10 840 1709251300 1709251360 ACCEPT OK\n"+
		"2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 443 6 -10 840 1709251300 1709251360 ACCEPT OK\n"+
		"2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 443 6 10 840 1709251360 1709251300 ACCEPT OK\n"))
	// A text file with a stray NUL byte in one line: only that line is bad.
	writeFile(t, filepath.Join(in, "stray.log"), []byte(hdr+
		"2 123456789012 eni-0a1b 10.0.1.7 10.0.0.220 49153 443 6 10 840 1709251300 1709251360 ACCEPT OK\n"+
		"2 123456789012 eni-0a1b 10.0.1.7 10.0.0.220 49154 443 6 10 840 1709251300 1709251360 ACCEPT O\x00K\n"+
		"2 123456789012 eni-0a1b 10.0.1.7 10.0.0.220 49155 443 6 10 840 1709251300 1709251360 ACCEPT OK\n"))
	// A gzip object cut short: its complete lines are kept.
	var full bytes.Buffer
	zw := gzip.NewWriter(&full)
	zw.Write([]byte(hdr))
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(zw, "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 %d 443 6 10 840 1709251300 1709251360 ACCEPT OK\n", 1024+i)
	}
	zw.Close()
	writeFile(t, filepath.Join(in, "cut.log.gz"), full.Bytes()[:full.Len()/2])
	// Binary junk, and a file that claims to be gzip.
	junk := make([]byte, 5000)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	writeFile(t, filepath.Join(in, "junk.bin"), junk)
	writeFile(t, filepath.Join(in, "fake.log.gz"), []byte{0x1f, 0x8b, 0, 0, 1, 2, 3})
	writeFile(t, filepath.Join(in, "good.log.gz"), nil)
	writeGzip(t, filepath.Join(in, "good.log.gz"), hdr+line3)

	res := run(t, data, Options{}, in)
	var cut []lake.QuarantineLine
	var got []lake.QuarantineLine
	for _, q := range quarantined(t, data) {
		if q.Source == "cut.log.gz" {
			cut = append(cut, q)
			continue
		}
		got = append(got, q)
	}
	want := []lake.QuarantineLine{
		{Source: "bad.log", Line: 3, Raw: "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.999 1 2 6 1 40 1709251300 1709251360 ACCEPT OK", Reason: `column 34 (dstaddr): expected an IPv4 or IPv6 address or -, found "10.0.0.999"`},
		{Source: "bad.log", Line: 5, Raw: "2 123456789012 eni-0a1b 10.0.1.5", Reason: "column 33 (dstaddr): 4 values, but the format has 14 fields (missing dstaddr)"},
		{Source: "bad.log", Line: 7, Raw: "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 70000 6 10 840 1709251300 1709251360 ACCEPT OK", Reason: "column 51 (dstport): 70000 is out of range 0–65535"},
		{Source: "bad.log", Line: 8, Raw: "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 443 6 -10 840 1709251300 1709251360 ACCEPT OK", Reason: "column 57 (packets): -10 is out of range 0 or more"},
		{Source: "bad.log", Line: 9, Raw: "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 49152 443 6 10 840 1709251360 1709251300 ACCEPT OK", Reason: "column 75 (end): 1709251300 is before start 1709251360"},
		{Source: "fake.log.gz", Line: 0, Reason: "open " + filepath.Join(in, "fake.log.gz") + ": truncated gzip stream: the header is cut short"},
		{Source: "junk.bin", Line: 0, Reason: "binary content (a NUL byte at offset 0): not flow-log text"},
		{Source: "stray.log", Line: 3, Raw: "2 123456789012 eni-0a1b 10.0.1.7 10.0.0.220 49154 443 6 10 840 1709251300 1709251360 ACCEPT O\x00K", Reason: "column 94 (log-status): expected printable text, found the control character 0x00"},
	}
	sortQ := cmpopts.SortSlices(func(a, b lake.QuarantineLine) bool { return a.Source+fmt.Sprint(a.Line) < b.Source+fmt.Sprint(b.Line) })
	if diff := cmp.Diff(want, got, sortQ); diff != "" {
		t.Errorf("quarantine (-want +got):\n%s", diff)
	}
	if len(cut) != 1 || !strings.Contains(cut[0].Reason, "truncated gzip stream") || cut[0].Line < 2 {
		t.Errorf("truncated gzip: quarantine %+v", cut)
	}
	stored := int64(cut[0].Line - 2) // lines before the break, minus the header
	if res.RecordsStored != 5+stored || res.RecordsQuarantined != 9 {
		t.Errorf("stored %d quarantined %d, want %d and 9", res.RecordsStored, res.RecordsQuarantined, 5+stored)
	}
	broken := map[string]string{}
	for _, b := range res.Broken {
		broken[filepath.Base(b.Path)] = b.Reason
	}
	wantBroken := map[string]string{
		"fake.log.gz": "open " + filepath.Join(in, "fake.log.gz") + ": truncated gzip stream: the header is cut short (quarantined; nothing of it is stored)",
		"junk.bin":    "binary content (a NUL byte at offset 0): not flow-log text (quarantined; nothing of it is stored)",
		"cut.log.gz":  fmt.Sprintf("line %d: truncated gzip stream: unexpected EOF (quarantined; the %d lines before it are read)", cut[0].Line, cut[0].Line-1),
	}
	if diff := cmp.Diff(wantBroken, broken); diff != "" {
		t.Errorf("broken sources (-want +got):\n%s", diff)
	}
	if n := len(lakeKeys(t, data)); int64(n) != 5+stored {
		t.Errorf("%d distinct records in the lake, want %d", n, 5+stored)
	}

	// Broken sources are recorded: running again quarantines nothing more.
	res = run(t, data, Options{}, in)
	if res.RecordsQuarantined != 0 || res.RecordsStored != 0 || res.SourcesSkipped != 6 {
		t.Errorf("second run: %+v", counts(res))
	}

	// The rest of the truncated object arrives: only the missing lines are read.
	writeFile(t, filepath.Join(in, "cut.log.gz"), full.Bytes())
	res = run(t, data, Options{}, filepath.Join(in, "cut.log.gz"))
	if res.RecordsStored != 2000-stored || len(res.Grown) != 1 {
		t.Errorf("completed object: stored %d, want %d; grown %v", res.RecordsStored, 2000-stored, res.Grown)
	}
	if n := len(lakeKeys(t, data)); n != 2005 {
		t.Errorf("%d distinct records, want 2005", n)
	}
}

// TestQuarantineSourceIsAbsolute: a source named relative to the working
// folder is quarantined under its absolute path, the key the catalog knows it
// by, so the entry still says which file it was when read from elsewhere.
func TestQuarantineSourceIsAbsolute(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(in, "logs", "bad.log"), []byte(hdr+"bogus\n"))
	t.Chdir(in)
	run(t, data, Options{}, filepath.Join("logs", "bad.log"))
	paths, _ := filepath.Glob(filepath.Join(data, lake.QuarantineDir, "*.ndjson"))
	if len(paths) != 1 {
		t.Fatalf("quarantine files %v", paths)
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	var q lake.QuarantineLine
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(in, "logs", "bad.log"); q.Source != want || q.Line != 2 {
		t.Errorf("quarantined %q line %d, want %q line 2", q.Source, q.Line, want)
	}
}

// cancelAfter cancels an ingest once it has read more than n records.
type cancelAfter struct {
	n, records int64
	cancel     func()
}

func (c *cancelAfter) Start(int64) {}
func (c *cancelAfter) Finish()     {}
func (c *cancelAfter) Add(_, records int64) {
	if c.records += records; c.records > c.n {
		c.cancel()
	}
}

// TestInterruptedCounts: an interrupted ingest counts only what it committed:
// the sources read in the wave that was cut short are not stored, so they
// are not in its counts either.
func TestInterruptedCounts(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	lines := func(n, port int) string {
		var b strings.Builder
		b.WriteString(hdr)
		for i := range n {
			fmt.Fprintf(&b, "2 123456789012 eni-0a1b 10.0.1.5 10.0.0.220 %d 443 6 10 840 1709251300 1709251360 ACCEPT OK\n", port+i)
		}
		return b.String()
	}
	writeFile(t, filepath.Join(in, "a.log"), []byte(lines(6000, 1000)))   // the first wave
	writeFile(t, filepath.Join(in, "b1.log"), []byte(lines(10, 20000)))   // read whole in the second wave…
	writeFile(t, filepath.Join(in, "b2.log"), []byte(lines(5000, 30000))) // …which is cut short in this one
	sizes := map[string]int64{}
	for _, n := range []string{"a.log", "b1.log", "b2.log"} {
		st, err := os.Stat(filepath.Join(in, n))
		if err != nil {
			t.Fatal(err)
		}
		sizes[n] = st.Size()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	files, err := source.Expand([]string{in})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Workers: 1, TxnBytes: sizes["b1.log"] + sizes["b2.log"], Progress: &cancelAfter{n: 6010 + 100, cancel: cancel}}
	if o.TxnBytes >= sizes["a.log"] {
		t.Fatalf("a.log (%d bytes) must be a wave of its own", sizes["a.log"])
	}
	res, err := Run(ctx, data, files, o)
	if err == nil {
		t.Fatal("the ingest was not interrupted")
	}
	if diff := cmp.Diff(Counts{RecordsRead: 6000, RecordsStored: 6000, Sources: 1}, counts(res)); diff != "" {
		t.Errorf("interrupted ingest (-want +got):\n%s", diff)
	}
	if n := len(lakeKeys(t, data)); n != 6000 {
		t.Errorf("%d records in the lake, want 6000", n)
	}
}

// TestSourceGrowsWhileRead: lines appended to a file after it was listed (a
// writer still at work during the ingest) are not part of what this ingest
// records for it, so the next ingest sees the file as grown, not changed,
// and reads the appended lines.
func TestSourceGrowsWhileRead(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	p := filepath.Join(in, "live.log")
	writeFile(t, p, []byte(hdr+line1))
	o := Options{Workers: 1, FileRows: lake.DefaultFileRows, MemoryBudget: 1 << 20, TxnBytes: 1 << 30, Now: time.Now}
	res := &Result{}
	items, _, err := plan(data, []string{p}, res)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(line2) // after the listing, before the reading
	f.Close()
	l, err := lake.Open(context.Background(), data, lake.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = runWave(context.Background(), l, items, o, res, &claims{m: map[string]item{}})
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Counts{RecordsRead: 1, RecordsStored: 1, Sources: 1}, counts(res)); diff != "" {
		t.Errorf("ingest while the file grows (-want +got):\n%s", diff)
	}
	res = run(t, data, Options{}, p)
	if diff := cmp.Diff(Counts{RecordsRead: 2, RecordsStored: 1, RecordsSkipped: 1, Sources: 1}, counts(res)); diff != "" || len(res.Grown) != 1 {
		t.Errorf("next ingest (-want +got):\n%s\ngrown %v changed %v", diff, res.Grown, res.Changed)
	}
	if n := len(lakeKeys(t, data)); n != 2 {
		t.Errorf("%d records in the lake, want 2", n)
	}
}

func TestDataFolderInsideInput(t *testing.T) {
	in := t.TempDir()
	data := filepath.Join(in, "data")
	writeFile(t, filepath.Join(in, "a.log"), []byte(hdr+line1))
	run(t, data, Options{}, in)
	// The lake's own Parquet files are now under in: they must not be read
	// back as AWS Parquet objects.
	res := run(t, data, Options{}, in)
	if res.RecordsStored != 0 || res.SourcesSkipped != 1 || len(res.Notes) != 1 {
		t.Errorf("second run: %+v notes %v", counts(res), res.Notes)
	}
	// The same folder through a symbolic link: the data folder is still
	// recognised.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	res = run(t, data, Options{}, link)
	if res.Sources != 0 || res.RecordsQuarantined != 0 || res.RecordsStored != 0 || len(res.Notes) != 1 {
		t.Errorf("run through a link: %+v notes %v", counts(res), res.Notes)
	}
}

// TestInputInsideDataFolder: input kept in the data folder (outside what
// flowlens manages there, as the demo keeps its generated objects) is ingested.
func TestInputInsideDataFolder(t *testing.T) {
	data := t.TempDir()
	writeFile(t, filepath.Join(data, "input", "a.log"), []byte(hdr+line1))
	run(t, data, Options{}, data) // creates the lake, the catalog, staging…
	res := run(t, data, Options{}, filepath.Join(data, "input"))
	if res.RecordsStored != 0 || res.SourcesSkipped != 1 {
		t.Errorf("second run over the same input: %+v", counts(res))
	}
	data2 := t.TempDir()
	writeFile(t, filepath.Join(data2, "input", "a.log"), []byte(hdr+line1))
	if res := run(t, data2, Options{}, filepath.Join(data2, "input")); res.RecordsStored != 1 {
		t.Errorf("input inside the data folder: stored %d records, want 1 (%+v)", res.RecordsStored, counts(res))
	}
}

func TestInputKinds(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	// An AWS-delivered Parquet object: columns by name, in AWS's order and types.
	type awsRow struct {
		Version     int32  `parquet:"version"`
		AccountID   string `parquet:"account_id"`
		InterfaceID string `parquet:"interface_id"`
		Srcaddr     string `parquet:"srcaddr,optional"`
		Dstaddr     string `parquet:"dstaddr,optional"`
		Srcport     *int32 `parquet:"srcport,optional"`
		Dstport     *int32 `parquet:"dstport,optional"`
		Protocol    *int32 `parquet:"protocol,optional"`
		Packets     *int64 `parquet:"packets,optional"`
		Bytes       *int64 `parquet:"bytes,optional"`
		Start       int64  `parquet:"start"`
		End         int64  `parquet:"end"`
		Action      string `parquet:"action,optional"`
		LogStatus   string `parquet:"log_status"`
		FlowDir     string `parquet:"flow_direction,optional"`
	}
	p := func(v int32) *int32 { return &v }
	q := func(v int64) *int64 { return &v }
	var pb bytes.Buffer
	pw := parquet.NewGenericWriter[awsRow](&pb)
	pw.Write([]awsRow{
		{2, "123456789012", "eni-0a1b", "10.0.1.5", "10.0.0.220", p(49152), p(443), p(6), q(10), q(840), 1709251300, 1709251360, "ACCEPT", "OK", "egress"},
		{2, "123456789012", "eni-0a1b", "", "", nil, nil, nil, nil, nil, 1709251400, 1709251460, "", "NODATA", ""},
	})
	pw.Close()
	writeFile(t, filepath.Join(in, "aws.log.parquet"), pb.Bytes())
	// A CloudWatch Logs export, in a custom format.
	cw := `{
  "events": [
    {"logStreamName": "eni-0a1b-all", "timestamp": 1709251300000, "message": "10.0.2.1 10.0.2.2 443 1709251300 ACCEPT", "ingestionTime": 1709251360000, "eventId": "1"},
    {"logStreamName": "eni-0a1b-all", "timestamp": 1709251301000, "message": "10.0.2.1 10.0.2.3 80 1709251301 REJECT", "ingestionTime": 1709251360000, "eventId": "2"},
    {"logStreamName": "eni-0a1b-all", "timestamp": 1709251302000, "message": "not a record", "ingestionTime": 1709251360000, "eventId": "3"}
  ],
  "searchedLogStreams": [{"logStreamName": "eni-0a1b-all", "searchedCompletely": true}]
}`
	writeFile(t, filepath.Join(in, "export.json"), []byte(cw))
	// A custom format without start: records go to the day of the S3 key.
	writeFile(t, filepath.Join(in, "AWSLogs", "1", "vpcflowlogs", "us-east-1", "2024", "03", "05", "x.log"), []byte("srcaddr dstaddr dstport\n10.0.3.1 10.0.3.2 22\n"))

	format := "${srcaddr} ${dstaddr} ${dstport} ${start} ${action}"
	f, err := flowlog.ParseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, data, Options{Format: f}, in)
	if diff := cmp.Diff(Counts{RecordsRead: 6, RecordsStored: 5, RecordsQuarantined: 1, Sources: 3}, counts(res)); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	got := duckRows(t, data, `SELECT year||month||day, srcaddr, dstaddr, dstport, start, action, log_status, flow_direction, packets FROM %s ORDER BY srcaddr NULLS FIRST, start`)
	want := [][]string{
		{"20240301", "NULL", "NULL", "NULL", "1709251400", "NULL", "NODATA", "NULL", "NULL"},
		{"20240301", "10.0.1.5", "10.0.0.220", "443", "1709251300", "ACCEPT", "OK", "egress", "10"},
		{"20240301", "10.0.2.1", "10.0.2.2", "443", "1709251300", "ACCEPT", "NULL", "NULL", "NULL"},
		{"20240301", "10.0.2.1", "10.0.2.3", "80", "1709251301", "REJECT", "NULL", "NULL", "NULL"},
		{"20240305", "10.0.3.1", "10.0.3.2", "22", "NULL", "NULL", "NULL", "NULL", "NULL"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	qs := quarantined(t, data)
	if len(qs) != 1 || qs[0].Source != "export.json" || qs[0].Line != 3 || qs[0].Raw != "not a record" {
		t.Errorf("quarantine: %+v", qs)
	}
}

// TestWrongFormatCorrected: a file ingested with the wrong --format has every
// line quarantined; ingesting it again with the right one reads it again,
// since nothing of it is in the lake, and then never again.
func TestWrongFormatCorrected(t *testing.T) {
	in, data := t.TempDir(), t.TempDir()
	p := filepath.Join(in, "custom.log")
	writeFile(t, p, []byte("10.0.0.1 10.0.0.2 443 1709251200 ACCEPT\n10.0.0.3 10.0.0.2 22 1709251260 REJECT\n"))
	right := flowlog.MustFormat("${srcaddr} ${dstaddr} ${dstport} ${start} ${action}")
	other := flowlog.MustFormat("${srcaddr} ${dstaddr} ${srcport} ${dstport} ${start} ${action}")
	steps := []struct {
		name   string
		o      Options
		want   Counts
		reread int
	}{
		{"default format: every line quarantined", Options{}, Counts{RecordsRead: 2, RecordsQuarantined: 2, Sources: 1}, 0},
		{"the same format again: skipped", Options{}, Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 1}, 0},
		{"the right format: read again", Options{Format: right}, Counts{RecordsRead: 2, RecordsStored: 2, Sources: 1}, 1},
		{"stored now: skipped", Options{Format: right}, Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 1}, 0},
		// Some records are in the lake: another format is no reason to
		// read it again, which would store them twice.
		{"another format after storing: skipped", Options{Format: other}, Counts{RecordsRead: 2, RecordsSkipped: 2, SourcesSkipped: 1}, 0},
	}
	for i, s := range steps {
		res := run(t, data, s.o, p)
		if diff := cmp.Diff(s.want, counts(res)); diff != "" || len(res.Reread) != s.reread {
			t.Errorf("step %d, %s (-want +got):\n%s\nreread %v", i+1, s.name, diff, res.Reread)
		}
		// The first run says what to do about it.
		noted := slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "every line of "+p+" was quarantined") })
		if noted != (i == 0) {
			t.Errorf("step %d: notes %q", i+1, res.Notes)
		}
	}
	if n := len(lakeKeys(t, data)); n != 2 {
		t.Errorf("%d records in the lake, want 2", n)
	}
	if q := quarantined(t, data); len(q) != 2 {
		t.Errorf("%d quarantined lines, want the 2 of the first run: %v", len(q), q)
	}
}
