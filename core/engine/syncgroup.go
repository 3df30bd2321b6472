package engine

import "github.com/hawatch/hawatch/core/vrrp"

// syncGroup binds a vrrp.Group coordinator to the engine's instances.
type syncGroup struct {
	name    string
	notify  []string
	members []*instance
	coord   *vrrp.Group
}

type groupEffect struct {
	member *instance
	input  vrrp.Input
}

func (g *syncGroup) observe(in *instance, t vrrp.Transition) []groupEffect {
	if g.coord == nil {
		names := make([]string, len(g.members))
		for i, m := range g.members {
			names[i] = m.cfg.Name
		}
		g.coord = vrrp.NewGroup(names)
	}
	var out []groupEffect
	for _, eff := range g.coord.Observe(in.cfg.Name, t) {
		for _, m := range g.members {
			if m.cfg.Name == eff.Member {
				out = append(out, groupEffect{member: m, input: eff.Input})
			}
		}
	}
	return out
}
