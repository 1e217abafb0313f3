// Package ingest is the pipeline from sources to the lake: it reads each source
// (plain or gzip text, AWS Parquet objects, CloudWatch exports), parses its
// lines with flowlog on every core, groups records into per-day columnar
// batches with bounded memory, writes them as sorted Parquet files through one
// lake transaction per wave of sources, and quarantines every line it cannot
// read with its reason. It decides which sources are new, already ingested,
// grown since, or changed (and refused), from the lake's catalog.
//
// It sits between source/flowlog (below) and cmd/flowlens (above), and writes
// through lake. Main types: Options, Counts (the numbers every run prints),
// Result, Progress.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/source"
)

// Options configure an ingest. The zero value ingests with the defaults.
type Options struct {
	// Format is the record format until a header line says otherwise; nil
	// means AWS's default format.
	Format *flowlog.Format
	// Guess picks the layout of headerless lines from their number of values
	// among AWS's documented layouts (see flowlog.GuessFormat) instead of Format.
	Guess bool
	// Workers is the number of sources parsed at once (default GOMAXPROCS).
	Workers int
	// FileRows is the number of rows per data file (default lake.DefaultFileRows).
	FileRows int
	// MemoryBudget bounds the bytes of parsed records held in memory before they
	// are written (default 192 MiB, shared by the workers).
	MemoryBudget int
	// TxnBytes commits a transaction after about this many source bytes, so an
	// interrupted ingest of a large input keeps what it committed (default 1 GiB).
	TxnBytes int64
	// Write tunes the data files.
	Write lake.WriteOptions
	// Progress, when set, is told about bytes and records as they are read.
	Progress Progress
	// Wait is called when another process holds the lake (see lake.OpenOptions).
	Wait func(pid int)
	// Retain, when positive, deletes partitions older than it after the ingest.
	Retain time.Duration
	// MemoryLimit, when positive, is set as the Go runtime's soft memory limit
	// for the duration of the ingest.
	MemoryLimit int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Names maps local files given to Run to the names they are ingested
	// under: recorded in the catalog, reported and quarantined as (a
	// downloaded S3 object's s3://bucket/key). The file's modification time
	// is recorded as the object's, so the caller sets it.
	Names map[string]string
}

// Progress receives the progress of an ingest. Its methods are called from
// several goroutines.
type Progress interface {
	// Start is called once with the total size of the sources (-1 if unknown).
	Start(totalBytes int64)
	// Add reports bytes of sources and records read since the last call.
	Add(bytes, records int64)
	// Finish is called once at the end.
	Finish()
}

// Counts are the numbers every ingest prints. RecordsRead = RecordsStored +
// RecordsQuarantined + RecordsSkipped always holds.
type Counts struct {
	RecordsRead        int64   `json:"records_read"`
	RecordsStored      int64   `json:"records_stored"`
	RecordsQuarantined int64   `json:"records_quarantined"`
	RecordsSkipped     int64   `json:"records_skipped"`
	Sources            int     `json:"sources"`
	SourcesSkipped     int     `json:"sources_skipped"`
	BytesRead          int64   `json:"bytes_read"`
	Seconds            float64 `json:"seconds"`
}

// SourceNote says what happened to one source that was not simply ingested.
type SourceNote struct {
	Path   string
	Reason string
}

// Result is what an ingest did.
type Result struct {
	Counts
	// Skipped lists sources already ingested (same path and content, or the
	// same content under another path).
	Skipped []SourceNote
	// Changed lists sources refused because their content changed since they
	// were ingested (other than by growing).
	Changed []SourceNote
	// Grown lists sources read again from the line after the last one ingested.
	Grown []SourceNote
	// Reread lists sources read again from their first line: every line of
	// them had been quarantined, and the format is not the one they were
	// read with then (a wrong --format, corrected).
	Reread []SourceNote
	// Broken lists sources that stopped early or could not be read as flow
	// logs; what was read before the problem is stored, the problem itself is
	// in the quarantine. Each reason ends by saying so, in parentheses.
	Broken []SourceNote
	// Failed lists sources that could not be opened at all; they are not
	// recorded, so the next run tries them again.
	Failed []SourceNote
	// Notes are things the user should know (guessed layouts, aliases).
	Notes []string
	// Files is the number of data files written; Txns the transactions committed.
	Files, Txns int
	// Recovery is what the recovery at the start did.
	Recovery lake.Recovery
	// Retained is what retention deleted, when Options.Retain is set.
	Retained *lake.RetainReport
}

