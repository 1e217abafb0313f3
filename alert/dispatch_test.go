package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeSink records what it gets and fails or panics on demand.
type fakeSink struct {
	name  string
	fail  error
	panic bool
	delay time.Duration
	mu    sync.Mutex
	got   []string
}

func (f *fakeSink) Name() string { return f.name }

func (f *fakeSink) Send(ctx context.Context, as []Alert) error {
	if f.panic {
		panic("boom")
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range as {
		f.got = append(f.got, a.Rule)
	}
	return f.fail
}

func TestDispatcher(t *testing.T) {
	mk := func(rule string, sev Severity, st Status) Alert {
		return Alert{Rule: rule, Severity: sev, Status: st}
	}
	created := []Alert{mk("crit", Critical, StatusOpen), mk("low", Low, StatusOpen), mk("muted", Critical, StatusSuppressed)}
	updated := []Alert{mk("upd-high", High, StatusOpen), mk("upd-acked", High, StatusAcked)}

	all := &fakeSink{name: "all"}
	high := &fakeSink{name: "high"}
	updates := &fakeSink{name: "updates"}
	broken := &fakeSink{name: "broken", fail: errors.New("down")}
	panicky := &fakeSink{name: "panicky", panic: true}
	idle := &fakeSink{name: "idle"}
	d := &Dispatcher{}
	d.Add(all, 0, false)
	d.Add(high, High, false)
	d.Add(updates, Medium, true)
	d.Add(broken, 0, false)
	d.Add(panicky, 0, false)
	d.Add(idle, Critical, true)

	res := d.Dispatch(context.Background(), created, updated)
	type row struct {
		Sink string
		Sent int
		Err  string
	}
	var got []row
	for _, r := range res {
		e := ""
		if r.Err != nil {
			e = r.Err.Error()
		}
		got = append(got, row{r.Sink, r.Sent, e})
	}
	want := []row{
		{"all", 2, ""},
		{"high", 1, ""},
		{"updates", 2, ""},
		{"broken", 2, "down"},
		{"panicky", 2, "sink panicky panicked: boom"},
		{"idle", 1, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		s    *fakeSink
		want []string
	}{
		{all, []string{"crit", "low"}},
		{high, []string{"crit"}},
		{updates, []string{"crit", "upd-high"}},
		{idle, []string{"crit"}},
	} {
		if diff := cmp.Diff(tt.want, tt.s.got); diff != "" {
			t.Errorf("sink %s got (-want +got):\n%s", tt.s.name, diff)
		}
	}
	err := Errors(res)
	if err == nil || !strings.Contains(err.Error(), "sink broken: down") || !strings.Contains(err.Error(), "sink panicky") {
		t.Errorf("Errors = %v", err)
	}
	if Errors(res[:3]) != nil {
		t.Error("Errors of successful results should be nil")
	}
}

func TestDispatcherSlowSinkDoesNotBlockOthers(t *testing.T) {
	slow := &fakeSink{name: "slow", delay: 10 * time.Second}
	fast := &fakeSink{name: "fast"}
	d := &Dispatcher{}
	d.Add(slow, 0, false)
	d.Add(fast, 0, false)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := d.Dispatch(ctx, []Alert{{Rule: "r", Severity: High, Status: StatusOpen}}, nil)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("dispatch took %s", time.Since(start))
	}
	if !errors.Is(res[0].Err, context.DeadlineExceeded) || res[1].Err != nil || len(fast.got) != 1 {
		t.Errorf("slow: %v, fast: %v %v", res[0].Err, res[1].Err, fast.got)
	}
}

func TestDispatcherFromConfig(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	cfgs := []SinkConfig{
		{Type: SinkStdout, Format: "text"},
		{Type: SinkFile, Path: filepath.Join(dir, "sub", "alerts.ndjson"), MinSeverity: High},
		{Type: SinkFile, Path: filepath.Join(dir, "sub", "alerts.ndjson"), MinSeverity: High},
	}
	d, err := NewDispatcher(context.Background(), cfgs, Env{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	as := testAlerts()
	as[0].Severity = Low
	for range 2 {
		if err := Errors(d.Dispatch(context.Background(), as, nil)); err != nil {
			t.Fatal(err)
		}
	}
	wantText := as[0].Line() + "\n" + as[1].Line() + "\n"
	if diff := cmp.Diff(wantText+wantText, out.String()); diff != "" {
		t.Errorf("stdout text (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sub", "alerts.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("file has %d lines, want 4 (2 sinks × 2 dispatches × 1 high alert):\n%s", len(lines), b)
	}
	for _, l := range lines {
		var a Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if diff := cmp.Diff(as[1], a); diff != "" {
			t.Errorf("file line (-want +got):\n%s", diff)
		}
	}
	res := d.Test(context.Background(), t0)
	var names []string
	for _, r := range res {
		names = append(names, r.Sink+"="+r.Target)
	}
	if diff := cmp.Diff([]string{"stdout=stdout", "file=" + cfgs[1].Path, "file#2=" + cfgs[1].Path}, names); diff != "" {
		t.Errorf("sink names (-want +got):\n%s", diff)
	}
	if err := Errors(res); err != nil || !strings.Contains(out.String(), "TEST ALERT") {
		t.Errorf("test alert: %v, stdout %q", err, out.String())
	}
}

// TestNewSinkEnv checks that a ${NAME} reference to an unset variable stops
// the sink from being built, naming the variable, instead of failing every
// delivery later with an empty URL or address.
func TestNewSinkEnv(t *testing.T) {
	t.Setenv("FLOWLENS_TEST_HOOK", "http://127.0.0.1:9/hook")
	t.Setenv("FLOWLENS_TEST_EMPTY", "")
	tests := []struct {
		name    string
		cfg     SinkConfig
		wantErr string
	}{
		{"set", SinkConfig{Type: SinkWebhook, URL: "${FLOWLENS_TEST_HOOK}"}, ""},
		{"unset url", SinkConfig{Type: SinkWebhook, URL: "${FLOWLENS_TEST_UNSET}"},
			`sink "webhook": url names ${FLOWLENS_TEST_UNSET}, which is not set`},
		{"empty url", SinkConfig{Type: SinkSlack, URL: "${FLOWLENS_TEST_EMPTY}"},
			`sink "slack": url names ${FLOWLENS_TEST_EMPTY}, which is not set`},
		{"unset header", SinkConfig{Type: SinkWebhook, URL: "${FLOWLENS_TEST_HOOK}", Headers: map[string]string{"Authorization": "Bearer ${FLOWLENS_TEST_UNSET}"}},
			`sink "webhook": header Authorization names ${FLOWLENS_TEST_UNSET}, which is not set`},
		{"unset address", SinkConfig{Type: SinkSyslog, Address: "${FLOWLENS_TEST_UNSET}:514"},
			`sink "syslog": address names ${FLOWLENS_TEST_UNSET}, which is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSink(context.Background(), tt.cfg, Env{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T0/B0/secret", "https://hooks.slack.com/…"},
		{"https://user:pw@example.com/", "https://example.com"},
		{"http://127.0.0.1:8080?token=x", "http://127.0.0.1:8080/…"},
		{"::bad", "(url hidden)"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	c := SinkConfig{Type: SinkSlack, URL: "https://hooks.slack.com/services/T0/B0/secret"}
	if strings.Contains(c.Target(), "secret") {
		t.Errorf("Target() = %q leaks the path", c.Target())
	}
	red := SinkConfig{Type: SinkWebhook, URL: "https://h.example/x/secret",
		Headers: map[string]string{"Authorization": "Bearer secret", "X-Token": "${TOKEN}", "X-Mixed": "a${B}"}}.Redacted()
	want := SinkConfig{Type: SinkWebhook, URL: "https://h.example/…",
		Headers: map[string]string{"Authorization": "********", "X-Token": "${TOKEN}", "X-Mixed": "********"}}
	if diff := cmp.Diff(want, red, cmpopts.IgnoreUnexported(SinkConfig{})); diff != "" {
		t.Errorf("Redacted (-want +got):\n%s", diff)
	}
	if ref := (SinkConfig{URL: "${SLACK_URL}"}).Redacted(); ref.URL != "${SLACK_URL}" {
		t.Errorf("Redacted hid an environment reference: %q", ref.URL)
	}
}
