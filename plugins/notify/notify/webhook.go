package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrPermanent marks a webhook answer that retrying cannot fix (a 4xx
// other than 408 and 429, or a redirect).
var ErrPermanent = errors.New("permanent failure")

// Payload is the JSON body of a webhook POST.
type Payload struct {
	Event    string    `json:"event"` // always "transition"
	Node     string    `json:"node"`
	Instance string    `json:"instance,omitempty"`
	Group    string    `json:"group,omitempty"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Priority int       `json:"priority"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	// FencingToken is the witness grant's revision (absent without one).
	FencingToken int64 `json:"fencing_token,omitempty"`
}

var webhookClient = &http.Client{
	// A POST silently turned into a GET by a redirect would look like a
	// delivery; refuse redirects and report them.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// postWebhook POSTs ev as JSON, retrying transient failures with doubling
// backoff, within the call's deadline.
func postWebhook(ctx context.Context, s *webhookSettings, ev event) error {
	body, err := json.Marshal(Payload{
		Event: "transition", Node: ev.Node, Instance: ev.Instance, Group: ev.Group,
		From: ev.From, To: ev.To, Priority: ev.Priority, Reason: ev.Reason, At: ev.At.UTC(), FencingToken: ev.FencingToken,
	})
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	backoff := s.backoff
	var last error
	attempts := 0
	for attempt := 0; attempt <= s.retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s: %d attempts, gave up at the deadline: %w", s.url, attempts, last)
			case <-t.C:
			}
			backoff *= 2
		}
		attempts++
		last = postOnce(ctx, s, body)
		if last == nil || errors.Is(last, ErrPermanent) {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if last != nil {
		return fmt.Errorf("%s: %d attempts: %w", s.url, attempts, last)
	}
	return nil
}

func postOnce(ctx context.Context, s *webhookSettings, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hawatch-notify/"+Version)
	resp, err := webhookClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("status %d: %s", code, strings.TrimSpace(string(snippet)))
	default:
		return fmt.Errorf("%w: status %d: %s", ErrPermanent, code, strings.TrimSpace(string(snippet)))
	}
}
