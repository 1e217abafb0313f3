package main

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// spinnerDelay is how long work runs before a spinner appears: quick
// answers print without one flashing by.
const spinnerDelay = 700 * time.Millisecond

// startSpinner shows on w, once after has passed, a spinner with desc and
// the time spent, for work whose progress cannot be measured (a query inside
// the engine). stop removes it; it must be called once the work ends.
func startSpinner(w io.Writer, desc string, after time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
			return
		case <-time.After(after):
		}
		bar := progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
		)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			_ = bar.Add(1)
			select {
			case <-done:
				_ = bar.Finish()
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
