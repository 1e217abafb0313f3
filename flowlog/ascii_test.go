package flowlog

import (
	"bytes"
	"testing"
)

// TestPrintableASCII compares the word-at-a-time check with a byte loop for
// every length up to 24 and every byte value at every position, so that the
// overlapping last word and the carries between bytes are covered.
func TestPrintableASCII(t *testing.T) {
	naive := func(b []byte) bool {
		for _, c := range b {
			if c < 0x20 || c > 0x7e {
				return false
			}
		}
		return true
	}
	for n := 0; n <= 24; n++ {
		b := bytes.Repeat([]byte{'a'}, n)
		if !printableASCII(b) {
			t.Fatalf("%q: not printable", b)
		}
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b[pos] = byte(c)
				if got, want := printableASCII(b), naive(b); got != want {
					t.Fatalf("printableASCII(%q) = %v, want %v", b, got, want)
				}
			}
			b[pos] = 'a'
		}
	}
}
