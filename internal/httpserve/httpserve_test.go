package httpserve

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connCount is a ConnState hook counting connections opened and ended.
type connCount struct {
	mu          sync.Mutex
	opened, end int
}

func (c *connCount) hook(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateNew:
		c.opened++
	case http.StateClosed, http.StateHijacked:
		c.end++
	}
}

func (c *connCount) counts() (opened, ended int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, c.end
}

// A stream that runs until its client leaves is ended by Stop, well before
// the grace period, and Stop returns only once its connection's goroutine
// has: the caller's hook has seen the connection end.
func TestStopEndsStreamsAndJoinsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cc connCount
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "open\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "pong\n") })
	s := New(&http.Server{Handler: mux, ConnState: cc.hook}, ln)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()

	// One idle keep-alive connection besides the stream (a transport of
	// its own, or the stream would reuse it).
	idle, streams := &http.Transport{}, &http.Transport{}
	defer idle.CloseIdleConnections()
	defer streams.CloseIdleConnections()
	resp, err := (&http.Client{Transport: idle}).Get("http://" + ln.Addr().String() + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	stream, err := (&http.Client{Transport: streams}).Get("http://" + ln.Addr().String() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if line, err := bufio.NewReader(stream.Body).ReadString('\n'); err != nil || line != "open\n" {
		t.Fatalf("stream: %q, %v", line, err)
	}

	const grace = 10 * time.Second // a stream left to run out the grace fails
	start := time.Now()
	if err := s.Stop(grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(start); d > grace/2 {
		t.Errorf("Stop took %v: the stream was not ended", d)
	}
	if opened, ended := cc.counts(); opened != 2 || ended != opened {
		t.Errorf("when Stop returned: %d connections opened, %d ended; want 2 and 2", opened, ended)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	// The client's end of the stream is over too (this would block).
	_, _ = io.ReadAll(stream.Body)
}

// A handler that ignores its context is given the grace period, then its
// connection is closed; Stop still waits for the handler to return.
func TestStopAfterGraceClosesAndWaits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cc connCount
	entered, release := make(chan struct{}), make(chan struct{})
	returned := make(chan struct{})
	s := New(&http.Server{ConnState: cc.hook, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		close(entered)
		<-release
	})}, ln)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	got := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(time.Millisecond) }()
	// Stop's grace runs out while the handler holds on; the connection is
	// closed under it (the client sees an error), and Stop waits on.
	if err := <-got; err == nil {
		t.Error("the client got an answer from a handler still running")
	}
	close(release)
	if err := <-stopped; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v, want the grace period's deadline", err)
	}
	select {
	case <-returned:
	default:
		t.Error("Stop returned before the handler did")
	}
	if opened, ended := cc.counts(); opened != 1 || ended != 1 {
		t.Errorf("when Stop returned: %d connections opened, %d ended; want 1 and 1", opened, ended)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// Stop before Serve: Serve returns at once and the listener is closed.
func TestStopBeforeServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(&http.Server{Handler: http.NotFoundHandler()}, ln)
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after Stop")
	}
}
