package lake

import (
	"cmp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/flowlens/flowlens/flowlog"
)

// Day is a UTC calendar day, counted in days since 1970-01-01: the partition a
// record belongs to.
type Day int32

// DayOf returns the UTC day of Unix time sec.
func DayOf(sec int64) Day {
	d := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		d--
	}
	return Day(d)
}

// Time returns midnight UTC of d.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Dir returns the Hive partition folder of d, relative to the table folder:
// year=YYYY/month=MM/day=DD.
func (d Day) Dir() string { return d.Time().Format("year=2006/month=01/day=02") }

// String returns d as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format("2006-01-02") }

// Batch holds rows of one partition in columns, ready to be sorted and written.
// Strings are interned per column, so a Batch owns copies of everything it
// holds and the records it was built from can be reused at once.
type Batch struct {
	Day   Day
	n     int
	cols  [flowlog.NumFields]*column
	extra *column
	arena arena
	json  []byte
}

// column holds one field's values in fixed-size chunks drawn from pools, so a
// growing batch never copies what it holds and a written batch's memory is
// reused by the next. Rows not yet written are null: a column shorter than
// the batch is padded when it is next written and when the batch is finished.
type column struct {
	typ  flowlog.Type
	n    int
	ints [][]int64  // integer values, chunk by chunk
	ok   [][]bool   // integers: the value is set
	ids  [][]uint32 // strings: dictionary id, 0 for null
	dict map[string]uint32
	vals []string // vals[0] is the null placeholder
	// last and lastID cache the last string interned: flow logs repeat
	// accounts, VPCs, interfaces and actions from one line to the next.
	last   string
	lastID uint32
}

