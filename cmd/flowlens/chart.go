package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guptarohit/asciigraph"
	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/flowlens/flowlens/config"
	"github.com/flowlens/flowlens/insights/compile"
)

// chartMaxBars is the most rows a bar chart draws; past that a chart stops
// being something people look at.
const chartMaxBars = 60

// chartHeight is the rows of a line chart's plot.
const chartHeight = 10

// chartLabelWidth is the most terminal columns a bar label takes, and at
// most two fifths of the width.
const chartLabelWidth = 48

// writeChart draws rs for people who would rather look than read (-o chart).
// A result whose only non-numeric column is a time (stats … by bin(1h)) is a
// time series: one line chart per numeric column, oldest first, a missing bin
// left as a gap. Any other result is a bar chart per numeric column, one bar
// per row in the result's order, labelled with the row's other columns. width
// is the terminal width. A result without a numeric column cannot be drawn: a
// usage error says so; an empty result is "(no rows)".
func writeChart(w io.Writer, rs *resultSet, width int) error {
	if len(rs.Rows) == 0 {
		_, err := io.WriteString(w, "(no rows)\n")
		return err
	}
	var nums, labels []int
	for i := range rs.Columns {
		if numericColumn(rs.Rows, i) && !codeColumn(rs.Columns[i]) {
			nums = append(nums, i)
		} else {
			labels = append(labels, i)
		}
	}
	if len(nums) == 0 {
		var empty []string
		for i, c := range rs.Columns {
			if !slices.ContainsFunc(rs.Rows, func(r []any) bool { return r[i] != nil }) {
				empty = append(empty, c)
			}
		}
		if len(empty) > 0 {
			verb := "are"
			if len(empty) == 1 {
				verb = "is"
			}
			return usageErrorf("-o chart: the result has no numeric column to draw (columns: %s): "+
				"%s %s NULL in every row; filter them out (… is not NULL) or use -o table",
				strings.Join(rs.Columns, ", "), strings.Join(empty, ", "), verb)
		}
		return usageErrorf("-o chart: the result has no numeric column to draw (columns: %s); "+
			"aggregate with stats or SQL, or use -o table", strings.Join(rs.Columns, ", "))
	}
	bw := bufio.NewWriter(w)
	width = max(width, 40)
	if len(labels) == 1 && len(rs.Rows) > 1 {
		if ok, wall := textTimeColumn(rs.Rows, labels[0]); ok {
			rs = withTextTimes(rs, labels[0], wall)
		}
	}
	if len(labels) == 1 && len(rs.Rows) > 1 && timeColumn(rs.Rows, labels[0]) && severalTimes(rs.Rows, labels[0]) {
		timeSeries(bw, rs, labels[0], nums, width)
	} else if err := barCharts(bw, rs, labels, nums, width); err != nil {
		return err
	}
	return bw.Flush()
}

// codeColumns are the flow-log fields whose numbers name something (a
// port, a protocol) rather than measure it, by their names as
// compile.NormalizeName writes them: they label bars (stats count(*) by
// dstport) and are never drawn.
var codeColumns = map[string]bool{
	"version": true, "srcport": true, "dstport": true, "port": true, "protocol": true, "proto": true,
	"tcpflags": true, "trafficpath": true, "encryptionstatus": true,
}

// codeColumn reports whether the column called name holds codes.
func codeColumn(name string) bool {
	return codeColumns[compile.NormalizeName(name)]
}

// numericColumn reports whether column i has a number in some row and
// nothing but numbers and nulls in the others.
func numericColumn(rows [][]any, i int) bool {
	seen := false
	for _, r := range rows {
		if r[i] == nil {
			continue
		}
		if _, ok := chartNumber(r[i]); !ok {
			return false
		}
		seen = true
	}
	return seen
}

// timeColumn reports whether every value of column i is a time.
func timeColumn(rows [][]any, i int) bool {
	for _, r := range rows {
		if _, ok := r[i].(time.Time); !ok {
			return false
		}
	}
	return true
}

