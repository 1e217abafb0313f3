package main

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/engine"
)

// TestQueryError checks how engine errors are shown: where the caret goes,
// what follows it, and the exit code.
func TestQueryError(t *testing.T) {
	const sql = "SELECT \"srcaddr\"\nFROM \"vpc_flow_logs\"\nWHERE CAST(\"action\" AS INTEGER) = 1"
	at := func(s string) int {
		for i := range sql {
			if sql[i:min(len(sql), i+len(s))] == s {
				return i
			}
		}
		t.Fatalf("%q not in the SQL", s)
		return -1
	}
	tests := []struct {
		name      string
		err       error
		text, sql string
		lang      string
		code      int
		want      string
	}{
		{name: "sql", lang: "sql", text: sql, sql: sql, code: exitUsage,
			err:  &engine.Error{Kind: engine.Invalid, Msg: "Binder Error: nope\nCandidate bindings: \"a\"", Hint: "fix it", Pos: at("CAST"), SQL: sql},
			want: "query:3:7: Binder Error: nope\nWHERE CAST(\"action\" AS INTEGER) = 1\n      ^~~~\nCandidate bindings: \"a\"\nhint: fix it"},
		{name: "compiled", lang: "insights", text: "filter action = 1", sql: sql, code: exitUsage,
			err: &engine.Error{Kind: engine.Invalid, Msg: "Conversion Error: no", Pos: at("CAST"), SQL: sql},
			want: "compiled SQL:3:7: Conversion Error: no\nWHERE CAST(\"action\" AS INTEGER) = 1\n      ^~~~\n" +
				"note: the error is in the SQL compiled from the Insights query; --print-sql shows it"},
		{name: "compiled, not the query's fault", lang: "insights", text: "filter action = 1", sql: sql, code: exitFailure,
			err:  &engine.Error{Kind: engine.Runtime, Msg: "Invalid Input Error: File 'x.parquet' too small to be a Parquet file", Pos: -1, SQL: sql},
			want: "Invalid Input Error: File 'x.parquet' too small to be a Parquet file"},
		{name: "no position", lang: "sql", text: sql, sql: sql, code: exitUsage,
			err:  &engine.Error{Kind: engine.Refused, Msg: "not allowed", Pos: -1, SQL: sql},
			want: "query: not allowed"},
		{name: "timeout", lang: "sql", text: sql, sql: sql, code: exitFailure,
			err:  &engine.Error{Kind: engine.Timeout, Msg: "query stopped after its time limit of 1s", Hint: "raise --timeout", Pos: -1, SQL: sql},
			want: "query stopped after its time limit of 1s\nhint: raise --timeout"},
		{name: "other", lang: "sql", text: sql, sql: sql, code: exitFailure, err: errors.New("disk on fire"), want: "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ee *exitError
			if !errors.As(queryError(tt.err, tt.text, tt.sql, tt.lang), &ee) {
				t.Fatal("not an *exitError")
			}
			if ee.code != tt.code {
				t.Errorf("exit code %d, want %d", ee.code, tt.code)
			}
			if d := cmp.Diff(tt.want, ee.err.Error()); d != "" {
				t.Errorf("message (-want +got):\n%s", d)
			}
		})
	}
}
