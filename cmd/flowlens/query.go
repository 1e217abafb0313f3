package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowlens/flowlens/config"
	"github.com/flowlens/flowlens/engine"
	_ "github.com/flowlens/flowlens/engine/duckdb" // the embedded engine
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/insights/compile"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/server"
)

func init() { register(newQueryCmd) }

type queryFlags struct {
	lang     string
	since    string
	from, to string
	limit    int
	timeout  time.Duration
	engine   string
	printSQL bool
	explain  bool
}

func newQueryCmd() *cobra.Command {
	var f queryFlags
	cmd := &cobra.Command{
		Use:   "query [--lang insights|sql] [--since DUR | --from T --to T] [-o FORMAT] QUERY|@FILE|-",
		Short: "Query the lake with CloudWatch Logs Insights syntax or SQL",
		Long: `Query runs one CloudWatch Logs Insights query or one SQL SELECT over the flow-log
lake and prints the result.

SQL reads the view vpc_flow_logs (alias flows): one column per flow-log field with
AWS's names and types (srcaddr, dstport, log_status, ...), the aliases windowstart,
windowend and flowlogstatus, extra (unknown fields as JSON), the partition columns
year, month and day as zero-padded strings and date (a DATE), as in an Athena table
over the same lake. SQL is read-only: exactly one SELECT (or WITH ... SELECT) statement, no
file access outside the lake, no settings, no extensions.

The language is --lang, else told from the first word: SELECT, WITH, FROM and other
SQL statement words are SQL; fields, filter, stats and the other Insights commands
are Insights.

QUERY is the query text, @FILE reads it from a file, - from standard input.

--since 24h (or 90m, 7d, 2w), or --from and --to (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds), keep
records whose start lies in [from, to); only the day folders of that range are
read. A note on stderr says when the range holds none of the lake's records.

Output (-o): table (the default on a terminal), csv, json
({"columns": [...], "rows": [[...]], "stats": {"rows": N, "seconds": S}}) or ndjson
(one object per row keyed by column name, the default elsewhere), or chart: a line
chart per number column when the result is a bin() series, else a bar per row (the
first 60). At most --limit rows are printed; a note on stderr says when there were more.

Errors point at the query: the line and a caret under the position. A query that
does not parse, names unknown columns, fails on a value (a CAST, an overflow) or
is refused exits with 2; a query stopped by the time limit or by I/O exits with 1.

` + exitCodesHelp,
		Example: `  # Top talkers of the last day (Insights)
  flowlens query --since 24h 'fields srcaddr, dstaddr, bytes
    | filter action = "ACCEPT"
    | stats sum(bytes) as total_bytes by srcaddr, dstaddr
    | sort total_bytes desc | limit 20'

  # SQL, as in Athena, as CSV
  flowlens query -o csv "SELECT srcaddr, count(*) AS flows FROM vpc_flow_logs
    WHERE year = '2024' AND month = '03' AND action = 'REJECT'
    GROUP BY srcaddr ORDER BY flows DESC LIMIT 10"

  # A query kept in a file, over one day
  flowlens query --from 2024-03-01T00:00:00Z --to 2024-03-02T00:00:00Z @scans.insights

  # Rejected flows per hour, as a line chart
  flowlens query -o chart --since 24h 'filter action = "REJECT" | stats count(*) as rejected by bin(1h)'

  # Which day folders a time range reads
  flowlens query --explain --since 48h 'stats count(*) by action'

  # The SQL an Insights query compiles to
  flowlens query --print-sql 'filter logStatus = "SKIPDATA" | stats count(*) by bin(1h)'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runQuery(cmd, &f, args[0]) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.lang, "lang", "", "query language: insights or sql (default: told from the query)")
	fl.StringVar(&f.since, "since", "", "only records that started within this long before now: 90m, 24h, 7d, 2w")
	fl.StringVar(&f.from, "from", "", "only records that started at or after this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	fl.StringVar(&f.to, "to", "", "only records that started before this time (RFC 3339, a UTC day such as 2024-03-01, or Unix seconds)")
	fl.IntVar(&f.limit, "limit", engine.DefaultMaxRows, "print at most this many rows")
	fl.DurationVar(&f.timeout, "timeout", engine.DefaultTimeout, "stop the query after this long")
	fl.StringVar(&f.engine, "engine", "", "query engine: duckdb (embedded, the default)")
	fl.BoolVar(&f.printSQL, "print-sql", false, "print the SQL that would run, and stop")
	fl.BoolVar(&f.explain, "explain", false, "run the query and print the engine's plan with its counts (files read, rows) instead of the result")
	return cmd
}

func runQuery(cmd *cobra.Command, f *queryFlags, arg string) error {
	began := time.Now()
	text, err := readQuery(cmd, arg)
	if err != nil {
		return err
	}
	lang := f.lang
	switch lang {
	case "":
		lang = server.DetectLang(text)
	case "insights", "sql":
	default:
		return usageErrorf("--lang: %q is not insights or sql", f.lang)
	}
	r, err := timeRange(f, time.Now())
	if err != nil {
		return err
	}
	if f.limit <= 0 {
		return usageErrorf("--limit: %d is not a positive number of rows", f.limit)
	}
	if f.timeout <= 0 {
		return usageErrorf("--timeout: %s is not a positive duration", f.timeout)
	}

	dataDir, err := g.dataDir()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if st, err := os.Stat(dataDir); err == nil && !st.IsDir() {
		return usageErrorf("the data folder %s is a file, not a folder", dataDir)
	}
	if name, _, _ := strings.Cut(f.engine, "://"); name != "" && !slices.Contains(engine.Dialects(), name) {
		return usageErrorf("--engine: unknown dialect %q (known: %s)", name, strings.Join(engine.Dialects(), ", "))
	}
	ctx := cmd.Context()
	eng, err := engine.Open(ctx, f.engine, dataDir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer eng.Close()

	sql := text
	if lang == "insights" {
		if sql, err = compileInsights(text, eng.Dialect()); err != nil {
			return err
		}
	}
	if f.printSQL {
		_, err := fmt.Fprintln(g.stdout, strings.TrimRight(sql, "\n"))
		return err
	}
	if f.engine == "" {
		lakeNotes(dataDir, r)
	}
	req := engine.Request{SQL: sql, Range: r, MaxRows: f.limit, Timeout: f.timeout}
	if f.explain {
		ex, ok := eng.(interface {
			Explain(context.Context, engine.Request) (string, error)
		})
		if !ok {
			return usageErrorf("--explain: the %s engine cannot explain queries", eng.Dialect())
		}
		plan, err := ex.Explain(ctx, req)
		if err != nil {
			return queryError(err, text, sql, lang)
		}
		_, err = io.WriteString(g.stdout, plan)
		return err
	}
	stop := func() {}
	if g.stderrIsTerminal() {
		stop = startSpinner(g.stderr, "querying", spinnerDelay)
	}
	res, err := eng.Query(ctx, req)
	stop()
	if err != nil {
		return queryError(err, text, sql, lang)
	}
	if res.Truncated {
		noticef("note: showing the first %d rows; the query has more (raise --limit, or add a limit)", len(res.Rows))
	}
	rs := &resultSet{Columns: res.Names(), Rows: res.Rows, Stats: map[string]any{
		"rows":    len(res.Rows),
		"seconds": math.Round(time.Since(began).Seconds()*1000) / 1000,
	}}
	if res.Truncated {
		rs.Stats["truncated"] = true
	}
	if err := writeResult(g.stdout, g.outputFormat("ndjson"), rs); err != nil {
		if ee := (*exitError)(nil); errors.As(err, &ee) {
			return err // -o chart of a result without numbers
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("write the result: %w", err)}
	}
	return nil
}

// lakeNotes says on stderr when the query cannot find any record: the data
// folder does not exist (a mistyped --data), the lake is empty, or the time
// range misses every record of the lake (--since 24h over imported history).
func lakeNotes(dataDir string, r engine.Range) {
	if _, err := os.Stat(dataDir); errors.Is(err, fs.ErrNotExist) {
		noticef("note: the data folder %s does not exist; check --data, or add data with flowlens ingest", dataDir)
		return
	}
	if _, err := os.Stat(engine.LakeDir(dataDir)); err != nil {
		noticef("note: the lake %s has no data yet; flowlens ingest adds some", engine.LakeDir(dataDir))
		return
	}
	st, err := lake.StatusOf(dataDir)
	if err != nil || st.Records == 0 || r.IsZero() {
		return
	}
	first, last := time.Unix(st.MinStart, 0).UTC(), time.Unix(st.MaxStart, 0).UTC()
	if !r.To.IsZero() && !first.Before(r.To) || !r.From.IsZero() && last.Before(r.From) {
		noticef("note: no record of the lake lies in the time range: their starts run from %s to %s",
			first.Format(time.RFC3339), last.Format(time.RFC3339))
	}
}

// readQuery returns the query text of the argument: the text itself, @FILE or -.
func readQuery(cmd *cobra.Command, arg string) (string, error) {
	var b []byte
	var err error
	switch {
	case arg == "-":
		if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fmt.Fprintln(g.stderr, "reading the query from standard input; end it with Ctrl-D")
		}
		b, err = io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return "", &exitError{code: exitFailure, err: fmt.Errorf("read the query from standard input: %w", err)}
		}
	case arg == "@":
		return "", usageErrorf("@ needs a file name: @FILE reads the query from FILE")
	case strings.HasPrefix(arg, "@"):
		b, err = os.ReadFile(arg[1:])
		if err != nil {
			return "", &exitError{code: exitFailure, err: fmt.Errorf("read the query: %w", err)}
		}
	default:
		b = []byte(arg)
	}
	// Editors on Windows may start a file with a byte order mark.
	text := strings.TrimRight(strings.TrimPrefix(string(b), "\ufeff"), " \t\r\n")
	if strings.TrimSpace(text) == "" {
		return "", usageErrorf("the query is empty")
	}
	return text, nil
}

// timeRange reads --since, --from and --to.
func timeRange(f *queryFlags, now time.Time) (engine.Range, error) {
	var r engine.Range
	if f.since != "" {
		if f.from != "" || f.to != "" {
			return r, usageErrorf("--since and --from/--to do not go together")
		}
		d, err := parseSince(f.since)
		if err != nil {
			return r, usageErrorf("--since: %v", err)
		}
		r.From = now.Add(-d)
		return r, nil
	}
	var err error
	if f.from != "" {
		if r.From, err = parseTime(f.from); err != nil {
			return r, usageErrorf("--from: %v", err)
		}
	}
	if f.to != "" {
		if r.To, err = parseTime(f.to); err != nil {
			return r, usageErrorf("--to: %v", err)
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return r, usageErrorf("--from %s is not before --to %s", f.from, f.to)
	}
	return r, nil
}

// parseSince reads a positive duration as the other commands do (config's
// ParseDuration): Go durations, or days and weeks such as 7d, 1.5d or 2w.
func parseSince(s string) (time.Duration, error) {
	d, err := config.ParseDuration(s)
	switch {
	case errors.Is(err, config.ErrDurationTooLong):
		return 0, fmt.Errorf("%q is too long: at most about 290 years", s)
	case err != nil || d <= 0:
		return 0, fmt.Errorf("%q is not a duration such as 90m, 24h, 7d or 2w", s)
	}
	return d, nil
}

// maxUnix is 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const maxUnix = 253402300799

// parseTime reads RFC 3339, a UTC day or wall-clock time, or Unix seconds.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > maxUnix {
			// CloudWatch and JavaScript count milliseconds.
			return time.Time{}, fmt.Errorf("%q is beyond the year 9999: milliseconds? %d is in seconds", s, n/1000)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err == nil {
		return t.UTC(), nil
	}
	// Without a zone, a day or a wall-clock time is UTC, as the lake's days are.
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04:05", time.DateTime, "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-03-01T00:00:00Z), a UTC day or time (2024-03-01, 2024-03-01 10:00:00) nor Unix seconds", s)
}

// insightsDialects maps engine dialects to the compiler's.
var insightsDialects = map[string]compile.Dialect{"duckdb": compile.DuckDB}

// insightsSchema resolves Insights field names to the view's columns: column
// names, AWS names and Insights names, ignoring case, '-' and '_'.
func insightsSchema() compile.Schema {
	var cols []compile.Column
	for _, c := range engine.ViewColumns() {
		cols = append(cols, compile.Column{Name: c.Name, Type: c.Type, Aliases: c.Aliases})
	}
	return compile.NewSchema(cols)
}

// compileInsights parses an Insights query and compiles it for dialect.
func compileInsights(text, dialect string) (string, error) {
	d, ok := insightsDialects[dialect]
	if !ok {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("the %s engine cannot run Insights queries yet; use SQL", dialect)}
	}
	q, err := insights.Parse(text)
	if err == nil {
		var sql string
		if sql, err = compile.Compile(q, insightsSchema(), d, compile.Options{}); err == nil {
			return sql, nil
		}
	}
	var ie *insights.Error
	if errors.As(err, &ie) {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("query:%d:%d: %s\n%s", ie.Line, ie.Col, ie.Msg, caret(text, ie.Pos.Start, ie.Pos.End))}
	}
	return "", &exitError{code: exitUsage, err: fmt.Errorf("query: %w", err)}
}

// insightsPipe matches an Insights command after a | in an SQL query.
var insightsPipe = regexp.MustCompile(`(?i)\|\s*(fields|display|filter|stats|sort|limit|parse|dedup)\b`)

// queryError renders an engine error with the query line and a caret, and
// picks the exit code: 2 for the query's own faults, 1 for the rest.
//
// The caret follows the message's first line; DuckDB's further lines
// (candidate names, overloads) and the hint come after it. An error in the
// SQL compiled from an Insights query shows that SQL's line and says so.
func queryError(err error, text, sql, lang string) error {
	qe := engine.AsError(err)
	if qe == nil {
		return &exitError{code: exitFailure, err: err}
	}
	code := exitFailure
	if qe.Kind == engine.Invalid || qe.Kind == engine.Refused {
		code = exitUsage
	}
	compiled := lang == "insights" && sql != text && code == exitUsage
	shown, label := text, "query"
	if compiled {
		shown, label = sql, "compiled SQL"
	}
	headline, details, _ := strings.Cut(qe.Msg, "\n")
	hint := qe.Hint
	if lang == "insights" {
		// The engine's advice speaks of the SQL (TRY_CAST, SET, double
		// quotes, GROUP BY), which an Insights user does not write: say
		// what to change in the Insights query instead.
		for _, r := range []struct {
			inHint  string // the SQL advice in the engine's hint, which is replaced
			inMsg   string // the SQL advice in the message, which is cut out up to its full stop
			insight func(sqlHint string) string
		}{
			{inHint: "TRY_CAST", insight: func(string) string {
				return `a value of the query did not convert to the type it meets: compare number fields (dstport, bytes) with numbers that fit them, text fields with quoted text, and @timestamp with a time such as "2024-03-01T12:00:00Z"`
			}},
			{inMsg: `Use "SET max_expression_depth`, insight: func(string) string {
				return "the query nests too deeply for the engine: write many comparisons of one field as field in [...], and split deeply nested expressions into steps with fields ... as"
			}},
			{inHint: `write "end" in double quotes`, insight: func(string) string {
				return "name the field end as endTime or windowend"
			}},
			{inHint: " to the GROUP BY list", insight: func(h string) string {
				field, _, _ := strings.Cut(strings.TrimPrefix(h, "add "), " to the GROUP BY list")
				return fmt.Sprintf("add %s to the by clause of stats, or wrap it in an aggregate such as max(%s)", field, field)
			}},
			{inMsg: "You might need to add explicit type casts", insight: func(string) string {
				return "compare and combine values of one type: number fields with numbers, text fields with quoted text"
			}},
			{inMsg: "Please add an explicit type cast", insight: func(string) string {
				return "compare and combine values of one type: number fields with numbers, text fields with quoted text"
			}},
		} {
			if r.inHint != "" && strings.Contains(hint, r.inHint) {
				hint = r.insight(hint)
			}
			if r.inMsg == "" {
				continue
			}
			for _, part := range []*string{&headline, &details} {
				i := strings.Index(*part, r.inMsg)
				if i < 0 {
					continue
				}
				end := len(*part)
				if j := strings.IndexByte((*part)[i:], '.'); j >= 0 {
					end = i + j + 1
				}
				*part = strings.TrimRight((*part)[:i], " ") + (*part)[end:]
				if hint == "" {
					hint = r.insight(hint)
				}
			}
		}
	}
	if lang == "insights" && strings.Contains(headline, "Out of Range Error: Overflow in") {
		// The values overflowed, not the compiler: CloudWatch computes in
		// floating point, the engine whole numbers in 64 bits.
		hint = "a whole number went past the 64-bit range (±9.2e18) of the engine's integer arithmetic: start the arithmetic with a fraction, such as bytes * 1.0 * 1000000000000, to compute in floating point as CloudWatch does"
		compiled, shown, label = false, text, "query"
	}
	if lang != "insights" && hint == "" {
		// Pasted Insights habits and web-page characters, which DuckDB
		// reports without a word on what to write instead.
		switch {
		case strings.Contains(headline, "|__postfix"):
			hint, details = "SQL has no | between steps, as Insights has: remove the | at the end", ""
		case strings.HasPrefix(headline, "syntax error") && (strings.Contains(headline, `at or near "|"`) || insightsPipe.MatchString(text)):
			hint = "SQL has no | between steps, as Insights has: write the step as a clause (WHERE, GROUP BY, ORDER BY, LIMIT)"
		default:
			for _, dash := range []string{"–", "—", "−"} {
				if strings.Contains(headline, `at or near "`+dash+`"`) {
					hint = dash + " is a typographic dash, as copied from a web page: write - to subtract"
				}
			}
		}
	}
	var b strings.Builder
	if start, end, ok := qe.Span(); ok && shown == qe.SQL {
		line, col := lineCol(shown, start)
		fmt.Fprintf(&b, "%s:%d:%d: %s\n%s", label, line, col, headline, caret(shown, start, end))
	} else if qe.Kind == engine.Invalid || qe.Kind == engine.Refused {
		fmt.Fprintf(&b, "query: %s", headline)
	} else {
		// A time limit or an I/O error is not about a place in the query.
		b.WriteString(headline)
	}
	if details != "" {
		fmt.Fprintf(&b, "\n%s", details)
	}
	if hint != "" {
		fmt.Fprintf(&b, "\nhint: %s", hint)
	}
	if compiled {
		b.WriteString("\nnote: the error is in the SQL compiled from the Insights query; --print-sql shows it")
	}
	return &exitError{code: code, err: errors.New(b.String())}
}

