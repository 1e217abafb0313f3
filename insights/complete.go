package insights

import (
	"sort"
	"strings"
)

// CompletionKind says what a completion inserts.
type CompletionKind string

// Completion kinds.
const (
	CompleteCommand  CompletionKind = "command"
	CompleteFunction CompletionKind = "function"
	CompleteField    CompletionKind = "field"
	CompleteKeyword  CompletionKind = "keyword"
)

// Completion is one suggestion for the text at the cursor.
type Completion struct {
	Label  string         // what the menu shows
	Insert string         // what replaces the text in Replace
	Kind   CompletionKind //
	Detail string         // a signature or a one-line description
	// Replace is the range of the query that Insert replaces: the partial
	// word before the cursor, or an empty range at the cursor.
	Replace Pos
}

// builtinFields are the @ fields every flow-log query can use.
var builtinFields = []string{"@timestamp", "@message", "@logStream"}

var commandHelp = map[string]string{
	"fields":  "choose the fields shown; define new ones with as",
	"display": "choose the fields shown, by name",
	"filter":  "keep the records that match a condition",
	"where":   "keep the records that match a condition (alias of filter)",
	"stats":   "aggregate records, optionally by fields or bin(period)",
	"sort":    "order the results by fields, asc or desc",
	"limit":   "return at most N results",
	"parse":   "extract fields from a field with a glob or a regular expression",
	"dedup":   "keep the first result for each combination of fields",
}

// Complete suggests commands, functions, fields and keywords for the query
// at byte offset cursor. fields are the field names the caller knows about
// (the @ fields are added). It works on incomplete queries: it only lexes.
func Complete(query string, cursor int, fields []string) []Completion {
	cursor = min(max(cursor, 0), len(query))
	lx := lexer{src: query[:cursor]}
	var toks []token
	for {
		t, err := lx.next()
		if err != nil {
			// Inside an unfinished string, regex or name: nothing to offer,
			// except after a lone "@" that starts a field name.
			if strings.HasSuffix(query[:cursor], "@") {
				toks = append(toks, token{kind: tIdent, val: "@", pos: Pos{cursor - 1, cursor}})
				break
			}
			return nil
		}
		if t.kind == tEOF {
			break
		}
		toks = append(toks, t)
	}
	replace := Pos{cursor, cursor}
	prefix := ""
	if n := len(toks); n > 0 && toks[n-1].kind == tIdent && toks[n-1].pos.End == cursor {
		prefix = toks[n-1].val
		replace = toks[n-1].pos
		toks = toks[:n-1]
	}

	// The command the cursor is in: the first token after the last "|".
	cmdStart := 0
	for i, t := range toks {
		if t.kind == tPipe {
			cmdStart = i + 1
		}
	}
	var out []Completion
	add := func(label, insert string, kind CompletionKind, detail string) {
		if strings.HasPrefix(strings.ToLower(label), strings.ToLower(prefix)) {
			out = append(out, Completion{Label: label, Insert: insert, Kind: kind, Detail: detail, Replace: replace})
		}
	}
	if cmdStart == len(toks) {
		for _, c := range Commands {
			add(c, c+" ", CompleteCommand, commandHelp[c])
		}
		return out
	}
	cmd := strings.ToLower(toks[cmdStart].val)
	last := toks[len(toks)-1]
	inBy := false
	for _, t := range toks[cmdStart:] {
		if t.kind == tIdent && strings.EqualFold(t.val, "by") {
			inBy = true
		}
	}

	operandNext := false // the cursor is where an expression starts
	switch {
	case len(toks)-1 == cmdStart:
		operandNext = true
	case last.kind == tIdent && IsKeyword(last.val):
		w := strings.ToLower(last.val)
		if w == "as" {
			return nil // a new name: nothing to suggest
		}
		operandNext = w != "asc" && w != "desc"
	case last.kind == tIdent, last.kind == tQuotedIdent, last.kind == tNumber,
		last.kind == tString, last.kind == tDuration, last.kind == tRParen, last.kind == tRBrack:
		operandNext = false
	default: // an operator, "(", "," or "["
		operandNext = true
	}

	if !operandNext {
		var words []string
		switch cmd {
		case "filter", "where":
			words = []string{"and", "or", "like", "not like", "in", "not in"}
		case "fields":
			words = []string{"as"}
		case "stats":
			if inBy {
				words = []string{"as"}
			} else {
				words = []string{"as", "by"}
			}
		case "sort":
			words = []string{"asc", "desc"}
		case "parse":
			words = []string{"as"}
		}
		for _, w := range words {
			add(w, w+" ", CompleteKeyword, "")
		}
		return out
	}
	if cmd == "limit" {
		return nil
	}
	all := append(append([]string(nil), builtinFields...), fields...)
	seen := map[string]bool{}
	var names []string
	for _, f := range all {
		if !seen[f] {
			seen[f] = true
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range names {
		add(f, QuoteName(f), CompleteField, "field")
	}
	if cmd == "display" || cmd == "dedup" || cmd == "parse" {
		return out
	}
	aggOK := cmd == "stats" && !inBy
	for _, f := range Functions() {
		if f.Kind == Aggregate && !aggOK {
			continue
		}
		for _, name := range append([]string{f.Name}, f.Aliases...) {
			add(name, name+"(", CompleteFunction, f.Signature()+": "+f.Description)
		}
	}
	return out
}
