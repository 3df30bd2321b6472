package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/internal/netlab"
)

// Fault suite scenarios 4 and 5 (issue 17): the master under memory
// pressure, and a storm of flapping checks. Each runs a hawatch pair and a
// keepalived pair at once, in separate labs, so the two see the same
// machine load; only hawatch's figures are asserted.

// advertGap returns the largest gap between adverts from src for vrid in
// [from, to], the window's edges included (silence at either end counts),
// and how many adverts fell in the window.
func advertGap(adverts []capturedAdvert, src netip.Addr, vrid int, from, to time.Time) (time.Duration, int) {
	prev, n := from, 0
	var worst time.Duration
	for _, a := range adverts {
		if a.src != src || int(a.vrid) != vrid || a.at.Before(from) || a.at.After(to) {
			continue
		}
		worst = max(worst, a.at.Sub(prev))
		prev = a.at
		n++
	}
	return max(worst, to.Sub(prev)), n
}

// cpuMeter accounts the CPU time of groups of processes between start and
// stop, in percent of one core (procTicks). A process that cannot be read
// at both ends (it exited, a plugin restarted) counts nothing.
type cpuMeter struct {
	groups [][]int
	ticks  map[int]int64
	at     time.Time
}

func startCPU(groups ...[]int) *cpuMeter {
	m := &cpuMeter{groups: groups, ticks: map[int]int64{}, at: time.Now()}
	for _, g := range groups {
		for _, pid := range g {
			if v, err := procTicks(pid); err == nil {
				m.ticks[pid] = v
			}
		}
	}
	return m
}

func (m *cpuMeter) stop() []float64 {
	secs := time.Since(m.at).Seconds()
	out := make([]float64, len(m.groups))
	for i, g := range m.groups {
		var n int64
		for _, pid := range g {
			before, ok := m.ticks[pid]
			if v, err := procTicks(pid); ok && err == nil {
				n += v - before
			}
		}
		out[i] = 100 * float64(n) / clkTck / secs
	}
	return out
}

// keepalivedChanges counts keepalived's state changes so far: it logs
// "(VI_1) Entering MASTER STATE" and the like for each.
func keepalivedChanges(p *netlab.Proc) int { return strings.Count(p.Output(), "Entering ") }

// needKeepalived skips without Debian's keepalived: the memory scenario
// starts it through a wrapper script (KeepalivedConfig.Binary), which
// bypasses StartKeepalived's own check.
func needKeepalived(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed")
	}
}

// ---- Scenario 4: memory pressure ----

const (
	memHold = 60 * time.Second
	// memWindow is how long squeeze watches which file-backed pages the
	// daemon references before it sizes the squeeze: hawatch references
	// about 1 MiB of its text in 5 s, 1.3-2.7 MiB in a minute (code that
	// runs now and then); the headroom covers what the window misses.
	memWindow = 5 * time.Second
	// memHeadroom (percent) and memFloor size the squeeze: the knob goes
	// max(memHeadroom %, memFloor, one read-around per CPU) above the
	// working set. Just above, so that cold file-backed pages (program
	// text, libraries) are reclaimed at once and a refault, a read-around
	// or an allocation burst meets the limit; never less than memFloor
	// above, for the heap's growth and the text the window did not see.
	//
	// Never less than one mmap read-around of the program's disk
	// (netlab.ReadAhead) per CPU. A major fault charges the whole
	// read-around to the group before the thread maps its page; with less
	// room than that, the read-around evicts the pages being faulted in
	// before they are mapped, and the group livelocks at its first major
	// fault. On this project's test machines the disk reads 8 MiB around.
	// hawatch at 13.2-13.6 MiB (its working set measured at 5.2-5.4 MiB,
	// so one read-around of room by the estimate, less in truth) did so in
	// 3 runs of 4: 150,000-250,000 refaults a second, threads stuck in
	// filemap_fault at PCs in sysmon, the async-preemption signal handler
	// (findfunc, pcdatavalue over pclntab), malloc, netpoll and the GARP
	// and advert paths, no advert for 15-20 s, 3-7 state changes; the same
	// with GODEBUG=asyncpreemptoff=1; at the working set + 2 MiB from the
	// first fault; at + 1.3 MiB until the OOM killer killed it. One
	// read-around per CPU leaves room for the window's shortfall and for
	// Go's several threads faulting at once. keepalived, at either size,
	// faulted nothing after the first reclaim.
	memHeadroom = 15
	memFloor    = 2 << 20
)

// memFigures is what one pair's memory-pressure run measured on the
// master's group.
type memFigures struct {
	ran     bool
	version int // cgroup version of the group
	gap     time.Duration
	adverts int
	changes int // both nodes
	// At the start of the hold: usage, and its split into page cache
	// (reclaimable) and pinned (anonymous and kernel memory); hot is the
	// page cache the group's processes touched in memWindow, the working
	// set pinned + hot; readAhead is the program disk's read-around; limit
	// is what the knob was set to.
	usage, file, pinned, hot, readAhead, limit int64
	peak                                       int64
	// memory.stat over the hold: major faults (text reclaim had evicted,
	// read back from disk: each brings a read-around with it), file
	// refaults (pages read back soon after their eviction), and (v1)
	// charge and uncharge events, one per folio, not per page.
	majfaults, refaults, pgpgin, pgpgout uint64
	// v1: times a charge hit memory.limit_in_bytes; OOM kills and whether
	// the group was out of memory at the end. v2: memory.high events,
	// OOM kills from memory.events, and memory.pressure.
	failcnt, highEvents, oomKills uint64
	underOOM                      bool
	pressureAfter                 netlab.Pressure
	// samples are taken every memSampleEvery through the hold; gapWhy
	// says what they show around the largest gap.
	samples []memSample
	gapWhy  string
}

