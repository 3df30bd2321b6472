package config

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// The file* structs mirror the HCL schema for gohcl. Attributes are kept as
// *hcl.Attribute (nil when absent) rather than Go values so that every
// conversion error, default and cross-check can blame the exact attribute;
// the typed Config is built from them by the decoder.

type fileSchema struct {
	Node       *nodeBlock        `hcl:"node,block"`
	Plugins    []*pluginBlock    `hcl:"plugin,block"`
	Checks     []*checkBlock     `hcl:"check,block"`
	Actions    []*actionBlock    `hcl:"action,block"`
	Witnesses  []*witnessBlock   `hcl:"witness,block"`
	Instances  []*instanceBlock  `hcl:"vrrp_instance,block"`
	SyncGroups []*syncGroupBlock `hcl:"sync_group,block"`
	Static     *staticBlock      `hcl:"static,block"`
	TrackFiles []*trackFileBlock `hcl:"track_file,block"`
	Interfaces []*interfaceBlock `hcl:"interface,block"`
}

type nodeBlock struct {
	Name          *hcl.Attribute `hcl:"name,attr"`
	ControlSocket *hcl.Attribute `hcl:"control_socket,attr"`
	ControlGroup  *hcl.Attribute `hcl:"control_group,attr"`
	StateDir      *hcl.Attribute `hcl:"state_dir,attr"`
	PluginDir     *hcl.Attribute `hcl:"plugin_dir,attr"`
	MetricsListen *hcl.Attribute `hcl:"metrics_listen,attr"`
	LogLevel      *hcl.Attribute `hcl:"log_level,attr"`
	LogFormat     *hcl.Attribute `hcl:"log_format,attr"`
	Realtime      *hcl.Attribute `hcl:"realtime_priority,attr"`
	MaxAutoPrio   *hcl.Attribute `hcl:"max_auto_priority,attr"`
	LockMemory    *hcl.Attribute `hcl:"lock_memory,attr"`
	Strict        *hcl.Attribute `hcl:"strict,attr"`
	DefRange      hcl.Range      `hcl:",def_range"`

	// startup delay (trackfile.go)
	StartupDelay   *hcl.Attribute `hcl:"startup_delay,attr"`
	DelayAfterBoot *hcl.Attribute `hcl:"delay_after_boot,attr"`
}

