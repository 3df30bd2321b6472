package e2e

// Hot swap and plugin crash loop under 10 ms adverts: what the backup hears
// (measured on the wire with kernel receive timestamps) must not change
// while the master reloads its check 100 times or loses its check plugin
// every 200 ms.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hawatch/hawatch/internal/netlab"
)

// advertSniffer records the kernel receive time of every VRRP advert from
// one source and VRID seen by a raw socket in a node's namespace.
type advertSniffer struct {
	fd   int
	mu   sync.Mutex
	at   []time.Time
	prio []uint8
	done chan struct{}
	stop chan struct{}
}

func sniffAdverts(t *testing.T, node *netlab.Node, src netip.Addr, vrid uint8) *advertSniffer {
	t.Helper()
	s := &advertSniffer{fd: -1, done: make(chan struct{}), stop: make(chan struct{})}
	err := node.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 112)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		s.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return fmt.Errorf("SO_RCVTIMEO: %w", err)
		}
		ifi, err := netInterfaceIndex("eth0")
		if err != nil {
			return err
		}
		// Multicast adverts are only delivered to members of 224.0.0.18.
		mreq := &unix.IPMreqn{Multiaddr: [4]byte{224, 0, 0, 18}, Ifindex: int32(ifi)}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); err != nil {
			return fmt.Errorf("join 224.0.0.18: %w", err)
		}
		return nil
	})
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		t.Fatalf("%s: sniffer: %v", node.Name, err)
	}
	want := src.As4()
	go func() {
		defer close(s.done)
		buf := make([]byte, 1500)
		oob := make([]byte, 128)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			n, oobn, _, _, err := unix.Recvmsg(s.fd, buf, oob, 0)
			if err != nil {
				continue // EAGAIN every 100 ms: look at stop
			}
			if n < 20 || [4]byte(buf[12:16]) != want {
				continue
			}
			ihl := int(buf[0]&0x0f) * 4
			if n < ihl+3 || buf[ihl+1] != vrid {
				continue
			}
			at, ok := kernelTime(oob[:oobn])
			if !ok {
				at = time.Now()
			}
			s.mu.Lock()
			s.at = append(s.at, at)
			s.prio = append(s.prio, buf[ihl+2])
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *advertSniffer) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.done
		unix.Close(s.fd)
	}
}

// netInterfaceIndex is called on a thread inside the node's namespace. (Not
// /sys/class/net: /sys shows the namespace it was mounted in.)
func netInterfaceIndex(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("ifindex of %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

func kernelTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}

// window summarizes the adverts received in [from, to]: how many, the
// largest gap between two of them (and between the window's ends and the
// first/last one), and how many carried priority 0.
func (s *advertSniffer) window(from, to time.Time) (n int, maxGap time.Duration, zero int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := from
	for i, at := range s.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		n++
		maxGap = max(maxGap, at.Sub(prev))
		prev = at
		if s.prio[i] == 0 {
			zero++
		}
	}
	maxGap = max(maxGap, to.Sub(prev))
	return n, maxGap, zero
}

// longGaps lists the gaps of at least min in [from, to], as "start +gap".
func (s *advertSniffer) longGaps(from, to time.Time, min time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	prev := from
	for _, at := range s.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		if at.Sub(prev) >= min {
			out = append(out, fmt.Sprintf("%s +%v", prev.UTC().Format("15:04:05.000"), at.Sub(prev).Round(100*time.Microsecond)))
		}
		prev = at
	}
	return out
}

// vipWatch samples every 5 ms that want (and only want) holds the VIP.
type vipWatch struct {
	stop       chan struct{}
	done       chan struct{}
	samples    int
	violations []string
}

func watchVIP(t *testing.T, want *netlab.Node, nodes ...*netlab.Node) *vipWatch {
	t.Helper()
	w := &vipWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			w.samples++
			for _, n := range nodes {
				has, err := n.HasAddr("eth0", vip4)
				if err != nil {
					w.violations = append(w.violations, err.Error())
					continue
				}
				if has != (n == want) && len(w.violations) < 20 {
					w.violations = append(w.violations, fmt.Sprintf("%s %s holds VIP = %v", time.Now().Format("15:04:05.000"), n.Name, has))
				}
			}
		}
	}()
	t.Cleanup(w.end)
	return w
}

