package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hook is a webhook receiver on 127.0.0.1 that can be switched off (503)
// and counts what it was given, by alert id, in order.
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	down bool
	ids  []string
	hits int
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.hits++
		if h.down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var a Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("webhook body is not an alert: %v", err)
		}
		h.ids = append(h.ids, a.ID)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) set(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *hook) got() (ids []string, hits int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...), h.hits
}

// scans are n distinct firings, one minute apart, oldest first.
func scans(n int) []Alert {
	out := make([]Alert, n)
	for i := range out {
		out[i] = fire("scan", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "", time.Duration(i)*time.Minute, time.Duration(i)*time.Minute+time.Second, nil)
	}
	return out
}

func newTestOutbox(t *testing.T, dir string, cfgs ...SinkConfig) *Outbox {
	t.Helper()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(context.Background(), cfgs, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return NewOutbox(s, d)
}

func deliver(t *testing.T, o *Outbox) *DeliveryReport {
	t.Helper()
	rep, err := o.Deliver(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// counts is a report's numbers per sink, as the tests compare them.
type counts struct {
	Sink                             string
	Configured                       bool
	Delivered, Owed, GaveUp, Dropped int
}

func reportCounts(rep *DeliveryReport) []counts {
	var out []counts
	for _, s := range rep.Sinks {
		out = append(out, counts{s.Sink, s.Configured, s.Delivered, s.Owed, s.GaveUp, s.Dropped})
	}
	return out
}

func pendingIDs(t *testing.T, o *Outbox) map[string][]string {
	t.Helper()
	ps, err := o.Pending()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range ps {
		out[p.Sink] = append(out[p.Sink], p.Alert.ID)
	}
	return out
}

func ids(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// TestOutboxWebhookDownThenBack is the main story: a webhook is down, the
// run records what it owes and spends one alert's retries, not every
// alert's; the next run, with the webhook back, delivers each owed alert
// exactly once, oldest first, and then owes nothing.
func TestOutboxWebhookDownThenBack(t *testing.T) {
	h := newHook(t)
	h.set(true)
	dir := t.TempDir()
	cfg := SinkConfig{Name: "soc", Type: SinkWebhook, URL: h.srv.URL + "/hook", Retries: 2, Backoff: time.Millisecond}
	o := newTestOutbox(t, dir, cfg)
	created, _, err := o.Record(scans(5))
	if err != nil {
		t.Fatal(err)
	}
	rep := deliver(t, o)
	if diff := cmp.Diff([]counts{{"soc", true, 0, 5, 0, 0}}, reportCounts(rep)); diff != "" {
		t.Errorf("down: report (-want +got):\n%s", diff)
	}
	if _, hits := h.got(); hits != 3 {
		t.Errorf("down: the webhook was called %d times, want 3 (one alert, 1 try + 2 retries; the other 4 not tried)", hits)
	}
	if !rep.Failed() || !strings.Contains(strings.Join(rep.Notes(), "\n"), `sink "soc": 5 alerts still owed: 5 of 5 alerts not delivered`) {
		t.Errorf("down: failed %v, notes %q", rep.Failed(), rep.Notes())
	}
	// More alerts in the same run: the sink is left alone, they are owed.
	more, _, err := o.Record(scans(7)[5:])
	if err != nil {
		t.Fatal(err)
	}
	rep = deliver(t, o)
	if _, hits := h.got(); hits != 3 || rep.Sinks[0].Owed != 7 || !rep.Sinks[0].Down {
		t.Errorf("down again in the same run: %d calls, report %+v", hits, rep.Sinks[0])
	}
	want := append(ids(created), ids(more)...)
	if diff := cmp.Diff(map[string][]string{"soc": want}, pendingIDs(t, o)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	ps, _ := o.Pending()
	if ps[0].Attempts != 1 || !strings.Contains(ps[0].Error, "HTTP 503") || ps[1].Attempts != 0 {
		t.Errorf("pending attempts: first %d %q, second %d", ps[0].Attempts, ps[0].Error, ps[1].Attempts)
	}

	// The next run, webhook back.
	h.set(false)
	o = newTestOutbox(t, dir, cfg)
	rep = deliver(t, o)
	if diff := cmp.Diff([]counts{{"soc", true, 7, 0, 0, 0}}, reportCounts(rep)); diff != "" {
		t.Errorf("back: report (-want +got):\n%s", diff)
	}
	got, _ := h.got()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("back: delivered (-want +got, oldest first, each once):\n%s", diff)
	}
	if rep.Failed() || len(pendingIDs(t, o)) != 0 {
		t.Errorf("back: failed %v, pending %v", rep.Failed(), pendingIDs(t, o))
	}
	rep = deliver(t, o)
	if got2, _ := h.got(); len(got2) != len(got) || rep.Sinks[0].Delivered != 0 {
		t.Errorf("a third run sent again: %d deliveries", len(got2)-len(got))
	}
}

// TestOutboxRecipients checks what each sink is owed: min-severity,
// send-updates, acked and suppressed alerts, and that an update of an alert
// still owed stays one delivery of the newest alert.
func TestOutboxRecipients(t *testing.T) {
	dir := t.TempDir()
	files := filepath.Join(dir, "out")
	all := SinkConfig{Name: "all", Type: SinkFile, Path: filepath.Join(files, "all.ndjson")}
	high := SinkConfig{Name: "high", Type: SinkFile, Path: filepath.Join(files, "high.ndjson"), MinSeverity: Critical}
	upd := SinkConfig{Name: "updates", Type: SinkFile, Path: filepath.Join(files, "updates.ndjson"), SendUpdates: true}
	o := newTestOutbox(t, dir, all, high, upd)
	a := fire("scan", "10.0.0.1", "", 0, time.Minute, nil)
	b := fire("sweep", "10.0.0.2", "", 0, time.Minute, nil)
	b.Severity = Critical
	created, _, err := o.Record([]Alert{a, b})
	if err != nil {
		t.Fatal(err)
	}
	// Updated before anything was sent: still one delivery each.
	a2 := fire("scan", "10.0.0.1", "", time.Minute, 2*time.Minute, nil)
	if _, updated, err := o.Record([]Alert{a2}); err != nil || len(updated) != 1 {
		t.Fatalf("update: %v %v", updated, err)
	}
	want := map[string][]string{"all": ids(created), "high": {created[1].ID}, "updates": ids(created)}
	if diff := cmp.Diff(want, pendingIDs(t, o)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	rep := deliver(t, o)
	if diff := cmp.Diff([]counts{{"all", true, 2, 0, 0, 0}, {"high", true, 1, 0, 0, 0}, {"updates", true, 2, 0, 0, 0}}, reportCounts(rep)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	// The file got the alert as it is now (last_seen moved).
	line := readLines(t, all.Path)[0]
	if !strings.Contains(line, `"last_seen":"2024-03-01T10:02:00Z"`) {
		t.Errorf("the sink got a stale alert: %s", line)
	}
	// An update after delivery goes to the sink that takes updates only.
	a3 := fire("scan", "10.0.0.1", "", 2*time.Minute, 3*time.Minute, nil)
	if _, _, err := o.Record([]Alert{a3}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"updates": {created[0].ID}}, pendingIDs(t, o)); diff != "" {
		t.Errorf("pending after the update (-want +got):\n%s", diff)
	}
	// Acked before it was sent: dropped, with a reason.
	if _, err := o.store.Ack([]string{created[0].ID}, "me", ""); err != nil {
		t.Fatal(err)
	}
	ps, _ := o.Pending()
	if len(ps) != 1 || ps[0].Note != "will be dropped: the alert is acked" {
		t.Errorf("pending note: %+v", ps)
	}
	rep = deliver(t, o)
	if diff := cmp.Diff([]counts{{"all", true, 0, 0, 0, 0}, {"high", true, 0, 0, 0, 0}, {"updates", true, 0, 0, 0, 1}}, reportCounts(rep)); diff != "" {
		t.Errorf("report after ack (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`sink "updates": dropped 1 owed alert not to be sent any more: the alert is acked`}, rep.Notes()); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if rep.Failed() {
		t.Error("a dropped delivery failed the run")
	}
}

// TestOutboxRemovedSinkAndGiveUp: deliveries owed to a sink removed from
// the configuration are dropped with a note; those owed longer than
// give-up-after are given up, counted, and fail the run once.
func TestOutboxRemovedSinkAndGiveUp(t *testing.T) {
	h := newHook(t)
	h.set(true)
	dir := t.TempDir()
	old := SinkConfig{Name: "old", Type: SinkWebhook, URL: h.srv.URL, Retries: -1}
	soc := SinkConfig{Name: "soc", Type: SinkWebhook, URL: h.srv.URL, Retries: -1, GiveUpAfter: 48 * time.Hour}
	o := newTestOutbox(t, dir, old, soc)
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	o.store.Now = o.Now
	if _, _, err := o.Record(scans(3)); err != nil {
		t.Fatal(err)
	}
	deliver(t, o)
	// A later run: "old" removed from the configuration; three days on.
	o = newTestOutbox(t, dir, soc)
	now = now.Add(72 * time.Hour)
	o.Now = func() time.Time { return now }
	ps, _ := o.Pending()
	var notes []string
	for _, p := range ps {
		notes = append(notes, p.Sink+": "+p.Note)
	}
	wantNotes := []string{
		"soc: will be given up: owed for longer than give-up-after 2d", "soc: will be given up: owed for longer than give-up-after 2d", "soc: will be given up: owed for longer than give-up-after 2d",
		"old: will be dropped: the sink is no longer configured", "old: will be dropped: the sink is no longer configured", "old: will be dropped: the sink is no longer configured",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("pending notes (-want +got):\n%s", diff)
	}
	rep := deliver(t, o)
	if diff := cmp.Diff([]counts{{"soc", true, 0, 0, 3, 0}, {"old", false, 0, 0, 0, 3}}, reportCounts(rep)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	wantLines := []string{
		`sink "soc": gave up 3 alerts owed for longer than its give-up-after (oldest owed since 2026-01-10T00:00:00Z); they were never delivered`,
		`sink "old" is no longer configured: dropped 3 undelivered alerts owed to it`,
	}
	if diff := cmp.Diff(wantLines, rep.Notes()); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if !rep.Failed() {
		t.Error("alerts given up did not fail the run")
	}
	if len(pendingIDs(t, o)) != 0 {
		t.Errorf("still pending: %v", pendingIDs(t, o))
	}
	if rep := deliver(t, o); rep.Failed() {
		t.Errorf("the next run failed again: %+v", rep.Sinks)
	}
}

// TestOutboxSyslog delivers owed alerts to real syslog listeners on
// loopback, over TCP and UDP: refused while nobody listens, delivered
// exactly once when the receiver is back.
func TestOutboxSyslog(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			addr := freeAddr(t, network)
			cfg := SinkConfig{Name: "siem", Type: SinkSyslog, Network: network, Address: addr, Retries: 1, Backoff: time.Millisecond}
			o := newTestOutbox(t, dir, cfg)
			created, _, err := o.Record(scans(3))
			if err != nil {
				t.Fatal(err)
			}
			if network == "tcp" {
				// Nobody listens: connection refused.
				if rep := deliver(t, o); rep.Sinks[0].Owed != 3 || rep.Sinks[0].Delivered != 0 {
					t.Fatalf("down: %+v", rep.Sinks[0])
				}
			}
			got := listenSyslog(t, network, addr)
			o = newTestOutbox(t, dir, cfg)
			rep := deliver(t, o)
			if rep.Sinks[0].Delivered != 3 || rep.Failed() {
				t.Fatalf("back: %+v", rep.Sinks[0])
			}
			var seen []string
			deadline := time.After(5 * time.Second)
			for len(seen) < 3 {
				select {
				case id := <-got:
					seen = append(seen, id)
				case <-deadline:
					t.Fatalf("the receiver got %v", seen)
				}
			}
			if diff := cmp.Diff(ids(created), seen); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
			if len(pendingIDs(t, o)) != 0 {
				t.Errorf("still owed: %v", pendingIDs(t, o))
			}
		})
	}
}

// freeAddr returns a loopback address nobody listens on (yet).
func freeAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// listenSyslog receives RFC 5424 messages on addr and sends each alert id.
func listenSyslog(t *testing.T, network, addr string) <-chan string {
	t.Helper()
	out := make(chan string, 100)
	idOf := func(msg []byte) string {
		m, err := parse5424(msg)
		if err != nil {
			t.Errorf("bad syslog message %q: %v", msg, err)
			return ""
		}
		return m.SD[SDID]["id"]
	}
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				out <- idOf(append([]byte(nil), buf[:n]...))
			}
		}()
		return out
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					n, err := r.ReadString(' ')
					if err != nil {
						return
					}
					size, _ := strconv.Atoi(strings.TrimSpace(n))
					msg := make([]byte, size)
					if _, err := io.ReadFull(r, msg); err != nil {
						return
					}
					out <- idOf(msg)
				}
			}()
		}
	}()
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestOutboxCrash kills a delivering process with SIGKILL (kill -9) after a
// sink took a chunk and before the outcome was written, and at random
// moments of a long delivery: no owed alert is ever lost; those in flight
// are sent again (at least once).
func TestOutboxCrash(t *testing.T) {
	if os.Getenv("FLOWLENS_OUTBOX_CHILD") != "" {
		outboxChild()
		return
	}
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	tests := []struct {
		name      string
		alerts    int
		killAfter string // "chunk:N" after the Nth chunk was sent; "ms:N" after N milliseconds
	}{
		{"after the first send", 1, "chunk:1"},
		{"after the third chunk of ten", 50, "chunk:3"},
		{"at a random moment 1", 400, "ms:15"},
		{"at a random moment 2", 400, "ms:40"},
		{"at a random moment 3", 400, "ms:90"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t)
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxCrash$")
			cmd.Env = append(os.Environ(), "FLOWLENS_OUTBOX_CHILD="+dir, "FLOWLENS_OUTBOX_URL="+h.srv.URL,
				"FLOWLENS_OUTBOX_N="+strconv.Itoa(tt.alerts), "FLOWLENS_OUTBOX_KILL="+tt.killAfter)
			out, err := cmd.CombinedOutput()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				// A child that finished before its timer is a valid run too,
				// but then every alert must already be delivered.
				if err != nil {
					t.Fatalf("child: %v\n%s", err, out)
				}
			}
			sent, _ := h.got()
			o := newTestOutbox(t, dir, SinkConfig{Name: "soc", Type: SinkWebhook, URL: h.srv.URL})
			owed := pendingIDs(t, o)["soc"]
			recovered := deliver(t, o)
			if recovered.Failed() {
				t.Fatalf("recovery run failed: %v", recovered.Notes())
			}
			all, _ := h.got()
			st, err := o.store.List(Filter{})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, id := range all {
				count[id]++
			}
			dups := 0
			for _, a := range st {
				switch n := count[a.ID]; {
				case n == 0:
					t.Errorf("alert %s was never delivered (lost)", a.ID)
				case n > 1:
					dups += n - 1
				}
			}
			if dups > o.Chunk {
				t.Errorf("%d alerts sent twice, more than one chunk (%d)", dups, o.Chunk)
			}
			if strings.HasPrefix(tt.killAfter, "chunk:") && ws.Signaled() && dups == 0 {
				t.Errorf("killed before recording a chunk, yet nothing was sent twice")
			}
			t.Logf("child sent %d, owed after the kill %d, recovery sent %d, alerts %d, sent twice %d", len(sent), len(owed), recovered.Sinks[0].Delivered, len(st), dups)
		})
	}
}

