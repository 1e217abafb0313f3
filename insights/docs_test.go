package insights

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated functions list in docs/insights.md")

const (
	docPath  = "../docs/insights.md"
	docBegin = "<!-- BEGIN FUNCTIONS (generated) -->\n"
	docEnd   = "<!-- END FUNCTIONS -->"
)

// TestDocListsEveryFunction keeps the functions list of docs/insights.md
// equal to the functions table.
func TestDocListsEveryFunction(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", docPath, docBegin, docEnd)
	}
	want := FunctionsMarkdown()
	if *update {
		doc = doc[:i+len(docBegin)] + want + doc[j:]
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := doc[i+len(docBegin) : j]; got != want {
		t.Errorf("the functions list in %s is stale: run go test ./insights -update", docPath)
	}
	for _, f := range functions {
		for _, name := range append([]string{f.Name}, f.Aliases...) {
			if !strings.Contains(doc, "`"+name) {
				t.Errorf("%s does not mention %s", docPath, name)
			}
		}
	}
}
