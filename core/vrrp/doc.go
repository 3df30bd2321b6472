// Package vrrp is the pure part of hawatch's VRRP engine: the advertisement
// codec (VRRPv2 per RFC 3768 with keepalived's simple-text auth, VRRPv3 per
// RFC 5798 with RFC 9568's clarifications, IPv4 and IPv6), the per-instance
// receive filter, the RFC timers, the state machine and sync groups.
//
// Nothing here touches the network or the clock. core/vrouter wraps each
// machine with the decisions around it, the engine and the transport
// (transport/) feed decoded adverts and timer ticks in and carry the
// results out; tests drive the machine with an injected clock
// (testdata/*.txt scenario scripts).
//
// Wire compatibility with keepalived 2.2.7 is a goal: the v3 IPv4 checksum is
// sent in RFC 5798's pseudo-header form, which keepalived verifies, and both
// that and RFC 9568's message-only form are accepted.
package vrrp
