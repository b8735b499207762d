#!/bin/bash
# xmig migrate --copy-storage on sim hosts: a domain whose disks exist
# only on its host moves with them.  A guest that keeps a counter in its
# first disk continues from its last write on the copy; a sparse 4 GiB
# image with 256 MiB of data sends about 256 MiB and stays sparse; the
# copy is refused before any byte when the destination has no room or
# a stale copy; a chunk damaged in flight, or on its way to the disk,
# fails the migration and the domain resumes at the source on its own
# disk; kill -9 of either relocd mid-copy leaves exactly one running
# copy and no partial image after reconciliation.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"
. "$ROOT/tests/tools/copylib.sh"

# The no-room scenario's small filesystem goes last, after the guests
# that may hold files on it.
copy_cleanup() {
	fault_cleanup
	mountpoint -q "$W/small" && umount "$W/small"
}
trap copy_cleanup EXIT INT TERM

D=web
SPARSE_MB=4096
DATA_MB=256

# (Live, -l --copy-storage: t_copy_live.sh.)

# copy_setup [FAULTS_A] [FAULTS_B] [SIZE_MB DATA_MB]: fresh hosts and
# disks, the domain running on a with its counter past 3.
copy_setup() {
	copy_hosts
	make_disks ${3:-256} ${4:-32} 1
	start_fault a "${1:-}" || return 1
	start_fault b "${2:-}" || return 1
	xmig_on a create "$W/$D.cfg" >/dev/null || return 1
	wait_for "$(console_log a "$D")" "tick 3" 10
}

# The source's data disk is whole and unchanged.
source_intact() {
	[ "$(img_sum "$W/a/disks/$D-b.img")" = "$REF" ]
}

# 1. Offline copy of a guest writing its disk, with a sparse data disk.
scenario_begin "offline copy"
copy_setup "" "" $SPARSE_MB $DATA_MB
REF=$(img_sum "$W/a/disks/$D-b.img")
xmig_on a check --copy-storage $D 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/check.out"
check "$SCEN: xmig check --copy-storage passes (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: ... and says what it copies and the room" \
    grep -q "PASS storage: 2 disks copied here: 256.0 MiB of data" "$W/check.out"
xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: migrated (exit $rc)" [ $rc -eq 0 ]
N_SRC=$(disk_counter "$W/a/disks/$D-a.img")
check "$SCEN: the copy continues from the source's last disk write ($N_SRC)" \
    wait_for "$(console_log b $D)" "disk counter $N_SRC verified" 10
sleep 0.5
N_DST=$(disk_counter "$W/b/disks/$D-a.img")
check "$SCEN: and keeps writing it there ($N_SRC -> ${N_DST:-none})" \
    [ "${N_DST:-0}" -gt "$N_SRC" ]
SENT=$(sed -n 's/.*disk xvdb: sent \([0-9]*\) bytes of data.*/\1/p' "$W/a/relocd.log" | tail -n 1)
check "$SCEN: the sparse disk sent about $DATA_MB MiB (${SENT:-?} bytes)" \
    [ "${SENT:-0}" -eq $((DATA_MB * 1048576)) ]
check "$SCEN: the copy is the source's image, holes where it has them" \
    [ "$(img_sum "$W/b/disks/$D-b.img")" = "$REF" ]
ALLOC=$(du -k "$W/b/disks/$D-b.img" | cut -f1)
check "$SCEN: holes stay holes ($ALLOC KiB allocated of ${SPARSE_MB} MiB)" \
    [ "$ALLOC" -le $(( (DATA_MB + 8) * 1024 )) ]
check "$SCEN: the source disks are kept by default" \
    [ -f "$W/a/disks/$D-a.img" -a -f "$W/a/disks/$D-b.img" ]
held_on b $D
# Back to a: its stale copies are never overwritten.
xmig_on b migrate --copy-storage $D 127.0.0.2 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: back onto a stale copy: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... saying why" grep -q "already exists here and is never overwritten" "$W/mig.out"
check "$SCEN: ... and it still runs on b" [ "$(copy_state b $D)" = "r-----" ]
rm -f "$W/a/disks/$D-a.img" "$W/a/disks/$D-b.img"
N_B=$(disk_counter "$W/b/disks/$D-a.img")
xmig_on b migrate --copy-storage --remove-source-disk $D 127.0.0.2 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: back to a with --remove-source-disk (exit $rc)" [ $rc -eq 0 ]
check "$SCEN: b's disks are removed" no_copies_on_b
check "$SCEN: a's new copy is the image" \
    [ "$(img_sum "$W/a/disks/$D-b.img")" = "$REF" ]
check "$SCEN: the counter went on through both moves (${N_B:-?} -> $(disk_counter "$W/a/disks/$D-a.img"))" \
    [ "$(disk_counter "$W/a/disks/$D-a.img")" -ge "${N_B:-999999999}" ]
