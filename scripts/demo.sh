#!/bin/bash
# make demo: two sim hosts on 127.0.0.2 and 127.0.0.3, a domain that dirties
# memory and prints a heartbeat, a live migration there and an offline one
# back.  Everything lives under build/demo and is removed on the next run.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
D=$B/demo
PORT=${DEMO_PORT:-8003}
PIDS=()

rm -rf "$D"
mkdir -p "$D"

cleanup() {
	local p f
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	for f in "$D"/*/state/sim/dom/*/pid; do
		[ -f "$f" ] && kill -9 "$(awk 'NR == 1 { print $1 }' "$f")" 2>/dev/null
	done
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "A throw-away cluster CA and two host certificates"
sh "$ROOT/tests/pki/mkcerts.sh" "$D/pki" || exit 1
openssl x509 -in "$D/pki/hosta.pem" -noout -subject -ext subjectAltName |
    sed 's/^/  /'

for h in a:127.0.0.2 b:127.0.0.3; do
	n=${h%%:*}
	addr=${h#*:}
	mkdir -p "$D/host$n/state"
	cat > "$D/host$n/relocd.conf" <<EOC
# demo host $n
relocation_address = "$addr"
relocation_port = $PORT
relocation_hosts_allow = [ "hosta", "hostb" ]
tls_ca_file = "$D/pki/ca.pem"
tls_cert_file = "$D/pki/host$n.pem"
tls_key_file = "$D/pki/host$n.key"
control_socket = "$D/host$n/control.sock"
state_dir = "$D/host$n/state"
backend = "sim"
user = "nobody"
sim_hostname = "host$n"
sim_memory_mb = 4096
EOC
done

step "Two relocd hosts (sim backend), each with its own config"
for n in a b; do
	run "$B/relocd" -n -f "$D/host$n/relocd.conf" || exit 1
	"$B/relocd" -d -f "$D/host$n/relocd.conf" 2>"$D/host$n/relocd.log" &
	PIDS+=($!)
done
for i in $(seq 1 100); do
	[ -S "$D/hosta/control.sock" ] && [ -S "$D/hostb/control.sock" ] && break
	sleep 0.05
done
if ! [ -S "$D/hosta/control.sock" ] || ! [ -S "$D/hostb/control.sock" ]; then
	echo "relocd did not start:"; cat "$D"/host*/relocd.log
	exit 1
fi
A() { XMIG_CONFIG=$D/hosta/relocd.conf "$B/xmig" "$@"; }
Bh() { XMIG_CONFIG=$D/hostb/relocd.conf "$B/xmig" "$@"; }

step "Create web1 on host A: 256 MiB, dirtying 2000 pages/s, a tick every 200 ms"
cat > "$D/web1.cfg" <<EOC
name = "web1"
memory = 256
vcpus = 2
sim_dirty_rate = 2000
sim_tick_ms = 200
EOC
cat "$D/web1.cfg" | sed 's/^/  /'
XMIG_CONFIG=$D/hosta/relocd.conf run "$B/xmig" create "$D/web1.cfg" || exit 1
sleep 1.5
echo "\$ xmig list                  (on A)"; A list
echo "\$ xmig list -H 127.0.0.3     (A asks B over mutual TLS)"; A list -H 127.0.0.3
echo "console of web1 on A:"; tail -n 3 "$D/hosta/state/console/web1.log" | sed 's/^/  | /'

step "Live migration A -> B while it runs"
echo "\$ xmig migrate -l web1 127.0.0.3"
A migrate -l web1 127.0.0.3 | tee "$D/live.out" || exit 1
sleep 1
echo "\$ xmig list -H 127.0.0.3"; A list -H 127.0.0.3
echo "\$ xmig list                  (on A: gone)"; A list
last=$(grep -o 'tick [0-9]*' "$D/hosta/state/console/web1--migratedaway.log" | tail -n 1)
echo "last heartbeat on A: $last"
echo "console of web1 on B:"
head -n 3 "$D/hostb/state/console/web1.log" | sed 's/^/  | /'
echo "  | ..."
tail -n 2 "$D/hostb/state/console/web1.log" | sed 's/^/  | /'

step "Offline migration B -> A"
echo "\$ xmig migrate web1 127.0.0.2          (on B)"
Bh migrate web1 127.0.0.2 | tee "$D/offline.out" || exit 1
sleep 1
echo "console of web1 back on A:"
tail -n 3 "$D/hosta/state/console/web1.log" | sed 's/^/  | /'
echo "\$ xmig list"; A list

step "Summary"
for f in live offline; do
	printf '%-8s %s\n' "$f:" "$(tail -n 1 "$D/$f.out")"
done
grep -q CORRUPT "$D"/host*/state/console/web1.log* &&
    { echo "MEMORY CORRUPTION REPORTED"; exit 1; }
echo "guest self-checks: $(grep -ho "verified [0-9]* pages" "$D"/host*/state/console/web1*.log | paste -sd ',' - | sed 's/,/, /g')"
A destroy web1
echo "demo finished; logs under $D"
