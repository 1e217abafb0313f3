// Package duckdb is the embedded engine: DuckDB, linked in through cgo, reading
// the Parquet lake in place. It sits between engine (whose Engine interface it
// implements and registers as "duckdb") and the lake folder
// DATA/lake/vpc_flow_logs/year=YYYY/month=MM/day=DD/*.parquet, which it reads
// in place under the lake's reader lock.
//
// Open defines the vpc_flow_logs view (alias flows) with every flow-log field
// typed as DESIGN §3 says, the aliases windowstart, windowend and flowlogstatus,
// and the Hive partition columns year, month and day as zero-padded strings.
// Then it locks the database down before any user SQL runs: file access only
// inside the lake folder, no extension installing or auto-loading, configuration
// locked. Query accepts exactly one SELECT statement, checked by DuckDB's own
// parser and by the prepared statement's type before anything executes.
//
// Main type: Engine.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/mattn/go-runewidth"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/lake"
)

// Dialect is the name of this engine's SQL dialect.
const Dialect = "duckdb"

func init() {
	engine.Register(Dialect, func(ctx context.Context, dsn, dataDir string) (engine.Engine, error) {
		return Open(ctx, engine.LakeDir(dataDir), Options{DataDir: dataDir})
	})
}

// Options tune the embedded database.
type Options struct {
	// Threads is the number of DuckDB worker threads; zero means one per core.
	Threads int
	// MemoryLimit caps DuckDB's memory ("4GB"); empty means DuckDB's default.
	MemoryLimit string
	// DataDir is the flowlens data folder that holds the lake. When set, each
	// query holds the lake's reader lock (lake.ReadLock), so that it never
	// sees a transaction half published. Leave it empty for a bare folder of
	// Parquet files.
	DataDir string
}

// Engine is the embedded DuckDB engine over one lake folder.
type Engine struct {
	db      *sql.DB
	lake    string // absolute, symlinks resolved
	dataDir string

	mu    sync.Mutex
	empty bool // the view is the typed empty placeholder: the lake had no files
}

var _ engine.Engine = (*Engine)(nil)

// Open opens an in-memory DuckDB database whose vpc_flow_logs view reads the
// Parquet files under lakeDir. A missing or empty lake gives an empty view
// with every column; files committed later are seen by later queries.
func Open(ctx context.Context, lakeDir string, o Options) (*Engine, error) {
	abs, err := filepath.Abs(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("open lake %s: %w", lakeDir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if strings.ContainsAny(abs, "*?[]{}'\\") {
		return nil, fmt.Errorf("open lake %s: the path may not contain any of * ? [ ] { } ' \\", abs)
	}
	// Extension auto-install and auto-load are off from the very first
	// statement: flowlens never downloads anything.
	conn, err := duck.NewConnector("?autoinstall_known_extensions=false&autoload_known_extensions=false", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	e := &Engine{db: sql.OpenDB(conn), lake: abs, dataDir: o.DataDir}
	if err := e.setup(ctx, o); err != nil {
		e.db.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) setup(ctx context.Context, o Options) error {
	c, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open duckdb: %w", err)
	}
	defer c.Close()
	stmts := []string{"SET enable_progress_bar = false", "SET parquet_metadata_cache = true"}
	if o.Threads > 0 {
		stmts = append(stmts, fmt.Sprintf("SET threads = %d", o.Threads))
	}
	if o.MemoryLimit != "" {
		stmts = append(stmts, "SET memory_limit = "+quoteString(o.MemoryLimit))
	}
	stmts = append(stmts, "CREATE SCHEMA flowlens")
	stmts = append(stmts, athenaMacros...)
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("set up duckdb: %s: %w", s, err)
		}
	}
	if err := e.defineLake(ctx, c); err != nil {
		return err
	}
	for _, s := range append(userViews(""),
		// The lock-down. From here on no statement can read or write a file
		// outside the lake, load an extension or change a setting.
		"SET allowed_directories = ["+quoteString(e.lake+string(filepath.Separator))+"]",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	) {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("set up duckdb: %s: %w", s, err)
		}
	}
	return nil
}

// athenaMacros define the Presto functions of Athena's documented flow-log
// queries that DuckDB spells differently, so those queries run as written.
var athenaMacros = []string{
	"CREATE MACRO day_of_week(d) AS isodow(d)",
	"CREATE MACRO from_unixtime(s) AS to_timestamp(s)",
	"CREATE MACRO to_unixtime(t) AS epoch(t)",
	"CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
	"CREATE MACRO from_iso8601_date(s) AS CAST(s AS DATE)",
	"CREATE MACRO approx_distinct(x) AS count(DISTINCT x)", // exact: DuckDB's approx_count_distinct misses at small counts
	"CREATE MACRO regexp_like(s, pattern) AS regexp_matches(s, pattern)",
	// DuckDB has functions of these names that answer differently: its
	// arbitrary is first() and may return NULL where Presto's returns a
	// non-null value; its element_at takes only maps and gives a list of
	// the value; its date_add takes (timestamp, interval), which the first
	// overload keeps.
	"CREATE MACRO arbitrary(x) AS any_value(x)",
	"CREATE MACRO element_at(c, k) AS c[k]",
	"CREATE MACRO date_add(t, i) AS t + i, (unit, n, t) AS t + CAST(n AS BIGINT) * CAST('1 ' || unit AS INTERVAL)",
	"CREATE MACRO approx_percentile(x, p) AS approx_quantile(x, p)",
}

