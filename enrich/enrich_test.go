package enrich

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestParseThreatList(t *testing.T) {
	in := "\xef\xbb\xbf# FireHOL-style header\n" +
		"203.0.113.0/24   # malware C2\n" +
		"\n" +
		"198.51.100.7 ; SBL123\n" +
		"192.0.2.77/24\n" + // host bits set: masked
		"  2001:db8::/32\n" +
		"45.95.147.12 25 2024-03-01\n" + // extra columns
		"203.0.113.0/24 # duplicate\n" +
		"; Spamhaus comment line\n"
	tl, err := ParseThreatList("lists/firehol_level1.netset", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Comment: "malware C2", Line: 2},
		{Prefix: netip.MustParsePrefix("198.51.100.7/32"), Comment: "SBL123", Line: 4},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Line: 5},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Line: 6},
		{Prefix: netip.MustParsePrefix("45.95.147.12/32"), Line: 7},
	}
	if d := cmp.Diff(want, tl.Entries, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if tl.Name != "firehol_level1" {
		t.Errorf("name %q", tl.Name)
	}
	for addr, entry := range map[string]string{"203.0.113.9": "203.0.113.0/24", "198.51.100.7": "198.51.100.7/32", "198.51.100.8": "",
		"2001:db8:1::1": "2001:db8::/32", "::ffff:192.0.2.1": "192.0.2.0/24", "10.0.0.1": ""} {
		e, ok := tl.Match(netip.MustParseAddr(addr))
		got := ""
		if ok {
			got = e.Prefix.String()
		}
		if got != entry {
			t.Errorf("Match(%s) = %q, want %q", addr, got, entry)
		}
	}
}

func TestParseThreatListErrors(t *testing.T) {
	for _, c := range []struct {
		in, want string
		readErr  error // after in, as a truncated gzip stream ends
	}{
		{"1.2.3.4\n  evil.example.com # domain\n", `bad.txt:2:3: "evil.example.com" is not an IP address or CIDR`, nil},
		{"1.2.3.4/33\n", `bad.txt:1:1: "1.2.3.4/33" is not an IP address or CIDR`, nil},
		{"# ok\n\n300.1.1.1\n", `bad.txt:3:1: "300.1.1.1"`, nil},
		// The cut-off last line is not the problem: the damaged file is.
		{"1.2.3.4\n5.6.", `unexpected EOF`, io.ErrUnexpectedEOF},
		{"1.2.3.4\n10.0.0.0/1", `unexpected EOF`, io.ErrUnexpectedEOF},
	} {
		var r io.Reader = strings.NewReader(c.in)
		if c.readErr != nil {
			r = io.MultiReader(r, iotest.ErrReader(c.readErr))
		}
		_, err := ParseThreatList("bad.txt", r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseThreatList(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestPrefixSet(t *testing.T) {
	s := NewPrefixSet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("fc00::/7")})
	for addr, want := range map[string]string{"10.9.9.9": "10.0.0.0/8", "10.1.9.9": "10.1.0.0/16", "10.1.2.3": "10.1.2.3/32", "11.0.0.1": "", "fd00::1": "fc00::/7"} {
		p, ok := s.Lookup(netip.MustParseAddr(addr))
		got := ""
		if ok {
			got = p.String()
		}
		if got != want {
			t.Errorf("Lookup(%s) = %q, want %q", addr, got, want)
		}
	}
	if !IsInternal(netip.MustParseAddr("172.20.1.1")) || IsInternal(netip.MustParseAddr("172.32.0.1")) {
		t.Error("IsInternal")
	}
}

func FuzzParseThreatList(f *testing.F) {
	f.Add("203.0.113.0/24 # c2\n198.51.100.7 ; x\n")
	f.Add("2001:db8::/32\n\n# only a comment\n")
	f.Fuzz(func(t *testing.T, in string) {
		tl, err := ParseThreatList("fuzz", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") && !strings.HasPrefix(err.Error(), "read threat list fuzz:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		for _, e := range tl.Entries {
			if m, ok := tl.Match(e.Prefix.Addr()); !ok || !m.Prefix.Contains(e.Prefix.Addr()) {
				t.Fatalf("entry %v does not match its own address", e.Prefix)
			}
		}
	})
}
