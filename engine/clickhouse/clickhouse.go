// Package clickhouse is the scale-out engine: ClickHouse, reached over its HTTP
// interface. It sits between engine (whose Engine interface it implements and
// registers as the "clickhouse" scheme) and a ClickHouse database that holds
// the flow logs, which ingest writes through Store.
//
// Open creates, when missing, the table flow_logs (MergeTree, one partition a
// day, sorted for the common filters), the table of ingested sources
// flow_sources, the table of quarantined lines flow_quarantine, and the view
// vpc_flow_logs (alias flows) with the same columns as DuckDB's: every
// flow-log field (addresses as text, so LIKE '10.%' works), the aliases
// windowstart, windowend and flowlogstatus, and year, month and day as
// zero-padded strings. The view shows only the rows of sources whose ingest
// finished (see Store), so a killed ingest never shows half a source.
//
// Query runs exactly one SELECT: a statement check refuses anything else
// before it is sent, and every query runs with readonly=1, which also forbids
// table functions (file, url, remote). A Range is pushed down through views
// in a database of the query's own whose WHERE clause names the day
// partitions and the start bounds.
//
// Main types: Engine, Client, Store.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
)

// Dialect is the name of this engine's SQL dialect and URL scheme.
const Dialect = "clickhouse"

func init() {
	engine.Register(Dialect, func(ctx context.Context, dsn, dataDir string) (engine.Engine, error) {
		return Open(ctx, dsn)
	})
}

// Table names in the engine's database.
const (
	TableFlows      = "flow_logs"
	TableSources    = "flow_sources"
	TableQuarantine = "flow_quarantine"
	TableRuns       = "flow_runs"
	ViewName        = "vpc_flow_logs"
	ViewAlias       = "flows"
)

// Engine runs queries over the vpc_flow_logs view of one ClickHouse database.
type Engine struct {
	c *Client
}

var _ engine.Engine = (*Engine)(nil)

// Open connects to the ClickHouse of dsn (see ParseDSN) and creates the
// database, tables and views when they are missing or out of date.
func Open(ctx context.Context, dsn string) (*Engine, error) {
	c, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	e := &Engine{c: c}
	if err := e.setup(ctx); err != nil {
		return nil, fmt.Errorf("set up clickhouse %s: %w", c.URL(), err)
	}
	return e, nil
}

// Client returns the engine's connection, for Store.
func (e *Engine) Client() *Client { return e.c }

// Dialect returns "clickhouse".
func (e *Engine) Dialect() string { return Dialect }

// Close releases idle connections.
func (e *Engine) Close() error {
	e.c.http.CloseIdleConnections()
	return nil
}

// StoredColumn is a column of the flow_logs table.
type StoredColumn struct {
	Name string
	// Type is the ClickHouse type: Nullable(Int32), Nullable(Int64) or
	// Nullable(String) for the flow-log fields.
	Type string
}

// StoredColumns returns the flow-log columns of flow_logs, in order: every
// view column that is neither an alias nor a partition column. The table has
// two more: date (the UTC day of start, its partition key) and _batch (the
// ingest batch that wrote the row).
func StoredColumns() []StoredColumn {
	var out []StoredColumn
	for _, c := range engine.ViewColumns() {
		if c.Source != "" || c.Partition {
			continue
		}
		out = append(out, StoredColumn{Name: c.Name, Type: chType(c.Type)})
	}
	return out
}

func chType(sqlType string) string {
	switch sqlType {
	case "INTEGER":
		return "Nullable(Int32)"
	case "BIGINT":
		return "Nullable(Int64)"
	}
	return "Nullable(String)"
}

func (e *Engine) table(name string) string { return QuoteIdent(e.c.database) + "." + QuoteIdent(name) }

