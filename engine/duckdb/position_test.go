package duckdb

import (
	"strings"
	"testing"
)

func TestErrorPosition(t *testing.T) {
	long := "SELECT srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes FROM vpc_flow_logs WHERE nosuch = 1"
	tests := []struct {
		query, rendering string
		want             int
	}{
		{"SELECT x FROM t", "LINE 1: SELECT x FROM t\n               ^", 7},
		{"SELECT a,\n  bad FROM t", "LINE 2:   bad FROM t\n          ^", 12},
		{"SELECT a,\r\n  bad FROM t", "LINE 2:   bad FROM t\n          ^", 13},
		{long, "LINE 1: ...dstport, protocol, packets, bytes FROM vpc_flow_logs WHERE nosuch = 1\n" +
			strings.Repeat(" ", len("LINE 1: ...dstport, protocol, packets, bytes FROM vpc_flow_logs WHERE ")) + "^", strings.Index(long, "nosuch")},
		{"SELECT é, bad", "LINE 1: SELECT é, bad\n                  ^", strings.Index("SELECT é, bad", "bad")},
		{"SELECT '東京', bad", "LINE 1: SELECT '東京', bad\n                       ^", strings.Index("SELECT '東京', bad", "bad")},
		{"SELECT 1", "LINE 3: SELECT 1\n        ^", -1}, // no such line
		{"SELECT 1", "LINE 1: SELECT 2\n        ^", -1}, // not this query
		{"SELECT 1", "LINE x: SELECT 1\n        ^", -1}, // not a number
		{"SELECT 1", "no rendering", -1},
	}
	for _, tt := range tests {
		if got := errorPosition(tt.query, tt.rendering); got != tt.want {
			t.Errorf("errorPosition(%q, %q) = %d, want %d", tt.query, tt.rendering, got, tt.want)
		}
	}
}

func TestStatementWords(t *testing.T) {
	tests := []struct {
		query  string
		first  string
		second int
	}{
		{"SELECT 1", "SELECT", -1},
		{"  -- c\n/* d */ copy x to 'y'", "COPY", -1},
		{"SELECT ';' AS s; DROP VIEW x", "SELECT", 15},
		{`SELECT 1 AS "a;b"`, "SELECT", -1},
		{"SELECT 1; -- trailing", "SELECT", -1},
		{"SELECT 1;  ", "SELECT", -1},
		{"SELECT 1 /* ; */; SELECT 2", "SELECT", 16},
		{"", "this statement", -1},
	}
	for _, tt := range tests {
		kw, _ := firstKeyword(tt.query)
		if kw != tt.first || secondStatement(tt.query) != tt.second {
			t.Errorf("%q: first %q second %d, want %q %d", tt.query, kw, secondStatement(tt.query), tt.first, tt.second)
		}
	}
}

// FuzzErrorPosition checks that positions read from DuckDB's error rendering
// always point inside the query.
func FuzzErrorPosition(f *testing.F) {
	f.Add("SELECT x FROM t", "LINE 1: SELECT x FROM t\n               ^")
	f.Add("SELECT a,\n  bad", "LINE 2: ...bad...\n           ^")
	f.Add("x", "LINE 0: \n^")
	f.Fuzz(func(t *testing.T, query, rendering string) {
		p := errorPosition(query, rendering)
		if p < -1 || p > len(query) {
			t.Fatalf("position %d outside a query of %d bytes", p, len(query))
		}
		if i := secondStatement(query); i < -1 || i >= len(query) {
			t.Fatalf("second statement at %d in a query of %d bytes", i, len(query))
		}
		if _, i := firstKeyword(query); i < 0 || i > len(query) {
			t.Fatalf("first keyword at %d in a query of %d bytes", i, len(query))
		}
	})
}
