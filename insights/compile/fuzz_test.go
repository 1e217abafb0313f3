package compile

import (
	"errors"
	"testing"

	"github.com/flowlens/flowlens/insights"
)

// FuzzCompile checks that every query the parser accepts either compiles
// to SQL that DuckDB can plan, or fails with an *insights.Error inside the
// input; never a panic.
func FuzzCompile(f *testing.F) {
	db := openTestDB(f)
	for _, tc := range goldenCases {
		f.Add(tc.query)
	}
	for _, fn := range insights.Functions() {
		f.Add(fn.Example)
	}
	f.Fuzz(func(t *testing.T, text string) {
		q, err := insights.Parse(text)
		if err != nil {
			return
		}
		sql, err := Compile(q, testSchema, DuckDB, Options{})
		if err == nil {
			if _, err := db.Exec("EXPLAIN " + sql); err != nil {
				t.Fatalf("DuckDB cannot plan the SQL of %q: %v\n%s", text, err, sql)
			}
			return
		}
		var e *insights.Error
		if !errors.As(err, &e) {
			t.Fatalf("Compile(%q) returned %T %v, want *insights.Error", text, err, err)
		}
		if e.Pos.Start < 0 || e.Pos.End > len(text) || e.Pos.Start > e.Pos.End {
			t.Fatalf("Compile(%q): error range %v outside the input: %v", text, e.Pos, e)
		}
	})
}
