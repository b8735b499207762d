#!/bin/bash
# When a host dies: three sim hosts share a cluster_dir.  Leases keep a
# domain from running twice (create on two hosts at once; a forced restart
# while a partitioned copy still runs); xmig migrate --force refuses a live
# source and a source without fence proof, and after a real death (relocd
# and its guests SIGKILLed) starts the domain on the survivor exactly once;
# the dead host, started again, destroys its stale copy and stays in
# maintenance until maintenance off clears the tombstone.
. "$(dirname "$0")/lib.sh"

CL=$W/cluster
D=$W/disks
mkdir -p "$CL" "$D"
for h in a:127.0.0.2 b:127.0.0.3 c:127.0.0.4; do
	conf_host ${h%%:*} ${h#*:} host${h%%:*} "cluster_dir = \"$CL\"" \
	    "incoming_disk_paths = [ \"$D/\" ]"
done
for h in a b c; do start_host $h || exit 1; done

UUID=6c1f9a52-6d0b-4b7e-9a55-2b2f3f0e1a01
domain_conf "$W/web1.cfg" web1 32 0 50
# Its disk is on the shared storage, and the guest keeps a counter there.
truncate -s 1M "$D/web1.img"
cat >> "$W/web1.cfg" <<EOF
uuid = "$UUID"
disk = [ "$D/web1.img,raw,xvda,rw" ]
sim_disk_counter = 1
EOF
disk_counter() { head -c 29 "$D/web1.img" | sed -n 's/^simdisk 0*\([0-9][0-9]*\)$/\1/p'; }

# lease_is DOM held|free [HOLDER-PATTERN]: as xmig leases shows it.
lease_is() {
	local line
	line=$(xmig_on c leases "$1" 2>/dev/null | awk -v d="$1" '$1 == d')
	[ "$(echo "$line" | awk '{ print $3 }')" = "$2" ] || return 1
	[ -z "${3:-}" ] || echo "$line" | grep -q -- "$3"
}
# copies DOM: how many hosts run it
copies() {
	local h n=0
	for h in a b c; do
		[ -f "$W/$h/relocd.pid" ] || continue
		[ "$(dom_state $h "$DOM")" = "r-----" ] && n=$((n + 1))
	done
	echo $n
}

# -- 1. Config: a cluster_dir that is not there is refused by name.
conf_host x 127.0.0.5 hosta "cluster_dir = \"$W/not-mounted\""
out=$("$RELOCD" -n -f "$W/x/relocd.conf" 2>&1)
check "relocd -n refuses a missing cluster_dir ($out)" \
    sh -c "echo \"\$0\" | grep -q 'relocd.conf:[0-9]*: cluster_dir .*not-mounted.*No such file.*shared storage mounted'" "$out"

# -- 2. Leases: created on A, the lease is A's guest's.
check "create web1 on A" xmig_on a create "$W/web1.cfg"
check "web1 ticks on A" wait_for "$(console_log a web1)" "tick 2" 10
check "xmig leases: web1's lease is held on A" lease_is web1 held "^web1 *127.0.0.2 *held *a domain web1"
check "its record in cluster_dir names A" grep -q '"host": *"127.0.0.2"' "$CL/domains/$UUID.json"

# The same domain (same UUID) on B: refused by the lease, with the holder.
out=$(xmig_on b create "$W/web1.cfg" 2>&1); rc=$?
check "create of the same UUID on B fails (rc $rc)" [ $rc -ne 0 ]
check "B says the lease is held, and by whom ($out)" \
    sh -c "echo \"\$0\" | grep -q \"lease is held elsewhere (a domain web1\"" "$out"
DOM=web1
check "web1 runs exactly once" [ "$(copies)" = 1 ]

# Two creates of a new domain at once, on B and C: exactly one runs.
domain_conf "$W/dup.cfg" dup 16 0 50
echo 'uuid = "6c1f9a52-6d0b-4b7e-9a55-2b2f3f0e1a02"' >> "$W/dup.cfg"
xmig_on b create "$W/dup.cfg" > "$W/dup.b" 2>&1 &
pb=$!
xmig_on c create "$W/dup.cfg" > "$W/dup.c" 2>&1 &
pc=$!
wait $pb; rb=$?
wait $pc; rc=$?
check "of two simultaneous creates exactly one succeeds (B $rb, C $rc)" \
    [ $(( (rb == 0) + (rc == 0) )) -eq 1 ]
DOM=dup
check "dup runs exactly once" [ "$(copies)" = 1 ]
check "dup's lease is held" lease_is dup held
if [ $rb -eq 0 ]; then xmig_on b destroy dup; else xmig_on c destroy dup; fi
check "destroy releases dup's lease" lease_is 6c1f9a52-6d0b-4b7e-9a55-2b2f3f0e1a02 free
check "destroy drops dup's record" [ ! -e "$CL/domains/6c1f9a52-6d0b-4b7e-9a55-2b2f3f0e1a02.json" ]

# -- 3. A migration moves the lease with the domain.
check "migrate web1 A -> B" xmig_on a migrate -q web1 127.0.0.3
check "web1's lease is now held on B" lease_is web1 held "^web1 *127.0.0.3 *held *b domain web1"
check "web1 ticks on B" wait_for "$(console_log b web1)" "tick" 10
check "migrate web1 B -> A" xmig_on b migrate -q -l web1 127.0.0.2
check "web1's lease is held on A again" lease_is web1 held "^web1 *127.0.0.2 *held *a domain web1"
DOM=web1
check "web1 runs exactly once after two moves" [ "$(copies)" = 1 ]

# Until the point of no return the suspended source keeps the lease: an
# offline move slowed to 40 Mbit/s is looked at mid-stream.
domain_conf "$W/mv1.cfg" mv1 24 0 50
echo 'uuid = "6c1f9a52-6d0b-4b7e-9a55-2b2f3f0e1a04"' >> "$W/mv1.cfg"
check "create mv1 on A" xmig_on a create "$W/mv1.cfg"
xmig_on a migrate -q -r 40 mv1 127.0.0.3 > "$W/mv1.out" 2>&1 &
mpid=$!
st=
for i in $(seq 1 60); do
	st=$(dom_state a mv1)
	case $st in *s*) break;; esac
	sleep 0.05
