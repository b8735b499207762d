#!/bin/bash
# The destination's disk is full (its state_dir on a small tmpfs this test
# mounts and fills): the migration fails with a message naming the
# problem, and the domain resumes at the source.  Then, with space again,
# the same migration succeeds.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

DISK=$W/bdisk
mkdir -p "$DISK"
disk_cleanup() {
	fault_cleanup
	mountpoint -q "$DISK" && umount "$DISK"
}
trap disk_cleanup EXIT INT TERM

if ! mount -t tmpfs -o size=1m,mode=0700 tmpfs "$DISK" 2>"$W/mount.err"; then
	echo "SKIP $T: cannot mount a tmpfs ($(cat "$W/mount.err"))"
	exit 0
fi

D=svc
domain_conf "$W/$D.cfg" $D 16 500 50

scenario_begin "destination disk full"
fault_hosts
conf_set b state_dir "\"$DISK/state\""
start_fault a && start_fault b
xmig_on a create "$W/$D.cfg" >/dev/null
wait_for "$(console_log a $D)" "tick 3" 10
# Fill it: bounded by the tmpfs size (1 MiB in 4 KiB blocks).
dd if=/dev/zero of="$DISK/fill" bs=4k count=512 2>/dev/null
check "$SCEN: the disk is full" sh -c "! dd if=/dev/zero of='$DISK/more' bs=4k count=1 2>/dev/null"
rm -f "$DISK/more"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
check "$SCEN: the message names the full disk" \
    grep -q "No space left on device" "$W/mig.out"
check "$SCEN: it says it runs at the source" grep -q "running here" "$W/mig.out"
wait_no_workers b 10
VERIFY=0 held_on a $D

# Space again: the same migration goes through.
rm -f "$DISK/fill"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: with space again it migrates (exit $MIG_RC)" [ $MIG_RC -eq 0 ]
held_on b $D
scenario_end

scenario_summary
finish
