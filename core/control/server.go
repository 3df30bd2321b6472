// Package control is hawatch's control socket: HTTP+JSON over a unix
// socket (status, reload, demote/promote, an event stream), with mutating
// calls limited to root or the socket's group by SO_PEERCRED.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/hawatch/hawatch/internal/httpserve"
)

// Backend is what the control socket serves; the daemon implements it.
// Errors wrapping ErrNotFound, ErrConflict or ErrUnavailable, a
// *ReloadError and context timeouts get their own HTTP status (see
// httpStatus); anything else is a 500.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	// Reload re-reads and applies the config. A *ReloadError carries
	// diagnostics for the caller.
	Reload(ctx context.Context) error
	// Demote puts instance (all, when empty) into maintenance or takes it
	// out.
	Demote(ctx context.Context, instance string, demote bool) error
	// Subscribe streams events until cancel is called; events that do not
	// fit the channel are dropped, never waited for.
	Subscribe() (events <-chan Event, cancel func())
}

// ReloadError is a rejected reload: nothing changed.
type ReloadError struct {
	Diagnostics string
}

func (e *ReloadError) Error() string { return "reload rejected:\n" + e.Diagnostics }

// Server serves one control socket.
type Server struct {
	log     zerolog.Logger
	backend Backend
	path    string
	gid     int // group allowed to mutate, besides root; -1 for none
	srv     *httpserve.Server
}

type peerKey struct{}

// Listen creates the socket at path: its directory 0750, the socket 0660,
// both owned by root and group gid (-1 keeps root's group).
func Listen(log zerolog.Logger, path string, gid int, b Backend) (*Server, error) {
	// The directory is made 0750 only when we create it: the socket may
	// live in a shared directory (/run) whose mode is not ours to change.
	dir := filepath.Dir(path)
	created := false
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("control socket dir %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o750); err != nil {
			return nil, fmt.Errorf("control socket dir %s: %w", dir, err)
		}
		created = true
	}
	// A stale socket from a crash would make Listen fail; remove it only if
	// it is a socket (never follow or delete something else).
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, 0, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket: %w", err)
		}
		if created {
			_ = os.Chown(dir, 0, gid)
		}
	}
	s := &Server{log: log, backend: b, path: path, gid: gid}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("POST /v1/reload", s.mutating(s.reload))
	mux.HandleFunc("POST /v1/demote", s.mutating(s.demote(true)))
	mux.HandleFunc("POST /v1/promote", s.mutating(s.demote(false)))
	mux.HandleFunc("GET /v1/events", s.events)
	s.srv = httpserve.New(&http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		// Pollers that keep connections open must not pile them up.
		IdleTimeout: 30 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if cred, err := peerCred(c); err == nil {
				return context.WithValue(ctx, peerKey{}, cred)
			}
			return ctx
		},
	}, ln)
	return s, nil
}

// Serve blocks until Close.
func (s *Server) Serve() error { return s.srv.Serve() }

// closeGrace is how long a call under way may take to answer once Close
// has cancelled it.
const closeGrace = time.Second

// Close stops the server and removes the socket. Calls under way are
// cancelled and event streams end; Close returns once every connection's
// goroutine and Serve have returned.
func (s *Server) Close() error {
	err := s.srv.Stop(closeGrace)
	_ = os.Remove(s.path)
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error string `json:"error"`
}

// fail answers with err's status and message.
func fail(w http.ResponseWriter, err error) {
	var re *ReloadError
	if errors.As(err, &re) {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{re.Diagnostics})
		return
	}
	writeJSON(w, httpStatus(err), errorBody{err.Error()})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// mutating allows root and members of the socket's group only: primary or
// supplementary (read from /proc for the connected process).
func (s *Server) mutating(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, ok := r.Context().Value(peerKey{}).(Cred)
		if !ok || !(cred.UID == 0 || (s.gid >= 0 && cred.inGroup(uint32(s.gid)))) {
			s.log.Warn().Uint32("uid", cred.UID).Uint32("gid", cred.GID).Str("path", r.URL.Path).Msg("control call refused")
			writeJSON(w, http.StatusForbidden, errorBody{"permission denied: root or the control socket's group only"})
			return
		}
		h(w, r)
	}
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if err := s.backend.Reload(r.Context()); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "reloaded"})
}

type demoteRequest struct {
	Instance string `json:"instance"` // empty: all
}

func (s *Server) demote(demote bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req demoteRequest
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
				writeJSON(w, http.StatusBadRequest, errorBody{"bad request: " + err.Error()})
				return
			}
		}
		if err := s.backend.Demote(r.Context(), req.Instance, demote); err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
	}
}

// events streams newline-delimited JSON until the client goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ch, cancel := s.backend.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if err := enc.Encode(ev); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}
