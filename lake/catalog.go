package lake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CatalogFile is the catalog's name inside the data folder.
const CatalogFile = "catalog.json"

// catalogVersion is the catalog's format version.
const catalogVersion = 1

// Catalog is what the lake holds: every committed data file, every ingested
// source object and quarantine file, and the transactions that added them. It
// is one JSON file, replaced atomically (temporary file, fsync, rename, folder
// fsync) by each commit, with a SHA-256 of its content beside the data so a
// damaged catalog is detected rather than trusted.
type Catalog struct {
	Version    int              `json:"version"`
	NextTxn    int64            `json:"next_txn"`
	Txns       []TxnInfo        `json:"txns"`
	Files      []DataFile       `json:"files"`
	Sources    []Source         `json:"sources"`
	Quarantine []QuarantineFile `json:"quarantine"`
	// Pending lists data files (relative to the table folder) that the last
	// transaction removed; recovery deletes any that are still on disk.
	Pending []string `json:"pending_deletes,omitempty"`

	sources map[string]int   // index of Sources by path
	hashes  map[string][]int // indexes of Sources by content hash
}

// TxnInfo is one committed transaction.
type TxnInfo struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"` // ingest, compact, retain, repair
	Time        time.Time `json:"time"`
	Added       int       `json:"files_added"`
	Removed     int       `json:"files_removed"`
	Records     int64     `json:"records"`
	Quarantined int64     `json:"quarantined,omitempty"`
}

// DataFile is one committed Parquet file.
type DataFile struct {
	// Path is relative to the table folder: year=YYYY/month=MM/day=DD/NAME.parquet.
	Path      string `json:"path"`
	Txn       string `json:"txn"`
	Day       string `json:"day"` // YYYY-MM-DD
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	RowGroups int    `json:"row_groups"`
	MinStart  int64  `json:"min_start,omitempty"`
	MaxStart  int64  `json:"max_start,omitempty"`
}

// Source is one ingested source object.
type Source struct {
	Path    string    `json:"path"` // absolute path, or "-" for standard input
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	SHA256  string    `json:"sha256"`
	// Lines is the number of lines read, so that a file that has since grown
	// (appended to, or a truncated download completed) is read from the next line.
	Lines       int64  `json:"lines"`
	Records     int64  `json:"records"` // record lines: stored + quarantined
	Stored      int64  `json:"stored"`
	Quarantined int64  `json:"quarantined"`
	Txn         string `json:"txn"`
	// TailBytes is the length of the source's last line when it ended without
	// a line ending (so it may have been cut short), and TailStored whether
	// that line was stored as a record. When the file grows and the line with
	// it, the line is read again, or quarantined if its first part was stored.
	TailBytes  int64 `json:"tail_bytes,omitempty"`
	TailStored bool  `json:"tail_stored,omitempty"`
	// Error is why reading stopped early (a truncated gzip stream), if it did.
	Error string `json:"error,omitempty"`
	// Format is the format that headerless lines were read with: a format
	// string, or "auto" when the layout was guessed. A source of which every
	// line was quarantined is read again when a later ingest is given another.
	Format string `json:"format,omitempty"`
	// DuplicateOf is the path of the source whose content this one's first
	// Shared.Bytes bytes repeat, when it was met as a copy (the same object
	// under two paths, or a file grown to another's content). The records of
	// those bytes are in the lake through that source, not through this one,
	// so Stored and Quarantined count only the lines after them, and Records
	// counts them all.
	DuplicateOf string       `json:"duplicate_of,omitempty"`
	Shared      *SharedRange `json:"shared,omitempty"`
	// Whole marks an entry that replaces the one of the same path instead of
	// adding to it: a source read again from its first line, or met as a copy.
	Whole bool `json:"-"`
}

// SharedRange is the part of a copy that repeats its original: the first
// Bytes bytes, which hold Lines lines and Records records. TailBytes and
// TailStored describe the last of those lines when it had no line ending,
// as Source's fields of those names do.
type SharedRange struct {
	Bytes      int64 `json:"bytes"`
	Lines      int64 `json:"lines"`
	Records    int64 `json:"records"`
	TailBytes  int64 `json:"tail_bytes,omitempty"`
	TailStored bool  `json:"tail_stored,omitempty"`
}

// CopyOf returns the entry of a source at path whose whole content (size,
// modification time and hash given) is the same as that of o, an entry of
// another path: every line of it is accounted for by o, so the entry stores
// and quarantines nothing itself, and when the file grows only the lines
// after o's are read. format is the format headerless lines would be read with.
func CopyOf(o Source, path string, size int64, mtime time.Time, sum, format string) Source {
	return Source{
		Path: path, Size: size, ModTime: mtime, SHA256: sum,
		Lines: o.Lines, Records: o.Records, TailBytes: o.TailBytes, TailStored: o.TailStored,
		Error: o.Error, Format: format, DuplicateOf: o.Path,
		Shared: &SharedRange{Bytes: size, Lines: o.Lines, Records: o.Records, TailBytes: o.TailBytes, TailStored: o.TailStored},
		Whole:  true,
	}
}

