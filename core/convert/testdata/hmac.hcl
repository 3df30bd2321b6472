# hawatch policy converted from hmac.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 2).
node {
  name = "lb-hmac" # router_id
}

# vrrp_instance VI_U (lines 6-30).
vrrp_instance "VI_U" {
  # line 7: keepalived `state BACKUP` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  version           = 3
  advert_interval   = "1s"
  auth_hmac {
    key "1" {
      value = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    }
    key "2" {
      value = "hawatch-test-vector-ascii-key-0123456789"
    }
    active_key  = 1
    anti_replay = "time"
    time_window = "5s"
    mode        = "permissive"
  }
  virtual_ips    = ["198.51.100.50/24"]
  unicast_source = "198.51.100.11"
  unicast_peers  = ["198.51.100.13"]
  unicast_peer "198.51.100.12" {
    min_ttl = 255
    max_ttl = 255
  }
  unicast_ttl = 255
}

# vrrp_instance VI_V2 (lines 32-50).
vrrp_instance "VI_V2" {
  # line 33: keepalived `state BACKUP` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  # line 38: authentication dropped: keepalived refuses it next to auth_hmac, and so does hawatch
  interface         = "eth0"
  virtual_router_id = 52
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  auth_hmac {
    key "7" {
      value = "hawatch-test-vector-ascii-key-0123456789"
    }
    active_key  = 7
    anti_replay = "monotonic"
  }
  virtual_ips = ["198.51.100.52/24"]
}

