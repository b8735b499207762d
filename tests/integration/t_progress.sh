#!/bin/bash
# xmig migrate's progress: into a file, one plain line per round and every
# few seconds of a long one, with the percent advancing, the rate, the
# dirty rate while live, the ETA, and each round's end at 100%; the same
# under the running job in xmig jobs, from another terminal; on a
# terminal, one line redrawn in place; with -q, only the result.  xmig
# jobs -H reads another host's journal over mutual TLS.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || finish
start_host b || finish
domain_conf "$W/big.cfg" big 256 2000 50
check "create big on A" xmig_on a create "$W/big.cfg"
check "big ticks on A" wait_for "$(console_log a big)" "tick 2" 10

# 1. Into a file: 256 MiB at 120 Mbit/s, about 18 s of round 1; xmig
# jobs, from another terminal, shows the same figures meanwhile.
xmig_on a migrate -l -r 120 big 127.0.0.3 > "$W/plain.out" 2>&1 &
MIG=$!
jobs_line() {
	xmig_on a jobs > "$W/jobs.out" 2>&1 &&
	    grep -A1 ' running' "$W/jobs.out" | grep -E "$1" > "$W/jobs.line"
}
for _ in $(seq 1 100); do
	jobs_line '^  round 1: +[0-9]+% of 256.0 MiB, [1-9]' && break
	sleep 0.1
done
sed 's/^/    | /' "$W/jobs.out"
check "xmig jobs shows the running migration's round 1" \
    jobs_line '^  round 1: +[0-9]+% of 256.0 MiB, [1-9][0-9.]* MiB/s.*, ETA [0-9]+ s, [0-9.]+ MiB sent$'
p1=$(sed 's/.*: *\([0-9]*\)% .*/\1/' "$W/jobs.line")
sleep 2.5
jobs_line '^  round' && p2=$(sed 's/^  round \([0-9]*\): *\([0-9]*\)% .*/\1 \2/' "$W/jobs.line")
check "and its figures advance ($p1% then round/percent ${p2:-none})" \
    sh -c "[ -n '$p2' ] && { [ \"\${0%% *}\" -gt 1 ] || [ \"\${0##* }\" -gt '$p1' ]; }" "$p2"
wait $MIG
rc=$?
sed 's/^/    | /' "$W/plain.out"
check "the migration succeeds (exit $rc)" [ $rc -eq 0 ]
r1=$(grep -c '^  round 1: ' "$W/plain.out")
check "round 1 is shown more than once while it runs ($r1 lines)" \
    [ "$r1" -ge 3 ]
check "its percent advances, ending at 100%" sh -c "
    grep '^  round 1: ' '$W/plain.out' | sed 's/.*: *\([0-9]*\)% .*/\1/' |
    awk 'NR > 1 && \$1 < p { exit 1 } { p = \$1 } END { exit p != 100 }'"
check "the lines while it runs have a rate and an ETA in seconds" \
    grep -Eq '^  round 1: +[0-9]+% of 256.0 MiB, [1-9][0-9.]* MiB/s.*, ETA [0-9]+ s$' "$W/plain.out"
check "the ETA of round 1 falls as it goes" sh -c "
    grep '^  round 1: .*ETA' '$W/plain.out' | sed 's/.*ETA \([0-9]*\) s/\1/' |
    awk 'NR == 1 { f = \$1 } { l = \$1 } END { exit !(l < f) }'"
check "the dirty rate is shown while live" \
    grep -Eq 'dirty [1-9][0-9]* pages/s' "$W/plain.out"
check "the last round is the paused one, at 100%" sh -c "
    grep '^  round ' '$W/plain.out' | tail -n 1 | grep -q '(domain paused): 100%'"
check "no terminal control codes in a file" \
    sh -c "! grep -q $'\r' '$W/plain.out'"
assert_only_on b a big
xmig_on a jobs > "$W/jobs.out" 2>&1
check "after it, xmig jobs shows no progress" \
    sh -c "! grep -q '^  round' '$W/jobs.out'"
# A helper that died leaves its progress file; the next jobs drops it.
id=$(ls "$W/a/state/journal" | sed -n 's/\.json$//p' | head -n 1)
echo '{"round":1,"percent":5}' > "$W/a/state/journal/$id.progress"
xmig_on a jobs > "$W/jobs.out" 2>&1
check "a stale progress file is not shown, and is removed" sh -c "
    ! grep -q '^  round' '$W/jobs.out' && [ ! -e '$W/a/state/journal/$id.progress' ]"
xmig_on a jobs -H 127.0.0.3 > "$W/jobs-b.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/jobs-b.out"
check "xmig jobs -H shows B's journal over TLS (exit $rc)" sh -c "[ $rc -eq 0 ] &&
    grep -Eq ' destination +big +127.0.0.2 +done +ended' '$W/jobs-b.out'"

# 2. -q: the result alone.
xmig_on b migrate -l -q big 127.0.0.2 > "$W/quiet.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/quiet.out"
check "-q: it succeeds (exit $rc)" [ $rc -eq 0 ]
check "-q: one line, the result" sh -c "
    [ \$(wc -l < '$W/quiet.out') -eq 1 ] && grep -q '^big migrated to 127.0.0.2' '$W/quiet.out'"
assert_only_on a b big

# 3. On a terminal (script(1) gives it one): one line, redrawn.
if command -v script >/dev/null; then
	script -qec "XMIG_CONFIG='$W/a/relocd.conf' '$XMIG' migrate -l -r 400 big 127.0.0.3" \
	    /dev/null > "$W/tty.out" 2>&1
	rc=$?
	check "on a terminal: it succeeds (exit $rc)" [ $rc -eq 0 ]
	n=$(grep -o $'\r\e\[K  round 1: ' "$W/tty.out" | wc -l)
	check "on a terminal: round 1 is redrawn in place ($n times)" \
	    [ "$n" -ge 3 ]
	assert_only_on b a big
else
	say "skip: no script(1) for a terminal"
fi
finish
