package insights

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuotedIdent
	tString
	tNumber
	tDuration
	tRegex
	tPipe
	tComma
	tLParen
	tRParen
	tLBrack
	tRBrack
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tMatch
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tCaret
)

var punct = map[tokKind]string{
	tPipe: "|", tComma: ",", tLParen: "(", tRParen: ")", tLBrack: "[", tRBrack: "]",
	tEq: "=", tNe: "!=", tLt: "<", tLe: "<=", tGt: ">", tGe: ">=", tMatch: "=~",
	tPlus: "+", tMinus: "-", tStar: "*", tSlash: "/", tPercent: "%", tCaret: "^",
}

// token is one lexical token. val is the decoded value: the name of an
// identifier, the text of a string, the pattern of a regex, the unit of a
// duration.
type token struct {
	kind tokKind
	val  string
	n    int64 // the count of a duration
	pos  Pos
}

// lexer turns query text into tokens on demand, so the parser can ask for a
// regular expression where a "/" starts an operand rather than a division.
type lexer struct {
	src string
	off int
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '@'
}

func isIdentChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '.' || c >= '0' && c <= '9'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// durationUnits maps accepted spellings to canonical units: the ones AWS
// documents for bin, and the plural (an added s) of every spelling longer
// than one character, which AWS also accepts.
var durationUnits = func() map[string]string {
	m := map[string]string{}
	for unit, spellings := range map[string][]string{
		"ms": {"ms", "msec", "millisecond"},
		"s":  {"s", "sec", "second"},
		"m":  {"m", "min", "minute"},
		"h":  {"h", "hr", "hour"},
		"d":  {"d", "day"},
		"w":  {"w", "week"},
		"mo": {"mo", "mon", "month"},
		"q":  {"q", "qtr", "quarter"},
		"y":  {"y", "yr", "year"},
	} {
		for _, sp := range spellings {
			m[sp] = unit
			if len(sp) > 1 {
				m[sp+"s"] = unit
			}
		}
	}
	return m
}()

func (l *lexer) errorf(start, end int, format string, args ...any) *Error {
	return Errorf(l.src, Pos{start, end}, format, args...)
}

// skip moves past white space and # comments.
func (l *lexer) skip() {
	for l.off < len(l.src) {
		switch c := l.src[l.off]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.off++
		case c == '#':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.off++
			}
		case c >= utf8.RuneSelf:
			// Text pasted from web pages brings no-break and other
			// Unicode spaces, and invisible zero-width ones.
			r, size := utf8.DecodeRuneInString(l.src[l.off:])
			if !unicode.IsSpace(r) && r != '\u200b' && r != '\u2060' && r != '\ufeff' {
				return
			}
			l.off += size
		default:
			return
		}
	}
}

