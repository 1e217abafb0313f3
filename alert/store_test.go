package alert

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fire is one firing of rule for src → dst over [t0+from, t0+to].
func fire(rule, src, dst string, from, to time.Duration, ev map[string]any) Alert {
	return Alert{Rule: rule, Category: "port-scan", Severity: High, Title: "scan by " + src, Src: src, Dst: dst,
		FirstSeen: t0.Add(from), LastSeen: t0.Add(to), Evidence: ev, MITRE: []string{"T1046"}}
}

// brief is what the store tests compare: an alert without its id.
type brief struct {
	Rule, Src, Dst string
	First, Last    time.Duration
	Count          int64
	Status         Status
	Evidence       string
}

func briefs(as []Alert) []brief {
	var out []brief
	for _, a := range as {
		out = append(out, brief{a.Rule, a.Src, a.Dst, a.FirstSeen.Sub(t0), a.LastSeen.Sub(t0), a.Count, a.Status, a.EvidenceText()})
	}
	return out
}

func openTestStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(24 * time.Hour)
	s.Now = func() time.Time { return now }
	return s, &now
}

// step is one operation on a store and what it must return.
type step struct {
	fire        []Alert
	ack, unack  []string // ids by index into the store's alerts in creation order
	suppress    *Suppression
	advance     time.Duration // move the wall clock
	wantCreated []brief
	wantUpdated []brief
}