// prestoHints say how DuckDB writes the Presto functions of Athena queries
// that no macro can stand in for (their format letters differ).
var prestoHints = map[string]string{
	"date_format":     "date_format is Presto's (Athena); DuckDB writes strftime(t, format), minutes as %M rather than %i, seconds as %S",
	"format_datetime": "format_datetime is Presto's (Athena); DuckDB writes strftime(t, format) with % letters, such as '%Y-%m-%d %H:%M:%S'",
}

// glob is the pattern of the lake's data files.
func (e *Engine) glob() string {
	return filepath.Join(e.lake, "year=*", "month=*", "day=*", "*.parquet")
}

// hasFiles reports whether the lake holds at least one data file, looking no
// further than the first one.
func (e *Engine) hasFiles() bool {
	var find func(dir string, depth int) bool
	find = func(dir string, depth int) bool {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return false
		}
		for _, ent := range ents {
			name := ent.Name()
			switch {
			case depth < 3 && ent.IsDir() && strings.HasPrefix(name, []string{"year=", "month=", "day="}[depth]):
				if find(filepath.Join(dir, name), depth+1) {
					return true
				}
			case depth == 3 && !ent.IsDir() && strings.HasSuffix(name, ".parquet"):
				return true
			}
		}
		return false
	}
	return find(e.lake, 0)
}

// defineLake (re)creates flowlens.lake, the typed view over the lake's files
// that the user-facing views select from.
func (e *Engine) defineLake(ctx context.Context, c *sql.Conn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	empty := !e.hasFiles()
	if _, err := c.ExecContext(ctx, "CREATE OR REPLACE VIEW flowlens.lake AS "+lakeSelect(e.glob(), empty)); err != nil {
		return fmt.Errorf("define the vpc_flow_logs view over %s: %w", e.lake, err)
	}
	e.empty = empty
	return nil
}

// refresh replaces the empty placeholder view once the lake has files, and
// puts it back when retention has removed every file.
func (e *Engine) refresh(ctx context.Context, c *sql.Conn) error {
	e.mu.Lock()
	stale := e.empty == e.hasFiles()
	e.mu.Unlock()
	if !stale {
		return nil
	}
	return e.defineLake(ctx, c)
}

// lakeSelect is the SELECT of flowlens.lake: every column of
// engine.ViewColumns with its type (stored columns as they are, computed ones
// cast). With empty it selects no rows but has
// the same columns, because read_parquet refuses a glob that matches no file.
func lakeSelect(glob string, empty bool) string {
	var cols []string
	for _, c := range engine.ViewColumns() {
		expr := quoteIdent(c.Name)
		switch {
		case empty:
			expr = "NULL"
		case c.Source != "":
			expr = quoteIdent(c.Source)
		case c.Name == "date":
			expr = "year || '-' || month || '-' || day"
		case c.Partition:
			cols = append(cols, expr) // already VARCHAR: hive_types
			continue
		default:
			// The lake stores every column with its view type (docs/lake.md),
			// so a stored column needs no cast; an identity cast still costs
			// DuckDB a projection on every scan.
			if expr != quoteIdent(c.Name) {
				expr += " AS " + quoteIdent(c.Name)
			}
			cols = append(cols, expr)
			continue
		}
		cols = append(cols, fmt.Sprintf("CAST(%s AS %s) AS %s", expr, c.Type, quoteIdent(c.Name)))
	}
	s := "SELECT " + strings.Join(cols, ", ")
	if empty {
		return s + " WHERE false"
	}
	return s + fmt.Sprintf(" FROM read_parquet(%s, hive_partitioning = true, hive_types_autocast = false, "+
		"hive_types = {'year': VARCHAR, 'month': VARCHAR, 'day': VARCHAR})", quoteString(glob))
}

// userViews returns the statements that define vpc_flow_logs and flows over
// flowlens.lake, restricted by where ("" for none). With a where clause they
// are temporary views, which shadow the main ones on one connection only.
func userViews(where string) []string {
	kind := "VIEW"
	if where != "" {
		kind, where = "TEMP VIEW", " WHERE "+where
	}
	return []string{
		"CREATE OR REPLACE " + kind + " vpc_flow_logs AS SELECT * FROM flowlens.lake" + where,
		"CREATE OR REPLACE " + kind + " flows AS SELECT * FROM flowlens.lake" + where,
	}
}

// rangeWhere is the predicate of r: Hive partition bounds, so that DuckDB
// skips whole day folders, and exact bounds on start.
func rangeWhere(r engine.Range) string {
	var p []string
	day := func(t time.Time) string { return quoteString(t.UTC().Format("2006-01-02")) }
	const part = "year || '-' || month || '-' || day"
	if !r.From.IsZero() {
		p = append(p, part+" >= "+day(r.From), "start >= "+strconv.FormatInt(ceilUnix(r.From), 10))
	}
	if !r.To.IsZero() {
		// The last second the range holds decides the last day folder.
		end := ceilUnix(r.To)
		p = append(p, part+" <= "+day(time.Unix(end-1, 0)), "start < "+strconv.FormatInt(end, 10))
	}
	return strings.Join(p, " AND ")
}

// ceilUnix is t in Unix seconds, rounded up, so that start < ceilUnix(t) keeps
// every whole second before t and start >= ceilUnix(t) every one from t on.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Dialect returns "duckdb".
func (e *Engine) Dialect() string { return Dialect }

