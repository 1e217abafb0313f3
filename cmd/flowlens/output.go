package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/internal/human"
)

// resultSet is tabular output: the shape of `-o json` and of the HTTP API.
type resultSet struct {
	Columns []string       `json:"columns"`
	Rows    [][]any        `json:"rows"`
	Stats   map[string]any `json:"stats,omitempty"`
	// wallClock marks times that are wall-clock times without a zone, for
	// the chart's captions.
	wallClock bool
}

// writeResult renders rs in format (table, csv, json, ndjson or chart).
func writeResult(w io.Writer, format string, rs *resultSet) error {
	switch format {
	case "chart":
		return writeChart(w, rs, terminalWidth(w))
	case "json":
		enc := json.NewEncoder(w)
		if rs.Rows == nil {
			rs.Rows = [][]any{}
		}
		return enc.Encode(jsonSafe(rs))
	case "ndjson":
		enc := json.NewEncoder(w)
		keys := uniqueKeys(rs.Columns)
		for _, row := range rs.Rows {
			obj := make(orderedObject, len(keys))
			for i, c := range keys {
				obj[i] = kv{c, jsonValue(row[i])}
			}
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(rs.Columns); err != nil {
			return err
		}
		rec := make([]string, len(rs.Columns))
		for _, row := range rs.Rows {
			for i, v := range row {
				if f, ok := v.(float64); ok {
					rec[i] = exactFloat(f) // csv is for programs: every digit
					continue
				}
				rec[i] = cellText(v, "")
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	default:
		return writeTable(w, rs)
	}
}

// writeTable draws rs as a box table for people, numbers right-aligned (by
// the first row's values). It passes over the rows twice, once for the
// column widths (in terminal columns, wide characters counting two) and once
// to write, so it holds no second copy of the cells: table libraries keep one
// or more per cell, which for 30,000 rows of 70 columns cost 240 MB more than
// the result itself.
func writeTable(w io.Writer, rs *resultSet) error {
	width := make([]int, len(rs.Columns))
	right := make([]bool, len(rs.Columns))
	for i, c := range rs.Columns {
		width[i] = textWidth(tableCell(c))
		right[i] = len(rs.Rows) > 0 && isNumber(rs.Rows[0][i])
	}
	for _, row := range rs.Rows {
		for i, v := range row {
			width[i] = max(width[i], textWidth(tableCell(v)))
		}
	}
	bw := bufio.NewWriter(w)
	rule := func(left, mid, end string) {
		bw.WriteString(left)
		for i, n := range width {
			if i > 0 {
				bw.WriteString(mid)
			}
			bw.WriteString(strings.Repeat("─", n+2))
		}
		bw.WriteString(end + "\n")
	}
	line := func(cell func(i int) string, alignRight func(i int) bool) {
		for i, n := range width {
			text := cell(i)
			pad := strings.Repeat(" ", n-textWidth(text))
			bw.WriteString("│ ")
			if alignRight(i) {
				bw.WriteString(pad + text)
			} else {
				bw.WriteString(text + pad)
			}
			bw.WriteString(" ")
		}
		bw.WriteString("│\n")
	}
	rule("┌", "┬", "┐")
	line(func(i int) string { return tableCell(rs.Columns[i]) }, func(int) bool { return false })
	rule("├", "┼", "┤")
	for _, row := range rs.Rows {
		line(func(i int) string { return tableCell(row[i]) }, func(i int) bool { return right[i] })
	}
	rule("└", "┴", "┘")
	return bw.Flush()
}

// textWidth is the terminal columns of s: its length for ASCII, the common
// case, which go-runewidth takes far longer to measure.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return runewidth.StringWidth(s)
		}
	}
	return len(s)
}

// tableCell is cellText for a table cell: null as "-", and line breaks and
// other control characters escaped, so that every row is one line.
func tableCell(v any) string {
	s := cellText(v, "-")
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, *big.Int:
		return true
	}
	return false
}

// cellText renders one value for table and csv output; null is nullText.
// Lists, structs and maps are written as JSON.
func cellText(v any, nullText string) string {
	switch x := v.(type) {
	case nil:
		return nullText
	case string:
		return x
	case []byte:
		return string(x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, err := json.Marshal(jsonValue(x))
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// formatFloat renders a float for people: whole numbers as they are, others
// with 4 decimals, magnitudes that 4 decimals would show as 0 with 4
// significant digits, and magnitudes of 1e21 and more in exponent notation.
func formatFloat(f float64) string {
	switch {
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatFloat(f, 'f', -1, 64)
	case math.Abs(f) < 5e-5 && f != 0:
		return strconv.FormatFloat(f, 'g', 4, 64)
	case math.Abs(f) >= 1e21 && !math.IsInf(f, 0):
		// Plain notation would be hundreds of digits, most not in the value.
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

// exactFloat renders a float with the fewest digits that read back as the
// same value, in plain notation unless that would be very long.
func exactFloat(f float64) string {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// jsonValue is engine.JSONValue.
func jsonValue(v any) any { return engine.JSONValue(v) }

// uniqueKeys returns the columns as object keys for ndjson: a name that
// repeats an earlier one gets the first free suffix _1, _2, … (as DuckDB
// names repeated columns of a subquery), so no value is lost to a duplicate
// key.
func uniqueKeys(cols []string) []string {
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		seen[c] = true
	}
	out := make([]string, len(cols))
	used := make(map[string]bool, len(cols))
	for i, c := range cols {
		k := c
		for n := 1; used[k]; n++ {
			if k = c + "_" + strconv.Itoa(n); seen[k] {
				k = c // the name of another column: try the next suffix
			}
		}
		used[k] = true
		out[i] = k
	}
	return out
}

func jsonSafe(rs *resultSet) *resultSet {
	out := &resultSet{Columns: rs.Columns, Stats: rs.Stats, Rows: make([][]any, len(rs.Rows))}
	for i, row := range rs.Rows {
		r := make([]any, len(row))
		for j, v := range row {
			r[j] = jsonValue(v)
		}
		out.Rows[i] = r
	}
	return out
}

type kv struct {
	k string
	v any
}

// orderedObject is a JSON object that keeps its keys in column order.
type orderedObject []kv

func (o orderedObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(p.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// humanBytes renders a byte count with a binary unit.
func humanBytes(n int64) string { return human.Bytes(n) }
