package vrrp

import (
	"testing"
	"time"
)

func TestTimerFormulas(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		version  uint8
		prio     uint8
		interval time.Duration
		skew     time.Duration
		down     time.Duration
	}{
		// The table in perf-reliability-security.md §1a (priority 100).
		{"v3 1s", 3, 100, time.Second, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"v3 100ms", 3, 100, 100 * ms, 60937500, 360937500},
		{"v3 10ms", 3, 100, 10 * ms, 6093750, 36093750},
		{"v2 1s", 2, 100, time.Second, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		// keepalived 1.2.24 changelog: priority 1, 10 s must give 9.96 s, not 4288 s.
		{"v3 prio 1 10s", 3, 1, 10 * time.Second, 9960937500, 39960937500},
		// v2 skew does not scale with the interval (RFC 3768 §6.1).
		{"v2 prio 1 10s", 2, 1, 10 * time.Second, 996093750, 30996093750},
		{"v2 prio 1 255s", 2, 1, 255 * time.Second, 996093750, 765996093750},
		// The largest v3 product: 255 × 40.95 s.
		{"v3 prio 1 40.95s", 3, 1, 40950 * ms, 40790039062, 163640039062},
		{"v3 owner 1s", 3, 255, time.Second, 3906250, 3003906250},
		{"v3 prio 0", 3, 0, time.Second, time.Second, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SkewTime(tc.version, tc.prio, tc.interval); got != tc.skew {
				t.Errorf("SkewTime = %s (%d ns), want %s", got, int64(got), tc.skew)
			}
			if got := MasterDownInterval(tc.version, tc.prio, tc.interval); got != tc.down {
				t.Errorf("MasterDownInterval = %s (%d ns), want %s", got, int64(got), tc.down)
			}
		})
	}
}

// TestTimerFormulaBounds sweeps every v3 priority and interval: the skew is
// never negative, never reaches the interval, falls as priority rises, and
// the down interval stays within (3, 4) intervals. An overflow anywhere
// would break one of these.
func TestTimerFormulaBounds(t *testing.T) {
	for cs := uint16(1); cs <= 4095; cs++ {
		iv := IntervalFromWire(3, cs)
		prev := time.Duration(1 << 62)
		for p := 1; p <= 255; p++ {
			skew := SkewTime(3, uint8(p), iv)
			down := MasterDownInterval(3, uint8(p), iv)
			if skew < 0 || skew >= iv || skew > prev || down <= 3*iv || down >= 4*iv {
				t.Fatalf("interval %s prio %d: skew %s (prev %s), down %s", iv, p, skew, prev, down)
			}
			prev = skew
		}
	}
}