done
check "mid-stream, mv1 is suspended on A ($st)" sh -c "case '$st' in *s*) exit 0;; esac; exit 1"
check "mid-stream, its lease is still held by A" lease_is mv1 held "^mv1 *127.0.0.2 *held *a domain mv1"
wait $mpid
check "the slowed move ends (rc $?)" grep -q "mv1 migrated to 127.0.0.3" "$W/mv1.out"
check "after it, B holds mv1's lease" lease_is mv1 held "^mv1 *127.0.0.3 *held *b domain mv1"
xmig_on b destroy mv1 >/dev/null

# -- 4. Refused: the source answers.
out=$(xmig_on c migrate --force --source-is-off web1 127.0.0.4 2>&1); rc=$?
check "force while A answers exits 1 (rc $rc)" [ $rc -eq 1 ]
check "it says A answers ($out)" sh -c "echo \"\$0\" | grep -q '127.0.0.2 answers on port'" "$out"
out=$(xmig_on c migrate --force --source-is-off web1 127.0.0.3 2>&1); rc=$?
check "force asked of B from C: B judges, and refuses too (rc $rc)" [ $rc -eq 1 ]
check "B's reason comes back to C's xmig ($out)" sh -c "echo \"\$0\" | grep -q '127.0.0.2 answers on port'" "$out"
check "--from without --force is a usage error" sh -c "'$XMIG' --config '$W/c/relocd.conf' migrate --from 127.0.0.2 web1 127.0.0.4; [ \$? -eq 2 ]"

