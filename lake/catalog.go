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

	sources map[string]int // index of Sources by path
	hashes  map[string]int // index of Sources by content hash
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
	// Whole marks a source read again from its first line: its entry
	// replaces the one of the same path instead of adding to it.
	Whole bool `json:"-"`
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
	c.hashes = make(map[string]int, len(c.Sources))
	for i, s := range c.Sources {
		c.sources[s.Path] = i
		if s.SHA256 != "" {
			c.hashes[s.SHA256] = i
		}
	}
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

// SourceByHash returns a source whose content hash is sum.
func (c *Catalog) SourceByHash(sum string) (Source, bool) {
	i, ok := c.hashes[sum]
	if !ok {
		return Source{}, false
	}
	return c.Sources[i], true
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
	if i, ok := c.sources[s.Path]; ok && s.Path != "-" {
		old := c.Sources[i]
		if !s.Whole {
			// A grown file: the new entry covers the old one's lines too.
			s.Records += old.Records
			s.Stored += old.Stored
			s.Quarantined += old.Quarantined
		}
		s.Whole = false
		delete(c.hashes, old.SHA256)
		c.Sources[i] = s
		if s.SHA256 != "" {
			c.hashes[s.SHA256] = i
		}
		return
	}
	c.Sources = append(c.Sources, s)
	c.sources[s.Path] = len(c.Sources) - 1
	if s.SHA256 != "" {
		c.hashes[s.SHA256] = len(c.Sources) - 1
	}
}
