package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/flowlens/flowlens/engine"
)

// ref is one {{…}} reference in a query.
type ref struct {
	start, end int    // byte range of {{…}} in the query
	text       string // between the braces, trimmed
	name, arg  string // name or name(arg)
}

type refError struct {
	off int
	msg string
}

// scanRefs finds every {{name}} and {{name(arg)}} in q.
func scanRefs(q string) ([]ref, *refError) {
	var out []ref
	for i := 0; i < len(q); {
		j := strings.Index(q[i:], "{{")
		if j < 0 {
			break
		}
		start := i + j
		k := strings.Index(q[start+2:], "}}")
		if k < 0 {
			return nil, &refError{start, "{{ is not closed by }}: write a parameter as {{name}}"}
		}
		end := start + 2 + k + 2
		text := strings.TrimSpace(q[start+2 : end-2])
		r := ref{start: start, end: end, text: text, name: text}
		if o := strings.IndexByte(text, '('); o >= 0 {
			if !strings.HasSuffix(text, ")") {
				return nil, &refError{start, fmt.Sprintf("{{%s}}: want name(column)", text)}
			}
			r.name, r.arg = strings.TrimSpace(text[:o]), strings.TrimSpace(text[o+1:len(text)-1])
			if r.arg == "" {
				return nil, &refError{start, fmt.Sprintf("{{%s}}: the argument is missing: want e.g. %s(srcaddr)", text, r.name)}
			}
		}
		if !nameRE.MatchString(r.name) {
			return nil, &refError{start, fmt.Sprintf("{{%s}}: want a parameter name (lowercase letters, digits and _)", text)}
		}
		out = append(out, r)
		i = end
	}
	return out, nil
}

// sqlTrue and sqlFalse are the boolean constants rules are expanded with:
// comparisons rather than TRUE and FALSE, which ClickHouse 18.16 lacks.
const (
	sqlTrue  = "(1 = 1)"
	sqlFalse = "(1 = 0)"
)

// segment maps part of an expanded query back to the rule's query text.
type segment struct {
	expStart, expEnd int // in the expanded query
	orig             int // offset in the original
	macro            bool
}

// expansion is a query with its parameters substituted and a map back to
// the original text, so that an engine error position can be shown in the
// rule file.
type expansion struct {
	SQL  string
	segs []segment
}

// origOffset maps an offset in the expanded SQL to the rule's query: inside
// a substituted parameter it is the parameter's {{.
func (e *expansion) origOffset(off int) int {
	for _, s := range e.segs {
		if off >= s.expStart && off < s.expEnd {
			if s.macro {
				return s.orig
			}
			return s.orig + off - s.expStart
		}
	}
	if n := len(e.segs); n > 0 {
		last := e.segs[n-1]
		if last.macro {
			return last.orig
		}
		return last.orig + (last.expEnd - last.expStart)
	}
	return 0
}

// expand substitutes every reference through value, which returns the SQL
// text of one reference (made only of Literal output and fixed SQL).
func expand(q string, refs []ref, value func(ref) (string, error)) (*expansion, error) {
	var b strings.Builder
	e := &expansion{}
	pos := 0
	for _, r := range refs {
		if r.start > pos {
			e.segs = append(e.segs, segment{b.Len(), b.Len() + r.start - pos, pos, false})
			b.WriteString(q[pos:r.start])
		}
		v, err := value(r)
		if err != nil {
			return nil, err
		}
		e.segs = append(e.segs, segment{b.Len(), b.Len() + len(v), r.start, true})
		b.WriteString(v)
		pos = r.end
	}
	if pos < len(q) {
		e.segs = append(e.segs, segment{b.Len(), b.Len() + len(q) - pos, pos, false})
		b.WriteString(q[pos:])
	}
	e.SQL = b.String()
	return e, nil
}