// severalTimes reports whether the times of column i are not all the same:
// rows at a single time are bars labelled with it, as a line chart of one
// point would have no time axis to show it.
func severalTimes(rows [][]any, i int) bool {
	return slices.ContainsFunc(rows, func(r []any) bool { return !r[i].(time.Time).Equal(rows[0][i].(time.Time)) })
}

// textTimeColumn reports whether every value of column i is a day written
// YYYY-MM-DD, as the engine gives DATE values (GROUP BY date), or a time
// without a zone written YYYY-MM-DD hh:mm:ss[.f], as it gives a TIMESTAMP
// (strptime, AT TIME ZONE). wall is true for the latter: its times are
// wall-clock times, not UTC.
func textTimeColumn(rows [][]any, i int) (ok, wall bool) {
	for _, r := range rows {
		s, isText := r[i].(string)
		if !isText {
			return false, false
		}
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			continue
		}
		if _, err := time.Parse(time.DateTime, s); err != nil {
			return false, false
		}
		wall = true
	}
	return true, wall
}

// withTextTimes is rs with the days or wall-clock times of column i as
// times, so that a result by day or by local hour is drawn as a time series.
func withTextTimes(rs *resultSet, i int, wall bool) *resultSet {
	out := &resultSet{Columns: rs.Columns, Rows: make([][]any, len(rs.Rows)), Stats: rs.Stats, wallClock: wall}
	for k, r := range rs.Rows {
		r = slices.Clone(r)
		t, err := time.Parse(time.DateTime, r[i].(string))
		if err != nil {
			t, _ = time.Parse(time.DateOnly, r[i].(string))
		}
		r[i] = t
		out.Rows[k] = r
	}
	return out
}

// zoneNote is what a chart of rs says after its times: " (UTC)", or nothing
// for wall-clock times, whose zone the result does not tell.
func zoneNote(rs *resultSet) string {
	if rs.wallClock {
		return ""
	}
	return " (UTC)"
}

// terminalWidth is the width to draw for on w: the terminal's, else
// $COLUMNS, else 100.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 100
}

// chartNumber is v as a float64 for drawing.
func chartNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	return 0, false
}

// chartMinBar is the fewest terminal columns a bar chart's bars get; a
// narrower chart would not show the difference between its values.
const chartMinBar = 10

