#!/bin/bash
#
# make check-xen: two real Xen 4.17 hosts in QEMU, relocd on the libxl
# backend in each dom0, and a real domain moved between them.
#
#   1. xmig migrate DOM xenb (offline): runs on B under its name, gone
#      from A, heartbeat continuing
#  1c. a guest whose disk exists only on A: xmig check fails on storage,
#      xmig migrate refuses it before any stream byte, it stays on A
#  1e. a guest whose disk is a file image on A only: xmig check
#      --copy-storage passes, xmig migrate --copy-storage DOM xenb moves
#      it (offline), it runs on B only, heartbeat continuing, and B's
#      copy has the image's SHA-256 (only the data sent, holes kept)
#  1f. a guest whose disk is a logical volume on A only (LVM in both
#      dom0s, a volume group on a brd ramdisk): xmig migrate
#      --copy-storage makes it a new LV in B's incoming_volume_group with
#      the same SHA-256; an LV of that name already on B, or a full
#      volume group, is refused up front
#   2. xmig migrate -l DOM xena (live): this Xen has no shadow paging, so
#      relocd refuses a live PV move up front (with XEN=shadow it moves
#      live); a PVH guest is tried live too and must run exactly once
#      whatever happens
#   3. stock xl into relocd: xl migrate -s "xmig tunnel" DOM xenb
#   4. a peer with a certificate from another CA is refused; the domain
#      stays at the source
#   5. the heartbeat on B read from its console log
#
# Nothing is installed on this machine: Debian's packages are fetched
# with apt-get download and unpacked under build/xen (fetch.sh).  The two
# QEMU processes share one private link (a socket netdev on 127.0.3.1);
# each dom0 takes commands on its second serial port (dom0-init).
# Every wait is bounded.  Skips (exit 0, "SKIP: reason") when QEMU or the
# packages cannot be had.
#
# Environment: XEN_DIR (build/xen), XEN_NETPORT (18400), XEN_ACCEL
# (auto|kvm|tcg), XEN_KEEP=1 keeps the hosts' logs' directory listing,
# XEN=shadow boots Debian's hypervisor rebuilt with shadow paging
# (build-xen.sh, cached under build/xen/shadow), XEN_STEPS="3c ..." runs
# only the steps named (scenario.sh's want).  For the experiments on the
# live PVH damage (README): XEN_NIC (e1000; virtio-net-pci has no
# checksum offload behind a socket netdev), XEN_TCG_THREAD (QEMU's
# default; single or multi), XEN_SMP (2 CPUs per host), XEN_CPU (more
# CPU flags under TCG, e.g. -avx,-avx2), XEN_OPTS (more options for
# Xen's command line, after ours: spec-ctrl=no-eager-fpu undoes the one
# we add under TCG).

set -u

tree=$(cd "$(dirname "$0")/../.." && pwd)
XEN=${XEN:-stock}
case $XEN in
stock | shadow) ;;
*) echo "check-xen: XEN=$XEN: stock or shadow"; exit 2 ;;
esac
dir=${XEN_DIR:-$tree/build/xen}
netport=${XEN_NETPORT:-18400}
accel=${XEN_ACCEL:-auto}
nic=${XEN_NIC:-e1000}
smp=${XEN_SMP:-2}
case $nic in
e1000 | virtio-net-pci | rtl8139) ;;
*) echo "check-xen: XEN_NIC=$nic: e1000, virtio-net-pci or rtl8139"; exit 2 ;;
esac
case ${XEN_TCG_THREAD:-} in
'' | single | multi) ;;
*) echo "check-xen: XEN_TCG_THREAD=$XEN_TCG_THREAD: single or multi"; exit 2 ;;
esac
root=$dir/root
W=$dir/run
T0=$(date +%s.%N)
PASS=0
FAIL=0
QPIDS=
declare -A TIMES
declare -A OUTFD

