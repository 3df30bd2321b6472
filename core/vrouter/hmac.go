package vrouter

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
)

// HMACMode is how an instance uses auth_hmac (keepalived 2.4's modes, which
// make a migration possible one node at a time).
type HMACMode uint8

const (
	// HMACEnforce signs, and drops every advert without a valid trailer.
	HMACEnforce HMACMode = iota
	// HMACPermissive signs, and also accepts adverts without a trailer.
	HMACPermissive
	// HMACReceiveOnly does not sign, verifies trailers that are present and
	// accepts adverts without one.
	HMACReceiveOnly
)

func (m HMACMode) String() string {
	switch m {
	case HMACPermissive:
		return "permissive"
	case HMACReceiveOnly:
		return "receive-only"
	}
	return "enforce"
}

// HMAC is an instance's auth_hmac settings.
type HMAC struct {
	Keys      map[uint8][]byte
	ActiveKey uint8
	// Monotonic: sequences must only grow per sender, with no freshness
	// check; otherwise ("time") they must also lie within Window of our
	// clock.
	Monotonic bool
	Window    time.Duration
	Mode      HMACMode
}

// multicastSenders is how many senders a multicast instance remembers for
// anti-replay (keepalived keeps 4).
const multicastSenders = 4

// highWater is the last sequence accepted from one sender.
type highWater struct {
	src  netip.Addr
	seq  vrrp.Seq
	used time.Time // last accepted, for the LRU
}

// replayGuard keeps the high-water marks: one per configured unicast peer,
// or a small LRU table of multicast senders.
type replayGuard struct {
	marks []highWater
	fixed bool // unicast: never evicted
}

func (g *replayGuard) find(src netip.Addr) *highWater {
	for i := range g.marks {
		if g.marks[i].src == src {
			return &g.marks[i]
		}
	}
	return nil
}

// accept records seq from src as the new high-water mark.
func (g *replayGuard) accept(now time.Time, src netip.Addr, seq vrrp.Seq) {
	if m := g.find(src); m != nil {
		m.seq, m.used = seq, now
		return
	}
	if !g.fixed && len(g.marks) >= multicastSenders {
		oldest := slices.IndexFunc(g.marks, func(m highWater) bool {
			return !slices.ContainsFunc(g.marks, func(o highWater) bool { return o.used.Before(m.used) })
		})
		g.marks = slices.Delete(g.marks, oldest, oldest+1)
	}
	g.marks = append(g.marks, highWater{src: src, seq: seq, used: now})
}

// authenticate applies auth_hmac to an advert that passed every other
// check: the trailer must be there (enforce), name a configured key, carry
// the right MAC, be fresh (time mode) and come after the sender's last
// accepted sequence. A trailer on an instance without auth_hmac is refused
// as keepalived does (its exact-length check).
func (r *Router) authenticate(now time.Time, a *vrrp.Advert, rd *Ready) error {
	h, t := r.auth, a.Trailer
	switch {
	case h == nil && t == nil:
		return nil
	case h == nil:
		return fmt.Errorf("advert from %s carries an auth_hmac trailer but this instance has no auth_hmac: %w", a.Src, vrrp.ErrLength)
	case t == nil && h.Mode == HMACEnforce:
		return fmt.Errorf("advert from %s without auth_hmac trailer: %w", a.Src, vrrp.ErrHMACMissing)
	case t == nil:
		r.stats.Unsigned++
		return nil
	}
	key, ok := r.keys[t.KeyID]
	if !ok {
		return fmt.Errorf("advert from %s signed with key %d: %w", a.Src, t.KeyID, vrrp.ErrHMACUnknownKey)
	}
	if !a.VerifyHMACKey(key) {
		return fmt.Errorf("advert from %s, key %d: %w", a.Src, t.KeyID, vrrp.ErrHMAC)
	}
	src := a.Src.Unmap().WithZone("")
	mark := r.replay.find(src)
	if !h.Monotonic {
		skew := t.Seq.Time(now).Sub(now)
		if skew.Abs() > h.Window {
			return fmt.Errorf("advert from %s, sequence %v is %v from our clock, window %v: %w", a.Src, t.Seq, skew.Round(time.Millisecond), h.Window, vrrp.ErrHMACStale)
		}
		if skew.Abs() > h.Window/2 {
			rd.Drops = append(rd.Drops, Drop{Instance: r.name, Src: a.Src, Warning: vrrp.WarnClockSkew})
		}
		if mark != nil && now.Sub(mark.seq.Time(now)) > h.Window {
			mark = nil // older than the window: a sender whose clock stepped back recovers
		}
	}
	if mark != nil && !t.Seq.After(mark.seq) {
		return fmt.Errorf("advert from %s, sequence %v not after %v: %w", a.Src, t.Seq, mark.seq, vrrp.ErrHMACReplay)
	}
	r.replay.accept(now, src, t.Seq)
	return nil
}

// nextSeq is the sequence of the next signed advert: the clock, or one
// past the last sequence when the clock has not moved past it. In time
// mode a last sequence more than Window ahead of the clock (the clock was
// stepped back) is dropped and the clock used again.
func (r *Router) nextSeq(now time.Time) vrrp.Seq {
	s := vrrp.SeqAt(now)
	if !s.After(r.lastSeq) && (r.auth.Monotonic || r.lastSeq.Time(now).Sub(now) <= r.auth.Window) {
		s = r.lastSeq + 1
	}
	r.lastSeq = s
	return s
}

// signs reports whether this router's adverts carry a trailer.
func (r *Router) signs() bool { return r.auth != nil && r.auth.Mode != HMACReceiveOnly }
