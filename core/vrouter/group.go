package vrouter

import (
	"fmt"

	"github.com/hawatch/hawatch/core/vrrp"
)

// Group is a sync group of routers: their machines are coordinated by a
// vrrp.Group (all Master on this node, or none), and a step of one member
// returns the Ready entries of every member it moved.
type Group struct {
	name    string
	coord   *vrrp.Group
	members map[string]*Router
}

// NewGroup binds members into sync group name. Build it before stepping any
// member; a router belongs to at most one group.
func NewGroup(name string, members ...*Router) (*Group, error) {
	g := &Group{name: name, coord: vrrp.NewGroup(name), members: map[string]*Router{}}
	for _, r := range members {
		if r.group != nil {
			return nil, fmt.Errorf("sync group %s: instance %s already belongs to sync group %s: %w", name, r.name, r.group.name, ErrGroup)
		}
		if err := g.coord.Add(r.name, r.m); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGroup, err)
		}
		g.members[r.name] = r
		r.group = g
	}
	return g, nil
}

// Name is the group's name.
func (g *Group) Name() string { return g.name }
