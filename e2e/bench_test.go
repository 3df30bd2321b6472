package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/netlab"
)

// Benchmarks of the VRRP engine next to keepalived 2.2.7, in one run. They
// print tables (docs/benchmarks.md "VRRP failover") instead of asserting
// bounds, and run only when asked, as root:
//
//	HAWATCH_BENCH=1 go test -count=1 -timeout 60m -v -run 'TestBench(Failover|Resources)' ./e2e
//
// HAWATCH_BENCH_RUNS=N overrides the number of runs per cell (default 5 at
// 1 s, 20 at 100 ms and 10 ms).

func needBench(t *testing.T) {
	t.Helper()
	needRoot(t)
	if os.Getenv("HAWATCH_BENCH") == "" {
		t.Skip("benchmark: set HAWATCH_BENCH=1 to run (takes ~15 minutes)")
	}
}

type benchMode struct {
	name     string
	version  int
	interval time.Duration
	auth     string
	runs     int
	vrid     int
}

var benchModes = []benchMode{
	{name: "v2 1s PASS", version: 2, interval: time.Second, auth: "1111", runs: 5, vrid: 81},
	{name: "v3 100ms", version: 3, interval: 100 * time.Millisecond, runs: 20, vrid: 82},
	{name: "v3 10ms", version: 3, interval: 10 * time.Millisecond, runs: 20, vrid: 83},
}

var benchVIP = netip.MustParsePrefix("198.51.100.50/24")

// Backup priority in every benchmark; the master has 100.
const benchBackupPrio = 50

// stopper is a running master: stop(crash) sends SIGKILL or SIGTERM,
// wait waits for the process (and its helpers) to be gone.
type stopper struct {
	stop func(crash bool)
	wait func() error
}

// benchImpl starts one VRRP implementation in a node.
type benchImpl struct {
	name  string
	start func(t *testing.T, n *netlab.Node, m benchMode, prio int) stopper
}

var benchImpls = []benchImpl{
	{name: "hawatch", start: func(t *testing.T, n *netlab.Node, m benchMode, prio int) stopper {
		i := instance{vrid: m.vrid, prio: prio, version: m.version, interval: m.interval.String(), auth: m.auth, vips: []string{benchVIP.String()}}
		d := startQuietDaemon(t, n, i.String())
		return stopper{
			stop: func(crash bool) {
				if crash {
					d.proc.Kill()
				} else {
					_ = d.proc.Signal(syscall.SIGTERM)
				}
			},
			wait: func() error { return d.proc.Wait(10 * time.Second) },
		}
	}},
	{name: "keepalived", start: func(t *testing.T, n *netlab.Node, m benchMode, prio int) stopper {
		p := netlab.StartKeepalived(t, n, netlab.KeepalivedConfig{
			VRID: m.vrid, Priority: prio, Version: m.version, AdvertInterval: m.interval,
			AuthPass: m.auth, VIPs: []string{benchVIP.String()},
		})
		return stopper{
			stop: func(crash bool) {
				if crash {
					p.Kill()
				} else {
					_ = p.Signal(syscall.SIGTERM)
				}
			},
			wait: func() error {
				err := p.Wait(10 * time.Second)
				for _, pid := range p.ExtraPIDs() {
					for deadline := time.Now().Add(5 * time.Second); processExists(pid) && time.Now().Before(deadline); {
						time.Sleep(5 * time.Millisecond)
					}
				}
				return err
			},
		}
	}},
}

// startQuietDaemon is startDaemon at log level info, as in production.
func startQuietDaemon(t *testing.T, node *netlab.Node, body string) *daemon {
	t.Helper()
	return startQuietDaemonWith(t, node, "", body)
}

// startQuietDaemonWith is startQuietDaemon with nodeAttrs (lines such as
// `realtime_priority = 10`) in the node block. It runs the binary named by
// HAWATCH_BENCH_BIN when set (`make bench`: the release build, stripped and
// trimmed as installed), else the harness's build.
func startQuietDaemonWith(t *testing.T, node *netlab.Node, nodeAttrs, body string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, node: node, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	cfg := strings.Replace(nodeConfig(node, dir, body), `"debug"`, `"info"`, 1)
	if nodeAttrs != "" {
		cfg = strings.Replace(cfg, "  log_level", "  "+nodeAttrs+"\n  log_level", 1)
	}
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("HAWATCH_BENCH_BIN")
	if bin == "" {
		bin = filepath.Join(binDir, "hawatch")
	}
	d.proc = node.Start(t, bin, "run", "--config", d.config)
	return d
}

