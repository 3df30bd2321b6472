// Package httpserve serves an http.Server so that stopping it ends every
// goroutine it started. http.Server.Shutdown leaves behind connections
// whose handler does not return (an event stream) once its timeout
// passes, and neither Shutdown nor Close waits for a connection's
// goroutine to return; a daemon that joins its goroutines needs both.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is one http.Server on one listener.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc // ends every request's context

	mu      sync.Mutex
	stopped bool
	serving sync.WaitGroup // Serve, while it runs
	conns   sync.WaitGroup // one per connection, until its goroutine ends
}

// New prepares srv to be served on ln. It takes over srv's BaseContext (so
// that Stop can cancel every request) and wraps its ConnState hook (which
// still runs). srv must not be used directly afterwards.
func New(srv *http.Server, ln net.Listener) *Server {
	base, cancel := context.WithCancel(context.Background())
	s := &Server{srv: srv, ln: ln, cancel: cancel}
	srv.BaseContext = func(net.Listener) context.Context { return base }
	hook := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		// StateNew is reported by the accept loop before it starts the
		// connection's goroutine; StateClosed or StateHijacked is the last
		// thing that goroutine does.
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			defer s.conns.Done()
		}
		if hook != nil {
			hook(c, st)
		}
	}
	return s
}

// Serve accepts connections until Stop; it returns nil then, or the
// listener's error if it fails first. Called after Stop, it closes the
// listener and returns nil at once.
func (s *Server) Serve() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = s.ln.Close()
		return nil
	}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Stop ends the server: every request's context is cancelled (a handler
// streaming until its client leaves returns now), responses under way get
// up to grace to finish, and the connections still open after that are
// closed. Stop returns once Serve and the goroutine of every connection
// have returned. It returns the Shutdown error when grace ran out.
func (s *Server) Stop(grace time.Duration) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	err := s.srv.Shutdown(ctx)
	cancel()
	// Once Serve has returned no connection can be added; Close then ends
	// those Shutdown gave up on and any accepted while it was closing the
	// listener.
	s.serving.Wait()
	_ = s.srv.Close()
	_ = s.ln.Close() // when Serve never ran

	s.conns.Wait()
	return err
}
