package alert

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reply is one scripted answer of the test webhook server.
type reply struct {
	status int
	header map[string]string
	body   string
	delay  time.Duration
}

// hookServer is a real HTTP server on loopback that answers from a script
// (the last reply repeats) and records every request.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []reply
	reqs   []*http.Request
	bodies [][]byte
}

func newHookServer(t *testing.T, script ...reply) *hookServer {
	h := &hookServer{script: script}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		n := len(h.reqs)
		h.reqs = append(h.reqs, r.Clone(context.Background()))
		h.bodies = append(h.bodies, body)
		rep := h.script[min(n, len(h.script)-1)]
		h.mu.Unlock()
		if rep.delay > 0 {
			select {
			case <-time.After(rep.delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

// recordSleeps replaces a poster's waits by a recorder, so retry delays are
// checked exactly without slowing the test down.
func recordSleeps(p *poster) *[]time.Duration {
	var got []time.Duration
	p.sleep = func(ctx context.Context, d time.Duration) error {
		got = append(got, d)
		return ctx.Err()
	}
	return &got
}

const secretPath = "/services/T000/B000/SECRETxyz"

func testAlerts() []Alert {
	a := fire("scan", "10.0.0.5", "", 0, 10*time.Minute, map[string]any{"ports": 1000})
	b := fire("sweep", "10.0.0.6", "10.0.1.1", time.Minute, 2*time.Minute, map[string]any{"hosts": 254})
	b.Severity = Critical
	out := []Alert{a, b}
	for i := range out {
		if err := out[i].Normalize(); err != nil {
			panic(err)
		}
	}
	return out
}

func TestWebhookSink(t *testing.T) {
	t.Setenv("FLOWLENS_TEST_TOKEN", "tok-SECRET")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + closed.Addr().String() + secretPath
	closed.Close()

	ra := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		script    []reply
		cfg       SinkConfig
		url       string // default: the server's URL + secretPath
		wantReqs  int
		wantSleep []time.Duration // exact; nil with backoffN checks the backoff range
		backoffN  int             // number of backoff sleeps expected
		deadline  time.Duration   // caller's context deadline, if any
		wantErr   string
	}{
		{name: "one POST per alert", script: []reply{{status: 204}}, wantReqs: 2},
		{name: "batch", script: []reply{{status: 200}}, cfg: SinkConfig{Batch: true}, wantReqs: 1},
		{name: "500 then 200 retries with backoff", script: []reply{{status: 500}, {status: 200}}, cfg: SinkConfig{Batch: true},
			wantReqs: 2, backoffN: 1},
		{name: "429 with Retry-After seconds", script: []reply{{status: 429, header: map[string]string{"Retry-After": "7"}}, {status: 200}},
			cfg: SinkConfig{Batch: true}, wantReqs: 2, wantSleep: []time.Duration{7 * time.Second}},
		{name: "503 with Retry-After date", script: []reply{{status: 503, header: map[string]string{"Retry-After": ra}}, {status: 200}},
			cfg: SinkConfig{Batch: true}, wantReqs: 2, wantSleep: []time.Duration{30 * time.Second}},
		{name: "Retry-After beyond the caller's deadline gives up at once", script: []reply{{status: 503, header: map[string]string{"Retry-After": "120"}}},
			cfg: SinkConfig{Batch: true}, deadline: 2 * time.Second, wantReqs: 1, wantErr: "HTTP 503 (next retry in 2m0s is past the deadline)"},
		{name: "400 is final", script: []reply{{status: 400, body: "invalid_payload"}}, cfg: SinkConfig{Batch: true},
			wantReqs: 1, wantErr: "HTTP 400: invalid_payload"},
		{name: "500 until retries run out", script: []reply{{status: 500}}, cfg: SinkConfig{Batch: true, Retries: 2},
			wantReqs: 3, backoffN: 2, wantErr: "HTTP 500 (after 3 attempts)"},
		{name: "timeout", script: []reply{{status: 200, delay: 5 * time.Second}}, cfg: SinkConfig{Batch: true, Retries: -1, Timeout: 100 * time.Millisecond},
			wantReqs: 1, wantErr: "timeout 100ms"},
		{name: "302 redirect is refused, not followed as a GET without the alert",
			script: []reply{{status: 302, header: map[string]string{"Location": "/landing"}}, {status: 200}},
			cfg:    SinkConfig{Batch: true}, wantReqs: 1, wantErr: "HTTP 302 (a redirect to http://127.0.0.1"},
		{name: "307 redirect is followed with the body", script: []reply{{status: 307, header: map[string]string{"Location": secretPath}}, {status: 200}},
			cfg: SinkConfig{Batch: true}, wantReqs: 2},
		{name: "network error is retried", url: deadURL, cfg: SinkConfig{Batch: true, Retries: 1},
			backoffN: 1, wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *hookServer
			cfg := tt.cfg
			cfg.Type, cfg.Name = SinkWebhook, "hook"
			cfg.Backoff = 100 * time.Millisecond
			cfg.Headers = map[string]string{"Authorization": "Bearer ${FLOWLENS_TEST_TOKEN}"}
			cfg.URL = tt.url
			if cfg.URL == "" {
				srv = newHookServer(t, tt.script...)
				cfg.URL = srv.URL + secretPath
			}
			s, err := NewSink(context.Background(), cfg, Env{})
			if err != nil {
				t.Fatal(err)
			}
			sleeps := recordSleeps(s.(*webhookSink).post)
			alerts := testAlerts()
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			err = s.Send(ctx, alerts)
			if time.Since(start) > 3*time.Second {
				t.Errorf("Send took %s", time.Since(start))
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send error = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error leaks a secret: %v", err)
				}
			}
			if tt.wantSleep != nil {
				if diff := cmp.Diff(tt.wantSleep, *sleeps, cmp.Comparer(func(a, b time.Duration) bool {
					return (a - b).Abs() <= 2*time.Second
				})); diff != "" {
					t.Errorf("retry waits (-want +got):\n%s", diff)
				}
			} else {
				if len(*sleeps) != tt.backoffN {
					t.Errorf("%d retry waits, want %d: %v", len(*sleeps), tt.backoffN, *sleeps)
				}
				for i, d := range *sleeps {
					hi := cfg.Backoff << i
					if d < hi/2 || d > hi {
						t.Errorf("retry %d waited %s, want between %s and %s", i, d, hi/2, hi)
					}
				}
			}
			if srv == nil {
				return
			}
			if srv.count() != tt.wantReqs {
				t.Errorf("server got %d requests, want %d", srv.count(), tt.wantReqs)
			}
			if tt.wantErr != "" {
				return
			}
			r := srv.reqs[len(srv.reqs)-1]
			if got := r.Header.Get("Authorization"); got != "Bearer tok-SECRET" {
				t.Errorf("Authorization = %q, want the expanded token", got)
			}
			if r.URL.Path != secretPath || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			}
			if cfg.Batch {
				var got struct{ Alerts []Alert }
				if err := json.Unmarshal(srv.bodies[len(srv.bodies)-1], &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(alerts, got.Alerts); diff != "" {
					t.Errorf("batch body (-want +got):\n%s", diff)
				}
				return
			}
			for i, body := range srv.bodies {
				var got Alert
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(alerts[i], got); diff != "" {
					t.Errorf("body %d (-want +got):\n%s", i, diff)
				}
				if id := srv.reqs[i].Header.Get("X-Flowlens-Alert-Id"); id != alerts[i].ID {
					t.Errorf("X-Flowlens-Alert-Id = %q, want %q", id, alerts[i].ID)
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Fri, 01 Mar 2024 10:00:30 GMT", 30 * time.Second, true},
		{"Fri, 01 Mar 2024 09:00:00 GMT", 0, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSlackSink(t *testing.T) {
	srv := newHookServer(t, reply{status: 429, header: map[string]string{"Retry-After": "1"}}, reply{status: 200, body: "ok"})
	s, err := NewSink(context.Background(), SinkConfig{Type: SinkSlack, URL: srv.URL + secretPath}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	sleeps := recordSleeps(s.(*slackSink).post)
	alerts := testAlerts()
	alerts[0].Title = "Scan <b> & more"
	if err := s.Send(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, *sleeps); diff != "" {
		t.Errorf("Slack 429 wait (-want +got):\n%s", diff)
	}
	if srv.count() != 3 {
		t.Fatalf("server got %d requests, want 3 (one retried)", srv.count())
	}
	type textObj struct{ Type, Text string }
	type block struct {
		Type     string
		Text     *textObj
		Fields   []textObj
		Elements []textObj
	}
	var msg struct {
		Text   string
		Blocks []block
	}
	if err := json.Unmarshal(srv.bodies[1], &msg); err != nil {
		t.Fatal(err)
	}
	want := struct {
		Text   string
		Blocks []block
	}{
		Text: ":large_orange_circle: [HIGH] port-scan: Scan &lt;b&gt; &amp; more (10.0.0.5 → -, count 1) ports=1000",
		Blocks: []block{
			{Type: "header", Text: &textObj{"plain_text", "HIGH: Scan <b> & more"}},
			{Type: "section", Fields: []textObj{
				{"mrkdwn", "*Severity*\n:large_orange_circle: high"},
				{"mrkdwn", "*Category*\nport-scan"},
				{"mrkdwn", "*Source → Target*\n`10.0.0.5` → -"},
				{"mrkdwn", "*Count*\n1"},
				{"mrkdwn", "*First seen*\n2024-03-01T10:00:00Z"},
				{"mrkdwn", "*Last seen*\n2024-03-01T10:10:00Z"},
			}},
			{Type: "section", Text: &textObj{"mrkdwn", "*Evidence*\n```ports=1000```"}},
			{Type: "context", Elements: []textObj{{"mrkdwn", "rule `scan` · alert `" + alerts[0].ID + "` · MITRE ATT&amp;CK T1046"}}},
		},
	}
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("Slack message (-want +got):\n%s", diff)
	}
	var second struct{ Text string }
	if err := json.Unmarshal(srv.bodies[2], &second); err != nil {
		t.Fatal(err)
	}
	if wantText := ":red_circle: [CRITICAL] port-scan: scan by 10.0.0.6 (10.0.0.6 → 10.0.1.1, count 1) hosts=254"; second.Text != wantText {
		t.Errorf("second message text = %q, want %q", second.Text, wantText)
	}
}
