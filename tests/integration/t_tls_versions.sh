#!/bin/bash
# The TLS floor is relocd's own: TLS 1.0 and 1.1 are always refused, 1.2
# only when tls_min_version = "1.2".  Debian's OpenSSL client refuses old
# versions by itself, so the client here runs under a permissive
# OPENSSL_CONF (MinProtocol TLSv1, SECLEVEL 0) and the proof that relocd
# refused is on relocd's side: its log line with the reason, and the
# protocol_version alert the client received from it.
. "$(dirname "$0")/lib.sh"

cat > "$W/permissive.cnf" <<'EOC'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT:@SECLEVEL=0
EOC

conf_host b 127.0.0.3 hostb
start_host b || exit 1

# try NAME VERSIONFLAG: one handshake from 127.0.0.2 with hosta's cert.
try() {
	echo request | OPENSSL_CONF="$W/permissive.cnf" timeout 10 \
	    openssl s_client -connect 127.0.0.3:$PORT -bind 127.0.0.2:0 \
	    "$2" -cipher 'DEFAULT:@SECLEVEL=0' -CAfile "$PKI/ca.pem" \
	    -cert "$PKI/hosta.pem" -key "$PKI/hosta.key" \
	    > "$W/out-$1" 2>&1
}

# refused NAME FLAG: relocd refused it (log + protocol_version alert).
refused() {
	local n
	n=$(grep -c "TLS version not allowed" "$W/b/relocd.log")
	try "$1" "$2"
	check "$1: the client got relocd's protocol_version alert" \
	    grep -q "alert protocol version" "$W/out-$1"
	check "$1: the client did not refuse on its own" \
	    sh -c "! grep -q 'no protocols available' '$W/out-$1'"
	wait_for "$W/b/relocd.log" "TLS version not allowed" 5
	check "$1: relocd logged its refusal with the reason" [ \
	    "$(grep -c "refused 127.0.0.2: .*TLS version not allowed" \
	    "$W/b/relocd.log")" -gt "$n" ]
}

# accepted NAME FLAG VERSION: handshake done at VERSION, and relocd
# authenticated the peer.
accepted() {
	local n
	n=$(grep -c "127.0.0.2 authenticated" "$W/b/relocd.log")
	try "$1" "$2"
	check "$1: negotiated $3" grep -q "Protocol *: *$3\|, $3, " "$W/out-$1"
	wait_for "$W/b/relocd.log" "127.0.0.2 authenticated" 5
	check "$1: relocd authenticated the peer" [ \
	    "$(grep -c "127.0.0.2 authenticated" "$W/b/relocd.log")" -gt "$n" ]
}

say "tls_min_version = \"1.3\" (the default)"
refused tls10 -tls1
refused tls11 -tls1_1
refused tls12 -tls1_2
accepted tls13 -tls1_3 TLSv1.3

stop_host b
conf_set b tls_min_version '"1.2"'
start_host b || exit 1
say "tls_min_version = \"1.2\""
refused tls10-floor12 -tls1
refused tls11-floor12 -tls1_1
accepted tls12-floor12 -tls1_2 TLSv1.2
accepted tls13-floor12 -tls1_3 TLSv1.3

# Never below 1.2: the config itself refuses it.
conf_set b tls_min_version '"1.1"'
out=$("$RELOCD" -n -f "$W/b/relocd.conf" 2>&1); rc=$?
check "tls_min_version = \"1.1\" is a config error ($out)" [ $rc -eq 1 ]

conf_set b tls_min_version '"1.3"'
check "B has no domain after all this" \
    [ "$(xmig_on b list | awk 'NR > 1' | wc -l)" -eq 0 ]
finish
