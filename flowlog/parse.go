package flowlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"unicode/utf8"
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

// Parser reads lines of one format into Records. It holds no state between
// lines and may be shared.
type Parser struct {
	f    *Format
	plan []step
}

// step is how one position of a format is read. An integer is legal when
// uint64(v-lo) <= span: one comparison for both ends of its field's range.
type step struct {
	id   FieldID
	kind uint8
	lo   int64
	span uint64
}

const (
	kindUnknown uint8 = iota
	kindString
	kindTags
	kindInt32
	kindInt64
	kindTime
	kindIP
)

// NewParser returns a parser for lines of format f.
func NewParser(f *Format) *Parser {
	plan := make([]step, len(f.Fields))
	for i, ff := range f.Fields {
		st := step{id: ff.ID, kind: kindUnknown}
		if ff.ID != Unknown {
			fd := &registry[ff.ID]
			switch {
			case ff.ID == Start || ff.ID == End:
				st.kind = kindTime
			case fd.Type == Int32:
				st.kind = kindInt32
			case fd.Type == Int64:
				st.kind = kindInt64
			case fd.Type == IP:
				st.kind = kindIP
			case fd.Tags:
				st.kind = kindTags
			default:
				st.kind = kindString
			}
			lo, hi := fd.Min, fd.Max
			switch {
			case fd.HasRange():
			case fd.Type == Int32:
				lo, hi = math.MinInt32, math.MaxInt32
			default:
				lo, hi = math.MinInt64, math.MaxInt64
			}
			st.lo, st.span = lo, uint64(hi-lo)
		}
		plan[i] = st
	}
	return &Parser{f: f, plan: plan}
}

// Format returns the parser's format.
func (p *Parser) Format() *Format { return p.f }

// msThreshold: times above it are milliseconds (second 1e11 is in the year
// 5138); maxTime is the largest millisecond time whose seconds stay below it,
// so that normalising is idempotent and a written record parses back the same.
const (
	msThreshold = 100_000_000_000
	maxTime     = msThreshold*1000 + 999
)

