# hawatch policy converted from conditional@lb1.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 2).
node {
  # line 2: net_namespace blue: hawatch runs in the network namespace it is started in; start it
  # there (`ip netns exec blue hawatch run ...`, or NetworkNamespacePath= in the unit)
  name = "lb1" # router_id
}

# vrrp_instance VI_1 (lines 9-23).
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24"]
  unicast_peers     = ["198.51.100.12"]
}