func (f memFigures) String() string {
	if !f.ran {
		return "not run"
	}
	s := fmt.Sprintf("largest advert gap %s (%d adverts; %s), %d state changes; ", ms(f.gap), f.adverts, f.gapWhy, f.changes)
	if f.version == 1 {
		return s + fmt.Sprintf("cgroup v1 memory.limit_in_bytes = %d KiB (usage %d KiB: %d pinned + %d page cache, %d of it hot; read-around %d KiB): failcnt %d, max usage %d KiB, pgmajfault %d, file refaults %d, pgpgin/out %d/%d, oom_kill %d, under_oom %v",
			f.limit>>10, f.usage>>10, f.pinned>>10, f.file>>10, f.hot>>10, f.readAhead>>10, f.failcnt, f.peak>>10, f.majfaults, f.refaults, f.pgpgin, f.pgpgout, f.oomKills, f.underOOM)
	}
	return s + fmt.Sprintf("cgroup v2 memory.high = %d KiB (usage %d KiB: %d pinned + %d page cache, %d of it hot; read-around %d KiB): high events %d, peak %d KiB, pgmajfault %d, file refaults %d, oom_kill %d, pressure %v",
		f.limit>>10, f.usage>>10, f.pinned>>10, f.file>>10, f.hot>>10, f.readAhead>>10, f.highEvents, f.peak>>10, f.majfaults, f.refaults, f.oomKills, f.pressureAfter)
}

// memCounters is one reading of the counters squeeze compares.
type memCounters struct {
	stat   map[string]uint64
	v1     netlab.V1Memory
	events map[string]uint64 // v2
}

