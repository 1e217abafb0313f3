package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/internal/human"
)

// document is a report laid out for people: the Markdown, HTML and terminal
// renderers all draw the same one, so they never disagree on a number.
type document struct {
	Title    string
	Subtitle string
	Meta     [][2]string // key facts under the title
	Sections []section
}

type section struct {
	ID, Title string
	Blocks    []block
}

// block is one of para, quote, table, chart or signoff.
type block interface{ isBlock() }

// para is a paragraph; Tone is "", "note" (an honest absence: no data) or
// "warn" (something needs follow-up).
type para struct {
	Text string
	Tone string
}

// quote is a requirement quoted from a standard, with how flowlens
// evidences it.
type quote struct {
	Ref, Text, Source, Evidence string
}

// table is a table of text cells; Right marks number columns, Mark marks
// rows to highlight (an admin port, an exception).
type table struct {
	Caption string
	Columns []string
	Right   []bool
	Rows    [][]string
	Mark    []bool
	// More says how many rows were left out (the full list is in the JSON).
	More int
}

// chart is a bar chart of one series over labels (hours, days).
type chart struct {
	Title  string
	Labels []string
	Values []float64
	// Human formats a value for labels (bytes, counts).
	Human func(float64) string
}

// signoff is the reviewer block: name and date lines, blank unless given.
type signoff struct {
	Reviewer, Date string
}

func (para) isBlock()    {}
func (quote) isBlock()   {}
func (*table) isBlock()  {}
func (chart) isBlock()   {}
func (signoff) isBlock() {}

func (t *table) add(mark bool, cells ...string) {
	t.Rows = append(t.Rows, cells)
	t.Mark = append(t.Mark, mark)
}

// newTable returns a table with the given columns; a column name ending in
// ">" is right-aligned (numbers), the ">" dropped.
func newTable(caption string, cols ...string) *table {
	t := &table{Caption: caption}
	for _, c := range cols {
		name, right := strings.CutSuffix(c, ">")
		t.Columns = append(t.Columns, name)
		t.Right = append(t.Right, right)
	}
	return t
}

// num renders a count for people: 3,456.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pct renders part of whole as a percentage with one decimal.
func pct(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

// short renders a number compactly for chart labels: 1.2k, 3.4M.
func short(v float64) string {
	for _, u := range []struct {
		div float64
		s   string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.div {
			return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v/u.div), "0"), ".") + u.s
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func shortBytes(v float64) string { return human.Bytes(int64(v)) }

// orDash renders an empty text as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
