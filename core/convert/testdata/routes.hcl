# hawatch policy converted from routes.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 3).
node {
  name = "lb1" # router_id
}

# vrrp_instance VI_1 (lines 27-65).
vrrp_instance "VI_1" {
  # line 28: keepalived `state MASTER` is not carried over: hawatch has no initial state and elects
  # by priority alone (the highest priority is MASTER while healthy).
  # line 37: 198.51.100.52/24: option "home" not converted (hawatch adds the address without it)
  # line 38: 198.51.100.53/24: label wrong:1 dropped: a label starts with the interface name (eth0)
  # and has at most 15 bytes
  # line 43: excluded address 198.51.100.50 is already a virtual IP; kept once
  # line 47: route destination 198.51.100.130/25 has host bits set; 198.51.100.128/25 is used
  # line 48: route: option "mtu 1400" not converted (hawatch installs the route without it)
  # line 50: route 198.51.100.17/32: unreachable routes have no gateway or device; those are dropped
  # line 53: route: table "byname" is not a number (hawatch does not read rt_tables names); the line
  # is skipped
  # line 54: route: type local not supported by hawatch; the line is skipped
  # line 59: rule: option "tos 0x10" not converted (hawatch installs the rule without it)
  # line 61: rule: "goto" not supported by hawatch; the line is skipped
  # line 62: rule: "not" not supported by hawatch; the line is skipped
  # line 63: rule without a table; skipped
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24", "198.51.100.51/24", "198.51.100.52/24", "198.51.100.53/24"]
  excluded_ips      = ["198.51.100.60/24"] # virtual_ipaddress_excluded: owned, not advertised
  virtual_ip "198.51.100.51/24" {
    dev      = "eth1"
    label    = "eth1:web"
    scope    = "global"
    no_track = true
  }
  virtual_ip "198.51.100.52/24" {
    label     = "eth0:db"
    broadcast = "198.51.100.255"
  }
  virtual_ip "2001:db8::60/64" {
    dev      = "eth1"
    no_track = true
    excluded = true
  }
  mcast_source = "198.51.100.11" # mcast_src_ip
  virtual_route {
    to  = "198.51.100.128/25"
    via = "198.51.100.254"
    src = "198.51.100.50"
    dev = "eth1"
  }
  virtual_route {
    to  = "198.51.100.128/25"
    dev = "eth0"
  }
  virtual_route {
    to       = "198.51.100.192/26"
    via      = "198.51.100.254"
    metric   = 10
    protocol = "static"
    onlink   = true
  }
  virtual_route {
    to   = "198.51.100.16/28"
    type = "blackhole"
  }
  virtual_route {
    to   = "198.51.100.17/32"
    type = "unreachable"
  }
  virtual_route {
    to    = "0.0.0.0/0"
    via   = "198.51.100.1"
    table = 100
  }
  virtual_route {
    to       = "198.51.100.224/27"
    dev      = "eth2"
    no_track = true
  }
  virtual_rule {
    from     = "198.51.100.50/32"
    table    = 100
    priority = 100
  }
  virtual_rule {
    to       = "198.51.100.128/25"
    table    = 100
    iif      = "eth1"
    oif      = "eth0"
    no_track = true
  }
  virtual_rule {
    from     = "2001:db8::/32"
    table    = 101
    priority = 50
  }
  virtual_rule {
    family = 6
    table  = 102
    fwmark = "7"
  }
}

# vrrp_instance VI_2 (lines 67-79).
vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 52
  priority          = 50
  version           = 2 # keepalived's default; hawatch's is 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.70/32"]
  unicast_peers     = ["198.51.100.12"]
  unicast_source    = "198.51.100.11" # mcast_src_ip: keepalived sends unicast adverts from it too
}

# static_ipaddress, static_routes, static_rules (from line 7): installed at start, kept whatever the
# VRRP state.
static {
  # line 10: static address 198.51.100.7/32 has no dev; hawatch needs the interface, so it is
  # skipped
  # line 11: 2001:db8:5::5/64: label eth1:v6 dropped: IPv6 addresses carry no label
  # line 23: rule to "198.51.100./24" is not an address; the line is skipped
  address "198.51.100.5/24" {
    dev   = "eth0"
    scope = "link"
  }
  address "198.51.100.6/24" {
    dev       = "eth1"
    label     = "eth1:mgmt"
    broadcast = "198.51.100.255"
  }
  address "2001:db8:5::5/64" {
    dev = "eth1"
  }
  route {
    to  = "198.51.100.128/25"
    via = "198.51.100.254"
    src = "198.51.100.5"
    dev = "eth0"
  }
  route {
    to    = "198.51.100.64/26"
    dev   = "eth1"
    scope = "site"
  }
  route {
    to     = "2001:db8:7::/48"
    via    = "2001:db8::1"
    table  = 200
    metric = 5
  }
  route {
    to       = "198.51.100.32/27"
    nexthops = ["198.51.100.254", "198.51.100.253"]
  }
  rule {
    from  = "198.51.100.0/24"
    table = 1
  }
  rule {
    table    = 2
    priority = 200
    fwmark   = "0x10/0xff"
  }
}

