package vrouter

import (
	"fmt"
	"time"
)

// A track file (keepalived's track_file) holds a number that an operator
// or a tool writes; the application reads it whenever the file changes and
// hands it over as FileValue. What the number does is keepalived's rule:
//
//   - weight 0: a non-zero value is a failure (FAULT), zero is OK; Reverse
//     swaps them (zero is the failure).
//   - otherwise value × weight (× -1 with Reverse) is the score, clamped to
//     -254..253: a score of -254 (anything at or below it) is FAULT, any
//     other score is added to the base priority, which stays within
//     1..254 (the address owner's 255 never moves).
//
// The value is clamped to -254..254 before it is multiplied, as keepalived
// does, so a huge number cannot overflow. A file that is missing,
// unreadable or not a number counts as 0 (the application says why in
// Reason). Unlike keepalived, leaving FAULT puts the current score on the
// priority: keepalived leaves the contribution from before the fault.

// Bounds of a track file's value and score.
const (
	FileValueMax = 254
	fileFault    = -254 // a score at or below this is FAULT
	fileScoreMax = 253
)

// FileValue is the value read from a track file. A router that does not
// track the file ignores it, so the application may hand every value to
// every router. Reason says where the value came from when it is not
// plainly the file's number ("missing: read as 0").
type FileValue struct {
	File   string
	Value  int64
	Reason string
	At     time.Time // when it was read; the step's now if zero
}

func (FileValue) isInput() {}

// ClampFileValue is v within ±FileValueMax.
func ClampFileValue(v int64) int64 {
	return min(max(v, -FileValueMax), FileValueMax)
}

// fileScore is what the track's value does: fileFault or less means FAULT,
// anything else is the priority delta.
func (t *tracker) fileScore() int {
	v := int(t.value)
	if t.Weight == 0 {
		if (v != 0) != t.Reverse {
			return fileFault
		}
		return 0
	}
	w := t.Weight
	if t.Reverse {
		w = -w
	}
	// |v| ≤ 254 and a weight is at most ±254 in practice; int64 keeps any
	// configured weight from overflowing before the clamp.
	s := int64(v) * int64(w)
	return int(min(max(s, fileFault), fileScoreMax))
}

// setValue records a value and reports whether the verdict (fault or not)
// changed.
func (t *tracker) setValue(v int64, why string) bool {
	t.value, t.fileNote = ClampFileValue(v), why
	wasUp := t.up
	s := t.fileScore()
	t.up = s > fileFault
	t.status = StatusOK
	if !t.up {
		t.status = StatusFail
	}
	t.reason = fmt.Sprintf("value %d", t.value)
	switch {
	case t.Weight == 0 && !t.up:
		t.reason += " (weight 0: FAULT)"
	case t.Weight != 0 && !t.up:
		t.reason += fmt.Sprintf(" × weight %d ≤ %d: FAULT", t.signedWeight(), fileFault)
	case t.Weight != 0:
		t.reason += fmt.Sprintf(" × weight %d = %+d", t.signedWeight(), s)
	}
	if why != "" && why != t.reason {
		t.reason += "; " + why
	}
	return t.up != wasUp
}

func (t *tracker) signedWeight() int {
	if t.Reverse {
		return -t.Weight
	}
	return t.Weight
}

// fileValue applies a track file's value to the tracks on it.
func (r *Router) fileValue(now time.Time, in FileValue, rd *Ready) {
	if in.At.IsZero() {
		in.At = now
	}
	tracked := false
	for _, t := range r.ledger {
		if t.File == "" || t.File != in.File {
			continue
		}
		tracked = true
		before, beforeReason := t.value, t.reason
		changed := t.setValue(in.Value, in.Reason)
		t.observedAt = in.At
		if changed {
			rd.Checks = append(rd.Checks, CheckChange{Instance: r.name, Check: t.key(), Status: t.status, Up: t.up, Reason: t.reason, At: now})
		} else if t.value != before || t.reason != beforeReason {
			rd.Notes = append(rd.Notes, Note{Instance: r.name, Message: t.label() + ": " + t.reason})
		}
	}
	if tracked {
		r.reconcile(now, rd)
	}
}
