// Package config reads a hawatch node policy (one HCL file per node), checks
// it, and returns typed values that still know where in the file each one
// came from, so that later stages (plugin schema checks, reload) can point
// the operator at file:line:col.
//
// Load and Parse report every problem they find in one run as
// hcl.Diagnostics; WriteDiagnostics renders them with source snippets.
//
// Conventions the rest of hawatch relies on:
//   - A virtual IP written without a prefix length ("198.51.100.50") means a
//     host route: /32 for IPv4, /128 for IPv6, as keepalived does.
//   - Durations are Go duration strings ("1s", "10ms"); bare numbers are
//     rejected so that "1" is never silently one nanosecond or one second.
//   - Defaults are filled in here, never later: a *Config returned without
//     errors is complete. Required: plugin.command, check.plugin,
//     action.plugin, vrrp_instance interface, virtual_router_id, priority and
//     virtual_ips, sync_group.instances; everything else has a default.
//   - The policy is static: expressions may not use variables or functions.
package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Default values applied when an attribute is absent.
const (
	DefaultControlSocket = "/run/hawatch/hawatch.sock"
	DefaultStateDir      = "/var/lib/hawatch"
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "json"

	DefaultCheckInterval = time.Second
	DefaultRise          = 1
	DefaultFall          = 1
	DefaultOnUnknown     = OnUnknownHold
	DefaultHoldFor       = 5 * time.Second

	DefaultActionTimeout = 30 * time.Second

	DefaultVersion        = 3
	DefaultAdvertInterval = time.Second
	DefaultUnicastTTL     = 255

	DefaultGARPRepeat   = 5
	maxGARPRepeat       = 100
	minGARPRefresh      = time.Second
	DefaultGARPInterval = 10 * time.Millisecond
	DefaultGARPDelay    = 5 * time.Second
)

// Values of Check.OnUnknown.
const (
	OnUnknownHold = "hold" // keep the last verdict for HoldFor, then treat as failed
	OnUnknownFail = "fail" // treat an unknown result as a failure at once
)

// Values of Track.Effect.
const (
	EffectFault  = "fault"  // failing check puts the instance in FAULT
	EffectWeight = "weight" // failing check adds Track.Weight to the priority
	EffectYield  = "yield"  // split-brain guard: the lower-priority master yields
)

// Values of Node.LogFormat.
const (
	LogFormatJSON    = "json"
	LogFormatConsole = "console"
)

// LogLevels are the accepted values of Node.LogLevel (zerolog's level names).
var LogLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}

// Config is one node's validated policy.
type Config struct {
	Node       Node
	Plugins    []*Plugin
	Checks     []*Check
	Actions    []*Action
	Witnesses  []*Witness
	Instances  []*Instance
	SyncGroups []*SyncGroup
	// Static is the static {} block, nil when absent.
	Static *Static
	// TrackFiles are the `track_file "name" {}` blocks (trackfile.go).
	TrackFiles []*TrackFile
	Interfaces []*Interface // interface blocks (link debounce)

	// Files holds the parsed sources by file name, for WriteDiagnostics. It
	// is set even when loading failed. It is not encoded to JSON: the source
	// holds secrets such as auth_pass.
	Files map[string]*hcl.File `json:"-"`
}

