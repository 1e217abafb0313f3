package clickhouse

import (
	"fmt"
	"strings"

	"github.com/flowlens/flowlens/engine"
)

type tokKind int

const (
	tokWord   tokKind = iota + 1 // a name or keyword
	tokQuoted                    // a name in "…" or `…`
	tokString                    // '…'
	tokNumber
	tokPunct
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// tokens splits a statement into tokens as ClickHouse's lexer does, skipping
// blanks and comments (--, #! and /* */). An unterminated quote runs to the end.
func tokens(q string) []token {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(q[i:], "--"):
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case strings.HasPrefix(q[i:], "/*"):
			if k := strings.Index(q[i+2:], "*/"); k >= 0 {
				i += k + 4
			} else {
				i = len(q)
			}
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(q) {
				if q[j] == '\\' {
					j += 2
					continue
				}
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			kind := tokQuoted
			if c == '\'' {
				kind = tokString
			}
			out = append(out, token{kind, q[i:end], i})
			i = end
		case isWordStart(c):
			j := i
			for j < len(q) && (isWordStart(q[j]) || '0' <= q[j] && q[j] <= '9') {
				j++
			}
			out = append(out, token{tokWord, q[i:j], i})
			i = j
		case '0' <= c && c <= '9':
			j := i
			for j < len(q) && (isWordStart(q[j]) || '0' <= q[j] && q[j] <= '9' || q[j] == '.') {
				j++
			}
			out = append(out, token{tokNumber, q[i:j], i})
			i = j
		default:
			out = append(out, token{tokPunct, q[i : i+1], i})
			i++
		}
	}
	return out
}

func isWordStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// CheckStatement lets through exactly one SELECT (or WITH … SELECT)
// statement, without a SETTINGS, FORMAT or INTO OUTFILE clause and without
// table functions. It runs before anything is sent; the server's readonly=1
// setting is the second line of defence. Errors are *engine.Error with the
// position of the offending word.
func CheckStatement(q string) error {
	toks := tokens(q)
	refuse := func(t token, hint, format string, a ...any) error {
		return &engine.Error{Kind: engine.Refused, Pos: t.pos, SQL: q, Msg: fmt.Sprintf(format, a...), Hint: hint}
	}
	const readOnly = "queries are read-only: one SELECT (or WITH … SELECT) over vpc_flow_logs, without settings, files or table functions"
	first := 0
	for first < len(toks) && toks[first].text == "(" {
		first++
	}
	if first == len(toks) {
		return &engine.Error{Kind: engine.Invalid, Pos: -1, SQL: q, Msg: "empty query"}
	}
	if t := toks[first]; t.kind != tokWord || !strings.EqualFold(t.text, "SELECT") && !strings.EqualFold(t.text, "WITH") {
		return refuse(t, readOnly, "only a SELECT statement may run, not %s", strings.ToUpper(t.text))
	}
	for i, t := range toks {
		next := token{}
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case t.text == ";" && next.kind != 0:
			return refuse(next, "remove the ';' and what follows it", "only one statement may run: %s follows the first", strings.ToUpper(next.text))
		case t.kind != tokWord:
		case strings.EqualFold(t.text, "SETTINGS"):
			return refuse(t, readOnly, "a query may not change settings")
		case strings.EqualFold(t.text, "INTO") && strings.EqualFold(next.text, "OUTFILE"):
			return refuse(t, readOnly, "a query may not write files")
		case strings.EqualFold(t.text, "FORMAT") && next.kind == tokWord && (i == 0 || toks[i-1].text != "."):
			return refuse(t, "flowlens chooses the output format: use -o table|csv|json|ndjson", "a query may not choose its FORMAT")
		case (strings.EqualFold(t.text, "FROM") || strings.EqualFold(t.text, "JOIN")) && next.kind == tokWord &&
			i+2 < len(toks) && toks[i+2].text == "(":
			return refuse(next, "queries read the view vpc_flow_logs (alias flows) only", "table function %s is not allowed", next.text)
		}
	}
	return nil
}
