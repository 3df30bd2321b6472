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
//
// # What the kernel does
//
// IPv4 VIPs are added with their label and prefix length; IPv6 VIPs with
// IFA_F_NODAD, so they are usable (and announceable) at once instead of
// after a second of duplicate address detection. The interface's
// promote_secondaries is turned on (see Options.KeepPromoteSecondaries).
//
// What a Linux neighbour (kernel 6.18, checked by the kernel tests) does
// with the announcements:
//
//   - An existing neighbour entry, in any state but PERMANENT, takes the new
//     MAC from the GARP and from the NA (override flag) and becomes STALE.
//     A client that talks to the VIP has such an entry, so a takeover
//     reaches it with default sysctls.
//   - No entry: a GARP creates one only with arp_accept=1; an unsolicited NA
//     creates one only on a router (forwarding=1) with
//     accept_untracked_na=1 (RFC 9131); on a host accept_untracked_na has
//     no effect.
//
// Reconciliation latency measured in those tests (namespaces on a loaded
// 2-core machine): a deleted VIP is back 0.1-0.5 ms after the RTM_DELADDR,
// a foreign VIP is gone about 0.1 ms after its RTM_NEWADDR.
package vip
