#!/bin/bash
# Reservations count a migration on its way in once.  b has 256 MiB; a
# slow migration of big (160 MiB) into b is under way, its big--incoming
# already made there, when small (64 MiB) comes: 96 MiB are free, and
# small must be let in (big's reservation is already in b's free memory,
# not a second time on top of it).  A third domain of 64 MiB is then
# refused for want of memory: the accounting still says no when it must.
# (Pacemaker's standby in check-cluster sends a node's domains to one
# host at once; the double count refused the second one there.)
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/tools/faultlib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
conf_set b sim_memory_mb 256
start_host a || exit 1
start_host b || exit 1

domain_conf "$W/big.cfg" big 160 200 50
domain_conf "$W/small.cfg" small 64 0 50
domain_conf "$W/extra.cfg" extra 64 0 50
for d in big small extra; do
	check "create $d on a" xmig_on a create "$W/$d.cfg"
done
wait_for "$(console_log a big)" "tick 2" 10

incoming_on_b() {
	xmig_on b list 2>/dev/null | grep -q '^big--incoming '
}
xmig_on a migrate -l -r 60 big 127.0.0.3 > "$W/big.out" 2>&1 &
BIGPID=$!
ok=0
for _ in $(seq 1 200); do
	incoming_on_b && { ok=1; break; }
	sleep 0.05
done
check "big--incoming exists on b while its stream runs" [ $ok -eq 1 ]
out=$(xmig_on a migrate small 127.0.0.3 2>&1); rc=$?
sed 's/^/    | /' <<< "$out"
check "small (64 MiB) is let in beside big's arrival (exit $rc)" [ $rc -eq 0 ]
check "big was still on its way in then" \
    sh -c "kill -0 $BIGPID 2>/dev/null || grep -q 'big--incoming' '$W/b/relocd.log'"
out=$(xmig_on a migrate extra 127.0.0.3 2>&1); rc=$?
sed 's/^/    | /' <<< "$out"
check "extra (64 MiB) is refused: 32 MiB are left (exit $rc)" [ $rc -eq 1 ]
check "... for want of memory" grep -q "not enough free memory" <<< "$out"
check "... and runs on at a" [ "$(dom_state a extra)" = "r-----" ]
wait $BIGPID
rc=$?
check "big's migration succeeded (exit $rc)" [ $rc -eq 0 ]
check "big runs on b" [ "$(dom_state b big)" = "r-----" ]
check "small runs on b" [ "$(dom_state b small)" = "r-----" ]

finish