// prefixPredicate renders "col is inside one of ps" as SQL over the text form
// of an address column, with string functions only (no IP type is needed):
//
//   - single addresses become col IN (…);
//   - IPv4 prefixes on an octet boundary (/8, /16, /24) are dotted text
//     prefixes: col LIKE 'a.b.%' (a fast prefix test) for up to 64, an IN
//     over the leading octets for more (threat feeds list thousands of /24s);
//   - other IPv4 prefixes test the text prefix of their whole octets and the
//     range of the next octet: 172.16.0.0/12 is col LIKE '172.%' AND the
//     second octet BETWEEN 16 AND 31; in a set of more than 64 of them they
//     are expanded into the networks (or addresses) of the next octet
//     boundary, which join the IN lists;
//   - IPv6 prefixes match the canonical (lower-case, as AWS writes it) text
//     of their leading 16-bit groups, a run of zero groups written :: among
//     them included (see ipv6Terms)
//     (rounded down to a group, or to the first byte below /16: fc00::/7 is
//     'fc' or 'fd' as the first two of four hex digits). Leading groups
//     below 0x1000 are not matched by the short forms.
//
// An empty set is FALSE.
func prefixPredicate(col string, ps []netip.Prefix) string {
	var exact []string
	groups := map[int][]string{} // octets → dotted prefixes
	var terms []string
	// A range term per network is cheap for a few (the internal networks)
	// but makes every record test each of them: a long feed of networks off
	// octet boundaries is expanded into the networks of the next boundary
	// instead (at most 128 each), which join the IN lists.
	expand, v6 := 0, 0
	for _, p := range ps {
		switch {
		case p.Addr().Is4() && p.Bits()%8 != 0:
			expand++
		case !p.Addr().Is4() && p.Bits() >= 16 && p.Bits() < 128:
			v6++
		}
	}
	// Likewise a long list of IPv6 networks is looked up by their leading
	// groups.
	var lookups map[lookup][]string
	if v6 > maxLikes {
		lookups = map[lookup][]string{}
	}
	for _, p := range ps {
		p = p.Masked()
		a := p.Addr()
		if a.Is4() && p.Bits()%8 != 0 && expand > maxLikes {
			next := (p.Bits()/8 + 1) * 8
			base := a.As4()
			for i := range 1 << (next - p.Bits()) {
				b := base
				b[next/8-1] += byte(i)
				if next == 32 {
					exact = append(exact, engine.Literal(netip.AddrFrom4(b).String()))
					continue
				}
				parts := make([]string, next/8)
				for k := range parts {
					parts[k] = strconv.Itoa(int(b[k]))
				}
				groups[next/8] = append(groups[next/8], strings.Join(parts, "."))
			}
			continue
		}
		if a.Is4() {
			b := a.As4()
			bits := p.Bits()
			switch {
			case bits == 32:
				exact = append(exact, engine.Literal(a.String()))
			case bits == 0:
				terms = append(terms, fmt.Sprintf("%s LIKE '%%.%%.%%.%%'", col))
			case bits%8 == 0:
				octets := bits / 8
				parts := []string{strconv.Itoa(int(b[0])), strconv.Itoa(int(b[1])), strconv.Itoa(int(b[2]))}
				groups[octets] = append(groups[octets], strings.Join(parts[:octets], "."))
			default:
				whole := bits / 8 // octets fixed entirely
				span := 1 << (8 - bits%8)
				lo, hi := int(b[whole]), int(b[whole])+span-1
				octet := fmt.Sprintf("TRY_CAST(split_part(%s, '.', %d) AS INTEGER)", col, whole+1)
				if whole == 0 {
					terms = append(terms, fmt.Sprintf("(%s LIKE '%%.%%.%%.%%' AND %s BETWEEN %d AND %d)", col, octet, lo, hi))
					continue
				}
				parts := make([]string, whole)
				for i := range parts {
					parts[i] = strconv.Itoa(int(b[i]))
				}
				terms = append(terms, fmt.Sprintf("(%s LIKE %s AND %s BETWEEN %d AND %d)",
					col, engine.Literal(strings.Join(parts, ".")+".%"), octet, lo, hi))
			}
			continue
		}
		if p.Bits() == 128 {
			exact = append(exact, engine.Literal(a.String()))
			continue
		}
		full := strings.Split(a.StringExpanded(), ":")
		if p.Bits() < 16 {
			// Enumerate the first byte: at most 256 patterns of a 4-digit group.
			first := int(a.As16()[0])
			n := 1 << max(0, 8-p.Bits())
			var alts []string
			for v := first; v < first+n && v < 256; v++ {
				if v < 0x10 {
					continue
				}
				alts = append(alts, fmt.Sprintf("%s LIKE %s", col, engine.Literal(fmt.Sprintf("%02x__:%%", v))))
			}
			if len(alts) > 0 {
				terms = append(terms, "("+strings.Join(alts, " OR ")+")")
			}
			continue
		}
		var parts []string
		for _, h := range full[:p.Bits()/16] {
			h = strings.TrimLeft(h, "0")
			if h == "" {
				h = "0"
			}
			parts = append(parts, h)
		}
		terms = append(terms, ipv6Terms(col, parts, lookups)...)
	}
	var out []string
	if len(exact) > 0 {
		slices.Sort(exact)
		exact = slices.Compact(exact)
		out = append(out, fmt.Sprintf("%s IN (%s)", col, strings.Join(exact, ", ")))
	}
	for _, octets := range []int{1, 2, 3} {
		list := groups[octets]
		if len(list) == 0 {
			continue
		}
		slices.Sort(list)
		list = slices.Compact(list)
		if len(list) <= maxLikes {
			for _, pre := range list {
				out = append(out, fmt.Sprintf("%s LIKE %s", col, engine.Literal(pre+".%")))
			}
			continue
		}
		lits := make([]string, len(list))
		for i, pre := range list {
			lits[i] = engine.Literal(pre)
		}
		out = append(out, fmt.Sprintf("%s IN (%s)", leadingOctets(col, octets), strings.Join(lits, ", ")))
	}
	keys := make([]lookup, 0, len(lookups))
	for k := range lookups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b lookup) int { return strings.Compare(a.lhs+a.cond, b.lhs+b.cond) })
	for _, k := range keys {
		list := lookups[k]
		slices.Sort(list)
		list = slices.Compact(list)
		lits := make([]string, len(list))
		for i, v := range list {
			lits[i] = engine.Literal(v)
		}
		in := fmt.Sprintf("%s IN (%s)", k.lhs, strings.Join(lits, ", "))
		if k.cond != "" {
			in = "(" + in + " AND " + k.cond + ")"
		}
		out = append(out, in)
	}
	out = append(out, terms...)
	if len(out) == 0 {
		return sqlFalse
	}
	return "(" + strings.Join(out, " OR ") + ")"
}

