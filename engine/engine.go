// Package engine runs read-only SQL over the flow-log lake. It sits between the
// query front ends (the CLI, the HTTP API, detection rules, the Insights
// compiler's output) and a SQL dialect: embedded DuckDB (engine/duckdb) or, at
// scale, ClickHouse. Each dialect owns the vpc_flow_logs view (alias flows) of
// DESIGN §5 and the safety rules for user SQL: one SELECT statement, no file
// access outside the lake, no settings, no extensions, a timeout and a row cap.
//
// Callers see only the small Engine interface, a Request and a Result, so a new
// dialect registers itself (Register) and needs no change in its callers.
//
// Main types: Engine, Request, Range, Result, Column and Error.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flowlens/lake"
)

// Engine runs SQL over the vpc_flow_logs view of one lake.
type Engine interface {
	// Dialect names the SQL dialect the engine speaks ("duckdb", "clickhouse");
	// the Insights compiler targets it.
	Dialect() string
	// Query runs one read-only statement. Errors are *Error.
	Query(ctx context.Context, req Request) (*Result, error)
	// Close releases the engine.
	Close() error
}

// Defaults for a Request that leaves MaxRows or Timeout zero.
const (
	DefaultMaxRows = 100_000
	DefaultTimeout = 5 * time.Minute
)

// Request is one query.
type Request struct {
	// SQL is a single SELECT (or WITH … SELECT) statement over vpc_flow_logs.
	SQL string
	// Range restricts the view to records whose start lies in it; it is pushed
	// down to partition pruning.
	Range Range
	// MaxRows caps the rows returned (Result.Truncated tells when more existed);
	// zero means DefaultMaxRows.
	MaxRows int
	// Timeout bounds the query; zero means DefaultTimeout. The context's own
	// deadline applies too.
	Timeout time.Duration
}

// Range is a half-open interval [From, To) of record start times. A zero bound
// is unbounded.
type Range struct {
	From, To time.Time
}

// IsZero reports whether r is unbounded on both sides.
func (r Range) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

// Column is one result column.
type Column struct {
	Name string `json:"name"`
	// Type is the dialect's name of the column type (BIGINT, VARCHAR, …).
	Type string `json:"type"`
}

// Result is a query's answer. Values are nil, bool, int64, float64, string,
// time.Time, []any or map[string]any (and *big.Int for integers beyond 64 bits).
// A time.Time is an instant (a TIMESTAMP WITH TIME ZONE); dates, times of day
// and wall-clock timestamps without a zone are strings as the dialect writes
// them ("2024-03-01", "10:00:00", "2024-03-01 10:00:00").
type Result struct {
	Columns []Column
	Rows    [][]any
	// Truncated reports that the query had more rows than the cap.
	Truncated bool
	// Elapsed is the time the engine spent, from request to last row.
	Elapsed time.Duration
}

// Names returns the column names.
func (r *Result) Names() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name
	}
	return out
}

// Kind classifies an Error.
type Kind int

// Kinds of errors. Invalid and Refused are the user's to fix (exit code 2);
// Timeout and Runtime are not.
const (
	// Invalid is a query that cannot be understood: syntax, unknown names, types.
	Invalid Kind = iota + 1
	// Refused is a query outside the safety rules: not a single SELECT, file
	// access outside the lake, settings, extensions.
	Refused
	// Timeout is a query stopped by its deadline or cancelled.
	Timeout
	// Runtime is any other failure while running.
	Runtime
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid query"
	case Refused:
		return "refused"
	case Timeout:
		return "timeout"
	}
	return "runtime error"
}

// Error is a query error. Pos, when not -1, is the byte offset in SQL that the
// error points at.
type Error struct {
	Kind Kind
	Msg  string
	// Hint says how to fix the query, when known.
	Hint string
	Pos  int
	SQL  string
	Err  error // the dialect's own error, if any
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Span returns the byte range [start, end) of SQL that the error is about: the
// word, number or quoted text at Pos (at least one character). ok is false when
// the error has no position.
func (e *Error) Span() (start, end int, ok bool) {
	if e.Pos < 0 || e.Pos > len(e.SQL) {
		return 0, 0, false
	}
	s, end := e.SQL, e.Pos
	if end == len(s) {
		return end, end, true
	}
	word := func(c byte) bool {
		return c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z' || c >= 0x80
	}
	switch c := s[end]; {
	case c == '\'' || c == '"':
		if i := strings.IndexByte(s[end+1:], c); i >= 0 {
			return e.Pos, end + i + 2, true
		}
		return e.Pos, len(s), true
	case word(c):
		for end < len(s) && word(s[end]) {
			end++
		}
		return e.Pos, end, true
	}
	return e.Pos, end + 1, true
}

// Errorf returns an *Error of kind k without a position.
func Errorf(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, a...), Pos: -1}
}

// AsError returns err as an *Error, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// OpenFunc opens an engine of one dialect. dsn is the part of the engine spec
// after the dialect name ("" for the embedded default); dataDir is the flowlens
// data folder that holds the lake.
type OpenFunc func(ctx context.Context, dsn, dataDir string) (Engine, error)

var (
	mu       sync.Mutex
	dialects = map[string]OpenFunc{}
)

// Register makes a dialect available to Open. It is called from the dialect
// package's init function.
func Register(name string, open OpenFunc) {
	mu.Lock()
	defer mu.Unlock()
	dialects[name] = open
}

// Dialects returns the registered dialect names, sorted.
func Dialects() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(dialects))
	for n := range dialects {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open opens the engine named by spec over the lake in dataDir. spec is a
// dialect name ("duckdb", the default when empty) or a URL whose scheme names
// the dialect ("clickhouse://host:9000/db").
func Open(ctx context.Context, spec, dataDir string) (Engine, error) {
	name, dsn := spec, ""
	if name == "" {
		name = "duckdb"
	}
	if i := strings.Index(spec, "://"); i >= 0 {
		name, dsn = spec[:i], spec
	}
	mu.Lock()
	open, ok := dialects[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("open engine %q: unknown dialect (known: %s)", name, strings.Join(Dialects(), ", "))
	}
	return open(ctx, dsn, dataDir)
}

// LakeDir returns the folder of the vpc_flow_logs table in a data folder:
// DATA/lake/vpc_flow_logs, partitioned as year=YYYY/month=MM/day=DD.
func LakeDir(dataDir string) string { return lake.TableDir(dataDir) }
