//go:build !linux

package fence

import "errors"

// NFTOptions select the namespace (Linux only).
type NFTOptions struct {
	NetNS string
	Watch bool
}

// NewNFTables fails off Linux: nftables is Linux's.
func NewNFTables(NFTOptions) (Backend, error) {
	return nil, errors.New("fence: nftables needs Linux")
}
