package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
)

// ref is a by-name reference from one block to another, resolved once every
// block has been read.
type ref struct {
	kind  string // block type referred to: "plugin", "check", "action", "vrrp_instance"
	name  string
	rng   hcl.Range
	owner string // `check "nginx"`, for the message
}

// builder carries what the cross-block checks need beyond the typed Config.
type builder struct {
	*decoder
	refs []ref
	// defs maps block type to name to where it was defined.
	defs map[string]map[string]hcl.Range
}

func build(d *decoder, raw *fileSchema, cfg *Config) {
	b := &builder{decoder: d, defs: map[string]map[string]hcl.Range{}}

	cfg.Node = b.node(raw.Node)
	for _, p := range raw.Plugins {
		if b.define("plugin", p.Name, p.DefRange) {
			cfg.Plugins = append(cfg.Plugins, b.plugin(p))
		}
	}
	for _, c := range raw.Checks {
		if b.define("check", c.Name, c.DefRange) {
			cfg.Checks = append(cfg.Checks, b.check(c))
		}
	}
	for _, a := range raw.Actions {
		if b.define("action", a.Name, a.DefRange) {
			cfg.Actions = append(cfg.Actions, b.action(a))
		}
	}
	for _, w := range raw.Witnesses {
		if b.define("witness", w.Name, w.DefRange) {
			cfg.Witnesses = append(cfg.Witnesses, b.witness(w))
		}
	}
	for _, t := range raw.TrackFiles {
		if b.define("track_file", t.Name, t.DefRange) {
			cfg.TrackFiles = append(cfg.TrackFiles, b.trackFile(t))
		}
	}
	var insts []*instanceInfo
	for _, i := range raw.Instances {
		if b.define("vrrp_instance", i.Name, i.DefRange) {
			info := b.instance(i)
			insts = append(insts, info)
			cfg.Instances = append(cfg.Instances, info.inst)
		}
	}
	b.crossInstance(insts)
	cfg.Static = b.static(raw.Static)
	b.crossStatic(cfg.Static, insts)
	b.crossVMAC(insts)
	cfg.Interfaces = b.interfaces(raw.Interfaces, insts)
	var members []groupMembers
	for _, g := range raw.SyncGroups {
		if b.define("sync_group", g.Name, g.DefRange) {
			sg, items := b.syncGroup(g)
			cfg.SyncGroups = append(cfg.SyncGroups, sg)
			members = append(members, groupMembers{g.Name, items})
		}
	}
	b.membership(members)
	b.witnessMembers(insts, members)
	b.instanceExtras(cfg, insts)
	b.strictMode(raw.Node, &cfg.Node, insts) // after the timing knobs it checks
	b.resolve()
}

func (b *builder) witness(w *witnessBlock) *Witness {
	out := &Witness{Name: w.Name, DefRange: w.DefRange}
	b.require(w.Plugin, "plugin", w.DefRange)
	if w.Plugin != nil && b.nonEmpty(w.Plugin, &out.Plugin) {
		b.addRef("plugin", listItem{out.Plugin, w.Plugin.Range}, fmt.Sprintf("witness %q", w.Name))
	}
	if w.Config != nil {
		out.Config, out.ConfigRange = w.Config.Body, w.Config.DefRange
	}
	return out
}

// witnessMembers refuses a witness on a sync-group member: the group moves
// its members together, and a right granted to one member but not another
// would split it.
func (b *builder) witnessMembers(insts []*instanceInfo, groups []groupMembers) {
	inGroup := map[string]string{}
	for _, g := range groups {
		for _, it := range g.items {
			inGroup[it.Value] = g.group
		}
	}
	for _, info := range insts {
		if g, ok := inGroup[info.inst.Name]; ok && info.inst.Witness != "" {
			b.errorf(info.block.Witness.Range, "Witness on a sync group member",
				"vrrp_instance %q is in sync_group %q; a witness on a sync group member is not supported yet.", info.inst.Name, g)
		}
	}
}

// define records a block name and reports a duplicate or unusable name. It
// returns false for a duplicate, which is then left out of the Config.
func (b *builder) define(kind, name string, rng hcl.Range) bool {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		b.errorf(rng, "Invalid "+kind+" name",
			"The name %q must be non-empty, without spaces or control characters.", name)
	}
	names := b.defs[kind]
	if names == nil {
		names = map[string]hcl.Range{}
		b.defs[kind] = names
	}
	if first, dup := names[name]; dup {
		b.errorf(rng, "Duplicate "+kind+" block",
			"A %s named %q is already defined at %s; names must be unique.", kind, name, first)
		return false
	}
	names[name] = rng
	return true
}

