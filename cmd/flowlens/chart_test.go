package main

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBarChart(t *testing.T) {
	huge, _ := new(big.Int).SetString("36893488147419103232", 10) // 2^65
	tests := []struct {
		name string
		rs   resultSet
		want string
	}{
		{"labels aligned, bars scaled to the largest",
			resultSet{Columns: []string{"srcaddr", "dstaddr", "total_bytes"}, Rows: [][]any{
				{"10.0.0.5", "203.0.113.9", int64(800)},
				{"10.0.1.17", "10.0.0.5", int64(400)},
				{"10.0.0.5", nil, int64(50)},
				{"10.0.0.6", "10.0.0.7", int64(0)},
			}},
			"total_bytes\n" +
				"10.0.0.5   203.0.113.9 │███████████████████████████████████ 800\n" +
				"10.0.1.17  10.0.0.5    │█████████████████▌                  400\n" +
				"10.0.0.5   -           │██▎                                  50\n" +
				"10.0.0.6   10.0.0.7    │                                      0\n"},
		{"one chart per numeric column, nulls and floats",
			resultSet{Columns: []string{"srcaddr", "unique_ports", "attempts"}, Rows: [][]any{
				{"198.51.100.9", int64(100), 2.5},
				{"203.0.113.7", nil, 10.0},
			}},
			"unique_ports\n" +
				"198.51.100.9 │█████████████████████████████████████████████ 100\n" +
				"203.0.113.7  │                                                -\n" +
				"\n" +
				"attempts\n" +
				"198.51.100.9 │██████████▌                                2.5000\n" +
				"203.0.113.7  │██████████████████████████████████████████     10\n"},
		{"ports and protocols label the bars, they are not drawn",
			resultSet{Columns: []string{"dstPort", "protocol", "n"}, Rows: [][]any{
				{int64(8443), int64(6), int64(40)}, {int64(23), int64(6), int64(20)},
			}},
			"n\n" +
				"8443  6 │" + strings.Repeat("█", 51) + " 40\n" +
				"23    6 │" + strings.Repeat("█", 25) + "▌" + strings.Repeat(" ", 26) + "20\n"},
		{"negative values: bars left of the zero line, one scale",
			resultSet{Columns: []string{"port", "change"}, Rows: [][]any{
				{"22", int64(-40)}, {"443", int64(20)}, {"80", int64(-10)}, {"53", nil}, {"123", 0.0},
			}},
			"change\n" +
				"22  ████████████████████████████████████│                   -40\n" +
				"443                                     │██████████████████  20\n" +
				"80                             █████████│                   -10\n" +
				"53                                      │                     -\n" +
				"123                                     │                     0\n"},
		{"no label column: rows are numbered; 128-bit sums",
			resultSet{Columns: []string{"n"}, Rows: [][]any{{huge}, {int64(1)}}},
			"n\n" +
				"1 │███████████████████████████████████████ 36893488147419103232\n" +
				"2 │▏                                                          1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeChart(&b, &tt.rs, 64); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, b.String()); d != "" {
				t.Errorf("chart (-want +got):\n%s", d)
			}
		})
	}
}

func TestBarChartCapsRows(t *testing.T) {
	rs := resultSet{Columns: []string{"port", "n"}}
	for i := range 100 {
		rs.Rows = append(rs.Rows, []any{"p" + string(rune('a'+i%26)), int64(100 - i)})
	}
	var b bytes.Buffer
	if err := writeChart(&b, &rs, 80); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if n := strings.Count(b.String(), "│"); n != chartMaxBars {
		t.Errorf("%d bars, want %d", n, chartMaxBars)
	}
	if want := "(the first 60 of 100 rows; sort and limit the query to choose them)"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
}

