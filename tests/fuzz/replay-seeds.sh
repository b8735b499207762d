#!/bin/sh
# Replay each fuzz target's committed seeds (tests/fuzz/corpus/fuzz_NAME)
# through its libFuzzer-free build (build/tests/replay_NAME, from
# tests/fuzz/replay.c).  Fails if a target is missing its seeds or any
# seed crashes or trips a sanitizer.
set -u
status=0
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^replay_//')
	seeds=tests/fuzz/corpus/fuzz_$name
	echo "== replay fuzz_$name"
	if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
		echo "FAIL fuzz_$name: no seeds in $seeds"
		status=1
		continue
	fi
	"$bin" "$seeds" || { echo "FAIL fuzz_$name: a seed crashed"; status=1; }
done
exit $status
