package convert

// group is a vrrp_sync_group.
type group struct {
	name           string
	line           int
	notes          []string
	members        []memberRef
	tracks         []*trackRef
	ifaceTracks    []*ifaceTrack // track_interface
	notifies       []*notifyRef
	smtpAlert      *bool
	trackingWeight bool // sync_group_tracking_weight

	instances []string // resolved members
	notify    []string
}

type memberRef struct {
	name string
	line int
}

func (c *converter) syncGroup(s *stmt) {
	args := s.Args()
	if len(args) != 1 {
		c.warn(&c.dropped, s.Line, "vrrp_sync_group needs exactly one name; block skipped")
		return
	}
	for _, g := range c.groups {
		if g.name == args[0] {
			c.warn(&c.dropped, s.Line, "vrrp_sync_group %s defined twice; the second one is skipped", args[0])
			return
		}
	}
	g := &group{name: args[0], line: s.Line}
	notes := &g.notes
	for _, e := range s.Children {
		if c.special(notes, e) || c.linkKeyword(notes, nil, g, e) {
			continue
		}
		switch kw := e.Keyword(); kw {
		case "group":
			for _, m := range e.Children {
				for _, n := range m.Args0() {
					g.members = append(g.members, memberRef{n, m.Line})
				}
			}
			for _, n := range e.Args() {
				g.members = append(g.members, memberRef{n, e.Line})
			}
		case "track_script", "track_process":
			for _, a := range e.Children {
				if t := c.trackEntry(notes, a, kw == "track_process", "vrrp_sync_group "+g.name); t != nil {
					g.tracks = append(g.tracks, t)
				}
			}
		case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
			if n := c.notifyEntry(notes, e); n != nil {
				g.notifies = append(g.notifies, n)
			}
		case "smtp_alert":
			b, ok := parseBool(e.Args())
			if !ok {
				c.warn(notes, e.Line, "smtp_alert %q is not a boolean; ignored", e.Args()[0])
				continue
			}
			g.smtpAlert = &b
		case "sync_group_tracking_weight":
			g.trackingWeight = true
		case "global_tracking":
			g.trackingWeight = true
			note(notes, e.Line, "global_tracking (deprecated in keepalived): member instances keep their track weights.")
		default:
			c.dropStmt(notes, e, instanceDropped[kw])
		}
	}
	c.groups = append(c.groups, g)
}

// resolveGroups checks membership and hands the group's tracks to its
// members: hawatch tracks checks per instance, and a group's track meant
// "every member".
func (c *converter) resolveGroups() {
	var kept []*group
	for _, g := range c.groups {
		for _, m := range g.members {
			in := c.instByName[m.name]
			switch {
			case in == nil:
				c.warn(&g.notes, m.line, "vrrp_sync_group %s lists %s, which is no vrrp_instance; dropped", g.name, m.name)
			case in.group == g:
				c.warn(&g.notes, m.line, "vrrp_sync_group %s lists %s twice", g.name, m.name)
			case in.group != nil:
				c.warn(&g.notes, m.line, "%s is already in vrrp_sync_group %s; an instance can follow one group only, dropped from %s",
					m.name, in.group.name, g.name)
			default:
				in.group = g
				g.instances = append(g.instances, m.name)
			}
		}
		if len(g.instances) == 0 {
			c.warn(&c.dropped, g.line, "vrrp_sync_group %s has no usable members; skipped", g.name)
			continue
		}
		for _, name := range g.instances {
			in := c.instByName[name]
			for _, t := range g.tracks {
				if tracks(in, t) {
					c.warn(&in.notes, t.line, "%s is tracked both by %s and by its vrrp_sync_group %s; the instance's own entry is kept",
						t.name, in.name, g.name)
					continue
				}
				cp := *t
				in.tracks = append(in.tracks, &cp)
			}
		}
		c.inheritIfaceTracks(g)
		kept = append(kept, g)
	}
	c.groups = kept
}

func tracks(in *instance, t *trackRef) bool {
	for _, have := range in.tracks {
		if have.name == t.name && have.proc == t.proc {
			return true
		}
	}
	return false
}

func (c *converter) finishGroup(g *group) {
	g.notify = c.notifyNames(g.notifies, "vrrp_sync_group "+g.name)
	alert := g.smtpAlert
	if alert == nil {
		alert = c.global.smtpAlert
	}
	if alert != nil && *alert {
		if c.mail != nil {
			g.notify = append(g.notify, c.mail.name)
			c.mail.users = append(c.mail.users, "vrrp_sync_group "+g.name)
		} else if g.smtpAlert != nil {
			c.warn(&g.notes, g.line, "smtp_alert is on but global_defs has no usable notification_email and smtp_server; no mail")
		}
	}
	if len(g.tracks) > 0 {
		note(&g.notes, g.line, "hawatch tracks checks per instance: the group's track_script/track_process entries are on each member.")
	}
}
