package splitbrain

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/arp"

	"github.com/hawatch/hawatch/sdk"
)

var (
	ownMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	peerMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	thirdMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x03}
	vip      = netip.MustParseAddr("198.51.100.50")
	otherIP  = netip.MustParseAddr("198.51.100.51")
)

func reply(mac net.HardwareAddr, ip netip.Addr) *arp.Packet {
	p, _ := arp.NewPacket(arp.OperationReply, mac, ip, ownMAC, netip.IPv4Unspecified())
	return p
}

func gratuitous(mac net.HardwareAddr, ip netip.Addr) *arp.Packet {
	p, _ := arp.NewPacket(arp.OperationRequest, mac, ip, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ip)
	return p
}

// fakeARP replays packets, then times out like a socket at its deadline.
type fakeARP struct {
	mu       sync.Mutex
	pkts     []*arp.Packet
	readErr  error // returned once the packets are used up, instead of a timeout
	probeErr error
	probed   []netip.Addr
	deadline time.Time
	closed   bool
}

func (f *fakeARP) Probe(ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probed = append(f.probed, ip)
	return f.probeErr
}

func (f *fakeARP) Read() (*arp.Packet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pkts) > 0 {
		p := f.pkts[0]
		f.pkts = f.pkts[1:]
		return p, nil
	}
	if f.readErr != nil {
		return nil, f.readErr
	}
	return nil, os.ErrDeadlineExceeded
}

func (f *fakeARP) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deadline = t
	return nil
}

func (f *fakeARP) HardwareAddr() net.HardwareAddr { return ownMAC }
func (f *fakeARP) Close() error                   { f.closed = true; return nil }

func configured(t *testing.T, cfg map[string]any, conn *fakeARP, dialErr error, appUp map[string]bool) (*Plugin, *[]string) {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	p.dialARP = func(iface string) (arpConn, error) {
		if iface != cfg["interface"] {
			t.Errorf("dialed %q, want %q", iface, cfg["interface"])
		}
		if dialErr != nil {
			return nil, dialErr
		}
		return conn, nil
	}
	p.listenAdverts = func(string) (advertSource, error) { return &fakeAdverts{}, nil }
	var mu sync.Mutex
	dialed := &[]string{}
	p.dialTCP = func(_ context.Context, addr string) error {
		mu.Lock()
		*dialed = append(*dialed, addr)
		mu.Unlock()
		if appUp[addr] {
			return nil
		}
		return errors.New("connection refused")
	}
	return p, dialed
}

