# make check-cluster, shared part: a real Pacemaker + Corosync cluster of
# three nodes on this machine (see /work/shared/pacemaker-on-one-machine.md
# for the recipe).  Each node is a network namespace on a bridge, its own
# mount/UTS/IPC/PID namespaces and its own cgroup v2 group; each runs its
# own relocd (sim backend, its own certificate, bound to the node's
# address), corosync and pacemakerd.
#
# Processes: everything a node runs is in its cgroup, and is ended by
# cgroup.kill of that group; the launchers are this shell's children,
# waited for.  Nothing is killed by name.  Every wait is bounded.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
RELOCD=$BUILD/relocd
XMIG=$BUILD/xmig
W=${CLUSTER_ROOT:-$BUILD/cluster}
NET=${CLUSTER_NET:-10.77.0}
TAG=xmc$(($$ % 100000))
BR=${TAG}br
NODES="node1 node2 node3"
CHECKS=0
FAILS=0
SUMMARY=""
declare -A LAUNCHER PID1

say() { printf '  %s\n' "$*"; }
ok() { CHECKS=$((CHECKS + 1)); say "ok: $*"; }
fail() {
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	printf '  FAIL: %s\n' "$*"
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
now() { date +%s.%N; }
# past T0 SECONDS: more than SECONDS have gone by since T0 (from now).
past() { awk -v a="$1" -v b="$(now)" -v s="$2" 'BEGIN { exit !(b - a > s) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
timing() { SUMMARY="$SUMMARY$(printf '  %-58s %s\n' "$1" "$2")
"; }

skip() {
	echo "check-cluster: SKIP: $*"
	exit 0
}

idx() { echo "${1#node}"; }
addr() { echo "$NET.$(idx "$1")"; }

# The cgroup v2 hierarchy (hybrid layouts have it at .../unified).
cg_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

preflight() {
	local c
	[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, cgroups, a bridge)"
	for c in corosync pacemakerd cibadmin crm_resource crm_attribute \
	    crm_node crm_mon stonith_admin ocf-tester ip unshare nsenter xmllint; do
		command -v "$c" >/dev/null 2>&1 ||
		    skip "$c not found (sh scripts/deps.sh cluster installs it)"
	done
	getent passwd hacluster >/dev/null || skip "no hacluster user (pacemaker not installed?)"
	CGROOT=$(cg_root)
	[ -n "$CGROOT" ] || skip "no cgroup2 hierarchy mounted"
	CG=$CGROOT/xmig-cluster.$$
	mkdir "$CG" 2>/dev/null || skip "cannot create a cgroup under $CGROOT"
	if [ ! -e "$CG/cgroup.kill" ]; then
		rmdir "$CG"
		skip "the kernel has no cgroup.kill (5.14 or later needed)"
	fi
	grep -qw overlay /proc/filesystems || { rmdir "$CG"; skip "no overlayfs"; }
	if ! ip netns add "${TAG}probe" 2>/dev/null; then
		rmdir "$CG"
		skip "cannot create network namespaces"
	fi
	ip netns del "${TAG}probe"
	if ip -4 addr | grep -q "inet $NET\."; then
		rmdir "$CG"
		skip "$NET.0/24 is in use here (set CLUSTER_NET)"
	fi
	[ -x "$RELOCD" ] && [ -x "$XMIG" ] || { rmdir "$CG"; skip "build relocd and xmig first (make)"; }
}

# ---- nodes ---------------------------------------------------------------

relocd_conf() {
	local n=$1 mem=$2
	cat <<EOF
# check-cluster: $n
relocation_address = "$(addr "$n")"
relocation_port = 8003
relocation_hosts_allow = [ "node1", "node2", "node3" ]
tls_ca_file = "$W/pki/ca.pem"
tls_cert_file = "$W/pki/$n.pem"
tls_key_file = "$W/pki/$n.key"
control_socket = "$W/$n/control.sock"
state_dir = "$W/$n/state"
cluster_dir = "$W/cluster"
backend = "sim"
user = "nobody"
sim_hostname = "$n"
sim_memory_mb = $mem
handshake_timeout = 5
io_timeout = 10
EOF
}

corosync_conf() {
	local n
	cat <<EOF
totem {
	version: 2
	cluster_name: xmigtest
	transport: knet
	crypto_cipher: aes256
	crypto_hash: sha256
}
nodelist {
EOF
	for n in $NODES; do
		cat <<EOF
	node {
		ring0_addr: $(addr "$n")
		name: $n
		nodeid: $(idx "$n")
	}
EOF
	done
	cat <<EOF
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_logfile: yes
	logfile: /var/log/corosync/corosync.log
	to_stderr: no
	to_syslog: no
	timestamp: on
}
EOF
}

# A CIB to start from: dc-deadtime 2s (the default 20 s is most of a
# cluster's start), fencing on.
seed_cib() {
	# The installed Pacemaker's feature set and schema, from its own
	# empty CIB.
	cibadmin --empty | head -n 1
	cat <<EOF
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="true"/>
        <nvpair id="opt-stonith-action" name="stonith-action" value="off"/>
        <nvpair id="opt-stonith-timeout" name="stonith-timeout" value="30s"/>
        <nvpair id="opt-placement" name="placement-strategy" value="balanced"/>
        <nvpair id="opt-recheck" name="cluster-recheck-interval" value="30s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
    <rsc_defaults>
      <meta_attributes id="rsc-options">
        <nvpair id="rsc-stickiness" name="resource-stickiness" value="100"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
EOF
}

# setup_node NODE MEM_MB: its directories, configs and certificate.
setup_node() {
	local n=$1 mem=$2 d=$W/$1 m
	mkdir -p "$d/state"
	for m in etc-corosync var-lib-corosync var-log-corosync; do
		mkdir -p "$d/$m"
	done
	for m in var-lib-pacemaker/cib var-lib-pacemaker/pengine \
	    var-lib-pacemaker/blackbox var-lib-pacemaker/cores var-log-pacemaker; do
		mkdir -p "$d/$m"
	done
	chown -R hacluster:haclient "$d/var-lib-pacemaker" "$d/var-log-pacemaker"
	chmod 750 "$d"/var-lib-pacemaker/*
	chmod 770 "$d/var-log-pacemaker"
	corosync_conf > "$d/etc-corosync/corosync.conf"
	install -m 400 "$W/authkey" "$d/etc-corosync/authkey"
	seed_cib > "$d/var-lib-pacemaker/cib/cib.xml"
	chown hacluster:haclient "$d/var-lib-pacemaker/cib/cib.xml"
	chmod 600 "$d/var-lib-pacemaker/cib/cib.xml"
	sh "$ROOT/tests/pki/mkcerts.sh" "$W/pki" "$n" "$(addr "$n")" ||
	    return 1
	relocd_conf "$n" "$mem" > "$d/relocd.conf"
}

setup_net() {
	local n i
	ip link add "$BR" type bridge || return 1
	ip link set "$BR" up
	for n in $NODES; do
		i=$(idx "$n")
		ip netns add "${TAG}$n" || return 1
		ip link add "${TAG}v$i" type veth peer name "${TAG}p$i" || return 1
		ip link set "${TAG}p$i" netns "${TAG}$n"
		ip link set "${TAG}v$i" master "$BR" up
		ip -n "${TAG}$n" link set lo up
		ip -n "${TAG}$n" link set "${TAG}p$i" name eth0
		ip -n "${TAG}$n" addr add "$(addr "$n")/24" dev eth0
		ip -n "${TAG}$n" link set eth0 up
	done
}

# start_node NODE: launch its PID 1 in its cgroup; PID1[NODE] is that
# process as the host sees it.
start_node() {
	local n=$1 p i
	mkdir -p "$CG/$n"
	# The subshell stays here (it reaps the node and notes how it
	# ended); the bash it starts moves into the node's cgroup first.
	(
		bash -c 'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" \
		    unshare --mount --uts --ipc --pid --fork --mount-proc \
		    bash "$3" "$4" "$5" "$6"' _ "$CG/$n" "${TAG}$n" \
		    "$ROOT/tests/cluster/node-init.sh" "$n" "$W" "$RELOCD"
		echo "launcher: node $n ended ($?)"
	) >>"$W/$n/launcher.log" 2>&1 &
	LAUNCHER[$n]=$!
	PID1[$n]=
	for i in $(seq 1 50); do
		for p in $(cat "$CG/$n/cgroup.procs" 2>/dev/null); do
			if grep -q '^NSpid:.*[[:space:]]1$' /proc/"$p"/status 2>/dev/null; then
				PID1[$n]=$p
				return 0
			fi
		done
		sleep 0.1
	done
	echo "node $n did not start"
	return 1
}

# kill_node NODE: the whole node at once, then its launcher reaped.
kill_node() {
	local n=$1 i
	[ -d "$CG/$n" ] || return 0
	echo 1 > "$CG/$n/cgroup.kill" 2>/dev/null
	for i in $(seq 1 100); do
		grep -q '^populated 0' "$CG/$n/cgroup.events" && break
		sleep 0.1
	done
	[ -n "${LAUNCHER[$n]:-}" ] && wait "${LAUNCHER[$n]}" 2>/dev/null
	LAUNCHER[$n]=
	PID1[$n]=
	rm -f "$W/$n/control.sock"
}

# freeze_node NODE: the node hangs hard: nothing in it runs any more, but
# its processes (its domains' guests, which hold their leases) are there.
freeze_node() {
	touch "$W/$1/frozen"
	echo 1 > "$CG/$1/cgroup.freeze"
}
# thaw_node NODE: after its fencing emptied it, reap it and unfreeze the
# (empty) group so that it can start again.
thaw_node() {
	kill_node "$1"
	echo 0 > "$CG/$1/cgroup.freeze"
	rm -f "$W/$1/frozen"
}

# on NODE CMD...: run CMD inside the node (its namespaces and cgroup).
on() {
	local n=$1
	shift
	[ -n "${PID1[$n]:-}" ] || return 127
	(
		echo "$BASHPID" > "$CG/$n/cgroup.procs" || exit 126
		exec nsenter -t "${PID1[$n]}" -n -m -u -i -p -- "$@"
	)
}

cleanup() {
	local n
	[ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null && wait "$SAMPLER" 2>/dev/null
	for n in $NODES; do
		kill_node "$n"
		rmdir "$CG/$n" 2>/dev/null
	done
	[ -n "${CG:-}" ] && rmdir "$CG" 2>/dev/null
	for n in $NODES; do
		ip netns del "${TAG}$n" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
}

# ---- relocd and the domains, seen from the host ---------------------------

# xmig on NODE's relocd, through its control socket (on the shared
# filesystem, so reachable from here).
xm() {
	local n=$1
	shift
	XMIG_CONFIG="$W/$n/relocd.conf" timeout 20 "$XMIG" "$@"
}

# A node that runs and answers (not killed, not frozen; the flag file is
# seen by the sampler too, which is a subshell).
node_up() { [ -n "${PID1[$1]:-}" ] && [ ! -e "$W/$1/frozen" ]; }

# dom_state NODE DOM: its xm state letters there, "" if absent.
dom_state() {
	node_up "$1" || return 0
	xm "$1" list 2>/dev/null | awk -v d="$2" '$1 == d { print $5 }'
}

# running_on DOM: the nodes where DOM runs (r or b), space separated.
running_on() {
	local n s out=""
	for n in $NODES; do
		s=$(dom_state "$n" "$1")
		case $s in
		r* | -b*) out="$out $n" ;;
		esac
	done
	echo "${out# }"
}
copies() { local r; r=$(running_on "$1"); set -- $r; echo $#; }

# dom_id NODE DOM: its domain ID there (a restart gives a new one).
dom_id() {
	node_up "$1" || return 0
	xm "$1" list 2>/dev/null | awk -v d="$2" '$1 == d { print $2 }'
}

console() { echo "$W/$1/state/console/$2.log"; }
last_tick() { grep -o 'tick [0-9]*' "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f2; }

# lease_holder DOM: "HOST-ADDRESS held|free" from cluster_dir.
lease_of() {
	local n
	for n in $NODES; do
		node_up "$n" || continue
		xm "$n" leases "$1" 2>/dev/null | awk -v d="$1" '$1 == d { print $2, $3 }'
		return
	done
}

# Pacemaker's view: the node(s) where it says DOM is started.
located() {
	on "$(any_node)" crm_resource --resource "$1" --locate 2>/dev/null |
	    sed -n 's/.* is running on: \([^ ]*\).*/\1/p' | sort | tr '\n' ' ' |
	    sed 's/ $//'
}

any_node() {
	local n
	for n in $NODES; do
		node_up "$n" && { echo "$n"; return; }
	done
}

# settle [SECONDS]: the cluster has nothing left to do (bounded).
settle() {
	on "$(any_node)" crm_resource --wait --timeout="${1:-120}s" >/dev/null 2>&1
}

# one_copy_where_pacemaker_says DOM: exactly one running copy, on the node
# Pacemaker locates it on, holding its lease.
assert_one() {
	local dom=$1 r loc l
	r=$(running_on "$dom")
	loc=$(located "$dom")
	l=$(lease_of "$dom")
	check "$dom runs exactly once (on: ${r:-nowhere})" [ "$(copies "$dom")" = 1 ]
	check "Pacemaker locates $dom where it runs (${loc:-nowhere})" [ -n "$r" ] && [ "$loc" = "$r" ]
	check "$dom's lease is held by $r's relocd ($l)" [ -n "$r" ] && [ "$l" = "$(addr "$r") held" ]
}

# The sampler: every 0.2 s, the largest number of running copies of each
# domain seen since it started (the file $W/sample.DOM).  Bounded to 600 s.
sampler_start() {
	local doms="$*"
	# sample.log (every second look) is kept for the whole run.
	rm -f "$W/sample.count" "$W/sampler.stop"
	for d in $doms; do rm -f "$W/sample.$d"; done
	(
		for _ in $(seq 1 3000); do
			[ -e "$W/sampler.stop" ] && exit 0
			echo >> "$W/sample.count"
			for d in $doms; do
				c=$(copies "$d")
				# Two lists are not one instant: a migration
				# that ends between them shows the domain on
				# both.  A real second copy is still there when
				# asked again, in the other order.
				if [ "$c" -gt 1 ]; then
					echo "$(date +%T.%N) $d on $(running_on "$d"), asked again in reverse order" >> "$W/sample.log"
					c2=$(NODES=$(echo $NODES | tr ' ' '\n' | tac | tr '\n' ' ') copies "$d")
					[ "$c2" -lt "$c" ] && c=$c2
				fi
				m=$(cat "$W/sample.$d" 2>/dev/null || echo 0)
				[ "$c" -gt "$m" ] && echo "$c" > "$W/sample.$d"
				[ "$c" -gt 1 ] && echo "$(date +%T.%N) $d runs on $(running_on "$d")" >> "$W/sample.log"
			done
			sleep 0.2
		done
	) &
	SAMPLER=$!
}
sampler_stop() {
	touch "$W/sampler.stop"
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
}
assert_never_two() {
	local d m k
	k=$(wc -l < "$W/sample.count" 2>/dev/null || echo 0)
	# Enough to show the sampler ran during the move, not a speed: a
	# round asks every node about every domain, and a quick standby
	# was over in 4 rounds in one CI run (2026-12-03).
	check "the copies were sampled while it happened ($k rounds)" [ "$k" -ge 3 ]
	for d in "$@"; do
		m=$(cat "$W/sample.$d" 2>/dev/null || echo 0)
		check "never more than one running copy of $d while it happened (max $m)" [ "$m" -le 1 ]
	done
}

# relocd_pids NODE: the node's relocd processes (the daemon and all of
# its children, comm relocd*), found in the node's own cgroup.
relocd_pids() {
	local p c
	for p in $(cat "$CG/$1/cgroup.procs" 2>/dev/null); do
		c=$(cat /proc/"$p"/comm 2>/dev/null)
		case $c in relocd*) echo "$p" ;; esac
	done
}
relocd_main() {
	local p
	for p in $(relocd_pids "$1"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = relocd ] || continue
		[ "$(cat /proc/"$(awk '/^PPid:/ { print $2 }' /proc/"$p"/status)"/comm 2>/dev/null)" = bash ] &&
		    { echo "$p"; return; }
	done
}

wait_relocd() {
	local i
	for i in $(seq 1 100); do
		xm "$1" list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# domain_conf NAME MEM_MB DIRTY UUID-SUFFIX: an xl config in the shared dir.
domain_conf() {
	cat > "$W/domains/$1.cfg" <<EOF
name = "$1"
uuid = "4f1c6a52-7d0b-4b7e-9a55-0000000000$4"
memory = $2
vcpus = 1
sim_dirty_rate = $3
sim_tick_ms = 100
EOF
}

# add_domain NAME MEM [extra params as name=value]: the resource, its
# utilization and a monitor; stopped (target-role) until start_domains.
add_domain() {
	local name=$1 mem=$2 p extra=""
	shift 2
	for p in "$@"; do
		extra="$extra<nvpair id=\"$name-${p%%=*}\" name=\"${p%%=*}\" value=\"${p#*=}\"/>"
	done
	on "$(any_node)" cibadmin --create --scope resources --xml-text "
<primitive id=\"$name\" class=\"ocf\" provider=\"relocd\" type=\"xendomain\">
  <instance_attributes id=\"$name-ia\">
    <nvpair id=\"$name-config\" name=\"config\" value=\"$W/domains/$name.cfg\"/>
    <nvpair id=\"$name-relocd_config\" name=\"relocd_config\" value=\"$W/self/relocd.conf\"/>
    <nvpair id=\"$name-xmig\" name=\"xmig\" value=\"$XMIG\"/>
    $extra
  </instance_attributes>
  <meta_attributes id=\"$name-meta\">
    <nvpair id=\"$name-allow-migrate\" name=\"allow-migrate\" value=\"true\"/>
    <nvpair id=\"$name-target-role\" name=\"target-role\" value=\"Stopped\"/>
  </meta_attributes>
  <utilization id=\"$name-util\">
    <nvpair id=\"$name-util-memory\" name=\"memory\" value=\"$mem\"/>
    <nvpair id=\"$name-util-weight\" name=\"weight\" value=\"1\"/>
  </utilization>
  <operations>
    <op id=\"$name-monitor\" name=\"monitor\" interval=\"5s\" timeout=\"30s\"/>
    <op id=\"$name-start\" name=\"start\" interval=\"0\" timeout=\"60s\"/>
    <op id=\"$name-stop\" name=\"stop\" interval=\"0\" timeout=\"60s\"/>
    <op id=\"$name-migrate_to\" name=\"migrate_to\" interval=\"0\" timeout=\"120s\"/>
    <op id=\"$name-migrate_from\" name=\"migrate_from\" interval=\"0\" timeout=\"30s\"/>
  </operations>
</primitive>" >>"$W/cibadmin.log" 2>&1
}

start_domain() {
	on "$(any_node)" crm_resource --resource "$1" --meta \
	    --delete-parameter target-role >>"$W/cibadmin.log" 2>&1
}

dump_logs() {
	local n
	for n in $NODES; do
		echo "--- $n: relocd.log (last 20 lines)"
		tail -n 20 "$W/$n/relocd.log" 2>/dev/null
		echo "--- $n: pacemaker.log, xendomain lines (last 30)"
		grep -a 'xendomain\|error\|fenc' "$W/$n/var-log-pacemaker/pacemaker.log" 2>/dev/null | tail -n 30
	done
	echo "--- fence log"
	cat "$W/fence.log" 2>/dev/null
}
