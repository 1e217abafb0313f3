package detect

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowlens/flowlens/enrich"
)

// TestDumpSQL writes the SQL of every built-in rule for one day to the folder
// in FLOWLENS_DUMP (a development aid for timing rules by hand).
func TestDumpSQL(t *testing.T) {
	dir := os.Getenv("FLOWLENS_DUMP")
	if dir == "" {
		t.Skip("set FLOWLENS_DUMP=DIR")
	}
	rules, _ := Builtin()
	tl, err := enrich.LoadThreatList(filepath.Join(os.Getenv("FLOWLENS_GENLAKE"), "threats.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(nil, rules, Options{ThreatLists: []*enrich.ThreatList{tl}})
	for _, rl := range rules {
		refs, _ := scanRefs(rl.Query)
		from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		q, _, err := r.render(rl, refs, span{from: from, to: from.Add(24 * time.Hour)}, int64(rl.Window.Size/time.Second))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, rl.ID+".sql"), []byte(q), 0o644)
	}
}
