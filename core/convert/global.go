package convert

import (
	"net"
	"strings"
	"time"
)

// globalDefs is what global_defs contributes.
type globalDefs struct {
	line  int
	notes []string

	routerID string
	rtPrio   int  // vrrp_rt_priority; 0: not set
	autoPrio int  // max_auto_priority; 0: not set
	noSwap   bool // vrrp_no_swap

	version     int // vrrp_version; 0: not set
	versionLine int

	mailTo      []string
	mailFrom    string
	smtpServer  string // host:port
	smtpTimeout time.Duration
	smtpHelo    string
	mailLine    int   // first mail keyword, for messages
	smtpAlert   *bool // smtp_alert_vrrp, else smtp_alert; nil: not set

	garp garpSettings

	strict strictGlobal
}

// garpSettings are keepalived's gratuitous ARP knobs; nil means not set.
type garpSettings struct {
	repeat   *int
	delay    *time.Duration
	refresh  *time.Duration
	interval *time.Duration
}

// over returns g with the fields set in o replacing its own.
func (g garpSettings) over(o garpSettings) garpSettings {
	if o.repeat != nil {
		g.repeat = o.repeat
	}
	if o.delay != nil {
		g.delay = o.delay
	}
	if o.refresh != nil {
		g.refresh = o.refresh
	}
	if o.interval != nil {
		g.interval = o.interval
	}
	return g
}

func (g garpSettings) empty() bool {
	return g.repeat == nil && g.delay == nil && g.refresh == nil && g.interval == nil
}

// Why global_defs keywords are not converted, where there is more to say
// than "no equivalent".
var globalDropped = map[string]string{
	"vrrp_mcast_group4":               "hawatch always uses the standard VRRP group 224.0.0.18",
	"vrrp_mcast_group6":               "hawatch always uses the standard VRRP group ff02::12",
	"vrrp_skip_check_adv_addr":        "hawatch has no such switch",
	"notify_fifo":                     "use `hawatch events` (JSON lines) or a notify action",
	"vrrp_notify_fifo":                "use `hawatch events` (JSON lines) or a notify action",
	"lvs_id":                          "LVS/IPVS is not part of hawatch",
	"lvs_sync_daemon":                 "LVS/IPVS is not part of hawatch",
	"lvs_flush":                       "LVS/IPVS is not part of hawatch",
	"smtp_alert_checker":              "LVS checkers are not part of hawatch",
	"checker_log_all_failures":        "LVS checkers are not part of hawatch",
	"no_email_faults":                 "the mail action reports every transition, FAULT included",
	"vrrp_garp_master_refresh_repeat": "hawatch's refresh sends one burst of garp.repeat packets",
	"vrrp_gna_interval":               "garp.interval applies to IPv6 neighbour advertisements too",
	"startup_script":                  "run it from the service manager (ExecStartPre= in systemd)",
	"shutdown_script":                 "run it from the service manager (ExecStopPost= in systemd)",
}

