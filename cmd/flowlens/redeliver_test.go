package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowlens/flowlens/ingest"
)

// TestRedelivery runs the CLI through a webhook outage on a loopback
// server: detect exits 1 and the alert stays owed (alerts pending lists it,
// alerts redeliver still fails); with the webhook back the next detect
// delivers it exactly once and exits 0, and later runs send nothing. A sink
// removed from the configuration has its owed alerts dropped with a note.
func TestRedelivery(t *testing.T) {
	var mu sync.Mutex
	down := true
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		var a map[string]any
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got = append(got, a["id"].(string)+" "+a["rule"].(string))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	setDown := func(d bool) {
		mu.Lock()
		down = d
		mu.Unlock()
	}
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}

	data := t.TempDir()
	f := writeFile(t, "scan.log", []byte(benignLines+scanLines(1709254800)))
	if _, err := ingest.Files(context.Background(), data, []string{f}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "config.yaml", []byte("alerts:\n  sinks:\n    - name: soc\n      type: webhook\n      url: "+srv.URL+"/hook\n      retries: 1\n      backoff: 10ms\n"))
	archive := filepath.Join(t.TempDir(), "archive.ndjson")
	other := writeFile(t, "other.yaml", []byte("alerts:\n  sinks:\n    - name: archive\n      type: file\n      path: "+archive+"\n"))
	detectArgs := []string{"detect", "--data", data, "--config", cfg, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "-o", "ndjson"}

	steps := []struct {
		name   string
		down   bool
		args   []string
		code   int
		stdout []string
		stderr []string
		// received is how many alerts the webhook has got after the step.
		received int
	}{
		{"webhook down: detect fails and the alert is owed", true, detectArgs, 1,
			[]string{`"rule":"port-scan-vertical"`},
			[]string{`detect: sink "soc": 1 alert still owed: 1 of 1 alerts not delivered: alert a-`, "HTTP 503: maintenance (after 2 attempts)",
				"alerts were not delivered to sink soc (see above): they stay owed, and the next detect or 'flowlens alerts redeliver' sends them"}, 0},
		{"pending lists it", true, []string{"alerts", "pending", "--data", data, "--config", cfg, "-o", "ndjson"}, 0,
			[]string{`"sink":"soc","type":"webhook","alert":"a-`, `"kind":"new","severity":"medium","rule":"port-scan-vertical","src":"203.0.113.66","dst":"10.0.1.5"`,
				`"attempts":1`, `HTTP 503: maintenance (after 2 attempts)","note":null`}, nil, 0},
		{"pending as a table", true, []string{"alerts", "pending", "--data", data, "--config", cfg, "-o", "table"}, 0,
			[]string{"│ soc  │ webhook │ a-"}, []string{"1 deliveries owed: soc 1"}, 0},
		{"redeliver while down", true, []string{"alerts", "redeliver", "--data", data, "--config", cfg, "-o", "csv"}, 1,
			[]string{"sink,type,target,delivered,owed,gave_up,dropped,ms,result", "soc,webhook," + srv.URL + "/…,0,1,0,0,"},
			[]string{"not every owed alert was delivered: 1 still owed, 0 given up (see above)"}, 0},
		{"unknown sink name", true, []string{"alerts", "redeliver", "--data", data, "--config", cfg, "--sink", "pager"}, 2,
			nil, []string{`--sink "pager" is not a configured sink (sinks: soc)`}, 0},
		{"webhook back: detect delivers it once", false, detectArgs, 0,
			[]string{`"rule":"port-scan-vertical"`}, []string{"detect: delivered alerts: soc 1"}, 1},
		{"nothing owed", false, []string{"alerts", "pending", "--data", data, "--config", cfg, "-o", "table"}, 0,
			nil, []string{"nothing is owed to any sink"}, 1},
		{"a re-run sends nothing", false, detectArgs, 0, nil, nil, 1},
		{"redeliver with nothing owed", false, []string{"alerts", "redeliver", "--data", data, "--config", cfg, "-o", "csv"}, 0,
			[]string{"soc,webhook," + srv.URL + "/…,0,0,0,0,"}, nil, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			setDown(st.down)
			code, stdout, stderr := runCLI(t, "", st.args...)
			if code != st.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, st.code, stdout, stderr)
			}
			for _, w := range st.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range st.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if r := received(); len(r) != st.received {
				t.Errorf("the webhook got %d alerts, want %d: %v", len(r), st.received, r)
			}
		})
	}

	// A sink removed from the configuration: what it was owed is dropped.
	setDown(true)
	data2 := t.TempDir()
	if _, err := ingest.Files(context.Background(), data2, []string{f}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "", "detect", "--data", data2, "--config", cfg, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z"); code != 1 {
		t.Fatalf("detect with the webhook down: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "", "alerts", "redeliver", "--data", data2, "--config", other, "-o", "csv")
	if code != 0 || !strings.Contains(stdout, "soc,webhook,,0,0,0,1,0,no longer configured: owed alerts dropped") ||
		!strings.Contains(stderr, `redeliver: sink "soc" is no longer configured: dropped 1 undelivered alert owed to it`) {
		t.Errorf("removed sink: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestSinkConfigErrorsInCLI checks that a wrong sink setting stops the
// commands that build sinks with the file, line and column.
func TestSinkConfigErrorsInCLI(t *testing.T) {
	t.Setenv("FLOWLENS_TEST_UNSET_URL", "")
	cfg := writeFile(t, "sinks.yaml", []byte("alerts:\n  sinks:\n    - name: soc\n      type: webhook\n      url: ${FLOWLENS_TEST_UNSET_URL}\n"))
	data := t.TempDir()
	want := cfg + `:5:12: sink "soc": url names ${FLOWLENS_TEST_UNSET_URL}, which is not set`
	for _, args := range [][]string{
		{"detect", "--data", data, "--config", cfg, "--since", "1h"},
		{"alerts", "test-sinks", "--data", data, "--config", cfg},
		{"alerts", "redeliver", "--data", data, "--config", cfg},
		{"alerts", "pending", "--data", data, "--config", cfg},
	} {
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q, want exit 2 and %q", strings.Join(args[:2], " "), code, stderr, want)
		}
	}
	bad := writeFile(t, "bad.yaml", []byte("alerts:\n  sinks:\n    - name: pager\n      type: webhook\n      url: htp://x\n"))
	// The configuration loader reads this one first; it places the error
	// as "line 5, column 12" (or, once it passes alert.ConfigError through,
	// as bad.yaml:5:12).
	code, _, stderr := runCLI(t, "", "config", "show", "--config", bad)
	placed := strings.Contains(stderr, "line 5, column 12: ") || strings.Contains(stderr, bad+":5:12: ")
	if code != 2 || !placed || !strings.Contains(stderr, `sink "pager": webhook url "htp://x": scheme must be http or https`) {
		t.Errorf("config show: exit %d, stderr %q", code, stderr)
	}
}
