// Package source is where flow-log bytes come from: local files (plain or gzip,
// folders, globs, standard input) and, later, S3 and CloudWatch Logs. It hands
// decompressed streams to the flowlog scanner and knows nothing of records.
package source

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Stdin is the name under which standard input is read.
const Stdin = "-"

// gzipMagic starts every gzip member.
var gzipMagic = []byte{0x1f, 0x8b}

// Decompress returns r's content, gunzipped when it starts with the gzip magic
// bytes whatever its name says. Concatenated gzip members are read as one stream.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(head) == 2 && head[0] == gzipMagic[0] && head[1] == gzipMagic[1] {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip header: %w", err)
		}
		return &gzipErrors{zr}, nil
	}
	return br, nil
}

// gzipErrors names gzip failures in words a user understands.
type gzipErrors struct{ r *gzip.Reader }

func (g *gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch err {
	case nil, io.EOF:
	case io.ErrUnexpectedEOF:
		err = fmt.Errorf("truncated gzip stream: %w", err)
	default:
		err = fmt.Errorf("corrupt gzip stream: %w", err)
	}
	return n, err
}

// File is an open, decompressed local input.
type File struct {
	io.Reader
	Name string
	Size int64
	f    *os.File
}

// Close closes the underlying file (never standard input).
func (f *File) Close() error {
	if f.f == nil || f.f == os.Stdin {
		return nil
	}
	return f.f.Close()
}

// Open opens a local file, or standard input for "-", decompressing gzip.
func Open(name string) (*File, error) {
	var f *os.File
	var size int64 = -1
	if name == Stdin {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(name); err != nil {
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
	r, err := Decompress(f)
	if err != nil {
		if f != os.Stdin {
			f.Close()
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &File{Reader: r, Name: name, Size: size, f: f}, nil
}

// Expand turns arguments (files, folders searched recursively, globs, "-") into
// the list of files to read, sorted within each folder so runs are repeatable.
// Hidden files and folders (".name") inside folders are skipped.
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
			var files []string
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p != m && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("walk %s: %w", m, err)
			}
			sort.Strings(files)
			out = append(out, files...)
		}
	}
	return out, nil
}
