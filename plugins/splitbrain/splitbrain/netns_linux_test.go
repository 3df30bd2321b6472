package splitbrain

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// In the namespace test the check must run with the whole process inside
// a namespace, so the test binary re-executes itself under `ip netns exec`
// in one of these modes.
const (
	checkEnv  = "HAWATCH_SPLITBRAIN_CHECK"  // JSON config: run one Check, print the result as JSON
	listenEnv = "HAWATCH_SPLITBRAIN_LISTEN" // host:port: accept TCP until stdin closes
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(checkEnv) != "":
		os.Exit(runCheckHelper(os.Getenv(checkEnv)))
	case os.Getenv(listenEnv) != "":
		os.Exit(runListenHelper(os.Getenv(listenEnv)))
	}
	os.Exit(m.Run())
}

func runCheckHelper(cfg string) int {
	p := New()
	if err := p.Configure(context.Background(), sdk.Config{Raw: []byte(cfg)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := json.NewEncoder(os.Stdout).Encode(p.Check(ctx)); err != nil {
		return 1
	}
	return 0
}

func runListenHelper(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	ln.Close()
	return 0
}

// lab is two throwaway namespaces joined by a veth pair:
// A veth0 198.51.100.1/24 <-> B veth0 198.51.100.2/24.
type lab struct {
	t          *testing.T
	a, b       string
	macA, macB string
}

const labVIP = "198.51.100.50"

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and raw ARP sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	r := make([]byte, 3)
	_, _ = rand.Read(r)
	base := fmt.Sprintf("hws%d-%s", os.Getpid(), hex.EncodeToString(r))
	l := &lab{t: t, a: base + "-a", b: base + "-b"}
	for _, ns := range []string{l.a, l.b} {
		l.ip("netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	l.ip("-n", l.a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", l.b)
	for i, ns := range []string{l.a, l.b} {
		l.ip("-n", ns, "link", "set", "lo", "up")
		l.ip("-n", ns, "addr", "add", fmt.Sprintf("198.51.100.%d/24", i+1), "dev", "veth0")
		l.ip("-n", ns, "link", "set", "veth0", "up")
	}
	l.macA, l.macB = l.mac(l.a), l.mac(l.b)
	return l
}

func (l *lab) ip(args ...string) string {
	l.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (l *lab) mac(ns string) string {
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(l.ip("-n", ns, "-j", "link", "show", "veth0")), &links); err != nil || len(links) != 1 {
		l.t.Fatalf("mac of veth0 in %s: %v", ns, err)
	}
	return links[0].Address
}

func (l *lab) holdVIP(ns string)    { l.ip("-n", ns, "addr", "add", labVIP+"/32", "dev", "veth0") }
func (l *lab) releaseVIP(ns string) { l.ip("-n", ns, "addr", "del", labVIP+"/32", "dev", "veth0") }

// check runs one Check inside ns.
func (l *lab) check(ns string, cfg map[string]any) sdk.Result {
	l.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command("ip", "netns", "exec", ns, exe)
	cmd.Env = append(os.Environ(), checkEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		l.t.Fatalf("check in %s: %v", ns, err)
	}
	var r sdk.Result
	if err := json.Unmarshal(out, &r); err != nil {
		l.t.Fatalf("check output %q: %v", out, err)
	}
	return r
}

// listen starts a TCP listener inside ns until the test ends.
func (l *lab) listen(ns, addr string) {
	l.t.Helper()
	exe, _ := os.Executable()
	cmd := exec.Command("ip", "netns", "exec", ns, exe)
	cmd.Env = append(os.Environ(), listenEnv+"="+addr)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		l.t.Fatalf("listener in %s: %q %v", ns, line, err)
	}
}

func TestGuardInNamespaces(t *testing.T) {
	l := newLab(t)
	cfg := map[string]any{"interface": "veth0", "vip": labVIP, "probe_timeout": "200ms"}
	withPeer := map[string]any{"interface": "veth0", "vip": labVIP, "probe_timeout": "200ms", "peer_app": []string{"198.51.100.2:8080"}}

	type expect struct {
		ns       string
		cfg      map[string]any
		status   sdk.Status
		otherMAC string
		peerApp  string
	}
	steps := []struct {
		name   string
		setup  func()
		expect []expect
	}{
		{"nobody holds the VIP", func() {}, []expect{
			{l.a, cfg, sdk.StatusOK, "", ""},
			{l.b, cfg, sdk.StatusOK, "", ""},
		}},
		{"only we hold it", func() { l.holdVIP(l.a) }, []expect{
			{l.a, cfg, sdk.StatusOK, "", ""},
			{l.b, cfg, sdk.StatusFail, l.macA, ""}, // the watcher sees the owner: fine, the engine ignores it unless MASTER
		}},
		{"both hold it: split brain", func() { l.holdVIP(l.b) }, []expect{
			{l.a, cfg, sdk.StatusFail, l.macB, ""},
			{l.b, cfg, sdk.StatusFail, l.macA, ""},
		}},
		{"only the peer holds it", func() { l.releaseVIP(l.a) }, []expect{
			{l.a, cfg, sdk.StatusFail, l.macB, ""},
			{l.b, cfg, sdk.StatusOK, "", ""},
		}},
		{"peer holds it, its app is down", func() {}, []expect{
			{l.a, withPeer, sdk.StatusOK, l.macB, "down"},
		}},
		{"peer holds it, its app is up", func() { l.listen(l.b, "198.51.100.2:8080") }, []expect{
			{l.a, withPeer, sdk.StatusFail, l.macB, "up"},
		}},
	}
	for _, st := range steps {
		st.setup()
		for _, e := range st.expect {
			r := l.check(e.ns, e.cfg)
			who := "A"
			if e.ns == l.b {
				who = "B"
			}
			if r.Status != e.status || r.Detail["other_mac"] != e.otherMAC || r.Detail["peer_app"] != e.peerApp {
				t.Errorf("%s, seen from %s: %v %q %v; want %v other_mac=%q peer_app=%q",
					st.name, who, r.Status, r.Reason, r.Detail, e.status, e.otherMAC, e.peerApp)
			}
		}
	}
}

func TestGuardUnknownWithoutInterface(t *testing.T) {
	l := newLab(t)
	r := l.check(l.a, map[string]any{"interface": "nosuch0", "vip": labVIP})
	if r.Status != sdk.StatusUnknown || !strings.Contains(r.Reason, "nosuch0") {
		t.Fatalf("Check = %v %q, want unknown naming the interface", r.Status, r.Reason)
	}
}
