package main

import (
	"strings"
	"testing"
	"time"
)

func TestSpinner(t *testing.T) {
	t.Run("quick work shows nothing", func(t *testing.T) {
		var w syncBuffer
		stop := startSpinner(&w, "querying", time.Hour)
		stop()
		stop() // a second stop is harmless
		if w.String() != "" {
			t.Errorf("wrote %q", w.String())
		}
	})
	t.Run("slow work shows the spinner, then clears it", func(t *testing.T) {
		var w syncBuffer
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