func readMemCounters(t *testing.T, cg *netlab.Cgroup) memCounters {
	t.Helper()
	var c memCounters
	var err error
	if c.stat, err = cg.Stat(); err != nil {
		t.Fatal(err)
	}
	if cg.Version() == 1 {
		c.v1, err = cg.V1()
	} else {
		c.events, err = cg.Events()
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// squeeze puts the group under memory pressure for memHold while the
// backup's capture runs, then lifts it, and returns the window it held.
//
// The knob is memory.high on cgroup v2 (reclaim and throttling above it)
// and memory.limit_in_bytes on v1, which has no memory.high: a hard limit,
// where a charge that would cross it reclaims from the group first and
// calls the OOM killer only if nothing can be reclaimed. Either is set
// max(memHeadroom %, memFloor, one read-around of the disk holding program
// per CPU) above the working set: the pinned memory
// (usage less page cache: anonymous and kernel memory, which cannot be
// reclaimed without swap) plus the page cache the group's processes
// referenced during memWindow (netlab.ReferencedFile). Not above the usage:
// the daemons run uncached copies of their programs, so most of their usage
// is text read ahead at start-up and never touched again, and a daemon in
// a steady state grows by a few hundred KiB a minute; a limit above the
// usage would never be met (without the copies, failcnt 0 and no page
// cache in the group at all).
func squeeze(t *testing.T, cg *netlab.Cgroup, program string, f *memFigures) (from, to time.Time) {
	t.Helper()
	f.version = cg.Version()
	ra, err := netlab.ReadAhead(program)
	if err != nil {
		t.Fatal(err)
	}
	f.readAhead = ra
	pids, err := cg.PIDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if err := netlab.ClearReferenced(pid); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(memWindow)
	// Summed over the processes: keepalived's parent and VRRP child share
	// their text, so its figure counts shared pages twice (more room for
	// keepalived, not less).
	for _, pid := range pids {
		n, err := netlab.ReferencedFile(pid)
		if err != nil {
			t.Fatal(err)
		}
		f.hot += n
	}
	usage, err := cg.Current()
	if err != nil {
		t.Fatal(err)
	}
	before := readMemCounters(t, cg)
	// v1 counts page cache (mapped or not, shmem included) as "cache", v2
	// as "file"; shmem is not reclaimable without swap.
	file := before.stat["file"]
	if f.version == 1 {
		file = before.stat["cache"]
	}
	file -= min(file, before.stat["shmem"])
	// Locked pages (lock_memory, vrrp_no_swap) are not reclaimable either;
	// counting all of unevictable against the page cache errs towards a
	// higher limit, never one the group cannot be squeezed to.
	file -= min(file, before.stat["unevictable"])
	const page = 4096
	f.usage, f.file = usage, min(int64(file), usage)
	f.pinned = usage - f.file
	// The referenced pages include a few the group is not charged for
	// (the system's dynamic loader, for keepalived): never more than the
	// group's page cache.
	f.hot = min(f.hot, f.file)
	ws := f.pinned + f.hot
	f.limit = (ws + max(ws*memHeadroom/100, memFloor, f.readAhead*int64(runtime.NumCPU())) + page - 1) / page * page
	if f.version == 1 {
		// Setting the limit reclaims down to it; the peak is counted
		// from then on.
		if err = cg.SetLimit(f.limit); err == nil {
			err = cg.ResetMaxUsage()
		}
	} else {
		err = cg.SetHigh(f.limit)
	}
	if err != nil {
		t.Fatal(err)
	}
	from = time.Now()
	f.samples = append(f.samples, takeMemSample(pids))
	tick := time.NewTicker(memSampleEvery)
	for range tick.C {
		f.samples = append(f.samples, takeMemSample(pids))
		if cur, err := cg.Current(); err == nil {
			f.peak = max(f.peak, cur)
		}
		if time.Since(from) >= memHold {
			break
		}
	}
	tick.Stop()
	to = time.Now()
	after := readMemCounters(t, cg)
	f.majfaults = after.stat["pgmajfault"] - before.stat["pgmajfault"]
	f.refaults = after.stat["workingset_refault_file"] - before.stat["workingset_refault_file"]
	if f.version == 1 {
		f.peak = max(f.peak, after.v1.MaxUsage)
		f.failcnt = after.v1.Failcnt - before.v1.Failcnt
		f.oomKills = after.v1.OOMKills - before.v1.OOMKills
		f.underOOM = after.v1.UnderOOM
		f.pgpgin = after.stat["pgpgin"] - before.stat["pgpgin"]
		f.pgpgout = after.stat["pgpgout"] - before.stat["pgpgout"]
		err = cg.SetLimit(0)
	} else {
		f.highEvents = after.events["high"] - before.events["high"]
		f.oomKills = after.events["oom_kill"] - before.events["oom_kill"]
		if f.pressureAfter, err = cg.Pressure(); err != nil {
			t.Fatal(err)
		}
		err = cg.SetHigh(0)
	}
	if err != nil {
		t.Fatal(err)
	}
	return from, to
}

// memSampleEvery is how often squeeze samples what can hold a daemon up:
// fine enough to place a stall of a few ms within one advert interval.
const memSampleEvery = 50 * time.Millisecond

// memSample is one reading of what can hold a squeezed daemon up: its
// processes' major faults, how long their threads have waited for a CPU,
// and the machine's stall times (PSI): CPU, memory (reclaim, refaults of
// pages evicted while active) and I/O (a major fault waits for its read
// there); the group's are included, cgroup v1 has no per-group PSI.
type memSample struct {
	at                       time.Time
	majflt                   uint64
	runWait                  time.Duration
	cpuSome, memSome, ioSome time.Duration
}

func takeMemSample(pids []int) memSample {
	m := memSample{at: time.Now()}
	for _, pid := range pids {
		// Fields after "(comm) ": state ppid pgrp session tty_nr tpgid
		// flags minflt cminflt majflt.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if _, rest, ok := strings.Cut(string(b), ") "); ok {
				if f := strings.Fields(rest); len(f) > 9 {
					n, _ := strconv.ParseUint(f[9], 10, 64)
					m.majflt += n
				}
			}
		}
		// schedstat: time on a CPU, time waiting on a run queue (ns),
		// timeslices; per thread.
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, task := range tasks {
			if b, err := os.ReadFile(task); err == nil {
				if f := strings.Fields(string(b)); len(f) > 1 {
					ns, _ := strconv.ParseInt(f[1], 10, 64)
					m.runWait += time.Duration(ns)
				}
			}
		}
	}
	m.cpuSome, m.memSome, m.ioSome = psiSome("/proc/pressure/cpu"), psiSome("/proc/pressure/memory"), psiSome("/proc/pressure/io")
	return m
}

// psiSome is the "some" total of a PSI file: how long at least one task
// stalled on the resource since boot.
func psiSome(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	_, total, _ := strings.Cut(line, "total=")
	us, _ := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return time.Duration(us) * time.Microsecond
}

// largestGapAt returns the edges of the largest gap advertGap measures.
func largestGapAt(adverts []capturedAdvert, src netip.Addr, vrid int, from, to time.Time) (start, end time.Time) {
	prev := from
	var worst time.Duration
	for _, a := range adverts {
		if a.src != src || int(a.vrid) != vrid || a.at.Before(from) || a.at.After(to) {
			continue
		}
		if d := a.at.Sub(prev); d > worst {
			worst, start, end = d, prev, a.at
		}
		prev = a.at
	}
	if to.Sub(prev) > worst {
		start, end = prev, to
	}
	return start, end
}

// stallsIn says what the samples show over [start, end], widened to the
// samples either side: where in the hold it was, the daemon's major faults
// and run-queue wait, and the machine's CPU, memory and I/O stall time.
func stallsIn(samples []memSample, holdFrom, start, end time.Time) string {
	if len(samples) < 2 {
		return "no samples"
	}
	i, j := 0, len(samples)-1
	for i+1 < len(samples) && !samples[i+1].at.After(start) {
		i++
	}
	for j > 0 && !samples[j-1].at.Before(end) {
		j--
	}
	a, b := samples[i], samples[j]
	return fmt.Sprintf("it ended %.1f s into the hold; from %.0f ms before to %.0f ms after it: %d major faults, run-queue wait %s, machine CPU stall %s, memory stall %s, I/O stall %s",
		end.Sub(holdFrom).Seconds(), float64(start.Sub(a.at).Milliseconds()), float64(b.at.Sub(end).Milliseconds()),
		b.majflt-a.majflt, ms(b.runWait-a.runWait), ms(b.cpuSome-a.cpuSome), ms(b.memSome-a.memSome), ms(b.ioSome-a.ioSome))
}