func TestTimeSeriesChart(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 3, 1, h, 0, 0, 0, time.UTC) }
	// Unordered, as stats … by bin() returns them, with 03:00 missing.
	rs := resultSet{Columns: []string{"bin(1h)", "n"}, Rows: [][]any{
		{at(2), int64(30)}, {at(0), int64(10)}, {at(1), int64(20)}, {at(4), int64(50)},
	}}
	var b bytes.Buffer
	if err := writeChart(&b, &rs, 40); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// The caption is wider than 40 columns: it breaks after a comma.
	for _, want := range []string{"n by bin(1h) on 2024-03-01 (UTC),\n", " 1h bins\n", "00:00", "04:00", " 50 ┤", " 10 ┼"} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if textWidth(l) > 40 {
			t.Errorf("line wider than 40 columns: %q", l)
		}
	}
	// The gap at 03:00 leaves columns without a line: the plot rows hold
	// fewer line characters than a gap-free series of the same size.
	full := resultSet{Columns: rs.Columns, Rows: append(rs.Rows[:len(rs.Rows):len(rs.Rows)], []any{at(3), int64(40)})}
	var fb bytes.Buffer
	if err := writeChart(&fb, &full, 40); err != nil {
		t.Fatal(err)
	}
	if g, f := lineChars(out), lineChars(fb.String()); g >= f {
		t.Errorf("a missing bin should leave a gap: %d line characters with it, %d without\n%s\n%s", g, f, out, fb.String())
	}
}

func lineChars(s string) int {
	n := 0
	for _, r := range s {
		if strings.ContainsRune("─│╭╮╰╯", r) {
			n++
		}
	}
	return n
}

func TestMaxPerGroup(t *testing.T) {
	nan := math.NaN()
	got := maxPerGroup([]float64{1, 9, 2, nan, nan, nan, 3}, 3)
	if len(got) != 3 || got[0] != 9 || !math.IsNaN(got[1]) || got[2] != 3 {
		t.Errorf("maxPerGroup = %v, want [9 NaN 3]", got)
	}
}

func TestChartRefusesTextOnly(t *testing.T) {
	rs := resultSet{Columns: []string{"srcaddr", "action"}, Rows: [][]any{{"10.0.0.1", "ACCEPT"}}}
	err := writeChart(&bytes.Buffer{}, &rs, 80)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "no numeric column to draw (columns: srcaddr, action)") {
		t.Errorf("got %v, want a usage error naming the columns", err)
	}
	// A port is a name, not an amount.
	rs = resultSet{Columns: []string{"dst_port"}, Rows: [][]any{{int64(22)}, {int64(443)}}}
	if err := writeChart(&bytes.Buffer{}, &rs, 80); !errors.As(err, &ee) || !strings.Contains(err.Error(), "no numeric column to draw (columns: dst_port)") {
		t.Errorf("ports alone: got %v, want a usage error", err)
	}
	// Numbers that are NULL in every row (NODATA records) say so.
	rs = resultSet{Columns: []string{"t", "bytes", "packets"}, Rows: [][]any{{time.Unix(0, 0), nil, nil}, {time.Unix(60, 0), nil, nil}}}
	if err := writeChart(&bytes.Buffer{}, &rs, 80); !errors.As(err, &ee) || ee.code != exitUsage ||
		!strings.Contains(err.Error(), "(columns: t, bytes, packets): bytes, packets are NULL in every row") {
		t.Errorf("all-NULL numbers: got %v, want a usage error naming the NULL columns", err)
	}
	var b bytes.Buffer
	if err := writeChart(&b, &resultSet{Columns: []string{"srcaddr"}}, 80); err != nil || b.String() != "(no rows)\n" {
		t.Errorf("an empty result: %v %q, want (no rows)", err, b.String())
	}
}