// lineCol returns the 1-based line and character column of byte offset off.
func lineCol(s string, off int) (int, int) {
	before := s[:off]
	start := strings.LastIndexByte(before, '\n') + 1
	return strings.Count(before, "\n") + 1, utf8.RuneCountInString(before[start:]) + 1
}

// caret renders the line of s holding byte offset start, and below it a
// caret under start, underlined to end (within the line). Columns are those
// of a terminal: two for wide characters (東, 🚀), none for combining marks.
func caret(s string, start, end int) string {
	ls := strings.LastIndexByte(s[:start], '\n') + 1
	le := len(s)
	if i := strings.IndexByte(s[start:], '\n'); i >= 0 {
		le = start + i
	}
	line := strings.TrimRight(s[ls:le], "\r")
	// A line wider than a terminal (a long filter pasted on one line) is
	// cut to a window around start, marked with … where it is cut.
	from, to, lead, trail := 0, len(line), "", ""
	if termWidth.StringWidth(line) > caretWindow {
		from = start - ls
		for w := 0; from > 0; {
			r, size := utf8.DecodeLastRuneInString(line[:from])
			if w += termWidth.RuneWidth(r); w > caretContext {
				break
			}
			from -= size
		}
		if from > 0 {
			lead = "…"
		}
		to = from
		for w := termWidth.StringWidth(lead); to < len(line); {
			r, size := utf8.DecodeRuneInString(line[to:])
			if w += termWidth.RuneWidth(r); w > caretWindow-1 {
				break
			}
			to += size
		}
		if to < len(line) {
			trail = "…"
		}
	}
	var b strings.Builder
	b.WriteString(lead + line[from:to] + trail)
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(" ", termWidth.StringWidth(lead)))
	for _, r := range line[from : start-ls] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteString(strings.Repeat(" ", termWidth.RuneWidth(r)))
		}
	}
	b.WriteByte('^')
	end = min(max(end, start), ls+to)
	if n := termWidth.StringWidth(s[start:end]); n > 1 {
		b.WriteString(strings.Repeat("~", n-1))
	}
	return b.String()
}

// caretWindow is the widest query line an error shows; caretContext is how
// many columns of a longer line it shows before the position.
const caretWindow, caretContext = 100, 40

// termWidth measures text as a terminal shows it, whatever the locale.
var termWidth = func() *runewidth.Condition {
	c := runewidth.NewCondition()
	c.EastAsianWidth = false
	return c
}()
