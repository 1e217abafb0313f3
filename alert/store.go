package alert

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StateVersion is the version of the state file's layout.
const StateVersion = 1

// state is the content of DATA/alerts/state.json.
type state struct {
	Version int `json:"version"`
	// Generation goes up by one with every write; it lets a Store reuse the
	// state it read last when the file has not changed since.
	Generation   int64         `json:"generation"`
	Alerts       []Alert       `json:"alerts"`
	Suppressions []Suppression `json:"suppressions"`
	// NextSeq numbers the next Delivery.
	NextSeq int64 `json:"next_seq,omitempty"`
	// Deliveries are the alerts owed to sinks (see Outbox), oldest first.
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// Store keeps alert state in one folder (DATA/alerts): state.json holds every
// alert and suppression. Each change takes an exclusive lock on the folder's
// lock file, reads the current state, changes it and replaces state.json
// atomically (temporary file, fsync, rename, fsync of the folder), so several
// processes can share a store and a crash at any moment leaves either the old
// state or the new one. Readers take a shared lock.
type Store struct {
	dir string
	// Now is the wall clock used for ack and suppression times and expiry;
	// tests replace it.
	Now func() time.Time

	mu sync.Mutex
	// crashAfter, when >= 0, makes the next write stop after that many bytes
	// of the temporary file, as a crash would (tests only).
	crashAfter int
	// cache is the state as this Store last read or wrote it, valid while
	// the file's generation is still cacheGen.
	cache    *state
	cacheGen int64
}

// errCrash is returned by a write stopped by crashAfter.
var errCrash = errors.New("simulated crash")

// OpenStore opens (creating when needed) the alert store in dataDir/alerts and
// checks that its state is readable.
func OpenStore(dataDir string) (*Store, error) {
	dir := filepath.Join(dataDir, "alerts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create alert store: %w", err)
	}
	s := &Store{dir: dir, Now: time.Now, crashAfter: -1}
	if err := s.view(func(*state) error { return nil }); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) statePath() string { return filepath.Join(s.dir, "state.json") }

// withLock runs fn holding the in-process mutex and the folder's file lock.
func (s *Store) withLock(exclusive bool, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lf, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open alert store lock: %w", err)
	}
	defer lf.Close()
	if err := lockFile(lf, exclusive); err != nil {
		return err
	}
	defer unlockFile(lf)
	return fn()
}

// view runs fn on the current state under a shared lock.
func (s *Store) view(fn func(*state) error) error {
	return s.withLock(false, func() error {
		st, err := s.read()
		if err != nil {
			return err
		}
		return fn(st)
	})
}

// update runs fn on the current state under an exclusive lock and writes the
// result back when fn succeeds.
func (s *Store) update(fn func(*state) error) error {
	return s.withLock(true, func() error {
		st, err := s.read()
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			if !errors.Is(err, errNoChange) {
				s.cache = nil // fn may have changed st half way
			}
			return err
		}
		if err := s.write(st); err != nil {
			s.cache = nil
			return err
		}
		s.cache, s.cacheGen = st, st.Generation
		return nil
	})
}

// read returns the current state: the cached one when the file's generation
// has not moved since this Store last read or wrote it, else the file decoded.
// Callers hold the lock; update may change the result in place.
func (s *Store) read() (*state, error) {
	path := s.statePath()
	if s.cache != nil {
		if gen, ok := fileGeneration(path); ok && gen == s.cacheGen {
			return s.cache, nil
		}
		s.cache = nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &state{Version: StateVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read alert state: %w", err)
	}
	st := &state{}
	if err := json.Unmarshal(b, st); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(b, se.Offset)
			return nil, fmt.Errorf("read alert state %s:%d:%d: %w (the file is damaged: restore it from a backup or move it away to start empty)", path, line, col, err)
		}
		return nil, fmt.Errorf("read alert state %s: %w", path, err)
	}
	if st.Version != StateVersion {
		return nil, fmt.Errorf("read alert state %s: version %d, this flowlens reads version %d", path, st.Version, StateVersion)
	}
	s.cache, s.cacheGen = st, st.Generation
	return st, nil
}

// stateHeader is how every state file written by this version begins; the
// generation follows it.
const stateHeader = `{"version":1,"generation":`

