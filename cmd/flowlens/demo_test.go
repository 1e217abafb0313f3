package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs the whole demo on a small day and checks that every part of
// the summary is there and that the counts it prints add up.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errs := runCLI(t, "", "demo", "--records", "60000", "--data", dir)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s\nstdout: %s", code, errs, out)
	}
	for _, want := range []string{
		"1. generate:", "2. ingest:", "3. detect:",
		"read 60000 = stored 60000 + quarantined 0 + already ingested 0",
		"── Traffic per hour", "── Top talkers", "── Rejected traffic", "── Alerts", "── Try next",
		"Demo finished in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	m := regexp.MustCompile(`recall ([0-9.]+), precision ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no score line in:\n%s", out)
	}
	if m[1] == "0.00" {
		t.Errorf("demo found none of the attacks: %s", m[0])
	}
	if n := strings.Count(out, "(query failed"); n > 0 {
		t.Errorf("%d summary queries failed:\n%s", n, out)
	}
	// The data folder stays usable for the commands the demo suggests.
	code, out, errs = runCLI(t, "", "--data", dir, "query", "-o", "csv", "stats count() as n")
	if code != 0 || !strings.Contains(out, "60000") {
		t.Errorf("query on the demo folder: exit %d, %q, %s", code, out, errs)
	}
	// A second demo into the same folder is refused rather than mixed in.
	if code, _, errs := runCLI(t, "", "demo", "--records", "60000", "--data", dir); code != 2 || !strings.Contains(errs, "already holds a lake") {
		t.Errorf("second demo: exit %d, %s", code, errs)
	}
}
