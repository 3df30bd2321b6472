package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/control"
	"github.com/hawatch/hawatch/core/engine"
	"github.com/hawatch/hawatch/core/vip"
	"github.com/hawatch/hawatch/core/vrrp/transport"
)

// Whatever Run starts is gone once the tests are.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// deadline bounds every wait on a condition; reaching it fails the test.
const deadline = 30 * time.Second

// quietConn is a VRRP socket on which nothing arrives: the node hears no
// peer. ReadPacket blocks until Close.
type quietConn struct {
	closeOnce sync.Once
	closed    chan struct{}
}

func newQuietConn(transport.Options) (engine.Conn, error) {
	return &quietConn{closed: make(chan struct{})}, nil
}

func (c *quietConn) ReadPacket([]byte) (transport.Packet, error) {
	<-c.closed
	return transport.Packet{}, net.ErrClosed
}
func (c *quietConn) WriteTo([]byte, netip.Addr) error { return nil }
func (c *quietConn) LocalAddr() netip.Addr            { return netip.MustParseAddr("198.51.100.11") }
func (c *quietConn) Drops() map[string]uint64         { return nil }
func (c *quietConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// noVIPs is a VIP manager that changes nothing.
type noVIPs struct{}

func newNoVIPs(zerolog.Logger, string) (engine.VIPManager, error) { return noVIPs{}, nil }

func (noVIPs) Acquire(context.Context, string, []netip.Prefix, string) error { return nil }
func (noVIPs) AcquireAddresses(context.Context, string, []vip.Address) error { return nil }
func (noVIPs) Release(context.Context, string) error                         { return nil }
func (noVIPs) Announce(string, []netip.Prefix, vip.Policy) error             { return nil }
func (noVIPs) Quiet(string)                                                  {}
func (noVIPs) Watch(string, []netip.Prefix) error                            { return nil }
func (noVIPs) Forget(context.Context, string) error                          { return nil }
func (noVIPs) RemoveStale(context.Context, []netip.Prefix) error             { return nil }
func (noVIPs) Rebind(context.Context) error                                  { return nil }
func (noVIPs) Run(ctx context.Context) error                                 { <-ctx.Done(); return nil }
func (noVIPs) Stats() vip.Stats                                              { return vip.Stats{} }
func (noVIPs) Close() error                                                  { return nil }

// testNode writes a one-instance policy with its control socket and state
// in a temporary directory and metrics on a free loopback port.
func testNode(t *testing.T) (path string, cfg *config.Config) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "lb1.hcl")
	policy := fmt.Sprintf(`
node {
  name           = "lb1"
  control_socket = %q
  state_dir      = %q
  metrics_listen = "127.0.0.1:0"
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  advert_interval   = "100ms"
  virtual_ips       = ["198.51.100.50/24"]
}
`, filepath.Join(dir, "run", "hawatch.sock"), filepath.Join(dir, "state"))
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return path, cfg
}

// leftBehind returns the stacks of goroutines, other than the caller's and
// those the test started, that run the daemon's code or serve HTTP. It
// looks once, without waiting: called as Run returns, it finds what Run
// did not join, not only what never ends.
func leftBehind() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "github.com/hawatch/hawatch/core/daemon.Test") {
			continue // the caller (listed first), the tests and what they started
		}
		for _, mark := range []string{
			"github.com/hawatch/hawatch/core/", "github.com/hawatch/hawatch/internal/",
			"net/http.(*conn).serve", "net/http.(*connReader).backgroundRead", "net/http.(*Server).Serve",
		} {
			if strings.Contains(g, mark) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// TestRunJoinsEverything: Run with an event subscriber attached to its
// control socket and a scrape connection open on its metrics endpoint
// returns once cancelled, having ended the event stream and joined every
// goroutine it started (control server, its connections, the metrics
// server, the SIGHUP reload loop).
func TestRunJoinsEverything(t *testing.T) {
	path, cfg := testNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	metrics := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, zerolog.Nop(), path, cfg, runOptions{
			engine:       engine.Options{Listen: newQuietConn, NewVIPManager: newNoVIPs},
			metricsBound: func(a net.Addr) { metrics <- a },
		})
	}()
	var maddr net.Addr
	select {
	case maddr = <-metrics:
	case err := <-done:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(deadline):
		t.Fatal("the metrics endpoint was not opened")
	}

	// The control socket is listening (it opens before metrics): subscribe.
	// The answer's header comes once the server has subscribed.
	ctl := control.NewClient(cfg.Node.ControlSocket)
	body, err := ctl.Stream(context.Background(), "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	streamEnded := make(chan struct{})
	go func() {
		defer close(streamEnded)
		sc := bufio.NewScanner(body)
		for sc.Scan() { // events, if the instance gets to send some
		}
	}()

	// A scrape, leaving its keep-alive connection open.
	scraper := &http.Transport{}
	defer scraper.CloseIdleConnections()
	resp, err := (&http.Client{Transport: scraper}).Get("http://" + maddr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if gs := leftBehind(); len(gs) > 0 {
		t.Errorf("%d goroutines outlived Run:\n%s", len(gs), strings.Join(gs, "\n\n"))
	}
	select {
	case <-streamEnded:
	case <-time.After(deadline):
		t.Fatal("the event stream is still open after Run returned")
	}
	if _, err := os.Stat(cfg.Node.ControlSocket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket left behind: %v", err)
	}
}

// TestRunJoinsOnEngineFailure: when the engine cannot start (its socket
// fails to open), Run returns the error without waiting for its context
// and leaves nothing running.
func TestRunJoinsOnEngineFailure(t *testing.T) {
	path, cfg := testNode(t)
	failed := errors.New("no VRRP socket today")
	err := run(context.Background(), zerolog.Nop(), path, cfg, runOptions{
		engine: engine.Options{
			Listen:        func(transport.Options) (engine.Conn, error) { return nil, failed },
			NewVIPManager: newNoVIPs,
		},
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Run: %v, want the socket's error", err)
	}
	if gs := leftBehind(); len(gs) > 0 {
		t.Errorf("%d goroutines outlived Run:\n%s", len(gs), strings.Join(gs, "\n\n"))
	}
}
