#!/bin/sh
#
# mkcerts.sh DIR [NAME IP]
#
# Make a throw-away cluster PKI for the tests, with the openssl command
# only.  No key is ever kept in git: every test run makes its own.
#
#	ca.pem ca.key			the cluster CA
#	hosta hostb hostc		host certificates (NAME.pem, NAME.key):
#					SAN DNS:NAME, DNS:NAME.test, IP:127.0.0.x
#	foreign-ca.pem/.key		a second, unrelated CA
#	foreign.pem/.key		hosta's names, signed by foreign-ca
#	expired.pem/.key		hosta's names, validity entirely past
#	notyet.pem/.key			hosta's names, validity starts in a year
#	revoked.pem/.key, crl.pem	hosta's names, revoked in crl.pem
#	caleaf.pem/.key			hosta's names, but CA:TRUE
#	nousage.pem/.key		hosta's names, extendedKeyUsage
#					emailProtection only
#	other.pem/.key			valid, for "intruder" / 127.0.0.9: a host
#					nobody's allow-list names
#	cadb/				openssl ca databases, config, log
#
# The negative certificates carry hosta's names and address so that each
# has exactly one defect; their subject says which (OU=expired, ...).
#
# With NAME and IP, also make NAME.pem/NAME.key for DNS:NAME,
# DNS:NAME.test, IP:IP.  NAME may not be one of the names above.
#
# Idempotent: only what is missing is made (a certificate is remade when
# its .pem or its .key is missing).  Quiet on success; on failure, says
# which step failed and shows openssl's output.  Takes well under a second
# of CPU.  Keys are EC P-256, mode 0600.

set -eu

PROG=mkcerts.sh

usage() {
	echo "usage: $PROG DIR [NAME IP]" >&2
	exit 2
}

die() {
	echo "$PROG: $*" >&2
	exit 1
}

[ $# -eq 1 ] || [ $# -eq 3 ] || usage
DIR=$1
XNAME=${2-}
XIP=${3-}

if [ -n "$XNAME" ]; then
	case $XNAME in
	*[!A-Za-z0-9.-]* | -* | "") die "bad host name '$XNAME'" ;;
	esac
	case $XNAME in
	ca | crl | foreign | foreign-ca | expired | notyet | revoked | caleaf | \
	    nousage | other | hosta | hostb | hostc)
		die "'$XNAME' is one of the fixed names" ;;
	esac
	case $XIP in
	*[!0-9A-Fa-f.:]* | "") die "bad address '$XIP'" ;;
	esac
fi

command -v openssl >/dev/null 2>&1 ||
    die "openssl not found (run scripts/deps.sh)"

umask 077
mkdir -p "$DIR/cadb" || die "cannot create $DIR/cadb"
cd "$DIR" || die "cannot cd to $DIR"

# Two runs on the same DIR (parallel tests) must not interleave: the
# openssl ca database is not safe for that.  flock(1) is in util-linux,
# which Debian always has; the lock dies with the process.
if command -v flock >/dev/null 2>&1; then
	exec 9>cadb/lock
	flock -w 60 9 || die "$DIR/cadb/lock: still locked after 60 s"
fi

LOG=cadb/openssl.log
STEP=

# run DESCRIPTION COMMAND...: run quietly, explain on failure.
run() {
	STEP=$1
	shift
	if ! "$@" </dev/null >"$LOG" 2>&1; then
		echo "$PROG: $DIR: $STEP failed:" >&2
		echo "  $*" >&2
		sed 's/^/  /' "$LOG" >&2
		exit 1
	fi
}

# An openssl date for "now + $1", in the format openssl ca accepts.
# GNU date is on every Debian; the fixed fallbacks keep the meaning.
when() {
	date -u -d "$1" +%Y%m%d%H%M%SZ 2>/dev/null || echo "$2"
}

have() {
	[ -s "$1.pem" ] && [ -s "$1.key" ]
}

newkey() {
	run "$1: key" openssl genpkey -algorithm EC \
	    -pkeyopt ec_paramgen_curve:P-256 -out "$1.key.tmp"
	chmod 600 "$1.key.tmp"
}