// Files ingests the named files ("-" for standard input) into data folder
// dataDir and returns the counts; it is Run without the details, for code that
// only needs the numbers (benchmarks, the demo).
func Files(ctx context.Context, dataDir string, paths []string, o Options) (Counts, error) {
	r, err := Run(ctx, dataDir, paths, o)
	if r == nil {
		return Counts{}, err
	}
	return r.Counts, err
}

// item is one source to read.
type item struct {
	path  string // as given
	abs   string // catalog key: absolute path, or "-"
	file  string // the local file to read, when it is not path (Options.Names)
	size  int64
	mtime time.Time
	// grown is set by preclaim for a source that grew since it was ingested,
	// with the hashes of its content and of its first old-size bytes.
	grown       bool
	sum, prefix string
}

// local is the file to read.
func (it item) local() string {
	if it.file != "" {
		return it.file
	}
	return it.path
}

// Run ingests the named files ("-" for standard input; callers expand folders
// and globs with source.Expand) into data folder dataDir. Sources are grouped
// into waves of about Options.TxnBytes; each wave is one transaction, so an
// interrupted run keeps the waves it committed and stores nothing twice when
// run again. A source that cannot be opened is listed in Result.Failed and
// the others are still ingested.
func Run(ctx context.Context, dataDir string, paths []string, o Options) (*Result, error) {
	began := time.Now()
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.FileRows <= 0 {
		o.FileRows = lake.DefaultFileRows
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = 192 << 20
	}
	if o.TxnBytes <= 0 {
		o.TxnBytes = 1 << 30
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MemoryLimit > 0 {
		old := debug.SetMemoryLimit(o.MemoryLimit)
		defer debug.SetMemoryLimit(old)
	}
	res := &Result{}
	items, total, err := planNamed(dataDir, paths, o.Names, res)
	if err != nil {
		return res, err
	}
	l, err := lake.Open(ctx, dataDir, lake.OpenOptions{Wait: o.Wait})
	if err != nil {
		return res, err
	}
	defer l.Close()
	res.Recovery = l.Recover
	if o.Progress != nil {
		o.Progress.Start(total)
		defer o.Progress.Finish()
	}
	claims := &claims{m: map[string]item{}}
	preclaim(l.Catalog(), items, claims)
	for len(items) > 0 {
		// One wave: sources up to TxnBytes (at least one).
		n, size := 0, int64(0)
		for n < len(items) && (n == 0 || size+items[n].size <= o.TxnBytes) {
			size += max(items[n].size, 0)
			n++
		}
		wave := items[:n]
		items = items[n:]
		if err := runWave(ctx, l, wave, o, res, claims); err != nil {
			res.Seconds = time.Since(began).Seconds()
			return res, err
		}
	}
	if o.Retain > 0 {
		rep, err := l.Retain(o.Retain, o.Now())
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.Retained = rep
	}
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

// managed are the entries flowlens keeps at the top of a data folder. Input
// elsewhere in the folder (such as the demo's generated objects) is ingested
// like any other.
var managed = []string{lake.LakeDir, lake.StagingDir, lake.QuarantineDir, lake.OrphanDir, lake.CatalogFile, "alerts", "lock", "publish.lock", source.ManifestDir}

// managedByFlowlens reports whether abs is one of the data folder's own files.
func managedByFlowlens(data, abs string) bool {
	rel, ok := strings.CutPrefix(abs, data+string(filepath.Separator))
	if !ok {
		return false
	}
	top, _, _ := strings.Cut(rel, string(filepath.Separator))
	for _, m := range managed {
		if top == m || strings.HasPrefix(top, m+".") {
			return true
		}
	}
	return false
}

// plan turns paths into items, dropping repeats and the data folder's own
// files, and recording sources that cannot be opened.
func plan(dataDir string, paths []string, res *Result) ([]item, int64, error) {
	return planNamed(dataDir, paths, nil, res)
}

// planNamed is plan with the names of Options.Names.
func planNamed(dataDir string, paths []string, names map[string]string, res *Result) ([]item, int64, error) {
	seen := map[string]bool{}
	data, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, 0, fmt.Errorf("resolve %s: %w", dataDir, err)
	}
	// The data folder's own files may be reached through symbolic links
	// (a linked input folder that holds it): compare real paths too.
	realData := data
	if r, err := filepath.EvalSymlinks(data); err == nil {
		realData = r
	}
	ours := func(abs string) bool {
		if managedByFlowlens(data, abs) || managedByFlowlens(realData, abs) {
			return true
		}
		r, err := filepath.EvalSymlinks(abs)
		return err == nil && r != abs && managedByFlowlens(realData, r)
	}
	inData := 0
	var items []item
	var total int64
	for _, p := range paths {
		it := item{path: p, abs: p, size: -1}
		if name, ok := names[p]; ok {
			it.path, it.abs, it.file = name, name, p
		}
		if p != source.Stdin {
			if it.file == "" {
				abs, err := filepath.Abs(p)
				if err != nil {
					return nil, 0, fmt.Errorf("resolve %s: %w", p, err)
				}
				it.abs = abs
				if ours(abs) {
					inData++
					continue
				}
			}
			st, err := os.Stat(p)
			if err != nil {
				res.Failed = append(res.Failed, SourceNote{it.path, err.Error()})
				continue
			}
			it.size, it.mtime = st.Size(), st.ModTime().UTC()
			total += st.Size()
		} else {
			total = -1 << 62
		}
		if seen[it.abs] {
			continue
		}
		seen[it.abs] = true
		items = append(items, it)
	}
	if total < 0 {
		total = -1
	}
	if inData > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("left out %d files inside the data folder %s (the lake's own files)", inData, dataDir))
	}
	return items, total, nil
}

