package convert

import (
	"fmt"
	"strings"
)

// hmacConf is a converted auth_hmac block.
type hmacConf struct {
	out []kv
}

// authHMAC reads keepalived 2.4's auth_hmac block: key ID VALUE (hex:…,
// ASCII, or file:PATH), active_key, time_window (seconds), anti_replay and
// mode. The policy gets the same keys; a file: key stays in its file.
func (c *converter) authHMAC(notes *[]string, e *stmt) *hmacConf {
	h := &hmacConf{}
	var keys, rest []kv
	for _, a := range e.Children {
		if c.special(notes, a) {
			continue
		}
		args := a.Args()
		switch a.Keyword() {
		case "key":
			if len(args) != 2 {
				c.warn(notes, a.Line, "auth_hmac key needs an id and a value; skipped")
				continue
			}
			v := kv{k: "value", v: quote(args[1])}
			if path, ok := strings.CutPrefix(args[1], "file:"); ok {
				v = kv{k: "file", v: quote(path)}
			}
			keys = append(keys, kv{k: "key " + quote(args[0]), sub: []kv{v}})
		case "active_key":
			if n, ok := c.integer(notes, a); ok {
				rest = append(rest, kv{k: "active_key", v: fmt.Sprint(n)})
			}
		case "time_window":
			if n, ok := c.integer(notes, a); ok {
				rest = append(rest, kv{k: "time_window", v: quote(fmt.Sprintf("%ds", n))})
			}
		case "anti_replay", "mode":
			if v, ok := c.oneArg(notes, a); ok {
				rest = append(rest, kv{k: a.Keyword(), v: quote(v)})
			}
		default:
			c.dropStmt(notes, a, "")
		}
	}
	h.out = append(keys, rest...)
	return h
}
