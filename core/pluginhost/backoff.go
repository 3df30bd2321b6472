package pluginhost

import "time"

// Backoff is the restart delay policy: Min doubling up to Max; a plugin that
// ran for ResetAfter since its last start is healthy again and its next
// restart waits Min.
type Backoff struct {
	Min        time.Duration
	Max        time.Duration
	ResetAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = 30 * time.Second
	}
	return b
}

// backoffState tracks one supervised plugin's restart delays.
type backoffState struct {
	policy Backoff
	next   time.Duration
}

func newBackoffState(p Backoff) *backoffState {
	p = p.withDefaults()
	return &backoffState{policy: p, next: p.Min}
}

// delay returns how long to wait before the next start attempt, given how
// long the last successful start stayed up (zero if the start failed).
func (s *backoffState) delay(upFor time.Duration) time.Duration {
	if upFor >= s.policy.ResetAfter {
		s.next = s.policy.Min
	}
	d := s.next
	s.next *= 2
	if s.next > s.policy.Max {
		s.next = s.policy.Max
	}
	return d
}
