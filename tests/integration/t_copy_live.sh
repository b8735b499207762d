#!/bin/bash
# xmig migrate -l --copy-storage on sim hosts: the disks are pre-copied
# while the guest runs and keeps writing them (its counter, and blocks of
# data or zeros in other chunks: sim_disk_counter = 2), the chunks it
# wrote since go again in dirty rounds, and the rest in the suspended
# round.  After the move the guest finds its counter and memory intact
# and counts on; the copy is the source's final image, holes included;
# kill -9 of either relocd mid-copy leaves exactly one running copy and
# no partial image after reconciliation; a disk too large for a live
# copy is refused up front.  Races with the copy: xmig cancel mid copy
# (not migrated, said as a cancel, nothing left on b); SIGHUP to both
# relocds mid copy (the migration in flight finishes, relocd.8); kill -9
# of either relocd in the suspended round (held there by diskfinal=hang:
# the domain suspended at a, its memory at b), before "go", so after
# reconciliation it runs on at a, verified, and b keeps nothing.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"
. "$ROOT/tests/tools/copylib.sh"

D=web

# copylib.sh's hosts and disks; a's domain keeps its counter in xvda and
# scribbles over its sparse xvdb (256 MiB apparent, DATA_MB of data).
live_setup() {
	local faults_b=${1:-} data=${2:-32} faults_a=${3:-}
	copy_hosts
	# The image compare below holds the destination's unpause for 5 s.
	conf_set a report_timeout 15
	make_disks 256 "$data" 2
	start_fault a "$faults_a" || return 1
	start_fault b "$faults_b" || return 1
	xmig_on a create "$W/$D.cfg" >/dev/null || return 1
	wait_for "$(console_log a "$D")" "tick 3" 10
}

# 1. A live copy while the guest writes its disk.  The destination holds
# its unpause 5 s (unpause=hang:5): the source is suspended for good and
# the copy not yet running, so both images are final and compared then.
scenario_begin "live copy of a guest writing its disk"
live_setup "unpause=hang:5"
REF_B=$(img_sum -z "$W/a/disks/$D-b.img")
N0=$(disk_counter "$W/a/disks/$D-a.img")
migrate_bg $D 127.0.0.3 -l --copy-storage -r 100
check "$SCEN: the destination holds the copy before it runs" \
    wait_for "$W/b/relocd.log" "fault injected at unpause" 60
# Copies taken at once, compared after: the hold is short.
cp --sparse=always "$W/a/disks/$D-a.img" "$W/final-a.img"
cp --sparse=always "$W/b/disks/$D-a.img" "$W/final-b.img"
check "$SCEN: ... both taken while the copy was held" \
    sh -c "! grep -q 'received and running' '$W/b/relocd.log'"
SUM_A=$(img_sum -z "$W/final-a.img")
SUM_B=$(img_sum -z "$W/final-b.img")
N_SRC=$(disk_counter "$W/final-a.img")
check "$SCEN: the copy of xvda is the source's final image" \
    [ "$SUM_A" = "$SUM_B" ]
# Where they differ, for the log.
[ "$SUM_A" = "$SUM_B" ] || cmp -l "$W/final-a.img" "$W/final-b.img" |
    head -n 5 | sed 's/^/    differs: /'
check "$SCEN: the copy of xvdb is the source's image" \
    [ "$(img_sum -z "$W/b/disks/$D-b.img")" = "$REF_B" ]
check "$SCEN: ... and the same bytes, holes as zeros" \
    cmp -s "$W/final-a.img" "$W/final-b.img"
migrate_wait
check "$SCEN: migrated (exit $MIG_RC)" [ $MIG_RC -eq 0 ]
check "$SCEN: the guest kept writing its disk during the copy ($N0 -> $N_SRC)" \
    [ "${N_SRC:-0}" -ge $(( ${N0:-0} + 10 )) ]
