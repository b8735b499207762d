#!/bin/bash
# kill -9 at each phase of a migration -- of the sending relocd (its
# parent alone, or the parent and its workers), of the receiving relocd,
# of xmig -- then restart what was killed and check from both hosts that
# the domain runs exactly once with intact memory; in the unknown window
# (go sent, no report) xmig exits 3 and xmig recover leaves exactly one.
# The phases are held open with the sim backend's hang fault points, so
# each kill lands where it is meant to.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

D=web
domain_conf "$W/$D.cfg" $D 16 500 50

# 1. Sender, parent and workers, killed before the stream.
scenario_begin "sender killed before the stream"
fault_setup "suspend=hang:30"
migrate_bg $D 127.0.0.3
check "$SCEN: phase stream reached" wait_phase a stream 10
kill9_host a all
migrate_wait
check "$SCEN: xmig reports the failure (exit $MIG_RC)" [ $MIG_RC -ne 0 ]
start_host a
check "$SCEN: b's worker ended" wait_no_workers b 10
VERIFY=0 held_on a $D
scenario_end

# 2. Sender's parent alone killed before the stream: its worker finishes
# the migration, the restarted parent leaves it alone.
scenario_begin "sender parent killed, worker finishes"
fault_hosts
# b waits longer than a's hang, so the held-up stream is not b's timeout
conf_set b io_timeout 15
start_fault a "suspend=hang:4"
start_fault b
xmig_on a create "$W/$D.cfg" >/dev/null
wait_for "$(console_log a $D)" "tick 3" 10
migrate_bg $D 127.0.0.3 -l
check "$SCEN: phase stream reached" wait_phase a stream 10
kill9_host a parent
start_host a
check "$SCEN: the restart left the live worker alone" \
    wait_for "$W/a/relocd.log" "still run by worker" 10
migrate_wait
check "$SCEN: xmig exits 0 (got $MIG_RC)" [ $MIG_RC -eq 0 ]
held_on b $D
scenario_end

# 2b. Sender's parent killed and restarted; then its orphaned worker is
# killed too: the running parent's periodic sweep settles the record.
scenario_begin "orphaned sender worker killed after a parent restart"
fault_setup "rename=hang:30"
migrate_bg $D 127.0.0.3
check "$SCEN: a journaled rename" wait_phase a rename 10
kill9_host a parent
start_host a
for w in $(workers_of a); do kill -9 "$w"; done
migrate_wait
check "$SCEN: the sweep resumed it" \
    wait_for "$W/a/relocd.log" "resumed here on reconciliation" 15
check "$SCEN: b's worker gave up" wait_no_workers b 10
held_on a $D
scenario_end

# 3. Receiver killed (all) before its restore starts.
scenario_begin "receiver killed before the stream"
fault_setup "" "restore=hang:30"
migrate_bg $D 127.0.0.3
check "$SCEN: b journaled receive" wait_phase b receive 10
kill9_host b all
migrate_wait
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
start_host b
held_on a $D
scenario_end

# 4. Receiver killed mid-stream (a slow stream: -r limits it).
scenario_begin "receiver killed mid-stream"
fault_setup
migrate_bg $D 127.0.0.3 -r 40
check "$SCEN: b journaled receive" wait_phase b receive 10
sleep 1
kill9_host b all
migrate_wait
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
start_host b
check "$SCEN: b's restart destroyed the incoming copy" \
    wait_for "$W/b/relocd.log" "recovered the migration of $D" 10
held_on a $D
scenario_end

# 5. Sender killed (all) mid-stream.
scenario_begin "sender killed mid-stream"
fault_setup
migrate_bg $D 127.0.0.3 -r 40
check "$SCEN: b journaled receive" wait_phase b receive 10
sleep 1
kill9_host a all
migrate_wait
start_host a
check "$SCEN: a's restart resumed it" \
    wait_for "$W/a/relocd.log" "resumed here on reconciliation" 10
check "$SCEN: b's worker gave up" wait_no_workers b 10
held_on a $D
scenario_end

# 6. Sender killed (all) after ready, before go.
scenario_begin "sender killed after ready"
fault_setup "rename=hang:30"
migrate_bg $D 127.0.0.3
check "$SCEN: a journaled rename" wait_phase a rename 10
kill9_host a all
migrate_wait
start_host a
check "$SCEN: b's worker gave up (go_timeout)" wait_no_workers b 10
held_on a $D
scenario_end

