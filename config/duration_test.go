package config

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "1d", 48 * time.Hour: "2d", 25 * time.Hour: "25h", 6 * time.Hour: "6h",
		10 * time.Minute: "10m", 90 * time.Minute: "90m", 90 * time.Second: "1m30s", 0: "0s", 500 * time.Millisecond: "500ms",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %s, want %s", d, got, want)
		}
		if d >= time.Minute && d%time.Minute == 0 {
			if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
				t.Errorf("ParseDuration(%s) = %v, %v, want %v", FormatDuration(d), back, err, d)
			}
		}
	}
}
