package e2e

import (
	"bytes"
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

// debianRoot returns the cached clean Debian 12 root (scripts/debian-root.sh
// builds it once per machine, about a minute from a near mirror), or
// skips saying why there is none.
func debianRoot(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("HAWATCH_DEBIAN_ROOT"); r != "" {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", "../scripts/debian-root.sh")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("no clean Debian 12 root (scripts/debian-root.sh: %v): %s", err, lastLines(stderr.String(), 5))
	}
	return strings.TrimSpace(string(out))
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// chroot is a throwaway copy of the cached root: an overlay whose upper
// layer is a temp dir, with /proc and /dev, unmounted at cleanup.
type chroot struct {
	t    *testing.T
	root string
}

func newChroot(t *testing.T, lower string) *chroot {
	t.Helper()
	dir := t.TempDir()
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount an overlay on the Debian root: %v", err)
	}
	c := &chroot{t: t, root: merged}
	t.Cleanup(func() {
		for _, m := range []string{"dev", "proc", ""} {
			if err := syscall.Unmount(filepath.Join(merged, m), syscall.MNT_DETACH); err != nil && m == "" {
				t.Errorf("unmount %s: %v", merged, err)
			}
		}
	})
	if err := syscall.Mount("proc", filepath.Join(merged, "proc"), "proc", 0, ""); err != nil {
		t.Fatalf("mount proc: %v", err)
	}
	if err := syscall.Mount("/dev", filepath.Join(merged, "dev"), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		t.Fatalf("bind /dev: %v", err)
	}
	// No service may start in the root (debian-root.sh puts one there;
	// make sure, as the overlay is what the package sees).
	if _, err := os.Stat(filepath.Join(merged, "usr/sbin/policy-rc.d")); err != nil {
		t.Fatalf("the root has no policy-rc.d: %v", err)
	}
	return c
}

// run runs a shell command inside the root, in a network namespace of
// its own (nothing in there can touch the host's network).
func (c *chroot) run(script string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "chroot", c.root, "/bin/sh", "-ec", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8", "HOME=/root", "TERM=dumb"}
	cmd.Stdin = nil // a prompt (a conffile question) fails instead of waiting
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *chroot) must(script string) string {
	c.t.Helper()
	out, err := c.run(script)
	if err != nil {
		c.t.Fatalf("in the Debian root: %s\n%v\n%s", script, err, out)
	}
	return out
}

func (c *chroot) exists(path string) bool {
	_, err := os.Lstat(filepath.Join(c.root, path))
	return err == nil
}

// buildDebs builds the package twice from one build with two versions
// (scripts/deb.sh), for the install and the upgrade.
func buildDebs(t *testing.T) (first, second string) {
	t.Helper()
	out := t.TempDir()
	stage := filepath.Join(out, "stage")
	for i, v := range []string{"0.0.1~test1", "0.0.1~test2"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "../scripts/deb.sh")
		cmd.Env = append(os.Environ(), "DEB_VERSION="+v, "DEB_STAGE="+stage, "DEB_OUT="+out, "VERSION=v"+strings.ReplaceAll(v, "~", "-"))
		b, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("scripts/deb.sh (%s): %v\n%s", v, err, b)
		}
		path := strings.TrimSpace(lastLines(string(b), 1))
		if i == 0 {
			first = path
		} else {
			second = path
		}
	}
	return first, second
}

