package engine

import (
	"fmt"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// Effect is what a failing tracked check does to an instance.
type Effect string

const (
	EffectFault  Effect = "fault"  // failing → FAULT, VIPs released
	EffectWeight Effect = "weight" // priority moves by Weight
	EffectYield  Effect = "yield"  // split-brain guard: the lower of two masters steps back
)

// tracker turns a stream of check results into an up/down verdict with
// keepalived's exact rise/fall counter: result ∈ [0, rise+fall-1], up when
// result ≥ rise. It starts at rise-1, so one success brings it up, and it is
// not "reported" until the first non-unknown result (or the unknown policy
// resolves to a failure).
type tracker struct {
	check     string
	rise      int
	fall      int
	onUnknown string // "hold" or "fail"
	holdFor   time.Duration

	result   int
	up       bool
	reported bool

	last         sdk.Result
	unknownSince time.Time // zero while results are known
}

func newTracker(check string, rise, fall int, onUnknown string, holdFor time.Duration) *tracker {
	if rise < 1 {
		rise = 1
	}
	if fall < 1 {
		fall = 1
	}
	return &tracker{check: check, rise: rise, fall: fall, onUnknown: onUnknown, holdFor: holdFor, result: rise - 1}
}

// observe feeds one result. It reports whether the up/down verdict (or the
// reported flag) changed.
func (t *tracker) observe(now time.Time, r sdk.Result) bool {
	t.last = r
	switch r.Status {
	case sdk.StatusOK:
		t.unknownSince = time.Time{}
		return t.apply(true)
	case sdk.StatusFail:
		t.unknownSince = time.Time{}
		return t.apply(false)
	default:
		if t.onUnknown == "fail" {
			return t.apply(false)
		}
		if t.unknownSince.IsZero() {
			t.unknownSince = now
		}
		return t.expire(now)
	}
}

// expire turns a held unknown into a failure once hold_for has passed.
func (t *tracker) expire(now time.Time) bool {
	if t.unknownSince.IsZero() || now.Sub(t.unknownSince) < t.holdFor {
		return false
	}
	return t.apply(false)
}

// holdDeadline is when a held unknown turns into a failure (zero: none).
func (t *tracker) holdDeadline() time.Time {
	if t.unknownSince.IsZero() || t.onUnknown == "fail" || (t.reported && !t.up) {
		return time.Time{}
	}
	return t.unknownSince.Add(t.holdFor)
}

func (t *tracker) apply(success bool) bool {
	wasUp, wasReported := t.up, t.reported
	top := t.rise + t.fall - 1
	if success {
		switch {
		case t.result < t.rise-1:
			t.result++
		default:
			t.result = top
		}
	} else {
		if t.result > t.rise {
			t.result--
		} else {
			t.result = 0
		}
	}
	t.up = t.result >= t.rise
	t.reported = t.reported || success || t.result == 0
	return t.up != wasUp || t.reported != wasReported
}

func (t *tracker) reason() string {
	if t.last.Reason != "" {
		return t.last.Reason
	}
	return t.last.Status.String()
}

// track binds one tracker to one instance with an effect.
type track struct {
	*tracker
	effect Effect
	weight int
}

// contribution is the priority delta this track adds now (keepalived: a
// positive weight is added while up, a negative one while down).
func (tr *track) contribution() int {
	if tr.effect != EffectWeight || !tr.reported {
		return 0
	}
	if tr.weight > 0 && tr.up {
		return tr.weight
	}
	if tr.weight < 0 && !tr.up {
		return tr.weight
	}
	return 0
}

// LedgerEntry is one line of an instance's priority ledger.
type LedgerEntry struct {
	Check        string `json:"check"`
	Effect       string `json:"effect"`
	Weight       int    `json:"weight,omitempty"`
	Status       string `json:"status"`
	Up           bool   `json:"up"`
	Reported     bool   `json:"reported"`
	Contribution int    `json:"contribution"`
	Reason       string `json:"reason"`
}

func (tr *track) ledger() LedgerEntry {
	return LedgerEntry{
		Check: tr.check, Effect: string(tr.effect), Weight: tr.weight,
		Status: tr.last.Status.String(), Up: tr.up, Reported: tr.reported,
		Contribution: tr.contribution(), Reason: tr.reason(),
	}
}

// effectivePriority applies weights to base, clamped to 1..254 as keepalived
// does; the address owner's 255 never changes.
func effectivePriority(base uint8, tracks []*track) uint8 {
	if base == 255 {
		return 255
	}
	p := int(base)
	for _, tr := range tracks {
		p += tr.contribution()
	}
	return uint8(min(max(p, 1), 254))
}

// verdict summarises an instance's tracks.
type verdict struct {
	pending  []string // tracked checks that have not reported yet
	faulted  []string // fault-effect checks that are down
	yielding []string // yield-effect checks that are down (another owner seen)
}

func summarize(tracks []*track) verdict {
	var v verdict
	for _, tr := range tracks {
		switch {
		case !tr.reported && tr.effect != EffectYield:
			v.pending = append(v.pending, tr.check)
		case tr.effect == EffectFault && !tr.up:
			v.faulted = append(v.faulted, tr.check)
		case tr.effect == EffectYield && tr.reported && !tr.up:
			v.yielding = append(v.yielding, tr.check)
		}
	}
	return v
}

func describe(checks []string, t []*track) string {
	if len(checks) == 0 {
		return ""
	}
	for _, tr := range t {
		if tr.check == checks[0] {
			return fmt.Sprintf("check %s failed: %s", tr.check, tr.reason())
		}
	}
	return "check " + checks[0]
}
