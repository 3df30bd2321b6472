package vrrp

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/internal/golden"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt scenario files with the actual output (review the diff!)")

// t0 is the injected clock's origin; scenario times are offsets from it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestScenarios runs the golden scripts in testdata/*.txt. A script is:
//
//	# comments and blank lines are kept
//	config version=3 vrid=51 prio=100 interval=1s preempt=true local=198.51.100.11 vips=198.51.100.50
//	at 0s start
//	  -> transition INIT->BACKUP (startup)
//	  state=BACKUP prio=100 next=3.609375s
//
// Indented lines are the expected output of the command above them; the
// driver regenerates them and compares the whole file. See runCommand for
// the commands.
func TestScenarios(t *testing.T) {
	golden.Run(t, "testdata", *rewrite, "the machine's behaviour", "go test -run TestScenarios -rewrite", runScript)
}

type scenario struct {
	golden.Values
	t    testing.TB
	cfg  Config
	m    *Machine
	now  time.Duration
	out  []string
	line int
}

func runScript(t testing.TB, script string) string {
	s := &scenario{t: t}
	s.Values = golden.Values{Fatalf: s.fatalf}
	return golden.Replay(script, func(line int, f []string) []string {
		s.line, s.out = line, nil
		s.runCommand(f)
		return s.out
	})
}

func (s *scenario) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("line %d: "+format, append([]any{s.line}, args...)...)
}

// runCommand runs one script line:
//
//	config key=value...      version vrid prio interval preempt preempt_delay owner local vips pass needs_permit
//	                         down_timer_adverts lower_prio_no_advert higher_prio_send_advert
//	at <offset> <event>      events below; offsets never go backwards
//
// Events: start | shutdown | tick | run <until> (fire every deadline up to
// <until>) | recv src=IP prio=N [interval=N vrid=N version=N addrs=a,b
// auth=none|pass pass=S] (encoded, decoded and filtered with Config.Check
// first) | prio N | fault on|off | demote on|off | sync master|backup |
// permit on|off, the last five taking optional reason=<reason-with-dashes>
// detail=<word>.
func (s *scenario) runCommand(f []string) {
	s.t.Helper()
	switch f[0] {
	case "config":
		s.configure(f[1:])
		return
	case "at":
	default:
		s.fatalf("unknown command %q", f[0])
	}
	if s.m == nil {
		s.fatalf("at before config")
	}
	if len(f) < 3 {
		s.fatalf("want: at <offset> <event>")
	}
	at := s.Dur(f[1])
	if at < s.now {
		s.fatalf("time goes backwards: %s after %s", f[1], golden.FmtDur(s.now))
	}
	s.now = at
	now := t0.Add(at)
	ev, args := f[2], f[3:]
	kv := golden.KeyValues(args)
	switch ev {
	case "start":
		s.step(now, Start{}, "")
	case "shutdown":
		s.step(now, Shutdown{}, "")
	case "tick":
		s.step(now, Tick{}, "")
	case "run":
		until := t0.Add(s.Dur(args[0]))
		for d := s.m.NextDeadline(); !d.IsZero() && !d.After(until); d = s.m.NextDeadline() {
			s.now = d.Sub(t0)
			s.step(d, Tick{}, "@"+golden.FmtDur(s.now)+" ")
		}
		s.now = until.Sub(t0)
	case "recv":
		s.recv(now, kv)
	case "prio":
		s.step(now, SetPriority{Priority: uint8(s.Int(args[0])), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "fault":
		s.step(now, SetFault{Fault: s.OnOff(args[0]), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "demote":
		s.step(now, Demote{Demoted: s.OnOff(args[0]), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "sync":
		to := map[string]State{"master": StateMaster, "backup": StateBackup}[args[0]]
		s.step(now, SyncState{To: to, Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "permit":
		s.step(now, Permit{Allowed: s.OnOff(args[0]), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	default:
		s.fatalf("unknown event %q", ev)
	}
	next := "none"
	if d := s.m.NextDeadline(); !d.IsZero() {
		next = golden.FmtDur(d.Sub(t0))
	}
	s.out = append(s.out, fmt.Sprintf("state=%s prio=%d next=%s", s.m.State(), s.m.Priority(), next))
}

func (s *scenario) step(now time.Time, in Input, prefix string) {
	for _, a := range s.m.Step(now, in) {
		s.out = append(s.out, "-> "+prefix+a.String())
	}
}

func (s *scenario) configure(args []string) {
	kv := golden.KeyValues(args)
	c := Config{VRID: 51, Version: 3, Priority: 100, AdvertInterval: time.Second, Preempt: true}
	for k, v := range kv {
		switch k {
		case "version":
			c.Version = uint8(s.Int(v))
		case "vrid":
			c.VRID = uint8(s.Int(v))
		case "prio":
			c.Priority = uint8(s.Int(v))
		case "interval":
			c.AdvertInterval = s.Dur(v)
		case "preempt":
			c.Preempt = s.OnOff(v)
		case "preempt_delay":
			c.PreemptDelay = s.Dur(v)
		case "owner":
			c.AddressOwner = s.OnOff(v)
		case "local":
			c.LocalAddr = s.Addr(v)
		case "vips":
			c.Addresses = s.Addrs(v)
		case "pass":
			c.AuthPass = v
		case "needs_permit":
			c.NeedsPermit = s.OnOff(v)
		case "down_timer_adverts":
			c.DownTimerAdverts = s.Int(v)
		case "lower_prio_no_advert":
			c.LowerPrioNoAdvert = s.OnOff(v)
		case "higher_prio_send_advert":
			c.HigherPrioSendAdvert = s.OnOff(v)
		default:
			s.fatalf("unknown config key %q", k)
		}
	}
	if err := c.Validate(); err != nil {
		s.fatalf("config: %v", err)
	}
	s.cfg = c
	s.m = NewMachine(c)
	s.out = append(s.out, fmt.Sprintf("skew=%s down=%s", golden.FmtDur(s.m.SkewTime()), golden.FmtDur(s.m.MasterDownInterval())))
}

// recv builds the advert a peer would send, runs it through the codec and
// the receive filter, and feeds it to the machine if it survives.
func (s *scenario) recv(now time.Time, kv map[string]string) {
	c := s.cfg
	if v, ok := kv["version"]; ok {
		c.Version = uint8(s.Int(v))
	}
	if v, ok := kv["pass"]; ok {
		c.AuthPass = v
	}
	if v, ok := kv["auth"]; ok && v == "none" {
		c.AuthPass = ""
	}
	a := c.Advert(uint8(s.Int(kv["prio"])))
	a.Src = s.Addr(kv["src"])
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
	got, err := ParseAdvert(b, a.Src, a.Dst)
	if err == nil {
		var w Warning
		w, err = s.cfg.Check(got)
		if w != 0 {
			s.out = append(s.out, "-> warn "+w.String())
		}
	}
	if err != nil {
		s.out = append(s.out, "-> drop "+DropReason(err))
		return
	}
	s.step(now, AdvertReceived{got}, "")
}

func (s *scenario) reason(kv map[string]string) Reason {
	name, ok := kv["reason"]
	if !ok {
		return ReasonNone
	}
	for r := range reasonCount {
		if strings.ReplaceAll(r.String(), " ", "-") == name {
			return r
		}
	}
	s.fatalf("unknown reason %q", name)
	return ReasonNone
}
