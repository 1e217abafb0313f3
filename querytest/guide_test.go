package querytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// flow is what the guide queries read of a record, parsed by flowlog alone.
type flow struct {
	src, dst       string
	hasSrc, hasDst bool
	dstport        int64
	hasPort        bool
	action         string
	bytes          int64
	start          int64
}

func parseFlows(t testing.TB, text []byte) []flow {
	sc := flowlog.NewScanner(bytes.NewReader(text), flowlog.ScanOptions{})
	var out []flow
	for {
		r, err := sc.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var f flow
		f.src, f.hasSrc = r.Str(flowlog.SrcAddr)
		f.dst, f.hasDst = r.Str(flowlog.DstAddr)
		f.src, f.dst = strings.Clone(f.src), strings.Clone(f.dst)
		f.dstport, f.hasPort = r.Int(flowlog.DstPort)
		a, _ := r.Str(flowlog.Action)
		f.action = strings.Clone(a)
		f.bytes, _ = r.Int(flowlog.Bytes)
		f.start, _ = r.Int(flowlog.Start)
		out = append(out, f)
	}
}

// answer is the expected result of a ranked query: every row of the full
// answer (column → cell), the group-by columns that identify a row, the
// ranking column (descending) and the limit (0 for none).
type answer struct {
	rows  []map[string]string
	ids   []string
	key   string
	limit int
}

type group struct {
	sum, count, rejected int64
	dsts, ports          map[string]bool
}

