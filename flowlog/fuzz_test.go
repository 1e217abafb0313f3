package flowlog_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/flowlog"
)

// seedLines adds every line of the external samples to the corpus.
func seedLines(f *testing.F, add func(string)) {
	add(defaultLine)
	add(v5Line)
	files, _ := filepath.Glob(filepath.Join(external, "vpcflow_*", "*.log"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			add(line)
		}
	}
}

// FuzzParseLine checks that no line makes the parser panic, that errors point
// inside the line, and that accepted records survive a write and a re-parse.
func FuzzParseLine(f *testing.F) {
	seedLines(f, func(s string) { f.Add(s, 0) })
	formats := []*flowlog.Format{
		flowlog.Default(),
		flowlog.MustFormat(v5Format),
		flowlog.MustFormat("${srcaddr} ${src-tags} ${new-field} ${start} ${tgw-id}"),
	}
	f.Fuzz(func(t *testing.T, line string, which int) {
		format := formats[uint(which)%uint(len(formats))]
		buf := []byte(line)
		var r flowlog.Record
		err := flowlog.NewParser(format).Parse(buf, &r)
		if err != nil {
			var pe *flowlog.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Col < 0 || pe.Col > len(line)+1 {
				t.Fatalf("error column %d outside a line of %d bytes", pe.Col, len(line))
			}
			return
		}
		out := format.Append(nil, &r)
		var r2 flowlog.Record
		if err := flowlog.NewParser(format).Parse(bytes.Clone(out), &r2); err != nil {
			t.Fatalf("written line %q does not parse back: %v", out, err)
		}
		if a, b := format.AppendJSON(nil, &r), format.AppendJSON(nil, &r2); !bytes.Equal(a, b) {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

// FuzzParseFormat checks format strings: no panic, errors inside the input, and
// accepted formats print to a string that parses to the same format.
func FuzzParseFormat(f *testing.F) {
	f.Add(flowlog.DefaultFormat)
	f.Add(v5Format)
	f.Add("${windowstart} ${windowend} ${flow-log-status} ${new-field}")
	f.Add("version srcaddr log_status")
	f.Add("${srcaddr")
	seedLines(f, func(s string) {
		if flowlog.IsHeader([]byte(s)) {
			f.Add(s)
		}
	})
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := flowlog.ParseFormat(s)
		if err != nil {
			var fe *flowlog.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			if fe.Pos < 0 || fe.Pos > len(s) {
				t.Fatalf("error position %d outside a format of %d bytes", fe.Pos, len(s))
			}
			return
		}
		again, err := flowlog.ParseFormat(fm.String())
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", fm.String(), err)
		}
		if !again.Equal(fm) {
			t.Fatalf("%q → %q changes the format", s, fm.String())
		}
		if h, err := flowlog.ParseFormat(fm.Header()); err != nil || !h.Equal(fm) {
			t.Fatalf("Header() %q does not give the same format: %v", fm.Header(), err)
		}
	})
}

// FuzzScanner feeds whole streams (headers, JSON wrapping, junk) to the scanner.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("version srcaddr\n2 10.0.0.1\n{\"message\":\"2 10.0.0.2\"}\n\x00\xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := flowlog.NewScanner(bytes.NewReader(data), flowlog.ScanOptions{})
		for i := 0; i < 100000; i++ {
			_, err := sc.Next()
			var le *flowlog.LineError
			if err != nil && !errors.As(err, &le) {
				return
			}
		}
		t.Fatal("scanner did not finish")
	})
}
