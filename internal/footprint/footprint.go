// Package footprint keeps the daemon's resident memory small. A node runs
// hawatch for months next to the services it protects, with a live heap of a
// few megabytes; the Go defaults are tuned for programs that allocate much
// more. Two things:
//
//   - GC defaults for a long-running process with a small heap (GOGC 50 and
//     a soft memory limit), applied unless the environment sets them;
//   - a trim once start-up is over: collect the garbage of loading the policy,
//     give the free heap back to the kernel, and unmap the pages of the
//     executable that only start-up touched (package initialisation, the HCL
//     parser, plugin validation). Those pages stay in the page cache; what
//     the VRRP loop uses afterwards maps back in with a minor fault.
package footprint

import (
	"runtime"
	"runtime/debug"
)

// The daemon's garbage collector settings, unless GOGC / GOMEMLIMIT are set.
const (
	// GCPercent 50 lets the heap grow by half its live size between
	// collections instead of doubling, and halves the runtime's 4 MB
	// minimum heap. A daemon whose steady state allocates little pays
	// next to nothing for it.
	GCPercent = 50
	// MemoryLimit is a soft ceiling well above what 255 instances need
	// (about 10 MB of Go memory): near it the collector runs more often
	// instead of letting the heap grow by another half. The runtime caps
	// the collector's share of CPU, so a live heap above it slows hawatch
	// down rather than failing it.
	MemoryLimit = 64 << 20
)

// GCSettings says what ApplyDaemonDefaults did.
type GCSettings struct {
	GCPercent   int   // in force after the call
	MemoryLimit int64 // in force after the call, bytes
	FromEnv     []string
}

// ApplyDaemonDefaults sets GCPercent and MemoryLimit, each unless its
// environment variable (GOGC, GOMEMLIMIT) is set: the runtime has applied
// that one at start and an operator's choice wins. It also turns off the
// runtime's sampling of allocations for heap profiles: the daemon serves no
// profiles, and the table of sampled call stacks only grows (up to 1.4 MB
// of hash table, plus the stacks) with every new allocation site sampled.
func ApplyDaemonDefaults(lookupEnv func(string) (string, bool)) GCSettings {
	runtime.MemProfileRate = 0
	var s GCSettings
	if _, ok := lookupEnv("GOGC"); ok {
		s.FromEnv = append(s.FromEnv, "GOGC")
		s.GCPercent = debug.SetGCPercent(-1)
		debug.SetGCPercent(s.GCPercent) // read back: SetGCPercent returns the old value
	} else {
		debug.SetGCPercent(GCPercent)
		s.GCPercent = GCPercent
	}
	if _, ok := lookupEnv("GOMEMLIMIT"); ok {
		s.FromEnv = append(s.FromEnv, "GOMEMLIMIT")
		s.MemoryLimit = debug.SetMemoryLimit(-1) // a negative value only reads it
	} else {
		debug.SetMemoryLimit(MemoryLimit)
		s.MemoryLimit = MemoryLimit
	}
	return s
}

// Report is what one Trim did.
type Report struct {
	RSSBefore, RSSAfter int64 // VmRSS, bytes; 0 where unknown
	// Unmapped is the size of the executable's read-only mappings whose
	// pages were dropped from the process (not what was resident in them).
	Unmapped int64
	// Skipped counts read-only mappings of the executable left alone
	// because they hold private copies (a relocated PIE segment, a
	// debugger's or uprobe's breakpoint): dropping those would lose data.
	Skipped int
}

// Trim gives back what start-up needed and the steady state does not: a
// full collection, the free heap returned to the kernel, and, when
// dropCode, the executable's read-only pages unmapped from the process
// (the kernel maps back in, from the page cache, whatever runs next). Call
// it once the node has settled; never with the process's memory locked
// (mlockall), where the kernel refuses to drop locked pages.
func Trim(dropCode bool) (Report, error) {
	var r Report
	r.RSSBefore = residentBytes()
	runtime.GC()
	debug.FreeOSMemory()
	var err error
	if dropCode {
		r.Unmapped, r.Skipped, err = dropExecutablePages()
	}
	r.RSSAfter = residentBytes()
	return r, err
}
