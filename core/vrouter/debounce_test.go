package vrouter

import (
	"math/rand/v2"
	"testing"
	"time"
)

// stepTrack feeds a tracker as a Router does: due settles first, then the
// result. It reports whether the verdict changed.
func stepTrack(tr *tracker, now time.Time, o *Observed) bool {
	changed := false
	if d := tr.settleDeadline(); !d.IsZero() && !now.Before(d) {
		changed = tr.settle(now) || changed
	}
	if o != nil {
		changed = tr.observe(now, *o) || changed
	}
	return changed
}

// TestDebounceFlapsMoveNothing: any sequence of down/up results whose
// every excursion is shorter than the delay changes no verdict, however
// many there are; the track is left with nothing waiting.
func TestDebounceFlapsMoveNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		down, up := time.Duration(1+rng.IntN(500))*time.Millisecond, time.Duration(1+rng.IntN(500))*time.Millisecond
		tr := newTracker(Track{Check: "link:eth0", Rise: 1, Fall: 1, OnUnknown: UnknownFail, DownDelay: down, UpDelay: up})
		now := t0
		stepTrack(tr, now, &Observed{Check: "link:eth0", Status: StatusOK})
		for range 50 {
			// down for less than down_delay, then back up for a while
			now = now.Add(time.Duration(rng.Int64N(int64(down))))
			if stepTrack(tr, now, &Observed{Check: "link:eth0", Status: StatusFail}) {
				t.Fatalf("run %d (down %v up %v): a down result changed the verdict at once", run, down, up)
			}
			now = now.Add(time.Duration(rng.Int64N(int64(down))))
			if stepTrack(tr, now, &Observed{Check: "link:eth0", Status: StatusOK}) || !tr.up {
				t.Fatalf("run %d (down %v up %v): a flap inside down_delay moved the verdict", run, down, up)
			}
			now = now.Add(time.Duration(rng.Int64N(int64(2 * down))))
			if stepTrack(tr, now, nil) {
				t.Fatalf("run %d: a tick after a flap moved the verdict", run)
			}
		}
		if d := tr.settleDeadline(); !d.IsZero() {
			t.Fatalf("run %d: a change still waits (until %v) after the flaps ended up", run, d)
		}
	}
}

// TestDebounceNeverStuck: whatever the results did before, once the last
// one is up and up_delay has passed (the router ticks at NextDeadline),
// the track is up; the same for down. A FAULT never outlives the link's
// return by more than up_delay (acassen/keepalived #2570, #2683).
func TestDebounceNeverStuck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for run := range 500 {
		down, up := time.Duration(rng.IntN(400))*time.Millisecond, time.Duration(rng.IntN(400))*time.Millisecond
		tr := newTracker(Track{Check: "link:eth0", Rise: 1, Fall: 1, OnUnknown: UnknownFail, DownDelay: down, UpDelay: up})
		now := t0
		var last Status
		for range 1 + rng.IntN(60) {
			now = now.Add(time.Duration(rng.IntN(600)) * time.Millisecond)
			last = StatusFail
			if rng.IntN(2) == 0 {
				last = StatusOK
			}
			stepTrack(tr, now, &Observed{Check: "link:eth0", Status: last})
		}
		delay := down
		if last == StatusOK {
			delay = up
		}
		lastAt := now
		// Tick only at the deadlines the tracker asks for, as the engine does.
		for d := tr.settleDeadline(); !d.IsZero(); d = tr.settleDeadline() {
			if d.After(lastAt.Add(delay)) {
				t.Fatalf("run %d: deadline %v is after the last result + delay %v", run, d.Sub(lastAt), delay)
			}
			now = d
			stepTrack(tr, now, nil)
		}
		if want := last == StatusOK; tr.up != want || !tr.reported {
			t.Fatalf("run %d (down %v up %v): last result %v, track up=%v reported=%v after its delays", run, down, up, last, tr.up, tr.reported)
		}
	}
}

// TestDebounceFirstResultAtOnce: the first result is not held back; a
// track without delays is unchanged by the debounce.
func TestDebounceFirstResultAtOnce(t *testing.T) {
	tr := newTracker(Track{Check: "link:eth0", Rise: 1, Fall: 1, DownDelay: time.Second, UpDelay: time.Second})
	if !tr.observe(t0, Observed{Status: StatusFail}) || tr.up || !tr.reported {
		t.Fatalf("first result down: up=%v reported=%v, want a down verdict at once", tr.up, tr.reported)
	}
	plain := newTracker(Track{Check: "nginx", Rise: 1, Fall: 1})
	plain.observe(t0, Observed{Status: StatusOK})
	if !plain.observe(t0.Add(time.Millisecond), Observed{Status: StatusFail}) || plain.up {
		t.Fatal("a track without delays did not go down at once")
	}
	if e := tr.entry(); !e.Settles.IsZero() {
		t.Fatalf("nothing waits, ledger says it settles at %v", e.Settles)
	}
	tr.observe(t0.Add(time.Millisecond), Observed{Status: StatusOK, Reason: "eth0 is up"})
	if e := tr.entry(); e.Up || e.Settles != t0.Add(time.Millisecond+time.Second) || e.Reason != "eth0 is up" {
		t.Fatalf("up waiting: ledger %+v, want down, settling 1s later, the waiting reason", e)
	}
}
