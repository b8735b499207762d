#!/bin/sh
# Run every Check suite in fork mode; each prints its own summary line
# ("100%: Checks: N, Failures: 0, Errors: 0").  Fail if any suite fails.
set -u
CK_FORK=yes
export CK_FORK
status=0
for t in "$@"; do
	echo "== $(basename "$t")"
	"$t" || status=1
done
exit $status
