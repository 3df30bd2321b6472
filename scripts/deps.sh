#!/usr/bin/env bash
# Installs the Debian packages hawatch's demo and tests use (lintian,
# debootstrap and man-db for the package tests, prometheus for promtool,
# stress-ng for make bench). Packages must
# not start their own daemons on the host (nginx would bind :80), so a
# temporary policy-rc.d refuses service starts during the install.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update
apt-get install -y --no-install-recommends \
	keepalived nginx-light nftables iproute2 iputils-ping procps tcpdump curl gawk make gcc etcd-server \
	lintian debootstrap prometheus man-db bash-completion stress-ng
