#!/bin/bash
# Every refusal: a clear message at the client, one log line at the
# refusing relocd, and the domain still running at A, untouched.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || exit 1
start_host b || exit 1
domain_conf "$W/web1.cfg" web1 32 200 50
xmig_on a create "$W/web1.cfg" >/dev/null || fail "create web1"
wait_for "$(console_log a web1)" "tick 2" 10 || fail "web1 ticks"

untouched() {
	local state ticks_before ticks_after
	state=$(dom_state a web1)
	check "web1 still running at A ($1)" [ "$state" = "r-----" ]
	check "nothing of web1 arrived on B ($1)" sh -c "! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -q web1"
	ticks_before=$(last_tick "$(console_log a web1)")
	sleep 0.3
	ticks_after=$(last_tick "$(console_log a web1)")
	check "web1 keeps ticking at A ($1)" [ "${ticks_after:-0}" -gt "${ticks_before:-0}" ]
}

# 1. A TLS client with no certificate.
echo request | timeout 10 openssl s_client -connect 127.0.0.3:$PORT \
    -tls1_3 -CAfile "$PKI/ca.pem" -quiet > "$W/out1" 2>&1
check "no-certificate client gets a TLS alert" grep -q "alert certificate required" "$W/out1"
check "B logs the refusal with its reason" wait_for "$W/b/relocd.log" "refused 127.0.0.1: .*no client certificate" 5
untouched "no certificate"

# 2. A certificate from another CA (A trusts B, B does not trust A).
cat "$PKI/ca.pem" "$PKI/foreign-ca.pem" > "$W/both-ca.pem"
stop_host a
conf_set a tls_ca_file "\"$W/both-ca.pem\""
conf_set a tls_cert_file "\"$PKI/foreign.pem\""
conf_set a tls_key_file "\"$PKI/foreign.key\""
start_host a || exit 1
xmig_on a migrate -l web1 127.0.0.3 > "$W/out2" 2>&1
rc=$?
sed 's/^/    | /' "$W/out2"
check "foreign-CA migrate exits 1" [ $rc -eq 1 ]
check "xmig says B does not trust our certificate" grep -q "not issued by its CA" "$W/out2"
check "B logs subject, fingerprint and reason" grep -q "refused 127.0.0.2: subject .*SHA-256 [0-9A-F:]*: certificate not issued by the cluster CA" "$W/b/relocd.log"
untouched "foreign CA"

# 3. A valid certificate whose names B does not allow.
stop_host a
conf_host a 127.0.0.2 hosta
conf_set b relocation_hosts_allow '[ "hostc" ]'
stop_host b
start_host b || exit 1
start_host a || exit 1
xmig_on a migrate web1 127.0.0.3 > "$W/out3" 2>&1
rc=$?
sed 's/^/    | /' "$W/out3"
check "not-allowed migrate exits 1" [ $rc -eq 1 ]
check "xmig says the certificate is not in B's allow-list" grep -q "not in this host's relocation_hosts_allow" "$W/out3"
check "B logs the names it refused, each once" grep -q "refused 127.0.0.2: subject .*certificate names (hosta, hosta.test, 127.0.0.2) not in relocation_hosts_allow" "$W/b/relocd.log"
untouched "names not allowed"

# 4. A domain of that name already exists on B.
conf_set b relocation_hosts_allow '[ "hosta", "hostb" ]'
stop_host b
start_host b || exit 1
domain_conf "$W/web1b.cfg" web1 16 0 100
xmig_on b create "$W/web1b.cfg" >/dev/null || fail "create web1 on B"
xmig_on a migrate -l web1 127.0.0.3 > "$W/out4" 2>&1
rc=$?
sed 's/^/    | /' "$W/out4"
check "duplicate-name migrate exits 1" [ $rc -eq 1 ]
check "xmig says the name exists on B" grep -q "a domain named 'web1' already exists" "$W/out4"
check "B logs the refusal" grep -q "refused migration: name: a domain named 'web1' already exists" "$W/b/relocd.log"
check "web1 still running at A (duplicate)" [ "$(dom_state a web1)" = "r-----" ]
check "B's own web1 untouched" [ "$(dom_state b web1)" = "r-----" ]
xmig_on b destroy web1 >/dev/null

# 5. B in maintenance.
conf_set b accept_migrations 0
stop_host b
start_host b || exit 1
xmig_on a migrate web1 127.0.0.3 > "$W/out5" 2>&1
rc=$?
sed 's/^/    | /' "$W/out5"
check "maintenance migrate exits 1" [ $rc -eq 1 ]
check "xmig says B is in maintenance" grep -q "accept_migrations = 0" "$W/out5"
check "B logs it" grep -q "refused migration: maintenance: .* is in maintenance" "$W/b/relocd.log"
untouched "maintenance"

# 6. A peer whose address is not allowed, with an address-only list:
#    dropped at accept, before any TLS byte.
conf_set b relocation_hosts_allow '[ "127.0.0.4/32" ]'
conf_set b accept_migrations 1
stop_host b
start_host b || exit 1
xmig_on a migrate web1 127.0.0.3 > "$W/out6" 2>&1
rc=$?
sed 's/^/    | /' "$W/out6"
check "address-refused migrate exits 1" [ $rc -eq 1 ]
check "xmig reports the closed handshake" grep -q "TLS handshake with 127.0.0.3:$PORT failed" "$W/out6"
check "B logs the address refusal" grep -q "refused connection from 127.0.0.2: address not in relocation_hosts_allow" "$W/b/relocd.log"
untouched "address not allowed"

xmig_on a destroy web1 >/dev/null
finish
