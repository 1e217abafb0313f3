package lake

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCopies: a copy is recorded under its own path with a link to its
// original and the part they share; it is never taken for a source whose
// every line was quarantined, its growth keeps the link, and the original
// stays findable by its old content after it grows.
func TestCopies(t *testing.T) {
	mtime := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	orig := Source{Path: "/in/a.log", Size: 100, ModTime: mtime, SHA256: "h1", Lines: 3, Records: 2, Quarantined: 2, Format: "v2"}
	copyA := CopyOf(orig, "/in/copy/a.log", 100, mtime, "h1", "v2")
	want := Source{Path: "/in/copy/a.log", Size: 100, ModTime: mtime, SHA256: "h1", Lines: 3, Records: 2, Format: "v2",
		DuplicateOf: "/in/a.log", Shared: &SharedRange{Bytes: 100, Lines: 3, Records: 2}, Whole: true}
	if diff := cmp.Diff(want, copyA); diff != "" {
		t.Errorf("CopyOf (-want +got):\n%s", diff)
	}

	rereads := []struct {
		name   string
		s      Source
		format string
		want   bool
		from   int64
	}{
		{"quarantined-only, another format", orig, "v5", true, 0},
		{"quarantined-only, the same format", orig, "v2", false, 0},
		{"copy of a quarantined-only source", copyA, "v5", false, 3},
		{"copy whose own lines were all quarantined", func() Source { s := copyA; s.Quarantined = 1; s.Lines = 4; return s }(), "v5", true, 3},
		{"copy with a line of its own stored", func() Source { s := copyA; s.Quarantined, s.Stored = 1, 1; return s }(), "v5", false, 3},
		{"standard input", Source{Path: "-", Quarantined: 2}, "v5", false, 0},
	}
	for _, r := range rereads {
		if got := r.s.Rereadable(r.format); got != r.want {
			t.Errorf("%s: Rereadable = %v, want %v", r.name, got, r.want)
		}
		if from, _, _ := r.s.RereadFrom(); from != r.from {
			t.Errorf("%s: RereadFrom = line %d, want %d", r.name, from, r.from)
		}
	}

	c := &Catalog{}
	c.index()
	c.putSource(orig)
	c.putSource(copyA)
	if s, _ := c.SourceByHash("h1", ""); s.Path != orig.Path {
		t.Errorf("by hash: %s, want the original %s", s.Path, orig.Path)
	}
	if s, _ := c.SourceByHash("h1", orig.Path); s.Path != copyA.Path {
		t.Errorf("by hash other than the original: %s, want the copy", s.Path)
	}
	// The copy grows: the entry for its new lines adds to it and keeps the link.
	c.putSource(Source{Path: copyA.Path, Size: 150, SHA256: "h2", Lines: 4, Records: 1, Stored: 1})
	got, _ := c.SourceByPath(copyA.Path)
	if got.DuplicateOf != orig.Path || got.Shared == nil || got.Shared.Lines != 3 || got.Records != 3 || got.Stored != 1 || got.Quarantined != 0 {
		t.Errorf("grown copy: %+v", got)
	}
	// The original grows too: its old content is still known, by the copy
	// of it that a third path would repeat.
	c.putSource(orig)
	c.putSource(CopyOf(orig, "/in/b.log", 100, mtime, "h1", "v2"))
	c.putSource(Source{Path: orig.Path, Size: 150, SHA256: "h3", Lines: 4, Records: 1, Stored: 1})
	if s, ok := c.SourceByHash("h1", ""); !ok || s.Path != "/in/b.log" {
		t.Errorf("old content after the original grew: %v %+v", ok, s)
	}
	if s, ok := c.SourceByHash("h3", ""); !ok || s.Path != orig.Path {
		t.Errorf("new content: %v %+v", ok, s)
	}
}
