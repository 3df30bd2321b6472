# hawatch policy converted from builtin.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# vrrp_instance VI_1 (lines 2-16).
vrrp_instance "VI_1" {
  # line 11: check_unicast_src: hawatch always accepts unicast adverts only from the listed peers
  # line 12: promote_secondaries: hawatch turns promote_secondaries on for the interface while it
  # runs (and restores it on stop)
  interface         = "eth0"
  virtual_router_id = 61
  priority          = 150
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.61/24"]
  unicast_source    = "198.51.100.11"
  unicast_peers     = ["198.51.100.12"]
}

# vrrp_instance VI_6 (lines 18-26).
vrrp_instance "VI_6" {
  # line 21: native_ipv6: an instance is IPv6 when its VIPs are (keepalived deprecated the keyword)
  interface         = "eth0"
  virtual_router_id = 62
  priority          = 100 # keepalived's default
  version           = 3
  advert_interval   = "1s"
  virtual_ips       = ["2001:db8::62/64"]
}

