package netlab

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

func isKill(sig os.Signal) bool { return sig == os.Kill || sig == syscall.SIGKILL }

// killGroup kills the process group that Start put the process into
// (Setpgid makes its PGID equal to its PID).
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// killPID kills one helper PID, but only while it still belongs to the
// owner's process group or is its child: a PID file can outlive its process
// and the number be reused by something unrelated.
func (p *Proc) killHelper(pid int) {
	ppid, pgrp, ok := procParent(pid)
	if !ok || (ppid != p.PID() && pgrp != p.PID()) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// procParent reads the parent PID and process group from /proc/PID/stat.
func procParent(pid int) (ppid, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) may contain spaces; fields after the last
	// ')' are: state ppid pgrp ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	return ppid, pgrp, err1 == nil && err2 == nil
}
