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
//     view hides them meanwhile), and a source is skipped when a recorded one
//     has the same content hash.
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

// NewBatchID returns a new batch id.
func NewBatchID() string { return strings.TrimPrefix(newQueryID(), "flowlens-") }

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
		rec.Batches = append(rec.Batches, r[0].(string))
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