DIRTY=$(grep -c "round [0-9]* (domain running): [0-9]* chunks written" "$W/mig.out")
check "$SCEN: at least one dirty round while it ran ($DIRTY)" [ "$DIRTY" -ge 1 ]
RESENT=$(sed -n 's/.* chunks sent, \([0-9]*\) of them re-sent.*/\1/p' "$W/mig.out" | tail -n 1)
ROUNDS=$(sed -n 's/.*live copy in \([0-9]*\) rounds.*/\1/p' "$W/mig.out" | tail -n 1)
check "$SCEN: chunks were re-sent (${RESENT:-none}, in ${ROUNDS:-?} rounds)" \
    [ "${RESENT:-0}" -ge 1 ]
check "$SCEN: the rounds are bounded (${ROUNDS:-?} <= 6)" \
    [ "${ROUNDS:-99}" -ge 2 -a "${ROUNDS:-99}" -le 6 ]
check "$SCEN: b's helper verified each final copy read back" \
    sh -c "[ \$(grep -c 'verified: .* image digest .* (each chunk read back after its last write)' '$W/b/relocd.log') -eq 2 ]"
# The read-back runs behind the copy, not in the downtime: by the end
# of the rounds while the guest ran, the helper had read every chunk
# written so far (the pre-copy's frames, each counted once per write).
PRE=$(sed -n 's/.*disks pre-copied .*: [0-9]* rounds, \([0-9]*\) chunks .*, \([0-9]*\) read back by the helper.*/\1 \2/p' "$W/b/relocd.log" | tail -n 1)
check "$SCEN: ... the pre-copy's chunks read back before the suspend (${PRE:-none}: frames, read)" \
    sh -c "set -- $PRE; [ \"\${2:-0}\" -ge 1 ] && [ \"\${2:-0}\" -le \"\${1:-0}\" ]"
check "$SCEN: the copy continues from the source's last write ($N_SRC)" \
    wait_for "$(console_log b $D)" "disk counter $N_SRC verified" 10
sleep 0.5
N_DST=$(disk_counter "$W/b/disks/$D-a.img")
check "$SCEN: and keeps writing it there ($N_SRC -> ${N_DST:-none})" \
    [ "${N_DST:-0}" -gt "${N_SRC:-0}" ]
check "$SCEN: no disk corruption seen by the guest" \
    sh -c "! grep -q 'DISK CORRUPT' '$(console_log b $D)'"
held_on b $D
scenario_end

# 2. kill -9 of either relocd (parent and workers) in the middle of the
# live disk copy (slowed by -r), while the domain still runs at the
# source: exactly one running copy, on a, and no partial image on b.
for victim in ${VICTIMS-a b}; do
	scenario_begin "relocd on $victim killed mid live copy"
	live_setup "" 64
	REF_B=$(img_sum -z "$W/a/disks/$D-b.img")
	migrate_bg $D 127.0.0.3 -l --copy-storage -r 40
	check "$SCEN: the live disk copy is under way" \
	    wait_for "$W/a/relocd.log" "disks: .* copied, .*, round 1" 20
	check "$SCEN: xmig jobs counts the disk bytes, with its round" sh -c \
	    "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -Eq 'disks: [0-9.]+ of 64\.[01] MiB copied \(round 1, 0 chunks sent again\)'"
	check "$SCEN: b has the copies being written" \
	    [ -n "$(ls -A "$W/b/disks" 2>/dev/null)" ]
	kill9_host $victim all
	migrate_wait
	check "$SCEN: xmig does not report success (exit $MIG_RC)" [ $MIG_RC -ne 0 ]
	start_host $victim
	if [ $victim = a ]; then
		check "$SCEN: a's restart settled it (it never stopped)" \
		    wait_for "$W/a/relocd.log" "resumed here on reconciliation" 10
		check "$SCEN: b's worker gave up" wait_no_workers b 15
	else
		check "$SCEN: b's restart removed the partial copies" \
		    wait_for "$W/b/relocd.log" "removed the partial disk copy" 10
	fi
	check "$SCEN: no partial image on b" no_copies_on_b
	check "$SCEN: the source's data disk is untouched" \
	    [ "$(img_sum -z "$W/a/disks/$D-b.img")" = "$REF_B" ]
	check "$SCEN: the guest still writes its own disk" \
	    sh -c "n=\$(head -c 29 '$W/a/disks/$D-a.img' | tr -dc 0-9); sleep 0.3; m=\$(head -c 29 '$W/a/disks/$D-a.img' | tr -dc 0-9); [ \"\$m\" -gt \"\$n\" ]"
	# It never stopped: nothing to verify, and the ticks show it ran on.
	VERIFY=0 held_on a $D
	scenario_end