func processExists(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie has released its sockets and addresses already.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// addrWatch timestamps every appearance of one address in a namespace, from
// a netlink subscription (no polling interval in the measurement).
type addrWatch struct {
	added chan time.Time
	done  chan struct{}
}

func watchAddr(t *testing.T, n *netlab.Node, p netip.Prefix) *addrWatch {
	t.Helper()
	h, err := netns.GetFromName(n.NS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	w := &addrWatch{added: make(chan time.Time, 64), done: make(chan struct{})}
	updates := make(chan netlink.AddrUpdate, 64)
	err = netlink.AddrSubscribeWithOptions(updates, w.done, netlink.AddrSubscribeOptions{
		Namespace: &h,
		ErrorCallback: func(err error) {
			select {
			case <-w.done: // closing the subscription makes its last read fail
			default:
				t.Logf("%s: address subscription: %v", n.Name, err)
			}
		},
	})
	if err != nil {
		t.Fatalf("%s: subscribe to addresses: %v", n.Name, err)
	}
	go func() {
		for u := range updates {
			at := time.Now()
			ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if ok && u.NewAddr && ip.Unmap() == p.Addr() {
				select {
				case w.added <- at:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { close(w.done) })
	return w
}

// drain forgets events seen so far.
func (w *addrWatch) drain() {
	for {
		select {
		case <-w.added:
		default:
			return
		}
	}
}

// next waits for the next appearance after since.
func (w *addrWatch) next(since time.Time, timeout time.Duration) (time.Duration, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case at := <-w.added:
			if at.After(since) {
				return at.Sub(since), true
			}
		case <-deadline.C:
			return 0, false
		}
	}
}

type benchResult struct {
	mode    benchMode
	kind    string // "crash" or "graceful"
	impl    string
	samples []time.Duration // signal → VIP on lb2
	// sinceAdvert: lb1's last advert as lb2's kernel received it → VIP on
	// lb2. Free of the advert-cycle phase: what the backup's timer measured.
	sinceAdvert []time.Duration
	failed      int
}

func TestBenchFailover(t *testing.T) {
	needBench(t)
	runsOverride, _ := strconv.Atoi(os.Getenv("HAWATCH_BENCH_RUNS"))
	fmt.Printf("start %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
	var results []benchResult
	for _, m := range benchModes {
		if runsOverride > 0 {
			m.runs = runsOverride
		}
		for _, impl := range benchImpls {
			t.Run(m.name+"/"+impl.name, func(t *testing.T) {
				results = append(results, benchFailover(t, m, impl)...)
			})
		}
	}
	printFailoverTable(results)
	fmt.Printf("end %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
}

func benchFailover(t *testing.T, m benchMode, impl benchImpl) []benchResult {
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	mdi := vrrp.MasterDownInterval(uint8(m.version), benchBackupPrio, m.interval)
	impl.start(t, lb2, m, benchBackupPrio)
	watch := watchAddr(t, lb2, benchVIP)
	heard := startAdvertCapture(t, lb2)
	rng := rand.New(rand.NewPCG(uint64(m.vrid), uint64(len(impl.name))))

	var out []benchResult
	for _, kind := range []string{"crash", "graceful"} {
		res := benchResult{mode: m, kind: kind, impl: impl.name}
		for run := range m.runs {
			master := impl.start(t, lb1, m, 100)
			// Converged: lb1 preempted (after its Master_Down_Interval) and
			// lb2 heard it and released the VIP.
			waitVIP(t, lb1, benchVIP, true, 3*mdi+10*time.Second)
			waitVIP(t, lb2, benchVIP, false, 3*mdi+5*time.Second)
			// A few adverts of steady state, then a random phase within
			// the advert cycle: a crash right after an advert waits a full
			// Master_Down_Interval, one just before the next advert would
			// have gone out waits about one interval less.
			time.Sleep(2*m.interval + 50*time.Millisecond + time.Duration(rng.Int64N(int64(m.interval))))
			watch.drain()

			start := time.Now()
			master.stop(kind == "crash")
			took, ok := watch.next(start, 3*mdi+3*time.Second)
			if ok {
				res.samples = append(res.samples, took)
			} else {
				res.failed++
				t.Errorf("%s %s run %d: lb2 did not take the VIP", kind, impl.name, run)
			}
			if err := master.wait(); err != nil && kind == "graceful" {
				t.Errorf("%s %s run %d: master after SIGTERM: %v", kind, impl.name, run, err)
			}
			if ok {
				if last, found := lastAdvert(heard.snapshot(), lb1.Addr4, uint8(m.vrid), start.Add(took)); found {
					res.sinceAdvert = append(res.sinceAdvert, start.Add(took).Sub(last))
				}
			}
			// A crashed master leaves its VIP behind; clear it so the next
			// start begins from a clean interface for both implementations.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = lb1.Exec(ctx, "ip", "addr", "del", benchVIP.String(), "dev", "eth0")
			cancel()
		}
		t.Logf("%s %s %s: %v", m.name, kind, impl.name, res.samples)
		out = append(out, res)
	}
	return out
}

// lastAdvert is the time of the last advert from src for vrid before t.
func lastAdvert(adverts []capturedAdvert, src netip.Addr, vrid uint8, t time.Time) (time.Time, bool) {
	var last time.Time
	for _, a := range adverts {
		if a.src == src && a.vrid == vrid && a.at.Before(t) && a.at.After(last) {
			last = a.at
		}
	}
	return last, !last.IsZero()
}

func printFailoverTable(results []benchResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| mode | stop | implementation | runs | signal → VIP min / median / max | lb1's last advert → VIP min / median / max | RFC (backup prio %d) |\n|---|---|---|---|---|---|---|\n", benchBackupPrio)
	for _, r := range results {
		v := uint8(r.mode.version)
		mdi := vrrp.MasterDownInterval(v, benchBackupPrio, r.mode.interval)
		skew := vrrp.SkewTime(v, benchBackupPrio, r.mode.interval)
		ref := fmt.Sprintf("Master_Down_Interval %v (window %v–%v)", ms(mdi), ms(mdi-r.mode.interval), ms(mdi))
		if r.kind == "graceful" {
			ref = fmt.Sprintf("Skew_Time %v", ms(skew))
		}
		runs := strconv.Itoa(len(r.samples))
		if r.failed > 0 {
			runs += fmt.Sprintf(" (+%d failed)", r.failed)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.mode.name, r.kind, r.impl, runs, spread(r.samples), spread(r.sinceAdvert), ref)
	}
	fmt.Print(b.String())
}

// spread renders min / median / max, with the sample count when some runs
// have no value.
func spread(xs []time.Duration) string {
	if len(xs) == 0 {
		return "–"
	}
	lo, med, hi := summarize(xs)
	return ms(lo) + " / " + ms(med) + " / " + ms(hi)
}

func summarize(xs []time.Duration) (lo, med, hi time.Duration) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[0], med, s[len(s)-1]
}

// ms renders a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// ---- resources ----

// usage is CPU and memory of one process over a window.
type usage struct {
	cpu    float64 // percent of one core
	rssKB  int
	perPID []int // VmRSS of each process, kB
	// pssKB is the summed proportional set size (smaps_rollup): pages
	// shared with other processes (the same binary on the other node,
	// libc) count by their share, so it is what one more daemon costs.
	pssKB int
}

// procTicks returns utime+stime (all threads) in clock ticks.
func procTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, fmt.Errorf("pid %d: short /proc stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("pid %d: bad /proc stat", pid)
	}
	return u + st, nil
}

func procRSSKB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", pid)
}

// procPSSKB reads the proportional set size from /proc/PID/smaps_rollup.
func procPSSKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pss:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("pid %d: no Pss in smaps_rollup", pid)
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100

// measure samples the CPU time of each process group (PIDs summed) over
// window, and their summed VmRSS at the end.
func measure(t *testing.T, window time.Duration, groups ...[]int) []usage {
	t.Helper()
	before := make([]int64, len(groups))
	for i, g := range groups {
		for _, pid := range g {
			n, err := procTicks(pid)
			if err != nil {
				t.Fatal(err)
			}
			before[i] += n
		}
	}
	start := time.Now()
	time.Sleep(window)
	elapsed := time.Since(start)
	out := make([]usage, len(groups))
	for i, g := range groups {
		var ticks int64
		for _, pid := range g {
			n, err := procTicks(pid)
			if err != nil {
				t.Fatal(err)
			}
			ticks += n
			rss, err := procRSSKB(pid)
			if err != nil {
				t.Fatal(err)
			}
			out[i].rssKB += rss
			out[i].perPID = append(out[i].perPID, rss)
			pss, err := procPSSKB(pid)
			if err != nil {
				t.Fatal(err)
			}
			out[i].pssKB += pss
		}
		out[i].cpu = 100 * float64(ticks-before[i]) / clkTck / elapsed.Seconds()
	}
	return out
}

// benchVIPs returns n VIPs 198.51.100.101, .102, ... (n ≤ 100).
func benchVIPs(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(101 + i)}), 24)
	}
	return out
}

