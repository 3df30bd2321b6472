package convert

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Warning is something in the keepalived file that the policy does not
// carry over, or carries over with a different meaning. Line is the
// keepalived line it is about (0: the file as a whole).
type Warning struct {
	Line    int
	Message string
}

func (w Warning) String() string {
	if w.Line == 0 {
		return w.Message
	}
	return fmt.Sprintf("line %d: %s", w.Line, w.Message)
}

// Convert translates a keepalived.conf into a hawatch HCL policy. filename
// names the source in errors and in the policy's header. Anything the
// policy does not carry over comes back as a Warning and is also written as
// a comment next to where it would have gone. err is a *SyntaxError
// (wrapping ErrSyntax) when src is not keepalived syntax; then hcl is nil.
func Convert(src []byte, filename string) (hcl []byte, warnings []Warning, err error) {
	return ConvertWith(src, filename, Options{})
}

// Options change how a file is read.
type Options struct {
	// ConfigID picks keepalived's conditional lines as `keepalived -i ID`
	// does: a line starting "@ID" is kept (without the "@ID"), one starting
	// "@^ID" is dropped, and the other way round for every other id. Empty:
	// every conditional line is dropped with a warning, since which node
	// the file is for is unknown.
	ConfigID string
}

// ConvertWith is Convert with options.
func ConvertWith(src []byte, filename string, opts Options) (hcl []byte, warnings []Warning, err error) {
	c := newConverter(filename)
	text := string(src)
	if !utf8.ValidString(text) {
		c.warn(nil, firstInvalidLine(text), "the file is not valid UTF-8; invalid bytes were replaced by U+FFFD")
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	stmts, err := parse(text, filename)
	if err != nil {
		return nil, nil, err
	}
	if opts.ConfigID != "" {
		stmts = selectConfig(stmts, opts.ConfigID)
	}
	c.collect(stmts)
	c.resolve()
	out := c.emit()
	sort.SliceStable(c.warnings, func(i, j int) bool { return c.warnings[i].Line < c.warnings[j].Line })
	return out, c.warnings, nil
}

func firstInvalidLine(s string) int {
	for i, l := range strings.Split(s, "\n") {
		if !utf8.ValidString(l) {
			return i + 1
		}
	}
	return 0
}

// keepalived's defaults where hawatch's differ or must be spelled out.
const (
	keepalivedVersion  = 2
	keepalivedPriority = 100
	keepalivedAdvert   = time.Second
	keepalivedSMTPPort = "25"
	procDefaultWeight  = 1 // vrrp_track_process; vrrp_script's is 0
	maxTrackWeight     = 254
	maxAuthPass        = 8
	maxGARPRepeat      = 100
	ownerPriority      = 255
)

type converter struct {
	file     string
	warnings []Warning

	global  globalDefs
	scripts []*scriptDef
	insts   []*instance
	groups  []*group
	checks  []*checkOut
	actions []*action

	scriptByName map[string]*scriptDef
	procByName   map[string]*scriptDef
	instByName   map[string]*instance
	actionByKey  map[string]*action
	checkNames   map[string]bool
	actionNames  map[string]bool
	plugins      map[string]bool
	mail         *action
	mailUnset    bool // the "smtp_alert not set" warning was given
	// mailFromGuessed: notification_email_from was not set.
	mailFromGuessed bool

	ifaceDelays []*ifaceDelays // interface_up_down_delays

	// dropped lists top-level blocks that were not converted, for the
	// comment at the end of the policy.
	dropped []string

	extras extras // track files and timing knobs (trackfile.go)
}

func newConverter(file string) *converter {
	return &converter{
		file:         file,
		scriptByName: map[string]*scriptDef{},
		procByName:   map[string]*scriptDef{},
		instByName:   map[string]*instance{},
		actionByKey:  map[string]*action{},
		checkNames:   map[string]bool{},
		actionNames:  map[string]bool{},
		plugins:      map[string]bool{},
	}
}

// warn records a warning and, when notes is given, the same text as a
// comment for the output block it concerns.
func (c *converter) warn(notes *[]string, line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.warnings = append(c.warnings, Warning{Line: line, Message: msg})
	if notes != nil {
		*notes = append(*notes, at(line)+msg)
	}
}

// note adds a comment without a warning: the meaning is carried over, the
// comment only explains how.
func note(notes *[]string, line int, format string, args ...any) {
	*notes = append(*notes, at(line)+fmt.Sprintf(format, args...))
}

func at(line int) string {
	if line == 0 {
		return ""
	}
	return fmt.Sprintf("line %d: ", line)
}

// dropStmt warns that a keyword (or block) is not converted.
func (c *converter) dropStmt(notes *[]string, s *stmt, why string) {
	what := s.Keyword()
	if s.Block {
		what += " {...}"
	}
	if why == "" {
		why = "hawatch has no equivalent"
	}
	c.warn(notes, s.Line, "%s not converted: %s", what, why)
}

// special handles statements that are not keywords: keepalived's
// conditional lines (@id), parameter definitions ($NAME=) and sequences
// (~SEQ). It reports whether s was one of them.
func (c *converter) special(notes *[]string, s *stmt) bool {
	kw := s.Keyword()
	switch {
	case kw == "":
		return true // a bare block such as "{ }": nothing to convert
	case strings.HasPrefix(kw, "@"):
		c.warn(notes, s.Line, "conditional configuration %q: the line was skipped; convert each node's file with --config-id ID (keepalived's -i ID)", kw)
	case strings.HasPrefix(kw, "$"):
		c.warn(notes, s.Line, "parameter definition %q not supported; substitute it by hand", kw)
	case strings.HasPrefix(kw, "~"):
		c.warn(notes, s.Line, "sequence %q not supported; write the statements out", kw)
	default:
		return false
	}
	return true
}

// collect reads the top level.
func (c *converter) collect(stmts []*stmt) {
	for _, s := range stmts {
		if c.special(&c.dropped, s) {
			continue
		}
		switch s.Keyword() {
		case "global_defs":
			c.globalDefs(s)
		case "vrrp_script":
			c.vrrpScript(s)
		case "vrrp_track_process":
			c.trackProcess(s)
		case "vrrp_instance":
			c.instance(s)
		case "vrrp_sync_group":
			c.syncGroup(s)
		case "interface_up_down_delays":
			c.upDownDelays(s)
		case "linkbeat_interfaces", "linkbeat_use_polling":
			note(&c.global.notes, s.Line, "%s: hawatch follows carrier from netlink link updates, no polling needed.", s.Keyword())
		case "include", "includer", "includem", "includew", "includeb", "includea":
			c.warn(&c.dropped, s.Line, "%s %s not followed: merge the included file into this one (or convert it on its own) first",
				s.Keyword(), strings.Join(s.Args(), " "))
		case "virtual_server", "virtual_server_group", "real_server":
			c.dropStmt(&c.dropped, s, "LVS/IPVS load balancing is not part of hawatch")
		case "static_ipaddress", "static_routes", "static_rules":
			c.dropStmt(&c.dropped, s, "hawatch manages only the virtual IPs; configure static addresses with the system's network tools")
		case "vrrp_track_file", "track_file":
			c.trackFile(s)
		case "net_namespace":
			// keepalived reads it outside global_defs too.
			if c.global.line == 0 {
				c.global.line = s.Line
			}
			c.netNamespace(&c.global.notes, s)
		case "bfd_instance":
			c.dropStmt(&c.dropped, s, "no BFD in hawatch")
		case "garp_group":
			c.dropStmt(&c.dropped, s, "per-interface GARP rate limits are not supported; see garp {} in vrrp_instance")
		default:
			c.dropStmt(&c.dropped, s, "")
		}
	}
}

// resolve ties the blocks together once all are read: keepalived allows
// forward references everywhere.
func (c *converter) resolve() {
	c.buildMail()
	c.resolveGroups()
	c.resolveTracks()
	c.buildChecks()
	for _, in := range c.insts {
		c.finishInstance(in)
	}
	for _, g := range c.groups {
		c.finishGroup(g)
	}
	c.finishMail()
}

// finishMail removes the mail action when nothing lists it (an LVS-only
// file, or smtp_alert off everywhere): hawatch would start its plugin for
// nothing.
func (c *converter) finishMail() {
	if c.mail == nil {
		return
	}
	if len(c.mail.users) > 0 {
		if c.mailFromGuessed {
			c.warn(&c.mail.notes, c.mail.line, "notification_email_from not set; keepalived used keepalived@<host name>, the policy says %s",
				c.mailFrom())
		}
		return
	}
	c.warn(&c.global.notes, c.mail.line, "notification_email not converted: no vrrp_instance or sync group sends VRRP mail")
	c.actions = slices.DeleteFunc(c.actions, func(a *action) bool { return a == c.mail })
	c.mail = nil
	if len(c.actions) == 0 {
		delete(c.plugins, "notify")
	}
}

// mailFrom is the rendered from address of the mail action.
func (c *converter) mailFrom() string {
	for _, b := range c.mail.config {
		for _, e := range b.sub {
			if e.k == "from" {
				return e.v
			}
		}
	}
	return ""
}

// --- values ---

// parseBool reads keepalived's optional <BOOL>: absent means true.
func parseBool(args []string) (bool, bool) {
	if len(args) == 0 {
		return true, true
	}
	switch strings.ToLower(args[0]) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// parseSeconds reads a keepalived <TIMER>: decimal seconds, microsecond
// resolution.
func parseSeconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e6 {
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

func parseInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// oneArg returns the single argument of s, or warns and reports false.
func (c *converter) oneArg(notes *[]string, s *stmt) (string, bool) {
	args := s.Args()
	if len(args) == 0 {
		c.warn(notes, s.Line, "%s without a value ignored", s.Keyword())
		return "", false
	}
	if len(args) > 1 {
		c.warn(notes, s.Line, "%s: extra words %q ignored", s.Keyword(), strings.Join(args[1:], " "))
	}
	return args[0], true
}

func (c *converter) seconds(notes *[]string, s *stmt) (time.Duration, bool) {
	v, ok := c.oneArg(notes, s)
	if !ok {
		return 0, false
	}
	d, ok := parseSeconds(v)
	if !ok {
		c.warn(notes, s.Line, "%s %q is not a number of seconds; ignored", s.Keyword(), v)
	}
	return d, ok
}

func (c *converter) integer(notes *[]string, s *stmt) (int, bool) {
	v, ok := c.oneArg(notes, s)
	if !ok {
		return 0, false
	}
	n, ok := parseInt(v)
	if !ok {
		c.warn(notes, s.Line, "%s %q is not a whole number; ignored", s.Keyword(), v)
	}
	return n, ok
}

// uniqueName returns base, or base_2, base_3... whichever is free in used,
// and marks it used.
func uniqueName(used map[string]bool, base string) string {
	name := base
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	used[name] = true
	return name
}
