package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flowlens/ingest"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scanLines are an internet host probing 20 ports of one instance, in AWS's
// default format, starting at start.
func scanLines(start int64) string {
	var b strings.Builder
	for i := 0; i < 20; i++ {
		t := start + int64(i)*5
		fmt.Fprintf(&b, "2 123456789012 eni-0a1b2c3d4e5f60718 203.0.113.66 10.0.1.5 40000 %d 6 1 44 %d %d REJECT OK\n", 1000+i, t, t+1)
	}
	return b.String()
}

const benignLines = "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.7 10.0.1.5 45000 5432 6 10 900 1709251300 1709251310 ACCEPT OK\n" +
	"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.5 10.0.1.7 5432 45000 6 12 9000 1709251300 1709251310 ACCEPT OK\n"

// TestDetectFollowWebhook runs `flowlens detect --follow` with a webhook sink
// on a loopback HTTP server, ingests a file with a port scan while it runs,
// and checks that the alert reaches the webhook within 60 seconds of the
// ingest, and is printed.
func TestDetectFollowWebhook(t *testing.T) {
	got := make(chan map[string]any, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var a map[string]any
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("webhook body is not one alert object: %v\n%s", err, body)
		}
		got <- a
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	data := t.TempDir()
	cfg := writeFile(t, "config.yaml", []byte("alerts:\n  sinks:\n    - type: webhook\n      url: "+srv.URL+"/hook\n      retries: -1\n"))
	ctx := context.Background()
	first := writeFile(t, "first.log", []byte(benignLines))
	if _, err := ingest.Files(ctx, data, []string{first}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}

	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb syncBuffer
	oldOut, oldErr := g.stdout, g.stderr
	g.stdout, g.stderr = &out, &errb
	defer func() { g.stdout, g.stderr = oldOut, oldErr }()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(runCtx, []string{"detect", "--follow", "--interval", "200ms", "--from", "2024-03-01T00:00:00Z",
			"--data", data, "--config", cfg, "-o", "ndjson"})
	}()
	began := time.Now()
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(errb.String(), "detect: 2024-03-01T00:00:00Z") }, "the first pass", &errb)
	t.Logf("first pass %s", time.Since(began).Round(time.Millisecond))

	second := writeFile(t, "second.log", []byte(scanLines(1709254800)))
	if _, err := ingest.Files(ctx, data, []string{second}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	ingested := time.Now()
	select {
	case a := <-got:
		if a["rule"] != "port-scan-vertical" || a["src"] != "203.0.113.66" || a["dst"] != "10.0.1.5" || a["status"] != "open" {
			t.Errorf("webhook got %v", a)
		}
		t.Logf("alert delivered %s after the ingest", time.Since(ingested).Round(time.Millisecond))
	case <-time.After(60 * time.Second):
		t.Fatalf("no alert within 60 s of the ingest\nstderr:\n%s", errb.String())
	}
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), `"rule":"port-scan-vertical"`) }, "the printed alert", &errb)
	cancel()
	stopAt := time.Now()
	select {
	case code := <-done:
		t.Logf("stopped %s after cancel", time.Since(stopAt).Round(time.Millisecond))
		if code != 0 {
			t.Errorf("exit %d\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("detect --follow did not stop when cancelled")
	}
	// The same incident found again is one alert: a plain re-run over the
	// same data records nothing new and sends nothing.
	g.stdout, g.stderr = &out, &errb
	if code := run(ctx, []string{"detect", "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--data", data, "--config", cfg, "-o", "ndjson"}); code != 0 {
		t.Fatalf("re-run exit %d: %s", code, errb.String())
	}
	select {
	case a := <-got:
		t.Errorf("the re-run sent the known alert again: %v", a)
	case <-time.After(500 * time.Millisecond):
	}
	b, err := os.ReadFile(filepath.Join(data, "alerts", "state.json"))
	n := strings.Count(strings.ReplaceAll(string(b), " ", ""), `"rule":"port-scan-vertical"`)
	if err != nil || n != 1 {
		t.Errorf("alert state holds the scan %d times (want once): %v\n%s", n, err, b)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, what string, errb *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\nstderr:\n%s", what, errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDetectCommand(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	f := writeFile(t, "scan.log", []byte(benignLines+scanLines(1709254800)))
	if _, err := ingest.Files(ctx, data, []string{f}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	truth := writeFile(t, "truth.ndjson", []byte(`{"category":"port-scan","src":"203.0.113.66","dst":"10.0.1.5","start":"2024-03-01T01:00:00Z","end":"2024-03-01T01:02:00Z"}`+"\n"))
	rules := t.TempDir()
	os.WriteFile(filepath.Join(rules, "bad.yaml"), []byte("id: bad\ntitle: t\ncategory: port-scan\nseverity: loud\nquery: SELECT {{nope}} FROM flows\n"), 0o644)
	sqlBad := t.TempDir()
	os.WriteFile(filepath.Join(sqlBad, "typo.yaml"), []byte("id: typo\ntitle: t\ncategory: port-scan\nseverity: low\nquery: |\n  SELECT srcaddr AS src\n  FROM vpc_flow_logs\n  WHERE dstprt = 22\n"), 0o644)
	// A webhook on a loopback port nobody listens on: every delivery fails.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	deadSink := writeFile(t, "dead-sink.yaml", []byte("alerts:\n  sinks:\n    - type: webhook\n      url: "+closedURL+"/hook\n      retries: -1\n"))
	sinkData := t.TempDir()
	if _, err := ingest.Files(ctx, sinkData, []string{f}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	emptyList := writeFile(t, "empty.netset", []byte("# nothing listed today\n"))
	// An interface that reports only NODATA for an hour: an alert told
	// apart by its interface (key), not by src and dst.
	var nodata strings.Builder
	for i := range 12 {
		fmt.Fprintf(&nodata, "2 123456789012 eni-0f0f0f0f0f0f0f0f0 - - - - - - - %d %d - NODATA\n", 1709251200+i*300, 1709251260+i*300)
	}
	quietData := t.TempDir()
	if _, err := ingest.Files(ctx, quietData, []string{writeFile(t, "quiet.log", []byte(nodata.String()))}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	insRules := t.TempDir()
	os.WriteFile(filepath.Join(insRules, "rejects.yaml"), []byte(`id: insights-rejects
title: "Rejected source {srcaddr}: {rejects} records"
category: rejected-spike
severity: low
mitre: [T1046]
window: 1h
thresholds:
  min_rejects: 15
query: |
  filter action = "REJECT"
  | stats count(*) as rejects by srcaddr
  | filter rejects >= {{min_rejects}}
`), 0o644)
	dupIDs := t.TempDir()
	dupRule := "id: dup\ntitle: t\ncategory: port-scan\nseverity: low\nquery: SELECT srcaddr AS src FROM vpc_flow_logs\n"
	os.WriteFile(filepath.Join(dupIDs, "a.yaml"), []byte(dupRule), 0o644)
	os.WriteFile(filepath.Join(dupIDs, "b.yaml"), []byte("# the same rule again\n"+dupRule), 0o644)
	insBad := t.TempDir()
	rejects, _ := os.ReadFile(filepath.Join(insRules, "rejects.yaml"))
	os.WriteFile(filepath.Join(insBad, "rejects.yaml"), bytes.Replace(rejects, []byte("{{min_rejects}}"), []byte("{{min_rejects}} and dstprt = 22"), 1), 0o644)
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
	}{
		{"ndjson alerts", []string{"detect", "--data", data, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--no-state", "-o", "ndjson"}, 0,
			[]string{`"rule":"port-scan-vertical","category":"port-scan","severity":"medium"`, `"src":"203.0.113.66","dst":"10.0.1.5","first_seen":"2024-03-01T01:00:00Z"`, `"mitre":["T1046"]`}, []string{"threat-intel-match skipped"}, nil},
		{"truth table", []string{"detect", "--data", data, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--no-state", "-o", "table", "--truth", truth}, 0,
			[]string{"CATEGORY", "port-scan               1      1   1.000"}, nil, nil},
		{"json with score", []string{"detect", "--data", data, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--no-state", "-o", "json", "--truth", truth}, 0,
			[]string{`{"alerts":[{`, `"score":{"categories":[`, `"overall":{"category":"overall","truth":1,"found":1`}, nil, nil},
		{"set a threshold", []string{"detect", "--data", data, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--no-state", "--set", "port-scan-vertical.min_ports=25"}, 0,
			nil, nil, []string{"port-scan-vertical"}},
		{"unknown threshold", []string{"detect", "--data", data, "--since", "1h", "--set", "port-scan-vertical.ports=3"}, 2,
			nil, []string{`rule port-scan-vertical has no threshold "ports" (it has: min_ports, max_probe_packets)`}, nil},
		{"validate bad rule", []string{"detect", "--validate", rules}, 2, nil,
			[]string{"bad.yaml:4:11: severity \"loud\" is not one of critical, high, medium, low, info", "bad.yaml:5:15: {{nope}}: unknown parameter"}, nil},
		{"validate bad SQL", []string{"rules", "validate", sqlBad}, 2, nil, []string{"typo.yaml:8:9: rule typo:", "dstprt"}, nil},
		{"duplicate rule ids", []string{"rules", "validate", dupIDs}, 2, nil,
			[]string{filepath.Join(dupIDs, "b.yaml") + `:2:5: rule id "dup" is already used by ` + filepath.Join(dupIDs, "a.yaml")}, nil},
		{"validate bad Insights", []string{"rules", "validate", insBad}, 2, nil,
			[]string{`rejects.yaml:12:43: rule insights-rejects: compile the Insights query: unknown field "dstprt"`}, nil},
		{"insights rule", []string{"detect", "--data", data, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--no-state", "--rules", insRules, "-o", "ndjson"}, 0,
			[]string{`"rule":"insights-rejects","category":"rejected-spike","severity":"low","title":"Rejected source 203.0.113.66: 20 records","src":"203.0.113.66","dst":null,"first_seen":"2024-03-01T01:00:00Z","last_seen":"2024-03-01T01:59:59Z","count":1,"evidence":{"rejects":20}`}, nil, nil},
		{"rules list", []string{"rules", "list", "-o", "csv"}, 0, []string{"port-scan-vertical,port-scan,medium,1h sliding,T1046", "c2-beaconing,c2-beaconing,high"}, nil, nil},
		{"rules show", []string{"rules", "show", "exposed-service"}, 0, []string{"id: exposed-service", "query: |"}, nil, nil},
		{"rules show from --rules", []string{"rules", "show", "insights-rejects", "--rules", insRules}, 0, []string{"id: insights-rejects", "filter action = \"REJECT\""}, nil, nil},
		{"negative timeout", []string{"detect", "--data", data, "--no-state", "--since", "1h", "--timeout", "-1s"}, 2, nil,
			[]string{"--timeout: -1s is not a positive duration"}, nil},
		{"empty threat list", []string{"detect", "--data", data, "--no-state", "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "--threat-list", emptyList}, 0, nil,
			[]string{"rule threat-intel-match skipped: the threat lists (" + emptyList + ") hold no addresses"}, nil},
		{"record a keyed alert", []string{"detect", "--data", quietData, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "-o", "ndjson"}, 0,
			[]string{`"rule":"flow-log-nodata"`, `"key":"eni-0f0f0f0f0f0f0f0f0"`}, nil, nil},
		{"alerts list shows the key", []string{"alerts", "list", "--data", quietData, "-o", "json"}, 0,
			[]string{`"mitre","key","status"`, `[],"eni-0f0f0f0f0f0f0f0f0","open"`}, nil, nil},
		{"from after now", []string{"detect", "--data", data, "--no-state", "--from", "2999-01-01T00:00:00Z"}, 2, nil,
			[]string{"--from 2999-01-01T00:00:00Z is after now"}, nil},
		{"undelivered alerts fail the run", []string{"detect", "--data", sinkData, "--config", deadSink, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00Z", "-o", "ndjson"}, 1,
			[]string{`"rule":"port-scan-vertical"`}, []string{"connection refused", "alerts were not delivered to sink webhook (see above)"}, nil},
		{"bad threat list", []string{"detect", "--data", data, "--since", "1h", "--threat-list", truth}, 2, nil, []string{"truth.ndjson:1:1:"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.notStdout {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
