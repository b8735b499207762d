#!/bin/bash
# xmig migrate --copy-storage of a block-device disk into a new LV of
# the destination's incoming_volume_group, on sim hosts.  This kernel
# has loop devices but no device-mapper: lvm_command is a stand-in
# (tests/tools/lvm-standin.sh) whose "LVs" are loop devices over sparse
# files, linked as /dev/VG/LV as real LVM links them (real LVM: make
# check-xen).  The source's disk is a loop device too, linked as
# /dev/rsrcPID/web.  Scenarios: the copy (its bytes equal, holes read
# as zeros over the stand-in's 0xAA "old data", the LV rounded up to
# whole extents); an LV of that name already there; a VG too small; no
# incoming_volume_group; a damaged chunk (the partial LV removed); kill
# -9 of b's relocd mid-copy (the LV removed on reconciliation).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

VG=rtest$$
SRCVG=rsrc$$
S=$W/vg			# the stand-in's state
LVM=$W/lvm		# lvm_command for b
SRC_MB=62		# not a whole number of 4 MiB extents
EXT=$((4 * 1048576))
LV_BYTES=$(( (SRC_MB * 1048576 + EXT - 1) / EXT * EXT ))
D=web

# Only the loop devices this test attached, by name, and only while
# they still hold our backing file.
lvm_cleanup() {
	local dev file
	fault_cleanup
	for f in "$S/loops" "$W/srcloop"; do
		[ -f "$f" ] || continue
		while read -r dev file; do
			[ "$(losetup -nO BACK-FILE "$dev" 2>/dev/null)" = "$file" ] &&
			    losetup -d "$dev"
		done < "$f"
	done
	rm -rf "/dev/$VG" "/dev/$SRCVG"
}
trap lvm_cleanup EXIT INT TERM

# The source "LV": SRC_MB sparse, 8 MiB of mkimage.py's pieces and 3 MiB
# of random bytes, holes between.
truncate -s 0 "$W/src.img"
python3 "$ROOT/tests/tools/mkimage.py" "$W/src.img" $SRC_MB 8
dd if=/dev/urandom of="$W/src.img" bs=1M seek=20 count=3 conv=notrunc \
    status=none
if ! SRCDEV=$(losetup -f --show "$W/src.img" 2>"$W/losetup.err"); then
	echo "SKIP $T: losetup cannot attach a loop device ($(cat "$W/losetup.err"))"
	exit 0
fi
echo "$SRCDEV $W/src.img" > "$W/srcloop"
mkdir -p "/dev/$SRCVG"
ln -s "$SRCDEV" "/dev/$SRCVG/$D"
SRC_SUM=$(sha256sum < "$SRCDEV" | cut -d' ' -f1)

printf '#!/bin/bash\nexec bash %q %q "$@"\n' \
    "$ROOT/tests/tools/lvm-standin.sh" "$S" > "$LVM"
chmod 755 "$LVM"

cat > "$W/$D.cfg" <<EOC
name = "$D"
memory = 16
vcpus = 1
sim_dirty_rate = 200
sim_tick_ms = 50
disk = [ "phy:/dev/$SRCVG/$D,xvda,w" ]
EOC

