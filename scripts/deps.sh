#!/bin/sh
#
# Install the Debian 12 packages that building and testing relocd and xmig
# need, and only those that are missing.  Idempotent: when everything is
# present it prints nothing, runs no apt-get and needs no root.  Otherwise
# it must run as root; it never prompts and never reads stdin.
#
# Usage: sh scripts/deps.sh [bench | fuzz | cluster | xenbuild]
#	bench: only what make bench needs besides the build (its baselines
#	and its plot), so that make check never installs them.
#	fuzz: only what make fuzz needs besides the build (clang, libFuzzer).
#	cluster: only what make check-cluster needs besides the build
#	(Pacemaker, Corosync, ocf-tester).
#	xenbuild: only what make check-xen XEN=shadow needs to build Xen's
#	hypervisor from Debian's source package (tests/xen/build-xen.sh).

set -eu

# The packages, one a line, each with why we need it.
PACKAGES=$(sed 's/#.*//' <<'EOF'
build-essential	# cc, make, libc headers
pkg-config	# the Makefile gets every library's flags from it
libevent-dev	# relocd's event loop (libevent 2.1)
libssl-dev	# TLS (OpenSSL 3.0)
libjson-c-dev	# libxl domain-config JSON, shared by both backends
libseccomp-dev	# the network process's system call filter
libxen-dev	# libxl 4.17 headers: the real backend and its unit tests
		# (only the libraries; Xen itself is never installed here)
check		# the unit test framework (tests/unit)
libsubunit-dev	# check's pkg-config file links -lsubunit
openssl		# the CLI: tests/pki/mkcerts.sh makes the test PKI
socat		# integration tests: raw and TLS clients, cut-the-wire proxies
tmux		# console tests drive xmig in a pseudo-terminal
mandoc		# make man-lint (mandoc -T lint)
iproute2	# ip netns: partition tests in their own network namespaces
procps		# ps, pgrep: tests watch the daemons' processes
EOF
)

# make bench: the transports relocd is compared with, and the plot.
if [ "${1:-}" = bench ]; then
	PACKAGES=$(sed 's/#.*//' <<'EOF'
openssh-server	# the ssh baseline: a throw-away sshd on loopback
openssh-client	# ssh, ssh-keygen
socat		# the socat TLS baseline
gnuplot-nox	# build/bench/bench.png
EOF
)
fi

# make fuzz: clang 14 and its libFuzzer/sanitizer runtimes
# (libclang_rt.fuzzer-x86_64.a is in libclang-rt-14-dev).
if [ "${1:-}" = fuzz ]; then
	PACKAGES=$(sed 's/#.*//' <<'EOF'
clang-14		# -fsanitize=fuzzer,address,undefined
libclang-rt-14-dev	# the libFuzzer and sanitizer runtimes
EOF
)
fi

# make check-cluster: a real Pacemaker + Corosync cluster on this machine
# (tests/cluster/).  Installing starts no daemon here: PID 1 is not systemd
# and policy-rc.d refuses service starts; the test starts its own.
if [ "${1:-}" = cluster ]; then
	PACKAGES=$(sed 's/#.*//' <<'EOF'
pacemaker		# pacemakerd and its daemons (2.1)
corosync		# membership and quorum (3.1, knet)
pacemaker-cli-utils	# cibadmin, crm_resource, crm_attribute, crm_mon
resource-agents		# ocf-tester (and the OCF directory layout)
libxml2-utils		# xmllint: ocf-tester checks the agent's meta-data
iproute2		# ip netns, veth and the bridge between the nodes
util-linux		# unshare, nsenter
EOF
)
fi

# make check-xen XEN=shadow: Xen's hypervisor alone (make -C xen), built
# from Debian's source package; the toolchain itself is build-essential's.
if [ "${1:-}" = xenbuild ]; then
	PACKAGES=$(sed 's/#.*//' <<'EOF'
build-essential	# cc, ld, make
bison		# Xen's Kconfig parser
flex		# Xen's Kconfig lexer
python3		# scripts of Xen's build (symbol tables, headers)
xz-utils	# the .orig and .debian tarballs
curl		# fetching the source package from the Debian mirror
EOF
)
fi

PROG=deps.sh

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "$PROG: dpkg-query not found: this script knows Debian 12 only." >&2
	# shellcheck disable=SC2086
	echo "$PROG: install the equivalents of:" $PACKAGES >&2
	exit 1
fi

missing=
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
	if [ "$status" != "install ok installed" ]; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "$PROG: missing packages:$missing" >&2
	echo "$PROG: run as root to install them: sudo sh scripts/deps.sh" >&2
	exit 1
fi

command -v apt-get >/dev/null 2>&1 || {
	echo "$PROG: apt-get not found; install by hand:$missing" >&2
	exit 1
}

echo "$PROG: installing:$missing"

DEBIAN_FRONTEND=noninteractive
export DEBIAN_FRONTEND

if ! apt-get -q update </dev/null; then
	echo "$PROG: apt-get update failed" >&2
	exit 1
fi
# $missing is a list of package names, split on purpose.
# shellcheck disable=SC2086
if ! apt-get -q -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install $missing </dev/null; then
	echo "$PROG: apt-get install failed for:$missing" >&2
	exit 1
fi

# Check the result rather than trust the exit status.
still=
for p in $missing; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
	[ "$status" = "install ok installed" ] || still="$still $p"
done
if [ -n "$still" ]; then
	echo "$PROG: still missing after install:$still" >&2
	exit 1
fi
exit 0
