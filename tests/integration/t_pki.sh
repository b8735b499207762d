#!/bin/bash
# The operator's PKI helper, as an operator meets it: a staged make
# install holds relocd-pki, its man page and the systemd unit; the
# installed relocd-pki alone makes a CA and two hosts' bundles, with which
# A and B authenticate each other and a domain migrates; after revoke, A
# finds no peer that accepts it, and the domain stays where it runs.
. "$(dirname "$0")/lib.sh"

INST=$W/inst
SRC=$(cd -P "$ROOT/scripts/.." && pwd)
PKITOOL=$SRC/scripts/relocd-pki
if [ "$(cd -P "$BUILD" && pwd)" != "$SRC/build" ]; then
	# Another build tree (the sanitizer run): make install would
	# relink it; the default tree's run covers the install.
	say "skip: make install from another build tree ($BUILD)"
else
	rm -rf "$INST"
	make -s -C "$SRC" install DESTDIR="$INST" PREFIX=/usr \
	    SYSTEMDUNITDIR=/lib/systemd/system >"$W/install.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/install.out"
	check "make install DESTDIR=... succeeds (exit $rc)" [ $rc -eq 0 ]
	for f in usr/sbin/relocd usr/sbin/relocd-pki usr/bin/xmig \
	    usr/share/man/man8/relocd-pki.8 usr/share/man/man8/relocd.8 \
	    lib/systemd/system/relocd.service; do
		check "installed: /$f" [ -s "$INST/$f" ]
	done
	check "relocd-pki is executable" [ -x "$INST/usr/sbin/relocd-pki" ]
	PKITOOL=$INST/usr/sbin/relocd-pki
fi

CA=$W/ca
rm -rf "$CA"
check "relocd-pki init" "$PKITOOL" -d "$CA" init -n "t_pki CA"
check "the CA key is its owner's alone" \
    sh -c "[ \"\$(stat -c %a '$CA/private/ca.key')\" = 600 ]"
check "relocd-pki issue hosta" "$PKITOOL" -d "$CA" issue hosta 127.0.0.2
check "relocd-pki issue hostb" "$PKITOOL" -d "$CA" issue hostb 127.0.0.3
out=$("$PKITOOL" -d "$CA" issue hosta 2>&1); rc=$?
check "a second certificate for hosta is refused (exit $rc: $out)" \
    sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q 'revoke it first'" "$out"
out=$("$PKITOOL" -d /etc/relocd-pki-test-ca init 2>&1); rc=$?
check "a CA under /etc is refused (exit $rc: $out)" \
    sh -c "[ $rc -eq 1 ] && echo \"\$0\" | grep -q 'keep the CA off the Xen hosts' &&
    [ ! -e /etc/relocd-pki-test-ca ]" "$out"

# Each host uses its bundle, as installed in /etc/xen/relocd.
for h in a:127.0.0.2 b:127.0.0.3; do
	n=${h%%:*}
	conf_host "$n" "${h#*:}" host"$n"
	conf_bundle "$n" "$CA"
	check "relocd -n accepts host$n's bundle" \
	    "$RELOCD" -n -f "$W/$n/relocd.conf"
done
start_host a || finish
start_host b || finish
domain_conf "$W/web1.cfg" web1 32 200 50
check "create web1 on A" xmig_on a create "$W/web1.cfg"
check "web1 ticks on A" wait_for "$(console_log a web1)" "tick 2" 10
check "live migration A -> B with the helper's certificates" \
    xmig_on a migrate -l web1 127.0.0.3
assert_only_on b a web1

# Revoke A; B takes the new CRL at its next start.
check "relocd-pki revoke hosta" "$PKITOOL" -d "$CA" revoke hosta
check "list shows hosta revoked" \
    sh -c "'$PKITOOL' -d '$CA' list | grep -q '^revoked .*CN=hosta'"
check "B's bundle has the new CRL" \
    cmp -s "$CA/crl.pem" "$CA/hosts/hostb/crl.pem"
stop_host b
start_host b || finish
xmig_on b migrate -l web1 127.0.0.2 > "$W/revoked.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/revoked.out"
check "B will not migrate to revoked A (exit $rc)" [ $rc -eq 1 ]
check "xmig says the certificate is revoked" \
    grep -qi "revoked" "$W/revoked.out"
assert_only_on b a web1
finish
