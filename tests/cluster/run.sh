#!/bin/bash
#
# make check-cluster: ocf:relocd:xendomain under a real three-node
# Pacemaker 2.1 + Corosync 3 cluster on this machine, with fencing.
#
#   0. the cluster forms; ocf-tester passes on the agent (inside node1)
#   1. crm_resource --move: a live migration through relocd over mutual
#      TLS; the heartbeat goes on, the memory is verified
#   2. standby: every domain on the node live-migrates off; a domain too
#      big for node3 goes to the other node
#   3. a node killed hard: fenced (its cgroup killed and proved empty),
#      each of its domains started on a survivor exactly once
#   3b. a node hung hard (its cgroup frozen, its domains' leases held):
#      its domains start elsewhere only after the fence killed them
#   4. a target whose relocd does not allow the source: the migration
#      fails cleanly, Pacemaker recovers without a second copy
#   5. relocd (daemon and workers) killed on the source during migrate_to:
#      no double run, Pacemaker converges
#
# Before the cluster, t_agent.sh holds each of the agent's return codes
# to its case against stand-ins for xmig and Pacemaker's tools.
#
# Ends with the measured times and "check-cluster: N passed, N failed".
# Skips (exit 0, with the reason) where it cannot run.  CLUSTER_ROOT (work
# directory, default build/cluster) and CLUSTER_NET (a free /24, default
# 10.77.0) may be set.
. "$(dirname "$0")/lib.sh"

T_BEGIN=$(now)
preflight
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$W"
mkdir -p "$W/cluster" "$W/domains" "$W/self" "$W/ocf/relocd" "$W/sbin" "$W/pki"
install -m 755 "$ROOT/ocf/xendomain" "$W/ocf/relocd/xendomain"
install -m 755 "$ROOT/tests/cluster/fence_cgroup_test" "$W/sbin/fence_cgroup_test"
# The work directory must be reachable by hacluster and nobody.
chmod 755 "$W" "$W/ocf" "$W/ocf/relocd" "$W/sbin"
head -c 256 /dev/urandom > "$W/authkey"
: > "$W/fence.log"
chmod 666 "$W/fence.log"

# The agent's return codes, case by case, against stand-ins (no cluster).
t0=$(now)
bash "$ROOT/tests/cluster/t_agent.sh" > "$W/t_agent.log" 2>&1
read -r tp tf <<< "$(sed -n 's/^t_agent: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$W/t_agent.log")"
CHECKS=$((CHECKS + ${tp:-0} + ${tf:-1}))
FAILS=$((FAILS + ${tf:-1}))
echo "  t_agent: ${tp:-0} passed, ${tf:-1} failed (the agent's return codes against stand-ins; $W/t_agent.log)"
grep -A8 '^  FAIL' "$W/t_agent.log"
timing "t_agent (agent decisions, no cluster)" "$(secs "$t0" "$(now)") s"

# wait_up T0 TRIES DOM...: until each DOM runs somewhere again, UP[DOM]
# the time it was first seen so; at most TRIES looks 0.1 s apart and
# 180 s after T0.  UP is the caller's (declare -A UP).
wait_up() {
	local t0=$1 tries=$2 i d all
	shift 2
	for i in $(seq 1 "$tries"); do
		all=1
		for d in "$@"; do
			[ -n "${UP[$d]:-}" ] && continue
			if [ -n "$(running_on "$d")" ]; then
				UP[$d]=$(now)
			else
				all=0
			fi
		done
		[ $all -eq 1 ] && break
		past "$t0" 180 && break
		sleep 0.1
	done
}

echo "check-cluster: three nodes on $NET.1-3 (bridge $BR, cgroups $CG)"
# Memory (MiB) of each node: relocd's sim_memory_mb and the node's
# utilization, the same figure for both.
declare -A MEM=([node1]=512 [node2]=512 [node3]=128)
for n in $NODES; do
	setup_node "$n" "${MEM[$n]}" || { echo "check-cluster: setup of $n failed"; exit 1; }
done
setup_net || { echo "check-cluster: network setup failed"; exit 1; }

t0=$(now)
for n in $NODES; do
	start_node "$n" || { dump_logs; exit 1; }
done

# All three online, a DC elected (bounded).
online=0
for i in $(seq 1 120); do
	c=$(on node1 crm_mon -1 --output-as=xml 2>/dev/null |
	    grep -c '<node name="node[0-9]" .*online="true"')
	if [ "${c:-0}" -eq 3 ] && on node1 crmadmin -D -q >/dev/null 2>&1; then
		online=1
		break
	fi
	sleep 0.5
