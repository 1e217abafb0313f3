package detect

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowlens/flowlens/engine"
	"github.com/flowlens/flowlens/lake"
)

// Watcher notices data files committed to a lake since it last looked, and
// the time range their records cover, so that a continuous run re-evaluates
// only what changed. It reads the lake's catalog (each committed file with
// its records' first and last start) and also lists the partition folders,
// so that lakes written by other tools (Athena-style layouts without a
// catalog) are followed too; a file known only from its folder covers its
// whole day.
type Watcher struct {
	dataDir string
	seen    map[string]bool
}

// NewWatcher returns a watcher that treats the files present now as seen.
func NewWatcher(dataDir string) (*Watcher, error) {
	w := &Watcher{dataDir: dataDir, seen: map[string]bool{}}
	if _, _, _, err := w.Poll(); err != nil {
		return nil, err
	}
	return w, nil
}

// Poll returns how many files were committed since the last call and the
// range [from, to) of record start times they cover (zero when none).
func (w *Watcher) Poll() (from, to time.Time, n int, err error) {
	cat, err := lake.ReadCatalog(w.dataDir)
	if err != nil {
		return from, to, 0, fmt.Errorf("follow the lake: %w", err)
	}
	extend := func(a, b time.Time) {
		if from.IsZero() || a.Before(from) {
			from = a
		}
		if b.After(to) {
			to = b
		}
	}
	known := map[string]bool{}
	for _, f := range cat.Files {
		p := filepath.ToSlash(f.Path)
		known[p] = true
		if w.seen[p] {
			continue
		}
		w.seen[p] = true
		n++
		if f.MinStart > 0 && f.MaxStart >= f.MinStart {
			extend(time.Unix(f.MinStart, 0).UTC(), time.Unix(f.MaxStart+1, 0).UTC())
		} else if d, err := time.Parse("2006-01-02", f.Day); err == nil {
			extend(d, d.Add(24*time.Hour))
		}
	}
	table := engine.LakeDir(w.dataDir)
	err = filepath.WalkDir(table, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return nil
		}
		rel, _ := filepath.Rel(table, path)
		rel = filepath.ToSlash(rel)
		if known[rel] || w.seen[rel] {
			return nil
		}
		day, ok := partitionDay(rel)
		if !ok {
			return nil
		}
		w.seen[rel] = true
		n++
		extend(day, day.Add(24*time.Hour))
		return nil
	})
	if err != nil {
		return from, to, n, fmt.Errorf("follow the lake %s: %w", table, err)
	}
	return from, to, n, nil
}

// partitionDay reads year=YYYY/month=MM/day=DD/… into the day's start.
func partitionDay(rel string) (time.Time, bool) {
	parts := strings.Split(rel, "/")
	if len(parts) < 4 {
		return time.Time{}, false
	}
	var ymd [3]string
	for i, key := range []string{"year=", "month=", "day="} {
		v, ok := strings.CutPrefix(parts[i], key)
		if !ok {
			return time.Time{}, false
		}
		ymd[i] = v
	}
	t, err := time.Parse("2006-01-02", ymd[0]+"-"+ymd[1]+"-"+ymd[2])
	return t, err == nil
}

// Follow polls the lake every interval and calls run with the range to
// re-evaluate each time new files appear: their records' range, widened by
// lookback before it so that windowed rules see the context of the new
// records. It returns when ctx ends (nil) or run fails.
func Follow(ctx context.Context, w *Watcher, interval, lookback time.Duration, run func(ctx context.Context, from, to time.Time) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		from, to, n, err := w.Poll()
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		if err := run(ctx, from.Add(-lookback), to); err != nil {
			return err
		}
	}
}

// Lookback is the widest window among rules: how far before new records a
// continuous run must look for every window that contains them.
func Lookback(rules []*Rule) time.Duration {
	var d time.Duration
	for _, r := range rules {
		if r.Enabled && r.Window.Size > d {
			d = r.Window.Size
		}
	}
	return d
}
