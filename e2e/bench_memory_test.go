package e2e

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// memSettle is how long a pair runs, once the master holds every VIP, before
// its memory is read: past hawatch's start-up trim (core/daemon trims 10 s
// after the loop first runs) and a few collections of steady state.
const memSettle = 20 * time.Second

// TestBenchMemory prints where the memory goes, for hawatch and keepalived
// side by side, with 1 and 255 instances at 10 ms adverts (one interface,
// every VRID), master and backup: VmRSS and its split (RssAnon, RssFile),
// PSS from smaps_rollup and its split, and the thread count.
//
//	HAWATCH_BENCH=1 go test -count=1 -timeout 20m -v -run TestBenchMemory ./e2e
//
// keepalived's figures are the sum of its two processes (parent + VRRP
// child); the PSS sum counts the pages they share once.
func TestBenchMemory(t *testing.T) {
	needBench(t)
	fmt.Printf("start %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
	type row struct {
		impl      string
		instances int
		role      string
		mem       memUsage
	}
	var rows []row
	for _, count := range []int{1, 255} {
		for _, impl := range []struct {
			name  string
			start func(*testing.T, *netlab.Node, []netip.Prefix, int) []int
		}{{"hawatch", startMemHawatch}, {"keepalived", startMemKeepalived}} {
			t.Run(fmt.Sprintf("%s/%d", impl.name, count), func(t *testing.T) {
				lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true, IPv6: true})
				lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
				vips := memVIPs(count)
				bk := impl.start(t, lb2, vips, benchBackupPrio)
				mp := impl.start(t, lb1, vips, 100)
				allVIPs(t, lb1, vips, true, 60*time.Second)
				allVIPs(t, lb2, vips, false, 20*time.Second)
				time.Sleep(memSettle)
				for _, p := range []struct {
					role string
					pids []int
				}{{"master", mp}, {"backup", bk}} {
					m, err := readMem(p.pids)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s %d %s: %+v", impl.name, count, p.role, m)
					rows = append(rows, row{impl.name, count, p.role, m})
				}
			})
		}
	}
	var b strings.Builder
	b.WriteString("\n| implementation | instances × 10 ms | role | VmRSS | RssAnon | RssFile | PSS | Pss_Anon | Pss_File | threads |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		m := r.mem
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d |\n", r.impl, r.instances, r.role,
			mb(m.vmRSS), mb(m.rssAnon), mb(m.rssFile), mb(m.pss), mb(m.pssAnon), mb(m.pssFile), m.threads)
	}
	fmt.Print(b.String())
	fmt.Printf("end %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
}

// memVIPs returns n VIPs, one per instance: 198.51.100.101… for the first
// 100, then 2001:db8::1:<i> (the IPv4 test range has no room for 255).
func memVIPs(n int) []netip.Prefix {
	out := benchVIPs(min(n, 100))
	for i := 100; i < n; i++ {
		out = append(out, netip.MustParsePrefix(fmt.Sprintf("2001:db8::1:%x/64", i)))
	}
	return out
}

func startMemHawatch(t *testing.T, n *netlab.Node, vips []netip.Prefix, prio int) []int {
	var body strings.Builder
	for i, p := range vips {
		body.WriteString(instance{name: fmt.Sprintf("VI_%d", i+1), vrid: i + 1, prio: prio, version: 3,
			interval: "10ms", vips: []string{p.String()}}.String())
	}
	d := startQuietDaemon(t, n, body.String())
	return []int{d.proc.PID()}
}

func startMemKeepalived(t *testing.T, n *netlab.Node, vips []netip.Prefix, prio int) []int {
	t.Helper()
	var conf strings.Builder
	conf.WriteString("global_defs {\n    router_id " + n.Name + "\n}\n\n")
	for i, p := range vips {
		c := netlab.KeepalivedConfig{Instance: fmt.Sprintf("VI_%d", i+1), VRID: i + 1, Priority: prio, Version: 3,
			AdvertInterval: 10 * time.Millisecond, VIPs: []string{p.String()}}
		_, inst, _ := strings.Cut(c.Render(), "\n}\n\n") // drop its global_defs
		conf.WriteString(inst)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	pidFile, vrrpPID := filepath.Join(dir, "keepalived.pid"), filepath.Join(dir, "vrrp.pid")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := n.Start(t, "keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog",
		"--dont-respawn", "--use-file", path, "--pid", pidFile, "--vrrp_pid", vrrpPID, "--vrrp")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(vrrpPID)
		if child, _ := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && child > 0 {
			// Runs before n.Start's cleanup (LIFO): the child first.
			t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
			return []int{p.PID(), child}
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("%s: keepalived did not start its VRRP child:\n%s", n.Name, p.Output())
		}
	}
}

// memUsage is the memory of a group of processes, summed, in kB.
type memUsage struct {
	vmRSS, rssAnon, rssFile int
	pss, pssAnon, pssFile   int
	threads                 int
}

func readMem(pids []int) (memUsage, error) {
	var m memUsage
	for _, pid := range pids {
		status := map[string]*int{"VmRSS:": &m.vmRSS, "RssAnon:": &m.rssAnon, "RssFile:": &m.rssFile, "Threads:": &m.threads}
		if err := addProcFields(fmt.Sprintf("/proc/%d/status", pid), status); err != nil {
			return m, err
		}
		rollup := map[string]*int{"Pss:": &m.pss, "Pss_Anon:": &m.pssAnon, "Pss_File:": &m.pssFile}
		if err := addProcFields(fmt.Sprintf("/proc/%d/smaps_rollup", pid), rollup); err != nil {
			return m, err
		}
	}
	return m, nil
}

// addProcFields adds the numbers of the "Key: N [kB]" lines of path to the
// matching counters; every key must be found.
func addProcFields(path string, fields map[string]*int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		dst := fields[k+":"]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		if err != nil {
			return fmt.Errorf("%s: %q: %w", path, sc.Text(), err)
		}
		*dst += n
		found++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if found != len(fields) {
		return fmt.Errorf("%s: %d of %d fields found", path, found, len(fields))
	}
	return nil
}

func mb(kb int) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