// claims are the content hashes read in this run, so two copies of one object
// given together are stored once.
type claims struct {
	mu sync.Mutex
	m  map[string]item
}

func (c *claims) claim(sum string, it item) (other item, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, dup := c.m[sum]; dup && p.abs != it.abs {
		return p, false
	}
	c.m[sum] = it
	return item{}, true
}

// preclaim hashes the sources that grew since they were ingested and claims
// their content before anything is read. A copy of a grown source's new
// content given in the same run is then skipped as its copy, whichever of
// the two is read first: read whole, the copy would store again the lines
// the grown source stored before. Growth is rare, so hashing these sources
// here, one at a time, costs little; the readers use the hashes.
func preclaim(cat *lake.Catalog, items []item, cl *claims) {
	for i := range items {
		it := &items[i]
		if it.abs == source.Stdin {
			continue
		}
		prev, known := cat.SourceByPath(it.abs)
		if !known || it.size <= prev.Size {
			continue
		}
		sum, prefix, err := hashFile(it.local(), prev.Size, it.size)
		if err != nil || prefix != prev.SHA256 {
			continue // the reader reports it, or finds it changed
		}
		it.grown, it.sum, it.prefix = true, sum, prefix
		if _, dup := cat.SourceByHash(sum, it.abs); !dup {
			cl.claim(sum, *it)
		}
	}
}

// wave is the state shared by the goroutines of one transaction.
type wave struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	o      Options
	cat    *lake.Catalog
	txn    *lake.Txn
	claims *claims
	flushc chan *lake.Batch
	files  atomic.Int64

	mu      sync.Mutex
	res     *Result
	records int64
	notes   map[string]bool
	// added are the sources read in this wave, by catalog key; copies are
	// the sources skipped as copies of sources read in this run.
	added  map[string]lake.Source
	copies []pendingCopy
}

