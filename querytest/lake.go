package querytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/lake"
)

// LakeWriter turns flow-log records into lake Parquet files laid out as
// DATA/lake/vpc_flow_logs/year=YYYY/month=MM/day=DD/*.parquet (UTC, by record
// start), written by the lake package's own writer (lake.WriteFile): one
// nullable column per registry field plus extra, sorted, zstd. It skips the
// lake's catalog and transactions, which query tests do not need.
type LakeWriter struct {
	days map[lake.Day]*lake.Batch
	n    int
}

// NewLakeWriter returns a writer that buffers records until WriteTo.
func NewLakeWriter(ctx context.Context) (*LakeWriter, error) {
	return &LakeWriter{days: map[lake.Day]*lake.Batch{}}, nil
}

// Add buffers one record read in format f.
func (w *LakeWriter) Add(r *flowlog.Record, f *flowlog.Format) error {
	start, ok := r.Int(flowlog.Start)
	if !ok {
		return errors.New("a record without start has no partition")
	}
	d := lake.DayOf(start)
	b := w.days[d]
	if b == nil {
		b = lake.NewBatch(d, 1024)
		w.days[d] = b
	}
	b.Append(r, f)
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
		if err := w.Add(rec, sc.Format()); err != nil {
			return n, fmt.Errorf("line %d: %w", sc.Line(), err)
		}
		n++
	}
}

// Len returns the number of records buffered.
func (w *LakeWriter) Len() int { return w.n }

// WriteTo writes the buffered records as one file per day under lakeDir, which
// must not hold files yet.
func (w *LakeWriter) WriteTo(ctx context.Context, lakeDir string) error {
	if err := os.MkdirAll(lakeDir, 0o755); err != nil {
		return err
	}
	for d, b := range w.days {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := filepath.Join(lakeDir, d.Dir())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		name := filepath.Join(dir, "part-0.parquet")
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		if _, err := lake.WriteFile(f, b, lake.WriteOptions{Parallel: 2}); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the writer.
func (w *LakeWriter) Close() error { return nil }

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
