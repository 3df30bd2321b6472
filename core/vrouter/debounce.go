package vrouter

import "time"

// Debounce (keepalived 2.2.3's interface_up_down_delays, for any track):
// a result that would change a track's verdict is held back for the
// track's DownDelay or UpDelay; a result agreeing with the verdict in
// between drops it, so a link that flaps within the delay moves nothing.
// The latest result is never lost: either it agrees with the verdict, or
// it waits with a deadline (NextDeadline), and Tick applies it then. So a
// track whose link came back always comes up once the link stayed up for
// UpDelay, however it flapped before (keepalived's trackers have left
// instances in FAULT after the link returned: acassen/keepalived #2570,
// #2683).
//
// The first result of a track is never held back: there is no verdict yet
// to protect, and the instance waits for it anyway (check pending).

// debounce is a verdict change waiting out its track's delay.
type debounce struct {
	waiting bool
	up      bool      // the verdict it brings
	result  Observed  // the latest result pointing that way
	at      time.Time // when it counts; zero while none waits
}

// observe feeds one result through the track's debounce and reports
// whether the verdict (up, or reported) changed now.
func (t *tracker) observe(now time.Time, o Observed) bool {
	if (t.DownDelay <= 0 && t.UpDelay <= 0) || !t.reported {
		t.bounce = debounce{}
		return t.take(now, o)
	}
	trial := *t
	if !trial.take(now, o) {
		// The verdict stands: whatever change was waiting was a flap.
		t.bounce = debounce{}
		return t.take(now, o)
	}
	delay := t.DownDelay
	if trial.up {
		delay = t.UpDelay
	}
	if delay <= 0 {
		t.bounce = debounce{}
		return t.take(now, o)
	}
	if !t.bounce.waiting || t.bounce.up != trial.up {
		t.bounce = debounce{waiting: true, up: trial.up, at: now.Add(delay)}
	}
	t.bounce.result = o
	// The ledger shows the result waiting, and when it settles.
	t.status, t.reason, t.observedAt = o.Status, o.Reason, o.At
	return false
}

// settleDeadline is when a waiting change takes effect (zero: none).
func (t *tracker) settleDeadline() time.Time { return t.bounce.at }

// settle applies a waiting change once its delay has passed and reports
// whether the verdict changed.
func (t *tracker) settle(now time.Time) bool {
	if !t.bounce.waiting || now.Before(t.bounce.at) {
		return false
	}
	o := t.bounce.result
	t.bounce = debounce{}
	return t.take(now, o)
}
