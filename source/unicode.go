package source

import (
	"bufio"
	"encoding/binary"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeBOM reads a byte-order mark at the start of br: a UTF-8 one is
// dropped, and text after a UTF-16 one is decoded into UTF-8. Windows tools
// write them: PowerShell 5 redirects output (an 'aws logs filter-log-events'
// export among it) as UTF-16LE, editors save UTF-8 with a mark.
func decodeBOM(br *bufio.Reader) *bufio.Reader {
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf:
		br.Discard(3)
	case len(head) >= 2 && head[0] == 0xff && head[1] == 0xfe:
		br.Discard(2)
		return bufio.NewReaderSize(&utf16Reader{r: br, order: binary.LittleEndian}, 64<<10)
	case len(head) >= 2 && head[0] == 0xfe && head[1] == 0xff:
		br.Discard(2)
		return bufio.NewReaderSize(&utf16Reader{r: br, order: binary.BigEndian}, 64<<10)
	}
	return br
}

// utf16Reader decodes UTF-16 text into UTF-8. A code unit cut by the end of
// the text, or a lone surrogate, becomes U+FFFD.
type utf16Reader struct {
	r     io.Reader
	order binary.ByteOrder
	buf   []byte // raw bytes; the first carry of them are left from the last read
	carry int
	out   []byte
	off   int
	err   error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for u.off >= len(u.out) {
		if u.err != nil {
			return 0, u.err
		}
		u.fill()
	}
	n := copy(p, u.out[u.off:])
	u.off += n
	return n, nil
}

func (u *utf16Reader) fill() {
	if u.buf == nil {
		u.buf = make([]byte, 32<<10)
	}
	n, err := u.r.Read(u.buf[u.carry:])
	data := u.buf[:u.carry+n]
	u.err = err
	u.out, u.off = u.out[:0], 0
	end := len(data) &^ 1
	// A high surrogate at the end waits for its pair, unless the text ends.
	if err == nil && end >= 2 {
		if c := rune(u.order.Uint16(data[end-2:])); c >= 0xd800 && c < 0xdc00 {
			end -= 2
		}
	}
	for i := 0; i < end; i += 2 {
		c := rune(u.order.Uint16(data[i:]))
		if utf16.IsSurrogate(c) {
			c2 := utf8.RuneError
			if i+4 <= end {
				c2 = utf16.DecodeRune(c, rune(u.order.Uint16(data[i+2:])))
			}
			if c2 != utf8.RuneError {
				i += 2
			}
			c = c2
		}
		u.out = utf8.AppendRune(u.out, c)
	}
	u.carry = copy(u.buf, data[end:])
	if err != nil && u.carry > 0 {
		u.out = utf8.AppendRune(u.out, utf8.RuneError)
		u.carry = 0
	}
}
