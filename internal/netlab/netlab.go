// Package netlab builds throw-away network labs out of Linux network
// namespaces for root-only integration tests: a bridge namespace holding one
// Linux bridge, N node namespaces and a client namespace, each plugged into
// the bridge with a veth called eth0. Everything a lab creates lives inside
// namespaces it named itself and is removed by t.Cleanup, so tests never touch
// the host's interfaces.
//
// Addressing (node i is 1-based, named "lb<i>"):
//
//	node i   198.51.100.(10+i)/24   2001:db8::<10+i>/64   02:00:00:00:00:<10+i>
//	member i 198.51.100.(30+i)/24   2001:db8::<30+i>/64   02:00:00:00:00:<30+i>
//	client   198.51.100.100/24      2001:db8::100/64      02:00:00:00:00:64
//
// The IPv6 host part and the last MAC byte are written with the same digits
// as the IPv4 last octet, so lb1 is 198.51.100.11, 2001:db8::11 (= 0x11) and
// 02:00:00:00:00:11; the client's MAC byte 0x64 is decimal 100.
package netlab

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// Exported sentinel errors.
var (
	// ErrUnsupported is returned on systems without network namespaces.
	ErrUnsupported = errors.New("netlab: network namespaces need Linux")
	// ErrWaitTimeout is returned by Proc.Wait when the process outlives the timeout.
	ErrWaitTimeout = errors.New("netlab: process still running after timeout")
)

// MaxNodes bounds Options.Nodes so the MAC and address scheme stays unique.
const MaxNodes = 40

// Options shapes a lab. The zero value is two nodes, a client, IPv4 only.
type Options struct {
	// Nodes is the number of node namespaces (lb1..lbN); 0 means 2.
	Nodes int
	// Client is accepted for readability: the client namespace is created
	// unless NoClient is set (a bool cannot default to true).
	Client bool
	// NoClient skips the client namespace.
	NoClient bool
	// IPv6 also assigns the 2001:db8::/64 addresses. Link-local addresses
	// exist in every lab and are usable at once (DAD is off).
	IPv6 bool
	// Members adds namespaces etcd1..etcdN for quorum members (a witness's
	// etcd cluster), at 198.51.100.(30+i), MAC 02:00:00:00:00:(30+i).
	Members int
}

// Lab is one running lab. Fields are read-only after New.
type Lab struct {
	// Prefix starts every namespace name of this lab, e.g. "hwt4711-3fa2-".
	Prefix string
	Nodes  []*Node
	// Client is nil when Options.NoClient was set.
	Client *Node
	// Members are the quorum member namespaces (Options.Members).
	Members []*Node
	// Bridge is the name of the bridge namespace (the bridge inside is "br0").
	Bridge string
}

// Node is one namespace plugged into the lab bridge with its eth0.
type Node struct {
	Name  string // "lb1", "lb2", ..., "client"
	NS    string // network namespace name (ip netns)
	Addr4 netip.Addr
	// Addr6 is the 2001:db8:: address; invalid unless Options.IPv6.
	Addr6 netip.Addr
	// LinkLocal is eth0's fe80:: address (kernel-generated from MAC).
	LinkLocal netip.Addr
	MAC       net.HardwareAddr
	// Index is 1-based for nodes, 0 for the client, -i for member etcd<i>.
	Index int

	mu         sync.Mutex
	blockReady bool // the BlockVRRP nft table exists
}

// Prefix4 returns the node's IPv4 address with its /24.
func (n *Node) Prefix4() netip.Prefix { return netip.PrefixFrom(n.Addr4, 24) }

// Prefix6 returns the node's 2001:db8:: address with its /64 (invalid
// unless Options.IPv6).
func (n *Node) Prefix6() netip.Prefix {
	if !n.Addr6.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(n.Addr6, 64)
}

// String is the node name; handy in test messages.
func (n *Node) String() string { return n.Name }
