package engine

import (
	"container/heap"
	"time"

	"github.com/hawatch/hawatch/core/vrouter"
)

// deadlines orders the routers by their next deadline (one timer for all
// instances): the loop waits for the first and ticks only the routers
// whose deadline has come. Asking every router twice per wake-up instead
// would cost 255 instances at 10 ms ~10 % of a core on the backup.
//
// A router's deadline changes only when it is stepped; step re-arms it
// (and its sync group's members, which a step may move too).
type deadlines []*binding

func (h deadlines) Len() int { return len(h) }

// Less puts routers without a deadline (zero) last.
func (h deadlines) Less(i, j int) bool {
	a, b := h[i].deadline, h[j].deadline
	if a.IsZero() || b.IsZero() {
		return !a.IsZero() && b.IsZero()
	}
	return a.Before(b)
}

func (h deadlines) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timerIdx, h[j].timerIdx = i+1, j+1
}

func (h *deadlines) Push(x any) {
	b := x.(*binding)
	*h = append(*h, b)
	b.timerIdx = len(*h)
}

func (h *deadlines) Pop() any {
	old := *h
	b := old[len(old)-1]
	*h = old[:len(old)-1]
	b.timerIdx = 0
	return b
}

// update re-reads b's deadline and moves it to its place.
func (h *deadlines) update(b *binding) {
	if b.r == nil {
		return
	}
	b.deadline = b.r.NextDeadline()
	if b.timerIdx == 0 {
		heap.Push(h, b)
		return
	}
	heap.Fix(h, b.timerIdx-1)
}

// first is the earliest deadline; zero: none.
func (h deadlines) first() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].deadline
}

// rebuild makes the heap hold exactly bindings (after a reload).
func (h *deadlines) rebuild(bindings []*binding) {
	for _, b := range *h {
		b.timerIdx = 0
	}
	*h = (*h)[:0]
	for _, b := range bindings {
		if b.r != nil {
			b.deadline = b.r.NextDeadline()
			*h = append(*h, b)
			b.timerIdx = len(*h)
		}
	}
	heap.Init(h)
}

// due takes the routers whose deadline is at or before now out of the
// order (each is put back when stepped) and appends them to out.
func (h *deadlines) due(now time.Time, out []*binding) []*binding {
	for len(*h) > 0 {
		d := (*h)[0].deadline
		if d.IsZero() || d.After(now) {
			break
		}
		out = append(out, heap.Pop(h).(*binding))
	}
	return out
}

// step steps b's router, carries out what it decided and re-arms the
// deadlines it may have moved.
func (e *Engine) step(now time.Time, b *binding, in vrouter.Input) {
	e.apply(now, b.r.Step(now, in))
	if group := e.groupOf[b.cfg.Name]; group != nil {
		for _, name := range group {
			if m := e.byName[name]; m != nil {
				e.timers.update(m)
			}
		}
		return
	}
	e.timers.update(b)
}
