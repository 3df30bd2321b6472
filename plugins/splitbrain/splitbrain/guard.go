package splitbrain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/arp"

	"github.com/hawatch/hawatch/sdk"
)

// Version is reported in Info.
const Version = "0.1.0"

// deadlineMargin is kept free at the end of the check's deadline to build
// and return the result.
const deadlineMargin = 5 * time.Millisecond

// ErrNotConfigured is returned before a successful Configure.
var ErrNotConfigured = errors.New("splitbrain: Check before Configure")

// arpConn is what a check needs from an ARP socket on the interface.
type arpConn interface {
	// Probe broadcasts an ARP probe for ip: sender address 0.0.0.0 (RFC
	// 5227), so the owner answers even when it believes we hold the same
	// address (a request from "its own" address would be dropped as a
	// martian).
	Probe(ip netip.Addr) error
	// Read returns the next ARP packet; it fails with a timeout error once
	// the read deadline has passed.
	Read() (*arp.Packet, error)
	SetReadDeadline(t time.Time) error
	HardwareAddr() net.HardwareAddr
	Close() error
}

// ndpConn is what a check needs from a socket that sends and reads
// neighbour discovery frames on the interface (the IPv6 path).
type ndpConn interface {
	// Solicit sends a neighbour solicitation for ip to its
	// solicited-node group, from Source.
	Solicit(ip netip.Addr) error
	// ReadFrame returns the next frame that may be a neighbour
	// solicitation or advertisement; it fails with a timeout error once
	// the read deadline has passed.
	ReadFrame() ([]byte, error)
	// Source is the solicitations' IPv6 source: the interface's
	// link-local address, else another of its addresses, else :: (a DAD
	// style probe, answered to all nodes).
	Source() netip.Addr
	SetReadDeadline(t time.Time) error
	HardwareAddr() net.HardwareAddr
	Close() error
}

// Plugin is the "splitbrain" check in poll form (sdk.Checker).
type Plugin struct {
	sdk.Configured[Config]
	dialARP       func(iface string) (arpConn, error)
	dialNDP       func(iface string, vip netip.Addr) (ndpConn, error)
	dialTCP       func(ctx context.Context, addr string) error
	listenAdverts func(iface string) (advertSource, error)
	now           func() time.Time

	// The wire watch, kept from check to check (checks run one at a
	// time; wmu guards it against a Close).
	wmu      sync.Mutex
	adverts  advertSource
	advIface string
	seen     map[string]seenAdvert // latest advert per Ethernet source
}

var _ sdk.Checker = (*Plugin)(nil)

// New returns an unconfigured plugin.
func New() *Plugin {
	return &Plugin{dialARP: dialARP, dialNDP: dialNDP, dialTCP: dialTCP, listenAdverts: listenAdverts, now: time.Now}
}

func dialTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Info implements sdk.Base.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{Name: "splitbrain", Kind: sdk.KindCheck, Version: Version}
}

// Check implements sdk.Checker:
//   - fail: another owner of the VIP is visible (a MAC other than ours
//     claims it over ARP, or over neighbour discovery for an IPv6 VIP)
//     and, when peer_app is set, the peer application answers too;
//   - ok: no other owner seen (or one seen while peer_app is down);
//   - unknown: we could not look (no interface, no CAP_NET_RAW).
//
// A failing result carries the other owner's latest VRRP advert seen on
// the wire (sdk.Result.SetHeard), if any: the engine yields only to a
// router that advertises, never to a hung one that merely holds the VIP.
//
// Both nodes see the VIP owner's reply, the holder and the node that only
// watches it; the engine acts on the guard only while MASTER.
func (p *Plugin) Check(ctx context.Context) sdk.Result {
	cfg := p.Config()
	if cfg == nil {
		return sdk.Result{Status: sdk.StatusUnknown, Reason: ErrNotConfigured.Error()}
	}
	s := cfg.s
	until := p.listenUntil(ctx, s)
	detail := map[string]string{"vip": s.vip.String(), "interface": s.iface}

	var (
		others []net.HardwareAddr
		err    error
	)
	if s.vip.Is4() {
		others, err = p.lookARP(ctx, s, until)
	} else {
		others, err = p.lookNDP(ctx, s, until, detail)
	}
	if err != nil {
		return sdk.Result{Status: sdk.StatusUnknown, Reason: fmt.Sprintf("%s: %v", s.vip, err), Detail: detail}
	}
	var up []string
	if len(others) > 0 && len(s.peerApp) > 0 {
		up = p.probePeers(ctx, s)
	}
	now := p.now()
	heard, err := p.watchWire(s, others)
	if err != nil {
		detail["heard_error"] = err.Error()
	}
	r := decide(s, others, up, detail)
	r.ObservedAt = now
	if heard != nil && r.Status == sdk.StatusFail {
		age := max(now.Sub(heard.at), 0)
		r.SetHeard(sdk.Heard{From: heard.from, Priority: heard.prio, Age: age})
		r.Reason += fmt.Sprintf("; it advertised priority %d %s ago", heard.prio, age.Round(time.Millisecond))
	} else if r.Status == sdk.StatusFail {
		r.Reason += "; no advert from it seen on the wire"
	}
	return r
}