// Rereadable reports whether the source is to be read again because it is
// now read with another format: every line that it read itself was
// quarantined and none stored, so reading them again cannot store a record
// twice. A copy's shared lines are its original's, never its own: a copy is
// rereadable only by the lines after them (see RereadFrom), and a copy with
// no lines of its own never is.
func (s Source) Rereadable(format string) bool {
	return s.Path != "-" && s.Stored == 0 && s.Quarantined > 0 && s.Format != format
}

// RereadFrom says where a rereadable source is read again from: its first
// line (0, 0, false), or for a copy the line after the part it shares with
// its original, with that part's last line's length when it had no line
// ending and whether it was stored.
func (s Source) RereadFrom() (lines, tailBytes int64, tailStored bool) {
	if s.Shared == nil {
		return 0, 0, false
	}
	return s.Shared.Lines, s.Shared.TailBytes, s.Shared.TailStored
}

// QuarantineFile is one transaction's quarantined lines.
type QuarantineFile struct {
	Path    string `json:"path"` // relative to the data folder: quarantine/TXN.ndjson
	Txn     string `json:"txn"`
	Records int64  `json:"records"`
}

// envelope is the catalog as stored: the catalog and a checksum of it.
type envelope struct {
	SHA256  string          `json:"sha256"`
	Catalog json.RawMessage `json:"catalog"`
}

// readCatalog reads the catalog of data folder dir; a missing catalog is an
// empty one.
func readCatalog(dir string) (*Catalog, error) {
	path := filepath.Join(dir, CatalogFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c := &Catalog{Version: catalogVersion, NextTxn: 1}
		c.index()
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", path, err)
	}
	sum := sha256.Sum256(env.Catalog)
	if hex.EncodeToString(sum[:]) != env.SHA256 {
		return nil, fmt.Errorf("read catalog %s: checksum mismatch: the file is damaged", path)
	}
	c := &Catalog{}
	if err := json.Unmarshal(env.Catalog, c); err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", path, err)
	}
	if c.Version != catalogVersion {
		return nil, fmt.Errorf("read catalog %s: version %d, this flowlens reads version %d", path, c.Version, catalogVersion)
	}
	c.index()
	return c, nil
}

func (c *Catalog) index() {
	c.sources = make(map[string]int, len(c.Sources))
	c.hashes = make(map[string][]int, len(c.Sources))
	for i, s := range c.Sources {
		c.sources[s.Path] = i
		c.addHash(s.SHA256, i)
	}
}

func (c *Catalog) addHash(sum string, i int) {
	if sum != "" {
		c.hashes[sum] = append(c.hashes[sum], i)
	}
}

func (c *Catalog) removeHash(sum string, i int) {
	is := slices.DeleteFunc(c.hashes[sum], func(j int) bool { return j == i })
	if len(is) == 0 {
		delete(c.hashes, sum)
		return
	}
	c.hashes[sum] = is
}

// write replaces the catalog of data folder dir durably and atomically.
func (c *Catalog) write(dir string) error {
	slices.SortFunc(c.Files, func(a, b DataFile) int { return strings.Compare(a.Path, b.Path) })
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	sum := sha256.Sum256(body)
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(envelope{SHA256: hex.EncodeToString(sum[:]), Catalog: body}); err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, CatalogFile), buf.Bytes())
}

// writeFileAtomic writes data to path through a temporary file, fsyncs it,
// renames it over path and fsyncs the folder.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes the entries of folder dir (creations, renames) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// SourceByPath returns the catalog entry of the source at path.
func (c *Catalog) SourceByPath(path string) (Source, bool) {
	i, ok := c.sources[path]
	if !ok {
		return Source{}, false
	}
	return c.Sources[i], true
}

// SourceByHash returns a source whose content hash is sum, other than the
// one at path except (which may be ""): the first one recorded that is not a
// copy, else the first copy.
func (c *Catalog) SourceByHash(sum, except string) (Source, bool) {
	found := -1
	for _, i := range c.hashes[sum] {
		s := c.Sources[i]
		if s.Path == except || s.Path == "-" {
			continue
		}
		if s.DuplicateOf == "" {
			return s, true
		}
		if found < 0 {
			found = i
		}
	}
	if found < 0 {
		return Source{}, false
	}
	return c.Sources[found], true
}

// hasTxn reports whether transaction id is committed.
func (c *Catalog) hasTxn(id string) bool {
	for i := len(c.Txns) - 1; i >= 0; i-- {
		if c.Txns[i].ID == id {
			return true
		}
	}
	return false
}

// putSource adds or replaces a source entry.
func (c *Catalog) putSource(s Source) {
	whole := s.Whole
	s.Whole = false
	if i, ok := c.sources[s.Path]; ok && s.Path != "-" {
		old := c.Sources[i]
		if !whole {
			// A grown file: the new entry covers the old one's lines too,
			// and a copy stays one (its first lines are still its
			// original's).
			s.Records += old.Records
			s.Stored += old.Stored
			s.Quarantined += old.Quarantined
			if s.DuplicateOf == "" {
				s.DuplicateOf, s.Shared = old.DuplicateOf, old.Shared
			}
		}
		c.removeHash(old.SHA256, i)
		c.Sources[i] = s
		c.addHash(s.SHA256, i)
		return
	}
	c.Sources = append(c.Sources, s)
	c.sources[s.Path] = len(c.Sources) - 1
	c.addHash(s.SHA256, len(c.Sources)-1)
}
