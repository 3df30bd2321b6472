package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linkRecheck bounds how long a change the link subscription missed (it
// overflowed, or cannot be set up) goes unnoticed: every followed interface
// is looked up again this often, events or not.
const linkRecheck = time.Second

// kernelLinks follows interfaces with rtnetlink: a subscription to link
// changes in the namespace, and a lookup by name of every followed
// interface on each change that concerns one of them (a rename keeps the
// index and changes the name, a re-create keeps the name and changes the
// index: only a lookup by name says what the name means now) and every
// linkRecheck.
type kernelLinks struct {
	log   zerolog.Logger
	netns string // path of the namespace file; "" = the caller's

	mu   sync.Mutex           // Follow runs on the engine's loop, the rest on Run's goroutine
	last map[string]LinkState // by followed name: the state last reported
}

func defaultLinks(log zerolog.Logger) LinkWatcher { return newKernelLinks(log, "") }

func newKernelLinks(log zerolog.Logger, netns string) *kernelLinks {
	return &kernelLinks{log: log.With().Str("component", "links").Logger(), netns: netns, last: map[string]LinkState{}}
}

// Follow looks the name up with a handle of its own: it is called once per
// interface, and may be called when Run never is (the engine failed to
// start), so it holds nothing open.
func (k *kernelLinks) Follow(name string) (LinkState, error) {
	h, err := k.handle()
	if err != nil {
		return LinkState{}, err
	}
	defer h.Close()
	st, err := lookup(h, name)
	if err != nil {
		return LinkState{}, err
	}
	k.mu.Lock()
	k.last[name] = st
	k.mu.Unlock()
	return st, nil
}

func (k *kernelLinks) Run(ctx context.Context, report func(LinkState)) {
	tick := time.NewTicker(linkRecheck)
	defer tick.Stop()
	h, err := k.handle()
	for err != nil {
		// Without a handle nothing can be looked up; keep trying.
		k.log.Error().Err(err).Dur("retry_in", linkRecheck).Msg("cannot follow interfaces")
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h, err = k.handle()
	}
	defer h.Close()
	for {
		err := k.watch(ctx, h, tick.C, report)
		if ctx.Err() != nil {
			return
		}
		// Resubscribe at the next tick, not at once: a subscription that
		// cannot be set up is not retried in a spin, and the tick's lookups
		// go on meanwhile.
		k.log.Warn().Err(err).Dur("retry_in", linkRecheck).Msg("link subscription ended; resubscribing")
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			k.recheck(h, report)
		}
	}
}

// watch subscribes to link changes and re-checks the followed interfaces
// on each change that concerns one and on every tick, until ctx ends or
// the subscription breaks. It returns once the subscription's goroutines
// have ended.
func (k *kernelLinks) watch(ctx context.Context, h *netlink.Handle, tick <-chan time.Time, report func(LinkState)) error {
	var (
		errMu   sync.Mutex
		lastErr error
	)
	opts := netlink.LinkSubscribeOptions{ErrorCallback: func(err error) {
		errMu.Lock()
		lastErr = err
		errMu.Unlock()
	}}
	if k.netns != "" {
		ns, err := netns.GetFromPath(k.netns)
		if err != nil {
			return fmt.Errorf("open netns %s: %w", k.netns, err)
		}
		defer ns.Close()
		opts.Namespace = &ns
	}
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	if err := netlink.LinkSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	// The library's receiver closes ch when done is closed (or a receive
	// fails); draining until then means it has ended when watch returns.
	defer func() {
		close(done)
		for range ch {
		}
	}()
	// A change made before the subscription was live shows only to a
	// lookup.
	k.recheck(h, report)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			k.recheck(h, report)
		case u, ok := <-ch:
			if !ok {
				errMu.Lock()
				defer errMu.Unlock()
				return fmt.Errorf("link subscription: %v", lastErr)
			}
			if k.concerns(u) {
				k.recheck(h, report)
			}
		}
	}
}

// concerns reports whether u is about a followed name or the interface
// last seen under one.
func (k *kernelLinks) concerns(u netlink.LinkUpdate) bool {
	name := u.Link.Attrs().Name
	k.mu.Lock()
	defer k.mu.Unlock()
	for n, st := range k.last {
		if n == name || (st.Index != 0 && int(u.Index) == st.Index) {
			return true
		}
	}
	return false
}

// recheck looks every followed name up and reports those whose state
// changed. report blocks on the engine's loop, which may be in Follow:
// it is called without the lock.
func (k *kernelLinks) recheck(h *netlink.Handle, report func(LinkState)) {
	k.mu.Lock()
	names := slices.Collect(maps.Keys(k.last))
	k.mu.Unlock()
	var changed []LinkState
	for _, name := range names {
		st, err := lookup(h, name)
		if err != nil {
			k.log.Warn().Err(err).Msg("look up interface")
			continue
		}
		k.mu.Lock()
		if st != k.last[name] {
			k.last[name] = st
			changed = append(changed, st)
		}
		k.mu.Unlock()
	}
	for _, st := range changed {
		report(st)
	}
}

// lookup says what name is now.
func lookup(h *netlink.Handle, name string) (LinkState, error) {
	link, err := h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		return LinkState{Name: name}, nil
	case err != nil:
		return LinkState{}, fmt.Errorf("look up interface %s: %w", name, err)
	}
	a := link.Attrs()
	up := a.Flags&net.FlagUp != 0
	return LinkState{Name: name, Index: a.Index, Up: up, NoCarrier: up && a.RawFlags&unix.IFF_RUNNING == 0}, nil
}

func (k *kernelLinks) handle() (*netlink.Handle, error) {
	if k.netns == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("netlink handle: %w", err)
		}
		return h, nil
	}
	ns, err := netns.GetFromPath(k.netns)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", k.netns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", k.netns, err)
	}
	return h, nil
}
