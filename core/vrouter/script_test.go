package vrouter

import (
	"flag"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/core/vrrp"
	"github.com/hawatch/hawatch/internal/golden"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt scenario files with the actual output (review the diff!)")

// t0 is the injected clock's origin; script times are offsets from it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestScripts runs the golden scripts in testdata/*.txt. A script declares
// routers, their tracks and sync groups, then steps them:
//
//	router VI_1 prio=100 interval=1s local=198.51.100.11 vips=198.51.100.50
//	track VI_1 nginx effect=fault
//	at 0s VI_1 start
//	  -> VI_1 transition INIT->BACKUP (startup) prio=100
//	  VI_1 BACKUP prio=100 next=3.609375s
//
// Indented lines are the expected output of the command above them: every
// Ready entry, then the stepped router's (or group's) state. The driver
// regenerates them and compares the whole file; -rewrite accepts the new
// output. See (*script).command for the commands.
func TestScripts(t *testing.T) {
	golden.Run(t, "testdata", *rewrite, "the routers' behaviour", "go test -run TestScripts -rewrite", runScript)
}

type script struct {
	golden.Values
	t       testing.TB
	configs map[string]*Config
	order   []string
	groups  [][]string
	routers map[string]*Router
	now     time.Duration
	out     []string
	line    int
}

func runScript(t testing.TB, text string) string {
	s := &script{t: t, configs: map[string]*Config{}, routers: map[string]*Router{}}
	s.Values = golden.Values{Fatalf: s.fatalf}
	return golden.Replay(text, func(line int, f []string) []string {
		s.line, s.out = line, nil
		s.command(f)
		return s.out
	})
}

// heard parses a guard's evidence, IP:PRIO@OFFSET.
func (s *script) heard(v string) *Heard {
	addrPrio, at, ok := strings.Cut(v, "@")
	ip, prio, ok2 := strings.Cut(addrPrio, ":")
	if !ok || !ok2 {
		s.fatalf("heard=%q: want IP:PRIO@OFFSET", v)
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		s.fatalf("heard=%q: %v", v, err)
	}
	return &Heard{From: a, Priority: uint8(s.Int(prio)), At: t0.Add(s.Dur(at))}
}

func (s *script) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("line %d: "+format, append([]any{s.line}, args...)...)
}

