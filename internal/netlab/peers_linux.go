package netlab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const peerStartTimeout = 10 * time.Second

// StartKeepalived runs a real keepalived (VRRP subsystem only) in the node's
// namespace with its own config and PID files under t.TempDir(), logging to
// the Proc's output. Signal(SIGTERM) stops it gracefully (it sends priority
// 0); Kill or Signal(SIGKILL) crashes it, VRRP child first. It returns once
// the VRRP child has written its PID file.
func StartKeepalived(t testing.TB, n *Node, c KeepalivedConfig) *Proc {
	t.Helper()
	bin := c.Binary
	if bin == "" {
		if _, err := exec.LookPath("keepalived"); err != nil {
			t.Skip("netlab: keepalived not installed")
		}
		bin = "keepalived"
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	pid := filepath.Join(dir, "keepalived.pid")
	vrrpPID := filepath.Join(dir, "vrrp.pid")
	if err := os.WriteFile(conf, []byte(c.Render()), 0o600); err != nil {
		t.Fatalf("keepalived config: %v", err)
	}
	args := []string{"--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--dont-respawn",
		"--use-file", conf, "--pid", pid, "--vrrp_pid", vrrpPID}
	if c.Binary == "" {
		args = append(args, "--vrrp") // a build without LVS has no such option and runs VRRP only anyway
	}
	p := n.Start(t, bin, args...)
	p.Name = n.Name + ":keepalived"
	p.pidFiles = []string{vrrpPID}
	p.conf = conf

	deadline := time.Now().Add(peerStartTimeout)
	for {
		if _, err := readPIDFile(vrrpPID); err == nil {
			return p
		}
		if p.Exited() || time.Now().After(deadline) {
			p.Kill()
			_ = p.Wait(time.Second)
			t.Fatalf("%s: keepalived did not start its VRRP child:\n%s\nconfig:\n%s", n.Name, p.Output(), c.Render())
		}
		time.Sleep(pollEvery)
	}
}

// ReloadKeepalived rewrites a running keepalived's configuration and sends
// it SIGHUP, keepalived's reload.
func ReloadKeepalived(t testing.TB, p *Proc, c KeepalivedConfig) {
	t.Helper()
	if p.conf == "" {
		t.Fatalf("%s: not started by StartKeepalived", p.Name)
	}
	if err := os.WriteFile(p.conf, []byte(c.Render()), 0o600); err != nil {
		t.Fatalf("keepalived config: %v", err)
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("%s: SIGHUP: %v", p.Name, err)
	}
}

// Nginx is a real nginx (Debian nginx-light) running in a node namespace
// with its own config, PID file, logs and temp directories.
type Nginx struct {
	Proc    *Proc // the master process (daemon off)
	Dir     string
	PIDFile string
	// Body is what every request gets back: "hello from <node>\n".
	Body string
}

// StartNginx runs nginx in the node's namespace listening on port 80 on every
// address of the namespace (IPv4 and IPv6), so it answers on n.Addr4 and on
// any VIP added later; the namespace keeps it off the host. It returns once
// n.Addr4:80 accepts connections.
func StartNginx(t testing.TB, n *Node) *Nginx {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("netlab: nginx not installed")
	}
	dir := t.TempDir()
	for _, d := range []string{"logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ng := &Nginx{Dir: dir, PIDFile: filepath.Join(dir, "nginx.pid"), Body: "hello from " + n.Name + "\n"}
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log info;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    server {
        listen 80;
        listen [::]:80;
        location / {
            default_type text/plain;
            return 200 "hello from %[2]s\n";
        }
    }
}
`, dir, n.Name)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ng.Proc = n.Start(t, "nginx", "-p", dir, "-e", filepath.Join(dir, "logs/error.log"), "-c", confPath)
	ng.Proc.Name = n.Name + ":nginx"
	t.Cleanup(func() {
		// Workers outlive a SIGKILLed master; take them down by PID.
		ng.KillAll()
	})

	deadline := time.Now().Add(peerStartTimeout)
	addr := net.JoinHostPort(n.Addr4.String(), "80")
	for {
		err := n.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return ng
		}
		if ng.Proc.Exited() || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "logs/error.log"))
			t.Fatalf("%s: nginx not answering on %s: %v\noutput:\n%s\nerror.log:\n%s", n.Name, addr, err, ng.Proc.Output(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MasterPID reads the master PID from nginx's PID file (0 if unreadable).
func (ng *Nginx) MasterPID() int {
	pid, err := readPIDFile(ng.PIDFile)
	if err != nil {
		return 0
	}
	return pid
}

// WorkerPIDs lists the live children of the master.
func (ng *Nginx) WorkerPIDs() []int {
	master := ng.Proc.PID()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procParent(pid); ok && ppid == master {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Stop asks nginx to quit gracefully (SIGQUIT) and waits up to 5 s, then
// kills what is left.
func (ng *Nginx) Stop() error {
	if err := ng.Proc.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	if err := ng.Proc.Wait(5 * time.Second); errors.Is(err, ErrWaitTimeout) {
		ng.KillAll()
		return err
	}
	return nil
}

// KillAll SIGKILLs the workers and the master: "nginx died" without any
// chance to close sockets gracefully.
func (ng *Nginx) KillAll() {
	workers := ng.WorkerPIDs()
	for _, pid := range workers {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	ng.Proc.Kill()
	_ = ng.Proc.Wait(5 * time.Second)
}
