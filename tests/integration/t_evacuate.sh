#!/bin/bash
# xmig evacuate: eight domains leave A for B and C, two at a time; one is
# too big for either and is named with each host's reason while the
# other seven move, each exactly once.  Then Ctrl-C during an evacuation
# of B: the running migration finishes, no new one starts, and what was
# not started still runs on B.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta \
    'relocation_peers = [ "127.0.0.3", "127.0.0.4" ]'
conf_host b 127.0.0.3 hostb \
    'relocation_peers = [ "127.0.0.2", "127.0.0.4" ]'
conf_host c 127.0.0.4 hostc
conf_set a sim_memory_mb 4096
conf_set b sim_memory_mb 1536
conf_set c sim_memory_mb 1536
start_host a || exit 1
start_host b || exit 1
start_host c || exit 1

DOMS="e1 e2 e3 e4 e5 e6 e7"
for d in $DOMS; do
	domain_conf "$W/$d.cfg" "$d" 256 10 100
	xmig_on a create "$W/$d.cfg" > /dev/null || fail "create $d"
done
domain_conf "$W/huge.cfg" huge 2000 10 100
xmig_on a create "$W/huge.cfg" > /dev/null || fail "create huge"

# where DOM: the hosts it runs on, and whether anywhere half-migrated.
where() {
	local h out=
	for h in a b c; do
		[ "$(dom_state $h "$1")" = "r-----" ] && out="$out$h"
	done
	echo "$out"
}

xmig_on a evacuate -j 2 > "$W/evac1" 2>&1
rc=$?
sed 's/^/    | /' "$W/evac1"
check "evacuate exits 1: A is not empty (got $rc)" [ $rc -eq 1 ]
check "it turned maintenance on first" \
    sh -c "head -n 1 '$W/evac1' | grep -q '^maintenance on'"
check "A is in maintenance" sh -c "xmig_maint=\$(XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' maintenance); echo \"\$xmig_maint\" | grep -q '^maintenance on'"
for d in $DOMS; do
	check "$d runs exactly once, on B or C ($(where $d))" \
	    sh -c "case '$(where $d)' in b|c) exit 0;; *) exit 1;; esac"
done
check "huge still runs on A only" [ "$(where huge)" = a ]
check "huge is named with each host's reason" sh -c "
    grep '^huge: fits nowhere' '$W/evac1' | grep -q '127.0.0.3: memory: not enough free memory' &&
    grep '^huge: fits nowhere' '$W/evac1' | grep -q '127.0.0.4: memory: not enough free memory'"
check "one line per domain that moved" \
    sh -c "[ \$(grep -c '^e[0-9] migrated to 127.0.0.[34]' '$W/evac1') -eq 7 ]"
check "the summary counts 7 moved, 1 nowhere, and names huge" \
    grep -q '^evacuate: 7 moved, 0 failed, 1 fit nowhere, 0 not started; 1 domain left here: huge' "$W/evac1"
nb=$(grep -c 'migrated to 127.0.0.3' "$W/evac1")
nc=$(grep -c 'migrated to 127.0.0.4' "$W/evac1")
say "spread: $nb to B, $nc to C"
check "both peers took some ($nb, $nc)" [ "$nb" -ge 2 -a "$nc" -ge 2 ]
check "never more than two at a time" awk '
    /: moving to / { n++; if (n > max) max = n }
    /migrated to|refused it for now|failed|not migrated/ { n-- }
    END { exit max > 2 }' "$W/evac1"
check "no half-migrated copy anywhere" sh -c "
    for h in a b c; do
	XMIG_CONFIG=$W/\$h/relocd.conf '$XMIG' list | grep -Eq -- '--(incoming|migratedaway)' && exit 1
    done; exit 0"

# 2. Ctrl-C during an evacuation of B, one at a time.
onb=$(for d in $DOMS; do [ "$(where $d)" = b ] && echo $d; done)
say "on B: $(echo $onb)"
XMIG_CONFIG=$W/b/relocd.conf "$XMIG" evacuate -j 1 > "$W/evac2" 2>&1 &
EV=$!
check "the first move started" wait_for "$W/evac2" ": moving to " 10
kill -INT $EV
wait $EV
rc=$?
sed 's/^/    | /' "$W/evac2"
check "interrupted evacuate exits 1 (got $rc)" [ $rc -eq 1 ]
check "the running migration finished" \
    grep -q '^e[0-9] migrated to 127.0.0.4' "$W/evac2"
check "the rest were not started" grep -q 'not started (interrupted)' "$W/evac2"
moved=$(sed -n 's/^\([a-z0-9]*\) migrated to 127.0.0.4.*/\1/p' "$W/evac2")
for d in $onb; do
	if echo "$moved" | grep -qx "$d"; then
		check "$d moved to C, exactly once" [ "$(where $d)" = c ]
	else
		check "$d still runs on B only" [ "$(where $d)" = b ]
	fi
done

for d in $DOMS huge; do
	for h in a b c; do xmig_on $h destroy "$d" >/dev/null 2>&1; done
done
finish
