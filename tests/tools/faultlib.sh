# Helpers for the fault scenarios (tests/integration/t_fault_*.sh), sourced
# after tests/integration/lib.sh.  Every scenario starts fresh hosts a and
# b (127.0.0.2, 127.0.0.3), runs one migration with one fault, restarts
# what it killed and then checks the promise from both hosts' state:
# exactly one running copy, under its own name, with intact memory.
#
# Processes: relocd parents are lib.sh's (by PID); their workers are ended
# by the PIDs their journal records carry; guests by the PIDs the sim
# backend recorded; proxies by $!.

PROXY=$BUILD/tests/tools/cutproxy
SCEN=""
SCEN_RUN=0
SCEN_HELD=0
SCEN_FAILS0=0
PROXY_PID=""
# Fresh hosts for a scenario, with short waits so that each failure path
# is reached in seconds; b listens on $B_ADDR (default 127.0.0.3).
fault_hosts() {
	local h
	# Leases on: every scenario's end asserts that the host that runs
	# the domain holds its lease (held_on).
	mkdir -p "$W/cluster"
	conf_host a 127.0.0.2 hosta "cluster_dir = \"$W/cluster\""
	conf_host b "${B_ADDR:-127.0.0.3}" hostb "cluster_dir = \"$W/cluster\""
	for h in a b; do
		conf_set $h io_timeout 3
		conf_set $h ready_timeout 5
		conf_set $h go_timeout 3
		conf_set $h report_timeout 3
	done
}

# start_fault HOST [FAULTS]: start relocd with RELOCD_SIM_FAULT set.
start_fault() {
	local rc
	export RELOCD_SIM_FAULT=${2:-}
	start_host "$1"
	rc=$?
	unset RELOCD_SIM_FAULT
	return $rc
}

