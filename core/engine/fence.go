package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/core/config"
	"github.com/hawatch/hawatch/core/fence"
)

// Fence is the slice of fence.Manager the engine uses: the node's firewall
// table that drops traffic to the VIPs of a master without accept mode.
// Only VIP workers call Drop and Lift (ordered with the addresses they add
// and remove); Run is the reconciler.
type Fence interface {
	Drop(owner string, addrs []netip.Addr) error
	Lift(owner string) error
	RemoveStale() error
	Run(ctx context.Context) error
	Close() error
}

// defaultNewFence is the nftables fence in the engine's own namespace.
func defaultNewFence(log zerolog.Logger) (Fence, error) {
	be, err := fence.NewNFTables(fence.NFTOptions{Watch: true})
	if err != nil {
		return nil, err
	}
	return fence.NewManager(log, be, fence.Options{}), nil
}

// needsFence reports whether an instance's VIPs are fenced while it is
// master: no accept mode, and not the address owner (who always accepts).
func needsFence(ic *config.Instance) bool { return ic.NoAccept && !ic.AddressOwner }

// openFence opens the fence (when the engine has a constructor), removes a
// table a crashed run left, and starts its reconciler. Failing is fatal
// only when an instance needs the fence: a node whose instances all accept
// runs without one.
func (e *Engine) openFence(ctx context.Context) error {
	if e.opts.NewFence == nil {
		return nil
	}
	needed := false
	for _, ic := range e.cfg.Instances {
		needed = needed || needsFence(ic)
	}
	f, err := e.opts.NewFence(e.log)
	if err == nil {
		if err = f.RemoveStale(); err != nil {
			f.Close()
		}
	}
	if err != nil {
		if needed {
			return fmt.Errorf("accept = false needs the nftables fence: %w", err)
		}
		e.log.Warn().Err(err).Msg("nftables fence unavailable; instances with accept = false could not be added by a reload")
		return nil
	}
	e.fence = f
	e.wg.Go(func() {
		if err := f.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			e.log.Error().Err(err).Msg("fence reconciler stopped")
		}
	})
	return nil
}

// fenceFor is the fence an instance's VIP worker uses, nil when its VIPs
// are never fenced.
func (e *Engine) fenceFor(ic *config.Instance) (Fence, error) {
	if !needsFence(ic) {
		return nil, nil
	}
	if e.fence == nil {
		return nil, fmt.Errorf("instance %s: accept = false needs the nftables fence, which is not running", ic.Name)
	}
	return e.fence, nil
}

// closeFence removes the table (after the workers lifted what they held)
// and releases the backend.
func (e *Engine) closeFence() {
	if e.fence == nil {
		return
	}
	if err := e.fence.Close(); err != nil {
		e.log.Error().Err(err).Msg("close fence")
	}
}

func fenceAddrs(prefixes []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, p.Addr())
	}
	return out
}