# The one openssl configuration every step uses, so that the system's
# openssl.cnf cannot add or change extensions.  Paths are relative to DIR.
CNF=cadb/openssl.cnf
write_cnf() {
	cat >"$CNF.tmp" <<'EOF'
# Written by tests/pki/mkcerts.sh: test PKI only.
[ req ]
distinguished_name	= req_dn
prompt			= no
[ req_dn ]
CN			= unused

[ ca ]
default_ca		= cluster

[ cluster ]
database		= cadb/index.txt
new_certs_dir		= cadb/newcerts
serial			= cadb/serial
crlnumber		= cadb/crlnumber
certificate		= ca.pem
private_key		= ca.key
default_md		= sha256
default_days		= 825
default_crl_days	= 365
policy			= policy_any
unique_subject		= no
copy_extensions		= none
email_in_dn		= no

[ foreign ]
database		= cadb/foreign-index.txt
new_certs_dir		= cadb/newcerts
serial			= cadb/foreign-serial
certificate		= foreign-ca.pem
private_key		= foreign-ca.key
default_md		= sha256
default_days		= 825
policy			= policy_any
unique_subject		= no
copy_extensions		= none
email_in_dn		= no

[ policy_any ]
organizationName	= optional
organizationalUnitName	= optional
commonName		= supplied

[ v3_ca ]
basicConstraints	= critical, CA:TRUE
keyUsage		= critical, keyCertSign, cRLSign
subjectKeyIdentifier	= hash
authorityKeyIdentifier	= keyid:always

# Host certificates: both ends of a relocd connection present one.
[ leaf ]
basicConstraints	= critical, CA:FALSE
keyUsage		= critical, digitalSignature, keyEncipherment
extendedKeyUsage	= serverAuth, clientAuth
subjectKeyIdentifier	= hash
authorityKeyIdentifier	= keyid
subjectAltName		= $ENV::SAN

[ caleaf ]
basicConstraints	= critical, CA:TRUE
keyUsage		= critical, digitalSignature, keyEncipherment, keyCertSign
extendedKeyUsage	= serverAuth, clientAuth
subjectKeyIdentifier	= hash
authorityKeyIdentifier	= keyid
subjectAltName		= $ENV::SAN

[ nousage ]
basicConstraints	= critical, CA:FALSE
keyUsage		= critical, digitalSignature, keyEncipherment
extendedKeyUsage	= emailProtection
subjectKeyIdentifier	= hash
authorityKeyIdentifier	= keyid
subjectAltName		= $ENV::SAN
EOF
	mv -f "$CNF.tmp" "$CNF"
}

# SAN must be set for every openssl call that loads the config.
SAN=DNS:unused
export SAN

# db NAME: the openssl ca database files for section NAME.
db() {
	mkdir -p cadb/newcerts
	case $1 in
	cluster) idx=cadb/index.txt ser=cadb/serial ;;
	foreign) idx=cadb/foreign-index.txt ser=cadb/foreign-serial ;;
	esac
	[ -f "$idx" ] || : >"$idx"
	[ -f "$idx.attr" ] || echo "unique_subject = no" >"$idx.attr"
	[ -s "$ser" ] || echo 1000 >"$ser"
	[ -s cadb/crlnumber ] || echo 1000 >cadb/crlnumber
}

