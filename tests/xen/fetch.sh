#!/bin/bash
#
# Fetch the Debian packages a check-xen run needs and unpack them, without
# installing anything on this machine: `apt-get download` + `dpkg -x` into
# build/xen/.  Idempotent: packages already unpacked are not fetched again.
#
# Usage: bash tests/xen/fetch.sh DIR

set -eu

dir=${1:?usage: fetch.sh DIR}
mkdir -p "$dir/debs" "$dir/root"

# What the two hosts and their QEMU need, and why.
PACKAGES=(
	xen-hypervisor-4.17-amd64	# the hypervisor (xen-4.17-amd64.gz)
	xen-utils-4.17			# xl, xenstored, xenconsoled, save helper
	xen-utils-common		# xen-init-dom0 helpers, xen scripts
	libxenmisc4.17			# libxenlight, libxlutil
	libxenstore4			# xenstore client
	xenstore-utils			# xenstore-read/-write: the disk script
	libxengnttab1 libxenevtchn1 libxencall1 libxenforeignmemory1
	libxendevicemodel1 libxentoolcore1 libxentoollog1 libxenhypfs1
	libyajl2			# libxl's JSON
	libnl-3-200 libnl-route-3-200	# libxl links them
	linux-image-amd64		# dom0 and guest kernel (6.1)
	busybox-static			# dom0 and guest userland
	qemu-system-x86 qemu-system-common	# the two hosts, TCG module
	qemu-system-data seabios	# its firmware
	libcapstone4 libfdt1 libpmem1 librdmacm1 libibverbs1 libslirp0
	libvdeplug2 liburing2 libfuse3-3 libaio1 libndctl6 libdaxctl1
					# what qemu-system-x86 links
	cpio				# initramfs archives
	dropbear-bin libtomcrypt1 libtommath1
					# sshd and ssh for xl migrate over ssh
	lvm2 dmsetup libdevmapper1.02.1 libdevmapper-event1.02.1
	libudev1 libselinux1 libpcre2-8-0 libblkid1 libsystemd0
	libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1
	libedit2 libbsd0 libmd0 libtinfo6
					# lvm and dmsetup (step 1f: a VG in each
					# dom0) and what `ldd /sbin/lvm` shows
)

names=()
for p in "${PACKAGES[@]}"; do
	case $p in \#*) continue ;; esac
	names+=("$p")
done

# linux-image-amd64 is a metapackage: follow it to the real image.
need=()
for p in "${names[@]}"; do
	[ -e "$dir/debs/.$p.done" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	# A fresh machine may have no package lists yet: update once (root).
	if ! (cd "$dir/debs" && apt-get -q download "${need[@]}" </dev/null); then
		[ "$(id -u)" -eq 0 ] && apt-get -q update </dev/null || exit 1
		(cd "$dir/debs" && apt-get -q download "${need[@]}" </dev/null)
	fi
	for p in "${need[@]}"; do
		touch "$dir/debs/.$p.done"
	done
fi
if ! ls "$dir"/debs/linux-image-6*.deb >/dev/null 2>&1; then
	img=$(apt-cache depends linux-image-amd64 2>/dev/null |
	    awk '/Depends: linux-image-6/ { print $2; exit }')
	[ -n "$img" ] || { echo "fetch.sh: cannot resolve linux-image-amd64" >&2; exit 1; }
	(cd "$dir/debs" && apt-get -q download "$img" </dev/null)
fi
for deb in "$dir"/debs/*.deb; do
	stamp="$dir/root/.$(basename "$deb").x"
	[ -e "$stamp" ] && continue
	dpkg -x "$deb" "$dir/root"
	touch "$stamp"
done
