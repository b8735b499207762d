#!/bin/bash
#
# Run every libFuzzer target in $FUZZ_DIR (default build/fuzz) for a
# bounded time each, starting from its seed corpus in tests/fuzz/corpus/.
#
#	FUZZ_SECONDS=N	seconds per target (default 60)
#	FUZZ_SMOKE=1	CI mode: every seed once (a regression test), then
#			FUZZ_SECONDS (default 10) of fuzzing per target
#	FUZZ_TARGETS	"fuzz_frame fuzz_session": only these
#
# New inputs found go to $FUZZ_DIR/work/TARGET (never into the committed
# seeds); a crash is kept as $FUZZ_DIR/artifacts/TARGET-crash-* and makes
# the run fail.  Prints one line per target: runs, seconds, result.

set -u
cd "$(dirname "$0")/../.."
HERE=tests/fuzz
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
if [ "${FUZZ_SMOKE:-0}" = 1 ]; then
	SECS=${FUZZ_SECONDS:-10}
else
	SECS=${FUZZ_SECONDS:-60}
fi
case $SECS in ''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number" >&2
	exit 2;; esac
TARGETS=${FUZZ_TARGETS:-$(cd "$HERE" && ls fuzz_*.c | sed 's/\.c$//')}
fail=0

for t in $TARGETS; do
	bin=$FUZZ_DIR/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL $t: $bin not built (make fuzz-progs)"
		fail=1
		continue
	fi
	seeds=$HERE/corpus/$t
	work=$FUZZ_DIR/work/$t
	tmp=$FUZZ_DIR/tmp/$t
	art=$FUZZ_DIR/artifacts
	log=$FUZZ_DIR/$t.log
	mkdir -p "$work" "$tmp" "$art" "$seeds"
	# Inputs are capped: sessions carry a small fake stream, configs
	# are a few KiB; the decoders' own caps are tested by the seeds.
	opts=(-max_len=65536 -timeout=20 -rss_limit_mb=2048
	    -artifact_prefix="$art/$t-" -print_final_stats=1)
	: >"$log"
	if [ "${FUZZ_SMOKE:-0}" = 1 ]; then
		if ! TMPDIR=$tmp timeout 300 "$bin" "${opts[@]}" -runs=0 \
		    "$seeds" >>"$log" 2>&1; then
			echo "FAIL $t: a seed input fails; see $log"
			tail -n 30 "$log"
			fail=1
			rm -rf "$tmp"
			continue
		fi
	fi
	TMPDIR=$tmp timeout $((SECS + 120)) "$bin" "${opts[@]}" \
	    -max_total_time="$SECS" "$work" "$seeds" >>"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	if [ $rc -ne 0 ]; then
		echo "FAIL $t: exit $rc after ${runs:-?} runs; see $log"
		grep -m 1 -E 'ERROR|invariant|runtime error' "$log"
		ls "$art"/"$t"-* 2>/dev/null | sed 's/^/  input: /'
		fail=1
	else
		echo "ok   $t: ${runs:-?} runs in $SECS s, no crash," \
		    "$(ls "$work" | wc -l) inputs in the work corpus"
	fi
done
exit $fail
