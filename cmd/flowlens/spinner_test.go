package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that the spinner's goroutine and the test
// can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSpinner(t *testing.T) {
	t.Run("quick work shows nothing", func(t *testing.T) {
		var w lockedBuffer
		stop := startSpinner(&w, "querying", time.Hour)
		stop()
		stop() // a second stop is harmless
		if w.String() != "" {
			t.Errorf("wrote %q", w.String())
		}
	})
	t.Run("slow work shows the spinner, then clears it", func(t *testing.T) {
		var w lockedBuffer
		stop := startSpinner(&w, "querying", 0)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(w.String(), "querying") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		out := w.String()
		if !strings.Contains(out, "querying") || !strings.Contains(out, "[0s]") {
			t.Fatalf("spinner output %q lacks the description and the time spent", out)
		}
		// The last thing written blanks the line, so the result starts clean.
		last := out[strings.LastIndex(out, "\r")+1:]
		if strings.TrimSpace(last) != "" {
			t.Errorf("the line is left with %q", last)
		}
	})
}
