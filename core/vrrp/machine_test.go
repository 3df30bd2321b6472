package vrrp

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata/")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := string(raw)
			got := runScript(t, want)
			if got == want {
				return
			}
			if *rewrite {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Errorf("%s differs from the machine's behaviour (go test -run TestScenarios -rewrite to accept):\n%s",
				path, lineDiff(want, got))
		})
	}
}

type scenario struct {
	t    testing.TB
	cfg  Config
	m    *Machine
	now  time.Duration
	out  []string
	line int
}

func runScript(t testing.TB, script string) string {
	s := &scenario{t: t}
	var out strings.Builder
	for i, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") {
			continue // expected output, regenerated below
		}
		out.WriteString(line + "\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		s.line, s.out = i+1, nil
		s.runCommand(strings.Fields(trimmed))
		for _, o := range s.out {
			out.WriteString("  " + o + "\n")
		}
	}
	return out.String()
}

func (s *scenario) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("line %d: "+format, append([]any{s.line}, args...)...)
}

// runCommand runs one script line:
//
//	config key=value...      version vrid prio interval preempt preempt_delay owner local vips pass needs_permit
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
	at := s.parseDur(f[1])
	if at < s.now {
		s.fatalf("time goes backwards: %s after %s", f[1], fmtDur(s.now))
	}
	s.now = at
	now := t0.Add(at)
	ev, args := f[2], f[3:]
	kv := s.keyValues(args)
	switch ev {
	case "start":
		s.step(now, Start{}, "")
	case "shutdown":
		s.step(now, Shutdown{}, "")
	case "tick":
		s.step(now, Tick{}, "")
	case "run":
		until := t0.Add(s.parseDur(args[0]))
		for d := s.m.NextDeadline(); !d.IsZero() && !d.After(until); d = s.m.NextDeadline() {
			s.now = d.Sub(t0)
			s.step(d, Tick{}, "@"+fmtDur(s.now)+" ")
		}
		s.now = until.Sub(t0)
	case "recv":
		s.recv(now, kv)
	case "prio":
		s.step(now, SetPriority{Priority: uint8(s.atoi(args[0])), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "fault":
		s.step(now, SetFault{Fault: s.onOff(args[0]), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "demote":
		s.step(now, Demote{Demoted: s.onOff(args[0]), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "sync":
		to := map[string]State{"master": StateMaster, "backup": StateBackup}[args[0]]
		s.step(now, SyncState{To: to, Reason: s.reason(kv), Detail: kv["detail"]}, "")
	case "permit":
		s.step(now, Permit{Allowed: s.onOff(args[0]), Reason: s.reason(kv), Detail: kv["detail"]}, "")
	default:
		s.fatalf("unknown event %q", ev)
	}
	next := "none"
	if d := s.m.NextDeadline(); !d.IsZero() {
		next = fmtDur(d.Sub(t0))
	}
	s.out = append(s.out, fmt.Sprintf("state=%s prio=%d next=%s", s.m.State(), s.m.Priority(), next))
}

func (s *scenario) step(now time.Time, in Input, prefix string) {
	for _, a := range s.m.Step(now, in) {
		s.out = append(s.out, "-> "+prefix+a.String())
	}
}

func (s *scenario) configure(args []string) {
	kv := s.keyValues(args)
	c := Config{VRID: 51, Version: 3, Priority: 100, AdvertInterval: time.Second, Preempt: true}
	for k, v := range kv {
		switch k {
		case "version":
			c.Version = uint8(s.atoi(v))
		case "vrid":
			c.VRID = uint8(s.atoi(v))
		case "prio":
			c.Priority = uint8(s.atoi(v))
		case "interval":
			c.AdvertInterval = s.parseDur(v)
		case "preempt":
			c.Preempt = s.onOff(v)
		case "preempt_delay":
			c.PreemptDelay = s.parseDur(v)
		case "owner":
			c.AddressOwner = s.onOff(v)
		case "local":
			c.LocalAddr = s.addr(v)
		case "vips":
			c.Addresses = s.addrs(v)
		case "pass":
			c.AuthPass = v
		case "needs_permit":
			c.NeedsPermit = s.onOff(v)
		default:
			s.fatalf("unknown config key %q", k)
		}
	}
	if err := c.Validate(); err != nil {
		s.fatalf("config: %v", err)
	}
	s.cfg = c
	s.m = NewMachine(c)
	s.out = append(s.out, fmt.Sprintf("skew=%s down=%s", fmtDur(s.m.SkewTime()), fmtDur(s.m.MasterDownInterval())))
}

// recv builds the advert a peer would send, runs it through the codec and
// the receive filter, and feeds it to the machine if it survives.
func (s *scenario) recv(now time.Time, kv map[string]string) {
	c := s.cfg
	if v, ok := kv["version"]; ok {
		c.Version = uint8(s.atoi(v))
	}
	if v, ok := kv["pass"]; ok {
		c.AuthPass = v
	}
	if v, ok := kv["auth"]; ok && v == "none" {
		c.AuthPass = ""
	}
	a := c.Advert(uint8(s.atoi(kv["prio"])))
	a.Src = s.addr(kv["src"])
	if v, ok := kv["interval"]; ok {
		a.Interval = uint16(s.atoi(v))
	}
	if v, ok := kv["vrid"]; ok {
		a.VRID = uint8(s.atoi(v))
	}
	if v, ok := kv["addrs"]; ok {
		a.Addresses = s.addrs(v)
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

func (s *scenario) keyValues(args []string) map[string]string {
	kv := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		}
	}
	return kv
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

func (s *scenario) onOff(v string) bool {
	switch v {
	case "on", "true":
		return true
	case "off", "false":
		return false
	}
	s.fatalf("want on/off, have %q", v)
	return false
}

func (s *scenario) atoi(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		s.fatalf("%v", err)
	}
	return n
}

func (s *scenario) parseDur(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		s.fatalf("%v", err)
	}
	return d
}

func (s *scenario) addr(v string) netip.Addr {
	a, err := netip.ParseAddr(v)
	if err != nil {
		s.fatalf("%v", err)
	}
	return a
}

func (s *scenario) addrs(v string) []netip.Addr {
	var out []netip.Addr
	for _, p := range strings.Split(v, ",") {
		out = append(out, s.addr(p))
	}
	return out
}

// fmtDur prints a duration as decimal seconds with every significant digit
// ("3.609375s", "163.640039062s"), so timers read like the RFC formulas.
func fmtDur(d time.Duration) string {
	sec, ns := d/time.Second, d%time.Second
	if ns == 0 {
		return fmt.Sprintf("%ds", sec)
	}
	frac := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	return fmt.Sprintf("%d.%ss", sec, frac)
}

// lineDiff shows the first differing line in context, then both versions.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference at line %d:\n  want: %q\n  got:  %q\n--- full output ---\n%s", i+1, wl, gl, got)
		}
	}
	return ""
}

func TestFmtDur(t *testing.T) {
	tests := map[time.Duration]string{
		0:                          "0s",
		3609375 * time.Microsecond: "3.609375s",
		163640039062:               "163.640039062s",
		2 * time.Second:            "2s",
	}
	for d, want := range tests {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%d) = %q, want %q", d, got, want)
		}
	}
}