func TestCheckDecision(t *testing.T) {
	base := map[string]any{"interface": "eth0", "vip": "198.51.100.50"}
	withPeer := map[string]any{"interface": "eth0", "vip": "198.51.100.50", "peer_app": []string{"198.51.100.11:80", "198.51.100.12:80"}}
	tests := []struct {
		name       string
		cfg        map[string]any
		pkts       []*arp.Packet
		readErr    error
		probeErr   error
		dialErr    error
		appUp      map[string]bool
		wantStatus sdk.Status
		wantReason string
		wantDetail map[string]string // "" value: key must be absent
		wantDialed int
	}{
		{"nobody answers", base, nil, nil, nil, nil, nil,
			sdk.StatusOK, "198.51.100.50: no other owner on eth0", map[string]string{"other_mac": "", "vip": "198.51.100.50", "interface": "eth0"}, 0},
		{"another owner replies", base, []*arp.Packet{reply(peerMAC, vip)}, nil, nil, nil, nil,
			sdk.StatusFail, "198.51.100.50: another owner on eth0: 02:00:00:00:00:02", map[string]string{"other_mac": "02:00:00:00:00:02", "peer_app": ""}, 0},
		{"our own reply is ignored", base, []*arp.Packet{reply(ownMAC, vip)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", map[string]string{"other_mac": ""}, 0},
		{"replies for other addresses are ignored", base, []*arp.Packet{reply(peerMAC, otherIP)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", nil, 0},
		{"a gratuitous ARP from the other owner counts", base, []*arp.Packet{gratuitous(peerMAC, vip)}, nil, nil, nil, nil,
			sdk.StatusFail, "another owner", map[string]string{"other_mac": "02:00:00:00:00:02"}, 0},
		{"our own probe echoed back is ignored", base, []*arp.Packet{gratuitous(ownMAC, netip.IPv4Unspecified())}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", nil, 0},
		{"zero sender MAC is ignored", base, []*arp.Packet{reply(net.HardwareAddr{0, 0, 0, 0, 0, 0}, vip)}, nil, nil, nil, nil,
			sdk.StatusOK, "no other owner", nil, 0},
		{"several owners, each once, sorted", base, []*arp.Packet{reply(thirdMAC, vip), reply(peerMAC, vip), reply(thirdMAC, vip), reply(ownMAC, vip)}, nil, nil, nil, nil,
			sdk.StatusFail, "02:00:00:00:00:02,02:00:00:00:00:03", map[string]string{"other_mac": "02:00:00:00:00:02,02:00:00:00:00:03"}, 0},
		{"peer app up: a second master", withPeer, []*arp.Packet{reply(peerMAC, vip)}, nil, nil, nil, map[string]bool{"198.51.100.12:80": true},
			sdk.StatusFail, "peer app up (198.51.100.12:80)", map[string]string{"other_mac": "02:00:00:00:00:02", "peer_app": "up", "peer_app_up": "198.51.100.12:80"}, 2},
		{"peer app down: not counted", withPeer, []*arp.Packet{reply(peerMAC, vip)}, nil, nil, nil, nil,
			sdk.StatusOK, "peer app is down", map[string]string{"other_mac": "02:00:00:00:00:02", "peer_app": "down"}, 2},
		{"peer app not probed without another owner", withPeer, nil, nil, nil, nil, map[string]bool{"198.51.100.11:80": true},
			sdk.StatusOK, "no other owner", map[string]string{"peer_app": ""}, 0},
		{"no interface: unknown", base, nil, nil, nil, errors.New("interface eth0: no such network interface"), nil,
			sdk.StatusUnknown, "no such network interface", nil, 0},
		{"probe fails: unknown", base, nil, nil, errors.New("operation not permitted"), nil, nil,
			sdk.StatusUnknown, "arp probe on eth0: operation not permitted", nil, 0},
		{"read fails: unknown", base, []*arp.Packet{reply(peerMAC, vip)}, errors.New("network is down"), nil, nil, nil,
			sdk.StatusUnknown, "arp read: network is down", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &fakeARP{pkts: tt.pkts, readErr: tt.readErr, probeErr: tt.probeErr}
			p, dialed := configured(t, tt.cfg, conn, tt.dialErr, tt.appUp)
			r := p.Check(context.Background())
			if r.Status != tt.wantStatus || !strings.Contains(r.Reason, tt.wantReason) {
				t.Fatalf("Check = %v %q, want %v containing %q", r.Status, r.Reason, tt.wantStatus, tt.wantReason)
			}
			for k, v := range tt.wantDetail {
				got, ok := r.Detail[k]
				if v == "" && ok || v != "" && got != v {
					t.Errorf("detail %s = %q (present %v), want %q; all %v", k, got, ok, v, r.Detail)
				}
			}
			if len(*dialed) != tt.wantDialed {
				t.Errorf("peer_app dialed %v, want %d dials", *dialed, tt.wantDialed)
			}
			if tt.dialErr == nil {
				if len(conn.probed) != 1 || conn.probed[0] != vip {
					t.Errorf("probed %v, want one probe for %s", conn.probed, vip)
				}
				if !conn.closed {
					t.Error("ARP socket not closed")
				}
			}
		})
	}
}

func TestCheckWindowRespectsDeadline(t *testing.T) {
	now := time.Now() // the context deadline below runs on the real clock
	tests := []struct {
		name     string
		timeout  string
		deadline time.Duration // 0: none
		want     time.Duration
	}{
		{"probe_timeout", "100ms", 0, 100 * time.Millisecond},
		{"probe_timeout inside the deadline", "100ms", time.Second, 100 * time.Millisecond},
		{"deadline shorter than probe_timeout", "500ms", 200 * time.Millisecond, 200*time.Millisecond - deadlineMargin},
		{"half the deadline when peer_app may follow", "500ms", 200*time.Millisecond + deadlineMargin, 100 * time.Millisecond},
		{"peer_app and a roomy deadline", "100ms", time.Second, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &fakeARP{}
			cfg := map[string]any{"interface": "eth0", "vip": "198.51.100.50", "probe_timeout": tt.timeout}
			if strings.Contains(tt.name, "peer_app") {
				cfg["peer_app"] = []string{"198.51.100.11:80"}
			}
			p, _ := configured(t, cfg, conn, nil, nil)
			p.now = func() time.Time { return now }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tt.deadline))
				defer cancel()
			}
			p.Check(ctx)
			if got := conn.deadline.Sub(now); got != tt.want {
				t.Errorf("read deadline after %s, want %s", got, tt.want)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{"as the host sends the issue example", `{"interface":"eth0","vip":"198.51.100.50","peer_app":["198.51.100.11:80"],"probe_timeout":"100ms"}`, true},
		{"no peer_app", `{"interface":"eth0","vip":"198.51.100.50","peer_app":[],"probe_timeout":"100ms"}`, true},
		{"missing interface", `{"vip":"198.51.100.50"}`, false},
		{"bad vip", `{"interface":"eth0","vip":"198.51.100"}`, false},
		{"ipv6 vip", `{"interface":"eth0","vip":"2001:db8::50"}`, true},
		{"link-local ipv6 vip", `{"interface":"eth0","vip":"fe80::50"}`, true},
		{"ipv6 vip with a zone", `{"interface":"eth0","vip":"fe80::50%eth0"}`, false},
		{"ipv6 multicast vip", `{"interface":"eth0","vip":"ff02::12"}`, false},
		{"ipv6 loopback vip", `{"interface":"eth0","vip":"::1"}`, false},
		{"ipv6 unspecified vip", `{"interface":"eth0","vip":"::"}`, false},
		{"multicast vip", `{"interface":"eth0","vip":"224.0.0.18"}`, false},
		{"peer_app without port", `{"interface":"eth0","vip":"198.51.100.50","peer_app":["198.51.100.11"]}`, false},
		{"tiny probe_timeout", `{"interface":"eth0","vip":"198.51.100.50","probe_timeout":"1us"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{Raw: []byte(tt.json)})
			if tt.ok && err != nil {
				t.Fatalf("Configure = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrConfig) {
				t.Fatalf("Configure = %v, want ErrConfig", err)
			}
		})
	}
}

func TestSchemaAndInfo(t *testing.T) {
	names := map[string]bool{}
	for _, a := range New().Schema().Attributes {
		names[a.Name] = true
	}
	for _, n := range []string{"interface", "vip", "peer_app", "probe_timeout"} {
		if !names[n] {
			t.Errorf("schema lacks %s", n)
		}
	}
	if info := New().Info(); info.Name != "splitbrain" || info.Kind != sdk.KindCheck {
		t.Errorf("Info = %+v", info)
	}
	if r := New().Check(context.Background()); r.Status != sdk.StatusUnknown {
		t.Errorf("Check before Configure = %v", r.Status)
	}
}
