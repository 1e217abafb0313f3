package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Store is the write side of the engine's database, used by ingest. Its
// protocol never shows a record twice nor half a source, whatever stops an
// ingest:
//
//  1. every ingest of a source gets a new batch id; its rows go to flow_logs
//     and its bad lines to flow_quarantine, tagged with the batch, in large
//     inserts that may hold the rows of several small sources (MergeTree
//     makes a part per insert and day, and slows down inserts when a day
//     has many parts);
//  2. when all of them are in, one row in flow_sources records the source
//     (path, size, content hash, lines) and its batch: that insert is the
//     commit, and the view vpc_flow_logs shows only rows of recorded batches
//     (a single insert of a few rows is atomic in ClickHouse);
//  3. Recover, at the start of the next ingest, deletes the rows of
//     batches that were never recorded (an ALTER TABLE … DELETE mutation; the
//     view hides them meanwhile), except those of ingests still running: an
//     ingest's batch ids start with its run id, whose heartbeat it writes to
//     flow_runs every minute. A source is skipped when a recorded one has
//     the same content hash.
//
// The alternative, a ReplacingMergeTree keyed on the source and line, would
// deduplicate only when parts merge (or with FINAL on every query), so a
// re-run after a kill would show doubled counts until then.
type Store struct {
	e *Engine
}

// Store returns the engine's write side.
func (e *Engine) Store() *Store { return &Store{e: e} }

// Source is one recorded source: a row of flow_sources.
type Source struct {
	Batch       string
	Path        string
	Size        int64
	Hash        string // SHA-256 of the content, hex
	PrefixHash  string
	Lines       int64
	Stored      int64
	Quarantined int64
	Format      string
	Ingested    time.Time
}

// Columns of flow_logs in the order InsertRows takes them: the stored
// columns, then date and _batch.
func Columns() []string {
	var out []string
	for _, c := range StoredColumns() {
		out = append(out, c.Name)
	}
	return append(out, "date", "_batch")
}

// NewBatchID returns a new batch id outside any run (Recover treats its
// rows as abandoned as soon as they are unrecorded).
func NewBatchID() string { return strings.TrimPrefix(newQueryID(), "flowlens-") }

// RunStale is how long after its last heartbeat an ingest run counts as
// dead, so that Recover deletes its unrecorded batches.
const RunStale = 5 * time.Minute

// runBeat is how often a run writes its heartbeat.
const runBeat = time.Minute

// Run is one ingest: it writes a heartbeat to flow_runs while it lasts, so
// that the Recover of an ingest running at the same time leaves its batches
// (not yet recorded) alone.
type Run struct {
	ID   string
	stop context.CancelFunc
	done chan struct{}
}

// StartRun registers a new ingest run and keeps its heartbeat until Stop.
func (s *Store) StartRun(ctx context.Context) (*Run, error) {
	r := &Run{ID: strings.TrimPrefix(newQueryID(), "flowlens-")[:16], done: make(chan struct{})}
	beat := func(ctx context.Context) error {
		return s.e.c.Insert(ctx, s.e.table(TableRuns), []string{"run", "beat"},
			strings.NewReader(r.ID+"\t"+time.Now().UTC().Format("2006-01-02 15:04:05")+"\n"))
	}
	if err := beat(ctx); err != nil {
		return nil, fmt.Errorf("register the ingest run: %w", err)
	}
	bctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stop = stop
	go func() {
		defer close(r.done)
		t := time.NewTicker(runBeat)
		defer t.Stop()
		for {
			select {
			case <-bctx.Done():
				return
			case <-t.C:
				_ = beat(bctx) // a missed beat is retried at the next tick
			}
		}
	}()
	return r, nil
}

// NewBatchID returns a new batch id of the run.
func (r *Run) NewBatchID() string { return r.ID + "." + NewBatchID()[:16] }

// Stop ends the heartbeat.
func (r *Run) Stop() {
	r.stop()
	<-r.done
}

// InsertRows inserts TabSeparated rows of flow_logs (see Columns).
func (s *Store) InsertRows(ctx context.Context, rows []byte) error {
	return s.e.c.Insert(ctx, s.e.table(TableFlows), Columns(), bytes.NewReader(rows))
}

// QuarantineColumns are the columns of flow_quarantine that
// InsertQuarantine takes, in order.
var QuarantineColumns = []string{"batch", "source", "line", "reason", "raw", "time"}

// InsertQuarantine inserts TabSeparated rows of flow_quarantine.
func (s *Store) InsertQuarantine(ctx context.Context, rows []byte) error {
	return s.e.c.Insert(ctx, s.e.table(TableQuarantine), QuarantineColumns, bytes.NewReader(rows))
}

