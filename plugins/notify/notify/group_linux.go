package notify

import (
	"bytes"
	"os"
	"strconv"
)

// groupAlive reports whether a process of the group is still running.
// Zombies do not count: they are dead and wait only for their new parent
// (often init, which may reap lazily) to collect them, and kill(-pgid, 0)
// would count them.
func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised comm: state ppid pgrp ...
		i := bytes.LastIndex(b, []byte(") "))
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+2:])
		if len(f) < 3 || f[0][0] == 'Z' || f[0][0] == 'X' {
			continue
		}
		if g, err := strconv.Atoi(string(f[2])); err == nil && g == pgid {
			return true
		}
	}
	return false
}
