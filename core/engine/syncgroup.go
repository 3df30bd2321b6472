package engine

import "github.com/hawatch/hawatch/core/vrrp"

// syncGroup binds a vrrp.Group coordinator to the engine's instances.
type syncGroup struct {
	name    string
	notify  []string
	members []*instance
	coord   *vrrp.Group
}
