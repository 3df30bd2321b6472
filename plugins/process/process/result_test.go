package process

import (
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

func TestEvaluateQuorum(t *testing.T) {
	tests := []struct {
		name       string
		s          settings
		pids       []int
		wantStatus sdk.Status
		wantReason string
		wantPids   string
	}{
		{"two running", settings{name: "nginx", min: 1}, []int{11, 10}, sdk.StatusOK, "nginx: 2 processes (pids 10,11)", "10,11"},
		{"one running", settings{name: "nginx", min: 1}, []int{10}, sdk.StatusOK, "nginx: 1 process (pid 10)", "10"},
		{"none running", settings{name: "nginx", min: 1}, nil, sdk.StatusFail, "nginx: 0 processes, want >= 1", ""},
		{"below min", settings{name: "nginx", min: 3}, []int{1, 2}, sdk.StatusFail, "nginx: 2 processes, want >= 3", "1,2"},
		{"at max", settings{name: "nginx", min: 1, max: 2}, []int{1, 2}, sdk.StatusOK, "nginx: 2 processes (pids 1,2)", "1,2"},
		{"above max", settings{name: "nginx", min: 1, max: 2}, []int{3, 1, 2}, sdk.StatusFail, "nginx: 3 processes, want <= 2", "1,2,3"},
		{"max 0 means unbounded", settings{name: "nginx", min: 1}, []int{1, 2, 3, 4, 5}, sdk.StatusOK, "nginx: 5 processes (pids 1,2,3,4,5)", "1,2,3,4,5"},
		{"min 0 accepts none", settings{name: "nginx", min: 0}, nil, sdk.StatusOK, "nginx: 0 processes", ""},
		{"min 0 max 1 refuses two", settings{name: "nginx", min: 0, max: 1}, []int{1, 2}, sdk.StatusFail, "nginx: 2 processes, want <= 1", "1,2"},
		{"one below min 2 is singular", settings{name: "nginx", min: 2}, []int{1}, sdk.StatusFail, "nginx: 1 process, want >= 2", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(&tt.s, tt.pids, map[string]string{"watch": "connector"})
			if r.Status != tt.wantStatus || r.Reason != tt.wantReason {
				t.Errorf("got %v %q, want %v %q", r.Status, r.Reason, tt.wantStatus, tt.wantReason)
			}
			if r.Detail["pids"] != tt.wantPids || r.Detail["watch"] != "connector" {
				t.Errorf("detail %v, want pids=%q watch=connector", r.Detail, tt.wantPids)
			}
		})
	}
}

func TestDebouncer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(reason string) sdk.Result { return sdk.Result{Status: sdk.StatusOK, Reason: reason} }
	fail := func(reason string) sdk.Result { return sdk.Result{Status: sdk.StatusFail, Reason: reason} }

	type step struct {
		ms       int
		in       sdk.Result
		emit     bool
		wantOut  string // reason of the emitted result
		wantObs  int    // ObservedAt of the emitted result, ms
		wantWake int    // -1: no wake-up needed
	}
	tests := []struct {
		name  string
		delay time.Duration
		steps []step
	}{
		{"no debounce reports at once", 0, []step{
			{0, ok("a"), true, "a", 0, -1},
			{5, fail("b"), true, "b", 5, -1},
			{6, fail("b"), false, "", 0, -1},
		}},
		{"first result is never held back", 100 * time.Millisecond, []step{
			{0, fail("none"), true, "none", 0, -1},
		}},
		{"death reported only after it lasted the delay", 100 * time.Millisecond, []step{
			{0, ok("up"), true, "up", 0, -1},
			{10, fail("down"), false, "", 0, 110},
			{50, fail("down"), false, "", 0, 110},
			{110, fail("down"), true, "down", 10, -1},
		}},
		{"restart inside the delay is not reported as a failure", 100 * time.Millisecond, []step{
			{0, ok("pid 1"), true, "pid 1", 0, -1},
			{10, fail("down"), false, "", 0, 110},
			{60, ok("pid 2"), true, "pid 2", 60, -1}, // same status, new reason: passes
			{200, ok("pid 2"), false, "", 0, -1},
		}},
		{"flapping restarts the clock", 100 * time.Millisecond, []step{
			{0, ok("up"), true, "up", 0, -1},
			{10, fail("down"), false, "", 0, 110},
			{20, ok("up"), false, "", 0, -1},
			{90, fail("down"), false, "", 0, 190},
			{150, fail("down"), false, "", 0, 190},
			{190, fail("down"), true, "down", 90, -1},
		}},
		{"recovery is debounced too", 50 * time.Millisecond, []step{
			{0, fail("down"), true, "down", 0, -1},
			{100, ok("up"), false, "", 0, 150},
			{149, ok("up"), false, "", 0, 150},
			{151, ok("up"), true, "up", 100, -1},
		}},
		{"reason changes while a change is pending keep the clock", 100 * time.Millisecond, []step{
			{0, ok("2 up"), true, "2 up", 0, -1},
			{10, fail("1 up"), false, "", 0, 110},
			{20, fail("0 up"), false, "", 0, 110},
			{110, fail("0 up"), true, "0 up", 10, -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := debouncer{delay: tt.delay}
			for i, st := range tt.steps {
				out, emit, wake := d.observe(at(st.ms), st.in)
				if emit != st.emit {
					t.Fatalf("step %d (t=%dms %q): emit = %v, want %v", i, st.ms, st.in.Reason, emit, st.emit)
				}
				if emit && (out.Reason != st.wantOut || !out.ObservedAt.Equal(at(st.wantObs))) {
					t.Errorf("step %d: emitted %q observed %v, want %q at %dms", i, out.Reason, out.ObservedAt.Sub(t0), st.wantOut, st.wantObs)
				}
				switch {
				case st.wantWake < 0 && !wake.IsZero():
					t.Errorf("step %d: wake at %v, want none", i, wake.Sub(t0))
				case st.wantWake >= 0 && !wake.Equal(at(st.wantWake)):
					t.Errorf("step %d: wake at %v, want %dms", i, wake.Sub(t0), st.wantWake)
				}
			}
		})
	}
}
