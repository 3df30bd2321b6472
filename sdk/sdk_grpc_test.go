package sdk_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/hawatch/hawatch/sdk/sdktest"
)

// mockCheck is a Checker built from function fields.
type mockCheck struct {
	InfoF      func() sdk.Info
	SchemaF    func() sdk.Schema
	ConfigureF func(context.Context, sdk.Config) error
	CheckF     func(context.Context) sdk.Result
}

func (m *mockCheck) Info() sdk.Info {
	if m.InfoF == nil {
		return sdk.Info{Name: "mock", Kind: sdk.KindCheck, Version: "1"}
	}
	return m.InfoF()
}

func (m *mockCheck) Schema() sdk.Schema {
	if m.SchemaF == nil {
		return sdk.Schema{}
	}
	return m.SchemaF()
}

func (m *mockCheck) Configure(ctx context.Context, c sdk.Config) error {
	if m.ConfigureF == nil {
		return nil
	}
	return m.ConfigureF(ctx, c)
}

func (m *mockCheck) Check(ctx context.Context) sdk.Result { return m.CheckF(ctx) }

// mockWatch is a Watcher built from function fields.
type mockWatch struct {
	mockCheck
	WatchF func(context.Context, func(sdk.Result)) error
}

func (m *mockWatch) Watch(ctx context.Context, report func(sdk.Result)) error {
	return m.WatchF(ctx, report)
}

// mockAction is an Action built from function fields.
type mockAction struct {
	mockCheck
	NotifyF func(context.Context, sdk.Transition) error
}

func (m *mockAction) Notify(ctx context.Context, t sdk.Transition) error { return m.NotifyF(ctx, t) }

func TestCheckOverGRPC(t *testing.T) {
	var configured atomic.Value
	impl := &mockCheck{
		InfoF: func() sdk.Info { return sdk.Info{Name: "probe", Kind: sdk.KindCheck, Version: "0.1"} },
		SchemaF: func() sdk.Schema {
			return sdk.Schema{
				Attributes: []sdk.Attribute{
					{Name: "port", Type: sdk.TypeNumber, Required: true},
					{Name: "paths", Type: sdk.TypeListString, Default: []string{"/a", "/b"}},
					{Name: "every", Type: sdk.TypeDuration, Default: "1s"},
				},
				Blocks: []sdk.BlockSchema{{Name: "tls", Schema: sdk.Schema{Attributes: []sdk.Attribute{{Name: "verify", Type: sdk.TypeBool, Default: true}}}}},
			}
		},
		ConfigureF: func(_ context.Context, c sdk.Config) error {
			var v struct {
				Port int `json:"port"`
			}
			if err := c.Decode(&v); err != nil {
				return err
			}
			if v.Port == 0 {
				return errors.New("port must be set")
			}
			configured.Store(v.Port)
			return nil
		},
		CheckF: func(context.Context) sdk.Result {
			return sdk.Result{Status: sdk.StatusFail, Reason: "refused", Detail: map[string]string{"port": "80"}}
		},
	}
	c := sdktest.Check(t, impl)
	ctx := t.Context()

	info, err := c.Info(ctx)
	if err != nil || info != (sdk.Info{Name: "probe", Kind: sdk.KindCheck, Version: "0.1"}) {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	schema, err := c.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := schema.Attributes[1].Default; len(got.([]string)) != 2 {
		t.Errorf("list default = %#v", got)
	}
	if got := schema.Blocks[0].Schema.Attributes[0].Default; got != true {
		t.Errorf("nested default = %#v", got)
	}
	if err := c.Configure(ctx, sdk.Config{Raw: []byte(`{"port":0}`)}); err == nil || !strings.Contains(err.Error(), "port must be set") {
		t.Errorf("Configure error = %v, want the plugin's message", err)
	}
	if err := c.Configure(ctx, sdk.Config{Raw: []byte(`{"port":8080}`)}); err != nil {
		t.Fatal(err)
	}
	if configured.Load() != 8080 {
		t.Errorf("configured port = %v", configured.Load())
	}

	stream, err := c.Watch(ctx, time.Hour, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	r, hb, err := stream.Recv()
	if err != nil || hb {
		t.Fatalf("Recv = %+v, %v, %v", r, hb, err)
	}
	if r.Status != sdk.StatusFail || r.Reason != "refused" || r.Detail["port"] != "80" || r.ObservedAt.IsZero() {
		t.Errorf("result = %+v", r)
	}
}

func TestCheckTimeoutOverGRPC(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	impl := &mockCheck{CheckF: func(ctx context.Context) sdk.Result {
		<-release // ignores its context: the worst case
		return sdk.OK("late")
	}}
	c := sdktest.Check(t, impl)
	stream, err := c.Watch(t.Context(), time.Hour, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	r, _, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != sdk.StatusUnknown || r.Reason != sdk.ReasonTimeout {
		t.Errorf("result = %+v, want unknown/timeout", r)
	}
}

func TestWatcherOverGRPC(t *testing.T) {
	impl := &mockWatch{WatchF: func(ctx context.Context, report func(sdk.Result)) error {
		report(sdk.OK("up"))
		report(sdk.Fail("down"))
		<-ctx.Done()
		return nil
	}}
	c := sdktest.Check(t, impl)
	stream, err := c.Watch(t.Context(), 10*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var got []string
	heartbeats := 0
	for len(got) < 2 || heartbeats < 1 {
		r, hb, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if hb {
			heartbeats++
			continue
		}
		got = append(got, r.Status.String()+":"+r.Reason)
	}
	if strings.Join(got, ",") != "ok:up,fail:down" {
		t.Errorf("reports = %v", got)
	}
}

func TestWatcherReturningEarlyEndsStream(t *testing.T) {
	impl := &mockWatch{WatchF: func(ctx context.Context, report func(sdk.Result)) error {
		return errors.New("lost the pid")
	}}
	c := sdktest.Check(t, impl)
	stream, err := c.Watch(t.Context(), time.Hour, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	_, _, err = stream.Recv()
	if err == nil || !strings.Contains(err.Error(), "lost the pid") {
		t.Errorf("Recv error = %v, want the watcher's error", err)
	}
}

func TestActionOverGRPC(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	var got sdk.Transition
	var hadDeadline bool
	impl := &mockAction{
		mockCheck: mockCheck{InfoF: func() sdk.Info { return sdk.Info{Name: "notify", Kind: sdk.KindAction} }},
		NotifyF: func(ctx context.Context, tr sdk.Transition) error {
			_, hadDeadline = ctx.Deadline()
			got = tr
			if tr.To == "FAULT" {
				return errors.New("smtp: connection refused")
			}
			return nil
		},
	}
	c := sdktest.Action(t, impl)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	want := sdk.Transition{Instance: "vi_1", Group: "g", From: "BACKUP", To: "MASTER", Priority: 150, Reason: "master down timer", At: at}
	if err := c.Notify(ctx, want); err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(at) || got.Instance != want.Instance || got.Priority != 150 || got.Reason != want.Reason || got.From != "BACKUP" || got.To != "MASTER" || got.Group != "g" {
		t.Errorf("plugin saw %+v, want %+v", got, want)
	}
	if !hadDeadline {
		t.Error("the plugin's context had no deadline")
	}
	if err := c.Notify(ctx, sdk.Transition{To: "FAULT"}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Notify error = %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Kind != sdk.KindAction {
		t.Errorf("Info = %+v, %v", info, err)
	}
}
