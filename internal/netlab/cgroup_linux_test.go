//go:build linux

package netlab

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
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

func TestGroupIn(t *testing.T) {
	// A hybrid layout: the memory controller on v1, a cgroup2 mount with
	// no controllers.
	hybrid := "9:name=systemd:/\n4:cpu,memory:/a/b\n3:cpuset:/\n0::/c\n"
	if g, ok := groupIn(hybrid, true); !ok || g != "/a/b" {
		t.Errorf("v1 memory group %q, %v; want /a/b", g, ok)
	}
	if g, ok := groupIn(hybrid, false); !ok || g != "/c" {
		t.Errorf("v2 group %q, %v; want /c", g, ok)
	}
	if _, ok := groupIn("0::/\n", true); ok {
		t.Error("v1 memory group found on a v2-only machine")
	}
}

func TestWorkingSetProbes(t *testing.T) {
	pid := os.Getpid()
	if err := ClearReferenced(pid); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("clear_refs needs privileges here: %v", err)
		}
		t.Fatal(err)
	}
	// The test binary runs: some of its text is referenced again at once.
	time.Sleep(10 * time.Millisecond)
	n, err := ReferencedFile(pid)
	if err != nil || n <= 0 {
		t.Errorf("ReferencedFile(self) = %d, %v; want some text", n, err)
	}
	ra, err := ReadAhead(os.TempDir())
	if err != nil || ra <= 0 {
		t.Errorf("ReadAhead(%s) = %d, %v", os.TempDir(), ra, err)
	}
}

// TestMemoryCgroupLimit checks what the memory-pressure scenario relies on,
// on whichever cgroup version holds the memory controller here: a program
// started inside a MemoryCgroup from an UncachedCopy is charged for the
// file it reads, the limit (SetLimit) makes the kernel reclaim that page
// cache instead of letting the group grow past it, and the counters show
// it without an OOM kill. The file (48 MiB) is three times the limit.
func TestMemoryCgroupLimit(t *testing.T) {
	if err := CheckMemoryCgroup(); err != nil {
		t.Skip(err.Error())
	}
	lab := New(t, Options{Nodes: 1, NoClient: true})
	cg := MemoryCgroup(t, "limit")
	if _, v1, _ := memoryHierarchy(); v1 != (cg.Version() == 1) {
		t.Fatalf("group on cgroup v%d, hierarchy says v1 = %v", cg.Version(), v1)
	}
	dir := t.TempDir()
	src, data := filepath.Join(dir, "src"), filepath.Join(dir, "data")
	if err := os.WriteFile(src, make([]byte, 48<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := UncachedCopy(src, data); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(src)
	if n := residentPages(t, data); n != 0 {
		t.Fatalf("UncachedCopy left %d pages of %s in the page cache", n, data)
	}

	const limit = 16 << 20
	if err := cg.SetLimit(limit); err != nil {
		t.Fatal(err)
	}
	if cg.Version() == 1 {
		if err := cg.SetHigh(limit); err == nil || !strings.Contains(err.Error(), "v2 only") {
			t.Errorf("SetHigh on a v1 group: %v, want a v2-only error", err)
		}
	}
	before, err := cg.Stat()
	if err != nil {
		t.Fatal(err)
	}
	argv := cg.Wrap("dd", "if="+data, "of=/dev/null", "bs=1M")
	p := lab.Nodes[0].Start(t, argv[0], argv[1:]...)
	if err := p.Wait(30 * time.Second); err != nil {
		t.Fatalf("dd in the group: %v\n%s", err, p.Output())
	}
	after, err := cg.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if cg.Version() == 1 {
		// pgpgin counts charge events, one per folio (ext4 caches in
		// large folios): that there are any is what matters.
		if after["pgpgin"] == before["pgpgin"] {
			t.Error("the group was charged nothing reading 48 MiB")
		}
		m, err := cg.V1()
		if err != nil {
			t.Fatal(err)
		}
		if m.Failcnt == 0 || m.MaxUsage > limit || m.OOMKills != 0 {
			t.Errorf("v1 counters after reading 48 MiB under a 16 MiB limit: %+v; want failcnt > 0, max usage <= limit, no OOM kill", m)
		}
	} else {
		ev, err := cg.Events()
		if err != nil {
			t.Fatal(err)
		}
		if ev["max"] == 0 || ev["oom_kill"] != 0 {
			t.Errorf("memory.events after reading 48 MiB under a 16 MiB memory.max: %v; want max > 0, no OOM kill", ev)
		}
	}
	if cur, err := cg.Current(); err != nil || cur > limit {
		t.Errorf("usage %d (%v), above the %d limit", cur, err, limit)
	}
	if err := cg.SetLimit(0); err != nil {
		t.Error(err)
	}
}

// residentPages counts the pages of path in the page cache (mincore).
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	// x/sys/unix has no Mincore wrapper.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
