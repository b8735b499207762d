#!/bin/bash
# Offline and live migration of a domain that dirties pages: it ends on the
# other host only, under its own name, its heartbeat counter continuing
# without a gap, and the guest itself verifies every page after resume.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || exit 1
start_host b || exit 1

domain_conf "$W/web1.cfg" web1 64 1500 50
check "create web1 on A" xmig_on a create "$W/web1.cfg"
check "web1 ticks on A" wait_for "$(console_log a web1)" "tick 5" 10

# live A -> B
xmig_on a migrate -l web1 127.0.0.3 > "$W/live.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/live.out"
check "live migrate exits 0 (got $rc)" [ $rc -eq 0 ]
assert_only_on b a web1
logb=$(console_log b web1)
check "B's guest verified its memory" wait_for "$logb" "verified [0-9]* pages" 10
check "no memory corruption on B" sh -c "! grep -q CORRUPT '$logb'"
check "ticks continue on B" wait_for "$logb" "tick" 5
# The source copy was renamed before "go"; its log went with it.
lasta=$(last_tick "$(console_log a web1--migratedaway)")
firstb=$(grep -o 'tick [0-9]*' "$logb" | head -n 1 | cut -d' ' -f2)
check "heartbeat continues without a gap (A last $lasta, B first $firstb)" \
    [ -n "$lasta" ] && [ -n "$firstb" ] && [ "$firstb" -eq $((lasta + 1)) ]
check "live migration used pre-copy rounds" grep -q "in [0-9]* round" "$W/live.out"
check "summary names bytes and downtime" grep -q "MiB in .* downtime" "$W/live.out"

# offline B -> A
sleep 0.5
xmig_on b migrate web1 127.0.0.2 > "$W/offline.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/offline.out"
check "offline migrate exits 0 (got $rc)" [ $rc -eq 0 ]
assert_only_on a b web1
loga=$(console_log a web1)
check "A's guest verified its memory" wait_for "$loga" "verified [0-9]* pages" 10
check "no memory corruption on A" sh -c "! grep -q CORRUPT '$loga'"
lastb=$(last_tick "$(console_log b web1--migratedaway)")
check "ticks continue on A" wait_for "$loga" "tick $((lastb + 1))\$" 5
check "offline migration is one round" grep -q "in 1 round," "$W/offline.out"
check "A logged the outgoing migration" grep -q "web1 migrated to 127.0.0.3" "$W/a/relocd.log"
check "B logged the incoming migration" grep -q "domain web1 received and running" "$W/b/relocd.log"

xmig_on a destroy web1
finish
