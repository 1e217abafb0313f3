package main

import (
	"context"
	"fmt"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/engine/clickhouse"
	"github.com/flowlens/flowlens/ingest"
	"github.com/flowlens/flowlens/insights/compile"
)

// The scale-out engine: `--engine clickhouse://user:pass@host:8123/db` for
// query and detect (registered by importing engine/clickhouse), with its
// Insights dialect.
func init() { insightsDialects[clickhouse.Dialect] = compile.ClickHouse }

// ingestClickHouse ingests files into the ClickHouse of spec, for
// `flowlens ingest --engine clickhouse://…` (see docs/clickhouse.md).
func ingestClickHouse(ctx context.Context, spec string, files []string, o ingest.Options) (*ingest.Result, error) {
	eng, err := engine.Open(ctx, spec, "")
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	ch, ok := eng.(*clickhouse.Engine)
	if !ok {
		return nil, fmt.Errorf("ingest: --engine %s is not a ClickHouse engine", eng.Dialect())
	}
	return ingest.ToClickHouse(ctx, ch.Store(), files, o)
}
