package spell

import "testing"

func TestClosest(t *testing.T) {
	keywords := []string{"SELECT", "FROM", "WHERE", "GROUP", "ORDER", "LIMIT"}
	tests := []struct{ word, want string }{
		{"FRM", "FROM"},
		{"form", "FROM"}, // a swap is two edits
		{"wher", "WHERE"},
		{"GRUOP", "GROUP"},
		{"LIMT", "LIMIT"},
		{"from", "FROM"},
		{"f", ""},        // one letter is no word to correct
		{"fr", ""},       // two edits away from every keyword
		{"srcaddr", ""},  // another word
		{"xyzzy", ""},    // nothing like any
		{"ORDERING", ""}, // three edits
		{"", ""},
	}
	for _, tt := range tests {
		if got := Closest(tt.word, keywords); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"from", "form", 2}, {"same", "same", 0},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}
