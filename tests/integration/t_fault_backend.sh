#!/bin/bash
# Backend failures at each fault point of the sim backend
# (RELOCD_SIM_FAULT, relocd.8): fail, hang past the protocol's timeouts,
# crash the guest.  After each: exactly one running copy with intact
# memory, or -- only past the point of no return -- exit 3 and then
# xmig recover leaves exactly one.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

D=db
domain_conf "$W/$D.cfg" $D 16 500 50

# fails FAULTS_A FAULTS_B EXPECTED_EXIT WHERE MESSAGE_PATTERN
fails() {
	fault_setup "$1" "$2"
	xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
	MIG_RC=$?
	sed 's/^/    | /' "$W/mig.out"
	check "$SCEN: xmig exits $3 (got $MIG_RC)" [ $MIG_RC -eq "$3" ]
	check "$SCEN: the message says why" grep -q -- "$5" "$W/mig.out"
	wait_no_workers b 10
	held_on "$4" $D
	scenario_end
}

scenario_begin "suspend fails"
VERIFY=0 fails "suspend=fail" "" 1 a "injected fault at suspend"
scenario_begin "restore fails"
fails "" "restore=fail" 1 a "injected fault at restore"
scenario_begin "storing guest memory fails mid-stream at the destination"
fails "" "store=fail" 1 a "writing guest memory"
scenario_begin "rename at the source fails"
fails "rename=fail" "" 1 a "injected fault at rename"
scenario_begin "rename at the destination fails (after go)"
fails "" "rename=fail" 1 a "could not start it"
scenario_begin "unpause at the destination fails (after go)"
fails "" "unpause=fail" 1 a "could not start it"
scenario_begin "guest crashes at the destination's unpause"
fails "" "unpause=crash" 1 a "could not start it"
scenario_begin "restore hangs past io_timeout"
fails "" "restore=hang:6" 1 a "resumed at the source"

# Resume fails after a failed migration: nothing runs, exit 3, the
# journal keeps the phase "resume".  While the backend still fails, xmig
# recover says so and changes nothing; relocd restarted with a working
# backend resumes it (the reconciliation table).
scenario_begin "resume at the source fails"
fault_setup "resume=fail" "restore=fail"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 3 (got $MIG_RC)" [ $MIG_RC -eq 3 ]
check "$SCEN: it says it is not running" grep -q "not running" "$W/mig.out"
xmig_on a recover $D 127.0.0.3 > "$W/rec.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/rec.out"
check "$SCEN: xmig recover fails while resume fails (got $rc)" [ $rc -ne 0 ]
check "$SCEN: ... and says why" grep -q "injected fault at resume" "$W/rec.out"
stop_host a
start_fault a ""
check "$SCEN: the restart resumed it" \
    wait_for "$W/a/relocd.log" "resumed here on reconciliation" 10
held_on a $D
scenario_end

# The unknown window from a hang: past report_timeout at the destination.
scenario_begin "unpause hangs past report_timeout"
fault_setup "" "unpause=hang:5"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 3 (got $MIG_RC)" [ $MIG_RC -eq 3 ]
check "$SCEN: runs nowhere yet" \
    [ "$(copy_state a $D)" != "r-----" -a "$(copy_state b $D)" != "r-----" ]
check "$SCEN: b finished" wait_no_workers b 10
xmig_on a recover $D > "$W/rec.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/rec.out"
check "$SCEN: xmig recover exits 0 (got $rc)" [ $rc -eq 0 ]
held_on b $D
scenario_end

# Rename at the source hangs past go_timeout: the destination gave up.
scenario_begin "rename hangs past go_timeout"
fault_setup "rename=hang:5"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 3 or 1 (got $MIG_RC)" [ $MIG_RC -eq 3 -o $MIG_RC -eq 1 ]
if [ $MIG_RC -eq 3 ]; then
	xmig_on a recover $D > "$W/rec.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/rec.out"
	check "$SCEN: xmig recover exits 0 (got $rc)" [ $rc -eq 0 ]
fi
held_on a $D
scenario_end

# The guest crashes while being saved: the migration fails with a clear
# message and leaves nothing behind on the destination.
scenario_begin "guest crashes at suspend"
fault_setup "suspend=crash"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig fails (got $MIG_RC)" [ $MIG_RC -ne 0 ]
check "$SCEN: nothing of it on b" sh -c \
    "! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -q '^$D'"
check "$SCEN: not running on a" [ "$(copy_state a $D)" != "r-----" ]
check "$SCEN: no half-migrated copy on a" sh -c \
    "! XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' list | grep -Eq -- '--(incoming|migratedaway)'"
scenario_end

scenario_summary
finish