done

# 3. A disk over DISKCOPY_LIVE_MAX_SIZE (1 TiB, sparse here): refused up
# front, with the reason, by xmig check and by the migration, before the
# destination hears of it; offline it would go.
scenario_begin "a disk too large for a live copy"
live_setup "" 1
xmig_on a destroy $D >/dev/null
rm -f "$W/a/disks/$D-b.img"
truncate -s 1025G "$W/a/disks/$D-b.img"
xmig_on a create "$W/$D.cfg" >/dev/null
wait_for "$(console_log a "$D")" "tick 3" 10
xmig_on a check -l --copy-storage $D 127.0.0.3 > "$W/check.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/check.out"
check "$SCEN: xmig check -l --copy-storage fails (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... saying the disk is too large for a live copy" \
    grep -q "FAIL copy-storage: .*too large for a live copy" "$W/check.out"
xmig_on a migrate -l --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... with the limit and the way out" \
    grep -q "a live copy handles images up to .* migrate it offline" "$W/mig.out"
check "$SCEN: before the destination heard of it" \
    sh -c "! grep -q 'migrate-receive request' '$W/b/relocd.log'"
check "$SCEN: nothing created on b" no_copies_on_b
VERIFY=0 held_on a $D
scenario_end

HERE=$(hostname)

# The guest's counter in its first disk moves on (it still writes it).
counter_moves() {
	local n m
	n=$(disk_counter "$1")
	sleep 0.3
	m=$(disk_counter "$1")
	[ "${m:-0}" -gt "${n:-0}" ]
}

# 4. xmig cancel in the middle of the live disk copy (slowed by -r), the
# domain still running at the source: migrate and cancel say cancelled,
# the domain runs on at a, b's copies are gone, a's images untouched.
scenario_begin "xmig cancel mid live copy"
live_setup "" 64
REF_B=$(img_sum -z "$W/a/disks/$D-b.img")
migrate_bg $D 127.0.0.3 -l --copy-storage -r 40
check "$SCEN: the live disk copy is under way" \
    wait_for "$W/a/relocd.log" "disks: .* copied, .*, round 1" 20
check "$SCEN: b has the copies being written" \
    [ -n "$(ls -A "$W/b/disks" 2>/dev/null)" ]
xmig_on a cancel $D > "$W/cancel.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/cancel.out"
check "$SCEN: xmig cancel exits 0 (got $rc)" [ $rc -eq 0 ]
check "$SCEN: it says where $D runs" \
    grep -qx "cancelled: $D runs on $HERE" "$W/cancel.out"
migrate_wait
check "$SCEN: xmig migrate exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
# Never suspended (the copy runs before the stream): not migrated, and
# said as a cancel, where it runs (xmig.1, cancel).
check "$SCEN: ... and says it was cancelled" \
    grep -q "web not migrated: cancelled by the administrator; it is still running here" \
    "$W/mig.out"
check "$SCEN: as xmig cancel says it: where $D runs" \
    grep -qx "cancelled: $D runs on $HERE" "$W/mig.out"
check "$SCEN: the disk copy went no further than its first round" \
    sh -c "! grep -q 'its memory next' '$W/mig.out'"
check "$SCEN: a's journal says failed, cancelled" sh -c "
    XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep ' $D ' | tail -n 1 |
    grep -q 'failed .*cancelled by the administrator'"