done
check "all three nodes online" [ $online -eq 1 ]
[ $online -eq 1 ] || { dump_logs; echo "check-cluster: 0 passed, 1 failed"; exit 1; }
timing "cluster formed (3 nodes online, DC elected)" "$(secs "$t0" "$(now)") s"
for n in $NODES; do
	check "$n's relocd answers on $(addr "$n"):8003" wait_relocd "$n"
done

# Fencing, node attributes and utilization.
on node1 cibadmin --create --scope resources --xml-text "
<primitive id=\"fence-cgroup\" class=\"stonith\" type=\"fence_cgroup_test\">
  <instance_attributes id=\"fence-cgroup-ia\">
    <nvpair id=\"fence-cgroup-hosts\" name=\"pcmk_host_list\" value=\"node1 node2 node3\"/>
    <nvpair id=\"fence-cgroup-base\" name=\"cgroup_base\" value=\"/sys/fs/cgroup/${CG#"$CGROOT"/}\"/>
    <nvpair id=\"fence-cgroup-log\" name=\"log_file\" value=\"$W/fence.log\"/>
  </instance_attributes>
  <operations>
    <op id=\"fence-cgroup-monitor\" name=\"monitor\" interval=\"60s\"/>
  </operations>
</primitive>" >>"$W/cibadmin.log" 2>&1
for n in $NODES; do
	on node1 crm_attribute --type nodes --node "$n" --name relocd-address --update "$(addr "$n")"
	on node1 crm_attribute --node "$n" --utilization --name memory --update "${MEM[$n]}"
	on node1 crm_attribute --node "$n" --utilization --name weight --update 4
done
check "the fence device starts" settle 60

# ---- 0. ocf-tester, in node1, on a domain of its own --------------------
echo "  -- ocf-tester"
domain_conf ocftest 16 0 99
if on node1 ocf-tester -n ocftest -o config="$W/domains/ocftest.cfg" \
    -o relocd_config="$W/self/relocd.conf" -o xmig="$XMIG" \
    /usr/lib/ocf/resource.d/relocd/xendomain > "$W/ocf-tester.log" 2>&1; then
	ok "ocf-tester passes ($(grep -c . "$W/ocf-tester.log") lines of output)"
else
	fail "ocf-tester"
	sed 's/^/    | /' "$W/ocf-tester.log"
fi
check "ocf-tester left no ocftest domain" [ -z "$(running_on ocftest)" ]

# ---- the domains --------------------------------------------------------
domain_conf dom1 48 200 01
domain_conf big 192 100 02
domain_conf small 32 100 03
domain_conf dom5 160 100 05
t0=$(now)
add_domain dom1 48
add_domain big 192
add_domain small 32
add_domain dom5 160 bandwidth=120
# big and small start on node1, dom1 and dom5 on node2 (scores, not
# mandatory: placement and utilization still decide later).
for r in big:node1 small:node1 dom1:node2 dom5:node2; do
	on node1 cibadmin --create --scope constraints --xml-text \
	    "<rsc_location id=\"home-${r%%:*}\" rsc=\"${r%%:*}\" node=\"${r#*:}\" score=\"50\"/>" \
	    >>"$W/cibadmin.log" 2>&1
done
for d in dom1 big small dom5; do start_domain "$d"; done
check "the four domains start" settle 120
timing "four domains started" "$(secs "$t0" "$(now)") s"
for d in dom1 big small dom5; do
	assert_one "$d"
done

# ---- 1. crm_resource --move ---------------------------------------------
echo "  -- scenario 1: crm_resource --move dom1: a live migration through relocd"
src=$(running_on dom1)
dst=node1
[ "$src" = node1 ] && dst=node3
tick0=$(last_tick "$(console "$src" dom1)")
sampler_start dom1
t0=$(now)
on node1 crm_resource --move --resource dom1 --node "$dst" >/dev/null 2>&1
settle 120
t1=$(now)
sampler_stop
timing "1: crm_resource --move dom1 $src -> $dst, until idle" "$(secs "$t0" "$t1") s"
assert_one dom1
check "dom1 is on $dst" [ "$(running_on dom1)" = "$dst" ]
assert_never_two dom1
check "$src's relocd migrated it (xmig jobs: ended, migrated to $(addr "$dst"))" \
    sh -c "XMIG_CONFIG='$W/$src/relocd.conf' '$XMIG' jobs | grep -q 'dom1 .*done .*ended: dom1 migrated to $(addr "$dst")'"
check "$dst's relocd received it over mutual TLS from $src's certificate" \
    grep -q "CN=$src" "$W/$dst/relocd.log"
