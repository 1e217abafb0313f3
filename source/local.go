// Package source is where flow-log bytes come from: local files (plain or gzip,
// folders, globs, standard input), AWS-delivered Parquet objects and CloudWatch
// Logs exports (both turned into flow-log text with a header line), and, later,
// S3 and CloudWatch Logs themselves. It hands decompressed text streams to the
// flowlog scanner and knows nothing of records beyond the field names.
//
// Main types: File (an open, decoded input) and Kind (what its bytes were).
package source

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Stdin is the name under which standard input is read.
const Stdin = "-"

// gzipMagic starts every gzip member.
var gzipMagic = []byte{0x1f, 0x8b}

// Decompress returns r's content, gunzipped when it starts with the gzip magic
// bytes whatever its name says. Concatenated gzip members are read as one stream.
func Decompress(r io.Reader) (io.Reader, error) {
	d, _, err := decompress(r)
	return d, err
}

func decompress(r io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	if len(head) == 2 && head[0] == gzipMagic[0] && head[1] == gzipMagic[1] {
		zr, err := gzip.NewReader(br)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, true, fmt.Errorf("truncated gzip stream: the header is cut short")
		}
		if err != nil {
			return nil, true, fmt.Errorf("corrupt gzip stream: %w", err)
		}
		return &gzipErrors{zr}, true, nil
	}
	return br, false, nil
}

// gzipErrors names gzip failures in words a user understands.
type gzipErrors struct{ r *gzip.Reader }

func (g *gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch err {
	case nil, io.EOF:
	case io.ErrUnexpectedEOF, gzip.ErrChecksum:
		err = fmt.Errorf("truncated gzip stream: %w", err)
	default:
		err = fmt.Errorf("corrupt gzip stream: %w", err)
	}
	return n, err
}

// Kind is what a source's bytes turned out to be.
type Kind string

// The kinds of input Open recognises by content, never by name.
const (
	Text       Kind = "text"       // flow-log lines
	GzipText   Kind = "gzip"       // gzip-compressed flow-log lines
	Parquet    Kind = "parquet"    // an AWS-delivered Parquet object, read by column name
	CloudWatch Kind = "cloudwatch" // an `aws logs filter-log-events` JSON export
)

// File is an open, decoded local input: Read returns flow-log text.
type File struct {
	io.Reader
	Name string
	Size int64
	Kind Kind
	f    *os.File
	raw  *countReader
	stop func()
}

// RawBytes returns how many bytes of the file itself (before decompression)
// have been read so far.
func (f *File) RawBytes() int64 {
	if f.raw == nil {
		return 0
	}
	return f.raw.n.Load()
}

// Close closes the underlying file (never standard input).
func (f *File) Close() error {
	if f.stop != nil {
		f.stop()
	}
	if f.f == nil || f.f == os.Stdin {
		return nil
	}
	return f.f.Close()
}

// Open opens a local file, or standard input for "-", decompressing gzip and
// turning Parquet objects and CloudWatch exports into flow-log text.
func Open(name string) (*File, error) { return OpenSize(name, -1) }

// OpenSize is Open reading only the first size bytes of the file (all of it
// when size < 0): the size it had when it was listed, so that what a writer
// appends meanwhile is left for the next reading, as lines that the file grew
// by, rather than read without being accounted for.
func OpenSize(name string, limit int64) (*File, error) { return OpenAs(name, name, limit) }

// OpenAs is OpenSize reading the file at path under another name, which
// File.Name and errors show: a downloaded copy of an S3 object is read as
// its s3:// URI.
func OpenAs(path, name string, limit int64) (*File, error) {
	var f *os.File
	var size int64 = -1
	if path == Stdin {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			var pe *fs.PathError
			if path != name && errors.As(err, &pe) {
				pe.Path = name
			}
			return nil, err
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, fmt.Errorf("open %s: is a folder", name)
			}
			size = st.Size()
		}
	}
	fail := func(err error) (*File, error) {
		if f != os.Stdin {
			f.Close()
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	var r io.Reader = f
	if limit >= 0 && path != Stdin {
		size = min(size, limit)
		r = io.LimitReader(f, size)
	}
	raw := &countReader{r: r}
	file := &File{Name: name, Size: size, f: f, raw: raw, Kind: Text}
	if path != Stdin {
		head := make([]byte, 4)
		if n, _ := f.ReadAt(head, 0); n == 4 && string(head) == parquetMagic {
			r, err := openParquet(f, size)
			if err != nil {
				return fail(err)
			}
			raw.n.Store(size)
			file.Reader, file.Kind = r, Parquet
			return file, nil
		}
	}
	r, gz, err := decompress(raw)
	if err != nil {
		return fail(err)
	}
	if gz {
		file.Kind = GzipText
	}
	br := bufio.NewReaderSize(r, 64<<10)
	br = decodeBOM(br)
	if isCloudWatchExport(br) {
		file.Reader, file.Kind = newCloudWatchReader(br), CloudWatch
		return file, nil
	}
	if gz && size > prefetchMinSize {
		// Decompress ahead on another goroutine, so one large object keeps
		// two cores busy: one inflating, one parsing. (Small objects, the
		// usual S3 case, are read in parallel with each other instead.)
		p := newPrefetch(br)
		file.Reader, file.stop = p, p.close
		return file, nil
	}
	file.Reader = br
	return file, nil
}

// Expand turns arguments (files, folders searched recursively, globs, "-") into
// the list of files to read, sorted within each folder so runs are repeatable.
// Hidden files and folders (".name") inside folders are skipped; symbolic
// links to files and folders are followed.
func Expand(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == Stdin {
			out = append(out, a)
			continue
		}
		matches := []string{a}
		if strings.ContainsAny(a, "*?[") {
			m, err := filepath.Glob(a)
			if err != nil {
				return nil, fmt.Errorf("glob %q: %w", a, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("glob %q matches no files", a)
			}
			matches = m
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, err
			}
			if !st.IsDir() {
				out = append(out, m)
				continue
			}
			files := walkFolder(m)
			sort.Strings(files)
			out = append(out, files...)
		}
	}
	return out, nil
}

// walkFolder returns the files under folder dir, skipping hidden entries. It
// follows symbolic links (dir itself may be one, as may the files and folders
// in it), walking each real folder once so that a link to a folder above
// cannot loop. A link that leads nowhere and a folder that cannot be listed
// are listed themselves, so that reading them fails with a message for them
// alone rather than them being left out unsaid or stopping the whole walk.
func walkFolder(dir string) []string {
	var files []string
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			files = append(files, dir)
			return
		}
		if seen[real] {
			return
		}
		seen[real] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			files = append(files, dir)
			return
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			typ := e.Type()
			if typ&fs.ModeSymlink != 0 {
				st, err := os.Stat(p)
				if err != nil {
					files = append(files, p)
					continue
				}
				typ = st.Mode().Type()
			}
			switch {
			case typ.IsDir():
				walk(p)
			case typ.IsRegular():
				files = append(files, p)
			}
		}
	}
	walk(dir)
	return files
}