// TestDebInstall installs the package into a clean Debian 12 root and
// checks it as an operator would use it, then upgrades and purges it.
func TestDebInstall(t *testing.T) {
	needRoot(t)
	for _, p := range []string{"unshare", "chroot"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	lower := debianRoot(t)
	start := time.Now()
	deb1, deb2 := buildDebs(t)
	t.Logf("two packages built in %v", time.Since(start).Round(time.Second))

	// lintian runs beside the install (it takes a while).
	lint := make(chan string, 1)
	if _, err := exec.LookPath("lintian"); err == nil {
		go func() {
			out, err := exec.Command("lintian", "--pedantic", "--fail-on", "error,warning", deb1).CombinedOutput()
			if err != nil {
				lint <- fmt.Sprintf("lintian: %v\n%s", err, out)
				return
			}
			lint <- ""
		}()
	} else {
		t.Log("lintian not installed: not run")
		close(lint)
	}

	c := newChroot(t, lower)
	for _, d := range []string{deb1, deb2} {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.root, "tmp", filepath.Base(d)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in1, in2 := "/tmp/"+filepath.Base(deb1), "/tmp/"+filepath.Base(deb2)

	// The operator's install path.
	c.must("apt-get install -y --no-install-recommends " + in1)
	if out := c.must("hawatch version"); !strings.Contains(out, "0.0.1-test1") {
		t.Errorf("hawatch version: %q", out)
	}
	if out := c.must("hawatch validate /etc/hawatch/hawatch.hcl"); !strings.Contains(out, "ok (0 instances") {
		t.Errorf("validate of the template: %q", out)
	}
	if out, err := c.run("hawatch validate --configured --no-plugins /etc/hawatch/hawatch.hcl"); err == nil {
		t.Errorf("the template passes the unit's ExecCondition (the service would start):\n%s", out)
	}
	// Enabled (starts at boot once configured), never started: no systemd
	// runs here, and policy-rc.d would refuse anyway.
	if !c.exists("etc/systemd/system/multi-user.target.wants/hawatch.service") {
		t.Error("hawatch.service not enabled on install")
	}
	if out := c.must("systemd-analyze verify /lib/systemd/system/hawatch.service 2>&1"); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
	for _, page := range []string{"/usr/share/man/man8/hawatch.8.gz", "/usr/share/man/man5/hawatch.hcl.5.gz"} {
		if out := c.must("MANPAGER=cat MANWIDTH=80 man -l " + page); !strings.Contains(out, "SEE ALSO") {
			t.Errorf("man -l %s:\n%s", page, out)
		}
		if out := c.must("man --warnings -l " + page + " 2>&1 >/dev/null"); strings.TrimSpace(out) != "" {
			t.Errorf("man -l %s warns:\n%s", page, out)
		}
	}
	// Bash completion: the loader finds the packaged file, and completing
	// `hawatch st` offers status (cobra asks the binary).
	out := c.must(`bash -c '. /usr/share/bash-completion/bash_completion
_completion_loader hawatch
complete -p hawatch
COMP_WORDS=(hawatch st); COMP_CWORD=1; COMP_LINE="hawatch st"; COMP_POINT=${#COMP_LINE}
__start_hawatch hawatch st hawatch
printf "reply:%s\n" "${COMPREPLY[@]}"'`)
	if !strings.Contains(out, "complete -") || !strings.Contains(out, "reply:status") {
		t.Errorf("bash completion:\n%s", out)
	}
	for _, f := range []string{"usr/share/zsh/vendor-completions/_hawatch", "usr/share/fish/vendor_completions.d/hawatch.fish",
		"usr/libexec/hawatch/hawatch-process", "usr/share/doc/hawatch/copyright", "usr/share/doc/hawatch/converting-from-keepalived.md",
		"usr/share/doc/hawatch/contrib/prometheus/hawatch.rules.yml", "usr/share/doc/hawatch/contrib/grafana/hawatch.json",
		"usr/share/doc/hawatch/examples/systemd/plugin-users.conf", "usr/share/doc/hawatch/examples/systemd/realtime.conf", "var/lib/hawatch"} {
		if !c.exists(f) {
			t.Errorf("/%s not installed", f)
		}
	}

	// The policy the template's comments describe, without plugin_dir (as
	// `hawatch convert` writes it): the packaged plugins are found.
	tmpl, err := os.ReadFile(filepath.Join(c.root, "etc/hawatch/hawatch.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, l := range strings.Split(uncomment(string(tmpl)), "\n") {
		if !strings.Contains(l, "plugin_dir") && !strings.Contains(l, "control_group") {
			live = append(live, l)
		}
	}
	if err := os.WriteFile(filepath.Join(c.root, "tmp/policy.hcl"), []byte(strings.Join(live, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.must("hawatch validate /tmp/policy.hcl 2>&1"); !strings.Contains(out, "ok (1 instance, 1 check") || strings.Contains(out, "Warning") {
		t.Errorf("the template's example policy without plugin_dir:\n%s", out)
	}

	// Upgrade to the rebuilt package with an edited conffile: dpkg keeps
	// the edit without asking (no stdin: a question would fail).
	c.must(`echo '# edited by the operator' >> /etc/hawatch/hawatch.hcl`)
	c.must("dpkg -i " + in2)
	if out := c.must("dpkg-query -W -f '${Version}' hawatch"); out != "0.0.1~test2" {
		t.Errorf("after upgrade: version %q", out)
	}
	if out := c.must("tail -n 1 /etc/hawatch/hawatch.hcl"); strings.TrimSpace(out) != "# edited by the operator" {
		t.Errorf("upgrade lost the edited conffile: last line %q", out)
	}
	if c.exists("etc/hawatch/hawatch.hcl.dpkg-dist") || c.exists("etc/hawatch/hawatch.hcl.dpkg-old") {
		t.Error("upgrade left a .dpkg-dist/.dpkg-old next to an unchanged packaged conffile")
	}

	// Purge: the daemon's state goes, an operator's own file stays (and
	// with it /etc/hawatch), nothing else of the package remains.
	c.must(`mkdir -p /var/lib/hawatch/schema-cache && touch /var/lib/hawatch/demoted.json /var/lib/hawatch/schema-cache/x
mkdir -p /etc/hawatch/keys && echo secret > /etc/hawatch/keys/vi1.key`)
	c.must("apt-get purge -y hawatch")
	if out, err := c.run("dpkg-query -W -f '${Status}' hawatch"); err == nil && !strings.Contains(out, "not-installed") {
		t.Errorf("after purge dpkg says %q", out)
	}
	for _, f := range []string{"usr/sbin/hawatch", "usr/libexec/hawatch", "lib/systemd/system/hawatch.service",
		"etc/systemd/system/multi-user.target.wants/hawatch.service", "etc/hawatch/hawatch.hcl", "var/lib/hawatch",
		"usr/share/doc/hawatch", "usr/share/man/man8/hawatch.8.gz", "usr/share/bash-completion/completions/hawatch",
		"var/lib/systemd/deb-systemd-helper-enabled/hawatch.service.dsh-also",
		"var/lib/systemd/deb-systemd-helper-masked/hawatch.service"} {
		if c.exists(f) {
			t.Errorf("/%s left after purge", f)
		}
	}
	if !c.exists("etc/hawatch/keys/vi1.key") {
		t.Error("purge removed a file the operator put in /etc/hawatch")
	}
	if msg, ok := <-lint; ok && msg != "" {
		t.Error(msg)
	}
	t.Logf("install, checks, upgrade and purge done %v after start", time.Since(start).Round(time.Second))
}
