#!/bin/bash
# relocd -n loads a config exactly as a start would: OK, or FILE:LINE.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
out=$("$RELOCD" -n -f "$W/a/relocd.conf" 2>&1)
check "good config: configuration OK (got: $out)" [ "$out" = "configuration OK" ]

cp "$W/a/relocd.conf" "$W/typo.conf"
echo 'relocaton_port = 8004' >> "$W/typo.conf"
line=$(wc -l < "$W/typo.conf")
out=$("$RELOCD" -n -f "$W/typo.conf" 2>&1); rc=$?
check "typo exits 1" [ $rc -eq 1 ]
check "typo reported as FILE:LINE with a suggestion ($out)" sh -c "echo \"\$0\" | grep -q \"^$W/typo.conf:$line: unknown setting 'relocaton_port'.*relocation_port\"" "$out"

cp "$W/a/relocd.conf" "$W/tls.conf"
echo 'tls_min_version = "1.1"' >> "$W/tls.conf"
out=$("$RELOCD" -n -f "$W/tls.conf" 2>&1); rc=$?
check "TLS 1.1 refused ($out)" [ $rc -eq 1 ]
check "TLS 1.1 message has file:line" sh -c "echo \"\$0\" | grep -q '^$W/tls.conf:[0-9]*: tls_min_version'" "$out"

cp "$W/a/relocd.conf" "$W/cert.conf"
sed -i "s|$PKI/hosta.pem|$PKI/hostb.pem|" "$W/cert.conf"
out=$("$RELOCD" -n -f "$W/cert.conf" 2>&1); rc=$?
check "key not matching the certificate refused ($out)" [ $rc -eq 1 ]
check "message says the key does not match" sh -c "echo \"\$0\" | grep -q 'tls_key_file.*does not match the certificate'" "$out"

cp "$PKI/hosta.key" "$W/loose.key"; chmod 644 "$W/loose.key"
cp "$W/a/relocd.conf" "$W/loose.conf"
sed -i "s|$PKI/hosta.key|$W/loose.key|" "$W/loose.conf"
out=$("$RELOCD" -n -f "$W/loose.conf" 2>&1); rc=$?
check "group/world-readable key refused ($out)" [ $rc -eq 1 ]
check "message names the mode" sh -c "echo \"\$0\" | grep -q 'mode 0644'" "$out"

cp "$W/a/relocd.conf" "$W/exp.conf"
sed -i "s|$PKI/hosta\.|$PKI/expired.|g" "$W/exp.conf"
out=$("$RELOCD" -n -f "$W/exp.conf" 2>&1); rc=$?
check "expired own certificate refused ($out)" [ $rc -eq 1 ]
check "message says expired" sh -c "echo \"\$0\" | grep -q 'certificate has expired'" "$out"

out=$("$RELOCD" -n -f "$W/nonexistent.conf" 2>&1); rc=$?
check "missing file refused ($out)" [ $rc -eq 1 ]
check "missing file named" sh -c "echo \"\$0\" | grep -q 'nonexistent.conf'" "$out"

printf 'relocation_port = "abc"\n' > "$W/type.conf"
out=$("$RELOCD" -n -f "$W/type.conf" 2>&1); rc=$?
check "wrong type refused with line 1 ($out)" sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q '^$W/type.conf:1: relocation_port'" "$out"

# A file relocd cannot read: the key and line that name it, the path and
# the system's reason, never OpenSSL's internal string.
# file_refused NAME KEY PATH REASON [wrapper...]: KEY = PATH in a copy of
# A's config, relocd -n run (through the wrapper, if any) must say so.
file_refused() {
	local name=$1 key=$2 path=$3 why=$4 line out rc
	shift 4
	conf_set a "$key" "\"$path\""
	cp "$W/a/relocd.conf" "$W/$name.conf"
	line=$(grep -n "^$key *=" "$W/$name.conf" | cut -d: -f1)
	out=$("$@" "$RELOCD" -n -f "$W/$name.conf" 2>&1); rc=$?
	check "$name: exits 1 ($out)" [ $rc -eq 1 ]
	check "$name: FILE:LINE, key, path and reason" sh -c "[ \"\$0\" = '$W/$name.conf:$line: $key \"$path\": $why' ]" "$out"
	check "$name: no OpenSSL internal string" sh -c "! echo \"\$0\" | grep -q 'error:\\|system lib'" "$out"
	conf_host a 127.0.0.2 hosta
}
file_refused missing-cert tls_cert_file "$W/nosuch.pem" "No such file or directory"
file_refused missing-key tls_key_file "$W/nosuch.key" "No such file or directory"
file_refused missing-ca tls_ca_file "$W/nosuch-ca.pem" "No such file or directory"
file_refused missing-crl tls_crl_file "$W/nosuch-crl.pem" "No such file or directory"
# A path through a regular file, and a directory: unreadable for root too.
file_refused notdir-cert tls_cert_file "$PKI/hosta.pem/host.pem" "Not a directory"
file_refused dir-ca tls_ca_file "$PKI" "Is a directory"
# Permission denied.  Root reads a mode-000 file anyway
# (CAP_DAC_OVERRIDE), so as root relocd -n runs as root without the two
# capabilities that bypass file permissions, which is a root process
# whose reads do fail; as another user the mode alone does it.
cp "$PKI/hosta.pem" "$W/noread.pem"; chmod 000 "$W/noread.pem"
cp "$PKI/hosta.key" "$W/noread.key"; chmod 000 "$W/noread.key"
if [ "$(id -u)" -eq 0 ]; then
	set -- setpriv --bounding-set -dac_override,-dac_read_search
	check "without DAC capabilities root cannot read a mode-000 file" \
	    sh -c "! $* cat '$W/noread.pem' >/dev/null 2>&1"
else
	set -- env
fi
file_refused noread-cert tls_cert_file "$W/noread.pem" "Permission denied" "$@"
file_refused noread-key tls_key_file "$W/noread.key" "Permission denied" "$@"
set --

"$RELOCD" -x >/dev/null 2>&1
check "unknown option is a usage error" [ $? -eq 2 ]
finish
