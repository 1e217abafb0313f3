package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

// BenchmarkOutboxRedeliver measures one Deliver of 1,000 alerts owed to a
// live webhook on loopback (httptest, one request per alert), with the
// outcome recorded every chunk alerts (at most a chunk is sent twice after
// a crash); it reports the state file's size with the 1,000 deliveries owed
// and after they were delivered.
func BenchmarkOutboxRedeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	cfg := SinkConfig{Name: "soc", Type: SinkWebhook, URL: srv.URL + "/hook"}
	for _, chunk := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			var owedSize, afterSize int64
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				s, err := OpenStore(dir)
				if err != nil {
					b.Fatal(err)
				}
				d, err := NewDispatcher(context.Background(), []SinkConfig{cfg}, Env{})
				if err != nil {
					b.Fatal(err)
				}
				o := NewOutbox(s, d)
				o.Chunk = chunk
				if _, _, err := o.Record(scans(1000)); err != nil {
					b.Fatal(err)
				}
				owedSize = fileSize(b, s.statePath())
				b.StartTimer()
				rep, err := o.Deliver(context.Background())
				if err != nil || rep.Sinks[0].Delivered != 1000 {
					b.Fatalf("delivered %+v, %v", rep.Sinks[0], err)
				}
				afterSize = fileSize(b, s.statePath())
			}
			b.ReportMetric(float64(owedSize), "state-bytes-owed")
			b.ReportMetric(float64(afterSize), "state-bytes-delivered")
		})
	}
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
