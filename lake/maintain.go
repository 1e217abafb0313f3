package lake

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flowlens/flowlens/flowlog"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Status summarises a lake.
type Status struct {
	Partitions  int       `json:"partitions"`
	Files       int       `json:"files"`
	Records     int64     `json:"records"`
	Bytes       int64     `json:"bytes"` // data files on disk
	FirstDay    string    `json:"first_day,omitempty"`
	LastDay     string    `json:"last_day,omitempty"`
	MinStart    int64     `json:"min_start,omitempty"`
	MaxStart    int64     `json:"max_start,omitempty"`
	Sources     int       `json:"sources"`
	Quarantined int64     `json:"quarantined"`
	Txns        int       `json:"transactions"`
	LastIngest  time.Time `json:"last_ingest,omitzero"`
}

// StatusOf reads the status of data folder dir from its catalog, without
// locking it.
func StatusOf(dir string) (Status, error) {
	c, err := readCatalog(dir)
	if err != nil {
		return Status{}, err
	}
	var s Status
	days := map[string]bool{}
	for _, f := range c.Files {
		s.Files++
		s.Records += f.Rows
		days[f.Day] = true
		if st, err := os.Stat(filepath.Join(TableDir(dir), filepath.FromSlash(f.Path))); err == nil {
			s.Bytes += st.Size()
		}
		if f.MinStart != 0 && (s.MinStart == 0 || f.MinStart < s.MinStart) {
			s.MinStart = f.MinStart
		}
		s.MaxStart = max(s.MaxStart, f.MaxStart)
		if s.FirstDay == "" || f.Day < s.FirstDay {
			s.FirstDay = f.Day
		}
		s.LastDay = max(s.LastDay, f.Day)
	}
	s.Partitions = len(days)
	s.Sources = len(c.Sources)
	for _, q := range c.Quarantine {
		s.Quarantined += q.Records
	}
	s.Txns = len(c.Txns)
	for _, t := range c.Txns {
		if t.Kind == "ingest" {
			s.LastIngest = t.Time
		}
	}
	return s, nil
}

// Problem is one disagreement between the catalog and the files.
type Problem struct {
	Kind     string `json:"kind"` // interrupted, missing, size, corrupt, orphan
	Path     string `json:"path"`
	Detail   string `json:"detail"`
	Repaired bool   `json:"repaired"`
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Files    int       `json:"files"`
	Records  int64     `json:"records"`
	Problems []Problem `json:"problems"`
}

// Clean reports whether nothing is wrong (or everything was repaired).
func (r *VerifyReport) Clean() bool {
	for _, p := range r.Problems {
		if !p.Repaired {
			return false
		}
	}
	return true
}