func runWave(ctx context.Context, l *lake.Lake, items []item, o Options, res *Result, cl *claims) (err error) {
	// A wave that does not commit stores nothing: what it added to res is
	// taken back, so the counts printed after an interruption are the
	// committed ones.
	before := res.mark()
	defer func() {
		if err != nil {
			res.undo(before)
		}
	}()
	txn, err := l.Begin("ingest")
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &wave{ctx: wctx, cancel: cancel, o: o, cat: l.Catalog(), txn: txn, claims: cl, flushc: make(chan *lake.Batch), res: res, notes: map[string]bool{}, added: map[string]lake.Source{}}
	for _, n := range res.Notes {
		w.notes[n] = true
	}

	// Writers: sort and encode batches into staged files.
	var fwg sync.WaitGroup
	for range max(1, o.Workers) {
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			for b := range w.flushc {
				if wctx.Err() != nil {
					continue
				}
				_, err := txn.WriteBatch(b, o.Write)
				b.Release()
				if err != nil {
					cancel(err)
					continue
				}
				w.files.Add(1)
			}
		}()
	}

	// Readers: parse sources into per-day batches.
	jobs := make(chan item)
	var wg sync.WaitGroup
	readers := make([]*reader, min(o.Workers, len(items)))
	for i := range readers {
		rd := &reader{w: w, batches: map[lake.Day]*lake.Batch{}, budget: o.MemoryBudget / (2 * len(readers))}
		readers[i] = rd
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				if wctx.Err() != nil {
					continue
				}
				if err := rd.ingest(it); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for _, it := range items {
		select {
		case jobs <- it:
		case <-wctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if wctx.Err() == nil {
		w.recordCopies()
	}

	// What the readers still hold: merge each day's small remainders so the
	// last files of a wave are not tiny (copying large ones costs more than
	// the extra file).
	if wctx.Err() == nil {
		byDay := map[lake.Day][]*lake.Batch{}
		for _, rd := range readers {
			if err := rd.flushQuarantine(); err != nil {
				cancel(err)
			}
			for d, b := range rd.batches {
				byDay[d] = append(byDay[d], b)
			}
		}
		days := make([]lake.Day, 0, len(byDay))
		for d := range byDay {
			days = append(days, d)
		}
		sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
		for _, d := range days {
			bs := byDay[d]
			sort.Slice(bs, func(i, j int) bool { return bs[i].Len() > bs[j].Len() })
			acc := bs[0]
			for _, b := range bs[1:] {
				if acc.Len()+b.Len() <= o.FileRows && b.Len() <= mergeRows {
					acc.AppendBatch(b)
					b.Release()
					continue
				}
				w.flush(acc)
				acc = b
			}
			w.flush(acc)
		}
	}
	close(w.flushc)
	fwg.Wait()
	if err := context.Cause(wctx); err != nil {
		txn.Abort()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return fmt.Errorf("ingest interrupted: %w (nothing of the current wave was stored)", ctx.Err())
		}
		return err
	}
	if txn.Empty() {
		// Every source was skipped: nothing to commit.
		return txn.Abort()
	}
	if err := txn.Commit(w.records); err != nil {
		return err
	}
	res.Files += int(w.files.Load())
	res.Txns++
	slog.Debug("ingest transaction committed", "txn", txn.ID, "sources", len(items), "files", w.files.Load(), "records", w.records)
	return nil
}

// resultMark is what a Result held at the start of a wave.
type resultMark struct {
	counts                                          Counts
	skipped, changed, grown, reread, broken, failed int
}

func (r *Result) mark() resultMark {
	return resultMark{r.Counts, len(r.Skipped), len(r.Changed), len(r.Grown), len(r.Reread), len(r.Broken), len(r.Failed)}
}

// undo takes back what was added to r since m.
func (r *Result) undo(m resultMark) {
	r.Counts = m.counts
	r.Skipped, r.Changed, r.Grown, r.Reread = r.Skipped[:m.skipped], r.Changed[:m.changed], r.Grown[:m.grown], r.Reread[:m.reread]
	r.Broken, r.Failed = r.Broken[:m.broken], r.Failed[:m.failed]
}

// mergeRows is the largest remainder merged into another at the end of a wave.
const mergeRows = 128 << 10

// flush hands a batch to the writers.
func (w *wave) flush(b *lake.Batch) {
	if b == nil || b.Len() == 0 {
		return
	}
	select {
	case w.flushc <- b:
	case <-w.ctx.Done():
	}
}

func (w *wave) note(n string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.notes[n] {
		w.notes[n] = true
		w.res.Notes = append(w.res.Notes, n)
	}
}

// reader parses sources for one wave, one at a time.
type reader struct {
	w       *wave
	batches map[lake.Day]*lake.Batch
	budget  int
	qbuf    []byte
	qn      int64
}

// sourceCounts is what one source contributed.
type sourceCounts struct {
	stored, quarantined, bytes int64
}

// ingest reads one source.
func (rd *reader) ingest(it item) error {
	w := rd.w
	var from resume
	var grown *lake.Source
	var src lake.Source
	format := w.o.formatKey()
	if it.abs != source.Stdin {
		prev, known := w.cat.SourceByPath(it.abs)
		if known && prev.Rereadable(format) {
			// Nothing that it read itself is in the lake, so reading it
			// again cannot store a record twice.
			sum, _, err := hashFile(it.local(), -1, it.size)
			if err != nil {
				rd.failed(it, err)
				return nil
			}
			if other, ok := w.claims.claim(sum, it); !ok {
				rd.copyInRun(it, sum, other)
				return nil
			}
			was := prev.Format
			if was == "" {
				was = "a format this catalog did not record"
			}
			lines, tailBytes, tailStored := prev.RereadFrom()
			note := fmt.Sprintf("read again from its first line: all %d of its lines were quarantined when it was read with %s", prev.Quarantined, was)
			if prev.Shared != nil {
				// A copy: its first lines are its original's, never its own.
				note = fmt.Sprintf("read again from line %d, after the %d lines it shares with %s: all %d of its own lines were quarantined when it was read with %s",
					lines+1, lines, prev.DuplicateOf, prev.Quarantined, was)
				src.DuplicateOf, src.Shared, src.Records = prev.DuplicateOf, prev.Shared, prev.Shared.Records
			}
			w.mu.Lock()
			w.res.Reread = append(w.res.Reread, SourceNote{it.path, note})
			w.res.RecordsSkipped += src.Records
			w.mu.Unlock()
			src.SHA256, src.Whole = sum, true
			return rd.readSource(it, src, format, resume{lines: lines, tailBytes: tailBytes, tailStored: tailStored}, nil)
		}
		if known && prev.Size == it.size && prev.ModTime.Equal(it.mtime) {
			rd.skip(it, prev, w.alreadyIngested(prev, format, "already ingested"))
			return nil
		}
		var prefixSize int64 = -1
		if known && it.size > prev.Size {
			prefixSize = prev.Size
		}
		sum, prefix, err := it.sum, it.prefix, error(nil)
		if !it.grown {
			sum, prefix, err = hashFile(it.local(), prefixSize, it.size)
		}
		if err != nil {
			rd.failed(it, err)
			return nil
		}
		switch {
		case known && sum == prev.SHA256:
			rd.skip(it, prev, w.alreadyIngested(prev, format, "already ingested (same content, new modification time)"))
			return nil
		case known && prefix == prev.SHA256:
			// Grown: to the content of another source (a copy grown as its
			// original did, or the other way round), whose lines are all
			// in the lake already, or with lines of its own.
			if other, dup := w.cat.SourceByHash(sum, it.abs); dup {
				rd.copyOf(it, sum, other, fmt.Sprintf("grew from %d to %d bytes, to the same content as %s, already ingested", prev.Size, it.size, other.Path))
				return nil
			}
			if other, ok := w.claims.claim(sum, it); !ok {
				rd.copyInRun(it, sum, other)
				return nil
			}
			from = resume{lines: prev.Lines, tailBytes: prev.TailBytes, tailStored: prev.TailStored}
			grown = &prev
			w.mu.Lock()
			w.res.RecordsSkipped += prev.Records
			w.mu.Unlock()
		case known:
			w.mu.Lock()
			w.res.Changed = append(w.res.Changed, SourceNote{it.path, fmt.Sprintf("changed since it was ingested (%d bytes then, %d now, different content): refused, because AWS never rewrites a delivered object; its %d records from then stay in the lake", prev.Size, it.size, prev.Records)})
			w.res.SourcesSkipped++
			w.mu.Unlock()
			return nil
		default:
			if other, dup := w.cat.SourceByHash(sum, it.abs); dup {
				rd.copyOf(it, sum, other, "already ingested as "+other.Path)
				return nil
			}
			if other, ok := w.claims.claim(sum, it); !ok {
				rd.copyInRun(it, sum, other)
				return nil
			}
		}
		src.SHA256 = sum
	}
	return rd.readSource(it, src, format, from, grown)
}

// alreadyIngested is the reason a source is skipped as already ingested;
// for a copy it names the original, and says how to read the original again
// when every line of it was quarantined and this ingest has another format.
func (w *wave) alreadyIngested(prev lake.Source, format, why string) string {
	if prev.DuplicateOf == "" {
		return why
	}
	why += ", as a copy of " + prev.DuplicateOf
	if o, ok := w.cat.SourceByPath(prev.DuplicateOf); ok && o.Rereadable(format) {
		why += fmt.Sprintf(" (every line of which was quarantined: ingest %s to read it again with this format)", prev.DuplicateOf)
	}
	return why
}

// copyOf records source it, whose content (hash sum) is that of other,
// already ingested, under its own path as a copy of other, and skips it.
func (rd *reader) copyOf(it item, sum string, other lake.Source, why string) {
	rd.w.txn.AddSource(lake.CopyOf(other, it.abs, it.size, it.mtime, sum, rd.w.o.formatKey()))
	rd.skip(it, other, why)
}

// copyInRun skips source it, whose content (hash sum) is that of other, read
// in this run, and records it as other's copy when the wave ends (when
// other's lines are known).
func (rd *reader) copyInRun(it item, sum string, other item) {
	w := rd.w
	w.mu.Lock()
	w.copies = append(w.copies, pendingCopy{it: it, sum: sum, original: other.abs})
	w.mu.Unlock()
	rd.skip(it, lake.Source{}, "same content as "+other.path+", read in this run")
}

// pendingCopy is a source skipped as a copy of another read in the same run.
type pendingCopy struct {
	it       item
	sum      string
	original string // the catalog key of the source read
}

// recordCopies adds the copies met in the wave to its transaction, as copies
// of the sources they repeat, read in this wave or an earlier one. A copy
// whose original was not recorded (it could not be opened) is not recorded
// either: the next run reads it.
func (w *wave) recordCopies() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.copies {
		o, ok := w.added[p.original]
		if ok && !o.Whole {
			// Grown in this wave: the catalog entry will cover the lines
			// read before too.
			if old, known := w.cat.SourceByPath(o.Path); known {
				o.Records += old.Records
			}
		}
		if !ok {
			o, ok = w.cat.SourceByPath(p.original)
		}
		if !ok || o.SHA256 != p.sum {
			continue
		}
		w.txn.AddSource(lake.CopyOf(o, p.it.abs, p.it.size, p.it.mtime, p.sum, w.o.formatKey()))
		w.res.RecordsSkipped += o.Records
		w.res.RecordsRead = w.res.RecordsStored + w.res.RecordsQuarantined + w.res.RecordsSkipped
	}
}

