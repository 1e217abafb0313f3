package insights

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestComplete(t *testing.T) {
	fields := []string{"srcaddr", "dstaddr", "dstport", "action"}
	labels := func(cs []Completion) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Label)
		}
		return out
	}
	tests := []struct {
		name   string
		query  string // | marks the cursor
		want   []string
		insert string // Insert of the first completion, when set
		from   int    // Replace.Start of the first completion
	}{
		{name: "empty", query: "|", want: Commands, insert: "fields "},
		{name: "command prefix", query: "st|", want: []string{"stats"}, insert: "stats "},
		{name: "after pipe", query: "filter a = 1 | so|", want: []string{"sort"}, from: 15},
		{name: "field in filter", query: "filter dst|", want: []string{"dstaddr", "dstport"}, from: 7},
		{name: "no aggregates in filter", query: "filter co|", want: []string{"coalesce", "concat"}},
		{name: "aggregates in stats", query: "stats cou|", want: []string{"count", "count_distinct"}, insert: "count("},
		{name: "alias dc", query: "stats d|", want: []string{"dstaddr", "dstport", "dc", "dateceil", "datefloor"}},
		{name: "by clause has no aggregates", query: "stats count(*) by b|", want: []string{"bin"}},
		{name: "at fields", query: "fields @|", want: []string{"@logStream", "@message", "@timestamp"}},
		{name: "keywords after a field", query: "stats count(*) |", want: []string{"as", "by"}},
		{name: "sort direction", query: "sort bytes d|", want: []string{"desc"}},
		{name: "filter operators", query: "filter action |", want: []string{"and", "or", "like", "not like", "in", "not in"}},
		{name: "after as", query: "stats count(*) as |", want: nil},
		{name: "dedup fields only", query: "dedup s|", want: []string{"srcaddr"}},
		{name: "in a string", query: `filter a = "x|`, want: nil},
		{name: "limit", query: "limit |", want: nil},
		{name: "mid query", query: "filter sr| = 1", want: []string{"srcaddr"}, from: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor := indexByte(tt.query, '|')
			query := tt.query[:cursor] + tt.query[cursor+1:]
			if tt.name == "mid query" || tt.name == "after pipe" {
				cursor = lastIndexByte(tt.query, '|')
				query = tt.query[:cursor] + tt.query[cursor+1:]
			}
			got := Complete(query, cursor, fields)
			if diff := cmp.Diff(tt.want, labels(got)); diff != "" {
				t.Errorf("Complete(%q, %d) mismatch (-want +got):\n%s", query, cursor, diff)
			}
			if len(got) > 0 {
				if tt.insert != "" && got[0].Insert != tt.insert {
					t.Errorf("first Insert = %q, want %q", got[0].Insert, tt.insert)
				}
				if tt.from != 0 && got[0].Replace.Start != tt.from {
					t.Errorf("first Replace = %v, want start %d", got[0].Replace, tt.from)
				}
				if got[0].Replace.End != cursor {
					t.Errorf("first Replace = %v, want end at the cursor %d", got[0].Replace, cursor)
				}
			}
		})
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}
