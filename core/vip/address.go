package vip

import (
	"fmt"
	"net/netip"
)

// Scope is an address's scope as the kernel stores it (ifa_scope): where
// the address is valid. The values are the kernel's RT_SCOPE_* numbers, so
// they mean the same on every platform this package builds on.
type Scope uint8

// Scopes, from widest to narrowest.
const (
	ScopeGlobal  Scope = 0   // valid everywhere (the default)
	ScopeSite    Scope = 200 // within the site (IPv6)
	ScopeLink    Scope = 253 // on this link only
	ScopeHost    Scope = 254 // on this host only
	ScopeNowhere Scope = 255 // nowhere: reserved by the kernel
)

// scopeNames are the names ip(8) and keepalived use.
var scopeNames = map[string]Scope{
	"global": ScopeGlobal, "site": ScopeSite, "link": ScopeLink, "host": ScopeHost, "nowhere": ScopeNowhere,
}

// ParseScope reads a scope by its ip(8) name.
func ParseScope(s string) (Scope, error) {
	if sc, ok := scopeNames[s]; ok {
		return sc, nil
	}
	return 0, fmt.Errorf("unknown scope %q: one of global, site, link, host, nowhere", s)
}

func (s Scope) String() string {
	for n, v := range scopeNames {
		if v == s {
			return n
		}
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// AddrOptions are the attributes an address is added with besides its
// prefix. The zero value adds a plain address.
type AddrOptions struct {
	// Label is the IPv4 address label ("eth0:web"); it must start with the
	// interface name. Empty: none.
	Label string
	// Scope of the address; ScopeGlobal by default. The kernel honours it
	// for IPv4 only (an IPv6 address's scope follows from the address),
	// and wants an address in the subnet of another one (a secondary) in
	// that one's scope.
	Scope Scope
	// Broadcast is the IPv4 broadcast address; invalid (zero): none.
	Broadcast netip.Addr
	// NoTrack: the reconciler does not put the address back when someone
	// deletes it (keepalived's no_track); the next Acquire after a
	// Release does.
	NoTrack bool
}

// Address is one address with its options.
type Address struct {
	Prefix netip.Prefix
	AddrOptions
}
