// Package vip owns virtual addresses on one network interface: it adds and
// removes them through netlink, tells the segment about a takeover with
// gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6), and
// keeps the interface in line with ownership in both directions: an address
// its owner holds that someone deletes comes back, and a known address that
// nobody holds and that someone adds is removed.
//
// The package does not know why an owner holds its addresses; the caller (the
// engine, driven by VRRP) decides. An owner is any name the caller chooses,
// typically the instance name. One Manager serves one interface.
//
// Layout: the ownership and reconciliation logic (manager.go), the announce
// schedule (schedule.go) and the rate limiter (ratelimit.go) are plain Go and
// are tested without root over fakes; the netlink backend and the packet
// sockets live in _linux.go files.
package vip
