package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Delivery is one alert owed to one sink: recorded in the alert state in the
// same atomic write that creates the alert (or, for a sink with send-updates,
// updates it), and removed only once the sink has taken it. A process killed
// between a send and the write that records it leaves the delivery owed, so
// the next run sends it again: delivery is at least once, never lost.
type Delivery struct {
	// Seq numbers deliveries in the store; it changes when the alert changes
	// again before the sink took it, so the sink is sent the newer alert.
	Seq int64 `json:"seq"`
	// Alert is the alert's id.
	Alert string `json:"alert"`
	// Sink is the sink's name (SinkConfig.Label, with #2… for repeats) and
	// Type its type when the delivery was recorded.
	Sink string `json:"sink"`
	Type string `json:"type"`
	// Update is true for an update of an alert the sink already got.
	Update bool `json:"update,omitempty"`
	// Since is when the sink was first owed the alert.
	Since time.Time `json:"since"`
	// Attempts counts the sends that failed; LastTry is the latest and Error
	// its error (shortened).
	Attempts int       `json:"attempts,omitempty"`
	LastTry  time.Time `json:"last_try,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// Recipient is a sink as delivery records know it: its name, type and what
// it wants.
type Recipient struct {
	Sink        string
	Type        string
	MinSeverity Severity
	SendUpdates bool
}

// maxErrorText bounds the error kept with a delivery, so that a sink that
// fails for a week does not grow the state file by its error messages.
const maxErrorText = 200

// owe records the deliveries that created and updated alerts are owed by the
// recipients. An alert already owed to a sink stays one delivery: it takes a
// new Seq (the sink is to get the alert as it is now) and keeps its Since.
func owe(st *state, created, updated []Alert, to []Recipient, now time.Time) {
	if len(to) == 0 {
		return
	}
	now = now.UTC().Truncate(time.Second)
	type key struct{ alert, sink string }
	idx := make(map[key]int, len(st.Deliveries))
	for i := range st.Deliveries {
		idx[key{st.Deliveries[i].Alert, st.Deliveries[i].Sink}] = i
	}
	add := func(a *Alert, r *Recipient, update bool) {
		if a.Status != StatusOpen || !a.Severity.AtLeast(r.MinSeverity) || (update && !r.SendUpdates) {
			return
		}
		st.NextSeq++
		k := key{a.ID, r.Sink}
		if i, ok := idx[k]; ok {
			d := &st.Deliveries[i]
			d.Seq, d.Type, d.Update = st.NextSeq, r.Type, d.Update && update
			return
		}
		st.Deliveries = append(st.Deliveries, Delivery{Seq: st.NextSeq, Alert: a.ID, Sink: r.Sink, Type: r.Type, Update: update, Since: now})
		idx[k] = len(st.Deliveries) - 1
	}
	for i := range created {
		for j := range to {
			add(&created[i], &to[j], false)
		}
	}
	for i := range updated {
		for j := range to {
			add(&updated[i], &to[j], true)
		}
	}
}

// Outbox delivers alerts through a Dispatcher's sinks with a record of what
// each sink is owed, kept in the Store: Record stores firings and what they
// owe, Deliver sends everything owed (oldest first, earlier failures
// included) and records what each sink took, Pending lists what is owed.
//
// A sink that fails is left alone for the rest of the Outbox's life (one
// run) when Reprobe is zero, so one dead webhook costs one alert's retries,
// not every alert's; with Reprobe it is tried again after that long, the
// wait doubling with each failure in a row up to 16 times Reprobe. Its
// alerts stay owed either way.
type Outbox struct {
	store *Store
	disp  *Dispatcher
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Chunk is how many alerts a sink is given per Send, and so how many it
	// may be sent again after a crash: each chunk's outcome is recorded
	// before the next is sent. Default 100.
	Chunk int
	// Reprobe is how long a failed sink is left alone before it is tried
	// again; zero means for the Outbox's whole life.
	Reprobe time.Duration
	// Only, when not empty, limits Deliver to the sinks it names.
	Only []string

	mu   sync.Mutex // one Deliver at a time
	dmu  sync.Mutex // guards down
	down map[string]downState
	// afterSend, when set, runs after a chunk was sent and before its
	// outcome is recorded: tests crash the process there.
	afterSend func(sink string, alerts []Alert)
}

type downState struct {
	until    time.Time
	failures int
}

// NewOutbox returns an outbox delivering through d and keeping its records in s.
func NewOutbox(s *Store, d *Dispatcher) *Outbox {
	return &Outbox{store: s, disp: d, Now: time.Now, Chunk: 100, down: map[string]downState{}}
}

// Recipients lists the dispatcher's sinks as delivery records know them.
func (d *Dispatcher) Recipients() []Recipient {
	out := make([]Recipient, len(d.routes))
	for i, r := range d.routes {
		out[i] = Recipient{Sink: r.sink.Name(), Type: r.typ, MinSeverity: r.min, SendUpdates: r.sendUpdates}
	}
	return out
}

// Recipients lists the outbox's sinks.
func (o *Outbox) Recipients() []Recipient {
	if o.disp == nil {
		return nil
	}
	return o.disp.Recipients()
}

// Record is Store.Upsert that also records, in the same atomic write, a
// Delivery owed to each sink for every open alert it should get: new alerts
// at least as severe as the sink's min-severity and, for sinks with
// send-updates, updated ones.
func (o *Outbox) Record(alerts []Alert) (created, updated []Alert, err error) {
	var to []Recipient
	if o.disp != nil {
		to = o.disp.Recipients()
	}
	return o.store.upsert(alerts, to)
}

// SinkDelivery is what one Deliver did for one sink.
type SinkDelivery struct {
	// Sink, Type and Target identify the sink (Target without secrets; empty
	// for a sink no longer configured).
	Sink, Type, Target string
	// Configured is false for a sink removed from the configuration: its
	// deliveries were dropped.
	Configured bool
	// Delivered is how many alerts the sink took.
	Delivered int
	// Owed is how many are still owed to it: they failed, or were not tried
	// because the sink had failed (Down).
	Owed int
	// GaveUp is how many were owed for longer than the sink's give-up-after
	// and were dropped without being delivered.
	GaveUp int
	// Dropped is how many are no longer to be sent: the sink was removed,
	// or the alert was acked, suppressed or pruned, or the sink's settings
	// no longer ask for it.
	Dropped int
	// Down is true when the sink failed in this Deliver or an earlier one of
	// the same Outbox and was left alone.
	Down bool
	// Err is the sink's latest error.
	Err error
	// Elapsed is the time spent sending to the sink.
	Elapsed time.Duration
	// OldestGivenUp is the Since of the oldest delivery given up.
	OldestGivenUp time.Time
	// drops counts Dropped by reason.
	drops map[string]int
}

// DeliveryReport is the outcome of one Deliver: one SinkDelivery per
// configured sink, in configuration order, then one per removed sink that
// still had deliveries.
type DeliveryReport struct {
	Sinks []SinkDelivery
}

// Failed reports whether an alert is still owed to a configured sink or was
// given up: not every alert due was delivered.
func (r *DeliveryReport) Failed() bool {
	for _, s := range r.Sinks {
		if s.Owed > 0 || s.GaveUp > 0 {
			return true
		}
	}
	return false
}

// Totals sums the report's counts over every sink.
func (r *DeliveryReport) Totals() (delivered, owed, gaveUp, dropped int) {
	for _, s := range r.Sinks {
		delivered, owed, gaveUp, dropped = delivered+s.Delivered, owed+s.Owed, gaveUp+s.GaveUp, dropped+s.Dropped
	}
	return
}

// Notes are the report's human lines about alerts given up, dropped, or
// still owed, one per sink and reason, for stderr.
func (r *DeliveryReport) Notes() []string {
	var out []string
	for _, s := range r.Sinks {
		if !s.Configured {
			out = append(out, fmt.Sprintf("sink %q is no longer configured: dropped %s owed to it", s.Sink, plural(s.Dropped, "undelivered alert")))
			continue
		}
		if s.GaveUp > 0 {
			out = append(out, fmt.Sprintf("sink %q: gave up %s owed for longer than its give-up-after (oldest owed since %s); they were never delivered",
				s.Sink, plural(s.GaveUp, "alert"), s.OldestGivenUp.UTC().Format(time.RFC3339)))
		}
		reasons := make([]string, 0, len(s.drops))
		for why := range s.drops {
			reasons = append(reasons, why)
		}
		slices.Sort(reasons)
		for _, why := range reasons {
			out = append(out, fmt.Sprintf("sink %q: dropped %s not to be sent any more: %s", s.Sink, plural(s.drops[why], "owed alert"), why))
		}
		if s.Owed > 0 {
			msg := fmt.Sprintf("sink %q: %s still owed", s.Sink, plural(s.Owed, "alert"))
			if s.Err != nil {
				msg += ": " + s.Err.Error()
			} else if s.Down {
				msg += ": the sink failed earlier and is left alone for now"
			}
			out = append(out, msg)
		}
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// dropReason says why a delivery is no longer to be sent, "" when it still
// is; gaveUp marks a delivery owed longer than the sink's give-up-after.
func dropReason(d *Delivery, r *route, a *Alert, now time.Time) (why string, gaveUp bool) {
	switch {
	case r == nil:
		return "the sink is no longer configured", false
	case a == nil:
		return "the alert is no longer in the alert state (pruned)", false
	case a.Status != StatusOpen:
		return "the alert is " + string(a.Status), false
	case !a.Severity.AtLeast(r.min):
		return "the alert is below the sink's min-severity " + r.min.String(), false
	case d.Update && !r.sendUpdates:
		return "the sink no longer takes updates (send-updates)", false
	case now.Sub(d.Since) > r.giveUp:
		return "owed for longer than give-up-after " + shortDuration(r.giveUp), true
	}
	return "", false
}

// shortDuration prints 7d, 12h or 90m rather than 168h0m0s.
func shortDuration(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// route returns the configured sink named name whose type is typ, or nil: a
// name now used by a sink of another type is another sink.
func (o *Outbox) route(name, typ string) *route {
	if o.disp == nil {
		return nil
	}
	for i := range o.disp.routes {
		r := &o.disp.routes[i]
		if r.sink.Name() == name && r.typ == typ {
			return r
		}
	}
	return nil
}

// Pending is a delivery as `flowlens alerts pending` lists it.
type Pending struct {
	Delivery
	// Alert is the alert as the state holds it now; nil when it was pruned.
	Alert *Alert
	// Target is where the sink delivers; empty for a sink no longer configured.
	Target string
	// Note says what the next Deliver will do instead of sending it
	// (drop it, give it up); empty when it will be sent.
	Note string
}

// Pending lists every delivery still owed, by sink in configuration order
// (removed sinks last), oldest first within a sink: the order Deliver sends
// them in.
func (o *Outbox) Pending() ([]Pending, error) {
	var out []Pending
	err := o.store.view(func(st *state) error {
		now := o.now()
		byID := alertIndex(st)
		for _, d := range st.Deliveries {
			p := Pending{Delivery: d}
			if a, ok := byID[d.Alert]; ok {
				c := cloneAlert(a)
				p.Alert = &c
			}
			r := o.route(d.Sink, d.Type)
			if r != nil {
				p.Target = r.target
			}
			why, gaveUp := dropReason(&d, r, p.Alert, now)
			switch {
			case gaveUp:
				p.Note = "will be given up: " + why
			case why != "":
				p.Note = "will be dropped: " + why
			}
			out = append(out, p)
		}
		return nil
	})
	order := o.sinkOrder()
	slices.SortStableFunc(out, func(a, b Pending) int {
		return cmp.Or(cmp.Compare(order(a.Sink, a.Type), order(b.Sink, b.Type)), strings.Compare(a.Sink, b.Sink),
			a.Since.Compare(b.Since))
	})
	return out, err
}

// sinkOrder ranks sinks by their place in the configuration, removed ones last.
func (o *Outbox) sinkOrder() func(name, typ string) int {
	return func(name, typ string) int {
		if o.disp != nil {
			for i, r := range o.disp.routes {
				if r.sink.Name() == name && r.typ == typ {
					return i
				}
			}
		}
		return 1 << 30
	}
}

func alertIndex(st *state) map[string]*Alert {
	m := make(map[string]*Alert, len(st.Alerts))
	for i := range st.Alerts {
		m[st.Alerts[i].ID] = &st.Alerts[i]
	}
	return m
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// isDown reports whether sink failed and is still to be left alone.
func (o *Outbox) isDown(sink string, now time.Time) bool {
	o.dmu.Lock()
	defer o.dmu.Unlock()
	d, ok := o.down[sink]
	return ok && (o.Reprobe <= 0 || now.Before(d.until))
}

func (o *Outbox) markDown(sink string, now time.Time) {
	o.dmu.Lock()
	defer o.dmu.Unlock()
	d := o.down[sink]
	d.failures++
	d.until = now.Add(o.Reprobe << min(d.failures-1, 4))
	o.down[sink] = d
}

func (o *Outbox) markUp(sink string) {
	o.dmu.Lock()
	defer o.dmu.Unlock()
	delete(o.down, sink)
}

// job is one owed alert handed to a sink.
type job struct {
	seq   int64
	since time.Time
	alert Alert
}

// Deliver sends every alert owed to every configured sink (or the sinks of
// Only), oldest first, each sink in parallel and in chunks of Chunk alerts,
// and records after each chunk what the sink took. Before sending it drops
// the deliveries that are not to be made any more (the sink was removed, the
// alert was acked, suppressed or pruned, the sink's min-severity or
// send-updates changed) and gives up those owed longer than the sink's
// give-up-after; the report counts both. A sink that fails is left alone
// for the rest of the run (see Reprobe): its remaining alerts stay owed.
//
// Deliveries are serialised across processes by DATA/alerts/deliver.lock,
// so two runs never send the same owed alert at once. The error is about
// the alert state (lock, read, write); sink failures are in the report.
func (o *Outbox) Deliver(ctx context.Context) (*DeliveryReport, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	unlock, err := o.lockDeliveries()
	if err != nil {
		return nil, err
	}
	defer unlock()

	rep := &DeliveryReport{}
	bySink := map[string]*SinkDelivery{}
	if o.disp != nil {
		for _, r := range o.disp.routes {
			rep.Sinks = append(rep.Sinks, SinkDelivery{Sink: r.sink.Name(), Type: r.typ, Target: r.target, Configured: true})
		}
		for i := range rep.Sinks {
			bySink[rep.Sinks[i].Sink+"\x00"+rep.Sinks[i].Type] = &rep.Sinks[i]
		}
	}
	var removed []SinkDelivery
	only := map[string]bool{}
	for _, s := range o.Only {
		only[s] = true
	}
	work := map[*route][]job{}
	err = o.store.update(func(st *state) error {
		clear(work)
		removed = removed[:0]
		for i := range rep.Sinks {
			s := &rep.Sinks[i]
			s.Owed, s.GaveUp, s.Dropped, s.OldestGivenUp, s.drops = 0, 0, 0, time.Time{}, nil
		}
		now := o.now()
		byID := alertIndex(st)
		kept := make([]Delivery, 0, len(st.Deliveries))
		for _, d := range st.Deliveries {
			r := o.route(d.Sink, d.Type)
			a := byID[d.Alert]
			why, gaveUp := dropReason(&d, r, a, now)
			if r == nil {
				k := slices.IndexFunc(removed, func(s SinkDelivery) bool { return s.Sink == d.Sink && s.Type == d.Type })
				if k < 0 {
					removed = append(removed, SinkDelivery{Sink: d.Sink, Type: d.Type})
					k = len(removed) - 1
				}
				removed[k].Dropped++
				continue
			}
			s := bySink[d.Sink+"\x00"+d.Type]
			switch {
			case gaveUp:
				s.GaveUp++
				if s.OldestGivenUp.IsZero() || d.Since.Before(s.OldestGivenUp) {
					s.OldestGivenUp = d.Since
				}
				continue
			case why != "":
				s.Dropped++
				if s.drops == nil {
					s.drops = map[string]int{}
				}
				s.drops[why]++
				continue
			}
			kept = append(kept, d)
			if len(only) > 0 && !only[d.Sink] {
				continue
			}
			if o.isDown(d.Sink, now) {
				s.Owed++
				s.Down = true
				continue
			}
			work[r] = append(work[r], job{seq: d.Seq, since: d.Since, alert: cloneAlert(a)})
		}
		if len(kept) == len(st.Deliveries) {
			return errNoChange
		}
		st.Deliveries = kept
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, err
	}

	var wg sync.WaitGroup
	var errMu sync.Mutex
	var stateErr error
	for r, jobs := range work {
		s := bySink[r.sink.Name()+"\x00"+r.typ]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.deliverTo(ctx, r, jobs, s); err != nil {
				errMu.Lock()
				stateErr = errors.Join(stateErr, err)
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Only now: bySink points into rep.Sinks, which the append may move.
	rep.Sinks = append(rep.Sinks, removed...)
	return rep, stateErr
}

// deliverTo sends one sink its owed alerts, oldest first, chunk by chunk,
// recording each chunk's outcome before the next; it stops at the first
// failure that other alerts would meet too.
func (o *Outbox) deliverTo(ctx context.Context, r *route, jobs []job, s *SinkDelivery) error {
	// Oldest first is by when the sink was first owed, then in the order
	// owed (the state keeps it), so a delivery whose alert changed since (a
	// new Seq) keeps its place.
	slices.SortStableFunc(jobs, func(a, b job) int { return a.since.Compare(b.since) })
	chunk := o.Chunk
	if chunk <= 0 {
		chunk = 100
	}
	start := time.Now()
	defer func() { s.Elapsed = time.Since(start) }()
	for i := 0; i < len(jobs); i += chunk {
		part := jobs[i:min(i+chunk, len(jobs))]
		if ctx.Err() != nil {
			s.Owed += len(jobs) - i
			s.Err = ctx.Err()
			return nil
		}
		alerts := make([]Alert, len(part))
		for k := range part {
			alerts[k] = part[k].alert
		}
		err := safeSend(ctx, r.sink, alerts)
		failed := map[int]error{}
		down := false
		if err != nil {
			var pe *PartialError
			if errors.As(err, &pe) {
				failed, down = pe.Failed, pe.Down
			} else {
				for k := range part {
					failed[k] = err
				}
				down = true
			}
		}
		if o.afterSend != nil {
			o.afterSend(r.sink.Name(), alerts)
		}
		done := make([]int64, 0, len(part))
		tried := map[int64]string{}
		for k := range part {
			ferr, bad := failed[k]
			switch {
			case !bad:
				done = append(done, part[k].seq)
			case !errors.Is(ferr, ErrNotTried):
				tried[part[k].seq] = shorten(ferr.Error(), maxErrorText)
			}
		}
		if serr := o.store.settle(done, tried, o.now()); serr != nil {
			// What the sink took is not recorded: it stays owed, and is
			// sent again by the next run (at least once).
			s.Owed += len(jobs) - i
			s.Err = serr
			return fmt.Errorf("record deliveries to sink %s: %w", r.sink.Name(), serr)
		}
		s.Delivered += len(done)
		s.Owed += len(failed)
		if err != nil {
			s.Err = err
		}
		if down {
			s.Owed += len(jobs) - (i + len(part))
			s.Down = true
			o.markDown(r.sink.Name(), o.now())
			return nil
		}
	}
	if s.Owed == 0 {
		o.markUp(r.sink.Name())
	}
	return nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// settle records a chunk's outcome: deliveries done are removed (only when
// their Seq is still the one sent: an alert changed since is owed again),
// failed ones count an attempt with their error.
func (s *Store) settle(done []int64, failed map[int64]string, now time.Time) error {
	if len(done) == 0 && len(failed) == 0 {
		return nil
	}
	ok := make(map[int64]bool, len(done))
	for _, q := range done {
		ok[q] = true
	}
	now = now.UTC().Truncate(time.Second)
	err := s.update(func(st *state) error {
		out := make([]Delivery, 0, len(st.Deliveries))
		for _, d := range st.Deliveries {
			if ok[d.Seq] {
				continue
			}
			if msg, bad := failed[d.Seq]; bad {
				d.Attempts++
				d.LastTry, d.Error = now, msg
			}
			out = append(out, d)
		}
		st.Deliveries = out
		return nil
	})
	return err
}

// lockDeliveries takes DATA/alerts/deliver.lock for the length of a Deliver.
func (o *Outbox) lockDeliveries() (func(), error) {
	path := filepath.Join(o.store.dir, "deliver.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open alert delivery lock: %w", err)
	}
	if err := lockFile(f, true); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = unlockFile(f)
		f.Close()
	}, nil
}