// TestFaultMemoryPressure: the master's daemon runs in a memory cgroup (v2
// memory.high, or v1 memory.limit_in_bytes where the memory controller is
// bound to cgroup v1), squeezed just above its working set for 60 s (see
// squeeze). hawatch must advertise on time throughout (largest gap at the
// backup < interval + 5 ms), neither node may change state, and the OOM
// killer must not have touched the group. keepalived (parent and VRRP
// child in the group) is measured the same way and printed.
func TestFaultMemoryPressure(t *testing.T) {
	needRoot(t)
	if err := netlab.CheckMemoryCgroup(); err != nil {
		t.Skip(err.Error())
	}
	sideBySide(t, "memory pressure 60 s", memoryPressureHawatch, memoryPressureKeepalived)
}

func memoryPressureHawatch(t *testing.T) memFigures {
	const vrid = 80
	vip := netip.MustParsePrefix("198.51.100.80/24")
	var f memFigures
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	cg := netlab.MemoryCgroup(t, "mem-hawatch")

	// The master starts inside the group, so its whole working set is
	// charged there (neither cgroup version moves charges with a process
	// by default), and from uncached copies of its binary and of the
	// libraries it loads (libc), so its text is too (uncachedProgram).
	// lb2 runs the shared binary.
	bin, libs := uncachedProgram(t, filepath.Join(binDir, "hawatch"))
	// Both pairs run on SCHED_RR, as in the plugin storm: other tests
	// share this 2-core machine, and the fault here is memory, not CPU.
	d1 := startDaemonInCgroup(t, lb1, cg, libs, bin, faultInstance(vrid, faultPrio[0], vip, "").String())
	waitVIP(t, lb1, vip, true, 10*time.Second)
	d2 := startDaemonWith(t, lb2, faultRealtime, faultInstance(vrid, faultPrio[1], vip, "").String())
	waitState(t, d2, "BACKUP", 5*time.Second)
	exactlyOne(t, vip, lb1, 500*time.Millisecond, lb1, lb2)
	if !cg.Contains(d1.proc.PID()) {
		t.Fatalf("lb1's hawatch (pid %d) is not in %s", d1.proc.PID(), cg.Path)
	}
	checkLibcFrom(t, d1.proc.PID(), libs)
	changes := stateChanges(d1) + stateChanges(d2)
	capture := startAdvertCapture(t, lb2)
	from, to := squeeze(t, cg, bin, &f)
	adverts := capture.stop()
	f.gap, f.adverts = advertGap(adverts, lb1.Addr4, vrid, from, to)
	gs, ge := largestGapAt(adverts, lb1.Addr4, vrid, from, to)
	f.gapWhy = stallsIn(f.samples, from, gs, ge)
	f.changes = stateChanges(d1) + stateChanges(d2) - changes
	f.ran = true
	t.Logf("hawatch: %v", f)

	if f.oomKills != 0 || d1.proc.Exited() {
		t.Errorf("lb1's hawatch under memory pressure: %d OOM kills in its group, exited %v (the limit, %d KiB, was too tight for it):\n%s",
			f.oomKills, d1.proc.Exited(), f.limit>>10, d1.proc.Output())
	}
	if limit := faultInterval + 5*time.Millisecond; f.gap >= limit {
		t.Errorf("largest gap between lb1's adverts under memory pressure: %s, want < %s (%s; load %s)", ms(f.gap), ms(limit), f.gapWhy, machineLoad())
	}
	if f.changes != 0 {
		t.Errorf("%d state changes under memory pressure, want 0", f.changes)
	}
	exactlyOne(t, vip, lb1, 10*time.Millisecond, lb1, lb2)
	return f
}

