package vrouter

import (
	"strings"
	"testing"
	"time"
)

// seq turns "++-+" into statuses: + ok, - fail, ? unknown.
func seq(s string) []Status {
	var out []Status
	for _, c := range s {
		out = append(out, map[rune]Status{'+': StatusOK, '-': StatusFail, '?': StatusUnknown}[c])
	}
	return out
}

// TestTrackerRiseFall pins keepalived's counter: rise consecutive successes
// to come up, fall consecutive failures to go down, one success enough at
// start, and an opposite result resetting the other direction.
func TestTrackerRiseFall(t *testing.T) {
	for _, tc := range []struct {
		desc       string
		rise, fall int
		results    string
		want       string // verdict after each result: U up, D down, . not reported
	}{
		{"one success brings it up", 1, 1, "+", "U"},
		{"one failure brings it down", 1, 1, "+-", "UD"},
		{"first failure is a report", 1, 1, "-", "D"},
		{"rise 3 needs three in a row after a failure", 3, 1, "-+++", "DDDU"},
		{"rise 3 from start needs one (starts at rise-1)", 3, 1, "+", "U"},
		{"fall 3 needs three in a row", 1, 3, "+---", "UUUD"},
		{"a success between failures resets fall", 2, 3, "+--+---", "UUUUUUD"},
		{"a failure during rise resets it", 2, 2, "--+-++", "DDDDDU"},
		{"unknown under unknown=fail is a failure", 1, 1, "+?", "UD"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tr := newTracker(Track{Check: "c", Rise: tc.rise, Fall: tc.fall, OnUnknown: UnknownFail})
			var got strings.Builder
			for _, s := range seq(tc.results) {
				tr.observe(t0, Observed{Status: s})
				switch {
				case !tr.reported:
					got.WriteByte('.')
				case tr.up:
					got.WriteByte('U')
				default:
					got.WriteByte('D')
				}
			}
			if got.String() != tc.want {
				t.Errorf("rise %d fall %d results %s: got %s, want %s", tc.rise, tc.fall, tc.results, got.String(), tc.want)
			}
		})
	}
}

func TestTrackerUnknownHold(t *testing.T) {
	hold := newTracker(Track{Check: "c", OnUnknown: UnknownHold, HoldFor: 5 * time.Second})
	hold.observe(t0, Observed{Status: StatusOK})
	hold.observe(t0.Add(time.Second), Observed{Status: StatusUnknown, Reason: "plugin exited"})
	if !hold.up {
		t.Fatal("went down on the first unknown")
	}
	if got, want := hold.holdDeadline(), t0.Add(6*time.Second); !got.Equal(want) {
		t.Fatalf("hold deadline %v, want %v", got, want)
	}
	hold.observe(t0.Add(2*time.Second), Observed{Status: StatusUnknown})
	if got, want := hold.holdDeadline(), t0.Add(6*time.Second); !got.Equal(want) {
		t.Fatalf("a second unknown moved the deadline to %v, want %v", got, want)
	}
	if hold.expire(t0.Add(5 * time.Second)) {
		t.Fatal("expired before hold_for")
	}
	if !hold.expire(t0.Add(6*time.Second)) || hold.up {
		t.Fatal("still up after hold_for of unknown")
	}
	if !hold.holdDeadline().IsZero() {
		t.Fatal("deadline still armed after turning into a failure")
	}
	hold.observe(t0.Add(7*time.Second), Observed{Status: StatusOK})
	if !hold.up || !hold.holdDeadline().IsZero() {
		t.Fatal("a known result did not clear the unknown period")
	}
}

func TestLedgerPriority(t *testing.T) {
	mk := func(weight int, up bool) *tracker {
		tr := newTracker(Track{Check: "c", Effect: EffectWeight, Weight: weight})
		st := StatusFail
		if up {
			st = StatusOK
		}
		tr.observe(t0, Observed{Status: st})
		return tr
	}
	for _, tc := range []struct {
		desc string
		base uint8
		l    ledger
		want uint8
	}{
		{"negative weight applies while down", 100, ledger{mk(-60, false)}, 40},
		{"negative weight ignored while up", 100, ledger{mk(-60, true)}, 100},
		{"positive weight applies while up", 100, ledger{mk(20, true)}, 120},
		{"positive weight ignored while down", 100, ledger{mk(20, false)}, 100},
		{"clamped at 254", 250, ledger{mk(20, true)}, 254},
		{"clamped at 1", 50, ledger{mk(-100, false)}, 1},
		{"owner 255 never moves", 255, ledger{mk(-100, false)}, 255},
		{"unreported track contributes nothing", 100, ledger{newTracker(Track{Check: "c", Effect: EffectWeight, Weight: -50})}, 100},
	} {
		if got := tc.l.priority(tc.base); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.desc, got, tc.want)
		}
	}
}

func TestLedgerVerdict(t *testing.T) {
	pending := newTracker(Track{Check: "a"})
	down := newTracker(Track{Check: "b"})
	down.observe(t0, Observed{Status: StatusFail, Reason: "nginx: 0 processes"})
	guard := newTracker(Track{Check: "g", Effect: EffectYield})
	guardPending := newTracker(Track{Check: "h", Effect: EffectYield})
	guard.observe(t0, Observed{Status: StatusFail})
	v := ledger{pending, down, guard, guardPending}.verdict()
	if names(v.pending) != "a" || names(v.faulted) != "b" || names(v.yielding) != "g" {
		t.Errorf("pending %q faulted %q yielding %q, want a, b, g", names(v.pending), names(v.faulted), names(v.yielding))
	}
	if got := failed(v.faulted); got != "check b failed: nginx: 0 processes" {
		t.Errorf("failed: %q", got)
	}
}