const (
	chunkBits = 13
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

var (
	intChunks  = sync.Pool{New: func() any { return new([chunkSize]int64) }}
	boolChunks = sync.Pool{New: func() any { return new([chunkSize]bool) }}
	idChunks   = sync.Pool{New: func() any { return new([chunkSize]uint32) }}
)

func newColumn(t flowlog.Type, rows int) *column {
	c := &column{typ: t}
	if !c.isInt() {
		c.dict = map[string]uint32{}
		c.vals = []string{""}
	}
	c.pad(rows)
	return c
}

func (c *column) isInt() bool { return c.typ == flowlog.Int32 || c.typ == flowlog.Int64 }

func (c *column) len() int { return c.n }

// grow makes room for row c.n.
func (c *column) grow() {
	if c.n&chunkMask != 0 {
		return
	}
	if c.isInt() {
		c.ints = append(c.ints, intChunks.Get().(*[chunkSize]int64)[:])
		c.ok = append(c.ok, boolChunks.Get().(*[chunkSize]bool)[:])
		return
	}
	c.ids = append(c.ids, idChunks.Get().(*[chunkSize]uint32)[:])
}

func (c *column) appendInt(v int64, ok bool) {
	c.grow()
	k, i := c.n>>chunkBits, c.n&chunkMask
	c.ints[k][i], c.ok[k][i] = v, ok
	c.n++
}

func (c *column) appendID(id uint32) {
	c.grow()
	c.ids[c.n>>chunkBits][c.n&chunkMask] = id
	c.n++
}

func (c *column) int(i int) (int64, bool) {
	k, j := i>>chunkBits, i&chunkMask
	return c.ints[k][j], c.ok[k][j]
}

func (c *column) id(i int) uint32 { return c.ids[i>>chunkBits][i&chunkMask] }

func (c *column) pad(n int) {
	for c.n < n {
		if c.isInt() {
			c.appendInt(0, false)
		} else {
			c.appendID(0)
		}
	}
}

// release returns the column's chunks to their pools.
func (c *column) release() {
	for _, ch := range c.ints {
		intChunks.Put((*[chunkSize]int64)(ch))
	}
	for _, ch := range c.ok {
		boolChunks.Put((*[chunkSize]bool)(ch))
	}
	for _, ch := range c.ids {
		idChunks.Put((*[chunkSize]uint32)(ch))
	}
	c.ints, c.ok, c.ids, c.n = nil, nil, nil, 0
}

// intern returns the dictionary id of s, copying s into a on first sight.
func (c *column) intern(a *arena, s string) uint32 {
	if c.lastID != 0 && s == c.last {
		return c.lastID
	}
	id, ok := c.dict[s]
	if !ok {
		s = a.copy(s)
		id = uint32(len(c.vals))
		c.vals = append(c.vals, s)
		c.dict[s] = id
	}
	c.last, c.lastID = c.vals[id], id
	return id
}

// arena copies strings into large blocks, so a batch makes few allocations.
type arena struct {
	buf []byte
	mem int
}

func (a *arena) copy(s string) string {
	if len(s) == 0 {
		return ""
	}
	if len(a.buf)+len(s) > cap(a.buf) {
		size := max(64<<10, len(s))
		a.buf = make([]byte, 0, size)
		a.mem += size
	}
	start := len(a.buf)
	a.buf = append(a.buf, s...)
	return unsafe.String(&a.buf[start], len(s))
}

// NewBatch returns an empty batch for day d. Capacity is a hint, unused since
// columns grow in pooled chunks; Release returns them once the batch is written.
func NewBatch(d Day, capacity int) *Batch {
	b := &Batch{Day: d}
	b.cols[flowlog.Start] = newColumn(flowlog.Int64, 0)
	return b
}

// Release returns the batch's memory to the pools; b must not be used after.
func (b *Batch) Release() {
	for _, c := range b.cols {
		if c != nil {
			c.release()
		}
	}
	if b.extra != nil {
		b.extra.release()
	}
	*b = Batch{Day: b.Day}
}

// Len returns the number of rows.
func (b *Batch) Len() int { return b.n }

// MemBytes estimates the memory the batch holds.
func (b *Batch) MemBytes() int {
	m := b.arena.mem
	for _, c := range append(b.cols[:], b.extra) {
		if c != nil {
			m += len(c.ints)*chunkSize*9 + len(c.ids)*chunkSize*4 + len(c.vals)*48
		}
	}
	return m
}

func (b *Batch) col(id flowlog.FieldID) *column {
	c := b.cols[id]
	if c == nil {
		c = newColumn(flowlog.FieldByID(id).Type, b.n)
		b.cols[id] = c
	}
	return c
}

// Append adds record r, read in format f, as a row.
func (b *Batch) Append(r *flowlog.Record, f *flowlog.Format) {
	n := b.n
	for _, ff := range f.Fields {
		if ff.ID == flowlog.Unknown {
			continue
		}
		c := b.col(ff.ID)
		if c.len() < n {
			c.pad(n)
		}
		if c.isInt() {
			c.appendInt(r.Int(ff.ID))
			continue
		}
		var id uint32
		if s, ok := r.Str(ff.ID); ok {
			id = c.intern(&b.arena, s)
		}
		c.appendID(id)
	}
	if unk := f.Unknown(); len(unk) > 0 {
		if b.extra == nil {
			b.extra = newColumn(flowlog.String, n)
		}
		c := b.extra
		c.pad(n)
		b.json = appendExtraJSON(b.json[:0], r, unk)
		c.appendID(c.intern(&b.arena, unsafe.String(unsafe.SliceData(b.json), len(b.json))))
	}
	b.n++
}

// appendExtraJSON writes the unknown fields of r as a JSON object.
func appendExtraJSON(dst []byte, r *flowlog.Record, names []string) []byte {
	dst = append(dst, '{')
	for i, name := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		if v, ok := r.Extra(name); ok {
			dst = appendJSONString(dst, v)
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			i++
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\\ufffd"...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(dst, '"')
}

// AppendBatch adds every row of o (which must be of the same day) to b.
func (b *Batch) AppendBatch(o *Batch) {
	n := b.n
	o.finish()
	for id := range o.cols {
		oc := o.cols[id]
		if oc == nil {
			continue
		}
		c := b.col(flowlog.FieldID(id))
		c.pad(n)
		if oc.isInt() {
			for i := range o.n {
				c.appendInt(oc.int(i))
			}
			continue
		}
		appendIDs(&b.arena, c, oc, o.n)
	}
	if o.extra != nil {
		if b.extra == nil {
			b.extra = newColumn(flowlog.String, n)
		}
		b.extra.pad(n)
		appendIDs(&b.arena, b.extra, o.extra, o.n)
	}
	b.n += o.n
}

func appendIDs(a *arena, c, oc *column, n int) {
	remap := make([]uint32, len(oc.vals))
	for i, s := range oc.vals[1:] {
		remap[i+1] = c.intern(a, s)
	}
	for i := range n {
		c.appendID(remap[oc.id(i)])
	}
}

// finish pads every column to the batch length.
func (b *Batch) finish() {
	for _, c := range b.cols {
		if c != nil {
			c.pad(b.n)
		}
	}
	if b.extra != nil {
		b.extra.pad(b.n)
	}
}

// StartRange returns the smallest and largest start of the batch; ok is false
// when no row has a start.
func (b *Batch) StartRange() (lo, hi int64, ok bool) {
	c := b.cols[flowlog.Start]
	if c == nil {
		return 0, 0, false
	}
	for i := range c.n {
		v, set := c.int(i)
		if !set {
			continue
		}
		if !ok {
			lo, hi, ok = v, v, true
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi, ok
}

// order returns the row order of a file: by the hour of start (nulls first),
// then srcaddr as text (nulls first), then dstaddr, then start. Row groups
// then cover narrow start ranges (an hour or less in a busy VPC) so time
// filters prune them, and within an hour the rows of one source address, and
// of one conversation, sit together, so address filters prune too and the
// columns that follow a conversation (ports, interface, packet addresses)
// compress well: measured on generated data (1 M records, every field of
// versions 2 to 5) the lake is 0.550× the gzip input, against 0.590× when
// sorted by hour, srcaddr, start and dstaddr, and 0.573× against 0.566× for
// start-then-srcaddr against hour-then-srcaddr on the default format.
func (b *Batch) order() []uint32 {
	b.finish()
	perm := make([]uint32, b.n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	start := b.cols[flowlog.Start]
	src := rankColumn(b.cols[flowlog.SrcAddr])
	dst := rankColumn(b.cols[flowlog.DstAddr])
	lo, hi, ok := b.StartRange()
	if ok && (hi-lo)/3600 < 1<<13 && len(src) < 1<<24 && len(dst) < 1<<24 && b.n < 1<<32 {
		// Pack the hour of start and the srcaddr and dstaddr ranks into one
		// word, the second within the hour and the row index into another:
		// one integer sort instead of a comparison sort over columns.
		type kv struct{ k, i uint64 }
		keys := make([]kv, b.n)
		base := hourOf(lo) * 3600
		srcCol, dstCol := b.cols[flowlog.SrcAddr], b.cols[flowlog.DstAddr]
		for i := range keys {
			var k, w uint64
			if s, set := start.int(i); set {
				d := uint64(s - base)
				k = (d/3600 + 1) << 50
				w = (d % 3600) << 32
			}
			if src != nil {
				k |= uint64(src[srcCol.id(i)]) << 26
			}
			if dst != nil {
				k |= uint64(dst[dstCol.id(i)]) << 2
			}
			keys[i] = kv{k, w | uint64(i)}
		}
		slices.SortFunc(keys, func(a, b kv) int {
			if c := cmp.Compare(a.k, b.k); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for i, kv := range keys {
			perm[i] = uint32(kv.i)
		}
		return perm
	}
	return b.orderSlow(perm, src, dst)
}

// orderSlow sorts perm by comparing columns, for batches whose keys do not
// fit in a word.
func (b *Batch) orderSlow(perm, src, dst []uint32) []uint32 {
	start := b.cols[flowlog.Start]
	slices.SortStableFunc(perm, func(x, y uint32) int {
		vx, sx := start.int(int(x))
		vy, sy := start.int(int(y))
		if sx != sy {
			if !sx {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(hourOf(vx), hourOf(vy)); c != 0 {
			return c
		}
		if src != nil {
			col := b.cols[flowlog.SrcAddr]
			if c := cmp.Compare(src[col.id(int(x))], src[col.id(int(y))]); c != 0 {
				return c
			}
		}
		if dst != nil {
			col := b.cols[flowlog.DstAddr]
			if c := cmp.Compare(dst[col.id(int(x))], dst[col.id(int(y))]); c != 0 {
				return c
			}
		}
		return cmp.Compare(vx, vy)
	})
	return perm
}

func hourOf(sec int64) int64 {
	if sec < 0 {
		return (sec - 3599) / 3600
	}
	return sec / 3600
}

// rankColumn returns, for each dictionary id of c, its rank in text order
// (null first); nil when c is nil.
func rankColumn(c *column) []uint32 {
	if c == nil {
		return nil
	}
	ids := make([]uint32, len(c.vals))
	for i := range ids {
		ids[i] = uint32(i)
	}
	slices.SortFunc(ids[1:], func(x, y uint32) int { return cmp.Compare(c.vals[x], c.vals[y]) })
	rank := make([]uint32, len(c.vals))
	for r, id := range ids {
		rank[id] = uint32(r)
	}
	return rank
}