// readSource reads source it from from (its first line when zero) and adds
// src, completed with what it gave, to the wave's transaction. grown is the
// catalog's entry of a source that has grown, nil for others.
func (rd *reader) readSource(it item, src lake.Source, format string, from resume, grown *lake.Source) error {
	w := rd.w
	src.Path, src.Size, src.ModTime, src.Format = it.abs, it.size, it.mtime, format
	c, lines, srcErr, err := rd.read(it, &from)
	if err != nil {
		return err
	}
	if grown != nil {
		note := fmt.Sprintf("grew from %d to %d bytes since it was ingested: reading from line %d", grown.Size, it.size, grown.Lines+1)
		switch {
		case from.cut && from.tailStored:
			note += fmt.Sprintf("; line %d had been cut short and its first part stored (the complete line is quarantined)", grown.Lines)
		case from.cut:
			note = fmt.Sprintf("grew from %d to %d bytes since it was ingested: reading from line %d, which had been cut short", grown.Size, it.size, grown.Lines)
		}
		w.mu.Lock()
		w.res.Grown = append(w.res.Grown, SourceNote{it.path, note})
		w.mu.Unlock()
	}
	src.Lines = lines
	src.TailBytes, src.TailStored = from.newTailBytes, from.newTailStored
	src.Records += c.stored + c.quarantined // a copy's shared records are counted already
	src.Stored = c.stored
	src.Quarantined = c.quarantined
	if srcErr != nil {
		src.Error = srcErr.Error()
	}
	w.txn.AddSource(src)
	w.mu.Lock()
	w.added[src.Path] = src
	w.res.Sources++
	w.res.RecordsStored += c.stored
	w.res.RecordsQuarantined += c.quarantined
	w.res.BytesRead += c.bytes
	w.res.RecordsRead = w.res.RecordsStored + w.res.RecordsQuarantined + w.res.RecordsSkipped
	w.records += c.stored
	if srcErr != nil {
		why := " (quarantined; nothing of it is stored)"
		switch {
		case lines == 1:
			why = " (quarantined; the line before it is read)"
		case lines > 1:
			why = fmt.Sprintf(" (quarantined; the %d lines before it are read)", lines)
		}
		w.res.Broken = append(w.res.Broken, SourceNote{it.path, srcErr.Error() + why})
	}
	if srcErr == nil && c.stored == 0 && c.quarantined > 1 {
		w.res.Notes = append(w.res.Notes, fmt.Sprintf("every line of %s was quarantined: if its lines have another layout, "+
			"give it with --format (an ingest with another --format reads the file again)", it.path))
	}
	w.mu.Unlock()
	return nil
}