func groups(fs []flow, keep func(flow) bool, id func(flow) []string) (map[string]*group, map[string][]string) {
	gs, ids := map[string]*group{}, map[string][]string{}
	for _, f := range fs {
		if !keep(f) {
			continue
		}
		v := id(f)
		k := strings.Join(v, "\x00")
		g := gs[k]
		if g == nil {
			g = &group{dsts: map[string]bool{}, ports: map[string]bool{}}
			gs[k], ids[k] = g, v
		}
		g.sum += f.bytes
		g.count++
		if f.action == "REJECT" {
			g.rejected++
		}
		if f.hasDst {
			g.dsts[f.dst] = true
		}
		if f.hasPort {
			g.ports[strconv.FormatInt(f.dstport, 10)] = true
		}
	}
	return gs, ids
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
func port(f flow) string  { return itoa(f.dstport) }

// guideAnswers computes the answers of GuideQueries in Go.
func guideAnswers(fs []flow) map[string]answer {
	out := map[string]answer{}
	accept := func(f flow) bool { return f.action == "ACCEPT" }
	reject := func(f flow) bool { return f.action == "REJECT" }
	pair := func(f flow) []string { return []string{f.src, f.dst} }

	gs, ids := groups(fs, accept, pair)
	a := answer{ids: []string{"srcaddr", "dstaddr"}, key: "total_bytes", limit: 20}
	for k, g := range gs {
		a.rows = append(a.rows, map[string]string{"srcaddr": ids[k][0], "dstaddr": ids[k][1], "total_bytes": itoa(g.sum)})
	}
	out["top-talkers"] = a

	gs, ids = groups(fs, reject, func(f flow) []string { return []string{f.src, f.dst, port(f)} })
	a = answer{ids: []string{"srcaddr", "dstaddr", "dstport"}, key: "rejected_count", limit: 50}
	for k, g := range gs {
		a.rows = append(a.rows, map[string]string{"srcaddr": ids[k][0], "dstaddr": ids[k][1], "dstport": ids[k][2], "rejected_count": itoa(g.count)})
	}
	out["rejected"] = a

	gs, ids = groups(fs, reject, func(f flow) []string { return []string{f.src} })
	a = answer{ids: []string{"srcaddr"}, key: "attempts"}
	for k, g := range gs {
		if len(g.ports) > 10 && g.count > 50 {
			a.rows = append(a.rows, map[string]string{"srcaddr": ids[k][0], "unique_ports": itoa(int64(len(g.ports))), "attempts": itoa(g.count)})
		}
	}
	out["port-scan"] = a

	march := func(f flow) bool {
		t := time.Unix(f.start, 0).UTC()
		return t.Year() == 2024 && t.Month() == time.March && accept(f)
	}
	gs, ids = groups(fs, march, pair)
	a = answer{ids: []string{"srcaddr", "dstaddr"}, key: "total_bytes", limit: 100}
	for k, g := range gs {
		a.rows = append(a.rows, map[string]string{"srcaddr": ids[k][0], "dstaddr": ids[k][1], "total_bytes": itoa(g.sum), "flow_count": itoa(g.count)})
	}
	out["top-pairs-sql"] = a

	crypto := func(f flow) bool {
		return accept(f) && f.hasPort && slices.Contains(CryptoPorts, int(f.dstport))
	}
	gs, ids = groups(fs, crypto, func(f flow) []string { return []string{f.src, f.dst, port(f)} })
	a = answer{ids: []string{"srcaddr", "dstaddr", "dstport"}, key: "connections"}
	for k, g := range gs {
		a.rows = append(a.rows, map[string]string{"srcaddr": ids[k][0], "dstaddr": ids[k][1], "dstport": ids[k][2], "connections": itoa(g.count)})
	}
	out["crypto-mining-sql"] = a

	private := func(f flow) bool {
		return f.hasSrc && (strings.HasPrefix(f.src, "10.") || strings.HasPrefix(f.src, "172.") || strings.HasPrefix(f.src, "192.168."))
	}
	gs, ids = groups(fs, private, func(f flow) []string { return []string{f.src} })
	a = answer{ids: []string{"srcaddr"}, key: "rejected_attempts"}
	for k, g := range gs {
		if len(g.dsts) > 10 && len(g.ports) > 5 {
			a.rows = append(a.rows, map[string]string{"srcaddr": ids[k][0], "targets_scanned": itoa(int64(len(g.dsts))),
				"ports_scanned": itoa(int64(len(g.ports))), "rejected_attempts": itoa(g.rejected)})
		}
	}
	out["internal-scan-sql"] = a
	return out
}

// check compares a result with an answer. Ties in the ranking column may come
// in any order, and at a limit any of the tied rows may be cut: every returned
// row must be a row of the answer, the ranking must be the answer's, and the
// count must be the answer's (capped at the limit).
func (a answer) check(res *engine.Result) error {
	if len(a.rows) == 0 {
		return errors.New("the expected answer is empty: the data does not exercise the query")
	}
	names := res.Names()
	wantCols := make([]string, 0, len(a.rows[0]))
	for c := range a.rows[0] {
		wantCols = append(wantCols, c)
	}
	gotCols := slices.Clone(names)
	slices.Sort(wantCols)
	slices.Sort(gotCols)
	if !slices.Equal(wantCols, gotCols) {
		return fmt.Errorf("columns %v, want %v", names, wantCols)
	}
	want := map[string]map[string]string{}
	var keys []int64
	for _, r := range a.rows {
		want[a.id(r)] = r
		n, _ := strconv.ParseInt(r[a.key], 10, 64)
		keys = append(keys, n)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] > keys[j] })
	n := len(a.rows)
	if a.limit > 0 && n > a.limit {
		n = a.limit
	}
	if len(res.Rows) != n {
		return fmt.Errorf("%d rows, want %d", len(res.Rows), n)
	}
	seen := map[string]bool{}
	for i, row := range res.Rows {
		got := map[string]string{}
		for j, c := range names {
			got[c] = Cell(row[j])
		}
		id := a.id(got)
		w, ok := want[id]
		switch {
		case !ok:
			return fmt.Errorf("row %d %v is not in the answer", i+1, got)
		case seen[id]:
			return fmt.Errorf("row %d %v comes twice", i+1, got)
		}
		seen[id] = true
		for c, v := range w {
			if got[c] != v {
				return fmt.Errorf("row %d %v: %s is %s, want %s", i+1, got, c, got[c], v)
			}
		}
		if got[a.key] != itoa(keys[i]) {
			return fmt.Errorf("row %d %v: %s %s out of rank, want %d there", i+1, got, a.key, got[a.key], keys[i])
		}
	}
	return nil
}

