#!/bin/bash
#
# Build the two initramfs images of a check-xen run from the unpacked
# Debian packages (fetch.sh) and this tree's build:
#
#   DIR/dom0.cpio.gz   a Xen dom0: busybox, Xen's tools at Debian's paths
#                      (libxl hardcodes them), this project's relocd, its
#                      libxl module and xmig, every shared library they
#                      load, the test PKI
#                      and the guest's kernel and initramfs
#   DIR/guest.cpio.gz  a guest whose init prints "HB N" on hvc0 every
#                      second: its counter proves the guest kept its state
#
# Usage: bash tests/xen/mkinitrd.sh DIR TREE   (TREE: the source tree)

set -eu

dir=$1
tree=$2
root=$dir/root
kver=$(ls "$root/lib/modules" | head -n 1)
xenbin=/usr/lib/xen-4.17/bin
libpath=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu

# copy_bin SRC DEST: a program or a module and every library ldd says it
# loads, preferring the unpacked Debian libraries to the build machine's.
copy_bin() {
	local src=$1 dst=$2 lib
	mkdir -p "$(dirname "$dst")"
	cp -L "$src" "$dst"
	LD_LIBRARY_PATH=$libpath ldd "$src" | awk '/=> \// { print $3 }
	    /^\t\/lib64\// { print $1 }' | while read -r lib; do
		case $lib in
		/lib64/*) mkdir -p "$img/lib64"; cp -L "$lib" "$img/lib64/" ;;
		*) cp -L "$lib" "$img/lib/x86_64-linux-gnu/" ;;
		esac
	done
	if LD_LIBRARY_PATH=$libpath ldd "$src" | grep -q 'not found'; then
		echo "mkinitrd.sh: $src: libraries not found:" >&2
		LD_LIBRARY_PATH=$libpath ldd "$src" | grep 'not found' >&2
		exit 1
	fi
}

# ---- the guest ----
img=$dir/guest.d
rm -rf "$img"
mkdir -p "$img/bin" "$img/sbin" "$img/proc" "$img/sys" "$img/dev"
cp "$root/bin/busybox" "$img/bin/busybox"
# Xen's shutdown requests reach init as the kernel's orderly poweroff
# (/sbin/poweroff) and Ctrl-Alt-Del (SIGINT): so on_poweroff/on_reboot
# can be seen to work after a migration.
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' > "$img/sbin/poweroff"
chmod 755 "$img/sbin/poweroff"
cat > "$img/init" <<'EOF'
#!/bin/busybox sh
trap '/bin/busybox reboot -f' INT
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
n=0
while :; do
	n=$((n + 1))
	echo "HB $n"
	/bin/busybox sleep 1
done
EOF
chmod 755 "$img/init"
(cd "$img" && find . | cpio -o -H newc --quiet) | gzip -1 > "$dir/guest.cpio.gz"

# ---- dom0 ----
img=$dir/dom0.d
rm -rf "$img"
mkdir -p "$img"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,guest} \
    "$img"/lib/x86_64-linux-gnu "$img"/usr/{bin,sbin} "$img$xenbin" \
    "$img"/var/{lib,log} "$img"/etc/xen/relocd
ln -s /run "$img/var/run"
cp "$root/bin/busybox" "$img/bin/busybox"
for p in xl xenstored xenconsoled xenconsole libxl-save-helper \
    xen-init-dom0; do
	copy_bin "$root$xenbin/$p" "$img$xenbin/$p"
done
ln -s "$xenbin/xl" "$img/usr/sbin/xl"
# xenstore-read/-write (one program, named by argv[0]) for the disk script
copy_bin "$root/usr/bin/xenstore" "$img/usr/bin/xenstore"
for p in read write rm ls exists; do
	ln -s xenstore "$img/usr/bin/xenstore-$p"
done
copy_bin "$tree/build/relocd" "$img/usr/sbin/relocd"
# The libxl backend is a module relocd loads from its own directory first
# (xenops/xenops.c); libxenlight and the rest come with it, by its ldd.
copy_bin "$tree/build/relocd-libxl.so" "$img/usr/sbin/relocd-libxl.so"
copy_bin "$tree/build/xmig" "$img/usr/bin/xmig"
# LVM (step 1f: a volume group in each dom0, relocd's
# incoming_volume_group): Debian's lvm at /sbin/lvm, relocd's default
# lvm_command, and dmsetup to look at what it made.  No udev here:
# lvm.conf (below) has LVM make the device nodes itself.
copy_bin "$root/sbin/lvm" "$img/sbin/lvm"
copy_bin "$root/sbin/dmsetup" "$img/sbin/dmsetup"
mkdir -p "$img/etc/lvm"
# Nothing of Debian's: every setting that matters without udev, and a
# filter that lets LVM see only brd's first ramdisk, where the scenario
# makes the physical volume (so it never scans the guests' loop devices
# or its own logical volumes).
cat > "$img/etc/lvm/lvm.conf" <<'EOF'
devices {
	dir = "/dev"
	scan = [ "/dev" ]
	filter = [ "a|^/dev/ram0$|", "r|.*|" ]
	global_filter = [ "a|^/dev/ram0$|", "r|.*|" ]
	obtain_device_list_from_udev = 0
	external_device_info_source = "none"
	use_devicesfile = 0
	md_component_detection = 0
	multipath_component_detection = 0
	fw_raid_component_detection = 0
	scan_lvs = 0
}
global {
	locking_dir = "/run/lock/lvm"
	event_activation = 0
	use_lvmpolld = 0
}
activation {
	udev_sync = 0
	udev_rules = 0
	verify_udev_operations = 0
	monitoring = 0
}
backup {
	archive = 0
}
EOF
# ssh for stock `xl migrate DOM HOST`, the comparison: Dropbear's server
# and client (its dbclient answers to "ssh", the command xl runs), xl
# also on the path a remote command gets.
copy_bin "$root/usr/sbin/dropbear" "$img/usr/sbin/dropbear"
copy_bin "$root/usr/bin/dbclient" "$img/usr/bin/dbclient"
ln -s dbclient "$img/usr/bin/ssh"
ln -s "$xenbin/xl" "$img/usr/bin/xl"
# The keys are made now, for this run: a host key per dom0 and root's
# client key, which both dom0s authorize; each knows the other's host
# key under its name and address.
keys=$dir/ssh
rm -rf "$keys"
mkdir -p "$keys" "$img/etc/dropbear" "$img/root/.ssh"
: > "$img/root/.ssh/known_hosts"
for h in xena:10.99.0.1 xenb:10.99.0.2 root:; do
	LD_LIBRARY_PATH=$libpath "$root/usr/bin/dropbearkey" -t ed25519 \
	    -f "$keys/${h%%:*}.key" >/dev/null 2>&1 &&
	    LD_LIBRARY_PATH=$libpath "$root/usr/bin/dropbearkey" -y \
	    -f "$keys/${h%%:*}.key" 2>/dev/null | grep '^ssh-' |
	    cut -d' ' -f1,2 > "$keys/${h%%:*}.pub" ||
	    { echo "mkinitrd.sh: dropbearkey failed" >&2; exit 1; }
	case $h in
	root:) ;;
	*)	cp "$keys/${h%%:*}.key" "$img/etc/dropbear/"
		# One line per name: Dropbear's client matches the host
		# field whole, so OpenSSH's "name,address" matches neither,
		# and it then asks on /dev/tty (here the agent's serial
		# line), which looked like a hang.
		echo "${h%%:*} $(cat "$keys/${h%%:*}.pub")" \
		    >> "$img/root/.ssh/known_hosts"
		echo "${h#*:} $(cat "$keys/${h%%:*}.pub")" \
		    >> "$img/root/.ssh/known_hosts" ;;
	esac
done
cp "$keys/root.key" "$img/root/.ssh/id_dropbear"
cp "$keys/root.pub" "$img/root/.ssh/authorized_keys"
chmod 700 "$img/root" "$img/root/.ssh"
chmod 600 "$img"/root/.ssh/* "$img"/etc/dropbear/*.key
printf '/bin/sh\n' > "$img/etc/shells"
# glibc dlopens it for pthread_cancel; xl aborts without it.
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$img/lib/x86_64-linux-gnu/"
for m in drivers/xen/xen-evtchn.ko drivers/xen/xen-gntdev.ko \
    drivers/xen/xen-gntalloc.ko drivers/xen/xen-privcmd.ko \
    drivers/xen/xenfs/xenfs.ko drivers/net/ethernet/intel/e1000/e1000.ko \
    drivers/block/xen-blkback/xen-blkback.ko drivers/block/brd.ko \
    drivers/block/loop.ko drivers/md/dm-mod.ko \
    fs/netfs/netfs.ko fs/fscache/fscache.ko net/9p/9pnet.ko \
    drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko \
    drivers/virtio/virtio_pci_modern_dev.ko \
    drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko \
    net/9p/9pnet_virtio.ko fs/9p/9p.ko net/core/failover.ko \
    drivers/net/net_failover.ko drivers/net/virtio_net.ko \
    drivers/net/mii.ko drivers/net/ethernet/realtek/8139cp.ko; do
	mkdir -p "$img/lib/modules/$kver/$(dirname "$m")"
	cp "$root/lib/modules/$kver/kernel/$m" "$img/lib/modules/$kver/$m"
done
cp "$root/boot/vmlinuz-$kver" "$img/guest/vmlinuz"
# libxl's hotplug script for a phy disk (the default, "block" in its
# script directory): Debian's is bash and wants tools this dom0 lacks,
# so this one is busybox sh.  libxl runs it as "block add|remove" with
# XENBUS_PATH, the backend's xenstore directory (relative to dom0's);
# xen-blkback opens the device once physical-device (hex major:minor)
# appears there.  A block device is given as it is; a regular file (a
# file image: libxl takes it on the phy backend too) goes through a
# loop device, named in "node" so that remove can release it, as Xen's
# own script does.  The default name keeps the guest's config an
# ordinary one: relocd's policy refuses a disk with a script of its own.
mkdir -p "$img/etc/xen/scripts"
cat > "$img/etc/xen/scripts/block" <<'EOF'
#!/bin/busybox sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
case $1 in
add)
	dev=$(xenstore-read "$XENBUS_PATH/params") || exit 1
	if [ -f "$dev" ]; then
		file=$dev
		dev=$(losetup -f) && losetup "$dev" "$file" || {
			echo "block: no loop device for $file" >&2
			xenstore-write "$XENBUS_PATH/hotplug-error" \
			    "no loop device for $file"
			exit 1
		}
		xenstore-write "$XENBUS_PATH/node" "$dev"
		echo "block: $XENBUS_PATH: $file on $dev" >&2
	fi
	if [ ! -b "$dev" ]; then
		echo "block: $dev is not a block device or a file" >&2
		xenstore-write "$XENBUS_PATH/hotplug-error" \
		    "$dev is not a block device or a file"
		exit 1
	fi
	echo "block: $XENBUS_PATH: $dev is $(stat -L -c %t:%T "$dev")" >&2
	xenstore-write "$XENBUS_PATH/physical-device" \
	    "$(stat -L -c %t:%T "$dev")" \
	    "$XENBUS_PATH/hotplug-status" connected
	;;
remove)
	dev=$(xenstore-read "$XENBUS_PATH/node" 2>/dev/null)
	case $dev in
	/dev/loop*)
		losetup -d "$dev" &&
		    echo "block: $XENBUS_PATH: $dev released" >&2 ;;
	esac
	echo "block: $XENBUS_PATH removed" >&2
	;;
esac
EOF
chmod 755 "$img/etc/xen/scripts/block"
cp "$dir/guest.cpio.gz" "$img/guest/guest.cpio.gz"
cp "$dir"/pki/{ca.pem,foreign-ca.pem,xena.pem,xena.key,xenb.pem,xenb.key,foreign.pem,foreign.key} \
    "$img/etc/xen/relocd/"
chmod 600 "$img"/etc/xen/relocd/*.key
printf '10.99.0.1\txena\n10.99.0.2\txenb\n127.0.0.1\tlocalhost\n' \
    > "$img/etc/hosts"
# relocd's network processes run as "relocd" (the user setting's default).
printf 'root:x:0:0:root:/root:/bin/sh\nrelocd:x:999:999:relocd:/nonexistent:/bin/false\n' \
    > "$img/etc/passwd"
printf 'root:x:0:\nrelocd:x:999:\n' > "$img/etc/group"
: > "$img/etc/xen/xl.conf"
cp "$tree/tests/xen/dom0-init" "$img/init"
chmod 755 "$img/init"
(cd "$img" && find . | cpio -o -H newc --quiet) | gzip -1 > "$dir/dom0.cpio.gz"
