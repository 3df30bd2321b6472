# hawatch policy converted from unsupported.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 6):
# line 7: lvs_id not converted: LVS/IPVS is not part of hawatch
# line 8: vrrp_mcast_group4 not converted: hawatch always uses the standard VRRP group 224.0.0.18
# line 9: notify_fifo not converted: use `hawatch events` (JSON lines) or a notify action
# line 10: smtp_alert_checker not converted: LVS checkers are not part of hawatch
# line 11: notification_email not converted: no vrrp_instance or sync group sends VRRP mail

# Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).
plugin "notify" {
  command = "hawatch-notify"
  # runs the notify scripts as this user; set user to drop root
}

# TODO vrrp_script chk_weird (line 31) ran `/usr/local/bin/check.sh`.
# hawatch runs no shell scripts (by design): replace it with a plugin check (process for a daemon,
# tcpprobe for a port or an HTTP URL, splitbrain for a second-master guard, or your own plugin built
# with sdk/), then uncomment this block and the tracks of it in the instances below.
# line 33: init_fail not converted: a hawatch check cannot start as failed
# line 35: frobnicate not converted: hawatch has no equivalent
# check "chk_weird" {
#   plugin = "TODO"
# }

# keepalived notify_stop `/etc/keepalived/stop.sh now` ran it only when VRRP stopped, with just the
# arguments written there. The notify plugin runs it on every transition and appends INSTANCE|GROUP
# name STATE priority, so the script must return at once unless STATE (the second-to-last argument;
# also $HAWATCH_TO) is INIT.
# Listed by vrrp_instance VI_1 (line 52).
action "stop" {
  plugin = "notify"
  config {
    exec {
      command = "/etc/keepalived/stop.sh"
      args    = ["now"]
    }
  }
}

# vrrp_instance VI_1 (lines 38-55).
vrrp_instance "VI_1" {
  # line 38: smtp_alert is off, so the mail action is not listed in notify.
  # line 42: mcast_src_ip not converted: hawatch sends multicast adverts from the interface's
  # primary address
  # line 44: virtual IP 198.51.100.95/24: "brd 198.51.100.255 scope global no_track" not converted
  # (hawatch adds the address with the kernel's defaults)
  # line 46: virtual_routes {...} not converted: hawatch manages addresses only; add routes from a
  # notify action
  # line 50: track_script chk_weird: reverse cannot be expressed (a hawatch track acts when its
  # check fails); left as a TODO comment
  # line 53: notify_deleted not converted: hawatch does not report DELETED
  # line 54: strict_mode not converted: hawatch has no strict mode
  interface         = "eth0"
  virtual_router_id = 90
  priority          = 90
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.95/24"]

  # TODO track "chk_weird" (track_script weight 10 reverse, line 50)

  notify = ["stop"]
}

# Not converted:
# - line 2: include /etc/keepalived/conf.d/*.conf not followed: merge the included file into this
# one (or convert it on its own) first
# - line 3: parameter definition "$IFACE=eth0" not supported; substitute it by hand
# - line 4: conditional configuration "@lb1": the line was skipped; convert each node's file with
# --config-id ID (keepalived's -i ID)
# - line 18: static_ipaddress {...} not converted: hawatch manages only the virtual IPs; configure
# static addresses with the system's network tools
# - line 22: virtual_server {...} not converted: LVS/IPVS load balancing is not part of hawatch
