#!/bin/bash
# Two commands on one domain at once.  Two migrations of one domain to
# different hosts: one moves it, the other is refused at once with "DOM
# is already migrating to HOST" (exit 1) and touches nothing.  A destroy
# during a migration is refused the same way.  And names too long for
# NAME--migratedaway are refused up front, with the reason, the domain
# running on at the source; one just short enough migrates.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
conf_host c 127.0.0.4 hostc
start_host a || exit 1
start_host b || exit 1
start_host c || exit 1

# Where DOM runs, as "a", "b" or "c"; several letters if more than one.
runs_on() {
	local h out=""
	for h in a b c; do
		[ "$(dom_state $h "$1")" = "r-----" ] && out="$out$h"
	done
	echo "$out"
}

no_leftovers() {
	local h
	for h in a b c; do
		xmig_on $h list | grep -Eq -- '--(incoming|migratedaway)' &&
		    return 1
	done
	return 0
}

# 1. A slow migration to b; a second one to c and a destroy arrive while
# it runs: both refused at once, naming b.
domain_conf "$W/web.cfg" web 64 500 50
check "create web on a" xmig_on a create "$W/web.cfg"
wait_for "$(console_log a web)" "tick 3" 10
xmig_on a migrate -l -r 150 web 127.0.0.3 > "$W/first.out" 2>&1 &
FIRST=$!
PIDS="$PIDS $FIRST"
check "the first migration is streaming" \
    wait_for "$W/a/relocd.log" "migrating web (64 MiB, live) to 127.0.0.3" 10
t0=$SECONDS
xmig_on a migrate -l web 127.0.0.4 > "$W/second.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/second.out"
check "the second migrate exits 1 (got $rc)" [ $rc -eq 1 ]
check "... at once (in $((SECONDS - t0)) s)" [ $((SECONDS - t0)) -le 2 ]
check "... saying web is already migrating to 127.0.0.3" \
    grep -q "web is already migrating to 127.0.0.3" "$W/second.out"
xmig_on a destroy web > "$W/destroy.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/destroy.out"
check "destroy during the migration exits 1 (got $rc)" [ $rc -eq 1 ]
check "... saying web is already migrating to 127.0.0.3" \
    grep -q "web is already migrating to 127.0.0.3" "$W/destroy.out"
check "c never heard of web" sh -c "! grep -q 'web' '$W/c/relocd.log'"
wait $FIRST
rc=$?
sed 's/^/    | /' "$W/first.out"
check "the first migration succeeded (got $rc)" [ $rc -eq 0 ]
check "web runs on b only ($(runs_on web))" [ "$(runs_on web)" = b ]
check "no half-migrated copy anywhere" no_leftovers
check "web's memory is intact" sh -c "! grep -q CORRUPT '$(console_log b web)'"

# 2. Started in the same instant, five times: exactly one moves it each
# time; the other is refused (or, if the winner was already done, finds
# the domain gone); never an exit 3, never two copies.
for i in 1 2 3 4 5; do
	from=$(runs_on web)
	case $from in
	a) x=127.0.0.3 y=127.0.0.4 ;;
	b) x=127.0.0.2 y=127.0.0.4 ;;
	c) x=127.0.0.2 y=127.0.0.3 ;;
	*) fail "round $i: web runs on '$from'"; break ;;
	esac
	xmig_on "$from" migrate -l web $x > "$W/r$i-x.out" 2>&1 &
	px=$!
	xmig_on "$from" migrate -l web $y > "$W/r$i-y.out" 2>&1 &
	py=$!
	wait $px; rx=$?
	wait $py; ry=$?
	sed 's/^/    | x: /' "$W/r$i-x.out"
	sed 's/^/    | y: /' "$W/r$i-y.out"
	check "round $i: one exits 0, the other 1 (got $rx, $ry)" \
	    [ $((rx + ry)) -eq 1 -a $((rx * ry)) -eq 0 ]
	loser=$([ $rx -eq 0 ] && echo "$W/r$i-y.out" || echo "$W/r$i-x.out")
	check "round $i: the loser says why" \
	    grep -Eq "already migrating to|does not exist|no longer here" \
	    "$loser"
	check "round $i: web runs exactly once ($(runs_on web))" \
	    [ "$(runs_on web | wc -c)" -eq 2 ]
	check "round $i: no half-migrated copy" no_leftovers
done
where=$(runs_on web)
check "web's memory is intact after the races" \
    sh -c "! grep -q CORRUPT '$(console_log "$where" web)'"

# 3. Long names: NAME--migratedaway must fit Xen's 63 characters.
long=$(printf 'l%.0s' $(seq 1 55))
ok49=$(printf 'k%.0s' $(seq 1 49))
domain_conf "$W/long.cfg" "$long" 16 100 100
domain_conf "$W/ok49.cfg" "$ok49" 16 100 100
check "create a 55-character domain" xmig_on a create "$W/long.cfg"
check "create a 49-character domain" xmig_on a create "$W/ok49.cfg"
xmig_on a migrate -l "$long" 127.0.0.3 > "$W/long.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/long.out"
check "the 55-character name is refused (exit $rc)" [ $rc -eq 1 ]
check "... with the reason" grep -q "exceed Xen's limit of 63" "$W/long.out"
check "... and it runs on at a" [ "$(dom_state a "$long")" = "r-----" ]
check "... nothing of it reached b" \
    sh -c "! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -q '^l'"
xmig_on a migrate -l "$ok49" 127.0.0.3 > "$W/ok49.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/ok49.out"
check "the 49-character name migrates (exit $rc)" [ $rc -eq 0 ]
check "... and runs on b under its name" \
    [ "$(dom_state b "$ok49")" = "r-----" ]
check "no half-migrated copy" no_leftovers

finish
