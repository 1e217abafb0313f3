package querytest

import (
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
)

// BenchData is one generated dataset in the three forms the query benchmark
// compares: gzip text as AWS delivers it to S3 (one object per VPC flow log and
// 5 minutes, header line first), the lake, and a plain Parquet copy (one
// unsorted, unpartitioned file written with DuckDB's default settings).
type BenchData struct {
	Records int64
	Files   int    // gzip objects
	RawGlob string // the gzip text files
	Lake    string // the lake's vpc_flow_logs folder
	Plain   string // the plain Parquet file
	// Bytes of each form on disk.
	RawBytes, LakeBytes, PlainBytes int64
}

// PrepareBench writes records records of the project's generator (package
// gen: a week of March 2024, AWS's default format, attacks included) under
// dir in the three forms; LakeWriter (the lake package's writer) writes the
// lake from the parsed lines.
func PrepareBench(ctx context.Context, dir string, records int) (*BenchData, error) {
	raw := filepath.Join(dir, "raw")
	d := &BenchData{
		RawGlob: filepath.Join(raw, "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*.log.gz"),
		Lake:    filepath.Join(dir, "lake", "vpc_flow_logs"),
		Plain:   filepath.Join(dir, "plain", "flows.parquet"),
	}
	if err := os.MkdirAll(filepath.Dir(d.Plain), 0o755); err != nil {
		return nil, err
	}
	sum, err := gen.Generate(ctx, gen.Config{Records: int64(records), Seed: 1, Hours: 7 * 24,
		Format: flowlog.Default(), Layout: gen.LayoutS3}, raw)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	d.Records, d.Files = sum.Records, sum.Files
	w, err := NewLakeWriter(ctx)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(d.RawGlob)
	if err != nil {
		return nil, err
	}
	if len(files) != sum.Files {
		return nil, fmt.Errorf("%s matches %d files, the generator wrote %d", d.RawGlob, len(files), sum.Files)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(f)
		if err == nil {
			_, err = w.AddLines(zr, nil)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := w.WriteTo(ctx, d.Lake); err != nil {
		return nil, err
	}
	if err := WritePlain(ctx, d.RawGlob, d.Plain); err != nil {
		return nil, err
	}
	d.Measure()
	return d, nil
}

// WritePlain writes the plain Parquet copy of the default-format gzip text
// files matched by rawGlob: one unsorted, unpartitioned file with DuckDB's
// default settings, as a user converting the text by hand would get.
func WritePlain(ctx context.Context, rawGlob, plain string) error {
	db, err := baseline(ctx, rawGlob, "")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "COPY (SELECT * FROM vpc_flow_logs) TO "+sqlString(plain)+" (FORMAT parquet)"); err != nil {
		return fmt.Errorf("write the plain Parquet copy: %w", err)
	}
	return nil
}

// Measure fills in the bytes on disk of each form of the data.
func (d *BenchData) Measure() {
	d.RawBytes, _ = du(d.RawGlob)
	d.LakeBytes, _ = du(filepath.Join(d.Lake, "*", "*", "*", "*.parquet"))
	d.PlainBytes, _ = du(d.Plain)
}

func du(glob string) (int64, error) {
	m, err := filepath.Glob(glob)
	var n int64
	for _, f := range m {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n, err
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// baseline opens a plain DuckDB whose vpc_flow_logs view reads the gzip text
// with read_csv (plain == "") or the plain Parquet copy: the ways to query the
// data without flowlens. Both views have the default format's columns and
// year, month and day derived from start, so the guide queries run on them.
func baseline(ctx context.Context, rawGlob, plain string) (*sql.DB, error) {
	db, err := sql.Open("duckdb", "?autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		return nil, err
	}
	var view string
	if plain != "" {
		view = "SELECT * FROM read_parquet(" + sqlString(plain) + ")"
	} else {
		var cols []string
		for _, ff := range flowlog.Default().Fields {
			f := flowlog.FieldByID(ff.ID)
			cols = append(cols, fmt.Sprintf("'%s': '%s'", f.Column, f.Type.SQL()))
		}
		view = "SELECT *, strftime(to_timestamp(start), '%Y') AS year, strftime(to_timestamp(start), '%m') AS month, " +
			"strftime(to_timestamp(start), '%d') AS day FROM read_csv(" + sqlString(rawGlob) +
			", delim = ' ', header = true, auto_detect = false, nullstr = '-', compression = 'gzip', columns = {" + strings.Join(cols, ", ") + "})"
	}
	if _, err := db.ExecContext(ctx, "CREATE VIEW vpc_flow_logs AS "+view); err != nil {
		db.Close()
		return nil, fmt.Errorf("define the baseline view: %w", err)
	}
	return db, nil
}

// BenchResult is the time of one guide query on each form of the data: the
// best of the runs.
type BenchResult struct {
	Query            string
	Rows             int
	Lake, Raw, Plain time.Duration
}

// VsRaw is how many times faster the lake answered than DuckDB over the gzip text.
func (r BenchResult) VsRaw() float64 { return r.Raw.Seconds() / r.Lake.Seconds() }

// VsPlain is how many times faster the lake answered than DuckDB over the plain copy.
func (r BenchResult) VsPlain() float64 { return r.Plain.Seconds() / r.Lake.Seconds() }

// RunBench runs every guide query runs times on the lake (through the
// engine, as flowlens query does) and on the plain copy, and half as many
// times on the gzip text, and returns the best times. The answers must agree. compile turns Insights into SQL (CompileInsights).
func RunBench(ctx context.Context, d *BenchData, compile func(query, dialect string) (string, error), runs int) ([]BenchResult, error) {
	if runs < 1 {
		runs = 1
	}
	lake, err := duckdb.Open(ctx, d.Lake, duckdb.Options{})
	if err != nil {
		return nil, err
	}
	defer lake.Close()
	raw, err := baseline(ctx, d.RawGlob, "")
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	plain, err := baseline(ctx, "", d.Plain)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	var out []BenchResult
	for _, q := range GuideQueries {
		text := q.Text
		if q.Lang == "insights" {
			if text, err = compile(q.Text, lake.Dialect()); err != nil {
				return nil, fmt.Errorf("%s: %w", q.Name, err)
			}
		}
		r := BenchResult{Query: q.Name}
		var keys [3][]string
		runLake := func() error {
			t0 := time.Now()
			res, err := lake.Query(ctx, engine.Request{SQL: text})
			if err != nil {
				return fmt.Errorf("%s on the lake: %w", q.Name, err)
			}
			r.Lake = best(r.Lake, time.Since(t0))
			r.Rows, keys[0] = len(res.Rows), lastColumn(Cells(res))
			return nil
		}
		runBase := func(db *sql.DB, d *time.Duration, k *[]string) error {
			t0 := time.Now()
			rows, err := queryAll(ctx, db, text)
			if err != nil {
				return fmt.Errorf("%s on the baseline: %w", q.Name, err)
			}
			*d = best(*d, time.Since(t0))
			*k = lastColumn(rows)
			return nil
		}
		// The lake and the plain copy take turns going first, so that neither
		// gains from the other's warm caches; the slow gzip text runs fewer times.
		for i := 0; i < runs; i++ {
			steps := []func() error{runLake, func() error { return runBase(plain, &r.Plain, &keys[2]) }}
			if i%2 == 1 {
				steps[0], steps[1] = steps[1], steps[0]
			}
			if i < max(1, runs/2) {
				steps = append(steps, func() error { return runBase(raw, &r.Raw, &keys[1]) })
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return nil, err
				}
			}
		}
		// Ties may pick different rows at a limit, but the ranked values agree.
		if !slices.Equal(keys[0], keys[1]) || !slices.Equal(keys[0], keys[2]) {
			return nil, fmt.Errorf("%s: the answers differ between the lake and the baselines", q.Name)
		}
		out = append(out, r)
	}
	return out, nil
}

func best(cur, d time.Duration) time.Duration {
	if cur == 0 || d < cur {
		return d
	}
	return cur
}

func lastColumn(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[len(r)-1]
	}
	sort.Strings(out)
	return out
}

func queryAll(ctx context.Context, db *sql.DB, q string) ([][]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case int32:
				v = int64(x)
			case int16:
				v = int64(x)
			case int8:
				v = int64(x)
			}
			row[i] = Cell(v)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// FormatBench renders results as a table for people.
func FormatBench(w io.Writer, d *BenchData, rs []BenchResult) error {
	if d == nil {
		return errors.New("no data")
	}
	fmt.Fprintf(w, "%d records: gzip text %.1f MB in %d objects, lake %.1f MB, plain Parquet %.1f MB\n",
		d.Records, float64(d.RawBytes)/1e6, d.Files, float64(d.LakeBytes)/1e6, float64(d.PlainBytes)/1e6)
	fmt.Fprintf(w, "%-18s %6s %10s %10s %10s %9s %9s\n", "query", "rows", "lake", "gzip text", "plain", "vs gzip", "vs plain")
	for _, r := range rs {
		fmt.Fprintf(w, "%-18s %6d %10s %10s %10s %8.1fx %8.2fx\n", r.Query, r.Rows,
			r.Lake.Round(time.Millisecond/10), r.Raw.Round(time.Millisecond), r.Plain.Round(time.Millisecond/10), r.VsRaw(), r.VsPlain())
	}
	return nil
}
