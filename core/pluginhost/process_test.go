//go:build linux

package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/rs/zerolog"
)

// syncBuffer collects the manager's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func newTestManager(t *testing.T, opts Options) (*Manager, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	m, err := NewManager(log, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m, logs
}

func pluginSpec(bin, name string, args ...string) PluginSpec {
	return PluginSpec{Name: name, Command: filepath.Base(bin), Dir: filepath.Dir(bin), Args: append([]string{"-name", name}, args...)}
}

// next waits for a result matching pred, failing the test after d.
func next(t *testing.T, c *Check, d time.Duration, what string, pred func(sdk.Result) bool) sdk.Result {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case r, ok := <-c.Results():
			if !ok {
				t.Fatalf("%s: results closed", what)
			}
			if pred(r) {
				return r
			}
		case <-timeout.C:
			t.Fatalf("%s: nothing within %v", what, d)
		}
	}
}

func isOK(r sdk.Result) bool { return r.Status == sdk.StatusOK }

func TestCheckPollsAndMergesPluginLogs(t *testing.T) {
	bin := testPlugin(t)
	m, logs := newTestManager(t, Options{})
	c, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "web", Plugin: pluginSpec(bin, "okcheck"), Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	first, err := c.First(ctx)
	if err != nil || first.Status != sdk.StatusOK || first.Reason != "call 1" {
		t.Fatalf("First = %+v, %v", first, err)
	}
	for i := 0; i < 3; i++ {
		next(t, c, 5*time.Second, "ok result", isOK)
	}
	if c.PID() == 0 {
		t.Error("PID = 0 for a running plugin")
	}

	// The plugin logged "testplugin starting" at warn through sdk.Logger;
	// it must arrive with its level and fields.
	found := false
	for _, l := range logs.lines() {
		if l["message"] == "testplugin starting" {
			found = true
			if l["level"] != "warn" || l["mode"] != "ok" || l["plugin"] != "okcheck" {
				t.Errorf("plugin log line = %v, want level warn, mode ok, plugin okcheck", l)
			}
		}
	}
	if !found {
		t.Errorf("plugin log line not merged; got %v", logs.lines())
	}

	stopStart := time.Now()
	c.Stop()
	t.Logf("Stop took %v", time.Since(stopStart))
	// Buffered results may remain; the channel must then be closed (a
	// missing close hangs here until the test times out).
	for range c.Results() {
	}
}

func TestCrashingPluginIsRestarted(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	c, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "crashy", Plugin: pluginSpec(bin, "crashy", "-mode", "crash", "-crash-every", "3"),
		Interval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	pid1 := c.PID()
	for round := 1; round <= 2; round++ {
		next(t, c, 5*time.Second, "ok before crash", isOK)
		gap := next(t, c, 5*time.Second, "unknown after crash", func(r sdk.Result) bool { return r.Status == sdk.StatusUnknown })
		if !strings.HasPrefix(gap.Reason, ReasonPluginExited) {
			t.Errorf("round %d: gap reason %q, want %q prefix", round, gap.Reason, ReasonPluginExited)
		}
		back := next(t, c, 5*time.Second, "ok after restart", isOK)
		if back.Reason != "call 1" {
			t.Errorf("round %d: first result after restart %q, want a fresh process's \"call 1\"", round, back.Reason)
		}
		if got := c.Restarts(); got < uint64(round) {
			t.Errorf("round %d: Restarts = %d", round, got)
		}
	}
	if c.PID() == pid1 || c.PID() == 0 {
		t.Errorf("PID %d after restarts, first was %d", c.PID(), pid1)
	}
}