func (c *converter) globalDefs(s *stmt) {
	g := &c.global
	if g.line == 0 {
		g.line = s.Line
	}
	notes := &g.notes
	for _, e := range s.Children {
		if c.special(notes, e) || c.firewallKeyword(notes, e) {
			continue
		}
		args := e.Args()
		switch kw := e.Keyword(); kw {
		case "vrrp_strict":
			g.strict.on, g.strict.line = true, e.Line
		case "router_id":
			if v, ok := c.oneArg(notes, e); ok {
				g.routerID = v
			}
		case "net_namespace":
			c.netNamespace(notes, e)
		case "vrrp_rt_priority", "max_auto_priority":
			dst := &g.rtPrio
			if kw == "max_auto_priority" {
				dst = &g.autoPrio
			}
			if n, ok := c.integer(notes, e); ok {
				if n < 1 || n > 99 {
					c.warn(notes, e.Line, "%s %d is not in 1-99; ignored", kw, n)
					continue
				}
				*dst = n
			}
		case "min_auto_priority_delay":
			note(notes, e.Line, "min_auto_priority_delay: hawatch escalates when its loop wakes up later than a quarter of the shortest advert interval (at least 1 ms); not converted")
		case "vrrp_no_swap":
			g.noSwap = true
		case "vrrp_version":
			if n, ok := c.integer(notes, e); ok {
				if n != 2 && n != 3 {
					c.warn(notes, e.Line, "vrrp_version %d is not 2 or 3; keepalived's default 2 is used", n)
					continue
				}
				g.version, g.versionLine = n, e.Line
			}
		case "notification_email":
			g.mailLine = firstNonZero(g.mailLine, e.Line)
			for _, a := range e.Children {
				g.mailTo = append(g.mailTo, a.Args0()...)
			}
			g.mailTo = append(g.mailTo, args...)
		case "notification_email_from":
			g.mailLine = firstNonZero(g.mailLine, e.Line)
			if v, ok := c.oneArg(notes, e); ok {
				g.mailFrom = v
			}
		case "smtp_server":
			g.mailLine = firstNonZero(g.mailLine, e.Line)
			c.smtpServer(e)
		case "smtp_connect_timeout":
			if d, ok := c.seconds(notes, e); ok {
				if d < time.Second {
					c.warn(notes, e.Line, "smtp_connect_timeout %s is too short; 1s is used", d)
					d = time.Second
				}
				g.smtpTimeout = d
			}
		case "smtp_helo_name":
			if v, ok := c.oneArg(notes, e); ok {
				g.smtpHelo = v
			}
		case "smtp_alert", "smtp_alert_vrrp":
			b, ok := parseBool(args)
			if !ok {
				c.warn(notes, e.Line, "%s %q is not a boolean; ignored", kw, args[0])
				continue
			}
			// smtp_alert_vrrp is the more specific one and wins.
			if kw == "smtp_alert_vrrp" || g.smtpAlert == nil {
				g.smtpAlert = &b
			}
		case "enable_script_security":
			note(notes, e.Line, "enable_script_security: hawatch runs no scripts; it starts plugin binaries only, "+
				"by absolute path or from node.plugin_dir, optionally pinned with plugin.sha256.")
		case "script_user":
			note(notes, e.Line, "script_user %s: give each plugin its own `user` instead; the converted "+
				"process and tcpprobe plugins run as \"nobody\".", strings.Join(args, " "))
		case "vrrp_garp_master_delay":
			if d, ok := c.seconds(notes, e); ok {
				g.garp.delay = &d
			}
		case "vrrp_garp_master_repeat":
			if n, ok := c.integer(notes, e); ok {
				g.garp.repeat = &n
			}
		case "vrrp_garp_master_refresh":
			if d, ok := c.seconds(notes, e); ok {
				g.garp.refresh = &d
			}
		case "vrrp_garp_interval":
			if d, ok := c.seconds(notes, e); ok {
				g.garp.interval = &d
			}
		case "vrrp_min_garp":
			if b, ok := parseBool(args); ok && b {
				one, zero := 1, time.Duration(0)
				g.garp.repeat, g.garp.delay = &one, &zero
			}
		default:
			if c.globalExtra(notes, e) {
				continue
			}
			why := globalDropped[kw]
			if why == "" && (strings.HasPrefix(kw, "lvs_") || strings.HasPrefix(kw, "checker_") ||
				strings.HasPrefix(kw, "snmp") || strings.HasPrefix(kw, "enable_snmp") || strings.HasPrefix(kw, "enable_traps")) {
				why = "not part of hawatch (use the metrics endpoint and `hawatch status` instead of SNMP)"
			}
			c.dropStmt(notes, e, why)
		}
	}
}

func firstNonZero(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// smtpServer reads `smtp_server HOST [PORT]`.
func (c *converter) smtpServer(e *stmt) {
	g := &c.global
	args := e.Args()
	if len(args) == 0 || len(args) > 2 {
		c.warn(&g.notes, e.Line, "smtp_server wants HOST [PORT]; ignored")
		return
	}
	host := strings.TrimSuffix(strings.TrimPrefix(args[0], "["), "]")
	port := keepalivedSMTPPort
	if len(args) == 2 {
		n, ok := parseInt(args[1])
		if !ok || n < 1 || n > 65535 {
			c.warn(&g.notes, e.Line, "smtp_server port %q is not a port number; ignored", args[1])
			return
		}
		port = args[1]
	}
	if host == "" {
		c.warn(&g.notes, e.Line, "smtp_server without a host; ignored")
		return
	}
	g.smtpServer = net.JoinHostPort(host, port)
}

// buildMail makes the "mail" action from global_defs, if mail was set up.
func (c *converter) buildMail() {
	g := &c.global
	if g.mailLine == 0 {
		return
	}
	switch {
	case len(g.mailTo) == 0:
		c.warn(&g.notes, g.mailLine, "mail settings without notification_email recipients; no mail action made")
		return
	case g.smtpServer == "":
		c.warn(&g.notes, g.mailLine, "notification_email without smtp_server: keepalived sent no mail, and no mail action is made")
		return
	}
	a := &action{name: uniqueName(c.actionNames, "mail"), line: g.mailLine}
	a.comments = append(a.comments, "Mail on every state change, from global_defs notification_email / smtp_server "+
		"(keepalived's smtp_alert). Plain SMTP, no TLS or authentication: use a local relay.")
	from := g.mailFrom
	if from == "" {
		host := g.routerID
		if host == "" {
			host = "localhost"
		}
		from = "keepalived@" + host
		c.mailFromGuessed = true // warned about once the mail is known to be used
	}
	smtp := []kv{
		{k: "server", v: quote(g.smtpServer)},
		{k: "from", v: quote(from)},
		{k: "to", v: list(g.mailTo)},
	}
	if g.smtpHelo != "" {
		smtp = append(smtp, kv{k: "helo", v: quote(g.smtpHelo)})
	}
	if g.smtpTimeout > 0 {
		smtp = append(smtp, kv{k: "connect_timeout", v: dur(g.smtpTimeout)})
		// The action's deadline bounds the whole dialogue; leave room for
		// more than the connect.
		if g.smtpTimeout >= 30*time.Second {
			a.timeout = g.smtpTimeout + 30*time.Second
		}
	}
	if g.routerID != "" {
		a.config = append(a.config, kv{k: "node", v: quote(g.routerID)})
	}
	a.config = append(a.config, kv{k: "smtp", sub: smtp})
	c.plugins["notify"] = true
	c.mail = a
	c.actions = append(c.actions, a)
}
