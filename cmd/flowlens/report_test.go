package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReportCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, _, stderr := runCLI(t, "", "--data", data, "ingest", "-q", filepath.Join("..", "..", "report", "testdata", "flows.log")); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	empty := filepath.Join(t.TempDir(), "none")
	out := filepath.Join(t.TempDir(), "review.html")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings of stdout
		stderr string   // substring of stderr
	}{
		{"md", []string{"--data", data, "report", "compliance", "--date", "2024-03-01", "--reviewer", "A. Auditor"}, 0,
			[]string{"# Daily log review", "**Requirement 10.4.1.1**", "| A. Auditor |", "eni-0old"}, ""},
		{"json by -o", []string{"--data", data, "-o", "json", "report", "compliance", "--date", "2024-03-01"}, 0,
			[]string{`"report": "compliance"`, `"records": 769`}, ""},
		{"text", []string{"--data", data, "report", "compliance", "--from", "2024-02-28", "--to", "2024-03-01", "-f", "text"}, 0,
			[]string{"Daily log review", "for 2024-02-28 to 2024-03-01", "Reviewed by: ____"}, ""},
		{"cde", []string{"--data", data, "report", "compliance", "--date", "2024-03-01", "--cde", "10.0.1.0/24", "-f", "json"}, 0,
			[]string{`"cde": [`, `"10.0.1.0/24"`}, ""},
		{"traffic", []string{"--data", data, "report", "traffic", "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "-f", "md"}, 0,
			[]string{"# Traffic summary", "**eni-0nat**", "| tcp | 443 | https |"}, ""},
		{"empty data folder", []string{"--data", empty, "report", "compliance", "--date", "2024-03-01"}, 0,
			[]string{"No flow logs for this day"}, "does not exist"},
		{"day without partitions", []string{"--data", data, "report", "compliance", "--date", "2024-06-01"}, 0,
			[]string{"No flow logs for this day", "no flow logs for this day: the lake holds no record of it"}, ""},
		{"out", []string{"--data", data, "report", "compliance", "--date", "2024-03-01", "--out", out}, 0, nil, "wrote " + out + " (html)"},
		{"bad date", []string{"--data", data, "report", "compliance", "--date", "2024-13-01"}, 2, nil, "--date"},
		{"date and from", []string{"--data", data, "report", "compliance", "--date", "2024-03-01", "--from", "2024-03-01", "--to", "2024-03-02"}, 2, nil, "do not go together"},
		{"not midnight", []string{"--data", data, "report", "compliance", "--from", "2024-03-01T10:00:00Z", "--to", "2024-03-02"}, 2, nil, "not midnight"},
		{"bad format", []string{"--data", data, "report", "compliance", "-f", "pdf"}, 2, nil, "-f"},
		{"bad cde", []string{"--data", data, "report", "compliance", "--cde", "10.0.0.0/99"}, 2, nil, "--cde"},
		{"bad since", []string{"--data", data, "report", "traffic", "--since", "soon"}, 2, nil, "--since"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q: %s", tc.stderr, stderr)
			}
		})
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.HasSuffix(string(b), "</html>\n") {
		t.Errorf("--out wrote %d bytes (%v), want a whole HTML document", len(b), err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("--out left %d files in its folder, want the report alone", len(ents))
	}

	// Yesterday is the default day.
	code, stdout, _ := runCLI(t, "", "--data", data, "report", "compliance", "-f", "json")
	var rep struct {
		Days []string `json:"days"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if y := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02"); len(rep.Days) != 1 || rep.Days[0] != y {
		t.Errorf("default days %v, want yesterday %s", rep.Days, y)
	}
}