func (rd *reader) skip(it item, prev lake.Source, why string) {
	w := rd.w
	slog.Debug("source skipped", "path", it.path, "reason", why)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.SourcesSkipped++
	w.res.RecordsSkipped += prev.Records
	w.res.RecordsRead = w.res.RecordsStored + w.res.RecordsQuarantined + w.res.RecordsSkipped
	w.res.Skipped = append(w.res.Skipped, SourceNote{it.path, why})
	if w.o.Progress != nil && it.size > 0 {
		w.o.Progress.Add(it.size, 0)
	}
}

func (rd *reader) failed(it item, err error) {
	w := rd.w
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Failed = append(w.res.Failed, SourceNote{it.path, err.Error()})
	if w.o.Progress != nil && it.size > 0 {
		w.o.Progress.Add(it.size, 0)
	}
}

// hashFile returns the SHA-256 of the first size bytes of the file (its size
// when it was listed: a writer may be appending to it) and of its first
// prefix bytes (when prefix ≥ 0).
func hashFile(path string, prefix, size int64) (sum, prefixSum string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	h := sha256.New()
	if prefix >= 0 {
		if _, err := io.CopyN(h, f, prefix); err != nil {
			return "", "", fmt.Errorf("hash %s: %w", path, err)
		}
		prefixSum = hex.EncodeToString(h.Sum(nil))
	}
	if _, err := io.CopyN(h, f, size-max(prefix, 0)); err != nil {
		if err == io.EOF {
			err = fmt.Errorf("it shrank to fewer than the %d bytes it had when it was listed", size)
		}
		return "", "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), prefixSum, nil
}

// s3Day finds the day of an S3 flow-log object from its key: the
// …/YYYY/MM/DD/ folders, else the _YYYYMMDDTHHMMZ_ stamp in its name.
var (
	s3DayDirs  = regexp.MustCompile(`(?:^|/)(\d{4})/(\d{2})/(\d{2})/[^/]*$`)
	s3DayStamp = regexp.MustCompile(`_(\d{4})(\d{2})(\d{2})T\d{4}Z[_.]`)
)

// fallbackDay is the partition of records without a start: the day in the
// object's S3 key, else the file's modification day, else today (UTC).
func fallbackDay(it item, now time.Time) lake.Day {
	p := filepath.ToSlash(it.abs)
	for _, re := range []*regexp.Regexp{s3DayDirs, s3DayStamp} {
		if m := re.FindStringSubmatch(p); m != nil {
			if t, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3]); err == nil {
				return lake.DayOf(t.Unix())
			}
		}
	}
	if !it.mtime.IsZero() {
		return lake.DayOf(it.mtime.Unix())
	}
	return lake.DayOf(now.Unix())
}

