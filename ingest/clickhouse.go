package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flowlens/engine/clickhouse"
	"github.com/flowlens/flowlens/flowlog"
	"github.com/flowlens/flowlens/lake"
	"github.com/flowlens/flowlens/source"
)

// chInsertBytes is the size of one insert into ClickHouse: large inserts
// are what MergeTree wants (each one makes a part per day it touches).
const chInsertBytes = 16 << 20

// ToClickHouse ingests the named files (folders and globs expanded by the
// caller) into the ClickHouse database of st, with the same parsing,
// quarantine and counts as Run: read = stored + quarantined + already
// ingested. See clickhouse.Store for why a re-run, or a run after a kill,
// never stores a record twice. Standard input is refused: a stream has no
// identity to recognise it by when it comes again.
//
// Options used: Format, Guess, Workers, Progress and Now.
func ToClickHouse(ctx context.Context, st *clickhouse.Store, paths []string, o Options) (*Result, error) {
	began := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	res := &Result{}
	run, err := st.StartRun(ctx)
	if err != nil {
		return nil, err
	}
	defer run.Stop()
	rec, err := st.Recover(ctx)
	if err != nil {
		return nil, err
	}
	if len(rec.Batches) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("deleted %d rows of %d ingests that were stopped before they finished", rec.Rows, len(rec.Batches)))
	}
	known, err := st.Sources(ctx)
	if err != nil {
		return nil, err
	}
	byHash := map[string]clickhouse.Source{}
	byPath := map[string]clickhouse.Source{}
	for _, s := range known {
		byHash[s.Hash] = s
		byPath[s.Path] = s
	}

	type job struct {
		path, abs string
		size      int64
		mtime     time.Time
		hash      string
	}
	var jobs []job
	var total int64
	seen := map[string]string{}
	for _, p := range paths {
		if p == "-" {
			return nil, errors.New("ingest into clickhouse: standard input cannot be ingested: save it to a file, whose content hash tells a re-run that it is ingested already")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("ingest %s: %w", p, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			res.Failed = append(res.Failed, SourceNote{Path: p, Reason: err.Error()})
			continue
		}
		sum, _, err := hashFile(abs, -1, fi.Size())
		if err != nil {
			res.Failed = append(res.Failed, SourceNote{Path: p, Reason: err.Error()})
			continue
		}
		res.Sources++
		if prev, ok := byHash[sum]; ok {
			why := "already ingested"
			if prev.Path != abs {
				why = "the same content was ingested as " + prev.Path
			}
			res.Skipped = append(res.Skipped, SourceNote{Path: p, Reason: why})
			res.SourcesSkipped++
			res.RecordsSkipped += prev.Stored + prev.Quarantined
			continue
		}
		if prev, ok := byPath[abs]; ok {
			// Reading it again would store its old lines a second time.
			why := fmt.Sprintf("changed since it was ingested (%d bytes then, %d now, different content): refused, because AWS never rewrites a delivered object; its %d records from then stay in ClickHouse", prev.Size, fi.Size(), prev.Stored)
			if fi.Size() > prev.Size {
				why = fmt.Sprintf("grew since it was ingested (%d bytes then, %d now): refused, since ClickHouse ingest reads whole files and its %d records from then would be stored twice; ingest the new lines as a file of their own", prev.Size, fi.Size(), prev.Stored)
			}
			res.Changed = append(res.Changed, SourceNote{Path: p, Reason: why})
			continue
		}
		if other, ok := seen[sum]; ok {
			res.Skipped = append(res.Skipped, SourceNote{Path: p, Reason: "the same content as " + other + ", in this ingest"})
			res.SourcesSkipped++
			// Its records are counted once the first copy is read.
			res.Notes = append(res.Notes, fmt.Sprintf("%s: not read, being a copy of %s", p, other))
			continue
		}
		seen[sum] = p
		jobs = append(jobs, job{path: p, abs: abs, size: fi.Size(), mtime: fi.ModTime(), hash: sum})
		total += fi.Size()
	}
	if o.Progress != nil {
		o.Progress.Start(total)
		defer o.Progress.Finish()
	}

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan job)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(path string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			if path != "" {
				err = fmt.Errorf("ingest %s: %w", path, err)
			}
			firstErr = err
			cancel()
		}
	}
	w := &chWriter{st: st, done: func(ps []chPending) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ps {
			res.RecordsStored += p.src.Stored
			res.RecordsQuarantined += p.src.Quarantined
			res.BytesRead += p.src.Size
			if p.broken != "" {
				res.Broken = append(res.Broken, SourceNote{Path: p.path, Reason: p.broken})
			}
			for _, n := range p.notes {
				if !slices.Contains(res.Notes, n) {
					res.Notes = append(res.Notes, n)
				}
			}
		}
	}}
	for range min(workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				src := clickhouse.Source{Batch: run.NewBatchID(), Path: j.abs, Size: j.size, Hash: j.hash,
					Format: o.formatKey(), Ingested: o.Now()}
				buf, c, err := chReadSource(ctx, st, j.abs, j.size, fallbackDayOf(j.abs, j.mtime, o.Now()), src.Batch, o)
				if err == nil {
					src.Lines, src.Stored, src.Quarantined = c.lines, c.stored, c.quarantined
					err = w.add(ctx, buf, chPending{src: src, path: j.path, broken: c.broken, notes: c.notes})
				}
				if err != nil {
					fail(j.path, err)
				}
			}
		}()
	}
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		if err := w.flush(ctx); err != nil {
			fail("", err)
		}
	}
	res.RecordsRead = res.RecordsStored + res.RecordsQuarantined + res.RecordsSkipped
	res.Seconds = time.Since(began).Seconds()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	return res, firstErr
}

