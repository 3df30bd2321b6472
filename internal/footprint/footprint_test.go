package footprint

import (
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
)

// restoreGC puts the test binary's GC settings back.
func restoreGC(t *testing.T) {
	t.Helper()
	pct := debug.SetGCPercent(100)
	lim := debug.SetMemoryLimit(-1)
	rate := runtime.MemProfileRate
	t.Cleanup(func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
		runtime.MemProfileRate = rate
	})
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestApplyDaemonDefaults(t *testing.T) {
	restoreGC(t)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 40)
	runtime.MemProfileRate = 512 << 10
	s := ApplyDaemonDefaults(env(nil))
	if s.GCPercent != GCPercent || s.MemoryLimit != MemoryLimit || len(s.FromEnv) != 0 {
		t.Fatalf("settings %+v, want GOGC %d, limit %d, none from env", s, GCPercent, MemoryLimit)
	}
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Errorf("GC percent in force %d, want %d", got, GCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != MemoryLimit {
		t.Errorf("memory limit in force %d, want %d", got, MemoryLimit)
	}
	if runtime.MemProfileRate != 0 {
		t.Errorf("MemProfileRate %d, want 0", runtime.MemProfileRate)
	}
}

// An operator's GOGC / GOMEMLIMIT (already applied by the runtime at start)
// are left alone and reported.
func TestApplyDaemonDefaultsKeepsEnvironment(t *testing.T) {
	restoreGC(t)
	debug.SetGCPercent(170)
	debug.SetMemoryLimit(300 << 20)
	s := ApplyDaemonDefaults(env(map[string]string{"GOGC": "170", "GOMEMLIMIT": "300MiB"}))
	if s.GCPercent != 170 || s.MemoryLimit != 300<<20 || !slices.Equal(s.FromEnv, []string{"GOGC", "GOMEMLIMIT"}) {
		t.Fatalf("settings %+v, want the environment's 170 and 300 MiB", s)
	}
	if got := debug.SetGCPercent(100); got != 170 {
		t.Errorf("GC percent in force %d, want 170 (untouched)", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("memory limit in force %d, want 300 MiB (untouched)", got)
	}
}

// Only one of the two set: the other still gets the daemon default.
func TestApplyDaemonDefaultsOneFromEnvironment(t *testing.T) {
	restoreGC(t)
	debug.SetGCPercent(80)
	s := ApplyDaemonDefaults(env(map[string]string{"GOGC": "80"}))
	if s.GCPercent != 80 || s.MemoryLimit != MemoryLimit || !slices.Equal(s.FromEnv, []string{"GOGC"}) {
		t.Fatalf("settings %+v, want GOGC 80 from env and the default limit", s)
	}
}
