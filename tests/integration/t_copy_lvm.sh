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
# -9 of b's relocd mid-copy (the LV removed on reconciliation); an LV
# slow to create or to zero, the domain running on a meanwhile; a
# reload of b in the middle of the zeroing (the move completes); and a
# cancel, kill -9 of either relocd or a stopped b in the middle of it
# (stopped, the LV removed, the domain never suspended).  a asks
# its own stand-in (a VG named rsrcPID, whose one LV is that device)
# whether a block device is a local LV: only then is it copied.  A loop
# device that is no LV (a shared LUN, present on b as on a) and an LV
# of a VG whose attributes say shared are left alone, the file beside
# them copied: present on b, the domain moves; not allowed there, the
# migration is refused up front.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

VG=rtest$$
SRCVG=rsrc$$
S=$W/vg			# the stand-in's state
LVM=$W/lvm		# lvm_command for b
SS=$W/srcvg		# a's stand-in's state: the VG of the source's LV
LVMA=$W/lvm-a		# lvm_command for a
SRC_MB=62		# not a whole number of 4 MiB extents
EXT=$((4 * 1048576))
LV_BYTES=$(( (SRC_MB * 1048576 + EXT - 1) / EXT * EXT ))
D=web

# Only the loop devices this test attached, by name, and only while
# they still hold our backing file.
lvm_cleanup() {
	local dev file
	fault_cleanup
	for f in "$S/loops" "$W/srcloop" "$W/lunloop"; do
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
printf '#!/bin/bash\nexec bash %q %q "$@"\n' \
    "$ROOT/tests/tools/lvm-standin.sh" "$SS" > "$LVMA"
chmod 755 "$LVM" "$LVMA"
# a's VG holds one LV, the source's device; nothing is made in it.
mkdir -p "$SS/lv"
echo "$SRCVG" > "$SS/vg"
echo $((1024 * 1048576)) > "$SS/size"
echo $EXT > "$SS/extent"
echo "$SRCDEV" > "$SS/lv/$D.dev"

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
	rm -f "$SS/vg_attr"
	: > "$SS/calls.log"
	fault_hosts
	conf_set a lvm_command "\"$LVMA\""
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

# The same, within 10 s: lvremove is logged as it starts.
wait_no_lv() {
	local i
	for i in $(seq 1 100); do
		no_lv_left && return 0
		sleep 0.1
	done
	return 1
}

# b's LV holds the source's bytes (its first SRC_MB MiB: the rest of the
# last extent is checked in 1).
lv_holds_source() {
	[ "$(head -c $((SRC_MB * 1048576)) "/dev/$VG/$D" | sha256sum |
	    cut -d' ' -f1)" = "$SRC_SUM" ]
}

# The end of a move into b's LV that succeeds: xmig exits 0 having shown
# PATTERN (what b was doing), the LV holds the source's bytes, $D runs
# on b and b holds its lease.
lv_move_done() {
	migrate_wait
	check "$SCEN: migrated (exit $MIG_RC)" [ $MIG_RC -eq 0 ]
	check "$SCEN: xmig showed what b was doing: $1" grep -q "$1" "$W/mig.out"
	check "$SCEN: the LV holds the source's bytes" lv_holds_source
	held_on b $D
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
check "$SCEN: a asked LVM whether /dev/$SRCVG/$D is a local LV" \
    grep -qx -- "lvs --noheadings --options vg_name,lv_name,vg_attr /dev/$SRCVG/$D" "$SS/calls.log"
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: migrated (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: lvcreate made /dev/$VG/$D in whole extents ($LV_BYTES bytes)" \
    grep -qx -- "lvcreate --yes --wipesignatures n --zero n -n $D -L ${LV_BYTES}b $VG" "$S/calls.log"
check "$SCEN: the LV is a block device behind LVM's link" \
    [ -L "/dev/$VG/$D" -a -b "/dev/$VG/$D" ]
check "$SCEN: the LV holds the source's bytes (sha256 ${SRC_SUM:0:16}...)" \
    lv_holds_source
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
check "$SCEN: the LV holds the source's bytes" lv_holds_source
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

# The source runs the domain while b makes the LV: a's console keeps
# ticking, and a's journal has not reached the stream (the suspend).
runs_on_a_meanwhile() {
	local t1 t2
	t1=$(last_tick "$(console_log a $D)")
	sleep 1.5
	t2=$(last_tick "$(console_log a $D)")
	say "ticks on a while b prepares: $t1 -> $t2"
	[ "$(dom_state a $D)" = "r-----" ] && [ -n "$t1" ] &&
	    [ "${t2:-0}" -gt "$t1" ] &&
	    ! grep -qs '"phase":"stream"' "$W"/a/state/journal/*.json
}

# 8. The LV takes longer to make (8 s) than the source's io_timeout (3
# s here): b says it is working every second, a waits with the domain
# running, then the copy goes as in 1.
scenario_begin "LV creation slower than io_timeout"
lvm_setup 256
echo 8 > "$S/lvcreate_delay"
migrate_bg $D 127.0.0.3 --copy-storage
check "$SCEN: b is making the LV" wait_for "$S/calls.log" "^lvcreate " 10
sleep 4
check "$SCEN: past a's io_timeout, $D still runs on a, not suspended" \
    runs_on_a_meanwhile
lv_move_done "127.0.0.3: creating the logical volume $VG/$D"
rm -f "$S/lvcreate_delay"
scenario_end

# 9. Zeroing the LV is slow (test fault lvzero: 6 s, a step a second),
# past a's io_timeout: progress all along, the domain running on a.
scenario_begin "slow zeroing, the domain running meanwhile"
lvm_setup 256 "" "lvzero=hang:6"
migrate_bg $D 127.0.0.3 --copy-storage
check "$SCEN: b is zeroing the LV" \
    wait_for "$W/b/relocd.log" "zeroing the new logical volume $VG/$D" 10
sleep 3
check "$SCEN: past a's io_timeout, $D still runs on a, not suspended" \
    runs_on_a_meanwhile
lv_move_done "127.0.0.3: zeroing the new logical volume $VG/$D: 0 of $((LV_BYTES >> 20)) MiB"
scenario_end

# 9b. A reload of b while it zeroes, incoming_volume_group taken out of
# its relocd.conf: the session in flight keeps the configuration it
# began with and the move completes (the next one would be refused, as
# in 5).
scenario_begin "reload of b while it zeroes the LV"
lvm_setup 256 "" "lvzero=hang:4"
migrate_bg $D 127.0.0.3 --copy-storage
check "$SCEN: b is zeroing the LV" \
    wait_for "$W/b/relocd.log" "zeroing the new logical volume $VG/$D" 10
grep -v '^incoming_volume_group' "$W/b/relocd.conf" > "$W/b/relocd.conf.new"
mv "$W/b/relocd.conf.new" "$W/b/relocd.conf"
kill -HUP "$(cat "$W/b/relocd.pid")"
check "$SCEN: b reloaded" wait_for "$W/b/relocd.log" "reloaded" 10
lv_move_done "127.0.0.3: zeroing the new logical volume $VG/$D: "
check "$SCEN: b runs without incoming_volume_group now" \
    sh -c "! grep -q '^incoming_volume_group' '$W/b/relocd.conf' && grep -q 'reloaded' '$W/b/relocd.log'"
scenario_end

# 10. xmig cancel while b zeroes (40 s of it): the wait ends at once,
# the domain was never suspended, and b stops zeroing and removes the
# LV long before the zeroing would have ended.
scenario_begin "xmig cancel while b zeroes the LV"
lvm_setup 256 "" "lvzero=hang:40"
migrate_bg $D 127.0.0.3 --copy-storage
check "$SCEN: b is zeroing the LV" \
    wait_for "$W/b/relocd.log" "zeroing the new logical volume $VG/$D" 10
xmig_on a cancel $D > "$W/cancel.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/cancel.out"
check "$SCEN: xmig cancel exits 0 (got $rc)" [ $rc -eq 0 ]
migrate_wait
check "$SCEN: xmig migrate exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
check "$SCEN: ... cancelled while b made the copies" \
    grep -q "cancelled by the administrator while 127.0.0.3 made the disk copies" "$W/mig.out"
check "$SCEN: b stopped zeroing and removed the LV" \
    wait_for "$S/calls.log" "^lvremove --yes $VG/$D\$" 10
check "$SCEN: ... saying why" \
    grep -q "the migration ended while it was zeroed" "$W/b/relocd.log"
check "$SCEN: b's session ended" wait_no_workers b 10
check "$SCEN: no LV left" no_lv_left
check "$SCEN: never suspended" \
    sh -c "! grep -qs '\"phase\":\"stream\"' '$W'/a/state/journal/*.json"
check "$SCEN: the source is untouched" source_intact
# Never suspended, so never resumed: nothing for the guest to verify.
VERIFY=0 held_on a $D
scenario_end

# 11. kill -9 of either relocd (parent and workers) while b zeroes:
# the domain was never suspended and runs on a, once; b removes the LV,
# at once (a gone) or on its restart (b killed).
for victim in b a; do
	scenario_begin "relocd on $victim killed while b zeroes the LV"
	lvm_setup 256 "" "lvzero=hang:40"
	migrate_bg $D 127.0.0.3 --copy-storage
	check "$SCEN: b is zeroing the LV" \
	    wait_for "$W/b/relocd.log" "zeroing the new logical volume $VG/$D" 10
	kill9_host $victim all
	migrate_wait
	if [ $victim = b ]; then
		# a's relocd says the domain was never moved, whichever of
		# b's processes died first: its helper (b's network process
		# says so) or the network process (a reads the TLS end).
		check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
		check "$SCEN: ... $D not migrated, still running on a" \
		    grep -q "$D not migrated: 127.0.0.3[ ,].*; it is still running here" "$W/mig.out"
	else
		# xmig lost its relocd: it cannot know, and says so.
		check "$SCEN: xmig exits 3 (got $MIG_RC)" [ $MIG_RC -eq 3 ]
	fi
	start_host $victim
	check "$SCEN: the LV is removed" \
	    wait_for "$S/calls.log" "^lvremove --yes $VG/$D\$" 15
	check "$SCEN: no LV left" wait_no_lv
	check "$SCEN: never suspended" \
	    sh -c "! grep -qs '\"phase\":\"stream\"' '$W'/a/state/journal/*.json"
	check "$SCEN: the source is untouched" source_intact
	VERIFY=0 held_on a $D
	scenario_end
done

# 12. b's network process stops (SIGSTOP) while b zeroes: a hears
# nothing for its io_timeout (3 s), gives up with the domain never
# suspended; b, continued, finds the session gone and removes the LV.
scenario_begin "b stops answering while it zeroes the LV"
lvm_setup 256 "" "lvzero=hang:40"
migrate_bg $D 127.0.0.3 --copy-storage
check "$SCEN: b is zeroing the LV" \
    wait_for "$W/b/relocd.log" "zeroing the new logical volume $VG/$D" 10
NET=$(net_procs b relocd-peer)
check "$SCEN: b's network process found ($NET)" [ -n "$NET" ]
[ -n "$NET" ] && kill -STOP $NET
migrate_wait
[ -n "$NET" ] && kill -CONT $NET
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
check "$SCEN: ... b stopped answering, $D still running on a" \
    grep -q "$D not migrated: 127.0.0.3, making the disk copies, stopped answering: nothing for 3 s (io_timeout); it is still running here" "$W/mig.out"
check "$SCEN: b removed the LV" \
    wait_for "$S/calls.log" "^lvremove --yes $VG/$D\$" 15
check "$SCEN: no LV left" wait_no_lv
check "$SCEN: never suspended" \
    sh -c "! grep -qs '\"phase\":\"stream\"' '$W'/a/state/journal/*.json"
check "$SCEN: the source is untouched" source_intact
VERIFY=0 held_on a $D
scenario_end

# 13. lvcreate fails at b, after the checks passed (another LV took the
# room meanwhile): the source hears why before it suspends anything.
scenario_begin "lvcreate fails after the checks"
lvm_setup 256
echo "Volume group \"$VG\" has insufficient free space (3 extents): 16 required." > "$S/lvcreate_fail"
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
rm -f "$S/lvcreate_fail"
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... with LVM's reason, before the domain was touched" \
    grep -q "127.0.0.3 cannot take the disk copies: creating the logical volume $VG/$D: .*insufficient free space" "$W/mig.out"
check "$SCEN: never suspended" \
    sh -c "! grep -qs '\"phase\":\"stream\"' '$W'/a/state/journal/*.json"
check "$SCEN: b's session ended" wait_no_workers b 10
check "$SCEN: no LV left" no_lv_left
VERIFY=0 held_on a $D
scenario_end

# The shared-storage scenarios: domain $D2 with a file disk that exists
# only on a (xvda, copied) and a block device that is not copied (xvdb).
D2=db
truncate -s 16M "$W/lun.img"
dd if=/dev/urandom of="$W/lun.img" bs=1M count=2 conv=notrunc status=none
if ! LUNDEV=$(losetup -f --show "$W/lun.img" 2>"$W/losetup.err"); then
	echo "FAIL $T: losetup cannot attach a second loop device ($(cat "$W/losetup.err"))"
	exit 1
fi
echo "$LUNDEV $W/lun.img" > "$W/lunloop"
LUN_SUM=$(sha256sum < "$LUNDEV" | cut -d' ' -f1)

# share_setup BLOCKDEV [B_PATH]: fresh hosts (lvm_setup's, b with a VG
# of 256 MiB), $D2 running on a on its own file and BLOCKDEV; b allows
# its disk directory, and B_PATH if given.
share_setup() {
	vg_reset 256
	rm -f "$SS/vg_attr"
	: > "$SS/calls.log"
	fault_hosts
	mkdir -p "$W/a/disks" "$W/b/disks"
	conf_set a lvm_command "\"$LVMA\""
	conf_set b lvm_command "\"$LVM\""
	conf_set b incoming_volume_group "\"$VG\""
	conf_set b incoming_disk_paths "[ \"$W/b/disks/\"${2:+, \"$2\"} ]"
	truncate -s 8M "$W/a/disks/$D2-a.img"
	dd if=/dev/urandom of="$W/a/disks/$D2-a.img" bs=1M count=1 \
	    conv=notrunc status=none
	cat > "$W/$D2.cfg" <<EOC
name = "$D2"
memory = 16
vcpus = 1
sim_dirty_rate = 200
sim_tick_ms = 50
disk = [ "$W/a/disks/$D2-a.img,raw,xvda,rw", "phy:$1,xvdb,w" ]
EOC
	start_host a || return 1
	start_host b || return 1
	xmig_on a create "$W/$D2.cfg" >/dev/null || return 1
	wait_for "$(console_log a "$D2")" "tick 3" 10
}

# 14. A block device that is no LV (a LUN both hosts see): left alone,
# the file beside it copied, the domain on b on the same device.
scenario_begin "a shared block device stays, the file is copied"
share_setup "$LUNDEV" "$LUNDEV"
FILE_SUM=$(sha256sum < "$W/a/disks/$D2-a.img" | cut -d' ' -f1)
xmig_on a check --copy-storage $D2 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/check.out"
check "$SCEN: xmig check --copy-storage passes (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: ... one disk to copy, a file" \
    grep -q "PASS copy-storage: 1 disk to copy: " "$W/check.out"
check "$SCEN: ... the block device not copied, to be present at b" \
    grep -q "PASS copy-storage: disk xvdb: $LUNDEV is not copied, it must be present at the destination: not a logical volume" "$W/check.out"
check "$SCEN: ... b checks it as present" \
    grep -q "PASS storage: 1 disk copied here: .* 1 other disk and 0 CD-ROM images present on b" "$W/check.out"
xmig_on a migrate --copy-storage $D2 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: migrated (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: xmig said the block device is not copied" \
    grep -q "disk xvdb: $LUNDEV is not copied, it must be present at 127.0.0.3" "$W/mig.out"
check "$SCEN: a asked LVM about it" \
    grep -qx -- "lvs --noheadings --options vg_name,lv_name,vg_attr $LUNDEV" "$SS/calls.log"
check "$SCEN: the file was copied into b's disk directory" \
    [ "$(sha256sum < "$W/b/disks/$D2-a.img" | cut -d' ' -f1)" = "$FILE_SUM" ]
check "$SCEN: no LV made on b" sh -c "! grep -q lvcreate '$S/calls.log' && [ -z \"\$(ls -A '$S/lv')\" ]"
check "$SCEN: the domain on b runs on the copied file" \
    sh -c "grep -rqs '\"$W/b/disks/$D2-a.img\"' '$W/b/state/sim/dom'"
check "$SCEN: ... and on $LUNDEV, its path unchanged" \
    sh -c "grep -rqs '\"$LUNDEV\"' '$W/b/state/sim/dom'"
check "$SCEN: the block device's bytes are untouched" \
    [ "$(sha256sum < "$LUNDEV" | cut -d' ' -f1)" = "$LUN_SUM" ]
held_on b $D2
scenario_end

# 15. An LV of a VG whose attributes say shared (lvmlockd), not allowed
# on b: not copied, and refused up front by b's storage check; a
# clustered VG's LV (clvmd) the same.
scenario_begin "an LV of a shared VG is not copied"
share_setup "/dev/$SRCVG/$D"
echo wz--ns > "$SS/vg_attr"
xmig_on a check --copy-storage $D2 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/check.out"
check "$SCEN: xmig check fails (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... the LV not copied: its VG is shared" \
    grep -q "disk xvdb: /dev/$SRCVG/$D is not copied, it must be present at the destination: the logical volume $SRCVG/$D of the shared volume group $SRCVG (attributes wz--ns)" "$W/check.out"
check "$SCEN: ... and b has it not" \
    grep -q "FAIL storage: disk xvdb: /dev/$SRCVG/$D is not under incoming_disk_paths" "$W/check.out"
xmig_on a migrate --copy-storage $D2 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... by b's storage check" \
    grep -q "/dev/$SRCVG/$D is not under incoming_disk_paths" "$W/mig.out"
check "$SCEN: ... up front: nothing received, nothing created" nothing_on_b
check "$SCEN: ... no file copied" [ -z "$(ls -A "$W/b/disks")" ]
check "$SCEN: the source LV is untouched" source_intact
echo wz--nc > "$SS/vg_attr"
xmig_on a check --copy-storage $D2 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
check "$SCEN: a clustered VG's LV is not copied either (exit $rc)" \
    grep -q "disk xvdb: /dev/$SRCVG/$D is not copied, it must be present at the destination: the logical volume $SRCVG/$D of the clustered volume group" "$W/check.out"
VERIFY=0 held_on a $D2
scenario_end

scenario_summary
finish
