#!/bin/bash
# xmig tunnel: what stock xl runs for `xl migrate -s "xmig tunnel"`.
# Its stdin/stdout reach B's relocd through A's relocd over mutual TLS:
# B's banner comes back byte for byte, xl's header and config cross and
# are judged by B, and bad requests are refused with a reason.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || exit 1
start_host b || exit 1

BANNER='xl migration receiver ready, send binary domain data.'

# le32 N: N as 4 little-endian bytes (xl writes its header in host order).
le32() {
	local n=$1 i
	for i in 0 8 16 24; do
		printf "\\$(printf '%03o' $(((n >> i) & 255)))"
	done
}
# xl_header JSON: what xl's save_domain_core_writeconfig writes.
xl_header() {
	local clen=$((${#1} + 1))
	printf 'Xen saved domain, xl format\n \0 \r'
	le32 $((0x01020304))
	le32 3		# mandatory: JSON | STREAMv2
	le32 0
	le32 $((clen + 4))
	le32 "$clen"
	printf '%s\0' "$1"
}

# 1. xl's header and config cross; B judges the config (a name that is a
# migration in progress) and refuses; the banner came back first.
json='{"c_info":{"type":"pv","name":"tun1--incoming","uuid":"0c6a4f1e-5d2b-4c3a-9e8f-7a6b5c4d3e2f"},"b_info":{"max_vcpus":1,"max_memkb":32768,"target_memkb":32768}}'
xl_header "$json" | timeout 30 env XMIG_CONFIG="$W/a/relocd.conf" "$XMIG" \
    tunnel 127.0.0.3 xl migrate-receive > "$W/out1" 2> "$W/err1"
rc=$?
check "tunnel ends by itself once both sides closed (not the timeout)" [ $rc -ne 124 ]
check "B's xl banner reaches xl's side byte for byte" \
    [ "$(head -c ${#BANNER} "$W/out1")" = "$BANNER" ]
check "A logs the banner crossing" \
    wait_for "$W/a/relocd.log" "tunnel to 127.0.0.3: the receiver's xl banner crossed" 5
check "A logs xl's save header crossing" \
    wait_for "$W/a/relocd.log" "tunnel to 127.0.0.3: xl save header crossed (flags 0x3" 5
check "A logs xl's config crossing with the domain's name" \
    wait_for "$W/a/relocd.log" "xl's config crossed: domain tun1--incoming" 5
check "B judged the config from xl's header and refused it" \
    wait_for "$W/b/relocd.log" "refused migration: name: domain name 'tun1--incoming' is the name of a migration in progress" 5
check "A logs how the tunnel ended" \
    wait_for "$W/a/relocd.log" "tunnel to 127.0.0.3 closed: [0-9]* bytes from xl" 5

# 2. Not xl migrate-receive: refused before anything is opened.
xmig_on a tunnel 127.0.0.3 ssh somewhere > "$W/out2" 2>&1
rc=$?
sed 's/^/    | /' "$W/out2"
check "a far-end command other than xl is a usage error (exit 2)" [ $rc -eq 2 ]
check "and the message says what the tunnel carries" \
    grep -q "can only run 'xl migrate-receive'" "$W/out2"
xmig_on a tunnel 127.0.0.3 xl migrate-receive --colo > "$W/out3" 2>&1
rc=$?
check "COLO through the tunnel is refused (exit 2)" [ $rc -eq 2 ]
check "naming the option" grep -q "migrate-receive --colo' is not supported" "$W/out3"

# 3. No relocd at the far end: xl gets exit 1 and a reason on stderr.
timeout 30 env XMIG_CONFIG="$W/a/relocd.conf" "$XMIG" tunnel 127.0.0.4 \
    xl migrate-receive < /dev/null > "$W/out4" 2> "$W/err4"
rc=$?
sed 's/^/    | /' "$W/err4"
check "tunnel to a host without relocd exits 1" [ $rc -eq 1 ]
check "saying the domain was not touched" grep -q "tunnel to 127.0.0.4: .*the domain was not touched" "$W/err4"
check "and nothing reached xl's stdin" [ ! -s "$W/out4" ]

finish