// Node holds daemon-wide settings from the optional `node {}` block.
type Node struct {
	Name          string // default: the host name
	ControlSocket string
	// ControlGroup may change things over the control socket besides root
	// (as primary or supplementary group): its gid. -1: root only.
	ControlGroup  int
	StateDir      string
	PluginDir     string // where plugin commands without a slash are found
	MetricsListen string // host:port; empty disables metrics
	LogLevel      string // one of LogLevels
	LogFormat     string // LogFormatJSON or LogFormatConsole
	// RealtimePriority runs the daemon's threads SCHED_RR at this priority
	// (1-99, keepalived's vrrp_rt_priority), so adverts leave on time on a
	// busy machine; 0: the normal scheduler.
	RealtimePriority int
	// MaxAutoPriority lets the VRRP loop raise its own thread's SCHED_RR
	// priority, one step each time it wakes up late (by more than a quarter
	// of the shortest advert interval), up to this (1-99; keepalived's
	// max_auto_priority); 0: never.
	MaxAutoPriority int
	// LockMemory keeps the daemon's pages in RAM once touched (keepalived's
	// vrrp_no_swap): under memory pressure the code that sends adverts is
	// never evicted and read back in from disk mid-interval.
	LockMemory bool
	DefRange   hcl.Range

	// StartupDelay keeps every instance in INIT this long after the
	// daemon starts (keepalived vrrp_startup_delay); DelayAfterBoot until
	// at least this long after the machine booted (vrrp_delay_after_boot).
	// The longer of the two applies.
	StartupDelay   time.Duration
	DelayAfterBoot time.Duration

	// Strict is keepalived's vrrp_strict: RFC 5798 / 3768 behaviour only,
	// checked at load (strict.go), and instances default to accept = false.
	Strict bool
}

// Plugin is a `plugin "name" {}` block: how to start one plugin binary.
type Plugin struct {
	Name     string
	Command  string // a name looked up in Node.PluginDir, or an absolute path
	Args     []string
	SHA256   string // lower-case hex pin of the binary; empty: no pin
	User     string // run the plugin as this user; empty: as the daemon
	DefRange hcl.Range
}

// Check is a `check "name" {}` block: one health check run by a plugin.
type Check struct {
	Name      string
	Plugin    string
	Interval  time.Duration
	Timeout   time.Duration // default: Interval
	Rise      int
	Fall      int
	OnUnknown string // OnUnknownHold or OnUnknownFail
	HoldFor   time.Duration

	// Config is the raw `config {}` body, nil if absent. It is decoded later
	// against the schema the plugin declares.
	Config      hcl.Body `json:"-"`
	ConfigRange hcl.Range
	DefRange    hcl.Range
}

// Action is an `action "name" {}` block: a plugin told about transitions.
type Action struct {
	Name        string
	Plugin      string
	Timeout     time.Duration
	Config      hcl.Body `json:"-"` // raw `config {}` body, nil if absent
	ConfigRange hcl.Range
	DefRange    hcl.Range
}

// Witness is a `witness "name" {}` block: a quorum (etcd, through a witness
// plugin) that grants instances the right to own their VIPs.
type Witness struct {
	Name        string
	Plugin      string
	Config      hcl.Body `json:"-"` // raw `config {}` body, nil if absent
	ConfigRange hcl.Range
	DefRange    hcl.Range
}

// Values of Instance.OnWitnessLost.
const (
	OnWitnessLostRelease = "release" // no grant, no VIPs: never two owners
	OnWitnessLostKeep    = "keep"    // witness unreachable: VRRP alone decides
)

