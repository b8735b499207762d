#!/bin/bash
# The libxl backend is a module, relocd-libxl.so, that relocd loads only
# for backend = "libxl": a sim host maps no Xen library, a libxl host
# unmaps them again after its startup check, its workers load the module
# the daemon started with even when an upgrade replaced the file, and a
# module that cannot be loaded or a host without Xen gets a message
# naming the problem.
. "$(dirname "$0")/lib.sh"

MOD=$BUILD/relocd-libxl.so
FAKEXEN=$BUILD/tests/tools/fakexen.so

# no_xen_mapped PID: true when PID maps neither a Xen library nor the
# module; else shows what it maps.
no_xen_mapped() {
	grep -E '/(libxen|libxl|relocd-libxl)' "/proc/$1/maps" > "$W/maps.$1"
	[ -s "$W/maps.$1" ] || return 0
	awk '{ print "    | " $NF }' "$W/maps.$1" | sort -u
	return 1
}

conf_host a 127.0.0.2 hosta
start_host a || { finish; }
pid=$(cat "$W/a/relocd.pid")
check "a sim host maps no Xen library" no_xen_mapped "$pid"
if command -v readelf >/dev/null; then
	check "relocd does not link a Xen library" \
	    sh -c "! readelf -d '$RELOCD' | grep NEEDED | grep -q libxen"
fi
stop_host a

if [ ! -f "$MOD" ]; then
	say "skip: $MOD was not built (no libxen-dev here): the libxl checks"
	finish
fi

conf_host b 127.0.0.3 hostb
conf_set b backend '"libxl"'
if [ -e /dev/xen/privcmd ] || [ -e /proc/xen/privcmd ]; then
	say "skip: this is a Xen host: the check of the message without Xen"
else
	out=$("$RELOCD" -n -f "$W/b/relocd.conf" 2>&1); rc=$?
	echo "$out" | sed 's/^/    | /'
	check "libxl without Xen: relocd -n exits 1 (got $rc)" [ $rc -eq 1 ]
	check "the message says relocd cannot talk to Xen" sh -c "echo \"\$0\" |
	    grep -q '^$W/b/relocd.conf: backend \"libxl\": cannot talk to Xen.*dom0'" \
	    "$out"
	check "libxl's own reason is in relocd's log" sh -c "echo \"\$0\" |
	    grep -q '^[0-9:.]* \[[0-9]*\]: libxl: .*libxl_ctx_alloc'" "$out"
fi

if [ ! -f "$FAKEXEN" ]; then
	say "skip: $FAKEXEN was not built: the checks of a libxl host"
	finish
fi

# A libxl host whose libxl ctx opens (fakexen.so stands in for the
# hypervisor and xenstore), run from a copy of relocd with a copy of the
# module next to it.  After the startup check has loaded the module,
# opened and freed a libxl ctx and unloaded it, nothing of it stays in
# the daemon, and SIGCHLD does not land in an unmapped libxl handler.
# (relocd sees its directory without symbolic links: /proc/self/exe.)
mkdir -p "$W/bin"
bin=$(cd "$W/bin" && pwd -P)
cp "$RELOCD" "$MOD" "$W/bin/"
# A sanitized relocd wants its runtime first among the preloads.
RELOCD=$W/bin/relocd LD_PRELOAD=$FAKEXEN \
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    start_host b || { finish; }
pid=$(cat "$W/b/relocd.pid")
check "the libxl host started with backend libxl" \
    grep -q 'listening on .*backend libxl' "$W/b/relocd.log"
check "after the startup check no Xen library is mapped" no_xen_mapped "$pid"
kill -CHLD "$pid"
sleep 0.2
check "the daemon survives a SIGCHLD" kill -0 "$pid"

# A worker loads the module and calls libxl; fakexen's domain list is
# one libxl refuses ("listing domains: fail"), which is libxl talking.
out=$(xmig_on b list 2>&1)
check "a worker loads the module and calls libxl ($out)" \
    sh -c "echo \"\$0\" | grep -q 'listing domains'" "$out"
# An upgrade replaces the module under the running daemon: its workers
# go on loading the one it started with, not a newer build's.
echo "not a module" > "$W/new.so"
mv "$W/new.so" "$W/bin/relocd-libxl.so"
out=$(xmig_on b list 2>&1)
check "with the file replaced, workers load the daemon's module ($out)" \
    sh -c "echo \"\$0\" | grep -q 'listing domains'" "$out"
check "the daemon still maps no Xen library" no_xen_mapped "$pid"
stop_host b

# A new relocd looks for the module next to itself first: what a module
# that is there but does not load says.
out=$("$W/bin/relocd" -n -f "$W/b/relocd.conf" 2>&1); rc=$?
check "a broken module: relocd -n exits 1 (got $rc)" [ $rc -eq 1 ]
check "the message names the module and the loader's reason ($out)" \
    sh -c "echo \"\$0\" | grep -q 'backend \"libxl\": cannot load $bin/relocd-libxl.so: file too short'" "$out"
cp "$FAKEXEN" "$W/bin/relocd-libxl.so"
out=$("$W/bin/relocd" -n -f "$W/b/relocd.conf" 2>&1); rc=$?
check "a module without the backend table: exit 1 (got $rc)" [ $rc -eq 1 ]
check "the message names the missing table ($out)" \
    sh -c "echo \"\$0\" | grep -q 'cannot load $bin/relocd-libxl.so: undefined symbol: xo_backend_libxl'" "$out"
finish