// Verify checks that the catalog and the files agree: no interrupted
// transaction in staging, every committed file present with its size and row
// count and a readable footer, and no other file in the partition folders.
// With repair it finishes or rolls back interrupted transactions, moves
// orphans and damaged files to DATA/orphans/, and drops missing or damaged
// files from the catalog (their records are lost; the report says how many).
// Open the lake with OpenOptions.NoRecover to see interrupted transactions.
func (l *Lake) Verify(repair bool) (*VerifyReport, error) {
	r := &VerifyReport{}
	entries, _ := os.ReadDir(filepath.Join(l.dir, StagingDir))
	for _, e := range entries {
		state := "uncommitted: recovery deletes its staged files"
		if l.cat.hasTxn(e.Name()) {
			state = "committed: recovery publishes its staged files"
		}
		r.Problems = append(r.Problems, Problem{Kind: "interrupted", Path: filepath.Join(StagingDir, e.Name()), Detail: "interrupted transaction, " + state})
	}
	if len(entries) > 0 && repair {
		if err := l.recover(); err != nil {
			return r, err
		}
		for i := range r.Problems {
			r.Problems[i].Repaired = true
		}
	}
	table := TableDir(l.dir)
	known := map[string]bool{}
	var drop []string
	var aside []string
	for _, f := range l.cat.Files {
		known[f.Path] = true
		r.Files++
		r.Records += f.Rows
		path := filepath.Join(table, filepath.FromSlash(f.Path))
		st, err := os.Stat(path)
		if err != nil {
			r.Problems = append(r.Problems, Problem{Kind: "missing", Path: f.Path, Detail: fmt.Sprintf("committed file is missing (%d records)", f.Rows), Repaired: repair})
			drop = append(drop, f.Path)
			continue
		}
		if st.Size() != f.Bytes {
			r.Problems = append(r.Problems, Problem{Kind: "size", Path: f.Path, Detail: fmt.Sprintf("%d bytes on disk, the catalog says %d (%d records)", st.Size(), f.Bytes, f.Rows), Repaired: repair})
			drop, aside = append(drop, f.Path), append(aside, f.Path)
			continue
		}
		if rows, err := footerRows(path); err != nil || rows != f.Rows {
			detail := fmt.Sprintf("footer has %d rows, the catalog says %d", rows, f.Rows)
			if err != nil {
				detail = err.Error()
			}
			r.Problems = append(r.Problems, Problem{Kind: "corrupt", Path: f.Path, Detail: detail, Repaired: repair})
			drop, aside = append(drop, f.Path), append(aside, f.Path)
		}
	}
	err := filepath.WalkDir(table, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(table, p)
		rel = filepath.ToSlash(rel)
		if !known[rel] {
			r.Problems = append(r.Problems, Problem{Kind: "orphan", Path: rel, Detail: "file in the partition folders that the catalog does not name", Repaired: repair})
			aside = append(aside, rel)
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("verify: walk %s: %w", table, err)
	}
	for _, q := range l.cat.Quarantine {
		if _, err := os.Stat(filepath.Join(l.dir, filepath.FromSlash(q.Path))); err != nil {
			r.Problems = append(r.Problems, Problem{Kind: "missing", Path: q.Path, Detail: fmt.Sprintf("quarantine file is missing (%d lines)", q.Records)})
		}
	}
	if !repair {
		return r, nil
	}
	for _, p := range aside {
		dst := filepath.Join(l.dir, OrphanDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return r, fmt.Errorf("repair: %w", err)
		}
		if err := os.Rename(filepath.Join(table, filepath.FromSlash(p)), dst); err != nil {
			return r, fmt.Errorf("repair: move %s aside: %w", p, err)
		}
	}
	if len(drop) > 0 {
		t, err := l.Begin("repair")
		if err != nil {
			return r, err
		}
		for _, p := range drop {
			t.Remove(p)
		}
		if err := t.Commit(0); err != nil {
			return r, err
		}
	}
	removeEmptyPartitions(table)
	return r, nil
}

// footerRows reads the row count from a Parquet file's footer.
func footerRows(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("read footer: %w", err)
	}
	return pf.NumRows(), nil
}

// CompactOptions configure Compact.
type CompactOptions struct {
	// TargetRows is the size of merged files (default DefaultFileRows); files
	// with fewer than half as many rows are merged.
	TargetRows int
	// Write tunes the merged files; the default zstd level is
	// zstd.SpeedBestCompression, since compaction is off the ingest path.
	Write WriteOptions
}

// DefaultFileRows is the number of rows ingest and compaction aim for per file.
const DefaultFileRows = 1 << 20

// CompactReport is what Compact did.
type CompactReport struct {
	Partitions int   `json:"partitions"`
	Merged     int   `json:"files_merged"`
	Written    int   `json:"files_written"`
	Records    int64 `json:"records"`
}

