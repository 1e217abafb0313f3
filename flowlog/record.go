package flowlog

import (
	"net/netip"
	"strconv"
)

// Record is one flow-log record. Its fields are typed by the registry; a field is
// either absent (not in the record's format), null (written as "-") or set.
//
// Strings of a parsed record point into the parsed line without copying: they are
// valid only until the line's buffer is reused. Copy what you keep.
type Record struct {
	present uint64 // bit per FieldID: the field is in the record
	null    uint64 // bit per FieldID: the field is "-"
	ints    [NumFields]int64
	strs    [NumFields]string
	addrs   [4]netip.Addr // SrcAddr, DstAddr, PktSrcAddr, PktDstAddr
	extra   []string      // values of the format's unknown fields, in format order
	names   []string      // names of those fields
}

// The registry must fit the bit sets.
var _ [64 - NumFields]struct{}

func addrSlot(id FieldID) int {
	switch id {
	case SrcAddr:
		return 0
	case DstAddr:
		return 1
	case PktSrcAddr:
		return 2
	case PktDstAddr:
		return 3
	}
	return -1
}

// Reset clears the record.
func (r *Record) Reset() {
	r.present, r.null = 0, 0
	r.extra = r.extra[:0]
	r.names = nil
}

// Has reports whether field id is in the record (set or null).
func (r *Record) Has(id FieldID) bool { return r.present&(1<<id) != 0 }

// IsNull reports whether field id is absent or null.
func (r *Record) IsNull(id FieldID) bool { return r.present&(1<<id) == 0 || r.null&(1<<id) != 0 }

// Int returns the value of an integer field; ok is false when it is null or absent.
func (r *Record) Int(id FieldID) (v int64, ok bool) {
	if r.IsNull(id) {
		return 0, false
	}
	return r.ints[id], true
}

// Str returns the text of a string or IP field; ok is false when it is null or absent.
func (r *Record) Str(id FieldID) (s string, ok bool) {
	if r.IsNull(id) {
		return "", false
	}
	if registry[id].Type == IP && r.strs[id] == "" {
		return r.addrs[addrSlot(id)].String(), true
	}
	return r.strs[id], true
}

// Addr returns the address of an IP field; ok is false when it is null or absent.
func (r *Record) Addr(id FieldID) (a netip.Addr, ok bool) {
	if r.IsNull(id) {
		return netip.Addr{}, false
	}
	return r.addrs[addrSlot(id)], true
}

// Extra returns the value of an unknown field by name, as the format wrote it.
func (r *Record) Extra(name string) (v string, ok bool) {
	for i, n := range r.names {
		if n == name && i < len(r.extra) {
			if r.extra[i] == "-" {
				return "", false
			}
			return r.extra[i], true
		}
	}
	return "", false
}

// SetInt sets an integer field.
func (r *Record) SetInt(id FieldID, v int64) {
	r.present |= 1 << id
	r.null &^= 1 << id
	r.ints[id] = v
}

// SetString sets a string field. For an IP field, s must be a valid address.
func (r *Record) SetString(id FieldID, s string) {
	r.present |= 1 << id
	r.null &^= 1 << id
	r.strs[id] = s
	if slot := addrSlot(id); slot >= 0 {
		r.addrs[slot], _ = netip.ParseAddr(s)
	}
}

// SetAddr sets an IP field.
func (r *Record) SetAddr(id FieldID, a netip.Addr) {
	r.present |= 1 << id
	r.null &^= 1 << id
	r.strs[id] = ""
	r.addrs[addrSlot(id)] = a
}

// SetNull marks field id as present and null ("-").
func (r *Record) SetNull(id FieldID) {
	r.present |= 1 << id
	r.null |= 1 << id
}

// Status returns the record's log-status ("OK" when the format has none).
func (r *Record) Status() string {
	if s, ok := r.Str(LogStatus); ok {
		return s
	}
	return "OK"
}

// AppendValue appends the text of field id as a flow-log line writes it ("-" for
// null or absent).
func (r *Record) AppendValue(dst []byte, id FieldID) []byte {
	if r.IsNull(id) {
		return append(dst, '-')
	}
	f := &registry[id]
	switch f.Type {
	case Int32, Int64:
		return strconv.AppendInt(dst, r.ints[id], 10)
	case IP:
		if s := r.strs[id]; s != "" {
			return append(dst, s...)
		}
		return r.addrs[addrSlot(id)].AppendTo(dst)
	}
	if f.Tags {
		return appendPercentEncoded(dst, r.strs[id])
	}
	return append(dst, r.strs[id]...)
}
