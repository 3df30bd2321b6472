package vip

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestScheduleAt(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want []time.Duration // offsets of the first len(want) sends
		more bool            // whether a send follows them
	}{
		{
			name: "keepalived default: 5 back to back, 5 more after 5s",
			p:    DefaultPolicy(),
			want: []time.Duration{0, 0, 0, 0, 0, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name: "spaced burst, no second burst",
			p:    Policy{Repeat: 3, Interval: ms(100)},
			want: []time.Duration{0, ms(100), ms(200)},
		},
		{
			name: "spaced bursts",
			p:    Policy{Repeat: 3, Interval: ms(100), Delay: time.Second},
			want: []time.Duration{0, ms(100), ms(200), ms(1000), ms(1100), ms(1200)},
		},
		{
			name: "refresh counted from the second burst",
			p:    Policy{Repeat: 2, Interval: ms(100), Delay: time.Second, Refresh: 10 * time.Second},
			want: []time.Duration{0, ms(100), ms(1000), ms(1100), ms(11000), ms(21000), ms(31000)},
			more: true,
		},
		{
			name: "refresh rounds of two",
			p:    Policy{Repeat: 1, Interval: ms(500), Refresh: 3 * time.Second, RefreshRepeat: 2},
			want: []time.Duration{0, ms(3000), ms(3500), ms(6000), ms(6500)},
			more: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("policy invalid: %v", err)
			}
			s := schedule{p: tt.p, start: t0}
			for n, off := range tt.want {
				got, ok := s.at(n)
				if !ok || !got.Equal(t0.Add(off)) {
					t.Errorf("at(%d) = %v, %v; want +%v", n, got.Sub(t0), ok, off)
				}
			}
			if _, ok := s.at(len(tt.want)); ok != tt.more {
				t.Errorf("at(%d) present = %v, want %v", len(tt.want), ok, tt.more)
			}
			if _, ok := s.at(-1); ok {
				t.Error("at(-1) present")
			}
		})
	}
}

func TestScheduleSkipMissed(t *testing.T) {
	p := Policy{Repeat: 2, Interval: ms(100), Delay: time.Second, Refresh: 10 * time.Second, RefreshRepeat: 2}
	s := schedule{p: p, start: t0}
	// bursts: n 0..3; refresh round k (k>=1) is n = 4+2(k-1) at +1s+10s*k.
	tests := []struct {
		name string
		n    int
		now  time.Duration
		want int
	}{
		{"late burst is still sent", 0, time.Hour, 0},
		{"late second burst is still sent", 3, time.Hour, 3},
		{"refresh on time", 4, ms(11000), 4},
		{"refresh slightly late", 4, ms(20999), 4},
		{"second send of a round on time", 5, ms(11100), 5},
		{"refresh overtaken by the next round", 4, ms(21000), 6},
		{"an hour asleep: only the latest round", 4, time.Hour + ms(500), 4 + 2*(359-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.skipMissed(tt.n, t0.Add(tt.now))
			if got != tt.want {
				t.Fatalf("skipMissed(%d, +%v) = %d, want %d", tt.n, tt.now, got, tt.want)
			}
			if at, _ := s.at(got); at.After(t0.Add(tt.now)) {
				t.Fatalf("skipped to send %d at +%v, which is not due yet", got, at.Sub(t0))
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"default", DefaultPolicy(), true},
		{"single packet", Policy{Repeat: 1}, true},
		{"refresh", Policy{Repeat: 3, Interval: ms(100), Refresh: time.Minute}, true},
		{"zero repeat", Policy{}, false},
		{"too many", Policy{Repeat: MaxRepeat + 1}, false},
		{"negative interval", Policy{Repeat: 1, Interval: -1}, false},
		{"negative delay", Policy{Repeat: 1, Delay: -1}, false},
		{"negative refresh", Policy{Repeat: 1, Refresh: -1}, false},
		{"negative refresh repeat", Policy{Repeat: 1, RefreshRepeat: -1, Refresh: time.Minute}, false},
		{"second burst overlaps first", Policy{Repeat: 5, Interval: time.Second, Delay: 4 * time.Second}, false},
		{"second burst right after first", Policy{Repeat: 5, Interval: time.Second, Delay: 4*time.Second + 1}, true},
		{"refresh too fast", Policy{Repeat: 1, Refresh: ms(999)}, false},
		{"refresh overlaps burst", Policy{Repeat: 5, Interval: time.Second, Refresh: 4 * time.Second}, false},
		{"refresh round overlaps next", Policy{Repeat: 1, Interval: time.Second, Refresh: 2 * time.Second, RefreshRepeat: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
		})
	}
}

func TestTokenBucket(t *testing.T) {
	b := newTokenBucket(RateLimit{PerSecond: 10, Burst: 3}, t0)
	steps := []struct {
		at        time.Duration
		wait      time.Duration // 0 = token granted at once
		unreserve bool          // give the turn back after reserving it
	}{
		{0, 0, false}, {0, 0, false}, {0, 0, false}, // the burst
		{0, ms(100), false},                                                 // empty: the next token is this caller's, in 100 ms
		{0, ms(200), false},                                                 // queued behind it: the one after
		{ms(50), ms(250), true},                                             // 0.5 refilled, two turns owed: at 300 ms; given back
		{ms(50), ms(250), false},                                            // the same turn again
		{ms(300), ms(100), false},                                           // the 300 ms turn is taken: the next, at 400 ms
		{ms(500), 0, false},                                                 // every turn owed has come: a token at once
		{ms(10000), 0, false}, {ms(10000), 0, false}, {ms(10000), 0, false}, // refill is capped at the burst
		{ms(10000), ms(100), false},
	}
	for i, s := range steps {
		if got := b.reserve(t0.Add(s.at)); got != s.wait {
			t.Fatalf("step %d at +%v: reserve = %v, want %v", i, s.at, got, s.wait)
		}
		if s.unreserve {
			b.unreserve()
		}
	}
}

func TestRateLimitValidate(t *testing.T) {
	for _, r := range []RateLimit{{}, {PerSecond: 1}, {Burst: 1}, {PerSecond: -1, Burst: 1}} {
		if r.Validate() == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if err := DefaultRateLimit.Validate(); err != nil {
		t.Errorf("default rejected: %v", err)
	}
}
