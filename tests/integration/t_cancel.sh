#!/bin/bash
# Cancel: xmig cancel, and Ctrl-C (SIGINT) in xmig migrate, during round
# 1 of a large live migration stop it: xmig migrate exits 1, the domain
# runs on at the source under its name with its memory intact, nothing is
# left at the destination, and both journals are settled.  Past the point
# of no return a cancel is refused with the reason and the migration
# finishes.  Cancels at staggered moments of short migrations never leave
# zero or two copies, and each says truly where the domain is.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

D=big
domain_conf "$W/$D.cfg" $D 256 2000 50
HERE=$(hostname)

# settled HOST: no migration of HOST's journal needs attention.
settled() { ! xmig_on "$1" jobs | grep -q 'NEEDS ATTENTION'; }
cancelled_at_a() {
	held_on a $D
	check "$1: A's journal is settled, and says cancelled" sh -c "
	    ! XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION' &&
	    XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep ' $D ' | tail -n 1 |
	    grep -q 'failed .*ended: .*cancelled before the point of no return'"
	check "$1: B's journal is settled" settled b
}

# 1. xmig cancel in round 1.
scenario_begin "xmig cancel in round 1"
fault_setup
xmig_on a migrate -l -r 120 $D 127.0.0.3 > "$W/mig.out" 2>&1 &
MIG=$!
check "$SCEN: the stream started" wait_phase a stream 10
sleep 1
xmig_on a cancel $D > "$W/cancel.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/cancel.out"
check "$SCEN: xmig cancel exits 0 (got $rc)" [ $rc -eq 0 ]
check "$SCEN: it says where $D runs" grep -qx "cancelled: $D runs on $HERE" "$W/cancel.out"
wait $MIG
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig migrate exits 1 (got $rc)" [ $rc -eq 1 ]
check "$SCEN: and says it was cancelled" \
    grep -q "cancelled before the point of no return; resumed at the source" "$W/mig.out"
check "$SCEN: as xmig cancel says it: where $D runs" \
    grep -qx "cancelled: $D runs on $HERE" "$W/mig.out"
cancelled_at_a "$SCEN"
scenario_end

# 2. Ctrl-C in xmig migrate (SIGINT to it alone), twice.
scenario_begin "Ctrl-C in xmig migrate"
fault_setup
XMIG_CONFIG=$W/a/relocd.conf "$XMIG" migrate -l -r 120 $D 127.0.0.3 > "$W/mig.out" 2>&1 &
MIG=$!
check "$SCEN: the stream started" wait_phase a stream 10
sleep 1
kill -INT $MIG
sleep 0.1
kill -INT $MIG 2>/dev/null
wait $MIG
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 1 (got $rc)" [ $rc -eq 1 ]
check "$SCEN: it prints where $D runs" grep -qx "cancelled: $D runs on $HERE" "$W/mig.out"
cancelled_at_a "$SCEN"
scenario_end

# 3. Nothing to cancel.
scenario_begin "cancel without a migration"
fault_setup
xmig_on a cancel $D > "$W/cancel.out" 2>&1
rc=$?
check "$SCEN: exit 1 (got $rc)" [ $rc -eq 1 ]
check "$SCEN: the reason" grep -q "$D is not migrating away from this host" "$W/cancel.out"
scenario_end

# 4. Past the point of no return (B's unpause held 2 s after go).
scenario_begin "cancel after go"
fault_setup "" "unpause=hang:2"
xmig_on a migrate -l $D 127.0.0.3 > "$W/mig.out" 2>&1 &
MIG=$!
check "$SCEN: A passed go" wait_phase a go 15
xmig_on a cancel $D > "$W/cancel.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/cancel.out"
check "$SCEN: the cancel is refused (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: with the reason" grep -q "past the point of no return" "$W/cancel.out"
wait $MIG
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: the migration finishes (exit $rc)" [ $rc -eq 0 ]
assert_only_on b a $D
scenario_end

# 5. Cancels racing the end: a 256 MiB live migration at full speed takes
# about a second here; cancel it at staggered moments.
scenario_begin "cancel racing the end"
fault_setup
for delay in 0.05 0.3 0.6 0.9 1.0 1.1 1.2 1.4; do
	xmig_on a migrate -l $D 127.0.0.3 > "$W/mig.out" 2>&1 &
	MIG=$!
	sleep $delay
	xmig_on a cancel $D > "$W/cancel.out" 2>&1
	crc=$?
	wait $MIG
	mrc=$?
	na=$(xmig_on a list | awk -v d=$D '$1 ~ "^" d { n++ } END { print n + 0 }')
	nb=$(xmig_on b list | awk -v d=$D '$1 ~ "^" d { n++ } END { print n + 0 }')
	say "after ${delay} s: cancel exit $crc ($(head -c 90 "$W/cancel.out")), migrate exit $mrc, copies A $na, B $nb"
	check "$SCEN (${delay} s): exactly one copy in all" [ $((na + nb)) -eq 1 ]
	if [ $crc -eq 0 ]; then
		check "$SCEN (${delay} s): cancelled, so at A, and migrate says 1" \
		    sh -c "[ $na -eq 1 ] && [ $mrc -eq 1 ]"
	else
		check "$SCEN (${delay} s): not cancelled, so the migration's word holds" \
		    sh -c "{ [ $mrc -eq 0 ] && [ $nb -eq 1 ]; } || { [ $mrc -eq 1 ] && [ $na -eq 1 ]; }"
	fi
	check "$SCEN (${delay} s): both journals settled" sh -c "
	    ! XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION' &&
	    ! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION'"
	# Back to A for the next round.
	if [ "$nb" -eq 1 ]; then
		xmig_on b migrate -q $D 127.0.0.2 >/dev/null 2>&1
	fi
	wait_for "$(console_log a $D)" "tick" 5
done
held_on a $D
scenario_end
finish
