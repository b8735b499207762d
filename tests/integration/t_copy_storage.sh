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

D=web
SPARSE_MB=4096
DATA_MB=256
IMG=$W/img

# disk_counter FILE: the sim guest's counter in its first disk.
disk_counter() {
	head -c 29 "$1" 2>/dev/null | sed -n 's/^simdisk 0*\([0-9][0-9]*\)$/\1/p'
}

# Hosts a and b with their own disk directories; a's domain has a
# counter disk (xvda) and a sparse data disk (xvdb).
copy_hosts() {
	fault_hosts
	mkdir -p "$W/a/disks" "$W/b/disks"
	conf_set a incoming_disk_paths "[ \"$W/a/disks/\" ]"
	conf_set b incoming_disk_paths "[ \"$W/b/disks/\" ]"
}

# make_disks: xvda (16 MiB, empty: the guest writes its counter) and
# xvdb (4 GiB apparent, DATA_MB MiB of data in 1 MiB pieces spread over
# it), in a's directory.
make_disks() {
	rm -f "$W/a/disks/$D-a.img" "$W/a/disks/$D-b.img"
	truncate -s 16M "$W/a/disks/$D-a.img"
	truncate -s ${SPARSE_MB}M "$W/a/disks/$D-b.img"
	python3 - "$W/a/disks/$D-b.img" $SPARSE_MB $DATA_MB <<'EOP'
import os, sys
path, total, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
step = total // data
fd = os.open(path, os.O_WRONLY)
for i in range(data):
    os.pwrite(fd, (b"%08d" % i) * (131072), i * step * 1048576)
os.close(fd)
EOP
	cat > "$W/$D.cfg" <<EOC
name = "$D"
memory = 16
vcpus = 1
sim_dirty_rate = 200
sim_tick_ms = 50
disk = [ "$W/a/disks/$D-a.img,raw,xvda,rw", "$W/a/disks/$D-b.img,raw,xvdb,rw" ]
sim_disk_counter = 1
EOC
}

# copy_setup [FAULTS_A] [FAULTS_B]: fresh hosts and disks, the domain
# running on a with its counter past 3.
copy_setup() {
	copy_hosts
	make_disks
	start_fault a "${1:-}" || return 1
	start_fault b "${2:-}" || return 1
	xmig_on a create "$W/$D.cfg" >/dev/null || return 1
	wait_for "$(console_log a "$D")" "tick 3" 10
}

# Nothing of the copy left at b.
no_copies_on_b() {
	[ -z "$(ls -A "$W/b/disks" 2>/dev/null)" ]
}

# The source's disks are whole and unchanged but for the counter.
source_intact() {
	cmp -s "$W/a/disks/$D-b.img" "$IMG.ref"
}

# 1. Offline copy of a guest writing its disk, with a sparse data disk.
scenario_begin "offline copy"
copy_setup
cp --sparse=always "$W/a/disks/$D-b.img" "$IMG.ref"
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
check "$SCEN: the copy is the source's image" \
    cmp -s "$W/b/disks/$D-b.img" "$IMG.ref"
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
check "$SCEN: a's new copy is the image" cmp -s "$W/a/disks/$D-b.img" "$IMG.ref"
check "$SCEN: the counter went on through both moves (${N_B:-?} -> $(disk_counter "$W/a/disks/$D-a.img"))" \
    [ "$(disk_counter "$W/a/disks/$D-a.img")" -ge "${N_B:-999999999}" ]
held_on a $D
scenario_end

scenario_summary
finish
