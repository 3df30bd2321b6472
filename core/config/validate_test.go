package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// vi builds a vrrp_instance "VI_1" block from its body lines, so the first
// body line is line 2 of the file and indented by two spaces (column 3).
func vi(lines ...string) string {
	return block(`vrrp_instance "VI_1"`, lines...)
}

func block(header string, lines ...string) string {
	var b strings.Builder
	b.WriteString(header + " {\n")
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// witnessSite defines witness "site" on plugin "etcd" (lines 1-6).
var witnessSite = block(`witness "site"`, `plugin = "etcd"`) + block(`plugin "etcd"`, `command = "hawatch-etcd"`)

// hmacText is a valid 40-byte ASCII auth_hmac key.
const hmacText = "hawatch-test-vector-ascii-key-0123456789"

// Attribute lines of a minimal valid instance.
const (
	iface = `interface = "eth0"`
	vrid  = `virtual_router_id = 51`
	prio  = `priority = 100`
	vip4  = `virtual_ips = ["198.51.100.50/24"]`
)

type badCase struct {
	name    string
	src     string
	summary string // substring of the diagnostic's summary
	detail  string // substring of its detail
	line    int    // where its Subject starts
	col     int
}

// Every validation rule has a case here: a file with that one mistake, the
// message it must produce and where it must point.
var badCases = []badCase{
	// virtual_router_id 1-255
	{"vrid zero", vi(iface, `virtual_router_id = 0`, prio, vip4),
		"Invalid value for virtual_router_id", "between 1 and 255, not 0", 3, 3},
	{"vrid too big", vi(iface, `virtual_router_id = 256`, prio, vip4),
		"Invalid value for virtual_router_id", "between 1 and 255, not 256", 3, 3},
	{"vrid not whole", vi(iface, `virtual_router_id = 5.5`, prio, vip4),
		"Invalid value for virtual_router_id", "whole number", 3, 3},
	{"vrid not a number", vi(iface, `virtual_router_id = "fifty"`, prio, vip4),
		"Invalid value for virtual_router_id", "must be a number", 3, 3},

	// priority 1-255, 255 only for the address owner
	{"priority zero", vi(iface, vrid, `priority = 0`, vip4),
		"Invalid value for priority", "between 1 and 255", 4, 3},
	{"priority too big", vi(iface, vrid, `priority = 1000`, vip4),
		"Invalid value for priority", "not 1000", 4, 3},
	{"priority 255 not owner", vi(iface, vrid, `priority = 255`, vip4),
		"reserved for the address owner", "address_owner = true", 4, 3},
	{"owner not 255", vi(iface, vrid, prio, vip4, `address_owner = true`),
		"Address owner must use priority 255", "priority = 255", 6, 3},

	// version 2|3
	{"version 4", vi(iface, vrid, prio, vip4, `version = 4`),
		"Invalid value for version", "between 2 and 3", 6, 3},

	// advert interval: v2 whole seconds 1-255, v3 10ms-40.95s in 10ms steps
	{"v2 fractional advert", vi(iface, vrid, prio, vip4, `version = 2`, `advert_interval = "1500ms"`),
		"Invalid advert_interval for VRRP version 2", "whole seconds", 7, 3},
	{"v2 advert too long", vi(iface, vrid, prio, vip4, `version = 2`, `advert_interval = "256s"`),
		"Invalid advert_interval for VRRP version 2", "not 4m16s", 7, 3},
	{"v3 advert too short", vi(iface, vrid, prio, vip4, `advert_interval = "5ms"`),
		"Invalid advert_interval for VRRP version 3", "from 10ms to 40.95s", 6, 3},
	{"v3 advert too long", vi(iface, vrid, prio, vip4, `advert_interval = "41s"`),
		"Invalid advert_interval for VRRP version 3", "not 41s", 6, 3},
	{"v3 advert off step", vi(iface, vrid, prio, vip4, `advert_interval = "15ms"`),
		"Invalid advert_interval for VRRP version 3", "steps of 10ms", 6, 3},
	{"advert zero", vi(iface, vrid, prio, vip4, `advert_interval = "0s"`),
		"Invalid duration for advert_interval", "greater than zero", 6, 3},

	// auth_pass only with v2, at most 8 bytes
	{"auth_pass with v3", vi(iface, vrid, prio, vip4, `auth_pass = "1111"`),
		"auth_pass needs VRRP version 2", "VRRPv3", 6, 3},
	{"auth_pass too long", vi(iface, vrid, prio, vip4, `version = 2`, `auth_pass = "123456789"`),
		"auth_pass is too long", "9 bytes", 7, 3},
	{"auth_pass empty", vi(iface, vrid, prio, vip4, `version = 2`, `auth_pass = ""`),
		"Invalid value for auth_pass", "must not be empty", 7, 3},

	// virtual IPs: CIDRs, one family, IPv6 only with v3
	{"vip not an address", vi(iface, vrid, prio, `virtual_ips = ["198.51.100.50/24", "198.51.100.300/24"]`),
		"Invalid virtual IP", `"198.51.100.300/24" is not an address with prefix length`, 5, 38},
	{"vip bad prefix", vi(iface, vrid, prio, `virtual_ips = ["198.51.100.50/33"]`),
		"Invalid virtual IP", "198.51.100.50/33", 5, 18},
	{"vip bare garbage", vi(iface, vrid, prio, `virtual_ips = ["lb-vip"]`),
		"Invalid virtual IP", "is not an IP address", 5, 18},
	{"vip multicast", vi(iface, vrid, prio, `virtual_ips = ["224.0.0.18"]`),
		"Invalid virtual IP", "multicast", 5, 18},
	{"vip with zone", vi(iface, vrid, prio, `virtual_ips = ["fe80::1%eth0"]`),
		"Invalid virtual IP", "zone", 5, 18},
	{"no vips", vi(iface, vrid, prio, `virtual_ips = []`),
		"Invalid value for virtual_ips", "at least one", 5, 3},
	{"vips not a list", vi(iface, vrid, prio, `virtual_ips = true`),
		"Invalid value for virtual_ips", "list of strings", 5, 3},
	{"ipv6 vip with v2", vi(iface, vrid, prio, `virtual_ips = ["2001:db8::50/64"]`, `version = 2`),
		"IPv6 virtual IP needs VRRP version 3", "2001:db8::50/64", 5, 18},
	{"mixed families", vi(iface, vrid, prio, `virtual_ips = ["198.51.100.50/24", "2001:db8::50/64"]`),
		"Mixed address families", "one family", 5, 38},
	{"duplicate vip", vi(iface, vrid, prio, `virtual_ips = ["198.51.100.50/24", "198.51.100.50/32"]`),
		"Duplicate virtual IP", "listed twice", 5, 38},
	{"vip in two instances", vi(iface, vrid, prio, vip4) +
		block(`vrrp_instance "VI_2"`, iface, `virtual_router_id = 52`, prio, vip4),
		"Virtual IP in two instances", `vrrp_instance "VI_1"`, 11, 18},

	// unique block names per kind
	{"duplicate instance", vi(iface, vrid, prio, vip4) + vi(iface, `virtual_router_id = 52`, prio, `virtual_ips = ["198.51.100.51"]`),
		"Duplicate vrrp_instance block", "already defined at bad.hcl:1", 7, 1},
	{"duplicate check", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) + block(`check "c"`, `plugin = "p"`),
		"Duplicate check block", `check named "c"`, 7, 1},
	{"duplicate plugin", block(`plugin "p"`, `command = "x"`) + block(`plugin "p"`, `command = "y"`),
		"Duplicate plugin block", `plugin named "p"`, 4, 1},
	{"duplicate action", block(`plugin "p"`, `command = "x"`) + block(`action "a"`, `plugin = "p"`) + block(`action "a"`, `plugin = "p"`),
		"Duplicate action block", `action named "a"`, 7, 1},
	{"duplicate sync group", vi(iface, vrid, prio, vip4) + block(`sync_group "G"`, `instances = ["VI_1"]`) + block(`sync_group "G"`, `instances = ["VI_1"]`),
		"Duplicate sync_group block", `sync_group named "G"`, 10, 1},
	{"duplicate node", "node {}\nnode {}\n",
		"Duplicate node block", "Only one node block", 2, 1},
	{"empty name", block(`plugin ""`, `command = "x"`),
		"Invalid plugin name", "non-empty", 1, 1},

	// references resolve
	{"track undefined check", block(`plugin "p"`, `command = "x"`) + block(`check "nginx"`, `plugin = "p"`) +
		vi(iface, vrid, prio, vip4, `track "ngnix" {}`),
		"Reference to undefined check", `Did you mean "nginx"?`, 12, 3},
	{"notify undefined action", vi(iface, vrid, prio, vip4, `notify = ["mail"]`),
		"Reference to undefined action", `vrrp_instance "VI_1" refers to action "mail"`, 6, 13},
	{"check plugin undefined", block(`check "nginx"`, `plugin = "proces"`) + block(`plugin "process"`, `command = "hawatch-process"`),
		"Reference to undefined plugin", `Did you mean "process"?`, 2, 3},
	{"action plugin undefined", block(`action "mail"`, `plugin = "notify"`),
		"Reference to undefined plugin", `action "mail" refers to plugin "notify"`, 2, 3},
	{"sync group undefined instance", vi(iface, vrid, prio, vip4) + block(`sync_group "G"`, `instances = ["VI_1", "VI_9"]`),
		"Reference to undefined vrrp_instance", `"VI_9"`, 8, 24},
	{"sync group notify undefined", vi(iface, vrid, prio, vip4) + block(`sync_group "G"`, `instances = ["VI_1"]`, `notify = ["x"]`),
		"Reference to undefined action", `sync_group "G"`, 9, 13},

	// duplicate VRID on the same interface and family
	{"duplicate vrid", vi(iface, vrid, prio, vip4) + block(`vrrp_instance "VI_2"`, iface, vrid, prio, `virtual_ips = ["198.51.100.60/24"]`),
		"Duplicate virtual_router_id", `"VI_1" (bad.hcl:1,1-21) already uses virtual_router_id 51 for IPv4 on eth0`, 9, 3},

	// unicast peers: VIP family, not the source
	{"peer wrong family", vi(iface, vrid, prio, vip4, `unicast_peers = ["2001:db8::12"]`),
		"Unicast peer of the wrong family", "IPv6 but the virtual IPs are IPv4", 6, 20},
	{"peer is source", vi(iface, vrid, prio, vip4, `unicast_source = "198.51.100.11"`, `unicast_peers = ["198.51.100.12", "198.51.100.11"]`),
		"Unicast peer is this node", "also unicast_source", 7, 37},
	{"source wrong family", vi(iface, vrid, prio, vip4, `unicast_source = "2001:db8::11"`),
		"unicast_source of the wrong family", "IPv6", 6, 3},
	{"peer not an address", vi(iface, vrid, prio, vip4, `unicast_peers = ["lb2"]`),
		"Invalid unicast peer", `"lb2" is not an IP address`, 6, 20},
	{"duplicate peer", vi(iface, vrid, prio, vip4, `unicast_peers = ["198.51.100.12", "198.51.100.12"]`),
		"Duplicate unicast peer", "listed twice", 6, 37},

	// sync groups: one group per instance
	{"instance in two groups", vi(iface, vrid, prio, vip4) + block(`sync_group "A"`, `instances = ["VI_1"]`) +
		block(`sync_group "B"`, `instances = ["VI_1"]`),
		"Instance in more than one sync group", `already a member of sync_group "A"`, 11, 16},
	{"instance twice in a group", vi(iface, vrid, prio, vip4) + block(`sync_group "A"`, `instances = ["VI_1", "VI_1"]`),
		"Duplicate instance in sync group", "listed twice", 8, 24},
	{"sync group without instances", block(`sync_group "A"`),
		"Missing required argument", `"instances"`, 1, 1},

	// unknown attributes and blocks, with suggestions
	{"unknown attribute", vi(iface, vrid, prio, vip4, `preemt = false`),
		"Unsupported argument", `Did you mean "preempt"?`, 6, 3},
	{"unknown block", vi(iface, vrid, prio, vip4) + "\nvrrp_instanse \"VI_2\" {}\n",
		"Unsupported block type", `Did you mean "vrrp_instance"?`, 8, 1},
	{"unknown nested block", vi(iface, vrid, prio, vip4, `trak "x" {}`),
		"Unsupported block type", `Did you mean "track"?`, 6, 3},
	{"unknown node attribute", block(`node`, `log_lvl = "info"`),
		"Unsupported argument", `Did you mean "log_level"?`, 2, 3},
	{"keepalived block", block(`vrrp_script "chk"`, `script = "x"`),
		"Unsupported block type", `"vrrp_script"`, 1, 1},

	// track effect, weight
	{"effect fault", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) + vi(iface, vrid, prio, vip4, `track "c" { effect = "fault" }`),
		"Invalid value for effect", `can only be "yield"`, 12, 15},
	{"effect typo", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) + vi(iface, vrid, prio, vip4, `track "c" { effect = "yeild" }`),
		"Invalid value for effect", `Did you mean "yield"?`, 12, 15},
	{"effect with weight", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) +
		vi(iface, vrid, prio, vip4, `track "c" {`, `  weight = -10`, `  effect = "yield"`, `}`),
		"effect and weight together", "remove weight or effect", 14, 5},
	{"weight zero", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) + vi(iface, vrid, prio, vip4, `track "c" { weight = 0 }`),
		"Invalid value for weight", "omit weight", 12, 15},
	{"weight too big", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) + vi(iface, vrid, prio, vip4, `track "c" { weight = 300 }`),
		"Invalid value for weight", "between -254 and 254", 12, 15},
	{"duplicate track", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`) + vi(iface, vrid, prio, vip4, `track "c" {}`, `track "c" {}`),
		"Duplicate track", `already tracks check "c"`, 13, 3},

	// check attributes
	{"on_unknown typo", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `on_unknown = "hodl"`),
		"Invalid value for on_unknown", `Did you mean "hold"?`, 6, 3},
	{"rise zero", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `rise = 0`),
		"Invalid value for rise", "between 1 and", 6, 3},
	{"fall zero", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `fall = 0`),
		"Invalid value for fall", "between 1 and", 6, 3},
	{"timeout zero", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `timeout = "0s"`),
		"Invalid duration for timeout", "greater than zero", 6, 3},
	{"interval negative", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `interval = "-1s"`),
		"Invalid duration for interval", "greater than zero", 6, 3},
	{"duration without unit", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `interval = 1`),
		"Invalid duration for interval", `"1" is not a duration`, 6, 3},
	{"duration garbage", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `hold_for = "5 seconds"`),
		"Invalid duration for hold_for", "500ms", 6, 3},
	{"check without plugin", block(`check "c"`),
		"Missing required argument", `"plugin"`, 1, 1},
	{"duplicate config block", block(`plugin "p"`, `command = "x"`) + block(`check "c"`, `plugin = "p"`, `config {}`, `config {}`),
		"Duplicate config block", "Only one config block", 7, 3},
	{"action timeout", block(`plugin "p"`, `command = "x"`) + block(`action "a"`, `plugin = "p"`, `timeout = "soon"`),
		"Invalid duration for timeout", `"soon"`, 6, 3},

	// plugin attributes
	{"plugin without command", block(`plugin "p"`),
		"Missing required argument", `"command"`, 1, 1},
	{"plugin relative path", block(`plugin "p"`, `command = "bin/hawatch-p"`),
		"Invalid value for command", "absolute path", 2, 3},
	{"plugin bad sha256", block(`plugin "p"`, `command = "x"`, `sha256 = "abc"`),
		"Invalid value for sha256", "64 hexadecimal digits", 3, 3},
	{"plugin args not a list", block(`plugin "p"`, `command = "x"`, `args = "-v"`),
		"Invalid value for args", "list of strings", 3, 3},

	// node attributes
	{"log_format", block(`node`, `log_format = "text"`),
		"Invalid value for log_format", `"text" is not one of "json" or "console"`, 2, 3},
	{"log_level", block(`node`, `log_level = "warning"`),
		"Invalid value for log_level", `Did you mean "warn"?`, 2, 3},
	{"relative state_dir", block(`node`, `state_dir = "var/lib/hawatch"`),
		"Invalid value for state_dir", "absolute path", 2, 3},
	{"metrics_listen", block(`node`, `metrics_listen = "localhost"`),
		"Invalid value for metrics_listen", "listen address", 2, 3},
	{"metrics_listen port", block(`node`, `metrics_listen = "127.0.0.1:http"`),
		"Invalid value for metrics_listen", "not a number", 2, 3},
	{"realtime_priority", block(`node`, `realtime_priority = 100`),
		"Invalid value for realtime_priority", "between 0 and 99", 2, 3},
	{"max_auto_priority range", block(`node`, `max_auto_priority = 100`),
		"Invalid value for max_auto_priority", "between 0 and 99", 2, 3},
	{"max_auto_priority below realtime_priority", block(`node`, "realtime_priority = 20\n  max_auto_priority = 10"),
		"Invalid value for max_auto_priority", "below realtime_priority 20", 3, 3},

	// other instance attributes
	{"missing priority", vi(iface, vrid, vip4),
		"Missing required argument", `"priority"`, 1, 1},
	{"interface too long", vi(`interface = "a-very-long-ifname0"`, vrid, prio, vip4),
		"Invalid value for interface", "longer than 15 bytes", 2, 3},
	{"interface empty", vi(`interface = ""`, vrid, prio, vip4),
		"Invalid value for interface", "must not be empty", 2, 3},
	{"preempt not bool", vi(iface, vrid, prio, vip4, `preempt = "sometimes"`),
		"Invalid value for preempt", "true or false", 6, 3},
	{"garp repeat zero", vi(iface, vrid, prio, vip4, `garp {`, `  repeat = 0`, `}`),
		"Invalid value for repeat", "between 1 and 100", 7, 5},
	{"garp repeat too many", vi(iface, vrid, prio, vip4, `garp {`, `  repeat = 101`, `}`),
		"Invalid value for repeat", "between 1 and 100", 7, 5},
	{"garp delay inside the first burst", vi(iface, vrid, prio, vip4, `garp {`, `  repeat = 5`, `  interval = "1s"`, `  delay = "2s"`, `}`),
		"garp delay too short", "must start after the first one ends", 9, 5},
	{"garp refresh under a second", vi(iface, vrid, prio, vip4, `garp {`, `  refresh = "500ms"`, `}`),
		"garp refresh too short", "at least 1s", 7, 5},
	{"garp unknown attribute", vi(iface, vrid, prio, vip4, `garp { refesh = "1m" }`),
		"Unsupported argument", `Did you mean "refresh"?`, 6, 10},

	// the policy is static: no variables or functions
	{"variable", vi(iface, vrid, `priority = base + 1`, vip4),
		"Variables not allowed", "", 4, 14},
	// auth_hmac (keepalived 2.4): keys, active key, bounds; never with
	// auth_pass. No detail may quote a key.
	{"hmac key too short", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "short-secret" }`, `  active_key = 1`, `}`),
		"Invalid key value", "12 bytes, want 32 to 64", 7, 15},
	{"hmac bad hex", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "hex:zz`+strings.Repeat("00", 32)+`" }`, `  active_key = 1`, `}`),
		"Invalid key value", "not hexadecimal", 7, 15},
	{"hmac key id 0", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "0" { value = "`+hmacText+`" }`, `  key "1" { value = "`+hmacText+`" }`, `  active_key = 1`, `}`),
		"Invalid key id", "1 to 255", 7, 5},
	{"hmac active key undefined", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "`+hmacText+`" }`, `  active_key = 2`, `}`),
		"active_key not defined", "Key 2", 8, 5},
	{"hmac window", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "`+hmacText+`" }`, `  active_key = 1`, `  time_window = "10m"`, `}`),
		"Invalid value for time_window", "1s to 300s", 9, 5},
	{"hmac mode", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" { value = "`+hmacText+`" }`, `  active_key = 1`, `  mode = "lenient"`, `}`),
		"Invalid value for mode", `"lenient" is not one of`, 9, 5},
	{"hmac with auth_pass", vi(iface, vrid, prio, vip4, `version = 2`, `advert_interval = "1s"`, `auth_pass = "secret"`,
		`auth_hmac {`, `  key "1" { value = "`+hmacText+`" }`, `  active_key = 1`, `}`),
		"auth_hmac and auth_pass together", "not both", 9, 3},
	{"hmac key value and file", vi(iface, vrid, prio, vip4, `auth_hmac {`, `  key "1" {`, `    value = "`+hmacText+`"`, `    file = "/etc/hawatch/k"`, `  }`, `  active_key = 1`, `}`),
		"Key with value and file", "not both", 7, 5},

	// unicast_peer blocks and unicast_ttl
	{"peer ttl bounds reversed", vi(iface, vrid, prio, vip4, `unicast_peer "198.51.100.12" {`, `  min_ttl = 255`, `  max_ttl = 64`, `}`),
		"min_ttl above max_ttl", "255 is above max_ttl 64", 6, 3},
	{"peer ttl out of range", vi(iface, vrid, prio, vip4, `unicast_peer "198.51.100.12" {`, `  min_ttl = 300`, `}`),
		"Invalid value for min_ttl", "between 0 and 255", 7, 5},
	{"peer twice", vi(iface, vrid, prio, vip4, `unicast_peers = ["198.51.100.12"]`, `unicast_peer "198.51.100.12" {}`),
		"Duplicate unicast peer", "listed twice", 7, 3},
	{"unicast_ttl zero", vi(iface, vrid, prio, vip4, `unicast_peers = ["198.51.100.12"]`, `unicast_ttl = 0`),
		"Invalid value for unicast_ttl", "between 1 and 255", 7, 3},
	// witness references and policy
	{"witness undefined", vi(iface, vrid, prio, vip4, `witness = "site"`),
		"Reference to undefined witness", `witness "site"`, 6, 3},
	{"on_witness_lost value", witnessSite + vi(iface, vrid, prio, vip4, `witness = "site"`, `on_witness_lost = "maybe"`),
		"Invalid value for on_witness_lost", `"maybe" is not one of`, 13, 3},
	{"on_witness_lost alone", vi(iface, vrid, prio, vip4, `on_witness_lost = "keep"`),
		"on_witness_lost without witness", "Set witness", 6, 3},
	{"witness in a sync group", witnessSite + vi(iface, vrid, prio, vip4, `witness = "site"`) + block(`sync_group "G"`, `instances = ["VI_1"]`),
		"Witness on a sync group member", `sync_group "G"`, 12, 3},
}

