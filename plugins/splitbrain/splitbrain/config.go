// Package splitbrain is the logic of the hawatch "splitbrain" check plugin,
// the peer guard: it asks the segment who owns the VIP (an ARP probe for
// an IPv4 VIP, a neighbour solicitation for an IPv6 one) and
// fails when a MAC other than ours answers, optionally only when the peer's
// application answers too. The engine uses it while the instance is MASTER
// to find out whether a second master exists.
package splitbrain

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// DefaultProbeTimeout is how long replies are collected, and how long a
// peer application connect may take.
const DefaultProbeTimeout = 100 * time.Millisecond

// ErrConfig is wrapped by every configuration error.
var ErrConfig = sdk.ErrInvalidConfig

// Config is the plugin's `config {}` block; its tags are the schema.
type Config struct {
	Interface    string   `hawatch:"interface,required" doc:"interface that carries the VIP; the ARP probe (IPv4) or neighbour solicitation (IPv6) goes out here"`
	VIP          string   `hawatch:"vip,required" doc:"virtual address (IPv4 or IPv6) whose other owners are looked for"`
	PeerApp      []string `hawatch:"peer_app" default:"" doc:"host:port of the peer's application; if set, another owner counts only when one of these accepts a connection"`
	ProbeTimeout Duration `hawatch:"probe_timeout,min=1ms" default:"100ms" doc:"how long ARP replies or neighbour advertisements are collected, and the connect timeout for peer_app"`
	VRID         int      `hawatch:"vrid,min=0,max=255" default:"0" doc:"virtual_router_id whose adverts show the other owner alive; 0: any (set it when the node runs several instances)"`

	s *settings // derived by Validate
}

// Validate derives the guard's settings (called by the SDK after decoding).
func (c *Config) Validate() (err error) {
	c.s, err = c.settings()
	return err
}

type settings struct {
	iface        string
	vip          netip.Addr
	peerApp      []string
	probeTimeout time.Duration
	vrid         uint8 // 0: adverts of any VRID count
}

func (c Config) settings() (*settings, error) {
	s := &settings{iface: c.Interface, peerApp: c.PeerApp, probeTimeout: time.Duration(c.ProbeTimeout)}
	if s.iface == "" {
		return nil, fmt.Errorf("%w: interface is required", ErrConfig)
	}
	vip, err := netip.ParseAddr(c.VIP)
	if err != nil {
		return nil, fmt.Errorf("%w: vip %q: %w", ErrConfig, c.VIP, err)
	}
	vip = vip.Unmap()
	if vip.Zone() != "" {
		// The probe goes out on interface; a zone would say it twice, and
		// could say it differently.
		return nil, fmt.Errorf("%w: vip %s: leave the zone out (interface says where to look)", ErrConfig, vip)
	}
	if vip.IsUnspecified() || vip.IsMulticast() || vip.IsLoopback() || vip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return nil, fmt.Errorf("%w: vip %s is not a unicast address", ErrConfig, vip)
	}
	s.vip = vip
	for _, a := range s.peerApp {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("%w: peer_app %q: want host:port", ErrConfig, a)
		}
	}
	if c.VRID < 0 || c.VRID > 255 {
		return nil, fmt.Errorf("%w: vrid %d: want 1-255, or 0 for any", ErrConfig, c.VRID)
	}
	s.vrid = uint8(c.VRID)
	if s.probeTimeout == 0 {
		s.probeTimeout = DefaultProbeTimeout
	}
	if s.probeTimeout < time.Millisecond {
		return nil, fmt.Errorf("%w: probe_timeout %s is below 1ms", ErrConfig, s.probeTimeout)
	}
	return s, nil
}

// Schema is the declared `config {}` block.
func Schema() sdk.Schema { return sdk.SchemaOf[Config]() }

// Duration is a config duration ("250ms"); see sdk.Duration.
type Duration = sdk.Duration
