# hawatch policy converted from strict.conf by `hawatch convert`.
# Review it, then check it with `hawatch validate FILE`. "line N" in comments points at the
# keepalived file; every TODO needs a decision, and whatever was not carried over is noted where it
# was.

# global_defs (line 3).
node {
  # line 6: nftables keepalived: not needed; hawatch always fences with nftables, in its own table
  # (inet hawatch)
  # line 7: nftables_priority: hawatch's chains run at priority filter - 1, keepalived's default
  # line 8: nftables_ifindex: not needed; hawatch's table never matches link-local addresses
  # (neighbour discovery always passes)
  # line 9: nftables_counters: not needed; `nft list table inet hawatch` shows the fenced addresses
  # line 10: vrrp_iptables not converted: hawatch fences with nftables (table inet hawatch), never
  # iptables or ipsets; rules of your own that jump to keepalived's chains or match its ipsets have
  # nothing to refer to
  name   = "lb-strict" # router_id
  strict = true        # vrrp_strict / strict_mode: every instance is strict; accept defaults to false
}

# vrrp_instance VI_V2 (lines 16-31).
vrrp_instance "VI_V2" {
  # line 3: garp repeat 5: keepalived sends no repeated gratuitous ARPs under strict mode; 1 is used
  # line 16: preempt_delay 10s dropped: keepalived resets it under strict mode
  # line 22: accept dropped: RFC 3768 (VRRPv2) has no accept mode and keepalived resets it under
  # strict mode; traffic to the VIPs is dropped while master
  # line 24: authentication dropped: keepalived ignores it under strict mode ("Strict mode does not
  # support authentication")
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  version           = 2
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.50/24"]
  garp {
    repeat  = 1
    delay   = "0s" # no second burst
    refresh = "0s" # off
  }
}

# vrrp_instance VI_V3 (lines 34-44).
vrrp_instance "VI_V3" {
  # line 3: garp repeat 5: keepalived sends no repeated gratuitous ARPs under strict mode; 1 is used
  interface         = "eth0"
  virtual_router_id = 52
  priority          = 100
  version           = 3
  advert_interval   = "100ms"
  virtual_ips       = ["198.51.100.52/24"]
  garp {
    repeat  = 1
    delay   = "0s" # no second burst
    refresh = "0s" # off
  }
  accept = true
}

# vrrp_instance VI_V6 (lines 47-57).
vrrp_instance "VI_V6" {
  # line 53: garp repeat 5: keepalived sends no repeated gratuitous ARPs under strict mode; 1 is
  # used
  # line 53: garp refresh 30s: keepalived sends no periodic gratuitous ARPs under strict mode; off
  interface         = "eth0"
  virtual_router_id = 53
  priority          = 100
  version           = 3
  advert_interval   = "1s"
  virtual_ips       = ["2001:db8::53/64"]
  garp {
    repeat  = 1
    delay   = "0s" # no second burst
    refresh = "0s" # off
  }
  accept = false # no_accept: traffic to the VIPs dropped while master
}

# vrrp_instance VI_TIMING (lines 60-72).
vrrp_instance "VI_TIMING" {
  # line 3: garp repeat 5: keepalived sends no repeated gratuitous ARPs under strict mode; 1 is used
  # line 65: down_timer_adverts 5 dropped: keepalived resets it under strict mode (the RFC's 3
  # applies)
  # line 65: lower_prio_no_advert off: keepalived turns it on under strict mode (a master discards a
  # lower priority's advert)
  # line 65: higher_prio_send_advert dropped: keepalived clears it under strict mode
  # line 65: garp_lower_prio_repeat 2: under strict mode a master that hears a lower priority
  # announces nothing; 0 is used
  interface         = "eth0"
  virtual_router_id = 54
  priority          = 100
  version           = 3
  advert_interval   = "1s"
  virtual_ips       = ["198.51.100.54/24"]
  garp {
    repeat            = 1
    delay             = "0s" # no second burst
    refresh           = "0s" # off
    lower_prio_repeat = 0    # no announcement on a lower priority
  }
  lower_prio_no_advert = true
}

