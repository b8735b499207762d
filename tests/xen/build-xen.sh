#!/bin/bash
#
# Build Debian's Xen 4.17 hypervisor, and only the hypervisor, with
# shadow paging (make check-xen XEN=shadow).  Debian builds it without
# CONFIG_SHADOW_PAGING, and a PV guest needs shadow paging for the
# log-dirty mode of a live migration.
#
# The source is Debian's own source package from the main archive, its
# three files checked against the SHA-256 sums below (those of bookworm's
# Sources index); Debian's patch series is applied as dpkg-source would;
# the .config is the one Debian ships beside its hypervisor (the stock
# package's /boot/xen-4.17-amd64.config, unpacked by fetch.sh) with
# CONFIG_SHADOW_PAGING=y, completed by `make olddefconfig`.  The result
# is cached under DIR/shadow/VERSION, keyed by the source version: it is
# built once per machine (about ten minutes on two cores).
#
# The dom0 tools stay Debian's 4.17.7 packages: the domctl and sysctl
# interfaces the tools use do not change within a Xen release (4.17.x).
#
# Usage: bash tests/xen/build-xen.sh DIR   (prints the path of xen.gz)

set -eu

dir=${1:?usage: build-xen.sh DIR}
dir=$(cd "$dir" && pwd)	# the build runs in a directory of its own
# bookworm's main archive; its security pool's newer source is not on
# every mirror.  A new Debian upload: take the three sums from
# dists/bookworm/main/source/Sources.xz.
VERSION=4.17.5+72-g01140da4e8-1
MIRROR=${XEN_MIRROR:-http://deb.debian.org/debian}
SUMS="
f13956b67fb7a65707c2b0620d89b41ee5d203434dd7bb913017356791ee66c1 xen_4.17.5+72-g01140da4e8-1.dsc
53922f4d0a02c577f2ea9d63f65989cd88715779eebeed879ca1d314103ee06e xen_4.17.5+72-g01140da4e8.orig.tar.xz
5bcf3812c64585e270e0b3fa6ee8fd16dff7b9bc0f61375d648c64672484c4d9 xen_4.17.5+72-g01140da4e8-1.debian.tar.xz
"
out=$dir/shadow/$VERSION
stock_config=$dir/root/boot/xen-4.17-amd64.config

if [ -s "$out/xen.gz" ]; then
	echo "$out/xen.gz"
	exit 0
fi
[ -r "$stock_config" ] ||
    { echo "build-xen.sh: no $stock_config (run fetch.sh first)" >&2; exit 1; }
mkdir -p "$out/src"
cd "$out/src"
while read -r sum f; do
	[ -n "$f" ] || continue
	if ! echo "$sum  $f" | sha256sum -c --quiet - >/dev/null 2>&1; then
		rm -f "$f"
		curl -sSf --retry 2 -o "$f" "$MIRROR/pool/main/x/xen/$f" ||
		    { echo "build-xen.sh: cannot fetch $f" >&2; exit 1; }
		echo "$sum  $f" | sha256sum -c --quiet - ||
		    { echo "build-xen.sh: $f: wrong SHA-256" >&2; exit 1; }
	fi
done <<<"$SUMS"

t0=$(date +%s)
rm -rf tree
mkdir tree
tar -C tree --strip-components=1 -xf xen_*.orig.tar.xz
tar -C tree -xf xen_*.debian.tar.xz
cd tree
# Debian's series, in order, as dpkg-source applies it (quilt, -p1).
while read -r p; do
	case $p in '' | \#*) continue ;; esac
	patch -p1 -s -N --no-backup-if-mismatch < "debian/patches/$p" ||
	    { echo "build-xen.sh: patch $p does not apply" >&2; exit 1; }
done < debian/patches/series
cp "$stock_config" xen/.config
sed -i 's/^# CONFIG_SHADOW_PAGING is not set$/CONFIG_SHADOW_PAGING=y/' \
    xen/.config
# The variables debian/rules gives the hypervisor's build: its banner
# names the package version (patch 0003), here marked as not Debian's.
export DEB_VERSION="$VERSION+shadow"
export DEB_MAINTAINER="relocd check-xen <nobody@localhost>"
mk="make -C xen XEN_TARGET_ARCH=x86_64 XEN_COMPILE_ARCH=x86_64"
$mk olddefconfig >"$out/build.log" 2>&1
grep -qx 'CONFIG_SHADOW_PAGING=y' xen/.config ||
    { echo "build-xen.sh: olddefconfig dropped CONFIG_SHADOW_PAGING" >&2; exit 1; }
if ! $mk -j"$(nproc)" >>"$out/build.log" 2>&1; then
	echo "build-xen.sh: the hypervisor's build failed; see $out/build.log" >&2
	tail -n 20 "$out/build.log" >&2
	exit 1
fi
cp xen/.config "$out/xen.config"
gzip -9 < xen/xen > "$out/xen.gz.tmp"
mv "$out/xen.gz.tmp" "$out/xen.gz"
echo "$(($(date +%s) - t0))" > "$out/build-seconds"
# The CPU it took (user, system), which a loaded machine does not inflate.
# (times in this shell: in a pipeline it would see a subshell's).
times > "$out/build-cpu"
sed -i -n '$p' "$out/build-cpu"
cd "$out"
rm -rf src/tree
echo "$out/xen.gz"
