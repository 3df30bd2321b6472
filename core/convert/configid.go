package convert

import "strings"

// selectConfig keeps the statements keepalived keeps when started with
// `-i id`: a statement whose first word is "@id" or "@^other" loses that
// word and stays, one with "@other" or "@^id" goes, in blocks too. The
// other nodes' lines leave no warning: they are not this node's
// configuration.
func selectConfig(stmts []*stmt, id string) []*stmt {
	out := make([]*stmt, 0, len(stmts))
	for _, s := range stmts {
		if cond, ok := strings.CutPrefix(s.Keyword(), "@"); ok {
			cond, negated := strings.CutPrefix(cond, "^")
			if (cond == id) == negated {
				continue
			}
			s.Words = s.Words[1:]
			if len(s.Words) == 0 && !s.Block {
				continue
			}
		}
		s.Children = selectConfig(s.Children, id)
		out = append(out, s)
	}
	return out
}

// netNamespace: keepalived moves itself into the namespace; hawatch runs
// in the one it is started in, so the meaning carries over by starting it
// there.
func (c *converter) netNamespace(notes *[]string, s *stmt) {
	ns, ok := c.oneArg(notes, s)
	if !ok {
		return
	}
	c.warn(notes, s.Line, "net_namespace %s: hawatch runs in the network namespace it is started in; start it there (`ip netns exec %s hawatch run ...`, or NetworkNamespacePath= in the unit)", ns, ns)
}
