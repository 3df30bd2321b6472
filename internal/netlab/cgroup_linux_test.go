//go:build linux

package netlab

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParsePressure(t *testing.T) {
	p, err := parsePressure("some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Some.Avg10 != 1.5 || p.Some.Avg60 != 0.25 || p.Some.Total != 12345*time.Microsecond || p.Full.Total != 7*time.Microsecond {
		t.Errorf("parsed %+v", p)
	}
	if _, err := parsePressure("half avg10=1\n"); err == nil {
		t.Error("unknown line accepted")
	}
	m, err := parseKeyed("low 0\nhigh 12\nmax 0\noom 0\noom_kill 0\n")
	if err != nil || m["high"] != 12 || len(m) != 5 {
		t.Errorf("memory.events parsed %v, %v", m, err)
	}
}

// TestCgroupStartInside checks the mechanics every cgroup scenario relies
// on, with a plain group (no controller, so it also runs where the memory
// controller is bound to cgroup v1): a program started through Wrap, and
// one started through a Script, run inside the group from the start, in
// the node's network namespace, under the PID Start reports; the group is
// removed at cleanup.
func TestCgroupStartInside(t *testing.T) {
	lab := New(t, Options{Nodes: 1, NoClient: true})
	n := lab.Nodes[0]
	var path string
	t.Run("inside", func(t *testing.T) {
		cg := NewCgroup(t, "selftest")
		path = cg.Path
		argv := cg.Wrap("sleep", "30")
		wrapped := n.Start(t, argv[0], argv[1:]...)
		script, err := cg.Script(t.TempDir(), "sleep")
		if err != nil {
			t.Fatal(err)
		}
		scripted := n.Start(t, script, "30")
		own, _ := os.Readlink("/proc/self/ns/net")
		for _, p := range []*Proc{wrapped, scripted} {
			proc := "/proc/" + strconv.Itoa(p.PID())
			deadline := time.Now().Add(5 * time.Second)
			for {
				cmd, _ := os.ReadFile(proc + "/cmdline")
				if strings.HasPrefix(string(cmd), "sleep\x00") {
					break
				}
				if p.Exited() || time.Now().After(deadline) {
					t.Fatalf("pid %d did not become sleep (cmdline %q):\n%s", p.PID(), cmd, p.Output())
				}
				time.Sleep(5 * time.Millisecond)
			}
			if !cg.Contains(p.PID()) {
				b, _ := os.ReadFile(proc + "/cgroup")
				t.Errorf("pid %d is not in %s: %s", p.PID(), cg.Path, b)
			}
			if link, _ := os.Readlink(proc + "/ns/net"); link == own {
				t.Errorf("pid %d runs in the test's network namespace", p.PID())
			}
		}
		if pids, err := cg.PIDs(); err != nil || len(pids) != 2 {
			t.Errorf("group holds %v (%v), want the two sleeps", pids, err)
		}
	})
	// The subtest's cleanups killed the sleeps, then removed the group.
	if path == "" {
		return // skipped: no cgroup v2
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after the test (%v)", path, err)
	}
}
