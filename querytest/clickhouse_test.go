package querytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/clickhouse"
	"github.com/flowlens/flowlens/engine/clickhouse/chtest"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/ingest"
)

// openClickHouse opens an engine on a new database of the test ClickHouse,
// dropped when the test ends.
func openClickHouse(t testing.TB) *clickhouse.Engine {
	t.Helper()
	url, db := chtest.Database(t)
	eng, err := clickhouse.Open(t.Context(), url+"/"+db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// clickHouseOnly lists the scripted cases that cannot run on ClickHouse
// 18.16, by file:line, with the reason; they are skipped there, saying why.
var clickHouseOnly = map[string]string{
	"aws-insights.test:112":         "the case checks DuckDB's own error text (Referenced column … not found); ClickHouse says Unknown identifier",
	"insights-conformance.test:100": "ClickHouse 18.16 has no boolean type: a comparison's value shows as 1 and 0, not true and false",
	"insights-dash.test:180":        "ClickHouse 18.16 has no boolean type: a comparison's value shows as 1 and 0, not true and false",
	"insights-pipeline.test:70":     "ClickHouse resolves a SELECT alias everywhere in its SELECT, so ORDER BY bytes sorts by the field redefined as bytes (prefer_column_name_to_alias came in 21.x)",
	"insights-pipeline.test:79":     "ClickHouse resolves a SELECT alias everywhere in its SELECT, so ORDER BY bytes sorts by the field redefined as bytes (prefer_column_name_to_alias came in 21.x)",
	"view.test:12":                  "DuckDB SQL: GROUP BY ALL and ORDER BY ALL",
	"view.test:32":                  "DuckDB SQL: DESCRIBE as a subquery (ClickHouse lists columns in system.columns)",
	"view.test:55":                  "DuckDB SQL: DESCRIBE as a subquery (ClickHouse lists columns in system.columns)",
}

// TestScriptsClickHouse runs every scripted case on ClickHouse too, loading
// the same lines through ClickHouse's ingest: the same query must give the
// same rows on both engines.
func TestScriptsClickHouse(t *testing.T) {
	chtest.URL(t)
	files, err := filepath.Glob("testdata/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			runClickHouse(t, s)
		})
	}
}

func runClickHouse(t *testing.T, s *Script) {
	ctx := context.Background()
	var loads []*Block
	var eng *clickhouse.Engine
	built := 0
	for _, b := range s.Blocks {
		if b.Kind == Load {
			loads = append(loads, b)
			continue
		}
		if eng == nil || built != len(loads) {
			eng = openClickHouse(t)
			if err := loadClickHouse(ctx, t.TempDir(), eng, s.Name, loads); err != nil {
				t.Fatal(err)
			}
			built = len(loads)
		}
		name := fmt.Sprintf("%s:%d", filepath.Base(s.Name), b.Line)
		t.Run(name, func(t *testing.T) {
			if why := clickHouseOnly[name]; why != "" {
				t.Skipf("not on ClickHouse 18.16: %s", why)
			}
			runEval(t, ctx, eng, s.Name, b, Options{Insights: CompileInsights})
		})
	}
}

// loadClickHouse ingests the load blocks into eng, each block from a file
// of its own, through ingest.ToClickHouse.
func loadClickHouse(ctx context.Context, dir string, eng *clickhouse.Engine, name string, loads []*Block) error {
	for i, l := range loads {
		var f *flowlog.Format
		var err error
		if l.Format != "" {
			if f, err = flowlog.ParseFormat(l.Format); err != nil {
				return fmt.Errorf("%s:%d: load format: %w", name, l.Line, err)
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("load%d.log", i))
		if err := os.WriteFile(p, []byte(strings.Join(l.Lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
		if _, err := ingest.ToClickHouse(ctx, eng.Store(), []string{p}, ingest.Options{Format: f}); err != nil {
			return fmt.Errorf("%s:%d: load: %w", name, l.Line, err)
		}
	}
	return nil
}

var _ engine.Engine = (*clickhouse.Engine)(nil)