// Parse reads one line (with or without its line ending) into r. Values are
// separated by one or more spaces or tabs. It does not allocate; r's strings point
// into line, and tabs and percent-encoded tag values are rewritten in place, so
// line must not be modified while r is in use. A line whose values do not match
// the format is a *ParseError, and r is then undefined.
func (p *Parser) Parse(line []byte, r *Record) error {
	line = trimEnd(line)
	plan := p.plan
	r.present, r.null = 0, 0
	r.extra = r.extra[:0]
	r.names = p.f.unknown
	if bytes.IndexByte(line, '\t') >= 0 {
		// Tabs separate like spaces; turning them into spaces lets the loop
		// below look for one separator only.
		for j, c := range line {
			if c == '\t' {
				line[j] = ' '
			}
		}
	}
	i := 0
	for n, st := range plan {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i >= len(line) {
			if n == 0 {
				return &ParseError{Msg: "empty line"}
			}
			missing := p.f.Fields[n].Name
			return &ParseError{Col: len(line) + 1, Field: missing, Msg: fmt.Sprintf("%d values, but the format has %d fields (missing %s)", n, len(plan), missing)}
		}
		start := i
		// Fast paths read plain integers and dotted IPv4 while scanning.
		switch st.kind {
		case kindInt32, kindInt64, kindTime:
			// Values out of their field's range take the careful path,
			// which reports them.
			if v, j, ok := scanUint(line, i); ok && v-uint64(st.lo) <= st.span {
				if st.kind == kindTime && v > msThreshold {
					v /= 1000
				}
				r.present |= 1 << st.id
				r.ints[st.id] = int64(v)
				i = j
				continue
			}
		case kindIP:
			if a, j, ok := scanIPv4(line, i); ok {
				r.present |= 1 << st.id
				r.addrs[addrSlot(st.id)] = a
				r.strs[st.id] = bstr(line[i:j])
				i = j
				continue
			}
		}
		if k := bytes.IndexByte(line[i:], ' '); k >= 0 {
			i += k
		} else {
			i = len(line)
		}
		tok := line[start:i]
		if st.kind == kindUnknown {
			// Text values are looked at byte by byte for control
			// characters and bytes that are not UTF-8 only when they are
			// not printable ASCII, which flow-log values almost never are.
			// Numbers and addresses are checked by their own parsers.
			if !printableASCII(tok) {
				if k, msg := badText(tok); msg != "" {
					return &ParseError{Col: start + k + 1, Field: p.f.Fields[n].Name, Msg: msg}
				}
			}
			r.extra = append(r.extra, bstr(tok))
			continue
		}
		bit := uint64(1) << st.id
		r.present |= bit
		if len(tok) == 1 && tok[0] == '-' {
			r.null |= bit
			continue
		}
		switch st.kind {
		case kindString:
			if !printableASCII(tok) {
				if k, msg := badText(tok); msg != "" {
					return p.fieldError(start+k, st.id, msg)
				}
			}
			r.strs[st.id] = bstr(tok)
		case kindInt32, kindInt64, kindTime:
			v, ok := atoi(tok)
			if !ok {
				return p.fieldError(start, st.id, fmt.Sprintf("expected an integer or -, found %q", clip(tok)))
			}
			switch {
			case st.kind != kindTime && uint64(v-st.lo) > st.span:
				if fd := &registry[st.id]; fd.HasRange() {
					return p.fieldError(start, st.id, fmt.Sprintf("%s is out of range %s", clip(tok), fd.RangeText()))
				}
				return p.fieldError(start, st.id, fmt.Sprintf("%s is out of range for a 32-bit integer", clip(tok)))
			case st.kind == kindTime && (v < 0 || v > maxTime):
				return p.fieldError(start, st.id, fmt.Sprintf("%s is not a Unix time in seconds or milliseconds", clip(tok)))
			case st.kind == kindTime && v > msThreshold:
				v /= 1000
			}
			r.ints[st.id] = v
		case kindIP:
			a, ok := parseAddr(tok)
			if !ok {
				return p.fieldError(start, st.id, fmt.Sprintf("expected an IPv4 or IPv6 address or -, found %q", clip(tok)))
			}
			r.addrs[addrSlot(st.id)] = a
			r.strs[st.id] = bstr(tok)
		case kindTags:
			m, ok := percentDecode(tok)
			if !ok {
				return p.fieldError(start, st.id, fmt.Sprintf("invalid percent-encoding in %q", clip(tok)))
			}
			if _, msg := badText(tok[:m]); msg != "" {
				return p.fieldError(start, st.id, msg+" (after percent-decoding)")
			}
			r.strs[st.id] = bstr(tok[:m])
		}
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i < len(line) {
		return p.tooMany(line, i, len(plan))
	}
	// A flow ends no earlier than it starts.
	const both = 1<<Start | 1<<End
	if r.present&both == both && r.null&both == 0 && r.ints[Start] > r.ints[End] {
		return p.fieldError(p.column(line, End), End, fmt.Sprintf("%d is before start %d", r.ints[End], r.ints[Start]))
	}
	return nil
}

// column returns the 0-based byte offset in line of the value of field id
// (the last one, if the format names it twice), for errors found after the
// values are read.
func (p *Parser) column(line []byte, id FieldID) int {
	col, i := 0, 0
	for _, st := range p.plan {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if st.id == id {
			col = i
		}
		for i < len(line) && line[i] != ' ' {
			i++
		}
	}
	return col
}

// scanUint reads the unsigned decimal that starts at line[i] and ends at a space
// or the end of the line, eight digits at a time where the line allows (SWAR).
// It returns the index after the number; ok is false for anything else, which
// the careful path then reads and reports.
func scanUint(line []byte, i int) (v uint64, end int, ok bool) {
	start := i
	for i+8 <= len(line) {
		w := binary.LittleEndian.Uint64(line[i:])
		// High bit of each byte that is not an ASCII digit. Borrows only run
		// upward, so the lowest flagged byte is the first non-digit.
		nd := ((w + 0x4646464646464646) | (w - 0x3030303030303030)) & 0x8080808080808080
		nd |= w & 0x8080808080808080
		k := bits.TrailingZeros64(nd) / 8 // leading digits in this word (8 if all)
		if k > 0 {
			x := (w - 0x3030303030303030) << (64 - 8*uint(k))
			x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
			x = (x*100 + x>>16) & 0x0000ffff0000ffff
			x = (x*10000 + x>>32) & 0xffffffff
			v = v*pow10[k] + x
			i += k
		}
		if i-start > 18 {
			return 0, i, false
		}
		if k < 8 {
			if i == start || line[i] != ' ' {
				return 0, i, false
			}
			return v, i, true
		}
	}
	for ; i < len(line); i++ {
		d := line[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + uint64(d)
	}
	if i == start || i-start > 18 || i < len(line) && line[i] != ' ' {
		return 0, i, false
	}
	return v, i, true
}

var pow10 = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// scanIPv4 reads a dotted IPv4 address that starts at line[i] and ends at a
// space or the end of the line, returning the index after it. Octets are read
// unrolled: one to three digits, no leading zeros, at most 255.
func scanIPv4(line []byte, i int) (netip.Addr, int, bool) {
	var ip [4]byte
	for k := 0; k < 4; k++ {
		if i >= len(line) {
			return netip.Addr{}, i, false
		}
		v := uint(line[i] - '0')
		if v > 9 {
			return netip.Addr{}, i, false
		}
		i++
		if i < len(line) {
			if d := uint(line[i] - '0'); d <= 9 {
				if v == 0 {
					return netip.Addr{}, i, false // leading zero
				}
				v = v*10 + d
				i++
				if i < len(line) {
					if d := uint(line[i] - '0'); d <= 9 {
						v = v*10 + d
						i++
						if v > 255 {
							return netip.Addr{}, i, false
						}
					}
				}
			}
		}
		ip[k] = byte(v)
		if k < 3 {
			if i >= len(line) || line[i] != '.' {
				return netip.Addr{}, i, false
			}
			i++
		}
	}
	if i < len(line) && line[i] != ' ' {
		return netip.Addr{}, i, false
	}
	return netip.AddrFrom4(ip), i, true
}

// printableASCII reports whether every byte of b is printable ASCII (0x20 to
// 0x7e), eight bytes at a time; the last eight overlap the ones before.
func printableASCII(b []byte) bool {
	if len(b) < 8 {
		for _, c := range b {
			if c-0x20 >= 0x7f-0x20 { // below 0x20 wraps around
				return false
			}
		}
		return true
	}
	bad := asciiWord(binary.LittleEndian.Uint64(b[len(b)-8:]))
	for ; len(b) >= 8; b = b[8:] {
		bad |= asciiWord(binary.LittleEndian.Uint64(b))
	}
	return bad&(0x80*asciiLo) == 0
}

const asciiLo = 0x0101010101010101

// asciiWord has the high bit of each byte of w set that is not printable
// ASCII, or any of them when w has a byte with its high bit set: such a byte
// is bad itself, whatever the carries do to the others. Below 0x80 no byte
// carries: +1 sets the high bit of 0x7f alone, and +0x60 leaves it clear
// below 0x20.
func asciiWord(w uint64) uint64 {
	return w | (w + asciiLo) | ^(w + 0x60*asciiLo)
}

// badText returns the offset in tok of the first byte that cannot be in a text
// value and why ("" when there is none). Flow-log values are printable UTF-8:
// a control character is damage, and bytes that are not UTF-8 would make the
// Parquet files written from the record unreadable (their columns are UTF8).
func badText(tok []byte) (int, string) {
	for k := 0; k < len(tok); {
		c := tok[k]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return k, fmt.Sprintf("expected printable text, found the control character %#02x", c)
			}
			k++
			continue
		}
		r, size := utf8.DecodeRune(tok[k:])
		if r == utf8.RuneError && size == 1 {
			return k, fmt.Sprintf("expected UTF-8 text, found the byte %#02x", c)
		}
		k += size
	}
	return 0, ""
}

func (p *Parser) tooMany(line []byte, start, nt int) error {
	extra := countTokens(line[start:])
	return &ParseError{Col: start + 1, Msg: fmt.Sprintf("%d values, but the format has %d fields (%d too many)", nt+extra, len(p.plan), nt+extra-len(p.plan))}
}

func (p *Parser) fieldError(start int, id FieldID, msg string) error {
	return &ParseError{Col: start + 1, Field: registry[id].Name, Msg: msg}
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

// trimEOL drops the line ending.
func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// trimEnd drops the line ending and any blanks around it, before parsing. A
// line break is never part of a value: a value that is only "\r" or "\n"
// at the end of a line would be written back as a line ending and lost.
func trimEnd(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || isSpace(b[len(b)-1])) {
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
