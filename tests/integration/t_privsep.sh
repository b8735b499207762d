#!/bin/bash
# The privilege line.  During a live migration, on both hosts, the one
# process that holds the TCP connection between the relocds runs as the
# unprivileged user (nobody here), with no_new_privs and a seccomp filter,
# and no root process holds that socket; the other end of its helper
# channel is the migration's root helper.  Killing that process
# mid-stream on either side leaves the domain running exactly once, at
# the source.  A test build's forbidden-syscall request is killed by the
# filter and logged; the production build does not serve that request at
# all.  relocd-priv, which answers the read-only requests and forks the
# helpers, can die without taking a migration in flight with it, and is
# started again.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

D=web
domain_conf "$W/$D.cfg" $D 64 500 50
TESTING=$BUILD/tests/relocd-testing

# PIDs of the processes that hold one end of an established connection
# (an ss filter: which end, which port), one a line.
conn_pids() {
	ss -tnpH state established "$1" 2>/dev/null | grep -o 'pid=[0-9]*' |
	    cut -d= -f2 | sort -u
}

# The process at the other end of PID's socketpairs (its helper channel,
# and during a stream the stream's): unnamed Unix sockets, unlike the
# control socket's connections.
channel_peer() {
	ss -xpH 2>/dev/null | awk -v me="pid=$1," '
	    { owner[$6] = $0 }
	    index($0, me) && $5 == "*" { peer[$6] = $8 }
	    END { for (i in peer) if (peer[i] in owner) print owner[peer[i]] }' |
	    grep -o 'pid=[0-9]*' | cut -d= -f2 | grep -vx "$1" | sort -u
}

# The sockets, pipes and event objects a process holds past stdio.
fd_objects() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "${f##*/}" -gt 2 ] 2>/dev/null || continue
		readlink "$f"
	done | grep -E '^(socket|pipe|anon_inode):' | sort -u
}

