package vrouter

import (
	"fmt"
	"strings"
	"time"
)

// Status is a check result's verdict.
type Status uint8

const (
	StatusUnknown Status = iota // the check could not tell (plugin down, timeout)
	StatusOK
	StatusFail
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusFail:
		return "fail"
	}
	return "unknown"
}

// Effect is what a failing tracked check does to an instance.
type Effect uint8

const (
	// EffectFault (the default): failing puts the instance in FAULT; it
	// releases its VIPs and a master resigns with priority 0.
	EffectFault Effect = iota
	// EffectWeight: the priority moves by Track.Weight, as keepalived's
	// weight (a positive weight is added while up, a negative one while
	// down).
	EffectWeight
	// EffectYield: the split-brain guard. Failing means "another owner of
	// the VIP is visible"; of two masters the lower one yields (see
	// Router's yield rule).
	EffectYield
	// EffectFile: a track file (Track.File): the number in the file times
	// Track.Weight moves the priority, or, past the fault bound or with
	// weight 0, puts the instance in FAULT (see FileValue).
	EffectFile
)

func (e Effect) String() string {
	switch e {
	case EffectWeight:
		return "weight"
	case EffectYield:
		return "yield"
	case EffectFile:
		return "file"
	}
	return "fault"
}

// UnknownPolicy says what an unknown result does to a track.
type UnknownPolicy uint8

const (
	// UnknownHold keeps the last verdict for Track.HoldFor, then counts as
	// a failure.
	UnknownHold UnknownPolicy = iota
	// UnknownFail counts an unknown result as a failure at once.
	UnknownFail
)

// Track ties one check, or with File set one track file, to an instance.
type Track struct {
	Check string
	// File names a track file (keepalived track_file); Check, Effect,
	// Rise, Fall and the unknown policy do not apply to it, and Reverse
	// flips the sign of its weight. Its value comes with FileValue.
	File       string
	Reverse    bool
	Effect     Effect
	Weight     int // EffectWeight only
	Rise, Fall int // consecutive results to come up / go down; < 1 means 1
	OnUnknown  UnknownPolicy
	HoldFor    time.Duration
	// DownDelay and UpDelay debounce the track (keepalived's
	// interface_up_down_delays): a result that would take it down (up)
	// counts only once nothing contrary came for that long, so a flap
	// shorter than the delay moves nothing. 0: at once. See debounce.go.
	DownDelay, UpDelay time.Duration
}

// tracker turns a stream of results into an up/down verdict with
// keepalived's rise/fall counter: result ∈ [0, rise+fall-1], up when
// result ≥ rise. It starts at rise-1, so one success brings it up, and it is
// not reported until the first known result (or until the unknown policy
// resolves to a failure).
type tracker struct {
	Track
	result   int
	up       bool
	reported bool

	status       Status
	reason       string
	observedAt   time.Time
	unknownSince time.Time // zero while results are known
	heard        *Heard    // the latest advert the check saw (a guard)
	value        int64     // a track file's value, clamped (EffectFile)
	fileNote     string    // what the application said of that value
	bounce       debounce  // a verdict change waiting out its delay
}

func newTracker(t Track) *tracker {
	t.Rise, t.Fall = max(t.Rise, 1), max(t.Fall, 1)
	if t.File != "" {
		t.Check, t.Effect = "", EffectFile
		n := &tracker{Track: t, reported: true}
		n.setValue(0, "no value read yet: 0")
		return n
	}
	return &tracker{Track: t, result: t.Rise - 1}
}

// key names the track in the ledger: checks and files are apart.
func (t *tracker) key() string {
	if t.File != "" {
		return "file:" + t.File
	}
	return t.Check
}

// label names the track for people: "check nginx", "track_file flag".
func (t *tracker) label() string {
	if t.File != "" {
		return "track_file " + t.File
	}
	return "check " + t.Check
}

// take feeds one result past the debounce and reports whether the
// verdict (up, or reported) changed.
func (t *tracker) take(now time.Time, o Observed) bool {
	t.status, t.reason, t.observedAt = o.Status, o.Reason, o.At
	if o.Heard != nil && (t.heard == nil || o.Heard.At.After(t.heard.At)) {
		t.heard = o.Heard
	}
	switch o.Status {
	case StatusOK:
		t.unknownSince = time.Time{}
		return t.apply(true)
	case StatusFail:
		t.unknownSince = time.Time{}
		return t.apply(false)
	}
	if t.OnUnknown == UnknownFail {
		return t.apply(false)
	}
	if t.unknownSince.IsZero() {
		t.unknownSince = now
	}
	return t.expire(now)
}

// expire turns a held unknown into a failure once HoldFor has passed.
func (t *tracker) expire(now time.Time) bool {
	if d := t.holdDeadline(); d.IsZero() || now.Before(d) {
		return false
	}
	return t.apply(false)
}