func (b *builder) addRef(kind string, item listItem, owner string) {
	b.refs = append(b.refs, ref{kind: kind, name: item.Value, rng: item.Range, owner: owner})
}

func (b *builder) resolve() {
	for _, r := range b.refs {
		names := b.defs[r.kind]
		if _, ok := names[r.name]; ok {
			continue
		}
		known := make([]string, 0, len(names))
		for n := range names {
			known = append(known, n)
		}
		sort.Strings(known)
		b.errorf(r.rng, "Reference to undefined "+r.kind,
			"%s refers to %s %q, but no `%s %q {}` block exists.%s",
			r.owner, r.kind, r.name, r.kind, r.name, didYouMean(r.name, known))
	}
}

// require reports a missing attribute that has no sensible default.
func (b *builder) require(a *hcl.Attribute, name string, block hcl.Range) {
	if a == nil {
		b.errorf(block, "Missing required argument", "The argument %q is required here.", name)
	}
}

func (b *builder) node(n *nodeBlock) Node {
	out := Node{
		ControlSocket: DefaultControlSocket,
		ControlGroup:  -1,
		StateDir:      DefaultStateDir,
		PluginDir:     DefaultPluginDir,
		LogLevel:      DefaultLogLevel,
		LogFormat:     DefaultLogFormat,
	}
	if host, err := os.Hostname(); err == nil {
		out.Name = host
	}
	if n == nil {
		return out
	}
	out.DefRange = n.DefRange
	b.nonEmpty(n.Name, &out.Name)
	b.absPath(n.ControlSocket, &out.ControlSocket)
	var group string
	if b.nonEmpty(n.ControlGroup, &group) {
		if gid, err := lookupGroup(group); err != nil {
			b.errorf(n.ControlGroup.Range, "Invalid value for control_group", "%v.", err)
		} else {
			out.ControlGroup = gid
		}
	}
	b.absPath(n.StateDir, &out.StateDir)
	b.absPath(n.PluginDir, &out.PluginDir)
	if b.nonEmpty(n.MetricsListen, &out.MetricsListen) {
		if err := checkListen(out.MetricsListen); err != nil {
			b.errorf(n.MetricsListen.Range, "Invalid value for metrics_listen",
				"%q is not a listen address such as \"127.0.0.1:9712\": %v.", out.MetricsListen, err)
		}
	}
	b.oneOf(n.LogLevel, &out.LogLevel, LogLevels...)
	b.oneOf(n.LogFormat, &out.LogFormat, LogFormatJSON, LogFormatConsole)
	if n.Realtime != nil {
		b.intRange(n.Realtime, &out.RealtimePriority, 0, 99)
	}
	if n.MaxAutoPrio != nil {
		b.intRange(n.MaxAutoPrio, &out.MaxAutoPriority, 0, 99)
		if out.MaxAutoPriority > 0 && out.MaxAutoPriority < out.RealtimePriority {
			b.errorf(n.MaxAutoPrio.Range, "Invalid value for max_auto_priority",
				"max_auto_priority %d is below realtime_priority %d: the loop starts above the most it may escalate to.",
				out.MaxAutoPriority, out.RealtimePriority)
		}
	}
	if n.LockMemory != nil {
		b.bool(n.LockMemory, &out.LockMemory)
	}
	b.duration(n.StartupDelay, &out.StartupDelay, true)
	b.duration(n.DelayAfterBoot, &out.DelayAfterBoot, true)
	return out
}

func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func (b *builder) absPath(a *hcl.Attribute, dst *string) {
	var s string
	if !b.nonEmpty(a, &s) {
		return
	}
	if !filepath.IsAbs(s) {
		b.errorf(a.Range, "Invalid value for "+a.Name, "%s must be an absolute path, not %q.", a.Name, s)
		return
	}
	*dst = s
}

func (b *builder) plugin(p *pluginBlock) *Plugin {
	out := &Plugin{Name: p.Name, DefRange: p.DefRange}
	b.require(p.Command, "command", p.DefRange)
	if b.nonEmpty(p.Command, &out.Command) && strings.ContainsRune(out.Command, '/') && !filepath.IsAbs(out.Command) {
		b.errorf(p.Command.Range, "Invalid value for command",
			"%q must be a bare name (looked up in node.plugin_dir) or an absolute path.", out.Command)
	}
	if items, ok := b.stringList(p.Args); ok {
		out.Args = make([]string, len(items))
		for i, it := range items {
			out.Args[i] = it.Value
		}
	}
	var sum string
	if b.string(p.SHA256, &sum) {
		sum = strings.ToLower(strings.TrimSpace(sum))
		if raw, err := hex.DecodeString(sum); err != nil || len(raw) != 32 {
			b.errorf(p.SHA256.Range, "Invalid value for sha256",
				"sha256 must be 64 hexadecimal digits (the output of sha256sum).")
		} else {
			out.SHA256 = sum
		}
	}
	b.nonEmpty(p.User, &out.User)
	return out
}

