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

"$RELOCD" -x >/dev/null 2>&1
check "unknown option is a usage error" [ $? -eq 2 ]
finish