// Lake returns the lake folder the engine reads.
func (e *Engine) Lake() string { return e.lake }

// Close closes the database.
func (e *Engine) Close() error { return e.db.Close() }

// Query runs one read-only statement. See the package comment for the rules.
func (e *Engine) Query(ctx context.Context, req engine.Request) (*engine.Result, error) {
	began := time.Now()
	maxRows := req.MaxRows
	if maxRows <= 0 {
		maxRows = engine.DefaultMaxRows
	}
	res := &engine.Result{}
	err := e.withStatement(ctx, req, func(ctx context.Context, dc any) error {
		return run(ctx, dc, req.SQL, maxRows, res)
	})
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// Explain runs the statement of req under EXPLAIN ANALYZE and returns DuckDB's
// plan with its counts, such as the files each scan read. The statement passes
// the same checks as in Query first.
func (e *Engine) Explain(ctx context.Context, req engine.Request) (string, error) {
	var plan strings.Builder
	err := e.withStatement(ctx, req, func(ctx context.Context, dc any) error {
		c := dc.(driver.Conn)
		st, err := c.Prepare(req.SQL)
		if err != nil {
			return &prepareError{err}
		}
		_, err = checkSelect(st, req.SQL)
		st.Close()
		if err != nil {
			return err
		}
		const explain = "EXPLAIN ANALYZE "
		ex, err := c.Prepare(explain + req.SQL)
		if err != nil {
			return &prepareError{err}
		}
		defer ex.Close()
		rows, err := ex.(driver.StmtQueryContext).QueryContext(ctx, nil)
		if err != nil {
			return &wrapError{err: err, sql: explain + req.SQL, offset: len(explain)}
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return &wrapError{err: err, sql: explain + req.SQL, offset: len(explain)}
			}
			fmt.Fprintln(&plan, dest[len(dest)-1])
		}
	})
	return plan.String(), err
}

// withStatement checks req's statement, restricts the views to req's range
// on a connection of its own and calls fn with the raw driver connection.
// Errors are *engine.Error.
func (e *Engine) withStatement(ctx context.Context, req engine.Request, fn func(ctx context.Context, dc any) error) error {
	if strings.TrimSpace(req.SQL) == "" {
		return engine.Errorf(engine.Invalid, "empty query")
	}
	r := req.Range
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return engine.Errorf(engine.Invalid, "empty time range: from %s is not before to %s",
			r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = engine.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// A data folder that does not exist holds no lake to lock, and a query
	// must not create one (a mistyped --data would leave a stray folder
	// behind); the view is then the empty placeholder.
	if _, err := os.Stat(e.dataDir); e.dataDir != "" && !errors.Is(err, fs.ErrNotExist) {
		release, err := lake.ReadLock(e.dataDir)
		if err != nil {
			return &engine.Error{Kind: engine.Runtime, Msg: fmt.Sprintf("lock the lake for reading: %v", err), Pos: -1, Err: err}
		}
		defer release()
	}
	c, err := e.db.Conn(ctx)
	if err != nil {
		return e.wrap(ctx, err, req.SQL, timeout, false)
	}
	defer c.Close()
	if err := e.refresh(ctx, c); err != nil {
		return &engine.Error{Kind: engine.Runtime, Msg: err.Error(), Pos: -1, Err: err}
	}
	if err := checkStatement(ctx, c, req.SQL); err != nil {
		if qe := engine.AsError(err); qe != nil {
			return qe
		}
		return e.wrap(ctx, err, req.SQL, timeout, false)
	}
	if !r.IsZero() {
		defer dropRangeViews(c)
		for _, s := range userViews(rangeWhere(r)) {
			if _, err := c.ExecContext(ctx, s); err != nil {
				return e.wrap(ctx, fmt.Errorf("restrict the view to the time range: %w", err), req.SQL, timeout, true)
			}
		}
	}
	err = c.Raw(func(dc any) error { return fn(ctx, dc) })
	if err == nil {
		return nil
	}
	if qe := engine.AsError(err); qe != nil {
		return qe
	}
	var pe *prepareError
	if errors.As(err, &pe) {
		return e.wrap(ctx, pe.err, req.SQL, timeout, false)
	}
	return e.wrap(ctx, err, req.SQL, timeout, true)
}

// dropRangeViews removes the temporary range views so that the pooled
// connection serves the next query unrestricted; if that fails the connection
// is discarded.
func dropRangeViews(c *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Raw(func(dc any) error {
		ex := dc.(driver.ExecerContext)
		for _, s := range []string{"DROP VIEW IF EXISTS temp.main.vpc_flow_logs", "DROP VIEW IF EXISTS temp.main.flows"} {
			if _, err := ex.ExecContext(ctx, s, nil); err != nil {
				return driver.ErrBadConn
			}
		}
		return nil
	})
}

// serialized is json_serialize_sql's answer.
type serialized struct {
	Error        bool              `json:"error"`
	ErrorType    string            `json:"error_type"`
	ErrorMessage string            `json:"error_message"`
	Position     any               `json:"position"` // a number or a numeric string
	Statements   []json.RawMessage `json:"statements"`
}

// checkStatement lets through exactly one SELECT statement. It asks DuckDB's
// parser alone (json_serialize_sql, which binds and runs nothing and accepts
// only SELECT statements); the prepared statement's type is checked again in
// run. The parser sees PRAGMA, SET, COPY, ATTACH … as what they are, before
// the pragma rewriting that would turn some of them into SELECTs.
func checkStatement(ctx context.Context, c *sql.Conn, query string) error {
	var raw string
	if err := c.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", query).Scan(&raw); err != nil {
		return fmt.Errorf("parse the query: %w", err)
	}
	var s serialized
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return fmt.Errorf("read the parser's answer: %w", err)
	}
	switch {
	case s.Error && s.ErrorType == "parser":
		pos := -1
		switch p := s.Position.(type) {
		case float64:
			pos = int(p)
		case string:
			if n, err := strconv.Atoi(p); err == nil {
				pos = n
			}
		}
		if pos > len(query) {
			pos = -1
		}
		if typo := keywordTypo(query, pos); typo != nil {
			return typo
		}
		out := &engine.Error{Kind: engine.Invalid, Msg: "syntax error: " + strings.TrimPrefix(s.ErrorMessage, "syntax error "), Pos: pos, SQL: query}
		if strings.HasSuffix(strings.ToLower(out.Msg), `at or near "end"`) {
			// The flow-log field end is a reserved word, as in Athena.
			out.Hint = `end is a reserved word in SQL: for the flow-log field, write "end" in double quotes, or its alias windowend`
		}
		return out
	case s.Error && secondStatement(query) >= 0:
		at := secondStatement(query)
		kw, pos := firstKeyword(query[at+1:])
		return &engine.Error{Kind: engine.Refused, Pos: at + 1 + pos, SQL: query,
			Msg:  fmt.Sprintf("only one statement may run: %s follows the first", kw),
			Hint: "remove the ';' and what follows it"}
	case s.Error:
		kw, pos := firstKeyword(query)
		return &engine.Error{Kind: engine.Refused, Pos: pos, SQL: query,
			Msg:  fmt.Sprintf("only a SELECT statement may run, not %s", kw),
			Hint: "queries are read-only: one SELECT (or WITH … SELECT) over vpc_flow_logs, without settings, files or extensions"}
	case len(s.Statements) != 1:
		return &engine.Error{Kind: engine.Refused, Pos: secondStatement(query), SQL: query,
			Msg:  fmt.Sprintf("only one statement may run, the query has %d", len(s.Statements)),
			Hint: "remove the ';' and what follows it"}
	}
	return nil
}

