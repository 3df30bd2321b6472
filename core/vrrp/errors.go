package vrrp

import "errors"

// Drop reasons. Every advert the receive path discards is discarded for one of
// these, so the loop can count drops per reason (see DropReason) without
// parsing error text. Decoding returns them wrapped with detail; test with
// errors.Is.
var (
	// ErrTTL: the IPv4 TTL or IPv6 hop limit was not 255 (RFC 5798 §5.1.1.3,
	// §7.1). The codec never sees the IP header; the loop checks it and uses
	// this sentinel so the drop is counted like the others.
	ErrTTL = errors.New("ttl/hop limit is not 255")
	// ErrNotMulticast: a multicast instance received an advert addressed to
	// something other than its VRRP group (a unicast-addressed packet, which
	// can come from off-link; RFC 5798 §5.1.1.2 sends adverts to the group).
	ErrNotMulticast = errors.New("advert not sent to the vrrp multicast group")
	// ErrVersion: the version nibble is neither 2 nor 3, or differs from the
	// instance's configured version (§7.1).
	ErrVersion = errors.New("wrong vrrp version")
	// ErrType: the type nibble is not 1 (ADVERTISEMENT) (§5.2.2).
	ErrType = errors.New("wrong vrrp packet type")
	// ErrTruncated: the message is shorter than its header and address count
	// say it must be.
	ErrTruncated = errors.New("truncated vrrp message")
	// ErrLength: the message is longer than its header and address count say,
	// by more than Ethernet minimum-frame padding can explain.
	ErrLength = errors.New("vrrp message longer than its address count")
	// ErrChecksum: the checksum does not verify in any accepted form.
	ErrChecksum = errors.New("bad vrrp checksum")
	// ErrAddrCount: the advert carries no addresses (RFC 9568 erratum 8299),
	// or more than fit in the count field when encoding.
	ErrAddrCount = errors.New("bad address count")
	// ErrZeroInterval: the advert interval is 0 (RFC 9568 erratum 8301).
	ErrZeroInterval = errors.New("zero advertisement interval")
	// ErrAuthType: v2 auth type unknown, unsupported (IPsec AH) or different
	// from the configured one (RFC 3768 §7.1).
	ErrAuthType = errors.New("wrong or unsupported v2 auth type")
	// ErrAuth: v2 simple-text password mismatch (RFC 3768 §7.1).
	ErrAuth = errors.New("v2 authentication failed")
	// ErrInterval: v2 advert interval differs from the configured one, which
	// RFC 3768 §7.1 says MUST be discarded; or an interval that does not fit
	// the wire field when encoding.
	ErrInterval = errors.New("advertisement interval mismatch")
	// ErrVRID: the VRID is not the instance's (§7.1).
	ErrVRID = errors.New("vrid not configured")
	// ErrFamily: address family of the advert and of its IP header (or of the
	// instance) disagree, or v2 over IPv6.
	ErrFamily = errors.New("address family mismatch")
	// ErrAddrList: v2 only: the address list differs from ours and the sender
	// is not the owner, which RFC 3768 §7.1 says MUST be dropped. (v3 only
	// logs this; see WarnAddressList.)
	ErrAddrList = errors.New("address list mismatch")
	// ErrOwnAdvert: the advert came from our own address (multicast loop).
	ErrOwnAdvert = errors.New("own advertisement")
	// auth_hmac outcomes (keepalived 2.4): no trailer where one is
	// required; a trailer that does not parse; a key id not configured; a
	// MAC that does not verify; a sequence outside the time window; a
	// sequence not after the last one accepted from that sender.
	ErrHMACMissing    = errors.New("hmac trailer missing")
	ErrHMACMalformed  = errors.New("hmac trailer malformed")
	ErrHMACUnknownKey = errors.New("hmac key id not configured")
	ErrHMAC           = errors.New("hmac does not verify")
	ErrHMACStale      = errors.New("hmac sequence outside the time window")
	ErrHMACReplay     = errors.New("hmac sequence replayed")
	// ErrPeer: the source of a unicast advert is not an allowed peer. The
	// transport checks this; the sentinel lives here so all drop reasons
	// share one label space.
	ErrPeer = errors.New("source is not an allowed unicast peer")
)

// dropLabels is ordered: the first sentinel that matches names the drop.
var dropLabels = []struct {
	err   error
	label string
}{
	{ErrTTL, "ttl"},
	{ErrNotMulticast, "not_multicast"},
	{ErrVersion, "version"},
	{ErrType, "type"},
	{ErrTruncated, "truncated"},
	{ErrLength, "length"},
	{ErrChecksum, "checksum"},
	{ErrAddrCount, "addr_count"},
	{ErrZeroInterval, "zero_interval"},
	{ErrAuthType, "auth_type"},
	{ErrAuth, "auth"},
	{ErrInterval, "interval"},
	{ErrVRID, "vrid"},
	{ErrFamily, "family"},
	{ErrAddrList, "addr_list"},
	{ErrOwnAdvert, "own"},
	{ErrPeer, "peer"},
	{ErrHMACMissing, "hmac_missing"},
	{ErrHMACMalformed, "hmac_malformed"},
	{ErrHMACUnknownKey, "hmac_unknown_key"},
	{ErrHMAC, "hmac_bad"},
	{ErrHMACStale, "hmac_stale"},
	{ErrHMACReplay, "hmac_replay"},
}

// DropReason returns a short, stable label for a receive error, meant for a
// metric label ("ttl", "checksum", ...). It returns "" for nil and "other"
// for errors that are not one of this package's drop sentinels.
func DropReason(err error) string {
	if err == nil {
		return ""
	}
	for _, d := range dropLabels {
		if errors.Is(err, d.err) {
			return d.label
		}
	}
	return "other"
}

// DropReasons lists every label DropReason can return for a non-nil error,
// so metrics can be pre-registered at zero.
func DropReasons() []string {
	out := make([]string, 0, len(dropLabels)+1)
	for _, d := range dropLabels {
		out = append(out, d.label)
	}
	return append(out, "other")
}
