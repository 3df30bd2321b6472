package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hawatch/hawatch/sdk"
)

// process is one running plugin binary and its dispensed client.
type process struct {
	client  *plugin.Client
	logger  *hclogAdapter
	sockDir string
	pid     int
	started time.Time
	info    sdk.Info
	check   *sdk.CheckClient   // set for KindCheck
	action  *sdk.ActionClient  // set for KindAction
	witness *sdk.WitnessClient // set for KindWitness

	// stopped is closed when kill has finished; it retires the OS thread
	// that started the plugin (see start).
	stopped  chan struct{}
	stopOnce sync.Once
}

// killGrace bounds go-plugin's graceful Kill: a plugin that is stopped
// (SIGSTOP) or wedged never answers the shutdown call, so it gets SIGKILL.
const killGrace = 3 * time.Second

// start runs client.Client — fork/exec of the plugin, handshake, and the
// AutoMTLS key generation on both ends — on an OS thread of its own with a
// lower CPU priority, which the plugin process inherits: starting plugins
// (on reload, on restarts) must not take the CPU the VRRP loop needs. The
// thread stays parked until the plugin is killed, because the kernel's
// parent-death signal (Pdeathsig) follows the thread that forked.
func (p *process) start() (plugin.ClientProtocol, error) {
	type result struct {
		rpc plugin.ClientProtocol
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		lowerThreadPriority()
		rpc, err := p.client.Client()
		ch <- result{rpc, err}
		<-p.stopped
	}()
	r := <-ch
	return r.rpc, r.err
}

// base returns the calls common to both kinds.
func (p *process) base() sdk.BaseClient {
	switch {
	case p.check != nil:
		return p.check
	case p.witness != nil:
		return p.witness
	}
	return p.action
}

// kill stops the plugin gracefully (go-plugin closes the connection and
// waits up to 2 s before SIGKILL) and removes its socket directory.
func (p *process) kill() {
	if p.logger != nil {
		p.logger.stopping.Store(true)
	}
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killGrace):
		p.sigkill()
		<-done
	}
	_ = os.RemoveAll(p.sockDir)
	p.stopOnce.Do(func() { close(p.stopped) })
}

func (p *process) sigkill() {
	if p.pid > 0 {
		if proc, err := os.FindProcess(p.pid); err == nil {
			_ = proc.Kill()
		}
	}
}

// killNow is for a plugin that stopped answering: a graceful close would
// only wait on it, so SIGKILL first.
func (p *process) killNow() {
	p.sigkill()
	p.kill()
}

// exited reports whether the plugin process has ended.
func (p *process) exited() bool { return p.client.Exited() }

// credential is the identity a plugin runs as; nil means the daemon's own.
type credential struct {
	uid, gid uint32
	name     string
}