// resProc is one started implementation: the PIDs to account and a count
// of state changes so far (to check the window was steady).
type resProc struct {
	pids        []int
	transitions func() int
	// why, when set, summarises the state changes after the first skip
	// (from → to and reason, counted), for the log of a window that flapped.
	why func(skip int) string
}

// hawatchChanges counts the daemon's state changes after the first skip by
// from → to and reason.
func hawatchChanges(d *daemon, skip int) string {
	lines := d.logLines("state change")
	counts := map[string]int{}
	var keys []string
	for _, l := range lines[min(skip, len(lines)):] {
		k := fmt.Sprintf("%v→%v (%v)", l["from"], l["to"], l["reason"])
		if counts[k] == 0 {
			keys = append(keys, k)
		}
		counts[k]++
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	return strings.Join(out, ", ")
}

func startResHawatch(t *testing.T, n *netlab.Node, count, prio int, interval time.Duration) resProc {
	return startResHawatchWith(t, n, count, prio, interval, "")
}

// startResHawatchWith adds extra to every instance block (auth_hmac).
func startResHawatchWith(t *testing.T, n *netlab.Node, count, prio int, interval time.Duration, extra string) resProc {
	var body strings.Builder
	for i, p := range benchVIPs(count) {
		body.WriteString(instance{name: fmt.Sprintf("VI_%d", i+1), vrid: i + 1, prio: prio, version: 3,
			interval: interval.String(), vips: []string{p.String()}, extra: extra}.String())
	}
	d := startQuietDaemon(t, n, body.String())
	return resProc{pids: []int{d.proc.PID()}, transitions: func() int { return stateChanges(d) },
		why: func(skip int) string { return hawatchChanges(d, skip) }}
}

// startResKeepalived runs keepalived with count instances. netlab's helper
// renders a single instance, so this writes the config itself (reusing its
// renderer for each instance block) and starts keepalived the same way.
func startResKeepalived(t *testing.T, n *netlab.Node, count, prio int, interval time.Duration) resProc {
	return startResKeepalivedWith(t, n, count, prio, interval, "", nil)
}

// startResKeepalivedWith runs bin (Debian's keepalived when empty) with an
// auth_hmac block in every instance when hmac is set.
func startResKeepalivedWith(t *testing.T, n *netlab.Node, count, prio int, interval time.Duration, bin string, hmac []string) resProc {
	t.Helper()
	insts := make([]netlab.KeepalivedConfig, count)
	for i, p := range benchVIPs(count) {
		insts[i] = netlab.KeepalivedConfig{Instance: fmt.Sprintf("VI_%d", i+1), VRID: i + 1, Priority: prio, Version: 3,
			AdvertInterval: interval, VIPs: []string{p.String()}, HMAC: hmac}
	}
	return startResKeepalivedConf(t, n, bin, nil, insts)
}

// startResKeepalivedConf runs bin (Debian's keepalived when empty) with the
// instances given and global lines in global_defs. netlab's helper renders
// a single instance, so this writes the config itself (reusing its renderer
// for each instance block) and starts keepalived the same way.
func startResKeepalivedConf(t *testing.T, n *netlab.Node, bin string, global []string, insts []netlab.KeepalivedConfig) resProc {
	t.Helper()
	var conf strings.Builder
	conf.WriteString("global_defs {\n    router_id " + n.Name + "\n")
	for _, l := range global {
		conf.WriteString("    " + l + "\n")
	}
	conf.WriteString("}\n\n")
	for _, c := range insts {
		_, inst, _ := strings.Cut(c.Render(), "\n}\n\n") // drop its global_defs
		conf.WriteString(inst)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	pidFile, vrrpPID := filepath.Join(dir, "keepalived.pid"), filepath.Join(dir, "vrrp.pid")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--dont-fork", "--log-console", "--log-detail", "--no-syslog",
		"--dont-respawn", "--use-file", path, "--pid", pidFile, "--vrrp_pid", vrrpPID}
	if bin == "" {
		bin, args = "keepalived", append(args, "--vrrp")
	}
	p := n.Start(t, bin, args...)
	var child int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(vrrpPID)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			child = pid
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("%s: keepalived did not start its VRRP child:\n%s", n.Name, p.Output())
		}
	}
	// Runs before n.Start's cleanup (LIFO): the child first, then the group.
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	return resProc{pids: []int{p.PID(), child}, transitions: func() int { return strings.Count(p.Output(), "Entering ") }}
}

