package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesOpenBind checks that serve will not listen beyond loopback
// without a token, and reads the token from the flag, the environment and
// the configuration. None of these cases binds a port.
func TestServeRefusesOpenBind(t *testing.T) {
	t.Setenv("FLOWLENS_TOKEN", "")
	t.Setenv("FLOWLENS_TEST_UNSET_TOKEN", "")
	data := t.TempDir()
	unsetCfg := writeFile(t, "config.yaml", []byte("server:\n  listen: 0.0.0.0:8080\n  token: ${FLOWLENS_TEST_UNSET_TOKEN}\n"))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"every-interface", []string{"--listen", "0.0.0.0:8080"}, "listen address 0.0.0.0:8080 is not loopback (every interface): give a token with --token, FLOWLENS_TOKEN or server.token"},
		{"no-host", []string{"--listen", ":8080"}, "listen address :8080 is not loopback (every interface)"},
		{"private-address", []string{"--listen", "10.1.2.3:8080"}, "listen address 10.1.2.3:8080 is not loopback (10.1.2.3)"},
		{"host-name", []string{"--listen", "flowlens.example.com:8080"}, "is not loopback (flowlens.example.com)"},
		{"config-env-unset", []string{"--config", unsetCfg}, "server.token is ${FLOWLENS_TEST_UNSET_TOKEN}, but FLOWLENS_TEST_UNSET_TOKEN is not set"},
		{"no-port", []string{"--listen", "127.0.0.1"}, `listen address "127.0.0.1"`},
		{"bad-interval", []string{"--detect-interval", "0s"}, "--detect-interval: 0s is not a positive duration"},
		{"no-inbox", []string{"--ingest", filepath.Join(data, "nope")}, "--ingest: stat " + filepath.Join(data, "nope") + ": no such file or directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append([]string{"serve", "--data", data}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 with %q", code, stderr, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		env  string
		cfg  string
		flag string
		want string
	}{
		{"flag", "", "", "from-flag", "from-flag"},
		{"env-over-config", "from-env", "from-config", "", "from-env"},
		{"config", "", "from-config", "", "from-config"},
		{"config-env", "", "${FLOWLENS_TEST_SET_TOKEN}", "", "set-in-env"},
	} {
		t.Setenv("FLOWLENS_TOKEN", tt.env)
		t.Setenv("FLOWLENS_TEST_SET_TOKEN", "set-in-env")
		got, err := serveToken(tt.flag, tt.cfg)
		if err != nil || got != tt.want {
			t.Errorf("%s: token %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestServeIngestDetect runs serve on a loopback port with --ingest: a file
// dropped into the watched folder is ingested, the rules run on its records
// and raise the port scan it holds, and the API answers queries over it.
// SIGINT's context cancel stops serve with exit 0.
func TestServeIngestDetect(t *testing.T) {
	data := t.TempDir()
	inbox := t.TempDir()
	if err := os.WriteFile(filepath.Join(inbox, "scan.log"), []byte(benignLines+scanLines(1709254800)), 0o644); err != nil {
		t.Fatal(err)
	}
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb syncBuffer
	oldOut, oldErr := g.stdout, g.stderr
	g.stdout, g.stderr = &out, &errb
	defer func() { g.stdout, g.stderr = oldOut, oldErr }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--ingest", inbox,
			"--ingest-interval", "200ms", "--detect-interval", "200ms"})
	}()
	addr := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)
	waitFor(t, 30*time.Second, func() bool { return addr.MatchString(errb.String()) }, "serve to listen", &errb)
	base := "http://" + addr.FindStringSubmatch(errb.String())[1]
	get := func(path string, v any) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
		return resp.StatusCode
	}
	var alerts struct {
		Alerts []struct{ Rule, Src, Dst, Status string }
	}
	waitFor(t, 60*time.Second, func() bool {
		get("/api/v1/alerts", &alerts)
		return len(alerts.Alerts) > 0
	}, "the scan's alert", &errb)
	if a := alerts.Alerts[0]; a.Rule != "port-scan-vertical" || a.Src != "203.0.113.66" || a.Dst != "10.0.1.5" || a.Status != "open" {
		t.Errorf("alert %+v", a)
	}
	var status struct {
		Records int64
		Jobs    []struct{ Name, Summary, LastError string }
	}
	if code := get("/api/v1/status", &status); code != 200 || status.Records != 22 || len(status.Jobs) != 2 {
		t.Errorf("status %d: %+v", code, status)
	}
	for _, j := range status.Jobs {
		if j.LastError != "" {
			t.Errorf("job %s: %s", j.Name, j.LastError)
		}
	}
	resp, err := http.Post(base+"/api/v1/query", "application/json", strings.NewReader(`{"query": "filter action = \"REJECT\" | stats count(*) as n"}`))
	if err != nil {
		t.Fatal(err)
	}
	var q struct{ Rows [][]any }
	json.NewDecoder(resp.Body).Decode(&q)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(q.Rows) != 1 || q.Rows[0][0] != 20.0 {
		t.Errorf("query %d: %v", resp.StatusCode, q.Rows)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after cancel\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop when cancelled")
	}
	if !strings.Contains(errb.String(), "flowlens serve: stopped") {
		t.Errorf("stderr %q", errb.String())
	}
}

// TestDemoServe: demo --serve ends its tour by serving the console on the
// demo lake, with the alerts the tour recorded, until cancelled.
func TestDemoServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	cfg := writeFile(t, "config.yaml", []byte("server:\n  listen: 127.0.0.1:0\n"))
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb syncBuffer
	oldOut, oldErr := g.stdout, g.stderr
	g.stdout, g.stderr = &out, &errb
	defer func() { g.stdout, g.stderr = oldOut, oldErr }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfg, "demo", "--records", "20000", "--data", dir, "--serve"})
	}()
	addr := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)
	waitFor(t, 120*time.Second, func() bool { return addr.MatchString(errb.String()) }, "demo to serve", &errb)
	if !strings.Contains(out.String(), "Demo finished in") || !strings.Contains(out.String(), "Serving the web console on the demo lake") {
		t.Errorf("stdout:\n%s", out.String())
	}
	base := "http://" + addr.FindStringSubmatch(errb.String())[1]
	resp, err := http.Get(base + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	var alerts struct{ Alerts []struct{ Rule string } }
	json.NewDecoder(resp.Body).Decode(&alerts)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(alerts.Alerts) == 0 {
		t.Errorf("alerts %d: %d of them", resp.StatusCode, len(alerts.Alerts))
	}
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<html") {
		t.Errorf("console %d: %.200s", resp.StatusCode, page)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after cancel\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo --serve did not stop when cancelled")
	}
}
