#!/bin/sh
# Run the integration scenarios (all, or those named) and print the
# plain summary line "N passed, N failed".
set -u
cd "$(dirname "$0")"
pass=0
failed=0
failed_names=""
if [ $# -gt 0 ]; then list=$*; else list=$(ls t_*.sh); fi
for t in $list; do
	t=${t%.sh}
	echo "== $t"
	if timeout 300 bash "./$t.sh"; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		failed_names="$failed_names $t"
	fi
done
echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "integration: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
