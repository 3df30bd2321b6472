package process

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// evaluate turns the set of live matching PIDs into a result against the
// min/max quorum. extra facts (watch mode, pid file error) go into Detail.
func evaluate(s *settings, pids []int, extra map[string]string) sdk.Result {
	pids = slices.Clone(pids)
	slices.Sort(pids)
	n := len(pids)

	var r sdk.Result
	switch {
	case n < s.min:
		r = sdk.Fail("%s: %d %s, want >= %d", s.label(), n, plural(n), s.min)
	case s.max > 0 && n > s.max:
		r = sdk.Fail("%s: %d %s, want <= %d", s.label(), n, plural(n), s.max)
	case n == 0:
		// min = 0: absence is acceptable.
		r = sdk.OK("%s: 0 processes", s.label())
	case n == 1:
		r = sdk.OK("%s: 1 process (pid %d)", s.label(), pids[0])
	default:
		r = sdk.OK("%s: %d processes (pids %s)", s.label(), n, joinPids(pids))
	}
	r.Detail = map[string]string{
		"count": strconv.Itoa(n),
		"pids":  joinPids(pids),
		"min":   strconv.Itoa(s.min),
		"max":   strconv.Itoa(s.max),
	}
	for k, v := range extra {
		r.Detail[k] = v
	}
	return r
}

func plural(n int) string {
	if n == 1 {
		return "process"
	}
	return "processes"
}

func joinPids(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// debouncer holds back a change of status until it has lasted delay
// (keepalived's fork_delay/terminate_delay in one knob). A change of reason
// with the same status (a worker restarted under a new PID) passes at once:
// it flips nothing on the host.
type debouncer struct {
	delay    time.Duration
	started  bool
	reported sdk.Result
	pending  bool
	since    time.Time // when the pending status was first seen
}

// observe feeds the current result at time now. It returns the result to
// report, if any, and the time at which observe must be called again to
// let a pending change through (zero when nothing is pending).
func (d *debouncer) observe(now time.Time, r sdk.Result) (out sdk.Result, emit bool, wake time.Time) {
	if !d.started {
		d.started = true
		return d.commit(now, r), true, time.Time{}
	}
	if r.Status == d.reported.Status {
		d.pending = false
		if sameResult(r, d.reported) {
			return sdk.Result{}, false, time.Time{}
		}
		return d.commit(now, r), true, time.Time{}
	}
	if !d.pending {
		d.pending, d.since = true, now
	}
	if due := d.since.Add(d.delay); now.Before(due) {
		return sdk.Result{}, false, due
	}
	d.pending = false
	return d.commit(d.since, r), true, time.Time{}
}

func (d *debouncer) commit(observed time.Time, r sdk.Result) sdk.Result {
	r.ObservedAt = observed
	d.reported = r
	return r
}

func sameResult(a, b sdk.Result) bool {
	if a.Status != b.Status || a.Reason != b.Reason || len(a.Detail) != len(b.Detail) {
		return false
	}
	for k, v := range a.Detail {
		if bv, ok := b.Detail[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
