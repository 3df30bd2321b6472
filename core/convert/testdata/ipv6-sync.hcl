# hawatch policy converted from ipv6-sync.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 2).
node {
  name = "lb6" # router_id
}

# Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).
plugin "process" {
  command = "hawatch-process"
  user    = "nobody" # only reads /proc and pid files
}

plugin "tcpprobe" {
  command = "hawatch-tcpprobe"
  user    = "nobody" # only opens TCP connections
}

plugin "notify" {
  command = "hawatch-notify"
  # runs the notify scripts as this user; set user to drop root
}

# vrrp_script chk_nginx (line 6) ran `pgrep -x nginx`.
# The process plugin is told about process deaths by the kernel instead of polling.
check "chk_nginx" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script chk_api (line 11) ran `/bin/bash -c 'curl -s http://[2001:db8::10]:8080/ready | grep
# -q ready'`.
# curl without --fail succeeded on any HTTP status; tcpprobe wants 200 (set http.status otherwise).
check "chk_api" {
  plugin   = "tcpprobe"
  interval = "2s"
  config {
    address = "[2001:db8::10]:8080"
    expect  = "ready"
    http {
      path = "/ready"
    }
  }
}

# vrrp_track_process nginx_proc (line 16): process nginx.
check "nginx_proc" {
  plugin = "process"
  config {
    name     = "nginx"
    min      = 2
    debounce = "500ms"
  }
}

# keepalived notify_backup `/etc/keepalived/group.sh backup` ran it only on entering BACKUP, with
# just the arguments written there. The notify plugin runs it on every transition and appends
# INSTANCE|GROUP name STATE priority, so the script must return at once unless STATE (the
# second-to-last argument; also $HAWATCH_TO) is BACKUP.
# Listed by vrrp_sync_group G1 (line 31).
action "group_backup" {
  plugin = "notify"
  config {
    exec {
      command = "/etc/keepalived/group.sh"
      args    = ["backup"]
    }
  }
}

# keepalived notify_fault `/etc/keepalived/group_fault.sh` ran it only on entering FAULT, with just
# the arguments written there. The notify plugin runs it on every transition and appends
# INSTANCE|GROUP name STATE priority, so the script must return at once unless STATE (the
# second-to-last argument; also $HAWATCH_TO) is FAULT.
# Listed by vrrp_sync_group G1 (line 32).
action "group_fault" {
  plugin = "notify"
  config {
    exec {
      command = "/etc/keepalived/group_fault.sh"
    }
  }
}

# vrrp_instance VI_4 (lines 35-55).
vrrp_instance "VI_4" {
  # line 40: advert_int 1.6s: VRRPv2 advertises in whole seconds from 1s to 255s; 2s is used
  # line 41: auth_pass is longer than 8 bytes; keepalived used only the first 8, and so does the
  # policy
  # line 47: virtual IP 2001:db8::80/64 is IPv6 but the instance's first VIP is IPv4; skipped (make
  # a second vrrp_instance for it)
  # line 50: track_script chk_nginx: keepalived set its weight -20 to 0 because VI_4 is in
  # vrrp_sync_group G1 (no sync_group_tracking_weight); it becomes a FAULT track, as keepalived ran
  # it
  # line 53: track_process nginx_proc: keepalived set its weight -40 to 0 because VI_4 is in
  # vrrp_sync_group G1 (no sync_group_tracking_weight); it becomes a FAULT track, as keepalived ran
  # it
  interface         = "eth0"
  virtual_router_id = 71
  priority          = 120
  version           = 2
  advert_interval   = "2s"
  auth_pass         = "longer t" # authentication { auth_type PASS }
  virtual_ips       = ["198.51.100.80/24"]

  track "chk_nginx" {}  # track_script: failure means FAULT
  track "nginx_proc" {} # track_process: failure means FAULT
  track "chk_api" {}    # track_script of vrrp_sync_group G1: failure means FAULT
}

# vrrp_instance VI_6 (lines 57-74).
vrrp_instance "VI_6" {
  # line 63: authentication dropped: VRRPv3 has none (keepalived ignores it for version 3 too)
  # line 68: VRRPv2 carries IPv4 only; this IPv6 instance uses version 3, as keepalived does
  # line 69: zone %eth0 dropped from fe80::50: the instance's interface is implied
  interface         = "eth0"
  virtual_router_id = 71
  priority          = 120
  version           = 3 # IPv6 needs VRRPv3
  advert_interval   = "500ms"
  virtual_ips       = ["2001:db8::50/64", "fe80::50/128"]
  unicast_peers     = ["2001:db8::12"]

  track "chk_api" {} # track_script of vrrp_sync_group G1: failure means FAULT
}

# vrrp_sync_group G1 (line 23).
sync_group "G1" {
  # line 23: hawatch tracks checks per instance: the group's track_script/track_process entries are
  # on each member.
  instances = ["VI_4", "VI_6"]
  notify    = ["group_backup", "group_fault"]
}

