# hawatch policy converted from link.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 5).
node {
  # line 3: linkbeat_use_polling: hawatch follows carrier from netlink link updates, no polling
  # needed.
  # line 9: linkbeat_interfaces: hawatch follows carrier from netlink link updates, no polling
  # needed.
  name = "lb1" # router_id
}

# vrrp_instance VI_1 (lines 22-42).
vrrp_instance "VI_1" {
  # line 35: track_interface eth4: reverse cannot be expressed (a hawatch interface track acts while
  # the interface is down, or adds a positive weight while it is up); left as a TODO comment
  # line 36: track_interface eth0 dropped: it is the instance's own interface, which keepalived
  # ignores here and hawatch always follows
  # line 37: track_interface eth5: weight 300 is outside keepalived's -253..253; 253 is used
  # line 38: track_interface eth1 listed twice; the first entry is kept
  # line 40: dont_track_primary not converted: hawatch always puts an instance whose own interface
  # is gone, down or without carrier in FAULT (it can neither advertise nor hold the VIP there); to
  # ride out flaps, give the interface a down_delay in an interface block
  # line 41: linkbeat_use_polling: hawatch follows carrier from netlink link updates, no polling
  # needed.
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  version           = 3
  advert_interval   = "100ms"
  virtual_ips       = ["198.51.100.50/24"]

  track_interface "eth1" {}               # track_interface: gone, down or no carrier means FAULT
  track_interface "eth2" { weight = -20 } # track_interface: added while down
  track_interface "eth3" { weight = 10 }  # track_interface: added while up
  # TODO track_interface "eth4" (track_interface weight 5 reverse, line 35)
  track_interface "eth5" { weight = 253 } # track_interface: added while up
}

# vrrp_instance VI_2 (lines 44-51).
vrrp_instance "VI_2" {
  # line 71: track_interface of vrrp_sync_group G1 bond0: keepalived set its weight -30 to 0 because
  # VI_2 is in vrrp_sync_group G1 (no sync_group_tracking_weight); it becomes a FAULT track, as
  # keepalived ran it
  interface         = "eth1"
  virtual_router_id = 52
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.52/24"]

  track_interface "bond0" {} # track_interface of vrrp_sync_group G1: gone, down or no carrier means FAULT
  track_interface "eth9" {}  # track_interface of vrrp_sync_group G1: gone, down or no carrier means FAULT
}

# vrrp_instance VI_3 (lines 53-63).
vrrp_instance "VI_3" {
  # line 71: interface bond0 is tracked both by VI_3 and by its vrrp_sync_group G1; the instance's
  # own entry is kept
  interface         = "eth2"
  virtual_router_id = 53
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.53/24"]

  track_interface "bond0" {} # track_interface: gone, down or no carrier means FAULT
  track_interface "eth9" {}  # track_interface of vrrp_sync_group G1: gone, down or no carrier means FAULT
}

# interface_up_down_delays, line 15: a state change of eth0 reaches its instances only once it
# lasted this long.
interface "eth0" {
  down_delay = "150ms"
  up_delay   = "150ms"
}

# interface_up_down_delays, line 16: a state change of eth1 reaches its instances only once it
# lasted this long.
interface "eth1" {
  down_delay = "500ms"
  up_delay   = "2s"
}

# vrrp_sync_group G1 (line 65).
sync_group "G1" {
  # line 65: hawatch tracks interfaces per instance: the group's track_interface entries are on each
  # member.
  instances = ["VI_2", "VI_3"]
}

# Not converted:
# - line 17: interface_up_down_delays: 5m0s is above keepalived's 255s; line skipped
# - line 18: interface_up_down_delays: "bad/name" is not a valid interface name; skipped
# - line 19: interface_up_down_delays: "fast" is not a number of seconds; line skipped
