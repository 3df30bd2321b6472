// Package layering holds the test that enforces hawatch's import rules
// (design.md §2): the SDK and plugins never import core, core/vrrp knows
// nothing of plugins, HCL or netlink, and core/vip knows nothing of VRRP.
package layering