// fileGeneration reads the generation from the first line of the state file
// without decoding the rest.
func fileGeneration(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := io.ReadFull(f, buf)
	rest, ok := strings.CutPrefix(string(buf[:n]), stateHeader)
	if !ok {
		return 0, false
	}
	end := strings.IndexAny(rest, ",\n}")
	if end <= 0 {
		return 0, false
	}
	gen, err := strconv.ParseInt(rest[:end], 10, 64)
	return gen, err == nil
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	before := b[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// write replaces state.json atomically: a reader (or the next process after a
// crash) sees the old file or the new one, never a mix.
func (s *Store) write(st *state) error {
	st.Version = StateVersion
	st.Generation++
	// One alert per line: readable, diffable, and cheap to encode.
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s%d,\n\"alerts\":[", stateHeader, st.Generation)
	for i := range st.Alerts {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := st.Alerts[i].MarshalJSON() // skips json.Marshal's re-validation
		if err != nil {
			return fmt.Errorf("encode alert state: alert %s: %w", st.Alerts[i].ID, err)
		}
		buf.WriteByte('\n')
		buf.Write(b)
	}
	buf.WriteString("\n],\n\"suppressions\":[")
	for i := range st.Suppressions {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := json.Marshal(st.Suppressions[i])
		if err != nil {
			return fmt.Errorf("encode alert state: suppression %s: %w", st.Suppressions[i].ID, err)
		}
		buf.WriteByte('\n')
		buf.Write(b)
	}
	buf.WriteString("\n]")
	if len(st.Deliveries) > 0 || st.NextSeq > 0 {
		fmt.Fprintf(&buf, ",\n\"next_seq\":%d,\n\"deliveries\":[", st.NextSeq)
		for i := range st.Deliveries {
			if i > 0 {
				buf.WriteByte(',')
			}
			b, err := json.Marshal(&st.Deliveries[i])
			if err != nil {
				return fmt.Errorf("encode alert state: delivery %d: %w", st.Deliveries[i].Seq, err)
			}
			buf.WriteByte('\n')
			buf.Write(b)
		}
		buf.WriteString("\n]")
	}
	buf.WriteString("}\n")
	b := buf.Bytes()
	path := s.statePath()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write alert state: %w", err)
	}
	if s.crashAfter >= 0 && s.crashAfter < len(b) {
		_, _ = f.Write(b[:s.crashAfter])
		f.Close()
		return errCrash
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write alert state %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync alert state %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close alert state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace alert state: %w", err)
	}
	return syncDir(s.dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync alert store %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync alert store %s: %w", dir, err)
	}
	return nil
}

func incidentKey(a *Alert) string { return a.Rule + "\x00" + a.Src + "\x00" + a.Dst + "\x00" + a.Key }

// Upsert records firings of rules. A firing of the same rule for the same src
// and dst whose time span overlaps an existing alert's span, or falls within
// the firing's Window of it, is the same incident: that alert's last_seen,
// first_seen, count, evidence, title and severity are updated and it is
// returned in updated (only when something changed, so recording the same
// firing twice changes nothing). Any other firing creates an alert, returned
// in created.
//
// Status follows the incident: a new alert matching an active suppression is
// suppressed, otherwise open; an acked alert stays acked while its incident
// goes on (a firing after it ended creates a new, open alert); a suppressed
// alert whose suppressions have all expired or been removed becomes open
// again and is returned in created, since nobody has been told about it.
//
// The batch is all or nothing: an invalid alert (see Alert.Normalize) fails
// the whole call, naming its index.
func (s *Store) Upsert(alerts []Alert) (created, updated []Alert, err error) {
	return s.upsert(alerts, nil)
}