check "$SCEN: b's worker ended" wait_no_workers b 15
check "$SCEN: both journals settled" sh -c "
    ! XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION' &&
    ! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION'"
check "$SCEN: no partial image on b" no_copies_on_b
check "$SCEN: the source's data disk is untouched" \
    [ "$(img_sum -z "$W/a/disks/$D-b.img")" = "$REF_B" ]
check "$SCEN: the guest still writes its own disk" \
    counter_moves "$W/a/disks/$D-a.img"
# Never suspended: nothing to verify, and the ticks show it ran on.
VERIFY=0 held_on a $D
scenario_end

# 5. SIGHUP to both relocds in the middle of the live disk copy: each
# reloads (relocd-priv replaced) and the migration in flight keeps the
# settings it started with and finishes (relocd.8, SIGHUP).
scenario_begin "both relocds reloaded mid live copy"
live_setup "" 32
REF_B=$(img_sum -z "$W/a/disks/$D-b.img")
PRIV_A=$(priv_pid a)
PRIV_B=$(priv_pid b)
migrate_bg $D 127.0.0.3 -l --copy-storage -r 40
check "$SCEN: the live disk copy is under way" \
    wait_for "$W/a/relocd.log" "disks: .* copied, .*, round 1" 20
kill -HUP "$(cat "$W/a/relocd.pid")" "$(cat "$W/b/relocd.pid")"
for h in a b; do
	check "$SCEN: $h reloaded" wait_for "$W/$h/relocd.log" "reloaded " 10
done
check "$SCEN: ... while the copy still ran" \
    sh -c "! grep -q 'its memory next' '$W/mig.out'"
check "$SCEN: with new relocd-priv processes" sh -c \
    "for i in \$(seq 1 40); do a=\$(pgrep -P $(cat "$W/a/relocd.pid") -x relocd-priv); b=\$(pgrep -P $(cat "$W/b/relocd.pid") -x relocd-priv); [ -n \"\$a\" ] && [ \"\$a\" != '$PRIV_A' ] && [ -n \"\$b\" ] && [ \"\$b\" != '$PRIV_B' ] && exit 0; sleep 0.05; done; exit 1"
migrate_wait
check "$SCEN: migrated (exit $MIG_RC)" [ $MIG_RC -eq 0 ]
check "$SCEN: b's helper verified each final copy read back" \
    sh -c "[ \$(grep -c 'verified: .* image digest .* (each chunk read back after its last write)' '$W/b/relocd.log') -eq 2 ]"
# The read-back runs behind the copy, not in the downtime: by the end
# of the rounds while the guest ran, the helper had read every chunk
# written so far (the pre-copy's frames, each counted once per write).
PRE=$(sed -n 's/.*disks pre-copied .*: [0-9]* rounds, \([0-9]*\) chunks .*, \([0-9]*\) read back by the helper.*/\1 \2/p' "$W/b/relocd.log" | tail -n 1)
check "$SCEN: ... the pre-copy's chunks read back before the suspend (${PRE:-none}: frames, read)" \
    sh -c "set -- $PRE; [ \"\${2:-0}\" -ge 1 ] && [ \"\${2:-0}\" -le \"\${1:-0}\" ]"
check "$SCEN: the copy of xvdb is the source's image" \
    [ "$(img_sum -z "$W/b/disks/$D-b.img")" = "$REF_B" ]
check "$SCEN: the guest found its disk counter there" \
    wait_for "$(console_log b $D)" "disk counter [0-9]* verified" 10
check "$SCEN: and keeps writing it" counter_moves "$W/b/disks/$D-a.img"
check "$SCEN: no disk corruption seen by the guest" \
    sh -c "! grep -q 'DISK CORRUPT' '$(console_log b $D)'"
held_on b $D
scenario_end