// command runs one script line:
//
//	router NAME key=value...   version vrid prio interval preempt preempt_delay owner local vips pass unicast notify witness=release|keep
//	track NAME CHECK key=value...  effect=fault|weight|yield weight rise fall unknown=hold|fail hold_for down_delay up_delay
//	trackfile NAME FILE key=value...  weight reverse remove (a track_file)
//	group NAME,NAME...         a sync group (declare before the first step)
//	at OFFSET NAME EVENT...    offsets never go backwards
//
// Router keys also: startup_delay lower_prio_announce down_timer_adverts
// lower_prio_no_advert higher_prio_send_advert.
//
// Events: start | shutdown | tick | file FILE VALUE [reason=WORD] | run UNTIL (every deadline of every
// router up to UNTIL; "at T * run UNTIL" runs all routers) | recv src=IP prio=N [ttl=N dst=IP interval=N vrid=N
// version=N addrs=a,b pass=S] | check CHECK ok|fail|unknown [reason=WORD] |
// [heard=IP:PRIO@OFFSET] (a guard saw IP advertise PRIO at OFFSET) |
// maintenance on|off | retrack [latest=CHECK:STATUS,...] (the router's
// current track lines; latest: the checks' last results) | vip
// held|released | witness granted|other|free|unreachable|unknown [valid=D
// holder=NAME rev=N reason=WORD].
func (s *script) command(f []string) {
	s.t.Helper()
	if len(f) < 2 {
		s.fatalf("short line")
	}
	switch f[0] {
	case "router":
		s.declare(f[1], golden.KeyValues(f[2:]))
		return
	case "track":
		s.track(f[1:])
		return
	case "trackfile":
		s.trackFile(f[1:])
		return
	case "group":
		s.groups = append(s.groups, strings.Split(f[1], ","))
		return
	case "at":
	default:
		s.fatalf("unknown command %q", f[0])
	}
	if len(f) < 4 {
		s.fatalf("want: at OFFSET NAME EVENT")
	}
	s.build()
	at := s.Dur(f[1])
	if at < s.now {
		s.fatalf("time goes backwards: %s after %s", f[1], golden.FmtDur(s.now))
	}
	s.now = at
	now := t0.Add(at)
	if f[2] == "*" && f[3] == "run" {
		s.runUntil(t0.Add(s.Dur(f[4])), s.order...)
		s.states(s.order...)
		return
	}
	r := s.routers[f[2]]
	if r == nil {
		s.fatalf("no router %q", f[2])
	}
	ev, args := f[3], f[4:]
	kv := golden.KeyValues(args)
	switch ev {
	case "start":
		s.step(now, r, Start{}, "")
	case "shutdown":
		s.step(now, r, Shutdown{}, "")
	case "tick":
		s.step(now, r, Tick{}, "")
	case "run":
		s.runUntil(t0.Add(s.Dur(args[0])), r.name)
	case "recv":
		s.recv(now, r, kv)
	case "check":
		o := Observed{Check: args[0], Status: s.status(args[1]), Reason: kv["reason"]}
		if v, ok := kv["heard"]; ok {
			o.Heard = s.heard(v)
		}
		s.step(now, r, o, "")
	case "file":
		if len(args) < 2 {
			s.fatalf("want: file NAME VALUE [reason=WORD]")
		}
		s.step(now, r, FileValue{File: args[0], Value: int64(s.Int(args[1])), Reason: kv["reason"]}, "")
	case "maintenance":
		s.step(now, r, Maintenance{On: s.OnOff(args[0]), Detail: kv["detail"]}, "")
	case "retrack":
		c := s.configs[r.name]
		in := Reconfigure{Tracks: c.Tracks, Notify: c.Notify, Latest: map[string]Observed{}}
		if v, ok := kv["latest"]; ok {
			for _, cs := range strings.Split(v, ",") {
				check, st, _ := strings.Cut(cs, ":")
				in.Latest[check] = Observed{Check: check, Status: s.status(st), At: now}
			}
		}
		s.step(now, r, in, "")
	case "vip":
		s.step(now, r, VIPApplied{Held: args[0] == "held"}, "")
	case "witness":
		st, ok := map[string]GrantState{"granted": GrantHeld, "other": GrantOther, "free": GrantFree,
			"unreachable": GrantUnreachable, "unknown": GrantUnknown}[args[0]]
		if !ok {
			s.fatalf("unknown grant state %q", args[0])
		}
		w := Witnessed{State: st, Holder: kv["holder"], Reason: kv["reason"]}
		if v, ok := kv["valid"]; ok {
			w.ValidUntil = now.Add(s.Dur(v))
		}
		if v, ok := kv["rev"]; ok {
			w.Revision = int64(s.Int(v))
		}
		s.step(now, r, w, "")
	default:
		s.fatalf("unknown event %q", ev)
	}
	if g := r.group; g != nil {
		s.states(g.coord.Members()...)
	} else {
		s.states(r.name)
	}
}

func (s *script) states(names ...string) {
	for _, n := range names {
		r := s.routers[n]
		next := "none"
		if d := r.NextDeadline(); !d.IsZero() {
			next = golden.FmtDur(d.Sub(t0))
		}
		line := fmt.Sprintf("%s %s prio=%d next=%s", n, r.State(), r.m.Priority(), next)
		snap := r.Snapshot()
		for _, h := range snap.Holds {
			line += " hold=" + strings.ReplaceAll(h.Reason.String(), " ", "-")
			if h.Reason == vrrp.ReasonWitness {
				line += fmt.Sprintf("(%s)", h.Detail) // names the holder
			}
		}
		if w := snap.Witness; w != nil {
			line += fmt.Sprintf(" witness=%s", strings.ReplaceAll(w.State.String(), " ", "-"))
			if w.Claiming {
				line += ",claiming"
			}
			if !r.m.Permitted() {
				line += ",not-permitted"
			}
		}
		s.out = append(s.out, line)
	}
}

// runUntil ticks the named routers at each of their deadlines up to until,
// earliest first.
func (s *script) runUntil(until time.Time, names ...string) {
	for {
		var next *Router
		var at time.Time
		for _, n := range names {
			r := s.routers[n]
			if d := r.NextDeadline(); !d.IsZero() && !d.After(until) && (next == nil || d.Before(at)) {
				next, at = r, d
			}
		}
		if next == nil {
			break
		}
		s.now = at.Sub(t0)
		s.step(at, next, Tick{}, "@"+golden.FmtDur(s.now)+" ")
	}
	s.now = until.Sub(t0)
}

