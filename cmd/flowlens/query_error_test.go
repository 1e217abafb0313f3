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
	const (
		tryCastHint  = "TRY_CAST(x AS type) gives NULL instead of failing on values that do not convert"
		depthMsg     = `Binder Error: Max expression depth limit of 1000 exceeded. Use "SET max_expression_depth TO x" to increase the maximum expression depth.`
		endHint      = `end is a reserved word in SQL: for the flow-log field, write "end" in double quotes, or its alias windowend`
		compiledNote = "note: the error is in the SQL compiled from the Insights query; --print-sql shows it"
	)
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
		// The engine's advice about SQL is for SQL queries; an Insights
		// query gets advice about what to write in Insights instead.
		{name: "conversion, sql", lang: "sql", text: sql, sql: sql, code: exitUsage,
			err:  &engine.Error{Kind: engine.Invalid, Msg: "Conversion Error: Could not convert string 'ACCEPT' to INT32", Hint: tryCastHint, Pos: -1, SQL: sql},
			want: "query: Conversion Error: Could not convert string 'ACCEPT' to INT32\nhint: " + tryCastHint},
		{name: "conversion, insights", lang: "insights", text: "filter action = 1", sql: sql, code: exitUsage,
			err: &engine.Error{Kind: engine.Invalid, Msg: "Conversion Error: Could not convert string 'ACCEPT' to INT32", Hint: tryCastHint, Pos: -1, SQL: sql},
			want: "query: Conversion Error: Could not convert string 'ACCEPT' to INT32\n" +
				`hint: a value of the query did not convert to the type it meets: compare number fields (dstport, bytes) with numbers that fit them, text fields with quoted text, and @timestamp with a time such as "2024-03-01T12:00:00Z"` + "\n" + compiledNote},
		{name: "expression depth, sql", lang: "sql", text: sql, sql: sql, code: exitUsage,
			err:  &engine.Error{Kind: engine.Invalid, Msg: depthMsg, Pos: -1, SQL: sql},
			want: "query: " + depthMsg},
		{name: "expression depth, insights", lang: "insights", text: "filter dstport = 1 or dstport = 2", sql: sql, code: exitUsage,
			err: &engine.Error{Kind: engine.Invalid, Msg: depthMsg, Pos: -1, SQL: sql},
			want: "query: Binder Error: Max expression depth limit of 1000 exceeded.\n" +
				"hint: the query nests too deeply for the engine: write many comparisons of one field as field in [...], and split deeply nested expressions into steps with fields ... as\n" + compiledNote},
		{name: "reserved end, insights", lang: "insights", text: "fields end", sql: sql, code: exitUsage,
			err:  &engine.Error{Kind: engine.Invalid, Msg: `syntax error: at or near "end"`, Hint: endHint, Pos: -1, SQL: sql},
			want: "query: syntax error: at or near \"end\"\nhint: name the field end as endTime or windowend\n" + compiledNote},
		{name: "reserved end, sql", lang: "sql", text: sql, sql: sql, code: exitUsage,
			err:  &engine.Error{Kind: engine.Invalid, Msg: `syntax error: at or near "end"`, Hint: endHint, Pos: -1, SQL: sql},
			want: "query: syntax error: at or near \"end\"\nhint: " + endHint},
		{name: "group by, insights", lang: "insights", text: "stats count(*) by srcaddr", sql: sql, code: exitUsage,
			err: &engine.Error{Kind: engine.Invalid, Msg: "column dstaddr must appear in GROUP BY or be aggregated", Pos: -1, SQL: sql,
				Hint: "add dstaddr to the GROUP BY list to get one row per value, or aggregate it, e.g. COUNT(DISTINCT dstaddr), MAX(dstaddr) or ANY_VALUE(dstaddr)"},
			want: "query: column dstaddr must appear in GROUP BY or be aggregated\n" +
				"hint: add dstaddr to the by clause of stats, or wrap it in an aggregate such as max(dstaddr)\n" + compiledNote},
		{name: "explicit casts, insights", lang: "insights", text: "fields tolower(dstport)", sql: sql, code: exitUsage,
			err: &engine.Error{Kind: engine.Invalid, Pos: -1, SQL: sql,
				Msg: "Binder Error: No function matches the given name and argument types 'lower(INTEGER)'. You might need to add explicit type casts.\n\tCandidate functions:\n\tlower(VARCHAR) -> VARCHAR"},
			want: "query: Binder Error: No function matches the given name and argument types 'lower(INTEGER)'.\n\tCandidate functions:\n\tlower(VARCHAR) -> VARCHAR\n" +
				"hint: compare and combine values of one type: number fields with numbers, text fields with quoted text\n" + compiledNote},
		{name: "timeout hint kept, insights", lang: "insights", text: "filter action = 1", sql: sql, code: exitFailure,
			err:  &engine.Error{Kind: engine.Timeout, Msg: "query stopped after its time limit of 1s", Hint: "narrow the time range or raise --timeout", Pos: -1, SQL: sql},
			want: "query stopped after its time limit of 1s\nhint: narrow the time range or raise --timeout"},
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
