package detect

import (
	"os"
	"testing"
	"time"
)

func TestDumpSQL(t *testing.T) {
	id := os.Getenv("FLOWLENS_DUMP")
	if id == "" {
		t.Skip()
	}
	rules, _ := Builtin()
	r := NewRunner(nil, rules, Options{})
	for _, rl := range rules {
		if rl.ID != id {
			continue
		}
		refs, _ := scanRefs(rl.Query)
		from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		q, _, err := r.render(rl, refs, span{from: from, to: from.Add(24 * time.Hour)}, int64(rl.Window.Size/time.Second))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile("/tmp/dump.sql", []byte(q), 0o644)
	}
}