func (s *script) declare(name string, kv map[string]string) {
	c := &Config{Name: name, VRRP: vrrp.Config{VRID: 51, Version: 3, Priority: 100, AdvertInterval: time.Second, Preempt: true,
		LocalAddr: netip.MustParseAddr("198.51.100.11"), Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.50")}}}
	for k, v := range kv {
		switch k {
		case "version":
			c.VRRP.Version = uint8(s.Int(v))
		case "vrid":
			c.VRRP.VRID = uint8(s.Int(v))
		case "prio":
			c.VRRP.Priority = uint8(s.Int(v))
		case "interval":
			c.VRRP.AdvertInterval = s.Dur(v)
		case "preempt":
			c.VRRP.Preempt = s.OnOff(v)
		case "preempt_delay":
			c.VRRP.PreemptDelay = s.Dur(v)
		case "owner":
			c.VRRP.AddressOwner = s.OnOff(v)
		case "local":
			c.VRRP.LocalAddr = s.Addr(v)
		case "vips":
			c.VRRP.Addresses = s.Addrs(v)
		case "pass":
			c.VRRP.AuthPass = v
		case "unicast":
			for _, a := range s.Addrs(v) {
				c.Unicast = append(c.Unicast, Peer{Addr: a, MaxTTL: 255})
			}
		case "notify":
			c.Notify = strings.Split(v, ",")
		case "witness":
			c.Witness = &Witness{Keep: v == "keep"}
		case "startup_delay":
			c.StartupDelay = s.Dur(v)
		case "lower_prio_announce":
			c.NoLowerPrioAnnounce = !s.OnOff(v)
		case "down_timer_adverts":
			c.VRRP.DownTimerAdverts = s.Int(v)
		case "lower_prio_no_advert":
			c.VRRP.LowerPrioNoAdvert = s.OnOff(v)
		case "higher_prio_send_advert":
			c.VRRP.HigherPrioSendAdvert = s.OnOff(v)
		default:
			s.fatalf("unknown router key %q", k)
		}
	}
	if s.configs[name] == nil {
		s.order = append(s.order, name)
	}
	s.configs[name] = c
}

func (s *script) track(f []string) {
	if len(f) < 2 {
		s.fatalf("want: track NAME CHECK key=value...")
	}
	c := s.configs[f[0]]
	if c == nil {
		s.fatalf("track for undeclared router %q", f[0])
	}
	tr := Track{Check: f[1], HoldFor: 5 * time.Second}
	for k, v := range golden.KeyValues(f[2:]) {
		switch k {
		case "effect":
			tr.Effect = map[string]Effect{"fault": EffectFault, "weight": EffectWeight, "yield": EffectYield}[v]
		case "weight":
			tr.Weight = s.Int(v)
		case "rise":
			tr.Rise = s.Int(v)
		case "fall":
			tr.Fall = s.Int(v)
		case "unknown":
			tr.OnUnknown = map[string]UnknownPolicy{"hold": UnknownHold, "fail": UnknownFail}[v]
		case "hold_for":
			tr.HoldFor = s.Dur(v)
		case "down_delay":
			tr.DownDelay = s.Dur(v)
		case "up_delay":
			tr.UpDelay = s.Dur(v)
		case "remove":
			c.Tracks = slices.DeleteFunc(c.Tracks, func(t Track) bool { return t.Check == f[1] })
			return
		default:
			s.fatalf("unknown track key %q", k)
		}
	}
	c.Tracks = append(c.Tracks, tr)
}

// trackFile declares a track file on a router: NAME weight=N [reverse=on]
// [remove=true].
func (s *script) trackFile(f []string) {
	if len(f) < 2 {
		s.fatalf("want: trackfile ROUTER FILE key=value...")
	}
	c := s.configs[f[0]]
	if c == nil {
		s.fatalf("trackfile for undeclared router %q", f[0])
	}
	tr := Track{File: f[1]}
	for k, v := range golden.KeyValues(f[2:]) {
		switch k {
		case "weight":
			tr.Weight = s.Int(v)
		case "reverse":
			tr.Reverse = s.OnOff(v)
		case "remove":
			c.Tracks = slices.DeleteFunc(c.Tracks, func(t Track) bool { return t.File == f[1] })
			return
		default:
			s.fatalf("unknown trackfile key %q", k)
		}
	}
	c.Tracks = append(c.Tracks, tr)
}

// build makes the routers declared so far; groups are built on the first
// step.
func (s *script) build() {
	first := len(s.routers) == 0
	for _, n := range s.order {
		if s.routers[n] != nil {
			continue
		}
		r, err := NewRouter(*s.configs[n])
		if err != nil {
			s.fatalf("router %s: %v", n, err)
		}
		s.routers[n] = r
	}
	if !first {
		return
	}
	for i, members := range s.groups {
		var rs []*Router
		for _, m := range members {
			rs = append(rs, s.routers[m])
		}
		if _, err := NewGroup(fmt.Sprintf("G%d", i+1), rs...); err != nil {
			s.fatalf("%v", err)
		}
	}
}

// step feeds one input and renders the Ready. Every advert is decoded again
// and compared with what vrrp.Config.Advert builds: the bytes a router hands
// out are the codec's.
func (s *script) step(now time.Time, r *Router, in Input, prefix string) {
	s.t.Helper()
	rd := r.Step(now, in)
	for _, o := range rd.Adverts {
		src := s.routers[o.Instance]
		a, err := vrrp.ParseAdvert(o.Payload, src.cfg.LocalAddr, o.Dst)
		if err != nil {
			s.fatalf("%s: advert does not decode: %v", o, err)
		}
		want := src.cfg.Advert(o.Priority)
		want.Dst = o.Dst
		if !a.Equal(want) {
			s.fatalf("%s: sent %v, the codec builds %v", o, a, want)
		}
		s.out = append(s.out, "-> "+prefix+o.String())
	}
	// Ready lists are rendered kind by kind; within a kind, in order.
	for _, e := range rd.VIPs {
		s.out = append(s.out, "-> "+prefix+e.String())
	}
	for _, e := range rd.Transitions {
		line := e.String()
		if len(e.Notify) > 0 {
			line += " notify=" + strings.Join(e.Notify, ",")
		}
		if e.FencingToken != 0 {
			line += fmt.Sprintf(" fencing=%d", e.FencingToken)
		}
		s.out = append(s.out, "-> "+prefix+line)
	}
	for _, e := range rd.Checks {
		s.out = append(s.out, "-> "+prefix+e.String())
	}
	for _, e := range rd.Drops {
		s.out = append(s.out, "-> "+prefix+e.String())
	}
	for _, e := range rd.Notes {
		s.out = append(s.out, "-> "+prefix+e.String())
	}
	for _, e := range rd.Claims {
		s.out = append(s.out, "-> "+prefix+e.String())
	}
}

// recv builds the advert a peer would send (the router's own config with
// the given source and priority), encodes and decodes it, and delivers it.
func (s *script) recv(now time.Time, r *Router, kv map[string]string) {
	c := r.cfg
	if v, ok := kv["version"]; ok {
		c.Version = uint8(s.Int(v))
	}
	if v, ok := kv["pass"]; ok {
		c.AuthPass = v
	}
	a := c.Advert(uint8(s.Int(kv["prio"])))
	a.Src = s.Addr(kv["src"])
	if v, ok := kv["dst"]; ok {
		a.Dst = s.Addr(v)
	} else if r.peers != nil {
		a.Dst = r.cfg.LocalAddr
	}
	if v, ok := kv["interval"]; ok {
		a.Interval = uint16(s.Int(v))
	}
	if v, ok := kv["vrid"]; ok {
		a.VRID = uint8(s.Int(v))
	}
	if v, ok := kv["addrs"]; ok {
		a.Addresses = s.Addrs(v)
	}
	b, err := a.MarshalBinary()
	if err != nil {
		s.fatalf("encode: %v", err)
	}
	got, err := vrrp.ParseAdvert(b, a.Src, a.Dst)
	if err != nil {
		s.out = append(s.out, "-> decode error "+vrrp.DropReason(err))
		return
	}
	ttl := vrrp.TTL
	if v, ok := kv["ttl"]; ok {
		ttl = s.Int(v)
	}
	s.step(now, r, Received{Advert: got, TTL: ttl, Dst: a.Dst}, "")
}

func (s *script) status(v string) Status {
	st, ok := map[string]Status{"ok": StatusOK, "fail": StatusFail, "unknown": StatusUnknown}[v]
	if !ok {
		s.fatalf("want ok|fail|unknown, have %q", v)
	}
	return st
}
