package insights

import (
	"errors"
	"testing"
)

// FuzzParse checks that the parser never panics, that errors point inside
// the input, and that valid queries survive print → parse unchanged.
func FuzzParse(f *testing.F) {
	for _, q := range corpus {
		f.Add(q)
	}
	for _, fn := range functions {
		f.Add(fn.Example)
	}
	for _, q := range []string{"", "|", "fields `", "filter a like /", "stats count(*) by bin(", "parse \"*\" as", "limit 9223372036854775808"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		for _, cursor := range []int{0, len(query) / 3, len(query)} {
			for _, c := range Complete(query, cursor, []string{"srcaddr", "a b"}) {
				if c.Replace.Start < 0 || c.Replace.End > len(query) || c.Replace.Start > c.Replace.End {
					t.Fatalf("Complete(%q, %d): replace range %v outside the input", query, cursor, c.Replace)
				}
			}
		}
		q, err := Parse(query)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) returned %T, want *Error", query, err)
			}
			if e.Pos.Start < 0 || e.Pos.End > len(query) || e.Pos.Start > e.Pos.End {
				t.Fatalf("Parse(%q): error range %v outside the input (%d bytes): %v", query, e.Pos, len(query), e)
			}
			if e.Line < 1 || e.Col < 1 {
				t.Fatalf("Parse(%q): error at line %d col %d", query, e.Line, e.Col)
			}
			_ = e.Caret(query)
			return
		}
		checkPositions(t, query, q)
		roundTrip(t, query)
	})
}
