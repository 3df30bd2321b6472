package pluginhost

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr runs the plugin as cred (no supplementary groups; the switch
// from uid 0 clears the permitted, effective and ambient capability sets)
// and kills it with SIGKILL if the daemon dies. Setpgid keeps a terminal's
// Ctrl-C from reaching plugins before the daemon has stopped them.
//
// Pdeathsig fires when the forking OS thread exits, not the process; Go
// rarely retires threads, and a clean daemon stop kills plugins itself.
func sysProcAttr(cred *credential) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if cred != nil {
		attr.Credential = &syscall.Credential{Uid: cred.uid, Gid: cred.gid, Groups: []uint32{}}
	}
	return attr, nil
}

// verifyDropped reads /proc/PID/status of a plugin started with a user and
// refuses it unless it runs as that uid with no effective or permitted
// capabilities: a kernel or securebits setup that kept capabilities across
// setuid would otherwise go unnoticed.
func verifyDropped(pid int, cred *credential) error {
	st, err := readProcStatus(pid)
	if err != nil {
		return err
	}
	uids := strings.Fields(st["Uid"])
	if len(uids) < 2 || uids[1] != strconv.FormatUint(uint64(cred.uid), 10) {
		return fmt.Errorf("plugin pid %d runs as uid %q, want %d", pid, st["Uid"], cred.uid)
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
		v, ok := st[k]
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(v, 16, 64)
		if err != nil || n != 0 {
			return fmt.Errorf("plugin pid %d kept capabilities: %s=%s", pid, k, v)
		}
	}
	return nil
}

// readProcStatus returns the "Key:\tvalue" lines of /proc/PID/status.
func readProcStatus(pid int) (map[string]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("plugin pid %d: %w", pid, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, sc.Err()
}

// lowerThreadPriority adds 10 to the calling thread's nice value (at most
// 19). Linux keeps nice per thread and a forked child inherits it.
func lowerThreadPriority() {
	tid := unix.Gettid()
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid) // the kernel answers 20 - nice
	if err != nil {
		return
	}
	_ = unix.Setpriority(unix.PRIO_PROCESS, tid, min(20-raw+10, 19))
}
