package ingest

import (
	"fmt"
	"os"
	"testing"
)

func TestScratchCols(t *testing.T) {
	p := os.Getenv("PQ")
	if p == "" {
		t.Skip()
	}
	for _, r := range duckRows(t, "/nonexistent", fmt.Sprintf(`SELECT path_in_schema, sum(total_compressed_size)::VARCHAR s, sum(total_uncompressed_size)::VARCHAR, count(*)::VARCHAR FROM parquet_metadata('%s') GROUP BY 1 ORDER BY sum(total_compressed_size) DESC LIMIT 14 --%%s`, p)) {
		t.Log(r)
	}
}
