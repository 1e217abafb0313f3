package insights

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by errors about constructs that are valid Logs
// Insights but that flowlens cannot run, so callers can tell them from
// mistakes in the query (errors.Is(err, ErrUnsupported)).
var ErrUnsupported = errors.New("unsupported")

// Pos is a byte range [Start, End) in the query text.
type Pos struct {
	Start int
	End   int
}

// Error is a problem found in a query, with the byte range it is about.
// Line and Col (both from 1, Col counted in characters) locate Pos.Start.
type Error struct {
	Msg  string
	Pos  Pos
	Line int
	Col  int
	// Err is ErrUnsupported for unsupported constructs, else nil.
	Err error
}

// Errorf returns an Error about pos in the query text src.
func Errorf(src string, pos Pos, format string, args ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, args...), Pos: clampPos(src, pos)}
	e.Line, e.Col = lineCol(src, e.Pos.Start)
	return e
}

// Unsupportedf returns an Error that wraps ErrUnsupported.
func Unsupportedf(src string, pos Pos, format string, args ...any) *Error {
	e := Errorf(src, pos, format, args...)
	e.Err = ErrUnsupported
	return e
}

// Error formats the error as "line:col: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns ErrUnsupported for unsupported constructs.
func (e *Error) Unwrap() error { return e.Err }

// Caret renders the query line that holds the error with a caret and an
// underline below the error's range, for terminals:
//
//	stats count() by srcaddr sortt
//	                         ^~~~~
func (e *Error) Caret(query string) string {
	pos := clampPos(query, e.Pos)
	lineStart := strings.LastIndexByte(query[:pos.Start], '\n') + 1
	lineEnd := len(query)
	if i := strings.IndexByte(query[pos.Start:], '\n'); i >= 0 {
		lineEnd = pos.Start + i
	}
	line := strings.TrimRight(query[lineStart:lineEnd], "\r")
	end := min(pos.End, lineStart+len(line))
	var b strings.Builder
	b.WriteString(line)
	b.WriteByte('\n')
	// Keep tabs so the caret lines up with what the terminal shows above it.
	for _, r := range query[lineStart:pos.Start] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	if n := utf8.RuneCountInString(query[pos.Start:max(end, pos.Start)]); n > 1 {
		b.WriteString(strings.Repeat("~", n-1))
	}
	return b.String()
}

func clampPos(src string, p Pos) Pos {
	p.Start = min(max(p.Start, 0), len(src))
	p.End = min(max(p.End, p.Start), len(src))
	return p
}

// lineCol returns the 1-based line and character column of byte offset off.
func lineCol(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}
