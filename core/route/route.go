package route

import (
	"fmt"
	"net/netip"
	"strings"
)

// Type is a route's kernel type (rtm_type).
type Type uint8

// Route types; the values are the kernel's RTN_* numbers.
const (
	TypeUnicast     Type = 1 // forward (the default)
	TypeBlackhole   Type = 6 // drop silently
	TypeUnreachable Type = 7 // drop, ICMP unreachable
	TypeProhibit    Type = 8 // drop, ICMP administratively prohibited
)

var typeNames = map[Type]string{TypeUnicast: "unicast", TypeBlackhole: "blackhole", TypeUnreachable: "unreachable", TypeProhibit: "prohibit"}

// ParseType reads a route type by its ip(8) name.
func ParseType(s string) (Type, error) {
	for t, n := range typeNames {
		if n == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown route type %q: one of unicast, blackhole, unreachable, prohibit", s)
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Route scopes (rtm_scope), the kernel's RT_SCOPE_* numbers.
const (
	ScopeUniverse uint8 = 0
	ScopeLink     uint8 = 253
	ScopeHost     uint8 = 254
)

// MaxNexthops is the most gateways a multipath route may have here.
const MaxNexthops = 8

// Route is one kernel route. The zero value of each optional field means
// "not given"; two equal Routes are the same kernel route.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr // gateway; zero: directly on Dev
	// Nexthops are the gateways of a multipath (ECMP) route, in order, the
	// unused ones zero; Via is then zero. Dev and OnLink apply to each.
	Nexthops [MaxNexthops]netip.Addr
	Src      netip.Addr // preferred source address; zero: none
	Dev      string     // outgoing interface; empty: the kernel finds it from Via
	Metric   int        // priority; 0: the kernel's default
	Table    int        // 0: main
	Scope    uint8      // ScopeUniverse unless given
	Type     Type       // 0 means TypeUnicast
	Protocol uint8      // 0: boot (as ip(8))
	OnLink   bool       // the gateway is on the link even if no prefix says so
	// NoTrack: the reconciler does not put the route back when someone
	// deletes it (keepalived's no_track); the next Acquire after a Release
	// does. Not a kernel attribute.
	NoTrack bool
}

// Validate reports a route the kernel would refuse for its shape.
func (r Route) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("route %s: %s", r, fmt.Sprintf(f, a...)) }
	fam := r.Dst.Addr().Is4()
	switch {
	case !r.Dst.IsValid():
		return bad("no destination")
	case r.Dst.Masked() != r.Dst:
		return bad("destination has host bits set (%s is the network)", r.Dst.Masked())
	case r.Via.IsValid() && r.Via.Is4() != fam:
		return bad("gateway of the other family")
	case r.Src.IsValid() && r.Src.Is4() != fam:
		return bad("source of the other family")
	case r.Table < 0, r.Metric < 0:
		return bad("negative table or metric")
	case r.multipath() && r.Via.IsValid():
		return bad("both a gateway and nexthops")
	}
	n := 0
	for i, nh := range r.Nexthops {
		switch {
		case !nh.IsValid():
			continue
		case i != n:
			return bad("a gap in the nexthops")
		case nh.Is4() != fam:
			return bad("nexthop %s of the other family", nh)
		}
		n++
	}
	if n == 1 {
		return bad("a multipath route needs at least two nexthops")
	}
	switch r.typ() {
	case TypeUnicast:
		if !r.Via.IsValid() && !r.multipath() && r.Dev == "" {
			return bad("a unicast route needs a gateway or a device")
		}
	case TypeBlackhole, TypeUnreachable, TypeProhibit:
		if r.Via.IsValid() || r.multipath() || r.Dev != "" {
			return bad("a %s route has no gateway or device", r.typ())
		}
	default:
		return bad("unknown type %d", r.Type)
	}
	if r.OnLink && !r.Via.IsValid() && !r.multipath() {
		return bad("onlink needs a gateway")
	}
	return nil
}

func (r Route) multipath() bool { return r.Nexthops[0].IsValid() }

func (r Route) typ() Type {
	if r.Type == 0 {
		return TypeUnicast
	}
	return r.Type
}

// String is the route as ip(8) would write it.
func (r Route) String() string {
	var b strings.Builder
	if t := r.typ(); t != TypeUnicast {
		b.WriteString(t.String() + " ")
	}
	b.WriteString(r.Dst.String())
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	for _, nh := range r.Nexthops {
		if nh.IsValid() {
			b.WriteString(" nexthop via " + nh.String())
		}
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Scope != ScopeUniverse {
		fmt.Fprintf(&b, " scope %d", r.Scope)
	}
	if r.Protocol != 0 {
		fmt.Fprintf(&b, " proto %d", r.Protocol)
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	return b.String()
}

// Rule is one policy routing rule. The zero value of each optional field
// means "not given"; two equal Rules are the same kernel rule.
type Rule struct {
	Family   int          // 4 or 6
	From, To netip.Prefix // invalid: any
	Table    int          // the table to look up; required
	Priority int          // 0: the kernel picks one (below the last rule)
	IIF, OIF string       // input / output interface; empty: any
	Mark     uint32       // fwmark; with Mask 0 the mark must equal Mark
	Mask     uint32
	HasMark  bool // match the fwmark at all
	NoTrack  bool // as Route.NoTrack
}

// Validate reports a rule the kernel would refuse or that would match
// more than meant.
func (r Rule) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("rule %s: %s", r, fmt.Sprintf(f, a...)) }
	if r.Family != 4 && r.Family != 6 {
		return bad("family %d", r.Family)
	}
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && p.Addr().Is4() != (r.Family == 4) {
			return bad("%s is not IPv%d", p, r.Family)
		}
	}
	switch {
	case r.Table <= 0:
		return bad("no table")
	case r.Priority < 0:
		return bad("negative priority")
	}
	return nil
}

// String is the rule as ip(8) would write it.
func (r Rule) String() string {
	var b strings.Builder
	if r.Priority != 0 {
		fmt.Fprintf(&b, "%d: ", r.Priority)
	}
	from, to := "all", ""
	if r.From.IsValid() {
		from = r.From.String()
	}
	b.WriteString("from " + from)
	if r.To.IsValid() {
		to = r.To.String()
		b.WriteString(" to " + to)
	}
	if r.IIF != "" {
		b.WriteString(" iif " + r.IIF)
	}
	if r.OIF != "" {
		b.WriteString(" oif " + r.OIF)
	}
	if r.HasMark {
		fmt.Fprintf(&b, " fwmark %#x", r.Mark)
		if r.Mask != 0 {
			fmt.Fprintf(&b, "/%#x", r.Mask)
		}
	}
	fmt.Fprintf(&b, " lookup %d", r.Table)
	return b.String()
}
