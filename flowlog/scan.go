package flowlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes is the longest line a Scanner accepts. Flow-log lines are a few
// hundred bytes; anything longer is rejected (and skipped) rather than buffered.
const MaxLineBytes = 1 << 20

// LineError is a line that could not be read as a record. Scanning goes on after it.
type LineError struct {
	Line int    // 1-based line number in the stream
	Raw  []byte // the line as read (clipped to 4 KiB); valid until the next call
	Err  error  // a *ParseError, a *FormatError, or a description
}

func (e *LineError) Error() string { return fmt.Sprintf("%d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Scanner reads records from a stream of flow-log lines. Header lines, wherever
// they stand, switch the format (S3 objects concatenated into one stream each
// start with one). Blank lines are skipped; a line wrapped as {"message": "…"}
// (as some shippers write) is unwrapped.
type Scanner struct {
	br      *bufio.Reader
	p       *Parser
	cur     *Format // format of the record last returned
	guess   bool
	rec     Record
	line    int
	partial bool // the line last read had no line ending: the stream ended in it
	raw     []byte
	buf     []byte
	headers int
	guessed map[*Format]*Parser
	notes   []string
}

// ScanOptions configure a Scanner.
type ScanOptions struct {
	// Format is the format until a header line says otherwise; nil means the default.
	Format *Format
	// Guess picks the layout of each headerless line from its number of values
	// (see GuessFormat) instead of using Format.
	Guess bool
}

// NewScanner returns a scanner over r.
func NewScanner(r io.Reader, o ScanOptions) *Scanner {
	f := o.Format
	if f == nil {
		f = defaultFormat
	}
	return &Scanner{br: bufio.NewReaderSize(r, 256<<10), p: NewParser(f), guess: o.Guess}
}

// Format returns the format of the record last returned (before the first
// record, the format in force).
func (s *Scanner) Format() *Format {
	if s.cur != nil {
		return s.cur
	}
	return s.p.f
}

// Line returns the number of the line last read.
func (s *Scanner) Line() int { return s.line }

// Raw returns the text of the line last read, without its line ending; valid
// until the next call.
func (s *Scanner) Raw() []byte { return s.raw }

// Partial reports whether the line last read ran to the end of the stream
// without a line ending, as the last line of a file that is still being
// written, or was cut short, does.
func (s *Scanner) Partial() bool { return s.partial }

// Headers returns how many header lines were read.
func (s *Scanner) Headers() int { return s.headers }

// Notes returns what the scanner assumed that the user should know (guessed
// layouts, aliases in headers), once each.
func (s *Scanner) Notes() []string { return s.notes }

// Next returns the next record. A line that is not a valid record gives a
// *LineError, after which Next may be called again. At the end of the stream it
// returns io.EOF; any other error (a read error, a truncated gzip stream) ends
// the scan.
func (s *Scanner) Next() (*Record, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return nil, err
		}
		s.raw = line
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if line[0] == '{' {
			msg, ok := unwrapMessage(line)
			if !ok {
				return nil, &LineError{Line: s.line, Raw: clipRaw(line), Err: errors.New(`a JSON line without a "message" string`)}
			}
			line = msg
		}
		if IsHeader(line) {
			f, err := ParseFormat(string(trimEOL(line)))
			if err != nil {
				return nil, &LineError{Line: s.line, Raw: clipRaw(line), Err: fmt.Errorf("header line: %w", err)}
			}
			s.headers++
			for _, n := range f.Notes {
				s.note(n)
			}
			s.p = NewParser(f)
			continue
		}
		p := s.p
		if s.guess && s.headers == 0 {
			f, ok := GuessFormat(line)
			if !ok {
				return nil, &LineError{Line: s.line, Raw: clipRaw(line), Err: fmt.Errorf("%d values match none of AWS's documented layouts (14, 6, 17, 21, 29, 36, 39 or 40 values): give --format", countTokens(trimEOL(line)))}
			}
			p = s.guessParser(f)
		}
		if err := p.Parse(line, &s.rec); err != nil {
			return nil, &LineError{Line: s.line, Raw: clipRaw(line), Err: err}
		}
		s.cur = p.f
		return &s.rec, nil
	}
}

// guessParser returns the parser of a guessed layout, made once per layout.
func (s *Scanner) guessParser(f *Format) *Parser {
	if s.guessed == nil {
		s.guessed = map[*Format]*Parser{}
	}
	p, ok := s.guessed[f]
	if !ok {
		p = NewParser(f)
		s.guessed[f] = p
		s.note(fmt.Sprintf("guessed the layout from %d values per line: %s", f.Len(), f.Header()))
	}
	return p
}

func (s *Scanner) note(n string) {
	for _, m := range s.notes {
		if m == n {
			return
		}
	}
	s.notes = append(s.notes, n)
}

// readLine returns the next line without its ending. A line longer than
// MaxLineBytes is skipped to its end and reported as a LineError.
func (s *Scanner) readLine() ([]byte, error) {
	s.line++
	s.buf = s.buf[:0]
	s.partial = false
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(s.buf)+len(chunk) > MaxLineBytes {
			total := len(s.buf) + len(chunk)
			head := append([]byte(nil), s.buf[:min(len(s.buf), 4096)]...)
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = s.br.ReadSlice('\n')
				total += len(chunk)
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			if err == nil {
				total-- // the line ending is not part of the line
			}
			return nil, &LineError{Line: s.line, Raw: head, Err: fmt.Errorf("line of %d bytes is longer than the %d-byte limit for a flow-log record", total, MaxLineBytes)}
		}
		s.buf = append(s.buf, chunk...)
		if s.line == 1 {
			// Editors on Windows start UTF-8 files with a byte-order mark; it
			// is not part of the first line's header or record.
			s.buf = bytes.TrimPrefix(s.buf, utf8BOM)
		}
		switch {
		case err == nil:
			return trimEOL(s.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if len(s.buf) == 0 {
				return nil, io.EOF
			}
			s.partial = true
			return trimEOL(s.buf), nil
		default:
			return nil, err
		}
	}
}

var utf8BOM = []byte("\ufeff")

func clipRaw(b []byte) []byte {
	if len(b) > 4096 {
		return b[:4096]
	}
	return b
}

func unwrapMessage(line []byte) ([]byte, bool) {
	var m struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(line, &m); err != nil || m.Message == nil {
		return nil, false
	}
	return []byte(*m.Message), true
}
