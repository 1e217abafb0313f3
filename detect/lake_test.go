package detect

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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

// TestMakeGenLake writes a generated lake for exploration when
// FLOWLENS_GENLAKE names a folder.
func TestMakeGenLake(t *testing.T) {
	dir := os.Getenv("FLOWLENS_GENLAKE")
	if dir == "" {
		t.Skip("set FLOWLENS_GENLAKE=DIR to write a generated lake there")
	}
	cfg := gen.Config{Seed: 1, Start: gen.DefaultStart, Hours: 24}
	if n, err := strconv.ParseInt(os.Getenv("FLOWLENS_GENRECORDS"), 10, 64); err == nil {
		cfg.Records = n
	}
	sum := genLake(t, dir, cfg)
	f, err := os.Create(filepath.Join(dir, "truth.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gen.WriteTruth(f, sum.Truth); err != nil {
		t.Fatal(err)
	}
	tl, _ := os.Create(filepath.Join(dir, "threats.txt"))
	defer tl.Close()
	if err := gen.WriteThreatList(tl, cfg); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records %s", sum.Records, time.Duration(0))
}
