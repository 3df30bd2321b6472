package vip

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
)

// Each address keeps its own options, also when the reconciler puts it
// back after someone deleted it.
func TestAcquireAddressesKeepsOptionsPerAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		brd := netip.MustParseAddr("198.51.100.255")
		err := r.m.AcquireAddresses(context.Background(), "vi_1", []Address{
			{Prefix: v4a, AddrOptions: AddrOptions{Label: "eth0:web", Scope: ScopeLink, Broadcast: brd}},
			{Prefix: v4b},
			{Prefix: v6a, AddrOptions: AddrOptions{Scope: ScopeSite}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[netip.Prefix]string{
			v4a: "eth0:web scope=link brd=198.51.100.255",
			v4b: "",
			v6a: " scope=site brd=invalid IP",
		}
		check := func(when string) {
			t.Helper()
			for p, l := range want {
				if got := r.be.label(p); got != l {
					t.Errorf("%s: %s options %q, want %q", when, p, got, l)
				}
			}
		}
		check("acquired")
		r.be.externalDel(v4a)
		r.event(v4a, false)
		r.wantPresent(true, v4a)
		check("put back")
	})
}

func TestAcquireAddressesRejectsBadOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		for _, a := range []Address{
			{Prefix: v4a, AddrOptions: AddrOptions{Label: "eth1:web"}},
			{Prefix: v6a, AddrOptions: AddrOptions{Broadcast: netip.MustParseAddr("198.51.100.255")}},
			{Prefix: v4a, AddrOptions: AddrOptions{Broadcast: netip.MustParseAddr("2001:db8::ff")}},
		} {
			err := r.m.AcquireAddresses(context.Background(), "vi_1", []Address{a})
			if !errors.Is(err, ErrInvalidLabel) && !errors.Is(err, ErrInvalidPrefix) {
				t.Errorf("%+v: err %v", a, err)
			}
		}
		if len(r.be.ops) != 0 {
			t.Errorf("kernel touched: %v", r.be.ops)
		}
	})
}

func TestParseScope(t *testing.T) {
	for _, n := range []string{"global", "site", "link", "host", "nowhere"} {
		s, err := ParseScope(n)
		if err != nil || s.String() != n {
			t.Errorf("%s: %v %v", n, s, err)
		}
	}
	if _, err := ParseScope("universe"); err == nil {
		t.Error("universe accepted")
	}
}

// keepalived's no_track: a deleted address stays gone until the next
// takeover; its neighbours are put back as usual.
func TestNoTrackAddressNotPutBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Options{})
		r.run()
		addrs := []Address{{Prefix: v4a, AddrOptions: AddrOptions{NoTrack: true}}, {Prefix: v4b}}
		if err := r.m.AcquireAddresses(context.Background(), "vi_1", addrs); err != nil {
			t.Fatal(err)
		}
		r.be.externalDel(v4a)
		r.event(v4a, false)
		r.be.externalDel(v4b)
		r.event(v4b, false)
		r.wantPresent(false, v4a)
		r.wantPresent(true, v4b)
		_ = r.m.Release(context.Background(), "vi_1")
		_ = r.m.AcquireAddresses(context.Background(), "vi_1", addrs)
		r.wantPresent(true, v4a, v4b)
	})
}
