# hawatch policy converted from conditional@lb2.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 4).
node {
  name = "lb2" # router_id
}

# vrrp_instance VI_1 (lines 9-23).
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24"]
  unicast_peers     = ["198.51.100.11"]
  preempt           = false # nopreempt
}

