//go:build !linux

package footprint

// Elsewhere Trim only collects and returns the free heap.
func dropExecutablePages() (int64, int, error) { return 0, 0, nil }

func residentBytes() int64 { return 0 }
