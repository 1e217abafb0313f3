// Package querytest runs scripted query tests, in the manner of Prometheus's
// promqltest: plain-text .test files load raw flow-log lines and state the
// expected table of each Insights or SQL query. The runner writes the lines as a
// real Parquet lake in a temporary folder and asks the real engine.
//
// It sits above engine/duckdb (which it opens over the lake it writes) and
// below the tests of the query front ends and the detection rules, which reuse
// it. It also holds the helpers those tests need: LakeWriter (raw lines to lake
// Parquet files through the lake package's writer, without its catalog),
// Generate (a small deterministic traffic generator whose attacks the guide
// queries find), GuideQueries, and the guide-query benchmark (PrepareBench,
// RunBench, FormatBench) that flowlens bench can call.
//
// A script is a sequence of blocks separated by blank lines; '#' starts a
// comment line between blocks:
//
//	load [FORMAT]
//	<flow-log lines, in FORMAT (a ${field} string or a header line), else the default format>
//
//	eval sql|insights [from=T] [to=T] [limit=N]
//	<query, one or more lines>
//	----
//	<column names>
//	<one row per line>
//
//	eval_fail sql|insights
//	<query>
//	----
//	error: <text the error must contain>
//	kind: invalid|refused   (optional)
//
// Cells are separated by blanks; a cell with blanks is written in double
// quotes; null is NULL. eval compares rows as a set, eval_ordered in order.
// Numbers compare with a relative tolerance of 1e-9. T is RFC 3339 or Unix
// seconds.
//
// Main types: Script, Block, Options; main functions RunFile, Run, WriteLake.
package querytest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// BlockKind is the command of a script block.
type BlockKind int

// Kinds of block.
const (
	Load BlockKind = iota + 1
	Eval
	EvalOrdered
	EvalFail
)

// Block is one command of a script.
type Block struct {
	Kind BlockKind
	Line int // 1-based line of the command in the script
	// Load
	Format string
	Lines  []string
	// Eval*
	Lang     string // "sql" or "insights"
	Query    string
	From, To time.Time
	Limit    int
	Columns  []string
	Rows     [][]string
	Error    string
	ErrKind  string
}

// Script is a parsed .test file.
type Script struct {
	Name   string
	Blocks []*Block
}

// ParseFile reads a script file.
func ParseFile(path string) (*Script, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, string(b))
}

// Parse reads a script; errors name the line.
func Parse(name, text string) (*Script, error) {
	s := &Script{Name: name}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	errorf := func(i int, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", name, i+1, fmt.Sprintf(format, a...))
	}
	i := 0
	for i < len(lines) {
		line := lines[i]
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			i++
			continue
		}
		cmd, rest, _ := strings.Cut(t, " ")
		rest = strings.TrimSpace(rest)
		b := &Block{Line: i + 1}
		switch cmd {
		case "load":
			b.Kind, b.Format = Load, rest
			i++
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
				b.Lines = append(b.Lines, strings.TrimSpace(lines[i]))
				i++
			}
			if len(b.Lines) == 0 {
				return nil, errorf(b.Line-1, "load without lines")
			}
		case "eval", "eval_ordered", "eval_fail":
			b.Kind = map[string]BlockKind{"eval": Eval, "eval_ordered": EvalOrdered, "eval_fail": EvalFail}[cmd]
			args := strings.Fields(rest)
			if len(args) == 0 || (args[0] != "sql" && args[0] != "insights") {
				return nil, errorf(i, "%s needs a language: sql or insights", cmd)
			}
			b.Lang = args[0]
			for _, a := range args[1:] {
				k, v, ok := strings.Cut(a, "=")
				var err error
				switch {
				case !ok:
					err = fmt.Errorf("%q is not key=value", a)
				case k == "from":
					b.From, err = ParseTime(v)
				case k == "to":
					b.To, err = ParseTime(v)
				case k == "limit":
					b.Limit, err = strconv.Atoi(v)
				default:
					err = fmt.Errorf("unknown option %q (from, to, limit)", k)
				}
				if err != nil {
					return nil, errorf(i, "%v", err)
				}
			}
			i++
			var q []string
			for i < len(lines) && strings.TrimSpace(lines[i]) != "----" {
				if strings.TrimSpace(lines[i]) == "" {
					return nil, errorf(i, "blank line inside the query; end the query with ----")
				}
				q = append(q, lines[i])
				i++
			}
			if i == len(lines) {
				return nil, errorf(b.Line-1, "query without ---- and expected result")
			}
			if len(q) == 0 {
				return nil, errorf(b.Line-1, "%s without a query", cmd)
			}
			b.Query = strings.Join(q, "\n")
			i++ // ----
			var exp []string
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
				exp = append(exp, lines[i])
				i++
			}
			if b.Kind == EvalFail {
				for _, e := range exp {
					k, v, ok := strings.Cut(strings.TrimSpace(e), ":")
					switch {
					case ok && k == "error":
						b.Error = strings.TrimSpace(v)
					case ok && k == "kind":
						b.ErrKind = strings.TrimSpace(v)
					default:
						return nil, errorf(b.Line-1, "eval_fail expects 'error: text' and optionally 'kind: invalid|refused', not %q", e)
					}
				}
				if b.Error == "" {
					return nil, errorf(b.Line-1, "eval_fail without 'error: text'")
				}
				break
			}
			if len(exp) == 0 {
				return nil, errorf(b.Line-1, "eval without the expected column names")
			}
			for n, e := range exp {
				cells, err := splitCells(e)
				if err != nil {
					return nil, errorf(i-len(exp)+n, "%v", err)
				}
				if n == 0 {
					b.Columns = cells
					continue
				}
				if len(cells) != len(b.Columns) {
					return nil, errorf(i-len(exp)+n, "%d cells, want %d (one per column)", len(cells), len(b.Columns))
				}
				b.Rows = append(b.Rows, cells)
			}
		default:
			return nil, errorf(i, "unknown command %q (load, eval, eval_ordered, eval_fail)", cmd)
		}
		s.Blocks = append(s.Blocks, b)
	}
	return s, nil
}

// splitCells splits a row on blanks, honouring double quotes ("a b", "say \"x\"").
func splitCells(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			return out, nil
		}
		if line[i] == '"' {
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated quote at column %d", i+1)
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad quoted cell at column %d: %v", i+1, err)
			}
			out = append(out, s)
			i = j + 1
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		out = append(out, line[i:j])
		i = j
	}
}

// ParseTime reads RFC 3339 or Unix seconds.
func ParseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is neither RFC 3339 nor Unix seconds", s)
	}
	return t, nil
}
