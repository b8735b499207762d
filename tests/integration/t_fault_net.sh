#!/bin/bash
# Network faults between the hosts: a proxy (tests/tools/cutproxy) sits
# on b's address (127.0.0.3) and b listens behind it on 127.0.5.3, so the
# sender still verifies b's certificate for the host it was given.  The
# link is cut or stalled at a byte of the stream, or at a phase (held
# open by a hang fault point, then SIGUSR1 = cut, SIGUSR2 = stall); a
# stopped peer process stalls it too.  After each: exactly one running
# copy with intact memory, or exit 3 and xmig recover leaves exactly one.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

D=app
domain_conf "$W/$D.cfg" $D 16 500 50
B_ADDR=127.0.5.3

# setup PROXY_ARGS FAULTS_A FAULTS_B
setup() {
	fault_setup "${2:-}" "${3:-}" || return 1
	start_proxy -l 127.0.0.3:$PORT -t $B_ADDR:$PORT ${1:-}
}

# recover_via_proxy [DOM]: a clean link again, then xmig recover.
recover_clean() {
	stop_proxy
	start_proxy -l 127.0.0.3:$PORT -t $B_ADDR:$PORT
	wait_no_workers b 10
	xmig_on a recover $D > "$W/rec.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/rec.out"
	check "$SCEN: xmig recover exits 0 (got $rc)" [ $rc -eq 0 ]
}

# Byte positions: in the TLS handshake, in the stream, both directions.
for spec in "up 300" "down 200" "up 2000000" "up 9000000"; do
	set -- $spec
	scenario_begin "link cut $1 at byte $2"
	setup "-d $1 -k $2 -m cut"
	xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
	MIG_RC=$?
	sed 's/^/    | /' "$W/mig.out"
	check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
	check "$SCEN: it says it runs at the source" \
	    grep -q "running here" "$W/mig.out"
	check "$SCEN: b's worker ended" wait_no_workers b 10
	VERIFY=$([ "$2" -gt 100000 ] && echo 1 || echo 0) held_on a $D
	scenario_end
done

scenario_begin "link stalls mid-stream"
setup "-d up -k 3000000 -m stall"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
check "$SCEN: b's worker ended" wait_no_workers b 10
held_on a $D
scenario_end

# Cut or stall after ready (the source holds in its rename) and after go
# (the destination holds before unpausing).
for f in "cut USR1" "stall USR2"; do
	set -- $f
	scenario_begin "link $1 after ready"
	setup "" "rename=hang:1"
	migrate_bg $D 127.0.0.3
	check "$SCEN: a journaled rename" wait_phase a rename 10
	kill -$2 $PROXY_PID
	migrate_wait
	check "$SCEN: xmig exits 3 or 1 (got $MIG_RC)" \
	    [ $MIG_RC -eq 3 -o $MIG_RC -eq 1 ]
	[ $MIG_RC -eq 3 ] && recover_clean
	held_on a $D
	scenario_end

	scenario_begin "link $1 after go"
	setup "" "" "unpause=hang:1"
	migrate_bg $D 127.0.0.3
	check "$SCEN: b journaled go" wait_phase b go 10
	kill -$2 $PROXY_PID
	migrate_wait
	check "$SCEN: xmig exits 3 (got $MIG_RC)" [ $MIG_RC -eq 3 ]
	check "$SCEN: runs nowhere in the unknown window" \
	    [ "$(copy_state a $D)" != "r-----" ]
	recover_clean
	held_on b $D
	scenario_end
done

# A stalled peer: b's relocd stopped before the handshake (SIGSTOP), then
# b's worker stopped mid-stream.
scenario_begin "peer stopped before the handshake"
setup
kill -STOP "$(cat "$W/b/relocd.pid")"
xmig_on a migrate $D 127.0.0.3 > "$W/mig.out" 2>&1
MIG_RC=$?
kill -CONT "$(cat "$W/b/relocd.pid")"
sed 's/^/    | /' "$W/mig.out"
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
VERIFY=0 held_on a $D
scenario_end

scenario_begin "peer worker stopped mid-stream"
setup
migrate_bg $D 127.0.0.3 -r 40
check "$SCEN: b journaled receive" wait_phase b receive 10
sleep 0.5
w=$(workers_of b)
[ -n "$w" ] && kill -STOP $w
migrate_wait
[ -n "$w" ] && kill -CONT $w
check "$SCEN: xmig exits 1 (got $MIG_RC)" [ $MIG_RC -eq 1 ]
check "$SCEN: b's worker ended" wait_no_workers b 10
held_on a $D
scenario_end

scenario_summary
finish