func TestCompactNumber(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 950: "950", 12.5: "12.5", 12500: "12.5k", 3.2e6: "3.2M", 1e9: "1G", -2500: "-2.5k"} {
		if got := compactNumber(in); got != want {
			t.Errorf("compactNumber(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestQueryChart draws query results end to end: a bar chart of a grouped
// count, a line chart of a bin() series, and the refusal of a result
// without numbers.
func TestQueryChart(t *testing.T) {
	data := queryData(t)
	t.Setenv("COLUMNS", "50")
	code, out, errs := runCLI(t, "", "--data", data, "query", "-o", "chart", `stats count(*) as n by action | sort n desc, action asc`) // the tie at 1 in a set order: "-" sorts before letters
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "n\n" +
		"REJECT │" + strings.Repeat("█", 39) + " 2\n" +
		"-      │" + strings.Repeat("█", 19) + "▌" + strings.Repeat(" ", 20) + "1\n" +
		"ACCEPT │" + strings.Repeat("█", 19) + "▌" + strings.Repeat(" ", 20) + "1\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("bar chart (-want +got):\n%s", d)
	}
	code, out, errs = runCLI(t, "", "--data", data, "query", "-o", "chart", `stats sum(bytes) as bytes by bin(1d)`)
	if code != 0 || !strings.Contains(out, "bytes by bin(1d) (UTC), 1d bins") || !strings.Contains(out, "2024-03-01") || !strings.Contains(out, "840 ┼") {
		t.Errorf("time series: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = runCLI(t, "", "--data", data, "query", "-o", "chart", "SELECT srcaddr FROM flows")
	if code != exitUsage || !strings.Contains(errs, "-o chart: the result has no numeric column to draw (columns: srcaddr)") {
		t.Errorf("text-only result: exit %d: %s", code, errs)
	}
}

func TestTimeSeriesEdges(t *testing.T) {
	month := func(y, m int) time.Time { return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC) }
	sec := func(s int) time.Time { return time.Date(2024, 3, 1, 0, 0, s, 0, time.UTC) }
	var sparse [][]any
	for i := range 10 {
		sparse = append(sparse, []any{sec(i), int64(10 - i)}, []any{sec(86400 + i), int64(10 - i)})
	}
	var months [][]any
	for i := range 30 {
		months = append(months, []any{month(2022+i/12, 1+i%12), int64(i + 1)})
	}
	tests := []struct {
		name string
		rows [][]any
		want []string
	}{
		// Months differ in length: no bin grid, every month its own point.
		{"calendar months", months, []string{"n by t (UTC)\n", " 30 ┤", "  1 ┼"}},
		{"all zero", [][]any{{month(2024, 1), int64(0)}, {month(2024, 2), int64(0)}}, []string{" 0┼"}},
		{"negative and float", [][]any{{month(2024, 1), -1.5}, {month(2024, 2), 2.25}}, []string{"2.25 ┤", "-1.5 ┼"}},
		{"nothing to draw", [][]any{{month(2024, 1), nil}, {month(2024, 2), math.Inf(1)}}, []string{"n by t (UTC), 31d bins: no values"}},
		// DATE values come as text: a result by day is a series of days,
		// 2024-03-02 a gap.
		{"days of a DATE column", [][]any{{"2024-03-03", int64(30)}, {"2024-03-01", int64(10)}, {"2024-03-04", int64(40)}}, []string{
			"n by t (UTC), 1d bins\n", " 40 ┤", " 10 ┼", "2024-03-01", "2024-03-04"}},
		// A TIMESTAMP without a zone (AT TIME ZONE, strptime) comes as
		// text too: local hours are a series, and the caption claims no zone.
		{"wall-clock hours", [][]any{{"2024-03-01 10:00:00", int64(5)}, {"2024-03-01 12:00:00", int64(9)}, {"2024-03-01 13:00:00", int64(1)}}, []string{
			"n by t on 2024-03-01, 1h bins\n", " 9 ┤", "10:00"}},
		// 1 s bins of two minutes a day apart: too many bins for a grid,
		// and the day between them is a gap, not a line.
		{"sparse bins", sparse, []string{
			" 10 ┼╴" + strings.Repeat(" ", 63) + "╶\n", "2024-03-01 00:00:00", "2024-03-02 00:00:09"}},
		// Times without a step (records) lie on the axis by their time: 0 s,
		// 1000 s and 3600 s, the value the time: one straight line.
		{"irregular times", [][]any{{sec(0), int64(0)}, {sec(3600), int64(3600)}, {sec(1000), int64(1000)}}, []string{
			" 1.8k ┤                             ╭─────╯\n", "00:00:00", "01:00:00"}},
		// Bins shorter than a second show their milliseconds on the axis.
		{"250 ms bins", [][]any{{sec(0).Add(500 * time.Millisecond), int64(1)}, {sec(0).Add(750 * time.Millisecond), int64(5)}, {sec(1), int64(3)}}, []string{
			"00:00:00.500", "00:00:01.000", "250ms bins"}},
		// Rows all at one time are bars labelled with it, not a line
		// chart of one point without a time.
		{"one time", [][]any{{sec(7), int64(1)}, {sec(7), int64(5)}}, []string{
			"n on 2024-03-01 (UTC)\n", "00:00:07 │", " 1\n", " 5\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeChart(&b, &resultSet{Columns: []string{"t", "n"}, Rows: tt.rows}, 80); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("chart lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestFitLabels(t *testing.T) {
	tests := []struct {
		in    []int
		total int
		want  []int
	}{
		{[]int{9, 11}, 25, []int{9, 11}},        // fits
		{[]int{50, 1}, 16, []int{13, 1}},        // the wide one takes what is left
		{[]int{21, 23, 14}, 16, []int{4, 4, 4}}, // all wide: equal shares
		{[]int{5, 40, 40}, 30, []int{5, 10, 10}},
		{[]int{40, 40, 40, 40}, 12, []int{3, 3, 3, 3}}, // never below 3
	}
	for _, tt := range tests {
		got := append([]int(nil), tt.in...)
		fitLabels(got, tt.total)
		if !cmp.Equal(got, tt.want) {
			t.Errorf("fitLabels(%v, %d) = %v, want %v", tt.in, tt.total, got, tt.want)
		}
	}
}

// TestBarChartFitsWidth: long and wide-character labels are cut per column
// with an ellipsis, so every line fits the width and short labels stay whole.
func TestBarChartFitsWidth(t *testing.T) {
	rs := resultSet{Columns: []string{"l", "m", "v"}, Rows: [][]any{
		{"東京🚀 a very long label that goes on and on", "x", int64(-5)},
		{"b", "y", int64(10)},
	}}
	var b bytes.Buffer
	if err := writeChart(&b, &rs, 40); err != nil {
		t.Fatal(err)
	}
	// -5 is a bar to the left of the zero line, on the scale of 10's.
	want := "v\n" +
		"東京🚀 a ver…  x " + strings.Repeat("█", 6) + "│             -5\n" +
		"b              y       │" + strings.Repeat("█", 12) + " 10\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("chart (-want +got):\n%s", d)
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if w := textWidth(line); w > 40 {
			t.Errorf("line %q is %d columns wide, more than 40", line, w)
		}
	}
}

// TestTimeSeriesRepeats: rows at one time share a point, the largest, and the
// caption says so, with a regular step and without one.
func TestTimeSeriesRepeats(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2024, 3, 1, 0, m, 0, 0, time.UTC) }
	for _, rows := range [][][]any{
		{{at(0), int64(1)}, {at(0), int64(7)}, {at(1), int64(3)}},
		{{at(0), int64(1)}, {at(0), int64(7)}, {at(1), int64(3)}, {at(3), int64(2)}, {at(4), int64(2)}, {at(6), int64(2)}, {at(7), int64(2)}, {at(8), int64(2)}, {at(10), int64(2)}},
	} {
		var b bytes.Buffer
		if err := writeChart(&b, &resultSet{Columns: []string{"t", "bytes"}, Rows: rows}, 60); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, "the largest of the rows at one time") || !regexp.MustCompile(`(?m)^ *7 ?[┼┤]`).MatchString(out) {
			t.Errorf("chart of repeated times:\n%s", out)
		}
		if regexp.MustCompile(`(?m)^ *1 ?[┼┤]`).MatchString(out) {
			t.Errorf("the smaller value at a repeated time is drawn:\n%s", out)
		}
	}
}

// TestBarChartTooNarrow: labels and values that leave the bars less than
// chartMinBar columns are refused with a usage error and nothing drawn,
// rather than drawing lines wider than the terminal.
func TestBarChartTooNarrow(t *testing.T) {
	rs := resultSet{Columns: []string{"srcaddr", "dstaddr", "action", "log_status", "interface_id", "b"}, Rows: [][]any{
		{"10.0.64.7", "52.216.254.229", "ACCEPT", "OK", "eni-0a1b2c3d4e5f60718", int64(10664289768)},
		{"10.1.64.7", "52.216.216.245", "ACCEPT", "OK", "eni-0a1b2c3d4e5f60719", int64(9051326368)},
	}}
	var b bytes.Buffer
	err := writeChart(&b, &rs, 40)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "too few for a bar chart of b") {
		t.Errorf("got %v, want a usage error saying the width is too small", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q before refusing", b.String())
	}
	// Every width that is drawn fits.
	for width := 40; width <= 200; width++ {
		var b bytes.Buffer
		if err := writeChart(&b, &rs, width); err != nil {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if w := textWidth(line); w > width {
				t.Fatalf("width %d: line %q is %d columns wide", width, line, w)
			}
		}
	}
	if err := writeChart(&bytes.Buffer{}, &rs, 80); err != nil {
		t.Errorf("80 columns: %v, want a chart", err)
	}
}

// TestTimeSeriesFitsWidth: the time axis's labels, which stick out past the
// plot, and long captions stay within the width.
func TestTimeSeriesFitsWidth(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	var days, secs, millis [][]any
	for i := range 5 {
		days = append(days, []any{at.Add(time.Duration(i) * 86401 * time.Second), float64(-i) * 1e12})
		millis = append(millis, []any{at.Add(time.Duration(i) * 250 * time.Millisecond), int64(i)})
	}
	for i := range 5000 {
		secs = append(secs, []any{at.Add(time.Duration(i) * 7 * time.Second), int64(i % 97)})
	}
	for _, rs := range []resultSet{
		{Columns: []string{"t", "n"}, Rows: days},
		{Columns: []string{"t", "n"}, Rows: millis},
		{Columns: []string{"bin(1s)", "a_very_long_name_for_the_count_column_to_wrap"}, Rows: secs},
	} {
		for width := 40; width <= 200; width += 3 {
			var b bytes.Buffer
			if err := writeChart(&b, &rs, width); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(b.String(), "\n") {
				if w := textWidth(line); w > width {
					t.Fatalf("%s at width %d: line %q is %d columns wide:\n%s", rs.Columns[1], width, line, w, b.String())
				}
			}
		}
	}
}

// TestBarChartTimeLabels: times label bars by what tells them apart, so that
// a narrow label column does not cut them all to the same day.
func TestBarChartTimeLabels(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2024, 3, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		rows [][]any
		want []string
	}{
		{"one day", [][]any{{at(1, 0, 0), "REJECT", int64(2)}, {at(1, 6, 0), "REJECT", int64(4)}, {at(1, 6, 0), nil, int64(1)}},
			[]string{"n on 2024-03-01 (UTC)\n", "\n00:00  REJECT │█", "\n06:00  REJECT │█", "\n06:00  -      │█"}},
		{"days", [][]any{{at(1, 0, 0), "A", int64(1)}, {at(2, 0, 0), "B", int64(2)}},
			[]string{"n (UTC)\n", "\n2024-03-01  A │█", "\n2024-03-02  B │█"}},
		{"days and hours", [][]any{{at(1, 23, 30), "A", int64(1)}, {at(2, 0, 0), "B", int64(2)}},
			[]string{"n (UTC)\n", "\n2024-03-01 23:30  A │█", "\n2024-03-02 00:00  B │█"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeChart(&b, &resultSet{Columns: []string{"t", "action", "n"}, Rows: tt.rows}, 60); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("chart lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

// TestTimeSeriesNamedBins: a bin(1h) column has 1 h bins even when the rows
// (cut by --limit) are all 2 h apart: the hours between are gaps.
func TestTimeSeriesNamedBins(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 3, 1, h, 0, 0, 0, time.UTC) }
	rs := resultSet{Columns: []string{"bin(1h)", "n"}, Rows: [][]any{{at(2), int64(5)}, {at(4), int64(7)}, {at(8), int64(6)}}}
	var b bytes.Buffer
	if err := writeChart(&b, &rs, 60); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1h bins") || strings.Contains(b.String(), "2h bins") {
		t.Errorf("chart of bin(1h) rows 2 h apart:\n%s", b.String())
	}
	if d, ok := binPeriod("bin(5m)"); !ok || d != 5*time.Minute {
		t.Errorf("binPeriod(bin(5m)) = %v, %v", d, ok)
	}
	if _, ok := binPeriod("bin(1mo)"); ok {
		t.Error("binPeriod(bin(1mo)) has a fixed length")
	}
}

func TestTextTimeColumn(t *testing.T) {
	tests := []struct {
		vals     []any
		ok, wall bool
	}{
		{[]any{"2024-03-01", "2024-03-02"}, true, false},
		{[]any{"2024-03-01 10:00:00", "2024-03-01 10:00:00.123456789"}, true, true},
		{[]any{"2024-03-01 10:00:00", "10.0.0.1"}, false, false},
		{[]any{"2024-03-01T10:00:00Z"}, false, false}, // instants come as time.Time
		{[]any{"2024-03-01", nil}, false, false},
	}
	for _, tt := range tests {
		rows := make([][]any, len(tt.vals))
		for i, v := range tt.vals {
			rows[i] = []any{v}
		}
		if ok, wall := textTimeColumn(rows, 0); ok != tt.ok || wall != tt.wall {
			t.Errorf("textTimeColumn(%v) = %v, %v, want %v, %v", tt.vals, ok, wall, tt.ok, tt.wall)
		}
	}
}
