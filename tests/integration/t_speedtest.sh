#!/bin/bash
# xmig speedtest HOST: a stream with no domain behind it, through both
# relocds over the migration path (mutual TLS, allow-list, slots).  The
# result is reported from both sides; a -r limit holds; a peer the
# destination does not allow is refused; a stream cut mid-way is named
# in the destination's log and leaves both daemons serving.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || exit 1
start_host b || exit 1

out=$(xmig_on a speedtest -s 64 127.0.0.3 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "speedtest exits 0 (got $rc)" [ $rc -eq 0 ]
check "it reports 64 MiB, a rate, TLS 1.3 and the cipher" sh -c "echo \"\$0\" | grep -q '^127.0.0.3: 64 MiB in [0-9.]* s: [0-9.]* GB/s ([0-9.]* Gbit/s), TLSv1.3 TLS_AES_128_GCM_SHA256$'" "$out"
check "it reports relocd's CPU on both sides" sh -c "echo \"\$0\" | grep -q 'relocd CPU: [0-9.]* s/GiB here (sending), [0-9.]* s/GiB there (receiving)'" "$out"
check "B received exactly 64 MiB from hosta" \
    grep -q "(/O=relocd test cluster/CN=hosta): speedtest: received 67108864 bytes" "$W/b/relocd.log"

# The limit is an upper bound the token bucket enforces, whatever the
# machine's speed: 8 MiB at 100 Mbit/s must take at least 0.67 s.
out=$(xmig_on a speedtest -s 8 -r 100 127.0.0.3 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "speedtest -r 100 exits 0 (got $rc)" [ $rc -eq 0 ]
gbit=$(echo "$out" | sed -n 's/.*GB\/s (\([0-9.]*\) Gbit\/s).*/\1/p')
check "speedtest -r 100 stays at or under 100 Mbit/s (got ${gbit:-none} Gbit/s)" \
    awk -v g="${gbit:-9}" 'BEGIN { exit !(g <= 0.105) }'

# Usage errors: exit 2 before anything is sent.
for args in "-s 0 127.0.0.3" "-s 65537 127.0.0.3" "-r x 127.0.0.3" ""; do
	xmig_on a speedtest $args > "$W/usage.out" 2>&1; rc=$?
	check "speedtest $args: usage, exit 2 (got $rc)" [ $rc -eq 2 ]
done

# A host that does not allow us: refused with B's reason, exit 1.
stop_host b
conf_set b relocation_hosts_allow '[ "hostc" ]'
start_host b || exit 1
out=$(xmig_on a speedtest -s 8 127.0.0.3 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "speedtest to a host that does not allow us exits 1 (got $rc)" [ $rc -eq 1 ]
check "... and says the allow-list refused it" sh -c "echo \"\$0\" | grep -qi 'not allowed\|allow-list\|refused'" "$out"
check "B's log names the refused peer" grep -q "hosta" "$W/b/relocd.log"

# Cut mid-way: the sending network process dies 1 s into a 2 GiB stream limited to
# 200 Mbit/s (about 86 s if left alone).
stop_host b
conf_set b relocation_hosts_allow '[ "hosta" ]'
start_host b || exit 1
xmig_on a speedtest -s 2048 -r 200 127.0.0.3 > "$W/cut.out" 2>&1 &
XP=$!
PIDS="$PIDS $XP"
check "the stream started" wait_for "$W/b/relocd.log" "speedtest request" 10
sleep 1
cw=$(net_procs a relocd-ctl | head -n 1)
check "found A's sending network process" [ -n "$cw" ]
[ -n "$cw" ] && kill -9 "$cw"
wait $XP; rc=$?
sed 's/^/    | /' "$W/cut.out"
check "xmig exits 1 when the sender dies (got $rc)" [ $rc -eq 1 ]
check "B names the cut stream in one line" \
    wait_for "$W/b/relocd.log" "speedtest ended after [0-9]* of 2147483648 bytes" 15
out=$(xmig_on a speedtest -s 16 127.0.0.3 2>&1); rc=$?
check "both relocds serve the next speedtest (got $rc)" [ $rc -eq 0 ]

# stream_buffer_kb bounds a stream's socket buffers on both ends (the
# kernel doubles what it is given; autotuning would show other sizes).
stop_host a
stop_host b
conf_set a stream_buffer_kb 96
conf_set b stream_buffer_kb 96
start_host a || exit 1
start_host b || exit 1
xmig_on a speedtest -s 24 -r 100 127.0.0.3 > "$W/win.out" 2>&1 &
XP=$!
PIDS="$PIDS $XP"
wait_for "$W/b/relocd.log" "speedtest request" 10
sleep 1
ss -tmn state established "( sport = :$PORT )" > "$W/ss.b" 2>&1
ss -tmn state established "( dport = :$PORT )" > "$W/ss.a" 2>&1
wait $XP
sed 's/^/    | /' "$W/ss.b" "$W/ss.a"
check "B's receiving socket has rb196608" grep -q 'rb196608,' "$W/ss.b"
check "A's sending socket has tb196608" grep -q 'tb196608,' "$W/ss.a"
conf_set a stream_buffer_kb 32
out=$("$RELOCD" -n -f "$W/a/relocd.conf" 2>&1); rc=$?
check "stream_buffer_kb = 32: relocd -n exits 1 (got $rc)" [ $rc -eq 1 ]
check "... naming the file, line and range" sh -c "echo \"\$0\" | grep -q 'relocd.conf:[0-9]*: stream_buffer_kb: 32 is out of range (64..65536)'" "$out"
finish
