package engine

import "time"

// rateLimiter allows one log line per key per period (RFC 9568 §7.1: error
// logs are rate limited, so a packet flood cannot flood the log). It is used
// only from the loop goroutine.
type rateLimiter struct {
	period time.Duration
	last   map[string]time.Time
	now    func() time.Time
}

func newRateLimiter(period time.Duration) *rateLimiter {
	return &rateLimiter{period: period, last: map[string]time.Time{}, now: time.Now}
}

func (r *rateLimiter) allow(key string) bool {
	now := r.now()
	if t, ok := r.last[key]; ok && now.Sub(t) < r.period {
		return false
	}
	if len(r.last) > 4096 {
		clear(r.last)
	}
	r.last[key] = now
	return true
}
