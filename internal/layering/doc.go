// Package layering holds the test that enforces hawatch's import rules
// (design.md §2): the SDK and plugins never import core, core/vrrp knows
// nothing of plugins, HCL or netlink, core/vrouter (the per-instance layer)
// does no I/O, and core/vip knows nothing of VRRP.
package layering
