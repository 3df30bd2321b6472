package convert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// kv is one line of a rendered block.
type kv struct {
	k, v    string // attribute name and rendered value
	note    string // trailing comment
	sub     []kv   // when set, a nested block named k
	comment string // a comment line instead of an attribute
	raw     string // a line written as it is (one-line track blocks)
}

func writeKVs(o *hclOut, items []kv) {
	for _, it := range items {
		switch {
		case it.comment != "":
			o.comment(it.comment)
		case it.raw != "":
			if it.note != "" {
				o.line(it.raw + " # " + cleanComment(it.note))
			} else {
				o.line(it.raw)
			}
		case it.sub != nil:
			o.open(it.k)
			writeKVs(o, it.sub)
			o.close()
		default:
			o.attrNote(it.k, it.v, it.note)
		}
	}
}

// commented writes items as a commented-out block, for TODO checks.
func commented(o *hclOut, head string, items []kv) {
	var inner hclOut
	inner.open(head)
	writeKVs(&inner, items)
	inner.close()
	for _, l := range strings.Split(strings.TrimRight(string(inner.bytes()), "\n"), "\n") {
		o.line("# " + l)
	}
}

// notesComment writes collected notes, one comment paragraph each, in the
// order of the keepalived lines they are about (they are collected in the
// order the converter learns them, which is not the file's).
func notesComment(o *hclOut, notes []string) {
	sorted := slices.Clone(notes)
	slices.SortStableFunc(sorted, func(a, b string) int { return noteLine(a) - noteLine(b) })
	for _, n := range sorted {
		o.comment(n)
	}
}

// noteLine is the N of a note starting "line N: ", else 0.
func noteLine(s string) int {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, ":")
	n, _ := strconv.Atoi(num)
	return n
}

// Plugins in the order they are declared, with what each needs.
var pluginOrder = []struct {
	name, user, why string
}{
	{kindProcess, "nobody", "only reads /proc and pid files"},
	{kindTCPProbe, "nobody", "only opens TCP connections"},
	{kindSplitBrain, "", "needs CAP_NET_RAW for ARP and neighbour discovery probes, so not \"nobody\""},
	{"notify", "", "runs the notify scripts as this user; set user to drop root"},
}

func (c *converter) emit() []byte {
	o := &hclOut{}
	o.comment(fmt.Sprintf("hawatch policy converted from %s by `hawatch convert`.", c.file))
	o.comment("Review it, then check it with `hawatch validate FILE`. \"line N\" in comments points at the " +
		"keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it was.")
	o.blank()

	c.emitNode(o)

	first := true
	for _, p := range pluginOrder {
		if !c.plugins[p.name] {
			continue
		}
		if first {
			o.comment("Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).")
			first = false
		}
		o.open(fmt.Sprintf("plugin %s", quote(p.name)))
		o.attr("command", quote("hawatch-"+p.name))
		if p.user != "" {
			o.attrNote("user", quote(p.user), p.why)
		} else {
			o.comment(p.why)
		}
		o.close()
		o.blank()
	}

	for _, ck := range c.checks {
		c.emitCheck(o, ck)
		o.blank()
	}
	for _, a := range c.actions {
		c.emitAction(o, a)
		o.blank()
	}
	c.emitTrackFiles(o)
	for _, in := range c.insts {
		c.emitInstance(o, in)
		o.blank()
	}
	c.emitStatic(o)
	c.emitInterfaces(o)
	for _, g := range c.groups {
		o.comment(fmt.Sprintf("vrrp_sync_group %s (line %d).", g.name, g.line))
		o.open("sync_group " + quote(g.name))
		notesComment(o, g.notes)
		o.attr("instances", list(g.instances))
		if len(g.notify) > 0 {
			o.attr("notify", list(g.notify))
		}
		o.close()
		o.blank()
	}
	if len(c.dropped) > 0 {
		o.comment("Not converted:")
		for _, d := range c.dropped {
			o.comment("- " + d)
		}
	}
	return o.bytes()
}

func (c *converter) emitNode(o *hclOut) {
	g := &c.global
	extra := c.nodeExtras()
	c.strictPlan() // a file without instances still gets its plan
	if g.routerID == "" && g.rtPrio == 0 && g.autoPrio == 0 && !g.noSwap && len(extra) == 0 && !g.strict.node {
		if len(g.notes) > 0 {
			o.comment(fmt.Sprintf("global_defs (line %d):", g.line))
			notesComment(o, g.notes)
			o.blank()
		}
		return
	}
	o.comment(fmt.Sprintf("global_defs (line %d).", g.line))
	o.open("node")
	notesComment(o, g.notes)
	if g.routerID != "" {
		o.attrNote("name", quote(g.routerID), "router_id")
	}
	if g.rtPrio > 0 {
		o.attrNote("realtime_priority", strconv.Itoa(g.rtPrio), "vrrp_rt_priority")
	}
	if g.autoPrio > 0 {
		// hawatch refuses a cap below the starting priority; keepalived
		// simply never escalates past it.
		o.attrNote("max_auto_priority", strconv.Itoa(max(g.autoPrio, g.rtPrio)), "max_auto_priority")
	}
	if g.noSwap {
		o.attrNote("lock_memory", "true", "vrrp_no_swap")
	}
	writeKVs(o, extra)
	if g.strict.node {
		o.attrNote("strict", "true", "vrrp_strict / strict_mode: every instance is strict; accept defaults to false")
	}
	o.close()
	o.blank()
}

func (c *converter) emitCheck(o *hclOut, ck *checkOut) {
	for _, cm := range ck.comments {
		o.comment(cm)
	}
	items := []kv{}
	if ck.plugin != "" {
		items = append(items, kv{k: "plugin", v: quote(ck.plugin)})
	} else {
		items = append(items, kv{k: "plugin", v: quote("TODO")})
	}
	items = append(items, ck.attrs...)
	if len(ck.config) > 0 {
		items = append(items, kv{k: "config", sub: ck.config})
	}
	if ck.plugin == "" {
		notesComment(o, *ck.notes)
		commented(o, "check "+quote(ck.name), items)
		return
	}
	o.open("check " + quote(ck.name))
	notesComment(o, *ck.notes)
	writeKVs(o, items)
	o.close()
}

func (c *converter) emitAction(o *hclOut, a *action) {
	for _, cm := range a.comments {
		o.comment(cm)
	}
	if len(a.users) > 0 {
		o.comment("Listed by " + strings.Join(a.users, ", ") + ".")
	}
	o.open("action " + quote(a.name))
	notesComment(o, a.notes)
	o.attr("plugin", quote("notify"))
	if a.timeout > 0 {
		o.attr("timeout", dur(a.timeout))
	}
	writeKVs(o, []kv{{k: "config", sub: a.config}})
	o.close()
}

func (c *converter) emitInstance(o *hclOut, in *instance) {
	span := fmt.Sprintf("line %d", in.line)
	if in.end > in.line {
		span = fmt.Sprintf("lines %d-%d", in.line, in.end)
	}
	o.comment(fmt.Sprintf("vrrp_instance %s (%s).", in.name, span))
	o.open("vrrp_instance " + quote(in.name))
	notesComment(o, in.notes)
	writeKVs(o, in.out)
	if len(in.trackOut) > 0 {
		o.blank()
		writeKVs(o, in.trackOut)
	}
	if len(in.notify) > 0 {
		o.blank()
		o.attr("notify", list(in.notify))
	}
	o.close()
}