func (e *Engine) setup(ctx context.Context) error {
	db := QuoteIdent(e.c.database)
	// The database may not exist yet: the first statement names none.
	bare := *e.c
	bare.database = ""
	if err := bare.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return err
	}
	if err := e.serverZone(ctx); err != nil {
		return err
	}
	var cols []string
	for _, c := range StoredColumns() {
		cols = append(cols, QuoteIdent(c.Name)+" "+c.Type)
	}
	stmts := []string{
		// The sort key leads with the day, then the columns the guide's
		// queries and the rules filter on; nullable columns may not be in a
		// key, so they enter it through ifNull.
		"CREATE TABLE IF NOT EXISTS " + e.table(TableFlows) + " (" + strings.Join(cols, ", ") +
			", `date` Date, `_batch` String) ENGINE = MergeTree PARTITION BY `date`" +
			" ORDER BY (`date`, ifNull(`action`, ''), ifNull(`srcaddr`, ''), ifNull(`dstport`, 0))",
		"CREATE TABLE IF NOT EXISTS " + e.table(TableSources) + " (`batch` String, `path` String, `size` Int64," +
			" `hash` String, `prefix_hash` String, `lines` Int64, `stored` Int64, `quarantined` Int64, `format` String," +
			" `ingested` DateTime) ENGINE = MergeTree ORDER BY (`hash`, `path`)",
		"CREATE TABLE IF NOT EXISTS " + e.table(TableQuarantine) + " (`batch` String, `source` String, `line` Int64," +
			" `reason` String, `raw` String, `time` DateTime) ENGINE = MergeTree ORDER BY (`source`, `line`)",
		"CREATE TABLE IF NOT EXISTS " + e.table(TableRuns) + " (`run` String, `beat` DateTime) ENGINE = MergeTree ORDER BY (`run`, `beat`)",
	}
	for _, s := range stmts {
		if err := e.c.Exec(ctx, s); err != nil {
			return err
		}
	}
	// A registry field added since the table was made becomes a new column.
	have, err := e.columnsOf(ctx, TableFlows)
	if err != nil {
		return err
	}
	for _, c := range StoredColumns() {
		if !slices.Contains(have, c.Name) {
			if err := e.c.Exec(ctx, "ALTER TABLE "+e.table(TableFlows)+" ADD COLUMN "+QuoteIdent(c.Name)+" "+c.Type); err != nil {
				return err
			}
		}
	}
	want := make([]string, 0, 64)
	for _, c := range engine.ViewColumns() {
		want = append(want, c.Name)
	}
	for _, v := range []string{ViewName, ViewAlias} {
		got, err := e.columnsOf(ctx, v)
		if err != nil {
			return err
		}
		if slices.Equal(got, want) {
			continue
		}
		if len(got) > 0 {
			if err := e.c.Exec(ctx, "DROP TABLE IF EXISTS "+e.table(v)); err != nil {
				return err
			}
		}
		if err := e.c.Exec(ctx, "CREATE VIEW IF NOT EXISTS "+e.table(v)+" AS "+e.viewSelect("")); err != nil {
			return err
		}
	}
	return nil
}

// serverZone reads the server's time zone, in which it writes DateTime
// values without a zone of their own.
func (e *Engine) serverZone(ctx context.Context) error {
	rows, err := e.c.Query(ctx, "SELECT timezone()")
	if err != nil {
		return err
	}
	defer rows.Close()
	r, err := rows.Next()
	if err != nil {
		return fmt.Errorf("read the server's time zone: %w", err)
	}
	loc, err := time.LoadLocation(r[0].(string))
	if err != nil {
		return fmt.Errorf("the server's time zone %s: %w", r[0], err)
	}
	e.c.loc = loc
	return nil
}