// firstKeyword returns the first word of query, upper-cased, and its offset,
// skipping comments and blanks.
func firstKeyword(query string) (string, int) {
	i := skipSpace(query, 0)
	j := i
	for j < len(query) && (isWordByte(query[j])) {
		j++
	}
	if j == i {
		return "this statement", i
	}
	return strings.ToUpper(query[i:j]), i
}

// secondStatement returns the offset of the first ';' that ends a statement
// (outside strings, quoted names and comments), or -1.
func secondStatement(query string) int {
	for i := 0; i < len(query); i++ {
		switch query[i] {
		case '\'', '"':
			q := query[i]
			for i++; i < len(query) && query[i] != q; i++ {
			}
		case '-':
			if strings.HasPrefix(query[i:], "--") {
				for i < len(query) && query[i] != '\n' {
					i++
				}
			}
		case '/':
			if strings.HasPrefix(query[i:], "/*") {
				if k := strings.Index(query[i+2:], "*/"); k >= 0 {
					i += k + 3
				} else {
					i = len(query)
				}
			}
		case ';':
			if skipSpace(query, i+1) < len(query) {
				return i
			}
		}
	}
	return -1
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r':
			i++
		case strings.HasPrefix(s[i:], "--"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			k := strings.Index(s[i+2:], "*/")
			if k < 0 {
				return len(s)
			}
			i += k + 4
		default:
			return i
		}
	}
	return i
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// prepareError marks an error of preparing (parsing, binding) the user's
// statement, as opposed to running it.
type prepareError struct{ err error }

func (p *prepareError) Error() string { return p.err.Error() }
func (p *prepareError) Unwrap() error { return p.err }

// run prepares query on the raw driver connection, checks that it is a SELECT
// and reads at most maxRows rows of it into res.
//
// It uses the driver's Prepare, which refuses a string of several statements;
// the driver's PrepareContext, ExecContext and QueryContext would execute
// every statement but the last one.
func run(ctx context.Context, dc any, query string, maxRows int, res *engine.Result) error {
	c, ok := dc.(driver.Conn)
	if !ok {
		return fmt.Errorf("unexpected driver connection %T", dc)
	}
	st, err := c.Prepare(query)
	if err != nil {
		return &prepareError{err}
	}
	defer st.Close()
	names, err := checkSelect(st, query)
	if err != nil {
		return err
	}
	// Run the statement wrapped in a LIMIT so that DuckDB stops early: its
	// driver materialises whole results. The wrap is used only when DuckDB
	// accepts it as one SELECT with the same columns; otherwise the statement
	// runs as it is and the cap applies while reading.
	exec, wrapped := st, wrapLimit(query, maxRows+1)
	if ws, err := c.Prepare(wrapped); err == nil {
		if wn, err := checkSelect(ws, ""); err == nil && slices.Equal(wn, names) {
			defer ws.Close()
			exec = ws
		} else {
			ws.Close()
			wrapped = ""
		}
	} else {
		wrapped = ""
	}
	q, ok := exec.(driver.StmtQueryContext)
	if !ok {
		return fmt.Errorf("unexpected driver statement %T", exec)
	}
	// Errors of the wrapped statement carry its text, so that the position
	// DuckDB renders maps back to the user's query.
	inWrap := func(err error) error {
		if wrapped == "" {
			return err
		}
		return &wrapError{err: err, sql: wrapped, offset: len(wrapPrefix)}
	}
	rows, err := q.QueryContext(ctx, nil)
	if err != nil {
		if ue := unreadable(ctx, c, query, names, err); ue != nil {
			return ue
		}
		return inWrap(err)
	}
	defer rows.Close()
	cols := rows.Columns()
	res.Columns = make([]engine.Column, len(cols))
	tn, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	for i, n := range cols {
		res.Columns[i].Name = n
		if tn != nil {
			res.Columns[i].Type = tn.ColumnTypeDatabaseTypeName(i)
		}
	}
	res.Rows = [][]any{}
	for {
		dest := make([]driver.Value, len(cols))
		err := rows.Next(dest)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ue := unreadable(ctx, c, query, names, err); ue != nil {
				return ue
			}
			return inWrap(err)
		}
		if len(res.Rows) == maxRows {
			res.Truncated = true
			return nil
		}
		row := make([]any, len(dest))
		for i, v := range dest {
			row[i] = normalize(v, res.Columns[i].Type)
		}
		res.Rows = append(res.Rows, row)
	}
}