// Record commits sources, in one insert: from now on their batches' rows
// show in the view.
func (s *Store) Record(ctx context.Context, srcs ...Source) error {
	if len(srcs) == 0 {
		return nil
	}
	var b []byte
	for _, src := range srcs {
		for i, v := range []string{src.Batch, src.Path, strconv.FormatInt(src.Size, 10), src.Hash, src.PrefixHash,
			strconv.FormatInt(src.Lines, 10), strconv.FormatInt(src.Stored, 10), strconv.FormatInt(src.Quarantined, 10),
			src.Format, src.Ingested.UTC().Format("2006-01-02 15:04:05")} {
			if i > 0 {
				b = append(b, '\t')
			}
			b = AppendEscaped(b, v)
		}
		b = append(b, '\n')
	}
	cols := []string{"batch", "path", "size", "hash", "prefix_hash", "lines", "stored", "quarantined", "format", "ingested"}
	return s.e.c.Insert(ctx, s.e.table(TableSources), cols, bytes.NewReader(b))
}

// Sources returns every recorded source.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.e.c.Query(ctx, "SELECT batch, path, size, hash, prefix_hash, lines, stored, quarantined, format, ingested FROM "+
		s.e.table(TableSources))
	if err != nil {
		return nil, fmt.Errorf("read the ingested sources: %w", err)
	}
	defer rows.Close()
	var out []Source
	for {
		r, err := rows.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the ingested sources: %w", err)
		}
		src := Source{Batch: r[0].(string), Path: r[1].(string), Size: r[2].(int64), Hash: r[3].(string),
			PrefixHash: r[4].(string), Lines: r[5].(int64), Stored: r[6].(int64), Quarantined: r[7].(int64),
			Format: r[8].(string)}
		src.Ingested, _ = r[9].(time.Time)
		out = append(out, src)
	}
}

// Recovery is what Recover found.
type Recovery struct {
	// Batches are the unrecorded batches whose rows were deleted.
	Batches []string
	// Running are unrecorded batches of ingests still running (their
	// heartbeat is younger than RunStale), left alone.
	Running []string
	// Rows is the number of their rows in flow_logs (their quarantined
	// lines are deleted too, and not counted).
	Rows int64
}

// Recover deletes the rows of batches that were never recorded: what an
// ingest that was stopped before its commit left behind. The view never
// shows them; the deletion is a mutation that ClickHouse applies in the
// background.
func (s *Store) Recover(ctx context.Context) (Recovery, error) {
	var rec Recovery
	live, err := s.liveRuns(ctx)
	if err != nil {
		return rec, err
	}
	// Batches of flow_logs, and of flow_quarantine (a source whose every
	// line was bad has rows only there).
	recorded := "(SELECT `batch` FROM " + s.e.table(TableSources) + ")"
	rows, err := s.e.c.Query(ctx, "SELECT b, sum(n) FROM (SELECT `_batch` AS b, count() AS n FROM "+s.e.table(TableFlows)+
		" WHERE `_batch` NOT IN "+recorded+" GROUP BY `_batch` UNION ALL SELECT `batch` AS b, toUInt64(0) AS n FROM "+
		s.e.table(TableQuarantine)+" WHERE `batch` NOT IN "+recorded+" GROUP BY `batch`) GROUP BY b ORDER BY b")
	if err != nil {
		return rec, fmt.Errorf("find unrecorded batches: %w", err)
	}
	for {
		r, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rows.Close()
			return rec, fmt.Errorf("find unrecorded batches: %w", err)
		}
		batch := r[0].(string)
		if run, _, ok := strings.Cut(batch, "."); ok && live[run] {
			rec.Running = append(rec.Running, batch)
			continue
		}
		rec.Batches = append(rec.Batches, batch)
		rec.Rows += r[1].(int64)
	}
	rows.Close()
	if len(rec.Batches) == 0 {
		return rec, nil
	}
	list := make([]string, len(rec.Batches))
	for i, b := range rec.Batches {
		list[i] = QuoteString(b)
	}
	in := "(" + strings.Join(list, ", ") + ")"
	if err := s.e.c.Exec(ctx, "ALTER TABLE "+s.e.table(TableFlows)+" DELETE WHERE `_batch` IN "+in); err != nil {
		return rec, fmt.Errorf("delete unrecorded batches: %w", err)
	}
	if err := s.e.c.Exec(ctx, "ALTER TABLE "+s.e.table(TableQuarantine)+" DELETE WHERE `batch` IN "+in); err != nil {
		return rec, fmt.Errorf("delete unrecorded batches: %w", err)
	}
	return rec, nil
}

// liveRuns returns the runs whose last heartbeat is younger than RunStale,
// by the server's clock, which also stamped them.
func (s *Store) liveRuns(ctx context.Context) (map[string]bool, error) {
	rows, err := s.e.c.Query(ctx, "SELECT run FROM "+s.e.table(TableRuns)+" GROUP BY run HAVING max(beat) > now() - "+
		strconv.Itoa(int(RunStale.Seconds())))
	if err != nil {
		return nil, fmt.Errorf("find running ingests: %w", err)
	}
	defer rows.Close()
	live := map[string]bool{}
	for {
		r, err := rows.Next()
		if err == io.EOF {
			return live, nil
		}
		if err != nil {
			return nil, fmt.Errorf("find running ingests: %w", err)
		}
		live[r[0].(string)] = true
	}
}
