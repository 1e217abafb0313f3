package gen

import (
	"strings"
	"testing"
)

// FuzzParseFlags: the --scenarios and --format readers never panic, and what
// they accept is valid.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"all", "none", "port-scan,c2-beaconing", "v2", "v5", "v8", "v11", "v6", "${srcaddr} ${dstaddr}", "${", "port-scan,,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sc, err := ParseScenarios(s); err == nil {
			for _, c := range sc {
				if !strings.Contains(strings.Join(Categories, " "), c) {
					t.Fatalf("accepted unknown category %q", c)
				}
			}
		}
		if fm, err := ParseFormat(s); err == nil && fm.Len() == 0 {
			t.Fatalf("accepted an empty format from %q", s)
		}
	})
}
