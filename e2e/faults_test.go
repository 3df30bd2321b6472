package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// The fault suite (issue 17): each fault is run on a hawatch pair and on a
// keepalived 2.2.7 pair in the same test, prints one line of figures for
// the two side by side, and asserts only hawatch's safety properties (who
// owns the VIP, bounded windows); the figures go to docs/benchmarks.md.
// Every pair is VRRP v3 with 100 ms adverts, lb1 priority 150 (master) and
// lb2 priority 100. Run the suite alone with
//
//	go test -count=1 -v -run 'TestFault' ./e2e

const faultInterval = 100 * time.Millisecond

// faultPrio are lb1's and lb2's priorities in every fault pair.
var faultPrio = [2]int{150, 100}

// faultInstance is the hawatch instance of a fault pair member; extra goes
// into the vrrp_instance block as it is.
func faultInstance(vrid, prio int, vip netip.Prefix, extra string) instance {
	return instance{vrid: vrid, prio: prio, version: 3, interval: faultInterval.String(), vips: []string{vip.String()}, extra: extra}
}

// startFaultPair starts hawatch on lb1 and lb2 with the policies given
// (from faultInstance, plus any plugin declarations) and waits until lb1
// alone holds vip and lb2 is BACKUP.
func startFaultPair(t *testing.T, lb1, lb2 *netlab.Node, vip netip.Prefix, policy1, policy2 string) (d1, d2 *daemon) {
	t.Helper()
	return startFaultPairWith(t, lb1, lb2, vip, "", policy1, policy2)
}

// faultRealtime is the node setting for a crowded machine: the daemon's
// threads on SCHED_RR (keepalived: vrrp_rt_priority).
const faultRealtime = "realtime_priority = 10"

// faultLockMemory keeps the daemon's pages in RAM under memory pressure
// (keepalived: vrrp_no_swap).
const faultLockMemory = "lock_memory = true"

// startFaultPairWith is startFaultPair with nodeAttrs in both node blocks.
func startFaultPairWith(t *testing.T, lb1, lb2 *netlab.Node, vip netip.Prefix, nodeAttrs, policy1, policy2 string) (d1, d2 *daemon) {
	t.Helper()
	d1 = startDaemonWith(t, lb1, nodeAttrs, policy1)
	waitVIP(t, lb1, vip, true, 10*time.Second)
	d2 = startDaemonWith(t, lb2, nodeAttrs, policy2)
	waitState(t, d2, "BACKUP", 5*time.Second)
	exactlyOne(t, vip, lb1, 500*time.Millisecond, lb1, lb2)
	return d1, d2
}

// faultKeepalived is the keepalived 2.2.7 config of a fault pair member.
func faultKeepalived(vrid, prio int, vip netip.Prefix) netlab.KeepalivedConfig {
	return netlab.KeepalivedConfig{VRID: vrid, Priority: prio, Version: 3, AdvertInterval: faultInterval, VIPs: []string{vip.String()}}
}

// startKeepalivedFaultPair starts keepalived on lb1 and lb2 and waits until
// lb1 alone holds vip.
func startKeepalivedFaultPair(t *testing.T, lb1, lb2 *netlab.Node, vrid int, vip netip.Prefix) (k1, k2 *netlab.Proc) {
	t.Helper()
	k1 = netlab.StartKeepalived(t, lb1, faultKeepalived(vrid, faultPrio[0], vip))
	waitVIP(t, lb1, vip, true, 10*time.Second)
	k2 = netlab.StartKeepalived(t, lb2, faultKeepalived(vrid, faultPrio[1], vip))
	time.Sleep(time.Second)
	exactlyOne(t, vip, lb1, 500*time.Millisecond, lb1, lb2)
	return k1, k2
}

// sideBySide runs a scenario's hawatch pair and keepalived pair at once,
// each in its own lab (subtests pairs/hawatch and pairs/keepalived), and
// logs their figures on one faultLine.
func sideBySide[F fmt.Stringer](t *testing.T, scenario string, hawatch, keepalived func(*testing.T) F) {
	t.Helper()
	start := time.Now()
	var hw, ka F
	t.Run("pairs", func(t *testing.T) {
		t.Run("hawatch", func(t *testing.T) {
			t.Parallel()
			hw = hawatch(t)
		})
		t.Run("keepalived", func(t *testing.T) {
			t.Parallel()
			ka = keepalived(t)
		})
	})
	t.Logf("wall time %v", time.Since(start).Round(time.Second))
	faultLine(t, scenario, hw.String(), ka.String())
}

// faultLine logs a scenario's figures, hawatch's next to keepalived's, in
// the one format the benchmarks table is filled from.
func faultLine(t *testing.T, scenario, hawatch, keepalived string) {
	t.Helper()
	t.Logf("FAULT %-26s | hawatch: %s | keepalived 2.2.7: %s | load %s", scenario, hawatch, keepalived, machineLoad())
}
