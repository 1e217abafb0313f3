package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// S3Manifest remembers the S3 objects of one bucket that are done (their
// records in the lake, or quarantined), so that later ingests of the bucket
// neither download nor read them again. It is a log of JSON lines, one per
// object, appended and fsynced after each batch: a crash can only cut its
// last line short, and a cut line is ignored when the manifest is read
// (its objects are then downloaded again, and the lake's catalog, which
// knows them by name, size and content, skips them). The catalog is the
// truth; the manifest only saves downloads.
type S3Manifest struct {
	path string
	done map[string]S3ManifestEntry
	f    *os.File
}

// S3ManifestEntry is one object done.
type S3ManifestEntry struct {
	Key  string    `json:"key"`
	ETag string    `json:"etag"`
	Size int64     `json:"size"`
	Done time.Time `json:"done"`
	// Format is the record format its headerless lines were read with: an
	// ingest with another one downloads it again, for the catalog to decide
	// whether to read it again.
	Format string `json:"format,omitempty"`
}

// ManifestDir is the folder of S3 manifests and staged downloads inside the
// data folder.
const ManifestDir = "s3"

// OpenS3Manifest reads the manifest of bucket in data folder dataDir
// (DATA/s3/BUCKET.manifest), empty when there is none yet.
func OpenS3Manifest(dataDir, bucket string) (*S3Manifest, error) {
	dir := filepath.Join(dataDir, ManifestDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	m := &S3Manifest{path: filepath.Join(dir, bucket+".manifest"), done: map[string]S3ManifestEntry{}}
	b, err := os.ReadFile(m.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read S3 manifest: %w", err)
	}
	good := 0 // bytes of complete lines
	for line := 1; len(b) > good; line++ {
		i := bytes.IndexByte(b[good:], '\n')
		if i < 0 {
			break // cut short by a crash
		}
		var e S3ManifestEntry
		if err := json.Unmarshal(b[good:good+i], &e); err != nil {
			return nil, fmt.Errorf("read S3 manifest %s:%d: %w (delete the file to download the bucket's objects again; the lake skips those it holds)", m.path, line, err)
		}
		m.done[e.Key] = e
		good += i + 1
	}
	m.f, err = os.OpenFile(m.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open S3 manifest: %w", err)
	}
	// Drop a cut last line, so appends start on a line of their own.
	if err := m.f.Truncate(int64(good)); err != nil {
		m.f.Close()
		return nil, fmt.Errorf("open S3 manifest: %w", err)
	}
	if _, err := m.f.Seek(int64(good), 0); err != nil {
		m.f.Close()
		return nil, fmt.Errorf("open S3 manifest: %w", err)
	}
	return m, nil
}

// Path returns the manifest's file.
func (m *S3Manifest) Path() string { return m.path }

// Len returns the number of objects done.
func (m *S3Manifest) Len() int { return len(m.done) }

// Done reports whether obj, with the same ETag and size, was done reading
// headerless lines with format.
func (m *S3Manifest) Done(obj S3Object, format string) bool {
	e, ok := m.done[obj.Key]
	return ok && e.ETag == obj.ETag && e.Size == obj.Size && e.Format == format
}

// Mark records entries as done, durably: it returns after the manifest is
// on disk.
func (m *S3Manifest) Mark(entries []S3ManifestEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("encode S3 manifest entry: %w", err)
		}
	}
	w.Flush()
	if _, err := m.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write S3 manifest: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("sync S3 manifest: %w", err)
	}
	for _, e := range entries {
		m.done[e.Key] = e
	}
	return nil
}

// Close closes the manifest.
func (m *S3Manifest) Close() error { return m.f.Close() }
