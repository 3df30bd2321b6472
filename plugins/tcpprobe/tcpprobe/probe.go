package tcpprobe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// Version is reported in Info.
const Version = "0.1.0"

// DefaultTimeout bounds a probe whose context has no deadline (the SDK
// always sets one from the check's timeout; this is a backstop).
const DefaultTimeout = 5 * time.Second

// readLimit caps what is read while looking for `expect`.
const readLimit = 64 << 10

// ErrNotConfigured is returned before a successful Configure.
var ErrNotConfigured = errors.New("tcpprobe: Check before Configure")

// Plugin is the "tcpprobe" check in poll form (sdk.Checker).
type Plugin struct {
	sdk.Configured[Config]
	now func() time.Time
}

var _ sdk.Checker = (*Plugin)(nil)

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{now: time.Now} }

// Info implements sdk.Base.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{Name: "tcpprobe", Kind: sdk.KindCheck, Version: Version}
}

// Check implements sdk.Checker. A connection that cannot be made, a wrong
// answer or the deadline passing are failures; only the host cancelling
// the call (shutdown) gives unknown.
func (p *Plugin) Check(ctx context.Context) sdk.Result {
	cfg := p.Config()
	if cfg == nil {
		return sdk.Result{Status: sdk.StatusUnknown, Reason: ErrNotConfigured.Error()}
	}
	s := cfg.s
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	return p.probe(ctx, s)
}

func (p *Plugin) probe(ctx context.Context, s *settings) sdk.Result {
	start := p.now()
	detail := map[string]string{"address": s.address}
	done := func(r sdk.Result) sdk.Result {
		detail["latency"] = p.now().Sub(start).String()
		r.Detail = detail
		return r
	}
	fail := func(format string, args ...any) sdk.Result {
		if errors.Is(ctx.Err(), context.Canceled) {
			return done(sdk.Result{Status: sdk.StatusUnknown, Reason: s.address + ": probe cancelled"})
		}
		return done(sdk.Fail(s.address+": "+format, args...))
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.address)
	if err != nil {
		return fail("connect: %v", unwrapOp(err))
	}
	defer conn.Close()
	detail["connect"] = p.now().Sub(start).String()

	// Reads and writes obey the same deadline as the dial; a cancel
	// unblocks them too.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	switch {
	case s.http != nil:
		return p.probeHTTP(conn, s, start, detail, done, fail)
	case s.send != nil || s.expect != "":
		if s.send != nil {
			if _, err := conn.Write(s.send); err != nil {
				return fail("send: %v", unwrapOp(err))
			}
		}
		if s.expect != "" {
			n, err := readUntil(conn, s.expect)
			detail["read_bytes"] = strconv.Itoa(n)
			if err != nil {
				return fail("expected %q, not in %d bytes read: %v", s.expect, n, unwrapOp(err))
			}
			return done(sdk.OK("%s: %q received in %s", s.address, s.expect, p.now().Sub(start).Round(time.Microsecond)))
		}
	}
	return done(sdk.OK("%s: connected in %s", s.address, p.now().Sub(start).Round(time.Microsecond)))
}

func (p *Plugin) probeHTTP(conn net.Conn, s *settings, start time.Time, detail map[string]string,
	done func(sdk.Result) sdk.Result, fail func(string, ...any) sdk.Result) sdk.Result {
	h := s.http
	req := "GET " + h.path + " HTTP/1.1\r\nHost: " + h.host + "\r\nUser-Agent: hawatch-tcpprobe/" + Version +
		"\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fail("GET %s: send: %v", h.path, unwrapOp(err))
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodGet})
	if err != nil {
		return fail("GET %s: %v", h.path, unwrapOp(err))
	}
	defer resp.Body.Close()
	detail["status"] = strconv.Itoa(resp.StatusCode)
	if resp.StatusCode != h.status {
		return fail("GET %s: status %d, want %d", h.path, resp.StatusCode, h.status)
	}
	if s.expect != "" {
		n, err := readUntil(resp.Body, s.expect)
		detail["read_bytes"] = strconv.Itoa(n)
		if err != nil {
			return fail("GET %s: expected %q, not in %d body bytes: %v", h.path, s.expect, n, unwrapOp(err))
		}
	}
	return done(sdk.OK("%s: GET %s %d in %s", s.address, h.path, resp.StatusCode, p.now().Sub(start).Round(time.Microsecond)))
}

// readUntil reads r until want appears, the reader ends, or readLimit
// bytes have been read, and returns how many bytes it read.
func readUntil(r io.Reader, want string) (int, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 4096)
	for buf.Len() < readLimit {
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if strings.Contains(buf.String(), want) {
			return buf.Len(), nil
		}
		if err != nil {
			return buf.Len(), err
		}
	}
	return buf.Len(), fmt.Errorf("gave up after %d bytes", readLimit)
}

// unwrapOp drops the *net.OpError prefix ("dial tcp 127.0.0.1:1:") that
// repeats the address already in the reason.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
