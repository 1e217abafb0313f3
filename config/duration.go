package config

import (
	"strconv"
	"time"
)

// FormatDuration writes d the short way ParseDuration reads: whole days as
// 1d, whole hours as 6h, whole minutes as 10m, anything else as
// time.Duration.String does (1h0m0s never appears).
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}
