# /etc/hawatch/hawatch.hcl: the policy of this node (see hawatch.hcl(5)).
#
# As installed, this file configures nothing: no vrrp_instance, so no
# interface, address or packet is touched, and the hawatch service does not
# start (its ExecCondition skips it). Write the node's instances below, check
# them with
#
#   hawatch validate /etc/hawatch/hawatch.hcl
#
# then `systemctl enable --now hawatch`. A keepalived.conf converts with
# `hawatch convert /etc/keepalived/keepalived.conf` (see
# /usr/share/doc/hawatch/converting-from-keepalived.md). After a change,
# `systemctl reload hawatch` applies the file or leaves the running policy
# if it is invalid.
#
# Keep this file mode 0600 when it holds auth_pass or auth_hmac keys.

node {
  # Where the packaged plugins are (hawatch-process, hawatch-tcpprobe, ...).
  plugin_dir = "/usr/libexec/hawatch"

  # name           = "lb1"                        # default: the host name
  # control_socket = "/run/hawatch/hawatch.sock"  # hawatch status/reload talk to it
  # control_group  = "adm"                        # may reload/demote besides root
  # state_dir      = "/var/lib/hawatch"
  # metrics_listen = "127.0.0.1:9712"             # Prometheus /metrics
  # log_level      = "info"
  # log_format     = "json"
}

# A health check: the process plugin looks for a running nginx.
#
# plugin "process" {
#   command = "hawatch-process"
# }
#
# check "nginx" {
#   plugin   = "process"
#   interval = "1s"
#   fall     = 2
#   rise     = 2
#   config {
#     name = "nginx"
#   }
# }

# One VRRP instance: a virtual IP on eth0, 198.51.100.50, held by the node
# with the highest effective priority (a failing nginx check takes 30 off).
#
# vrrp_instance "VI_1" {
#   interface         = "eth0"
#   virtual_router_id = 51
#   priority          = 100
#   advert_interval   = "1s"
#   virtual_ips       = ["198.51.100.50/24"]
#
#   track "nginx" {
#     weight = -30
#   }
# }