// unreadableRE matches the driver's errors for a column of a type it cannot
// read (TIME_NS, GEOMETRY, a MAP with BLOB keys), with the column's index.
var unreadableRE = regexp.MustCompile(`(unsupported data type|MAP key type not supported).*: index: (\d+)$`)

// unreadable turns the driver's error for a column of a type it cannot read
// into an error that names the column and its type and says to cast it, or
// returns nil for other errors.
func unreadable(ctx context.Context, c driver.Conn, query string, names []string, err error) *engine.Error {
	m := unreadableRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	i, convErr := strconv.Atoi(m[2])
	if convErr != nil || i < 0 || i >= len(names) {
		return nil
	}
	name := names[i]
	typ := "of this column"
	if t := describeType(ctx, c, query, i); t != "" {
		typ = t
	}
	ref := name
	if !plainIdent.MatchString(name) {
		ref = quoteIdent(name)
	}
	return &engine.Error{Kind: engine.Invalid, Pos: -1, SQL: query,
		Msg:  fmt.Sprintf("column %s has the type %s, which flowlens cannot read", name, typ),
		Hint: fmt.Sprintf("cast it, such as CAST(%s AS VARCHAR)", ref)}
}

// plainIdent is a name that SQL takes without quotes.
var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// describeType returns DuckDB's name of the type of column i of query, or ""
// when DESCRIBE cannot tell.
func describeType(ctx context.Context, c driver.Conn, query string, i int) string {
	st, err := c.Prepare("DESCRIBE " + strings.TrimRight(query, " \t\r\n;"))
	if err != nil {
		return ""
	}
	defer st.Close()
	q, ok := st.(driver.StmtQueryContext)
	if !ok {
		return ""
	}
	rows, err := q.QueryContext(ctx, nil)
	if err != nil {
		return ""
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	for n := 0; rows.Next(dest) == nil; n++ {
		if n == i && len(dest) > 1 {
			if t, ok := dest[1].(string); ok {
				return t
			}
		}
	}
	return ""
}

// checkSelect refuses a prepared statement that is not a SELECT and returns
// its column names.
func checkSelect(st driver.Stmt, query string) ([]string, error) {
	ds, ok := st.(*duck.Stmt)
	if !ok {
		return nil, fmt.Errorf("unexpected driver statement %T", st)
	}
	t, err := ds.StatementType()
	if err != nil {
		return nil, err
	}
	if t != duck.STATEMENT_TYPE_SELECT {
		kw, pos := firstKeyword(query)
		return nil, &engine.Error{Kind: engine.Refused, Pos: pos, SQL: query,
			Msg:  fmt.Sprintf("only a SELECT statement may run, not %s", kw),
			Hint: "queries are read-only: one SELECT (or WITH … SELECT) over vpc_flow_logs"}
	}
	n, err := ds.ColumnCount()
	if err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i := range names {
		if names[i], err = ds.ColumnName(i); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// intervalText writes an interval as DuckDB does (CAST(i AS VARCHAR)):
// "1 year 2 months 3 days 04:05:06.5", "-01:00:00", "00:00:00".
func intervalText(i duck.Interval) string {
	var parts []string
	unit := func(n int64, name string) {
		if n == 0 {
			return
		}
		if n != 1 && n != -1 {
			name += "s"
		}
		parts = append(parts, strconv.FormatInt(n, 10)+" "+name)
	}
	years := int64(i.Months) / 12
	unit(years, "year")
	unit(int64(i.Months)-years*12, "month")
	unit(int64(i.Days), "day")
	if i.Micros != 0 || len(parts) == 0 {
		sign, us := "", uint64(i.Micros)
		if i.Micros < 0 {
			sign, us = "-", uint64(-(i.Micros+1))+1 // also for math.MinInt64
		}
		const second, hour = 1_000_000, 3_600_000_000
		t := fmt.Sprintf("%s%02d:%02d:%02d", sign, us/hour, us%hour/(60*second), us%(60*second)/second)
		if f := us % second; f != 0 {
			t += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

// wrapPrefix is what wrapLimit puts before the query, so that a byte offset
// in the wrapped statement less len(wrapPrefix) is the same offset in the query.
const wrapPrefix = "SELECT * FROM (\n"

// wrapLimit returns query as a subquery under a LIMIT. The newline before the
// closing parenthesis ends a trailing -- comment.
func wrapLimit(query string, n int) string {
	body := strings.TrimRight(query, " \t\r\n;")
	return wrapPrefix + body + "\n) AS flowlens_result LIMIT " + strconv.Itoa(n)
}

// wrapError is an error of running statement sql, which holds the user's
// query from byte offset on (the LIMIT wrap, EXPLAIN ANALYZE).
type wrapError struct {
	err    error
	sql    string
	offset int
}

func (w *wrapError) Error() string { return w.err.Error() }
func (w *wrapError) Unwrap() error { return w.err }

// normalize turns a driver value of the DuckDB type typ (as the driver
// names it: "UUID", "INTEGER[]", "STRUCT(a UUID, b BLOB)") into one of the
// Result value types, also inside lists, structs and maps. Values whose Go
// form is not the one DuckDB writes come out as DuckDB writes them (CAST(x AS
// VARCHAR)): dates, times of day, timestamps without a time zone, intervals,
// UUIDs and blobs (both bytes from the driver), infinite times.
func normalize(v driver.Value, typ string) any {
	switch x := v.(type) {
	case nil, bool, int64, string:
		return x
	case float64:
		return x
	case []byte:
		if typ == "UUID" && len(x) == 16 {
			return uuidText(x)
		}
		return blobText(x)
	case time.Time:
		return timeValue(x, typ)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return new(big.Int).SetUint64(x)
	case float32:
		// The shortest decimal that reads back as the float32, as DuckDB
		// writes it (0.1, not the 0.10000000149011612 of its widening).
		f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		if err != nil {
			return float64(x)
		}
		return f
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x
	case duck.Decimal:
		if x.Scale == 0 && x.Value != nil {
			// A whole decimal (a CAST to DECIMAL(38,0), the sum of one)
			// is an integer, exact past float64's 15 digits.
			return normalize(x.Value, "")
		}
		return x.Float64()
	case duck.Interval:
		return intervalText(x)
	case duck.UUID:
		return x.String()
	case *duck.UUID:
		return x.String()
	case []any:
		elem := listElem(typ)
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e, elem)
		}
		return out
	case map[string]any:
		fields := structFields(typ)
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e, fields[k])
		}
		return out
	case duck.Map:
		kt, vt := mapTypes(typ)
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(normalize(k, kt))] = normalize(e, vt)
		}
		return out
	case duck.OrderedMap:
		// What the driver gives for MAP (histogram's answer). JSON objects
		// need string keys; their order is lost, as in any map[string]any.
		kt, vt := mapTypes(typ)
		keys, vals := x.Keys(), x.Values()
		out := make(map[string]any, len(keys))
		for i, k := range keys {
			out[fmt.Sprint(normalize(k, kt))] = normalize(vals[i], vt)
		}
		return out
	case duck.Union:
		return normalize(x.Value, unionMember(typ, x.Tag))
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// timeValue writes the driver's time.Time for a value of type typ: dates and
// times of day as DuckDB writes them, timestamps without a time zone as the
// wall-clock time they are (flowlens cannot know their zone, so they must not
// come out as if they were UTC), infinite dates and timestamps as DuckDB's
// "infinity". Timestamps with a time zone stay time.Time.
func timeValue(t time.Time, typ string) any {
	switch typ {
	case "DATE":
		switch days := t.Unix() / 86400; days {
		case math.MaxInt32:
			return "infinity"
		case -math.MaxInt32:
			return "-infinity"
		}
		return t.Format("2006-01-02")
	case "TIME":
		return t.Format("15:04:05.999999")
	case "TIMETZ", "TIME WITH TIME ZONE":
		layout := "15:04:05.999999-07"
		if _, off := t.Zone(); off%3600 != 0 {
			layout += ":00"
		}
		return t.Format(layout)
	}
	// DuckDB's infinite timestamps are the extreme microsecond counts.
	switch t.UnixMicro() {
	case math.MaxInt64:
		return "infinity"
	case -math.MaxInt64:
		return "-infinity"
	}
	switch typ {
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
		return t.Format("2006-01-02 15:04:05.999999999")
	}
	return t
}

// uuidText writes 16 bytes in the 8-4-4-4-12 form.
func uuidText(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// blobText writes a blob as DuckDB does: printable ASCII as it is, every
// other byte, and the quotes and backslash, as \xHH.
func blobText(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c <= 0x7e && c != '\\' && c != '\'' && c != '"' {
			sb.WriteByte(c)
			continue
		}
		fmt.Fprintf(&sb, `\x%02X`, c)
	}
	return sb.String()
}

// listElem returns the element type of a list or array type ("UUID[]",
// "INTEGER[3]"), or "" when typ is neither.
func listElem(typ string) string {
	if !strings.HasSuffix(typ, "]") {
		return ""
	}
	if i := strings.LastIndexByte(typ, '['); i > 0 {
		return typ[:i]
	}
	return ""
}

// structFields returns the field types of "STRUCT(a UUID, \"b c\" BLOB)" by
// field name.
func structFields(typ string) map[string]string {
	inner, ok := typeArgs(typ, "STRUCT(")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, f := range inner {
		name, t := splitField(f)
		out[name] = t
	}
	return out
}

// unionMember returns the type of the member tag of "UNION(a UUID, b INTEGER)".
func unionMember(typ, tag string) string {
	inner, _ := typeArgs(typ, "UNION(")
	for _, f := range inner {
		if name, t := splitField(f); name == tag {
			return t
		}
	}
	return ""
}

// mapTypes returns the key and value types of "MAP(K, V)".
func mapTypes(typ string) (string, string) {
	inner, ok := typeArgs(typ, "MAP(")
	if !ok || len(inner) != 2 {
		return "", ""
	}
	return inner[0], inner[1]
}

// typeArgs splits the parenthesised list of a type such as STRUCT(...) at
// its top-level commas, outside nested parentheses and quoted names.
func typeArgs(typ, prefix string) ([]string, bool) {
	if !strings.HasPrefix(typ, prefix) || !strings.HasSuffix(typ, ")") {
		return nil, false
	}
	body := typ[len(prefix) : len(typ)-1]
	var out []string
	depth, quoted, from := 0, false, 0
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(body[from:i]))
			from = i + 1
		}
	}
	return append(out, strings.TrimSpace(body[from:])), true
}

