package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hawatch/hawatch/sdk"
)

// config is the plugin's `config {}` block. The tags are the whole schema:
// hawatch checks names, types, defaults and bounds (`hawatch validate`
// reports a mistake at its line), and the SDK decodes into this struct.
type config struct {
	URL    string `hawatch:"url,required" doc:"URL to GET (http or https)"`
	Status int    `hawatch:"status,min=100,max=599" default:"200" doc:"expected response status"`
}

// Validate adds what tags cannot say; the SDK calls it after decoding.
func (c *config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("url %q: want http:// or https:// with a host", c.URL)
	}
	return nil
}

// httpCheck is a poll-form check: the SDK calls Check every interval with
// the check's timeout as the context deadline. Configured supplies Schema,
// Configure and Config (the current config, safe to read at any time).
type httpCheck struct {
	sdk.Configured[config]
	client *http.Client
}

func newHTTPCheck() *httpCheck {
	return &httpCheck{
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

func (c *httpCheck) Check(ctx context.Context) sdk.Result {
	cfg := c.Config()

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
	if resp.StatusCode != cfg.Status {
		r.Status, r.Reason = sdk.StatusFail, fmt.Sprintf("GET %s: status %d, want %d", cfg.URL, resp.StatusCode, cfg.Status)
		return r
	}
	r.Status, r.Reason = sdk.StatusOK, fmt.Sprintf("GET %s: %d in %v", cfg.URL, resp.StatusCode, took.Round(time.Millisecond))
	return r
}
