package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/sdk"
)

// revokeGrace bounds how long Stop waits for the plugin to give its rights
// up (a round trip to the quorum) before the process is stopped anyway.
const revokeGrace = 2 * time.Second

// Witness is one supervised witness plugin and its session. Want never
// blocks; Grants delivers the plugin's answers. When the plugin fails, every
// instance it knows is reported GrantUnreachable at once, the plugin is
// restarted with backoff, and the current wishes are sent again.
//
// Delivery policy: like Check, the channel is buffered and the oldest grant
// is dropped when the consumer falls a whole buffer behind (grants are
// states; the newest one per instance is what matters).
type Witness struct {
	m    *Manager
	spec WitnessSpec
	log  zerolog.Logger

	mu    sync.Mutex
	wants map[string]bool // the host's latest wish per instance
	dirty map[string]bool // wishes not yet sent on the current session
	kick  chan struct{}

	grants   chan Grant
	restarts atomic.Uint64
	errs     atomic.Uint64
	dropped  atomic.Uint64
	pid      atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// StartWitness starts the witness's plugin, configures it, and supervises it
// and its session until Stop. ctx bounds the first start only.
func (m *Manager) StartWitness(ctx context.Context, spec WitnessSpec) (*Witness, error) {
	p, err := m.start(ctx, spec.Plugin, sdk.KindWitness, spec.Config)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", spec.Name, err)
	}
	w := &Witness{
		m: m, spec: spec,
		log:    m.log.With().Str("witness", spec.Name).Str("plugin", spec.Plugin.Name).Logger(),
		wants:  map[string]bool{},
		dirty:  map[string]bool{},
		kick:   make(chan struct{}, 1),
		grants: make(chan Grant, m.opts.ResultBuffer),
		done:   make(chan struct{}),
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := m.register(w); err != nil {
		p.kill()
		return nil, fmt.Errorf("witness %s: %w", spec.Name, err)
	}
	w.pid.Store(int64(p.pid))
	go w.run(p)
	return w, nil
}

// Name is the witness's name.
func (w *Witness) Name() string { return w.spec.Name }

// Grant is a plugin's grant with the moment the host received it: the
// right's validity runs from there (ReceivedAt + ValidFor), never from when
// a consumer got round to it.
type Grant struct {
	sdk.Grant
	ReceivedAt time.Time
}

// Grants delivers the plugin's grants; see the type's delivery policy.
func (w *Witness) Grants() <-chan Grant { return w.grants }

// Want records the host's wish for instance and returns at once. Every
// call is sent, repeats included: a repeated wish is the host's heartbeat
// (sdk.WantRenewEvery), and it must come from the loop that would release
// the VIPs, not from here.
func (w *Witness) Want(instance string, want bool) {
	w.mu.Lock()
	w.wants[instance] = want
	w.dirty[instance] = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Restarts counts restart attempts; Errors counts failed sessions.
func (w *Witness) Restarts() uint64 { return w.restarts.Load() }
func (w *Witness) Errors() uint64   { return w.errs.Load() }

// PID is the plugin process id (0 while it is down).
func (w *Witness) PID() int { return int(w.pid.Load()) }

// Stop ends the session (the plugin gives up every right it holds, waited
// for up to revokeGrace) and stops the plugin. Safe to call more than once.
func (w *Witness) Stop() {
	w.cancel()
	<-w.done
}

func (w *Witness) deliver(sg sdk.Grant) {
	g := Grant{Grant: sg, ReceivedAt: time.Now()}
	for {
		select {
		case w.grants <- g:
			return
		default:
		}
		select {
		case <-w.grants:
			w.dropped.Add(1)
		default:
		}
	}
}

// unreachable reports every known instance's right as unknowable.
func (w *Witness) unreachable(reason string) {
	w.mu.Lock()
	names := make([]string, 0, len(w.wants))
	for n := range w.wants {
		names = append(names, n)
	}
	w.mu.Unlock()
	for _, n := range names {
		w.deliver(sdk.Grant{Instance: n, State: sdk.GrantUnreachable, Reason: reason})
	}
}

// run owns the plugin process: one session at a time, restarted with
// backoff when it fails, until Stop.
func (w *Witness) run(p *process) {
	defer close(w.done)
	defer close(w.grants)
	defer w.m.unregister(w)
	bo := newBackoffState(w.m.opts.Backoff)
	for {
		err := w.session(p)
		upFor := time.Since(p.started)
		w.pid.Store(0)
		if w.ctx.Err() != nil {
			p.kill()
			return
		}
		w.errs.Add(1)
		w.log.Warn().Err(err).Int("pid", p.pid).Dur("up", upFor).Msg("witness plugin failed, restarting")
		w.unreachable(fmt.Sprintf("%s: %v", ReasonPluginExited, err))
		p.kill()
		for p = nil; p == nil; {
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(bo.delay(upFor)):
			}
			w.restarts.Add(1)
			np, err := w.m.start(w.ctx, w.spec.Plugin, sdk.KindWitness, w.spec.Config)
			if err != nil {
				if w.ctx.Err() != nil {
					return
				}
				upFor = 0
				w.log.Warn().Err(err).Msg("witness plugin restart failed")
				w.unreachable(fmt.Sprintf("%s: %v", ReasonRestarting, err))
				continue
			}
			p = np
		}
		w.pid.Store(int64(p.pid))
		w.log.Info().Int("pid", p.pid).Uint64("restarts", w.restarts.Load()).Msg("witness plugin restarted")
	}
}

// session runs one Session call: every wish is (re)sent, grants are
// forwarded, until the call fails or Stop.
func (w *Witness) session(p *process) error {
	// The stream's own context, not w.ctx: Stop must be able to end the
	// session gracefully (CloseSend, then wait for the plugin to give its
	// rights up); cancelling the stream would only abort it.
	s, err := p.witness.Session(context.WithoutCancel(w.ctx))
	if err != nil {
		return err
	}
	w.mu.Lock()
	for n := range w.wants {
		w.dirty[n] = true // a new session knows nothing yet
	}
	w.mu.Unlock()
	recvErr := make(chan error, 1)
	go func() {
		for {
			g, err := s.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			w.deliver(g)
		}
	}()
	for {
		if err := w.flush(s); err != nil {
			s.Close()
			<-recvErr
			return err
		}
		select {
		case <-w.kick:
		case err := <-recvErr:
			s.Close()
			if errors.Is(err, io.EOF) {
				return errors.New("session ended")
			}
			return err
		case <-w.ctx.Done():
			// Give the plugin its chance to give every right up before
			// the process goes: it ends the session when it has.
			s.CloseSend()
			select {
			case <-recvErr:
			case <-time.After(revokeGrace):
				w.log.Warn().Msg("witness plugin did not end its session in time; stopping it")
			}
			s.Close()
			return ErrClosed
		}
	}
}

// flush sends every wish not yet sent on this session.
func (w *Witness) flush(s *sdk.WitnessSession) error {
	for {
		w.mu.Lock()
		var name string
		var want bool
		for n := range w.dirty {
			name, want = n, w.wants[n]
			break
		}
		if name != "" {
			delete(w.dirty, name)
		}
		w.mu.Unlock()
		if name == "" {
			return nil
		}
		if err := s.Send(sdk.Want{Instance: name, Want: want}); err != nil {
			w.mu.Lock()
			w.dirty[name] = true
			w.mu.Unlock()
			return err
		}
	}
}
