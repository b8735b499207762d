#!/bin/bash
# Maintenance at run time: xmig maintenance on makes B refuse incoming
# migrations with the reason, without a restart, and B stays so across a
# restart until xmig maintenance off; host-info shows it, locally and to
# a peer.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta
conf_host b 127.0.0.3 hostb
start_host a || exit 1
start_host b || exit 1
domain_conf "$W/web1.cfg" web1 32 200 50
check "create web1 on A" xmig_on a create "$W/web1.cfg"
check "web1 ticks on A" wait_for "$(console_log a web1)" "tick 2" 10

REASON="is in maintenance (xmig maintenance on); it refuses incoming migrations"

# host_info_is HOST KEY VALUE [xmig host-info options...]
host_info_is() {
	local host=$1 key=$2 value=$3
	shift 3
	xmig_on "$host" host-info "$@" > "$W/hi.out" 2>&1 &&
	    grep -Eq "^$key +: $value\$" "$W/hi.out"
}

untouched() {
	local before after
	check "web1 still running at A ($1)" [ "$(dom_state a web1)" = "r-----" ]
	check "nothing of web1 on B ($1)" sh -c "! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -q web1"
	before=$(last_tick "$(console_log a web1)")
	sleep 0.3
	after=$(last_tick "$(console_log a web1)")
	check "web1 keeps ticking at A ($1)" [ "${after:-0}" -gt "${before:-0}" ]
}

# refused WHAT: a live migration A -> B fails with B's reason, exit 1.
refused() {
	local rc
	xmig_on a migrate -l web1 127.0.0.3 > "$W/refused.out" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/refused.out"
	check "migrate to B in maintenance exits 1 ($1, got $rc)" [ $rc -eq 1 ]
	check "xmig gives B's reason ($1)" grep -qF "$REASON" "$W/refused.out"
	untouched "$1"
}

# 1. Off by default, and said so.
out=$(xmig_on b maintenance 2>&1); rc=$?
check "maintenance without an argument exits 0 ($out)" [ $rc -eq 0 ]
check "it says maintenance is off" sh -c "echo \"\$0\" | grep -q '^maintenance off'" "$out"
check "host-info: accept_migrations true" host_info_is b accept_migrations true
check "host-info: maintenance false" host_info_is b maintenance false
xmig_on b maintenance sometimes >/dev/null 2>&1
check "maintenance with a bad argument is a usage error" [ $? -eq 2 ]
xmig_on b maintenance on -H hosta >/dev/null 2>&1
check "maintenance takes no host: usage error" [ $? -eq 2 ]

# 2. On, without a restart.
pid_before=$(cat "$W/b/relocd.pid")
out=$(xmig_on b maintenance on 2>&1); rc=$?
check "maintenance on exits 0 ($out)" [ $rc -eq 0 ]
check "it says incoming migrations are refused" sh -c "echo \"\$0\" | grep -q '^maintenance on since .*: this host refuses incoming migrations'" "$out"
check "B logs who turned it on" grep -q "uid [0-9]* pid [0-9]*: maintenance on" "$W/b/relocd.log"
check "the state is in B's state_dir" [ -f "$W/b/state/maintenance.json" ]
check "B's relocd was not restarted" sh -c "[ \"\$(cat '$W/b/relocd.pid')\" = '$pid_before' ] && kill -0 '$pid_before'"
check "host-info: accept_migrations false" host_info_is b accept_migrations false
check "host-info: maintenance true" host_info_is b maintenance true
check "host-info: since when and by whom" grep -Eq "^maintenance_since +: [0-9-]+T[0-9:]+Z by uid [0-9]+ pid [0-9]+\$" "$W/hi.out"
check "A sees it in B's host-info (over TLS)" host_info_is a maintenance true -H 127.0.0.3
check "A sees B refusing" host_info_is a accept_migrations false -H 127.0.0.3
out=$(xmig_on b maintenance on 2>&1); rc=$?
check "on again exits 0 and says it already was ($out)" sh -c "[ $rc -eq 0 ] && echo \"\$0\" | grep -q 'already on'" "$out"
refused "maintenance on"
check "B logs the refusal with the reason" sh -c "grep 'refused migration: ' '$W/b/relocd.log' | grep -qF '$REASON'"
# Stock xl through xmig tunnel announces no config: B refuses it at the
# request, before its banner, so xl never starts to save.
timeout 30 env XMIG_CONFIG="$W/a/relocd.conf" "$XMIG" tunnel 127.0.0.3 \
    xl migrate-receive < /dev/null > "$W/tun.out" 2> "$W/tun.err"
rc=$?
sed 's/^/    | /' "$W/tun.err"
check "xl through the tunnel is refused too (exit 1, got $rc)" [ $rc -eq 1 ]
check "with B's reason" grep -qF "$REASON" "$W/tun.err"
check "before B's xl banner" [ ! -s "$W/tun.out" ]

# 3. It survives a restart.
stop_host b
start_host b || exit 1
check "host-info after a restart: maintenance true" host_info_is b maintenance true
check "host-info after a restart: accept_migrations false" host_info_is b accept_migrations false
refused "after a restart"

# 4. Off: migrations are accepted again, without a restart.
pid_before=$(cat "$W/b/relocd.pid")
out=$(xmig_on b maintenance off 2>&1); rc=$?
check "maintenance off exits 0 ($out)" [ $rc -eq 0 ]
check "it says migrations are accepted" sh -c "echo \"\$0\" | grep -q '^maintenance off: this host accepts incoming migrations'" "$out"
check "the state is gone from B's state_dir" [ ! -e "$W/b/state/maintenance.json" ]
check "host-info: maintenance false again" host_info_is b maintenance false
check "host-info: accept_migrations true again" host_info_is b accept_migrations true
xmig_on a migrate -l web1 127.0.0.3 > "$W/ok.out" 2>&1
rc=$?
sed 's/^/    | /' "$W/ok.out"
check "migrate after maintenance off exits 0 (got $rc)" [ $rc -eq 0 ]
check "B's relocd was not restarted to accept it" [ "$(cat "$W/b/relocd.pid")" = "$pid_before" ]
assert_only_on b a web1
check "B's guest verified its memory" wait_for "$(console_log b web1)" "verified [0-9]* pages" 10

# 5. accept_migrations = 0 in relocd.conf still wins over "off", and
#    xmig says so.
stop_host b
conf_set b accept_migrations 0
start_host b || exit 1
out=$(xmig_on b maintenance off 2>&1); rc=$?
check "off with accept_migrations = 0 exits 0 ($out)" [ $rc -eq 0 ]
check "it says relocd.conf still refuses" sh -c "echo \"\$0\" | grep -q 'accept_migrations = 0 in relocd.conf still refuses'" "$out"
check "host-info: accept_migrations false, maintenance false" sh -c "
    XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' host-info | grep -Eq '^accept_migrations +: false\$' &&
    XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' host-info | grep -Eq '^maintenance +: false\$'"

xmig_on b destroy web1 >/dev/null
finish
