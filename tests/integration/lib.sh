# Shared by the integration scenarios: sim hosts as real relocd processes on
# loopback addresses, each with its own config, state dir, control socket
# and log.  Every wait is bounded; every process we start is recorded by
# PID and ended by PID on exit.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
RELOCD=$BUILD/relocd
XMIG=$BUILD/xmig
T=$(basename "$0" .sh)
# ITEST_ROOT and ITEST_PORT let several runs share one machine.
W=${ITEST_ROOT:-$BUILD/itest}/$T
PKI=$BUILD/itest/pki
PORT=${ITEST_PORT:-18003}
PIDS=""
FAILS=0
CHECKS=0

rm -rf "$W"
mkdir -p "$W"

# One PKI for the whole run (generated at test time; no keys in git).
if [ ! -f "$PKI/hostc.pem" ]; then
	mkdir -p "$PKI"
	sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" >/dev/null || {
		echo "FAIL $T: cannot generate the test PKI"; exit 1; }
fi

say() { printf '  %s\n' "$*"; }

ok() {
	CHECKS=$((CHECKS + 1))
	say "ok: $*"
}

fail() {
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	printf '  FAIL: %s\n' "$*"
}

# check "description" command...: the command's exit status decides.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# A host config.  conf_host NAME ADDR CERT [extra config lines...]
conf_host() {
	local name=$1 addr=$2 cert=$3
	shift 3
	mkdir -p "$W/$name/state"
	{
		echo "# $T: host $name"
		echo "relocation_address = \"$addr\""
		echo "relocation_port = $PORT"
		echo "relocation_hosts_allow = [ \"hosta\", \"hostb\", \"hostc\" ]"
		echo "tls_ca_file = \"$PKI/ca.pem\""
		echo "tls_cert_file = \"$PKI/$cert.pem\""
		echo "tls_key_file = \"$PKI/$cert.key\""
		echo "control_socket = \"$W/$name/control.sock\""
		echo "state_dir = \"$W/$name/state\""
		echo "backend = \"sim\""
		echo "user = \"nobody\""
		echo "sim_hostname = \"$name\""
		echo "sim_memory_mb = 4096"
		echo "handshake_timeout = 5"
		echo "io_timeout = 10"
		# never this machine's /etc/xen/auto
		echo 'autostart_dir = ""'
		for l in "$@"; do echo "$l"; done
	} > "$W/$name/relocd.conf"
}

# Replace or add one key in a host's config.
conf_set() {
	local name=$1 key=$2 value=$3 f=$W/$1/relocd.conf
	grep -v "^$key *=" "$f" > "$f.new"
	echo "$key = $value" >> "$f.new"
	mv "$f.new" "$f"
}

# conf_bundle NAME CA: NAME uses host$NAME's bundle from relocd-pki's CA,
# as installed in /etc/xen/relocd (CRL included).
conf_bundle() {
	local f
	for f in ca:ca.pem cert:host.pem key:host.key crl:crl.pem; do
		conf_set "$1" "tls_${f%%:*}_file" "\"$2/hosts/host$1/${f#*:}\""
	done
}

start_host() {
	local name=$1 i
	"$RELOCD" -d -v -f "$W/$name/relocd.conf" >>"$W/$name/relocd.log" 2>&1 &
	echo $! > "$W/$name/relocd.pid"
	PIDS="$PIDS $!"
	for i in $(seq 1 100); do
		[ -S "$W/$name/control.sock" ] && return 0
		kill -0 "$(cat "$W/$name/relocd.pid")" 2>/dev/null || break
		sleep 0.05
	done
	echo "relocd $name did not start:"; sed 's/^/    /' "$W/$name/relocd.log"
	return 1
}

stop_host() {
	local name=$1 pid i
	[ -f "$W/$name/relocd.pid" ] || return 0
	pid=$(cat "$W/$name/relocd.pid")
	kill "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$W/$name/relocd.pid"
}

# A host's network processes named NAME (relocd-peer or relocd-ctl),
# children of the daemon.
net_procs() { pgrep -P "$(cat "$W/$1/relocd.pid")" -x "$2"; }

# A host's relocd-priv, the daemon's long-lived root child.
priv_pid() { pgrep -P "$(cat "$W/$1/relocd.pid")" -x relocd-priv; }

xmig_on() {
	local name=$1
	shift
	XMIG_CONFIG="$W/$name/relocd.conf" "$XMIG" "$@"
}

# Guests are processes our relocd started for us: end them by the PIDs the
# sim backend recorded, after the daemons are gone.  The sim writes "PID
# STARTTIME"; a PID whose start time differs was reused: not ours.
kill_guests() {
	local f pid start now
	for f in "$W"/*/state/sim/dom/*/pid; do
		[ -f "$f" ] || continue
		read -r pid start < "$f"
		case $pid in ''|*[!0-9]*) continue;; esac
		now=$(cut -d' ' -f22 /proc/"$pid"/stat 2>/dev/null)
		[ -n "$start" ] && [ "$now" != "$start" ] && continue
		kill -9 "$pid" 2>/dev/null
	done
}

cleanup() {
	local d
	for d in "$W"/*/; do
		[ -f "$d/relocd.pid" ] && stop_host "$(basename "$d")"
	done
	kill_guests
}
trap cleanup EXIT INT TERM

# A sim domain config file.  domain_conf FILE NAME MEM_MB DIRTY_RATE [TICK_MS]
domain_conf() {
	cat > "$1" <<EOC
name = "$2"
memory = $3
vcpus = 1
sim_dirty_rate = $4
sim_tick_ms = ${5:-100}
EOC
}

console_log() { echo "$W/$1/state/console/$2.log"; }

# wait_for FILE PATTERN SECONDS: bounded poll for a line in a file.
wait_for() {
	local f=$1 pat=$2 secs=$3 i
	for i in $(seq 1 $((secs * 20))); do
		grep -q -- "$pat" "$f" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

last_tick() { grep -o 'tick [0-9]*' "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f2; }

# The domain's state on a host from xmig list ("" if absent).
dom_state() {
	xmig_on "$1" list 2>/dev/null | awk -v d="$2" '$1 == d { print $5 }'
}

# Exactly one running copy, on the expected host, none on the other.
assert_only_on() {
	local host=$1 other=$2 dom=$3
	check "$dom runs on $host" [ "$(dom_state "$host" "$dom")" = "r-----" ]
	check "$dom is gone from $other" [ -z "$(dom_state "$other" "$dom")" ]
	check "no half-migrated copies on $other" \
	    sh -c "! XMIG_CONFIG='$W/$other/relocd.conf' '$XMIG' list | grep -Eq -- '--(incoming|migratedaway)'"
	check "no half-migrated copies on $host" \
	    sh -c "! XMIG_CONFIG='$W/$host/relocd.conf' '$XMIG' list | grep -Eq -- '--(incoming|migratedaway)'"
}

finish() {
	if [ "$FAILS" -eq 0 ]; then
		echo "PASS $T ($CHECKS checks)"
		exit 0
	fi
	echo "FAIL $T ($FAILS of $CHECKS checks failed); logs in $W"
	for f in "$W"/*/relocd.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 15 lines)"
		tail -n 15 "$f"
	done
	exit 1
}