func TestHungCheckTimesOutWhileOthersFlow(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	hung, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "hung", Plugin: pluginSpec(bin, "hung", "-mode", "hang"), Interval: 50 * time.Millisecond, Timeout: 30 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	healthy, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "healthy", Plugin: pluginSpec(bin, "healthy"), Interval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r := next(t, hung, 5*time.Second, "timeout", func(sdk.Result) bool { return true })
		if r.Status != sdk.StatusUnknown || r.Reason != sdk.ReasonTimeout {
			t.Fatalf("hung check result %+v, want unknown/%q", r, sdk.ReasonTimeout)
		}
		// Meanwhile the other check keeps delivering.
		next(t, healthy, 5*time.Second, "healthy result", isOK)
	}
	if hung.Restarts() != 0 {
		t.Errorf("a plugin that answers with timeouts was restarted %d times", hung.Restarts())
	}
}

func TestStoppedProcessIsRestarted(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	c, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "frozen", Plugin: pluginSpec(bin, "frozen"), Interval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	next(t, c, 5*time.Second, "ok", isOK)
	proc, err := os.FindProcess(c.PID())
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Signal(sigStop); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Kill() })
	r := next(t, c, 5*time.Second, "not answering", func(r sdk.Result) bool { return r.Status == sdk.StatusUnknown })
	if r.Reason != ReasonNotAnswering {
		t.Errorf("reason %q, want %q", r.Reason, ReasonNotAnswering)
	}
	next(t, c, 10*time.Second, "ok after restart", isOK)
	if c.Restarts() < 1 || c.Timeouts() < 2 {
		t.Errorf("Restarts = %d, Timeouts = %d", c.Restarts(), c.Timeouts())
	}
}

func TestPushPluginHeartbeatsKeepItAlive(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	c, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "pushy", Plugin: pluginSpec(bin, "pushy", "-mode", "push"), Interval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := next(t, c, 5*time.Second, "first report", func(sdk.Result) bool { return true })
	if r.Status != sdk.StatusOK || r.Reason != "watching" {
		t.Fatalf("first = %+v", r)
	}
	// The watcher reports once and then stays quiet: heartbeats alone must
	// keep the silence watchdog (1 s here) from firing.
	select {
	case r := <-c.Results():
		t.Fatalf("quiet watcher produced %+v", r)
	case <-time.After(2500 * time.Millisecond):
	}
	if c.Timeouts() != 0 || c.Restarts() != 0 {
		t.Errorf("Timeouts = %d, Restarts = %d", c.Timeouts(), c.Restarts())
	}
}

