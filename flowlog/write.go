package flowlog

import (
	"strconv"
	"unicode/utf8"
)

// Append appends r as a line of format f (without a line ending). Fields r does
// not have are written as "-", so a record parsed in one format can be written in
// any other, and parse → Append → parse gives the same record.
func (f *Format) Append(dst []byte, r *Record) []byte {
	for i, ff := range f.Fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		if ff.ID == Unknown {
			if v, ok := r.Extra(ff.Name); ok && v != "" {
				dst = append(dst, v...)
			} else {
				dst = append(dst, '-')
			}
			continue
		}
		dst = r.AppendValue(dst, ff.ID)
	}
	return dst
}

// AppendJSON appends r as one JSON object keyed by column names, in the order of
// format f: fields f lacks are omitted, null fields are null, numbers are numbers.
func (f *Format) AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, '{')
	first := true
	for _, ff := range f.Fields {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, ff.Column())
		dst = append(dst, ':')
		if ff.ID == Unknown {
			if v, ok := r.Extra(ff.Name); ok {
				dst = appendJSONString(dst, v)
			} else {
				dst = append(dst, "null"...)
			}
			continue
		}
		if r.IsNull(ff.ID) {
			dst = append(dst, "null"...)
			continue
		}
		switch registry[ff.ID].Type {
		case Int32, Int64:
			dst = strconv.AppendInt(dst, r.ints[ff.ID], 10)
		default:
			s, _ := r.Str(ff.ID)
			dst = appendJSONString(dst, s)
		}
	}
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
