// Package spell finds the word that a typo most likely meant: the closest of
// a list of candidates by edit distance, when it is close enough to be a
// typo rather than another word. The Insights parser uses it for commands,
// functions and fields, the SQL engine for keywords.
package spell

import "strings"

// Closest returns the candidate closest to word, ignoring case, when it is a
// likely typo of it (at most one edit in three letters, and two in words of
// three letters or more); else "".
func Closest(word string, candidates []string) string {
	best, bestD := "", 0
	w := strings.ToLower(word)
	for _, c := range candidates {
		d := Distance(w, strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len(w)/3)
	if len(w) >= 3 {
		limit = max(limit, 2)
	}
	if best == "" || bestD > limit || bestD >= len(w) {
		return ""
	}
	return best
}

// Distance is the Levenshtein distance between a and b in bytes: the fewest
// insertions, deletions and substitutions that turn one into the other.
// Words longer than 64 bytes are as far apart as the longer one is long.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
