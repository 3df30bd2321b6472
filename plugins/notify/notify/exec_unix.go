//go:build unix

package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultPath is used when the plugin's own environment has no PATH (the
// host starts plugins without its environment).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// outputTail is how much of the command's output an error quotes.
const outputTail = 2048

// pipeGrace bounds the wait for output pipes still held open by a
// command's background children after the command itself exited.
const pipeGrace = 500 * time.Millisecond

// ErrKilled is wrapped when the command outlived its deadline and its
// process group was signalled.
var ErrKilled = errors.New("command timed out and was killed")

// runExec runs the command as keepalived runs a notify script:
// `command args... INSTANCE|GROUP name STATE priority`, here without a
// shell, in its own process group so a timeout can stop everything it
// started.
func runExec(ctx context.Context, s *execSettings, ev event) error {
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	args := append(slices.Clone(s.args), ev.Kind, ev.Name, ev.To, strconv.Itoa(ev.Priority))
	cmd := exec.Command(s.command, args...)
	cmd.Env = os.Environ()
	if !slices.ContainsFunc(cmd.Env, func(v string) bool { return strings.HasPrefix(v, "PATH=") }) {
		cmd.Env = append(cmd.Env, defaultPath)
	}
	cmd.Env = append(cmd.Env, ev.env()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &tailBuffer{max: outputTail}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = pipeGrace
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.command, err)
	}
	pgid := cmd.Process.Pid // Setpgid: the leader's PID names the group

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	select {
	case err := <-waited:
		if errors.Is(err, exec.ErrWaitDelay) {
			err = nil // exited fine; a background child kept the pipe open
		}
		if err != nil {
			return fmt.Errorf("%s: %w%s", s.command, err, out.quote())
		}
		return nil
	case <-ctx.Done():
	}

	killGroup(pgid, s.grace, waited)
	return fmt.Errorf("%s: %w after %s (%w)%s", s.command, ErrKilled, s.describeLimit(), ctx.Err(), out.quote())
}

// killGroup sends SIGTERM to the process group, waits up to grace for the
// whole group to leave, then sends SIGKILL to whatever is left. It returns
// once the leader is reaped.
func killGroup(pgid int, grace time.Duration, waited <-chan error) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	leaderGone := false
wait:
	for !leaderGone || groupAlive(pgid) {
		select {
		case <-waited:
			leaderGone = true
		case <-tick.C:
		case <-deadline.C:
			break wait
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !leaderGone {
		<-waited
	}
	// SIGKILL is delivered asynchronously; give the members a moment to
	// exit so a caller that looks right after us sees an empty group.
	settle := time.NewTimer(time.Second)
	defer settle.Stop()
	for groupAlive(pgid) {
		select {
		case <-tick.C:
		case <-settle.C:
			return
		}
	}
}

func (s *execSettings) describeLimit() string {
	if s.timeout > 0 {
		return s.timeout.String()
	}
	return "the action deadline"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) quote() string {
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return ": output: " + strconv.Quote(s)
}
