package detect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flowlens/flowlens/alert"
)

// Slack is how far apart an alert's span and a truth event's span may be and
// still overlap (DESIGN §6).
const Slack = 10 * time.Minute

// TruthEvent is one labelled attack of a truth file (DESIGN §6). Src and Dst
// are "" when the file has null.
type TruthEvent struct {
	Category   string
	Src, Dst   string
	Start, End time.Time
}

// ReadTruth reads a truth file: one JSON object per line with category, src,
// dst (null when none), start and end (RFC 3339). Errors name the line.
func ReadTruth(name string, r io.Reader) ([]TruthEvent, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var out []TruthEvent
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var raw struct {
			Category *string `json:"category"`
			Src      *string `json:"src"`
			Dst      *string `json:"dst"`
			Start    *string `json:"start"`
			End      *string `json:"end"`
		}
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			return nil, fmt.Errorf("%s:%d: %v (want one JSON object per line with category, src, dst, start, end)", name, line, err)
		}
		if raw.Category == nil || raw.Start == nil || raw.End == nil {
			return nil, fmt.Errorf("%s:%d: want category, start and end", name, line)
		}
		ev := TruthEvent{Category: *raw.Category}
		for _, f := range []struct {
			key string
			in  *string
			out *string
		}{{"src", raw.Src, &ev.Src}, {"dst", raw.Dst, &ev.Dst}} {
			if f.in == nil {
				continue
			}
			a, err := netip.ParseAddr(*f.in)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %v", name, line, f.key, err)
			}
			*f.out = a.Unmap().String()
		}
		var err error
		if ev.Start, err = time.Parse(time.RFC3339, *raw.Start); err != nil {
			return nil, fmt.Errorf("%s:%d: start: %v", name, line, err)
		}
		if ev.End, err = time.Parse(time.RFC3339, *raw.End); err != nil {
			return nil, fmt.Errorf("%s:%d: end: %v", name, line, err)
		}
		if ev.End.Before(ev.Start) {
			return nil, fmt.Errorf("%s:%d: end %s is before start %s", name, line, *raw.End, *raw.Start)
		}
		if !alert.ValidCategory(ev.Category) {
			return nil, fmt.Errorf("%s:%d: category %q is not one of %s", name, line, ev.Category, strings.Join(alert.Categories, ", "))
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// LoadTruth reads a truth file from disk.
func LoadTruth(path string) ([]TruthEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open truth: %w", err)
	}
	defer f.Close()
	return ReadTruth(path, f)
}

// CategoryScore is precision and recall for one category (or overall).
type CategoryScore struct {
	Category string `json:"category"`
	// Truth is the number of truth events, Found how many of them an alert
	// matched (recall = Found / Truth).
	Truth int `json:"truth"`
	Found int `json:"found"`
	// Alerts is the number of alerts above info, Correct how many of them
	// point at a real attack (precision = Correct / Alerts).
	Alerts  int `json:"alerts"`
	Correct int `json:"correct"`
	// Recall and Precision are 1 when there is nothing to find or no alert.
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
}

// Score is the evaluation of a run against a truth file.
type Score struct {
	Categories []CategoryScore `json:"categories"`
	Overall    CategoryScore   `json:"overall"`
	// Missed are the truth events no alert matched; FalseAlerts the alerts
	// above info that point at no attack.
	Missed      []TruthEvent  `json:"-"`
	FalseAlerts []alert.Alert `json:"-"`
}

// overlaps reports whether [a0, a1] meets [b0, b1] within Slack.
func overlaps(a0, a1, b0, b1 time.Time) bool {
	return !a0.After(b1.Add(Slack)) && !a1.Before(b0.Add(-Slack))
}

// Evaluate scores alerts against truth as DESIGN §6 says:
//
//   - recall: the share of truth events matched by an alert of the same
//     category whose src is the truth's src (any src when the truth has
//     none) and whose [first_seen, last_seen] overlaps [start, end] within
//     10 minutes;
//   - precision: the share of alerts above info that point at a real
//     attack: their src is some truth event's src, or for a truth event
//     without src their category is its category, with overlapping time.
//     One attack may rightly trip several rules, so the category of an
//     alert with a matching src does not matter.
//
// Per-category precision counts the alerts of that category; overall
// figures pool every event and alert.
func Evaluate(alerts []alert.Alert, truth []TruthEvent) Score {
	cats := slices.Clone(alert.Categories)
	for _, t := range truth {
		if !slices.Contains(cats, t.Category) {
			cats = append(cats, t.Category)
		}
	}
	for _, a := range alerts {
		if !slices.Contains(cats, a.Category) {
			cats = append(cats, a.Category)
		}
	}
	by := map[string]*CategoryScore{}
	var s Score
	for _, c := range cats {
		by[c] = &CategoryScore{Category: c}
	}
	for _, t := range truth {
		cs := by[t.Category]
		cs.Truth++
		found := slices.ContainsFunc(alerts, func(a alert.Alert) bool {
			return a.Category == t.Category && (t.Src == "" || a.Src == t.Src) && overlaps(a.FirstSeen, a.LastSeen, t.Start, t.End)
		})
		if found {
			cs.Found++
		} else {
			s.Missed = append(s.Missed, t)
		}
	}
	for _, a := range alerts {
		if !a.Severity.AtLeast(alert.Low) {
			continue
		}
		cs := by[a.Category]
		cs.Alerts++
		ok := slices.ContainsFunc(truth, func(t TruthEvent) bool {
			if t.Src != "" {
				return a.Src == t.Src && overlaps(a.FirstSeen, a.LastSeen, t.Start, t.End)
			}
			return a.Category == t.Category && overlaps(a.FirstSeen, a.LastSeen, t.Start, t.End)
		})
		if ok {
			cs.Correct++
		} else {
			s.FalseAlerts = append(s.FalseAlerts, a)
		}
	}
	s.Overall.Category = "overall"
	for _, c := range cats {
		cs := by[c]
		finish(cs)
		s.Categories = append(s.Categories, *cs)
		s.Overall.Truth += cs.Truth
		s.Overall.Found += cs.Found
		s.Overall.Alerts += cs.Alerts
		s.Overall.Correct += cs.Correct
	}
	finish(&s.Overall)
	return s
}

func finish(cs *CategoryScore) {
	cs.Recall, cs.Precision = 1, 1
	if cs.Truth > 0 {
		cs.Recall = float64(cs.Found) / float64(cs.Truth)
	}
	if cs.Alerts > 0 {
		cs.Precision = float64(cs.Correct) / float64(cs.Alerts)
	}
}

// Table renders the score as aligned text, one line per category with
// truth events or alerts, then the overall line.
func (s Score) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %6s %6s %7s %7s %8s %9s\n", "CATEGORY", "TRUTH", "FOUND", "RECALL", "ALERTS", "CORRECT", "PRECISION")
	row := func(c CategoryScore) {
		fmt.Fprintf(&b, "%-18s %6d %6d %7.3f %7d %8d %9.3f\n", c.Category, c.Truth, c.Found, c.Recall, c.Alerts, c.Correct, c.Precision)
	}
	for _, c := range s.Categories {
		if c.Truth > 0 || c.Alerts > 0 {
			row(c)
		}
	}
	row(s.Overall)
	return b.String()
}
