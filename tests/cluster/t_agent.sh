#!/bin/bash
#
# The agent's return codes, one decision at a time, without a cluster:
# ocf/xendomain runs against stand-ins for xmig, crm_node and crm_attribute
# (in a directory put first in PATH) whose answers each case sets.  This is
# where the choices of ocf_relocd_xendomain(7), RETURN CODES, are held to:
# an unknown state is a fatal start error (6) or a failed stop (1), never
# a start.  Run by make check-cluster before the cluster forms; needs no
# root.  Prints "t_agent: N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AGENT=$ROOT/ocf/xendomain
T=$(mktemp -d /tmp/t_agent.XXXXXX)
trap 'rm -rf "$T"' EXIT
F=$T/fake
B=$T/bin
mkdir -p "$F" "$B"
PASS=0
FAILS=0

# xmig: answers from $F (see each case); every call is logged.
cat > "$B/xmig" <<'EOF'
#!/bin/sh
F=$FAKE
echo "$*" >> "$F/calls"
down() { echo "xmig: cannot reach relocd at /run/relocd/control.sock: Connection refused" >&2; exit 1; }
case $1 in
leases)
	[ -f "$F/leases" ] || { echo "xmig: $2: no lease in /cluster" >&2; exit 1; }
	printf 'Name Host(record) Lease Holder\n'; cat "$F/leases"; exit 0 ;;
list)
	[ -e "$F/relocd_down" ] && down
	if [ "${2:-}" = -H ]; then
		[ -f "$F/peer-$3" ] || { echo "xmig: cannot connect to $3 port 8003: Connection refused" >&2; exit 1; }
		printf 'Name ID Mem VCPUs State Time(s)\n'; cat "$F/peer-$3"; exit 0
	fi
	printf 'Name ID Mem VCPUs State Time(s)\n'; cat "$F/list" 2>/dev/null; exit 0 ;;
jobs) [ -e "$F/relocd_down" ] && down; exit 0 ;;
create)
	[ -e "$F/relocd_down" ] && down
	echo "d1 7 16 1 r----- 0.0" > "$F/list"; echo "Started domain d1 (id=7)"; exit 0 ;;
destroy)
	[ -e "$F/relocd_down" ] && down
	grep -v "^$2 " "$F/list" > "$F/list.new"; mv "$F/list.new" "$F/list"; exit 0 ;;
migrate)
	[ -e "$F/relocd_down" ] && down
	n=$(($(cat "$F/migrations" 2>/dev/null || echo 0) + 1)); echo $n > "$F/migrations"
	rc=$(sed -n "${n}p" "$F/migrate.rcs")
	# the state each attempt leaves: here, and at the target
	[ -f "$F/list.after$n" ] && cp "$F/list.after$n" "$F/list"
	[ -f "$F/peer.after$n" ] && cp "$F/peer.after$n" "$F/peer-10.77.0.2"
	echo "migrate attempt $n: rc $rc"; exit "$rc" ;;