// watchWire drains the adverts seen since the last check and returns the
// latest one sent by any of the other owners' MACs (of the configured
// VRID), nil if none. The listener opens on the first check and is kept.
func (p *Plugin) watchWire(s *settings, others []net.HardwareAddr) (*seenAdvert, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.adverts != nil && p.advIface != s.iface {
		p.closeWire()
	}
	if p.adverts == nil {
		a, err := p.listenAdverts(s.iface)
		if err != nil {
			return nil, err
		}
		p.adverts, p.advIface, p.seen = a, s.iface, map[string]seenAdvert{}
	}
	fresh, err := p.adverts.Drain()
	for _, a := range fresh {
		if s.vrid == 0 || a.vrid == s.vrid {
			p.seen[a.mac.String()] = a
		}
	}
	if err != nil {
		// A broken socket: open a new one at the next check.
		p.closeWire()
		return nil, err
	}
	var latest *seenAdvert
	for _, m := range others {
		if a, ok := p.seen[m.String()]; ok && (latest == nil || a.at.After(latest.at)) {
			latest = &a
		}
	}
	return latest, nil
}

func (p *Plugin) closeWire() {
	if p.adverts != nil {
		p.adverts.Close()
		p.adverts, p.seen = nil, nil
	}
}

// Close releases the wire watch.
func (p *Plugin) Close() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.closeWire()
}

// listenUntil is the end of the ARP window: probe_timeout, cut to fit the
// check's deadline, and to half of what is left when a peer_app probe may
// have to follow it.
func (p *Plugin) listenUntil(ctx context.Context, s *settings) time.Time {
	now := p.now()
	until := now.Add(s.probeTimeout)
	dl, ok := ctx.Deadline()
	if !ok {
		return until
	}
	limit := dl.Add(-deadlineMargin)
	if len(s.peerApp) > 0 {
		limit = now.Add(limit.Sub(now) / 2)
	}
	if limit.Before(until) {
		until = limit
	}
	return until
}

// lookARP sends one probe for the VIP and collects, until the deadline,
// the MACs other than ours that claim it.
func (p *Plugin) lookARP(ctx context.Context, s *settings, until time.Time) ([]net.HardwareAddr, error) {
	c, err := p.dialARP(s.iface)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// Unblock the read if the host cancels the check.
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.SetReadDeadline(until); err != nil {
		return nil, fmt.Errorf("arp on %s: %w", s.iface, err)
	}
	if err := c.Probe(s.vip); err != nil {
		return nil, fmt.Errorf("arp probe on %s: %w", s.iface, err)
	}
	return collect(c, s.vip, c.HardwareAddr())
}

// collect reads ARP packets until the read deadline and returns the
// distinct sender MACs, other than own, that claim ip: replies to our
// probe, and any gratuitous ARP or request the other owner sends from the
// VIP meanwhile.
func collect(c arpConn, ip netip.Addr, own net.HardwareAddr) ([]net.HardwareAddr, error) {
	var others []net.HardwareAddr
	for {
		pkt, err := c.Read()
		if err != nil {
			if deadlinePassed(err) {
				return others, nil
			}
			return others, fmt.Errorf("arp read: %w", err)
		}
		mac := pkt.SenderHardwareAddr
		if pkt.SenderIP != ip || len(mac) == 0 || bytes.Equal(mac, own) || isZeroOrBroadcast(mac) {
			continue
		}
		if !slices.ContainsFunc(others, func(m net.HardwareAddr) bool { return bytes.Equal(m, mac) }) {
			others = append(others, mac)
		}
	}
}

