package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

func TestOpenKinds(t *testing.T) {
	dir := t.TempDir()
	text := "version srcaddr\n2 10.0.0.1\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	// A large gzip object goes through the read-ahead goroutine.
	var big, bigText bytes.Buffer
	zw = gzip.NewWriter(&big)
	zw.Write([]byte("version srcaddr\n"))
	bigText.WriteString("version srcaddr\n")
	for i := 0; big.Len() < prefetchMinSize+1; i++ {
		l := fmt.Sprintf("2 10.%d.%d.%d %x\n", i>>16&255, i>>8&255, i&255, i*2654435761)
		zw.Write([]byte(l))
		bigText.WriteString(l)
	}
	zw.Close()
	type row struct {
		Version int32  `parquet:"version"`
		Src     string `parquet:"srcaddr,optional"`
		Tags    string `parquet:"src_tags,optional"`
	}
	var pq bytes.Buffer
	pw := parquet.NewGenericWriter[row](&pq)
	pw.Write([]row{{2, "10.0.0.1", "a b=c%"}, {3, "", ""}})
	pw.Close()
	cw := `{"events":[{"logStreamName":"s","timestamp":1,"message":"2 10.0.0.1\n"},{"logStreamName":"s","timestamp":2,"message":"2 10.0.0.2"}],"searchedLogStreams":[]}
{"nextToken":"x","events":[{"message":"2 10.0.0.3"}]}`

	cases := []struct {
		name string
		data []byte
		kind Kind
		want string
	}{
		{"text", []byte(text), Text, text},
		{"gzip", gz.Bytes(), GzipText, text},
		{"large gzip", big.Bytes(), GzipText, bigText.String()},
		{"parquet", pq.Bytes(), Parquet, "version srcaddr src-tags\n2 10.0.0.1 a%20b=c%25\n3 - -\n"},
		{"cloudwatch", []byte(cw), CloudWatch, "2 10.0.0.1\n2 10.0.0.2\n2 10.0.0.3\n"},
		{"message lines stay text", []byte(`{"message":"2 10.0.0.1"}` + "\n"), Text, `{"message":"2 10.0.0.1"}` + "\n"},
		// What Windows PowerShell writes when output is redirected to a file.
		{"cloudwatch in UTF-16LE", utf16Bytes(cw, false), CloudWatch, "2 10.0.0.1\n2 10.0.0.2\n2 10.0.0.3\n"},
		{"cloudwatch in UTF-8 with a byte-order mark", append([]byte("\ufeff"), cw...), CloudWatch, "2 10.0.0.1\n2 10.0.0.2\n2 10.0.0.3\n"},
		{"text in UTF-16BE, beyond the BMP", utf16Bytes(text+"2 \U0001F600\n", true), Text, text + "2 \U0001F600\n"},
		{"gzip of UTF-16LE text", gzipBytes(utf16Bytes(text, false)), GzipText, text},
		{"UTF-16 cut in a code unit and a lone surrogate", append(utf16Bytes("2 1\n\U0001F600", false)[:12], 0x41), Text, "2 1\n\ufffd\ufffd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			os.WriteFile(path, tc.data, 0o644)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != tc.kind {
				t.Errorf("kind %s, want %s", f.Kind, tc.kind)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if f.RawBytes() != int64(len(tc.data)) {
				t.Errorf("raw bytes %d, want %d", f.RawBytes(), len(tc.data))
			}
		})
	}
}

func TestTruncatedGzip(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(zw, "line %d %x\n", i, i*2654435761)
	}
	zw.Close()
	for _, n := range []int{gz.Len() / 2, gz.Len() - 4, 5} {
		path := filepath.Join(t.TempDir(), "cut.gz")
		os.WriteFile(path, gz.Bytes()[:n], 0o644)
		f, err := Open(path)
		if err != nil {
			if !strings.Contains(err.Error(), "truncated gzip stream") {
				t.Errorf("cut at %d: open: %v", n, err)
			}
			continue
		}
		_, err = io.ReadAll(f)
		f.Close()
		if err == nil || !strings.Contains(err.Error(), "truncated gzip stream") {
			t.Errorf("cut at %d: %v, want a truncated gzip stream", n, err)
		}
	}
}

func FuzzCloudWatch(f *testing.F) {
	f.Add([]byte(`{"events":[{"logStreamName":"s","timestamp":1,"message":"2 10.0.0.1"}],"searchedLogStreams":[]}`))
	f.Add([]byte(`{"events":[{"message":"a"},{"message":1}]}`))
	f.Add([]byte(`{"nextToken":"x","events":[`))
	f.Add([]byte(`{"events":{}}{"events":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		if !isCloudWatchExport(br) {
			return
		}
		out, err := io.ReadAll(newCloudWatchReader(br))
		if err == nil && len(out) > 0 && out[len(out)-1] != '\n' {
			t.Errorf("output does not end with a line ending: %q", out)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "CloudWatch export, byte ") {
			t.Errorf("error without a position: %v", err)
		}
	})
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, rel string) {
		if err := os.Symlink(target, filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	mk("logs/a.log")
	mk("logs/sub/b.log")
	mk("logs/.hidden/c.log")
	mk("logs/.d.log")
	mk("other/e.log")
	link("../other/e.log", "logs/e-link.log") // a symbolic link to a file
	link("../other", "logs/other-link")       // … to a folder
	link("..", "logs/sub/loop")               // … to a folder above: walked once
	link("logs", "current")                   // the argument itself is a link
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"folder", []string{"logs"}, []string{"logs/a.log", "logs/e-link.log", "logs/other-link/e.log", "logs/sub/b.log"}},
		{"link to a folder", []string{"current"}, []string{"current/a.log", "current/e-link.log", "current/other-link/e.log", "current/sub/b.log"}},
		{"glob and file", []string{"other/*.log", "logs/a.log", "-"}, []string{"other/e.log", "logs/a.log", "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			for _, a := range tt.args {
				if a != Stdin {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			got, err := Expand(args)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range got {
				if rel, err := filepath.Rel(dir, p); err == nil && p != Stdin {
					got[i] = filepath.ToSlash(rel)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestExpandUnreadableFolder: a folder that cannot be listed is returned as a
// source, so that reading it fails with a message for that folder alone and
// the other files are still read.
func TestExpandUnreadableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permissions do not stop root from listing a folder")
	}
	dir := t.TempDir()
	for _, rel := range []string{"a.log", "locked/b.log"} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	locked := filepath.Join(dir, "locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	got, err := Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{filepath.Join(dir, "a.log"), locked}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := Open(locked); err == nil {
		t.Errorf("Open(%s) of an unreadable folder succeeded", locked)
	}
}

// utf16Bytes encodes s as UTF-16 with a byte-order mark.
func utf16Bytes(s string, bigEndian bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if bigEndian {
		order = binary.BigEndian
	}
	out := order.AppendUint16(nil, 0xfeff)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
