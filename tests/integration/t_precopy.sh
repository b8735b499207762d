#!/bin/bash
# A 256 MiB domain dirtying 2000 pages/s live-migrates with more than one
# pre-copy round, and the guest finds every page intact afterwards.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || exit 1
start_host b || exit 1

domain_conf "$W/big.cfg" big 256 2000 100
check "create a 256 MiB domain" xmig_on a create "$W/big.cfg"
check "it ticks" wait_for "$(console_log a big)" "tick 3" 10
xmig_on a migrate -l big 127.0.0.3 > "$W/out" 2>&1
rc=$?
sed 's/^/    | /' "$W/out"
check "live migrate exits 0" [ $rc -eq 0 ]
rounds=$(grep -o 'in [0-9]* rounds*' "$W/out" | grep -o '[0-9]*')
check "more than one pre-copy round (saw ${rounds:-none})" [ "${rounds:-0}" -gt 1 ]
assert_only_on b a big
logb=$(console_log b big)
check "guest verified all 65536 pages" wait_for "$logb" "verified 65536 pages" 15
check "no corruption" sh -c "! grep -q CORRUPT '$logb'"
xmig_on b destroy big
finish
