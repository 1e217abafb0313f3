package alert

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// route is one sink and what it should get.
type route struct {
	sink        Sink
	typ         string
	target      string
	min         Severity
	sendUpdates bool
	giveUp      time.Duration
}

// Dispatcher sends alerts to every configured sink whose minimum severity
// they reach. Sinks run in parallel and fail independently: one failing or
// slow sink never stops the others.
type Dispatcher struct {
	routes []route
}

// Result is what one sink did with one dispatch.
type Result struct {
	// Sink is the sink's name, Type its type and Target where it delivers
	// (without secrets).
	Sink   string
	Type   string
	Target string
	// Sent is how many alerts the sink was given.
	Sent int
	// Err is the sink's error, nil when it delivered everything.
	Err error
	// Elapsed is how long the sink took.
	Elapsed time.Duration
}

// NewDispatcher builds a sink for each configuration. Names left empty get
// the type, and repeated names a suffix (#2, #3…), so every result is
// identifiable.
func NewDispatcher(ctx context.Context, cfgs []SinkConfig, env Env) (*Dispatcher, error) {
	d := &Dispatcher{}
	seen := map[string]int{}
	for _, c := range cfgs {
		label := c.Label()
		seen[label]++
		if n := seen[label]; n > 1 {
			c.Name = fmt.Sprintf("%s#%d", label, n)
		}
		s, err := NewSink(ctx, c, env)
		if err != nil {
			return nil, err
		}
		d.routes = append(d.routes, route{sink: s, typ: c.Type, target: c.Target(), min: c.MinSeverity, sendUpdates: c.SendUpdates, giveUp: c.giveUpAfter()})
	}
	return d, nil
}

// Add routes alerts at least min severe to s; with sendUpdates, updated
// alerts go to it too.
func (d *Dispatcher) Add(s Sink, min Severity, sendUpdates bool) {
	d.routes = append(d.routes, route{sink: s, typ: "custom", target: s.Name(), min: min, sendUpdates: sendUpdates, giveUp: DefaultGiveUpAfter})
}

// Len returns the number of sinks.
func (d *Dispatcher) Len() int { return len(d.routes) }

// Dispatch sends the open alerts of created, and of updated to sinks that
// want updates, to every sink whose minimum severity they reach. Acked and
// suppressed alerts are never sent. It returns one Result per sink, in
// configuration order, sinks that had nothing to send included (Sent 0);
// reporting failures is the caller's job (see Errors).
func (d *Dispatcher) Dispatch(ctx context.Context, created, updated []Alert) []Result {
	return d.run(ctx, func(r *route) []Alert {
		var out []Alert
		for _, list := range [][]Alert{created, updated} {
			for _, a := range list {
				if a.Status == StatusOpen && a.Severity.AtLeast(r.min) {
					out = append(out, a)
				}
			}
			if !r.sendUpdates {
				break
			}
		}
		return out
	})
}

// Test sends one clearly marked test alert (TestAlert) to every sink,
// whatever its minimum severity, and returns each sink's result.
func (d *Dispatcher) Test(ctx context.Context, now time.Time) []Result {
	a := TestAlert(now)
	return d.run(ctx, func(*route) []Alert { return []Alert{a} })
}

func (d *Dispatcher) run(ctx context.Context, pick func(*route) []Alert) []Result {
	results := make([]Result, len(d.routes))
	var wg sync.WaitGroup
	for i := range d.routes {
		r := &d.routes[i]
		alerts := pick(r)
		results[i] = Result{Sink: r.sink.Name(), Type: r.typ, Target: r.target, Sent: len(alerts)}
		if len(alerts) == 0 {
			continue
		}
		wg.Add(1)
		go func(res *Result) {
			defer wg.Done()
			start := time.Now()
			res.Err = safeSend(ctx, r.sink, alerts)
			res.Elapsed = time.Since(start)
		}(&results[i])
	}
	wg.Wait()
	return results
}

// safeSend turns a panicking sink into an error, so one bad sink cannot take
// the process down.
func safeSend(ctx context.Context, s Sink, alerts []Alert) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sink %s panicked: %v", s.Name(), p)
		}
	}()
	return s.Send(ctx, alerts)
}

// ErrNotTried marks, in a PartialError, the alerts a sink did not try to
// send because an earlier one had failed in a way the rest would meet too.
var ErrNotTried = errors.New("not tried: the sink failed on an earlier alert")

// PartialError is a sink's error when it sent some alerts of one Send and
// not others, so that the outbox records exactly what it owes.
type PartialError struct {
	// Failed maps the index (in the alerts given to Send) of every alert not
	// delivered to why; ErrNotTried for those not attempted.
	Failed map[int]error
	// Down is true when a failure would meet the following alerts too
	// (network, timeout, 5xx after retries), so the sink stopped there.
	Down bool
	err  error
}

// Error lists the failures.
func (e *PartialError) Error() string { return e.err.Error() }

// Unwrap returns the joined failures.
func (e *PartialError) Unwrap() error { return e.err }

// permanentError marks a failure that is about this alert only (an HTTP 4xx
// answer other than 408 and 429, an alert that cannot be encoded): the sink
// itself works, so it goes on with the next alert.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// sendEach delivers alerts one by one with send, for sinks that make one
// request per alert. After a failure that is not permanent it tries no more
// alerts (each would spend the same retries on the same dead sink) and
// returns a PartialError saying which were delivered.
func sendEach(ctx context.Context, alerts []Alert, send func(a *Alert) error) error {
	pe := &PartialError{Failed: map[int]error{}}
	var errs []error
	for i := range alerts {
		if pe.Down || ctx.Err() != nil {
			pe.Failed[i] = ErrNotTried
			continue
		}
		if err := send(&alerts[i]); err != nil {
			pe.Failed[i] = err
			errs = append(errs, fmt.Errorf("alert %s: %w", alerts[i].ID, err))
			if !isPermanent(err) {
				pe.Down = true
			}
		}
	}
	if len(pe.Failed) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if skipped := len(pe.Failed) - len(errs); skipped > 0 {
		err = fmt.Errorf("%w (%d more not tried after that failure)", err, skipped)
	}
	pe.err = fmt.Errorf("%d of %d alerts not delivered: %w", len(pe.Failed), len(alerts), err)
	return pe
}

// Errors joins the errors of results, each prefixed with its sink's name;
// nil when every sink succeeded.
func Errors(results []Result) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", r.Sink, r.Err))
		}
	}
	return errors.Join(errs...)
}

// TestAlert is the alert `flowlens alerts test-sinks` sends: rule
// flowlens-test, severity info, a title that says it is a test, and never stored.
func TestAlert(now time.Time) Alert {
	now = now.UTC().Truncate(time.Second)
	a := Alert{
		Rule:      "flowlens-test",
		Category:  "flow-log-health",
		Severity:  Info,
		Title:     "TEST ALERT from flowlens alerts test-sinks: delivery check, no action needed",
		FirstSeen: now,
		LastSeen:  now,
		Count:     1,
		Evidence:  map[string]any{"test": true},
		MITRE:     []string{},
		Status:    StatusOpen,
	}
	a.ID = NewID(a.Rule, "", "", now, time.Second)
	return a
}
