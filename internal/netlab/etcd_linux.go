package netlab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EtcdOptions tunes a lab etcd cluster.
type EtcdOptions struct {
	// HeartbeatMS and ElectionMS are etcd's --heartbeat-interval and
	// --election-timeout. The lab is one bridge with sub-millisecond round
	// trips, so the defaults (50 and 250 ms) elect a new leader in about a
	// quarter of a second, well within a 1 s lease; etcd's own defaults
	// (100 and 1000 ms) are for real networks.
	HeartbeatMS, ElectionMS int
	// CertFile and KeyFile, when set, serve the client URLs over TLS
	// (https://); the certificate must name each member's address.
	CertFile, KeyFile string
}

// Etcd is a real etcd cluster (Debian's etcd-server), one member per lab
// member namespace, each listening on its own address only.
type Etcd struct {
	t       testing.TB
	members []*Node
	opts    EtcdOptions
	dirs    []string
	procs   []*Proc
}

// StartEtcd runs one etcd member in each of members and waits until the
// cluster is healthy. It skips the test when etcd is not installed.
func StartEtcd(t testing.TB, members []*Node, opts EtcdOptions) *Etcd {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("netlab: etcd not installed (Debian etcd-server; scripts/deps.sh installs it)")
	}
	if len(members) == 0 {
		t.Fatal("netlab: StartEtcd needs member nodes (Options.Members)")
	}
	if opts.HeartbeatMS == 0 {
		opts.HeartbeatMS = 50
	}
	if opts.ElectionMS == 0 {
		opts.ElectionMS = 250
	}
	e := &Etcd{t: t, members: members, opts: opts, procs: make([]*Proc, len(members))}
	for range members {
		e.dirs = append(e.dirs, memoryDir(t))
	}
	for i := range members {
		e.start(i, "new")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range members {
		if err := e.waitHealthy(ctx, i); err != nil {
			t.Fatalf("netlab: etcd %s: %v\n%s", members[i].Name, err, e.procs[i].Output())
		}
	}
	return e
}

func (e *Etcd) start(i int, state string) {
	m := e.members[i]
	var cluster []string
	for _, o := range e.members {
		cluster = append(cluster, fmt.Sprintf("%s=http://%s:2380", o.Name, o.Addr4))
	}
	args := []string{"--name", m.Name, "--data-dir", filepath.Join(e.dirs[i], "data"),
		"--listen-client-urls", e.clientURL(m),
		"--advertise-client-urls", e.clientURL(m),
		"--listen-peer-urls", fmt.Sprintf("http://%s:2380", m.Addr4),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://%s:2380", m.Addr4),
		"--initial-cluster", strings.Join(cluster, ","), "--initial-cluster-state", state,
		"--initial-cluster-token", "hawatch-lab",
		"--heartbeat-interval", fmt.Sprint(e.opts.HeartbeatMS), "--election-timeout", fmt.Sprint(e.opts.ElectionMS),
		"--logger", "zap", "--log-level", "warn"}
	if e.opts.CertFile != "" {
		args = append(args, "--cert-file", e.opts.CertFile, "--key-file", e.opts.KeyFile)
	}
	p := m.Start(e.t, "etcd", args...)
	p.Name = m.Name + ":etcd"
	e.procs[i] = p
}

// clientURL is member m's client URL.
func (e *Etcd) clientURL(m *Node) string {
	scheme := "http"
	if e.opts.CertFile != "" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s:2379", scheme, m.Addr4)
}

// Endpoints are the client URLs of every member.
func (e *Etcd) Endpoints() []string {
	var out []string
	for _, m := range e.members {
		out = append(out, e.clientURL(m))
	}
	return out
}

// health asks member i's /health from inside its namespace.
func (e *Etcd) health(ctx context.Context, i int) (string, error) {
	m := e.members[i]
	// -k: the harness's own poll; the clients under test verify.
	out, err := m.Exec(ctx, "curl", "-sk", "--max-time", "1", e.clientURL(m)+"/health")
	return string(out), err
}

func (e *Etcd) waitHealthy(ctx context.Context, i int) error {
	for {
		out, err := e.health(ctx, i)
		if err == nil && strings.Contains(out, `"health":"true"`) {
			return nil
		}
		if e.procs[i].Exited() {
			return fmt.Errorf("exited")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy: %q (%v)", out, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Leader returns the index of the member that leads, asking member ask.
func (e *Etcd) Leader(ctx context.Context, ask int) (int, error) {
	m := e.members[ask]
	status := func(i int) (string, error) {
		o := e.members[i]
		out, err := m.Exec(ctx, "curl", "-sk", "--max-time", "1", "-X", "POST", "-d", "{}",
			e.clientURL(o)+"/v3/maintenance/status")
		return string(out), err
	}
	for i := range e.members {
		out, err := status(i)
		if err != nil {
			continue
		}
		id, leader := jsonField(out, "member_id"), jsonField(out, "leader")
		if id != "" && id == leader {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no member says it leads")
}

// jsonField pulls a "key":"value" or "key":value out of a flat JSON
// answer (enough for etcd's status, without a JSON schema here).
func jsonField(s, key string) string {
	_, rest, ok := strings.Cut(s, `"`+key+`":`)
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, `"`)
	end := strings.IndexAny(rest, `",}`)
	if end < 0 {
		return ""
	}
	return rest[:end]
}

// Kill crashes member i (SIGKILL).
func (e *Etcd) Kill(i int) { e.procs[i].Kill(); _ = e.procs[i].Wait(5 * time.Second) }

// Stop stops every member (SIGTERM), as a whole quorum going down.
func (e *Etcd) Stop() {
	for _, p := range e.procs {
		if !p.Exited() {
			_ = p.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range e.procs {
		_ = p.Wait(10 * time.Second)
	}
}

// Restart starts every stopped or killed member again with its data and
// waits until the cluster is healthy.
func (e *Etcd) Restart() {
	e.t.Helper()
	for i, p := range e.procs {
		if p.Exited() {
			e.start(i, "existing")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range e.members {
		if err := e.waitHealthy(ctx, i); err != nil {
			e.t.Fatalf("netlab: etcd %s after restart: %v\n%s", e.members[i].Name, err, e.procs[i].Output())
		}
	}
}

// memoryDir is a directory for a member's data on tmpfs (/dev/shm) when
// there is one, removed at the end of the test: other tests' disk I/O
// (package builds, debootstrap) once held an etcd fsync long enough to
// delay a grant by 40 ms, and what the suite measures is hawatch, not the
// disk. Without /dev/shm it is t.TempDir().
func memoryDir(t testing.TB) string {
	dir, err := os.MkdirTemp("/dev/shm", "hawatch-etcd-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
