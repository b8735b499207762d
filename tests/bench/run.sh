#!/bin/bash
# make bench: relocd measured side by side with the transports users would
# pick instead, in one run, each case interleaved with its baselines.
#
#	1 stream	2 GiB through relocd's data path (xmig speedtest:
#			source relocd -> TLS -> destination relocd, the
#			pass-through stream source: no guest memory read or
#			stored) vs raw TCP, a plain C TLS loop, socat TLS
#			-b 131072, ssh with its default cipher; CPU s/GiB per
#			side.  Also the whole offline migration of a 2 GiB
#			sim domain (relocd-migrate-sim), which adds storing
#			guest memory at the destination.
#	2 setup		100 sequential xmig list -H (TCP + mutual TLS +
#			request + reply through both relocds) vs ssh HOST true
#	3 live		256 MiB and 1 GiB at 0, 2000, 20000 dirty pages/s
#	4 concurrency	1, 2, 4, 8 simultaneous migrations of 2 GiB in all
#	5 memory	relocd RSS idle, with 1 and with 8 migrations
#	6 copy		xmig migrate --copy-storage of a domain whose disk is a
#			sparse 4 GiB image holding 1 GiB of data: the rate of
#			allocated bytes copied (to "ready": the destination's
#			read-back check included) against xmig speedtest's
#			rate, measured just before it; the images live in a
#			tmpfs, so the disk of this VM is not what is measured
#	7 livecopy	xmig migrate -l --copy-storage of an idle 64 MiB domain
#			with 1 GiB of disk data: its downtime against the
#			same domain's without disks, side by side
#
# Everything stays on 127.0.7.1-3 (BENCH_PORT, default 18700, and the few
# ports after it); every process started here is ended by its PID.
# Output: a table on stdout, build/bench/bench.csv (every sample),
# build/bench/summary.csv, build/bench/table.md, build/bench/bench.png.
# BENCH_REPS (default 3) repetitions of each case; BENCH_QUICK=1 shrinks
# the sizes for a smoke run.  BENCH_BEFORE_BIN=DIR (a relocd and xmig of
# an earlier build) adds a second pair of relocds, on 127.0.7.4-5, whose
# data path, whole migration and setup are measured interleaved with this
# build's, so that a change's cost is a ratio from one run.
# BENCH_CASES (default "stream setup live conc evac copy livecopy") picks which cases
# run ("evac" adds a third relocd of this build, on 127.0.7.6);
# the figures of cases not run stay empty in the table; BENCH_CONC
# (default "1 2 4 8") the concurrency levels.  The run pauses the VM's
# free page reporting and touches a warm pool first (see memory_warm);
# BENCH_COLD_MEMORY=1 leaves the machine alone.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BENCH_BIN:-$ROOT/build/bench-opt}
HB=$ROOT/build/bench
W=$HB/work
PKI=$HB/pki
PORT=${BENCH_PORT:-18700}
P_TCP=$((PORT + 1))
P_TLS=$((PORT + 2))
P_SOCAT=$((PORT + 3))
P_SSH=$((PORT + 4))
L=127.0.7.1
HA=127.0.7.2
HBADDR=127.0.7.3
REPS=${BENCH_REPS:-3}
CASES=" ${BENCH_CASES:-stream setup live conc evac copy livecopy} "
STREAM_MB=2048
SETUP_N=100
SSH_SETUP_N=30
SIZES="256 1024"
RATES="0 2000 20000"
CONC=${BENCH_CONC:-1 2 4 8}
COPY_SIZE_MB=4096
COPY_DATA_MB=1024
if [ -n "${BENCH_QUICK:-}" ]; then
	COPY_DATA_MB=256
	STREAM_MB=256 SETUP_N=20 SSH_SETUP_N=5 SIZES=256 RATES="0 2000"
	CONC="1 2"
fi
STREAM_BYTES=$((STREAM_MB * 1048576))
CSV=$HB/bench.csv
SUM=$HB/summary.csv
TAB=$HB/table.md
PIDS=()
HZ=$(getconf CLK_TCK)
T0=$SECONDS

die() { echo "bench: $*" >&2; exit 1; }
note() { printf '[%3ds] %s\n' $((SECONDS - T0)) "$*" >&2; }

for p in "$BIN/relocd" "$BIN/xmig" "$HB/tlsloop"; do
	[ -x "$p" ] || die "$p missing: run make bench"
done
for c in socat ssh ssh-keygen /usr/sbin/sshd gnuplot; do
	command -v "$c" >/dev/null || die "$c missing: sh scripts/deps.sh bench"
done

rm -rf "$W"
mkdir -p "$W" "$PKI"
: > "$CSV"
echo "case,variant,metric,rep,value" > "$CSV"

cleanup() {
	local p f
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	[ -f "$W/ssh/sshd.pid" ] && kill "$(cat "$W/ssh/sshd.pid")" 2>/dev/null
	[ -n "$REPORTING_WAS" ] && echo "$REPORTING_WAS" > "$REPORTING" 2>/dev/null
	rm -f "$WARMF"
	sleep 0.3
	mountpoint -q "$W/copydisks" 2>/dev/null && umount -l "$W/copydisks"
	# Guests are processes our relocds started: end them by the PIDs
	# the sim backend recorded.
	for f in "$W"/*/state/sim/dom/*/pid; do
		[ -f "$f" ] || continue
		p=$(head -n 1 "$f" | cut -d' ' -f1)
		case $p in ''|*[!0-9]*) continue;; esac
		kill -9 "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# record CASE VARIANT METRIC REP VALUE
record() { echo "$1,$2,$3,$4,$5" >> "$CSV"; }

# -- the machine's memory ------------------------------------------------