# -- 5. The partition: A's relocd dies, web1's guest goes on running.
kill_relocd() {
	local pid kids
	pid=$(cat "$W/$1/relocd.pid")
	kids=$(pgrep -P "$pid")
	kill -9 "$pid" $kids 2>/dev/null
	rm -f "$W/$1/relocd.pid"
	sleep 0.2
}
# db1 lives on A too: after A's death, B and C race to force it.
domain_conf "$W/db1.cfg" db1 16 0 50
echo 'uuid = "6c1f9a52-6d0b-4b7e-9a55-2b2f3f0e1a03"' >> "$W/db1.cfg"
check "create db1 on A" xmig_on a create "$W/db1.cfg"
gpid=$(xmig_on a list | awk '$1 == "web1" { print $2 }')
gpid=$(cut -d' ' -f1 "$W/a/state/sim/dom/$gpid/pid")
kill_relocd a
check "web1's guest process still runs on A ($gpid)" kill -0 "$gpid"
out=$(xmig_on c migrate --force web1 127.0.0.4 2>&1); rc=$?
check "force without fence proof exits 1 (rc $rc)" [ $rc -eq 1 ]
check "it asks for fence_command or --source-is-off ($out)" \
    sh -c "echo \"\$0\" | grep -q 'no proof that 127.0.0.2 is off: set fence_command'" "$out"
out=$(xmig_on c migrate --force --source-is-off web1 127.0.0.4 2>&1); rc=$?
check "force with a wrong --source-is-off exits 1: the lease (rc $rc)" [ $rc -eq 1 ]
check "it names the lease's holder ($out)" \
    sh -c "echo \"\$0\" | grep -q \"web1's lease is held (a domain web1\"" "$out"
check "nothing of web1 on C" [ -z "$(dom_state c web1)" ]
check "web1 still ticks on A, its lease held" lease_is web1 held "a domain web1"

# -- 6. The real death: A's guests die too.  A fence agent that proves it.
cat > "$W/fence.sh" <<EOF
#!/bin/sh
# test fence agent: \$1 is the victim; succeed only if all its guests and
# its relocd are gone
[ "\$1" = 127.0.0.2 ] || { echo "unknown host \$1" >&2; exit 2; }
# a fence device slower than the relaying host's io_timeout
[ -f "$W/fence.slow" ] && sleep 4
for f in "$W"/a/state/sim/dom/*/pid; do
	[ -f "\$f" ] || continue
	p=\$(cut -d' ' -f1 "\$f")
	# a zombie is dead: nobody may reap it here
	st=\$(sed 's/.*) //' /proc/\$p/stat 2>/dev/null | cut -d' ' -f1)
	[ -n "\$st" ] && [ "\$st" != Z ] && exit 1
done
exit 0
EOF
chmod 755 "$W/fence.sh"
conf_set c fence_command "\"$W/fence.sh %h\""
kill -HUP "$(cat "$W/c/relocd.pid")"
sleep 0.5
out=$(xmig_on c migrate --force web1 127.0.0.4 2>&1); rc=$?
check "force while A's guest lives: the fence agent says no (rc $rc)" [ $rc -eq 1 ]
check "it gives the fence result ($out)" sh -c "echo \"\$0\" | grep -q \"fence_command '$W/fence.sh 127.0.0.2' exited 1: 127.0.0.2 is not known to be off\"" "$out"
for f in "$W"/a/state/sim/dom/*/pid; do kill -9 "$(cut -d' ' -f1 "$f")"; done
sleep 0.2
check "web1's lease is free once A's guest is dead" lease_is web1 free
N_DEAD=$(disk_counter)
check "the dead guest's disk counter is past 0 (${N_DEAD:-none})" [ "${N_DEAD:-0}" -gt 0 ]
# Run from B (any live host): C, the host that starts it, judges.  C's
# fence agent takes 4 s, longer than B's io_timeout (2): B waits for C's
# verdict all the same, not just io_timeout.
conf_set b io_timeout 2
kill -HUP "$(cat "$W/b/relocd.pid")"
touch "$W/fence.slow"
sleep 0.5
out=$(xmig_on b migrate --force web1 127.0.0.4 2>&1); rc=$?
sed 's/^/    | /' <<< "$out"
rm -f "$W/fence.slow"
conf_set b io_timeout 10
kill -HUP "$(cat "$W/b/relocd.pid")"
check "force after the death, asked from B, starts web1 on C (rc $rc)" [ $rc -eq 0 ]
check "it says it was a cold start" sh -c "echo \"\$0\" | grep -q 'cold start'" "$out"
check "it gives the fence result" sh -c "echo \"\$0\" | grep -q \"fence: fence_command '.*fence.sh 127.0.0.2' exited 0\"" "$out"
check "web1 boots on C" wait_for "$(console_log c web1)" "tick 2" 10
check "on C it found the dead copy's last disk write (counter $N_DEAD)" \
    grep -q "disk counter $N_DEAD at boot" "$(console_log c web1)"
