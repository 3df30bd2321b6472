package sdk

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
)

type funcChecker struct {
	Base
	f func(context.Context) Result
}

func (c funcChecker) Check(ctx context.Context) Result { return c.f(ctx) }

// recorder collects what poll/push send, stamped with the fake clock.
type recorder struct {
	mu   sync.Mutex
	got  []recorded
	zero time.Time
}

type recorded struct {
	at        time.Duration
	status    Status
	reason    string
	heartbeat bool
}

func (r *recorder) send(p *pluginv1.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := resultFromProto(p)
	r.got = append(r.got, recorded{at: time.Since(r.zero), status: res.Status, reason: res.Reason, heartbeat: p.GetHeartbeat()})
	return nil
}

func (r *recorder) list() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.got...)
}

func TestPollSchedule(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		timeout  time.Duration
		check    func(ctx context.Context, call int) Result
		run      time.Duration
		want     []recorded
	}{
		{
			name:     "one result per interval, first at once",
			interval: time.Second, timeout: 500 * time.Millisecond,
			check: func(context.Context, int) Result { return OK("fine") },
			run:   2500 * time.Millisecond,
			want: []recorded{
				{at: 0, status: StatusOK, reason: "fine"},
				{at: time.Second, status: StatusOK, reason: "fine"},
				{at: 2 * time.Second, status: StatusOK, reason: "fine"},
			},
		},
		{
			name:     "a check honouring its deadline is reported as timeout",
			interval: time.Second, timeout: 300 * time.Millisecond,
			check: func(ctx context.Context, call int) Result {
				if call == 1 {
					<-ctx.Done()
					return Fail("%v", ctx.Err())
				}
				return OK("fine")
			},
			run: 1500 * time.Millisecond,
			want: []recorded{
				{at: 300 * time.Millisecond, status: StatusUnknown, reason: ReasonTimeout},
				{at: time.Second, status: StatusOK, reason: "fine"},
			},
		},
		{
			name:     "a check ignoring its context blocks new calls and reports timeout every tick",
			interval: time.Second, timeout: 200 * time.Millisecond,
			check: func(ctx context.Context, call int) Result {
				if call == 1 {
					time.Sleep(2500 * time.Millisecond) // fake clock: hangs past two ticks
					return OK("late, dropped")
				}
				return OK("recovered")
			},
			run: 3500 * time.Millisecond,
			want: []recorded{
				{at: 200 * time.Millisecond, status: StatusUnknown, reason: ReasonTimeout},
				{at: time.Second, status: StatusUnknown, reason: ReasonTimeout},
				{at: 2 * time.Second, status: StatusUnknown, reason: ReasonTimeout},
				{at: 3 * time.Second, status: StatusOK, reason: "recovered"},
			},
		},
		{
			name:     "a panicking check is unknown, the loop survives",
			interval: time.Second, timeout: time.Second,
			check: func(ctx context.Context, call int) Result {
				if call == 1 {
					panic("nil map")
				}
				return OK("fine")
			},
			run: 1500 * time.Millisecond,
			want: []recorded{
				{at: 0, status: StatusUnknown, reason: "check panicked: nil map"},
				{at: time.Second, status: StatusOK, reason: "fine"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				calls := 0
				c := funcChecker{f: func(ctx context.Context) Result {
					mu.Lock()
					calls++
					n := calls
					mu.Unlock()
					return tt.check(ctx, n)
				}}
				rec := &recorder{zero: time.Now()}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- poll(ctx, c, tt.interval, tt.timeout, rec.send) }()
				time.Sleep(tt.run)
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("poll: %v", err)
				}
				got := rec.list()
				if len(got) != len(tt.want) {
					t.Fatalf("got %d results %+v, want %+v", len(got), got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("result %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
				synctest.Wait() // let a hung check's goroutine finish inside the bubble
			})
		})
	}
}

type funcWatcher struct {
	Base
	f func(context.Context, func(Result)) error
}

func (w funcWatcher) Watch(ctx context.Context, report func(Result)) error { return w.f(ctx, report) }

func TestPushHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := funcWatcher{f: func(ctx context.Context, report func(Result)) error {
			report(OK("running"))
			time.Sleep(1500 * time.Millisecond)
			report(Fail("exited"))
			<-ctx.Done()
			return nil
		}}
		rec := &recorder{zero: time.Now()}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- push(ctx, w, time.Second, rec.send) }()
		time.Sleep(2500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("push: %v", err)
		}
		want := []recorded{
			{at: 0, status: StatusOK, reason: "running"},
			{at: time.Second, heartbeat: true},
			{at: 1500 * time.Millisecond, status: StatusFail, reason: "exited"},
			{at: 2 * time.Second, heartbeat: true},
		}
		got := rec.list()
		if len(got) != len(want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}