sleep 1
tick1=$(grep -o 'tick [0-9]*' "$(console "$dst" dom1)" | head -n 1 | cut -d' ' -f2)
check "the heartbeat goes on: first tick on $dst ($tick1) follows the last on $src before the move ($tick0)" \
    [ -n "$tick1" ] && [ -n "$tick0" ] && [ "$tick1" -gt "$tick0" ]
check "dom1 verified its memory on $dst" grep -q "verified [0-9]* pages" "$(console "$dst" dom1)"
check "no memory corruption" sh -c "! grep -q 'CORRUPT' '$(console "$dst" dom1)'"
on node1 crm_resource --clear --resource dom1 >/dev/null 2>&1
settle 60

# ---- 2. standby -----------------------------------------------------------
echo "  -- scenario 2: standby: the node's domains live-migrate off, by utilization"
host=$(running_on big)
other=node1
[ "$host" = node1 ] && other=node2
moving=""
for d in dom1 big small dom5; do
	[ "$(running_on "$d")" = "$host" ] && moving="$moving $d"
done
say "$host runs:$moving"
declare -A T0
for d in $moving; do T0[$d]=$(last_tick "$(console "$host" "$d")"); done
sampler_start dom1 big small dom5
t0=$(now)
on node1 crm_attribute --node "$host" --name standby --update on
settle 180
t1=$(now)
sampler_stop
timing "2: standby $host, until its $(echo $moving | wc -w) domains moved" "$(secs "$t0" "$t1") s"
for d in $moving; do
	n=$(running_on "$d")
	check "$d left $host (now on ${n:-nowhere})" [ -n "$n" ] && [ "$n" != "$host" ]
	check "$d moved live: $host's relocd migrated it" \
	    sh -c "XMIG_CONFIG='$W/$host/relocd.conf' '$XMIG' jobs | grep -q '$d .*done .*ended: $d migrated to'"
	# Its console log on $n begins where it arrived.
	t=$(grep -o 'tick [0-9]*' "$(console "$n" "$d")" 2>/dev/null | head -n 1 | cut -d' ' -f2)
	check "$d arrived with its memory verified" \
	    sh -c "head -n 1 '$(console "$n" "$d")' | grep -q '^verified [0-9]* pages'"
	check "$d's heartbeat went on (first tick on $n $t, after tick ${T0[$d]} on $host before the standby)" \
	    [ -n "$t" ] && [ "$t" -gt "${T0[$d]:-0}" ]
done
check "big (192 MiB) went to $other, not to node3 (128 MiB)" [ "$(running_on big)" = "$other" ]
for d in dom1 big small dom5; do assert_one "$d"; done
assert_never_two dom1 big small dom5
on node1 crm_attribute --node "$host" --name standby --update off
settle 60

# ---- 3. a node killed hard ------------------------------------------------
echo "  -- scenario 3: a node killed hard: fenced, its domains restarted once"
victim=$(running_on dom5)
[ -n "$victim" ] || victim=node2
victims=""
for d in dom1 big small dom5; do
	[ "$(running_on "$d")" = "$victim" ] && victims="$victims $d"
done
say "killing $victim, which runs:$victims"
sampler_start dom1 big small dom5
t0=$(now)
kill_node "$victim"
declare -A UP
wait_up "$t0" 600 $victims
settle 120
sampler_stop
check "the victim was fenced: its cgroup killed and proved empty" \
    grep -q "off $victim: cgroup empty (populated 0): fenced" "$W/fence.log"
tf=$(awk -v v="$victim" '$0 ~ "off " v ": cgroup empty" { print $1; exit }' "$W/fence.log")
[ -n "$tf" ] && timing "3: kill of $victim -> fenced by $(awk -v v="$victim" '$0 ~ "off " v ": cgroup empty" { print $2; exit }' "$W/fence.log")" "$(secs "$t0" "$tf") s"
for d in $victims; do
	if [ -n "${UP[$d]:-}" ]; then
		timing "3: kill of $victim -> $d running on $(running_on "$d")" "$(secs "$t0" "${UP[$d]}") s"
	fi
	check "$d runs again on a survivor" [ -n "${UP[$d]:-}" ]
	assert_one "$d"
	check "$d booted afresh (a cold start: its memory died with $victim)" \
	    sh -c "head -n 1 '$(console "$(running_on "$d")" "$d")' | grep -q booted"
done
assert_never_two dom1 big small dom5
# The victim comes back: nothing of its old domains runs there, and its
# return moves or restarts nothing (its relocd shows the dead domains as
# crashed: the probes must not count them as running).
declare -A WAS
for d in dom1 big small dom5; do
	n=$(running_on "$d")
	WAS[$d]="$n $(dom_id "$n" "$d")"
