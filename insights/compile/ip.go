package compile

import (
	"fmt"
	"net/netip"
	"strings"
)

// The IP functions compile to the engine's core string functions, so they
// need no IP extension: an address is valid when it matches the textual
// grammar below, and inside a subnet when its leading octets (IPv4) or its
// expanded leading groups (IPv6) match the subnet's.

const v4Octet = `(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`

// ipv4Pattern matches dotted-quad IPv4 text without leading zeros, the form
// Go's netip.ParseAddr accepts.
var ipv4Pattern = v4Octet + `(?:\.` + v4Octet + `){3}`

// ipv6Pattern matches IPv6 text: eight groups of one to four hex digits, or
// fewer around one "::", optionally ending in an embedded IPv4 address.
// Zones (%eth0) are not accepted.
var ipv6Pattern = func() string {
	const h = `[0-9a-fA-F]{1,4}`
	groups := func(n int) string { // n groups joined by ":"
		switch n {
		case 0:
			return ""
		case 1:
			return h
		}
		return fmt.Sprintf(`(?:%s:){%d}%s`, h, n-1, h)
	}
	alts := []string{
		fmt.Sprintf(`(?:%s:){7}%s`, h, h),
		fmt.Sprintf(`(?:%s:){6}%s`, h, ipv4Pattern),
	}
	// "::" stands for at least one zero group.
	for left := 0; left <= 7; left++ {
		for right := 0; left+right <= 7; right++ {
			alts = append(alts, groups(left)+"::"+groups(right))
		}
	}
	for left := 0; left <= 5; left++ {
		for right := 0; left+right <= 5; right++ {
			tail := ipv4Pattern
			if right > 0 {
				tail = fmt.Sprintf(`(?:%s:){%d}%s`, h, right, ipv4Pattern)
			}
			alts = append(alts, groups(left)+"::"+tail)
		}
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}()

func validV4(x sqlExpr) sqlExpr { return fcall(fnRegexpFull, x, strLit{ipv4Pattern}) }
func validV6(x sqlExpr) sqlExpr { return fcall(fnRegexpFull, x, strLit{ipv6Pattern}) }

// v4InPrefix tests that the text x is an IPv4 address inside p.
func v4InPrefix(x sqlExpr, p netip.Prefix) sqlExpr {
	bits := p.Bits()
	a := p.Masked().Addr().As4()
	if bits == 32 {
		return binOp{"=", x, strLit{p.Addr().String()}}
	}
	conds := []sqlExpr{}
	full := bits / 8
	if full > 0 {
		var parts []string
		for _, o := range a[:full] {
			parts = append(parts, fmt.Sprint(o))
		}
		conds = append(conds, fcall(fnStartsWith, x, strLit{strings.Join(parts, ".") + "."}))
	}
	conds = append(conds, validV4(x))
	if r := bits % 8; r > 0 {
		octet := cast{x: fcall(fnSplitPart, x, strLit{"."}, num(int64(full+1))), to: typeBigint, try: true}
		lo := int64(a[full])
		hi := lo | (1<<(8-r) - 1)
		conds = append(conds, binOp{">=", octet, num(lo)}, binOp{"<=", octet, num(hi)})
	}
	return and(conds...)
}

// v6InPrefix tests that the text x is an IPv6 address inside p. It expands
// the address: an embedded IPv4 tail becomes two hex groups, "::" becomes
// the missing zero groups, and each group is padded to four digits.
func v6InPrefix(x sqlExpr, p netip.Prefix) sqlExpr {
	bits := p.Bits()
	valid := validV6(x)
	if bits == 0 {
		return valid
	}
	t := fcall(fnLower, x)
	const v4Tail = `[0-9.]+$`
	tail := fcall(fnRegexpExtract, t, strLit{v4Tail}, num(0))
	octet := func(i int64) sqlExpr {
		return cast{x: fcall(fnSplitPart, tail, strLit{"."}, num(i)), to: typeBigint, try: true}
	}
	hexPair := func(a, b int64) sqlExpr {
		return fcall(fnToHex, binOp{"+", binOp{"*", octet(a), num(256)}, octet(b)})
	}
	hexText := caseWhen{
		when: fcall(fnContains, t, strLit{"."}),
		then: binOp{"||", binOp{"||", binOp{"||",
			fcall(fnRegexpReplace, t, strLit{v4Tail}, strLit{""}), hexPair(1, 2)}, strLit{":"}}, hexPair(3, 4)},
		els: t,
	}
	present := fcall(fnRegexpCount, hexText, strLit{`[0-9a-f]+`})
	zeros := binOp{"||", strLit{":"}, fcall(fnRepeat, strLit{"0:"}, binOp{"-", num(8), present})}
	expanded := fcall(fnTrim, fcall(fnReplace, hexText, strLit{"::"}, zeros), strLit{":"})
	group := func(i int) sqlExpr {
		return fcall(fnLPad, fcall(fnSplitPart, expanded, strLit{":"}, num(int64(i))), num(4), strLit{"0"})
	}
	a := p.Masked().Addr().As16()
	word := func(i int) uint16 { return uint16(a[2*i])<<8 | uint16(a[2*i+1]) }
	conds := []sqlExpr{valid}
	for i := 0; i < bits/16; i++ {
		conds = append(conds, binOp{"=", group(i + 1), strLit{fmt.Sprintf("%04x", word(i))}})
	}
	if r := bits % 16; r > 0 {
		g := bits / 16
		lo := word(g)
		hi := lo | uint16(1<<(16-r)-1)
		// Four lower-case hex digits compare as text in numeric order.
		conds = append(conds,
			binOp{">=", group(g + 1), strLit{fmt.Sprintf("%04x", lo)}},
			binOp{"<=", group(g + 1), strLit{fmt.Sprintf("%04x", hi)}})
	}
	return and(conds...)
}