# 7. Receiver killed (all) after ready: go goes nowhere -> unknown (3),
# then xmig recover (HOST from the journal) resumes it at the source.
scenario_begin "receiver killed after ready"
fault_setup "rename=hang:2"
migrate_bg $D 127.0.0.3
check "$SCEN: a journaled rename" wait_phase a rename 10
kill9_host b all
migrate_wait
check "$SCEN: xmig exits 3 or 1 (got $MIG_RC)" [ $MIG_RC -eq 3 -o $MIG_RC -eq 1 ]
start_host b
if [ $MIG_RC -eq 3 ]; then
	check "$SCEN: runs nowhere in the unknown window" \
	    [ -z "$(copy_state a $D)" -a -z "$(copy_state b $D)" ]
	check "$SCEN: xmig jobs shows it" sh -c \
	    "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION'"
	xmig_on a recover $D > "$W/rec.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/rec.out"
	check "$SCEN: xmig recover exits 0 (got $rc)" [ $rc -eq 0 ]
fi
held_on a $D
scenario_end

# 8. Receiver killed (all) after go, before it reported: the sender
# cannot know (exit 3); b's restart finishes starting it (it owns it
# after go); xmig recover first refuses while b is down, then settles.
scenario_begin "receiver killed after go"
fault_setup "" "unpause=hang:30"
migrate_bg $D 127.0.0.3
check "$SCEN: b journaled go" wait_phase b go 10
kill9_host b all
migrate_wait
check "$SCEN: xmig exits 3 (got $MIG_RC)" [ $MIG_RC -eq 3 ]
check "$SCEN: the message says to check both hosts" \
    grep -q "CHECK BOTH HOSTS" "$W/mig.out"
xmig_on a recover $D 127.0.0.3 > "$W/rec.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/rec.out"
check "$SCEN: recover refuses while b is down (exit $rc)" [ $rc -eq 1 ]
check "$SCEN: ... naming b" grep -q "127.0.0.3" "$W/rec.out"
check "$SCEN: ... and nothing changed" \
    [ -n "$(copy_state a $D--migratedaway)" ]
start_host b
xmig_on a recover $D 127.0.0.3 > "$W/rec.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/rec.out"
check "$SCEN: xmig recover exits 0 (got $rc)" [ $rc -eq 0 ]
held_on b $D
scenario_end

# 9. Sender killed (all) after go: b starts it; a's restart finds go
# journaled without a report, leaves it, shows it; recover settles.
scenario_begin "sender killed after go"
fault_setup "" "unpause=hang:2"
migrate_bg $D 127.0.0.3
check "$SCEN: b journaled go" wait_phase b go 10
kill9_host a all
migrate_wait
check "$SCEN: b finished" wait_no_workers b 10
start_host a
check "$SCEN: a's restart logged the unknown outcome" \
    wait_for "$W/a/relocd.log" "outcome is unknown" 10
check "$SCEN: xmig jobs shows it" sh -c \
    "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION'"
xmig_on a recover $D > "$W/rec.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/rec.out"
check "$SCEN: xmig recover exits 0 (got $rc)" [ $rc -eq 0 ]
held_on b $D
scenario_end

# 10. Sender killed (all) after the report, before it destroyed its copy.
scenario_begin "sender killed after the report"
fault_setup "destroy=hang:30"
migrate_bg $D 127.0.0.3
check "$SCEN: a journaled reported" wait_phase a reported 10
kill9_host a all
migrate_wait
start_host a
check "$SCEN: a's restart destroyed the leftover copy" \
    wait_for "$W/a/relocd.log" "destroyed on reconciliation" 10
held_on b $D
scenario_end

# 11. Receiver killed (all) after the report.
scenario_begin "receiver killed after the report"
fault_setup
xmig_on a migrate $D 127.0.0.3 >/dev/null 2>&1
rc=$?
check "$SCEN: migrated (exit $rc)" [ $rc -eq 0 ]
kill9_host b all
start_host b
held_on b $D
scenario_end

# 12-14. xmig killed before the stream, mid-stream, after go: relocd
# finishes the migration and xmig jobs shows the result.
for phase in before mid after; do
	case $phase in
	before) scenario_begin "xmig killed before the stream"
		fault_setup "suspend=hang:2"
		migrate_bg $D 127.0.0.3
		wait_phase a stream 10;;
	mid)	scenario_begin "xmig killed mid-stream"
		fault_setup
		migrate_bg $D 127.0.0.3 -r 60
		wait_phase b receive 10
		sleep 0.5;;
	after)	scenario_begin "xmig killed after go"
		fault_setup "" "unpause=hang:2"
		migrate_bg $D 127.0.0.3
		wait_phase b go 10;;
	esac
	kill -9 $MIG_PID 2>/dev/null
	wait $MIG_PID 2>/dev/null
	check "$SCEN: relocd finished it" wait_phase a done 20
	check "$SCEN: xmig jobs shows it done" sh -c \
	    "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q ' done '"
	held_on b $D
	scenario_end
done

scenario_summary
finish
