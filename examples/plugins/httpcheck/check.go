package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/hawatch/hawatch/sdk"
	"github.com/rs/zerolog"
)

// config is the plugin's `config {}` block, already validated by hawatch
// against schema() and delivered as JSON.
type config struct {
	URL    string  `json:"url"`
	Status float64 `json:"status"`
}

// httpCheck is a poll-form check: the SDK calls Check every interval with
// the check's timeout as the context deadline.
type httpCheck struct {
	log    zerolog.Logger
	client *http.Client

	mu  sync.Mutex
	cfg config
}

func newHTTPCheck(log zerolog.Logger) *httpCheck {
	return &httpCheck{
		log: log,
		client: &http.Client{
			// A health endpoint answers itself; following a redirect
			// would judge some other page.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (c *httpCheck) Info() sdk.Info {
	return sdk.Info{Name: "httpcheck", Kind: sdk.KindCheck, Version: "1.0.0"}
}

func (c *httpCheck) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "url", Type: sdk.TypeString, Required: true, Description: "URL to GET (http or https)"},
		{Name: "status", Type: sdk.TypeNumber, Default: 200, Description: "expected response status"},
	}}
}

func (c *httpCheck) Configure(_ context.Context, raw sdk.Config) error {
	var cfg config
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("url %q: want http:// or https:// with a host", cfg.URL)
	}
	if cfg.Status < 100 || cfg.Status > 599 || cfg.Status != float64(int(cfg.Status)) {
		return fmt.Errorf("status %v: want an HTTP status code (100-599)", cfg.Status)
	}
	c.mu.Lock()
	c.cfg = cfg
	c.mu.Unlock()
	c.log.Info().Str("url", cfg.URL).Int("status", int(cfg.Status)).Msg("configured")
	return nil
}

func (c *httpCheck) Check(ctx context.Context) sdk.Result {
	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()

	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		return sdk.Fail("GET %s: %v", cfg.URL, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			// The SDK reports this call as unknown/"timeout" itself.
			return sdk.Result{Status: sdk.StatusUnknown, Reason: "timeout"}
		}
		return sdk.Fail("GET %s: %v", cfg.URL, err)
	}
	// Drain a little so the connection can be reused, then close.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	took := time.Since(start)

	r := sdk.Result{Detail: map[string]string{
		"status":     strconv.Itoa(resp.StatusCode),
		"latency_ms": strconv.FormatFloat(float64(took.Microseconds())/1000, 'f', 1, 64),
	}}
	if resp.StatusCode != int(cfg.Status) {
		r.Status, r.Reason = sdk.StatusFail, fmt.Sprintf("GET %s: status %d, want %d", cfg.URL, resp.StatusCode, int(cfg.Status))
		return r
	}
	r.Status, r.Reason = sdk.StatusOK, fmt.Sprintf("GET %s: %d in %v", cfg.URL, resp.StatusCode, took.Round(time.Millisecond))
	return r
}
