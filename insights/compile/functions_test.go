package compile

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocumentedExamples runs the examples that AWS's Logs Insights
// documentation gives for its operators and functions, with the results it
// states, in DuckDB.
func TestDocumentedExamples(t *testing.T) {
	db := openTestDB(t)
	tests := []struct {
		expr string
		want any
	}{
		// Arithmetic operators.
		{`2 ^ 3`, 8.0},
		{`10 % 3`, int64(1)},
		// String functions.
		{`ltrim("xyZfooxyZ", "xyZ")`, "fooxyZ"},
		{`rtrim("xyZfooxyZ", "xyZ")`, "xyZfoo"},
		{`trim("xyZfooxyZ", "xyZ")`, "foo"},
		{`substr("xyZfooxyZ", 3, 3)`, "foo"},
		{`replace("foo", "o", "0")`, "f00"},
		{`strcontains("xyZfooxyZ", "foo")`, int64(1)},
		{`strcontains("xyZfooxyZ", "bar")`, int64(0)},
		{`strlen("héllo")`, int64(5)}, // "the length of the string in Unicode code points"
		{`toupper("aBc")`, "ABC"},
		{`tolower("aBc")`, "abc"},
		// "Remove white space from both ends of the string": tabs and line
		// breaks are white space too, as isblank counts them.
		{`trim("\t x \n")`, "x"},
		{`ltrim("\t x \n")`, "x \n"},
		{`rtrim("\t x \n")`, "\t x"},
		{`isblank("\t \n")`, true},
		// A computed index counts whole characters, rounded down.
		{`substr("xyZfooxyZ", 7 / 2, 3)`, "foo"},
		// Datetime functions. A time out of the engine's range is null,
		// not a failed query; JavaScript's dates end at 8.64e15 ms too.
		{`toMillis(fromMillis(1709251200123))`, int64(1709251200123)},
		{`fromMillis(8640000000000001)`, nil},
		{`fromMillis(1000000000000000000)`, nil}, // beyond DuckDB's timestamps: an error before
		{`fromMillis(0 - 8640000000000001)`, nil},
		// Numeric functions.
		{`abs(-3)`, int64(3)},
		{`greatest(1, 5, 3)`, int64(5)},
		{`least(4, 2, 7)`, int64(2)},
		{`sqrt(16)`, 4.0},
		{`log(1)`, 0.0},
		// Outside their domain, log and sqrt give what IEEE arithmetic gives
		// (as division by zero does) instead of failing the whole query.
		{`sqrt(0 - 4)`, math.NaN()},
		{`log(0)`, math.Inf(-1)},
		{`log(0 - 1)`, math.NaN()},
		{`sqrt(0 - bytes)`, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			sql := compileQuery(t, "fields "+tt.expr+" as v | limit 1", Options{})
			res := query(t, db, sql)
			if len(res.rows) != 1 {
				t.Fatalf("%d rows, want 1\n%s", len(res.rows), sql)
			}
			got := res.rows[0][0]
			if f, ok := tt.want.(float64); ok {
				if g, ok := got.(float64); !ok || g != f && !(math.IsNaN(f) && math.IsNaN(g)) {
					t.Errorf("%s = %#v, want %v\n%s", tt.expr, got, f, sql)
				}
				return
			}
			if diff := cmp.Diff(fmt.Sprintf("%T %v", tt.want, tt.want), fmt.Sprintf("%T %v", got, got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s\n%s", tt.expr, diff, sql)
			}
		})
	}
}