done
t0=$(now)
# It comes back with its state_dir: the sim shows the guests that died
# with it as crashed domains (a real host that was off has none).  The
# probes must not take them for running copies.
start_node "$victim"
for i in $(seq 1 120); do
	c=$(on node1 crm_mon -1 --output-as=xml 2>/dev/null |
	    grep -c '<node name="node[0-9]" .*online="true"')
	[ "${c:-0}" -eq 3 ] && break
	sleep 0.5
done
check "$victim rejoins" [ "${c:-0}" -eq 3 ]
timing "3: $victim rejoined after restart" "$(secs "$t0" "$(now)") s"
wait_relocd "$victim"
settle 120
for d in dom1 big small dom5; do
	assert_one "$d"
	n=$(running_on "$d")
	check "$victim's return left $d as it was (${WAS[$d]}; now $n $(dom_id "$n" "$d"))" \
	    [ "${WAS[$d]}" = "$n $(dom_id "$n" "$d")" ]
done
# The operator clears the dead copies (they hold the sim's memory).
for d in $victims; do
	s=$(dom_state "$victim" "$d")
	check "$victim lists its dead copy of $d as crashed ($s)" sh -c "case '$s' in *c*) exit 0;; esac; exit 1"
	xm "$victim" destroy "$d" >/dev/null 2>&1
done

# ---- 3b. a node that hangs ---------------------------------------------------
echo "  -- scenario 3b: a node hangs hard (frozen): its domains wait for the fence"
victim=$(running_on big)
victims=""
for d in dom1 big small dom5; do
	[ "$(running_on "$d")" = "$victim" ] && victims="$victims $d"
done
say "freezing $victim, which runs:$victims"
nf=$(grep -c "off $victim: cgroup empty" "$W/fence.log")
sampler_start dom1 big small dom5
t0=$(now)
freeze_node "$victim"
unset UP
declare -A UP
wait_up "$t0" 900 $victims
settle 120
sampler_stop
tf=$(awk -v v="$victim" '$0 ~ "off " v ": cgroup empty" { t = $1 } END { print t }' "$W/fence.log")
check "the hung $victim was fenced: the agent found its cgroup populated, killed it, proved it empty" \
    sh -c "[ \$(grep -c 'off $victim: cgroup empty' '$W/fence.log') -gt $nf ] &&
	tail -n 2 '$W/fence.log' | grep -q 'off $victim: cgroup.kill (populated 1)'"
[ -n "$tf" ] && timing "3b: $victim frozen -> fenced" "$(secs "$t0" "$tf") s"
for d in $victims; do
	check "$d runs again on a survivor" [ -n "${UP[$d]:-}" ]
	[ -n "${UP[$d]:-}" ] || continue
	timing "3b: $victim frozen -> $d running on $(running_on "$d")" "$(secs "$t0" "${UP[$d]}") s"
	# Its frozen copy held the lease until the fence killed it.
	check "$d started only after the fence (at +$(secs "$t0" "${UP[$d]}") s, fence at +$(secs "$t0" "${tf:-0}") s)" \
	    [ -n "$tf" ] && awk -v u="${UP[$d]}" -v f="$tf" 'BEGIN { exit !(u > f) }'
	assert_one "$d"
done
assert_never_two dom1 big small dom5
thaw_node "$victim"
start_node "$victim"
for i in $(seq 1 120); do
	c=$(on "$(any_node)" crm_mon -1 --output-as=xml 2>/dev/null |
	    grep -c '<node name="node[0-9]" .*online="true"')
	[ "${c:-0}" -eq 3 ] && break
	sleep 0.5
done
check "$victim rejoins" [ "${c:-0}" -eq 3 ]
wait_relocd "$victim"
settle 120
for d in $victims; do
	xm "$victim" destroy "$d" >/dev/null 2>&1
done
for d in dom1 big small dom5; do assert_one "$d"; done

# ---- 4. a target that refuses the source ----------------------------------
echo "  -- scenario 4: the target's relocd does not allow the source"
src=$(running_on dom1)
dst=""
for n in node3 node1 node2; do
	[ "$n" != "$src" ] && [ "$(running_on big)" != "$n" ] && { dst=$n; break; }
