package sdk

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrPluginShutdown is returned by host-side clients when the plugin process
// has exited or its connection is gone. The host turns it into an `unknown`
// result and a restart, never into a crash.
var ErrPluginShutdown = errors.New("plugin exited")

// ErrUnimplemented is returned when the plugin does not serve the called
// service, e.g. a check client talking to an action plugin.
var ErrUnimplemented = errors.New("not served by this plugin")

// BaseClient is the host's view of the calls every plugin kind answers.
type BaseClient interface {
	Info(ctx context.Context) (Info, error)
	Schema(ctx context.Context) (Schema, error)
	Configure(ctx context.Context, cfg Config) error
}

var (
	_ BaseClient = (*CheckClient)(nil)
	_ BaseClient = (*ActionClient)(nil)
	_ BaseClient = (*WitnessClient)(nil)
)

// callContext ties a request to the plugin's lifetime so a call to a dead
// plugin fails at once instead of waiting for its deadline.
func callContext(ctx, exited context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(exited, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// clientError maps a gRPC error from a plugin call onto the SDK's errors:
// ErrPluginShutdown when the process or connection is gone, the caller's
// context error when that expired, otherwise the plugin's own message.
func clientError(op string, ctx, exited context.Context, err error) error {
	if err == nil {
		return nil
	}
	if exited.Err() != nil {
		return fmt.Errorf("%s: %w", op, ErrPluginShutdown)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%s: %w: %s", op, ErrPluginShutdown, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
	case codes.Unimplemented:
		return fmt.Errorf("%s: %w: %s", op, ErrUnimplemented, st.Message())
	case codes.Canceled:
		return fmt.Errorf("%s: %w", op, context.Canceled)
	default:
		return fmt.Errorf("%s: %s", op, st.Message())
	}
}

// serverError carries a plugin's error to the host as its message.
func serverError(code codes.Code, err error) error {
	if err == nil {
		return nil
	}
	return status.Error(code, err.Error())
}
