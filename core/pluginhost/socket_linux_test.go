package pluginhost

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPluginSocketClosedToOtherUsers: a running plugin's gRPC socket sits
// in 0700 directories of the daemon's, so another uid cannot reach it
// (curl as nobody gets "permission denied"), while root can.
func TestPluginSocketClosedToOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another uid")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	bin := testPlugin(t)
	m, _ := newTestManager(t, Options{})
	c, err := m.StartCheck(t.Context(), CheckSpec{
		Name: "web", Plugin: pluginSpec(bin, "okcheck"), Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.First(ctx); err != nil {
		t.Fatal(err)
	}
	var socks []string
	_ = filepath.WalkDir(m.SocketDir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSocket != 0 {
			socks = append(socks, p)
		}
		if err == nil && d.IsDir() {
			if fi, _ := d.Info(); fi != nil && fi.Mode().Perm() != 0o700 {
				t.Errorf("socket directory %s has mode %v, want 0700", p, fi.Mode().Perm())
			}
		}
		return nil
	})
	if len(socks) == 0 {
		t.Fatalf("no plugin socket under %s", m.SocketDir())
	}
	// Let nobody traverse to the manager's directory, as on a real system
	// (/run is 0755): only the 0700 directories of the manager stand in the
	// way.
	for dir := filepath.Dir(m.SocketDir()); dir != "/"; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(dir, fi.Mode().Perm()|0o011)
		}
	}
	for _, s := range socks {
		run := func(cred *syscall.Credential) (string, error) {
			cmd := exec.CommandContext(ctx, curl, "-sSv", "--max-time", "2", "--unix-socket", s, "http://plugin/")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := run(&syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}})
		if err == nil || !strings.Contains(strings.ToLower(out), "permission denied") {
			t.Errorf("nobody reached %s: err %v, output %q", s, err, out)
		}
		if out, err := run(nil); strings.Contains(strings.ToLower(out), "permission denied") {
			t.Errorf("root cannot reach %s either (%v: %q): the test proves nothing", s, err, out)
		}
	}
}
