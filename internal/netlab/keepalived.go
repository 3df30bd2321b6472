package netlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// KeepalivedConfig describes one vrrp_instance for a real keepalived peer.
// Zero values take keepalived's defaults where it has them.
type KeepalivedConfig struct {
	Instance       string // vrrp_instance name; default "VI_1"
	Interface      string // default "eth0"
	VRID           int
	Priority       int
	Version        int           // 2 or 3; default 2
	State          string        // initial state, "BACKUP" (default) or "MASTER"
	AdvertInterval time.Duration // default 1 s; v3 allows 10 ms steps
	AuthPass       string        // v2 auth_type PASS when set
	VIPs           []string      // "198.51.100.50/24" or "2001:db8::50/64"
	UnicastSrc     string
	UnicastPeers   []string
	// HMAC, when set, is an auth_hmac block (keepalived 2.4): its lines go
	// inside auth_hmac { } as they are ("key 1 hex:…", "active_key 1").
	HMAC []string
	// Binary runs another keepalived than Debian's (a 2.4 build, which has
	// no LVS and so no --vrrp option); empty: keepalived from the PATH.
	Binary string
	// VMAC, when set, is use_vmac with that macvlan name; the VIPs are
	// then listed without "dev", so keepalived puts them on the macvlan.
	VMAC string
	// VMACXmitBase adds vmac_xmit_base (with VMAC).
	VMACXmitBase bool
	Preempt      bool // keepalived preempts by default; kept for symmetry
	NoPreempt    bool
	// Extra lines go verbatim into the vrrp_instance block
	// (e.g. "preempt_delay 5", "garp_master_delay 1").
	Extra []string
	// Global lines go verbatim into global_defs.
	Global []string
	// Blocks go verbatim at the top level, before the instance
	// (track_file, vrrp_script ...).
	Blocks []string
	// TopLevel lines go verbatim before global_defs (e.g. an
	// interface_up_down_delays block).
	TopLevel []string
}

// Render returns the keepalived.conf text for c.
func (c KeepalivedConfig) Render() string {
	c = c.withDefaults()
	var b strings.Builder
	for _, l := range c.TopLevel {
		fmt.Fprintf(&b, "%s\n", l)
	}
	b.WriteString("global_defs {\n")
	fmt.Fprintf(&b, "    router_id %s\n", c.Instance)
	for _, l := range c.Global {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("}\n\n")
	for _, blk := range c.Blocks {
		b.WriteString(blk + "\n\n")
	}

	fmt.Fprintf(&b, "vrrp_instance %s {\n", c.Instance)
	fmt.Fprintf(&b, "    state %s\n", c.State)
	fmt.Fprintf(&b, "    interface %s\n", c.Interface)
	fmt.Fprintf(&b, "    virtual_router_id %d\n", c.VRID)
	fmt.Fprintf(&b, "    priority %d\n", c.Priority)
	fmt.Fprintf(&b, "    version %d\n", c.Version)
	fmt.Fprintf(&b, "    advert_int %s\n", strconv.FormatFloat(c.AdvertInterval.Seconds(), 'f', -1, 64))
	if c.NoPreempt {
		b.WriteString("    nopreempt\n")
	}
	if c.AuthPass != "" {
		fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", c.AuthPass)
	}
	if len(c.HMAC) > 0 {
		b.WriteString("    auth_hmac {\n")
		for _, l := range c.HMAC {
			fmt.Fprintf(&b, "        %s\n", l)
		}
		b.WriteString("    }\n")
	}
	if c.UnicastSrc != "" {
		fmt.Fprintf(&b, "    unicast_src_ip %s\n", c.UnicastSrc)
	}
	if len(c.UnicastPeers) > 0 {
		b.WriteString("    unicast_peer {\n")
		for _, p := range c.UnicastPeers {
			fmt.Fprintf(&b, "        %s\n", p)
		}
		b.WriteString("    }\n")
	}
	if c.VMAC != "" {
		fmt.Fprintf(&b, "    use_vmac %s\n", c.VMAC)
		if c.VMACXmitBase {
			b.WriteString("    vmac_xmit_base\n")
		}
	}
	b.WriteString("    virtual_ipaddress {\n")
	for _, v := range c.VIPs {
		if c.VMAC != "" {
			fmt.Fprintf(&b, "        %s\n", v)
			continue
		}
		fmt.Fprintf(&b, "        %s dev %s\n", v, c.Interface)
	}
	b.WriteString("    }\n")
	for _, l := range c.Extra {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("}\n")
	return b.String()
}

func (c KeepalivedConfig) withDefaults() KeepalivedConfig {
	if c.Instance == "" {
		c.Instance = "VI_1"
	}
	if c.Interface == "" {
		c.Interface = "eth0"
	}
	if c.Version == 0 {
		c.Version = 2
	}
	if c.State == "" {
		c.State = "BACKUP"
	}
	if c.AdvertInterval == 0 {
		c.AdvertInterval = time.Second
	}
	return c
}

// Keepalived243 returns the path of a keepalived 2.4.3 binary, the release
// with auth_hmac: $HAWATCH_KEEPALIVED_243, else the cache that
// build-keepalived.sh (beside the project, under ../shared/peers) fills. It
// returns "" and the reason when there is none.
func Keepalived243() (path, why string) {
	if p := os.Getenv("HAWATCH_KEEPALIVED_243"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Sprintf("HAWATCH_KEEPALIVED_243=%s: %v", p, err)
		}
		return p, ""
	}
	cache := os.Getenv("KEEPALIVED_CACHE")
	if cache == "" {
		cache = "/var/cache/hawatch-peers"
	}
	p := filepath.Join(cache, "keepalived-2.4.3", "bin", "keepalived")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Sprintf("no keepalived 2.4.3 at %s (build it with ../shared/peers/build-keepalived.sh, as .ci/run does, or set HAWATCH_KEEPALIVED_243)", p)
	}
	return p, ""
}
