package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowlens/flowlens/alert"
)

func ts(hm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2024-03-01T"+hm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

func TestEvaluate(t *testing.T) {
	truth := []TruthEvent{
		{Category: "port-scan", Src: "203.0.113.5", Dst: "10.0.0.9", Start: ts("10:00"), End: ts("10:05")},
		{Category: "exposed-service", Dst: "10.0.0.7", Start: ts("12:00"), End: ts("13:00")},
		{Category: "brute-force", Src: "198.51.100.1", Dst: "10.0.0.9", Start: ts("15:00"), End: ts("15:20")},
	}
	al := func(cat, src string, sev alert.Severity, from, to string) alert.Alert {
		return alert.Alert{Rule: cat + "-rule", Category: cat, Severity: sev, Src: src, FirstSeen: ts(from), LastSeen: ts(to)}
	}
	tests := []struct {
		name   string
		alerts []alert.Alert
		want   map[string][4]int // category → truth, found, alerts, correct
	}{
		{
			name:   "exact matches",
			alerts: []alert.Alert{al("port-scan", "203.0.113.5", alert.High, "10:01", "10:04"), al("exposed-service", "", alert.High, "12:30", "12:40"), al("brute-force", "198.51.100.1", alert.High, "15:00", "15:20")},
			want:   map[string][4]int{"port-scan": {1, 1, 1, 1}, "exposed-service": {1, 1, 1, 1}, "brute-force": {1, 1, 1, 1}, "overall": {3, 3, 3, 3}},
		},
		{
			name: "ten minutes of slack on either side, not eleven",
			alerts: []alert.Alert{
				al("port-scan", "203.0.113.5", alert.Medium, "10:15", "10:30"),    // starts 10 min after the end: matches
				al("brute-force", "198.51.100.1", alert.Medium, "14:40", "14:49"), // ends 11 min before the start: no
				al("exposed-service", "", alert.Medium, "13:11", "13:30"),         // 11 min after: no
			},
			want: map[string][4]int{"port-scan": {1, 1, 1, 1}, "brute-force": {1, 0, 1, 0}, "exposed-service": {1, 0, 1, 0}, "overall": {3, 1, 3, 1}},
		},
		{
			name: "recall needs the same category and src; precision any category with the src",
			alerts: []alert.Alert{
				al("rejected-spike", "203.0.113.5", alert.Medium, "10:00", "10:10"), // the scanner tripped another rule: precise, finds nothing
				al("port-scan", "192.0.2.1", alert.High, "10:00", "10:05"),          // wrong src: neither
			},
			want: map[string][4]int{"port-scan": {1, 0, 1, 0}, "rejected-spike": {0, 0, 1, 1}, "exposed-service": {1, 0, 0, 0}, "brute-force": {1, 0, 0, 0}, "overall": {3, 0, 2, 1}},
		},
		{
			name: "a truth event without src is found by any src, and precise only for its category",
			alerts: []alert.Alert{
				al("exposed-service", "192.0.2.44", alert.High, "12:10", "12:20"),
				al("unusual-port", "192.0.2.44", alert.High, "12:10", "12:20"),
			},
			want: map[string][4]int{"exposed-service": {1, 1, 1, 1}, "unusual-port": {0, 0, 1, 0}, "port-scan": {1, 0, 0, 0}, "brute-force": {1, 0, 0, 0}, "overall": {3, 1, 2, 1}},
		},
		{
			name: "info alerts find truth but never count against precision",
			alerts: []alert.Alert{
				al("port-scan", "203.0.113.5", alert.Info, "10:00", "10:05"),
				al("flow-log-health", "", alert.Info, "01:00", "02:00"),
			},
			want: map[string][4]int{"port-scan": {1, 1, 0, 0}, "exposed-service": {1, 0, 0, 0}, "brute-force": {1, 0, 0, 0}, "overall": {3, 1, 0, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Evaluate(tc.alerts, truth)
			got := map[string][4]int{"overall": {s.Overall.Truth, s.Overall.Found, s.Overall.Alerts, s.Overall.Correct}}
			for _, c := range s.Categories {
				if c.Truth > 0 || c.Alerts > 0 {
					got[c.Category] = [4]int{c.Truth, c.Found, c.Alerts, c.Correct}
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("score (-want +got):\n%s\n%s", d, s.Table())
			}
		})
	}
}

func TestEvaluateRatios(t *testing.T) {
	s := Evaluate(nil, nil)
	if s.Overall.Recall != 1 || s.Overall.Precision != 1 {
		t.Errorf("empty run: recall %v precision %v, want 1 and 1", s.Overall.Recall, s.Overall.Precision)
	}
	truth := []TruthEvent{{Category: "port-scan", Src: "192.0.2.1", Start: ts("10:00"), End: ts("10:01")}, {Category: "port-scan", Src: "192.0.2.2", Start: ts("10:00"), End: ts("10:01")}}
	alerts := []alert.Alert{
		{Category: "port-scan", Severity: alert.High, Src: "192.0.2.1", FirstSeen: ts("10:00"), LastSeen: ts("10:00")},
		{Category: "port-scan", Severity: alert.High, Src: "192.0.2.9", FirstSeen: ts("10:00"), LastSeen: ts("10:00")},
		{Category: "port-scan", Severity: alert.Low, Src: "192.0.2.9", FirstSeen: ts("10:00"), LastSeen: ts("10:00")},
	}
	s = Evaluate(alerts, truth)
	if s.Overall.Recall != 0.5 || s.Overall.Precision != 1.0/3 {
		t.Errorf("recall %v precision %v, want 0.5 and 1/3", s.Overall.Recall, s.Overall.Precision)
	}
	if len(s.Missed) != 1 || s.Missed[0].Src != "192.0.2.2" || len(s.FalseAlerts) != 2 {
		t.Errorf("missed %v false %v", s.Missed, s.FalseAlerts)
	}
}

func TestReadTruth(t *testing.T) {
	in := `{"category":"port-scan","src":"212.70.149.34","dst":"10.0.0.16","start":"2024-03-01T00:53:31Z","end":"2024-03-01T00:59:06Z"}

{"category":"flow-log-health","src":null,"dst":null,"start":"2024-03-01T14:17:00Z","end":"2024-03-01T14:47:00Z"}
`
	got, err := ReadTruth("t.ndjson", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []TruthEvent{
		{Category: "port-scan", Src: "212.70.149.34", Dst: "10.0.0.16", Start: time.Date(2024, 3, 1, 0, 53, 31, 0, time.UTC), End: time.Date(2024, 3, 1, 0, 59, 6, 0, time.UTC)},
		{Category: "flow-log-health", Start: time.Date(2024, 3, 1, 14, 17, 0, 0, time.UTC), End: time.Date(2024, 3, 1, 14, 47, 0, 0, time.UTC)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []struct{ in, err string }{
		{`{"category":"x","start":"2024-03-01T00:00:00Z"}`, "t.ndjson:1: want category, start and end"},
		{"\n{\"category\":\"x\",\"src\":\"10.0.0.300\",\"start\":\"2024-03-01T00:00:00Z\",\"end\":\"2024-03-01T00:00:00Z\"}", "t.ndjson:2: src:"},
		{`not json`, "t.ndjson:1: invalid character"},
		{`{"category":"x","start":"yesterday","end":"2024-03-01T00:00:00Z"}`, "t.ndjson:1: start:"},
		// A misspelt category would be scored as a category of its own that
		// no alert can ever match.
		{`{"category":"portscan","start":"2024-03-01T00:00:00Z","end":"2024-03-01T01:00:00Z"}`, `t.ndjson:1: category "portscan" is not one of port-scan, port-sweep,`},
		{`{"category":"port-scan","start":"2024-03-01T02:00:00Z","end":"2024-03-01T01:00:00Z"}`, "t.ndjson:1: end 2024-03-01T01:00:00Z is before start 2024-03-01T02:00:00Z"},
	} {
		_, err := ReadTruth("t.ndjson", strings.NewReader(bad.in))
		if err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("ReadTruth(%q) = %v, want an error containing %q", bad.in, err, bad.err)
		}
	}
}
