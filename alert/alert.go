// Package alert holds what a detection produces and where it goes: the Alert
// model of DESIGN §6, the alert state kept in the data folder (deduplication of
// the same incident, acknowledgement and suppression), and the sinks that
// deliver alerts to people and systems (stdout, an NDJSON file, a generic
// webhook, a Slack-compatible webhook, Amazon SNS and RFC 5424 syslog).
//
// It sits between the detect package, which turns query results into Alerts,
// and the outside world. The main types are Alert (one incident), Store (the
// state in DATA/alerts), Suppression (a mute rule), Sink and SinkConfig (one
// destination and its YAML configuration, whose errors are ConfigError
// values placed at their line and column), Dispatcher (fan-out of alerts to
// every configured sink, with failures isolated per sink) and Outbox (what
// each sink is owed, kept in the store as Delivery records and delivered at
// least once, oldest first).
//
// A detection runner uses it in two steps:
//
//	created, updated, err := outbox.Record(found) // the alerts and what each sink is owed, in one write
//	report, err := outbox.Deliver(ctx)            // everything owed, earlier failures first
//	for _, n := range report.Notes() { ... }
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Severity ranks an alert. The zero value is not a severity; the named values
// are ordered, so Critical > High > Medium > Low > Info.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota + 1
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{Info: "info", Low: "low", Medium: "medium", High: "high", Critical: "critical"}

// Severities lists every severity, highest first (the order people read them in).
func Severities() []Severity { return []Severity{Critical, High, Medium, Low, Info} }

// ParseSeverity reads one of critical, high, medium, low, info (any case).
func ParseSeverity(s string) (Severity, error) {
	for sev := Info; sev <= Critical; sev++ {
		if strings.EqualFold(s, severityNames[sev]) {
			return sev, nil
		}
	}
	return 0, fmt.Errorf("severity %q is not one of critical, high, medium, low, info", s)
}

// String returns the lowercase name, or "severity(N)" for an invalid value.
func (s Severity) String() string {
	if s.Valid() {
		return severityNames[s]
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the five named severities.
func (s Severity) Valid() bool { return s >= Info && s <= Critical }

// AtLeast reports whether s is min or more severe. Every valid severity is at
// least the zero Severity, so a zero minimum means "no minimum".
func (s Severity) AtLeast(min Severity) bool { return s >= min }

// Compare returns -1, 0 or +1 as s is less, as or more severe than o.
func (s Severity) Compare(o Severity) int {
	switch {
	case s < o:
		return -1
	case s > o:
		return 1
	}
	return 0
}

// MarshalText writes the lowercase name; an invalid severity is an error.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("marshal %s: not a valid severity", s)
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText reads a severity name; it also serves YAML configuration.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is where an alert stands with the people handling it.
type Status string

// The alert statuses.
const (
	StatusOpen       Status = "open"       // raised and not yet handled; sent to sinks
	StatusAcked      Status = "acked"      // someone has taken it; not sent again for the same incident
	StatusSuppressed Status = "suppressed" // muted by a suppression; recorded, never sent
)

// ParseStatus reads open, acked or suppressed.
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(s)); st {
	case StatusOpen, StatusAcked, StatusSuppressed:
		return st, nil
	}
	return "", fmt.Errorf("status %q is not one of open, acked, suppressed", s)
}

// Categories are the fixed category words of DESIGN §6, used by rules, tests
// and the precision/recall evaluation.
var Categories = []string{
	"port-scan", "port-sweep", "brute-force", "data-exfiltration", "crypto-mining",
	"lateral-movement", "c2-beaconing", "threat-intel", "exposed-service",
	"rejected-spike", "unusual-port", "flow-log-health",
}

// ValidCategory reports whether c is one of Categories.
func ValidCategory(c string) bool { return slices.Contains(Categories, c) }