// Compact merges the small files of each partition into files of about
// TargetRows rows, sorted like every data file, in one transaction.
func (l *Lake) Compact(o CompactOptions) (*CompactReport, error) {
	if o.TargetRows <= 0 {
		o.TargetRows = DefaultFileRows
	}
	if o.Write.Level == 0 {
		o.Write.Level = zstd.SpeedBestCompression
	}
	byDay := map[string][]DataFile{}
	for _, f := range l.cat.Files {
		if f.Rows < int64(o.TargetRows/2) {
			byDay[f.Day] = append(byDay[f.Day], f)
		}
	}
	rep := &CompactReport{}
	t, err := l.Begin("compact")
	if err != nil {
		return nil, err
	}
	days := make([]string, 0, len(byDay))
	for d, fs := range byDay {
		if len(fs) > 1 {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	for _, day := range days {
		files := byDay[day]
		rep.Partitions++
		tm, err := time.Parse("2006-01-02", day)
		if err != nil {
			t.Abort()
			return nil, fmt.Errorf("compact: partition %q: %w", day, err)
		}
		var b *Batch
		flush := func() error {
			if b == nil || b.Len() == 0 {
				return nil
			}
			_, err := t.WriteBatch(b, o.Write)
			rep.Written++
			rep.Records += int64(b.Len())
			b.Release()
			b = nil
			if err != nil {
				return err
			}
			return nil
		}
		for _, f := range files {
			if b == nil {
				b = NewBatch(DayOf(tm.Unix()), o.TargetRows)
			}
			if err := b.readFile(filepath.Join(TableDir(l.dir), filepath.FromSlash(f.Path))); err != nil {
				t.Abort()
				return nil, fmt.Errorf("compact %s: %w", f.Path, err)
			}
			t.Remove(f.Path)
			rep.Merged++
			if b.Len() >= o.TargetRows {
				if err := flush(); err != nil {
					t.Abort()
					return nil, err
				}
			}
		}
		if err := flush(); err != nil {
			t.Abort()
			return nil, err
		}
	}
	if rep.Merged == 0 {
		t.Abort()
		return rep, nil
	}
	return rep, t.Commit(0)
}

// readFile appends the rows of a data file to b.
func (b *Batch) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("read footer: %w", err)
	}
	// Map the file's leaf columns to fields by name.
	byLeaf := make([]int, len(pf.Schema().Columns()))
	for i, path := range pf.Schema().Columns() {
		byLeaf[i] = -2
		name := strings.Join(path, ".")
		if name == ExtraColumn {
			byLeaf[i] = -1
		} else if fld, ok := flowlog.Lookup(name); ok && fld.Column == name {
			byLeaf[i] = int(fld.ID)
		}
	}
	rows := make([]parquet.Row, 1024)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				b.appendRow(row, byLeaf)
			}
			if errors.Is(err, io.EOF) || n == 0 && err == nil {
				break
			}
			if err != nil {
				rr.Close()
				return fmt.Errorf("read rows: %w", err)
			}
		}
		rr.Close()
	}
	return nil
}

// appendRow adds a row read from a data file.
func (b *Batch) appendRow(row parquet.Row, byLeaf []int) {
	n := b.n
	for _, v := range row {
		leaf := v.Column()
		if leaf < 0 || leaf >= len(byLeaf) || byLeaf[leaf] == -2 || v.IsNull() {
			continue
		}
		var c *column
		if byLeaf[leaf] == -1 {
			if b.extra == nil {
				b.extra = newColumn(flowlog.String, n)
			}
			c = b.extra
		} else {
			c = b.col(flowlog.FieldID(byLeaf[leaf]))
		}
		c.pad(n)
		switch {
		case c.isInt() && v.Kind() == parquet.Int32:
			c.appendInt(int64(v.Int32()), true)
		case c.isInt():
			c.appendInt(v.Int64(), true)
		default:
			c.appendID(c.intern(&b.arena, string(v.ByteArray())))
		}
	}
	b.n++
}

// RetainReport is what Retain did.
type RetainReport struct {
	Cutoff     string `json:"cutoff"` // first day kept
	Partitions int    `json:"partitions"`
	Files      int    `json:"files"`
	Records    int64  `json:"records"`
}

// Retain deletes, in one transaction, every partition whose day ended more
// than keep before now. Ingested sources stay in the catalog, so ingesting
// the same objects again does not bring the deleted records back.
func (l *Lake) Retain(keep time.Duration, now time.Time) (*RetainReport, error) {
	cutoff := DayOf(now.Add(-keep).Unix()) // partitions before this day go
	rep := &RetainReport{Cutoff: cutoff.String()}
	days := map[string]bool{}
	var gone []DataFile
	for _, f := range l.cat.Files {
		if f.Day < cutoff.String() {
			gone = append(gone, f)
			days[f.Day] = true
		}
	}
	if len(gone) == 0 {
		return rep, nil
	}
	t, err := l.Begin("retain")
	if err != nil {
		return nil, err
	}
	for _, f := range gone {
		t.Remove(f.Path)
		rep.Files++
		rep.Records += f.Rows
	}
	rep.Partitions = len(days)
	return rep, t.Commit(0)
}