// columnsOf lists the columns of a table or view in order (none if missing).
func (e *Engine) columnsOf(ctx context.Context, table string) ([]string, error) {
	rows, err := e.c.Query(ctx, "SELECT name FROM system.columns WHERE database = "+QuoteString(e.c.database)+
		" AND table = "+QuoteString(table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for {
		r, err := rows.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r[0].(string))
	}
}

// viewSelect is the SELECT of vpc_flow_logs over flow_logs, restricted by
// where ("" for none). Only rows of batches recorded in flow_sources show.
func (e *Engine) viewSelect(where string) string {
	var cols []string
	for _, c := range engine.ViewColumns() {
		q := QuoteIdent(c.Name)
		switch {
		case c.Source != "":
			cols = append(cols, QuoteIdent(c.Source)+" AS "+q)
		case c.Name == "year":
			cols = append(cols, "substring(toString(`date`), 1, 4) AS "+q)
		case c.Name == "month":
			cols = append(cols, "substring(toString(`date`), 6, 2) AS "+q)
		case c.Name == "day":
			cols = append(cols, "substring(toString(`date`), 9, 2) AS "+q)
		default:
			cols = append(cols, q)
		}
	}
	s := "SELECT " + strings.Join(cols, ", ") + " FROM " + e.table(TableFlows) +
		" WHERE `_batch` IN (SELECT `batch` FROM " + e.table(TableSources) + ")"
	if where != "" {
		s += " AND " + where
	}
	return s
}

// rangeWhere is the predicate of r over flow_logs: bounds on the partition
// key date, so that ClickHouse skips whole days, and exact bounds on start.
func rangeWhere(r engine.Range) string {
	var p []string
	day := func(t time.Time) string { return "toDate(" + QuoteString(t.UTC().Format("2006-01-02")) + ")" }
	if !r.From.IsZero() {
		p = append(p, "`date` >= "+day(r.From), "`start` >= "+strconv.FormatInt(ceilUnix(r.From), 10))
	}
	if !r.To.IsZero() {
		end := ceilUnix(r.To)
		p = append(p, "`date` <= "+day(time.Unix(end-1, 0)), "`start` < "+strconv.FormatInt(end, 10))
	}
	return strings.Join(p, " AND ")
}

// ceilUnix is t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Query runs one read-only statement. See the package comment for the rules.
func (e *Engine) Query(ctx context.Context, req engine.Request) (*engine.Result, error) {
	began := time.Now()
	if strings.TrimSpace(req.SQL) == "" {
		return nil, engine.Errorf(engine.Invalid, "empty query")
	}
	r := req.Range
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return nil, engine.Errorf(engine.Invalid, "empty time range: from %s is not before to %s",
			r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	}
	if err := CheckStatement(req.SQL); err != nil {
		return nil, err
	}
	maxRows := req.MaxRows
	if maxRows <= 0 {
		maxRows = engine.DefaultMaxRows
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = engine.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	client := e.c
	if !r.IsZero() {
		// The range views live in a database of this query's own, which is
		// the query's current database: its vpc_flow_logs is the restricted
		// one, with no rewriting of the user's SQL.
		rc := *e.c
		rc.database = strings.ReplaceAll(newQueryID(), "-", "_")
		client = &rc
		if err := e.rangeViews(ctx, rc.database, r); err != nil {
			return nil, e.wrap(ctx, err, req.SQL, timeout)
		}
		defer func() {
			dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer dcancel()
			_ = e.c.Exec(dctx, "DROP DATABASE IF EXISTS "+QuoteIdent(rc.database))
		}()
	}
	id := newQueryID()
	stop := context.AfterFunc(ctx, func() { e.c.Kill(id) })
	defer stop()
	secs := int64(math.Ceil(timeout.Seconds()))
	rows, err := client.Query(ctx, stripTrailing(req.SQL),
		Setting{"query_id", id},
		Setting{"max_execution_time", strconv.FormatInt(secs, 10)},
		Setting{"readonly", "1"})
	if err != nil {
		return nil, e.wrap(ctx, err, req.SQL, timeout)
	}
	defer rows.Close()
	res := &engine.Result{Rows: [][]any{}}
	for i, n := range rows.Names {
		res.Columns = append(res.Columns, engine.Column{Name: n, Type: rows.Types[i]})
	}
	for {
		row, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, e.wrap(ctx, err, req.SQL, timeout)
		}
		if len(res.Rows) == maxRows {
			res.Truncated = true
			e.c.Kill(id)
			break
		}
		res.Rows = append(res.Rows, row)
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

func (e *Engine) rangeViews(ctx context.Context, db string, r engine.Range) error {
	if err := e.c.Exec(ctx, "CREATE DATABASE "+QuoteIdent(db)); err != nil {
		return err
	}
	for _, v := range []string{ViewName, ViewAlias} {
		if err := e.c.Exec(ctx, "CREATE VIEW "+QuoteIdent(db)+"."+QuoteIdent(v)+" AS "+e.viewSelect(rangeWhere(r))); err != nil {
			return err
		}
	}
	return nil
}

// stripTrailing removes blanks and one final ';' (the engine appends a
// FORMAT clause on a line of its own, which also ends a trailing comment).
func stripTrailing(q string) string {
	q = strings.TrimRight(q, " \t\r\n")
	return strings.TrimSuffix(q, ";")
}

// ClickHouse error codes the engine tells apart.
const (
	codeSyntax          = 62
	codeUnknownIdent    = 47
	codeUnknownTable    = 60
	codeUnknownFunction = 46
	codeNotAggregate    = 215
	codeReadonly        = 164
	codeTimeout         = 159
	codeCancelled       = 394
	codeTypeMismatch    = 43
	codeCannotParse     = 6
	codeCannotConvert   = 70
)

var (
	notAggregateRE = regexp.MustCompile(`Column (\S+) is not under aggregate function and not in GROUP BY`)
	unknownIdentRE = regexp.MustCompile(`Unknown identifier: (\S+?)(?:,|$| )`)
	unknownFuncRE  = regexp.MustCompile(`Unknown function (\S+)`)
	unknownTableRE = regexp.MustCompile(`Table (\S+) doesn't exist`)
)

// wrap turns an error of ClickHouse into an *engine.Error: its kind, its
// message and the position it points at, when ClickHouse gives one or names
// a word of the query.
func (e *Engine) wrap(ctx context.Context, err error, query string, timeout time.Duration) *engine.Error {
	if qe := engine.AsError(err); qe != nil {
		return qe
	}
	if ctx.Err() != nil {
		out := &engine.Error{Kind: engine.Timeout, Msg: "query cancelled", Pos: -1, SQL: query, Err: err}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			out.Msg = fmt.Sprintf("query stopped after its time limit of %s", timeout)
			out.Hint = "narrow the time range or raise --timeout"
		}
		return out
	}
	var se *ServerError
	if !errors.As(err, &se) {
		return &engine.Error{Kind: engine.Runtime, Msg: err.Error(), Pos: -1, SQL: query, Err: err}
	}
	out := &engine.Error{Kind: engine.Runtime, Msg: se.Msg, Pos: -1, SQL: query, Err: err}
	switch se.Code {
	case codeSyntax:
		out.Kind = engine.Invalid
		if se.Pos >= 0 && se.Pos <= len(query) {
			out.Pos = se.Pos
		}
		if strings.Contains(se.Msg, "Multi-statements") {
			out.Kind = engine.Refused
			out.Msg = "only one statement may run"
			out.Hint = "remove the ';' and what follows it"
		}
	case codeReadonly:
		out.Kind = engine.Refused
		out.Hint = "queries are read-only: one SELECT (or WITH … SELECT) over vpc_flow_logs, without settings or table functions"
	case codeTimeout, codeCancelled:
		out.Kind = engine.Timeout
		out.Hint = "narrow the time range or raise --timeout"
	case codeUnknownIdent, codeUnknownFunction, codeUnknownTable, codeTypeMismatch, codeCannotParse, codeCannotConvert, 42, 44, 48, 184, 36, 53:
		out.Kind = engine.Invalid
	}
	if m := notAggregateRE.FindStringSubmatch(se.Msg); m != nil {
		c := m[1]
		out.Kind = engine.Invalid
		out.Msg = fmt.Sprintf("column %s must appear in GROUP BY or be aggregated", c)
		out.Hint = fmt.Sprintf("add %s to the GROUP BY list to get one row per value, or aggregate it, e.g. COUNT(DISTINCT %s), MAX(%s) or any(%s)", c, c, c, c)
		out.Pos = wordAt(query, c)
	}
	if m := unknownIdentRE.FindStringSubmatch(se.Msg); m != nil {
		out.Pos = wordAt(query, m[1])
	}
	if m := unknownFuncRE.FindStringSubmatch(se.Msg); m != nil {
		out.Pos = wordAt(query, strings.TrimRight(m[1], ".,"))
	}
	if m := unknownTableRE.FindStringSubmatch(se.Msg); m != nil {
		out.Hint = "the flow logs are the view vpc_flow_logs (alias flows)"
		name := m[1]
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		out.Pos = wordAt(query, strings.Trim(name, ".,"))
	}
	return out
}

// wordAt returns the offset of the first occurrence of word in query as a
// whole name outside strings and comments (bare, or quoted with " or `), or -1.
func wordAt(query, word string) int {
	if word == "" {
		return -1
	}
	for _, t := range tokens(query) {
		if t.kind == tokWord && strings.EqualFold(t.text, word) || t.kind == tokQuoted && t.text[1:len(t.text)-1] == word {
			return t.pos
		}
	}
	return -1
}
