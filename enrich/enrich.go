// Package enrich holds what flowlens knows about addresses beyond the flow
// records themselves: threat lists (plain IP/CIDR feeds with # or ; comments,
// as public feeds publish them) and the classification of addresses into the
// estate's own networks (RFC 1918, carrier-grade NAT, IPv6 unique-local) and
// the internet.
//
// It sits between the files and configuration the user provides and the
// detect package, which turns these sets into query predicates and alert
// evidence. It uses package source only to open (possibly gzipped) files.
//
// Main types: ThreatList (one feed, loaded by LoadThreatList or
// ParseThreatList), Entry (one listed prefix with its position) and PrefixSet
// (a set of prefixes with longest-match lookup).
package enrich

import (
	"net/netip"
	"slices"
)

// InternalPrefixes are the address ranges treated as the estate's own
// networks: RFC 1918, RFC 6598 carrier-grade NAT (some VPCs use it) and IPv6
// unique-local addresses. Everything else is the internet.
var InternalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// IsInternal reports whether a is inside InternalPrefixes.
func IsInternal(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range InternalPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PrefixSet is a set of prefixes. Lookup returns the most specific prefix
// containing an address, by masking the address to each prefix length the set
// holds (at most 33 for IPv4) and looking the result up in a map.
type PrefixSet struct {
	prefixes []netip.Prefix // sorted, masked, deduplicated
	set      map[netip.Prefix]bool
	bits4    []int // prefix lengths present, longest first
	bits6    []int
}

// NewPrefixSet returns the set of the given prefixes (masked, deduplicated).
func NewPrefixSet(ps []netip.Prefix) *PrefixSet {
	s := &PrefixSet{set: map[netip.Prefix]bool{}}
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen())).Masked()
		if s.set[p] {
			continue
		}
		s.set[p] = true
		s.prefixes = append(s.prefixes, p)
		if p.Addr().Is4() {
			s.bits4 = append(s.bits4, p.Bits())
		} else {
			s.bits6 = append(s.bits6, p.Bits())
		}
	}
	slices.SortFunc(s.prefixes, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	for _, b := range []*[]int{&s.bits4, &s.bits6} {
		slices.Sort(*b)
		*b = slices.Compact(*b)
		slices.Reverse(*b)
	}
	return s
}

// Prefixes returns the set's prefixes, sorted by address then length.
func (s *PrefixSet) Prefixes() []netip.Prefix {
	if s == nil {
		return nil
	}
	return s.prefixes
}

// Len returns the number of prefixes.
func (s *PrefixSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.prefixes)
}

// Lookup returns the most specific prefix of the set that contains a.
func (s *PrefixSet) Lookup(a netip.Addr) (netip.Prefix, bool) {
	if s == nil || !a.IsValid() {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := s.bits6
	if a.Is4() {
		bits = s.bits4
	}
	for _, b := range bits {
		p, err := a.Prefix(b)
		if err == nil && s.set[p] {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// Contains reports whether some prefix of the set contains a.
func (s *PrefixSet) Contains(a netip.Addr) bool {
	_, ok := s.Lookup(a)
	return ok
}
