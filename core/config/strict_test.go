package config

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// strictNode is a node block turning strict mode on (lines 1-3), so an
// instance that follows starts at line 4 and its first body line is line 5.
var strictNode = block(`node`, `strict = true`)

// strictBad lists every strict-mode rule: one mistake each, its message and
// where it points (line, column).
var strictBad = []badCase{
	{"auth_pass", strictNode + vi(iface, vrid, prio, `version = 2`, `advert_interval = "1s"`, `auth_pass = "secret"`, vip4),
		"auth_pass is not allowed in strict mode", "keepalived ignores it", 10, 3},
	{"auth_hmac", strictNode + vi(iface, vrid, prio, vip4, `auth_hmac {`, `active_key = 1`, `key "1" { value = "`+hmacText+`" }`, `}`),
		"auth_hmac is not allowed in strict mode", "keepalived 2.4 extension", 9, 3},
	{"unicast_peers", strictNode + vi(iface, vrid, prio, vip4, `unicast_peers = ["198.51.100.12"]`),
		"Unicast peers are not allowed in strict mode", "multicast group", 9, 3},
	{"unicast_peer block", strictNode + vi(iface, vrid, prio, vip4, `unicast_peer "198.51.100.12" {}`),
		"Unicast peers are not allowed in strict mode", "multicast group", 9, 3},
	{"preempt_delay", strictNode + vi(iface, vrid, prio, vip4, `preempt_delay = "5s"`),
		"preempt_delay is not allowed in strict mode", "no preemption delay", 9, 3},
	{"accept on v2", strictNode + vi(iface, vrid, prio, `version = 2`, `advert_interval = "1s"`, vip4, `accept = true`),
		"accept = true is not allowed with VRRP version 2", "RFC 3768 has no Accept_Mode", 11, 3},
	{"garp repeat", strictNode + vi(iface, vrid, prio, vip4, `garp {`, `repeat = 3`, `}`),
		"garp repeat must be 1 in strict mode", "not 3", 10, 3},
	{"garp delay", strictNode + vi(iface, vrid, prio, vip4, `garp {`, `delay = "2s"`, `}`),
		"garp delay must be 0 in strict mode", "2s here", 10, 3},
	{"garp refresh", strictNode + vi(iface, vrid, prio, vip4, `garp {`, `refresh = "10s"`, `}`),
		"garp refresh must be 0 in strict mode", "10s here", 10, 3},
	{"down_timer_adverts", strictNode + vi(iface, vrid, prio, vip4, `down_timer_adverts = 5`),
		"down_timer_adverts is not allowed in strict mode", "not 5", 9, 3},
	{"lower_prio_no_advert off", strictNode + vi(iface, vrid, prio, vip4, `lower_prio_no_advert = false`),
		"lower_prio_no_advert = false is not allowed in strict mode", "RFC 5798 §6.4.3", 9, 3},
	{"higher_prio_send_advert", strictNode + vi(iface, vrid, prio, vip4, `higher_prio_send_advert = true`),
		"higher_prio_send_advert is not allowed in strict mode", "without a last advert", 9, 3},
	{"garp lower_prio_repeat", strictNode + vi(iface, vrid, prio, vip4, `garp {`, `lower_prio_repeat = 2`, `}`),
		"garp lower_prio_repeat must be 0 in strict mode", "not 2 packets", 10, 3},
	{"garp lower_prio_delay", strictNode + vi(iface, vrid, prio, vip4, `garp {`, `lower_prio_delay = "1s"`, `}`),
		"garp lower_prio_delay must be 0 in strict mode", "1s here", 10, 3},
	{"too many vips", strictNode + vi(iface, vrid, prio, `virtual_ips = [`+manyVIPs(256)+`]`),
		"Too many virtual IPs for strict mode", "not 256", 8, 3},
	{"strict not bool", block(`node`, `strict = "yes please"`) + vi(iface, vrid, prio, vip4),
		"Invalid value for strict", "", 2, 3},
	{"accept not bool", vi(iface, vrid, prio, vip4, `accept = 3`),
		"Invalid value for accept", "", 6, 3},
}

func manyVIPs(n int) string {
	var s []string
	for i := range n {
		s = append(s, `"198.51.`+itoa(100+i/250)+`.`+itoa(1+i%250)+`"`)
	}
	return strings.Join(s, ", ")
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestStrictRejects(t *testing.T) {
	for _, tc := range strictBad {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src), "bad.hcl")
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Severity == hcl.DiagError && strings.Contains(d.Summary, tc.summary) && strings.Contains(d.Detail, tc.detail) {
					found = d
					break
				}
			}
			if found == nil {
				t.Fatalf("no error with summary %q and detail %q; got:\n%s", tc.summary, tc.detail, dump(diags))
			}
			if found.Subject == nil || found.Subject.Start.Line != tc.line || found.Subject.Start.Column != tc.col {
				t.Errorf("subject %v, want %d:%d", found.Subject, tc.line, tc.col)
			}
			if n := len(diags.Errs()); n != 1 {
				t.Errorf("%d errors, want exactly 1:\n%s", n, dump(diags))
			}
		})
	}
}

