package compile

import (
	"database/sql"
	"math/rand/v2"
	"slices"
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
// it, in both directions, after stats and for parsed fields; records without
// the field come last either way, as before.
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
		{"addresses desc, null last", withNull, "fields v | sort v desc", append(reversed(sortedIPs), "<null>")},
		{"after stats", withNull, "stats count(*) by v | sort v", withNull},
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