func memoryPressureKeepalived(t *testing.T) memFigures {
	needKeepalived(t)
	const vrid = 81
	vip := netip.MustParsePrefix("198.51.100.81/24")
	var f memFigures
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	cg := netlab.MemoryCgroup(t, "mem-keepalived")

	// keepalived is started by a script that joins the group first; the
	// VRRP child it forks (the process that sends adverts) inherits it. It
	// runs from uncached copies of its binary and shared libraries, as
	// hawatch does, so its text is charged to the group too: its own
	// binary is under 1 MiB, most of its code is in libc, libcrypto,
	// libnl... (hawatch's is in its 30 MB binary). The loader stays the
	// system's.
	keepalived, _ := exec.LookPath("keepalived")
	bin, libs := uncachedProgram(t, keepalived)
	dir := t.TempDir()
	script, err := cg.Script(dir, "env", "LD_LIBRARY_PATH="+libs, bin, "--vrrp")
	if err != nil {
		t.Fatal(err)
	}
	// On SCHED_RR with its memory locked, as hawatch is (faultRealtime,
	// faultLockMemory).
	c1, c2 := faultKeepalived(vrid, faultPrio[0], vip), faultKeepalived(vrid, faultPrio[1], vip)
	c1.Global = []string{"vrrp_rt_priority 10", "vrrp_no_swap"}
	c2.Global = c1.Global
	c1.Binary = script
	k1 := netlab.StartKeepalived(t, lb1, c1)
	waitVIP(t, lb1, vip, true, 10*time.Second)
	k2 := netlab.StartKeepalived(t, lb2, c2)
	time.Sleep(time.Second)
	exactlyOne(t, vip, lb1, 500*time.Millisecond, lb1, lb2)
	pids := append([]int{k1.PID()}, k1.ExtraPIDs()...)
	if len(pids) < 2 {
		t.Fatalf("keepalived on lb1: no VRRP child pid (%v)", pids)
	}
	for _, pid := range pids {
		if !cg.Contains(pid) {
			if err := cg.Add(pid); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkLibcFrom(t, pids[1], libs)

	changes := keepalivedChanges(k1) + keepalivedChanges(k2)
	capture := startAdvertCapture(t, lb2)
	from, to := squeeze(t, cg, bin, &f)
	adverts := capture.stop()
	f.gap, f.adverts = advertGap(adverts, lb1.Addr4, vrid, from, to)
	gs, ge := largestGapAt(adverts, lb1.Addr4, vrid, from, to)
	f.gapWhy = stallsIn(f.samples, from, gs, ge)
	f.changes = keepalivedChanges(k1) + keepalivedChanges(k2) - changes
	f.ran = true
	t.Logf("keepalived: %v", f)
	if f.oomKills != 0 || k1.Exited() {
		t.Logf("keepalived on lb1 under memory pressure: %d OOM kills in its group, exited %v", f.oomKills, k1.Exited())
	}
	return f
}

// uncachedProgram makes uncached copies (netlab.UncachedCopy) of the
// program src and of the shared libraries the loader resolves for it, in a
// temporary directory and its lib/, and returns the copy and the library
// directory (for LD_LIBRARY_PATH).
func uncachedProgram(t *testing.T, src string) (bin, libs string) {
	t.Helper()
	out, err := exec.Command("ldd", src).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "not a dynamic executable") {
		t.Fatalf("ldd %s: %v\n%s", src, err, out)
	}
	// A static binary (hawatch is built with CGO_ENABLED=0) loads no
	// libraries: only its own copy is needed.
	dir := t.TempDir()
	libs = filepath.Join(dir, "lib")
	if err := os.Mkdir(libs, 0o755); err != nil {
		t.Fatal(err)
	}
	// "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"; the vdso
	// and the loader have no "=> path".
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != "=>" || !strings.HasPrefix(f[2], "/") {
			continue
		}
		if err := netlab.UncachedCopy(f[2], filepath.Join(libs, f[0])); err != nil {
			t.Fatal(err)
		}
	}
	bin = filepath.Join(dir, filepath.Base(src))
	if err := netlab.UncachedCopy(src, bin); err != nil {
		t.Fatal(err)
	}
	return bin, libs
}

// checkLibcFrom logs when pid does not map libc from libs: the loader did
// not pick the uncached copies (uncachedProgram), so the program's library
// text is charged outside its group, and the two daemons are not squeezed
// alike.
func checkLibcFrom(t *testing.T, pid int, libs string) {
	t.Helper()
	if entries, _ := os.ReadDir(libs); len(entries) == 0 {
		return // a static program: no library text to charge
	}
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil || !strings.Contains(string(maps), filepath.Join(libs, "libc.so")) {
		t.Logf("pid %d does not map libc from %s (%v): its library text is charged elsewhere", pid, libs, err)
	}
}

// startDaemonInCgroup is startDaemonWith(faultRealtime, faultLockMemory)
// with the daemon started inside cg, from the hawatch binary bin with its
// libraries from libs.
func startDaemonInCgroup(t *testing.T, node *netlab.Node, cg *netlab.Cgroup, libs, bin, body string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, node: node, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	cfg := strings.Replace(nodeConfig(node, dir, body), "  log_level", "  "+faultRealtime+"\n  "+faultLockMemory+"\n  log_level", 1)
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := cg.Wrap("env", "LD_LIBRARY_PATH="+libs, bin, "run", "--config", d.config)
	d.proc = node.Start(t, argv[0], argv[1:]...)
	d.proc.Name = node.Name + ":hawatch"
	return d
}

// ---- Scenario 5: plugin storm ----

const (
	stormChecks = 20
	stormWeight = -2
	stormPeriod = 50 * time.Millisecond
	stormFor    = 30 * time.Second
	// settleWithin bounds how long the checks take to report a settled
	// state once the storm is called off (a flip or a period, plus delivery).
	settleWithin = 3 * time.Second
)

// The storm runs twice on the same pair: staggered (check i flips i × 2.5 ms
// into each period, so a result arrives every 2.5 ms) and in sync (all 20
// flip at the same instant: a burst of 20 results every 50 ms). After the
// first the checks settle failing (priority 150 - 40 = 110), after the
// second passing (150): both still above lb2's 100, so nothing may change
// state.
var stormRounds = []struct {
	mode, settle string
	prio         int // after settling
}{
	{"stagger", "fail", faultPrio[0] + stormChecks*stormWeight},
	{"sync", "ok", faultPrio[0]},
}

// validStormPrio reports whether some set of failing checks gives p.
func validStormPrio(p int) bool {
	d := faultPrio[0] - p
	return d >= 0 && d%(-stormWeight) == 0 && d/(-stormWeight) <= stormChecks
}

