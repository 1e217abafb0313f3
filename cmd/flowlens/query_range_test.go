package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryRangeOutsideLake checks the note that a time range holds none of
// the lake's records: --since 24h over imported history is a common surprise.
func TestQueryRangeOutsideLake(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	src := writeFile(t, "flows.log", []byte(queryLines))
	if code, _, errs := runCLI(t, "", "--data", data, "ingest", src); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	const note = "note: no record of the lake lies in the time range: their starts run from 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z"
	tests := []struct {
		args []string
		note bool
	}{
		{[]string{"--since", "24h"}, true},
		{[]string{"--to", "2024-03-01T00:00:00Z"}, true},
		{[]string{"--from", "2024-03-03T00:00:01Z"}, true},
		{[]string{"--from", "2024-03-03T00:00:00Z"}, false},
		{[]string{"--from", "2024-02-01T00:00:00Z", "--to", "2024-03-01T00:00:01Z"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append(append([]string{"--data", data, "query", "-o", "csv"}, tt.args...), "SELECT count(*) AS n FROM flows")
			code, _, errs := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if got := strings.Contains(errs, note); got != tt.note {
				t.Errorf("note %v, want %v; stderr:\n%s", got, tt.note, errs)
			}
		})
	}
}
