package lake

import (
	"database/sql"
	"os"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestScratchDuck(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	os.RemoveAll("/tmp/lk/duck")
	t0 := time.Now()
	_, err = db.Exec(`SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;
	COPY (SELECT *, strftime(to_timestamp(start), '%Y') AS year, strftime(to_timestamp(start), '%m') AS month, strftime(to_timestamp(start), '%d') AS day
	  FROM read_csv('/tmp/lk/in/**/*.log.gz', delim=' ', header=true, nullstr='-')) TO '/tmp/lk/duck' (FORMAT parquet, PARTITION_BY (year, month, day), COMPRESSION zstd)`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("duckdb: %v", time.Since(t0))
	var n int64
	db.QueryRow(`SELECT count(*) FROM read_parquet('/tmp/lk/duck/**/*.parquet')`).Scan(&n)
	t.Log(n)
}