recover) echo "recover: nothing to do"; exit 1 ;;
esac
exit 1
EOF
cat > "$B/crm_node" <<'EOF'
#!/bin/sh
case $1 in
-n) echo node1 ;;
-l) cat "$FAKE/nodes" ;;
esac
EOF
cat > "$B/crm_attribute" <<'EOF'
#!/bin/sh
case "$*" in
*stonith-enabled*) echo true ;;
*relocd-address*)
	while [ $# -gt 0 ]; do
		[ "$1" = --node ] && echo "10.77.0.${2#node}"
		shift
	done ;;
esac
EOF
chmod 755 "$B"/*

cat > "$T/d1.cfg" <<'EOF'
name = "d1"
uuid = "4f1c6a52-7d0b-4b7e-9a55-000000000001"
memory = 16
EOF
grep -v uuid "$T/d1.cfg" > "$T/nouuid.cfg"
printf 'relocation_address = "10.77.0.1"\ncluster_dir = "/cluster"\nbackend = "sim"\n' > "$T/lease.conf"
printf 'relocation_address = "10.77.0.1"\nbackend = "sim"\n' > "$T/nolease.conf"

# reset: a fresh fake cluster of three members, d1 nowhere.
reset() {
	rm -rf "$F"
	mkdir -p "$F"
	printf '1 node1 member\n2 node2 member\n3 node3 member\n' > "$F/nodes"
	: > "$F/list"
	: > "$F/peer-10.77.0.2"
	: > "$F/peer-10.77.0.3"
	CONF=$T/lease.conf
	CFG=$T/d1.cfg
	INTERVAL=0
}

# run ACTION: the agent's exit status.
run() {
	env -i PATH="$B:/usr/bin:/bin" FAKE="$F" OCF_ROOT=/usr/lib/ocf \
	    OCF_RESOURCE_INSTANCE=d1 OCF_RESKEY_config="$CFG" \
	    OCF_RESKEY_relocd_config="$CONF" OCF_RESKEY_xmig="$B/xmig" \
	    OCF_RESKEY_relocd_wait=0 OCF_RESKEY_CRM_meta_timeout=60000 \
	    OCF_RESKEY_CRM_meta_interval=$INTERVAL \
	    OCF_RESKEY_CRM_meta_migrate_target=node2 \
	    sh "$AGENT" "$1" > "$F/out" 2>&1
}

# expect WHAT ACTION RC
expect() {
	local what=$1 action=$2 want=$3 rc
	run "$action"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		PASS=$((PASS + 1))
		printf '  ok: %s: %s -> %s\n' "$what" "$action" "$rc"
	else
		FAILS=$((FAILS + 1))
		printf '  FAIL: %s: %s -> %s, wanted %s\n' "$what" "$action" "$rc" "$want"
		sed 's/^/    | /' "$F/out"
	fi
}
created() { grep -q "^create " "$F/calls" 2>/dev/null; }
assert() {
	local what=$1
	shift
	if "$@"; then PASS=$((PASS + 1)); echo "  ok: $what"
	else FAILS=$((FAILS + 1)); echo "  FAIL: $what"; sed 's/^/    | /' "$F/out"; fi
}

echo "t_agent: ocf/xendomain's decisions against stand-ins"
reset; expect "meta-data" meta-data 0
reset; expect "validate-all" validate-all 0
reset; CFG=$T/nouuid.cfg; expect "a config without uuid, with cluster_dir" validate-all 6
reset; CFG=$T/nouuid.cfg; CONF=$T/nolease.conf; expect "a config without uuid, no cluster_dir" validate-all 0
reset; CFG=$T/missing.cfg; expect "a config that is not there, on a probe" monitor 7

# monitor
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; INTERVAL=10000
expect "running here" monitor 0
reset; INTERVAL=10000; expect "absent here" monitor 7
reset; echo "d1--incoming 3 16 1 --p--- 1.0" > "$F/list"; expect "arriving here" monitor 7
reset; echo "d1 3 16 1 ----c- 1.0" > "$F/list"; expect "crashed copy, probe" monitor 7
reset; echo "d1 3 16 1 ----c- 1.0" > "$F/list"; INTERVAL=10000
expect "crashed copy, recurring monitor" monitor 1
reset; echo "d1--migratedaway 3 16 1 ---s-- 1.0" > "$F/list"
expect "a migration's unknown outcome left here" monitor 1
reset; touch "$F/relocd_down"; echo "d1 10.77.0.1 held node1 domain d1" > "$F/leases"
expect "relocd down, lease held here" monitor 0
reset; touch "$F/relocd_down"; echo "d1 10.77.0.2 held node2 domain d1" > "$F/leases"
expect "relocd down, lease held elsewhere" monitor 7
reset; touch "$F/relocd_down"; CONF=$T/nolease.conf
expect "relocd down, no lease: unknown" monitor 1

# start
reset; expect "nowhere else, lease never taken" start 0
assert "  ... and it created the domain" created
reset; echo "d1 5 16 1 r----- 1.0" > "$F/peer-10.77.0.3"
expect "a peer runs it" start 1
assert "  ... and nothing was created" sh -c "! grep -q '^create ' '$F/calls'"
reset; echo "d1--migratedaway 5 16 1 ---s-- 1.0" > "$F/peer-10.77.0.2"
expect "a peer holds a half-migrated copy" start 1
reset; echo "d1 5 16 1 ----c- 1.0" > "$F/peer-10.77.0.2"
expect "a peer has only a crashed copy" start 0
reset; echo "d1 10.77.0.3 held node3 domain d1" > "$F/leases"
expect "the lease is held elsewhere" start 1
reset; rm "$F/peer-10.77.0.2"; echo "d1 10.77.0.2 free -" > "$F/leases"
expect "a member does not answer, the lease is free" start 0
reset; rm "$F/peer-10.77.0.2"; echo "d1 10.77.0.2 held node2 domain d1" > "$F/leases"
expect "a member does not answer and its copy holds the lease" start 1
reset; rm "$F/peer-10.77.0.2"; CONF=$T/nolease.conf
expect "a member does not answer, no lease: unknown, fatal" start 6
assert "  ... and nothing was created" sh -c "! grep -q '^create ' '$F/calls'"
reset; rm "$F/peer-10.77.0.2"; CONF=$T/nolease.conf
printf '1 node1 member\n2 node2 lost\n3 node3 member\n' > "$F/nodes"
expect "a node out of the membership (fenced), no lease" start 0
assert "  ... and the lost node was not asked" sh -c "! grep -q 'list -H 10.77.0.2' '$F/calls'"
reset; echo "d1 3 16 1 ----c- 1.0" > "$F/list"
expect "a crashed copy here is replaced" start 0
assert "  ... destroyed first" grep -q "^destroy d1" "$F/calls"
reset; echo "d1--migratedaway 3 16 1 ---s-- 1.0" > "$F/list"
expect "a half-migrated copy here" start 1
reset; touch "$F/relocd_down"; expect "relocd down here" start 1

# stop
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; expect "running here" stop 0
assert "  ... destroyed (no guest shutdown on sim)" grep -q "^destroy d1" "$F/calls"
reset; expect "already stopped" stop 0
reset; touch "$F/relocd_down"; echo "d1 10.77.0.1 held node1 domain d1" > "$F/leases"
expect "relocd down, lease held here: cannot show it stopped (fence)" stop 1
reset; touch "$F/relocd_down"; echo "d1 10.77.0.3 held node3 domain d1" > "$F/leases"
expect "relocd down, lease held elsewhere" stop 0
reset; touch "$F/relocd_down"; CONF=$T/nolease.conf
expect "relocd down, no lease: unknown (fence)" stop 1

# migrate_to / migrate_from
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; echo 0 > "$F/migrate.rcs"
expect "xmig migrate exits 0" migrate_to 0
assert "  ... live, to the node attribute's address" grep -q "^migrate -q -l d1 10.77.0.2" "$F/calls"
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; echo 1 > "$F/migrate.rcs"
expect "xmig migrate exits 1 (refused)" migrate_to 1
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; echo 3 > "$F/migrate.rcs"
: > "$F/list.after1"; echo "d1 9 16 1 r----- 1.0" > "$F/peer.after1"
expect "exit 3, the domain runs at the target" migrate_to 0
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; printf '3\n0\n' > "$F/migrate.rcs"
expect "exit 3, the domain back here intact: one more try" migrate_to 0
assert "  ... two attempts" [ "$(cat "$F/migrations")" = 2 ]
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; printf '3\n3\n' > "$F/migrate.rcs"
expect "exit 3 twice, back here each time" migrate_to 1
reset; echo "d1 3 16 1 r----- 1.0" > "$F/list"; echo 3 > "$F/migrate.rcs"
echo "d1--migratedaway 3 16 1 ---s-- 1.0" > "$F/list.after1"
echo "d1--incoming 9 16 1 --p--- 1.0" > "$F/peer.after1"
expect "exit 3, copies on both sides that recover cannot settle" migrate_to 1
reset; echo "d1 9 16 1 r----- 1.0" > "$F/list"; expect "runs here after the move" migrate_from 0

echo "t_agent: $PASS passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