// Alert is one incident: a rule that fired for one actor (Src) against one
// target (Dst) over a span of time. Its JSON form (MarshalJSON) is the shape of
// DESIGN §6, one object per line with -o ndjson:
//
//	{"id":"…","rule":"…","category":"port-scan","severity":"high","title":"…",
//	 "src":"10.0.0.5","dst":null,"first_seen":"2024-03-01T10:00:00Z",
//	 "last_seen":"2024-03-01T10:09:59Z","count":1,"evidence":{"ports":1000},
//	 "mitre":["T1046"],"status":"open"}
//
// followed by the optional state keys acked_by, acked_at, note and suppression.
type Alert struct {
	// ID is stable for an incident: see NewID. Store.Upsert assigns it when empty.
	ID string `json:"id"`
	// Rule is the id of the detection rule that fired.
	Rule string `json:"rule"`
	// Category is one of Categories.
	Category string `json:"category"`
	// Severity of the rule (or of this firing, when the rule grades it).
	Severity Severity `json:"severity"`
	// Title is one human line: what happened.
	Title string `json:"title"`
	// Src is the actor's IP address, "" when there is none (JSON null).
	Src string `json:"src"`
	// Dst is the target's IP address, "" when there is none (JSON null).
	Dst string `json:"dst"`
	// FirstSeen and LastSeen bound the incident's evidence (UTC, whole seconds
	// in JSON: flow-log times are seconds).
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Count is how many firings of the rule this alert aggregates (as
	// GuardDuty's finding count). A firing wholly inside the alert's known
	// span adds nothing, and one that covers the whole known span and more
	// recounts it, so re-running a detection over the same or a wider range
	// does not inflate it.
	Count int64 `json:"count"`
	// Evidence holds the numbers that tripped the rule (bytes, ports, baseline…).
	// Values are JSON values; after a round through the store numbers are float64.
	Evidence map[string]any `json:"evidence"`
	// MITRE lists MITRE ATT&CK technique ids (T1046, T1110.001…).
	MITRE []string `json:"mitre"`
	// Key tells apart incidents of one rule with the same src and dst: the
	// values of the rule's other group-by columns, such as the flow log of a
	// delivery gap or the interface gone quiet (JSON "key", omitted when
	// empty, as it is for most rules).
	Key string `json:"key,omitempty"`

	// Status is the handling state; Store.Upsert sets it.
	Status Status `json:"status"`
	// AckedBy and AckedAt say who acknowledged it and when.
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	// Note is free text from ack or suppress.
	Note string `json:"note,omitempty"`
	// Suppression is the id of the suppression that mutes the alert.
	Suppression string `json:"suppression,omitempty"`

	// Window is the rule's suppression window: a firing within Window of the
	// alert's span is the same incident. Zero means DefaultWindow. It is an
	// input to Store.Upsert and NewID, not part of the alert's JSON.
	Window time.Duration `json:"-"`
}

// DefaultWindow is the incident window used when a rule gives none: a firing
// more than an hour after the last one starts a new incident.
const DefaultWindow = time.Hour

// window returns a.Window or DefaultWindow.
func (a *Alert) window() time.Duration {
	if a.Window > 0 {
		return a.Window
	}
	return DefaultWindow
}

// NewID derives the stable id of an incident from the rule, the actor, the
// target and the incident window the first firing falls in (firstSeen
// truncated to window), so that the same incident found again by another run
// gets the same id. It is "a-" and 16 hex digits of a SHA-256.
func NewID(rule, src, dst string, firstSeen time.Time, window time.Duration) string {
	if window <= 0 {
		window = DefaultWindow
	}
	bucket := firstSeen.UTC().Truncate(window).Unix()
	h := sha256.Sum256([]byte(rule + "\x00" + src + "\x00" + dst + "\x00" + strconv.FormatInt(bucket, 10)))
	return "a-" + hex.EncodeToString(h[:8])
}

// Normalize puts an alert into its canonical form in place and checks it:
// addresses in canonical text, times in UTC whole seconds, count at least 1,
// evidence as plain JSON values, an id when it has none, status open when unset.
// The error names the first field that is wrong.
func (a *Alert) Normalize() error {
	if a.Rule == "" {
		return fmt.Errorf("alert %q: rule is empty", a.Title)
	}
	if !a.Severity.Valid() {
		return fmt.Errorf("alert from rule %s: %s is not a valid severity", a.Rule, a.Severity)
	}
	if a.Category == "" {
		return fmt.Errorf("alert from rule %s: category is empty", a.Rule)
	}
	for _, f := range []*string{&a.Src, &a.Dst} {
		if *f == "" {
			continue
		}
		ip, err := netip.ParseAddr(*f)
		if err != nil {
			return fmt.Errorf("alert from rule %s: %w", a.Rule, err)
		}
		*f = ip.Unmap().String()
	}
	if a.FirstSeen.IsZero() {
		return fmt.Errorf("alert from rule %s: first_seen is not set", a.Rule)
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = a.FirstSeen
	}
	a.FirstSeen = a.FirstSeen.UTC().Truncate(time.Second)
	a.LastSeen = a.LastSeen.UTC().Truncate(time.Second)
	if a.LastSeen.Before(a.FirstSeen) {
		return fmt.Errorf("alert from rule %s: last_seen %s is before first_seen %s",
			a.Rule, a.LastSeen.Format(time.RFC3339), a.FirstSeen.Format(time.RFC3339))
	}
	if !a.AckedAt.IsZero() {
		a.AckedAt = a.AckedAt.UTC().Truncate(time.Second)
	}
	if a.Count < 1 {
		a.Count = 1
	}
	if a.Status == "" {
		a.Status = StatusOpen
	}
	if a.MITRE == nil {
		a.MITRE = []string{}
	}
	ev, err := plainEvidence(a.Evidence)
	if err != nil {
		return fmt.Errorf("alert from rule %s: evidence: %w", a.Rule, err)
	}
	a.Evidence = ev
	if a.ID == "" {
		dst := a.Dst
		if a.Key != "" {
			// Alerts without a key keep the ids NewID documents.
			dst += "\x00" + a.Key
		}
		a.ID = NewID(a.Rule, a.Src, dst, a.FirstSeen, a.window())
	}
	return nil
}

// plainEvidence turns evidence into what JSON decoding would give back, so
// that an alert compares equal before and after a round through the store.
func plainEvidence(ev map[string]any) (map[string]any, error) {
	if len(ev) == 0 {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// alertJSON is the wire form of Alert; the order of its fields is the order
// of the keys in every JSON line.
type alertJSON struct {
	ID          string         `json:"id"`
	Rule        string         `json:"rule"`
	Category    string         `json:"category"`
	Severity    Severity       `json:"severity"`
	Title       string         `json:"title"`
	Src         *string        `json:"src"`
	Dst         *string        `json:"dst"`
	FirstSeen   string         `json:"first_seen"`
	LastSeen    string         `json:"last_seen"`
	Count       int64          `json:"count"`
	Evidence    map[string]any `json:"evidence"`
	MITRE       []string       `json:"mitre"`
	Key         string         `json:"key,omitempty"`
	Status      Status         `json:"status,omitempty"`
	AckedBy     string         `json:"acked_by,omitempty"`
	AckedAt     string         `json:"acked_at,omitempty"`
	Note        string         `json:"note,omitempty"`
	Suppression string         `json:"suppression,omitempty"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// MarshalJSON writes the DESIGN §6 shape: src and dst null when absent,
// times in RFC 3339 UTC, evidence an object and mitre a list (never null).
func (a Alert) MarshalJSON() ([]byte, error) {
	w := alertJSON{
		ID: a.ID, Rule: a.Rule, Category: a.Category, Severity: a.Severity, Title: a.Title,
		Src: nullable(a.Src), Dst: nullable(a.Dst),
		FirstSeen: rfc3339(a.FirstSeen), LastSeen: rfc3339(a.LastSeen),
		Count: a.Count, Evidence: a.Evidence, MITRE: a.MITRE, Key: a.Key,
		Status: a.Status, AckedBy: a.AckedBy, AckedAt: rfc3339(a.AckedAt), Note: a.Note,
		Suppression: a.Suppression,
	}
	if w.Evidence == nil {
		w.Evidence = map[string]any{}
	}
	if w.MITRE == nil {
		w.MITRE = []string{}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Alert) UnmarshalJSON(b []byte) error {
	var w alertJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := Alert{
		ID: w.ID, Rule: w.Rule, Category: w.Category, Severity: w.Severity, Title: w.Title,
		Count: w.Count, Evidence: w.Evidence, MITRE: w.MITRE, Key: w.Key, Status: w.Status,
		AckedBy: w.AckedBy, Note: w.Note, Suppression: w.Suppression,
	}
	if w.Src != nil {
		out.Src = *w.Src
	}
	if w.Dst != nil {
		out.Dst = *w.Dst
	}
	var err error
	for _, f := range []struct {
		name string
		s    string
		t    *time.Time
	}{{"first_seen", w.FirstSeen, &out.FirstSeen}, {"last_seen", w.LastSeen, &out.LastSeen}, {"acked_at", w.AckedAt, &out.AckedAt}} {
		if f.s == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339, f.s); err != nil {
			return fmt.Errorf("alert %s: %s: %w", w.ID, f.name, err)
		}
		*f.t = f.t.UTC()
	}
	if out.Evidence == nil {
		out.Evidence = map[string]any{}
	}
	if out.MITRE == nil {
		out.MITRE = []string{}
	}
	*a = out
	return nil
}

// Endpoints renders "src → dst" with "-" for an absent side.
func (a *Alert) Endpoints() string {
	return orDash(a.Src) + " → " + orDash(a.Dst)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// EvidenceText renders the evidence as "key=value" pairs in key order.
func (a *Alert) EvidenceText() string {
	keys := make([]string, 0, len(a.Evidence))
	for k := range a.Evidence {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(evidenceValue(a.Evidence[k]))
	}
	return b.String()
}

func evidenceValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Line is the one-line human form used by the stdout sink, syslog and chat:
// "2024-03-01T10:09:59Z HIGH port-scan 10.0.0.5 → - Vertical port scan (count 1) ports=1000".
func (a *Alert) Line() string {
	s := fmt.Sprintf("%s %s %s %s %s (count %d)", rfc3339(a.LastSeen), strings.ToUpper(a.Severity.String()),
		a.Category, a.Endpoints(), a.Title, a.Count)
	if ev := a.EvidenceText(); ev != "" {
		s += " " + ev
	}
	return s
}
