package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hawatch/hawatch/internal/netlab"
)

// TestBenchWakeups counts what one idle pair costs the kernel's scheduler
// (issue 15, "profile first"): perf stat over 10 s of each daemon's task
// clock, context switches, CPU migrations and page faults, for hawatch at
// 10 ms and 100 ms adverts and keepalived 2.2.7 at 100 ms, one instance,
// in one run. It prints figures and asserts nothing (docs/benchmarks.md,
// "Where an idle pair's CPU goes"):
//
//	HAWATCH_BENCH=1 go test -count=1 -v -run TestBenchWakeups ./e2e   # root, perf; ~70 s
func TestBenchWakeups(t *testing.T) {
	if os.Getenv("HAWATCH_BENCH") == "" {
		t.Skip("benchmark: set HAWATCH_BENCH=1 to run (about 70 s; needs perf)")
	}
	if _, err := exec.LookPath("perf"); err != nil {
		t.Skip("benchmark: needs perf (Debian linux-perf)")
	}
	vip := netip.MustParsePrefix("198.51.100.77/24")
	for _, iv := range []string{"10ms", "100ms"} {
		lab := netlab.New(t, netlab.Options{Nodes: 2})
		i1 := instance{vrid: 77, prio: 150, version: 3, interval: iv, vips: []string{vip.String()}}
		i2 := instance{vrid: 77, prio: 100, version: 3, interval: iv, vips: []string{vip.String()}}
		d1, d2 := startFaultPair(t, lab.Nodes[0], lab.Nodes[1], vip, i1.String(), i2.String())
		t.Logf("WAKEUPS hawatch 1 × %-5s master: %s", iv, perfStat(t, d1.proc.PID()))
		t.Logf("WAKEUPS hawatch 1 × %-5s backup: %s", iv, perfStat(t, d2.proc.PID()))
		d1.stop()
		d2.stop()
	}
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	k1, k2 := startKeepalivedFaultPair(t, lab.Nodes[0], lab.Nodes[1], 78, vip)
	t.Logf("WAKEUPS keepalived 1 × 100ms master: %s", perfStat(t, append([]int{k1.PID()}, k1.ExtraPIDs()...)...))
	t.Logf("WAKEUPS keepalived 1 × 100ms backup: %s", perfStat(t, append([]int{k2.PID()}, k2.ExtraPIDs()...)...))
	t.Logf("WAKEUPS %s", machineLoad())
}

// perfStat counts the processes' scheduler events over 10 s.
func perfStat(t *testing.T, pids ...int) string {
	t.Helper()
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = fmt.Sprint(p)
	}
	b, err := exec.Command("perf", "stat", "-x", ",", "-e", "task-clock,context-switches,cpu-migrations,page-faults",
		"-p", strings.Join(ps, ","), "--", "sleep", "10").CombinedOutput()
	if err != nil {
		t.Fatalf("perf stat: %v\n%s", err, b)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ","); len(f) > 3 {
			out = append(out, f[2]+"="+f[0])
		}
	}
	return strings.Join(out, " ")
}