func (w *vipWatch) end() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// rssKB is VmRSS of pid.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// childPIDs lists the live children of pid (forked by any of its threads).
func childPIDs(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

var swapBase = instance{vrid: 81, version: 3, interval: "10ms", vips: []string{"198.51.100.50/24"}}

// swapPair starts lb2 (50, no checks) and lb1 (100, body1 with its
// instance tracking "web"), waits for lb1 to own the VIP, and returns them.
// Both run with the unit's Nice=: at 10 ms adverts on a busy machine the
// daemon must win the CPU against its own plugin starts, the reload CLI and
// everything else (examples/systemd/hawatch.service explains).
func swapPair(t *testing.T, lab *netlab.Lab, body1 func() string) (*daemon, *daemon) {
	t.Helper()
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	nice := unitNice(t)
	i2 := swapBase
	i2.prio = 50
	d2 := startOpsNice(t, lb2, nice, i2.String())
	d2.waitState("BACKUP", 5*time.Second)
	d1 := startOpsNice(t, lb1, nice, body1())
	waitVIP(t, lb1, vip4, true, 10*time.Second)
	d1.waitState("MASTER", 5*time.Second)
	d2.waitState("BACKUP", 5*time.Second)
	return d1, d2
}

// unitNice is the Nice= of examples/systemd/hawatch.service.
func unitNice(t *testing.T) int {
	t.Helper()
	v := parseUnit(t, unitPath)["Service"]["Nice"]
	if len(v) == 0 {
		return 0
	}
	n, err := strconv.Atoi(v[len(v)-1])
	if err != nil {
		t.Fatalf("unit Nice=%q: %v", v, err)
	}
	return n
}

// startOpsNice is startOps with the daemon at the given nice value.
func startOpsNice(t *testing.T, node *netlab.Node, nice int, body string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, node: node, dir: dir, config: filepath.Join(dir, "hawatch.hcl"), socket: filepath.Join(dir, "hawatch.sock")}
	d.rewriteOps(body)
	d.proc = node.Start(t, "nice", "-n", strconv.Itoa(nice), filepath.Join(binDir, "hawatch"), "run", "--config", d.config)
	return d
}

func trackedInstance() string {
	i1 := swapBase
	i1.prio, i1.extra = 100, "  track \"web\" {}\n"
	return i1.String()
}

// span is a stretch of time and how long, within it, runnable tasks waited
// for a CPU (the kernel's PSI "some" CPU stall).
type span struct {
	from, to time.Time
	stall    time.Duration
}

// pressure is the share of the span during which tasks waited for a CPU.
func (s span) pressure() float64 { return float64(s.stall) / float64(s.to.Sub(s.from)) }

func (s span) String() string {
	return fmt.Sprintf("%v (CPU pressure %.0f%%)", s.to.Sub(s.from).Round(time.Millisecond), 100*s.pressure())
}

// startSpan starts a span; the returned function ends it.
func startSpan() func() span {
	from, stall := time.Now(), cpuStall()
	return func() span { return span{from: from, to: time.Now(), stall: cpuStall() - stall} }
}

// quietWindow waits d and returns that span: a baseline of what the backup
// hears when nothing is done to the master.
func quietWindow(d time.Duration) span {
	time.Sleep(20 * time.Millisecond)
	end := startSpan()
	time.Sleep(d)
	return end()
}

// cpuStall reads /proc/pressure/cpu: the total time since boot during
// which some runnable task waited for a CPU. Zero without PSI.
func cpuStall() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(strings.SplitN(string(b), "\n", 2)[0]) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			us, _ := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond
		}
	}
	return 0
}

// observation is what must not change on the pair while the master is
// disturbed.
type observation struct {
	d1, d2            *daemon
	masterTransitions uint64
	backupMasters     int
	vips              *vipWatch
	end               func() span
}

// observe starts watching the pair; stop ends the disturbed span.
func observe(t *testing.T, d1, d2 *daemon, lb1, lb2 *netlab.Node) *observation {
	t.Helper()
	return &observation{d1: d1, d2: d2, masterTransitions: d1.mustStatus().Instances[0].Stats.Transitions,
		backupMasters: d2.transitions("MASTER"), vips: watchVIP(t, lb1, lb1, lb2), end: startSpan()}
}

func (o *observation) stop() span {
	o.vips.end()
	return o.end()
}

