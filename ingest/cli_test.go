package ingest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flowlens runs the binary and returns stdout, stderr and the exit code.
func flowlens(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(buildFlowlens(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flowlens binary")
	}
	in, data := t.TempDir(), t.TempDir()
	writeGzip(t, filepath.Join(in, "a.log.gz"), hdr+line1+"garbage line\n"+line2)
	writeFile(t, filepath.Join(in, "b.log"), []byte(hdr+line3))
	d := "--data=" + data

	// -o json prints exactly the eight counts; --strict exits 3 on quarantine.
	out, errs, code := flowlens(t, "", d, "-o", "json", "ingest", "--strict", in)
	if code != 3 || !strings.Contains(errs, "--strict: 1 lines quarantined") {
		t.Errorf("ingest --strict: exit %d, stderr %q", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("ingest -o json printed %q: %v", out, err)
	}
	delete(m, "seconds")
	delete(m, "bytes_read")
	want := map[string]any{"records_read": 4.0, "records_stored": 3.0, "records_quarantined": 1.0, "records_skipped": 0.0, "sources": 2.0, "sources_skipped": 0.0}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("ingest -o json (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, `"seconds":`) || !strings.Contains(out, `"bytes_read":`) || len(strings.Split(out, ",")) != 8 {
		t.Errorf("ingest -o json: %s", out)
	}

	// Again, as text, from standard input too: the files are skipped, the
	// standard input is stored.
	out, _, code = flowlens(t, line3, d, "ingest", in, "-")
	if code != 0 || !strings.Contains(out, "read 5 = stored 1 + quarantined 0 + already ingested 4") {
		t.Errorf("second ingest: exit %d, %q", code, out)
	}

	// A changed file is refused with exit 3.
	writeFile(t, filepath.Join(in, "b.log"), []byte(hdr+line2))
	out, errs, code = flowlens(t, "", d, "ingest", filepath.Join(in, "b.log"))
	if code != 3 || !strings.Contains(errs, "changed since it was ingested") {
		t.Errorf("changed file: exit %d, %q", code, errs)
	}
	if want := "ingested 0 sources (0 B) in "; !strings.HasPrefix(out, want) || !strings.Contains(out, "into 0 files; refused 1 changed source\n") {
		t.Errorf("changed file: summary %q, want it to start %q and say the source was refused", out, want)
	}

	out, _, code = flowlens(t, "", d, "status", "-o", "json")
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
		t.Fatalf("status: %v %q", err, out)
	}
	if st["records"] != 4.0 || st["partitions"] != 2.0 || st["sources"] != 3.0 || st["quarantined"] != 1.0 {
		t.Errorf("status: %v", st)
	}
	for _, args := range [][]string{{"lake", "compact"}, {"lake", "verify"}, {"lake", "retain", "--keep", "3650d"}} {
		if out, errs, code := flowlens(t, "", append([]string{d}, args...)...); code != 0 {
			t.Errorf("%v: exit %d, %s %s", args, code, out, errs)
		}
	}
	if _, errs, code := flowlens(t, "", d, "lake", "retain"); code != 2 || !strings.Contains(errs, "--keep") {
		t.Errorf("lake retain without an age: exit %d, %q", code, errs)
	}
	if _, errs, code := flowlens(t, "2 123456789012 eni-0a1b 10.9.9.9 10.0.0.220 1 443 6 10 840 1709251300 1709251360 ACCEPT OK\n", d, "ingest", "--format", "auto", "-"); code != 0 || !strings.Contains(errs, "guessed the layout from 14 values") {
		t.Errorf("--format auto: exit %d, %q", code, errs)
	}
	if _, _, code := flowlens(t, "", d, "ingest", filepath.Join(in, "missing.log")); code != 1 {
		t.Errorf("missing source: exit %d, want 1", code)
	}
}