type resResult struct {
	impl           string
	instances      int
	interval       time.Duration
	master, backup usage
	changes        int
}

// machineLoad describes how busy the shared machine was: the load average
// and the kernel's CPU pressure (share of time some task waited for a CPU).
func machineLoad() string {
	la, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(la))
	out := "load average " + strings.Join(f[:min(3, len(f))], " ")
	if psi, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		line, _, _ := strings.Cut(string(psi), "\n")
		out += "; CPU pressure " + strings.TrimPrefix(line, "some ")
	}
	return out
}

func TestBenchResources(t *testing.T) {
	needBench(t)
	const window = 10 * time.Second
	fmt.Printf("start %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
	var results []resResult
	for _, cell := range []struct {
		count    int
		interval time.Duration
	}{{1, 10 * time.Millisecond}, {100, 10 * time.Millisecond}, {100, 100 * time.Millisecond}} {
		for _, impl := range []struct {
			name  string
			start func(*testing.T, *netlab.Node, int, int, time.Duration) resProc
		}{{"hawatch", startResHawatch}, {"keepalived", startResKeepalived}} {
			t.Run(fmt.Sprintf("%s/%dx%v", impl.name, cell.count, cell.interval), func(t *testing.T) {
				results = append(results, measureRes(t, impl.name, cell.count, cell.interval, window, impl.start))
			})
		}
	}
	printResTable(results, window)
}

// measureRes runs one pair of count instances of an implementation and
// measures both nodes over window once the master holds every VIP.
func measureRes(t *testing.T, name string, count int, interval, window time.Duration,
	start func(*testing.T, *netlab.Node, int, int, time.Duration) resProc) resResult {
	t.Helper()
	return measurePair(t, name, resSetup{count: count, interval: interval}, window,
		func(t *testing.T, n *netlab.Node, prio int) resProc { return start(t, n, count, prio, interval) }, nil)
}

// resSetup is one cell: count instances (VRIDs 1..count) at interval, their
// VIPs IPv4 or (ipv6: 255 VIPs do not fit beside the lab's own addresses in
// 198.51.100.0/24) IPv6.
type resSetup struct {
	count    int
	interval time.Duration
	ipv6     bool
}

// vips are the cell's VIPs, one per instance in VRID order.
func (s resSetup) vips() []netip.Prefix {
	if !s.ipv6 {
		return benchVIPs(s.count)
	}
	out := make([]netip.Prefix, s.count)
	for i := range out {
		out[i] = netip.MustParsePrefix(fmt.Sprintf("2001:db8::1:%x/64", i+1))
	}
	return out
}

// benchSettle is how long a pair runs before its window opens: past the
// start-up work of both implementations — keepalived's and hawatch's second
// GARP/NA round (5 s after the takeover), and hawatch's trim of its start-up
// memory 10 s after its loop first runs (core/daemon/footprint.go) — so the
// window sees the steady state only.
const benchSettle = 12 * time.Second

// measurePair starts the backup (lb2) and then the master (lb1), waits
// until lb1 alone holds every VIP and benchSettle more, and measures both
// over window. during, when set, runs just before the window opens and
// returns what ends it (the load the window is measured under), so state
// changes caused by its onset count.
func measurePair(t *testing.T, name string, s resSetup, window time.Duration,
	start func(t *testing.T, n *netlab.Node, prio int) resProc, during func(t *testing.T) (stop func())) resResult {
	t.Helper()
	lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true, IPv6: s.ipv6})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	vips := s.vips()
	bk := start(t, lb2, benchBackupPrio)
	mp := start(t, lb1, 100)
	waitHeld(t, lb1, vips, true, 30*time.Second)
	waitHeld(t, lb2, vips, false, 30*time.Second)
	time.Sleep(benchSettle)
	m0, b0 := mp.transitions(), bk.transitions()
	c0 := m0 + b0
	if during != nil {
		stop := during(t)
		defer stop()
	}
	u := measure(t, window, mp.pids, bk.pids)
	// Not a failure: a benchmark reports what happened. A pair that flaps
	// is not in steady state, and the table says so next to the numbers.
	changes := mp.transitions() + bk.transitions() - c0
	r := resResult{impl: name, instances: s.count, interval: s.interval, master: u[0], backup: u[1], changes: changes}
	t.Logf("%+v; %s", r, machineLoad())
	if changes > 0 && mp.why != nil {
		t.Logf("state changes in the window: master: %s; backup: %s", mp.why(m0), bk.why(b0))
	}
	return r
}