# 6. kill -9 of either relocd (parent and workers) in the suspended
# round: the source holds its last disk round (diskfinal=hang), the
# domain suspended at a, its memory at b in a paused incoming copy.
# Before "go", the point of no return, so the domain is a's: after the
# restart and reconciliation it runs on at a, verified, and b keeps
# nothing of it.
for victim in ${VICTIMS-a b}; do
	scenario_begin "relocd on $victim killed in the suspended round"
	live_setup "" 32 "diskfinal=hang:4"
	REF_B=$(img_sum -z "$W/a/disks/$D-b.img")
	migrate_bg $D 127.0.0.3 -l --copy-storage
	check "$SCEN: the source holds its suspended round" \
	    wait_for "$W/a/relocd.log" "fault injected at diskfinal" 30
	check "$SCEN: the domain is suspended at a" \
	    sh -c "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' list | awk '\$1 == \"$D\" { print \$5 }' | grep -q s"
	check "$SCEN: b holds the incoming copy" sh -c \
	    "XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -q -- '$D--incoming'"
	kill9_host $victim all
	N_SUSP=$(disk_counter "$W/a/disks/$D-a.img")
	migrate_wait
	check "$SCEN: xmig does not report success (exit $MIG_RC)" [ $MIG_RC -ne 0 ]
	start_host $victim
	if [ $victim = a ]; then
		check "$SCEN: a's restart resumed it" \
		    wait_for "$W/a/relocd.log" "resumed here on reconciliation" 10
		check "$SCEN: b's worker gave up" wait_no_workers b 15
	else
		check "$SCEN: a resumed it at the source" \
		    grep -q "resumed at the source" "$W/mig.out"
		check "$SCEN: b's restart removed the partial copies" \
		    wait_for "$W/b/relocd.log" "removed the partial disk copy" 10
	fi
	check "$SCEN: no partial image on b" no_copies_on_b
	check "$SCEN: the source's data disk is untouched" \
	    [ "$(img_sum -z "$W/a/disks/$D-b.img")" = "$REF_B" ]
	check "$SCEN: resumed, the guest found its disk counter" \
	    wait_for "$(console_log a $D)" "disk counter [0-9]* verified" 10
	check "$SCEN: ... and writes its own disk on from $N_SUSP" \
	    counter_moves "$W/a/disks/$D-a.img"
	check "$SCEN: no disk corruption seen by the guest" \
	    sh -c "! grep -q 'DISK CORRUPT' '$(console_log a $D)'"
	held_on a $D
	scenario_end
done

# 7. A chunk damaged on its way to b's disk, after its tag was checked
# (diskwrite=corrupt: the first chunk frame), in a live copy of a guest
# that does not write its disk, so that no later round replaces it: the
# helper's read-back, made as the chunks arrive, keeps what the disk
# holds, and the image digest at the end does not match.  Before "go":
# the domain runs on at a, b keeps nothing.
scenario_begin "a chunk damaged on its way to the disk, live"
copy_hosts
make_disks 256 32 0
start_fault a
start_fault b "diskwrite=corrupt"
xmig_on a create "$W/$D.cfg" >/dev/null
wait_for "$(console_log a "$D")" "tick 3" 10
REF_B=$(img_sum -z "$W/a/disks/$D-b.img")
xmig_on a migrate -l --copy-storage $D 127.0.0.3 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: the migration fails (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: b damaged a chunk on its way to the disk" \
    grep -q "fault injected: chunk .* corrupted on its way to the disk" "$W/b/relocd.log"
check "$SCEN: ... caught by the read-back: the copy does not match" \
    grep -q "does not match the source's image" "$W/mig.out"
check "$SCEN: ... and b's helper had read the chunks back as they came" \
    grep -q "disks pre-copied .* [1-9][0-9]* read back by the helper" "$W/b/relocd.log"
check "$SCEN: b's session ended" wait_no_workers b 10
check "$SCEN: no partial image on b" no_copies_on_b
check "$SCEN: the source's data disk is untouched" \
    [ "$(img_sum -z "$W/a/disks/$D-b.img")" = "$REF_B" ]
check "$SCEN: it resumed at the source" grep -q "resumed at the source" "$W/mig.out"
held_on a $D
scenario_end

scenario_summary
finish