func TestRefusedPlugins(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})

	// A world-writable plugin dir with a copy of the binary inside.
	openDir := t.TempDir()
	if err := os.Chmod(openDir, 0o777); err != nil {
		t.Fatal(err)
	}
	copyBin(t, bin, filepath.Join(openDir, "testplugin"))

	tests := []struct {
		name    string
		spec    PluginSpec
		wantErr error
		want    []string
	}{
		{
			name:    "wrong sha256",
			spec:    func() PluginSpec { s := pluginSpec(bin, "pinned"); s.SHA256 = strings.Repeat("ab", 32); return s }(),
			wantErr: ErrChecksum,
			want:    []string{"config pins abab", "has sha256 "},
		},
		{
			name:    "world-writable plugin dir",
			spec:    PluginSpec{Name: "open", Command: "testplugin", Dir: openDir},
			wantErr: ErrUnsafePath,
			want:    []string{openDir + " is writable by group or others (mode 0777)"},
		},
		{
			name:    "name mismatch",
			spec:    PluginSpec{Name: "expected", Command: filepath.Base(bin), Dir: filepath.Dir(bin), Args: []string{"-name", "other"}},
			wantErr: ErrIdentity,
			want:    []string{`binary reports check plugin "other", config expects check plugin "expected"`},
		},
		{
			name:    "kind mismatch",
			spec:    pluginSpec(bin, "notify", "-kind", "action"),
			wantErr: ErrIdentity,
			want:    []string{"does not serve a check plugin"},
		},
		{
			name: "missing binary",
			spec: PluginSpec{Name: "gone", Command: "nope", Dir: filepath.Dir(bin)},
			want: []string{"no such file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := m.StartCheck(t.Context(), CheckSpec{Name: "c", Plugin: tt.spec, Interval: time.Second})
			if err == nil {
				c.Stop()
				t.Fatal("plugin started")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPluginRunsAsUserWithoutCapabilities(t *testing.T) {
	bin := testPlugin(t)
	nobody, err := lookupUser("nobody")
	if err != nil {
		t.Skipf("no nobody user: %v", err)
	}
	m, _ := newTestManager(t, Options{})
	spec := pluginSpec(bin, "unpriv")
	spec.User = "nobody"
	c, err := m.StartCheck(t.Context(), CheckSpec{Name: "unpriv", Plugin: spec, Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	next(t, c, 5*time.Second, "ok", isOK)
	st, err := readProcStatus(c.PID())
	if err != nil {
		t.Fatal(err)
	}
	uid := strings.Fields(st["Uid"])
	gid := strings.Fields(st["Gid"])
	if len(uid) != 4 || uid[0] != "65534" || uid[1] != "65534" || uid[2] != "65534" {
		t.Errorf("Uid line %q, want 65534 for real/effective/saved", st["Uid"])
	}
	if len(gid) < 2 || gid[1] != itoaU(nobody.gid) {
		t.Errorf("Gid line %q, want %d", st["Gid"], nobody.gid)
	}
	if st["Groups"] != "" {
		t.Errorf("supplementary groups %q, want none", st["Groups"])
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("%s = %q, want 0", k, st[k])
		}
	}
	fi, err := os.Stat(m.SocketDir())
	if err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("socket dir mode %v (%v), want 0711 once a plugin runs as another user", fi.Mode().Perm(), err)
	}
}

func TestCheckBinaryOwnership(t *testing.T) {
	bin := testPlugin(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, mode os.FileMode, uid int) string {
		p := filepath.Join(dir, name)
		copyBin(t, bin, p)
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		path      string
		pluginUID int
		want      string // "" = accepted
	}{
		{"root-owned 0755", mk("ok", 0o755, 0), -1, ""},
		{"group-writable binary", mk("gw", 0o775, 0), -1, "gw is writable by group or others (mode 0775)"},
		{"owned by another user", mk("other", 0o755, 65534), -1, "other is owned by uid 65534, want root"},
		{"owned by the plugin user", mk("mine", 0o755, 65534), 65534, ""},
		{"in a root-owned sticky directory", func() string {
			sticky := filepath.Join(dir, "sticky")
			if err := os.Mkdir(sticky, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(sticky, "bin")
			copyBin(t, bin, p)
			return p
		}(), -1, ""},
		{"in a sticky directory not owned by root", func() string {
			sticky := filepath.Join(dir, "sticky-user")
			if err := os.Mkdir(sticky, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(sticky, 65534, 0); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(sticky, "bin")
			copyBin(t, bin, p)
			return p
		}(), -1, "sticky-user is owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkBinary(tt.path, tt.pluginUID)
			if tt.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafePath) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrUnsafePath naming %q", err, tt.want)
			}
		})
	}
}

func TestActionDeliversInOrderAndSurvivesCrash(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	out := filepath.Join(t.TempDir(), "transitions")
	cfg, _ := json.Marshal(map[string]string{"file": out})
	a, err := m.StartAction(t.Context(), ActionSpec{
		Name: "log", Plugin: pluginSpec(bin, "notify", "-kind", "action"), Timeout: 2 * time.Second, Config: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Notify(sdk.Transition{Instance: "vi_1", From: "INIT", To: "BACKUP"})
	a.Notify(sdk.Transition{Instance: "vi_1", From: "BACKUP", To: "MASTER"})
	a.Notify(sdk.Transition{Instance: "vi_1", Reason: "crash"})
	a.Notify(sdk.Transition{Instance: "vi_1", From: "MASTER", To: "FAULT"})
	a.Notify(sdk.Transition{Instance: "vi_2", Reason: "fail"})
	a.Notify(sdk.Transition{Instance: "vi_1", From: "FAULT", To: "BACKUP"})

	want := "vi_1 INIT->BACKUP\nvi_1 BACKUP->MASTER\nvi_1 MASTER->FAULT\nvi_1 FAULT->BACKUP\n"
	// The plugin writes the file before its reply is counted: wait for
	// both.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := os.ReadFile(out)
		st := a.Stats()
		if string(got) == want && st.Sent == 4 {
			if st.Failed != 2 || st.Restarts != 1 || st.Dropped != 0 {
				t.Errorf("stats %+v, want 4 sent, 2 failed (crash, fail), 1 restart", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transitions file %q, want %q (stats %+v, want 4 sent)", got, want, st)
		}
		waitStep(t)
	}
}

func TestActionQueueDropsOldest(t *testing.T) {
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	out := filepath.Join(t.TempDir(), "transitions")
	cfg, _ := json.Marshal(map[string]string{"file": out})
	a, err := m.StartAction(t.Context(), ActionSpec{
		Name: "log", Plugin: pluginSpec(bin, "notify", "-kind", "action"), Timeout: 2 * time.Second, Config: cfg, QueueSize: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a.Notify(sdk.Transition{Instance: "slow", Reason: "slow"}) // occupies the worker ~300 ms
	waitFor(t, func() bool { return a.Stats().Queued == 0 })
	for i := 1; i <= 5; i++ {
		a.Notify(sdk.Transition{Instance: "vi", From: "n", To: string(rune('0' + i))})
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Errorf("Notify blocked: 6 calls took %v", el)
	}
	want := "slow ->\nvi n->4\nvi n->5\n"
	// The plugin writes the file before its reply is counted: wait for
	// both.
	waitFor(t, func() bool { got, _ := os.ReadFile(out); return string(got) == want && a.Stats().Sent == 3 })
	if st := a.Stats(); st.Dropped != 3 || st.Sent != 3 {
		t.Errorf("stats %+v, want 3 dropped, 3 sent", st)
	}
}

func TestDescribeUsesCache(t *testing.T) {
	bin := testPlugin(t)
	cache := filepath.Join(t.TempDir(), "schemas")
	m, _ := newTestManager(t, Options{SchemaCacheDir: cache})
	spec := pluginSpec(bin, "describe")
	d, err := m.Describe(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if d.Info.Name != "describe" || d.Info.Kind != sdk.KindCheck || len(d.Schema.Attributes) != 2 {
		t.Fatalf("description %+v", d)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries", len(entries))
	}
	// Tamper with the cached entry: a second Describe must answer from it
	// without running the binary.
	p := filepath.Join(cache, entries[0].Name())
	var cached Description
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &cached); err != nil {
		t.Fatal(err)
	}
	cached.Info.Version = "from-cache"
	b, _ = json.Marshal(cached)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d2, err := m.Describe(t.Context(), spec)
	if err != nil || d2.Info.Version != "from-cache" {
		t.Errorf("second Describe = %+v, %v; want the cached entry", d2.Info, err)
	}
	// An action binary is described as one.
	act, err := m.Describe(t.Context(), pluginSpec(bin, "notify", "-kind", "action"))
	if err == nil {
		t.Errorf("same binary, other name: cache hit must still check the name, got %+v", act)
	}
	m2, _ := newTestManager(t, Options{})
	act, err = m2.Describe(t.Context(), pluginSpec(bin, "notify", "-kind", "action"))
	if err != nil || act.Info.Kind != sdk.KindAction {
		t.Errorf("action Describe = %+v, %v", act, err)
	}
	// Once described, the schema decodes a config block.
	raw, diags := DecodeConfig(d.Schema, nil, fallbackRange)
	if diags.HasErrors() || !strings.Contains(string(raw), `"every":"1s"`) {
		t.Errorf("DecodeConfig = %s, %v", raw, diags)
	}
}