func (a answer) id(r map[string]string) string {
	var b strings.Builder
	for _, c := range a.ids {
		b.WriteString(r[c])
		b.WriteByte(0)
	}
	return b.String()
}

// TestGuideQueries runs every guide query verbatim on generated data and
// compares with answers computed in Go from the same lines.
func TestGuideQueries(t *testing.T) {
	ctx := context.Background()
	var text bytes.Buffer
	if err := Generate(&text, GenOptions{Records: 60_000, Seed: 1, Header: true}); err != nil {
		t.Fatal(err)
	}
	// A day of April too, which the SQL partition filter must leave out.
	if err := Generate(&text, GenOptions{Records: 5_000, Seed: 2, Start: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), Days: 1}); err != nil {
		t.Fatal(err)
	}
	answers := guideAnswers(parseFlows(t, text.Bytes()))
	lake := filepath.Join(t.TempDir(), "lake", "vpc_flow_logs")
	if _, err := WriteLake(ctx, lake, bytes.NewReader(text.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, lake, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, q := range GuideQueries {
		t.Run(q.Name, func(t *testing.T) {
			sql := q.Text
			if q.Lang == "insights" {
				if sql, err = CompileInsights(q.Text, e.Dialect()); err != nil {
					t.Fatalf("compile: %v", err)
				}
			}
			res, err := e.Query(ctx, engine.Request{SQL: sql})
			if err != nil {
				t.Fatalf("%v\n%s", err, sql)
			}
			if err := answers[q.Name].check(res); err != nil {
				t.Errorf("%v\nquery:\n%s", err, sql)
			}
		})
	}
	t.Run("exfiltration", func(t *testing.T) {
		_, err := e.Query(ctx, engine.Request{SQL: ExfiltrationQuery})
		qe := engine.AsError(err)
		if qe == nil || qe.Kind != engine.Invalid {
			t.Fatalf("got %v, want an invalid-query error", err)
		}
		for _, want := range []string{"dstaddr must appear in GROUP BY or be aggregated", "add dstaddr to the GROUP BY list", "COUNT(DISTINCT dstaddr)"} {
			if !strings.Contains(qe.Error(), want) {
				t.Errorf("error %q does not say %q", qe.Error(), want)
			}
		}
		if qe.Pos < 0 || !strings.HasPrefix(ExfiltrationQuery[qe.Pos:], "dstaddr, SUM") {
			t.Errorf("position %d does not point at dstaddr", qe.Pos)
		}
	})
}

// TestAnswerCheck makes sure the comparison can fail.
func TestAnswerCheck(t *testing.T) {
	a := answer{ids: []string{"k"}, key: "n", limit: 2, rows: []map[string]string{
		{"k": "a", "n": "3"}, {"k": "b", "n": "2"}, {"k": "c", "n": "2"},
	}}
	res := func(rows ...[]any) *engine.Result {
		return &engine.Result{Columns: []engine.Column{{Name: "k"}, {Name: "n"}}, Rows: rows}
	}
	tests := []struct {
		res *engine.Result
		ok  bool
	}{
		{res([]any{"a", int64(3)}, []any{"b", int64(2)}), true},
		{res([]any{"a", int64(3)}, []any{"c", int64(2)}), true}, // a tie cut at the limit
		{res([]any{"b", int64(2)}, []any{"a", int64(3)}), false},
		{res([]any{"a", int64(3)}, []any{"b", int64(3)}), false},
		{res([]any{"a", int64(3)}), false},
		{res([]any{"a", int64(3)}, []any{"a", int64(3)}), false},
		{res([]any{"a", int64(3)}, []any{"d", int64(2)}), false},
	}
	for i, tt := range tests {
		if err := a.check(tt.res); (err == nil) != tt.ok {
			t.Errorf("case %d: check = %v, want ok %v", i, err, tt.ok)
		}
	}
}