# mkca BASE SUBJECT SECTION
mkca() {
	have "$1" && return 0
	[ -s "$1.pem" ] && die "$DIR/$1.pem exists without $1.key: cannot" \
	    "sign with it (remove $DIR to start over)"
	newkey "$1"
	run "$1: self-signed certificate" openssl req -config "$CNF" -new \
	    -x509 -key "$1.key.tmp" -subj "$2" -days 3650 -sha256 \
	    -extensions v3_ca -out "$1.pem.tmp"
	# A new CA invalidates its database and everything it signed.
	case $3 in
	cluster)
		rm -f cadb/index.txt* cadb/serial* cadb/crlnumber* crl.pem
		for f in ./*.pem; do
			case $f in
			./ca.pem | ./foreign-ca.pem | ./foreign.pem) ;;
			*) rm -f "$f" ;;
			esac
		done
		;;
	foreign)
		rm -f cadb/foreign-index.txt* cadb/foreign-serial* foreign.pem
		;;
	esac
	mv -f "$1.key.tmp" "$1.key"
	mv -f "$1.pem.tmp" "$1.pem"
}

# mkcert BASE SUBJECT SAN EXTSECTION CASECTION [openssl ca options...]
mkcert() {
	base=$1 subj=$2 san=$3 ext=$4 sect=$5
	shift 5
	have "$base" && return 0
	db "$sect"
	newkey "$base"
	SAN=$san
	run "$base: request" openssl req -config "$CNF" -new \
	    -key "$base.key.tmp" -subj "$subj" -out "cadb/$base.csr"
	run "$base: signing" openssl ca -config "$CNF" -name "$sect" \
	    -batch -notext -extensions "$ext" -in "cadb/$base.csr" \
	    -out "$base.pem.tmp" "$@"
	SAN=DNS:unused
	rm -f "cadb/$base.csr"
	mv -f "$base.key.tmp" "$base.key"
	mv -f "$base.pem.tmp" "$base.pem"
	MADE="$MADE $base"
}

hostsan() {
	echo "DNS:$1, DNS:$1.test, IP:$2"
}

ORG="/O=relocd test cluster"
MADE=

rm -f ./*.tmp
write_cnf

mkca ca "$ORG/CN=relocd test CA" cluster
mkca foreign-ca "/O=relocd foreign test/CN=relocd foreign CA" foreign

mkcert hosta "$ORG/CN=hosta" "$(hostsan hosta 127.0.0.2)" leaf cluster
mkcert hostb "$ORG/CN=hostb" "$(hostsan hostb 127.0.0.3)" leaf cluster
mkcert hostc "$ORG/CN=hostc" "$(hostsan hostc 127.0.0.4)" leaf cluster
mkcert other "$ORG/CN=intruder" "$(hostsan intruder 127.0.0.9)" leaf cluster

A=$(hostsan hosta 127.0.0.2)
mkcert foreign "/O=relocd foreign test/CN=hosta" "$A" leaf foreign
mkcert expired "$ORG/OU=expired/CN=hosta" "$A" leaf cluster \
    -startdate "$(when '60 days ago' 20200101000000Z)" \
    -enddate "$(when '1 day ago' 20200301000000Z)"
mkcert notyet "$ORG/OU=notyet/CN=hosta" "$A" leaf cluster \
    -startdate "$(when '1 year' 20990101000000Z)" \
    -enddate "$(when '2 years' 21000101000000Z)"
mkcert revoked "$ORG/OU=revoked/CN=hosta" "$A" leaf cluster
mkcert caleaf "$ORG/OU=caleaf/CN=hosta" "$A" caleaf cluster
mkcert nousage "$ORG/OU=nousage/CN=hosta" "$A" nousage cluster

if [ -n "$XNAME" ]; then
	mkcert "$XNAME" "$ORG/CN=$XNAME" "$(hostsan "$XNAME" "$XIP")" leaf \
	    cluster
fi

# The CRL: remade when missing or when revoked.pem is new.
case " $MADE " in
*" revoked "*) rm -f crl.pem ;;
esac
if [ ! -s crl.pem ]; then
	db cluster
	serial=$(openssl x509 -noout -serial -in revoked.pem) ||
	    die "revoked.pem: cannot read its serial"
	serial=${serial#serial=}
	if ! grep -q "^R	.*	$serial	" cadb/index.txt; then
		run "revoked: revocation" openssl ca -config "$CNF" \
		    -batch -revoke revoked.pem -crl_reason keyCompromise
	fi
	run "crl.pem" openssl ca -config "$CNF" -batch -gencrl \
	    -out crl.pem.tmp
	mv -f crl.pem.tmp crl.pem
fi

chmod 600 ./*.key
chmod 644 ./*.pem
exit 0
