package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// resultSet is tabular output: the shape of `-o json` and of the HTTP API.
type resultSet struct {
	Columns []string       `json:"columns"`
	Rows    [][]any        `json:"rows"`
	Stats   map[string]any `json:"stats,omitempty"`
}

// writeResult renders rs in format (table, csv, json or ndjson).
func writeResult(w io.Writer, format string, rs *resultSet) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		if rs.Rows == nil {
			rs.Rows = [][]any{}
		}
		return enc.Encode(jsonSafe(rs))
	case "ndjson":
		enc := json.NewEncoder(w)
		for _, row := range rs.Rows {
			obj := make(orderedObject, len(rs.Columns))
			for i, c := range rs.Columns {
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
				rec[i] = cellText(v, "")
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	default:
		t := table.NewWriter()
		t.SetOutputMirror(w)
		t.SetStyle(table.StyleLight)
		hdr := make(table.Row, len(rs.Columns))
		for i, c := range rs.Columns {
			hdr[i] = c
		}
		t.AppendHeader(hdr, table.RowConfig{AutoMerge: false})
		cfg := make([]table.ColumnConfig, len(rs.Columns))
		for i := range rs.Columns {
			cfg[i] = table.ColumnConfig{Number: i + 1}
			if len(rs.Rows) > 0 && isNumber(rs.Rows[0][i]) {
				cfg[i].Align = text.AlignRight
			}
		}
		t.SetColumnConfigs(cfg)
		t.Style().Format.Header = text.FormatDefault
		for _, row := range rs.Rows {
			r := make(table.Row, len(row))
			for i, v := range row {
				r[i] = cellText(v, "-")
			}
			t.AppendRow(r)
		}
		t.Render()
		return nil
	}
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return true
	}
	return false
}

// cellText renders one value for table and csv output; null is nullText.
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
		return x.UTC().Format(time.RFC3339)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

// jsonValue makes v encodable: times as RFC 3339, NaN and infinities as null.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case []byte:
		return string(x)
	}
	return v
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
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