// resume says where the earlier ingest of a grown source stopped, and what
// read found about its last line.
type resume struct {
	// lines is the number of lines read then; when the last of them had no
	// line ending, tailBytes is its length and tailStored whether it was
	// stored as a record.
	lines      int64
	tailBytes  int64
	tailStored bool
	// cut is set by read when that last line has grown since: it had been
	// cut short.
	cut bool
	// newTailBytes and newTailStored describe the source's last line now,
	// when it has no line ending.
	newTailBytes  int64
	newTailStored bool
}

// read parses one source into the reader's batches, skipping the lines that
// an earlier ingest read (from.lines), except a last line of then that has
// grown since. srcErr is a problem of the source (it stopped early or is not
// flow-log text), recorded in the quarantine; err stops the ingest.
func (rd *reader) read(it item, from *resume) (c sourceCounts, lines int64, srcErr, err error) {
	w := rd.w
	f, oerr := source.OpenAs(it.local(), it.path, it.size)
	if oerr != nil {
		// A file that vanished or cannot be read is not recorded; one that
		// is not a readable Parquet or gzip object is quarantined.
		if _, serr := os.Stat(it.local()); serr != nil || errors.Is(oerr, os.ErrPermission) {
			rd.failed(it, oerr)
			return c, 0, nil, nil
		}
		c.quarantined++
		return c, 0, oerr, rd.quarantine(it.abs, 0, nil, oerr.Error())
	}
	defer f.Close()
	var lastBytes int64
	report := func(records int64) {
		n := f.RawBytes()
		if w.o.Progress != nil {
			w.o.Progress.Add(n-lastBytes, records)
		}
		c.bytes += n - lastBytes
		lastBytes = n
	}
	defer func() { report(0) }()

	var in io.Reader = f
	if f.Kind == source.Text || f.Kind == source.GzipText {
		br := bufio.NewReaderSize(f, 64<<10)
		if why := binaryContent(br); why != "" {
			c.quarantined++
			e := fmt.Errorf("%s: not flow-log text", why)
			return c, 0, e, rd.quarantine(it.abs, 0, nil, e.Error())
		}
		in = br
	}
	fallback := fallbackDay(it, w.o.Now())
	sc := flowlog.NewScanner(in, flowlog.ScanOptions{Format: w.o.Format, Guess: w.o.Guess})
	defer func() {
		for _, n := range sc.Notes() {
			w.note(fmt.Sprintf("%s: %s", it.path, n))
		}
	}()
	var pending int64
	for k := 0; ; k++ {
		rec, serr := sc.Next()
		line := int64(sc.Line())
		var le *flowlog.LineError
		if line <= from.lines && (serr == nil || errors.As(serr, &le)) {
			if line < from.lines || from.tailBytes == 0 || int64(len(sc.Raw())) == from.tailBytes {
				continue // read before
			}
			// The last line read before had no line ending, and it has grown:
			// it was cut short then.
			from.cut = true
			if from.tailStored {
				c.quarantined++
				pending++
				if err := rd.quarantine(it.abs, line, sc.Raw(), fmt.Sprintf("line %d was stored before it was complete, from its first %d bytes: the complete line is not stored again", line, from.tailBytes)); err != nil {
					return c, line, nil, err
				}
				continue
			}
		}
		if sc.Partial() && (serr == nil || errors.As(serr, &le)) {
			from.newTailBytes, from.newTailStored = int64(len(sc.Raw())), serr == nil
		}
		switch {
		case serr == nil:
			day := fallback
			if s, ok := rec.Int(flowlog.Start); ok {
				day = lake.DayOf(s)
			}
			b := rd.batches[day]
			if b == nil {
				b = lake.NewBatch(day, 1<<16)
				rd.batches[day] = b
			}
			b.Append(rec, sc.Format())
			c.stored++
			pending++
			if b.Len() >= w.o.FileRows {
				delete(rd.batches, day)
				w.flush(b)
			}
		case errors.As(serr, &le):
			c.quarantined++
			pending++
			if err := rd.quarantine(it.abs, line, le.Raw, le.Err.Error()); err != nil {
				return c, line, nil, err
			}
		case serr == io.EOF:
			report(pending)
			return c, line - 1, nil, nil
		default:
			// The stream broke (truncated or corrupt gzip, read error): what
			// came before is kept, the break is quarantined.
			report(pending)
			c.quarantined++
			e := fmt.Errorf("line %d: %w", line, serr)
			return c, line - 1, e, rd.quarantine(it.abs, line, nil, serr.Error())
		}
		if k&4095 == 4095 {
			report(pending)
			pending = 0
			if w.ctx.Err() != nil {
				return c, line, nil, context.Cause(w.ctx)
			}
			rd.limitMemory()
		}
	}
}

