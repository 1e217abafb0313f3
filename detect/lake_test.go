package detect

import (
	"context"
	"testing"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/gen"
	"github.com/flowlens/flowlens/querytest"
)

// genLake generates data with gen and writes it as a lake under dataDir.
func genLake(t testing.TB, dataDir string, cfg gen.Config) gen.Summary {
	t.Helper()
	ctx := context.Background()
	w, err := querytest.NewLakeWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	format := cfg.Format
	if format == nil {
		format, err = gen.VersionFormat(5) // gen's default
		if err != nil {
			t.Fatal(err)
		}
	}
	sum, err := gen.Stream(ctx, cfg, func(r *flowlog.Record) error { return w.Add(r, format) })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTo(ctx, engine.LakeDir(dataDir)); err != nil {
		t.Fatal(err)
	}
	return sum
}
