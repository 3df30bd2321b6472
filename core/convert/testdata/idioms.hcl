# hawatch policy converted from idioms.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).
plugin "process" {
  command = "hawatch-process"
  user    = "nobody" # only reads /proc and pid files
}

plugin "tcpprobe" {
  command = "hawatch-tcpprobe"
  user    = "nobody" # only opens TCP connections
}

# vrrp_script k_killall (line 2) ran `/usr/bin/killall -0 haproxy`.
# The process plugin is told about process deaths by the kernel instead of polling.
check "k_killall" {
  plugin = "process"
  config {
    name = "haproxy"
  }
}

# vrrp_script k_pidof (line 5) ran `pidof -s nginx`.
# The process plugin is told about process deaths by the kernel instead of polling.
check "k_pidof" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script k_pgrep (line 8) ran `pgrep nginx`.
# The process plugin is told about process deaths by the kernel instead of polling.
# pgrep without -x matched any process name containing "nginx"; name matches the whole name.
check "k_pgrep" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script k_pgrep_x (line 11) ran `pgrep -x nginx`.
# The process plugin is told about process deaths by the kernel instead of polling.
check "k_pgrep_x" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script k_pgrep_f (line 14) ran `pgrep -f 'nginx: master process'`.
# The process plugin is told about process deaths by the kernel instead of polling.
# pgrep -f used an extended regular expression; cmdline is RE2 (Go), which agrees for plain
# patterns.
check "k_pgrep_f" {
  plugin = "process"
  config {
    cmdline = "nginx: master process"
  }
}

# vrrp_script k_ps (line 17) ran `/bin/sh -c 'ps aux | grep [n]ginx'`.
# The process plugin is told about process deaths by the kernel instead of polling.
# grep matched "nginx" anywhere in ps's output; name matches the process name exactly.
check "k_ps" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script k_ps_naive (line 20) ran `sh -c 'ps -ef | grep nginx'`.
# The process plugin is told about process deaths by the kernel instead of polling.
# The old pipeline could match its own grep and then never failed; this check cannot.
# grep matched "nginx" anywhere in ps's output; name matches the process name exactly.
check "k_ps_naive" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script k_systemctl (line 23) ran `systemctl is-active --quiet nginx.service`.
# The process plugin is told about process deaths by the kernel instead of polling.
# systemctl is-active nginx.service asked systemd; the process plugin looks for a process called
# "nginx". If the unit's main process has another name, change name (or use pidfile).
check "k_systemctl" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# vrrp_script k_curl_https (line 26) ran `curl -fsS https://localhost/health`.
# curl fetched https://localhost/health over TLS; tcpprobe speaks plain HTTP only, so this check
# only connects to the port.
check "k_curl_https" {
  plugin = "tcpprobe"
  config {
    address = "localhost:443"
  }
}

# vrrp_script k_wget (line 29) ran `wget -q -O - http://127.0.0.1/status`.
check "k_wget" {
  plugin = "tcpprobe"
  config {
    address = "127.0.0.1:80"
    http {
      path = "/status"
    }
  }
}

# vrrp_script k_nc (line 32) ran `/bin/nc -zv 198.51.100.11 80`.
check "k_nc" {
  plugin = "tcpprobe"
  config {
    address = "198.51.100.11:80"
  }
}

# vrrp_script k_devtcp (line 35) ran `bash -c '</dev/tcp/127.0.0.1/80'`.
check "k_devtcp" {
  plugin = "tcpprobe"
  config {
    address = "127.0.0.1:80"
  }
}

# vrrp_script k_redirect (line 38) ran `/bin/sh -c 'killall -0 nginx 2>/dev/null'`.
# The process plugin is told about process deaths by the kernel instead of polling.
check "k_redirect" {
  plugin = "process"
  config {
    name = "nginx"
  }
}

# TODO vrrp_script k_unknown_chain (line 41) ran `/bin/sh -c 'test -f /etc/maintenance || exit 1'`.
# hawatch runs no shell scripts (by design): replace it with a plugin check (process for a daemon,
# tcpprobe for a port or an HTTP URL, splitbrain for a second-master guard, or your own plugin built
# with sdk/), then uncomment this block and the tracks of it in the instances below.
# check "k_unknown_chain" {
#   plugin = "TODO"
# }

# TODO vrrp_script k_killall_kills (line 44) ran `killall nginx`.
# hawatch runs no shell scripts (by design): replace it with a plugin check (process for a daemon,
# tcpprobe for a port or an HTTP URL, splitbrain for a second-master guard, or your own plugin built
# with sdk/), then uncomment this block and the tracks of it in the instances below.
# check "k_killall_kills" {
#   plugin = "TODO"
# }

# vrrp_instance VI_1 (lines 48-71).
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 1
  priority          = 100 # keepalived's default
  version           = 2   # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.90/32"]

  track "k_killall" {}    # track_script: failure means FAULT
  track "k_pidof" {}      # track_script: failure means FAULT
  track "k_pgrep" {}      # track_script: failure means FAULT
  track "k_pgrep_x" {}    # track_script: failure means FAULT
  track "k_pgrep_f" {}    # track_script: failure means FAULT
  track "k_ps" {}         # track_script: failure means FAULT
  track "k_ps_naive" {}   # track_script: failure means FAULT
  track "k_systemctl" {}  # track_script: failure means FAULT
  track "k_curl_https" {} # track_script: failure means FAULT
  track "k_wget" {}       # track_script: failure means FAULT
  track "k_nc" {}         # track_script: failure means FAULT
  track "k_devtcp" {}     # track_script: failure means FAULT
  track "k_redirect" {}   # track_script: failure means FAULT
  # TODO track "k_unknown_chain" {} (track_script, line 68): its check is not converted yet
  # TODO track "k_killall_kills" {} (track_script, line 69): its check is not converted yet
}