log() { printf '%s\n' "$*" | tee -a "$W/run.log"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
skip() { echo "check-xen: SKIP: $*"; exit 0; }
check() {
	local what=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		log "PASS: $what"
	else
		FAIL=$((FAIL + 1))
		log "FAIL: $what"
	fi
}

cleanup() {
	local p
	for p in $QPIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $QPIDS; do
		wait "$p" 2>/dev/null
	done
	QPIDS=
}
trap cleanup EXIT

# ---- what is needed ----
for c in apt-get dpkg gzip socat openssl awk; do
	command -v $c >/dev/null 2>&1 || skip "$c not found"
done
[ -x "$tree/build/relocd" ] && [ -x "$tree/build/xmig" ] ||
    skip "build relocd and xmig first (make)"
if [ ! -f "$tree/build/relocd-libxl.so" ]; then
	skip "relocd was built without the libxl backend (install libxen-dev:" \
	    "sudo sh scripts/deps.sh, then make)"
fi
mkdir -p "$dir"
echo "check-xen: fetching Debian's Xen, kernel, busybox and QEMU into $dir"
timeout 900 bash "$tree/tests/xen/fetch.sh" "$dir" >"$dir/fetch.log" 2>&1 ||
    skip "cannot fetch the Debian packages (see $dir/fetch.log)"
# cpio too comes unpacked, for a machine that lacks it.
command -v cpio >/dev/null 2>&1 || PATH=$PATH:$root/bin
QEMU=$root/usr/bin/qemu-system-x86_64
export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
"$QEMU" --version >/dev/null 2>&1 || skip "QEMU from Debian does not run here"
unset LD_LIBRARY_PATH

rm -rf "$W"
# cluster_dir of both hosts: this directory, shared over 9p (dom0-init).
mkdir -p "$W" "$W/cluster"
sh "$tree/tests/pki/mkcerts.sh" "$dir/pki" xena 10.99.0.1 &&
    sh "$tree/tests/pki/mkcerts.sh" "$dir/pki" xenb 10.99.0.2 ||
    { echo "check-xen: cannot make the test PKI"; exit 1; }
bash "$tree/tests/xen/mkinitrd.sh" "$dir" "$tree" ||
    { echo "check-xen: cannot build the initramfs"; exit 1; }
kver=$(ls "$root/lib/modules" | head -n 1)
hvdeb=$(ls "$dir"/debs | sed -n 's/^xen-hypervisor-\(.*\)_amd64.deb/xen-hypervisor-\1/p')
if [ "$XEN" = shadow ]; then
	# Built once per machine; the build's packages come from deps.sh.
	sh "$tree/scripts/deps.sh" xenbuild ||
	    { echo "check-xen: XEN=shadow: cannot install the build's packages"; exit 1; }
	tx=$(now)
	hv=$(bash "$tree/tests/xen/build-xen.sh" "$dir") ||
	    { echo "check-xen: XEN=shadow: the hypervisor's build failed"; exit 1; }
	TIMES[xenbuild]=$(since "$tx")
	hvname="Xen $(basename "$(dirname "$hv")") rebuilt with CONFIG_SHADOW_PAGING=y"
	hvname="$hvname (built in $(cat "$(dirname "$hv")/build-seconds") s, cached at $hv)"
else
	hv=$root/boot/xen-4.17-amd64.gz
	hvname=$hvdeb
fi
zcat "$hv" > "$W/xen"
log "check-xen: $hvname, dom0 tools $hvdeb," \
    "Linux $kver, dom0 initramfs $(du -k "$dir/dom0.cpio.gz" | cut -f1) KiB"

# ---- the hosts ----
# boot NAME ADDR NETSPEC ACCEL
boot() {
	local h=$1 addr=$2 net=$3 acc=$4 cpu xenopts accopt=$4
	if [ "$acc" = kvm ]; then
		# -cpu host: QEMU 7.2 cannot set MSR_ARCH_CAPABILITIES here.
		cpu=host,-arch-capabilities
		# Xen under KVM stopped at a CET shadow-stack instruction:
		# keep CET off in Xen.
		xenopts="cet=no-shstk,no-ibt"
	else
		# rdtscp off: Xen's SVM under QEMU's nested SVM cannot get the
		# length of an intercepted RDTSCP (no NRIP), and a PVH guest
		# then loops on it.
		cpu=max,-smap,-rdtscp${XEN_CPU:+,$XEN_CPU}
		# Eager FPU switching: with Xen's default on AMD, lazy
		# switching (CR0.TS and #NM), a dom0 process under QEMU's
		# TCG resumed with another context's vector registers
		# whenever a PV and a PVH guest shared the host, which broke
		# TLS records (README, "Why live PVH moves failed under
		# TCG"; XEN_OPTS=spec-ctrl=no-eager-fpu brings it back).
		xenopts="spec-ctrl=eager-fpu"
		[ -n "${XEN_TCG_THREAD:-}" ] && accopt=$acc,thread=$XEN_TCG_THREAD
	fi
	rm -f "$W/$h.ctl" "$W/$h.out"
	QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu \
	LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu \
	"$QEMU" -accel "$accopt" -cpu "$cpu" -m 2048 -smp "$smp" \
	    -nodefaults -display none -no-reboot -monitor none \
	    -L "$root/usr/share/seabios" -L "$root/usr/share/qemu" \
	    -serial "file:$W/$h.console" \
	    -chardev "socket,id=ctl,path=$W/$h.ctl,server=on,wait=off" \
	    -serial chardev:ctl \
	    -netdev "socket,id=n0,$net" \
	    -device "$nic,netdev=n0,romfile=,mac=52:54:00:99:00:0${addr##*.}" \
	    -virtfs "local,path=$W/cluster,mount_tag=cluster,security_model=passthrough,id=cluster" \
	    -kernel "$W/xen" \
	    -append "console=com1 com1=115200 dom0_mem=512M,max:512M dom0_max_vcpus=1 guest_loglvl=all $xenopts${XEN_OPTS:+ $XEN_OPTS}" \
	    -initrd "$root/boot/vmlinuz-$kver console=hvc0 earlyprintk=xen panic=1 xhost=$h xaddr=$addr,$dir/dom0.cpio.gz" \
	    >"$W/$h.qemu.log" 2>&1 &
	QPIDS="$QPIDS $!"
	eval "QPID_$h=$!"
}

# attach NAME: connect to the host's agent port; output appends to NAME.out
attach() {
	local h=$1 i fd
	for i in $(seq 1 100); do
		[ -S "$W/$h.ctl" ] && break
		sleep 0.1
	done
	mkfifo "$W/$h.in"
	# One connection both ways: QEMU's chardev takes one client.
	socat "UNIX-CONNECT:$W/$h.ctl" \
	    "PIPE:$W/$h.in!!OPEN:$W/$h.out,creat,append" >/dev/null 2>&1 &
	QPIDS="$QPIDS $!"
	# Read-write: opening a FIFO so never blocks, even if socat died.
	exec {fd}<>"$W/$h.in"
	OUTFD[$h]=$fd
}

# wait_agent NAME SECONDS: until dom0's agent said hello
wait_agent() {
	local h=$1 n=$2 i
	for i in $(seq 1 $((n * 5))); do
		grep -q "^@@AGENT $h" "$W/$h.out" 2>/dev/null && return 0
		eval "kill -0 \$QPID_$h" 2>/dev/null || return 1
		grep -q 'KVM internal error' "$W/$h.qemu.log" && return 1
		sleep 0.2
	done
	return 1
}

# on NAME SECONDS COMMAND: run COMMAND in NAME's dom0; its output on
# stdout (and in run.log), its status returned.  124 on timeout.
on() {
	local h=$1 n=$2 id rc i
	shift 2
	# Unique without a counter: command substitutions are subshells.
	id=$(date +%s%N)$RANDOM
	printf '%s %s\n' "$id" "$*" >&"${OUTFD[$h]}"
	echo "[$h]# $*" >> "$W/run.log"
	for i in $(seq 1 $((n * 10))); do
		if grep -q "^@@RC $id " "$W/$h.out"; then
			break
		fi
		sleep 0.1
	done
	if ! grep -q "^@@RC $id " "$W/$h.out"; then
		echo "[$h] timed out after $n s: $*" | tee -a "$W/run.log"
		return 124
	fi
	awk -v id="$id" '$0 == "@@BEGIN " id { on = 1; next }
	    $1 == "@@RC" && $2 == id { exit } on' "$W/$h.out" |
	    tee -a "$W/run.log"
	rc=$(awk -v id="$id" '$1 == "@@RC" && $2 == id { print $3; exit }' \
	    "$W/$h.out")
	return "$rc"
}

start_hosts() {
	local acc=$1
	boot xena 10.99.0.1 "listen=127.0.3.1:$netport" "$acc"
	sleep 0.5
	boot xenb 10.99.0.2 "connect=127.0.3.1:$netport" "$acc"
	attach xena
	attach xenb
	wait_agent xena "$2" && wait_agent xenb "$2"
}

tb=$(now)
booted=
if [ "$accel" != tcg ] && [ -w /dev/kvm ]; then
	log "check-xen: booting two Xen hosts under KVM (Xen with cet=no-shstk,no-ibt)"
	if start_hosts kvm 90; then
		booted=kvm
	else
		log "check-xen: KVM did not boot Xen here:" \
		    "$(grep -h -m1 -E 'KVM internal error|error' "$W"/xena.qemu.log 2>/dev/null)" \
		    "$(grep -h -m1 '^Code=' "$W"/xena.qemu.log 2>/dev/null |
		    grep -q '<f3> 48 0f 1e' && echo '(KVM cannot emulate a' \
		    'CET shadow-stack instruction in Xen'"'"'s early boot)')"
		cleanup
		for h in xena xenb; do
			mv "$W/$h.console" "$W/$h.kvm.console" 2>/dev/null
			mv "$W/$h.qemu.log" "$W/$h.kvm.qemu.log" 2>/dev/null
			rm -f "$W/$h.in" "$W/$h.out"
		done
		tb=$(now)
	fi
fi
if [ -z "$booted" ] && [ "$accel" != kvm ]; then
	log "check-xen: booting two Xen hosts under TCG, Xen with spec-ctrl=eager-fpu" \
	    "(thread=${XEN_TCG_THREAD:-default}, $smp CPUs each, NIC $nic${XEN_CPU:+, CPU flags $XEN_CPU}${XEN_OPTS:+, Xen options $XEN_OPTS})"
	start_hosts tcg 300 && booted=tcg
fi
if [ -z "$booted" ]; then
	log "check-xen: the hosts did not boot; last console lines:"
	tail -n 20 "$W/xena.console" "$W/xena.qemu.log" 2>/dev/null
	exit 1
fi
TIMES[boot]=$(since "$tb")
log "check-xen: both dom0s up under $booted in ${TIMES[boot]} s"

. "$tree/tests/xen/scenario.sh"