// fallbackDayOf is fallbackDay for a local file.
func fallbackDayOf(abs string, mtime, now time.Time) lake.Day {
	return fallbackDay(item{abs: abs, mtime: mtime}, now)
}

type chCounts struct {
	lines, stored, quarantined int64
	broken                     string
	notes                      []string // the scanner's (guessed layouts, aliases)
}

// chReadSource parses one source into rows of batch, inserting them as its
// buffer fills; bad lines go to flow_quarantine. It returns what it has not
// inserted, for chWriter.

// chBuffers are TabSeparated rows of flow_logs and flow_quarantine.
type chBuffers struct{ rows, quar []byte }

// chPending is a source whose rows are all inserted or in chWriter's buffers.
type chPending struct {
	src    clickhouse.Source
	path   string // as given
	broken string
	notes  []string
}

// chWriter gathers the last rows of sources into large inserts, and records
// the sources once their rows are in.
type chWriter struct {
	st   *clickhouse.Store
	done func([]chPending) // called with the sources recorded

	mu      sync.Mutex // guards buf and pending
	buf     chBuffers
	pending []chPending
	ins     sync.Mutex // one flush at a time, so that a source is recorded after its rows
}

// add takes a source's last rows and flushes when the buffers are full.
func (w *chWriter) add(ctx context.Context, b chBuffers, p chPending) error {
	w.mu.Lock()
	w.buf.rows = append(w.buf.rows, b.rows...)
	w.buf.quar = append(w.buf.quar, b.quar...)
	w.pending = append(w.pending, p)
	full := len(w.buf.rows)+len(w.buf.quar) >= chInsertBytes
	w.mu.Unlock()
	if full {
		return w.flush(ctx)
	}
	return nil
}

