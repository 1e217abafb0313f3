package enrich

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowlens/flowlens/source"
)

// Entry is one line of a threat list: a prefix (a single address is a /32 or
// /128) and where it was read.
type Entry struct {
	Prefix netip.Prefix
	// Comment is the text after the entry's # or ; (trimmed), often the
	// feed's reference such as "SBL123456".
	Comment string
	Line    int
}

// ThreatList is one feed of bad addresses.
type ThreatList struct {
	// Name is the file's base name without extensions; alerts cite it.
	Name string
	// Path is where it was read from.
	Path    string
	Entries []Entry
	set     *PrefixSet
	byPfx   map[netip.Prefix]int
}

// LoadThreatList reads a threat list file (plain or gzip).
func LoadThreatList(path string) (*ThreatList, error) {
	rc, err := source.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open threat list: %w", err)
	}
	defer rc.Close()
	tl, err := ParseThreatList(path, rc)
	if err != nil {
		return nil, err
	}
	return tl, nil
}

// ParseThreatList reads a threat list: one IPv4/IPv6 address or CIDR per
// line; blank lines are skipped; '#' or ';' starts a comment, on its own line
// or after an entry (FireHOL, Spamhaus DROP, abuse.ch and Emerging Threats
// lists all read this way). A CIDR with host bits set is masked, as feeds
// often write them that way. Anything else is an error naming path:line:column.
func ParseThreatList(path string, r io.Reader) (*ThreatList, error) {
	name := filepath.Base(path)
	for _, ext := range []string{".gz", ".txt", ".netset", ".ipset", ".list", ".lst"} {
		name = strings.TrimSuffix(name, ext)
	}
	tl := &ThreatList{Name: name, Path: path, byPfx: map[netip.Prefix]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		}
		text := string(raw)
		entry, comment := text, ""
		if i := strings.IndexAny(text, "#;"); i >= 0 {
			entry, comment = text[:i], strings.TrimSpace(text[i+1:])
		}
		lead := len(entry) - len(strings.TrimLeft(entry, " \t"))
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		// Some feeds add columns after the address ("1.2.3.4 25 2024-03-01");
		// the first field is the entry.
		field := entry
		if i := strings.IndexAny(entry, " \t,"); i >= 0 {
			field = entry[:i]
		}
		p, err := parseEntry(field)
		if err != nil {
			// A truncated (gzip) file ends in a cut-off line: name the
			// damage, not the fragment.
			if !sc.Scan() && sc.Err() != nil {
				return nil, fmt.Errorf("read threat list %s:%d: %w", path, line, sc.Err())
			}
			return nil, fmt.Errorf("%s:%d:%d: %q is not an IP address or CIDR (want e.g. 203.0.113.7 or 203.0.113.0/24; # or ; starts a comment)",
				path, line, lead+1, field)
		}
		if _, dup := tl.byPfx[p]; dup {
			continue
		}
		tl.byPfx[p] = len(tl.Entries)
		tl.Entries = append(tl.Entries, Entry{Prefix: p, Comment: comment, Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read threat list %s:%d: %w", path, line+1, err)
	}
	ps := make([]netip.Prefix, len(tl.Entries))
	for i, e := range tl.Entries {
		ps[i] = e.Prefix
	}
	tl.set = NewPrefixSet(ps)
	return tl, nil
}

func parseEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a := p.Addr().Unmap()
		bits := p.Bits()
		if p.Addr().Is4In6() {
			bits -= 96
		}
		if bits < 0 {
			return netip.Prefix{}, fmt.Errorf("bad prefix length")
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Set returns the list's prefixes as a set.
func (t *ThreatList) Set() *PrefixSet { return t.set }

// Match returns the entry whose prefix is the most specific one containing a.
func (t *ThreatList) Match(a netip.Addr) (Entry, bool) {
	p, ok := t.set.Lookup(a)
	if !ok {
		return Entry{}, false
	}
	return t.Entries[t.byPfx[p]], true
}

// LoadThreatLists loads every path; the first error stops it.
func LoadThreatLists(paths []string) ([]*ThreatList, error) {
	var out []*ThreatList
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("open threat list: %w", err)
		}
		tl, err := LoadThreatList(p)
		if err != nil {
			return nil, err
		}
		out = append(out, tl)
	}
	return out, nil
}
