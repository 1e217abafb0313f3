package querytest

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/duckdb"
	"github.com/flowlens/flowlens/flowlog"
)

// Options configure a run.
type Options struct {
	// Insights compiles an Insights query to SQL for dialect. Scripts with
	// eval insights blocks fail when it is nil.
	Insights func(query, dialect string) (string, error)
}

// RunFile runs the script in path, one subtest per eval block.
func RunFile(t *testing.T, path string, o Options) {
	t.Helper()
	s, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	Run(t, s, o)
}

// Run runs a parsed script.
func Run(t *testing.T, s *Script, o Options) {
	t.Helper()
	ctx := context.Background()
	var loads []*Block
	var eng engine.Engine
	built := 0 // number of loads in eng's lake
	defer func() {
		if eng != nil {
			eng.Close()
		}
	}()
	for _, b := range s.Blocks {
		if b.Kind == Load {
			loads = append(loads, b)
			continue
		}
		if eng == nil || built != len(loads) {
			if eng != nil {
				eng.Close()
			}
			var err error
			eng, err = buildLake(ctx, t.TempDir(), s.Name, loads)
			if err != nil {
				t.Fatal(err)
			}
			built = len(loads)
		}
		name := fmt.Sprintf("%s:%d", filepath.Base(s.Name), b.Line)
		t.Run(name, func(t *testing.T) { runEval(t, ctx, eng, s.Name, b, o) })
	}
}

func buildLake(ctx context.Context, dir, name string, loads []*Block) (engine.Engine, error) {
	w, err := NewLakeWriter(ctx)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	for _, l := range loads {
		var f *flowlog.Format
		if l.Format != "" {
			if f, err = flowlog.ParseFormat(l.Format); err != nil {
				return nil, fmt.Errorf("%s:%d: load format: %w", name, l.Line, err)
			}
		}
		if _, err := w.AddLines(strings.NewReader(strings.Join(l.Lines, "\n")), f); err != nil {
			return nil, fmt.Errorf("%s:%d: load: %w", name, l.Line, err)
		}
	}
	lake := filepath.Join(dir, "lake", "vpc_flow_logs")
	if err := w.WriteTo(ctx, lake); err != nil {
		return nil, err
	}
	return duckdb.Open(ctx, lake, duckdb.Options{})
}

func runEval(t *testing.T, ctx context.Context, eng engine.Engine, file string, b *Block, o Options) {
	where := fmt.Sprintf("%s:%d", file, b.Line)
	query := b.Query
	if b.Lang == "insights" {
		if o.Insights == nil {
			t.Fatalf("%s: eval insights needs Options.Insights", where)
		}
		sql, err := o.Insights(b.Query, eng.Dialect())
		if err != nil {
			checkFail(t, where, b, err, "")
			return
		}
		query = sql
	}
	res, err := eng.Query(ctx, engine.Request{SQL: query, Range: engine.Range{From: b.From, To: b.To}, MaxRows: b.Limit, Timeout: time.Minute})
	if b.Kind == EvalFail {
		checkFail(t, where, b, err, query)
		return
	}
	if err != nil {
		t.Fatalf("%s: query failed: %v\nquery:\n%s", where, err, query)
	}
	got := Cells(res)
	if !slices.Equal(res.Names(), b.Columns) {
		t.Fatalf("%s: columns\n got: %s\nwant: %s\nquery:\n%s", where, strings.Join(res.Names(), " "), strings.Join(b.Columns, " "), query)
	}
	want := b.Rows
	if b.Kind == Eval {
		got, want = sortedRows(got), sortedRows(want)
	}
	if d := diffRows(got, want); d != "" {
		t.Errorf("%s: rows differ (-got +want):\n%s\ngot:\n%s\nquery:\n%s", where, d, FormatTable(res.Names(), Cells(res)), query)
	}
}

func checkFail(t *testing.T, where string, b *Block, err error, sql string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: query succeeded, want an error containing %q", where, b.Error)
	}
	if !strings.Contains(err.Error(), b.Error) {
		t.Errorf("%s: error %q does not contain %q", where, err, b.Error)
	}
	if b.ErrKind != "" {
		kind := "invalid"
		if qe := engine.AsError(err); qe != nil {
			kind = map[engine.Kind]string{engine.Invalid: "invalid", engine.Refused: "refused", engine.Timeout: "timeout", engine.Runtime: "runtime"}[qe.Kind]
		}
		if kind != b.ErrKind {
			t.Errorf("%s: error kind %s, want %s (%v)", where, kind, b.ErrKind, err)
		}
	}
	_ = sql
}

// Cells renders a result as text cells, as scripts write them.
func Cells(res *engine.Result) [][]string {
	out := make([][]string, len(res.Rows))
	for i, r := range res.Rows {
		row := make([]string, len(r))
		for j, v := range r {
			row[j] = Cell(v)
		}
		out[i] = row
	}
	return out
}

// Cell renders one value: null for NULL, integers in decimal, floats in the
// shortest form, times in RFC 3339.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		return x.String()
	}
	return fmt.Sprint(v)
}

// FormatTable renders columns and rows in script syntax, aligned.
func FormatTable(cols []string, rows [][]string) string {
	all := append([][]string{cols}, rows...)
	width := make([]int, len(cols))
	q := func(s string) string {
		if s == "" || strings.ContainsAny(s, " \t\"") {
			return strconv.Quote(s)
		}
		return s
	}
	for _, r := range all {
		for i, c := range r {
			width[i] = max(width[i], len(q(c)))
		}
	}
	var b strings.Builder
	for _, r := range all {
		for i, c := range r {
			if i > 0 {
				b.WriteString(" ")
			}
			if i == len(r)-1 {
				b.WriteString(q(c))
			} else {
				fmt.Fprintf(&b, "%-*s", width[i], q(c))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func sortedRows(rows [][]string) [][]string {
	out := append([][]string(nil), rows...)
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], "\x00") < strings.Join(out[j], "\x00") })
	return out
}

// sameCell compares cells as text, or as numbers with a relative tolerance.
func sameCell(got, want string) bool {
	if got == want {
		return true
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	return math.Abs(g-w) <= 1e-9*math.Max(1, math.Max(math.Abs(g), math.Abs(w)))
}

func diffRows(got, want [][]string) string {
	var b strings.Builder
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "+ %s\n", strings.Join(want[i], " "))
		case i >= len(want):
			fmt.Fprintf(&b, "- %s\n", strings.Join(got[i], " "))
		default:
			same := len(got[i]) == len(want[i])
			for j := 0; same && j < len(got[i]); j++ {
				same = sameCell(got[i][j], want[i][j])
			}
			if !same {
				fmt.Fprintf(&b, "- %s\n+ %s\n", strings.Join(got[i], " "), strings.Join(want[i], " "))
			}
		}
	}
	return b.String()
}