type pluginBlock struct {
	Name     string         `hcl:"name,label"`
	Command  *hcl.Attribute `hcl:"command,attr"`
	Args     *hcl.Attribute `hcl:"args,attr"`
	SHA256   *hcl.Attribute `hcl:"sha256,attr"`
	User     *hcl.Attribute `hcl:"user,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

// configBlock captures a plugin-specific `config {}` body untouched.
type configBlock struct {
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

type checkBlock struct {
	Name      string         `hcl:"name,label"`
	Plugin    *hcl.Attribute `hcl:"plugin,attr"`
	Interval  *hcl.Attribute `hcl:"interval,attr"`
	Timeout   *hcl.Attribute `hcl:"timeout,attr"`
	Rise      *hcl.Attribute `hcl:"rise,attr"`
	Fall      *hcl.Attribute `hcl:"fall,attr"`
	OnUnknown *hcl.Attribute `hcl:"on_unknown,attr"`
	HoldFor   *hcl.Attribute `hcl:"hold_for,attr"`
	Config    *configBlock   `hcl:"config,block"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type actionBlock struct {
	Name     string         `hcl:"name,label"`
	Plugin   *hcl.Attribute `hcl:"plugin,attr"`
	Timeout  *hcl.Attribute `hcl:"timeout,attr"`
	Config   *configBlock   `hcl:"config,block"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type witnessBlock struct {
	Name     string         `hcl:"name,label"`
	Plugin   *hcl.Attribute `hcl:"plugin,attr"`
	Config   *configBlock   `hcl:"config,block"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type instanceBlock struct {
	Name           string                 `hcl:"name,label"`
	Interface      *hcl.Attribute         `hcl:"interface,attr"`
	VRID           *hcl.Attribute         `hcl:"virtual_router_id,attr"`
	Priority       *hcl.Attribute         `hcl:"priority,attr"`
	Version        *hcl.Attribute         `hcl:"version,attr"`
	AdvertInterval *hcl.Attribute         `hcl:"advert_interval,attr"`
	AuthPass       *hcl.Attribute         `hcl:"auth_pass,attr"`
	AddressOwner   *hcl.Attribute         `hcl:"address_owner,attr"`
	VirtualIPs     *hcl.Attribute         `hcl:"virtual_ips,attr"`
	UnicastSource  *hcl.Attribute         `hcl:"unicast_source,attr"`
	UnicastPeers   *hcl.Attribute         `hcl:"unicast_peers,attr"`
	UnicastPeer    []*unicastPeerBlock    `hcl:"unicast_peer,block"`
	UnicastTTL     *hcl.Attribute         `hcl:"unicast_ttl,attr"`
	AuthHMAC       *authHMACBlock         `hcl:"auth_hmac,block"`
	Witness        *hcl.Attribute         `hcl:"witness,attr"`
	OnWitnessLost  *hcl.Attribute         `hcl:"on_witness_lost,attr"`
	Preempt        *hcl.Attribute         `hcl:"preempt,attr"`
	PreemptDelay   *hcl.Attribute         `hcl:"preempt_delay,attr"`
	Notify         *hcl.Attribute         `hcl:"notify,attr"`
	GARP           *garpBlock             `hcl:"garp,block"`
	VMAC           *vmacBlock             `hcl:"vmac,block"`
	Tracks         []*trackBlock          `hcl:"track,block"`
	TrackIfaces    []*trackInterfaceBlock `hcl:"track_interface,block"`
	DefRange       hcl.Range              `hcl:",def_range"`

	// track files and timing knobs (trackfile.go, timing.go)
	TrackFiles           []*instanceTrackFileBlock `hcl:"track_file,block"`
	DownTimerAdverts     *hcl.Attribute            `hcl:"down_timer_adverts,attr"`
	LowerPrioNoAdvert    *hcl.Attribute            `hcl:"lower_prio_no_advert,attr"`
	HigherPrioSendAdvert *hcl.Attribute            `hcl:"higher_prio_send_advert,attr"`

	// Routes, rules and address options (routes.go).
	VirtualIP     []*virtualIPBlock `hcl:"virtual_ip,block"`
	ExcludedIPs   *hcl.Attribute    `hcl:"excluded_ips,attr"`
	VirtualRoutes []*routeBlock     `hcl:"virtual_route,block"`
	VirtualRules  []*ruleBlock      `hcl:"virtual_rule,block"`
	McastSource   *hcl.Attribute    `hcl:"mcast_source,attr"`
	// accept mode (strict.go)
	Accept *hcl.Attribute `hcl:"accept,attr"`
}

type garpBlock struct {
	Repeat   *hcl.Attribute `hcl:"repeat,attr"`
	Interval *hcl.Attribute `hcl:"interval,attr"`
	Delay    *hcl.Attribute `hcl:"delay,attr"`
	Refresh  *hcl.Attribute `hcl:"refresh,attr"`

	LowerPrioRepeat *hcl.Attribute `hcl:"lower_prio_repeat,attr"`
	LowerPrioDelay  *hcl.Attribute `hcl:"lower_prio_delay,attr"`
}

type trackBlock struct {
	Check    string         `hcl:"check,label"`
	Weight   *hcl.Attribute `hcl:"weight,attr"`
	Effect   *hcl.Attribute `hcl:"effect,attr"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type syncGroupBlock struct {
	Name      string         `hcl:"name,label"`
	Instances *hcl.Attribute `hcl:"instances,attr"`
	Notify    *hcl.Attribute `hcl:"notify,attr"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

// Load reads, parses, decodes and validates the policy file at path.
//
// The returned Config is never nil and its Files are always set, so the
// caller can render the diagnostics; when diags.HasErrors() the rest of the
// Config is partial and must not be used.
func Load(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return &Config{Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   err.Error(),
		}}
	}
	cfg, diags := Parse(src, path)
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 && cfg.holdsSecrets() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Secrets in a file others can read",
			Detail: fmt.Sprintf("%s holds an auth_pass or an auth_hmac key value and has mode %v: members of its group or other users can read it. "+
				"chmod 600 it, or move the keys to key files (key \"N\" { file = \"/etc/hawatch/keys/…\" }).", path, fi.Mode().Perm()),
		})
	}
	return cfg, diags
}

// holdsSecrets reports whether the policy itself carries key material.
func (c *Config) holdsSecrets() bool {
	for _, in := range c.Instances {
		if in.AuthPass != "" {
			return true
		}
		if in.HMAC != nil {
			for _, k := range in.HMAC.Keys {
				if k.File == "" {
					return true
				}
			}
		}
	}
	return false
}

// Parse is Load for a policy already in memory; filename names it in
// diagnostics. See Load for the meaning of the results.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	parser := hclparse.NewParser()
	file, diags := parser.ParseHCL(src, filename)
	cfg := &Config{Files: parser.Files()}
	if diags.HasErrors() || file == nil {
		// Decoding a body the parser gave up on mostly repeats the syntax
		// error in confusing words; the syntax error alone is clearer.
		return cfg, diags
	}

	var raw fileSchema
	decodeDiags := gohcl.DecodeBody(file.Body, nil, &raw)
	listValidNames(file.Body, decodeDiags)
	diags = append(diags, decodeDiags...)

	d := &decoder{}
	build(d, &raw, cfg)
	diags = append(diags, d.diags...)
	sortDiagnostics(diags)
	return cfg, diags
}
