package vrrp

import "time"

// SkewTime returns Skew_Time for a router of the given priority listening to
// a master that advertises every masterAdverInterval.
//
// v3 (RFC 5798 §6.1): ((256 − Priority) × Master_Adver_Interval) / 256, so
// the skew scales with the interval. v2 (RFC 3768 §6.1): (256 − Priority) /
// 256 seconds, whatever the interval; keepalived computes the same.
//
// The arithmetic is in int64 nanoseconds: the largest product, 255 × 40.95 s,
// is about 1e13 ns, far from overflow (keepalived once overflowed 32 bits
// here and made a priority-1 backup wait 4288 s instead of 9.96 s).
func SkewTime(version, priority uint8, masterAdverInterval time.Duration) time.Duration {
	weight := time.Duration(256 - int(priority))
	if version == 2 {
		return weight * time.Second / 256
	}
	return weight * masterAdverInterval / 256
}

// MasterDownInterval returns Master_Down_Interval =
// 3 × Master_Adver_Interval + Skew_Time (RFC 5798 §6.1, RFC 3768 §6.1).
func MasterDownInterval(version, priority uint8, masterAdverInterval time.Duration) time.Duration {
	return 3*masterAdverInterval + SkewTime(version, priority, masterAdverInterval)
}

// MasterDownIntervalN is Master_Down_Interval with n advert intervals
// instead of the RFC's 3 (keepalived down_timer_adverts):
// n × Master_Adver_Interval + Skew_Time.
func MasterDownIntervalN(version, priority uint8, masterAdverInterval time.Duration, n int) time.Duration {
	return time.Duration(n)*masterAdverInterval + SkewTime(version, priority, masterAdverInterval)
}