// limitMemory flushes the reader's largest batch while its batches hold more
// than its share of the memory budget.
func (rd *reader) limitMemory() {
	for {
		total, big := 0, lake.Day(0)
		bigMem := -1
		for d, b := range rd.batches {
			m := b.MemBytes()
			total += m
			if m > bigMem {
				big, bigMem = d, m
			}
		}
		if total <= rd.budget || bigMem < 0 {
			return
		}
		b := rd.batches[big]
		delete(rd.batches, big)
		rd.w.flush(b)
	}
}

// binaryContent reports why the start of br is not text ("" when it is). Only
// the first line decides: other files (compressed, images, archives, UTF-16)
// show bytes that are not text at once, while a stray bad byte further on in
// a text file is the parser's to report, with its line, so that the file's
// other records are still stored.
func binaryContent(br *bufio.Reader) string {
	head, _ := br.Peek(8 << 10)
	if len(head) == 0 {
		return ""
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return fmt.Sprintf("binary content (a NUL byte at offset %d)", i)
	}
	if utf8.Valid(head) {
		return ""
	}
	// Allow a rune cut by the end of the peeked bytes.
	if len(head) == 8<<10 {
		for i := 1; i < utf8.UTFMax; i++ {
			if utf8.Valid(head[:len(head)-i]) {
				return ""
			}
		}
	}
	return "binary content (not UTF-8 text)"
}

// quarantine records one bad line (line 0: the whole source).
func (rd *reader) quarantine(path string, line int64, raw []byte, reason string) error {
	q := lake.QuarantineLine{Source: path, Line: line, Reason: reason, Txn: rd.w.txn.ID, Time: rd.w.o.Now().UTC()}
	if utf8.Valid(raw) {
		q.Raw = string(raw)
	} else {
		q.RawBase64 = base64.StdEncoding.EncodeToString(raw)
	}
	b, err := json.Marshal(q)
	if err != nil {
		return fmt.Errorf("encode quarantine entry: %w", err)
	}
	rd.qbuf = append(append(rd.qbuf, b...), '\n')
	rd.qn++
	if len(rd.qbuf) > 64<<10 {
		return rd.flushQuarantine()
	}
	return nil
}

func (rd *reader) flushQuarantine() error {
	if rd.qn == 0 {
		return nil
	}
	err := rd.w.txn.Quarantine(rd.qbuf, rd.qn)
	rd.qbuf, rd.qn = rd.qbuf[:0], 0
	return err
}

// formatKey names the format headerless lines are read with, as the catalog
// records it for each source.
func (o Options) formatKey() string {
	switch {
	case o.Guess:
		return "auto"
	case o.Format != nil:
		return o.Format.String()
	}
	return flowlog.Default().String()
}