// stormFigures is what one pair's storm run measured.
type stormFigures struct {
	ran       bool
	gap       [2]time.Duration // per round
	adverts   [2]int
	invalid   int // adverts whose priority no set of failing checks gives
	changes   int
	settled   [2]string // the priority the adverts settled to, per round
	snapshots int       // status snapshots checked during the storms
	dropped   uint64    // check results the host dropped (consumer behind)
	restarts  uint64
	// CPU over both storms, in percent of one core: the master's daemon,
	// its check plugins (hawatch only), the backup's daemon.
	cpuMaster, cpuPlugins, cpuBackup float64
}

func (f stormFigures) String() string {
	if !f.ran {
		return "not run"
	}
	s := fmt.Sprintf("largest advert gap %s staggered / %s in sync (%d / %d adverts), %d state changes, %d adverts with an impossible priority, settled to %s / %s, CPU master %.1f %%",
		ms(f.gap[0]), ms(f.gap[1]), f.adverts[0], f.adverts[1], f.changes, f.invalid, f.settled[0], f.settled[1], f.cpuMaster)
	if f.snapshots > 0 {
		s += fmt.Sprintf(" + plugins %.1f %%", f.cpuPlugins)
	}
	s += fmt.Sprintf(", backup %.1f %%", f.cpuBackup)
	if f.snapshots > 0 {
		s += fmt.Sprintf(", ledger consistent in %d snapshots, %d results dropped, %d plugin restarts", f.snapshots, f.dropped, f.restarts)
	}
	return s
}

// settledPrio describes the priorities of src's adverts in [from, to]: the
// one value they all carried, or the mix.
func settledPrio(adverts []capturedAdvert, src netip.Addr, vrid int, from, to time.Time) (string, int, bool) {
	seen := map[uint8]int{}
	var order []uint8
	for _, a := range adverts {
		if a.src == src && int(a.vrid) == vrid && !a.at.Before(from) && !a.at.After(to) {
			if seen[a.priority] == 0 {
				order = append(order, a.priority)
			}
			seen[a.priority]++
		}
	}
	if len(order) == 1 {
		return fmt.Sprint(order[0]), int(order[0]), true
	}
	var parts []string
	for _, p := range order {
		parts = append(parts, fmt.Sprintf("%d×%d", p, seen[p]))
	}
	return "mixed [" + strings.Join(parts, " ") + "]", -1, false
}

// replaceFile replaces path's content in one step (rename), so a reader
// (the flap plugin, keepalived's inotify handler) never sees it half
// written.
func replaceFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	if err := replaceFile(path, content); err != nil {
		t.Fatal(err)
	}
}

// TestFaultPluginStorm: 20 checks on the master's one instance, weight -2
// each, flap every 50 ms for 30 s (staggered, then in sync). hawatch must
// keep advertising on time (largest gap at the backup < interval + 5 ms),
// change no state, advertise only priorities some set of failing checks
// gives, keep its ledger consistent (every status snapshot: priority = base
// + the contributions, each contribution what its check's last result
// says), and, once the checks settle, report and advertise the priority
// they say. keepalived runs the same storm through 20 track_files (the
// test rewrites them on the same schedule); its figures are printed.
func TestFaultPluginStorm(t *testing.T) {
	needRoot(t)
	sideBySide(t, "plugin storm 20×50 ms 30 s", pluginStormHawatch, pluginStormKeepalived)
}

func stormCheckName(i int) string { return fmt.Sprintf("flap%02d", i+1) }

// stormPolicy declares the 20 flap checks, all driven by one control file,
// and the instance tracking them with weight -2 each.
func stormPolicy(controlFile string, vrid int, vip netip.Prefix) string {
	var b, tracks strings.Builder
	b.WriteString(pluginDecl("flap", ""))
	for i := range stormChecks {
		phase := time.Duration(i) * stormPeriod / stormChecks
		fmt.Fprintf(&b, "check %q {\n  plugin = \"flap\"\n  config {\n    control = %q\n    period  = %q\n    phase   = %q\n  }\n}\n",
			stormCheckName(i), controlFile, stormPeriod.String(), phase.String())
		fmt.Fprintf(&tracks, "  track %q { weight = %d }\n", stormCheckName(i), stormWeight)
	}
	b.WriteString(faultInstance(vrid, faultPrio[0], vip, tracks.String()).String())
	return b.String()
}

