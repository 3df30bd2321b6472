package vip

import (
	"fmt"
	"time"
)

// Policy is how an owner's addresses are announced after a takeover: the
// instance's garp {} block. One "send" announces every address of the owner
// once: a GARP request and a GARP reply per IPv4 address, one unsolicited
// neighbour advertisement per IPv6 address.
//
// The schedule is: Repeat sends Interval apart at once; if Delay is set, a
// second burst of Repeat sends starting Delay after the first; if Refresh is
// set, RefreshRepeat sends Interval apart every Refresh after the last burst
// started, for as long as the owner holds the addresses.
type Policy struct {
	Repeat        int           // sends per burst, 1..MaxRepeat
	Interval      time.Duration // gap between sends of one burst; 0 sends them back to back
	Delay         time.Duration // start of the second burst after the first; 0 = no second burst
	Refresh       time.Duration // period of the refresh rounds; 0 = no refresh
	RefreshRepeat int           // sends per refresh round; 0 means 1
}

// Bounds of a Policy. They keep a typo in the configuration from flooding the
// segment; the per-interface rate limit is the second line of defence.
const (
	MaxRepeat  = 100
	MinRefresh = time.Second
)

// DefaultPolicy matches keepalived's defaults (vrrp_garp_master_repeat 5,
// vrrp_garp_master_delay 5, vrrp_garp_interval 0, no refresh), so a site that
// migrates sees the same packets on the wire.
func DefaultPolicy() Policy {
	return Policy{Repeat: 5, Delay: 5 * time.Second}
}

// Validate reports whether the policy describes a schedule whose sends come
// in order: the second burst starts after the first has ended and a refresh
// round never overlaps the burst or round before it.
func (p Policy) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidPolicy, fmt.Sprintf(format, a...))
	}
	switch {
	case p.Repeat < 1 || p.Repeat > MaxRepeat:
		return bad("repeat %d out of range 1..%d", p.Repeat, MaxRepeat)
	case p.Interval < 0:
		return bad("negative interval %s", p.Interval)
	case p.Delay < 0:
		return bad("negative delay %s", p.Delay)
	case p.Refresh < 0:
		return bad("negative refresh %s", p.Refresh)
	case p.RefreshRepeat < 0 || p.RefreshRepeat > MaxRepeat:
		return bad("refresh repeat %d out of range 0..%d", p.RefreshRepeat, MaxRepeat)
	}
	burst := time.Duration(p.Repeat-1) * p.Interval
	if p.Delay > 0 && p.Delay <= burst {
		return bad("delay %s must be longer than the first burst (%s)", p.Delay, burst)
	}
	if p.Refresh > 0 {
		if p.Refresh < MinRefresh {
			return bad("refresh %s shorter than %s", p.Refresh, MinRefresh)
		}
		round := time.Duration(p.refreshRepeat()-1) * p.Interval
		if p.Refresh <= burst || p.Refresh <= round {
			return bad("refresh %s must be longer than a burst (%s) and a round (%s)", p.Refresh, burst, round)
		}
	}
	return nil
}

func (p Policy) refreshRepeat() int {
	if p.RefreshRepeat == 0 {
		return 1
	}
	return p.RefreshRepeat
}
