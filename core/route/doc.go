// Package route owns kernel routes and policy rules on behalf of named
// owners: an instance's virtual_route / virtual_rule set while it is
// master, the node's static set for as long as the daemon runs. It is the
// sibling of core/vip for what is not an address, with the same shape: a
// small backend interface (netlink on Linux, an in-memory fake in tests),
// idempotent Acquire / Release, and a reconciler (Run) that puts back what
// an owner holds whenever the kernel reports something that may have taken
// it away (a route or rule deleted, a link or address that came back).
//
// It knows nothing about VRRP: the engine decides when an owner holds.
package route