// splitField splits a struct field "name TYPE" or "\"quoted name\" TYPE".
func splitField(f string) (name, typ string) {
	if strings.HasPrefix(f, `"`) {
		for i := 1; i < len(f); i++ {
			if f[i] != '"' {
				continue
			}
			if i+1 < len(f) && f[i+1] == '"' {
				i++
				continue
			}
			return strings.ReplaceAll(f[1:i], `""`, `"`), strings.TrimSpace(f[i+1:])
		}
		return f, ""
	}
	name, typ, _ = strings.Cut(f, " ")
	return name, strings.TrimSpace(typ)
}

// typographicQuotes are the curly quotes that text copied from web pages
// and word processors has instead of ' and ".
const typographicQuotes = "‘’‚‛“”„‟"

var (
	groupByRE    = regexp.MustCompile(`column "([^"]+)" must appear in the GROUP BY clause or must be part of an aggregate function`)
	noTableRE    = regexp.MustCompile(`Table with name (\S+) does not exist`)
	noColumnRE   = regexp.MustCompile(`Referenced column "([^"]*)" not found`)
	noFunctionRE = regexp.MustCompile(`Function with name (\S+) does not exist`)
	errPrefix    = regexp.MustCompile(`^[A-Za-z ]+ Error: `)
	lineMarker   = "\n\nLINE "
)

