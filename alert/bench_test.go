package alert

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkStoreUpsert measures one firing recorded into a store that already
// holds n alerts: the cost is dominated by rewriting state.json with fsync.
func BenchmarkStoreUpsert(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			s, err := OpenStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			seed := make([]Alert, n)
			for i := range seed {
				seed[i] = fire("scan", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "", 0, time.Minute, map[string]any{"ports": i})
			}
			if _, _, err := s.Upsert(seed); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				a := fire("scan", "10.0.0.1", "", time.Duration(i)*time.Second, time.Duration(i+1)*time.Second, nil)
				if _, _, err := s.Upsert([]Alert{a}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAlertMarshal(b *testing.B) {
	a := testAlerts()[0]
	b.ReportAllocs()
	for range b.N {
		if _, err := json.Marshal(a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSyslogMessage(b *testing.B) {
	a := testAlerts()[0]
	now := time.Now()
	b.ReportAllocs()
	for range b.N {
		SyslogMessage(&a, 16, "host", now)
	}
}
