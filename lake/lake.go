package lake

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Folder and file names inside the data folder.
const (
	LakeDir       = "lake"       // DATA/lake/vpc_flow_logs/…
	StagingDir    = "staging"    // DATA/staging/TXN/: files of transactions in progress
	QuarantineDir = "quarantine" // DATA/quarantine/TXN.ndjson
	OrphanDir     = "orphans"    // DATA/orphans/: files that verify --repair moved aside
	LockFile      = "lock"       // held exclusively by the one process changing the lake
	PublishLock   = "publish.lock"
)

// Lake is an open data folder, held exclusively: only one process changes a
// lake at a time. Open it, change it through transactions, Close it.
type Lake struct {
	dir     string
	cat     *Catalog
	lock    *os.File
	mu      sync.Mutex
	open    *Txn
	Recover Recovery // what Open's recovery did
}

// Recovery reports what recovery did to interrupted transactions.
type Recovery struct {
	RolledForward []string // committed transactions whose files were published
	RolledBack    []string // uncommitted transactions whose staged files were removed
	Deleted       int      // removed data files deleted
}

// Empty reports whether recovery had nothing to do.
func (r Recovery) Empty() bool {
	return len(r.RolledForward) == 0 && len(r.RolledBack) == 0 && r.Deleted == 0
}

// OpenOptions configure Open.
type OpenOptions struct {
	// Wait is called once when another process holds the lake, with its pid
	// (0 if unknown); Open then waits until the lake is free or ctx ends.
	Wait func(pid int)
	// NoRecover leaves interrupted transactions as they are, for Verify to
	// report. Never ingest into a lake opened this way.
	NoRecover bool
}