// lookup is one IN test of a predicate: lhs IN (values…), and cond when set.
type lookup struct{ lhs, cond string }

// ipv6Terms matches the canonical text (RFC 5952) of the IPv6 addresses whose
// leading groups are g (lower-case hex without leading zeros). The text
// writes the longest run of two or more zero groups as "::": when that run
// starts among g, the address reads "g1:…:gj::" and a tail whose number of
// groups tells how long the run is, so each run that can start there gets a
// pattern of its own, with the colons of the tail counted. With lookups, the
// common patterns become values of shared IN tests there instead of terms.
func ipv6Terms(col string, g []string, lookups map[lookup][]string) []string {
	k := len(g)
	var terms []string
	if lookups != nil {
		key := lookup{lhs: leadingGroups(col, k)}
		lookups[key] = append(lookups[key], strings.Join(g, ":"))
	} else {
		terms = append(terms, fmt.Sprintf("%s LIKE %s", col, engine.Literal(strings.Join(g, ":")+":%")))
	}
	for j := 0; j < k; j++ {
		if g[j] != "0" || j > 0 && g[j-1] == "0" {
			continue // runs start at a zero group that follows a non-zero one
		}
		m := j // the run's last group among g
		for m+1 < k && g[m+1] == "0" {
			m++
		}
		head := strings.Join(g[:j], ":") + "::"
		tail := fmt.Sprintf("substr(%s, %d)", col, len(head)+1)
		colons := fmt.Sprintf("length(%s) - length(replace(%s, ':', ''))", tail, tail)
		if m < k-1 {
			// The run ends inside g, at a non-zero group: it is m-j+1 groups
			// long (a single zero is written 0, never ::), and the tail, which
			// starts with g[m+1:], has the 7-m groups left.
			if m > j {
				terms = append(terms, fmt.Sprintf("(%s LIKE %s AND %s = %d)", col, engine.Literal(head+strings.Join(g[m+1:], ":")+":%"), colons, 6-m))
			}
			continue
		}
		// The run covers the rest of g and may go on: it is at least k-j and
		// at least 2 groups long, so the tail has at most `most` groups, which
		// is fewer than `most` colons.
		most := min(8-k, 6-j)
		switch {
		case most <= 0:
			terms = append(terms, fmt.Sprintf("%s = %s", col, engine.Literal(head)))
		case lookups != nil && j > 0:
			// The text before the first :: is g[:j], and the whole text has
			// j-1 colons before it, 2 in it and fewer than most after it.
			key := lookup{lhs: fmt.Sprintf("split_part(%s, '::', 1)", col),
				cond: fmt.Sprintf("length(%s) - length(replace(%s, ':', '')) < %d", col, col, most+j+1)}
			lookups[key] = append(lookups[key], strings.Join(g[:j], ":"))
		default:
			terms = append(terms, fmt.Sprintf("(%s LIKE %s AND %s < %d)", col, engine.Literal(head+"%"), colons, most))
		}
	}
	return terms
}

// maxLikes is how many IPv4 networks a predicate tests one by one; more
// become IN lists.
const maxLikes = 64

// leadingGroups renders the first n colon-separated groups of an IPv6 text
// column.
func leadingGroups(col string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("split_part(%s, ':', %d)", col, i+1)
	}
	return strings.Join(parts, " || ':' || ")
}

// leadingOctets renders the first n dotted octets of an IPv4 text column.
func leadingOctets(col string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("split_part(%s, '.', %d)", col, i+1)
	}
	return strings.Join(parts, " || '.' || ")
}
