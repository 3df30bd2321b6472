package engine

import (
	"time"

	"github.com/hawatch/hawatch/internal/realtime"
)

// loopStats is what the loop knows of its own timeliness.
type loopStats struct {
	// polled: the loop polls its sockets itself (locked to its own thread
	// in realtime mode).
	polled bool
	// late counts wake-ups later than lateFraction of the shortest
	// advert interval after the deadline they were for.
	late uint64
	// worst is the largest lateness seen.
	worst time.Duration
	// priority is the loop thread's SCHED_RR priority (0: normal), raised
	// by escalation up to node.max_auto_priority.
	priority    int
	escalations uint64
	// slack is how long after a deadline the loop wakes (slackFraction of
	// the shortest advert interval), so that every router due within it is
	// ticked in the same wake-up.
	slack time.Duration
}

// slackFraction: the loop wakes a hundredth of the shortest advert
// interval after the nearest deadline (0.1 ms at 10 ms adverts) and ticks
// every router due by then. Routers ticked together stay together (their
// next adverts are due at the same time), so a hundred masters at 100 ms
// wake the loop ten times a second, not a thousand; an advert or a
// takeover is never more than that hundredth late.
const slackFraction = 100

// lateFraction: a wake-up later than this fraction of the shortest advert
// interval counts as late (and escalates): at a quarter, a backup that is
// late three times in a row still has a skew time of margin before a
// master's adverts would be missed.
const lateFraction = 4

// realtimeLoop: the policy asks for realtime scheduling, so the loop gets
// an OS thread of its own.
func (e *Engine) realtimeLoop() bool {
	return e.cfg.Node.RealtimePriority > 0 || e.cfg.Node.MaxAutoPriority > 0
}

// loopStarted runs on the loop's goroutine (its locked thread in realtime
// mode) before its first wait.
func (e *Engine) loopStarted() {
	e.loop.polled = true
	e.loop.priority = e.cfg.Node.RealtimePriority
	e.loop.slack = e.shortestInterval() / slackFraction
}

// late checks the wake-up at now for a deadline: past the bound it is
// counted, logged (rate-limited) and, with node.max_auto_priority, the loop
// thread's realtime priority goes up one step, as keepalived's
// max_auto_priority does for its VRRP process.
func (e *Engine) late(now, deadline time.Time) {
	if deadline.IsZero() {
		return
	}
	by := now.Sub(deadline) // deadline includes the slack: that is on purpose
	if by < time.Millisecond || by < e.shortestInterval()/lateFraction {
		return
	}
	e.loop.late++
	e.loop.worst = max(e.loop.worst, by)
	top := e.cfg.Node.MaxAutoPriority
	if top == 0 || e.loop.priority >= top {
		if e.limiter.allow("loop-late") {
			e.log.Warn().Dur("late", by).Int("realtime_priority", e.loop.priority).Msg("VRRP loop woke up late")
		}
		return
	}
	prio := e.loop.priority + 1
	if err := realtime.ApplyThread(prio); err != nil {
		if e.limiter.allow("loop-escalate") {
			e.log.Warn().Err(err).Dur("late", by).Msg("VRRP loop woke up late; raising its realtime priority failed")
		}
		return
	}
	e.loop.priority = prio
	e.loop.escalations++
	e.log.Warn().Dur("late", by).Int("realtime_priority", prio).Int("max_auto_priority", top).
		Msg("VRRP loop woke up late: its thread's realtime priority raised")
}

// shortestInterval is the shortest advert interval of any instance.
func (e *Engine) shortestInterval() time.Duration {
	var d time.Duration
	for _, b := range e.bindings {
		if i := b.cfg.AdvertInterval; d == 0 || i < d {
			d = i
		}
	}
	return d
}
