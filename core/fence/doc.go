// Package fence keeps a node from accepting traffic addressed to the virtual
// addresses it holds as a non-owner master without accept mode (RFC 5798
// §6.1 Accept_Mode, §6.4.3: such a master "MUST NOT accept packets addressed
// to the IPvX address(es) associated with the virtual router"). It owns one
// nftables table of hawatch's own in the node's network namespace, with a
// set of the addresses to fence per family and input / output chains that
// drop packets to and from them (neighbour solicitations and advertisements
// pass, or IPv6 clients could not even resolve the address). keepalived
// does the same with its "keepalived" table; hawatch's is "hawatch", so the
// two never touch each other's rules.
//
// The package does not know why an address is fenced; the caller (the
// engine, told by core/vrouter) decides. Addresses are kept per owner (an
// instance name); the table holds their union.
//
// Layout: the ownership and reconciliation logic (manager.go) is plain Go,
// tested over an in-memory backend; the nftables backend (google/nftables,
// netlink, no nft binary) is nft_linux.go.
package fence
