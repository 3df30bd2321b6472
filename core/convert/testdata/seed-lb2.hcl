# hawatch policy converted from seed-lb2.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 3).
node {
  name = "lb2" # router_id
}

# Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).
plugin "process" {
  command = "hawatch-process"
  user    = "nobody" # only reads /proc and pid files
}

plugin "splitbrain" {
  command = "hawatch-splitbrain"
  # needs CAP_NET_RAW for ARP and neighbour discovery probes, so not "nobody"
}

plugin "notify" {
  command = "hawatch-notify"
  # runs the notify scripts as this user; set user to drop root
}

# vrrp_script check_nginx (line 14) ran `/bin/sh -c 'ps -ef | grep nginx | grep -v grep'`.
# The process plugin is told about process deaths by the kernel instead of polling every 3s.
# grep matched "nginx" anywhere in ps's output; name matches the process name exactly.
check "check_nginx" {
  plugin   = "process"
  interval = "3s"
  config {
    name = "nginx"
  }
}

# vrrp_script chk_split_brain (line 21) ran `/bin/sh -c 'nc -z 198.51.100.11 80 && ip -4 addr show
# dev eth0 | grep -q 198.51.100.50 && systemctl stop keepalived'`.
# While MASTER, the splitbrain plugin looks for another MAC answering ARP for the VIP; if one does
# (and a peer_app answers), the lower-priority master yields and the other re-announces the VIP. No
# one has to restart anything afterwards.
check "chk_split_brain" {
  # line 21: vrrp_script chk_split_brain looks like a split-brain guard (by its name); it becomes
  # the splitbrain plugin, which makes the lower-priority of two masters yield instead of running
  # the script
  plugin   = "splitbrain"
  interval = "5s"
  timeout  = "2s"
  config {
    interface = "eth0"
    vip       = "198.51.100.50"
    peer_app  = ["198.51.100.11:80"]
  }
}

# Mail on every state change, from global_defs notification_email / smtp_server (keepalived's
# smtp_alert). Plain SMTP, no TLS or authentication: use a local relay.
# Listed by vrrp_instance VI_1.
action "mail" {
  # line 4: smtp_alert is not set: keepalived 2.x then sent no VRRP mail, but the policy mails on
  # every transition of every instance (remove "mail" from notify to keep quiet)
  plugin  = "notify"
  timeout = "60s"
  config {
    node = "lb2"
    smtp {
      server          = "127.0.0.1:25"
      from            = "keepalived@lb2"
      to              = ["ops@example.org"]
      connect_timeout = "30s"
    }
  }
}

# vrrp_instance VI_1 (lines 27-44).
vrrp_instance "VI_1" {
  # line 28: keepalived `state BACKUP` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  # line 38: virtual IP 198.51.100.50/24: "label eth0:1" not converted (hawatch adds the address
  # with the kernel's defaults)
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 50
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  auth_pass         = "1111" # authentication { auth_type PASS }
  virtual_ips       = ["198.51.100.50/24"]

  track "check_nginx" {}                       # track_script: failure means FAULT
  track "chk_split_brain" { effect = "yield" } # track_script

  notify = ["mail"]
}

