#!/usr/bin/env bash
# Builds (once per machine) a clean Debian 12 root for the package install
# test (e2e/deb_test.go) and prints its path. The root is bookworm minbase
# from the mirror this machine's apt uses, plus what the test runs inside
# it: systemd (systemd-analyze), man-db and bash-completion. It is never
# modified afterwards: the test mounts an overlay on it.
set -euo pipefail
CACHE=${HAWATCH_PEERS:-/var/cache/hawatch-peers}
ROOT=$CACHE/debian12-root
if [[ -f $ROOT/.complete ]]; then
	echo "$ROOT"
	exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap not installed (scripts/deps.sh)" >&2; exit 1; }
mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
	mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [[ -z $mirror ]]; then
	mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$CACHE"
exec 9>"$CACHE/debian12-root.lock"
flock 9
[[ -f $ROOT/.complete ]] && { echo "$ROOT"; exit 0; }
tmp=$ROOT.tmp
rm -rf "$tmp"
echo "building a Debian 12 root in $ROOT from $mirror (once per machine)" >&2
debootstrap --variant=minbase --include=systemd,man-db,bash-completion,ca-certificates \
	bookworm "$tmp" "$mirror" >&2
# No service may start inside the root, whatever a package asks.
printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
chroot "$tmp" apt-get clean
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
touch "$ROOT/.complete"
echo "$ROOT"
