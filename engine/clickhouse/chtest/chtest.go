// Package chtest connects tests to the real ClickHouse server that
// scripts/services/clickhouse.sh runs on 127.0.0.1: it finds the server's URL
// in FLOWLENS_CLICKHOUSE_URL or in the clickhouse.env the script wrote
// ($FLOWLENS_CACHE, default ~/.cache/flowlens), skips the test with a clear
// message when the server is absent or does not answer, and names throw-away
// databases that are dropped when the test ends.
//
// It sits beside engine/clickhouse only for tests; production code never
// imports it. Its functions are URL, Database and Spec.
package chtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/engine/clickhouse"
)

// URL returns the URL of the test ClickHouse, such as http://127.0.0.1:PORT,
// without a trailing slash, or skips the test when there is none or it does
// not answer.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("FLOWLENS_CLICKHOUSE_URL")
	if u == "" {
		cache := os.Getenv("FLOWLENS_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "flowlens")
		}
		if f, err := os.Open(filepath.Join(cache, "clickhouse.env")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "FLOWLENS_CLICKHOUSE_URL="); ok {
					u = v
				}
			}
			f.Close()
		}
	}
	if u == "" {
		t.Skip("no ClickHouse: run scripts/services/clickhouse.sh (or set FLOWLENS_CLICKHOUSE_URL)")
	}
	c, err := clickhouse.ParseDSN(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(t.Context(), "SELECT 1"); err != nil {
		t.Skipf("no ClickHouse answering at %s (%v): run scripts/services/clickhouse.sh", u, err)
	}
	return strings.TrimRight(u, "/")
}

// Database returns the URL of the test ClickHouse (as URL does) and the name
// of a new database, flowlens_test_ and random hex, that nothing has created
// yet and that is dropped when the test ends.
func Database(t testing.TB) (url, db string) {
	t.Helper()
	url = URL(t)
	c, err := clickhouse.ParseDSN(url)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	db = "flowlens_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+clickhouse.QuoteIdent(db)) })
	return url, db
}

// Spec returns an engine spec, clickhouse://HOST:PORT/DATABASE, for a new
// database of the test ClickHouse that is dropped when the test ends.
func Spec(t testing.TB) string {
	t.Helper()
	url, db := Database(t)
	return strings.Replace(url, "http://", "clickhouse://", 1) + "/" + db
}
