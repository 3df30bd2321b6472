package sdk

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// The Detail keys of a guard's wire evidence: another VRRP router's latest
// advert the check saw (sdk.Result.SetHeard writes them, HeardOf reads
// them). The host yields a split brain only to a router heard advertising
// within Master_Down_Interval; a guard that watches the wire below any
// packet filter sees adverts a cut VRRP path hides from the instance's
// socket, and none from a hung daemon.
const (
	DetailHeardFrom     = "heard_from"     // the advert's source address
	DetailHeardPriority = "heard_priority" // its priority, 0-255
	DetailHeardAge      = "heard_age"      // how long before ObservedAt it was seen (a Go duration)
)

// Heard is another router's advert as a check saw it.
type Heard struct {
	From     netip.Addr
	Priority uint8
	Age      time.Duration // before the result's ObservedAt
}

// SetHeard records h in r's Detail.
func (r *Result) SetHeard(h Heard) {
	if r.Detail == nil {
		r.Detail = map[string]string{}
	}
	r.Detail[DetailHeardFrom] = h.From.String()
	r.Detail[DetailHeardPriority] = strconv.Itoa(int(h.Priority))
	r.Detail[DetailHeardAge] = h.Age.String()
}

// HeardOf reads the evidence SetHeard recorded: ok false when there is
// none, an error when the keys are there but malformed (a plugin's bad
// reply: the host ignores the evidence and says why).
func HeardOf(r Result) (h Heard, ok bool, err error) {
	from, has := r.Detail[DetailHeardFrom]
	if !has {
		return Heard{}, false, nil
	}
	if h.From, err = netip.ParseAddr(from); err != nil {
		return Heard{}, false, fmt.Errorf("%s %q: %w", DetailHeardFrom, from, err)
	}
	prio, err := strconv.ParseUint(r.Detail[DetailHeardPriority], 10, 8)
	if err != nil {
		return Heard{}, false, fmt.Errorf("%s %q: want 0-255", DetailHeardPriority, r.Detail[DetailHeardPriority])
	}
	h.Priority = uint8(prio)
	if h.Age, err = time.ParseDuration(r.Detail[DetailHeardAge]); err != nil || h.Age < 0 {
		return Heard{}, false, fmt.Errorf("%s %q: want a duration >= 0", DetailHeardAge, r.Detail[DetailHeardAge])
	}
	return h, true, nil
}
