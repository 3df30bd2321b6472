package engine

import (
	"sync"
	"time"
)

// Event is one entry of the node's event stream.
type Event struct {
	Type     string // "transition" or "check"
	At       time.Time
	Instance string
	Group    string
	From, To string
	Priority int
	Check    string
	Status   string
	Up       bool
	Reason   string
	Detail   string
}

// eventHub fans events out to subscribers. Subscribers are called on the
// loop's goroutine and must not block: a slow one loses events rather than
// slowing VRRP.
type eventHub struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
}

func newEventHub() *eventHub { return &eventHub{subs: map[int]func(Event){}} }

func (h *eventHub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, deliver := range h.subs {
		deliver(ev)
	}
}

// Subscribe calls deliver with every event from now on, on the loop's
// goroutine: deliver must not block (drop what does not fit). The returned
// function ends the subscription; deliver is not called after it returns.
func (e *Engine) Subscribe(deliver func(Event)) (cancel func()) {
	h := e.events
	h.mu.Lock()
	id := h.next
	h.next++
	h.subs[id] = deliver
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}
