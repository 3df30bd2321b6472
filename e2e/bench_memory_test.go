package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// memSettle is how long a pair runs, once the master holds every VIP, before
// its memory is read: past hawatch's start-up trim (core/daemon trims 10 s
// after the loop first runs), the GARP backlog of 255 instances, and the
// first minute in which collections map back the tables they read (pclntab,
// type data), so that RSS has stopped climbing.
const memSettle = 60 * time.Second

// TestBenchMemory prints where the memory goes, for hawatch and keepalived
// side by side, with 1 and 255 instances (IPv6 VIPs) at 10 ms adverts (one
// interface, every VRID), master and backup: VmRSS and its split (RssAnon, RssFile),
// PSS from smaps_rollup and its split, and the thread count.
//
//	HAWATCH_BENCH=1 go test -count=1 -timeout 20m -v -run TestBenchMemory ./e2e   (about 5 minutes)
//
// HAWATCH_BENCH_BIN runs that hawatch binary (the release build) instead of
// the harness's. keepalived's figures are the sum of its two processes
// (parent + VRRP child); the PSS sum counts the pages they share once.
func TestBenchMemory(t *testing.T) {
	needBench(t)
	fmt.Printf("start %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
	type row struct {
		impl, cell, role string
		mem              memUsage
	}
	var rows []row
	for _, s := range []resSetup{{count: 1, interval: 10 * time.Millisecond}, {count: 255, interval: 10 * time.Millisecond, ipv6: true}} {
		for _, impl := range tableImpls {
			t.Run(strings.NewReplacer(" ", "", "×", "x").Replace(s.String())+"/"+impl.name, func(t *testing.T) {
				lab := netlab.New(t, netlab.Options{Nodes: 2, NoClient: true, IPv6: s.ipv6})
				lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
				start := impl.starter(s, false)
				bk := start(t, lb2, benchBackupPrio)
				mp := start(t, lb1, 100)
				waitHeld(t, lb1, s.vips(), true, 60*time.Second)
				waitHeld(t, lb2, s.vips(), false, 30*time.Second)
				time.Sleep(memSettle)
				for _, p := range []struct {
					role string
					pids []int
				}{{"master", mp.pids}, {"backup", bk.pids}} {
					m, err := readMem(p.pids)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s %s %s: %+v", impl.name, s, p.role, m)
					rows = append(rows, row{impl.name, s.String(), p.role, m})
				}
			})
		}
	}
	var b strings.Builder
	b.WriteString("\n| implementation | instances × interval | role | VmRSS | RssAnon | RssFile | PSS | Pss_Anon | Pss_File | threads |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		m := r.mem
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", r.impl, r.cell, r.role,
			mb(m.vmRSS), mb(m.rssAnon), mb(m.rssFile), mb(m.pss), mb(m.pssAnon), mb(m.pssFile), m.threads)
	}
	fmt.Print(b.String())
	fmt.Printf("end %s, %s\n", time.Now().UTC().Format(time.RFC3339), machineLoad())
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
