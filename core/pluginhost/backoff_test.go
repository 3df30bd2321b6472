package pluginhost

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	b := newBackoffState(Backoff{})
	steps := []struct {
		upFor time.Duration
		want  time.Duration
	}{
		{0, 100 * ms},
		{0, 200 * ms},
		{time.Second, 400 * ms}, // short run: keep doubling
		{0, 800 * ms},
		{0, 1600 * ms},
		{0, 3200 * ms},
		{0, 6400 * ms},
		{0, 10 * time.Second}, // capped
		{0, 10 * time.Second},
		{31 * time.Second, 100 * ms}, // healthy period: reset
		{0, 200 * ms},
	}
	for i, s := range steps {
		if got := b.delay(s.upFor); got != s.want {
			t.Errorf("step %d (up %v): delay %v, want %v", i, s.upFor, got, s.want)
		}
	}
}
