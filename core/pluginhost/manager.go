package pluginhost

import (
	"fmt"
	"os"
	"sync"

	"github.com/rs/zerolog"
)

// Manager starts and supervises plugin processes for one daemon. The core
// sees only what StartCheck and StartAction return: a result channel and a
// non-blocking Notify; the manager knows nothing about VRRP.
type Manager struct {
	log     zerolog.Logger
	opts    Options
	sockDir string

	mu          sync.Mutex
	closed      bool
	traversable bool
	stoppers    map[stopper]struct{}
}

// stopper is a running Check or Action.
type stopper interface{ Stop() }

// NewManager creates the manager's private socket directory (mode 0700,
// inside opts.SocketDir or the system temp dir).
func NewManager(log zerolog.Logger, opts Options) (*Manager, error) {
	opts = opts.withDefaults()
	dir, err := os.MkdirTemp(opts.SocketDir, "hawatch-plugins-")
	if err != nil {
		return nil, fmt.Errorf("plugin socket dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("plugin socket dir: %w", err)
	}
	return &Manager{
		log:      log,
		opts:     opts,
		sockDir:  dir,
		stoppers: map[stopper]struct{}{},
	}, nil
}

// SocketDir is the manager's private socket directory.
func (m *Manager) SocketDir() string { return m.sockDir }

// allowTraverse opens the socket directory for traversal (0711) the first
// time a plugin runs as another user: that user must reach its own 0700
// subdirectory, but still cannot list or enter anyone else's.
func (m *Manager) allowTraverse() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.traversable {
		return nil
	}
	if err := os.Chmod(m.sockDir, 0o711); err != nil {
		return fmt.Errorf("plugin socket dir: %w", err)
	}
	m.traversable = true
	return nil
}

func (m *Manager) register(s stopper) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.stoppers[s] = struct{}{}
	return nil
}

func (m *Manager) unregister(s stopper) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.stoppers, s)
}

// Close stops every check and action (in parallel, each plugin gets its
// graceful exit window) and removes the socket directory.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	running := make([]stopper, 0, len(m.stoppers))
	for s := range m.stoppers {
		running = append(running, s)
	}
	m.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
		}()
	}
	wg.Wait()
	if err := os.RemoveAll(m.sockDir); err != nil {
		return fmt.Errorf("plugin socket dir: %w", err)
	}
	return nil
}