// ledgerProblems lists what is inconsistent in one status snapshot of the
// storm instance: the priority must be the base plus the contributions,
// each flap contribution what the track's verdict gives, each verdict what
// the check's last result says (rise = fall = 1), any other line (a check
// the daemon adds itself, such as the link's) up and contributing nothing,
// and the instance MASTER.
func ledgerProblems(st control.Status) []string {
	var bad []string
	if len(st.Instances) == 0 {
		return []string{"no instance"}
	}
	in := st.Instances[0]
	if in.State != "MASTER" {
		bad = append(bad, "state "+in.State)
	}
	last := map[string]string{}
	for _, c := range st.Checks {
		last[c.Name] = c.Status
	}
	sum, flaps := 0, 0
	for _, e := range in.Ledger {
		sum += e.Contribution
		if !strings.HasPrefix(e.Check, "flap") {
			if !e.Up || e.Contribution != 0 {
				bad = append(bad, fmt.Sprintf("%s: up = %v, contribution %d (%s)", e.Check, e.Up, e.Contribution, e.Reason))
			}
			continue
		}
		flaps++
		want := 0
		if !e.Up {
			want = stormWeight
		}
		switch {
		case e.Effect != "weight" || e.Weight != stormWeight:
			bad = append(bad, fmt.Sprintf("%s: effect %s weight %d", e.Check, e.Effect, e.Weight))
		case e.Status != "ok" && e.Status != "fail":
			bad = append(bad, fmt.Sprintf("%s: status %s (%s)", e.Check, e.Status, e.Reason))
		case e.Up != (e.Status == "ok"):
			bad = append(bad, fmt.Sprintf("%s: status %s but up = %v", e.Check, e.Status, e.Up))
		case e.Contribution != want:
			bad = append(bad, fmt.Sprintf("%s: up = %v but contribution %d", e.Check, e.Up, e.Contribution))
		case last[e.Check] != e.Status:
			bad = append(bad, fmt.Sprintf("%s: ledger says %s, last result %s", e.Check, e.Status, last[e.Check]))
		}
	}
	if flaps != stormChecks {
		bad = append(bad, fmt.Sprintf("%d flap checks in the ledger, want %d", flaps, stormChecks))
	}
	if in.EffectivePriority != in.Priority+sum {
		bad = append(bad, fmt.Sprintf("effective priority %d, base %d + contributions %d = %d", in.EffectivePriority, in.Priority, sum, in.Priority+sum))
	}
	return bad
}

func pluginStormHawatch(t *testing.T) stormFigures {
	const vrid = 82
	vip := netip.MustParsePrefix("198.51.100.82/24")
	var f stormFigures
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	controlFile := filepath.Join(t.TempDir(), "flap-mode")
	writeAtomic(t, controlFile, "ok")
	d1, d2 := startFaultPairWith(t, lb1, lb2, vip, faultRealtime, stormPolicy(controlFile, vrid, vip), faultInstance(vrid, faultPrio[1], vip, "").String())
	var bad []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st := d1.mustStatus()
		if bad = ledgerProblems(st); len(bad) == 0 && st.Instances[0].EffectivePriority == faultPrio[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lb1's 20 checks not all reported ok after 10 s: %s (priority %d)", strings.Join(bad, "; "), st.Instances[0].EffectivePriority)
		}
	}

	changes := stateChanges(d1) + stateChanges(d2)
	var plugins []int
	for _, p := range d1.mustStatus().Plugins {
		plugins = append(plugins, p.PID)
	}
	cpu := startCPU([]int{d1.proc.PID()}, plugins, []int{d2.proc.PID()})
	capture := startAdvertCapture(t, lb2)
	for r, round := range stormRounds {
		writeAtomic(t, controlFile, round.mode)
		from := time.Now()
		problems := 0
		for time.Since(from) < stormFor {
			if bad := ledgerProblems(d1.mustStatus()); len(bad) > 0 {
				if problems++; problems <= 3 {
					t.Errorf("%s storm, %v in: ledger inconsistent: %s", round.mode, time.Since(from).Round(time.Millisecond), strings.Join(bad, "; "))
				}
			}
			f.snapshots++
			time.Sleep(200 * time.Millisecond)
		}
		writeAtomic(t, controlFile, round.settle)
		to := time.Now()

		// The checks settle: every ledger line says so, the priority is
		// what they give, and so is every advert sent after that.
		var st control.Status
		for deadline := time.Now().Add(settleWithin); ; time.Sleep(20 * time.Millisecond) {
			st = d1.mustStatus()
			var pending []string
			for _, e := range st.Instances[0].Ledger {
				if strings.HasPrefix(e.Check, "flap") && (e.Status != round.settle || e.Reason != round.settle+" (settled)") {
					pending = append(pending, fmt.Sprintf("%s %s (%s)", e.Check, e.Status, e.Reason))
				}
			}
			if len(pending) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v after the %s storm, checks still not settled %s: %s", settleWithin, round.mode, round.settle, strings.Join(pending, ", "))
			}
		}
		if bad := ledgerProblems(st); len(bad) > 0 {
			t.Errorf("after the %s storm: ledger inconsistent: %s", round.mode, strings.Join(bad, "; "))
		}
		if p := st.Instances[0].EffectivePriority; p != round.prio {
			t.Errorf("after the %s storm: effective priority %d, want %d (20 checks %s)", round.mode, p, round.prio, round.settle)
		}
		settledAt := time.Now()
		time.Sleep(500 * time.Millisecond)
		var prio int
		var ok bool
		f.settled[r], prio, ok = settledPrio(capture.snapshot(), lb1.Addr4, vrid, settledAt, time.Now())
		if !ok || prio != st.Instances[0].EffectivePriority {
			t.Errorf("after the %s storm: adverts carry priority %s, ledger says %d", round.mode, f.settled[r], st.Instances[0].EffectivePriority)
		}
		f.gap[r], f.adverts[r] = advertGap(capture.snapshot(), lb1.Addr4, vrid, from, to)
		if limit := faultInterval + 5*time.Millisecond; f.gap[r] >= limit {
			t.Errorf("%s storm: largest gap between lb1's adverts %s, want < %s (load %s)", round.mode, ms(f.gap[r]), ms(limit), machineLoad())
		}
	}
	adverts := capture.stop()
	if c := cpu.stop(); len(c) == 3 {
		f.cpuMaster, f.cpuPlugins, f.cpuBackup = c[0], c[1], c[2]
	}
	for _, a := range adverts {
		if a.src == lb1.Addr4 && int(a.vrid) == vrid && !validStormPrio(int(a.priority)) {
			if f.invalid++; f.invalid <= 3 {
				t.Errorf("advert at %s with priority %d: no set of failing checks gives it", a.at.Format("15:04:05.000"), a.priority)
			}
		}
	}
	f.changes = stateChanges(d1) + stateChanges(d2) - changes
	if f.changes != 0 {
		t.Errorf("%d state changes during the storms, want 0", f.changes)
	}
	for _, p := range d1.mustStatus().Plugins {
		f.dropped += p.Dropped
		f.restarts += p.Restarts
	}
	exactlyOne(t, vip, lb1, 10*time.Millisecond, lb1, lb2)
	f.ran = true
	t.Logf("hawatch: %v", f)
	return f
}

