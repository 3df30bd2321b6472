// Package convert translates a keepalived.conf into a hawatch HCL policy,
// so that a site can move one node at a time (hawatch speaks keepalived's
// VRRP on the wire). It only reads the text it is given: no include is
// followed and no file, user or host is looked up.
//
// Convert never drops a keyword silently. Whatever it does not carry over,
// or carries over with a different meaning, comes back as a Warning with
// the keepalived line and is written as a "line N:" comment where it would
// have gone. Input that is not keepalived syntax (unbalanced braces, an
// unterminated quote) is a *SyntaxError naming file:line.
//
// # Syntax read
//
// Blocks `keyword [args] { ... }` (the brace may open on the next line),
// one statement per line, "!" and "#" comments anywhere outside double
// quotes, double-quoted words without escapes. `@id` / `@^id` conditional
// lines are read as `keepalived -i id` reads them when Options.ConfigID is
// set, and dropped with a warning otherwise. `include` and its variants,
// `$NAME=` definitions and `~SEQ` are reported, not expanded.
//
// # What maps to what
//
// global_defs:
//   - router_id → node { name }.
//   - vrrp_rt_priority → node { realtime_priority }; max_auto_priority →
//     node { max_auto_priority }; vrrp_no_swap → node { lock_memory }.
//   - vrrp_version → the default `version` of every instance.
//   - notification_email, notification_email_from, smtp_server HOST [PORT],
//     smtp_helo_name, smtp_connect_timeout → action "mail" (plugin notify,
//     smtp {} block). It is listed in the notify of every instance whose
//     smtp_alert is on, or unset when global smtp_alert / smtp_alert_vrrp
//     is unset too (keepalived then sent no mail: warned). smtp_alert off
//     leaves it out. A sync group lists it only when its smtp_alert (or the
//     global one) is on.
//   - vrrp_garp_master_delay / _repeat / _refresh, vrrp_garp_interval,
//     vrrp_min_garp → the defaults of each instance's garp {}.
//   - enable_script_security, script_user → comments (hawatch runs plugin
//     binaries, each with its own `user`).
//
// vrrp_instance NAME → vrrp_instance "NAME":
//   - interface, virtual_router_id, priority (keepalived's default 100
//     when absent) are copied.
//   - state MASTER|BACKUP → a comment: hawatch elects by priority only.
//     Priority 255 → address_owner = true.
//   - version, else global vrrp_version, else keepalived's default 2, is
//     always written (hawatch's own default is 3); IPv6 VIPs force 3.
//   - advert_int → advert_interval: whole seconds (1..255) for VRRPv2,
//     10 ms steps for v3; a value that must be rounded is warned about.
//   - authentication { auth_type PASS; auth_pass X } → auth_pass, cut to
//     the 8 bytes keepalived sends. AH, or any auth with VRRPv3, is
//     dropped with a warning.
//   - auth_hmac { key N VALUE|file:PATH; active_key; time_window S;
//     anti_replay; mode } (keepalived 2.4) → auth_hmac { key "N" { value |
//     file } ... } with time_window in seconds; `authentication` beside it
//     is dropped with a warning, as keepalived refuses the pair.
//   - virtual_ipaddress: the address (a bare one becomes /32 or /128, as
//     keepalived adds it) → virtual_ips; dev, label, scope, brd and other
//     options are warned about. VIPs of the other family than the first
//     are dropped (one instance serves one family).
//   - unicast_src_ip → unicast_source; unicast_peer {} → unicast_peers,
//     and a peer with min_ttl / max_ttl → unicast_peer "ADDR" { min_ttl
//     max_ttl }; unicast_ttl → unicast_ttl.
//   - nopreempt → preempt = false; preempt_delay → preempt_delay.
//   - garp_master_delay / garp_master_repeat / garp_master_refresh →
//     garp { delay, repeat, refresh } over the global defaults.
//   - use_vmac [NAME] → vmac { name }; vmac_xmit_base → xmit_base = true
//     (added with a warning when unicast peers need it); a MAC given to
//     use_vmac is dropped (hawatch uses the RFC 5798 one), as is a vmac of
//     an IPv6 instance or of the address owner; use_ipvlan is not
//     converted (an ipvlan shares its parent's MAC: nothing to move).
//   - track_script { NAME [weight W [reverse]] } and track_process {} →
//     track "NAME" blocks. The weight is the entry's, else the script's.
//     Weight 0 → a FAULT track (`track "x" {}`); a negative weight is
//     copied; a positive W (keepalived adds W while passing) becomes
//     weight = -W (hawatch subtracts while failing: same gap, warned).
//     reverse cannot be expressed and is left as a TODO comment. A weight
//     on a member of a vrrp_sync_group becomes FAULT, as keepalived zeroes
//     it (unless sync_group_tracking_weight).
//   - notify, notify_master, notify_backup, notify_fault, notify_stop →
//     one action per distinct script (plugin notify, exec { command, args }),
//     listed in notify. The exec sink appends INSTANCE|GROUP name STATE
//     priority as keepalived's `notify` did; for the per-state forms the
//     action's comment explains that the script now runs on every
//     transition and must check STATE (warned). A user/group after the
//     script is warned about.
//
// vrrp_script NAME → check "NAME" with interval, timeout, rise and fall
// carried over, by what the script does:
//   - killall -0 P, pidof P, pgrep [-x] P, pgrep -f RE, pgrep -F FILE,
//     ps ... | grep P [| grep -v grep], ps -C P, systemctl is-active P,
//     service P status → plugin "process" (name, cmdline or pidfile).
//   - curl/wget http://H:P/path [| grep TEXT] → plugin "tcpprobe" with
//     http { path } (and expect); https → a connect-only probe (warned in
//     the comment); nc -z H P and bash's </dev/tcp/H/P → a connect-only
//     tcpprobe.
//   - a script whose name or command says split brain (or dual master)
//     → plugin "splitbrain" for the VIP and interface of the first
//     instance tracking it, peer_app from any `nc -z H P` in it; its
//     tracks use effect = "yield".
//   - `sh -c '...'` is unwrapped; redirections are ignored.
//   - anything else → a commented-out check with a TODO and a warning, and
//     its tracks as TODO comments: hawatch has no shell-script plugin by
//     design. The policy still loads; the operator fills the gap.
//
// vrrp_track_process NAME → check "NAME" (plugin process): process P
// alone → name; with parameters, full_command or param_match → cmdline
// (an anchored regular expression of the words); quorum → min,
// quorum_max → max, the longer of fork_delay/terminate_delay/delay →
// debounce. Its default weight is keepalived's 1.
//
// Strict mode (strict.go): vrrp_strict, or strict_mode on every
// instance, → node { strict = true }, unless an instance is not strict or
// keeps what strict mode refuses (unicast peers, auth_hmac); then each
// strict instance gets strict mode's effects written out (accept = false,
// garp {} with one packet). Either way the settings keepalived resets or
// ignores under strict mode are dropped with a warning each:
// authentication, preempt_delay, accept on VRRPv2, garp repeats and
// refresh (and hawatch's delayed second burst), down_timer_adverts,
// higher_prio_send_advert, lower_prio_no_advert off and
// garp_lower_prio_repeat. accept → accept = true,
// no_accept → accept = false. nftables, nftables_priority -1,
// nftables_ifindex and nftables_counters become notes (hawatch always uses
// its own nftables table); another nftables_priority, vrrp_iptables and
// vrrp_ipsets are warned about.
//
// vrrp_sync_group NAME { group { A B } } → sync_group "NAME" { instances };
// its notify scripts as above; its track_script entries are added to each
// member instance (hawatch tracks per instance).
//
// virtual_ipaddress options → virtual_ip "ADDR" blocks (dev, label,
// scope, brd → broadcast, no_track; the address stays in virtual_ips);
// virtual_ipaddress_excluded → excluded_ips (or virtual_ip blocks with
// excluded = true when they carry options); virtual_routes and
// virtual_rules → virtual_route and virtual_rule blocks; mcast_src_ip →
// mcast_source (unicast_source on a unicast instance); "via A or B" →
// nexthops; static_ipaddress, static_routes and static_rules → the static
// block. Route and rule options hawatch has no attribute for (mtu, tos,
// realms, ...) are warned about one by one; nexthop lists with weights,
// rt_tables names and rule actions other than a table lookup skip their
// line with a warning.
//
// track_file / vrrp_track_file, vrrp_startup_delay, vrrp_delay_after_boot
// and the timing knobs (down_timer_adverts, lower_prio_no_advert,
// higher_prio_send_advert, garp_lower_prio_repeat / _delay): see
// trackfile.go.
//
// track_interface { eth1; eth2 weight -20 } → track_interface "eth1" {}
// and track_interface "eth2" { weight = -20 } (same weight semantics; a
// sync group's entries go to each member); interface_up_down_delays {
// eth0 0.2 1 } → interface "eth0" { down_delay, up_delay }. Like
// keepalived, hawatch puts an instance in FAULT when its interface is
// gone, set down or without carrier; linkbeat_use_polling and
// linkbeat_interfaces become notes (carrier comes from netlink), and
// dont_track_primary is not converted (see link.go).
//
// Not converted, with a warning each: LVS (virtual_server and friends),
// BFD, use_ipvlan, notify FIFOs, multicast group settings, TTL checks,
// track_interface's reverse.
package convert
