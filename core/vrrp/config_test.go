package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

var local4 = netip.MustParseAddr("198.51.100.11")

func baseConfig(version uint8) Config {
	c := Config{VRID: 7, Version: version, Priority: 100, AdvertInterval: time.Second, Preempt: true,
		LocalAddr: local4, Addresses: []netip.Addr{vip4}}
	if version == 2 {
		c.AuthPass = "secret"
	}
	return c
}

func TestValidate(t *testing.T) {
	mod := func(v uint8, f func(*Config)) Config { c := baseConfig(v); f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"v3 ok", baseConfig(3), true},
		{"v2 ok", baseConfig(2), true},
		{"v6 ok", mod(3, func(c *Config) { c.LocalAddr, c.Addresses = src6, []netip.Addr{vip6, gvip} }), true},
		{"owner ok", mod(3, func(c *Config) { c.Priority, c.AddressOwner = 255, true }), true},
		{"prio 255 implies owner", mod(3, func(c *Config) { c.Priority = 255 }), true},
		{"10ms ok", mod(3, func(c *Config) { c.AdvertInterval = 10 * time.Millisecond }), true},
		{"version 4", mod(3, func(c *Config) { c.Version = 4 }), false},
		{"vrid 0", mod(3, func(c *Config) { c.VRID = 0 }), false},
		{"prio 0", mod(3, func(c *Config) { c.Priority = 0 }), false},
		{"owner prio 100", mod(3, func(c *Config) { c.AddressOwner = true }), false},
		{"negative preempt delay", mod(3, func(c *Config) { c.PreemptDelay = -1 }), false},
		{"down timer adverts 100", mod(3, func(c *Config) { c.DownTimerAdverts = 100 }), true},
		{"down timer adverts 101", mod(3, func(c *Config) { c.DownTimerAdverts = 101 }), false},
		{"negative down timer adverts", mod(3, func(c *Config) { c.DownTimerAdverts = -1 }), false},
		{"v3 5ms", mod(3, func(c *Config) { c.AdvertInterval = 5 * time.Millisecond }), false},
		{"v3 41s", mod(3, func(c *Config) { c.AdvertInterval = 41 * time.Second }), false},
		{"v2 500ms", mod(2, func(c *Config) { c.AdvertInterval = 500 * time.Millisecond }), false},
		{"no local", mod(3, func(c *Config) { c.LocalAddr = netip.Addr{} }), false},
		{"v2 IPv6", mod(2, func(c *Config) { c.LocalAddr, c.Addresses = src6, []netip.Addr{vip6} }), false},
		{"no vips", mod(3, func(c *Config) { c.Addresses = nil }), false},
		{"mixed vips", mod(3, func(c *Config) { c.Addresses = append(c.Addresses, gvip) }), false},
		{"duplicate vip", mod(3, func(c *Config) { c.Addresses = append(c.Addresses, vip4) }), false},
		{"v3 auth", mod(3, func(c *Config) { c.AuthPass = "x" }), false},
		{"long pass", mod(2, func(c *Config) { c.AuthPass = "123456789" }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error does not wrap ErrConfig: %v", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	v3 := baseConfig(3)
	v2 := baseConfig(2)
	v6 := baseConfig(3)
	v6.LocalAddr, v6.Addresses = netip.MustParseAddr("fe80::11"), []netip.Addr{vip6, gvip}
	owner := baseConfig(3)
	owner.Priority, owner.AddressOwner = 255, true

	adv := func(c Config, f func(*Advert)) *Advert {
		a := c.Advert(150)
		a.Src = src4
		if family(c.LocalAddr) == 6 {
			a.Src = src6
		}
		if f != nil {
			f(a)
		}
		return a
	}
	other := netip.MustParseAddr("198.51.100.99")
	tests := []struct {
		name string
		cfg  Config
		a    *Advert
		warn Warning
		err  error
	}{
		{"v3 ok", v3, adv(v3, nil), 0, nil},
		{"v2 ok", v2, adv(v2, nil), 0, nil},
		{"v6 ok", v6, adv(v6, nil), 0, nil},
		{"version", v3, adv(v2, nil), 0, ErrVersion},
		{"vrid", v3, adv(v3, func(a *Advert) { a.VRID = 8 }), 0, ErrVRID},
		{"family", v6, adv(v3, nil), 0, ErrFamily},
		{"own advert", v3, adv(v3, func(a *Advert) { a.Src = local4 }), 0, ErrOwnAdvert},
		{"v2 no auth", v2, adv(v2, func(a *Advert) { a.AuthType, a.AuthData = AuthNone, [8]byte{} }), 0, ErrAuthType},
		{"v2 wrong pass", v2, adv(v2, func(a *Advert) { a.AuthData = passData("secreT") }), 0, ErrAuth},
		{"v2 interval", v2, adv(v2, func(a *Advert) { a.Interval = 2 }), 0, ErrInterval},
		{"v2 address list", v2, adv(v2, func(a *Advert) { a.Addresses = []netip.Addr{other} }), 0, ErrAddrList},
		{"v2 address count", v2, adv(v2, func(a *Advert) { a.Addresses = append(a.Addresses, other) }), 0, ErrAddrList},
		{"v2 owner's address list", v2, adv(v2, func(a *Advert) { a.Priority, a.Addresses = 255, []netip.Addr{other} }), WarnAddressList, nil},
		{"v3 address list", v3, adv(v3, func(a *Advert) { a.Addresses = []netip.Addr{other} }), WarnAddressList, nil},
		{"v3 address order", v6, adv(v6, func(a *Advert) { a.Addresses = []netip.Addr{gvip, vip6} }), WarnNotLinkLocal, nil},
		{"v3 interval", v3, adv(v3, func(a *Advert) { a.Interval = 10 }), WarnInterval, nil},
		{"owner conflict", owner, adv(owner, func(a *Advert) { a.Priority = 255 }), WarnOwnerConflict, nil},
		{"several", v3, adv(v3, func(a *Advert) { a.Interval, a.Addresses = 50, []netip.Addr{other} }), WarnAddressList | WarnInterval, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := tc.cfg.Check(tc.a)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if w != tc.warn {
				t.Errorf("warning = %q, want %q", w, tc.warn)
			}
		})
	}
}

func TestConfigAdvert(t *testing.T) {
	c := baseConfig(3)
	c.LocalAddr, c.Addresses = netip.MustParseAddr("fe80::11%eth0"), []netip.Addr{vip6}
	a := c.Advert(42)
	if a.Dst != MulticastGroup6 || a.Priority != 42 || a.Interval != 100 || a.Type != 1 {
		t.Errorf("Advert = %+v", a)
	}
	if _, err := a.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	a.Addresses[0] = gvip // the advert must not alias the config
	if c.Addresses[0] != vip6 {
		t.Error("Advert aliases Config.Addresses")
	}
	v2 := baseConfig(2)
	if a := v2.Advert(1); a.AuthType != AuthPass || !a.PassMatches("secret") || a.Dst != MulticastGroup4 {
		t.Errorf("v2 Advert = %+v", a)
	}
}

func TestWarningString(t *testing.T) {
	if s := (WarnAddressList | WarnOwnerConflict).String(); s != "address-list,owner-conflict" {
		t.Errorf("String = %q", s)
	}
	if Warning(0).String() != "" {
		t.Error("zero warning has text")
	}
}
