# hawatch policy converted from features.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 2).
node {
  # line 6: min_auto_priority_delay: hawatch escalates when its loop wakes up later than a quarter
  # of the shortest advert interval (at least 1 ms); not converted
  # line 11: enable_script_security: hawatch runs no scripts; it starts plugin binaries only, by
  # absolute path or from node.plugin_dir, optionally pinned with plugin.sha256.
  # line 12: script_user keepalived_script: give each plugin its own `user` instead; the converted
  # process and tcpprobe plugins run as "nobody".
  name              = "lb-features" # router_id
  realtime_priority = 10            # vrrp_rt_priority
  max_auto_priority = 20            # max_auto_priority
  lock_memory       = true          # vrrp_no_swap
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

# vrrp_script chk_haproxy (line 25) ran `pidof haproxy`.
# The process plugin is told about process deaths by the kernel instead of polling every 500ms.
check "chk_haproxy" {
  plugin   = "process"
  interval = "500ms"
  timeout  = "1s"
  rise     = 2
  fall     = 3
  config {
    name = "haproxy"
  }
}

# vrrp_script chk_web (line 34) ran `/usr/bin/curl -sf -o /dev/null --max-time 2
# http://198.51.100.11:8080/healthz`.
check "chk_web" {
  plugin   = "tcpprobe"
  interval = "2s"
  fall     = 2
  config {
    address = "198.51.100.11:8080"
    http {
      path = "/healthz"
    }
  }
}

# vrrp_script chk_redis (line 41) ran `nc -z -w 1 198.51.100.11 6379`.
check "chk_redis" {
  plugin   = "tcpprobe"
  interval = "1s"
  config {
    address = "198.51.100.11:6379"
  }
}

# TODO vrrp_script chk_db (line 47) ran `/usr/local/bin/check_db.sh --quick`.
# hawatch runs no shell scripts (by design): replace it with a plugin check (process for a daemon,
# tcpprobe for a port or an HTTP URL, splitbrain for a second-master guard, or your own plugin built
# with sdk/), then uncomment this block and the tracks of it in the instances below.
# line 51: user nobody not converted: a check runs as its plugin's user (process and tcpprobe:
# "nobody")
# check "chk_db" {
#   plugin   = "TODO"
#   interval = "5s"
# }

# Mail on every state change, from global_defs notification_email / smtp_server (keepalived's
# smtp_alert). Plain SMTP, no TLS or authentication: use a local relay.
# Listed by vrrp_instance VI_WEB.
action "mail" {
  plugin = "notify"
  config {
    node = "lb-features"
    smtp {
      server          = "mail.example.org:2525"
      from            = "ha@example.org"
      to              = ["ops@example.org", "oncall@example.org"]
      helo            = "lb-features.example.org"
      connect_timeout = "10s"
    }
  }
}

# keepalived notify `/etc/keepalived/notify.sh web`: the notify plugin runs it on every transition
# with the same arguments keepalived passed: INSTANCE|GROUP name STATE priority (STATE is INIT where
# keepalived said STOP).
# Listed by vrrp_instance VI_WEB (line 87), vrrp_instance VI_OWNER (line 99).
action "notify" {
  plugin = "notify"
  config {
    exec {
      command = "/etc/keepalived/notify.sh"
      args    = ["web"]
    }
  }
}

# keepalived notify_master `/etc/keepalived/to_master.sh` ran it only on entering MASTER, with just
# the arguments written there. The notify plugin runs it on every transition and appends
# INSTANCE|GROUP name STATE priority, so the script must return at once unless STATE (the
# second-to-last argument; also $HAWATCH_TO) is MASTER.
# Listed by vrrp_instance VI_WEB (line 88).
action "to_master" {
  plugin = "notify"
  config {
    exec {
      command = "/etc/keepalived/to_master.sh"
    }
  }
}

# vrrp_instance VI_WEB (lines 54-89).
vrrp_instance "VI_WEB" {
  # line 13: strict mode with unicast peers: keepalived refuses the pair ("Unicast peers are not
  # supported in strict mode"); the peers are kept, so node.strict is not set, and the rest of
  # strict mode is applied to this instance
  # line 54: preempt_delay 30s dropped: keepalived resets it under strict mode
  # line 55: keepalived `state BACKUP` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  # line 62: garp repeat 3: keepalived sends no repeated gratuitous ARPs under strict mode; 1 is
  # used
  # line 62: garp refresh 1m0s: keepalived sends no periodic gratuitous ARPs under strict mode; off
  # line 62: garp delay 10s: hawatch's strict mode sends no second burst; off
  # line 76: track_script chk_haproxy: keepalived added 20 to the priority while the check passed;
  # hawatch subtracts 20 while it fails instead. The gap between a healthy and a failing node is the
  # same, but the advertised priorities differ from a keepalived peer's by 20 while healthy
  # line 80: track of vrrp_script chk_missing, which does not exist; keepalived ignored it, and so
  # does the policy
  # line 83: track_interface eth1 dropped: it is the instance's own interface, which keepalived
  # ignores here and hawatch always follows
  # line 85: use_vmac with unicast peers: xmit_base = true added (keepalived requires vmac_xmit_base
  # there, and so does hawatch)
  # line 86: dont_track_primary not converted: hawatch always puts an instance whose own interface
  # is gone, down or without carrier in FAULT (it can neither advertise nor hold the VIP there); to
  # ride out flaps, give the interface a down_delay in an interface block
  # line 88: notify_master: user/group "root" not converted; the script runs as the notify plugin's
  # user (set user in plugin "notify")
  interface         = "eth1"
  virtual_router_id = 60
  priority          = 150
  version           = 3 # global_defs vrrp_version
  advert_interval   = "250ms"
  virtual_ips       = ["198.51.100.60/24", "198.51.100.61/32"]
  excluded_ips      = ["198.51.100.62/24"] # virtual_ipaddress_excluded: owned, not advertised
  virtual_ip "198.51.100.60/24" {
    label = "eth1:web"
  }
  unicast_source = "198.51.100.11"
  unicast_peers  = ["198.51.100.12"]
  unicast_peer "198.51.100.13" {
    min_ttl = 250
    max_ttl = 255
  }
  preempt = false # nopreempt
  garp {
    repeat            = 1
    delay             = "0s" # no second burst
    refresh           = "0s" # off
    lower_prio_repeat = 0    # no announcement on a lower priority
  }
  accept = false # strict mode's default
  vmac {
    xmit_base = true
  }
  lower_prio_no_advert = true

  track "chk_haproxy" { weight = -20 } # track_script weight +20 while passing
  track "chk_web" { weight = -30 }     # track_script
  track "chk_redis" { weight = -5 }    # track_script
  # TODO track "chk_db" { weight = -10 } (track_script, line 79): its check is not converted yet

  notify = ["notify", "to_master", "mail"]
}

# vrrp_instance VI_OWNER (lines 91-101).
vrrp_instance "VI_OWNER" {
  # line 2: garp refresh 1m0s: keepalived sends no periodic gratuitous ARPs under strict mode; off
  # line 2: garp delay 10s: hawatch's strict mode sends no second burst; off
  # line 13: strict mode is node-wide in hawatch (node.strict), which is not set because
  # vrrp_instance VI_WEB keeps its unicast peers; this instance gets strict mode's effects (accept =
  # false, one GARP, no preempt_delay) without its load checks
  # line 91: smtp_alert is off, so the mail action is not listed in notify.
  # line 92: keepalived `state MASTER` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  interface         = "eth1"
  virtual_router_id = 61
  priority          = 255
  address_owner     = true # priority 255: the VIPs are this node's own addresses
  version           = 3    # global_defs vrrp_version
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.70/32"]
  garp {
    repeat            = 1
    delay             = "0s" # no second burst
    refresh           = "0s" # off
    lower_prio_repeat = 0    # no announcement on a lower priority
  }
  lower_prio_no_advert = true

  notify = ["notify"]
}