func TestStrictDefaults(t *testing.T) {
	cfg, diags := Parse([]byte(strictNode+vi(iface, vrid, prio, vip4)), "ok.hcl")
	if diags.HasErrors() || len(diags) != 0 {
		t.Fatalf("diags: %s", dump(diags))
	}
	in := cfg.Instances[0]
	if !cfg.Node.Strict || !in.NoAccept {
		t.Fatalf("strict=%v no_accept=%v, want strict and no accept", cfg.Node.Strict, in.NoAccept)
	}
	if in.GARP.Repeat != 1 || in.GARP.Delay != 0 || in.GARP.Refresh != 0 || in.GARP.LowerPrioRepeat != 0 || in.GARP.LowerPrioDelay != 0 {
		t.Fatalf("garp %+v, want one packet, no second burst, no refresh, no lower-priority announcement", in.GARP)
	}
	if !in.LowerPrioNoAdvert || in.HigherPrioSendAdvert || in.DownTimerAdverts != 3 {
		t.Fatalf("timing: lower_prio_no_advert %v higher_prio_send_advert %v down_timer_adverts %d, want the RFC's",
			in.LowerPrioNoAdvert, in.HigherPrioSendAdvert, in.DownTimerAdverts)
	}
	// Explicit values that agree with strict mode are fine, and accept on
	// v3 is allowed (RFC 5798 Accept_Mode).
	cfg, diags = Parse([]byte(strictNode+vi(iface, vrid, prio, vip4, `accept = true`, `preempt_delay = "0s"`,
		`down_timer_adverts = 3`, `lower_prio_no_advert = true`, `higher_prio_send_advert = false`,
		`garp {`, `repeat = 1`, `delay = "0s"`, `refresh = "0s"`, `interval = "20ms"`, `lower_prio_repeat = 0`, `lower_prio_delay = "0s"`, `}`)), "ok.hcl")
	if diags.HasErrors() {
		t.Fatalf("diags: %s", dump(diags))
	}
	if in := cfg.Instances[0]; in.NoAccept || in.GARP.Interval != 20*time.Millisecond {
		t.Fatalf("no_accept=%v garp=%+v", in.NoAccept, in.GARP)
	}
}

func TestAcceptWithoutStrict(t *testing.T) {
	cfg, diags := Parse([]byte(vi(iface, vrid, prio, vip4)), "ok.hcl")
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	in := cfg.Instances[0]
	if cfg.Node.Strict || in.NoAccept || in.GARP.Repeat != DefaultGARPRepeat {
		t.Fatalf("strict=%v no_accept=%v garp=%+v, want keepalived's non-strict defaults", cfg.Node.Strict, in.NoAccept, in.GARP)
	}
	// accept = false without strict: keepalived's no_accept, fenced too;
	// no strict check applies (unicast and auth_pass stay allowed).
	cfg, diags = Parse([]byte(vi(iface, vrid, prio, vip4, `accept = false`, `unicast_peers = ["198.51.100.12"]`)), "ok.hcl")
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if !cfg.Instances[0].NoAccept {
		t.Fatal("accept = false ignored")
	}
}

func TestStrictWarnings(t *testing.T) {
	cases := []struct {
		name, src, summary string
		line               int
	}{
		{"ipv6 first vip not link-local", strictNode + vi(iface, vrid, prio, `virtual_ips = ["2001:db8::50/64"]`),
			"First IPv6 virtual IP is not link-local", 8},
		{"owner no accept", vi(iface, vrid, `priority = 255`, `address_owner = true`, vip4, `accept = false`),
			"accept = false has no effect on an address owner", 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src), "warn.hcl")
			if diags.HasErrors() {
				t.Fatalf("errors: %s", dump(diags))
			}
			if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Summary, tc.summary) {
				t.Fatalf("diags: %s", dump(diags))
			}
			if diags[0].Subject.Start.Line != tc.line {
				t.Errorf("warning at line %d, want %d", diags[0].Subject.Start.Line, tc.line)
			}
		})
	}
	// A link-local first address draws no warning.
	_, diags := Parse([]byte(strictNode+vi(iface, vrid, prio, `virtual_ips = ["fe80::1/64", "2001:db8::50/64"]`)), "ok.hcl")
	if len(diags) != 0 {
		t.Fatalf("diags: %s", dump(diags))
	}
}
