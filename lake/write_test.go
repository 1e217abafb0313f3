package lake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/ingest/ingesttest"
	"github.com/flowlens/flowlens/source"
)

// benchBatch parses a generated day of default-format records into one batch.
func benchBatch(b *testing.B, records int) *Batch {
	b.Helper()
	dir := b.TempDir()
	if _, err := ingesttest.Write(dir, ingesttest.Config{Days: 1, ObjectsPerDay: 20, RecordsPerFile: records / 20, V5Every: -1}); err != nil {
		b.Fatal(err)
	}
	files, err := source.Expand([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	batch := NewBatch(0, records)
	for _, name := range files {
		f, err := source.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		sc := flowlog.NewScanner(f, flowlog.ScanOptions{})
		for {
			r, err := sc.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			batch.Append(r, sc.Format())
		}
		f.Close()
	}
	return batch
}

// BenchmarkWritePath compares the two ways of turning a batch into a sorted,
// zstd Parquet file: parquet-go column writers (what the lake uses) and
// DuckDB's Appender followed by COPY … TO parquet.
func BenchmarkWritePath(b *testing.B) {
	const records = 200_000
	batch := benchBatch(b, records)
	b.Run("parquet-go", func(b *testing.B) {
		out := filepath.Join(b.TempDir(), "f.parquet")
		for range b.N {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := WriteFile(f, batch, WriteOptions{}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("duckdb-appender", func(b *testing.B) {
		c, err := duckdb.NewConnector("", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		db := sql.OpenDB(c)
		defer db.Close()
		var defs []string
		for _, col := range Columns() {
			typ := "VARCHAR"
			switch col.Physical {
			case "INT32":
				typ = "INTEGER"
			case "INT64":
				typ = "BIGINT"
			}
			defs = append(defs, `"`+col.Name+`" `+typ)
		}
		out := filepath.Join(b.TempDir(), "f.parquet")
		perm, _ := batch.order(DefaultRowGroupRows)
		args := make([]driver.Value, flowlog.NumFields+1)
		for range b.N {
			if _, err := db.Exec("CREATE OR REPLACE TABLE t (" + strings.Join(defs, ",") + ")"); err != nil {
				b.Fatal(err)
			}
			conn, err := c.Connect(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			app, err := duckdb.NewAppenderFromConn(conn, "", "t")
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range perm {
				for id := range flowlog.NumFields {
					args[id] = nil
					cc := batch.cols[id]
					switch {
					case cc == nil:
					case cc.typ == flowlog.Int32:
						if v, ok := cc.int(int(r)); ok {
							args[id] = int32(v)
						}
					case cc.typ == flowlog.Int64:
						if v, ok := cc.int(int(r)); ok {
							args[id] = v
						}
					default:
						if x := cc.id(int(r)); x != 0 {
							args[id] = cc.vals[x]
						}
					}
				}
				args[flowlog.NumFields] = nil
				if err := app.AppendRow(args...); err != nil {
					b.Fatal(err)
				}
			}
			if err := app.Close(); err != nil {
				b.Fatal(err)
			}
			conn.Close()
			if _, err := db.Exec(`COPY t TO '` + out + `' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)`); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkAppendBatch measures merging batches (the end of an ingest wave).
func BenchmarkAppendBatch(b *testing.B) {
	src := benchBatch(b, 100_000)
	b.ResetTimer()
	for range b.N {
		dst := NewBatch(0, 0)
		dst.AppendBatch(src)
		dst.Release()
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
