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
		d.routes = append(d.routes, route{sink: s, typ: c.Type, target: c.Target(), min: c.MinSeverity, sendUpdates: c.SendUpdates})
	}
	return d, nil
}

// Add routes alerts at least min severe to s; with sendUpdates, updated
// alerts go to it too.
func (d *Dispatcher) Add(s Sink, min Severity, sendUpdates bool) {
	d.routes = append(d.routes, route{sink: s, typ: "custom", target: s.Name(), min: min, sendUpdates: sendUpdates})
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
