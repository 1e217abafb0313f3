package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Format is a report's output format.
type Format string

// The formats.
const (
	Markdown Format = "md"   // GitHub-flavoured Markdown; charts as text bars in code blocks
	HTML     Format = "html" // one self-contained, printable file: inline CSS and SVG
	JSON     Format = "json" // the report's typed value, raw numbers, stable keys
	Text     Format = "text" // the terminal view
)

// Formats lists the formats.
var Formats = []Format{Markdown, HTML, JSON, Text}

// ParseFormat reads md (or markdown), html, json or text.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "md", "markdown":
		return Markdown, nil
	case "html":
		return HTML, nil
	case "json":
		return JSON, nil
	case "text", "terminal", "txt":
		return Text, nil
	}
	return "", fmt.Errorf("format %q is not one of md, html, json, text", s)
}

// Report is a built report: *Compliance or *Traffic.
type Report interface {
	document() *document
}

// Write renders r in format f to w.
func Write(w io.Writer, f Format, r Report) error {
	if f == JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	bw := bufio.NewWriter(w)
	d := r.document()
	switch f {
	case Markdown:
		writeMarkdown(bw, d)
	case HTML:
		writeHTML(bw, d)
	case Text:
		writeText(bw, d)
	default:
		return fmt.Errorf("write report: unknown format %q", f)
	}
	return bw.Flush()
}

// ---- Markdown

func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\n", " ")
	return r.Replace(s)
}

func writeMarkdown(w *bufio.Writer, d *document) {
	fmt.Fprintf(w, "# %s\n\n", mdEscape(d.Title))
	if d.Subtitle != "" {
		fmt.Fprintf(w, "%s\n\n", mdEscape(d.Subtitle))
	}
	for _, m := range d.Meta {
		fmt.Fprintf(w, "- **%s:** %s\n", mdEscape(m[0]), mdEscape(m[1]))
	}
	if len(d.Meta) > 0 {
		w.WriteString("\n")
	}
	for _, s := range d.Sections {
		fmt.Fprintf(w, "## %s\n\n", mdEscape(s.Title))
		for _, b := range s.Blocks {
			switch x := b.(type) {
			case para:
				switch x.Tone {
				case "warn":
					fmt.Fprintf(w, "> **Needs follow-up:** %s\n\n", mdEscape(x.Text))
				case "note":
					fmt.Fprintf(w, "> %s\n\n", mdEscape(x.Text))
				default:
					fmt.Fprintf(w, "%s\n\n", mdEscape(x.Text))
				}
			case quote:
				fmt.Fprintf(w, "**%s** (%s): *“%s”*\n\n", mdEscape(x.Ref), mdEscape(x.Source), mdEscape(x.Text))
				fmt.Fprintf(w, "Evidence: %s\n\n", mdEscape(x.Evidence))
			case *table:
				mdTable(w, x)
			case chart:
				if x.Title != "" {
					fmt.Fprintf(w, "%s:\n\n", mdEscape(x.Title))
				}
				w.WriteString("```text\n")
				textChart(w, x, 40)
				w.WriteString("```\n\n")
			case signoff:
				w.WriteString("| Reviewed by | Date | Signature |\n|---|---|---|\n")
				fmt.Fprintf(w, "| %s | %s | %s |\n\n", blankLine(mdEscape(x.Reviewer)), blankLine(mdEscape(x.Date)), blankLine(""))
			}
		}
	}
}

// blankLine is a sign-off field: its value, or a line to write on.
func blankLine(s string) string {
	if s == "" {
		return "\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_\\_"
	}
	return s
}