// barCharts writes one bar chart per numeric column. Labels are the label
// columns aligned as in a table; bars are scaled to the largest value of the
// column, in eighths of a character; the value follows each bar. When the
// labels (each cut to at least 3 columns) and values leave fewer than
// chartMinBar columns of the width for the bars, it writes nothing and
// returns a usage error.
func barCharts(bw *bufio.Writer, rs *resultSet, labels, nums []int, width int) error {
	rows := rs.Rows
	if len(rows) > chartMaxBars {
		rows = rows[:chartMaxBars]
	}
	// Times label bars in the fewest characters that tell them apart: a
	// day they share is said once, after the chart's title.
	layouts, timeNote := map[int]string{}, ""
	for _, c := range labels {
		if layout, day, ok := timeLabelLayout(rows, c); ok {
			layouts[c], timeNote = layout, zoneNote(rs)
			if day != "" {
				timeNote = " on " + day + zoneNote(rs)
			}
		}
	}
	labelCell := func(r []any, c int) string {
		if t, ok := r[c].(time.Time); ok && layouts[c] != "" {
			return t.UTC().Format(layouts[c])
		}
		return tableCell(r[c])
	}
	colWidth := make([]int, len(labels))
	for _, r := range rows {
		for j, c := range labels {
			colWidth[j] = max(colWidth[j], textWidth(labelCell(r, c)))
		}
	}
	fitLabels(colWidth, min(chartLabelWidth, max(12, width*2/5)))
	label := func(r []any) string {
		if len(labels) == 0 {
			return ""
		}
		parts := make([]string, len(labels))
		for j, c := range labels {
			s := runewidth.Truncate(labelCell(r, c), colWidth[j], "…")
			parts[j] = s + strings.Repeat(" ", colWidth[j]-textWidth(s))
		}
		return strings.TrimRight(strings.Join(parts, "  "), " ")
	}
	labelWidth := 0
	if len(labels) == 0 {
		labelWidth = len(fmt.Sprint(len(rows)))
	}
	for _, r := range rows {
		labelWidth = max(labelWidth, textWidth(label(r)))
	}
	valueWidths := make([]int, len(nums))
	for k, c := range nums {
		for _, r := range rows {
			valueWidths[k] = max(valueWidths[k], textWidth(tableCell(r[c])))
		}
		valueWidth := valueWidths[k]
		if room := width - labelWidth - valueWidth - 4; room < chartMinBar {
			return usageErrorf("-o chart: %d terminal columns are too few for a bar chart of %s by %d label columns "+
				"(the labels take %d, the values of %s %d, leaving %d for the bars, fewer than %d); "+
				"widen the terminal or set COLUMNS, select fewer columns, or use -o table",
				width, rs.Columns[c], len(labels), labelWidth, rs.Columns[c], valueWidth, max(room, 0), chartMinBar)
		}
	}
	for k, c := range nums {
		if k > 0 {
			bw.WriteString("\n")
		}
		valueWidth, top, bottom := valueWidths[k], 0.0, 0.0
		for _, r := range rows {
			if f, ok := chartNumber(r[c]); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
				top, bottom = max(top, f), min(bottom, f)
			}
		}
		bw.WriteString(rs.Columns[c] + timeNote + "\n")
		barWidth := width - labelWidth - valueWidth - 4
		// Negative values get bars to the left of the zero line, on the
		// same scale as the positive ones to its right.
		negWidth, scale := 0, 0.0
		if top > bottom {
			scale = float64(barWidth) / (top - bottom)
		}
		if bottom < 0 {
			negWidth = max(1, int(math.Round(-bottom*scale)))
			barWidth = max(barWidth-negWidth, 1)
			scale = float64(barWidth+negWidth) / (top - bottom)
		}
		for n, r := range rows {
			l := label(r)
			if len(labels) == 0 {
				l = fmt.Sprint(n + 1)
			}
			f, _ := chartNumber(r[c])
			finite := !math.IsNaN(f) && !math.IsInf(f, 0)
			neg := ""
			if negWidth > 0 && f < 0 && finite {
				neg = strings.Repeat("█", min(negWidth, max(1, int(math.Round(-f*scale)))))
			}
			bw.WriteString(l + strings.Repeat(" ", labelWidth-textWidth(l)) + " " +
				strings.Repeat(" ", negWidth-textWidth(neg)) + neg + "│")
			bar := ""
			if scale > 0 && f > 0 && finite {
				bar = eighths(min(f*scale, float64(barWidth)))
			}
			bw.WriteString(bar + strings.Repeat(" ", barWidth-textWidth(bar)+1))
			v := tableCell(r[c])
			bw.WriteString(strings.Repeat(" ", valueWidth-textWidth(v)) + v + "\n")
		}
	}
	if len(rs.Rows) > len(rows) {
		fmt.Fprintf(bw, "\n(the first %d of %d rows; sort and limit the query to choose them)\n", len(rows), len(rs.Rows))
	}
	return nil
}

// timeLabelLayout is the layout for the times of label column c when it
// holds only times and nulls: the time of day alone when they share a day
// (given as day), the day alone when they are all midnight, else both;
// seconds and milliseconds only when some time has them.
func timeLabelLayout(rows [][]any, c int) (layout, day string, ok bool) {
	var times []time.Time
	for _, r := range rows {
		if r[c] == nil {
			continue
		}
		t, isTime := r[c].(time.Time)
		if !isTime {
			return "", "", false
		}
		times = append(times, t.UTC())
	}
	if len(times) == 0 {
		return "", "", false
	}
	sameDay, midnight, secs, frac := true, true, false, false
	for _, t := range times {
		sameDay = sameDay && t.Format(time.DateOnly) == times[0].Format(time.DateOnly)
		midnight = midnight && t.Equal(t.Truncate(24*time.Hour))
		secs = secs || t.Second() != 0
		frac = frac || t.Nanosecond() != 0
	}
	clock := "15:04"
	if secs || frac {
		clock += ":05"
	}
	if frac {
		clock += ".000"
	}
	switch {
	case sameDay && len(times) > 1:
		return clock, times[0].Format(time.DateOnly), true
	case midnight:
		return time.DateOnly, "", true
	}
	return "2006-01-02 " + clock, "", true
}

