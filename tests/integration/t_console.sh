#!/bin/bash
# Consoles in a real terminal (tmux): attach, type and see the guest's
# echo, watch ticks; migrate the domain under an attached console and see
# the same xmig process reconnect on the new host; detach with Ctrl-] and
# get the terminal back.  A third host watches with -H; a host the
# domain's new host does not allow is told so; a missing domain is an
# error; migrate --console lands on the destination's console.
. "$(dirname "$0")/lib.sh"

TMUX_SOCK=$W/tmux.sock
tm() { TERM=xterm tmux -S "$TMUX_SOCK" "$@"; }
tmux_cleanup() {
	[ -S "$TMUX_SOCK" ] && tm kill-server 2>/dev/null
	cleanup
}
trap tmux_cleanup EXIT INT TERM

# pane WINDOW: the window's text, history included.
pane() { tm capture-pane -p -J -t "t:$1" -S -1000 2>/dev/null; }
# pane_wait WINDOW PATTERN SECONDS [MARK]: bounded poll for a line in a
# window (only after the last line matching MARK, if given).
pane_wait() {
	local win=$1 pat=$2 secs=$3 mark=${4:-} i
	for i in $(seq 1 $((secs * 10))); do
		if [ -n "$mark" ]; then
			pane "$win" | tac | sed "/$mark/q" | grep -q -- "$pat" &&
			    return 0
		else
			pane "$win" | grep -q -- "$pat" && return 0
		fi
		sleep 0.1
	done
	return 1
}
# The pid of the shell in a window and of the command it runs.
shell_pid() { tm display-message -p -t "t:$1" '#{pane_pid}'; }
child_pid() { ps -o pid= --ppid "$(shell_pid "$1")" | head -n 1 | tr -d ' '; }
# last_pane_tick WINDOW [AFTER-PATTERN]: the last tick shown after a line.
last_pane_tick() {
	pane "$1" | sed -n "/${2:-^}/,\$p" | grep -o 'tick [0-9]*' |
	    tail -n 1 | cut -d' ' -f2
}
# wait_pane_tick WIN AFTER SECS: the last tick printed after the line
# matching AFTER, waiting up to SECS for one to come (a guest ticks every
# sim_tick_ms, so right after another line there may be none yet).
wait_pane_tick() {
	local i t
	for i in $(seq 1 $(($3 * 10))); do
		t=$(last_pane_tick "$1" "$2")
		[ -n "$t" ] && break
		sleep 0.1
	done
	echo "$t"
}
run_in() {
	local win=$1
	shift
	tm send-keys -t "t:$win" "$*" Enter
}
dump_pane() { pane "$1" | grep -v '^$' | tail -n "${2:-12}" | sed 's/^/    | /'; }

conf_host a 127.0.0.2 hosta
# B does not allow hostc: a console on C cannot follow a domain there.
conf_host b 127.0.0.3 hostb
conf_set b relocation_hosts_allow '[ "hosta", "hostb" ]'
conf_host c 127.0.0.4 hostc
start_host a || exit 1
start_host b || exit 1
start_host c || exit 1

domain_conf "$W/web1.cfg" web1 32 200 100
check "create web1 on A" xmig_on a create "$W/web1.cfg"
check "web1 ticks on A" wait_for "$(console_log a web1)" "tick 3" 10

