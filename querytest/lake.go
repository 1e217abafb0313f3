package querytest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/flowlens/flowlens/flowlog"
)

// LakeWriter turns flow-log records into lake Parquet files laid out as
// DATA/lake/vpc_flow_logs/year=YYYY/month=MM/day=DD/*.parquet (UTC, by record
// start), one nullable column per registry field (INT32, INT64 or UTF8) plus a
// nullable string column extra holding the JSON object of fields the registry
// does not know. Rows are sorted by start within each day.
//
// It stands in for the lake package's writer in tests and benchmarks: records
// go into a DuckDB table through the appender, and one partitioned COPY writes
// the files.
type LakeWriter struct {
	db   *sql.DB
	conn *sql.Conn
	app  *duck.Appender
	vals []driver.Value
	n    int
}

// NewLakeWriter returns a writer that buffers records until WriteTo.
func NewLakeWriter(ctx context.Context) (*LakeWriter, error) {
	db, err := sql.Open("duckdb", "?autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	w := &LakeWriter{db: db}
	if w.conn, err = db.Conn(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	var cols []string
	for _, f := range flowlog.Fields() {
		cols = append(cols, fmt.Sprintf("%q %s", f.Column, f.Type.SQL()))
	}
	cols = append(cols, "extra VARCHAR", "year VARCHAR", "month VARCHAR", "day VARCHAR")
	if _, err := w.conn.ExecContext(ctx, "CREATE TABLE records ("+strings.Join(cols, ", ")+")"); err != nil {
		w.Close()
		return nil, fmt.Errorf("create the records table: %w", err)
	}
	err = w.conn.Raw(func(dc any) error {
		var err error
		w.app, err = duck.NewAppenderFromConn(dc.(driver.Conn), "", "records")
		return err
	})
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("create the appender: %w", err)
	}
	w.vals = make([]driver.Value, len(flowlog.Fields())+4)
	return w, nil
}

// Add buffers one record; unknown names the format's fields the registry does
// not know (Format.Unknown), whose values go to extra.
func (w *LakeWriter) Add(r *flowlog.Record, unknown []string) error {
	for i, f := range flowlog.Fields() {
		switch {
		case r.IsNull(f.ID):
			w.vals[i] = nil
		case f.Type == flowlog.Int32:
			v, _ := r.Int(f.ID)
			w.vals[i] = int32(v)
		case f.Type == flowlog.Int64:
			v, _ := r.Int(f.ID)
			w.vals[i] = v
		default:
			s, _ := r.Str(f.ID)
			w.vals[i] = strings.Clone(s)
		}
	}
	n := len(flowlog.Fields())
	w.vals[n] = nil
	if len(unknown) > 0 {
		extra := map[string]any{}
		for _, name := range unknown {
			if v, ok := r.Extra(name); ok {
				extra[name] = v
			} else {
				extra[name] = nil
			}
		}
		b, err := json.Marshal(extra)
		if err != nil {
			return err
		}
		w.vals[n] = string(b)
	}
	start, ok := r.Int(flowlog.Start)
	if !ok {
		return errors.New("a record without start has no partition")
	}
	t := time.Unix(start, 0).UTC()
	w.vals[n+1], w.vals[n+2], w.vals[n+3] = t.Format("2006"), t.Format("01"), t.Format("02")
	if err := w.app.AppendRow(w.vals...); err != nil {
		return fmt.Errorf("append record: %w", err)
	}
	w.n++
	return nil
}

// AddLines parses flow-log lines (plain text, header lines switch the format)
// and buffers every record. format is the format until a header says
// otherwise; nil means AWS's default.
func (w *LakeWriter) AddLines(r io.Reader, format *flowlog.Format) (int, error) {
	sc := flowlog.NewScanner(r, flowlog.ScanOptions{Format: format})
	n := 0
	for {
		rec, err := sc.Next()
		if err == io.EOF {
			return n, nil
		}
		var le *flowlog.LineError
		if errors.As(err, &le) {
			return n, fmt.Errorf("line %d: %w", le.Line, le.Err)
		}
		if err != nil {
			return n, err
		}
		if err := w.Add(rec, sc.Format().Unknown()); err != nil {
			return n, fmt.Errorf("line %d: %w", sc.Line(), err)
		}
		n++
	}
}

// Len returns the number of records buffered.
func (w *LakeWriter) Len() int { return w.n }

// WriteTo writes the buffered records as a new lake under lakeDir, which must
// not hold files yet.
func (w *LakeWriter) WriteTo(ctx context.Context, lakeDir string) error {
	if err := w.app.Flush(); err != nil {
		return fmt.Errorf("flush records: %w", err)
	}
	if err := os.MkdirAll(lakeDir, 0o755); err != nil {
		return err
	}
	if w.n == 0 {
		return nil
	}
	q := fmt.Sprintf("COPY (SELECT * FROM records ORDER BY year, month, day, start) TO '%s' "+
		"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month, day), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-{i}')",
		strings.ReplaceAll(lakeDir, "'", "''"))
	if _, err := w.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("write the lake %s: %w", lakeDir, err)
	}
	return nil
}

// Close releases the writer.
func (w *LakeWriter) Close() error {
	var errs []error
	if w.app != nil {
		errs = append(errs, w.app.Close())
	}
	if w.conn != nil {
		errs = append(errs, w.conn.Close())
	}
	errs = append(errs, w.db.Close())
	return errors.Join(errs...)
}

// WriteLake parses flow-log lines and writes them as a lake under lakeDir.
func WriteLake(ctx context.Context, lakeDir string, lines io.Reader, format *flowlog.Format) (int, error) {
	w, err := NewLakeWriter(ctx)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	n, err := w.AddLines(lines, format)
	if err != nil {
		return n, err
	}
	return n, w.WriteTo(ctx, lakeDir)
}
