package netlab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cgroup is a group made for one test (NewCgroup, MemoryCgroup): the
// processes a test starts in it can be put under resource pressure and
// measured. It lives on the cgroup v2 hierarchy, or, for MemoryCgroup on a
// machine whose memory controller is bound to cgroup v1 (the hybrid
// layout), on the v1 memory hierarchy. t.Cleanup moves whatever still runs
// in it back to the test process's own group and removes it.
type Cgroup struct {
	// Path is the group's directory as the test process sees it, e.g.
	// /sys/fs/cgroup/hawatch-e2e-4711-lb1 (v2) or
	// /sys/fs/cgroup/memory/hawatch-e2e-4711-lb1 (v1).
	Path string
	// rel is Path relative to the hierarchy's mount, as /proc/PID/cgroup
	// names it ("/hawatch-e2e-4711-lb1").
	rel string
	// home is the cgroup.procs file of the test process's own group in
	// the same hierarchy.
	home string
	// v1 is set for a group on the cgroup v1 memory hierarchy: its files
	// are memory.usage_in_bytes, memory.limit_in_bytes, memory.failcnt...
	// instead of memory.current, memory.high, memory.events...
	v1 bool
}

// V1Memory is what the cgroup v1 memory controller counts about a group
// beyond its usage (v1 has no memory.events or memory.pressure).
type V1Memory struct {
	// Failcnt is memory.failcnt: how many times a charge hit
	// memory.limit_in_bytes (each one reclaimed from the group, or, if
	// nothing could be reclaimed, went to the OOM killer).
	Failcnt uint64
	// MaxUsage is memory.max_usage_in_bytes: the highest usage since the
	// group was made or ResetMaxUsage.
	MaxUsage int64
	// UnderOOM is memory.oom_control's under_oom: the group is out of
	// memory right now (its tasks wait for the OOM killer or for memory).
	UnderOOM bool
	// OOMKills is memory.oom_control's oom_kill: processes of the group
	// the OOM killer has killed.
	OOMKills uint64
}

// PSI is one line of a pressure file: the share of wall time some (or all)
// of the group's tasks stalled on the resource, averaged over 10, 60 and
// 300 s, and the total stall time.
type PSI struct {
	Avg10, Avg60, Avg300 float64
	Total                time.Duration
}

// Pressure is a group's memory.pressure.
type Pressure struct {
	Some, Full PSI
}

// String is a one-line summary for test logs.
func (p Pressure) String() string {
	return fmt.Sprintf("some %.2f%%/10s total %v, full %.2f%%/10s total %v",
		p.Some.Avg10, p.Some.Total.Round(time.Microsecond), p.Full.Avg10, p.Full.Total.Round(time.Microsecond))
}

// parsePressure reads the kernel's PSI format:
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// total is in microseconds.
func parsePressure(s string) (Pressure, error) {
	var p Pressure
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var dst *PSI
		switch f[0] {
		case "some":
			dst = &p.Some
		case "full":
			dst = &p.Full
		default:
			return p, fmt.Errorf("pressure: unexpected line %q", line)
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return p, fmt.Errorf("pressure: bad field %q", kv)
			}
			var err error
			switch k {
			case "avg10":
				dst.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				dst.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				dst.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				var us uint64
				us, err = strconv.ParseUint(v, 10, 64)
				dst.Total = time.Duration(us) * time.Microsecond
			}
			if err != nil {
				return p, fmt.Errorf("pressure: %q: %w", kv, err)
			}
		}
	}
	return p, nil
}

// parseKeyed reads a flat keyed file such as memory.events
// ("high 12\nmax 0\n..."), memory.stat or v1's memory.oom_control.
func parseKeyed(s string) (map[string]uint64, error) {
	m := map[string]uint64{}
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		m[f[0]] = n
	}
	return m, nil
}

// shellQuote quotes s for sh (single quotes, embedded ones escaped).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