// fitLabels narrows the label columns' widths so that they and the two
// spaces between them take at most total columns: the narrow ones keep their
// width, the wide ones share what is left equally (each at least 3).
func fitLabels(widths []int, total int) {
	room := total - 2*(len(widths)-1)
	wide := len(widths)
	for changed := true; changed && wide > 0; {
		changed = false
		share := room / wide
		for j, w := range widths {
			if w >= 0 && w <= share {
				room -= w
				wide--
				widths[j] = -w - 1 // settled
				changed = true
			}
		}
	}
	share := max(room/max(wide, 1), 3)
	for j, w := range widths {
		if w < 0 {
			widths[j] = -w - 1
		} else {
			widths[j] = share
		}
	}
}

// eighths draws a bar n characters long in eighths of a character.
func eighths(n float64) string {
	const parts = " ▏▎▍▌▋▊▉"
	full := int(n)
	s := strings.Repeat("█", full)
	if frac := int(math.Round((n - float64(full)) * 8)); frac == 8 {
		s += "█"
	} else if frac > 0 {
		s += string([]rune(parts)[frac])
	}
	if s == "" && n > 0 {
		s = "▏" // a value too small to see still shows that it is there
	}
	return s
}

// timeSeries writes one line chart per numeric column over the time column
// tc, oldest first. The bins are read from the smallest gap between two
// times; a bin without a row is a gap in the line, and rows at the same
// time (records rather than bins) share a point, their largest value. When
// there are more bins than columns to draw them, each column shows the
// largest value of the bins it covers, so that a spike is never averaged
// away.
func timeSeries(bw *bufio.Writer, rs *resultSet, tc int, nums []int, width int) {
	rows := slices.Clone(rs.Rows)
	slices.SortStableFunc(rows, func(a, b []any) int { return a[tc].(time.Time).Compare(b[tc].(time.Time)) })
	first, last := rows[0][tc].(time.Time), rows[len(rows)-1][tc].(time.Time)
	step := time.Duration(0)
	for i := 1; i < len(rows); i++ {
		if d := rows[i][tc].(time.Time).Sub(rows[i-1][tc].(time.Time)); d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	// A column named after its bins (stats … by bin(1h)) has that step,
	// also when bins are missing between every two rows (a --limit).
	if period, ok := binPeriod(rs.Columns[tc]); ok && step > 0 && step%period == 0 {
		step = period
	}
	// Rows at one time (records rather than bins) share a point, the
	// largest: slot is each row's point among the distinct times.
	var times []time.Time
	slot := make([]int, len(rows))
	for i, r := range rows {
		if t := r[tc].(time.Time); i == 0 || !t.Equal(times[len(times)-1]) {
			times = append(times, t)
		}
		slot[i] = len(times) - 1
	}
	repeats, bins := len(times) < len(rows), len(times)
	// The bins are regular when every time is a whole number of steps from
	// the first (not so for bin(1mo): months differ in length); then slot
	// is each row's bin, and a bin without a row is a gap.
	aligned := step > 0 && !slices.ContainsFunc(times, func(t time.Time) bool { return t.Sub(first)%step != 0 })
	regular := aligned && int64(last.Sub(first)/step) < int64(16*len(rows)+1000)
	if regular {
		bins = int(last.Sub(first)/step) + 1
		for i, r := range rows {
			slot[i] = int(r[tc].(time.Time).Sub(first) / step)
		}
	}
	// Times without a common step (records, calendar months) are placed by
	// their time on the width, so that the time axis under them is true.
	timeFormat, day := "2006-01-02 15:04", ""
	switch {
	case step%(24*time.Hour) == 0 && first.Equal(first.Truncate(24*time.Hour)):
		timeFormat = "2006-01-02"
	case first.UTC().Format(time.DateOnly) == last.UTC().Format(time.DateOnly):
		timeFormat, day = "15:04", " on "+first.UTC().Format(time.DateOnly)
		if step%time.Minute != 0 {
			timeFormat = "15:04:05"
		}
	case step%time.Minute != 0:
		timeFormat = "2006-01-02 15:04:05"
	}
	if step%time.Second != 0 {
		// Bins shorter than a second, or not whole seconds, show milliseconds.
		timeFormat = strings.TrimSuffix(strings.TrimSuffix(timeFormat, ":05"), ":04") + ":04:05.000"
	}
	// draw plots column c on plotWidth columns; the plot is "" when the
	// column has no value.
	draw := func(c, plotWidth int) (plot, caption string) {
		per := 1
		if regular && bins > plotWidth {
			per = (bins + plotWidth - 1) / plotWidth
		}
		// Few bins are spread over the width, each bin the same number of columns.
		spread := 1
		if regular && bins < plotWidth {
			spread = plotWidth / bins
		}
		series := make([]float64, bins)
		for i := range series {
			series[i] = math.NaN()
		}
		for i, r := range rows {
			at := slot[i]
			if f, ok := chartNumber(r[c]); ok && !math.IsInf(f, 0) {
				if math.IsNaN(series[at]) || f > series[at] {
					series[at] = f
				}
			}
		}
		if per > 1 {
			series = maxPerGroup(series, per)
		}
		// Counts stay whole numbers on the axis even where the line runs
		// between two of them.
		fraction := slices.ContainsFunc(series, func(v float64) bool { return v != math.Trunc(v) && !math.IsNaN(v) })
		merged := false
		if !regular && len(times) > 1 {
			// Bins too sparse for a grid of them still leave their
			// missing ones as gaps.
			joinAfter := time.Duration(0)
			if aligned {
				joinAfter = step
			}
			series, merged = placeByTime(times, series, plotWidth, joinAfter)
		}
		caption = rs.Columns[c] + " by " + rs.Columns[tc] + day + zoneNote(rs)
		if merged {
			caption += ", each column the largest of the times it covers"
		}
		if regular {
			caption += fmt.Sprintf(", %s bins", config.FormatDuration(step))
		}
		if repeats {
			caption += ", the largest of the rows at one time"
		}
		if per > 1 {
			caption += fmt.Sprintf(", each column the largest of %d bins", per)
		}
		if !hasNumber(series) {
			return "", caption
		}
		// Counts label their axis in whole numbers, unless their range is
		// smaller than the rows of the chart (rounding would repeat labels).
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range series {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		whole := hi-lo >= chartHeight && !fraction
		opts := []asciigraph.Option{asciigraph.Height(chartHeight), asciigraph.Width(len(series) * spread),
			asciigraph.YAxisValueFormatter(func(v float64) string {
				if whole {
					v = math.Round(v)
				}
				return compactNumber(v)
			})}
		if len(series) > 1 {
			span := last.Sub(first).Seconds()
			opts = append(opts, asciigraph.XAxisRange(0, span), asciigraph.XAxisTickCount(min(5, len(series))),
				asciigraph.XAxisValueFormatter(func(v float64) string {
					return first.Add(time.Duration(v * float64(time.Second))).UTC().Format(timeFormat)
				}))
		}
		return asciigraph.Plot(series, opts...), caption
	}
	for k, c := range nums {
		if k > 0 {
			bw.WriteString("\n")
		}
		// The x axis's labels stick out past the plot by half a label:
		// a plot wider than the terminal is drawn again narrower.
		plot, caption := draw(c, max(width-14, 20))
		plotWidth := widest(plot)
		for pw := max(width-14, 20); plot != "" && plotWidth > width && pw > 20; plotWidth = widest(plot) {
			pw = max(20, pw-(plotWidth-width))
			plot, caption = draw(c, pw)
		}
		if plot == "" {
			bw.WriteString(caption + ": no values\n")
			continue
		}
		bw.WriteString(plot + "\n")
		// The caption is centred under the plot, and broken into lines
		// only where it is wider than the terminal.
		for _, l := range wrapCaption(caption, width) {
			bw.WriteString(strings.Repeat(" ", max(0, (plotWidth-textWidth(l))/2)) + l + "\n")
		}
	}
}

// binName matches the name Insights gives a column of bins: bin(5m).
var binName = regexp.MustCompile(`^bin\((\d+)(ms|s|m|h|d|w)\)$`)

// binPeriod is the period of a column named bin(PERIOD), for periods of a
// fixed length.
func binPeriod(name string) (time.Duration, bool) {
	m := binName.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 || n > 1<<31 {
		return 0, false
	}
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, true
}

// placeByTime lays the values at times (distinct, oldest first) on n
// columns by their time: the first in the first column, the last in the
// last. Between two values the line runs straight, as a line chart joins
// its points, unless join is more than 0 and they are further apart than
// join (bins with missing ones between them): then the columns between are
// a gap. A column that several times fall in shows their largest, and
// merged says so.
func placeByTime(times []time.Time, values []float64, n int, join time.Duration) (out []float64, merged bool) {
	out = make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	span := times[len(times)-1].Sub(times[0])
	filled := make([]bool, n)
	firstAt, lastAt := make([]time.Time, n), make([]time.Time, n)
	for i, t := range times {
		at := int(math.Round(float64(t.Sub(times[0])) / float64(span) * float64(n-1)))
		if filled[at] {
			merged = true
		} else {
			firstAt[at] = t
		}
		filled[at], lastAt[at] = true, t
		if v := values[i]; !math.IsNaN(v) && (math.IsNaN(out[at]) || v > out[at]) {
			out[at] = v
		}
	}
	prev := -1
	for i, v := range out {
		if math.IsNaN(v) {
			continue
		}
		if prev >= 0 && (join <= 0 || firstAt[i].Sub(lastAt[prev]) <= join) {
			for j := prev + 1; j < i; j++ {
				if !filled[j] {
					out[j] = out[prev] + (v-out[prev])*float64(j-prev)/float64(i-prev)
				}
			}
		}
		prev = i
	}
	return out, merged
}

// wrapCaption breaks a chart's caption after its commas so that no line is
// wider than width; a part still too wide is broken between its words, and
// a word wider than width is cut with an ellipsis.
func wrapCaption(caption string, width int) []string {
	return wrapAfter(caption, width, ", ", func(part string) []string {
		return wrapAfter(part, width, " ", func(word string) []string {
			return []string{runewidth.Truncate(word, width, "…")}
		})
	})
}

// wrapAfter breaks s after each sep so that no line is wider than width,
// and breaks a part wider than width with tooWide.
func wrapAfter(s string, width int, sep string, tooWide func(string) []string) []string {
	var lines []string
	line := ""
	for _, part := range strings.SplitAfter(s, sep) {
		if line != "" && textWidth(line+strings.TrimRight(part, " ")) > width {
			lines = append(lines, strings.TrimRight(line, " "))
			line = ""
		}
		line += part
		if textWidth(strings.TrimRight(line, " ")) > width {
			lines = append(lines, tooWide(strings.TrimRight(line, " "))...)
			line = ""
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return lines
}

// widest is the terminal width of the widest line of s.
func widest(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, textWidth(l))
	}
	return w
}

// maxPerGroup shrinks s to one value per group of n: the group's largest,
// NaN for a group with no value.
func maxPerGroup(s []float64, n int) []float64 {
	out := make([]float64, 0, (len(s)+n-1)/n)
	for i := 0; i < len(s); i += n {
		m := math.NaN()
		for _, v := range s[i:min(i+n, len(s))] {
			if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
				m = v
			}
		}
		out = append(out, m)
	}
	return out
}

func hasNumber(s []float64) bool {
	return slices.ContainsFunc(s, func(v float64) bool { return !math.IsNaN(v) })
}

// compactNumber renders an axis value short: 950, 12.5k, 3.2M, 1.1G.
func compactNumber(v float64) string {
	a := math.Abs(v)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= u.div {
			return trimZeros(fmt.Sprintf("%.1f", v/u.div)) + u.suffix
		}
	}
	if a == math.Trunc(a) {
		return fmt.Sprintf("%.0f", v)
	}
	return trimZeros(fmt.Sprintf("%.2f", v))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
