package convert

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// notifyRef is one notify / notify_<state> statement.
type notifyRef struct {
	form string // "notify", "notify_master", ...
	argv []string
	user string
	line int
}

// action is an action block ready to render.
type action struct {
	name     string
	line     int
	comments []string
	notes    []string
	timeout  time.Duration // 0: hawatch's default
	config   []kv
	users    []string // who lists it, for the comment
}

// notifyEntry reads `notify_X SCRIPT|"SCRIPT ARGS" [user [group]]`: an
// unquoted script is one word, and the words after it name the user.
func (c *converter) notifyEntry(notes *[]string, e *stmt) *notifyRef {
	ws := e.Words[1:]
	if len(ws) == 0 {
		c.warn(notes, e.Line, "%s without a script ignored", e.Keyword())
		return nil
	}
	argv := []string{ws[0].Text}
	if ws[0].Quoted {
		argv = splitArgs(ws[0].Text)
	}
	if len(argv) == 0 || argv[0] == "" {
		c.warn(notes, e.Line, "%s with an empty script ignored", e.Keyword())
		return nil
	}
	n := &notifyRef{form: e.Keyword(), argv: argv, line: e.Line}
	if len(ws) > 1 {
		users := make([]string, len(ws)-1)
		for i, w := range ws[1:] {
			users[i] = w.Text
		}
		n.user = strings.Join(users, " ")
		c.warn(notes, e.Line, "%s: user/group %q not converted; the script runs as the notify plugin's user (set user in plugin \"notify\")",
			e.Keyword(), n.user)
	}
	return n
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// actionFor returns the action running ref's script, making it on first
// use. owner is "vrrp_instance VI_1" or "vrrp_sync_group G1".
func (c *converter) actionFor(ref *notifyRef, owner string) *action {
	key := ref.form + "\x00" + strings.Join(ref.argv, "\x00")
	if a := c.actionByKey[key]; a != nil {
		a.users = append(a.users, fmt.Sprintf("%s (line %d)", owner, ref.line))
		return a
	}
	base := baseName(ref.argv[0])
	for _, ext := range []string{".sh", ".bash", ".py", ".pl", ".rb"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.Trim(nameUnsafe.ReplaceAllString(base, "_"), "_")
	if base == "" {
		base = "notify"
	}
	state := strings.TrimPrefix(ref.form, "notify_")
	if ref.form != "notify" && !strings.Contains(strings.ToLower(base), state) {
		base += "_" + state
	}
	a := &action{name: uniqueName(c.actionNames, base), line: ref.line}
	a.users = append(a.users, fmt.Sprintf("%s (line %d)", owner, ref.line))
	script := shortCmd(strings.Join(ref.argv, " "))
	if ref.form == "notify" {
		a.comments = append(a.comments, fmt.Sprintf("keepalived notify %s: the notify plugin runs it on every transition "+
			"with the same arguments keepalived passed: INSTANCE|GROUP name STATE priority (STATE is INIT where keepalived said STOP).", script))
	} else {
		upper, when := strings.ToUpper(state), "on entering "+strings.ToUpper(state)
		if state == "stop" {
			// hawatch reports its own shutdown as a transition to INIT.
			upper, when = "INIT", "when VRRP stopped"
		}
		c.warn(nil, ref.line, "%s %s: hawatch runs the script on every transition, with INSTANCE|GROUP name STATE priority appended; "+
			"make it act only when STATE is %s (see action %q)", ref.form, script, upper, a.name)
		a.comments = append(a.comments, fmt.Sprintf("keepalived %s %s ran it only %s, with just the arguments written there. "+
			"The notify plugin runs it on every transition and appends INSTANCE|GROUP name STATE priority, so the "+
			"script must return at once unless STATE (the second-to-last argument; also $HAWATCH_TO) is %s.",
			ref.form, script, when, upper))
	}
	exec := []kv{{k: "command", v: quote(ref.argv[0])}}
	if len(ref.argv) > 1 {
		exec = append(exec, kv{k: "args", v: list(ref.argv[1:])})
	}
	a.config = []kv{{k: "exec", sub: exec}}
	c.actionByKey[key] = a
	c.actions = append(c.actions, a)
	c.plugins["notify"] = true
	return a
}

// notifyNames turns notify statements into action names, without repeats.
func (c *converter) notifyNames(refs []*notifyRef, owner string) []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range refs {
		a := c.actionFor(r, owner)
		if !seen[a.name] {
			seen[a.name] = true
			names = append(names, a.name)
		}
	}
	return names
}

func (c *converter) instanceNotify(in *instance) {
	owner := "vrrp_instance " + in.name
	in.notify = c.notifyNames(in.notifies, owner)
	alert := in.smtpAlert
	if alert == nil {
		alert = c.global.smtpAlert
	}
	switch {
	case c.mail == nil:
		if alert != nil && *alert && in.smtpAlert != nil {
			c.warn(&in.notes, in.line, "smtp_alert is on but global_defs has no usable notification_email and smtp_server; no mail")
		}
	case alert == nil:
		if !c.mailUnset {
			c.mailUnset = true
			c.warn(&c.mail.notes, c.mail.line, "smtp_alert is not set: keepalived 2.x then sent no VRRP mail, "+
				"but the policy mails on every transition of every instance (remove \"mail\" from notify to keep quiet)")
		}
		in.notify = append(in.notify, c.mail.name)
		c.mail.users = append(c.mail.users, owner)
	case *alert:
		in.notify = append(in.notify, c.mail.name)
		c.mail.users = append(c.mail.users, owner)
	default:
		note(&in.notes, in.line, "smtp_alert is off, so the mail action is not listed in notify.")
	}
}
