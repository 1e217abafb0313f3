package duckdb

import (
	"fmt"
	"strings"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/internal/spell"
)

// clauseKeywords are the SQL keywords that start or join clauses, the ones a
// typo (FRM, WHER, GRUOP) turns into a name that DuckDB then reads as an
// alias, so that its syntax error points at the word after the typo.
var clauseKeywords = []string{"SELECT", "FROM", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "OFFSET",
	"UNION", "QUALIFY", "DISTINCT", "BETWEEN", "LIKE", "ILIKE", "JOIN"}

// keywordTypo explains a syntax error at pos that is really about the word
// before it: a misspelt clause keyword (FRM flows), or GROUP or ORDER without
// BY. It returns the error to report instead, pointing at that word, or nil.
func keywordTypo(query string, pos int) *engine.Error {
	if pos <= 0 || pos > len(query) {
		return nil
	}
	end := pos
	for end > 0 && strings.IndexByte(" \t\r\n", query[end-1]) >= 0 {
		end--
	}
	start := end
	for start > 0 && isWordByte(query[start-1]) {
		start--
	}
	word := query[start:end]
	if len(word) < 3 || '0' <= word[0] && word[0] <= '9' || start > 0 && strings.IndexByte(`".`, query[start-1]) >= 0 {
		return nil
	}
	upper := strings.ToUpper(word)
	if upper == "GROUP" || upper == "ORDER" {
		next := query[pos:]
		if len(next) >= 2 && strings.EqualFold(next[:2], "BY") && (len(next) == 2 || !isWordByte(next[2])) {
			return nil
		}
		return &engine.Error{Kind: engine.Invalid, Pos: start, SQL: query,
			Msg:  fmt.Sprintf("syntax error: %s must be followed by BY", word),
			Hint: fmt.Sprintf("write %s BY", upper)}
	}
	for _, c := range engine.ViewColumns() {
		if strings.EqualFold(c.Name, word) {
			return nil // a column, misplaced rather than misspelt
		}
	}
	kw := spell.Closest(word, clauseKeywords)
	if kw == "" || strings.EqualFold(kw, word) {
		return nil
	}
	return &engine.Error{Kind: engine.Invalid, Pos: start, SQL: query,
		Msg:  fmt.Sprintf("syntax error: %q is not a SQL keyword, so the query reads it as a name", word),
		Hint: fmt.Sprintf("did you mean %s?", kw)}
}
