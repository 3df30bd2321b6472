package realtime

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestApply: every thread of the process is moved to SCHED_RR, and a child
// process does not inherit it. Runs in a child test process so the test
// binary's own threads stay as they are.
func TestApply(t *testing.T) {
	if os.Getenv("HAWATCH_REALTIME_CHILD") == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs CAP_SYS_NICE (run as root)")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestApply$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "HAWATCH_REALTIME_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	if err := Apply(7); err != nil {
		t.Fatal(err)
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		a, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // ended meanwhile
		}
		if a.Policy != unix.SCHED_RR || a.Priority != 7 {
			t.Errorf("thread %d: policy %d priority %d, want SCHED_RR 7", tid, a.Policy, a.Priority)
		}
	}
	out, err := exec.Command("chrt", "-p", "0").CombinedOutput() // chrt -p of itself: pid 0
	if err != nil {
		t.Fatalf("chrt: %v %s", err, out)
	}
	if !strings.Contains(string(out), "SCHED_OTHER") {
		t.Errorf("a child inherited the policy: %s", out)
	}
	if err := Apply(100); err == nil {
		t.Error("priority 100 accepted")
	}
}

// TestLockMemory: after LockMemory the process's resident pages are
// locked (VmLck in /proc/self/status). In a child test process.
func TestLockMemory(t *testing.T) {
	if os.Getenv("HAWATCH_REALTIME_CHILD") == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs CAP_IPC_LOCK (run as root)")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockMemory$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "HAWATCH_REALTIME_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	if err := LockMemory(); err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmLck:" {
			if kb, _ := strconv.Atoi(f[1]); kb == 0 {
				t.Errorf("VmLck %s kB after LockMemory", f[1])
			}
			return
		}
	}
	t.Fatal("no VmLck in /proc/self/status")
}