# A VM whose balloon reports free pages back to its host (virtio free page
# reporting) has its host back a page again on first touch once it was
# reported.  On the machines this was written on, writing 256 MiB into
# fresh shmem then took about 0.7 s instead of 0.05 s.  Which migration of
# a run lands on such memory is chance, and it, not relocd, made an
# evacuation's later moves up to three times slower than its first (the
# destination helper's pwrite into the guest's memfd, seen with perf as
# copy_folio_from_iter_atomic).  So the penalty is measured once as a
# reference row; then reporting is paused for the run (the parameter is
# restored on exit) and a pool is touched, so that every case gets memory
# its host already backs.  BENCH_COLD_MEMORY=1 leaves the machine alone.
REPORTING=/sys/module/page_reporting/parameters/page_reporting_order
REPORTING_WAS=
WARMF=/dev/shm/relocd-bench-warm.$$
touch_mb() {	# touch_mb MiB: ms to write that much fresh shmem
	local t0 t1 i
	for i in $(seq 0 $(($1 / 256 - 1))); do
		t0=$(now_us)
		dd if=/dev/zero of="$WARMF" bs=1M count=256 seek=$((i * 256)) \
		    conv=notrunc status=none 2>/dev/null || return 1
		t1=$(now_us)
		echo $(((t1 - t0) / 1000))
	done
}
memory_warm() {
	local avail mb ms
	avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	mb=6144
	[ "$avail" -lt $((mb * 2)) ] && mb=$((avail / 2 / 256 * 256))
	[ "$mb" -ge 256 ] || return 0
	ms=$(touch_mb "$mb" | sort -n | awk '{ a[NR] = $1 }
	    END { if (NR) printf "%s %s", a[1], a[NR] }')
	rm -f "$WARMF"
	set -- $ms
	[ $# = 2 ] && record memory "256MiB-shmem" first_touch_fastest_ms 1 "$1" &&
	    record memory "256MiB-shmem" first_touch_slowest_ms 1 "$2"
	[ -n "${BENCH_COLD_MEMORY:-}" ] && return 0
	if [ -w "$REPORTING" ]; then
		REPORTING_WAS=$(cat "$REPORTING")
		# One above the largest page order (10): the kernel then
		# reports nothing.
		if echo 11 > "$REPORTING" 2>/dev/null; then
			note "free page reporting paused for the run (page_reporting_order $REPORTING_WAS -> 11)"
		else
			note "could not pause free page reporting; cases may land on cold memory"
			REPORTING_WAS=
		fi
	fi
	touch_mb "$mb" >/dev/null
	rm -f "$WARMF"
}

# -- setup -------------------------------------------------------------

sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" >/dev/null || die "PKI"
sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" bencha $HA >/dev/null || die "PKI"
sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" benchb $HBADDR >/dev/null || die "PKI"
BEFORE=${BENCH_BEFORE_BIN:-}
HC=127.0.7.4
HD=127.0.7.5
if [ -n "$BEFORE" ]; then
	for p in "$BEFORE/relocd" "$BEFORE/xmig"; do
		[ -x "$p" ] || die "$p missing (BENCH_BEFORE_BIN)"
	done
	sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" benchc $HC >/dev/null || die "PKI"
	sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" benchd $HD >/dev/null || die "PKI"
fi
HE=127.0.7.6
if [[ $CASES == *" evac "* ]]; then
	sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" benche $HE >/dev/null || die "PKI"
fi
cat "$PKI/bencha.key" "$PKI/bencha.pem" > "$W/socat.pem"
chmod 600 "$W/socat.pem"

HOSTS="a:$HA b:$HBADDR"
[ -n "$BEFORE" ] && HOSTS="$HOSTS c:$HC d:$HD"
[[ $CASES == *" evac "* ]] && HOSTS="$HOSTS e:$HE"
for h in $HOSTS; do
	n=${h%%:*}
	mkdir -p "$W/$n/state"
	bin=$BIN
	case $n in c|d) bin=$BEFORE;; esac
	cat > "$W/$n/relocd.conf" <<EOC
# make bench: host $n
relocation_address = "${h#*:}"
relocation_port = $PORT
relocation_hosts_allow = [ "bencha", "benchb", "benchc", "benchd", "benche" ]
tls_ca_file = "$PKI/ca.pem"
tls_cert_file = "$PKI/bench$n.pem"
tls_key_file = "$PKI/bench$n.key"
control_socket = "$W/$n/control.sock"
state_dir = "$W/$n/state"
backend = "sim"
sim_hostname = "bench$n"
sim_memory_mb = 16384
max_migrations = 8
incoming_disk_paths = [ "$W/copydisks/$n/" ]
EOC
	# xmig evacuate on a chooses between b and e.
	[ "$n" = a ] && [[ $CASES == *" evac "* ]] &&
	    echo "relocation_peers = [ \"$HBADDR\", \"$HE\" ]" >> "$W/$n/relocd.conf"
	# The network processes' user; an earlier build may predate it.
	echo 'user = "nobody"' >> "$W/$n/relocd.conf"
	if "$bin/relocd" -n -f "$W/$n/relocd.conf" 2>&1 |
	    grep -q "unknown setting 'user'"; then
		sed -i '/^user = /d' "$W/$n/relocd.conf"
	fi
	"$bin/relocd" -d -f "$W/$n/relocd.conf" 2>"$W/$n/relocd.log" &
	PIDS+=($!)
	echo $! > "$W/$n/relocd.pid"
done
for h in $HOSTS; do
	n=${h%%:*}
	for i in $(seq 1 100); do
		[ -S "$W/$n/control.sock" ] && break
		sleep 0.05
	done
	[ -S "$W/$n/control.sock" ] ||
	    die "relocd $n did not start: $(cat "$W/$n/relocd.log")"
done

# The pair the cases run on: this build (a -> b), or with "before" the
# earlier build (c -> d); its results carry the suffix -before.
use_pair() {
	if [ "$1" = before ]; then
		SRC=c DST=d DSTADDR=$HD XBIN=$BEFORE VSFX=-before
	else
		SRC=a DST=b DSTADDR=$HBADDR XBIN=$BIN VSFX=
	fi
	RA=$(cat "$W/$SRC/relocd.pid")
	RB=$(cat "$W/$DST/relocd.pid")
}
use_pair new
xa() { XMIG_CONFIG=$W/$SRC/relocd.conf "$XBIN/xmig" "$@"; }
xb() { XMIG_CONFIG=$W/$DST/relocd.conf "$XBIN/xmig" "$@"; }

# A throw-away sshd on loopback with its own host key and one authorized
# key: xl's default transport, as a user would run it.
mkdir -p "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_key" || die ssh-keygen
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/id" || die ssh-keygen
cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"
cat > "$W/ssh/sshd_config" <<EOC
ListenAddress $L:$P_SSH
HostKey $W/ssh/host_key
PidFile $W/ssh/sshd.pid
AuthorizedKeysFile $W/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
EOC
# sshd insists on its privilege separation directory.
[ -d /run/sshd ] || mkdir -p -m 755 /run/sshd
/usr/sbin/sshd -f "$W/ssh/sshd_config" -E "$W/ssh/sshd.log" ||
    die "sshd did not start: $(cat "$W/ssh/sshd.log")"
SSHO=(-p "$P_SSH" -i "$W/ssh/id" -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR)
for i in $(seq 1 50); do
	ssh "${SSHO[@]}" $L true 2>/dev/null && break
	sleep 0.1
done
ssh "${SSHO[@]}" $L true || die "ssh to the bench sshd failed"

# -- helpers -----------------------------------------------------------

# CPU ticks of a relocd and of the workers it has reaped.
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }

# now_us: wall clock in microseconds.
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# Parse xmig migrate's last line: "... migrated to H: M MiB in R rounds,
# T ms total, downtime D ms" -> "M R T D".
parse_result() {
	sed -n 's/.* migrated to [^:]*: \([0-9.]*\) MiB in \([0-9]*\) rounds\{0,1\}, \([0-9.]*\) ms total, downtime \([0-9.]*\) ms.*/\1 \2 \3 \4/p' "$1" | tail -n 1
}

# domain_cfg FILE NAME MB RATE
domain_cfg() {
	printf 'name = "%s"\nmemory = %s\nvcpus = 1\nsim_dirty_rate = %s\nsim_tick_ms = 100\n' \
	    "$2" "$3" "$4" > "$1"
}

# wait_verified NAME MB: the destination guest checked all its pages.
wait_verified() {
	local log=$W/$DST/state/console/$1.log i
	for i in $(seq 1 300); do
		grep -q 'verified\|CORRUPT' "$log" 2>/dev/null && break
		sleep 0.1
	done
	if grep -q CORRUPT "$log" 2>/dev/null; then
		echo "bench: $1: MEMORY CORRUPT after migration" >&2
		FAILS=$((FAILS + 1))
		return 1
	fi
	grep -q "verified $(($2 * 256)) pages" "$log" 2>/dev/null || {
		echo "bench: $1: no 'verified' line at the destination" >&2
		FAILS=$((FAILS + 1))
		return 1
	}
}
FAILS=0

