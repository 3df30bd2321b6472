package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ErrConfig is wrapped by every Config.Validate error.
var ErrConfig = errors.New("invalid vrrp instance config")

// OwnerPriority is the priority of the router that owns the virtual
// addresses as real interface addresses (RFC 5798 §5.2.4).
const OwnerPriority = 255

// Config is one virtual router instance as the state machine and the receive
// filter need it. It is plain data; core/config builds it from HCL.
type Config struct {
	VRID    uint8
	Version uint8 // 2 or 3
	// Priority is the configured base priority, 1–255. 255 means address
	// owner (as does AddressOwner).
	Priority uint8
	// AdvertInterval is rounded and clamped to what the wire can carry (see
	// WireInterval) by NewMachine.
	AdvertInterval time.Duration
	Preempt        bool
	// PreemptDelay holds off preempting a lower-priority master for this long
	// after entering Backup (keepalived preempt_delay).
	PreemptDelay time.Duration
	AddressOwner bool
	// LocalAddr is our primary address on the interface (IPv4 primary or IPv6
	// link-local): the advert source and our side of the equal-priority
	// tie-break.
	LocalAddr netip.Addr
	// Addresses are the virtual addresses, in advert order.
	Addresses []netip.Addr
	// AuthPass is the v2 simple-text password (auth type 1); empty for none.
	AuthPass string
	// NeedsPermit makes mastership depend on a Permit input (a quorum
	// witness): without one the machine never becomes Master.
	NeedsPermit bool
	// DownTimerAdverts is the number of advert intervals in
	// Master_Down_Interval before Skew_Time is added (keepalived
	// down_timer_adverts); 0 means the RFC's 3. Every router of the
	// instance must use the same value.
	DownTimerAdverts int
	// LowerPrioNoAdvert: a Master that hears a lower priority does not
	// answer with an advert of its own at once (keepalived
	// lower_prio_no_advert, the RFC 5798 behaviour); the next regular
	// advert still goes out on time.
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert: a Master that hears a higher priority sends
	// one advert at its own priority before it steps down (keepalived
	// higher_prio_send_advert), so the other master, after a split, hears
	// that there were two and announces its addresses again.
	HigherPrioSendAdvert bool
}

// DefaultDownTimerAdverts is the RFC's advert count in
// Master_Down_Interval.
const DefaultDownTimerAdverts = 3

// MaxDownTimerAdverts is keepalived's upper bound for down_timer_adverts.
const MaxDownTimerAdverts = 100

// downAdverts is DownTimerAdverts with its default.
func (c *Config) downAdverts() int {
	if c.DownTimerAdverts == 0 {
		return DefaultDownTimerAdverts
	}
	return c.DownTimerAdverts
}

// owner reports whether the instance is the address owner.
func (c *Config) owner() bool {
	return c.AddressOwner || c.Priority == OwnerPriority
}

// Validate reports the first problem that would make the instance
// misbehave on the wire. core/config gives users friendlier diagnostics;
// this is the engine's last line of defence.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Version != 2 && c.Version != 3:
		return bad("version %d, want 2 or 3", c.Version)
	case c.VRID == 0:
		return bad("vrid 0, want 1-255")
	case c.Priority == 0:
		return bad("priority 0 is reserved for resigning masters, want 1-255")
	case c.AddressOwner && c.Priority != OwnerPriority:
		return bad("address owner must have priority %d, have %d", OwnerPriority, c.Priority)
	case c.PreemptDelay < 0:
		return bad("negative preempt delay %s", c.PreemptDelay)
	case c.DownTimerAdverts < 0 || c.DownTimerAdverts > MaxDownTimerAdverts:
		return bad("down timer adverts %d, want 1-%d", c.DownTimerAdverts, MaxDownTimerAdverts)
	}
	minI, maxI := 10*time.Millisecond, 4095*10*time.Millisecond
	if c.Version == 2 {
		minI, maxI = time.Second, 255*time.Second
	}
	if c.AdvertInterval < minI || c.AdvertInterval > maxI {
		return bad("advert interval %s outside %s-%s for VRRPv%d", c.AdvertInterval, minI, maxI, c.Version)
	}
	fam := family(c.LocalAddr)
	switch {
	case fam == 0:
		return bad("no local address")
	case fam == 6 && c.Version == 2:
		return bad("VRRPv2 is IPv4 only")
	case len(c.Addresses) == 0:
		return bad("no virtual addresses")
	case len(c.Addresses) > 255:
		return bad("%d virtual addresses, at most 255 fit an advert", len(c.Addresses))
	case c.AuthPass != "" && c.Version != 2:
		return bad("auth_pass needs VRRPv2")
	case len(c.AuthPass) > len(Advert{}.AuthData):
		return bad("auth_pass longer than %d bytes", len(Advert{}.AuthData))
	}
	seen := make(map[netip.Addr]bool, len(c.Addresses))
	for _, ip := range c.Addresses {
		if family(ip) != fam {
			return bad("virtual address %s is not IPv%d like local address %s", ip, fam, c.LocalAddr)
		}
		if seen[plain(ip)] {
			return bad("virtual address %s listed twice", ip)
		}
		seen[plain(ip)] = true
	}
	return nil
}

// authType is the v2 auth type this instance sends and expects.
func (c *Config) authType() AuthType {
	if c.AuthPass != "" {
		return AuthPass
	}
	return AuthNone
}

