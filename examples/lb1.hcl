# lb1: the MASTER of a two-node failover pair (lb2.hcl is its BACKUP).
#
#   lb1 198.51.100.11  priority 100  (this file)
#   lb2 198.51.100.12  priority 50   (lb2.hcl)
#   VIP 198.51.100.50/24 on eth0, VRRP vrid 51, advert 1s, VRRPv2 with PASS auth
#   so that either node can be replaced by keepalived during a migration.
#
# Check it with: hawatch validate examples/lb1.hcl

node {
  name           = "lb1"
  metrics_listen = "127.0.0.1:9712"
  log_level      = "info"
  log_format     = "json"
}

# Plugin binaries are looked up in node.plugin_dir (/usr/local/libexec/hawatch).
plugin "process" {
  command = "hawatch-process"
  user    = "nobody" # only reads /proc and the pid file
}

plugin "tcpprobe" {
  command = "hawatch-tcpprobe"
  user    = "nobody"
}

plugin "splitbrain" {
  command = "hawatch-splitbrain" # needs CAP_NET_RAW for ARP probes, so not "nobody"
}

plugin "notify" {
  command = "hawatch-notify"
}

# Replaces check_nginx.sh (`ps -ef | grep nginx` every 3 s): the process
# plugin watches the master process from its pid file and reports its death
# at once, without polling.
check "nginx" {
  plugin = "process"
  config {
    pidfile = "/run/nginx.pid"
  }
}

# nginx can be alive but not serving; a failing port costs 60 priority
# points, which puts lb1 (100 - 60 = 40) below lb2 (50).
check "web" {
  plugin   = "tcpprobe"
  interval = "1s"
  timeout  = "500ms"
  fall     = 2
  config {
    address = "198.51.100.11:80"
  }
}

# Replaces the `nc -z` split-brain script: while lb1 is MASTER it looks for
# another MAC answering ARP for the VIP. If lb2 holds it too, the lower
# priority node (lb2) yields and lb1 re-announces the VIP; no human step.
check "split_brain" {
  plugin   = "splitbrain"
  interval = "200ms"
  config {
    interface = "eth0"
    vip       = "198.51.100.50"
    peer_app  = ["198.51.100.12:80"]
  }
}

# Replaces keepalived's notification_email / smtp_server / smtp_connect_timeout.
action "ops" {
  plugin  = "notify"
  timeout = "30s"
  config {
    exec {
      command = "/etc/hawatch/notify.sh"
      args    = []
    }
    smtp {
      server          = "127.0.0.1:25"
      from            = "hawatch@lb1"
      to              = ["ops@example.org"]
      helo            = "lb1"
      connect_timeout = "30s"
    }
  }
}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100 # the higher priority: lb1 is MASTER while healthy
  version           = 2   # keepalived-compatible VRRPv2 with PASS auth
  advert_interval   = "1s"
  auth_pass         = "1111"
  virtual_ips       = ["198.51.100.50/24"]
  preempt           = true

  # Multicast by default; for unicast instead:
  # unicast_source = "198.51.100.11"
  # unicast_peers  = ["198.51.100.12"]

  track "nginx" {}                      # nginx gone: FAULT, the VIP moves
  track "web" { weight = -60 }          # port down: priority 40, lb2 wins
  track "split_brain" { effect = "yield" }

  notify = ["ops"]
}