// flapFiles rewrites keepalived's track files on the flap plugin's
// schedule until stop is closed: file i holds 0 (ok) during even periods
// and 1 (fail: 1 × weight -2) during odd ones, offset by i × 2.5 ms when
// staggered. It returns the first write error.
func flapFiles(files []string, mode string, stop <-chan struct{}) error {
	last := make([]int, len(files))
	for i := range last {
		last[i] = -1
	}
	for {
		now := time.Now()
		var next time.Time
		for i, file := range files {
			phase := time.Duration(0)
			if mode == "stagger" {
				phase = time.Duration(i) * stormPeriod / time.Duration(len(files))
			}
			k := (now.UnixNano() - int64(phase)) / int64(stormPeriod)
			if v := int(k % 2); v != last[i] {
				if err := replaceFile(file, fmt.Sprint(v)); err != nil {
					return err
				}
				last[i] = v
			}
			if at := time.Unix(0, (k+1)*int64(stormPeriod)+int64(phase)); next.IsZero() || at.Before(next) {
				next = at
			}
		}
		select {
		case <-stop:
			return nil
		case <-time.After(time.Until(next)):
		}
	}
}

func pluginStormKeepalived(t *testing.T) stormFigures {
	needKeepalived(t)
	const vrid = 83
	vip := netip.MustParsePrefix("198.51.100.83/24")
	var f stormFigures
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]

	// track_file blocks live at the top level, before the instance that
	// names them; KeepalivedConfig has no place for top-level blocks, so
	// the global lines close global_defs, declare them, and open a second
	// (empty, harmless) global_defs that Render's closing brace ends.
	dir := t.TempDir()
	files := make([]string, stormChecks)
	// Both implementations run their VRRP process on SCHED_RR, as a
	// crowded machine wants (hawatch: faultRealtime).
	global := []string{"vrrp_rt_priority 10", "}"}
	extra := []string{"track_file {"}
	for i := range files {
		files[i] = filepath.Join(dir, stormCheckName(i))
		writeAtomic(t, files[i], "0")
		global = append(global, fmt.Sprintf("track_file %s {", stormCheckName(i)), fmt.Sprintf("    file %q", files[i]),
			fmt.Sprintf("    weight %d", stormWeight), "}")
		extra = append(extra, "    "+stormCheckName(i))
	}
	global = append(global, "global_defs {")
	extra = append(extra, "}")
	c1 := faultKeepalived(vrid, faultPrio[0], vip)
	c1.Global, c1.Extra = global, extra
	k1 := netlab.StartKeepalived(t, lb1, c1)
	waitVIP(t, lb1, vip, true, 10*time.Second)
	k2 := netlab.StartKeepalived(t, lb2, faultKeepalived(vrid, faultPrio[1], vip))
	time.Sleep(time.Second)
	exactlyOne(t, vip, lb1, 500*time.Millisecond, lb1, lb2)

	changes := keepalivedChanges(k1) + keepalivedChanges(k2)
	cpu := startCPU(append([]int{k1.PID()}, k1.ExtraPIDs()...), append([]int{k2.PID()}, k2.ExtraPIDs()...))
	capture := startAdvertCapture(t, lb2)
	for r, round := range stormRounds {
		stop, done := make(chan struct{}), make(chan error, 1)
		go func() { done <- flapFiles(files, round.mode, stop) }()
		from := time.Now()
		time.Sleep(stormFor)
		close(stop)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		value := "0"
		if round.settle == "fail" {
			value = "1"
		}
		for _, file := range files {
			writeAtomic(t, file, value)
		}
		to := time.Now()
		// keepalived has no ledger to ask: give it what hawatch may take
		// at most, then read the priority off its adverts.
		time.Sleep(settleWithin)
		f.settled[r], _, _ = settledPrio(capture.snapshot(), lb1.Addr4, vrid, time.Now().Add(-500*time.Millisecond), time.Now())
		f.gap[r], f.adverts[r] = advertGap(capture.snapshot(), lb1.Addr4, vrid, from, to)
	}
	adverts := capture.stop()
	if c := cpu.stop(); len(c) == 2 {
		f.cpuMaster, f.cpuBackup = c[0], c[1]
	}
	for _, a := range adverts {
		if a.src == lb1.Addr4 && int(a.vrid) == vrid && !validStormPrio(int(a.priority)) {
			f.invalid++
		}
	}
	f.changes = keepalivedChanges(k1) + keepalivedChanges(k2) - changes
	f.ran = true
	t.Logf("keepalived: %v", f)
	return f
}
