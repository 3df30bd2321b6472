# hawatch policy converted from trackfile.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 2).
node {
  name             = "lb1"    # router_id
  startup_delay    = "5500ms" # vrrp_startup_delay
  delay_after_boot = "60s"    # vrrp_delay_after_boot
}

# track_file maint (line 12).
track_file "maint" {
  path      = "/run/keepalived/maint"
  weight    = -10
  init      = 0 # init_file: written at start when the file is missing
  overwrite = true
}

# track_file flag (line 18).
track_file "flag" {
  # line 18: vrrp_track_file is keepalived's deprecated name for track_file.
  path   = "/run/keepalived/flag"
  weight = 0
  init   = 0 # init_file: written at start when the file is missing
}

# track_file load (line 24).
track_file "load" {
  # line 26: weight 300 is outside ±254 (a file's value is clamped to ±254 before it is weighted,
  # so no more can count); 254 is used
  path    = "/run/keepalived/load"
  weight  = 254
  reverse = true
}

# track_file spare (line 29).
track_file "spare" {
  # line 29: track_file spare is not tracked by any vrrp_instance (keepalived ignores it)
  path = "/relative/spare" # TODO: check; keepalived had relative/spare
}

# vrrp_instance VI_1 (lines 33-53).
vrrp_instance "VI_1" {
  # line 34: keepalived `state MASTER` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  # line 46: track_file missing is not defined; dropped (keepalived drops it too)
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24"]
  garp {
    repeat            = 3
    lower_prio_repeat = 0 # no announcement on a lower priority
    lower_prio_delay  = "10s"
  }
  higher_prio_send_advert = true

  track_file "maint" {}
  track_file "flag" {}
  track_file "load" {
    weight  = 5
    reverse = false
  }
}

# vrrp_instance VI_OWNER (lines 55-66).
vrrp_instance "VI_OWNER" {
  # line 58: priority 255 makes this node the address owner (keepalived starts it as MASTER whatever
  # its state)
  # line 64: track_file maint: keepalived set its weight -10 to 0 because it is the address owner
  # (priority 255); any non-zero value in the file now means FAULT, as keepalived ran it
  interface            = "eth0"
  virtual_router_id    = 52
  priority             = 255
  address_owner        = true # priority 255: the VIPs are this node's own addresses
  version              = 2    # keepalived's default; hawatch's is 3
  advert_interval      = "1s"
  virtual_ips          = ["198.51.100.60/24"]
  down_timer_adverts   = 4 # differs from the RFC's 3: every router of the instance must agree
  lower_prio_no_advert = true
  garp {
    lower_prio_repeat = 2
    lower_prio_delay  = "10s"
  }

  track_file "maint" { weight = 0 }
}

# vrrp_instance VI_G1 (lines 68-80).
vrrp_instance "VI_G1" {
  # line 77: track_file maint: keepalived set its weight -20 to 0 because it is in vrrp_sync_group
  # G1 (no sync_group_tracking_weight); any non-zero value in the file now means FAULT, as
  # keepalived ran it
  # line 79: down_timer_adverts 200 is outside 1..100; ignored (the RFC's 3 applies)
  interface            = "eth0"
  virtual_router_id    = 53
  priority             = 100
  version              = 2 # keepalived's default; hawatch's is 3
  advert_interval      = "1s"
  virtual_ips          = ["198.51.100.70/24"]
  down_timer_adverts   = 4 # differs from the RFC's 3: every router of the instance must agree
  lower_prio_no_advert = true
  garp {
    lower_prio_repeat = 2
    lower_prio_delay  = "10s"
  }

  track_file "maint" { weight = 0 }
}

# vrrp_sync_group G1 (line 82).
sync_group "G1" {
  instances = ["VI_G1"]
}