// undisturbed checks the disturbed span: no priority-0 advert and no
// transition on the master, no gap of 3 intervals between adverts at the
// backup, the backup never MASTER, the VIP never away from the master.
//
// The timing checks need CPU time on time. On a machine busy with other
// work (a shared 2-core CI box running other test packages) they are
// skipped, saying why, when they fail and the baselines (same pair, nothing
// done, just before and after) show gaps of 2 intervals or more or CPU
// pressure above 25%. The disturbed span's own pressure is only logged: the
// disturbance itself (plugin starts, the reload CLI) loads the CPU, and
// that is part of what is under test.
func (o *observation) undisturbed(t *testing.T, sniff *advertSniffer, what string, win span, baselines ...span) {
	t.Helper()
	interval := intervalOf(swapBase)
	n, maxGap, zero := sniff.window(win.from, win.to)
	var baseGap time.Duration
	var basePressure float64
	var base []string
	for _, b := range baselines {
		bn, g, _ := sniff.window(b.from, b.to)
		baseGap, basePressure = max(baseGap, g), max(basePressure, b.pressure())
		base = append(base, fmt.Sprintf("%d adverts in %v, largest gap %v", bn, b, g.Round(100*time.Microsecond)))
	}
	t.Logf("during the %s the backup heard %d adverts in %v, largest gap %v; baselines with nothing done: %s; VIP sampled %d times",
		what, n, win, maxGap.Round(100*time.Microsecond), strings.Join(base, "; "), o.vips.samples)
	if zero > 0 {
		t.Errorf("the master sent %d priority-0 adverts during the %s", zero, what)
	}
	if got := o.d1.mustStatus().Instances[0]; got.State != "MASTER" || got.Stats.Transitions != o.masterTransitions {
		t.Errorf("master during the %s: state %s, transitions %d → %d", what, got.State, o.masterTransitions, got.Stats.Transitions)
	}
	takeovers := o.d2.transitions("MASTER") - o.backupMasters
	disturbed := maxGap >= 3*interval || takeovers != 0 || len(o.vips.violations) > 0
	if disturbed && (baseGap >= 2*interval || basePressure > 0.25) {
		t.Skipf("machine too loaded to judge advert timing (baselines: gaps up to %v, CPU pressure up to %.0f%%; during the %s %.0f%%): largest gap %v, backup MASTER %d times",
			baseGap, 100*basePressure, what, 100*win.pressure(), maxGap, takeovers)
	}
	if maxGap >= 3*interval {
		t.Errorf("largest gap between adverts during the %s %v, want < 3 intervals (%v); gaps ≥ 2 intervals (UTC): %v",
			what, maxGap, 3*interval, sniff.longGaps(win.from, win.to, 2*interval))
	}
	if takeovers != 0 {
		t.Errorf("the backup became MASTER %d times during the %s", takeovers, what)
	}
	if len(o.vips.violations) > 0 {
		t.Errorf("VIP left the master during the %s: %v", what, o.vips.violations)
	}
}

// TestHotSwapReload reloads the master 100 times, alternating its tracked
// check between the process plugin (nginx's pid file) and the tcpprobe
// plugin (nginx's port): make-before-break must keep every advert flowing.
func TestHotSwapReload(t *testing.T) {
	needRoot(t)
	needPlugin(t, "process")
	needPlugin(t, "tcpprobe")
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	ng := netlab.StartNginx(t, lb1)
	plugins := "plugin \"process\" {\n  command = \"hawatch-process\"\n}\nplugin \"tcpprobe\" {\n  command = \"hawatch-tcpprobe\"\n}\n"
	variants := []string{
		fmt.Sprintf("check \"web\" {\n  plugin = \"process\"\n  config {\n    pidfile = %q\n  }\n}\n", ng.PIDFile),
		fmt.Sprintf("check \"web\" {\n  plugin = \"tcpprobe\"\n  interval = \"200ms\"\n  config {\n    address = \"%s:80\"\n  }\n}\n", lb1.Addr4),
	}
	body := func(i int) string { return plugins + variants[i%2] + trackedInstance() }
	d1, d2 := swapPair(t, lab, func() string { return body(0) })
	sniff := sniffAdverts(t, lb2, lb1.Addr4, uint8(swapBase.vrid))
	before := quietWindow(2 * time.Second)
	obs := observe(t, d1, d2, lb1, lb2)
	const reloads = 100
	var slowest time.Duration
	for i := 1; i <= reloads; i++ {
		d1.rewriteOps(body(i))
		start := time.Now()
		if _, errOut, err := d1.ctl("reload"); err != nil {
			t.Fatalf("reload %d: %v\n%s", i, err, errOut)
		}
		slowest = max(slowest, time.Since(start))
	}
	win := obs.stop()
	after := quietWindow(2 * time.Second)
	t.Logf("%d reloads in %v (slowest %v)", reloads, win, slowest.Round(time.Millisecond))

	st := d1.mustFullStatus()
	if st.Reloads.OK < reloads {
		t.Errorf("reloads ok = %d, want %d", st.Reloads.OK, reloads)
	}
	// Exactly one check plugin left: every swap stopped the old one.
	if len(st.Plugins) != 1 || st.Plugins[0].Plugin != []string{"process", "tcpprobe"}[reloads%2] {
		t.Errorf("plugins after %d reloads: %+v", reloads, st.Plugins)
	}
	waitUntil(t, 5*time.Second, fmt.Sprintf("old plugin processes gone (children of the daemon: %v)", childPIDs(d1.proc.PID())),
		func() bool { return len(childPIDs(d1.proc.PID())) == 1 })
	obs.undisturbed(t, sniff, "reloads", win, before, after)
}