func (b *builder) check(c *checkBlock) *Check {
	out := &Check{
		Name:      c.Name,
		Interval:  DefaultCheckInterval,
		Rise:      DefaultRise,
		Fall:      DefaultFall,
		OnUnknown: DefaultOnUnknown,
		HoldFor:   DefaultHoldFor,
		DefRange:  c.DefRange,
	}
	owner := fmt.Sprintf("check %q", c.Name)
	b.require(c.Plugin, "plugin", c.DefRange)
	if c.Plugin != nil && b.nonEmpty(c.Plugin, &out.Plugin) {
		b.addRef("plugin", listItem{out.Plugin, c.Plugin.Range}, owner)
	}
	b.duration(c.Interval, &out.Interval, false)
	out.Timeout = out.Interval
	b.duration(c.Timeout, &out.Timeout, false)
	b.intRange(c.Rise, &out.Rise, 1, 1<<20)
	b.intRange(c.Fall, &out.Fall, 1, 1<<20)
	b.oneOf(c.OnUnknown, &out.OnUnknown, OnUnknownHold, OnUnknownFail)
	b.duration(c.HoldFor, &out.HoldFor, true)
	if c.Config != nil {
		out.Config, out.ConfigRange = c.Config.Body, c.Config.DefRange
	}
	return out
}

func (b *builder) action(a *actionBlock) *Action {
	out := &Action{Name: a.Name, Timeout: DefaultActionTimeout, DefRange: a.DefRange}
	b.require(a.Plugin, "plugin", a.DefRange)
	if a.Plugin != nil && b.nonEmpty(a.Plugin, &out.Plugin) {
		b.addRef("plugin", listItem{out.Plugin, a.Plugin.Range}, fmt.Sprintf("action %q", a.Name))
	}
	b.duration(a.Timeout, &out.Timeout, false)
	if a.Config != nil {
		out.Config, out.ConfigRange = a.Config.Body, a.Config.DefRange
	}
	return out
}

// groupMembers is a sync group's instance list with source ranges.
type groupMembers struct {
	group string
	items []listItem
}

func (b *builder) syncGroup(g *syncGroupBlock) (*SyncGroup, []listItem) {
	out := &SyncGroup{Name: g.Name, DefRange: g.DefRange}
	owner := fmt.Sprintf("sync_group %q", g.Name)
	b.require(g.Instances, "instances", g.DefRange)
	var members []listItem
	if items, ok := b.stringList(g.Instances); ok {
		if len(items) == 0 {
			b.errorf(g.Instances.Range, "Invalid value for instances", "A sync group needs at least one instance.")
		}
		seen := map[string]bool{}
		for _, it := range items {
			if seen[it.Value] {
				b.errorf(it.Range, "Duplicate instance in sync group", "%q is listed twice.", it.Value)
				continue
			}
			seen[it.Value] = true
			out.Instances = append(out.Instances, it.Value)
			members = append(members, it)
			b.addRef("vrrp_instance", it, owner)
		}
	}
	out.Notify = b.notify(g.Notify, owner)
	return out, members
}

// membership enforces that an instance belongs to one sync group at most.
func (b *builder) membership(groups []groupMembers) {
	member := map[string]string{}
	for _, g := range groups {
		for _, it := range g.items {
			if first, ok := member[it.Value]; ok {
				b.errorf(it.Range, "Instance in more than one sync group",
					"vrrp_instance %q is already a member of sync_group %q; an instance can follow one group only.",
					it.Value, first)
				continue
			}
			member[it.Value] = g.group
		}
	}
}

// notify decodes a list of action names and queues their resolution.
func (b *builder) notify(a *hcl.Attribute, owner string) []string {
	items, ok := b.stringList(a)
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Value] {
			b.errorf(it.Range, "Duplicate action in notify", "%q is listed twice.", it.Value)
			continue
		}
		seen[it.Value] = true
		out = append(out, it.Value)
		b.addRef("action", it, owner)
	}
	return out
}

// lookupGroup resolves a group name, or takes a numeric gid as it is.
func lookupGroup(name string) (int, error) {
	if gid, err := strconv.Atoi(name); err == nil && gid >= 0 {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("no group %q on this machine", name)
	}
	return strconv.Atoi(g.Gid)
}
