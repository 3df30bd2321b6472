package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ReasonTimeout is the reason of the unknown result reported when a Check
// call outlives the check's timeout.
const ReasonTimeout = "timeout"

// checkServer serves a Checker or Watcher over gRPC in the plugin process.
type checkServer struct {
	pluginv1.UnimplementedCheckServer
	impl Base
}

func (s *checkServer) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	return infoToProto(s.impl.Info()), nil
}

func (s *checkServer) Schema(context.Context, *pluginv1.SchemaRequest) (*pluginv1.SchemaResponse, error) {
	return schemaResponse(s.impl)
}

func (s *checkServer) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, Config{Raw: req.GetConfigJson()}); err != nil {
		return nil, serverError(codes.InvalidArgument, err)
	}
	return &pluginv1.ConfigureResponse{}, nil
}

func (s *checkServer) Watch(req *pluginv1.WatchRequest, stream pluginv1.Check_WatchServer) error {
	interval := req.GetInterval().AsDuration()
	timeout := req.GetTimeout().AsDuration()
	if interval <= 0 {
		return status.Errorf(codes.InvalidArgument, "watch: interval %s must be positive", interval)
	}
	if timeout <= 0 {
		timeout = interval
	}
	// grpc streams allow one concurrent sender; reports and heartbeats
	// come from different goroutines.
	var mu sync.Mutex
	send := func(r *pluginv1.Result) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(r)
	}
	ctx := stream.Context()
	switch impl := s.impl.(type) {
	case Watcher:
		return push(ctx, impl, interval, send)
	case Checker:
		return poll(ctx, impl, interval, timeout, send)
	default:
		return status.Errorf(codes.Unimplemented, "watch: %T is neither a Checker nor a Watcher", s.impl)
	}
}

func schemaResponse(b Base) (*pluginv1.SchemaResponse, error) {
	s, err := schemaToProto(b.Schema())
	if err != nil {
		return nil, serverError(codes.Internal, err)
	}
	return &pluginv1.SchemaResponse{Schema: s}, nil
}

// poll runs c.Check now and then every interval, each call bounded by
// timeout, and sends one result per call until ctx ends. A call that
// overruns is reported as unknown/"timeout" when its deadline passes; its
// late result is dropped. A Check that ignores its context keeps the slot:
// no second call is started while it runs, and every tick it spans reports
// another timeout, so the host keeps seeing the check as unknown.
func poll(ctx context.Context, c Checker, interval, timeout time.Duration, send func(*pluginv1.Result) error) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	var (
		running  chan Result // non-nil while a Check call has not returned
		timedOut bool        // the running call has already been reported
	)
	start := func() {
		running = make(chan Result, 1)
		timedOut = false
		deadline.Reset(timeout)
		go func(out chan<- Result) {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			out <- runCheck(ctx, cctx, c)
		}(running)
	}
	timeoutResult := func(stillRunning bool) *pluginv1.Result {
		r := Result{Status: StatusUnknown, Reason: ReasonTimeout, ObservedAt: time.Now()}
		if stillRunning {
			r.Detail = map[string]string{"still_running": "true"}
		}
		return resultToProto(r)
	}

	start()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-running:
			running = nil
			deadline.Stop()
			if timedOut {
				continue
			}
			if err := send(resultToProto(r)); err != nil {
				return err
			}
		case <-deadline.C:
			if running == nil || timedOut {
				continue
			}
			timedOut = true
			if err := send(timeoutResult(false)); err != nil {
				return err
			}
		case <-ticker.C:
			if running == nil {
				start()
				continue
			}
			if timedOut {
				if err := send(timeoutResult(true)); err != nil {
					return err
				}
			}
		}
	}
}

// runCheck calls c.Check, turning a deadline overrun into the timeout
// result and a panic into unknown, so one bad call never kills the plugin.
func runCheck(parent, ctx context.Context, c Checker) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Status: StatusUnknown, Reason: fmt.Sprintf("check panicked: %v", p), ObservedAt: time.Now()}
		}
	}()
	r = c.Check(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
		return Result{Status: StatusUnknown, Reason: ReasonTimeout, ObservedAt: time.Now()}
	}
	return fillObserved(r, time.Now())
}

// push runs w.Watch until ctx ends and sends every report, plus a heartbeat
// each interval so the host can tell a quiet watcher from a stuck process.
// Watch returning while the host still listens is an error: the host
// restarts the plugin rather than trust a check that stopped watching.
func push(parent context.Context, w Watcher, interval time.Duration, send func(*pluginv1.Result) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	var (
		mu      sync.Mutex
		stopped bool
	)
	report := func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if err := send(resultToProto(fillObserved(r, time.Now()))); err != nil {
			cancel(err)
		}
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if err := send(&pluginv1.Result{Heartbeat: true}); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()

	err := runWatch(ctx, w, report)
	hostStopped := parent.Err() != nil
	mu.Lock()
	stopped = true
	mu.Unlock()
	cancel(nil)
	wg.Wait()

	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // a send failed: the stream is broken
	}
	if hostStopped {
		return nil
	}
	if err == nil {
		err = errors.New("returned before the host stopped it")
	}
	return status.Errorf(codes.Aborted, "watch: %v", err)
}

func runWatch(ctx context.Context, w Watcher, report func(Result)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("watch panicked: %v", p)
		}
	}()
	return w.Watch(ctx, report)
}
