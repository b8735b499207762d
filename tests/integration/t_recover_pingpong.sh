#!/bin/bash
# One domain moved back and forth between two hosts, under faults on
# the way: each leg must leave exactly one running copy with intact
# memory, and the journals of both hosts, holding records of both
# directions, must keep pointing recover at the right host.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

D=pp
domain_conf "$W/$D.cfg" $D 16 800 50

# leg FROM TO ADDR_OF_TO [migrate options]: a migration that must succeed.
leg() {
	local from=$1 to=$2 addr=$3 rc
	shift 3
	xmig_on "$from" migrate "$@" $D "$addr" > "$W/mig.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/mig.out"
	check "$SCEN: $from -> $to exits 0 (got $rc)" [ $rc -eq 0 ]
	held_on "$to" $D
}

scenario_begin "back and forth under faults"
fault_hosts
start_fault a && start_fault b
xmig_on a create "$W/$D.cfg" >/dev/null
wait_for "$(console_log a $D)" "tick 3" 10
leg a b 127.0.0.3 -l
leg b a 127.0.0.2

# a -> b, b killed after go (held in unpause): exit 3, b restarted
# finishes the start, recover from a (host from a's journal) settles it.
stop_host b
start_fault b "unpause=hang:30"
migrate_bg $D 127.0.0.3 -l
check "$SCEN: b journaled go" wait_phase b go 10
kill9_host b all
migrate_wait
check "$SCEN: the unknown window: exit 3 (got $MIG_RC)" [ $MIG_RC -eq 3 ]
start_host b
xmig_on a recover $D > "$W/rec.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/rec.out"
check "$SCEN: recover exits 0 (got $rc)" [ $rc -eq 0 ]
held_on b $D

# b -> a, with a's restore failing once: it stays on b.
stop_host a
start_fault a "restore=fail"
xmig_on b migrate $D 127.0.0.2 > "$W/mig.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: b -> a with a failing restore exits 1 (got $rc)" [ $rc -eq 1 ]
held_on b $D
stop_host a
start_fault a

# b -> a, a's relocd (all) killed after ready: b's go goes nowhere (3 or
# 1); recover from b (host from b's journal) resumes it on b.
stop_host b
start_fault b "rename=hang:2"
xmig_on b migrate $D 127.0.0.2 > "$W/mig.out" 2>&1 &
MIG_PID=$!
check "$SCEN: b journaled rename" wait_phase b rename 10
kill9_host a all
migrate_wait
start_host a
if [ $MIG_RC -eq 3 ]; then
	xmig_on b recover $D > "$W/rec.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/rec.out"
	check "$SCEN: recover from b exits 0 (got $rc)" [ $rc -eq 0 ]
fi
held_on b $D
stop_host b
start_fault b

leg b a 127.0.0.2 -l
leg a b 127.0.0.3
check "$SCEN: a's journal lists every leg" sh -c \
    "[ \$(XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -c ' $D ') -ge 6 ]"
check "$SCEN: nothing left needing attention on a" sh -c \
    "! XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION'"
check "$SCEN: nothing left needing attention on b" sh -c \
    "! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' jobs | grep -q 'NEEDS ATTENTION'"
scenario_end

scenario_summary
finish
