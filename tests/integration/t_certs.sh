#!/bin/bash
# The certificate matrix.  Every bad peer certificate is refused by the
# receiving relocd with its reason in one log line (address, subject,
# SHA-256 fingerprint, reason) and, where the client can know it, in the
# TLS alert the client gets; a destination whose certificate does not
# name HOST is refused by the sender; relocd -n refuses a bad certificate
# of its own with an exact message.  No domain changes on either host.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb "tls_crl_file = \"$PKI/crl.pem\""
start_host a || exit 1
start_host b || exit 1
domain_conf "$W/web1.cfg" web1 32 100 50
xmig_on a create "$W/web1.cfg" >/dev/null || fail "create web1"
wait_for "$(console_log a web1)" "tick 2" 10 || fail "web1 ticks"

untouched() {
	local t0 t1
	check "web1 still running at A ($1)" [ "$(dom_state a web1)" = "r-----" ]
	check "B has no domain at all ($1)" \
	    [ "$(xmig_on b list | awk 'NR > 1' | wc -l)" -eq 0 ]
	t0=$(last_tick "$(console_log a web1)")
	sleep 0.3
	t1=$(last_tick "$(console_log a web1)")
	check "web1 keeps ticking at A ($1)" [ "${t1:-0}" -gt "${t0:-0}" ]
}

fp() {
	openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/^.*=//'
}

# present CASE CERT LOGREASON ALERT: a TLS client from 127.0.0.2 shows
# CERT to B and writes a request; B must refuse it with LOGREASON in its
# log, with the subject and fingerprint; the client must get ALERT.
present() {
	local c=$1 cert=$2 why=$3 alert=$4 n
	n=$(grep -c "refused 127.0.0.2:" "$W/b/relocd.log")
	echo request | timeout 10 openssl s_client -connect 127.0.0.3:$PORT \
	    -bind 127.0.0.2:0 -CAfile "$PKI/ca.pem" -cert "$PKI/$cert.pem" \
	    -key "$PKI/$cert.key" -quiet > "$W/out-$c" 2>&1
	sed 's/^/    | /' "$W/out-$c" | head -n 3
	check "$c: client gets the alert '$alert'" grep -q "$alert" "$W/out-$c"
	wait_for "$W/b/relocd.log" "refused 127.0.0.2: .*$why" 5
	check "$c: B logs the reason '$why'" \
	    grep -q "refused 127.0.0.2: .*$why" "$W/b/relocd.log"
	check "$c: the log line has the subject and SHA-256 fingerprint" \
	    grep -qF "$(openssl x509 -noout -subject -nameopt compat \
	    -in "$PKI/$cert.pem" | sed 's/^subject=//'), SHA-256 $(fp "$PKI/$cert.pem")" \
	    "$W/b/relocd.log"
	check "$c: one log line for one refusal" [ \
	    "$(grep -c "refused 127.0.0.2:" "$W/b/relocd.log")" -eq $((n + 1)) ]
	untouched "$c"
}

# 1. No certificate at all.
echo request | timeout 10 openssl s_client -connect 127.0.0.3:$PORT \
    -bind 127.0.0.2:0 -CAfile "$PKI/ca.pem" -quiet > "$W/out-nocert" 2>&1
check "no certificate: client gets 'certificate required'" \
    grep -q "alert certificate required" "$W/out-nocert"
check "no certificate: B logs it" wait_for "$W/b/relocd.log" \
    "refused 127.0.0.2: subject (no certificate), SHA-256 -: no client certificate" 5
untouched "no certificate"

# 2-7. One defect each.
present foreign foreign "certificate not issued by the cluster CA" \
    "alert unknown ca"
present expired expired "certificate rejected: certificate has expired" \
    "alert certificate expired"
present notyet notyet "certificate rejected: certificate is not yet valid" \
    "alert bad certificate"
present revoked revoked "certificate rejected: certificate revoked" \
    "alert certificate revoked"
present caleaf caleaf "a CA certificate presented as a host certificate" \
    "alert unknown ca"
present nousage nousage "certificate rejected: wrong key usage" \
    "alert unsupported certificate"

# The same CRL does not refuse a good certificate: the revocation check
# is about revoked.pem, not about having a CRL.
echo request | timeout 10 openssl s_client -connect 127.0.0.3:$PORT \
    -bind 127.0.0.2:0 -CAfile "$PKI/ca.pem" -cert "$PKI/hosta.pem" \
    -key "$PKI/hosta.key" -quiet > "$W/out-good" 2>&1
check "hosta's certificate passes B's CRL check (no refusal logged)" \
    sh -c "! grep -q 'refused 127.0.0.2: subject.*CN *= *hosta, SHA-256 $(fp "$PKI/hosta.pem")' '$W/b/relocd.log'"

# 8. Destination name mismatch: B answers on 127.0.0.3 with hostc's
# certificate (hostc, 127.0.0.4).  A must refuse B before sending anything.
stop_host b
conf_host b 127.0.0.3 hostc
nlog=$(wc -l < "$W/b/relocd.log")
start_host b || exit 1
xmig_on a migrate -l web1 127.0.0.3 > "$W/out-mismatch" 2>&1
rc=$?
sed 's/^/    | /' "$W/out-mismatch"
check "name mismatch: migrate exits 1" [ $rc -eq 1 ]
check "name mismatch: xmig names the reason" \
    grep -q "certificate name mismatch" "$W/out-mismatch"
tail -n +$((nlog + 1)) "$W/b/relocd.log" > "$W/b-mismatch.log"
check "name mismatch: B never authenticated A nor served it" \
    sh -c "! grep -Eq '127.0.0.2 authenticated|serves 127.0.0.2' '$W/b-mismatch.log'"
check "name mismatch: B logs that A refused its certificate" \
    grep -q "refused 127.0.0.2: .*the peer refused our certificate" \
    "$W/b-mismatch.log"
untouched "name mismatch"
stop_host b

# 9. relocd -n refuses a bad certificate of its own, with the exact reason.
selfcheck() {
	local c=$1 cert=$2 key=$3 want=$4 out rc
	conf_host self-$c 127.0.0.2 hosta
	conf_set self-$c tls_cert_file "\"$cert\""
	conf_set self-$c tls_key_file "\"$key\""
	out=$("$RELOCD" -n -f "$W/self-$c/relocd.conf" 2>&1); rc=$?
	check "relocd -n, $c: exit 1" [ $rc -eq 1 ]
	check "relocd -n, $c: '$out' names the file and says '$want'" \
	    sh -c "echo \"\$0\" | grep -q \"^$W/self-$c/relocd.conf:[0-9]*: tls_.*_file \\\".*\\\": .*$want\"" "$out"
}
selfcheck expired "$PKI/expired.pem" "$PKI/expired.key" "certificate has expired"
selfcheck notyet "$PKI/notyet.pem" "$PKI/notyet.key" "certificate is not yet valid"
selfcheck caleaf "$PKI/caleaf.pem" "$PKI/caleaf.key" "is a CA certificate, not a host certificate"
selfcheck nousage "$PKI/nousage.pem" "$PKI/nousage.key" "lacks extended key usage serverAuth"
selfcheck keymismatch "$PKI/hosta.pem" "$PKI/hostb.key" "private key does not match the certificate"
cp "$PKI/hosta.key" "$W/group.key"; chmod 640 "$W/group.key"
selfcheck groupkey "$PKI/hosta.pem" "$W/group.key" "accessible by group or others (mode 0640)"
selfcheck foreign "$PKI/foreign.pem" "$PKI/foreign.key" "does not verify against tls_ca_file"

xmig_on a destroy web1 >/dev/null
finish
