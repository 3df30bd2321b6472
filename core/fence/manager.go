package fence

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// TableName is the nftables table the Linux backend owns (family inet).
const TableName = "hawatch"

// State is what a backend found in the kernel.
type State struct {
	// Present: the table exists.
	Present bool
	// Complete: the table has every chain, rule and set it is built with
	// (someone may have flushed a chain or deleted a set by hand).
	Complete bool
	// Addrs are the set elements, both families.
	Addrs []netip.Addr
}

// Backend is the kernel side of a Manager. Build and SetAddrs are atomic (one
// nftables transaction each): a reader never sees the table half made.
type Backend interface {
	// Read reports the table's state.
	Read() (State, error)
	// Build replaces the table wholesale (deleting what is there) with one
	// holding addrs.
	Build(addrs []netip.Addr) error
	// SetAddrs replaces the elements of a complete table's sets.
	SetAddrs(addrs []netip.Addr) error
	// Remove deletes the table; a missing table is success.
	Remove() error
	// Changes signals (coalesced) that the ruleset changed, by anyone; nil
	// when the backend cannot watch (Run then only polls).
	Changes() <-chan struct{}
	// Close releases the backend; it does not remove the table.
	Close() error
}

// Options tune a Manager.
type Options struct {
	// Poll is how often Run checks the table without a change signal (a
	// backstop: changes are normally signalled). Default 1s.
	Poll time.Duration
}

// Stats are what a Manager counted.
type Stats struct {
	Builds  uint64 // the table (re)created
	Updates uint64 // the sets rewritten
	Repairs uint64 // of the above, those undoing a change made by someone else
}

// Manager fences the addresses its owners ask for. Its methods are safe for
// concurrent use: each interface's VIP worker calls it.
type Manager struct {
	log  zerolog.Logger
	be   Backend
	opts Options

	mu      sync.Mutex
	owners  map[string][]netip.Addr
	applied []netip.Addr // what the table held after our last write, sorted
	built   bool         // we created the table (and must remove it)
	stats   Stats
	closed  bool
}

// NewManager returns a manager over be. Nothing is written until the first
// Drop.
func NewManager(log zerolog.Logger, be Backend, opts Options) *Manager {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	return &Manager{log: log.With().Str("component", "fence").Logger(), be: be, opts: opts, owners: map[string][]netip.Addr{}}
}

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("fence closed")

// Drop fences addrs for owner (replacing what owner had) and returns once
// the kernel drops their traffic.
func (m *Manager) Drop(owner string, addrs []netip.Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	norm := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() {
			return fmt.Errorf("fence %s: invalid address", owner)
		}
		norm = append(norm, a.Unmap().WithZone(""))
	}
	m.owners[owner] = norm
	return m.sync(false)
}

// Lift stops fencing owner's addresses (those another owner fences stay).
func (m *Manager) Lift(owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.owners[owner]; !ok {
		return nil
	}
	delete(m.owners, owner)
	return m.sync(false)
}

// Fenced returns the addresses fenced now (what the table should hold),
// sorted.
func (m *Manager) Fenced() []netip.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.want()
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

func (m *Manager) want() []netip.Addr {
	seen := map[netip.Addr]bool{}
	for _, as := range m.owners {
		for _, a := range as {
			seen[a] = true
		}
	}
	return slices.SortedFunc(maps.Keys(seen), func(a, b netip.Addr) int { return a.Compare(b) })
}

// sync brings the table in line with the owners. Before the first Drop
// (nothing built, nothing wanted) it writes nothing: a node whose instances
// all accept never gets a table. repair says the caller is the reconciler
// (a difference found then was made by someone else).
func (m *Manager) sync(repair bool) error {
	want := m.want()
	if !m.built && len(want) == 0 {
		return nil
	}
	st, err := m.be.Read()
	if err != nil {
		return fmt.Errorf("fence: read table %s: %w", TableName, err)
	}
	switch {
	case !st.Present || !st.Complete:
		if err := m.be.Build(want); err != nil {
			return fmt.Errorf("fence: build table %s: %w", TableName, err)
		}
		m.stats.Builds++
		if m.built && repair {
			m.stats.Repairs++
			m.log.Warn().Bool("present", st.Present).Msg("nftables table " + TableName + " was changed from outside; rebuilt")
		}
		m.built = true
	case !slices.Equal(sorted(st.Addrs), want):
		if err := m.be.SetAddrs(want); err != nil {
			return fmt.Errorf("fence: set addresses in %s: %w", TableName, err)
		}
		m.stats.Updates++
		if repair && !slices.Equal(sorted(st.Addrs), m.applied) {
			m.stats.Repairs++
			m.log.Warn().Stringer("found", addrList(st.Addrs)).Stringer("want", addrList(want)).Msg("fenced addresses were changed from outside; restored")
		}
		m.built = true
	default:
		m.built = true
	}
	m.applied = want
	return nil
}

// Run keeps the table as the owners want it until ctx ends: on every change
// signal from the backend and every Options.Poll, a table deleted, flushed
// or edited by hand is put back.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.Poll)
	defer t.Stop()
	changes := m.be.Changes()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-changes:
			if !ok {
				changes = nil // the watch ended: polling only
				m.log.Warn().Msg("nftables change watch ended; polling only")
				continue
			}
		case <-t.C:
		}
		m.mu.Lock()
		var err error
		if !m.closed {
			err = m.sync(true)
		}
		m.mu.Unlock()
		if err != nil {
			m.log.Error().Err(err).Msg("reconcile")
		}
	}
}

// Close removes the table if this manager made it and releases the
// backend. Later calls fail with ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	if m.built {
		if err := m.be.Remove(); err != nil {
			errs = append(errs, fmt.Errorf("fence: remove table %s: %w", TableName, err))
		}
	}
	errs = append(errs, m.be.Close())
	return errors.Join(errs...)
}

func sorted(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		out = append(out, a.Unmap().WithZone(""))
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

type addrList []netip.Addr

func (l addrList) String() string { return fmt.Sprint([]netip.Addr(l)) }

// RemoveStale deletes a table left by an earlier run that crashed (its
// addresses were fenced for a mastership that ended with it). Call it
// before the first Drop.
func (m *Manager) RemoveStale() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.built || len(m.owners) > 0 {
		return nil // ours now
	}
	st, err := m.be.Read()
	if err != nil {
		return fmt.Errorf("fence: read table %s: %w", TableName, err)
	}
	if !st.Present {
		return nil
	}
	m.log.Info().Stringer("addresses", addrList(st.Addrs)).Msg("removing nftables table " + TableName + " left by an earlier run")
	if err := m.be.Remove(); err != nil {
		return fmt.Errorf("fence: remove stale table %s: %w", TableName, err)
	}
	return nil
}
