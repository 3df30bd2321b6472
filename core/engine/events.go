package engine

import (
	"sync"
	"time"
)

// Event is one entry of the node's event stream (GET /v1/events).
type Event struct {
	Type     string    `json:"type"` // "transition" or "check"
	At       time.Time `json:"at"`
	Instance string    `json:"instance,omitempty"`
	Group    string    `json:"group,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Priority int       `json:"priority,omitempty"`
	Check    string    `json:"check,omitempty"`
	Status   string    `json:"status,omitempty"`
	Up       bool      `json:"up,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// eventHub fans events out to subscribers. A slow subscriber loses events
// (counted) rather than slowing the VRRP loop.
type eventHub struct {
	mu      sync.Mutex
	subs    map[chan Event]struct{}
	dropped uint64
}

func newEventHub() *eventHub { return &eventHub{subs: map[chan Event]struct{}{}} }

func (h *eventHub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			h.dropped++
		}
	}
}

// Subscribe returns a channel of events and a function that ends the
// subscription.
func (e *Engine) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	h := e.events
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}
