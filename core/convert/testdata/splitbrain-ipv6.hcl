# hawatch policy converted from splitbrain-ipv6.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 3).
node {
  name = "lb2" # router_id
}

# Plugin binaries are looked up in node.plugin_dir (default /usr/local/libexec/hawatch).
plugin "splitbrain" {
  command = "hawatch-splitbrain"
  # needs CAP_NET_RAW for ARP and neighbour discovery probes, so not "nobody"
}

# vrrp_script chk_split_brain (line 7) ran `/bin/sh -c 'nc -z 2001:db8::11 80 && ip -6 addr show dev
# eth0 | grep -q 2001:db8::50 && systemctl stop keepalived'`.
# While MASTER, the splitbrain plugin looks for another MAC answering a neighbour solicitation for
# the IPv6 VIP; if one does (and a peer_app answers), the lower-priority master yields and the other
# re-announces the VIP. No one has to restart anything afterwards.
check "chk_split_brain" {
  # line 7: vrrp_script chk_split_brain looks like a split-brain guard (by its name); it becomes the
  # splitbrain plugin, which makes the lower-priority of two masters yield instead of running the
  # script
  plugin   = "splitbrain"
  interval = "1s"
  timeout  = "1s"
  config {
    interface = "eth0"
    vip       = "2001:db8::50"
    peer_app  = ["[2001:db8::11]:80"]
  }
}

# vrrp_instance VI_6 (lines 13-26).
vrrp_instance "VI_6" {
  # line 14: keepalived `state BACKUP` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  interface         = "eth0"
  virtual_router_id = 52
  priority          = 50
  version           = 3
  advert_interval   = "100ms"
  virtual_ips       = ["2001:db8::50/64"]

  track "chk_split_brain" { effect = "yield" } # track_script
}