// Open locks data folder dir (creating it if needed), waiting while another
// process holds it, and recovers interrupted transactions, so the partition
// folders hold exactly the committed files.
func Open(ctx context.Context, dir string, o OpenOptions) (*Lake, error) {
	for _, d := range []string{dir, filepath.Join(dir, LakeDir, Table), filepath.Join(dir, StagingDir), filepath.Join(dir, QuarantineDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	lock, err := lockExclusive(ctx, filepath.Join(dir, LockFile), o.Wait)
	if err != nil {
		return nil, err
	}
	writePid(lock)
	l := &Lake{dir: dir, lock: lock}
	if l.cat, err = readCatalog(dir); err != nil {
		l.Close()
		return nil, err
	}
	if o.NoRecover {
		return l, nil
	}
	if err := l.recover(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the lake. A transaction still open is rolled back.
func (l *Lake) Close() error {
	if l.open != nil {
		l.open.Abort()
	}
	if l.lock == nil {
		return nil
	}
	err := unlockFile(l.lock)
	l.lock = nil
	return err
}

// Dir returns the data folder.
func (l *Lake) Dir() string { return l.dir }

// TableDir returns the folder of the table: DATA/lake/vpc_flow_logs.
func TableDir(dataDir string) string { return filepath.Join(dataDir, LakeDir, Table) }

// Catalog returns the committed catalog. Callers must not modify it.
func (l *Lake) Catalog() *Catalog { return l.cat }

// ReadCatalog reads the catalog of a data folder without locking it.
func ReadCatalog(dataDir string) (*Catalog, error) { return readCatalog(dataDir) }

// ReadLock takes the lake's shared reader lock: while it is held, no
// transaction publishes or deletes files, so a query that lists and reads the
// partition folders sees one committed state. Hold it for the whole query and
// call the returned function to release it. Publishing waits for readers, and
// readers wait for a publication in progress (milliseconds: renames only).
func ReadLock(dataDir string) (release func(), err error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dataDir, StagingDir)); len(ents) > 0 {
		// A transaction in progress, or one whose process died. In the latter
		// case nobody holds the data folder: recover it now, so this reader
		// never sees a half-published transaction.
		if lock, ok := tryLock(filepath.Join(dataDir, LockFile)); ok {
			l := &Lake{dir: dataDir, lock: lock}
			cat, err := readCatalog(dataDir)
			if err == nil {
				l.cat = cat
				err = l.recover()
			}
			l.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	f, err := lockShared(filepath.Join(dataDir, PublishLock))
	if err != nil {
		return nil, err
	}
	return func() { unlockFile(f) }, nil
}

// Txn is one atomic change to the lake: data files and a quarantine file are
// written to DATA/staging/ID/ and become visible together, through Commit.
type Txn struct {
	l       *Lake
	ID      string
	Kind    string
	dir     string
	seq     atomic.Int64
	mu      sync.Mutex
	files   []DataFile
	removed []string
	sources []Source
	qf      *os.File
	qw      *bufio.Writer
	qn      int64
	done    bool
}

// Begin starts a transaction of kind (ingest, compact, retain, repair). Only one
// transaction is open at a time.
func (l *Lake) Begin(kind string) (*Txn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open != nil {
		return nil, errors.New("begin transaction: another transaction is open")
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	id := fmt.Sprintf("t%08d-%s", l.cat.NextTxn, hex.EncodeToString(rnd[:]))
	dir := filepath.Join(l.dir, StagingDir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	t := &Txn{l: l, ID: id, Kind: kind, dir: dir}
	l.open = t
	return t, nil
}

// WriteBatch writes b as a new data file of its day's partition, in staging.
// It may be called from several goroutines at once.
func (t *Txn) WriteBatch(b *Batch, o WriteOptions) (DataFile, error) {
	name := fmt.Sprintf("%s-%04d.parquet", t.ID, t.seq.Add(1))
	path := filepath.Join(t.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return DataFile{}, fmt.Errorf("create data file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	info, err := WriteFile(bw, b, o)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return DataFile{}, fmt.Errorf("write data file %s: %w", path, err)
	}
	df := DataFile{
		Path: filepath.ToSlash(filepath.Join(b.Day.Dir(), name)), Txn: t.ID, Day: b.Day.String(),
		Rows: info.Rows, Bytes: info.Bytes, RowGroups: info.RowGroups, MinStart: info.MinStart, MaxStart: info.MaxStart,
	}
	t.mu.Lock()
	t.files = append(t.files, df)
	t.mu.Unlock()
	return df, nil
}

// Files returns the data files written so far.
func (t *Txn) Files() []DataFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]DataFile(nil), t.files...)
}

// Empty reports whether the transaction has nothing to commit: no file
// written or removed, no source, nothing quarantined.
func (t *Txn) Empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.files) == 0 && len(t.removed) == 0 && len(t.sources) == 0 && t.qf == nil
}

// AddSource records a source object as ingested by this transaction.
func (t *Txn) AddSource(s Source) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.Txn = t.ID
	t.sources = append(t.sources, s)
}

// Remove deletes a committed data file (path relative to the table folder)
// when the transaction commits.
func (t *Txn) Remove(path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removed = append(t.removed, path)
}

// QuarantineLine is one entry of a quarantine file (one JSON object per line).
type QuarantineLine struct {
	Source string `json:"source"`
	Line   int64  `json:"line"` // 0 when the problem concerns the whole source
	// Raw is the line's text; RawBase64 replaces it when the line is not UTF-8.
	Raw       string    `json:"raw"`
	RawBase64 string    `json:"raw_base64,omitempty"`
	Reason    string    `json:"reason"`
	Txn       string    `json:"txn"`
	Time      time.Time `json:"time"`
}

// Quarantine appends encoded entries (one JSON object per line, n entries) to
// the transaction's quarantine file. It may be called from several goroutines.
func (t *Txn) Quarantine(ndjson []byte, n int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.qf == nil {
		f, err := os.OpenFile(filepath.Join(t.dir, "quarantine.ndjson"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("create quarantine file: %w", err)
		}
		t.qf, t.qw = f, bufio.NewWriterSize(f, 256<<10)
	}
	if _, err := t.qw.Write(ndjson); err != nil {
		return fmt.Errorf("write quarantine file: %w", err)
	}
	t.qn += n
	return nil
}

// Abort rolls the transaction back: its staged files are deleted.
func (t *Txn) Abort() error {
	if t.done {
		return nil
	}
	t.done = true
	if t.qf != nil {
		t.qf.Close()
	}
	t.l.mu.Lock()
	t.l.open = nil
	t.l.mu.Unlock()
	return os.RemoveAll(t.dir)
}

// Commit makes the transaction durable and visible: staged files are fsynced,
// the catalog naming them (and the sources they came from) replaces the old
// one atomically, and only then are the files renamed into the partition
// folders. A crash before the catalog replacement leaves the old lake (the
// next Open deletes the staged files); a crash after it leaves a committed
// transaction that the next Open publishes.
func (t *Txn) Commit(records int64) error {
	if t.done {
		return errors.New("commit: transaction already finished")
	}
	l := t.l
	if t.qf != nil {
		err := t.qw.Flush()
		if err == nil {
			err = t.qf.Sync()
		}
		if cerr := t.qf.Close(); err == nil {
			err = cerr
		}
		t.qf = nil
		if err != nil {
			t.Abort()
			return fmt.Errorf("write quarantine file: %w", err)
		}
	}
	if err := syncDir(t.dir); err != nil {
		t.Abort()
		return err
	}
	cat := l.cat.clone()
	cat.NextTxn++
	cat.Txns = append(cat.Txns, TxnInfo{ID: t.ID, Kind: t.Kind, Time: time.Now().UTC(), Added: len(t.files), Removed: len(t.removed), Records: records, Quarantined: t.qn})
	cat.Files = append(cat.Files, t.files...)
	if len(t.removed) > 0 {
		gone := map[string]bool{}
		for _, p := range t.removed {
			gone[p] = true
		}
		kept := cat.Files[:0]
		for _, f := range cat.Files {
			if !gone[f.Path] {
				kept = append(kept, f)
			}
		}
		cat.Files = kept
	}
	cat.Pending = t.removed
	for _, s := range t.sources {
		cat.putSource(s)
	}
	if t.qn > 0 {
		cat.Quarantine = append(cat.Quarantine, QuarantineFile{Path: filepath.ToSlash(filepath.Join(QuarantineDir, t.ID+".ndjson")), Txn: t.ID, Records: t.qn})
	}
	if err := cat.write(l.dir); err != nil {
		// The catalog was not replaced (or the replacement's durability is
		// unknown): leave staging for the next recovery to decide.
		t.done = true
		l.mu.Lock()
		l.open = nil
		l.mu.Unlock()
		return fmt.Errorf("commit %s: %w", t.ID, err)
	}
	l.cat = cat
	t.done = true
	l.mu.Lock()
	l.open = nil
	l.mu.Unlock()
	if _, err := l.publish(t.ID); err != nil {
		return fmt.Errorf("publish %s (committed; the next run of flowlens finishes it): %w", t.ID, err)
	}
	return nil
}

func (c *Catalog) clone() *Catalog {
	n := *c
	n.Txns = append([]TxnInfo(nil), c.Txns...)
	n.Files = append([]DataFile(nil), c.Files...)
	n.Sources = append([]Source(nil), c.Sources...)
	n.Quarantine = append([]QuarantineFile(nil), c.Quarantine...)
	n.Pending = nil
	n.index()
	return &n
}

// publish moves the staged files of committed transaction id into place,
// deletes the files the catalog's last transaction removed, and removes the
// staging folder. It is idempotent, so recovery can run it again.
func (l *Lake) publish(id string) (deleted int, err error) {
	pl, err := lockExclusive(context.Background(), filepath.Join(l.dir, PublishLock), nil)
	if err != nil {
		return 0, err
	}
	defer unlockFile(pl)
	staging := filepath.Join(l.dir, StagingDir, id)
	table := TableDir(l.dir)
	dirs := map[string]bool{}
	for _, f := range l.cat.Files {
		if f.Txn != id {
			continue
		}
		dst := filepath.Join(table, filepath.FromSlash(f.Path))
		src := filepath.Join(staging, filepath.Base(dst))
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := mkdirAllSync(filepath.Dir(dst)); err != nil {
			return 0, err
		}
		if testHookPublish != nil {
			if err := testHookPublish(); err != nil {
				return 0, err
			}
		}
		if err := os.Rename(src, dst); err != nil {
			return 0, fmt.Errorf("publish %s: %w", f.Path, err)
		}
		dirs[filepath.Dir(dst)] = true
	}
	for _, q := range l.cat.Quarantine {
		if q.Txn != id {
			continue
		}
		dst := filepath.Join(l.dir, filepath.FromSlash(q.Path))
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.Rename(filepath.Join(staging, "quarantine.ndjson"), dst); err != nil {
			return 0, fmt.Errorf("publish %s: %w", q.Path, err)
		}
		dirs[filepath.Dir(dst)] = true
	}
	for _, p := range l.cat.Pending {
		path := filepath.Join(table, filepath.FromSlash(p))
		if err := os.Remove(path); err == nil {
			deleted++
			dirs[filepath.Dir(path)] = true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return deleted, fmt.Errorf("delete %s: %w", p, err)
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return deleted, err
		}
	}
	removeEmptyPartitions(table)
	if err := os.RemoveAll(staging); err != nil {
		return deleted, fmt.Errorf("remove staging %s: %w", staging, err)
	}
	return deleted, nil
}

// testHookPublish, when set by a test, runs before each rename of publish; an
// error stops publication there, as a crash would.
var testHookPublish func() error

// mkdirAllSync creates dir and its missing parents durably.
func mkdirAllSync(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := mkdirAllSync(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create partition folder: %w", err)
	}
	return syncDir(parent)
}

// removeEmptyPartitions deletes partition folders left empty by deletions.
func removeEmptyPartitions(table string) {
	var dirs []string
	filepath.WalkDir(table, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != table {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		os.Remove(d) // fails, as it should, when not empty
	}
}

// recover finishes committed transactions and rolls back uncommitted ones.
func (l *Lake) recover() error {
	os.Remove(filepath.Join(l.dir, CatalogFile+".tmp"))
	entries, err := os.ReadDir(filepath.Join(l.dir, StagingDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recover: %w", err)
	}
	var rec Recovery
	for _, e := range entries {
		id := e.Name()
		if l.cat.hasTxn(id) {
			n, err := l.publish(id)
			if err != nil {
				return fmt.Errorf("recover %s: %w", id, err)
			}
			rec.Deleted += n
			rec.RolledForward = append(rec.RolledForward, id)
			slog.Info("recovered committed transaction", "txn", id, "data", l.dir)
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.dir, StagingDir, id)); err != nil {
			return fmt.Errorf("recover: roll back %s: %w", id, err)
		}
		rec.RolledBack = append(rec.RolledBack, id)
		slog.Info("rolled back uncommitted transaction", "txn", id, "data", l.dir)
	}
	// Deletions of the last transaction whose staging folder was already gone.
	for _, p := range l.cat.Pending {
		if err := os.Remove(filepath.Join(TableDir(l.dir), filepath.FromSlash(p))); err == nil {
			rec.Deleted++
		}
	}
	if rec.Deleted > 0 {
		removeEmptyPartitions(TableDir(l.dir))
	}
	l.Recover = rec
	return nil
}

// readPid returns the pid written in a lock file, or 0.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// writePid records the holder of a lock file.
func writePid(f *os.File) {
	f.Truncate(0)
	f.Seek(0, io.SeekStart)
	fmt.Fprintf(f, "%d\n", os.Getpid())
}