// TestPluginCrashLoop SIGKILLs the master's check plugin every 200 ms for
// 20 s: the plugin host restarts it (with backoff), the restarts are
// counted, VRRP does not notice, and the daemon does not grow.
func TestPluginCrashLoop(t *testing.T) {
	needRoot(t)
	needPlugin(t, "tcpprobe")
	if testing.Short() {
		t.Skip("20 s crash loop; skipped with -short")
	}
	lab := netlab.New(t, netlab.Options{Nodes: 2})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	netlab.StartNginx(t, lb1)
	// hold_for longer than the test: while the plugin is down its results
	// are unknown, and this test is about the daemon surviving the crash
	// loop, not about the unknown policy (which would fault the instance
	// once the backoff delay exceeds hold_for).
	body := fmt.Sprintf("plugin \"tcpprobe\" {\n  command = \"hawatch-tcpprobe\"\n}\ncheck \"web\" {\n  plugin = \"tcpprobe\"\n  interval = \"100ms\"\n  hold_for = \"120s\"\n  config {\n    address = \"%s:80\"\n  }\n}\n", lb1.Addr4) + trackedInstance()
	d1, d2 := swapPair(t, lab, func() string { return body })
	sniff := sniffAdverts(t, lb2, lb1.Addr4, uint8(swapBase.vrid))
	before := quietWindow(2 * time.Second)
	obs := observe(t, d1, d2, lb1, lb2)

	kill := func(until time.Time) (kills int) {
		for time.Now().Before(until) {
			st, err := d1.fullStatus()
			if err == nil && len(st.Plugins) == 1 && st.Plugins[0].PID > 0 {
				if syscall.Kill(st.Plugins[0].PID, syscall.SIGKILL) == nil {
					kills++
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		return kills
	}
	// Warm up (the first restarts allocate what later ones reuse), then
	// measure RSS growth over the 20 s loop.
	warm := kill(time.Now().Add(2 * time.Second))
	rssBefore := rssKB(t, d1.proc.PID())
	kills := warm + kill(time.Now().Add(20*time.Second))
	win := obs.stop()
	// The last restart may still be pending (backoff up to 10 s).
	waitUntil(t, 15*time.Second, "plugin running again", func() bool {
		st, err := d1.fullStatus()
		return err == nil && len(st.Plugins) == 1 && st.Plugins[0].PID > 0
	})
	after := rssKB(t, d1.proc.PID())
	st := d1.mustFullStatus()
	t.Logf("%d kills, plugin restarts %d; daemon RSS %d kB → %d kB (%+d kB)", kills, st.Plugins[0].Restarts, rssBefore, after, after-rssBefore)
	if st.Plugins[0].Restarts < uint64(kills) {
		t.Errorf("restarts %d, want ≥ %d (one per kill)", st.Plugins[0].Restarts, kills)
	}
	if kills < 5 {
		t.Errorf("only %d kills landed", kills)
	}
	if growth := after - rssBefore; growth > 5*1024 {
		t.Errorf("daemon RSS grew by %d kB during the crash loop, want < 5 MB", growth)
	}
	if c := childPIDs(d1.proc.PID()); len(c) != 1 {
		t.Errorf("daemon children after the crash loop: %v, want the one plugin", c)
	}
	obs.undisturbed(t, sniff, "crash loop", win, before, quietWindow(2*time.Second))
}
