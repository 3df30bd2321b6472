# hawatch policy converted from vmac.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 3).
node {
  name = "lb-vmac" # router_id
}

# vrrp_instance VI_WEB (lines 7-17).
vrrp_instance "VI_WEB" {
  # line 8: keepalived `state MASTER` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24"]
  vmac {
  }
}

# vrrp_instance VI_DB (lines 19-28).
vrrp_instance "VI_DB" {
  interface         = "eth0"
  virtual_router_id = 52
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.52/24"]
  vmac {
    name      = "vrrp.db"
    xmit_base = true
  }
}

# vrrp_instance VI_CUSTOM_MAC (lines 30-38).
vrrp_instance "VI_CUSTOM_MAC" {
  # line 34: use_vmac MAC 00:00:5e:00:01:99 not converted: hawatch always uses the RFC 5798 virtual
  # router MAC 00:00:5e:00:01:VRID
  interface         = "eth1"
  virtual_router_id = 53
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.53/24"]
  vmac {
    name = "vmac53"
  }
}

# vrrp_instance VI_UNICAST (lines 40-52).
vrrp_instance "VI_UNICAST" {
  # line 48: use_vmac with unicast peers: xmit_base = true added (keepalived requires vmac_xmit_base
  # there, and so does hawatch)
  interface         = "eth1"
  virtual_router_id = 54
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.54/24"]
  unicast_source    = "198.51.100.11"
  unicast_peers     = ["198.51.100.12"]
  vmac {
    xmit_base = true
  }
}

# vrrp_instance VI_V6 (lines 54-62).
vrrp_instance "VI_V6" {
  # line 58: use_vmac not converted: hawatch has no virtual MAC for IPv6 instances yet; the VIPs
  # stay on eth0
  interface         = "eth0"
  virtual_router_id = 55
  priority          = 100
  version           = 3 # IPv6 needs VRRPv3
  advert_interval   = "1s"
  virtual_ips       = ["2001:db8::55/64"]
}

# vrrp_instance VI_IPVLAN (lines 64-74).
vrrp_instance "VI_IPVLAN" {
  # line 68: use_ipvlan not converted: an ipvlan shares its parent's MAC, so it moves nothing on a
  # failover; hawatch keeps the VIPs on the instance's interface (use a vmac block for a MAC that
  # moves with the VIPs)
  # line 69: vmac_xmit_base without use_vmac has no effect (keepalived ignores it too); dropped
  # line 70: use_vmac_addr not converted: hawatch puts every VIP on the instance's own macvlan (vmac
  # block); per-VIP interfaces are not supported
  interface         = "eth2"
  virtual_router_id = 56
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.56/24"]
}