func lookupUser(name string) (*credential, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.ParseUint(name, 10, 32); numErr != nil {
			return nil, fmt.Errorf("plugin user %q: %w", name, err)
		}
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("plugin user %q: %w", name, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("plugin user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("plugin user %q: gid %q: %w", name, u.Gid, err)
	}
	return &credential{uid: uint32(uid), gid: uint32(gid), name: name}, nil
}

// verifyChecksum compares the binary with the pinned sha256 before go-plugin
// does the same, so the error names both digests.
func verifyChecksum(path, want string) ([]byte, error) {
	wantSum, err := hex.DecodeString(strings.TrimSpace(want))
	if err != nil || len(wantSum) != sha256.Size {
		return nil, fmt.Errorf("plugin %s: sha256 %q is not 64 hex digits", path, want)
	}
	got, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(hex.EncodeToString(got), hex.EncodeToString(wantSum)) {
		return nil, fmt.Errorf("%w: %s has sha256 %x, config pins %x", ErrChecksum, path, got, wantSum)
	}
	return wantSum, nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("plugin binary %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// launch starts spec's binary, dispenses kind, and checks the plugin's
// identity. On any error the process is killed before returning.
func (m *Manager) launch(ctx context.Context, spec PluginSpec, kind sdk.Kind) (*process, error) {
	path := spec.Path()
	cred, err := lookupUser(spec.User)
	if err != nil {
		return nil, err
	}
	pluginUID := -1
	if cred != nil {
		pluginUID = int(cred.uid)
	}
	if err := checkBinary(path, pluginUID); err != nil {
		return nil, err
	}
	var secure *plugin.SecureConfig
	if spec.SHA256 != "" {
		sum, err := verifyChecksum(path, spec.SHA256)
		if err != nil {
			return nil, err
		}
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}

	sockDir, err := m.pluginSocketDir(spec.Name, cred)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(path, spec.Args...)
	cmd.Dir = "/"
	// SkipHostEnv: the daemon's environment stays private; plugins get a
	// fixed PATH and their socket directory (go-plugin adds its handshake
	// variables).
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PLUGIN_UNIX_SOCKET_DIR=" + sockDir,
		"TMPDIR=" + sockDir,
	}
	if cmd.SysProcAttr, err = sysProcAttr(cred); err != nil {
		_ = os.RemoveAll(sockDir)
		return nil, fmt.Errorf("plugin %s: %w", spec.Name, err)
	}

	log := m.log.With().Str("plugin", spec.Name).Logger()
	logger := newHclogAdapter(log)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		SecureConfig:     secure,
		StartTimeout:     m.opts.StartTimeout,
		Logger:           logger,
	})
	p := &process{client: client, logger: logger, sockDir: sockDir, started: time.Now(), stopped: make(chan struct{})}
	fail := func(err error) (*process, error) {
		p.kill()
		return nil, fmt.Errorf("plugin %s (%s): %w", spec.Name, path, err)
	}

	rpc, err := p.start()
	if err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	if cred != nil {
		if err := verifyDropped(p.pid, cred); err != nil {
			return fail(err)
		}
	}
	// kind "" (Describe) accepts whichever kind the binary serves: a client
	// of the wrong kind gets ErrUnimplemented from Info.
	kinds := []sdk.Kind{kind}
	if kind == "" {
		kinds = []sdk.Kind{sdk.KindCheck, sdk.KindAction, sdk.KindWitness}
	}
	var info sdk.Info
	for i, k := range kinds {
		raw, err := rpc.Dispense(string(k))
		if err != nil {
			return fail(fmt.Errorf("dispense %s: %w", k, err))
		}
		p.check, p.action, p.witness = nil, nil, nil
		switch c := raw.(type) {
		case *sdk.CheckClient:
			p.check = c
		case *sdk.ActionClient:
			p.action = c
		case *sdk.WitnessClient:
			p.witness = c
		default:
			return fail(fmt.Errorf("dispense %s: unexpected %T", k, raw))
		}
		cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
		info, err = p.base().Info(cctx)
		cancel()
		if errors.Is(err, sdk.ErrUnimplemented) {
			if i+1 < len(kinds) {
				continue
			}
			return fail(fmt.Errorf("%w: binary does not serve a %s plugin", ErrIdentity, k))
		}
		if err != nil {
			return fail(fmt.Errorf("info: %w", err))
		}
		// An empty spec.Name (DescribeBinary) accepts whatever name the
		// binary reports.
		if (spec.Name != "" && info.Name != spec.Name) || info.Kind != k {
			return fail(fmt.Errorf("%w: binary reports %s plugin %q, config expects %s plugin %q",
				ErrIdentity, info.Kind, info.Name, k, spec.Name))
		}
		break
	}
	p.info = info
	log.Debug().Int("pid", p.pid).Str("version", info.Version).Msg("plugin started")
	return p, nil
}

// start launches a plugin of kind and sends it its config block; a plugin
// that refuses its configuration is stopped.
func (m *Manager) start(ctx context.Context, spec PluginSpec, kind sdk.Kind, cfg []byte) (*process, error) {
	p, err := m.launch(ctx, spec, kind)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	if err := p.base().Configure(cctx, sdk.Config{Raw: cfg}); err != nil {
		p.kill()
		return nil, fmt.Errorf("plugin %s: %w", spec.Name, err)
	}
	return p, nil
}

// pluginSocketDir makes a fresh 0700 directory for one plugin start inside
// the manager's private directory, owned by the plugin's user when it has
// one so the plugin can create its socket there.
func (m *Manager) pluginSocketDir(name string, cred *credential) (string, error) {
	if cred != nil {
		if err := m.allowTraverse(); err != nil {
			return "", err
		}
	}
	dir, err := os.MkdirTemp(m.sockDir, sanitize(name)+"-")
	if err != nil {
		return "", fmt.Errorf("plugin %s: socket dir: %w", name, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.uid), int(cred.gid)); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("plugin %s: socket dir for user %s: %w", name, cred.name, err)
		}
	}
	return dir, nil
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r == 0 {
			return '_'
		}
		return r
	}, name)
}
