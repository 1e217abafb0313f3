package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func TestSeverity(t *testing.T) {
	tests := []struct {
		in      string
		want    Severity
		wantErr bool
	}{
		{"critical", Critical, false},
		{"HIGH", High, false},
		{"medium", Medium, false},
		{"low", Low, false},
		{"info", Info, false},
		{"warning", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSeverity(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSeverity(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseSeverity(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if err == nil && got.String() != strings.ToLower(tt.in) {
				t.Errorf("String() = %q, want %q", got.String(), strings.ToLower(tt.in))
			}
		})
	}
	order := Severities()
	for i := 1; i < len(order); i++ {
		if !order[i-1].AtLeast(order[i]) || order[i].AtLeast(order[i-1]) || order[i-1].Compare(order[i]) != 1 {
			t.Errorf("%v should rank above %v", order[i-1], order[i])
		}
	}
	if !Info.AtLeast(0) {
		t.Error("a zero minimum must admit every severity")
	}
	if _, err := json.Marshal(Severity(9)); err == nil {
		t.Error("marshalling an invalid severity should fail")
	}
}

func TestAlertJSON(t *testing.T) {
	tests := []struct {
		name  string
		alert Alert
		want  string
	}{
		{
			name: "src only, null dst",
			alert: Alert{ID: "a-1", Rule: "port-scan-vertical", Category: "port-scan", Severity: High,
				Title: "Vertical port scan", Src: "10.0.0.5", FirstSeen: t0, LastSeen: t0.Add(9*time.Minute + 59*time.Second + 500*time.Millisecond),
				Count: 2, Evidence: map[string]any{"ports": 1000, "rejected": 990}, MITRE: []string{"T1046"}, Status: StatusOpen},
			want: `{"id":"a-1","rule":"port-scan-vertical","category":"port-scan","severity":"high","title":"Vertical port scan",` +
				`"src":"10.0.0.5","dst":null,"first_seen":"2024-03-01T10:00:00Z","last_seen":"2024-03-01T10:09:59Z","count":2,` +
				`"evidence":{"ports":1000,"rejected":990},"mitre":["T1046"],"status":"open"}`,
		},
		{
			name: "no addresses, nil evidence and mitre, acked",
			alert: Alert{ID: "a-2", Rule: "skipdata", Category: "flow-log-health", Severity: Info, Title: "SKIPDATA",
				FirstSeen: t0.In(time.FixedZone("x", 3600)), LastSeen: t0, Count: 1, Status: StatusAcked,
				AckedBy: "ana", AckedAt: t0.Add(time.Hour), Note: "known"},
			want: `{"id":"a-2","rule":"skipdata","category":"flow-log-health","severity":"info","title":"SKIPDATA",` +
				`"src":null,"dst":null,"first_seen":"2024-03-01T10:00:00Z","last_seen":"2024-03-01T10:00:00Z","count":1,` +
				`"evidence":{},"mitre":[],"status":"acked","acked_by":"ana","acked_at":"2024-03-01T11:00:00Z","note":"known"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.alert)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
			var back Alert
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			b2, _ := json.Marshal(back)
			if diff := cmp.Diff(string(b), string(b2)); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	base := func() Alert {
		return Alert{Rule: "r", Category: "port-scan", Severity: Low, Title: "t", FirstSeen: t0}
	}
	tests := []struct {
		name    string
		mod     func(*Alert)
		check   func(*Alert) string
		wantErr string
	}{
		{name: "defaults", mod: func(*Alert) {}, check: func(a *Alert) string {
			return cmp.Diff(Alert{Rule: "r", Category: "port-scan", Severity: Low, Title: "t", FirstSeen: t0, LastSeen: t0,
				Count: 1, Status: StatusOpen, MITRE: []string{}, Evidence: map[string]any{},
				ID: NewID("r", "", "", t0, DefaultWindow)}, *a)
		}},
		{name: "mapped v4 address", mod: func(a *Alert) { a.Src = "::ffff:10.0.0.1"; a.Dst = "2001:DB8::1" },
			check: func(a *Alert) string { return cmp.Diff("10.0.0.1 2001:db8::1", a.Src+" "+a.Dst) }},
		{name: "evidence becomes plain JSON", mod: func(a *Alert) { a.Evidence = map[string]any{"n": int64(3), "s": "x"} },
			check: func(a *Alert) string { return cmp.Diff(map[string]any{"n": 3.0, "s": "x"}, a.Evidence) }},
		{name: "no rule", mod: func(a *Alert) { a.Rule = "" }, wantErr: "rule is empty"},
		{name: "bad severity", mod: func(a *Alert) { a.Severity = 0 }, wantErr: "not a valid severity"},
		{name: "bad ip", mod: func(a *Alert) { a.Dst = "10.0.0" }, wantErr: "ParseAddr"},
		{name: "no time", mod: func(a *Alert) { a.FirstSeen = time.Time{} }, wantErr: "first_seen is not set"},
		{name: "reversed", mod: func(a *Alert) { a.LastSeen = t0.Add(-time.Second) }, wantErr: "before first_seen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base()
			tt.mod(&a)
			err := a.Normalize()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Normalize() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := tt.check(&a); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	a := NewID("r", "10.0.0.1", "", t0.Add(5*time.Minute), time.Hour)
	if b := NewID("r", "10.0.0.1", "", t0.Add(50*time.Minute), time.Hour); a != b {
		t.Errorf("same rule, src, dst and window should give one id: %s != %s", a, b)
	}
	for _, other := range []string{
		NewID("r", "10.0.0.1", "", t0.Add(65*time.Minute), time.Hour),
		NewID("r2", "10.0.0.1", "", t0, time.Hour),
		NewID("r", "10.0.0.2", "", t0, time.Hour),
		NewID("r", "10.0.0.1", "10.0.0.9", t0, time.Hour),
	} {
		if other == a {
			t.Errorf("different incident got the same id %s", a)
		}
	}
	if len(a) != 18 || !strings.HasPrefix(a, "a-") {
		t.Errorf("id %q is not a- and 16 hex digits", a)
	}
}
