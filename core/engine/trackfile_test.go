package engine

import (
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/config"
)

// The startup delay is the longer of startup_delay and what is left of
// delay_after_boot (keepalived's rule).
func TestStartupDelay(t *testing.T) {
	for _, tc := range []struct {
		startup, afterBoot, uptime, want time.Duration
	}{
		{0, 0, time.Hour, 0},
		{5 * time.Second, 0, time.Hour, 5 * time.Second},
		{0, time.Minute, 20 * time.Second, 40 * time.Second},
		{0, time.Minute, 2 * time.Minute, 0},
		{50 * time.Second, time.Minute, 20 * time.Second, 50 * time.Second},
		{10 * time.Second, time.Minute, 20 * time.Second, 40 * time.Second},
	} {
		got := startupDelay(config.Node{StartupDelay: tc.startup, DelayAfterBoot: tc.afterBoot}, tc.uptime)
		if got != tc.want {
			t.Errorf("startup %s, after boot %s, uptime %s: %s, want %s", tc.startup, tc.afterBoot, tc.uptime, got, tc.want)
		}
	}
	if up, err := bootUptime(); err != nil || up <= 0 {
		t.Errorf("bootUptime: %s, %v", up, err)
	}
}

// The lower-priority announcement keeps the instance's schedule but its
// own burst and delay; repeat 0 asks for none at all (the router never
// asks), so the schedule itself stays valid.
func TestLowerPrioPolicy(t *testing.T) {
	ic := &config.Instance{GARP: config.GARP{Repeat: 5, Interval: 10 * time.Millisecond, Delay: 5 * time.Second,
		Refresh: time.Minute, LowerPrioRepeat: 2, LowerPrioDelay: time.Second}}
	p := lowerPrioPolicy(ic)
	if p.Repeat != 2 || p.Delay != time.Second || p.Interval != 10*time.Millisecond || p.Refresh != time.Minute {
		t.Errorf("policy %+v", p)
	}
	ic.GARP.LowerPrioRepeat = 0
	if p := lowerPrioPolicy(ic); p.Repeat != 1 {
		t.Errorf("repeat 0 gave %+v", p)
	}
	if err := lowerPrioPolicy(ic).Validate(); err != nil {
		t.Errorf("invalid: %v", err)
	}
}
