// Package baseline runs the reference that flowlens ingest is measured
// against: DuckDB's own read_csv of the same flow-log gzip files, COPY'd to
// Parquet partitioned by year, month and day of start, with zstd, the way a
// user would do it by hand. It sits beside ingest for benchmarks (the ingest
// benchmark and `flowlens bench`); nothing in the ingest path uses it.
package baseline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the DuckDB driver
)

// quote makes s a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Query returns the COPY statement that converts the files matched by glob
// (space-separated flow-log text with a header line, gzip or not) into
// Parquet under outDir, partitioned by the UTC day of start.
func Query(glob, outDir string) string {
	return fmt.Sprintf(`COPY (
  SELECT *,
    strftime(make_timestamp(start * 1000000), '%%Y') AS year,
    strftime(make_timestamp(start * 1000000), '%%m') AS month,
    strftime(make_timestamp(start * 1000000), '%%d') AS day
  FROM read_csv(%s, delim = ' ', header = true, nullstr = '-')
) TO %s (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month, day))`, quote(glob), quote(outDir))
}

// DuckDBCopy runs Query in a new in-memory DuckDB (which fetches no
// extensions) using every core.
func DuckDBCopy(ctx context.Context, glob, outDir string) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false"); err != nil {
		return fmt.Errorf("configure duckdb: %w", err)
	}
	if _, err := db.ExecContext(ctx, Query(glob, outDir)); err != nil {
		return fmt.Errorf("duckdb copy: %w", err)
	}
	return nil
}
