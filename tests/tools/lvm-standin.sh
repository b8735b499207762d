#!/bin/bash
# A stand-in for lvm(8), for tests on a kernel without device-mapper:
# just the subcommands relocd runs (relocd.conf(5), lvm_command), with
# the arguments it passes, over one VG that is a directory of sparse
# backing files, each LV attached to a loop device and linked as
# /dev/VG/LV like real LVM's.  Every call is logged, one line each.
#
#   lvm-standin.sh STATE vgs|lvs|lvcreate|lvremove ARGS...
#
# STATE holds: vg (the name), size and extent (bytes), lv/NAME.img (the
# backing files), lv/NAME.dev (the loop device), calls.log, and
# loops (one "DEVICE BACKINGFILE" line per device attached, which the
# test detaches by name), lvcreate_delay (seconds, optional),
# lvcreate_fail (the error lvcreate prints instead, optional), vg_attr
# (the VG's six attribute characters, wz--n- when absent: wz--ns is an
# lvmlockd-shared VG, wz--nc a clustered one).  An LV made elsewhere
# (the source's, over the test's own loop device) is just its
# lv/NAME.dev.  A new LV is filled with 0xAA first: real extents hold
# whatever was there before, and relocd must zero them.
# relocd runs it with a fixed environment: nothing comes from there.
set -u
S=$1
shift
VG=$(cat "$S/vg")
SIZE=$(cat "$S/size")
EXT=$(cat "$S/extent")
mkdir -p "$S/lv"
echo "$*" >> "$S/calls.log"

die() { echo "  $*" >&2; exit 5; }

used() {
	local f t=0
	for f in "$S"/lv/*.img; do
		[ -f "$f" ] || continue
		t=$((t + $(stat -c %s "$f")))
	done
	echo $t
}

need_vg() { [ "$1" = "$VG" ] || die "Volume group \"$1\" not found"; }

cmd=$1
shift
case $cmd in
vgs)
	# vgs --noheadings --nosuffix --units b --options vg_free,vg_extent_size VG
	[ "$*" = "--noheadings --nosuffix --units b --options vg_free,vg_extent_size $VG" ] ||
	    { [ $# -ge 1 ] && need_vg "${@: -1}"; die "stand-in: unexpected vgs $*"; }
	printf '  %s %s\n' $((SIZE - $(used))) "$EXT"
	;;
lvs)
	[ $# -eq 4 ] && [ "$1 $2" = "--noheadings --options" ] ||
	    die "stand-in: unexpected lvs $*"
	case $3 in
	lv_name)
		need_vg "$4"
		for f in "$S"/lv/*.img; do
			[ -f "$f" ] && printf '  %s\n' "$(basename "$f" .img)"
		done
		;;
	vg_name,lv_name,vg_attr)
		# lvs PATH: /dev/VG/LV or VG/LV, as real lvs takes them;
		# anything else is no LV of ours, as for real LVM.
		p=${4#/dev/}
		case $p in
		*/*/*|/*|*/) die "Volume group \"${p%%/*}\" not found";;
		*/*) ;;
		*) die "Volume group \"$p\" not found";;
		esac
		need_vg "${p%%/*}"
		lv=${p#*/}
		[ -e "$S/lv/$lv.dev" ] ||
		    die "Failed to find logical volume \"$p\""
		attr=wz--n-
		[ -f "$S/vg_attr" ] && attr=$(cat "$S/vg_attr")
		printf '  %s %s %s\n' "$VG" "$lv" "$attr"
		;;
	*)
		die "stand-in: unexpected lvs $*"
		;;
	esac
	;;
lvcreate)
	# lvcreate --yes --wipesignatures n --zero n -n LV -L SIZEb VG
	[ $# -eq 10 ] && [ "$1 $2 $3 $4 $5" = "--yes --wipesignatures n --zero n" ] &&
	    [ "$6" = -n ] && [ "$8" = -L ] || die "stand-in: unexpected lvcreate $*"
	lv=$7 sz=$9 vg=${10}
	need_vg "$vg"
	case $sz in *b) sz=${sz%b};; *) die "stand-in: size $sz not in bytes";; esac
	case $sz in ''|*[!0-9]*) die "stand-in: bad size $sz";; esac
	[ $((sz % EXT)) -eq 0 ] || die "stand-in: $sz is not a multiple of the extent size $EXT"
	[ -e "$S/lv/$lv.img" ] && die "Logical Volume \"$lv\" already exists in volume group \"$VG\""
	[ $((SIZE - $(used))) -ge "$sz" ] ||
	    die "Volume group \"$VG\" has insufficient free space"
	# A slow VG (STATE/lvcreate_delay seconds), as lvcreate and the
	# zeroing after it can be on storage that writes every byte.
	[ -f "$S/lvcreate_delay" ] && sleep "$(cat "$S/lvcreate_delay")"
	# LVM's own refusal at this point (STATE/lvcreate_fail: its text),
	# as when another LV took the room since relocd looked.
	[ -f "$S/lvcreate_fail" ] && die "$(cat "$S/lvcreate_fail")"
	# Old data on the "PV": every byte 0xAA.
	head -c "$sz" /dev/zero | tr '\0' '\252' > "$S/lv/$lv.img" || die "cannot write"
	dev=$(losetup -f --show "$S/lv/$lv.img") || { rm -f "$S/lv/$lv.img"; die "losetup failed"; }
	echo "$dev $S/lv/$lv.img" >> "$S/loops"
	echo "$dev" > "$S/lv/$lv.dev"
	mkdir -p "/dev/$VG"
	ln -s "$dev" "/dev/$VG/$lv"
	echo "  Logical volume \"$lv\" created."
	;;
lvremove)
	[ $# -eq 2 ] && [ "$1" = --yes ] || die "stand-in: unexpected lvremove $*"
	need_vg "${2%%/*}"
	lv=${2#*/}
	[ -f "$S/lv/$lv.img" ] || die "Failed to find logical volume \"$2\""
	dev=$(cat "$S/lv/$lv.dev")
	losetup -d "$dev" || die "Logical volume $2 in use."
	rm -f "/dev/$VG/$lv" "$S/lv/$lv.img" "$S/lv/$lv.dev"
	echo "  Logical volume \"$lv\" successfully removed."
	;;
*)
	die "stand-in: no subcommand $cmd"
	;;
esac
exit 0
