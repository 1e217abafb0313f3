package flowlog

import (
	"fmt"
	"math"
	"net/netip"
	"unsafe"
)

// ParseError is a line that does not match its format. Col is the 1-based byte
// column where the problem starts (0 when it concerns the whole line).
type ParseError struct {
	Col   int
	Field string // the field being read, if any
	Msg   string
}

func (e *ParseError) Error() string {
	switch {
	case e.Field != "" && e.Col > 0:
		return fmt.Sprintf("column %d (%s): %s", e.Col, e.Field, e.Msg)
	case e.Col > 0:
		return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
	}
	return e.Msg
}

// Parser reads lines of one format into Records.
type Parser struct {
	f *Format
}

// NewParser returns a parser for lines of format f.
func NewParser(f *Format) *Parser { return &Parser{f: f} }

// Format returns the parser's format.
func (p *Parser) Format() *Format { return p.f }

// msPerS: values above this are milliseconds (second 1e11 is in the year 5138).
const msThreshold = 100_000_000_000

// Parse reads one line (with or without its line ending) into r. Values are
// separated by one or more spaces or tabs. It does not allocate; r's strings point
// into line, and percent-encoded tag values are decoded in place, so line must not
// be modified while r is in use. A line whose values do not match the format is a
// *ParseError, and r is then undefined.
func (p *Parser) Parse(line []byte, r *Record) error {
	line = trimEOL(line)
	f := p.f
	r.present, r.null = 0, 0
	r.extra = r.extra[:0]
	r.names = f.unknown
	n := 0
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		start := i
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
		if n >= len(f.Fields) {
			extra := n - len(f.Fields) + 1 + countTokens(line[i:])
			return &ParseError{Col: start + 1, Msg: fmt.Sprintf("%d values, but the format has %d fields (%d too many)", len(f.Fields)+extra, len(f.Fields), extra)}
		}
		if err := r.setToken(f.Fields[n], line[start:i]); err != nil {
			err.Col = start + 1
			return err
		}
		n++
	}
	if n < len(f.Fields) {
		if n == 0 {
			return &ParseError{Msg: "empty line"}
		}
		return &ParseError{Col: len(line) + 1, Field: f.Fields[n].Name, Msg: fmt.Sprintf("%d values, but the format has %d fields (missing %s)", n, len(f.Fields), f.Fields[n].Name)}
	}
	return nil
}

func (r *Record) setToken(ff FormatField, tok []byte) *ParseError {
	if ff.ID == Unknown {
		r.extra = append(r.extra, bstr(tok))
		return nil
	}
	id := ff.ID
	bit := uint64(1) << id
	r.present |= bit
	if len(tok) == 1 && tok[0] == '-' {
		r.null |= bit
		return nil
	}
	f := &registry[id]
	switch f.Type {
	case Int32, Int64:
		v, ok := atoi(tok)
		if !ok {
			return &ParseError{Field: f.Name, Msg: fmt.Sprintf("expected an integer or -, found %q", clip(tok))}
		}
		if f.Type == Int32 && (v > math.MaxInt32 || v < math.MinInt32) {
			return &ParseError{Field: f.Name, Msg: fmt.Sprintf("%s is out of range for a 32-bit integer", clip(tok))}
		}
		if (id == Start || id == End) && v > msThreshold {
			v /= 1000
		}
		r.ints[id] = v
	case IP:
		a, ok := parseAddr(tok)
		if !ok {
			return &ParseError{Field: f.Name, Msg: fmt.Sprintf("expected an IPv4 or IPv6 address or -, found %q", clip(tok))}
		}
		r.addrs[addrSlot(id)] = a
		r.strs[id] = bstr(tok)
	default:
		if f.Tags {
			m, ok := percentDecode(tok)
			if !ok {
				return &ParseError{Field: f.Name, Msg: fmt.Sprintf("invalid percent-encoding in %q", clip(tok))}
			}
			tok = tok[:m]
		}
		r.strs[id] = bstr(tok)
	}
	return nil
}

// bstr views b as a string without copying.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:61]) + "..."
	}
	return string(b)
}

func atoi(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}

// parseAddr parses dotted IPv4 by hand (the common case) and leaves anything else
// to netip, which does not allocate for addresses without a zone.
func parseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	a, err := netip.ParseAddr(bstr(b))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	k, v, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && v == 0 { // leading zero
				return netip.Addr{}, false
			}
			v = v*10 + int(c-'0')
			digits++
			if v > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && k < 3:
			ip[k] = byte(v)
			k, v, digits = k+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if k != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(v)
	return netip.AddrFrom4(ip), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes %XX escapes of b in place and returns the new length.
func percentDecode(b []byte) (int, bool) {
	w := 0
	for r := 0; r < len(b); r++ {
		c := b[r]
		if c == '%' {
			if r+2 >= len(b) {
				return 0, false
			}
			hi, ok1 := unhex(b[r+1])
			lo, ok2 := unhex(b[r+2])
			if !ok1 || !ok2 {
				return 0, false
			}
			c = hi<<4 | lo
			r += 2
		}
		b[w] = c
		w++
	}
	return w, true
}

const hexDigits = "0123456789ABCDEF"

// appendPercentEncoded escapes what cannot stand in a space-separated value.
func appendPercentEncoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '%' || c >= 0x7f {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
