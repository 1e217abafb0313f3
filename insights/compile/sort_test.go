package compile

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/flowlens/flowlens/insights"
	"github.com/google/go-cmp/cmp"
)

// awsSortExample is the ascending order that AWS's documentation of the sort
// command gives for its "updated natural sort": non-number values first,
// with runs of digits compared by length and then by value and everything
// else by Unicode code point; then the values that are only digits, by
// numeric value. Copied from the documentation, not from flowlens output.
var awsSortExample = []string{
	"!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@", "@_", "A", "A9876fghj", "a12345hfh",
	"0", "01", "1", "2", "3",
}

// sortedIPs are addresses in natural order: each octet compares as a number.
var sortedIPs = []string{"9.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.10", "10.0.0.100", "10.0.1.1", "10.10.0.1", "192.168.0.1"}

// sortDB is a table of one text column v, and start, loaded with values in a
// shuffled order.
func sortDB(t *testing.T, values []string) (*sql.DB, Schema) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE vpc_flow_logs (v VARCHAR, start BIGINT)`); err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(values)
	r := rand.New(rand.NewPCG(7, 8))
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i, v := range shuffled {
		var x any = v
		if v == "<null>" {
			x = nil
		}
		if _, err := db.Exec(`INSERT INTO vpc_flow_logs VALUES (?, ?)`, x, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return db, NewSchema([]Column{{Name: "v", Type: "VARCHAR"}, {Name: "start", Type: "BIGINT"}})
}

func column(t *testing.T, db *sql.DB, s Schema, text string) []string {
	t.Helper()
	q, err := insights.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	sqlText, err := Compile(q, s, DuckDB, Options{})
	if err != nil {
		t.Fatalf("Compile(%q): %v", text, err)
	}
	res := query(t, db, sqlText)
	var out []string
	for _, row := range res.rows {
		switch v := row[0].(type) {
		case nil:
			out = append(out, "<null>")
		case string:
			out = append(out, v)
		default:
			t.Fatalf("%q: unexpected value %#v", text, v)
		}
	}
	return out
}

// TestSortNaturalOrder checks that sort orders text as CloudWatch documents
// it, in both directions, after stats and for parsed fields; a view field
// that is null sorts as the text "-", a missing parse result comes last.
func TestSortNaturalOrder(t *testing.T) {
	reversed := func(s []string) []string {
		r := slices.Clone(s)
		slices.Reverse(r)
		return r
	}
	withNull := append(slices.Clone(sortedIPs), "<null>")
	tests := []struct {
		name   string
		values []string
		query  string
		want   []string
	}{
		{"aws example asc", awsSortExample, "fields v | sort v asc", awsSortExample},
		{"aws example default", awsSortExample, "fields v | sort v", awsSortExample},
		{"aws example desc", awsSortExample, "fields v | sort v desc", reversed(awsSortExample)},
		{"addresses", sortedIPs, "fields v | sort v", sortedIPs},
		// A null field of the view is the flow log's "-", which sorts as
		// text: before the digits, so first ascending and last descending.
		{"addresses desc, dash last", withNull, "fields v | sort v desc", append(reversed(sortedIPs), "-")},
		{"after stats, dash first", withNull, "stats count(*) by v | sort v", append([]string{"-"}, sortedIPs...)},
		// A parse result that is missing is null, and null comes last.
		{"missing parse result last", []string{"x", "10.0.0.1"}, `parse v "*.*" as a, rest | sort a | display v`, []string{"10.0.0.1", "x"}},
		{"parsed octet", sortedIPs, `parse v "*.*" as a, rest | sort a, rest | display v`, sortedIPs},
		{"string function", sortedIPs, "fields concat(v, \"\") as w | sort w | display w", sortedIPs},
		{"dedup keeps the first in natural order", []string{"x2", "x10", "x1"},
			"fields v, \"k\" as k | display v | sort v desc | dedup k", []string{"x10"}},
		{"unicode beyond ASCII", []string{"é1", "é10", "é9", "z"}, "fields v | sort v", []string{"z", "é1", "é9", "é10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, s := sortDB(t, tt.values)
			got := column(t, db, s, tt.query)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: order mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// naturalLess is the order TestSortNaturalOrder's example documents, written
// in Go from AWS's description: values that are only digits after all
// others and by numeric value; other values compared with each run of
// digits standing for its length and then its digits.
func naturalLess(a, b string) bool {
	isNum := func(s string) bool {
		if s == "" {
			return false
		}
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	key := func(s string) string {
		if isNum(s) {
			d := strings.TrimLeft(s, "0")
			return fmt.Sprintf("%010d%s", len(d), d)
		}
		var b strings.Builder
		for i := 0; i < len(s); {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i {
				fmt.Fprintf(&b, "0%010d%s", j-i, s[i:j])
				i = j
				continue
			}
			b.WriteByte(s[i])
			i++
		}
		return b.String()
	}
	if an, bn := isNum(a), isNum(b); an != bn {
		return bn
	}
	if ka, kb := key(a), key(b); ka != kb {
		return ka < kb
	}
	return a < b
}

// TestSortNaturalOrderRandom compares DuckDB's order of random values with
// naturalLess, in both directions.
func TestSortNaturalOrderRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"0", "1", "2", "9", "0", "5", "a", "A", "z", ".", "-", "_", "!", "@", "é", "~", " "}
	seen := map[string]bool{}
	var values []string
	for len(values) < 400 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		if v := b.String(); !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	db, s := sortDB(t, values)
	want := slices.Clone(values)
	slices.SortFunc(want, func(a, b string) int {
		switch {
		case naturalLess(a, b):
			return -1
		case naturalLess(b, a):
			return 1
		}
		return 0
	})
	if diff := cmp.Diff(want, column(t, db, s, "fields v | sort v | limit 1000")); diff != "" {
		t.Errorf("ascending order mismatch (-want +got):\n%s", diff)
	}
	slices.Reverse(want)
	if diff := cmp.Diff(want, column(t, db, s, "fields v | sort v desc | limit 1000")); diff != "" {
		t.Errorf("descending order mismatch (-want +got):\n%s", diff)
	}
}
