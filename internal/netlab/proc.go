package netlab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Proc is a background process started inside a node namespace. Its stdout
// and stderr go to one buffer; t.Cleanup kills it (if still running), waits
// for it and, when the test failed, logs what it printed.
type Proc struct {
	Cmd  *exec.Cmd
	Name string // what the process is, for log messages

	out  *syncBuffer
	done chan struct{}
	err  error // set before done is closed

	// pidFiles name files holding PIDs of helpers the process forked that
	// must die with it (keepalived's VRRP child).
	pidFiles []string
	conf     string // keepalived's configuration file, for ReloadKeepalived
}

// PID is the process ID of the started program (ip netns exec replaces
// itself with the program, so this is the program's own PID).
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Output returns everything the process wrote so far (stdout and stderr).
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process. SIGKILL is treated like Kill so that a
// "crash" also takes down forked helpers (keepalived's VRRP child) instead of
// giving them a chance to shut down cleanly.
func (p *Proc) Signal(sig os.Signal) error {
	if isKill(sig) {
		p.Kill()
		return nil
	}
	if p.Exited() {
		return fmt.Errorf("%s (pid %d): %w", p.Name, p.PID(), os.ErrProcessDone)
	}
	if err := p.Cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s (pid %d): signal %v: %w", p.Name, p.PID(), sig, err)
	}
	return nil
}

// Kill sends SIGKILL to the helpers named by the PID files first (so they
// cannot react to their parent's death), then to the process group.
func (p *Proc) Kill() {
	for _, pid := range p.ExtraPIDs() {
		p.killHelper(pid)
	}
	if !p.Exited() {
		killGroup(p.PID())
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil for exit status 0), or ErrWaitTimeout.
func (p *Proc) Wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		return fmt.Errorf("%s (pid %d): %w", p.Name, p.PID(), ErrWaitTimeout)
	}
}

// ExtraPIDs returns the PIDs read from the process's helper PID files
// (keepalived's VRRP child), skipping files that are missing or empty.
func (p *Proc) ExtraPIDs() []int {
	var pids []int
	for _, f := range p.pidFiles {
		if pid, err := readPIDFile(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (p *Proc) wait() {
	p.err = p.Cmd.Wait()
	close(p.done)
}

func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, b)
	}
	return pid, nil
}

// syncBuffer is a bytes.Buffer safe for the two writers exec gives it
// (stdout and stderr copy goroutines) and a concurrent reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