// waitHeld waits until node holds all of vips on eth0 (present) or none of
// them, reading the address list once per poll (255 VIPs).
func waitHeld(t *testing.T, node *netlab.Node, vips []netip.Prefix, present bool, timeout time.Duration) {
	t.Helper()
	nsh, err := netns.GetFromName(node.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatalf("%s: netlink: %v", node.Name, err)
	}
	defer h.Close()
	deadline := time.Now().Add(timeout)
	for {
		link, err := h.LinkByName("eth0")
		if err != nil {
			t.Fatalf("%s: eth0: %v", node.Name, err)
		}
		addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatalf("%s: addresses: %v", node.Name, err)
		}
		held := map[netip.Prefix]bool{}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				ones, _ := a.Mask.Size()
				held[netip.PrefixFrom(ip.Unmap(), ones)] = true
			}
		}
		wrong := 0
		for _, p := range vips {
			if held[p] != present {
				wrong++
			}
		}
		if wrong == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d VIPs not present=%v after %v", node.Name, wrong, len(vips), present, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func printResTable(results []resResult, window time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| implementation | instances × interval | master CPU (%% of one core) | master VmRSS | backup CPU | backup VmRSS | state changes in the %v window |\n|---|---|---|---|---|---|---|\n", window)
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d × %v | %.1f %% | %s | %.1f %% | %s | %d |\n", r.impl, r.instances, r.interval,
			r.master.cpu, rss(r.master), r.backup.cpu, rss(r.backup), r.changes)
	}
	fmt.Print(b.String())
	fmt.Printf("end %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
}

