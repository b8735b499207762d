#!/bin/bash
# xmig against a relocd that is not running, and against a destination
# where none runs: clear errors, exit 1, nothing touched.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
xmig_on a list > "$W/out1" 2>&1
rc=$?
check "list without relocd exits 1 (got $rc)" [ $rc -eq 1 ]
check "message names the socket and asks if relocd runs" grep -q "cannot reach relocd at $W/a/control.sock.*is relocd running" "$W/out1"
xmig_on a migrate web1 127.0.0.3 > "$W/out2" 2>&1
rc=$?
check "migrate without relocd exits 1 (got $rc)" [ $rc -eq 1 ]

start_host a || exit 1
domain_conf "$W/web1.cfg" web1 16 100 100
xmig_on a create "$W/web1.cfg" >/dev/null || fail "create"
xmig_on a migrate -l web1 127.0.0.3 > "$W/out3" 2>&1
rc=$?
sed 's/^/    | /' "$W/out3"
check "migrate to a host without relocd exits 1 (got $rc)" [ $rc -eq 1 ]
check "message says the connection was refused" grep -q "Connection refused (is relocd running there?)" "$W/out3"
check "web1 still runs at A" [ "$(dom_state a web1)" = "r-----" ]

xmig_on a migrate web1 > "$W/out4" 2>&1
check "missing host argument is a usage error" [ $? -eq 2 ]
xmig_on a migrate -p 99999 web1 127.0.0.3 > "$W/out5" 2>&1
check "bad port is a usage error" [ $? -eq 2 ]
xmig_on a migrate nosuch 127.0.0.3 > "$W/out6" 2>&1
rc=$?
check "unknown domain exits 1" [ $rc -eq 1 ]
check "unknown domain is named" grep -q "domain 'nosuch' does not exist" "$W/out6"
xmig_on a bogus > /dev/null 2>&1
check "unknown command exits 2" [ $? -eq 2 ]
xmig_on a destroy web1 >/dev/null
finish