func mdTable(w *bufio.Writer, t *table) {
	if t.Caption != "" {
		fmt.Fprintf(w, "%s:\n\n", mdEscape(t.Caption))
	}
	if len(t.Rows) == 0 {
		w.WriteString("(none)\n\n")
		return
	}
	w.WriteString("|")
	for _, c := range t.Columns {
		fmt.Fprintf(w, " %s |", mdEscape(c))
	}
	w.WriteString("\n|")
	for _, r := range t.Right {
		if r {
			w.WriteString("---:|")
		} else {
			w.WriteString("---|")
		}
	}
	w.WriteString("\n")
	for i, row := range t.Rows {
		w.WriteString("|")
		for _, c := range row {
			if t.Mark[i] {
				fmt.Fprintf(w, " **%s** |", mdEscape(c))
			} else {
				fmt.Fprintf(w, " %s |", mdEscape(c))
			}
		}
		w.WriteString("\n")
	}
	if t.More > 0 {
		fmt.Fprintf(w, "\n%s more rows in the JSON report.\n", num(int64(t.More)))
	}
	w.WriteString("\n")
}

// maxTextBars is the most bars a text chart draws.
const maxTextBars = 42

// textChart draws a chart as one line per label: label, bar, value.
func textChart(w *bufio.Writer, c chart, width int) {
	if len(c.Values) == 0 {
		w.WriteString("(no data)\n")
		return
	}
	if k := (len(c.Values) + maxTextBars - 1) / maxTextBars; k > 1 {
		// A long series (a week by the hour) would be a page of bars:
		// each bar sums k points instead, labelled by the first.
		var g chart
		g.Human = c.Human
		for i := 0; i < len(c.Values); i += k {
			sum := 0.0
			for _, v := range c.Values[i:min(i+k, len(c.Values))] {
				sum += v
			}
			g.Labels, g.Values = append(g.Labels, c.Labels[i]), append(g.Values, sum)
		}
		fmt.Fprintf(w, "(each bar sums %d points)\n", k)
		c = g
	}
	peak := 0.0
	lw := 0
	for i, v := range c.Values {
		peak = math.Max(peak, v)
		lw = max(lw, utf8.RuneCountInString(c.Labels[i]))
	}
	human := c.Human
	if human == nil {
		human = short
	}
	for i, v := range c.Values {
		n := 0.0
		if peak > 0 {
			n = v / peak * float64(width)
		}
		bar := strings.Repeat("█", int(n))
		if frac := n - math.Floor(n); frac >= 0.5 {
			bar += "▌"
		}
		fmt.Fprintf(w, "%-*s │%s %s\n", lw, c.Labels[i], bar, human(v))
	}
}

// ---- terminal

func writeText(w *bufio.Writer, d *document) {
	fmt.Fprintf(w, "%s\n%s\n", d.Title, strings.Repeat("═", utf8.RuneCountInString(d.Title)))
	if d.Subtitle != "" {
		fmt.Fprintf(w, "%s\n", d.Subtitle)
	}
	for _, m := range d.Meta {
		fmt.Fprintf(w, "  %s: %s\n", m[0], m[1])
	}
	for _, s := range d.Sections {
		fmt.Fprintf(w, "\n── %s\n\n", s.Title)
		for _, b := range s.Blocks {
			switch x := b.(type) {
			case para:
				prefix := ""
				switch x.Tone {
				case "warn":
					prefix = "! "
				case "note":
					prefix = "note: "
				}
				fmt.Fprintf(w, "%s%s\n\n", prefix, x.Text)
			case quote:
				fmt.Fprintf(w, "%s (%s): “%s”\n  evidence: %s\n\n", x.Ref, x.Source, x.Text, x.Evidence)
			case *table:
				textTable(w, x)
			case chart:
				if x.Title != "" {
					fmt.Fprintf(w, "%s:\n", x.Title)
				}
				textChart(w, x, 50)
				w.WriteString("\n")
			case signoff:
				fmt.Fprintf(w, "Reviewed by: %s\nDate:        %s\nSignature:   %s\n\n", orLine(x.Reviewer), orLine(x.Date), orLine(""))
			}
		}
	}
}

func orLine(s string) string {
	if s == "" {
		return "____________________"
	}
	return s
}

