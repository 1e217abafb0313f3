package lake

import (
	"cmp"
	"slices"
	"strconv"
	"time"
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

// column holds one field's values. Rows not yet written are null: a column
// shorter than the batch is padded when it is next written and when the batch
// is finished.
type column struct {
	typ  flowlog.Type
	ints []int64
	ok   []bool // ints: the value is set
	ids  []uint32
	dict map[string]uint32
	vals []string // vals[0] is the null placeholder
}

func newColumn(t flowlog.Type, rows, capacity int) *column {
	c := &column{typ: t}
	if t == flowlog.Int32 || t == flowlog.Int64 {
		c.ints = make([]int64, rows, max(rows, capacity))
		c.ok = make([]bool, rows, max(rows, capacity))
	} else {
		c.ids = make([]uint32, rows, max(rows, capacity))
		c.dict = map[string]uint32{}
		c.vals = []string{""}
	}
	return c
}

func (c *column) len() int {
	if c.typ == flowlog.Int32 || c.typ == flowlog.Int64 {
		return len(c.ok)
	}
	return len(c.ids)
}

func (c *column) pad(n int) {
	if c.typ == flowlog.Int32 || c.typ == flowlog.Int64 {
		for len(c.ok) < n {
			c.ints = append(c.ints, 0)
			c.ok = append(c.ok, false)
		}
		return
	}
	for len(c.ids) < n {
		c.ids = append(c.ids, 0)
	}
}

// intern returns the dictionary id of s, copying s into a on first sight.
func (c *column) intern(a *arena, s string) uint32 {
	if id, ok := c.dict[s]; ok {
		return id
	}
	s = a.copy(s)
	id := uint32(len(c.vals))
	c.vals = append(c.vals, s)
	c.dict[s] = id
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

// NewBatch returns an empty batch for day d with room for capacity rows.
func NewBatch(d Day, capacity int) *Batch {
	b := &Batch{Day: d}
	b.cols[flowlog.Start] = newColumn(flowlog.Int64, 0, capacity)
	return b
}

// Len returns the number of rows.
func (b *Batch) Len() int { return b.n }

// MemBytes estimates the memory the batch holds.
func (b *Batch) MemBytes() int {
	m := b.arena.mem
	for _, c := range b.cols {
		if c != nil {
			m += cap(c.ints)*8 + cap(c.ok) + cap(c.ids)*4 + len(c.vals)*48
		}
	}
	if b.extra != nil {
		m += cap(b.extra.ids)*4 + len(b.extra.vals)*48
	}
	return m
}

func (b *Batch) col(id flowlog.FieldID) *column {
	c := b.cols[id]
	if c == nil {
		c = newColumn(flowlog.FieldByID(id).Type, b.n, b.n+1024)
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
		switch c.typ {
		case flowlog.Int32, flowlog.Int64:
			v, ok := r.Int(ff.ID)
			c.ints = append(c.ints, v)
			c.ok = append(c.ok, ok)
		default:
			var id uint32
			if s, ok := r.Str(ff.ID); ok {
				id = c.intern(&b.arena, s)
			}
			c.ids = append(c.ids, id)
		}
	}
	if unk := f.Unknown(); len(unk) > 0 {
		if b.extra == nil {
			b.extra = newColumn(flowlog.String, n, n+1024)
		}
		c := b.extra
		c.pad(n)
		b.json = appendExtraJSON(b.json[:0], r, unk)
		c.ids = append(c.ids, c.intern(&b.arena, unsafe.String(unsafe.SliceData(b.json), len(b.json))))
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
		dst = strconv.AppendQuote(dst, name)
		dst = append(dst, ':')
		if v, ok := r.Extra(name); ok {
			dst = strconv.AppendQuote(dst, v)
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, '}')
}

// AppendBatch adds every row of o (which must be of the same day) to b.
func (b *Batch) AppendBatch(o *Batch) {
	n := b.n
	for id := range o.cols {
		oc := o.cols[id]
		if oc == nil {
			continue
		}
		oc.pad(o.n)
		c := b.col(flowlog.FieldID(id))
		c.pad(n)
		if oc.typ == flowlog.Int32 || oc.typ == flowlog.Int64 {
			c.ints = append(c.ints, oc.ints...)
			c.ok = append(c.ok, oc.ok...)
			continue
		}
		appendIDs(&b.arena, c, oc)
	}
	if o.extra != nil {
		o.extra.pad(o.n)
		if b.extra == nil {
			b.extra = newColumn(flowlog.String, n, n+o.n)
		}
		b.extra.pad(n)
		appendIDs(&b.arena, b.extra, o.extra)
	}
	b.n += o.n
}

func appendIDs(a *arena, c, oc *column) {
	remap := make([]uint32, len(oc.vals))
	for i, s := range oc.vals[1:] {
		remap[i+1] = c.intern(a, s)
	}
	for _, id := range oc.ids {
		c.ids = append(c.ids, remap[id])
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
	for i, v := range c.ints {
		if !c.ok[i] {
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
// then srcaddr as text (nulls first), then start, then dstaddr. Row groups then
// cover narrow start ranges (an hour or less in a busy VPC), and within an hour
// the rows of one source address sit together, so both time filters and
// address filters prune row groups by their min/max statistics; measured on
// generated data it is also 1% smaller than sorting by start then srcaddr.
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
	if ok && (hi-lo)/3600 < 1<<13 && len(src) < 1<<24 && b.n < 1<<32 {
		// Pack the hour of start, the srcaddr rank and the second within the
		// hour into one word, and the dstaddr rank and row index into
		// another: one integer sort instead of a comparison sort over columns.
		type kv struct{ k, i uint64 }
		keys := make([]kv, b.n)
		base := hourOf(lo) * 3600
		srcIDs := idsOf(b.cols[flowlog.SrcAddr])
		dstIDs := idsOf(b.cols[flowlog.DstAddr])
		for i := range keys {
			var k uint64
			if start.ok[i] {
				d := uint64(start.ints[i] - base)
				k = (d/3600+1)<<50 | (d%3600)<<1
			}
			if src != nil {
				k |= uint64(src[srcIDs[i]]) << 13
			}
			var d uint64
			if dst != nil {
				d = uint64(dst[dstIDs[i]])
			}
			keys[i] = kv{k, d<<32 | uint64(i)}
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
	slices.SortStableFunc(perm, func(x, y uint32) int {
		sx, sy := start.ok[x], start.ok[y]
		if sx != sy {
			if !sx {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(hourOf(start.ints[x]), hourOf(start.ints[y])); c != 0 {
			return c
		}
		if src != nil {
			ids := b.cols[flowlog.SrcAddr].ids
			if c := cmp.Compare(src[ids[x]], src[ids[y]]); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(start.ints[x], start.ints[y]); c != 0 {
			return c
		}
		if dst != nil {
			ids := b.cols[flowlog.DstAddr].ids
			return cmp.Compare(dst[ids[x]], dst[ids[y]])
		}
		return 0
	})
	return perm
}

func hourOf(sec int64) int64 {
	if sec < 0 {
		return (sec - 3599) / 3600
	}
	return sec / 3600
}

func idsOf(c *column) []uint32 {
	if c == nil {
		return nil
	}
	return c.ids
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