destroy_b() { xb destroy "$1" >/dev/null 2>&1; rm -f "$W/$DST/state/console/$1.log"*; }
destroy_a() { xa destroy "$1" >/dev/null 2>&1; rm -f "$W/$SRC/state/console/$1"*.log*; }

# Sum over a relocd and its sessions (each a root helper and its network
# process) of its own memory (anonymous + file pages; guest memory it
# maps is the guest's, reported apart): "RSS PSS".
relocd_mem_kb() {
	local p rss=0 pss=0 a f c
	for p in $1 $(for c in $(pgrep -P "$1" 2>/dev/null); do
	    echo "$c"; pgrep -P "$c" 2>/dev/null; done); do
		a=$(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
		    END { print a + f }' "/proc/$p/status" 2>/dev/null) || continue
		f=$(awk '/^Pss_Anon:/ { a = $2 } /^Pss_File:/ { f = $2 }
		    END { print a + f }' "/proc/$p/smaps_rollup" 2>/dev/null) ||
		    continue
		rss=$((rss + ${a:-0}))
		pss=$((pss + ${f:-0}))
	done
	echo "$rss $pss"
}

# Sample both relocds' memory every 50 ms into FILE until FILE.stop.
mem_sampler() {
	local out=$1 i
	for i in $(seq 1 2400); do
		[ -f "$out.stop" ] && break
		echo "$(relocd_mem_kb "$RA") $(relocd_mem_kb "$RB")" >> "$out"
		sleep 0.05
	done
}

# -- case 1: stream throughput -----------------------------------------

stream_tcp() {
	local rep=$1 s c
	"$HB/tlsloop" -s -a $L -p $P_TCP > "$W/srv.out" &
	s=$!
	sleep 0.2
	c=$("$HB/tlsloop" -c -a $L -p $P_TCP -n $STREAM_BYTES)
	wait $s
	record_loop tcp "$rep" "$c" "$(cat "$W/srv.out")"
}

stream_tls() {
	local rep=$1 s c
	"$HB/tlsloop" -s -t -C "$PKI/bencha.pem" -K "$PKI/bencha.key" \
	    -a $L -p $P_TLS > "$W/srv.out" &
	s=$!
	sleep 0.2
	c=$("$HB/tlsloop" -c -t -a $L -p $P_TLS -n $STREAM_BYTES)
	wait $s
	record_loop tls-loop "$rep" "$c" "$(cat "$W/srv.out")"
}

# record_loop VARIANT REP CLIENT_LINE SERVER_LINE
record_loop() {
	local secs cs cr
	secs=$(echo "$3" | sed -n 's/.*secs=\([0-9.]*\).*/\1/p')
	cs=$(echo "$3" | sed -n 's/.*cpu=\([0-9.]*\).*/\1/p')
	cr=$(echo "$4" | sed -n 's/.*cpu=\([0-9.]*\).*/\1/p')
	record stream "$1" gbps "$2" "$(awk -v b=$STREAM_BYTES -v s="$secs" \
	    'BEGIN { printf "%.3f", b / s / 1e9 }')"
	record stream "$1" cpu_send "$2" "$(awk -v g=$STREAM_MB -v c="$cs" \
	    'BEGIN { printf "%.3f", c / (g / 1024) }')"
	record stream "$1" cpu_recv "$2" "$(awk -v g=$STREAM_MB -v c="$cr" \
	    'BEGIN { printf "%.3f", c / (g / 1024) }')"
}

stream_socat() {
	local rep=$1 s t0 t1
	/usr/bin/time -f '%U %S' -o "$W/socat.srv.time" \
	    socat -b 131072 -u OPENSSL-LISTEN:$P_SOCAT,bind=$L,reuseaddr,cert="$W/socat.pem",verify=0 \
	    OPEN:/dev/null &
	s=$!
	sleep 0.3
	t0=$(now_us)
	dd if=/dev/zero bs=1M count=$STREAM_MB status=none |
	    /usr/bin/time -f '%U %S' -o "$W/socat.cli.time" \
	    socat -b 131072 -u - OPENSSL:$L:$P_SOCAT,verify=0
	t1=$(now_us)
	wait $s
	record_times socat-tls-128k "$rep" $((t1 - t0)) \
	    "$(awk '{ print $1 + $2 }' "$W/socat.cli.time")" \
	    "$(awk '{ print $1 + $2 }' "$W/socat.srv.time")"
}

# record_times VARIANT REP WALL_US CPU_SEND CPU_RECV
record_times() {
	record stream "$1" gbps "$2" "$(awk -v b=$STREAM_BYTES -v u="$3" \
	    'BEGIN { printf "%.3f", b / u / 1e3 }')"
	record stream "$1" cpu_send "$2" "$(awk -v g=$STREAM_MB -v c="$4" \
	    'BEGIN { printf "%.3f", c / (g / 1024) }')"
	record stream "$1" cpu_recv "$2" "$(awk -v g=$STREAM_MB -v c="$5" \
	    'BEGIN { printf "%.3f", c / (g / 1024) }')"
}

stream_ssh() {
	local rep=$1 t0 t1 r
	t0=$(now_us)
	# The receiving side reports the CPU of its sshd session process
	# (the one doing the crypto), the parent of its shell.
	r=$(dd if=/dev/zero bs=1M count=$STREAM_MB status=none |
	    /usr/bin/time -f '%U %S' -o "$W/ssh.cli.time" \
	    ssh "${SSHO[@]}" $L \
	    'cat > /dev/null; awk "{ print \$14 + \$15 }" /proc/$PPID/stat')
	t1=$(now_us)
	record_times ssh-default "$rep" $((t1 - t0)) \
	    "$(awk '{ print $1 + $2 }' "$W/ssh.cli.time")" \
	    "$(awk -v t="$r" -v hz=$HZ 'BEGIN { print t / hz }')"
}

# relocd's data path alone: both relocds, mutual TLS, a slot on each side,
# the channel code a migration uses; zeros from a never-written mapping in,
# dropped at the far end, as socat's /dev/zero -> /dev/null.
stream_relocd() {
	local rep=$1 ca0 cb0 ca1 cb1 out us
	ca0=$(cpu_ticks "$RA")
	cb0=$(cpu_ticks "$RB")
	out=$(xa speedtest -s $STREAM_MB $DSTADDR 2>&1) ||
	    { echo "bench: speedtest failed: $out" >&2
	      FAILS=$((FAILS + 1)); return; }
	sleep 0.3	# the workers are reaped: their CPU is in cutime
	ca1=$(cpu_ticks "$RA")
	cb1=$(cpu_ticks "$RB")
	# "H: M MiB in S s: G GB/s ..."
	us=$(echo "$out" | sed -n 's/.* MiB in \([0-9.]*\) s: .*/\1/p' |
	    awk '{ printf "%d", $1 * 1e6 }')
	record_times "relocd$VSFX" "$rep" "$us" \
	    "$(awk -v d=$((ca1 - ca0)) -v hz=$HZ 'BEGIN { print d / hz }')" \
	    "$(awk -v d=$((cb1 - cb0)) -v hz=$HZ 'BEGIN { print d / hz }')"
}

# The whole offline migration of a 2 GiB sim domain: the data path plus
# what Xen's save/restore helpers do on a real host (reading and storing
# guest memory), here inside the relocd workers.
stream_migrate() {
	local rep=$1 name=s$1 ca0 cb0 ca1 cb1 r
	domain_cfg "$W/$name.cfg" "$name" $STREAM_MB 0
	xa create "$W/$name.cfg" >/dev/null || { FAILS=$((FAILS + 1)); return; }
	sleep 0.3
	ca0=$(cpu_ticks "$RA")
	cb0=$(cpu_ticks "$RB")
	xa migrate "$name" $DSTADDR > "$W/$name.out" 2>&1 ||
	    { echo "bench: stream migration failed: $(cat "$W/$name.out")" >&2
	      FAILS=$((FAILS + 1)); destroy_a "$name"; return; }
	sleep 0.3	# the workers are reaped: their CPU is in cutime
	ca1=$(cpu_ticks "$RA")
	cb1=$(cpu_ticks "$RB")
	r=($(parse_result "$W/$name.out"))
	wait_verified "$name" $STREAM_MB
	destroy_b "$name"
	record stream "relocd-migrate-sim$VSFX" gbps "$rep" "$(awk -v m="${r[0]}" -v t="${r[2]}" \
	    'BEGIN { printf "%.3f", m * 1048576 / t / 1e6 }')"
	record stream "relocd-migrate-sim$VSFX" cpu_send "$rep" "$(awk -v d=$((ca1 - ca0)) \
	    -v hz=$HZ -v m="${r[0]}" 'BEGIN { printf "%.3f", d / hz / (m / 1024) }')"
	record stream "relocd-migrate-sim$VSFX" cpu_recv "$rep" "$(awk -v d=$((cb1 - cb0)) \
	    -v hz=$HZ -v m="${r[0]}" 'BEGIN { printf "%.3f", d / hz / (m / 1024) }')"
}

# -- case 6: copy storage -------------------------------------------------

# The images of the copy case, in a tmpfs of their own when this host
# lets us mount one (else on the work directory's disk, and the table
# says so).
COPY_FS=tmpfs
copy_fs() {
	mkdir -p "$W/copydisks"
	if ! mountpoint -q "$W/copydisks" &&
	    ! mount -t tmpfs -o size=$((3 * COPY_DATA_MB + 64))m tmpfs \
	    "$W/copydisks" 2>/dev/null; then
		COPY_FS=disk
	fi
	mkdir -p "$W/copydisks/a" "$W/copydisks/b"
}

# One copy: a speedtest of COPY_DATA_MB, then the migration of a domain
# with a COPY_SIZE_MB image holding COPY_DATA_MB of data, every fourth
# MiB (1 MiB pieces: chunks the copy sends whole, holes between them).
copy_one() {
	local rep=$1 name=cp$1 out img st bytes ms
	out=$(xa speedtest -s $COPY_DATA_MB $DSTADDR 2>&1) ||
	    { echo "bench: speedtest failed: $out" >&2
	      FAILS=$((FAILS + 1)); return; }
	st=$(echo "$out" | sed -n 's/.* MiB in \([0-9.]*\) s: .*/\1/p' |
	    awk -v m=$COPY_DATA_MB '{ printf "%.3f", m * 1048576 / $1 / 1e9 }')
	img=$W/copydisks/a/$name.img
	python3 "$ROOT/tests/tools/mkimage.py" "$img" $COPY_SIZE_MB $COPY_DATA_MB
	domain_cfg "$W/$name.cfg" "$name" 64 0
	echo "disk = [ \"$img,raw,xvda,rw\" ]" >> "$W/$name.cfg"
	xa create "$W/$name.cfg" >/dev/null ||
	    { FAILS=$((FAILS + 1)); rm -f "$img"; return; }
	sleep 0.3
	xa migrate --copy-storage --remove-source-disk "$name" $DSTADDR \
	    > "$W/$name.out" 2>&1 ||
	    { echo "bench: copy-storage migration failed: $(tail -n 1 "$W/$name.out")" >&2
	      FAILS=$((FAILS + 1)); destroy_a "$name"; rm -f "$img"; return; }
	# "..., 1024.0 MiB of disk data copied in 2345 ms, ..."
	bytes=$(sed -n 's/.*disk xvda: sent \([0-9]*\) bytes of data.*/\1/p' \
	    "$W/$name.out" | tail -n 1)
	ms=$(sed -n 's/.* MiB of disk data copied in \([0-9.]*\) ms.*/\1/p' \
	    "$W/$name.out" | tail -n 1)
	wait_verified "$name" 64
	destroy_b "$name"
	rm -f "$W/copydisks/b/$name.img"
	record copy speedtest gbps "$rep" "$st"
	record copy "${COPY_SIZE_MB}MiB-sparse" data_mb "$rep" \
	    "$(awk -v b="${bytes:-0}" 'BEGIN { printf "%.1f", b / 1048576 }')"
	record copy "${COPY_SIZE_MB}MiB-sparse" gbps "$rep" "$(awk \
	    -v b="${bytes:-0}" -v t="${ms:-0}" \
	    'BEGIN { if (t > 0) printf "%.3f", b / t / 1e6; else print 0 }')"
	# Paired with the speedtest just before it: on a machine whose speed
	# drifts with its neighbours' load, the ratio of each pair is the
	# figure to trust, not a ratio of medians.
	record copy "${COPY_SIZE_MB}MiB-sparse" ratio "$rep" "$(awk \
	    -v b="${bytes:-0}" -v t="${ms:-0}" -v s="$st" \
	    'BEGIN { if (t > 0 && s > 0) printf "%.3f", b / t / 1e6 / s; else print 0 }')"
	# Where the time went: the source's sending alone (without the
	# destination's read-back check), "... in 1024 chunks, 8459 ms, ...".
	ms=$(sed -n 's/.*disk xvda: sent .* chunks, \([0-9]*\) ms.*/\1/p' \
	    "$W/$name.out" | tail -n 1)
	record copy "${COPY_SIZE_MB}MiB-sparse" send_gbps "$rep" "$(awk \
	    -v b="${bytes:-0}" -v t="${ms:-0}" \
	    'BEGIN { if (t > 0) printf "%.3f", b / t / 1e6; else print 0 }')"
}

# One live copy (livecopy): xmig migrate -l --copy-storage of a 64 MiB
# domain whose image holds COPY_DATA_MB of data, idle, so that the rounds
# end at once and the downtime is what the suspended round costs; side
# by side with a live move of the same domain without disks.
livecopy_one() {
	local rep=$1 name img r v
	for v in nodisk disk; do
		name=lc$v$rep
		img=$W/copydisks/a/$name.img
		domain_cfg "$W/$name.cfg" "$name" 64 0
		if [ $v = disk ]; then
			python3 "$ROOT/tests/tools/mkimage.py" "$img" \
			    $COPY_SIZE_MB $COPY_DATA_MB
			echo "disk = [ \"$img,raw,xvda,rw\" ]" >> "$W/$name.cfg"
		fi
		xa create "$W/$name.cfg" >/dev/null ||
		    { FAILS=$((FAILS + 1)); rm -f "$img"; return; }
		sleep 0.3
		xa migrate -l $([ $v = disk ] && echo --copy-storage \
		    --remove-source-disk) "$name" $DSTADDR \
		    > "$W/$name.out" 2>&1 ||
		    { echo "bench: live migration ($v) failed: $(tail -n 1 "$W/$name.out")" >&2
		      FAILS=$((FAILS + 1)); destroy_a "$name"; rm -f "$img"
		      return; }
		# "... migrated to B: 64.1 MiB in 2 rounds, [1024.0 MiB of
		# disk data copied in 1468 ms, ...,] 1496 ms total, downtime
		# 248.0 ms"
		r=($(sed -n 's/.* migrated to .*, \([0-9.]*\) ms total, downtime \([0-9.]*\) ms.*/\1 \2/p' \
		    "$W/$name.out" | tail -n 1))
		wait_verified "$name" 64
		destroy_b "$name"
		rm -f "$W/copydisks/b/$name.img"
		[ ${#r[@]} = 2 ] || { echo "bench: $name: no result line" >&2
		    FAILS=$((FAILS + 1)); return; }
		record livecopy "$v" total_ms "$rep" "${r[0]}"
		record livecopy "$v" downtime_ms "$rep" "${r[1]}"
	done
}

# -- case 2: connection setup -------------------------------------------

# One xmig list -H on the current pair, recorded under its suffix.
setup_one() {
	local rep=$1 t0 t1
	t0=$(now_us)
	xa list -H $DSTADDR >/dev/null ||
	    { FAILS=$((FAILS + 1)); echo "bench: list -H failed" >&2; }
	t1=$(now_us)
	record setup "relocd$VSFX" ms "$rep" "$(awk -v d=$((t1 - t0)) \
	    'BEGIN { printf "%.3f", d / 1000 }')"
}

# With an earlier build the two pairs take turns, call by call, first
# one then the other: a few ms between builds is what is measured, and
# a burst of load elsewhere on the machine then lands on both alike
# (in blocks of 100 it did not: two runs gave 1.13x and 0.97x).
setup_relocd() {
	local rep=$1 i
	for i in $(seq 1 $SETUP_N); do
		if [ -n "$BEFORE" ] && [ $((i % 2)) = 0 ]; then
			use_pair before
			setup_one "$rep"
			use_pair new
		fi
		setup_one "$rep"
		if [ -n "$BEFORE" ] && [ $((i % 2)) = 1 ]; then
			use_pair before
			setup_one "$rep"
			use_pair new
		fi
	done
}

# xmig check: the pre-flight's round trip (the domain's facts here, the
# TLS session, the destination's facts with its disk lookups), as a
# ratio against list -H, which is one TLS request too.
setup_check() {
	local rep=$1 i t0 t1
	domain_cfg "$W/chk.cfg" chk 16 0
	xa create "$W/chk.cfg" >/dev/null ||
	    { FAILS=$((FAILS + 1)); echo "bench: create chk failed" >&2; return; }
	for i in $(seq 1 $SETUP_N); do
		t0=$(now_us)
		xa check chk $DSTADDR >/dev/null ||
		    { FAILS=$((FAILS + 1)); echo "bench: check failed" >&2; }
		t1=$(now_us)
		record setup "relocd-check$VSFX" ms "$rep" "$(awk \
		    -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1000 }')"
	done
	destroy_a chk
}

setup_ssh() {
	local rep=$1 i t0 t1
	for i in $(seq 1 $SSH_SETUP_N); do
		t0=$(now_us)
		ssh "${SSHO[@]}" $L true ||
		    { FAILS=$((FAILS + 1)); echo "bench: ssh true failed" >&2; }
		t1=$(now_us)
		record setup ssh-true ms "$rep" "$(awk -v d=$((t1 - t0)) \
		    'BEGIN { printf "%.3f", d / 1000 }')"
	done
}

# -- case 3: live migration ---------------------------------------------

live_one() {
	local rep=$1 mb=$2 rate=$3 name=l$2r$3n$1 r v
	v="${mb}MiB@${rate}"
	domain_cfg "$W/$name.cfg" "$name" "$mb" "$rate"
	xa create "$W/$name.cfg" >/dev/null || { FAILS=$((FAILS + 1)); return; }
	sleep 1		# let it run and dirty memory
	xa migrate -l "$name" $HBADDR > "$W/$name.out" 2>&1 ||
	    { echo "bench: live migration failed: $(tail -n 1 "$W/$name.out")" >&2
	      FAILS=$((FAILS + 1)); destroy_a "$name"; return; }
	r=($(parse_result "$W/$name.out"))
	wait_verified "$name" "$mb"
	destroy_b "$name"
	record live "$v" total_ms "$rep" "${r[2]}"
	record live "$v" downtime_ms "$rep" "${r[3]}"
	record live "$v" rounds "$rep" "${r[1]}"
	record live "$v" sent_per_mem "$rep" "$(awk -v m="${r[0]}" -v s="$mb" \
	    'BEGIN { printf "%.3f", m / s }')"
}

# -- case 4 and 5: concurrency and memory --------------------------------

conc_one() {
	local rep=$1 n=$2 mb=$(($STREAM_MB / $2)) i t0 t1 pids=() rates=() r
	for i in $(seq 1 "$n"); do
		domain_cfg "$W/c$i.cfg" "c$i" "$mb" 0
		xa create "$W/c$i.cfg" >/dev/null || FAILS=$((FAILS + 1))
	done
	sleep 0.3
	rm -f "$W/mem.$n.$rep" "$W/mem.$n.$rep.stop"
	mem_sampler "$W/mem.$n.$rep" &
	local sampler=$!
	t0=$(now_us)
	for i in $(seq 1 "$n"); do
		xa migrate "c$i" $HBADDR > "$W/c$i.out" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 1 "$n"); do
		wait "${pids[$((i - 1))]}" || { FAILS=$((FAILS + 1))
		    echo "bench: concurrent migration c$i failed: $(tail -n 1 "$W/c$i.out")" >&2; }
	done
	t1=$(now_us)
	touch "$W/mem.$n.$rep.stop"
	wait $sampler
	for i in $(seq 1 "$n"); do
		r=($(parse_result "$W/c$i.out"))
		[ -n "${r[2]:-}" ] && rates+=("$(awk -v m="${r[0]}" -v t="${r[2]}" \
		    'BEGIN { printf "%.4f", m * 1048576 / t / 1e6 }')")
		wait_verified "c$i" "$mb"
		destroy_b "c$i"
	done
	record conc "n=$n" aggregate_gbps "$rep" "$(awk -v b=$STREAM_BYTES \
	    -v u=$((t1 - t0)) 'BEGIN { printf "%.3f", b / u / 1e3 }')"
	record conc "n=$n" fairness "$rep" "$(printf '%s\n' "${rates[@]}" |
	    sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
	    END { printf "%.3f", (hi > 0 ? lo / hi : 0) }')"
	record conc "n=$n" failures "$rep" $((n - ${#rates[@]}))
	# Peak own memory of each relocd (with its workers) while in flight.
	if [ "$n" = 1 ] || [ "$n" = 8 ]; then
		record mem "inflight=$n" rss_src_kb "$rep" "$(sort -k1,1g "$W/mem.$n.$rep" | tail -n 1 | cut -d' ' -f1)"
		record mem "inflight=$n" pss_src_kb "$rep" "$(sort -k2,2g "$W/mem.$n.$rep" | tail -n 1 | cut -d' ' -f2)"
		record mem "inflight=$n" rss_dst_kb "$rep" "$(sort -k3,3g "$W/mem.$n.$rep" | tail -n 1 | cut -d' ' -f3)"
		record mem "inflight=$n" pss_dst_kb "$rep" "$(sort -k4,4g "$W/mem.$n.$rep" | tail -n 1 | cut -d' ' -f4)"
	fi
}

# -- case 5: evacuation ----------------------------------------------------

# xmig evacuate -j 2 of 8 x 256 MiB from a to b and e: its aggregate rate
# against two concurrent migrations (conc n=2), and its fairness.
evac_one() {
	local rep=$1 i t0 t1 rates=() r
	for i in $(seq 1 8); do
		domain_cfg "$W/v$i.cfg" "v$i" 256 0
		xa create "$W/v$i.cfg" >/dev/null || FAILS=$((FAILS + 1))
	done
	sleep 0.3
	t0=$(now_us)
	xa evacuate -j ${BENCH_EVAC_J:-2} > "$W/evac.$rep.out" 2>&1 ||
	    { FAILS=$((FAILS + 1)); echo "bench: evacuate failed: $(tail -n 2 "$W/evac.$rep.out")" >&2; }
	t1=$(now_us)
	xa maintenance off >/dev/null
	while read -r r; do
		rates+=("$r")
	done < <(sed -n 's/^v[0-9]* migrated to .*: \([0-9.]*\) MiB in .* \([0-9]*\) ms total.*/\1 \2/p' \
	    "$W/evac.$rep.out" | awk '{ printf "%.4f\n", $1 * 1048576 / ($2 / 1000) / 1e9 }')
	record evac "8x256MiB" aggregate_gbps "$rep" "$(awk -v b=$((8 * 256 * 1048576)) \
	    -v u=$((t1 - t0)) 'BEGIN { printf "%.3f", b / u / 1e3 }')"
	record evac "8x256MiB" fairness "$rep" "$(printf '%s\n' "${rates[@]}" |
	    sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
	    END { printf "%.3f", (hi > 0 ? lo / hi : 0) }')"
	record evac "8x256MiB" to_b "$rep" "$(grep -c "migrated to $HBADDR" "$W/evac.$rep.out")"
	for i in $(seq 1 8); do
		XMIG_CONFIG=$W/b/relocd.conf "$BIN/xmig" destroy "v$i" >/dev/null 2>&1
		XMIG_CONFIG=$W/e/relocd.conf "$BIN/xmig" destroy "v$i" >/dev/null 2>&1
		xa destroy "v$i" >/dev/null 2>&1
	done
}

# -- case 6: scale -----------------------------------------------------------

# Ten more relocds of this build (127.0.8.10-19), each with the nine
# others as relocation_peers, four 64 MiB domains on each; evacuate s0,
# then s1.  Each evacuation's wall time against the sum of its
# migrations' own times (what one at a time would take), and where
# placement sent them.
SCALE_N=10
scale_setup() {
	local i j peers conf
	for i in $(seq 0 $((SCALE_N - 1))); do
		sh "$ROOT/tests/pki/mkcerts.sh" "$PKI" "scale$i" "127.0.8.$((10 + i))" \
		    >/dev/null || die "PKI scale$i"
	done
	for i in $(seq 0 $((SCALE_N - 1))); do
		peers=
		for j in $(seq 0 $((SCALE_N - 1))); do
			[ "$j" = "$i" ] && continue
			peers="$peers${peers:+, }\"127.0.8.$((10 + j))\""
		done
		mkdir -p "$W/s$i/state"
		conf=$W/s$i/relocd.conf
		cat > "$conf" <<EOC
relocation_address = "127.0.8.$((10 + i))"
relocation_port = $PORT
relocation_hosts_allow = [ "127.0.8.0/24" ]
tls_ca_file = "$PKI/ca.pem"
tls_cert_file = "$PKI/scale$i.pem"
tls_key_file = "$PKI/scale$i.key"
control_socket = "$W/s$i/control.sock"
state_dir = "$W/s$i/state"
backend = "sim"
sim_hostname = "scale$i"
sim_memory_mb = 1024
user = "nobody"
relocation_peers = [ $peers ]
EOC
		"$BIN/relocd" -d -f "$conf" 2>"$W/s$i/relocd.log" &
		PIDS+=($!)
	done
	for i in $(seq 0 $((SCALE_N - 1))); do
		for j in $(seq 1 100); do
			[ -S "$W/s$i/control.sock" ] && break
			sleep 0.05
		done
		[ -S "$W/s$i/control.sock" ] || die "relocd s$i did not start"
		for j in 1 2 3 4; do
			domain_cfg "$W/s$i-$j.cfg" "s$i-d$j" 64 0
			XMIG_CONFIG=$W/s$i/relocd.conf "$BIN/xmig" create \
			    "$W/s$i-$j.cfg" >/dev/null || FAILS=$((FAILS + 1))
		done
	done
}

scale_evac() {
	local rep=$1 h=$2 out t0 t1
	out=$W/scale.$h.$rep.out
	t0=$(now_us)
	XMIG_CONFIG=$W/$h/relocd.conf "$BIN/xmig" evacuate > "$out" 2>&1 ||
	    { FAILS=$((FAILS + 1)); echo "bench: evacuate $h failed: $(tail -n 2 "$out")" >&2; }
	t1=$(now_us)
	record scale "evacuate-$h" wall_ms "$rep" "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1000 }')"
	record scale "evacuate-$h" sum_ms "$rep" "$(sed -n 's/.* \([0-9]*\) ms total.*/\1/p' "$out" |
	    awk '{ s += $1 } END { printf "%.1f", s }')"
	record scale "evacuate-$h" hosts_used "$rep" "$(sed -n 's/^.* migrated to \([0-9.]*\):.*/\1/p' "$out" |
	    sort -u | wc -l)"
	record scale "evacuate-$h" moved "$rep" "$(grep -c ' migrated to ' "$out")"
}

# -- run ---------------------------------------------------------------

note "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
note "memory: first touch of fresh shmem, then a warm pool"
memory_warm
for rep in $(seq 1 "$REPS"); do
	m=($(relocd_mem_kb "$RA") $(relocd_mem_kb "$RB"))
	record mem idle rss_src_kb "$rep" "${m[0]}"
	record mem idle pss_src_kb "$rep" "${m[1]}"
	record mem idle rss_dst_kb "$rep" "${m[2]}"
	record mem idle pss_dst_kb "$rep" "${m[3]}"
	if [[ $CASES == *" stream "* ]]; then
	note "stream rep $rep/$REPS"
	stream_relocd "$rep"
	stream_migrate "$rep"
	if [ -n "$BEFORE" ]; then
		use_pair before
		stream_relocd "$rep"
		stream_migrate "$rep"
		use_pair new
	fi
	stream_tcp "$rep"
	stream_tls "$rep"
	stream_socat "$rep"
	stream_ssh "$rep"
	fi
	if [[ $CASES == *" setup "* ]]; then
	note "setup rep $rep/$REPS"
	setup_relocd "$rep"
	setup_check "$rep"
	setup_ssh "$rep"
	fi
	if [[ $CASES == *" live "* ]]; then
	note "live rep $rep/$REPS"
	for mb in $SIZES; do
		for rate in $RATES; do
			live_one "$rep" "$mb" "$rate"
		done
	done
	fi
	if [[ $CASES == *" evac "* ]]; then
	note "evacuation rep $rep/$REPS"
	evac_one "$rep"
	fi
	if [[ $CASES == *" scale "* ]] && [ "$rep" = 1 ]; then
	note "scale: $SCALE_N hosts, 40 domains"
	scale_setup
	scale_evac "$rep" s0
	scale_evac "$rep" s1
	fi
	if [[ $CASES == *" copy "* ]]; then
	note "copy storage rep $rep/$REPS"
	[ "$rep" = 1 ] && copy_fs
	copy_one "$rep"
	fi
	if [[ $CASES == *" livecopy "* ]]; then
	note "live copy storage rep $rep/$REPS"
	[ "$rep" = 1 ] && [[ $CASES != *" copy "* ]] && copy_fs
	livecopy_one "$rep"
	fi
	if [[ $CASES == *" conc "* ]]; then
	note "concurrency rep $rep/$REPS"
	for n in $CONC; do
		conc_one "$rep" "$n"
	done
	fi
done

# -- report -------------------------------------------------------------

# min, median, max of every (case, variant, metric).
awk -F, 'NR > 1 { k = $1 "," $2 "," $3; v[k] = v[k] " " $5 }
    END { for (k in v) print k "," v[k] }' "$CSV" | sort |
while IFS=, read -r c v m vals; do
	echo "$c,$v,$m,$(echo $vals | tr ' ' '\n' | sort -g | awk '
	    { a[NR] = $1 } END { printf "%s,%s,%s", a[1],
	    (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2,
	    a[NR] }')"
done > "$SUM.body"
{ echo "case,variant,metric,min,median,max"; cat "$SUM.body"; } > "$SUM"
rm -f "$SUM.body"

med() { awk -F, -v c="$1" -v v="$2" -v m="$3" \
    '$1 == c && $2 == v && $3 == m { print $5 }' "$SUM"; }
p99() { awk -F, -v c="$1" -v v="$2" -v m="$3" \
    '$1 == c && $2 == v && $3 == m { print $5 }' "$CSV" | sort -g |
    awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); print a[i] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN {
    ok = (op == ">=") ? (x >= t) : (x <= t); print ok ? "met" : "MISSED" }'; }

{
echo "| case | variant | metric | min | median | max |"
echo "|---|---|---|---|---|---|"
tail -n +2 "$SUM" | awk -F, '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "| target | measured (medians, same run) | |"
echo "|---|---|---|"
rg=$(med stream relocd gbps)
x=$(ratio "$rg" "$(med stream socat-tls-128k gbps)")
echo "| data path >= 0.95x socat TLS -b 131072 | ${x}x ($rg GB/s) | $(verdict "$x" '>=' 0.95) |"
x=$(ratio "$rg" "$(med stream ssh-default gbps)")
echo "| data path >= 3x ssh default cipher | ${x}x | $(verdict "$x" '>=' 3) |"
echo "| (reference) data path / raw TCP, / C TLS loop | $(ratio "$rg" "$(med stream tcp gbps)")x, $(ratio "$rg" "$(med stream tls-loop gbps)")x | |"
x=$(med stream relocd-migrate-sim gbps)
echo "| (reference) whole 2 GiB sim migration, storing guest memory: / socat, / ssh | $(ratio "$x" "$(med stream socat-tls-128k gbps)")x, $(ratio "$x" "$(med stream ssh-default gbps)")x ($x GB/s; CPU $(med stream relocd-migrate-sim cpu_send) / $(med stream relocd-migrate-sim cpu_recv) s/GiB) | |"
echo "| (reference) C TLS loop CPU, source / destination | $(med stream tls-loop cpu_send) / $(med stream tls-loop cpu_recv) s/GiB | |"
x=$(med stream relocd cpu_send)
echo "| CPU <= 0.9 s/GiB, source side | $x s/GiB | $(verdict "$x" '<=' 0.9) |"
x=$(med stream relocd cpu_recv)
echo "| CPU <= 0.9 s/GiB, destination side | $x s/GiB | $(verdict "$x" '<=' 0.9) |"
x=$(med setup relocd ms)
echo "| setup p50 <= 10 ms | $x ms | $(verdict "$x" '<=' 10) |"
x=$(ratio "$(med setup ssh-true ms)" "$x")
echo "| setup >= 20x faster than ssh HOST true | ${x}x | $(verdict "$x" '>=' 20) |"
echo "| (reference) setup p99: relocd, ssh HOST true | $(p99 setup relocd ms) ms, $(p99 setup ssh-true ms) ms | |"
x=$(med setup relocd-check ms)
echo "| (reference) xmig check / xmig list -H (both one TLS request) | $(ratio "$x" "$(med setup relocd ms)")x ($x vs $(med setup relocd ms) ms) | |"
x=$(med memory 256MiB-shmem first_touch_slowest_ms)
[ -n "$x" ] && echo "| (reference) this machine: writing 256 MiB of fresh shmem, slowest / fastest chunk (host backs reported pages on first touch) | $(ratio "$x" "$(med memory 256MiB-shmem first_touch_fastest_ms)")x ($x vs $(med memory 256MiB-shmem first_touch_fastest_ms) ms); free page reporting $( [ -n "${BENCH_COLD_MEMORY:-}" ] && echo "left on (BENCH_COLD_MEMORY)" || echo "paused for the cases") | |"
if [ -n "$BEFORE" ]; then
	x=$(ratio "$(med stream relocd gbps)" "$(med stream relocd-before gbps)")
	echo "| this build's data path / the build before (same run) | ${x}x ($(med stream relocd gbps) vs $(med stream relocd-before gbps) GB/s; vs socat: $(ratio "$(med stream relocd gbps)" "$(med stream socat-tls-128k gbps)")x vs $(ratio "$(med stream relocd-before gbps)" "$(med stream socat-tls-128k gbps)")x) | |"
	x=$(ratio "$(med stream relocd-migrate-sim gbps)" "$(med stream relocd-migrate-sim-before gbps)")
	echo "| this build's whole 2 GiB sim migration / the build before | ${x}x ($(med stream relocd-migrate-sim gbps) vs $(med stream relocd-migrate-sim-before gbps) GB/s; CPU $(med stream relocd-migrate-sim cpu_send) / $(med stream relocd-migrate-sim cpu_recv) vs $(med stream relocd-migrate-sim-before cpu_send) / $(med stream relocd-migrate-sim-before cpu_recv) s/GiB) | |"
	x=$(ratio "$(med setup relocd ms)" "$(med setup relocd-before ms)")
	echo "| this build's setup time / the build before | ${x}x ($(med setup relocd ms) vs $(med setup relocd-before ms) ms; vs ssh true: $(ratio "$(med setup ssh-true ms)" "$(med setup relocd ms)")x vs $(ratio "$(med setup ssh-true ms)" "$(med setup relocd-before ms)")x) | |"
fi
if [ -n "$(med copy ${COPY_SIZE_MB}MiB-sparse gbps)" ]; then
	x=$(med copy ${COPY_SIZE_MB}MiB-sparse ratio)
	echo "| --copy-storage, ${COPY_SIZE_MB} MiB sparse image with ${COPY_DATA_MB} MiB of data: copy rate of allocated bytes >= 0.9x speedtest (each copy against the speedtest just before it, median; images on $COPY_FS) | ${x}x ($(med copy ${COPY_SIZE_MB}MiB-sparse gbps) vs $(med copy speedtest gbps) GB/s; $(med copy ${COPY_SIZE_MB}MiB-sparse data_mb) MiB sent; sending alone $(med copy ${COPY_SIZE_MB}MiB-sparse send_gbps) GB/s) | $(verdict "$x" '>=' 0.9) |"
fi
if [ -n "$(med livecopy disk downtime_ms)" ]; then
	echo "| (reference) live --copy-storage, idle 64 MiB domain with ${COPY_DATA_MB} MiB of disk data: downtime against the same domain without disks | $(med livecopy disk downtime_ms) vs $(med livecopy nodisk downtime_ms) ms (total $(med livecopy disk total_ms) vs $(med livecopy nodisk total_ms) ms) | |"
fi
x=$(med live 256MiB@2000 downtime_ms)
echo "| 256 MiB @ 2000 pages/s: downtime <= 20 ms (source's figure) | $x ms | $(verdict "$x" '<=' 20) |"
x=$(med live 256MiB@2000 sent_per_mem)
echo "| 256 MiB @ 2000 pages/s: bytes sent <= 1.2x memory | ${x}x | $(verdict "$x" '<=' 1.2) |"
if [ -n "$(med scale evacuate-s0 wall_ms)" ]; then
	for h in s0 s1; do
		x=$(ratio "$(med scale evacuate-$h wall_ms)" "$(med scale evacuate-$h sum_ms)")
		echo "| (reference) scale, 10 hosts: evacuate $h, wall / its migrations one by one | ${x}x ($(med scale evacuate-$h wall_ms) vs $(med scale evacuate-$h sum_ms) ms; $(med scale evacuate-$h moved) moved to $(med scale evacuate-$h hosts_used) hosts) | |"
	done
fi
if [ -n "$(med conc n=8 aggregate_gbps)" ]; then
	x=$(ratio "$(med conc n=8 aggregate_gbps)" "$(med conc n=2 aggregate_gbps)")
	echo "| 8 concurrent: aggregate >= 0.85x 2-stream | ${x}x | $(verdict "$x" '>=' 0.85) |"
	x=$(med conc n=8 fairness)
	echo "| 8 concurrent: fairness (slowest/fastest) >= 0.8 | $x | $(verdict "$x" '>=' 0.8) |"
fi
if [ -n "$(med evac 8x256MiB aggregate_gbps)" ]; then
	x=$(ratio "$(med evac 8x256MiB aggregate_gbps)" "$(med conc n=2 aggregate_gbps)")
	echo "| evacuate 8 x 256 MiB to two peers (-j 2): aggregate >= 0.85x 2 concurrent | ${x}x ($(med evac 8x256MiB aggregate_gbps) GB/s; $(med evac 8x256MiB to_b) of 8 to b) | $(verdict "$x" '>=' 0.85) |"
	x=$(med evac 8x256MiB fairness)
	echo "| evacuate: fairness (slowest/fastest) >= 0.8 | $x | $(verdict "$x" '>=' 0.8) |"
fi
if [ -n "$(med conc n=8 aggregate_gbps)" ]; then
	x=$(awk -F, '$1 == "conc" && $3 == "failures" { s += $5 } END { print s + 0 }' "$CSV")
	echo "| concurrent: no failures | $x failed | $(verdict "$x" '<=' 0) |"
	# RSS counts every shared-library page a process has touched, once
	# per process; PSS shares them out, so it is what a worker adds.
	x=$(med mem idle rss_src_kb)
	echo "| RSS idle <= 8 MB (VmRSS; PSS $(med mem idle pss_src_kb) kB) | $x kB | $(verdict "$x" '<=' 8192) |"
	for k in rss pss; do
		x=$(awk -v a="$(med mem inflight=8 ${k}_src_kb)" -v b="$(med mem idle ${k}_src_kb)" 'BEGIN { printf "%d", (a - b) / 8 }')
		y=$(awk -v a="$(med mem inflight=8 ${k}_dst_kb)" -v b="$(med mem idle ${k}_dst_kb)" 'BEGIN { printf "%d", (a - b) / 8 }')
		echo "| <= 1.5 MB more per migration in flight, $k (source / destination) | $x / $y kB | $(verdict "$((x > y ? x : y))" '<=' 1536) |"
	done
fi
echo
echo "integrity: $FAILS failed or corrupt migrations"
} > "$TAB"

# The plot: stream throughput per transport, and live-migration downtime.
awk -F, '$1 == "stream" && $3 == "gbps" { print $2, $4, $5, $6 }' "$SUM" |
    sort -k3,3g > "$HB/stream.dat"
for mb in $SIZES; do
	for rate in $RATES; do
		awk -F, -v v="${mb}MiB@$rate" '$1 == "live" && $2 == v &&
		    $3 == "downtime_ms" { print $2, $4, $5, $6 }' "$SUM"
	done
done > "$HB/downtime.dat"
awk -F, '$1 == "conc" && $3 == "aggregate_gbps" { print $2, $4, $5, $6 }' "$SUM" \
    > "$HB/conc.dat"
gnuplot <<EOG 2>"$HB/gnuplot.err" || echo "bench: gnuplot failed: $(cat "$HB/gnuplot.err")" >&2
set terminal pngcairo size 1200,420 noenhanced
set output "$HB/bench.png"
set multiplot layout 1,3 title "make bench, $(date -u +%Y-%m-%d), $(nproc) CPUs (min/median/max of $REPS runs)"
set style data histogram
set style fill solid 0.6
set boxwidth 0.6
set grid ytics
set xtics rotate by -30
set yrange [0:*]
set title "stream throughput (GB/s)"
plot "$HB/stream.dat" using 0:3:2:4:xticlabels(1) with yerrorbars notitle lc rgb "black", \
     "" using 0:3 with boxes notitle lc rgb "#4477aa"
set title "live migration downtime (ms, source's figure)"
plot "$HB/downtime.dat" using 0:3:2:4:xticlabels(1) with yerrorbars notitle lc rgb "black", \
     "" using 0:3 with boxes notitle lc rgb "#cc6677"
set title "concurrent migrations: aggregate (GB/s)"
plot "$HB/conc.dat" using 0:3:2:4:xticlabels(1) with yerrorbars notitle lc rgb "black", \
     "" using 0:3 with boxes notitle lc rgb "#228833"
unset multiplot
EOG

echo "make bench: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r), $((SECONDS - T0)) s"
cat "$TAB"
echo
echo "samples: $CSV; summary: $SUM; plot: $HB/bench.png"
[ "$FAILS" -eq 0 ]