func TestValidationRules(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src), "bad.hcl")
			if !diags.HasErrors() {
				t.Fatalf("no error for:\n%s", tc.src)
			}
			var found *hcl.Diagnostic
			for _, d := range diags {
				if strings.Contains(d.Summary, tc.summary) && strings.Contains(d.Detail, tc.detail) {
					found = d
					break
				}
			}
			if found == nil {
				t.Fatalf("no diagnostic with summary %q and detail %q; got:\n%s", tc.summary, tc.detail, dump(diags))
			}
			if found.Severity != hcl.DiagError {
				t.Errorf("severity %v, want error", found.Severity)
			}
			if found.Subject == nil {
				t.Fatalf("diagnostic %q has no subject", found.Summary)
			}
			if got := found.Subject.Start; got.Line != tc.line || got.Column != tc.col {
				t.Errorf("subject at %d:%d, want %d:%d (%s: %s)", got.Line, got.Column, tc.line, tc.col, found.Summary, found.Detail)
			}
			if found.Subject.Filename != "bad.hcl" {
				t.Errorf("subject file %q, want bad.hcl", found.Subject.Filename)
			}
			// One mistake, one error: a rule must not drag others along.
			if n := len(diags.Errs()); n != 1 {
				t.Errorf("%d errors, want exactly 1:\n%s", n, dump(diags))
			}
		})
	}
}

func dump(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		pos := "-"
		if d.Subject != nil {
			pos = d.Subject.String()
		}
		b.WriteString("  " + pos + ": " + d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}
