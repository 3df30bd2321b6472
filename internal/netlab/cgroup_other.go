//go:build !linux

package netlab

import "testing"

// CheckMemoryCgroup: cgroups are Linux only.
func CheckMemoryCgroup() error { return ErrUnsupported }

// NewCgroup skips the test: cgroups are Linux only.
func NewCgroup(t testing.TB, name string) *Cgroup {
	t.Skip("cgroups: Linux only")
	return nil
}

// MemoryCgroup skips the test: cgroups are Linux only.
func MemoryCgroup(t testing.TB, name string) *Cgroup {
	t.Skip("cgroups: Linux only")
	return nil
}

func (c *Cgroup) Add(pid int) error                         { return ErrUnsupported }
func (c *Cgroup) Contains(pid int) bool                     { return false }
func (c *Cgroup) PIDs() ([]int, error)                      { return nil, ErrUnsupported }
func (c *Cgroup) Wrap(name string, args ...string) []string { return append([]string{name}, args...) }
func (c *Cgroup) Script(dir, name string, args ...string) (string, error) {
	return "", ErrUnsupported
}
func (c *Cgroup) Version() int                       { return 0 }
func (c *Cgroup) Current() (int64, error)            { return 0, ErrUnsupported }
func (c *Cgroup) SetHigh(bytes int64) error          { return ErrUnsupported }
func (c *Cgroup) SetLimit(bytes int64) error         { return ErrUnsupported }
func (c *Cgroup) Events() (map[string]uint64, error) { return nil, ErrUnsupported }
func (c *Cgroup) Pressure() (Pressure, error)        { return Pressure{}, ErrUnsupported }
func (c *Cgroup) Stat() (map[string]uint64, error)   { return nil, ErrUnsupported }
func (c *Cgroup) V1() (V1Memory, error)              { return V1Memory{}, ErrUnsupported }
func (c *Cgroup) ResetMaxUsage() error               { return ErrUnsupported }

// UncachedCopy, ClearReferenced, ReferencedFile, ReadAhead: Linux only.
func UncachedCopy(src, dst string) error    { return ErrUnsupported }
func ClearReferenced(pid int) error         { return ErrUnsupported }
func ReferencedFile(pid int) (int64, error) { return 0, ErrUnsupported }
func ReadAhead(path string) (int64, error)  { return 0, ErrUnsupported }