# One side's socket holders: exactly one, unprivileged and confined.
check_confined() {
	local side=$1 match=$2 pids n pid uid host shared helper
	pids=""
	for _ in $(seq 1 100); do
		pids=$(conn_pids "$match")
		[ -n "$pids" ] && break
		sleep 0.05
	done
	n=$(echo "$pids" | grep -c .)
	check "$side: one process holds the peer's TCP socket (pids: $(echo $pids))" \
	    [ "$n" -eq 1 ]
	pid=$(echo "$pids" | head -n 1)
	[ -n "$pid" ] || return
	sed -n '/^Name\|^Uid\|^Gid\|^NoNewPrivs\|^Seccomp:\|^CapEff/p' \
	    /proc/"$pid"/status | sed 's/^/    /'
	uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' /proc/"$pid"/status)
	check "$side: its uids are all non-zero ($uid)" \
	    sh -c "echo '$uid' | tr , '\n' | grep -qv '^0$' &&
	    ! echo '$uid' | tr , '\n' | grep -qx 0"
	check "$side: NoNewPrivs: 1" grep -qx 'NoNewPrivs:[[:space:]]*1' \
	    /proc/"$pid"/status
	check "$side: Seccomp: 2 (filter)" grep -qx 'Seccomp:[[:space:]]*2' \
	    /proc/"$pid"/status
	check "$side: no effective capabilities" \
	    grep -qx 'CapEff:[[:space:]]*0000000000000000' /proc/"$pid"/status
	# Nothing inherited from the daemon: above all not libevent's signal
	# pipe, where a byte would read as a signal to the parent.  (stdio
	# aside: both log to the same file.)
	host=$([ "$side" = source ] && echo a || echo b)
	shared=$(comm -12 <(fd_objects "$pid") \
	    <(fd_objects "$(cat "$W/$host/relocd.pid")") | tr '\n' ' ')
	check "$side: it shares no descriptor with the daemon (${shared:-none})" \
	    [ -z "$shared" ]
	helper=$(channel_peer "$pid")
	check "$side: its channel leads to one root helper (${helper:-none}: $(cat /proc/"$helper"/comm 2>/dev/null))" \
	    sh -c "[ \$(echo '$helper' | grep -c .) -eq 1 ] &&
	    [ \"\$(cat /proc/$helper/comm)\" = relocd-helper ] &&
	    awk '/^Uid:/ { exit \$2 != 0 }' /proc/$helper/status"
	eval "PID_$side=$pid"
}

# 1. The processes on the wire, during a live migration slowed to ~10 s
# (a sanitized build on a busy machine needs the time to look).
scenario_begin "who holds the sockets"
fault_setup
migrate_bg $D 127.0.0.3 -l -r 50
check "$SCEN: the stream started" wait_phase a stream 10
# Source: the connection from 127.0.0.2 to the peer's port; destination:
# the one accepted on 127.0.0.3's port.
check_confined source "( src 127.0.0.2 and dport = :$PORT )"
check_confined destination "( src 127.0.0.3 and sport = :$PORT )"
migrate_wait
check "$SCEN: the migration succeeded (exit $MIG_RC)" [ $MIG_RC -eq 0 ]
held_on b $D
scenario_end

# 2. The destination's network process killed mid-stream.
scenario_begin "destination network process killed mid-stream"
fault_setup
migrate_bg $D 127.0.0.3 -l -r 30
check "$SCEN: the stream started" wait_phase a stream 10
sleep 0.5
check_confined destination "( src 127.0.0.3 and sport = :$PORT )"
check "$SCEN: killed $PID_destination" kill -9 "$PID_destination"
migrate_wait
check "$SCEN: xmig reports the failure (exit $MIG_RC)" [ $MIG_RC -eq 1 ]
check "$SCEN: b's helper ended the restore (nothing left)" \
    wait_for "$W/b/relocd.log" "receiving $D failed" 10
check "$SCEN: b's helper saw its network process die" \
    grep -q "network process $PID_destination killed by signal 9" \
    "$W/b/relocd.log"
held_on a $D
scenario_end

# 3. The source's network process killed mid-stream: its helper resumes
# the domain (xmig, whose connection that process held, cannot know).
scenario_begin "source network process killed mid-stream"
fault_setup
migrate_bg $D 127.0.0.3 -l -r 30
check "$SCEN: the stream started" wait_phase a stream 10
sleep 0.5
check_confined source "( src 127.0.0.2 and dport = :$PORT )"
check "$SCEN: killed $PID_source" kill -9 "$PID_source"
migrate_wait
check "$SCEN: xmig does not claim success (exit $MIG_RC)" [ $MIG_RC -ne 0 ]
check "$SCEN: a's helper resumed it" \
    wait_for "$W/a/relocd.log" "resumed at the source" 10
# Killed in the stream, or (on a slow machine) just after its end,
# before go: b's helper says which, and destroys its copy either way.
check "$SCEN: b gave up its incoming copy" \
    wait_for "$W/b/relocd.log" "receiving $D failed\\|ended before go; destroying $D--incoming" 15
held_on a $D
scenario_end

# 4. relocd-priv killed on both hosts while a migration streams: the
# migration is its helpers', not relocd-priv's, and finishes; each daemon
# says so and starts another relocd-priv, which serves the next request.
new_priv() {
	local i p
	for i in $(seq 1 60); do
		p=$(priv_pid "$1")
		[ -n "$p" ] && [ "$p" != "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
scenario_begin "relocd-priv killed during a migration"
fault_setup
migrate_bg $D 127.0.0.3 -l -r 100
check "$SCEN: the stream started" wait_phase a stream 10
pa=$(priv_pid a)
pb=$(priv_pid b)
check "$SCEN: killed a's ($pa) and b's ($pb)" kill -9 "$pa" "$pb"
migrate_wait
check "$SCEN: the migration succeeded (exit $MIG_RC)" [ $MIG_RC -eq 0 ]
check "$SCEN: a logged the death and the restart" \
    wait_for "$W/a/relocd.log" "relocd-priv $pa killed by signal 9: starting another" 5
check "$SCEN: b too" \
    wait_for "$W/b/relocd.log" "relocd-priv $pb killed by signal 9: starting another" 5
check "$SCEN: a runs a new relocd-priv" new_priv a "$pa"
check "$SCEN: b runs a new relocd-priv" new_priv b "$pb"
check "$SCEN: they answer list -H" xmig_on a list -H 127.0.0.3
check "$SCEN: each migration had a helper of its own" sh -c "
    grep -q 'helper [0-9]* serves its migrate request' '$W/a/relocd.log' &&
    grep -q 'helper [0-9]* serves its migrate-receive request' '$W/b/relocd.log'"
check "$SCEN: list was answered by relocd-priv alone" sh -c "
    grep -q 'list request' '$W/b/relocd.log' &&
    ! grep -q 'serves its list request' '$W/a/relocd.log' '$W/b/relocd.log'"
held_on b $D
scenario_end

# 5. A forbidden system call kills the network process, and is logged.
scenario_begin "the filter kills a forbidden system call"
conf_host c 127.0.0.4 hostc
RELOCD=$TESTING start_host c
frame() {
	# header: "RLCD", version 1, type, flags 0, length 2; body "{}"
	printf 'RLCD\001'"$1"'\000\000\000\000\000\002{}'
}
frame '\176' | timeout 5 socat -t 3 - UNIX-CONNECT:"$W/c/control.sock" \
    >"$W/forbidden.out" 2>&1
check "$SCEN: the request ran in the test build" \
    wait_for "$W/c/relocd.log" "calling ptrace, which the filter forbids" 5
check "$SCEN: its helper logged the kill by the filter" \
    wait_for "$W/c/relocd.log" "killed by its seccomp filter (SIGSYS)" 5
check "$SCEN: the forbidden call did not go through" \
    sh -c "! grep -q 'was not stopped' '$W/forbidden.out' '$W/c/relocd.log'"
check "$SCEN: the daemon serves on" xmig_on c list
stop_host c
conf_host d 127.0.0.5 hostc
start_host d
frame '\176' | timeout 5 socat -t 3 - UNIX-CONNECT:"$W/d/control.sock" \
    >"$W/production.out" 2>&1
check "$SCEN: the production build does not serve it" \
    grep -q "not a request this port serves" "$W/production.out"
check "$SCEN: nothing was killed there" \
    sh -c "! grep -q 'seccomp filter' '$W/d/relocd.log'"
stop_host d
scenario_end

# 5. The user must exist; relocd -n says so with FILE:LINE.
scenario_begin "an unknown user is a configuration error"
conf_set c user '"no-such-relocd-user"'
out=$("$RELOCD" -n -f "$W/c/relocd.conf" 2>&1)
rc=$?
say "relocd -n: $out"
check "$SCEN: exit 1" [ $rc -eq 1 ]
check "$SCEN: FILE:LINE names the user" \
    sh -c "echo '$out' | grep -q 'relocd.conf:[0-9]*: user \"no-such-relocd-user\": no such user'"
conf_set c user '"root"'
out=$("$RELOCD" -n -f "$W/c/relocd.conf" 2>&1)
check "$SCEN: root is refused ($out)" \
    sh -c "echo '$out' | grep -q 'must run unprivileged'"
scenario_end

finish