// wrap turns an error of DuckDB into an *engine.Error: its kind, its message
// without DuckDB's rendering of the query, and the position it points at.
func (e *Engine) wrap(ctx context.Context, err error, query string, timeout time.Duration, running bool) *engine.Error {
	if ctx.Err() != nil {
		out := &engine.Error{Kind: engine.Timeout, Msg: "query cancelled", Pos: -1, SQL: query, Err: err}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			out.Msg = fmt.Sprintf("query stopped after its time limit of %s", timeout)
			out.Hint = "narrow the time range or raise --timeout"
		}
		return out
	}
	out := &engine.Error{Kind: engine.Invalid, Pos: -1, SQL: query, Err: err}
	if running {
		out.Kind = engine.Runtime
	}
	full := err.Error()
	var de *duck.Error
	if errors.As(err, &de) {
		full = de.Msg
		switch de.Type {
		case duck.ErrorTypeInterrupt:
			out.Kind = engine.Timeout
		case duck.ErrorTypePermission:
			out.Kind = engine.Refused
		case duck.ErrorTypeIO, duck.ErrorTypeOutOfMemory, duck.ErrorTypeInternal, duck.ErrorTypeFatal, duck.ErrorTypeConnection:
			out.Kind = engine.Runtime
		case duck.ErrorTypeMissingExtension, duck.ErrorTypeAutoLoad:
			out.Kind = engine.Refused
		case duck.ErrorTypeConversion, duck.ErrorTypeOutOfRange, duck.ErrorTypeDivideByZero:
			// The query's own expressions failed on a value: its author
			// fixes them (TRY_CAST, a wider type), however late they failed.
			out.Kind = engine.Invalid
			if de.Type == duck.ErrorTypeConversion {
				out.Hint = "TRY_CAST(x AS type) gives NULL instead of failing on values that do not convert"
			}
		}
	}
	msg := full
	if i := strings.LastIndex(full, lineMarker); i >= 0 {
		msg = full[:i]
		var we *wrapError
		if errors.As(err, &we) {
			if p := errorPosition(we.sql, full[i+2:]) - we.offset; p >= 0 && p <= len(query) {
				out.Pos = p
			}
		} else {
			out.Pos = errorPosition(query, full[i+2:])
		}
		// DuckDB may point at the blanks before the word it means.
		for out.Pos >= 0 && out.Pos < len(query) && strings.IndexByte(" \t\r\n", query[out.Pos]) >= 0 {
			out.Pos++
		}
	}
	msg = shortenCandidates(strings.TrimSpace(msg))
	switch out.Kind {
	case engine.Refused:
		if strings.Contains(msg, "file system operations are disabled") {
			msg = strings.Replace(msg, "file system operations are disabled by configuration", "queries may read only the lake's files", 1)
		}
		if strings.Contains(msg, "Extension") || strings.Contains(msg, "extension") {
			out.Hint = "flowlens never installs or loads extensions; only the built-in parquet, json and icu ones are available"
		}
	case engine.Timeout:
		msg = "query interrupted"
	}
	if m := groupByRE.FindStringSubmatch(msg); m != nil {
		c := m[1]
		out.Msg = fmt.Sprintf("column %s must appear in GROUP BY or be aggregated", c)
		out.Hint = fmt.Sprintf("add %s to the GROUP BY list to get one row per value, or aggregate it, e.g. COUNT(DISTINCT %s), MAX(%s) or ANY_VALUE(%s)", c, c, c, c)
		return out
	}
	if i := strings.Index(msg, "Please try installing and loading"); i >= 0 {
		// DuckDB suggests INSTALL and LOAD, which no query may run.
		msg = strings.TrimSpace(msg[:i])
		out.Hint = "flowlens never installs or loads extensions; only the built-in parquet, json and icu ones are available"
	}
	if m := noFunctionRE.FindStringSubmatch(msg); m != nil && prestoHints[strings.ToLower(m[1])] != "" {
		msg, _, _ = strings.Cut(msg, "\nDid you mean")
		out.Hint = prestoHints[strings.ToLower(m[1])]
	}
	if m := noTableRE.FindStringSubmatch(msg); m != nil {
		out.Hint = "the lake is the view vpc_flow_logs (alias flows)"
	}
	if out.Pos >= 0 && out.Pos < len(query) {
		if m := noColumnRE.FindStringSubmatch(msg); m != nil && strings.HasPrefix(query[out.Pos:], `"`+m[1]+`"`) {
			// "REJECT" is text in Insights and a name in SQL; a
			// misspelt quoted column keeps DuckDB's candidates.
			out.Hint = fmt.Sprintf("in SQL, double quotes name a column; if %q is text, write it in single quotes: '%s'", m[1], strings.ReplaceAll(m[1], "'", "''"))
		}
		if r, size := utf8.DecodeRuneInString(query[out.Pos:]); strings.ContainsRune(typographicQuotes, r) {
			// DuckDB reads ‘REJECT’ as a name and offers columns
			// that look like it; the fix is the quotes.
			msg, _, _ = strings.Cut(msg, "\nCandidate bindings")
			text := query[out.Pos+size:]
			if i := strings.IndexAny(text, typographicQuotes+"'\"\n"); i >= 0 {
				text = text[:i]
			}
			out.Hint = fmt.Sprintf("%c is a typographic quote, as copied from a web page: SQL quotes text with straight single quotes, such as '%s'",
				r, strings.ReplaceAll(text, "'", "''"))
		}
	}
	out.Msg = msg
	return out
}

