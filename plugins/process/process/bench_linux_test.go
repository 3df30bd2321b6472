package process

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

type stamped struct {
	r  sdk.Result
	at time.Time
}

// BenchmarkDetection measures, per iteration, the time from starting a
// uniquely named child to the ok report (birth) and from SIGKILL to the
// fail report (death), and reports percentiles. Run with a fixed count:
//
//	go test -run '^$' -bench Detection -benchtime 300x ./plugins/process/process
func BenchmarkDetection(b *testing.B) {
	for _, mode := range watchModes {
		b.Run(mode.name, func(b *testing.B) {
			path, name := sleepCopy(b, b.TempDir())
			raw, _ := json.Marshal(map[string]any{"name": name, "use_connector": mode.useConnector})
			p := New()
			if err := p.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
				b.Fatal(err)
			}
			ch := make(chan stamped, 64)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- p.Watch(ctx, func(r sdk.Result) { ch <- stamped{r, time.Now()} })
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Errorf("Watch: %v", err)
				}
			}()
			next := func(status sdk.Status) stamped {
				timer := time.NewTimer(reportWait)
				defer timer.Stop()
				for {
					select {
					case s := <-ch:
						if s.r.Status == status {
							return s
						}
					case <-timer.C:
						b.Fatalf("no %v report within %s", status, reportWait)
					}
				}
			}
			next(sdk.StatusFail) // initial: nothing running

			births := make([]time.Duration, 0, b.N)
			deaths := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				c := start(b, path, "1000")
				births = append(births, next(sdk.StatusOK).at.Sub(t0))
				t1 := time.Now()
				_ = c.cmd.Process.Kill()
				deaths = append(deaths, next(sdk.StatusFail).at.Sub(t1))
				c.kill() // reap
			}
			b.StopTimer()
			report(b, "death", deaths)
			report(b, "birth", births)
		})
	}
}

func report(b *testing.B, what string, d []time.Duration) {
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), what+"-p50-µs")
	b.ReportMetric(pct(0.99), what+"-p99-µs")
	b.ReportMetric(float64(d[len(d)-1].Microseconds()), what+"-max-µs")
}
