#!/bin/bash
# SIGHUP re-reads relocd.conf, the certificates, the key and the CRL:
#  1. a CRL that now revokes A: a migration from A already in flight
#     completes; A's next connection is refused, and says why;
#  2. a broken config: B keeps serving with the running one, and the log
#     names FILE:LINE;
#  3. the allow-list: a host taken off it is refused from the next
#     connection, and let in again after the next reload;
#  4. a restart-only key (relocation_port): logged as needing a restart,
#     and B keeps listening where it did.
# The PKI is made with relocd-pki, as an operator would.
. "$(dirname "$0")/lib.sh"

SRC=$(cd -P "$ROOT/scripts/.." && pwd)
PKITOOL=$SRC/scripts/relocd-pki
CA=$W/ca
rm -rf "$CA"
"$PKITOOL" -d "$CA" init >/dev/null &&
    "$PKITOOL" -d "$CA" issue hosta 127.0.0.2 >/dev/null &&
    "$PKITOOL" -d "$CA" issue hostb 127.0.0.3 >/dev/null ||
    { echo "FAIL $T: relocd-pki could not make the PKI"; exit 1; }
for h in a:127.0.0.2 b:127.0.0.3; do
	n=${h%%:*}
	conf_host "$n" "${h#*:}" host"$n"
	conf_bundle "$n" "$CA"
done
start_host a || finish
start_host b || finish
BPID=$(cat "$W/b/relocd.pid")

# reload HOST: SIGHUP, and wait until its log says how it went.
reload() {
	local n
	n=$(grep -c "SIGHUP: reading" "$W/$1/relocd.log")
	kill -HUP "$(cat "$W/$1/relocd.pid")"
	for _ in $(seq 1 100); do
		[ "$(grep -c "SIGHUP: reading" "$W/$1/relocd.log")" -gt "$n" ] &&
		    grep -q "reloaded\|reload failed" <(tail -n 20 "$W/$1/relocd.log") &&
		    return 0
		sleep 0.05
	done
	return 1
}
list_b() { xmig_on a list -H 127.0.0.3 > "$W/list.out" 2>&1; }

domain_conf "$W/web1.cfg" web1 256 2000 50
check "create web1 on A" xmig_on a create "$W/web1.cfg"
check "web1 ticks on A" wait_for "$(console_log a web1)" "tick 2" 10
check "A lists B" list_b

# 1. Revoke A while A migrates web1 to B (rate-limited to ~3 s).
xmig_on a migrate -l -r 100 web1 127.0.0.3 > "$W/mig.out" 2>&1 &
MIG=$!
for _ in $(seq 1 100); do
	grep -qs '"phase":"stream"' "$W/a"/state/journal/*.json && break
	sleep 0.05
done
check "the migration streams" grep -qs '"phase":"stream"' "$W/a"/state/journal/*.json
check "relocd-pki revokes hosta" "$PKITOOL" -d "$CA" revoke hosta
check "B reloads" reload b
check "B says it reloaded" grep -q "reloaded .*CRL .*crl.pem" "$W/b/relocd.log"
wait $MIG
rc=$?
sed 's/^/    | /' "$W/mig.out"
check "the migration in flight completed (exit $rc)" [ $rc -eq 0 ]
assert_only_on b a web1
list_b
rc=$?
sed 's/^/    | /' "$W/list.out"
check "A's next connection is refused (exit $rc)" [ $rc -ne 0 ]
check "B logs why: A's certificate is revoked" \
    grep -q "refused 127.0.0.2: .*certificate revoked" "$W/b/relocd.log"
check "B's relocd is the one that started (no restart)" \
    [ "$(cat "$W/b/relocd.pid")" = "$BPID" ] && kill -0 "$BPID"

# A gets a new certificate; B's CRL still lists only the old one.
check "relocd-pki issues hosta again" "$PKITOOL" -d "$CA" issue hosta 127.0.0.2
cp "$CA/crl.pem" "$CA/hosts/hosta/crl.pem"
check "A reloads with its new certificate" reload a
check "A's new certificate is accepted by B" list_b

# 2. A broken config: the running one stays.
cp "$W/b/relocd.conf" "$W/b/relocd.conf.good"
conf_set b max_migrations nonsense
line=$(grep -n '^max_migrations' "$W/b/relocd.conf" | cut -d: -f1)
check "B reloads the broken file" reload b
check "the log names the file and line" \
    grep -q "reload failed, the running configuration stays: $W/b/relocd.conf:$line: .*max_migrations" "$W/b/relocd.log"
check "B still serves A" list_b
check "B still runs" kill -0 "$BPID"
cp "$W/b/relocd.conf.good" "$W/b/relocd.conf"

# 3. The allow-list, off and on again.
conf_set b relocation_hosts_allow '[ "hostc" ]'
check "B reloads without hosta allowed" reload b
list_b
rc=$?
sed 's/^/    | /' "$W/list.out"
check "A is refused from the next connection (exit $rc)" [ $rc -ne 0 ]
check "B logs: not in relocation_hosts_allow" \
    grep -q "not in relocation_hosts_allow" "$W/b/relocd.log"
conf_set b relocation_hosts_allow '[ "hosta" ]'
check "B reloads with hosta allowed again" reload b
check "A is served again" list_b

# 4. A key that needs a restart.
conf_set b relocation_port $((PORT + 7))
check "B reloads a new relocation_port" reload b
check "the log says it needs a restart" \
    grep -q "relocation_port changed from $PORT to $((PORT + 7)): that needs a restart; still $PORT" "$W/b/relocd.log"
check "B still listens on $PORT" list_b
check "web1 still runs on B, once" [ "$(dom_state b web1)" = "r-----" ]
finish
