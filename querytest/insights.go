package querytest

import (
	"fmt"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/insights"
	"github.com/flowlens/flowlens/insights/compile"
)

// CompileInsights parses an Insights query and compiles it to SQL for dialect,
// over the columns of engine.ViewColumns, as flowlens query does. It is the
// usual Options.Insights.
func CompileInsights(query, dialect string) (string, error) {
	var d compile.Dialect
	switch dialect {
	case compile.DuckDB.Name():
		d = compile.DuckDB
	case compile.ClickHouse.Name():
		d = compile.ClickHouse
	default:
		return "", fmt.Errorf("no Insights compiler for the %s dialect", dialect)
	}
	q, err := insights.Parse(query)
	if err != nil {
		return "", err
	}
	var cols []compile.Column
	for _, c := range engine.ViewColumns() {
		cols = append(cols, compile.Column{Name: c.Name, Type: c.Type, Aliases: c.Aliases})
	}
	return compile.Compile(q, compile.NewSchema(cols), d, compile.Options{})
}