# vg_reset SIZE_MB: the stand-in's VG, empty, SIZE_MB big.
vg_reset() {
	local f
	for f in "$S"/lv/*.img; do
		[ -f "$f" ] && "$LVM" lvremove --yes "$VG/$(basename "$f" .img)" >/dev/null
	done
	mkdir -p "$S/lv"
	echo "$VG" > "$S/vg"
	echo $(($1 * 1048576)) > "$S/size"
	echo $EXT > "$S/extent"
	: > "$S/calls.log"
}

# lvm_setup VG_MB [FAULTS_A] [FAULTS_B]: fresh hosts, b with the VG (VG_MB
# 0: no incoming_volume_group), $D running on a.
lvm_setup() {
	vg_reset "$1"
	fault_hosts
	conf_set b lvm_command "\"$LVM\""
	[ "$1" -gt 0 ] && conf_set b incoming_volume_group "\"$VG\""
	start_fault a "${2:-}" || return 1
	start_fault b "${3:-}" || return 1
	xmig_on a create "$W/$D.cfg" >/dev/null || return 1
	wait_for "$(console_log a "$D")" "tick 3" 10
}

no_lv_left() {
	[ -z "$(ls -A "$S/lv" 2>/dev/null)" ] && [ ! -e "/dev/$VG/$D" ]
}

source_intact() {
	[ "$(sha256sum < "$SRCDEV" | cut -d' ' -f1)" = "$SRC_SUM" ]
}

# Nothing reached b: never received, nothing created in the VG.
nothing_on_b() {
	! grep -q 'receiving domain' "$W/b/relocd.log" &&
	    ! grep -q lvcreate "$S/calls.log" && no_lv_left
}

# 1. The copy (offline).
scenario_begin "copy into a new LV"
lvm_setup 256
xmig_on a check --copy-storage $D 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/check.out"
check "$SCEN: xmig check --copy-storage passes (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: ... with the LV's size and the VG's free space" \
    grep -q "PASS storage: 1 disk copied here: 64.0 MiB of data ($SRC_MB.0 MiB apparent), 256.0 MiB free" "$W/check.out"
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: migrated (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: lvcreate made /dev/$VG/$D in whole extents ($LV_BYTES bytes)" \
    grep -qx -- "lvcreate --yes --wipesignatures n --zero n -n $D -L ${LV_BYTES}b $VG" "$S/calls.log"
check "$SCEN: the LV is a block device behind LVM's link" \
    [ -L "/dev/$VG/$D" -a -b "/dev/$VG/$D" ]
DST_SUM=$(head -c $((SRC_MB * 1048576)) "/dev/$VG/$D" | sha256sum | cut -d' ' -f1)
check "$SCEN: the LV holds the source's bytes (sha256 ${DST_SUM:0:16}...)" \
    [ "$DST_SUM" = "$SRC_SUM" ]
# The hash above covers the holes (zeros at the source); the extents'
# tail beyond the source's size must be zeros too, not the 0xAA the
# stand-in leaves in a new LV.
TAIL=$((LV_BYTES - SRC_MB * 1048576))
check "$SCEN: ... and the rest of the last extent is zeros ($TAIL bytes)" \
    sh -c "tail -c $TAIL '/dev/$VG/$D' | cmp -s -n $TAIL - /dev/zero"
check "$SCEN: the domain on b runs on /dev/$VG/$D" \
    sh -c "grep -rqs '\"/dev/$VG/$D\"' '$W/b/state/sim/dom'"
check "$SCEN: its source device is kept" source_intact
held_on b $D
scenario_end

# 2. Live (sim): the LV is written while the domain runs on a, with
# the dirty map the sim keeps for a block device (this guest does not
# write its disk: one pass, then the final round).
scenario_begin "live copy into a new LV"
lvm_setup 256
xmig_on a migrate -l --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: migrated (exit $rc)" [ $rc -eq 0 ]
DST_SUM=$(head -c $((SRC_MB * 1048576)) "/dev/$VG/$D" | sha256sum | cut -d' ' -f1)
check "$SCEN: the LV holds the source's bytes" [ "$DST_SUM" = "$SRC_SUM" ]
held_on b $D
scenario_end

# 3. An LV of that name is there already: never overwritten.
scenario_begin "an LV of that name exists"
lvm_setup 256
"$LVM" lvcreate --yes --wipesignatures n --zero n -n $D -L 8388608b $VG >/dev/null
: > "$S/calls.log"
OLD_SUM=$(sha256sum < "/dev/$VG/$D" | cut -d' ' -f1)
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... saying why" grep -q "the logical volume /dev/$VG/$D already exists here and is never overwritten" "$W/mig.out"
check "$SCEN: ... up front: never received, no lvcreate or lvremove" \
    sh -c "! grep -q 'receiving domain' '$W/b/relocd.log' && ! grep -Eq 'lvcreate|lvremove' '$S/calls.log'"
check "$SCEN: the existing LV is untouched" \
    [ "$(sha256sum < "/dev/$VG/$D" | cut -d' ' -f1)" = "$OLD_SUM" ]
VERIFY=0 held_on a $D
scenario_end

# 4. The VG is too small: refused before any byte.
scenario_begin "no room in the VG"
lvm_setup 32
xmig_on a check --copy-storage $D 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/check.out"
check "$SCEN: xmig check fails (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... naming the VG, what is needed and what is free" \
    grep -q "FAIL storage: .*no room for its copy: 64.0 MiB needed in volume group $VG .* 32.0 MiB free" "$W/check.out"
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... saying so" grep -q "no room for its copy: 64.0 MiB needed in volume group $VG" "$W/mig.out"
check "$SCEN: before any byte: nothing received, nothing created" nothing_on_b
check "$SCEN: never suspended" \
    sh -c "! grep -qs '\"phase\":\"stream\"' '$W'/a/state/journal/*.json"
VERIFY=0 held_on a $D
scenario_end

# 5. No incoming_volume_group on b.
scenario_begin "no incoming_volume_group"
lvm_setup 0
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... naming the key" grep -q "needs incoming_volume_group" "$W/mig.out"
check "$SCEN: nothing received, nothing created" nothing_on_b
VERIFY=0 held_on a $D
scenario_end

# 6. A chunk damaged in flight, or on its way to the LV: the migration
# fails, the domain resumes on a, the partial LV is removed.
for fault in "diskchunk=corrupt:" ":diskwrite=corrupt"; do
	fa=${fault%%:*} fb=${fault#*:}
	scenario_begin "damaged chunk (${fa:-$fb})"
	lvm_setup 256 "$fa" "$fb"
	xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/mig.out"
	check "$SCEN: the migration fails (exit $rc)" [ $rc -eq 1 ]
	check "$SCEN: ... on the damage" \
	    grep -Eq "arrived damaged|does not match the source's image" "$W/mig.out"
	check "$SCEN: b's session ended" wait_no_workers b 10
	check "$SCEN: the LV had been made" grep -q "^lvcreate " "$S/calls.log"
	check "$SCEN: the partial LV is removed" \
	    wait_for "$S/calls.log" "^lvremove --yes $VG/$D\$" 10
	check "$SCEN: no LV left" no_lv_left
	check "$SCEN: the source is untouched" source_intact
	held_on a $D
	scenario_end
done

# 7. kill -9 of b's relocd (parent and workers) mid-copy, slowed by -r:
# one running copy, on a, and no LV left once b reconciled.
scenario_begin "relocd on b killed mid-copy"
lvm_setup 256
migrate_bg $D 127.0.0.3 --copy-storage -r 16
check "$SCEN: the disk copy is under way" \
    wait_for "$W/a/relocd.log" "disks: .* copied" 20
kill9_host b all
migrate_wait
check "$SCEN: xmig does not report success (exit $MIG_RC)" [ $MIG_RC -ne 0 ]
start_host b
check "$SCEN: b's restart removed the partial LV" \
    wait_for "$W/b/relocd.log" "removed the partial disk copy, the logical volume $VG/$D" 15
check "$SCEN: no LV left" no_lv_left
check "$SCEN: the source is untouched" source_intact
held_on a $D
scenario_end

# 8. The LV takes longer to make than the source's io_timeout (3 s
# here): the migration fails before go, the domain resumes on a, and
# the LV made late is removed.
scenario_begin "LV creation slower than io_timeout"
lvm_setup 256
echo 8 > "$S/lvcreate_delay"
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
rm -f "$S/lvcreate_delay"
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: the migration fails (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: b's session ended" wait_no_workers b 20
check "$SCEN: the LV is removed" \
    wait_for "$S/calls.log" "^lvremove --yes $VG/$D\$" 10
check "$SCEN: no LV left" no_lv_left
check "$SCEN: the source is untouched" source_intact
held_on a $D
scenario_end

scenario_summary
finish
