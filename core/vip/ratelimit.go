package vip

import (
	"fmt"
	"math"
	"time"
)

// RateLimit caps the announcement packets one Manager (one interface) sends:
// a token bucket refilled at PerSecond packets per second holding at most
// Burst packets. A packet that finds the bucket empty waits for its token
// rather than being dropped, so every address still gets announced; a flood
// of takeovers (a flapping instance, a fight over an address) is spread out
// instead of hitting the segment at once.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultRateLimit is 1000 packets per second with a burst of 256. A
// takeover of an instance with ten IPv4 VIPs is 20 packets per send
// (request + reply), so keepalived's default 5 back-to-back sends (100
// packets) go out at once, and 255 instances taking over together (1,275
// packets) within about a second, where keepalived sends them unthrottled;
// 1000 small frames a second is still far below what switches or hosts
// notice. (At 100 per second, 100 instances' announcements took ten
// seconds.)
var DefaultRateLimit = RateLimit{PerSecond: 1000, Burst: 256}

// Validate reports whether the limit can let a packet through.
func (r RateLimit) Validate() error {
	if !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 0) || r.Burst < 1 {
		return fmt.Errorf("vip: invalid rate limit %g/s burst %d: need a finite rate > 0 and burst >= 1", r.PerSecond, r.Burst)
	}
	return nil
}

// tokenBucket is the pure state of a RateLimit; the caller passes the time and
// guards it with its own lock.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(r RateLimit, now time.Time) *tokenBucket {
	return &tokenBucket{rate: r.PerSecond, burst: float64(r.Burst), tokens: float64(r.Burst), last: now}
}

// reserve hands out the next token: it consumes one, borrowing ahead when
// the bucket is empty, and returns how long the caller waits before its
// packet may go (0: at once). Each waiter is told its own turn, in the order
// they asked, so a queue of announcers (255 instances taking over at once)
// each sleeps once, instead of all of them waking at every refill to race
// for the one new token with a fresh timer each. A caller that gives its
// turn up calls unreserve.
func (b *tokenBucket) reserve(now time.Time) time.Duration {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	wait := time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
	if wait <= 0 {
		wait = 1 // never report "no wait" for a borrowed token
	}
	return wait
}

// unreserve gives back a token whose turn was not used (its announcer was
// stopped while waiting), so the queue behind does not pay for it.
func (b *tokenBucket) unreserve() {
	b.tokens = math.Min(b.burst, b.tokens+1)
}