func textTable(w *bufio.Writer, t *table) {
	if t.Caption != "" {
		fmt.Fprintf(w, "%s:\n", t.Caption)
	}
	if len(t.Rows) == 0 {
		w.WriteString("  (none)\n\n")
		return
	}
	width := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		width[i] = utf8.RuneCountInString(c)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string, mark bool) {
		if mark {
			w.WriteString("* ")
		} else {
			w.WriteString("  ")
		}
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				w.WriteString("  ")
			}
			if t.Right[i] {
				w.WriteString(pad + c)
			} else if i < len(cells)-1 {
				w.WriteString(c + pad)
			} else {
				w.WriteString(c)
			}
		}
		w.WriteString("\n")
	}
	line(t.Columns, false)
	seps := make([]string, len(t.Columns))
	for i := range seps {
		seps[i] = strings.Repeat("─", width[i])
	}
	line(seps, false)
	for i, r := range t.Rows {
		line(r, t.Mark[i])
	}
	if t.More > 0 {
		fmt.Fprintf(w, "  … %s more rows (see -f json)\n", num(int64(t.More)))
	}
	w.WriteString("\n")
}

// ---- HTML

const css = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1f24;max-width:1100px;margin:2em auto;padding:0 1.2em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:1.8em}
.sub{color:#57606a}dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}tr.mark td{background:#fff1e5;font-weight:600}
caption{text-align:left;font-weight:600;padding:.3em 0}.note{border-left:4px solid #8c959f;padding:.3em .8em;background:#f6f8fa}
.warn{border-left:4px solid #cf222e;padding:.3em .8em;background:#ffebe9}blockquote{margin:.6em 0;padding:.4em .9em;border-left:4px solid #0969da;background:#ddf4ff}
blockquote p{margin:.2em 0}.ev{font-size:.92em}svg{max-width:100%;height:auto;display:block;margin:.4em 0 1.2em}svg text{font:11px sans-serif;fill:#57606a}
.bar{fill:#0969da}.sign td{height:2.2em;min-width:14em}.more{color:#57606a;font-size:.9em}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}table,svg,blockquote{break-inside:avoid}}`

func writeHTML(w *bufio.Writer, d *document) {
	e := html.EscapeString
	w.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(w, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", e(d.Title), css)
	fmt.Fprintf(w, "<h1>%s</h1>\n", e(d.Title))
	if d.Subtitle != "" {
		fmt.Fprintf(w, "<p class=\"sub\">%s</p>\n", e(d.Subtitle))
	}
	if len(d.Meta) > 0 {
		w.WriteString("<dl class=\"meta\">\n")
		for _, m := range d.Meta {
			fmt.Fprintf(w, "<dt>%s</dt><dd>%s</dd>\n", e(m[0]), e(m[1]))
		}
		w.WriteString("</dl>\n")
	}
	for _, s := range d.Sections {
		fmt.Fprintf(w, "<section id=\"%s\">\n<h2>%s</h2>\n", e(s.ID), e(s.Title))
		for _, b := range s.Blocks {
			switch x := b.(type) {
			case para:
				switch x.Tone {
				case "warn":
					fmt.Fprintf(w, "<p class=\"warn\"><strong>Needs follow-up:</strong> %s</p>\n", e(x.Text))
				case "note":
					fmt.Fprintf(w, "<p class=\"note\">%s</p>\n", e(x.Text))
				default:
					fmt.Fprintf(w, "<p>%s</p>\n", e(x.Text))
				}
			case quote:
				fmt.Fprintf(w, "<blockquote><p><strong>%s</strong> (%s): <q>%s</q></p><p class=\"ev\">Evidence: %s</p></blockquote>\n",
					e(x.Ref), e(x.Source), e(x.Text), e(x.Evidence))
			case *table:
				htmlTable(w, x)
			case chart:
				svgChart(w, x)
			case signoff:
				fmt.Fprintf(w, "<table class=\"sign\"><tr><th>Reviewed by</th><td>%s</td></tr><tr><th>Date</th><td>%s</td></tr><tr><th>Signature</th><td></td></tr></table>\n",
					e(x.Reviewer), e(x.Date))
			}
		}
		w.WriteString("</section>\n")
	}
	w.WriteString("</body>\n</html>\n")
}

func htmlTable(w *bufio.Writer, t *table) {
	e := html.EscapeString
	if len(t.Rows) == 0 {
		if t.Caption != "" {
			fmt.Fprintf(w, "<p><strong>%s:</strong> (none)</p>\n", e(t.Caption))
		} else {
			w.WriteString("<p>(none)</p>\n")
		}
		return
	}
	w.WriteString("<table>\n")
	if t.Caption != "" {
		fmt.Fprintf(w, "<caption>%s</caption>\n", e(t.Caption))
	}
	w.WriteString("<thead><tr>")
	for i, c := range t.Columns {
		fmt.Fprintf(w, "<th%s>%s</th>", rightClass(t.Right[i]), e(c))
	}
	w.WriteString("</tr></thead>\n<tbody>\n")
	for i, row := range t.Rows {
		if t.Mark[i] {
			w.WriteString("<tr class=\"mark\">")
		} else {
			w.WriteString("<tr>")
		}
		for j, c := range row {
			fmt.Fprintf(w, "<td%s>%s</td>", rightClass(t.Right[j]), e(c))
		}
		w.WriteString("</tr>\n")
	}
	w.WriteString("</tbody>\n</table>\n")
	if t.More > 0 {
		fmt.Fprintf(w, "<p class=\"more\">%s more rows in the JSON report.</p>\n", num(int64(t.More)))
	}
}

func rightClass(r bool) string {
	if r {
		return ` class="r"`
	}
	return ""
}

// svgChart draws a chart as inline SVG: vertical bars, a y axis with the
// peak value, labels thinned to fit.
func svgChart(w *bufio.Writer, c chart) {
	e := html.EscapeString
	if c.Title != "" {
		fmt.Fprintf(w, "<p><strong>%s</strong></p>\n", e(c.Title))
	}
	if len(c.Values) == 0 {
		w.WriteString("<p>(no data)</p>\n")
		return
	}
	const width, height, left, bottom, top = 960.0, 220.0, 70.0, 30.0, 10.0
	human := c.Human
	if human == nil {
		human = short
	}
	peak := 0.0
	for _, v := range c.Values {
		peak = math.Max(peak, v)
	}
	n := float64(len(c.Values))
	slot := (width - left) / n
	fmt.Fprintf(w, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n", width, height, e(c.Title))
	plot := height - bottom - top
	fmt.Fprintf(w, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#8c959f\"/>\n", left, top, left, top+plot)
	fmt.Fprintf(w, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#8c959f\"/>\n", left, top+plot, width, top+plot)
	fmt.Fprintf(w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", left-4, top+8, e(human(peak)))
	fmt.Fprintf(w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", left-4, top+plot)
	// Labels are thinned to fit: about 6.5 px a character at 11 px, and a gap.
	widest := 0
	for _, l := range c.Labels {
		widest = max(widest, utf8.RuneCountInString(l))
	}
	every := max(1, int(math.Ceil(n*(float64(widest)*6.5+10)/(width-left))))
	for i, v := range c.Values {
		h := 0.0
		if peak > 0 {
			h = v / peak * plot
		}
		x := left + float64(i)*slot
		fmt.Fprintf(w, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%s: %s</title></rect>\n",
			x+slot*0.1, top+plot-h, slot*0.8, h, e(c.Labels[i]), e(human(v)))
		if i%every == 0 {
			fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", x+slot/2, height-bottom+16, e(c.Labels[i]))
		}
	}
	w.WriteString("</svg>\n")
}
