package e2e

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/netlab"
)

// interopMode is one row of the keepalived interop matrix.
type interopMode struct {
	name     string
	version  int
	interval time.Duration
	auth     string
	vip      string
	unicast  bool
	ipv6     bool
	// hmac: both sides use auth_hmac (enforce, key 1); keepalivedBin then
	// names a keepalived 2.4 binary.
	hmac          bool
	keepalivedBin string
}

var interopModes = []interopMode{
	{name: "v2-pass", version: 2, interval: time.Second, auth: "1111", vip: "198.51.100.50/24"},
	{name: "v3-multicast", version: 3, interval: 100 * time.Millisecond, vip: "198.51.100.50/24"},
	{name: "v3-unicast", version: 3, interval: 100 * time.Millisecond, vip: "198.51.100.50/24", unicast: true},
	{name: "v3-ipv6", version: 3, interval: 100 * time.Millisecond, vip: "2001:db8::50/64", ipv6: true},
}

func (m interopMode) hawatchInstance(self, other *netlab.Node, vrid, prio int) string {
	i := instance{vrid: vrid, prio: prio, version: m.version, interval: m.interval.String(), auth: m.auth, vips: []string{m.vip}}
	if m.hmac {
		i.extra = hmacPolicy([]int{1, 2}, 1, "enforce")
	}
	if m.unicast {
		i.unicastSource = self.Addr4.String()
		i.unicastPeers = []string{other.Addr4.String()}
	}
	return i.String()
}

func (m interopMode) keepalived(self, other *netlab.Node, vrid, prio int) netlab.KeepalivedConfig {
	c := netlab.KeepalivedConfig{VRID: vrid, Priority: prio, Version: m.version, AdvertInterval: m.interval, AuthPass: m.auth, VIPs: []string{m.vip},
		Binary: m.keepalivedBin}
	if m.hmac {
		c.HMAC = hmacKeepalived([]int{1, 2}, 2, "enforce") // the other key than hawatch's: each side verifies by key id
	}
	if m.unicast {
		c.UnicastSrc = self.Addr4.String()
		c.UnicastPeers = []string{other.Addr4.String()}
	}
	return c
}

// TestKeepalivedInterop runs the interop matrix: for each mode, hawatch as
// master with keepalived as backup and the reverse, and for each a crash
// (SIGKILL) and a graceful stop (SIGTERM) of the master. After convergence
// exactly one node holds the VIP, and the backup takes over within the RFC
// bound.
func TestKeepalivedInterop(t *testing.T) {
	needRoot(t)
	for i, m := range interopModes {
		for _, hawatchMaster := range []bool{true, false} {
			for _, crash := range []bool{true, false} {
				role := "hawatch-master"
				if !hawatchMaster {
					role = "keepalived-master"
				}
				stop := "graceful"
				if crash {
					stop = "crash"
				}
				t.Run(m.name+"/"+role+"/"+stop, func(t *testing.T) {
					runInterop(t, m, 60+i, hawatchMaster, crash)
				})
			}
		}
	}
}

func runInterop(t *testing.T, m interopMode, vrid int, hawatchMaster, crash bool) {
	lab := netlab.New(t, netlab.Options{Nodes: 2, IPv6: m.ipv6})
	lb1, lb2 := lab.Nodes[0], lab.Nodes[1]
	vip := netip.MustParsePrefix(m.vip)
	mdi, skew := rfcTimes(m.interval, 50)

	// lb1 runs the master (priority 100), lb2 the backup (priority 50).
	var stopMaster func(crash bool)
	if hawatchMaster {
		kb := m.keepalived(lb2, lb1, vrid, 50)
		netlab.StartKeepalived(t, lb2, kb)
		d := startDaemon(t, lb1, m.hawatchInstance(lb1, lb2, vrid, 100))
		stopMaster = func(crash bool) {
			if crash {
				d.proc.Kill()
			} else {
				d.proc.Signal(syscall.SIGTERM)
			}
		}
	} else {
		startDaemon(t, lb2, m.hawatchInstance(lb2, lb1, vrid, 50))
		ka := netlab.StartKeepalived(t, lb1, m.keepalived(lb1, lb2, vrid, 100))
		stopMaster = func(crash bool) {
			if crash {
				ka.Kill()
			} else {
				ka.Signal(syscall.SIGTERM)
			}
		}
	}

	waitVIP(t, lb1, vip, true, 3*mdi+3*time.Second)
	// The backup may win the first election before the master is up; it
	// must hand over at once.
	waitVIP(t, lb2, vip, false, 3*m.interval+loadSlack)
	exactlyOne(t, vip, lb1, 3*m.interval, lb1, lb2)

	start := time.Now()
	stopMaster(crash)
	bound := skew + m.interval
	if crash {
		bound = mdi + m.interval
	}
	waitVIP(t, lb2, vip, true, bound+loadSlack+time.Second)
	took := time.Since(start)
	t.Logf("takeover after %s: %v (RFC: Master_Down_Interval %v, Skew_Time %v)", map[bool]string{true: "crash", false: "graceful stop"}[crash], took, mdi, skew)
	if took > bound+loadSlack {
		t.Errorf("takeover took %v, want ≤ %v", took, bound)
	}
	if !crash {
		// A graceful master releases its VIP: one owner again.
		waitVIP(t, lb1, vip, false, time.Second)
		exactlyOne(t, vip, lb2, 3*m.interval, lb1, lb2)
	}
}