func TestStoreUpsert(t *testing.T) {
	ev := func(n int) map[string]any { return map[string]any{"ports": n} }
	tests := []struct {
		name  string
		steps []step
		want  []brief // the whole store at the end, most recent first
	}{
		{
			name: "same incident updates last_seen, count and evidence",
			steps: []step{
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 10*time.Minute, ev(100))},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, "ports=100"}}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 40*time.Minute, 50*time.Minute, ev(300))},
					wantUpdated: []brief{{"scan", "10.0.0.5", "", 0, 50 * time.Minute, 2, StatusOpen, "ports=300"}}},
			},
			want: []brief{{"scan", "10.0.0.5", "", 0, 50 * time.Minute, 2, StatusOpen, "ports=300"}},
		},
		{
			name: "the same firing twice changes nothing",
			steps: []step{
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 10*time.Minute, ev(100))},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, "ports=100"}}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 10*time.Minute, ev(100))}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 2*time.Minute, 5*time.Minute, ev(100))}},
			},
			want: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, "ports=100"}},
		},
		{
			// detect --since 2h every hour, and --follow with its lookback,
			// evaluate the known part of an incident again: a firing over
			// the whole known span and more recounts it.
			name: "a re-run over a wider range recounts the incident instead of adding to it",
			steps: []step{
				{fire: []Alert{withCount(fire("scan", "10.0.0.5", "", 0, 20*time.Minute, ev(100)), 2)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 20 * time.Minute, 2, StatusOpen, "ports=100"}}},
				{fire: []Alert{withCount(fire("scan", "10.0.0.5", "", 0, 30*time.Minute, ev(150)), 3)},
					wantUpdated: []brief{{"scan", "10.0.0.5", "", 0, 30 * time.Minute, 3, StatusOpen, "ports=150"}}},
				{fire: []Alert{withCount(fire("scan", "10.0.0.5", "", 40*time.Minute, 50*time.Minute, ev(200)), 1)},
					wantUpdated: []brief{{"scan", "10.0.0.5", "", 0, 50 * time.Minute, 4, StatusOpen, "ports=200"}}},
			},
			want: []brief{{"scan", "10.0.0.5", "", 0, 50 * time.Minute, 4, StatusOpen, "ports=200"}},
		},
		{
			// Rules without src and dst (a flow log's gap, an interface gone
			// quiet) tell their incidents apart by Key.
			name: "the same rule, src and dst with different keys are separate incidents",
			steps: []step{
				{fire: []Alert{withKey(fire("gap", "", "", 0, 10*time.Minute, map[string]any{"flow_log": "vpc-a"}), "vpc-a"),
					withKey(fire("gap", "", "", 0, 10*time.Minute, map[string]any{"flow_log": "vpc-b"}), "vpc-b")},
					wantCreated: []brief{{"gap", "", "", 0, 10 * time.Minute, 1, StatusOpen, "flow_log=vpc-a"}, {"gap", "", "", 0, 10 * time.Minute, 1, StatusOpen, "flow_log=vpc-b"}}},
				{fire: []Alert{withKey(fire("gap", "", "", 5*time.Minute, 20*time.Minute, map[string]any{"flow_log": "vpc-b"}), "vpc-b")},
					wantUpdated: []brief{{"gap", "", "", 0, 20 * time.Minute, 2, StatusOpen, "flow_log=vpc-b"}}},
			},
			want: []brief{{"gap", "", "", 0, 20 * time.Minute, 2, StatusOpen, "flow_log=vpc-b"}, {"gap", "", "", 0, 10 * time.Minute, 1, StatusOpen, "flow_log=vpc-a"}},
		},
		{
			name: "a firing after the window is a new incident",
			steps: []step{
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 10*time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""}}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 80*time.Minute, 90*time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 80 * time.Minute, 90 * time.Minute, 1, StatusOpen, ""}}},
			},
			want: []brief{
				{"scan", "10.0.0.5", "", 80 * time.Minute, 90 * time.Minute, 1, StatusOpen, ""},
				{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""},
			},
		},
		{
			name: "the rule's own window decides",
			steps: []step{
				{fire: []Alert{withWindow(fire("scan", "10.0.0.5", "", 0, 10*time.Minute, nil), 5*time.Minute)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""}}},
				{fire: []Alert{withWindow(fire("scan", "10.0.0.5", "", 16*time.Minute, 20*time.Minute, nil), 5*time.Minute)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 16 * time.Minute, 20 * time.Minute, 1, StatusOpen, ""}}},
				{fire: []Alert{withWindow(fire("scan", "10.0.0.5", "", 24*time.Minute, 30*time.Minute, nil), 5*time.Minute)},
					wantUpdated: []brief{{"scan", "10.0.0.5", "", 16 * time.Minute, 30 * time.Minute, 2, StatusOpen, ""}}},
			},
			want: []brief{
				{"scan", "10.0.0.5", "", 16 * time.Minute, 30 * time.Minute, 2, StatusOpen, ""},
				{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""},
			},
		},
		{
			name: "rule, src and dst each separate incidents; one batch updating its own alert reports it once",
			steps: []step{
				{fire: []Alert{
					fire("scan", "10.0.0.5", "", 0, time.Minute, nil),
					fire("scan", "10.0.0.6", "", 0, time.Minute, nil),
					fire("sweep", "10.0.0.5", "", 0, time.Minute, nil),
					fire("scan", "10.0.0.5", "10.0.1.1", 0, time.Minute, nil),
					fire("scan", "10.0.0.5", "", 2*time.Minute, 3*time.Minute, nil),
				}, wantCreated: []brief{
					{"scan", "10.0.0.5", "", 0, 3 * time.Minute, 2, StatusOpen, ""},
					{"scan", "10.0.0.6", "", 0, time.Minute, 1, StatusOpen, ""},
					{"sweep", "10.0.0.5", "", 0, time.Minute, 1, StatusOpen, ""},
					{"scan", "10.0.0.5", "10.0.1.1", 0, time.Minute, 1, StatusOpen, ""},
				}},
			},
			want: []brief{
				{"scan", "10.0.0.5", "", 0, 3 * time.Minute, 2, StatusOpen, ""},
				{"scan", "10.0.0.5", "10.0.1.1", 0, time.Minute, 1, StatusOpen, ""},
				{"scan", "10.0.0.6", "", 0, time.Minute, 1, StatusOpen, ""},
				{"sweep", "10.0.0.5", "", 0, time.Minute, 1, StatusOpen, ""},
			},
		},
		{
			name: "acked alert stays acked within its incident; a later incident opens a new alert",
			steps: []step{
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 10*time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""}}},
				{ack: []string{"0"}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 30*time.Minute, 40*time.Minute, nil)},
					wantUpdated: []brief{{"scan", "10.0.0.5", "", 0, 40 * time.Minute, 2, StatusAcked, ""}}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 3*time.Hour, 3*time.Hour+time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 3 * time.Hour, 3*time.Hour + time.Minute, 1, StatusOpen, ""}}},
			},
			want: []brief{
				{"scan", "10.0.0.5", "", 3 * time.Hour, 3*time.Hour + time.Minute, 1, StatusOpen, ""},
				{"scan", "10.0.0.5", "", 0, 40 * time.Minute, 2, StatusAcked, ""},
			},
		},
		{
			name: "unack reopens",
			steps: []step{
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 10*time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""}}},
				{ack: []string{"0"}},
				{unack: []string{"0"}},
			},
			want: []brief{{"scan", "10.0.0.5", "", 0, 10 * time.Minute, 1, StatusOpen, ""}},
		},
		{
			name: "suppression by CIDR mutes existing and new alerts, not others",
			steps: []step{
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, time.Minute, 1, StatusOpen, ""}}},
				{suppress: &Suppression{Src: mustPrefix("10.0.0.0/24")}},
				{fire: []Alert{
					fire("scan", "10.0.0.9", "", 0, time.Minute, nil),
					fire("scan", "10.0.1.9", "", 0, time.Minute, nil),
					fire("scan", "", "10.0.0.9", 0, time.Minute, nil),
				}, wantCreated: []brief{
					{"scan", "10.0.0.9", "", 0, time.Minute, 1, StatusSuppressed, ""},
					{"scan", "10.0.1.9", "", 0, time.Minute, 1, StatusOpen, ""},
					{"scan", "", "10.0.0.9", 0, time.Minute, 1, StatusOpen, ""},
				}},
			},
			want: []brief{
				{"scan", "", "10.0.0.9", 0, time.Minute, 1, StatusOpen, ""},
				{"scan", "10.0.0.5", "", 0, time.Minute, 1, StatusSuppressed, ""},
				{"scan", "10.0.0.9", "", 0, time.Minute, 1, StatusSuppressed, ""},
				{"scan", "10.0.1.9", "", 0, time.Minute, 1, StatusOpen, ""},
			},
		},
		{
			name: "suppression by rule and dst together",
			steps: []step{
				{suppress: &Suppression{Rule: "scan", Dst: mustPrefix("10.0.1.1")}},
				{fire: []Alert{
					fire("scan", "10.0.0.1", "10.0.1.1", 0, time.Minute, nil),
					fire("sweep", "10.0.0.1", "10.0.1.1", 0, time.Minute, nil),
					fire("scan", "10.0.0.1", "10.0.1.2", 0, time.Minute, nil),
				}, wantCreated: []brief{
					{"scan", "10.0.0.1", "10.0.1.1", 0, time.Minute, 1, StatusSuppressed, ""},
					{"sweep", "10.0.0.1", "10.0.1.1", 0, time.Minute, 1, StatusOpen, ""},
					{"scan", "10.0.0.1", "10.0.1.2", 0, time.Minute, 1, StatusOpen, ""},
				}},
			},
			want: []brief{
				{"scan", "10.0.0.1", "10.0.1.1", 0, time.Minute, 1, StatusSuppressed, ""},
				{"scan", "10.0.0.1", "10.0.1.2", 0, time.Minute, 1, StatusOpen, ""},
				{"sweep", "10.0.0.1", "10.0.1.1", 0, time.Minute, 1, StatusOpen, ""},
			},
		},
		{
			name: "an expired suppression lets the incident reopen as new",
			steps: []step{
				{suppress: &Suppression{Rule: "scan", Until: t0.Add(25 * time.Hour)}},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, time.Minute, 1, StatusSuppressed, ""}}},
				// Each firing covers the known span and more: the same
				// window evaluated again as its data grows, one firing.
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 2*time.Minute, nil)},
					wantUpdated: []brief{{"scan", "10.0.0.5", "", 0, 2 * time.Minute, 1, StatusSuppressed, ""}}},
				{advance: 2 * time.Hour},
				{fire: []Alert{fire("scan", "10.0.0.5", "", 0, 3*time.Minute, nil)},
					wantCreated: []brief{{"scan", "10.0.0.5", "", 0, 3 * time.Minute, 1, StatusOpen, ""}}},
			},
			want: []brief{{"scan", "10.0.0.5", "", 0, 3 * time.Minute, 1, StatusOpen, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, now := openTestStore(t)
			var ids []string
			for i, st := range tt.steps {
				*now = now.Add(st.advance)
				if st.suppress != nil {
					if _, _, err := s.Suppress(*st.suppress); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if st.ack != nil {
					if _, err := s.Ack(pick(ids, st.ack), "tester", "seen"); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if st.unack != nil {
					if _, err := s.Unack(pick(ids, st.unack)); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if st.fire == nil {
					continue
				}
				created, updated, err := s.Upsert(st.fire)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if diff := cmp.Diff(st.wantCreated, briefs(created)); diff != "" {
					t.Errorf("step %d created (-want +got):\n%s", i, diff)
				}
				if diff := cmp.Diff(st.wantUpdated, briefs(updated)); diff != "" {
					t.Errorf("step %d updated (-want +got):\n%s", i, diff)
				}
				for _, a := range created {
					if !contains(ids, a.ID) {
						ids = append(ids, a.ID)
					}
				}
			}
			all, err := s.List(Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, briefs(all)); diff != "" {
				t.Errorf("store (-want +got):\n%s", diff)
			}
			// A second store on the same folder reads the same state.
			s2, err := OpenStore(filepath.Dir(s.Dir()))
			if err != nil {
				t.Fatal(err)
			}
			again, err := s2.List(Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(all, again); diff != "" {
				t.Errorf("reopened store differs (-first +reopened):\n%s", diff)
			}
		})
	}
}

func withKey(a Alert, k string) Alert {
	a.Key = k
	return a
}

func withCount(a Alert, n int64) Alert {
	a.Count = n
	return a
}

func withWindow(a Alert, w time.Duration) Alert { a.Window = w; return a }

func mustPrefix(s string) netip.Prefix {
	p, err := ParsePrefix(s)
	if err != nil {
		panic(err)
	}
	return p
}

func pick(ids []string, idx []string) []string {
	var out []string
	for _, i := range idx {
		var n int
		fmt.Sscan(i, &n)
		out = append(out, ids[n])
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestStoreAckAndIDs(t *testing.T) {
	s, now := openTestStore(t)
	created, _, err := s.Upsert([]Alert{fire("scan", "10.0.0.5", "", 0, time.Minute, nil), fire("scan", "10.0.0.6", "", 0, time.Minute, nil)})
	if err != nil {
		t.Fatal(err)
	}
	acked, err := s.Ack([]string{created[0].ID[:8]}, "ana", "on it")
	if err != nil {
		t.Fatal(err)
	}
	want := created[0]
	want.Status, want.AckedBy, want.AckedAt, want.Note = StatusAcked, "ana", *now, "on it"
	if diff := cmp.Diff([]Alert{want}, acked); diff != "" {
		t.Errorf("Ack (-want +got):\n%s", diff)
	}
	got, err := s.Get(created[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after ack (-want +got):\n%s", diff)
	}
	errTests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown id", second(s.Ack([]string{"a-ffffffffffff"}, "", "")), `no alert with id "a-ffffffffffff"`},
		{"too short a prefix", second(s.Ack([]string{"a-"}, "", "")), `no alert with id "a-"`},
		{"ambiguous prefix", second(resolve(&state{Alerts: []Alert{{ID: "a-1234aa"}, {ID: "a-1234bb"}}}, "a-1234")), `alert id "a-1234" is ambiguous: a-1234aa and a-1234bb`},
		{"unack an open alert", second(s.Unack([]string{created[1].ID})), "is open, not acked"},
		{"all or nothing", second(s.Ack([]string{created[1].ID, "nope"}, "", "")), `no alert with id "nope"`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", tt.err, tt.want)
			}
			var ie *IDError
			if !errors.As(tt.err, &ie) {
				t.Errorf("error %v is not an *IDError", tt.err)
			}
		})
	}
	if got, _ := s.Get(created[1].ID); got.Status != StatusOpen {
		t.Errorf("a failed batch ack changed alert %s to %s", got.ID, got.Status)
	}
}

func second[T any](_ T, err error) error { return err }

func TestStoreList(t *testing.T) {
	s, _ := openTestStore(t)
	in := []Alert{
		fire("scan", "10.0.0.1", "", 0, time.Minute, nil),
		fire("scan", "10.0.0.2", "", time.Hour, 2*time.Hour, nil),
		{Rule: "exfil", Category: "data-exfiltration", Severity: Critical, Title: "exfil", Src: "10.0.0.3",
			FirstSeen: t0.Add(3 * time.Hour), LastSeen: t0.Add(4 * time.Hour)},
		{Rule: "gap", Category: "flow-log-health", Severity: Info, Title: "gap", FirstSeen: t0.Add(30 * time.Minute)},
	}
	created, _, err := s.Upsert(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ack([]string{created[1].ID}, "", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want []string // rules+src, in order
	}{
		{"all, newest first", Filter{}, []string{"exfil 10.0.0.3", "scan 10.0.0.2", "gap ", "scan 10.0.0.1"}},
		{"open", Filter{Status: []Status{StatusOpen}}, []string{"exfil 10.0.0.3", "gap ", "scan 10.0.0.1"}},
		{"acked", Filter{Status: []Status{StatusAcked}}, []string{"scan 10.0.0.2"}},
		{"at least high", Filter{MinSeverity: High}, []string{"exfil 10.0.0.3", "scan 10.0.0.2", "scan 10.0.0.1"}},
		{"category", Filter{Category: "flow-log-health"}, []string{"gap "}},
		{"rule", Filter{Rule: "scan"}, []string{"scan 10.0.0.2", "scan 10.0.0.1"}},
		{"since", Filter{Since: t0.Add(2 * time.Hour)}, []string{"exfil 10.0.0.3", "scan 10.0.0.2"}},
		{"none", Filter{Category: "c2-beaconing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := s.List(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range as {
				got = append(got, a.Rule+" "+a.Src)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoreUpsertRejectsInvalidBatch(t *testing.T) {
	s, _ := openTestStore(t)
	bad := fire("scan", "10.0.0.999", "", 0, time.Minute, nil)
	_, _, err := s.Upsert([]Alert{fire("scan", "10.0.0.1", "", 0, time.Minute, nil), bad})
	if err == nil || !strings.Contains(err.Error(), "upsert alert 1") {
		t.Fatalf("error = %v, want it to name alert 1", err)
	}
	if as, _ := s.List(Filter{}); len(as) != 0 {
		t.Errorf("an invalid batch stored %d alerts", len(as))
	}
}

func TestStoreCrashSafety(t *testing.T) {
	s, _ := openTestStore(t)
	if _, _, err := s.Upsert([]Alert{fire("scan", "10.0.0.1", "", 0, time.Minute, nil)}); err != nil {
		t.Fatal(err)
	}
	before, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{0, 1, 100, 400} {
		t.Run(fmt.Sprintf("torn at %d bytes", cut), func(t *testing.T) {
			s.crashAfter = cut
			_, _, err := s.Upsert([]Alert{fire("scan", "10.0.0.2", "", 0, time.Minute, nil)})
			s.crashAfter = -1
			if !errors.Is(err, errCrash) {
				t.Fatalf("Upsert error = %v, want the simulated crash", err)
			}
			if fi, err := os.Stat(filepath.Join(s.Dir(), "state.json.tmp")); err != nil || fi.Size() != int64(cut) {
				t.Fatalf("torn temporary file: %v, %v", fi, err)
			}
			// A new process opening the store sees the state before the crash.
			s2, err := OpenStore(filepath.Dir(s.Dir()))
			if err != nil {
				t.Fatal(err)
			}
			after, err := s2.List(Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("state after a torn write (-before +after):\n%s", diff)
			}
		})
	}
	// And the next write succeeds over the leftover temporary file.
	if _, _, err := s.Upsert([]Alert{fire("scan", "10.0.0.2", "", 0, time.Minute, nil)}); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.List(Filter{}); len(as) != 2 {
		t.Errorf("after recovery the store holds %d alerts, want 2", len(as))
	}
}

func TestStoreDamagedState(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "alerts"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, content, want string
	}{
		{"truncated", "{\"version\":1,\n\"alerts\":[{\"id\":", "state.json:2:"},
		{"future version", `{"version":7,"alerts":[],"suppressions":[]}`, "version 7, this flowlens reads version 1"},
		{"bad time", `{"version":1,"alerts":[{"id":"a","first_seen":"yesterday"}]}`, "first_seen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "alerts", "state.json"), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenStore(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenStore error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStoreConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	const writers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each writer has its own Store, as separate processes would:
			// only the file lock keeps them apart.
			s, err := OpenStore(dir)
			if err != nil {
				errs <- err
				return
			}
			for i := range each {
				src := fmt.Sprintf("10.%d.0.%d", w, i)
				if _, _, err := s.Upsert([]Alert{fire("scan", src, "", 0, time.Minute, nil)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	as, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != writers*each {
		t.Errorf("%d concurrent writers stored %d alerts, want %d (lost updates)", writers, len(as), writers*each)
	}
}

func TestStoreSuppressions(t *testing.T) {
	s, now := openTestStore(t)
	tests := []struct {
		name    string
		sp      Suppression
		wantErr string
	}{
		{"matches everything", Suppression{Note: "x"}, "matches every alert"},
		{"already past", Suppression{Rule: "r", Until: now.Add(-time.Minute)}, "already past"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Suppress(tt.sp)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Suppress error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	created, _, err := s.Upsert([]Alert{fire("scan", "10.0.0.1", "", 0, time.Minute, nil)})
	if err != nil {
		t.Fatal(err)
	}
	sp, muted, err := s.Suppress(Suppression{Src: mustPrefix("10.0.0.1"), Note: "scanner", CreatedBy: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if len(muted) != 1 || muted[0].ID != created[0].ID || muted[0].Suppression != sp.ID {
		t.Errorf("Suppress muted %+v, want alert %s by %s", muted, created[0].ID, sp.ID)
	}
	list, err := s.Suppressions()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Suppression{sp}, list, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Suppressions (-want +got):\n%s", diff)
	}
	reopened, err := s.Unsuppress(sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(reopened) != 1 || reopened[0].Status != StatusOpen {
		t.Errorf("Unsuppress reopened %+v, want the one alert open", reopened)
	}
	if _, err := s.Unsuppress(sp.ID); err == nil {
		t.Error("removing a suppression twice should fail")
	}
	n, m, err := s.Prune(t0.Add(time.Hour))
	if err != nil || n != 1 || m != 0 {
		t.Errorf("Prune = %d, %d, %v; want 1 alert removed", n, m, err)
	}
}