// holdDeadline is when a held unknown turns into a failure (zero: none).
func (t *tracker) holdDeadline() time.Time {
	if t.unknownSince.IsZero() || t.OnUnknown == UnknownFail || (t.reported && !t.up) {
		return time.Time{}
	}
	return t.unknownSince.Add(t.HoldFor)
}

func (t *tracker) apply(success bool) bool {
	wasUp, wasReported := t.up, t.reported
	switch {
	case success && t.result < t.Rise-1:
		t.result++
	case success:
		t.result = t.Rise + t.Fall - 1
	case t.result > t.Rise:
		t.result--
	default:
		t.result = 0
	}
	t.up = t.result >= t.Rise
	t.reported = t.reported || success || t.result == 0
	return t.up != wasUp || t.reported != wasReported
}

// why is the last result's reason, or its status when it gave none.
func (t *tracker) why() string {
	if t.reason != "" {
		return t.reason
	}
	return t.status.String()
}

// contribution is the priority delta this track adds now.
func (t *tracker) contribution() int {
	if t.Effect == EffectFile {
		if s := t.fileScore(); s > fileFault {
			return s
		}
		return 0
	}
	if t.Effect != EffectWeight || !t.reported {
		return 0
	}
	switch {
	case t.Weight > 0 && t.up:
		return t.Weight
	case t.Weight < 0 && !t.up:
		return t.Weight
	}
	return 0
}

// LedgerEntry is one line of an instance's priority ledger.
type LedgerEntry struct {
	Check string
	// File and Value are a track file's name and the value last read
	// (clamped to ±254); Check is then "file:NAME".
	File         string
	Value        int64
	Effect       Effect
	Weight       int
	Status       Status
	Up           bool
	Reported     bool
	Contribution int
	Reason       string
	ObservedAt   time.Time
	// Settles is when a debounced change takes effect (zero: none
	// waiting); Status and Reason are then the result waiting.
	Settles time.Time
}

func (t *tracker) entry() LedgerEntry {
	return LedgerEntry{
		Check: t.key(), File: t.File, Value: t.value, Effect: t.Effect, Weight: t.Weight, Status: t.status, Up: t.up, Reported: t.reported,
		Contribution: t.contribution(), Reason: t.why(), ObservedAt: t.observedAt, Settles: t.bounce.at,
	}
}

// ledger is an instance's tracks.
type ledger []*tracker

// priority applies the weights to base, clamped to 1..254 as keepalived
// does; the address owner's 255 never changes.
func (l ledger) priority(base uint8) uint8 {
	if base == 255 {
		return 255
	}
	p := int(base)
	for _, t := range l {
		p += t.contribution()
	}
	return uint8(min(max(p, 1), 254))
}

// verdict is what the tracks say about the instance now.
type verdict struct {
	pending  []*tracker // not reported yet (yield tracks excluded: a guard never holds a node back)
	faulted  []*tracker // fault-effect tracks that are down
	yielding []*tracker // yield-effect tracks that are down: another owner is visible
}

func (l ledger) verdict() verdict {
	var v verdict
	for _, t := range l {
		switch {
		case !t.reported && t.Effect != EffectYield:
			v.pending = append(v.pending, t)
		case (t.Effect == EffectFault || t.Effect == EffectFile) && t.reported && !t.up:
			v.faulted = append(v.faulted, t)
		case t.Effect == EffectYield && t.reported && !t.up:
			v.yielding = append(v.yielding, t)
		}
	}
	return v
}

// failed describes the first of ts for a transition's detail.
func failed(ts []*tracker) string {
	if len(ts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s failed: %s", ts[0].label(), ts[0].why())
}

func names(ts []*tracker) string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.Check
	}
	return strings.Join(n, ", ")
}

// weights describes the non-zero contributions ("base 100, nginx -60").
func (l ledger) weights(base uint8) string {
	var b strings.Builder
	fmt.Fprintf(&b, "base %d", base)
	for _, t := range l {
		if c := t.contribution(); c != 0 {
			fmt.Fprintf(&b, ", %s %+d", t.key(), c)
		}
	}
	return b.String()
}

// retrack builds the ledger for tracks, carrying over the state of each
// track whose check, rise and fall are unchanged.
func (l ledger) retrack(tracks []Track) ledger {
	old := make(map[string]*tracker, len(l))
	for _, t := range l {
		old[t.key()] = t
	}
	out := make(ledger, 0, len(tracks))
	for _, tr := range tracks {
		n := newTracker(tr)
		if prev := old[n.key()]; prev != nil && prev.Rise == n.Rise && prev.Fall == n.Fall {
			cp := *prev
			cp.Track = n.Track
			if cp.File != "" {
				cp.setValue(cp.value, cp.fileNote) // the weight may have changed
			}
			n = &cp
		}
		out = append(out, n)
	}
	return out
}