check "and goes on writing the same disk ($(disk_counter) > $N_DEAD)" \
    [ "$(disk_counter)" -gt "$N_DEAD" ]
check "web1's lease is held on C" lease_is web1 held "^web1 *127.0.0.4 *held *c domain web1"
check "C's log records the forced restart and who asked" grep -q "FORCED restart of web1 ($UUID) from 127.0.0.2 .*asked by 127.0.0.3 for uid [0-9]* pid [0-9]* on 127.0.0.3; fence: fence_command" "$W/c/relocd.log"
check "xmig jobs on C shows the forced restart, by whom, and the fence" \
    sh -c "XMIG_CONFIG='$W/c/relocd.conf' '$XMIG' jobs | grep -q 'forced *web1 *127.0.0.2 *done *ended: forced restart by 127.0.0.3.* for uid [0-9]* pid [0-9]* on 127.0.0.3, a cold start as id [0-9]*; fence: fence_command'"
check "a tombstone for A" grep -q '"from": *"127.0.0.2"' "$CL/tombstones/$UUID.json"
out=$(xmig_on b migrate --force --source-is-off web1 127.0.0.3 2>&1); rc=$?
check "a second force (from B) is refused: the record names C, which answers (rc $rc)" \
    sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q '127.0.0.4 answers'" "$out"

# Two survivors force db1 at once, each for itself: the lease lets one.
conf_set b fence_command "\"$W/fence.sh %h\""
kill -HUP "$(cat "$W/b/relocd.pid")"
sleep 0.5
xmig_on b migrate --force db1 127.0.0.3 > "$W/race.b" 2>&1 &
pb=$!
xmig_on c migrate --force db1 127.0.0.4 > "$W/race.c" 2>&1 &
pc=$!
wait $pb; rb=$?
wait $pc; rc=$?
sed 's/^/    | B: /' "$W/race.b"; sed 's/^/    | C: /' "$W/race.c"
check "of two simultaneous forced restarts of db1 exactly one succeeds (B $rb, C $rc)" \
    [ $(( (rb == 0) + (rc == 0) )) -eq 1 ]
DOM=db1
check "db1 runs exactly once" [ "$(copies)" = 1 ]
check "the loser names the lease or the record" \
    sh -c "cat '$W/race.b' '$W/race.c' | grep -Eq \"lease is held|answers on port|record says it runs\""

# -- 7. A comes back: its stale copy goes, maintenance stays on, and
# xendomains' autostart of web1 there is moved aside (not of others).
mkdir -p "$W/a/auto"
cp "$W/web1.cfg" "$W/a/auto/web1"
printf 'name = "keepme"\nmemory = 16\n' > "$W/a/auto/keepme"
printf 'this is not = = an xl config\n' > "$W/a/auto/junk"
conf_set a autostart_dir "\"$W/a/auto\""
start_host a || exit 1
check "A's log names the forced restart" wait_for "$W/a/relocd.log" "web1 .* was restarted on 127.0.0.4" 5
check "A has no copy of web1" [ -z "$(dom_state a web1)" ]
check "nor of db1" [ -z "$(dom_state a db1)" ]
check "A's log says it destroyed the stale copies" grep -q "destroyed the stale .* copy of db1" "$W/a/relocd.log"
check "A moved web1's autostart aside" sh -c "[ ! -e '$W/a/auto/web1' ] &&
    [ -f '$W/a/auto/.relocd-forced-away/web1' ]"