// Advert builds the advert this instance sends at the given priority, from
// LocalAddr to the multicast group of its family. For unicast peers set Dst
// to each peer before encoding (the v3 checksum covers it).
func (c *Config) Advert(priority uint8) *Advert {
	a := &Advert{
		Version:   c.Version,
		Type:      TypeAdvertisement,
		VRID:      c.VRID,
		Priority:  priority,
		Interval:  WireInterval(c.Version, c.AdvertInterval),
		Addresses: append([]netip.Addr(nil), c.Addresses...),
		Src:       c.LocalAddr.Unmap(),
		Dst:       MulticastGroup4,
	}
	if family(c.LocalAddr) == 6 {
		a.Dst = MulticastGroup6
	}
	if c.Version == 2 {
		a.AuthType = c.authType()
		if a.AuthType == AuthPass {
			a.AuthData = passData(c.AuthPass)
		}
	}
	return a
}

// Warning is a set of findings about an accepted advert that the loop should
// log (rate-limited) but that do not make it a drop.
type Warning uint8

const (
	// WarnAddressList: v3 advert whose address list differs from ours
	// (RFC 5798 §7.1 says log, keep processing).
	WarnAddressList Warning = 1 << iota
	// WarnNotLinkLocal: IPv6 advert whose first address is not link-local
	// (RFC 9568 erratum 8300 says drop; keepalived 2.2 sends such adverts
	// unless vrrp_strict, so hawatch accepts them and logs).
	WarnNotLinkLocal
	// WarnOwnerConflict: we are the address owner and someone else
	// advertises priority 255 too (RFC 9568 §8.3.2: log it).
	WarnOwnerConflict
	// WarnInterval: v3 master advertises another interval; a Backup adopts
	// it (RFC 5798 §6.4.2), but the mismatch is worth a log line.
	WarnInterval
	// WarnClockSkew: an auth_hmac sequence more than half the time window
	// from our clock (keepalived warns there too; past the window it is a
	// drop).
	WarnClockSkew
)

var warningNames = []struct {
	w    Warning
	name string
}{
	{WarnAddressList, "address-list"},
	{WarnNotLinkLocal, "not-link-local"},
	{WarnOwnerConflict, "owner-conflict"},
	{WarnInterval, "interval"},
	{WarnClockSkew, "clock-skew"},
}

// Has reports whether w contains x.
func (w Warning) Has(x Warning) bool { return w&x != 0 }

func (w Warning) String() string {
	if w == 0 {
		return ""
	}
	var names []string
	for _, n := range warningNames {
		if w.Has(n.w) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// Check is the per-instance receive filter, applied after decoding. It
// returns a drop sentinel when RFC 5798 / RFC 3768 §7.1 say the advert must
// be discarded: version not the configured one, VRID not ours, family not
// ours, our own advert looped back, and for v2: auth type or password
// mismatch, interval mismatch, and an address list mismatch from a sender
// that is not the owner. Findings that are not drops come back as Warning.
func (c *Config) Check(a *Advert) (Warning, error) {
	switch {
	case a.Version != c.Version:
		return 0, fmt.Errorf("version %d, configured %d: %w", a.Version, c.Version, ErrVersion)
	case a.VRID != c.VRID:
		return 0, fmt.Errorf("vrid %d, configured %d: %w", a.VRID, c.VRID, ErrVRID)
	case family(a.Src) != family(c.LocalAddr):
		return 0, fmt.Errorf("advert from %v on an IPv%d instance: %w", a.Src, family(c.LocalAddr), ErrFamily)
	case plain(a.Src) == plain(c.LocalAddr):
		return 0, fmt.Errorf("advert from %v: %w", a.Src, ErrOwnAdvert)
	}
	sameList := sameAddresses(a.Addresses, c.Addresses)
	if a.Version == 2 {
		if want := c.authType(); a.AuthType != want {
			return 0, fmt.Errorf("auth type %s, configured %s: %w", a.AuthType, want, ErrAuthType)
		}
		if a.AuthType == AuthPass && !a.PassMatches(c.AuthPass) {
			return 0, fmt.Errorf("password mismatch from %v: %w", a.Src, ErrAuth)
		}
		if want := WireInterval(2, c.AdvertInterval); a.Interval != want {
			return 0, fmt.Errorf("interval %ds, configured %ds: %w", a.Interval, want, ErrInterval)
		}
		if !sameList && a.Priority != OwnerPriority {
			return 0, fmt.Errorf("addresses %v, configured %v: %w", a.Addresses, c.Addresses, ErrAddrList)
		}
	}
	var w Warning
	if !sameList {
		w |= WarnAddressList
	}
	if a.Version == 3 && a.Interval != WireInterval(3, c.AdvertInterval) {
		w |= WarnInterval
	}
	if len(a.Addresses) > 0 && family(a.Addresses[0]) == 6 && !a.Addresses[0].IsLinkLocalUnicast() {
		w |= WarnNotLinkLocal
	}
	if c.owner() && a.Priority == OwnerPriority {
		w |= WarnOwnerConflict
	}
	return w, nil
}

// sameAddresses compares address sets: the count must match and every
// configured address must be present, which is what keepalived checks.
func sameAddresses(got, want []netip.Addr) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if plain(g) == plain(w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// plain strips what the wire does not carry (IPv4 mapping, IPv6 zone) so
// configured and received addresses compare equal.
func plain(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}