// outboxChild records alerts and delivers them, killing itself with
// SIGKILL as FLOWLENS_OUTBOX_KILL says.
func outboxChild() {
	dir := os.Getenv("FLOWLENS_OUTBOX_CHILD")
	n, _ := strconv.Atoi(os.Getenv("FLOWLENS_OUTBOX_N"))
	s, err := OpenStore(dir)
	if err != nil {
		panic(err)
	}
	d, err := NewDispatcher(context.Background(), []SinkConfig{{Name: "soc", Type: SinkWebhook, URL: os.Getenv("FLOWLENS_OUTBOX_URL")}}, Env{})
	if err != nil {
		panic(err)
	}
	o := NewOutbox(s, d)
	o.Chunk = 10
	kill := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	how, arg, _ := strings.Cut(os.Getenv("FLOWLENS_OUTBOX_KILL"), ":")
	k, _ := strconv.Atoi(arg)
	if how == "ms" {
		time.AfterFunc(time.Duration(k)*time.Millisecond, kill)
	} else {
		chunks := 0
		o.afterSend = func(string, []Alert) {
			if chunks++; chunks == k {
				kill()
				select {} // SIGKILL is asynchronous: never record the chunk
			}
		}
	}
	if _, _, err := o.Record(scans(n)); err != nil {
		panic(err)
	}
	if _, err := o.Deliver(context.Background()); err != nil {
		panic(err)
	}
}