check "and said so" grep -q "web1: autostart disabled, it runs on 127.0.0.4 now" "$W/a/relocd.log"
check "the other autostart entries are left alone" sh -c "[ -f '$W/a/auto/keepme' ] && [ -f '$W/a/auto/junk' ]"
check "A is in maintenance" sh -c "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' maintenance | grep -q '^maintenance on'"
DOM=web1
check "web1 runs exactly once, on C" [ "$(copies)" = 1 ] 
check "web1 still ticks on C" wait_for "$(console_log c web1)" "tick 20" 10
out=$(xmig_on c migrate -q web1 127.0.0.2 2>&1); rc=$?
check "A refuses web1 while in maintenance (rc $rc)" [ $rc -eq 1 ]
check "maintenance off on A" xmig_on a maintenance off
check "the tombstone is cleared" [ ! -e "$CL/tombstones/$UUID.json" ]
check "web1 can move back to A" xmig_on c migrate -q web1 127.0.0.2
check "web1's lease is held on A" lease_is web1 held "^web1 *127.0.0.2 *held *a domain web1"
check "web1 runs exactly once at the end" [ "$(copies)" = 1 ]

# -- 8. Without cluster_dir: --force --config FILE --from SRC, unguarded.
for h in a b c; do stop_host $h; done
kill_guests
conf_host b 127.0.0.3 hostb
conf_host c 127.0.0.4 hostc
start_host b || exit 1
start_host c || exit 1
domain_conf "$W/nc1.cfg" nc1 16 0 50
check "create nc1 on B (no cluster_dir)" xmig_on b create "$W/nc1.cfg"
out=$(xmig_on c migrate --force nc1 127.0.0.4 2>&1); rc=$?
check "without cluster_dir, --force alone is refused (rc $rc)" [ $rc -eq 1 ]
check "it says there is no cluster_dir ($out)" sh -c "echo \"\$0\" | grep -q 'no cluster_dir in'" "$out"
xmig_on c migrate --force --config "$W/nc1.cfg" nc1 127.0.0.4 >/dev/null 2>&1
check "--config without --from is a usage error" [ $? -eq 2 ]
out=$(xmig_on c migrate --force --source-is-off --config "$W/nc1.cfg" --from 127.0.0.3 nc1 127.0.0.4 2>&1); rc=$?
check "--config while B answers is refused (rc $rc)" \
    sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q '127.0.0.3 answers'" "$out"
out=$(xmig_on b migrate --force --source-is-off --config "$W/nc1.cfg" --from 127.0.0.2 nc1 127.0.0.4 2>&1); rc=$?
check "C refuses a --config forced restart asked by a peer (rc $rc)" \
    sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q \"is for this host's own operator\"" "$out"
check "and started nothing" [ -z "$(dom_state c nc1)" ]
kill_relocd b
for f in "$W"/b/state/sim/dom/*/pid; do kill -9 "$(cut -d' ' -f1 "$f")"; done
out=$(xmig_on c migrate --force --source-is-off --config "$W/nc1.cfg" --from 127.0.0.3 nc1 127.0.0.4 2>&1); rc=$?
sed 's/^/    | /' <<< "$out"
check "after B's death --config starts nc1 on C (rc $rc)" [ $rc -eq 0 ]
check "it says that nothing but the fence guards it" sh -c "echo \"\$0\" | grep -q 'nothing but the fence'" "$out"
check "nc1 boots on C" wait_for "$(console_log c nc1)" "tick 2" 10

finish