// TestBenchHMAC prints the CPU of 100 instances at 10 ms with and without
// auth_hmac, for hawatch and (when built) keepalived 2.4.3, in one run:
//
//	HAWATCH_BENCH=1 go test -count=1 -timeout 30m -v -run TestBenchHMAC ./e2e
func TestBenchHMAC(t *testing.T) {
	needBench(t)
	const window, count, interval = 10 * time.Second, 100, 10 * time.Millisecond
	fmt.Printf("start %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
	hmacHCL := hmacPolicy([]int{1}, 1, "enforce")
	type impl struct {
		name  string
		start func(*testing.T, *netlab.Node, int, int, time.Duration) resProc
	}
	impls := []impl{
		{"hawatch", startResHawatch},
		{"hawatch auth_hmac", func(t *testing.T, n *netlab.Node, c, p int, i time.Duration) resProc {
			return startResHawatchWith(t, n, c, p, i, hmacHCL)
		}},
	}
	if bin, why := netlab.Keepalived243(); bin != "" {
		impls = append(impls,
			impl{"keepalived 2.4.3", func(t *testing.T, n *netlab.Node, c, p int, i time.Duration) resProc {
				return startResKeepalivedWith(t, n, c, p, i, bin, nil)
			}},
			impl{"keepalived 2.4.3 auth_hmac", func(t *testing.T, n *netlab.Node, c, p int, i time.Duration) resProc {
				return startResKeepalivedWith(t, n, c, p, i, bin, hmacKeepalived([]int{1}, 1, "enforce"))
			}})
	} else {
		t.Logf("keepalived 2.4.3 rows skipped: %s", why)
	}
	var results []resResult
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			results = append(results, measureRes(t, im.name, count, interval, window, im.start))
		})
	}
	printResTable(results, window)
}

// rss renders the summed VmRSS, with the per-process split when the
// implementation runs several processes (keepalived: parent + VRRP child).
func rss(u usage) string {
	s := fmt.Sprintf("%.1f MB", float64(u.rssKB)/1024)
	if len(u.perPID) > 1 {
		parts := make([]string, len(u.perPID))
		for i, kb := range u.perPID {
			parts[i] = fmt.Sprintf("%.1f", float64(kb)/1024)
		}
		s += " (" + strings.Join(parts, " + ") + ")"
	}
	return s
}