# Errors that need no terminal.
out=$(xmig_on a console nosuch </dev/null 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "console of a missing domain exits 1 (got $rc)" [ $rc -eq 1 ]
check "... and names it" sh -c "echo \"\$0\" | grep -q \"'nosuch' does not exist\"" "$out"
out=$(xmig_on c console -H 127.0.0.2 nosuch </dev/null 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "remote console of a missing domain exits 1 (got $rc)" [ $rc -eq 1 ]
check "... and names it" sh -c "echo \"\$0\" | grep -q \"'nosuch' does not exist\"" "$out"
out=$(xmig_on c console -H 127.0.0.3 web1 </dev/null 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
check "console from a host B does not allow exits 1 (got $rc)" [ $rc -eq 1 ]
check "... saying it is not in B's allow-list" sh -c "echo \"\$0\" | grep -q 'not in this host.s relocation_hosts_allow'" "$out"
xmig_on a console </dev/null >/dev/null 2>&1; rc=$?
check "console without a domain is a usage error (got $rc)" [ $rc -eq 2 ]

# Three terminals: A's own console, C watching A's domain with -H, and
# one for migrate --console later.
tm -f /dev/null new-session -d -s t -n a -x 120 -y 40 \
    "env -i PATH=$PATH HOME=$W TERM=xterm PS1='$ ' bash --norc --noprofile" ||
    { fail "tmux did not start"; finish; }
tm new-window -d -t t -n c \
    "env -i PATH=$PATH HOME=$W TERM=xterm PS1='$ ' bash --norc --noprofile"
tm new-window -d -t t -n m \
    "env -i PATH=$PATH HOME=$W TERM=xterm PS1='$ ' bash --norc --noprofile"
XA="XMIG_CONFIG=$W/a/relocd.conf $XMIG"
XB="XMIG_CONFIG=$W/b/relocd.conf $XMIG"
XC="XMIG_CONFIG=$W/c/relocd.conf $XMIG"

run_in a "$XA console web1; echo XMIG-EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon -e echo -e -echo | sed 's/^/TTY-/'"
check "attached on A" pane_wait a "attached to web1; Ctrl-] detaches" 10
check "recent output shown first" pane_wait a "tick [0-9]" 5
t1=$(last_pane_tick a)
check "ticks advance on A's console" pane_wait a "tick $((t1 + 2))" 10
pid_a=$(child_pid a)
check "xmig runs in window a (pid $pid_a)" [ -n "$pid_a" ]
tty_a=$(tm display-message -p -t t:a '#{pane_tty}')
check "the pane's terminal is raw while attached" sh -c "stty -a -F '$tty_a' | grep -q -- '-icanon'"
tm send-keys -t t:a "hello-from-a" Enter
check "typed line reaches the guest (echo)" pane_wait a "echo: hello-from-a" 10
check "the guest's log has it too" wait_for "$(console_log a web1)" "echo: hello-from-a" 5

run_in c "$XC console -H 127.0.0.2 web1; echo XMIG-EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon | sed 's/^/TTY-/'"
check "host C attached to web1 on A with -H" pane_wait c "attached to web1 on 127.0.0.2" 10
check "C sees ticks" pane_wait c "tick [0-9]" 10
tm send-keys -t t:c "typed-on-c" Enter
check "C's input reaches the guest" pane_wait c "echo: typed-on-c" 10
check "A's watcher sees C's input too (shared console)" pane_wait a "echo: typed-on-c" 10

# Migrate under both consoles.
xmig_on a migrate -l web1 127.0.0.3 > "$W/mig1.out" 2>&1; rc=$?
sed 's/^/    | /' "$W/mig1.out"
check "live migrate A -> B exits 0 (got $rc)" [ $rc -eq 0 ]
assert_only_on b a web1
check "A's console reconnects on B by itself" \
    pane_wait a "\[xmig: web1 moved to 127.0.0.3:$PORT, reconnected\]" 15
check "the same xmig process (pid $pid_a) still runs it" \
    [ "$(child_pid a)" = "$pid_a" ]
check "B's guest verified its memory, shown after the move" \
    pane_wait a "verified [0-9]* pages" 10
t2=$(wait_pane_tick a "moved to" 5)
check "ticks continue after the move (at ${t2:-none})" [ -n "$t2" ]
[ -n "$t2" ] || t2=0
check "ticks advance on B's console" pane_wait a "tick $((t2 + 2))" 10
lasta=$(last_tick "$(console_log a web1--migratedaway)")
check "B's ticks continue A's (A's last was $lasta)" pane_wait a "tick $((lasta + 1))" 5
tm send-keys -t t:a "hello-after-move" Enter
check "input reaches the guest on B" pane_wait a "echo: hello-after-move" 10
check "B's log has it" wait_for "$(console_log b web1)" "echo: hello-after-move" 5
check "C is told B refuses it" \
    pane_wait c "web1 moved to 127.0.0.3:$PORT, but attaching there failed: .*relocation_hosts_allow" 15
check "C's xmig exits 1" pane_wait c "XMIG-EXIT=1" 10
check "C's terminal is restored (icanon)" pane_wait c "^TTY-icanon" 5
dump_pane c 8

# Detach with Ctrl-].
tm send-keys -t t:a C-]
check "Ctrl-] detaches" pane_wait a "detached from web1\]" 10
check "xmig exits 0 on detach" pane_wait a "XMIG-EXIT=0" 10
check "terminal restored: icanon" pane_wait a "^TTY-icanon" 5
check "terminal restored: echo" pane_wait a "^TTY-echo" 5
check "xmig is gone" sh -c "! kill -0 $pid_a 2>/dev/null"
dump_pane a 10

# A signal restores the terminal too.
run_in a "$XB console --no-tail web1; echo XMIG-EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon | sed 's/^/TTY2-/'"
check "attached on B (no tail)" pane_wait a "attached to web1; Ctrl-]" 10 "console --no-tail web1"
check "ticks come" pane_wait a "^tick [0-9]" 10 "console --no-tail web1"
pid=$(child_pid a)
[ -n "$pid" ] && kill -TERM "$pid"
check "SIGTERM detaches" pane_wait a "detached from web1 (signal 15)" 10 "console --no-tail web1"
check "terminal restored after SIGTERM" pane_wait a "^TTY2-icanon" 5

# migrate --console B -> A: attached on A as soon as it runs there.
run_in m "$XB migrate --console -p $PORT web1 127.0.0.2; echo XMIG-EXIT=\$?"
check "migrate --console reports the migration" pane_wait m "web1 migrated to 127.0.0.2" 30
check "... and attaches on the destination" \
    pane_wait m "attached to web1 on 127.0.0.2:$PORT; Ctrl-] detaches" 10
check "... showing its output there" pane_wait m "verified [0-9]* pages" 10
tm send-keys -t t:m "after-migrate-console" Enter
check "input reaches the guest on A" pane_wait m "echo: after-migrate-console" 10
check "it runs on A's log" wait_for "$(console_log a web1)" "echo: after-migrate-console" 5
assert_only_on a b web1

# The domain ends while watched: the console says so and exits 0.
xmig_on a destroy web1
check "destroy ends the console" pane_wait m "console closed: web1 is no longer on this host" 10
check "xmig exits 0 then" pane_wait m "XMIG-EXIT=0" 5
dump_pane m 6

# A dropped connection: the worker serving the console dies.
domain_conf "$W/web2.cfg" web2 16 0 100
check "create web2 on B" xmig_on b create "$W/web2.cfg"
run_in a "$XB console web2; echo XMIG-EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon | sed 's/^/TTY3-/'"
check "attached to web2" pane_wait a "attached to web2; Ctrl-]" 10 "console web2;"
check "web2 ticks" pane_wait a "^tick [0-9]" 10 "console web2;"
# The network process that serves it is a child of the session's helper,
# a child of the daemon.
w=$(net_procs b relocd-ctl)
check "one control network process serves it on B ($w)" [ "$(echo $w | wc -w)" -eq 1 ]
[ -n "$w" ] && kill -9 $w
check "xmig says the console was lost" pane_wait a "lost the console of web2" 10 "console web2;"
check "xmig exits 1 then" pane_wait a "XMIG-EXIT=1" 5 "console web2;"
check "terminal restored after the drop" pane_wait a "^TTY3-icanon" 5
xmig_on b destroy web2
# What the operator saw, for the logs.
for win in a c m; do pane $win > "$W/pane-$win.txt"; done

finish