func (l *lexer) next() (token, *Error) {
	l.skip()
	start := l.off
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: Pos{start, start}}, nil
	}
	c := l.src[l.off]
	tok := func(k tokKind, n int) (token, *Error) {
		l.off += n
		return token{kind: k, val: l.src[start:l.off], pos: Pos{start, l.off}}, nil
	}
	next := byte(0)
	if l.off+1 < len(l.src) {
		next = l.src[l.off+1]
	}
	switch {
	case isIdentStart(c):
		l.off++
		for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
			l.off++
		}
		if c == '@' && l.off == start+1 {
			return token{}, l.errorf(start, l.off, "expected a field name after @")
		}
		return token{kind: tIdent, val: l.src[start:l.off], pos: Pos{start, l.off}}, nil
	case isDigit(c):
		return l.number()
	case c == '"' || c == '\'':
		return l.string(c)
	case c == '`':
		return l.quotedIdent()
	case c == '|' && next == '|':
		return token{}, l.errorf(start, start+2, "unexpected \"||\": write or to join conditions, and one | between commands")
	case c == '|':
		return tok(tPipe, 1)
	case c == ',':
		return tok(tComma, 1)
	case c == '(':
		return tok(tLParen, 1)
	case c == ')':
		return tok(tRParen, 1)
	case c == '[':
		return tok(tLBrack, 1)
	case c == ']':
		return tok(tRBrack, 1)
	case c == '=' && next == '=':
		return token{}, l.errorf(start, start+2, "unexpected \"==\": write = to compare")
	case c == '=' && next == '~':
		return tok(tMatch, 2)
	case c == '=':
		return tok(tEq, 1)
	case c == '!' && next == '=':
		return tok(tNe, 2)
	case c == '<' && next == '>':
		return token{}, l.errorf(start, start+2, "unexpected \"<>\": write != to compare")
	case c == '<' && next == '=':
		return tok(tLe, 2)
	case c == '<':
		return tok(tLt, 1)
	case c == '>' && next == '=':
		return tok(tGe, 2)
	case c == '>':
		return tok(tGt, 1)
	case c == '+':
		return tok(tPlus, 1)
	case c == '-':
		return tok(tMinus, 1)
	case c == '*':
		return tok(tStar, 1)
	case c == '/':
		return tok(tSlash, 1)
	case c == '%':
		return tok(tPercent, 1)
	case c == '^':
		return tok(tCaret, 1)
	}
	r, size := utf8.DecodeRuneInString(l.src[start:])
	switch r {
	case ';':
		return token{}, l.errorf(start, start+size, "unexpected character ';': separate commands with |")
	case '!':
		return token{}, l.errorf(start, start+size, "unexpected character '!': write != to compare, or not before a condition")
	case '&':
		return token{}, l.errorf(start, start+size, "unexpected character '&': write and")
	case '~':
		return token{}, l.errorf(start, start+size, "unexpected character '~': write =~ or like before a /regular expression/")
	case '.':
		if start+1 < len(l.src) && isDigit(l.src[start+1]) {
			return token{}, l.errorf(start, start+size, "unexpected character '.': write a number with a digit before the point, such as 0%s", l.src[start:l.numberEnd(start+1)])
		}
		if start > 0 && isDigit(l.src[start-1]) {
			i := start
			for i > 0 && isDigit(l.src[i-1]) {
				i--
			}
			return token{}, l.errorf(start, start+size, "unexpected character '.': write a number with digits after the point, such as %s.0, or without the point", l.src[i:start])
		}
	case '–', '—', '−':
		return token{}, l.errorf(start, start+size,
			"unexpected character %q: a typographic dash, as copied from a web page; write - to subtract", r)
	case '‘', '’', '‚', '‛', '“', '”', '„', '‟':
		return token{}, l.errorf(start, start+size,
			"unexpected character %q: a typographic quote, as copied from a web page; write straight quotes, such as %q",
			r, l.quotedText(start+size))
	}
	return token{}, l.errorf(start, start+size,
		"unexpected character %q: expected a field, a value or an operator; write a field name with other characters than letters, digits, _, . and @ in backquotes, such as `%s`, and text in quotes",
		r, l.wordAround(start, start+size))
}

// numberEnd returns the offset after the digits that start at from.
func (l *lexer) numberEnd(from int) int {
	for from < len(l.src) && isDigit(l.src[from]) {
		from++
	}
	return from
}