# The workers of HOST that still run, from the journal's pid fields.
workers_of() {
	local f pid
	for f in "$W/$1"/state/journal/*.json; do
		[ -f "$f" ] || continue
		pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$f")
		[ -n "$pid" ] || continue
		case $(cat /proc/"$pid"/comm 2>/dev/null) in
		relocd*) echo "$pid";;
		esac
	done
}

# kill -9 of a host's relocd: "parent" alone, or "all" (parent+workers).
kill9_host() {
	local host=$1 what=$2 pid w
	pid=$(cat "$W/$host/relocd.pid" 2>/dev/null)
	if [ "$what" = all ]; then
		for w in $(workers_of "$host"); do kill -9 "$w" 2>/dev/null; done
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	# reap it here, quietly (it is this shell's background job)
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -f "$W/$host/relocd.pid"
	# the listener and control socket are free again
	for w in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$W/$host/control.sock"
}

# wait_phase HOST PHASE SECONDS: a journal record of HOST reached PHASE.
wait_phase() {
	local i
	for i in $(seq 1 $(($3 * 20))); do
		grep -qs "\"phase\":\"$2\"" "$W/$1"/state/journal/*.json && \
		    return 0
		sleep 0.05
	done
	return 1
}

# wait_no_workers HOST SECONDS: every migration worker of HOST ended.
wait_no_workers() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		[ -z "$(workers_of "$1")" ] && return 0
		sleep 0.05
	done
	return 1
}

start_proxy() {
	"$PROXY" -T 60 "$@" >>"$W/proxy.log" 2>&1 &
	PROXY_PID=$!
	wait_for "$W/proxy.log" listening 5
}

stop_proxy() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	[ -n "$PROXY_PID" ] && wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=""
	: > "$W/proxy.log"
}

# migrate_bg DOM HOST [opts]: xmig on a in the background; $MIG_PID.
migrate_bg() {
	local dom=$1 host=$2
	shift 2
	xmig_on a migrate "$@" "$dom" "$host" >"$W/mig.out" 2>&1 &
	MIG_PID=$!
}

# migrate_wait: xmig's exit status in $MIG_RC (bounded by the timeouts).
migrate_wait() {
	wait "$MIG_PID"
	MIG_RC=$?
	sed 's/^/    | /' "$W/mig.out"
}

scenario_begin() {
	SCEN=$1
	SCEN_RUN=$((SCEN_RUN + 1))
	SCEN_FAILS0=$FAILS
	echo "  -- scenario $SCEN_RUN: $SCEN"
}

# fault_setup [FAULTS_A] [FAULTS_B]: fresh hosts a and b (with those
# RELOCD_SIM_FAULT settings) and the test's domain $D running on a.
fault_setup() {
	fault_hosts
	start_fault a "${1:-}" || return 1
	start_fault b "${2:-}" || return 1
	xmig_on a create "$W/$D.cfg" >/dev/null || return 1
	wait_for "$(console_log a "$D")" "tick 3" 10
}

fault_cleanup() {
	local h
	stop_proxy
	for h in a b; do
		for w in $(workers_of "$h"); do kill -9 "$w" 2>/dev/null; done
	done
	cleanup
}
trap fault_cleanup EXIT INT TERM

# End a scenario: stop everything it started, so the next is fresh.
scenario_end() {
	local h
	stop_proxy
	for h in a b; do
		for w in $(workers_of "$h"); do kill -9 "$w" 2>/dev/null; done
		stop_host "$h"
	done
	kill_guests
	if [ "$FAILS" -eq "$SCEN_FAILS0" ]; then
		SCEN_HELD=$((SCEN_HELD + 1))
	else
		say "scenario '$SCEN' did not hold; logs:"
		for h in a b; do
			tail -n 8 "$W/$h/relocd.log" 2>/dev/null | sed 's/^/      /'
		done
	fi
	for h in a b; do
		mv "$W/$h" "$W/$h.$SCEN_RUN" 2>/dev/null
	done
}

# A copy of DOM on HOST: its xmig list state, "" if none.
copy_state() { dom_state "$1" "$2"; }

# The promise: DOM runs on exactly EXPECTED (a or b), nowhere else, no
# half-migrated copies on either host, and its memory verified intact.
held_on() {
	local want=$1 dom=$2 other log t1 t2 i
	other=$([ "$want" = a ] && echo b || echo a)
	check "$SCEN: $dom runs on $want" \
	    [ "$(copy_state "$want" "$dom")" = "r-----" ]
	check "$SCEN: $dom is not on $other" \
	    [ -z "$(copy_state "$other" "$dom")" ]
	check "$SCEN: no --incoming or --migratedaway copy left" sh -c "
	    ! XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' list | grep -Eq -- '--(incoming|migratedaway)' &&
	    ! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -Eq -- '--(incoming|migratedaway)'"
	# the console log lives in the host's state_dir, wherever that is
	log=$(sed -n 's/^state_dir = "\(.*\)"$/\1/p' "$W/$want/relocd.conf" |
	    tail -n 1)/console/$dom.log
	check "$SCEN: no memory corruption" sh -c "! grep -q CORRUPT '$log'"
	if [ "${VERIFY:-1}" = 1 ]; then
		check "$SCEN: the guest verified its memory" \
		    wait_for "$log" "verified [0-9]* pages" 5
	fi
	t1=$(last_tick "$log")
	for i in $(seq 1 40); do
		t2=$(last_tick "$log")
		[ "${t2:-0}" -gt "${t1:-0}" ] && break
		sleep 0.05
	done
	check "$SCEN: it is alive (tick ${t1:-none} -> ${t2:-none})" \
	    [ "${t2:-0}" -gt "${t1:-0}" ]
	# Never free while a copy runs, never held by a host that runs
	# nothing: the one copy's host holds it.
	check "$SCEN: $dom's lease is held by $want, the host that runs it" \
	    sh -c "XMIG_CONFIG='$W/$want/relocd.conf' '$XMIG' leases $dom |
	    awk '\$1 == \"$dom\" && \$3 == \"held\" && \$4 == \"$want\"' | grep -q ."
}

scenario_summary() {
	echo "  fault scenarios: $SCEN_RUN run, $SCEN_HELD held"
}
