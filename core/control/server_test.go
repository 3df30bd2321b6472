package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type fakeBackend struct {
	demoted   map[string]bool
	reload    error
	demoteErr error
	events    chan Event
}

func (f *fakeBackend) Status(context.Context) (Status, error) {
	return Status{Instances: []InstanceStatus{{Name: "VI_1", State: "MASTER"}}}, nil
}
func (f *fakeBackend) Reload(context.Context) error { return f.reload }
func (f *fakeBackend) Demote(_ context.Context, name string, demote bool) error {
	if f.demoteErr != nil {
		return f.demoteErr
	}
	if name == "nope" {
		return fmt.Errorf(`instance "nope": %w`, ErrNotFound)
	}
	f.demoted[name] = demote
	return nil
}
func (f *fakeBackend) Subscribe() (<-chan Event, func()) { return f.events, func() {} }

func serve(t *testing.T, b Backend) *Client {
	t.Helper()
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(shared, "run", "hawatch.sock")
	s, err := Listen(zerolog.Nop(), path, -1, b)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	// A second socket straight in a shared directory leaves its mode alone.
	s2, err := Listen(zerolog.Nop(), filepath.Join(shared, "other.sock"), -1, b)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o755 {
		t.Errorf("shared directory mode changed to %v", fi.Mode().Perm())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o750 {
		t.Errorf("socket dir mode %v, want 0750", di.Mode().Perm())
	}
	return NewClient(path)
}

func TestControlSocket(t *testing.T) {
	b := &fakeBackend{demoted: map[string]bool{}, events: make(chan Event, 1)}
	c := serve(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var st struct {
		Instances []struct{ Name, State string }
	}
	if err := c.Do(ctx, "GET", "/v1/status", nil, &st); err != nil || len(st.Instances) != 1 || st.Instances[0].State != "MASTER" {
		t.Fatalf("status: %v %+v", err, st)
	}

	if os.Geteuid() == 0 {
		// SO_PEERCRED says root: mutating calls are allowed.
		if err := c.Do(ctx, "POST", "/v1/demote", map[string]string{"instance": "VI_1"}, nil); err != nil || !b.demoted["VI_1"] {
			t.Fatalf("demote: %v %v", err, b.demoted)
		}
		if err := c.Do(ctx, "POST", "/v1/promote", map[string]string{}, nil); err != nil || b.demoted[""] {
			t.Fatalf("promote all: %v %v", err, b.demoted)
		}
		var se *StatusError
		if err := c.Do(ctx, "POST", "/v1/demote", map[string]string{"instance": "nope"}, nil); !errors.As(err, &se) || se.Code != 404 {
			t.Fatalf("demote unknown: %v", err)
		}
		b.reload = &ReloadError{Diagnostics: "x.hcl:3:5: Error: bad"}
		if err := c.Do(ctx, "POST", "/v1/reload", nil, nil); !errors.As(err, &se) || se.Code != 422 || !strings.Contains(se.Message, "x.hcl:3:5") {
			t.Fatalf("rejected reload: %v", err)
		}
		for _, tc := range []struct {
			err  error
			code int
		}{
			{fmt.Errorf("reload in progress: %w", ErrConflict), 409},
			{Mark(errors.New("a reload is already in progress"), ErrConflict), 409},
			{fmt.Errorf("engine: %w", context.DeadlineExceeded), 504},
			{fmt.Errorf("engine not running: %w", ErrUnavailable), 503},
			{errors.New("disk full"), 500},
		} {
			b.demoteErr = tc.err
			if err := c.Do(ctx, "POST", "/v1/demote", nil, nil); !errors.As(err, &se) || se.Code != tc.code || se.Message != tc.err.Error() {
				t.Errorf("demote failing with %q: %v, want HTTP %d with the message", tc.err, err, tc.code)
			}
		}
	} else {
		var se *StatusError
		if err := c.Do(ctx, "POST", "/v1/reload", nil, nil); !errors.As(err, &se) || se.Code != 403 {
			t.Fatalf("non-root reload: %v, want 403", err)
		}
	}

	body, err := c.Stream(ctx, "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b.events <- Event{Type: "transition", To: "MASTER"}
	line, err := bufio.NewReader(body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"to":"MASTER"`) {
		t.Fatalf("event stream: %q %v", line, err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hawatch.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(zerolog.Nop(), path, -1, &fakeBackend{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("Listen clobbered a regular file")
	}
}
