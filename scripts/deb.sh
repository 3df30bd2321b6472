#!/usr/bin/env bash
# Builds bin/hawatch_<version>_<arch>.deb with nfpm (packaging/deb/nfpm.yaml):
# static binaries, the packaged systemd unit, man pages and completions
# generated from the CLI, the docs and contrib files. `make deb` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
# Debian versions start with a digit: v1.2.3 → 1.2.3; an untagged tree is
# 0.0.0~git<commit date>.<hash> (sorts below any release, and rises with
# time, so a rebuild from a later commit upgrades).
if [[ -z ${DEB_VERSION:-} ]]; then
	if [[ $VERSION =~ ^v?([0-9]+\.[0-9]+.*)$ ]]; then
		DEB_VERSION=${BASH_REMATCH[1]//-/+}
	else
		DEB_VERSION=0.0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || date +%Y%m%d%H%M%S).${VERSION//-/.}
	fi
fi
DEB_ARCH=${DEB_ARCH:-$($GO env GOARCH)}
export DEB_VERSION DEB_ARCH
# DEB_STAGE keeps the staged tree; given again, it is packaged as it is
# (another version of the same build: the install test's upgrade).
if [[ -n ${DEB_STAGE:-} ]]; then
	STAGE=$DEB_STAGE
	mkdir -p "$STAGE"
else
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/hawatch-deb.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
fi
export STAGE
if [[ ! -f $STAGE/.staged ]]; then

ldflags="-s -w -X main.version=$VERSION -X github.com/hawatch/hawatch/core/config.DefaultPluginDir=/usr/libexec/hawatch"
build() { CGO_ENABLED=0 GOARCH=$DEB_ARCH $GO build -buildmode=pie -trimpath -ldflags "$ldflags" -o "$@"; }
build "$STAGE/hawatch" ./cmd/hawatch
mkdir -p "$STAGE/libexec"
for main in plugins/*/main.go; do
	p=$(basename "$(dirname "$main")")
	build "$STAGE/libexec/hawatch-$p" "./plugins/$p"
done

# Man pages and completions come from the binary's own command tree (a
# host-arch build when cross-building).
gen=$STAGE/hawatch
if [[ $DEB_ARCH != $($GO env GOHOSTARCH) ]]; then
	gen=$STAGE/hawatch-host
	CGO_ENABLED=0 $GO build -o "$gen" ./cmd/hawatch
fi
"$gen" gen-docs --man "$STAGE/man" --completions "$STAGE/completions"
install -m 0644 docs/man/hawatch.hcl.5 "$STAGE/man/hawatch.hcl.5"
gzip -9n "$STAGE/man/"*.[0-9]

install -m 0644 examples/systemd/hawatch.service "$STAGE/hawatch.service"

doc=$STAGE/doc
mkdir -p "$doc/examples/systemd" "$doc/contrib"
chmod 0755 "$STAGE/libexec"
install -m 0644 README.md "$doc/README.md"
# The converter guide is the README's "Migrating from keepalived" section.
awk '/^## Migrating from keepalived/{on=1} on&&/^## /&&!/Migrating/{exit} on' README.md > "$doc/converting-from-keepalived.md"
install -m 0644 examples/lb1.hcl examples/lb2.hcl "$doc/examples/"
install -m 0644 examples/systemd/hawatch.service.d/plugin-users.conf "$doc/examples/systemd/plugin-users.conf"
install -m 0644 examples/systemd/hawatch.service.d/realtime.conf "$doc/examples/systemd/realtime.conf"
if [[ -d contrib ]]; then cp -r contrib/. "$doc/contrib/"; fi
install -m 0644 packaging/deb/copyright "$doc/copyright"
{
	printf 'hawatch (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
	printf '  * Built from %s.\n\n' "$VERSION"
	printf ' -- hawatch developers <hawatch@example.org>  %s\n' "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n > "$doc/changelog.gz"
find "$doc" -type d -exec chmod 0755 {} +
find "$doc" -type f -exec chmod 0644 {} +

touch "$STAGE/.staged"
fi

mkdir -p "${DEB_OUT:-bin}"
out=${DEB_OUT:-bin}/hawatch_${DEB_VERSION}_${DEB_ARCH}.deb
rm -f "$out"
# nfpm expands variables in a few fields only: fill them all in here.
sed -e "s|\${STAGE}|$STAGE|g" -e "s|\${DEB_VERSION}|$DEB_VERSION|g" -e "s|\${DEB_ARCH}|$DEB_ARCH|g" \
	packaging/deb/nfpm.yaml > "$STAGE/nfpm.yaml"
$GO run "$NFPM" package --config "$STAGE/nfpm.yaml" --packager deb --target "$out"
echo "$out"