// upsert is Upsert that also records, in the same write, a Delivery owed to
// each recipient for every open alert it should get: created alerts at least
// as severe as its minimum, and updated ones too when it takes updates.
func (s *Store) upsert(alerts []Alert, to []Recipient) (created, updated []Alert, err error) {
	in := make([]Alert, len(alerts))
	for i := range alerts {
		in[i] = alerts[i]
		in[i].MITRE = slices.Clone(alerts[i].MITRE)
		in[i].ID = ""
		in[i].Status, in[i].AckedBy, in[i].AckedAt, in[i].Note, in[i].Suppression = "", "", time.Time{}, "", ""
		if err := in[i].Normalize(); err != nil {
			return nil, nil, fmt.Errorf("upsert alert %d: %w", i, err)
		}
		if alerts[i].ID != "" {
			in[i].ID = alerts[i].ID
		}
	}
	err = s.update(func(st *state) error {
		now := s.Now()
		byKey := map[string][]int{}
		ids := map[string]bool{}
		for i := range st.Alerts {
			k := incidentKey(&st.Alerts[i])
			byKey[k] = append(byKey[k], i)
			ids[st.Alerts[i].ID] = true
		}
		// An alert changed several times in one batch is reported once, as it
		// ends, in the list of its first change.
		var touched []int
		isNew := map[int]bool{} // touched alert index → created (true) or updated (false)
		for i := range in {
			n := &in[i]
			w := n.window()
			match := -1
			for _, j := range byKey[incidentKey(n)] {
				e := &st.Alerts[j]
				if !n.FirstSeen.After(e.LastSeen.Add(w)) && !n.LastSeen.Before(e.FirstSeen.Add(-w)) {
					if match < 0 || e.LastSeen.After(st.Alerts[match].LastSeen) {
						match = j
					}
				}
			}
			if match < 0 {
				for ids[n.ID] {
					n.ID = NewID(n.Rule+"#"+n.ID, n.Src, n.Dst, n.FirstSeen, w)
				}
				n.Status = StatusOpen
				if sp := activeSuppression(st.Suppressions, n, now); sp != nil {
					n.Status, n.Suppression = StatusSuppressed, sp.ID
				}
				stored := *n
				stored.Window = 0 // an input, not state: the next firing brings its own
				st.Alerts = append(st.Alerts, stored)
				j := len(st.Alerts) - 1
				byKey[incidentKey(n)] = append(byKey[incidentKey(n)], j)
				ids[n.ID] = true
				touched, isNew[j] = append(touched, j), true
				continue
			}
			e := &st.Alerts[match]
			before := cloneAlert(e)
			reopened := merge(e, n, st.Suppressions, now)
			wasNew, seen := isNew[match]
			switch {
			case wasNew:
			case reopened:
				if !seen {
					touched = append(touched, match)
				}
				isNew[match] = true
			case !seen && !alertsEqual(&before, e):
				touched, isNew[match] = append(touched, match), false
			}
		}
		created, updated = nil, nil
		for _, j := range touched {
			if isNew[j] {
				created = append(created, cloneAlert(&st.Alerts[j]))
			} else {
				updated = append(updated, cloneAlert(&st.Alerts[j]))
			}
		}
		if len(created) == 0 && len(updated) == 0 {
			return errNoChange
		}
		owe(st, created, updated, to, now)
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	if err != nil {
		return nil, nil, err
	}
	return created, updated, nil
}

// errNoChange stops update from rewriting a state nothing changed.
var errNoChange = errors.New("no change")

// merge folds firing n into the existing alert e of the same incident and
// reports whether e went from suppressed back to open.
func merge(e, n *Alert, sups []Suppression, now time.Time) (reopened bool) {
	extends := n.LastSeen.After(e.LastSeen) || n.FirstSeen.Before(e.FirstSeen)
	switch {
	case !extends:
	case !n.FirstSeen.After(e.FirstSeen):
		// The firing covers the whole known span and more: a re-run over a
		// wider range (detect --since every hour, --follow's lookback) has
		// counted the known firings again, so it replaces the count.
		e.Count = max(e.Count, n.Count)
	default:
		e.Count += n.Count
	}
	if n.FirstSeen.Before(e.FirstSeen) {
		e.FirstSeen = n.FirstSeen
	}
	if !n.LastSeen.Before(e.LastSeen) {
		e.LastSeen = n.LastSeen
		e.Title = n.Title
		e.Category = n.Category
		e.Evidence = n.Evidence
	}
	if n.Severity > e.Severity {
		e.Severity = n.Severity
	}
	for _, m := range n.MITRE {
		if !slices.Contains(e.MITRE, m) {
			e.MITRE = append(e.MITRE, m)
		}
	}
	switch e.Status {
	case StatusSuppressed:
		if sp := activeSuppression(sups, e, now); sp != nil {
			e.Suppression = sp.ID
		} else {
			e.Status, e.Suppression = StatusOpen, ""
			return true
		}
	case StatusOpen:
		if sp := activeSuppression(sups, e, now); sp != nil {
			e.Status, e.Suppression = StatusSuppressed, sp.ID
		}
	}
	return false
}

func activeSuppression(sups []Suppression, a *Alert, now time.Time) *Suppression {
	for i := range sups {
		if sups[i].Active(now) && sups[i].Matches(a) {
			return &sups[i]
		}
	}
	return nil
}

func cloneAlert(a *Alert) Alert {
	c := *a
	c.MITRE = slices.Clone(a.MITRE)
	if a.Evidence != nil {
		c.Evidence = make(map[string]any, len(a.Evidence))
		for k, v := range a.Evidence {
			c.Evidence[k] = v
		}
	}
	return c
}

func alertsEqual(a, b *Alert) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// IDError is an error about an id a user gave: unknown, ambiguous, or naming
// an alert or suppression in the wrong state for the action. Callers use
// errors.As to tell bad arguments from I/O failures.
type IDError struct{ msg string }

// Error returns the message.
func (e *IDError) Error() string { return e.msg }

func idErrorf(format string, a ...any) error { return &IDError{fmt.Sprintf(format, a...)} }

// resolve finds the alert whose id is id or starts with it (a unique prefix of
// at least 4 characters, as git accepts).
func resolve(st *state, id string) (int, error) {
	found := -1
	for i := range st.Alerts {
		a := &st.Alerts[i]
		if a.ID == id {
			return i, nil
		}
		if len(id) >= 4 && strings.HasPrefix(a.ID, id) {
			if found >= 0 {
				return -1, idErrorf("alert id %q is ambiguous: %s and %s", id, st.Alerts[found].ID, a.ID)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, idErrorf("no alert with id %q", id)
	}
	return found, nil
}

// Get returns the alert with id (or a unique prefix of it).
func (s *Store) Get(id string) (Alert, error) {
	var out Alert
	err := s.view(func(st *state) error {
		i, err := resolve(st, id)
		if err != nil {
			return err
		}
		out = cloneAlert(&st.Alerts[i])
		return nil
	})
	return out, err
}

// Ack acknowledges the alerts with the given ids (or unique prefixes): status
// acked, by and the time recorded, note replacing the old one when not empty.
// It is all or nothing: an unknown id changes nothing. It returns the alerts
// as they now are.
func (s *Store) Ack(ids []string, by, note string) ([]Alert, error) {
	var out []Alert
	err := s.update(func(st *state) error {
		out = out[:0]
		now := s.Now().UTC().Truncate(time.Second)
		for _, id := range ids {
			i, err := resolve(st, id)
			if err != nil {
				return fmt.Errorf("ack: %w", err)
			}
			a := &st.Alerts[i]
			a.Status, a.AckedBy, a.AckedAt, a.Suppression = StatusAcked, by, now, ""
			if note != "" {
				a.Note = note
			}
			out = append(out, cloneAlert(a))
		}
		return nil
	})
	return out, err
}

// Unack takes acknowledgement back: the alerts become open again, or
// suppressed when an active suppression matches them. They are not sent
// again until they next fire.
func (s *Store) Unack(ids []string) ([]Alert, error) {
	var out []Alert
	err := s.update(func(st *state) error {
		out = out[:0]
		now := s.Now()
		for _, id := range ids {
			i, err := resolve(st, id)
			if err != nil {
				return fmt.Errorf("unack: %w", err)
			}
			a := &st.Alerts[i]
			if a.Status != StatusAcked {
				return idErrorf("unack: alert %s is %s, not acked", a.ID, a.Status)
			}
			a.Status, a.AckedBy, a.AckedAt = StatusOpen, "", time.Time{}
			if sp := activeSuppression(st.Suppressions, a, now); sp != nil {
				a.Status, a.Suppression = StatusSuppressed, sp.ID
			}
			out = append(out, cloneAlert(a))
		}
		return nil
	})
	return out, err
}

// Suppress adds a suppression and applies it at once to the open alerts it
// matches. It returns the suppression as stored (with ID and CreatedAt) and
// the alerts it muted.
func (s *Store) Suppress(sp Suppression) (Suppression, []Alert, error) {
	if err := sp.check(); err != nil {
		return Suppression{}, nil, err
	}
	var muted []Alert
	err := s.update(func(st *state) error {
		now := s.Now()
		sp.CreatedAt = now.UTC().Truncate(time.Second)
		if !sp.Until.IsZero() {
			sp.Until = sp.Until.UTC()
			if !sp.Until.After(now) {
				return fmt.Errorf("suppress: until %s is already past", rfc3339(sp.Until))
			}
		}
		sp.ID = suppressionID(&sp)
		st.Suppressions = append(st.Suppressions, sp)
		muted = muted[:0]
		for i := range st.Alerts {
			a := &st.Alerts[i]
			if a.Status == StatusOpen && sp.Matches(a) {
				a.Status, a.Suppression = StatusSuppressed, sp.ID
				muted = append(muted, cloneAlert(a))
			}
		}
		return nil
	})
	if err != nil {
		return Suppression{}, nil, err
	}
	return sp, muted, nil
}

// Unsuppress removes a suppression by id. Alerts it muted become open (or
// stay suppressed under another active suppression); they are sent when they
// next fire. It returns the alerts it reopened.
func (s *Store) Unsuppress(id string) ([]Alert, error) {
	var reopened []Alert
	err := s.update(func(st *state) error {
		k := slices.IndexFunc(st.Suppressions, func(sp Suppression) bool { return sp.ID == id })
		if k < 0 {
			return idErrorf("unsuppress: no suppression with id %q", id)
		}
		st.Suppressions = slices.Delete(st.Suppressions, k, k+1)
		now := s.Now()
		reopened = reopened[:0]
		for i := range st.Alerts {
			a := &st.Alerts[i]
			if a.Status != StatusSuppressed || a.Suppression != id {
				continue
			}
			if sp := activeSuppression(st.Suppressions, a, now); sp != nil {
				a.Suppression = sp.ID
				continue
			}
			a.Status, a.Suppression = StatusOpen, ""
			reopened = append(reopened, cloneAlert(a))
		}
		return nil
	})
	return reopened, err
}

// Suppressions lists every suppression, expired ones included, oldest first.
func (s *Store) Suppressions() ([]Suppression, error) {
	var out []Suppression
	err := s.view(func(st *state) error {
		out = slices.Clone(st.Suppressions)
		return nil
	})
	return out, err
}

// Filter selects alerts for List. Zero fields select everything.
type Filter struct {
	// Status keeps alerts in any of these statuses.
	Status []Status
	// MinSeverity keeps alerts at least this severe.
	MinSeverity Severity
	// Category and Rule keep alerts with exactly this category or rule.
	Category string
	Rule     string
	// Since keeps alerts whose last_seen is at or after it.
	Since time.Time
}

// Match reports whether a passes the filter.
func (f *Filter) Match(a *Alert) bool {
	if len(f.Status) > 0 && !slices.Contains(f.Status, a.Status) {
		return false
	}
	if !a.Severity.AtLeast(f.MinSeverity) {
		return false
	}
	if f.Category != "" && a.Category != f.Category {
		return false
	}
	if f.Rule != "" && a.Rule != f.Rule {
		return false
	}
	return f.Since.IsZero() || !a.LastSeen.Before(f.Since)
}

// List returns the alerts passing f in SortAlerts order.
func (s *Store) List(f Filter) ([]Alert, error) {
	var out []Alert
	err := s.view(func(st *state) error {
		for i := range st.Alerts {
			if f.Match(&st.Alerts[i]) {
				out = append(out, cloneAlert(&st.Alerts[i]))
			}
		}
		return nil
	})
	SortAlerts(out)
	return out, err
}

// SortAlerts orders alerts most recent last_seen first, then most severe,
// then by rule, src, dst and id.
func SortAlerts(as []Alert) {
	slices.SortStableFunc(as, func(a, b Alert) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		if c := b.Severity.Compare(a.Severity); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Src, b.Src),
			strings.Compare(a.Dst, b.Dst), strings.Compare(a.ID, b.ID))
	})
}

// Prune deletes alerts whose last_seen is before before, and suppressions
// that expired before it, and returns how many of each it removed. It keeps
// the state file from growing without end.
func (s *Store) Prune(before time.Time) (alerts, suppressions int, err error) {
	err = s.update(func(st *state) error {
		n, m := len(st.Alerts), len(st.Suppressions)
		st.Alerts = slices.DeleteFunc(st.Alerts, func(a Alert) bool { return a.LastSeen.Before(before) })
		// Deliveries of pruned alerts are dropped by the next Outbox.Deliver,
		// which reports them.
		st.Suppressions = slices.DeleteFunc(st.Suppressions, func(sp Suppression) bool {
			return !sp.Until.IsZero() && sp.Until.Before(before)
		})
		alerts, suppressions = n-len(st.Alerts), m-len(st.Suppressions)
		if alerts == 0 && suppressions == 0 {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return alerts, suppressions, err
}