// lookNDP is lookARP for an IPv6 VIP: one neighbour solicitation, and the
// MACs other than ours that claim the VIP until the deadline. The
// solicitation's source goes into detail (ns_source).
func (p *Plugin) lookNDP(ctx context.Context, s *settings, until time.Time, detail map[string]string) ([]net.HardwareAddr, error) {
	c, err := p.dialNDP(s.iface, s.vip)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	detail["ns_source"] = c.Source().String()
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.SetReadDeadline(until); err != nil {
		return nil, fmt.Errorf("ndp on %s: %w", s.iface, err)
	}
	if err := c.Solicit(s.vip); err != nil {
		return nil, fmt.Errorf("ndp probe on %s: %w", s.iface, err)
	}
	return collectNDP(c, s.vip, c.HardwareAddr())
}

// collectNDP reads frames until the read deadline and returns the
// distinct link-layer addresses, other than own, that claim ip (see
// claimant). Frames that do not decode are skipped: the socket's filter
// is coarse, and a malformed frame is nobody's claim.
func collectNDP(c ndpConn, ip netip.Addr, own net.HardwareAddr) ([]net.HardwareAddr, error) {
	var others []net.HardwareAddr
	for {
		frame, err := c.ReadFrame()
		if err != nil {
			if deadlinePassed(err) {
				return others, nil
			}
			return others, fmt.Errorf("ndp read: %w", err)
		}
		pkt, err := parseNDP(frame)
		if err != nil {
			continue
		}
		mac, ok := claimant(pkt, ip)
		// Our own frames (the probe, our kernel's answers to the peer's
		// probes) come back on the socket: skip them by either address.
		if !ok || bytes.Equal(mac, own) || bytes.Equal(pkt.ethSrc, own) || isZeroOrBroadcast(mac) || mac[0]&1 != 0 {
			continue
		}
		if !slices.ContainsFunc(others, func(m net.HardwareAddr) bool { return bytes.Equal(m, mac) }) {
			others = append(others, mac)
		}
	}
}

// deadlinePassed reports whether a read failed because its deadline
// passed: the end of the window, not an error.
func deadlinePassed(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func isZeroOrBroadcast(mac net.HardwareAddr) bool {
	zero, bcast := true, true
	for _, b := range mac {
		zero = zero && b == 0
		bcast = bcast && b == 0xff
	}
	return zero || bcast
}

// probePeers connects to every peer_app address at once and returns those
// that accepted.
func (p *Plugin) probePeers(ctx context.Context, s *settings) []string {
	ctx, cancel := context.WithTimeout(ctx, s.probeTimeout)
	defer cancel()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		up []string
	)
	for _, addr := range s.peerApp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.dialTCP(ctx, addr) == nil {
				mu.Lock()
				up = append(up, addr)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(up)
	return up
}

// decide turns what was seen into the result. others are foreign MACs
// claiming the VIP; up are the peer_app addresses that answered (only
// probed when others is not empty).
func decide(s *settings, others []net.HardwareAddr, up []string, detail map[string]string) sdk.Result {
	if len(others) == 0 {
		r := sdk.OK("%s: no other owner on %s", s.vip, s.iface)
		r.Detail = detail
		return r
	}
	macs := make([]string, len(others))
	for i, m := range others {
		macs[i] = m.String()
	}
	slices.Sort(macs)
	detail["other_mac"] = strings.Join(macs, ",")

	if len(s.peerApp) == 0 {
		r := sdk.Fail("%s: another owner on %s: %s", s.vip, s.iface, detail["other_mac"])
		r.Detail = detail
		return r
	}
	if len(up) == 0 {
		detail["peer_app"] = "down"
		r := sdk.OK("%s: %s answers ARP on %s but the peer app is down: not counted as a second master",
			s.vip, detail["other_mac"], s.iface)
		r.Detail = detail
		return r
	}
	detail["peer_app"] = "up"
	detail["peer_app_up"] = strings.Join(up, ",")
	r := sdk.Fail("%s: another owner on %s: %s, peer app up (%s)", s.vip, s.iface, detail["other_mac"], detail["peer_app_up"])
	r.Detail = detail
	return r
}
