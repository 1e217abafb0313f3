package engine

import "testing"

func TestErrorSpan(t *testing.T) {
	tests := []struct {
		sql        string
		pos        int
		start, end int
		ok         bool
	}{
		{"SELECT dstaddr, x", 7, 7, 14, true},
		{"SELECT 'abc' FROM t", 7, 7, 12, true},
		{"SELECT 'abc", 7, 7, 11, true},
		{"SELECT a.b + 1", 7, 7, 10, true},
		{"SELECT (1)", 7, 7, 8, true},
		{"SELECT 1", 8, 8, 8, true},
		{"SELECT 1", -1, 0, 0, false},
		{"SELECT 1", 9, 0, 0, false},
	}
	for _, tt := range tests {
		e := &Error{SQL: tt.sql, Pos: tt.pos}
		start, end, ok := e.Span()
		if start != tt.start || end != tt.end || ok != tt.ok {
			t.Errorf("%q at %d: span %d-%d %v, want %d-%d %v", tt.sql, tt.pos, start, end, ok, tt.start, tt.end, tt.ok)
		}
	}
}

func TestOpenUnknown(t *testing.T) {
	if _, err := Open(t.Context(), "nosuch://x", t.TempDir()); err == nil {
		t.Error("unknown dialect opened")
	}
}
