package vip

import "time"

// schedule turns a Policy and the moment of a takeover into send times. It is
// a pure value: the announcer asks it for the n-th send and sleeps on its own
// clock, so the timing is tested without sleeping.
type schedule struct {
	p     Policy // validated
	start time.Time
}

// bursts is the number of sends before the refresh phase.
func (s schedule) bursts() int {
	if s.p.Delay > 0 {
		return 2 * s.p.Repeat
	}
	return s.p.Repeat
}

// refreshBase is what refresh rounds are counted from: the start of the last
// burst.
func (s schedule) refreshBase() time.Time {
	return s.start.Add(s.p.Delay)
}

// at returns the time of the n-th send (0-based) and false when the schedule
// has no n-th send. Times never decrease with n for a validated policy.
func (s schedule) at(n int) (time.Time, bool) {
	r := s.p.Repeat
	switch {
	case n < 0:
		return time.Time{}, false
	case n < r:
		return s.start.Add(time.Duration(n) * s.p.Interval), true
	case n < s.bursts():
		return s.start.Add(s.p.Delay + time.Duration(n-r)*s.p.Interval), true
	case s.p.Refresh == 0:
		return time.Time{}, false
	}
	m := n - s.bursts()
	rr := s.p.refreshRepeat()
	round, j := m/rr+1, m%rr
	return s.refreshBase().Add(time.Duration(round)*s.p.Refresh + time.Duration(j)*s.p.Interval), true
}

// skipMissed returns the send to do next when send n is due at now. Bursts
// are sent even when late (they are few and they are what moves the
// neighbours), but refresh rounds overtaken by a later round that is already
// due are dropped, so a process that was stopped for an hour sends one round
// on waking and not a backlog of them.
func (s schedule) skipMissed(n int, now time.Time) int {
	if n < s.bursts() || s.p.Refresh == 0 {
		return n
	}
	rr := s.p.refreshRepeat()
	round := (n-s.bursts())/rr + 1
	latest := int(now.Sub(s.refreshBase()) / s.p.Refresh) // latest round already due
	if latest > round {
		return s.bursts() + (latest-1)*rr
	}
	return n
}
