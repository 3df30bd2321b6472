package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// seq turns "++-+" into results: + ok, - fail, ? unknown.
func seq(s string) []sdk.Status {
	var out []sdk.Status
	for _, c := range s {
		switch c {
		case '+':
			out = append(out, sdk.StatusOK)
		case '-':
			out = append(out, sdk.StatusFail)
		case '?':
			out = append(out, sdk.StatusUnknown)
		}
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
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tr := newTracker("c", tc.rise, tc.fall, "fail", 0)
			now := time.Unix(0, 0)
			var got strings.Builder
			for _, s := range seq(tc.results) {
				tr.observe(now, sdk.Result{Status: s})
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

func TestTrackerUnknownPolicy(t *testing.T) {
	t0 := time.Unix(100, 0)
	hold := newTracker("c", 1, 1, "hold", 5*time.Second)
	hold.observe(t0, sdk.Result{Status: sdk.StatusOK})
	hold.observe(t0.Add(time.Second), sdk.Result{Status: sdk.StatusUnknown, Reason: "plugin exited"})
	if !hold.up {
		t.Fatal("hold: went down on the first unknown")
	}
	if got, want := hold.holdDeadline(), t0.Add(6*time.Second); !got.Equal(want) {
		t.Fatalf("hold deadline %v, want %v", got, want)
	}
	if hold.expire(t0.Add(5 * time.Second)) {
		t.Fatal("hold: expired before hold_for")
	}
	if !hold.expire(t0.Add(6*time.Second)) || hold.up {
		t.Fatal("hold: still up after hold_for of unknown")
	}
	if !hold.holdDeadline().IsZero() {
		t.Fatal("hold: deadline still armed after turning into a failure")
	}
	hold.observe(t0.Add(7*time.Second), sdk.Result{Status: sdk.StatusOK})
	if !hold.up || !hold.holdDeadline().IsZero() {
		t.Fatal("hold: a known result did not clear the unknown period")
	}

	fail := newTracker("c", 1, 1, "fail", 5*time.Second)
	fail.observe(t0, sdk.Result{Status: sdk.StatusOK})
	fail.observe(t0, sdk.Result{Status: sdk.StatusUnknown})
	if fail.up {
		t.Fatal("on_unknown=fail: unknown did not count as a failure")
	}
}

func TestEffectivePriority(t *testing.T) {
	mk := func(weight int, up bool) *track {
		tr := &track{tracker: newTracker("c", 1, 1, "fail", 0), effect: EffectWeight, weight: weight}
		st := sdk.StatusFail
		if up {
			st = sdk.StatusOK
		}
		tr.observe(time.Unix(0, 0), sdk.Result{Status: st})
		return tr
	}
	for _, tc := range []struct {
		desc   string
		base   uint8
		tracks []*track
		want   uint8
	}{
		{"negative weight applies while down", 100, []*track{mk(-60, false)}, 40},
		{"negative weight ignored while up", 100, []*track{mk(-60, true)}, 100},
		{"positive weight applies while up", 100, []*track{mk(20, true)}, 120},
		{"positive weight ignored while down", 100, []*track{mk(20, false)}, 100},
		{"clamped at 254", 250, []*track{mk(20, true)}, 254},
		{"clamped at 1", 50, []*track{mk(-100, false)}, 1},
		{"owner 255 never moves", 255, []*track{mk(-100, false)}, 255},
		{"unreported track contributes nothing", 100, []*track{{tracker: newTracker("c", 1, 1, "fail", 0), effect: EffectWeight, weight: -50}}, 100},
	} {
		if got := effectivePriority(tc.base, tc.tracks); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.desc, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	pending := &track{tracker: newTracker("a", 1, 1, "fail", 0), effect: EffectFault}
	down := &track{tracker: newTracker("b", 1, 1, "fail", 0), effect: EffectFault}
	down.observe(time.Unix(0, 0), sdk.Result{Status: sdk.StatusFail, Reason: "nginx: 0 processes"})
	guard := &track{tracker: newTracker("g", 1, 1, "fail", 0), effect: EffectYield}
	guard.observe(time.Unix(0, 0), sdk.Result{Status: sdk.StatusFail})
	v := summarize([]*track{pending, down, guard})
	if len(v.pending) != 1 || v.pending[0] != "a" {
		t.Errorf("pending %v, want [a]", v.pending)
	}
	if len(v.faulted) != 1 || v.faulted[0] != "b" {
		t.Errorf("faulted %v, want [b]", v.faulted)
	}
	if len(v.yielding) != 1 || v.yielding[0] != "g" {
		t.Errorf("yielding %v, want [g]", v.yielding)
	}
	if got := describe(v.faulted, []*track{pending, down, guard}); got != "check b failed: nginx: 0 processes" {
		t.Errorf("describe: %q", got)
	}
}