// maxCandidates is how many of DuckDB's candidate functions an error lists.
const maxCandidates = 4

// shortenCandidates cuts the list of candidate functions that DuckDB appends
// to a binder error (every overload of +, some fifty lines) to its first few.
func shortenCandidates(msg string) string {
	head, list, ok := strings.Cut(msg, "Candidate functions:\n")
	if !ok {
		return msg
	}
	lines := strings.Split(list, "\n")
	if len(lines) <= maxCandidates+1 {
		return msg
	}
	return head + "Candidate functions:\n" + strings.Join(lines[:maxCandidates], "\n") +
		fmt.Sprintf("\n\t… and %d more", len(lines)-maxCandidates)
}

// errorPosition reads the byte offset in query that DuckDB's error rendering
// points at:
//
//	LINE 2: ...FROM vpc_flow_logs GROUP BY srcaddr...
//	                   ^
//
// DuckDB shows at most about 40 characters either side of the error, marking
// cut ends with "...". It returns -1 when the rendering does not match query.
func errorPosition(query, rendering string) int {
	first, caret, ok := strings.Cut(rendering, "\n")
	if !ok || !strings.HasPrefix(first, "LINE ") {
		return -1
	}
	numText, shown, ok := strings.Cut(first[len("LINE "):], ": ")
	if !ok {
		return -1
	}
	line, err := strconv.Atoi(numText)
	if err != nil || line < 1 {
		return -1
	}
	caret = strings.TrimRight(caret, "\n")
	col := strings.Index(caret, "^")
	if col < 0 {
		return -1
	}
	col -= len("LINE ") + len(numText) + len(": ")
	if strings.HasPrefix(shown, "...") {
		shown = shown[3:]
		col -= 3
	}
	shown = strings.TrimSuffix(shown, "...")
	if col < 0 {
		return -1
	}
	// Find the line in query: DuckDB counts \n, \r and \r\n as line breaks.
	start := 0
	for n := 1; n < line; n++ {
		i := strings.IndexAny(query[start:], "\r\n")
		if i < 0 {
			return -1
		}
		start += i + 1
		if query[start-1] == '\r' && start < len(query) && query[start] == '\n' {
			start++
		}
	}
	text := query[start:]
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i]
	}
	at := strings.Index(text, shown)
	if at < 0 {
		return -1
	}
	// col counts terminal columns, as DuckDB's rendering does: two for wide
	// characters (東, 🚀), none for combining marks.
	off := at
	for n := 0; n < col && off < len(text); {
		r, size := utf8.DecodeRuneInString(text[off:])
		off += size
		n += columns.RuneWidth(r)
	}
	return start + off
}

// columns measures text as a terminal shows it, whatever the locale.
var columns = func() *runewidth.Condition {
	c := runewidth.NewCondition()
	c.EastAsianWidth = false
	return c
}()

// quoteString is the one function that turns text into a SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent quotes a column name.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
