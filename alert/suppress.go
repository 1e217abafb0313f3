package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Suppression mutes the alerts it matches: they are still recorded, with
// status suppressed, but never sent to sinks. A suppression matches an alert
// when every field it sets matches (rule equal, src and dst inside the
// prefixes) and it has not expired. At least one of Rule, Src, Dst is set.
type Suppression struct {
	// ID is derived from the match fields and creation time; Store.Suppress sets it.
	ID string `json:"id"`
	// Rule matches the alert's rule id exactly.
	Rule string `json:"rule,omitempty"`
	// Src and Dst match an alert whose address is inside the prefix; a single
	// address is a /32 (or /128). An alert without that address never matches.
	Src netip.Prefix `json:"src,omitzero"`
	Dst netip.Prefix `json:"dst,omitzero"`
	// Until is when the suppression expires; zero means never.
	Until time.Time `json:"until,omitzero"`
	// Note says why, for whoever reads the list later.
	Note      string    `json:"note,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ParsePrefix reads an address ("10.0.0.5") or a CIDR ("10.0.0.0/8") as a
// prefix; an address becomes a single-address prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// Active reports whether the suppression is in force at now.
func (s *Suppression) Active(now time.Time) bool {
	return s.Until.IsZero() || now.Before(s.Until)
}

// Matches reports whether the suppression's fields all match the alert,
// regardless of expiry.
func (s *Suppression) Matches(a *Alert) bool {
	if s.Rule != "" && s.Rule != a.Rule {
		return false
	}
	return prefixMatch(s.Src, a.Src) && prefixMatch(s.Dst, a.Dst)
}

func prefixMatch(p netip.Prefix, addr string) bool {
	if !p.IsValid() {
		return true
	}
	if addr == "" {
		return false
	}
	ip, err := netip.ParseAddr(addr)
	return err == nil && p.Contains(ip.Unmap())
}

// String describes the suppression's match: "rule=r src=10.0.0.0/8 until=…".
func (s *Suppression) String() string {
	var parts []string
	if s.Rule != "" {
		parts = append(parts, "rule="+s.Rule)
	}
	if s.Src.IsValid() {
		parts = append(parts, "src="+s.Src.String())
	}
	if s.Dst.IsValid() {
		parts = append(parts, "dst="+s.Dst.String())
	}
	if s.Until.IsZero() {
		parts = append(parts, "until=forever")
	} else {
		parts = append(parts, "until="+rfc3339(s.Until))
	}
	return strings.Join(parts, " ")
}

func (s *Suppression) check() error {
	if s.Rule == "" && !s.Src.IsValid() && !s.Dst.IsValid() {
		return fmt.Errorf("suppression matches every alert: give a rule, a src or a dst")
	}
	return nil
}

func suppressionID(s *Suppression) string {
	h := sha256.Sum256([]byte(s.String() + "\x00" + s.CreatedAt.Format(time.RFC3339Nano)))
	return "s-" + hex.EncodeToString(h[:6])
}