// flush inserts the buffered rows, then records their sources.
func (w *chWriter) flush(ctx context.Context) error {
	w.ins.Lock()
	defer w.ins.Unlock()
	w.mu.Lock()
	b, pending := w.buf, w.pending
	w.buf, w.pending = chBuffers{}, nil
	w.mu.Unlock()
	if len(b.rows) > 0 {
		if err := w.st.InsertRows(ctx, b.rows); err != nil {
			return err
		}
	}
	if len(b.quar) > 0 {
		if err := w.st.InsertQuarantine(ctx, b.quar); err != nil {
			return err
		}
	}
	srcs := make([]clickhouse.Source, len(pending))
	for i, p := range pending {
		srcs[i] = p.src
	}
	if err := w.st.Record(ctx, srcs...); err != nil {
		return fmt.Errorf("record %d ingested sources: %w", len(srcs), err)
	}
	w.done(pending)
	return nil
}
func chReadSource(ctx context.Context, st *clickhouse.Store, abs string, size int64, fallback lake.Day, batch string, o Options) (buf chBuffers, c chCounts, err error) {
	var rows, quar []byte
	var qn int64
	defer func() { buf = chBuffers{rows: rows, quar: quar} }()
	now := o.Now().UTC().Format("2006-01-02 15:04:05")
	quarantine := func(line int64, raw []byte, reason string) {
		c.quarantined++
		qn++
		quar = append(append(quar, batch...), '\t')
		quar = clickhouse.AppendEscaped(quar, abs)
		quar = append(quar, '\t')
		quar = strconv.AppendInt(quar, line, 10)
		quar = append(quar, '\t')
		quar = clickhouse.AppendEscaped(quar, reason)
		quar = append(quar, '\t')
		quar = clickhouse.AppendEscaped(quar, strings.ToValidUTF8(string(raw), "\uFFFD"))
		quar = append(quar, '\t')
		quar = append(quar, now...)
		quar = append(quar, '\n')
	}
	flush := func(force bool) error {
		if len(rows) > 0 && (force || len(rows) >= chInsertBytes) {
			if err := st.InsertRows(ctx, rows); err != nil {
				return err
			}
			rows = rows[:0]
		}
		if len(quar) > 0 && (force || len(quar) >= chInsertBytes) {
			if err := st.InsertQuarantine(ctx, quar); err != nil {
				return err
			}
			quar = quar[:0]
		}
		return nil
	}

	f, oerr := source.OpenSize(abs, size)
	if oerr != nil {
		quarantine(0, nil, oerr.Error())
		c.broken = oerr.Error() + " (quarantined)"
		return buf, c, nil
	}
	defer f.Close()
	var lastBytes int64
	report := func(records int64) {
		if o.Progress != nil {
			n := f.RawBytes()
			o.Progress.Add(n-lastBytes, records)
			lastBytes = n
		}
	}
	var in io.Reader = f
	if f.Kind == source.Text || f.Kind == source.GzipText {
		br := bufio.NewReaderSize(f, 64<<10)
		if why := binaryContent(br); why != "" {
			e := fmt.Sprintf("%s: not flow-log text", why)
			quarantine(0, nil, e)
			c.broken = e + " (quarantined)"
			return buf, c, nil
		}
		in = br
	}
	sc := flowlog.NewScanner(in, flowlog.ScanOptions{Format: o.Format, Guess: o.Guess})
	defer func() {
		for _, n := range sc.Notes() {
			c.notes = append(c.notes, fmt.Sprintf("%s: %s", abs, n))
		}
	}()
	fields := flowlog.Fields()
	var pending int64
	for k := 0; ; k++ {
		rec, serr := sc.Next()
		line := int64(sc.Line())
		var le *flowlog.LineError
		switch {
		case serr == nil:
			rows = appendCHRow(rows, rec, sc.Format(), fields, fallback, batch)
			c.stored++
			pending++
		case errors.As(serr, &le):
			quarantine(line, le.Raw, le.Err.Error())
			pending++
		case serr == io.EOF:
			report(pending)
			c.lines = line - 1
			return buf, c, nil
		default:
			report(pending)
			quarantine(line, nil, serr.Error())
			c.lines = line - 1
			c.broken = fmt.Sprintf("line %d: %v (what came before is stored, the break is quarantined)", line, serr)
			return buf, c, nil
		}
		if k&4095 == 4095 {
			report(pending)
			pending = 0
			if err := ctx.Err(); err != nil {
				return buf, c, context.Cause(ctx)
			}
			if err := flush(false); err != nil {
				return buf, c, err
			}
		}
	}
}

// appendCHRow appends record r as a TabSeparated row of flow_logs in the
// order of clickhouse.Columns: the registry fields, extra, date, _batch.
func appendCHRow(b []byte, r *flowlog.Record, f *flowlog.Format, fields []flowlog.Field, fallback lake.Day, batch string) []byte {
	for i := range fields {
		id := fields[i].ID
		if i > 0 {
			b = append(b, '\t')
		}
		switch {
		case r.IsNull(id):
			b = append(b, '\\', 'N')
		case fields[i].Type == flowlog.Int32 || fields[i].Type == flowlog.Int64:
			v, _ := r.Int(id)
			b = strconv.AppendInt(b, v, 10)
		default:
			s, _ := r.Str(id)
			b = clickhouse.AppendEscaped(b, s)
		}
	}
	b = append(b, '\t')
	if unk := f.Unknown(); len(unk) > 0 {
		b = clickhouse.AppendEscaped(b, string(extraJSON(r, unk)))
	} else {
		b = append(b, '\\', 'N')
	}
	day := fallback
	if s, ok := r.Int(flowlog.Start); ok {
		day = lake.DayOf(s)
	}
	b = append(b, '\t')
	b = append(b, day.String()...)
	b = append(b, '\t')
	b = append(b, batch...)
	return append(b, '\n')
}

// extraJSON writes the fields of r that the registry does not know as a JSON
// object, in the format's order, as the lake's extra column holds them.
func extraJSON(r *flowlog.Record, names []string) []byte {
	b := []byte{'{'}
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(name)
		b = append(append(b, k...), ':')
		if v, ok := r.Extra(name); ok {
			j, _ := json.Marshal(strings.ToValidUTF8(v, "\uFFFD"))
			b = append(b, j...)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}