held_on a $D
scenario_end

# 2. A chunk damaged in flight (after its tag): the destination's network
# process catches it; the domain resumes at the source on its own disk.
for fault in "diskchunk=corrupt:" ":diskwrite=corrupt"; do
	fa=${fault%%:*} fb=${fault#*:}
	scenario_begin "damaged chunk (${fa:-$fb})"
	copy_setup "$fa" "$fb"
	REF=$(img_sum "$W/a/disks/$D-b.img")
	xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/mig.out"
	check "$SCEN: the migration fails (exit $rc)" [ $rc -eq 1 ]
	if [ -n "$fa" ]; then
		check "$SCEN: ... naming the damaged chunk" \
		    grep -q "arrived damaged: its tag does not match" "$W/mig.out"
	else
		check "$SCEN: ... caught by reading the copy back" \
		    grep -q "does not match the source's image" "$W/mig.out"
	fi
	# b reports the failure first and deletes its copy after: xmig
	# can return in between.
	check "$SCEN: b's session ended" wait_no_workers b 10
	check "$SCEN: no partial copy left on b" no_copies_on_b
	check "$SCEN: the source's image is untouched" source_intact
	check "$SCEN: it resumed on its own disk, its counter intact" \
	    wait_for "$(console_log a $D)" "disk counter [0-9]* verified" 10
	check "$SCEN: ... never damaged" \
	    sh -c "! grep -q 'DISK CORRUPT' '$(console_log a $D)'"
	held_on a $D
	scenario_end
done

# 3. No room at the destination: refused before any byte moves.
scenario_begin "no room at the destination"
copy_hosts
make_disks 256 32 1
mkdir -p "$W/small"
if mount -t tmpfs -o size=16m,mode=0700 tmpfs "$W/small" 2>"$W/mount.err"; then
	SMALL=$W/small
	conf_set b incoming_disk_paths "[ \"$SMALL/\" ]"
	start_fault a
	start_fault b
	xmig_on a create "$W/$D.cfg" >/dev/null
	wait_for "$(console_log a "$D")" "tick 3" 10
	xmig_on a check --copy-storage $D 127.0.0.3 > "$W/check.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/check.out"
	check "$SCEN: xmig check fails (exit $rc)" [ $rc -eq 1 ]
	check "$SCEN: ... on storage, with what is needed and free" \
	    grep -q "FAIL storage: .*no room for its copy: 32.0 MiB of data to copy .* 16.0 MiB free" "$W/check.out"
	xmig_on a migrate --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/mig.out"
	check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
	check "$SCEN: ... saying there is no room" grep -q "no room for its copy" "$W/mig.out"
	check "$SCEN: before any byte: never suspended, nothing received" \
	    sh -c "! grep -q 'receiving domain' '$W/b/relocd.log' && ! grep -qs '\"phase\":\"stream\"' '$W'/a/state/journal/*.json"
	check "$SCEN: nothing created on b" [ -z "$(ls -A "$SMALL")" ]
	VERIFY=0 held_on a $D
	scenario_end
	umount "$W/small"
else
	say "SKIP: cannot mount a tmpfs ($(cat "$W/mount.err"))"
	scenario_end
fi

# 4. kill -9 of either relocd (parent and workers) in the middle of the
# disk copy (slowed by -r): exactly one running copy, on a, and no
# partial image on b once the killed host has reconciled.
for victim in a b; do
	scenario_begin "relocd on $victim killed mid-copy"
	copy_setup
	REF=$(img_sum "$W/a/disks/$D-b.img")
	migrate_bg $D 127.0.0.3 --copy-storage -r 80
	check "$SCEN: the disk copy is under way" \
	    wait_for "$W/a/relocd.log" "disks: .* copied" 20
	check "$SCEN: xmig jobs counts the disk bytes" sh -c \
	    "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'disks: [0-9.]* of 32.0 MiB copied'"
	kill9_host $victim all
	migrate_wait
	check "$SCEN: xmig does not report success (exit $MIG_RC)" [ $MIG_RC -ne 0 ]
	start_host $victim
	if [ $victim = a ]; then
		check "$SCEN: a's restart resumed it" \
		    wait_for "$W/a/relocd.log" "resumed here on reconciliation" 10
		check "$SCEN: b's worker gave up" wait_no_workers b 15
	else
		check "$SCEN: b's restart removed the partial copies" \
		    wait_for "$W/b/relocd.log" "removed the partial disk copy" 10
	fi
	check "$SCEN: no partial image on b" no_copies_on_b
	check "$SCEN: the source's image is untouched" source_intact
	held_on a $D
	scenario_end
done

scenario_summary
finish