// quotedText is the text that follows a typographic opening quote at
// from: up to the next quote of any kind, else up to the next blank or the
// end of the line.
func (l *lexer) quotedText(from int) string {
	rest := l.src[from:]
	if i := strings.IndexAny(rest, "‘’‚‛“”„‟\"'\n"); i >= 0 && rest[i] != '\n' {
		return rest[:i]
	}
	if i := strings.IndexAny(rest, " \t\r\n|"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// wordAround widens [start, end) to the name the user probably meant: the
// name characters before it and everything up to the next blank or
// punctuation after it.
func (l *lexer) wordAround(start, end int) string {
	for start > 0 && (isIdentChar(l.src[start-1]) || l.src[start-1] == '@' || l.src[start-1] == '-') {
		start--
	}
	for end < len(l.src) && !strings.ContainsRune(" \t\r\n\f\v,|()[]=<>!+*/%^\"'`#", rune(l.src[end])) {
		end++
	}
	return strings.ReplaceAll(l.src[start:end], "`", "``")
}

func (l *lexer) number() (token, *Error) {
	start := l.off
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		l.off++
	}
	frac := false
	if l.off+1 < len(l.src) && l.src[l.off] == '.' && isDigit(l.src[l.off+1]) {
		frac = true
		l.off++
		for l.off < len(l.src) && isDigit(l.src[l.off]) {
			l.off++
		}
	}
	numEnd := l.off
	if frac && l.off+1 < len(l.src) && l.src[l.off] == '.' && isDigit(l.src[l.off+1]) {
		// An address such as 10.0.0.1 written without quotes.
		for l.off < len(l.src) && (isDigit(l.src[l.off]) || l.src[l.off] == '.' || isLetter(l.src[l.off])) {
			l.off++
		}
		text := l.src[start:l.off]
		return token{}, l.errorf(start, l.off, "invalid number %q: write an address or other text in quotes, such as %q", text, text)
	}
	if l.off < len(l.src) && isLetter(l.src[l.off]) {
		for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
			l.off++
		}
		text := l.src[start:l.off]
		word := strings.ToLower(l.src[numEnd:l.off])
		unit, ok := durationUnits[word]
		if !ok {
			return token{}, l.errorf(start, l.off, "invalid number or period %q: periods end in ms, s, m, h, d, w, mo, q or y", text)
		}
		if frac {
			msg := fmt.Sprintf("period %q must be a whole number of %s", text, word)
			if w := wholePeriod(l.src[start:numEnd], unit); w != "" {
				msg += "; write " + w
			}
			return token{}, l.errorf(start, l.off, "%s", msg)
		}
		n, err := strconv.ParseInt(l.src[start:numEnd], 10, 64)
		if err != nil || n <= 0 {
			return token{}, l.errorf(start, l.off, "period %q must be a positive whole number that fits in 64 bits", text)
		}
		return token{kind: tDuration, val: unit, n: n, pos: Pos{start, l.off}}, nil
	}
	return token{kind: tNumber, val: l.src[start:l.off], pos: Pos{start, l.off}}, nil
}

// smallerUnit is, for each period unit, the next smaller one and how many
// of it make one.
var smallerUnit = map[string]struct {
	unit string
	n    float64
}{"w": {"d", 7}, "d": {"h", 24}, "h": {"m", 60}, "m": {"s", 60}, "s": {"ms", 1000}, "y": {"mo", 12}, "q": {"mo", 3}}

// wholePeriod spells the fractional period num unit as a whole number of a
// smaller unit (1.5h as 90m), or returns "" when none makes it whole.
func wholePeriod(num, unit string) string {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return ""
	}
	for {
		next, ok := smallerUnit[unit]
		if !ok {
			return ""
		}
		f, unit = f*next.n, next.unit
		if r := math.Round(f); math.Abs(f-r) < 1e-9*max(1, f) && r >= 1 {
			return strconv.FormatFloat(r, 'f', -1, 64) + unit
		}
	}
}

func (l *lexer) string(q byte) (token, *Error) {
	start := l.off
	l.off++
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == q:
			l.off++
			return token{kind: tString, val: b.String(), pos: Pos{start, l.off}}, nil
		case c == '\\' && l.off+1 < len(l.src):
			e := l.src[l.off+1]
			switch e {
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				// Unknown escapes stay as written, so "C:\temp" means what it says.
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			l.off += 2
		default:
			b.WriteByte(c)
			l.off++
		}
	}
	return token{}, l.errorf(start, len(l.src), "unterminated string: expected a closing %c", q)
}

func (l *lexer) quotedIdent() (token, *Error) {
	start := l.off
	l.off++
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c == '`' {
			if l.off+1 < len(l.src) && l.src[l.off+1] == '`' {
				b.WriteByte('`')
				l.off += 2
				continue
			}
			l.off++
			if b.Len() == 0 {
				return token{}, l.errorf(start, l.off, "empty field name ``")
			}
			return token{kind: tQuotedIdent, val: b.String(), pos: Pos{start, l.off}}, nil
		}
		b.WriteByte(c)
		l.off++
	}
	return token{}, l.errorf(start, len(l.src), "unterminated field name: expected a closing `")
}

// regex scans a regular expression that starts with the "/" at offset start.
// Inside, a backslash escapes the next character, so \/ does not end it.
func (l *lexer) regex(start int) (token, *Error) {
	l.off = start + 1
	for l.off < len(l.src) {
		switch l.src[l.off] {
		case '\\':
			l.off += 2
			continue
		case '/':
			l.off++
			return token{kind: tRegex, val: l.src[start+1 : l.off-1], pos: Pos{start, l.off}}, nil
		}
		l.off++
	}
	return token{}, l.errorf(start, len(l.src), "unterminated regular expression: expected a closing /")
}