// Instance is a `vrrp_instance "name" {}` block.
type Instance struct {
	Name           string
	Interface      string
	VRID           uint8
	Priority       uint8
	Version        int // 2 or 3
	AdvertInterval time.Duration

	// AuthPass is the VRRPv2 simple password (at most 8 bytes). It never
	// appears in String, GoString or JSON output.
	AuthPass string

	// AddressOwner says this node's interface carries the VIPs as its real
	// addresses; only then may Priority be 255 (RFC 5798 §5.2.4).
	AddressOwner bool

	// HMAC is the auth_hmac block (keepalived 2.4), nil when absent. Its
	// keys never print.
	HMAC *HMAC

	VirtualIPs []netip.Prefix // all of one family; the adverts list them
	// Addresses are the virtual_ip blocks (options of addresses that are
	// also in VirtualIPs, unless excluded) and excluded_ips; Owned merges
	// them with VirtualIPs.
	Addresses []*Address
	// Routes and Rules are installed while master (virtual_route,
	// virtual_rule).
	Routes []*Route
	Rules  []*Rule
	// McastSource is the source address of multicast adverts; zero: the
	// interface's primary address.
	McastSource   netip.Addr
	UnicastSource netip.Addr   // zero: chosen by the kernel
	UnicastPeers  []netip.Addr // empty: multicast
	// PeerTTL bounds the TTL accepted from the peers given as
	// unicast_peer blocks; peers from unicast_peers have no bound.
	PeerTTL map[netip.Addr]TTLRange
	// UnicastTTL is the TTL / hop limit unicast adverts are sent with
	// (keepalived unicast_ttl); default 255.
	UnicastTTL   uint8
	Preempt      bool
	PreemptDelay time.Duration
	// NoAccept turns RFC 5798 Accept_Mode off (HCL: accept = false): as a
	// master that is not the address owner, drop packets addressed to the
	// VIPs (core/fence). Default: Node.Strict, as in keepalived.
	NoAccept bool
	GARP     GARP
	// VMAC is the vmac block (a macvlan with the virtual router MAC),
	// nil without one.
	VMAC *VMAC
	// Witness names a witness block; empty: VRRP alone decides.
	Witness       string
	OnWitnessLost string // OnWitnessLostRelease (default) or OnWitnessLostKeep
	Tracks        []*Track
	// TrackInterfaces are other interfaces the instance follows.
	TrackInterfaces []*TrackInterface
	Notify          []string // action names
	DefRange        hcl.Range

	// TrackFiles are the track files the instance follows (trackfile.go).
	TrackFiles []*InstanceTrackFile
	// DownTimerAdverts is the number of advert intervals in
	// Master_Down_Interval (keepalived down_timer_adverts; RFC: 3).
	DownTimerAdverts int
	// LowerPrioNoAdvert: a master hearing a lower priority does not
	// answer it with an advert (keepalived lower_prio_no_advert).
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert: a master hearing a higher priority sends one
	// advert before stepping down (keepalived higher_prio_send_advert).
	HigherPrioSendAdvert bool
}

// GARP tunes the gratuitous ARP / unsolicited NA announcements on takeover.
type GARP struct {
	Repeat   int           // packets in a burst
	Interval time.Duration // between packets of a burst
	Delay    time.Duration // before the second burst; 0: no second burst
	Refresh  time.Duration // periodic re-announcement while master; 0: off

	// LowerPrioRepeat and LowerPrioDelay are the burst size and second
	// burst delay when a master hears a lower priority and announces
	// again (keepalived garp_lower_prio_repeat / garp_lower_prio_delay);
	// LowerPrioRepeat 0 means no announcement then. Default: Repeat and
	// Delay.
	LowerPrioRepeat int
	LowerPrioDelay  time.Duration
}

// Track ties a check to an instance.
type Track struct {
	Check    string
	Weight   int    // set only when Effect is EffectWeight
	Effect   string // EffectFault, EffectWeight or EffectYield
	DefRange hcl.Range
}

// SyncGroup is a `sync_group "name" {}` block: instances that change state
// together.
type SyncGroup struct {
	Name      string
	Instances []string
	Notify    []string
	DefRange  hcl.Range
}

// Family returns 4 or 6, the address family of the instance's VIPs.
func (i *Instance) Family() int {
	if len(i.VirtualIPs) > 0 && i.VirtualIPs[0].Addr().Is6() {
		return 6
	}
	return 4
}

const redacted = "<redacted>"

// String describes the instance without its password.
func (i Instance) String() string {
	auth := "none"
	switch {
	case i.AuthPass != "":
		auth = "pass " + redacted
	case i.HMAC != nil:
		auth = "hmac key " + fmt.Sprint(i.HMAC.ActiveKey)
	}
	return fmt.Sprintf("vrrp_instance %q (%s vrid %d prio %d v%d advert %s auth %s vips %v)",
		i.Name, i.Interface, i.VRID, i.Priority, i.Version, i.AdvertInterval, auth, i.VirtualIPs)
}

// GoString keeps %#v from printing the password.
func (i Instance) GoString() string { return "config.Instance{" + i.String() + "}" }

// MarshalJSON encodes the instance with the password masked, so a status
// dump of the configuration cannot leak it.
func (i Instance) MarshalJSON() ([]byte, error) {
	type plain Instance // drops the methods, avoiding recursion
	p := plain(i)
	if p.AuthPass != "" {
		p.AuthPass = redacted
	}
	return json.Marshal(p)
}
