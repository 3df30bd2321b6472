//go:build !linux

package sdk

// boottime is 0 (unknown) off Linux: grants are then valid from receipt.
func boottime() int64 { return 0 }
