# hawatch policy converted from seed-lb1.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 3).
node {
  name = "lb1" # router_id
}

# Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).
plugin "process" {
  command = "hawatch-process"
  user    = "nobody" # only reads /proc and pid files
}

plugin "notify" {
  command = "hawatch-notify"
  # runs the notify scripts as this user; set user to drop root
}

# vrrp_script check_nginx (line 13) ran `killall -0 nginx`.
# The process plugin is told about process deaths by the kernel instead of polling every 3s.
check "check_nginx" {
  plugin   = "process"
  interval = "3s"
  config {
    name = "nginx"
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
    node = "lb1"
    smtp {
      server          = "127.0.0.1:25"
      from            = "keepalived@lb1"
      to              = ["ops@example.org"]
      connect_timeout = "30s"
    }
  }
}

# vrrp_instance VI_1 (lines 19-35).
vrrp_instance "VI_1" {
  # line 20: keepalived `state MASTER` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  auth_pass         = "1111" # authentication { auth_type PASS }
  virtual_ips       = ["198.51.100.50/24"]

  track "check_nginx" { weight = -60 } # track_script

  notify = ["mail"]
}