// TestOutboxDeliversBesideARemovedSink: one Deliver both sends to a
// configured sink and drops what a removed one was owed, and reports both.
func TestOutboxDeliversBesideARemovedSink(t *testing.T) {
	dir := t.TempDir()
	a := SinkConfig{Name: "a", Type: SinkFile, Path: filepath.Join(dir, "a.ndjson")}
	b := SinkConfig{Name: "b", Type: SinkFile, Path: filepath.Join(dir, "b.ndjson")}
	if _, _, err := newTestOutbox(t, dir, a, b).Record(scans(2)); err != nil {
		t.Fatal(err)
	}
	// b is renamed into a sink of another type: not the same sink.
	o := newTestOutbox(t, dir, a, SinkConfig{Name: "b", Type: SinkStdout})
	rep := deliver(t, o)
	if diff := cmp.Diff([]counts{{"a", true, 2, 0, 0, 0}, {"b", true, 0, 0, 0, 0}, {"b", false, 0, 0, 0, 2}}, reportCounts(rep)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if n := len(readLines(t, a.Path)); n != 2 {
		t.Errorf("sink a got %d alerts, want 2", n)
	}
}

// TestOutboxReprobe: with Reprobe (a continuous run) a failed sink is left
// alone for Reprobe, then twice as long after each failure in a row, and
// gets everything owed once it answers again.
func TestOutboxReprobe(t *testing.T) {
	h := newHook(t)
	h.set(true)
	o := newTestOutbox(t, t.TempDir(), SinkConfig{Name: "soc", Type: SinkWebhook, URL: h.srv.URL, Retries: -1})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	o.Now = func() time.Time { return now }
	o.Reprobe = time.Minute
	if _, _, err := o.Record(scans(2)); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		at        time.Duration
		up        bool
		wantHits  int // webhook calls so far
		delivered int
	}{
		{0, false, 1, 0},                // fails: left alone for 1 min
		{10 * time.Second, false, 1, 0}, // left alone
		{61 * time.Second, false, 2, 0}, // tried again, fails: 2 min
		{150 * time.Second, true, 2, 0}, // back, but not yet tried
		{182 * time.Second, true, 4, 2}, // tried: both delivered
		{190 * time.Second, true, 4, 0}, // nothing owed
	} {
		now = start.Add(st.at)
		h.set(!st.up)
		rep := deliver(t, o)
		if _, hits := h.got(); hits != st.wantHits || rep.Sinks[0].Delivered != st.delivered {
			t.Errorf("at %s: %d calls, delivered %d; want %d calls, %d delivered (%+v)", st.at, hits, rep.Sinks[0].Delivered, st.wantHits, st.delivered, rep.Sinks[0])
		}
	}
}
