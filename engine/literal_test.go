package engine

import "testing"

func TestLiteral(t *testing.T) {
	for v, want := range map[any]string{
		10: "10", int64(-3): "-3", 0.25: "0.25", 1e8: "100000000", "it's": "'it''s'", "'; DROP TABLE x; --": "'''; DROP TABLE x; --'", true: "(1 = 1)", false: "(1 = 0)",
	} {
		if got := Literal(v); got != want {
			t.Errorf("Literal(%v) = %s, want %s", v, got, want)
		}
	}
}