done
[ -n "$dst" ] || dst=$( [ "$src" = node1 ] && echo node2 || echo node1 )
allow=$(echo $NODES | tr ' ' '\n' | grep -vx "$src" | sed 's/.*/"&"/' | paste -sd, -)
sed -i "s/^relocation_hosts_allow = .*/relocation_hosts_allow = [ $allow ]/" "$W/$dst/relocd.conf"
kill -HUP "$(relocd_main "$dst")"
sleep 1
say "$dst allows only $allow; moving dom1 $src -> $dst"
sampler_start dom1
t0=$(now)
on node1 crm_resource --move --resource dom1 --node "$dst" >/dev/null 2>&1
settle 180
t1=$(now)
sampler_stop
timing "4: refused migration of dom1 $src -> $dst, until idle" "$(secs "$t0" "$t1") s"
check "$dst's relocd refused $src (its log names the refusal)" \
    grep -qi "refus.*$src\|$src.*not allowed\|not allowed.*$src\|CN=$src.*refus" "$W/$dst/relocd.log"
check "Pacemaker recorded the failed migrate_to" \
    sh -c "grep -a 'dom1_migrate_to' '$W'/node*/var-log-pacemaker/pacemaker.log | grep -qi 'error\|fail'"
assert_one dom1
assert_never_two dom1
say "dom1 ended on $(running_on dom1)"
sed -i "s/^relocation_hosts_allow = .*/relocation_hosts_allow = [ \"node1\", \"node2\", \"node3\" ]/" "$W/$dst/relocd.conf"
kill -HUP "$(relocd_main "$dst")"
on node1 crm_resource --clear --resource dom1 >/dev/null 2>&1
on node1 crm_resource --cleanup --resource dom1 >/dev/null 2>&1
settle 120

# ---- 5. relocd killed on the source during migrate_to ----------------------
echo "  -- scenario 5: relocd killed on the source during migrate_to"
src=$(running_on dom5)
dst=""
for n in node1 node2; do [ "$n" != "$src" ] && { dst=$n; break; }; done
say "moving dom5 (160 MiB at 120 Mbit/s) $src -> $dst"
sampler_start dom5
t0=$(now)
on node1 crm_resource --move --resource dom5 --node "$dst" >/dev/null 2>&1
mid=0
for i in $(seq 1 200); do
	if xm "$dst" list 2>/dev/null | grep -q '^dom5--incoming '; then
		mid=1
		break
	fi
	sleep 0.05
done
check "the migration of dom5 is under way ($dst receives dom5--incoming)" [ $mid -eq 1 ]
sleep 2
tick0=$(last_tick "$(console "$src" dom5)")
pids=$(relocd_pids "$src")
kill -9 $pids 2>/dev/null
t_kill=$(now)
say "killed $src's relocd and its workers ($(echo $pids | wc -w) processes) at +$(secs "$t0" "$t_kill") s"
settle 240
t1=$(now)
# Let recurring monitors run once more, then settle again.
sleep 6
settle 120
sampler_stop
timing "5: relocd killed mid-migrate_to -> cluster idle" "$(secs "$t_kill" "$t1") s"
assert_one dom5
assert_never_two dom5
check "dom5 is on $dst: the agent's migrate_to settled and tried again" [ "$(running_on dom5)" = "$dst" ]
# A console log starts where the domain arrives: a migrated domain's with
# "verified N pages" and its next tick, a cold start's with "booted".
clog=$(console "$dst" dom5)
tick1=$(grep -o 'tick [0-9]*' "$clog" 2>/dev/null | head -n 1 | cut -d' ' -f2)
check "it arrived live: its console on $dst begins with its memory verified ($(head -n 1 "$clog" 2>/dev/null))" \
    sh -c "head -n 1 '$clog' | grep -q '^verified [0-9]* pages'"
check "and its heartbeat went on (tick $tick1 on $dst after tick $tick0 on $src before the kill)" \
    [ -n "$tick1" ] && [ -n "$tick0" ] && [ "$tick1" -gt "$tick0" ]
check "$src's relocd, restarted, settled the interrupted migration (xmig jobs)" \
    sh -c "XMIG_CONFIG='$W/$src/relocd.conf' '$XMIG' jobs | grep -q 'dom5 .*done .*ended: dom5 migrated to $(addr "$dst")'"
check "no memory corruption anywhere" sh -c "! grep -l CORRUPT '$W'/node*/state/console/*.log"
on node1 crm_resource --clear --resource dom5 >/dev/null 2>&1

# ---- the end ---------------------------------------------------------------
on node1 crm_mon -1 > "$W/crm_mon.final" 2>&1
timing "check-cluster, whole run" "$(secs "$T_BEGIN" "$(now)") s"
echo "  -- times"
printf '%s' "$SUMMARY"
if [ $FAILS -gt 0 ]; then
	dump_logs
	echo "  (logs in $W)"
fi
echo "check-cluster: $((CHECKS - FAILS)) passed, $FAILS failed"
[ $FAILS -eq 0 ]
