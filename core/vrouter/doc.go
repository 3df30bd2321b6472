// Package vrouter is the pure per-instance layer of a hawatch node: one
// Router per VRRP instance (RFC 5798's "virtual router"), holding the
// vrrp.Machine and every decision around it that used to be spread over
// the engine: the priority ledger (check results with rise/fall, weights,
// unknown-result holds), fault, demotion holds (operator maintenance,
// checks not reported yet, the split-brain yield), the receive filter for
// the instance's delivery mode, the encoded adverts, the VIP and
// announcement intents and the notifications.
//
// It has the shape of etcd-io/raft's Step/Ready: the application feeds
// inputs with Router.Step and carries out the Ready it gets back; it does
// I/O only (sockets, one timer, check feeds, VIP workers) and keeps no copy
// of any router's state. Inputs that describe conditions (check results,
// maintenance, tracks) are idempotent, so nobody outside has to remember
// what was said last. Nothing here touches the network, the clock or a log.
//
// Tests drive routers with golden scripts (testdata/*.txt) on an injected
// clock, like core/vrrp's.
package vrouter
