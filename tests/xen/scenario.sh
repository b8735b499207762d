# The check-xen scenario, sourced by tests/xen/run.sh once both dom0s
# answer: `on HOST SECONDS COMMAND` runs COMMAND in HOST's dom0.
# shellcheck shell=bash

CON=/var/log/xen/console

# want STEP: whether XEN_STEPS (unset: all) names STEP.  Only for
# iterating on one step: the summary's counts are then of those steps.
want() {
	[ -z "${XEN_STEPS:-}" ] && return 0
	case " ${XEN_STEPS//,/ } " in *" $1 "*) return 0 ;; esac
	return 1
}
# A live stream damaged on its way, which lazy FPU switching caused under
# TCG (README, "Why live PVH moves failed under TCG").  run.sh boots Xen
# with spec-ctrl=eager-fpu, and then none is expected: tcg_known counts
# one as a FAIL.  With XEN_OPTS naming no-eager-fpu (or under KVM) it
# stays a NOTE, as it was.  The PVH guest's own crashes (SIGILL in its
# init) stay NOTEs: eager switching did not end them.
lazy_fpu() {
	[ "${booted:-tcg}" = kvm ] && return 0
	case " ${XEN_OPTS:-} " in
	*no-eager-fpu* | *eager-fpu=[0nf]* | *eager-fpu=of*) return 0 ;;
	esac
	return 1
}
tcg_known() {
	if lazy_fpu; then
		log "NOTE: $* (lazy FPU switching under TCG: README)"
	else
		check "no damaged stream with eager FPU ($*)" false
	fi
}

# PVHOST: where hbpv runs now (steps 1, 2 and 3 move it); PVOTHER: the
# other host
PVHOST=xena
PVOTHER=xenb
pv_moved() {
	PVOTHER=$PVHOST
	PVHOST=$1
}

# hb_last HOST LOGFILE: the last heartbeat number in a console log.
hb_last() {
	on "$1" 20 "tr -d '\\r' < $2 | sed -n 's/.*HB \\([0-9]*\\)\$/\\1/p' | tail -n 1" |
	    tail -n 1
}
# hb_first HOST LOGFILE
hb_first() {
	on "$1" 20 "tr -d '\\r' < $2 | sed -n 's/.*HB \\([0-9]*\\)\$/\\1/p' | head -n 1" |
	    tail -n 1
}
# hb_time HOST LOGFILE N: the timestamp (epoch s) xenconsoled gave line HB N,
# or nothing when that line has none (date's complaint is not a number:
# under set -u the arithmetic on it ended the whole run)
hb_time() {
	on "$1" 20 "date -d \"\$(tr -d '\\r' < $2 | sed -n 's/^\\[\\([0-9: -]*\\)\\] HB $3\$/\\1/p' | head -n 1)\" +%s" |
	    tail -n 1 | grep -x '[0-9][0-9]*'
}
# clock_off HOST: HOST's dom0 clock minus this machine's, in s (the two
# dom0 clocks drift apart under TCG on a loaded machine: minutes in a run)
clock_off() {
	local a d b
	a=$(date +%s)
	d=$(on "$1" 10 "date +%s" | tail -n 1)
	b=$(date +%s)
	echo $((d - (a + b) / 2))
}
# state HOST DOM: xl's state column, or "absent"
state() {
	local s
	s=$(on "$1" 20 "xl list $2 2>/dev/null | awk 'NR == 2 { print \$5 }'" |
	    tail -n 1)
	echo "${s:-absent}"
}
# copies DOM: on how many hosts a domain of that name (or its migration
# names) exists, and how many of them run (not paused, not suspended)
copies() {
	local h n=0 r=0 s
	for h in xena xenb; do
		for d in "$1" "$1--incoming" "$1--migratedaway"; do
			s=$(state $h "$d")
			[ "$s" = absent ] && continue
			n=$((n + 1))
			case $s in *p* | *s* | *c* | *d*) ;; *) r=$((r + 1)) ;; esac
		done
	done
	echo "$n $r"
}
# runs_only_on HOST DOM: exactly one copy, running, on HOST
runs_only_on() {
	[ "$(copies "$2")" = "1 1" ] && [ "$(state "$1" "$2")" != absent ]
}
# advancing HOST LOGFILE: the heartbeat moves within a few seconds
advancing() {
	local a b i
	a=$(hb_last "$1" "$2")
	for i in 1 2 3 4 5 6 7 8 9 10; do
		sleep 1
		b=$(hb_last "$1" "$2")
		[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] && return 0
	done
	return 1
}
# wait_hb HOST LOGFILE SECONDS: until the log shows a heartbeat
wait_hb() {
	local i
	for i in $(seq 1 "$3"); do
		[ -n "$(hb_last "$1" "$2")" ] && return 0
		sleep 1
	done
	return 1
}
# csum HOST: the kernel's TCP checksum errors (InCsumErrors, the last
# field of /proc/net/snmp's second Tcp: line)
csum() {
	on "$1" 10 "awk '/^Tcp:/ && ++n == 2 { print \$NF }' /proc/net/snmp" |
	    tail -n 1
}
# stream_broke HOST SINCE: HOST's relocd received a live stream that
# TLS found damaged (a record failing its MAC or with a wrong version,
# or the session ending without close_notify), in log lines from SINCE
# (HH:MM:SS) on.  Under TCG this hits relocd's own live PVH
# moves and stock xl's through xmig tunnel alike, while the same link
# carries TLS streams without a flaw when no guest is being moved (step
# net): README, check-xen.
stream_broke() {
	on "$1" 20 "awk -v t='$2' 'substr(\$1, 1, 8) >= t' /var/log/relocd.log | grep -E 'stream ended after [0-9]+ bytes \\((TLS read: |peer closed the connection without TLS close_notify)'"
}
start_relocd() {
	on "$1" 30 "relocd -n -f /etc/xen/relocd.conf && { relocd -d -v -f /etc/xen/relocd.conf >>/var/log/relocd.log 2>&1 & echo \$! > /run/relocd.pid; i=0; while [ ! -S /run/relocd/control.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; test -S /run/relocd/control.sock; }"
}

log ""
log "== cluster_dir: one directory shared by both dom0s (virtio-9p)"
check "xena writes in its cluster_dir, xenb reads it" \
    eval 'on xena 20 "echo from-xena > /var/lib/relocd-cluster/probe" &&
    on xenb 20 "grep -qx from-xena /var/lib/relocd-cluster/probe"'
check "both relocd.conf name cluster_dir" \
    eval 'on xena 10 "grep -q ^cluster_dir /etc/xen/relocd.conf" &&
    on xenb 10 "grep -q ^cluster_dir /etc/xen/relocd.conf"'

log ""
log "== relocd (libxl backend, mutual TLS, allow-list [xena, xenb]) on both dom0s"
check "relocd -n and start on xena" start_relocd xena
check "relocd -n and start on xenb" start_relocd xenb
on xena 30 xmig host-info
hi=$(on xena 30 xmig host-info -H xenb)
check "xena asks xenb's relocd over TLS: host info from libxl" \
    grep -q 'cap_shadow' <<<"$hi"
if [ "$XEN" = shadow ]; then
	check "libxl host info reports cap_shadow = 1 (the rebuilt Xen has shadow paging)" \
	    grep -Eq '"?cap_shadow"?[:= ]+(true|1)' <<<"$hi"
	# The dom0 tools are Debian's 4.17.7, the hypervisor 4.17.5 from
	# source: libxl must still drive it (its domctl/sysctl interface
	# is fixed within 4.17).
	check "Debian's 4.17.7 tools talk to the rebuilt hypervisor (xl info: 4.17, shadow)" \
	    on xena 20 "xl info | grep -E '^xen_(version|extra|commandline)|^virt_caps'; xl info | grep -Eq '^xen_version +: 4\.17' && xl info | grep -q '^virt_caps.*shadow'"
else
	check "libxl host info reports cap_shadow = 0 (Debian's Xen has no shadow paging)" \
	    grep -Eq '"?cap_shadow"?[:= ]+(false|0)' <<<"$hi"
fi

# net: only when XEN_STEPS names it.  The link alone, no guest: TLS bulk
# streams both ways (xmig speedtest: a corrupted record fails its MAC),
# and the kernels' TCP checksum error counters before and after.
case " ${XEN_STEPS:-} " in
*" net "*)
	log ""
	log "== net. the link between the dom0s: TLS streams, TCP checksum errors"
	for h in xena xenb; do
		on $h 20 "grep '^Tcp:' /proc/net/snmp"
	done
	nbad=0
	for i in 1 2 3 4 5 6; do
		from=xena to=xenb
		[ $((i % 2)) = 0 ] && from=xenb to=xena
		out=$(on $from 120 "xmig speedtest -s 64 $to 2>&1")
		rc=$?
		log "speedtest $i $from -> $to: exit $rc: $(tail -n 1 <<<"$out")"
		[ "$rc" = 0 ] || nbad=$((nbad + 1))
	done
	for h in xena xenb; do
		on $h 20 "grep '^Tcp:' /proc/net/snmp; grep -iE 'mac|decrypt|speedtest' /var/log/relocd.log | tail -n 6"
	done
	check "six 64 MiB TLS streams between the dom0s, none failed ($nbad failed)" \
	    test "$nbad" = 0
	# xl's own transport, for step 6b: Dropbear with this run's keys.
	check "ssh from xena to xenb runs a command there (Dropbear)" \
	    eval 'test "$(on xena 40 "timeout 30 ssh xenb hostname 2>&1" | tail -n 1)" = xenb'
	;;
esac

# pvhloop: only when XEN_STEPS names it.  The live PVH damage (README)
# counted: hbpvh moved live back and forth XEN_PVH_LOOPS times (8), each
# move classed as whole, damaged (the receiver's TLS found a bad record),
# a guest crash at the source, or other, with both kernels' TCP checksum
# error counters before and after; run.sh's XEN_NIC, XEN_TCG_THREAD and
# XEN_SMP change one variable at a time.  The one check is the contract:
# never two running copies, whatever the move did.
case " ${XEN_STEPS:-} " in
*" pvhloop "*)
	log ""
	log "== pvhloop. hbpvh live back and forth ${XEN_PVH_LOOPS:-8} times"
	# XEN_PVHLOOP_PV=1: the PV guest hbpv runs on xenb meanwhile, as
	# it does during the full run's live PVH moves (steps 2b, 3c).
	# XEN_PVHLOOP_PV=paused: the same guest, paused (never scheduled).
	if [ "${XEN_PVHLOOP_PV:-0}" != 0 ]; then
		on xenb 120 xl create /etc/xen/hb-pv.cfg &&
		    wait_hb xenb $CON/guest-hbpv.log 120
	fi
	[ "${XEN_PVHLOOP_PV:-0}" = paused ] && on xenb 20 "xl pause hbpv; xl list"
	ca0=$(csum xena) cb0=$(csum xenb)
	on xena 180 xl create /etc/xen/hb-pvh.cfg &&
	    wait_hb xena $CON/guest-hbpvh.log 90
	from=xena to=xenb
	n_ok=0 n_dmg=0 n_crash=0 n_other=0 n_two=0 times=
	for i in $(seq 1 "${XEN_PVH_LOOPS:-8}"); do
		since=$(on $to 10 "date +%T" | tail -n 1)
		dir="$from -> $to"
		t=$(now)
		out=$(on $from 300 "xmig migrate -l hbpvh $to 2>&1")
		rc=$?
		dt=$(since "$t")
		read -r _ nrun <<<"$(copies hbpvh)"
		[ "${nrun:-0}" -le 1 ] || n_two=$((n_two + 1))
		if [ "$rc" = 0 ] && runs_only_on $to hbpvh; then
			what=whole
			n_ok=$((n_ok + 1))
			times="$times $dt"
			x=$from from=$to to=$x
		else
			st=$(state $from hbpvh)
			broke=$(stream_broke $to "$since")
			case $st in
			*c*) what="guest crashed at $from"
			     n_crash=$((n_crash + 1)) ;;
			*) if [ -n "$broke" ]; then
				what="damaged: $(tail -n 1 <<<"$broke")"
				n_dmg=$((n_dmg + 1))
			   else
				what="other (xmig: $(tail -n 1 <<<"$out"))"
				n_other=$((n_other + 1))
			   fi ;;
			esac
			on $from 20 "xl dmesg | tail -n 6; grep -E 'panic|BUG|Oops|RIP:|invalid opcode' $CON/guest-hbpvh.log | tail -n 4"
			if ! runs_only_on $from hbpvh; then
				on $from 60 "xl destroy hbpvh 2>/dev/null; sleep 1; mv -f $CON/guest-hbpvh.log $CON/guest-hbpvh.crashed$i.log; xl create /etc/xen/hb-pvh.cfg" >/dev/null
				wait_hb $from $CON/guest-hbpvh.log 90
			fi
		fi
		log "pvhloop $i: $dir, $dt s, exit $rc: $what"
	done
	ca1=$(csum xena) cb1=$(csum xenb)
	for h in xena xenb; do
		on $h 20 "cat /proc/net/dev | grep -E 'eth0'"
	done
	PVHLOOP="${XEN_PVH_LOOPS:-8} moves (NIC ${XEN_NIC:-e1000}, TCG thread=${XEN_TCG_THREAD:-default}, ${XEN_SMP:-2} CPUs, PV guest on xenb: ${XEN_PVHLOOP_PV:-0}): whole $n_ok, damaged $n_dmg, guest crashed $n_crash, other $n_other; TCP InCsumErrors xena ${ca0:-?}->${ca1:-?}, xenb ${cb0:-?}->${cb1:-?}; whole moves took$times s"
	log "pvhloop: $PVHLOOP"
	check "pvhloop: never two running copies of hbpvh ($n_two times)" \
	    test "$n_two" = 0
	on xena 30 "xl destroy hbpvh 2>/dev/null; true" >/dev/null
	on xenb 30 "xl destroy hbpvh 2>/dev/null; xl destroy hbpv 2>/dev/null; rm -f $CON/guest-hbpv.log; true" >/dev/null
	;;
esac

# netload: only when XEN_STEPS names it.  Which guests it takes for the
# link to damage what xenb sends, with relocd out of the way: xena pulls
# a 32 MiB file from busybox httpd on xenb over plain TCP and compares its
# SHA-256, and xenb sends TLS streams (xmig speedtest), in five states of
# xenb: no guest; the PV guest hbpv; hbpv and the PVH guest hbpvh; and
# hbpvh in HAP log-dirty (a live migration to xena held in round 1 by a
# 2 Mbit/s limit, cancelled after), without and with hbpv.
case " ${XEN_STEPS:-} " in
*" netload "*)
	log ""
	log "== netload. what xenb sends, plain TCP and TLS, with which guests on xenb"
	# vecguard: whether a dom0 process's vector registers keep their
	# values (built here, static; carried over the 9p share)
	gcc -O2 -static -o "$W/cluster/vecguard" "$tree/tests/xen/vecguard.c" ||
	    log "netload: cannot build vecguard"
	on xenb 20 "cp /var/lib/relocd-cluster/vecguard /tmp/vecguard && /tmp/vecguard 1 && /tmp/vecguard -x 1; grep -o -w -E 'avx2?' /proc/cpuinfo | sort -u"
	on xenb 60 "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/tx bs=1M count=32 2>/dev/null && sha256sum /tmp/www/tx | cut -d' ' -f1 > /tmp/tx.sum && (busybox httpd -f -p 10.99.0.2:8080 -h /tmp/www & echo \$! > /tmp/httpd.pid)" >/dev/null
	want_sum=$(on xenb 10 "cat /tmp/tx.sum" | tail -n 1)
	# load STATE: four pulls and four TLS streams, xenb to xena
	load() {
		local i bad=0 tbad=0 c0 c1 got vg
		c0=$(csum xena)
		on xenb 10 "rm -f /tmp/vg.out; (/tmp/vecguard 45 >/tmp/vg.out 2>&1; echo \"vecguard exit \$?\" >>/tmp/vg.out) >/dev/null 2>&1 & echo started" >/dev/null
		for i in 1 2 3 4; do
			got=$(on xena 120 "busybox wget -q -O - http://10.99.0.2:8080/tx | sha256sum | cut -d' ' -f1" | tail -n 1)
			[ "$got" = "$want_sum" ] || bad=$((bad + 1))
			on xenb 120 "xmig speedtest -s 32 xena >/dev/null 2>&1" >/dev/null ||
			    tbad=$((tbad + 1))
		done
		c1=$(csum xena)
		on xenb 60 "for i in \$(seq 1 50); do grep -q '^vecguard exit' /tmp/vg.out && break; sleep 1; done; head -n 4 /tmp/vg.out; tail -n 2 /tmp/vg.out"
		vg=$(on xenb 10 "sed -n 's/^vecguard \\([xy]mm\\): /\\1 /p; s/^vecguard exit \\([1-9][0-9]*\\)/exit \\1/p' /tmp/vg.out" | tr '\n' ' ')
		log "netload: $1: plain TCP $bad of 4 pulls damaged, TLS $tbad of 4 streams failed, xena's InCsumErrors ${c0:-?} -> ${c1:-?}; vector registers on xenb: ${vg:-?}"
		NETLOAD="${NETLOAD:-}${NETLOAD:+; }$1: TCP $bad/4, TLS $tbad/4, ${vg:-?}"
	}
	# logdirty: hbpvh leaving for xena, held in round 1
	logdirty() {
		on xenb 20 "rm -f /tmp/ld.out; (xmig migrate -l -r 2 hbpvh xena >/tmp/ld.out 2>&1; echo \"exit \$?\" >>/tmp/ld.out) >/dev/null 2>&1 & echo started" >/dev/null
		for i in $(seq 1 60); do
			on xenb 20 "grep -Eq 'round 1: +([1-9]|[1-9][0-9])% of' /tmp/ld.out" >/dev/null && return 0
			sleep 1
		done
		return 1
	}
	logdirty_end() {
		on xenb 60 "xmig cancel hbpvh 2>&1; for i in \$(seq 1 60); do grep -q '^exit ' /tmp/ld.out && break; sleep 1; done; tr '\\r' '\\n' < /tmp/ld.out | grep -v '^\$' | tail -n 2"
		on xenb 20 "xl list"
	}
	load "no guest on xenb"
	on xenb 120 xl create /etc/xen/hb-pv.cfg && wait_hb xenb $CON/guest-hbpv.log 120
	load "hbpv (PV) on xenb"
	on xenb 180 xl create /etc/xen/hb-pvh.cfg && wait_hb xenb $CON/guest-hbpvh.log 90
	load "hbpv and hbpvh (PVH) on xenb"
	if logdirty; then
		load "hbpv, hbpvh in log-dirty"
	else
		log "netload: hbpvh's live migration did not reach round 1"
	fi
	logdirty_end
	on xenb 30 "xl destroy hbpv" >/dev/null
	if [ "$(state xenb hbpvh)" != absent ] && logdirty; then
		load "hbpvh in log-dirty, no PV guest"
	fi
	logdirty_end
	log "netload: $NETLOAD"
	on xenb 30 "kill \$(cat /tmp/httpd.pid); xl destroy hbpvh 2>/dev/null; rm -f $CON/guest-hbpv.log $CON/guest-hbpvh.log; true" >/dev/null
	check "netload: xenb's guests gone after the step" \
	    test "$(copies hbpv)$(copies hbpvh)" = "0 00 0"
	;;
esac

# pvhboot: only when XEN_STEPS names it.  How often the PVH guest's init
# dies of SIGILL right after boot, its kernel without noxsave (as
# hb-pvh.cfg was before dom0-init added it) and with XEN_PVH_EXTRA
# (noxsave) instead, boots alternating, XEN_PVH_BOOTS (10) of each, on
# xena.
case " ${XEN_STEPS:-} " in
*" pvhboot "*)
	log ""
	log "== pvhboot. hbpvh booted ${XEN_PVH_BOOTS:-10} times without noxsave and with '${XEN_PVH_EXTRA:-noxsave}'"
	on xena 20 "sed 's/ noxsave//' /etc/xen/hb-pvh.cfg > /etc/xen/hb-pvh-a.cfg; sed 's/^extra = \"\(.*\)\"/extra = \"\1 ${XEN_PVH_EXTRA:-noxsave}\"/' /etc/xen/hb-pvh-a.cfg > /etc/xen/hb-pvh-x.cfg; grep extra /etc/xen/hb-pvh-a.cfg /etc/xen/hb-pvh-x.cfg"
	died_plain=0 died_x=0
	for i in $(seq 1 "${XEN_PVH_BOOTS:-10}"); do
		for v in plain x; do
			cfg=/etc/xen/hb-pvh-a.cfg
			[ $v = x ] && cfg=/etc/xen/hb-pvh-x.cfg
			on xena 60 "xl destroy hbpvh 2>/dev/null; rm -f $CON/guest-hbpvh.log; xl create $cfg >/dev/null" >/dev/null
			wait_hb xena $CON/guest-hbpvh.log 60
			sleep 8
			st=$(state xena hbpvh)
			sig=$(on xena 10 "grep -c 'exitcode=0x00000004' $CON/guest-hbpvh.log" | tail -n 1)
			case $st in
			*c*) [ $v = x ] && died_x=$((died_x + 1)) || died_plain=$((died_plain + 1)) ;;
			esac
			log "pvhboot $i $v: '$st', SIGILL lines ${sig:-?}"
		done
	done
	on xena 20 "xl destroy hbpvh 2>/dev/null; true" >/dev/null
	PVHBOOT="died at boot: without noxsave $died_plain of ${XEN_PVH_BOOTS:-10}, with '${XEN_PVH_EXTRA:-noxsave}' $died_x of ${XEN_PVH_BOOTS:-10}"
	log "pvhboot: $PVHBOOT"
	;;
esac

log ""
log "== a PV guest with a heartbeat on xena"
t=$(now)
check "xl create hbpv on xena" on xena 120 xl create /etc/xen/hb-pv.cfg
TIMES[create]=$(since "$t")
check "hbpv's heartbeat on xena's console" wait_hb xena $CON/guest-hbpv.log 120
on xena 30 xmig list

if want 1; then
log ""
log "== 1. xmig migrate hbpv xenb (offline), under an attached xmig console"
# The console client reads no terminal: its input is /dev/null (it goes
# on watching when input ends), its output a file.
on xena 20 "rm -f /tmp/con1.out; xmig console hbpv </dev/null >/tmp/con1.out 2>&1 & echo \$! > /tmp/con1.pid" >/dev/null
con_hb() {	# con_hb HOST FILE [AFTER]: the HB numbers in a console's output
	on "$1" 20 "tr -d '\\r' < $2 | sed -n '${3:-1},\$p' | sed -n 's/.*HB \\([0-9]*\\)\$/\\1/p'"
}
for i in $(seq 1 20); do
	[ -n "$(con_hb xena /tmp/con1.out | tail -n 1)" ] && break
	sleep 1
done
check "xmig console hbpv on xena: attached, the guest's heartbeat shown" \
    eval 'on xena 20 "grep -q \"attached to hbpv\" /tmp/con1.out" &&
    test -n "$(con_hb xena /tmp/con1.out | tail -n 1)"'
sleep 2
t=$(now)
out=$(on xena 300 xmig migrate hbpv xenb)
rc=$?
TIMES[m1]=$(since "$t")
printf '%s\n' "$out"
check "xmig migrate hbpv xenb exits 0" test "$rc" = 0
# libxc's own steps (every 4 MiB), through libxl's logger: a percent
# between 0 and 100 that only the figures from libxc can give.
check "progress from libxc: round 1 seen part-way (1-99%)" \
    grep -Eq 'round 1 \(domain paused\): +[1-9][0-9]?% of' <<<"$out"
check "hbpv runs on xenb, exactly once, gone from xena" runs_only_on xenb hbpv
runs_only_on xenb hbpv && pv_moved xenb
last_a=$(hb_last xena $CON/guest-hbpv.log)
wait_hb xenb $CON/guest-hbpv.log 30
first_b=$(hb_first xenb $CON/guest-hbpv.log)
log "heartbeat: last on xena HB $last_a, first on xenb HB $first_b"
check "heartbeat continues on xenb (no reboot: HB $first_b follows HB $last_a)" \
    test -n "$first_b" -a -n "$last_a" -a "${first_b:-0}" -gt 1 \
    -a "${first_b:-0}" -ge "${last_a:-0}"
check "hbpv's heartbeat advances on xenb" \
    advancing xenb $CON/guest-hbpv.log
ta=$(hb_time xena $CON/guest-hbpv.log "$last_a")
tb=$(hb_time xenb $CON/guest-hbpv.log "$first_b")
if [ -n "$ta" ] && [ -n "$tb" ]; then
	TIMES[down1]=$(((tb - $(clock_off xenb)) - (ta - $(clock_off xena))))
fi
on xenb 20 "grep -E 'receiving|received|libxl' /var/log/relocd.log | tail -n 5"
check "the console log followed the rename: guest-hbpv.log on xenb, no guest-hbpv--incoming.log" \
    on xenb 20 "ls $CON; test -s $CON/guest-hbpv.log && test ! -e $CON/guest-hbpv--incoming.log"

log ""
log "== 1d. the console client followed hbpv to xenb"
for i in $(seq 1 30); do
	[ -n "$(con_hb xena /tmp/con1.out "/moved to/" | tail -n 1)" ] && break
	sleep 1
done
on xena 20 "tr -d '\\r' < /tmp/con1.out | grep -v '^HB' ; tr -d '\\r' < /tmp/con1.out | tail -n 2"
check "the client printed the moved notice: hbpv moved to xenb:8003, reconnected" \
    on xena 20 "grep -q 'hbpv moved to xenb:8003, reconnected' /tmp/con1.out"
sleep 2
c1=$(con_hb xena /tmp/con1.out "/moved to/" | tail -n 1)
log "console: last HB before the move on xena's log HB $last_a, last shown after it HB $c1"
check "and then the guest's heartbeat from xenb (HB $c1 after HB $last_a)" \
    test -n "$c1" -a "${c1:-0}" -gt "${last_a:-0}"
on xena 20 'kill $(cat /tmp/con1.pid) 2>/dev/null; sleep 1; tr -d "\r" < /tmp/con1.out | tail -n 2' >/dev/null
on xena 20 "rm -f /tmp/con2.out; xmig console -H xenb hbpv </dev/null >/tmp/con2.out 2>&1 & echo \$! > /tmp/con2.pid" >/dev/null
for i in $(seq 1 20); do
	[ -n "$(con_hb xena /tmp/con2.out | tail -n 1)" ] && break
	sleep 1
done
out=$(on xena 20 "tr -d '\\r' < /tmp/con2.out")
printf '%s\n' "$out" | tail -n 4
on xena 20 'p=$(cat /tmp/con2.pid); kill $p; sleep 1; kill -0 $p 2>/dev/null && { echo "xmig console -H did not end on SIGTERM"; ps -o pid,stat,args | grep -v grep | grep xmig; tail -n 5 /var/log/relocd.log; kill -9 $p; }; true'
check "xmig console -H xenb hbpv from xena: attached on xenb" \
    grep -q 'attached to hbpv on xenb' <<<"$out"
check "and shows hbpv's heartbeat from xenb" grep -q '^HB [0-9]' <<<"$out"

log ""
log "== 1a. hbpv's lease: taken on xenb by its monitor, not by relocd"
# lease_held HOST DOM: read on HOST, DOM's lease is held by HOST, and
# its record says it runs there (a record names a host by its address)
lease_held() {
	local addr=10.99.0.1
	[ "$1" = xenb ] && addr=10.99.0.2
	on "$1" 20 "xmig leases $2" |
	    grep -Eq "^$2 +$addr +held +$1 domain $2 \(id [0-9]+\)"
}
check "xmig leases on xenb: hbpv's lease held by xenb" lease_held xenb hbpv
check "its holder answers on a socket of its own under state_dir" \
    on xenb 20 "ls /var/lib/relocd/monitors | grep -qx \"\$(xl domid hbpv).sock\""
out=$(on xena 20 "xmig leases hbpv")
check "xena reads hbpv's record in the shared cluster_dir: on xenb" \
    grep -Eq '^hbpv +10\.99\.0\.2 ' <<<"$out"
# Not asserted: across QEMU's 9p server a lock is every client's.
log "NOTE: xena reads hbpv's lease, across 9p, as" \
    "'$(awk 'NR == 2 { print $3 }' <<<"$out")' (QEMU's 9p grants all locks)"
uuid=$(on xenb 20 "xl list -l hbpv | sed -n 's/.*\"uuid\": \"\([0-9a-f-]*\)\".*/\1/p' | head -n 1" |
    tail -n 1)
on xenb 20 "sed -e 's/^name = .*/name = \"hbdup\"/' /etc/xen/hb-pv.cfg > /etc/xen/hb-dup.cfg && echo 'uuid = \"$uuid\"' >> /etc/xen/hb-dup.cfg" >/dev/null
out=$(on xenb 120 "xmig create /etc/xen/hb-dup.cfg 2>&1")
rc=$?
echo "$out"
check "a second domain with hbpv's UUID ($uuid) is refused on xenb (exit $rc)" \
    test -n "$uuid" -a "$rc" != 0
check "the refusal names the lease and its holder" \
    grep -q "lease is held elsewhere (xenb domain hbpv" <<<"$out"
check "nothing of hbdup is left on xenb" test "$(state xenb hbdup)" = absent
check "hbpv still runs on xenb only, its lease still held" \
    eval 'runs_only_on xenb hbpv && lease_held xenb hbpv'

log ""
log "== 1b. xmig check hbpv xena, from xenb: libxl's facts on both hosts"
out=$(on xenb 60 "xmig check hbpv xena 2>&1")
rc=$?
check "xmig check hbpv xena passes (exit $rc)" test "$rc" = 0
check "the CPU features come from physinfo's featureset, and match" \
    grep -Eq 'PASS cpu-features: all [1-9][0-9]* of' <<<"$out"
check "Xen versions compared" grep -q 'PASS xen-version: Xen 4.17' <<<"$out"
out=$(on xenb 60 "xmig check -l hbpv xena 2>&1")
rc=$?
if [ "$XEN" = shadow ]; then
	check "xmig check -l hbpv xena passes (exit $rc)" test "$rc" = 0
	check "with PASS log-dirty (shadow paging)" \
	    grep -q '^PASS log-dirty: .*(shadow)' <<<"$out"
else
	check "xmig check -l hbpv xena exits 1" test "$rc" = 1
	check "with FAIL log-dirty (PV without shadow paging)" \
	    grep -q '^FAIL log-dirty: ' <<<"$out"
fi

fi # want 1

# 1c: a PV guest on xena with a disk that exists only there.  The disk
# is a node of brd's ramdisk under incoming_disk_paths (both hosts'
# relocd.conf: /var/lib/xen/disks/), made on xena only; xenb has the
# directory, empty, and no brd.  xen-blkback takes the device through
# libxl's default hotplug script, /etc/xen/scripts/block (mkinitrd.sh's).
DISK=/var/lib/xen/disks/hbdisk
DISKLINE="storage: disk xvda: $DISK does not exist on xenb"
# disk_released: hbdisk's vbd backend gone from xena's xenstore and
# brd unloaded (it cannot be while blkback holds the device)
disk_released() {
	on xena 60 "i=0; until [ -z \"\$(xenstore-ls /local/domain/0/backend/vbd 2>/dev/null)\" ] && rmmod brd 2>/dev/null; do i=\$((i + 1)); [ \$i -gt 30 ] && break; sleep 1; done; rm -f $DISK; [ \$i -le 30 ]"
}
# no_stream OUT: xmig showed no progress of a stream, and xenb's relocd
# never started receiving hbdisk
no_stream() {
	! grep -Eq 'round [0-9]|[0-9]% of' <<<"$1" &&
	    on xenb 20 "! grep 'receiving domain hbdisk' /var/log/relocd.log"
}

if want 1c; then
log ""
log "== 1c. hbdisk on xena, its disk there only: check and migrate refuse it"
check "xena: brd's ramdisk, its node at $DISK" \
    on xena 30 "insmod \$(find /lib/modules -name brd.ko) rd_nr=1 rd_size=8192 && test -b /dev/ram0 && mknod $DISK b 1 0 && ls -l $DISK"
check "xenb has no $DISK and no ramdisk" \
    on xenb 20 "test ! -e $DISK && test ! -e /dev/ram0"
on xena 120 xl create /etc/xen/hb-disk.cfg
rc=$?
check "xl create hbdisk on xena (xvda = $DISK, through xen-blkback)" \
    test "$rc" = 0
if [ "$rc" = 0 ]; then
	check "hbdisk's heartbeat on xena's console" \
	    wait_hb xena $CON/guest-hbdisk.log 120
	on xena 20 "xenstore-ls /local/domain/0/backend/vbd | grep -E 'params|physical-device|hotplug-status|state'"
	id0=$(on xena 20 "xl domid hbdisk" | tail -n 1)
	out=$(on xena 60 "xmig check hbdisk xenb 2>&1")
	rc=$?
	check "xmig check hbdisk xenb fails (exit $rc)" test "$rc" = 1
	check "FAIL $DISKLINE" grep -qxF "FAIL $DISKLINE" <<<"$out"
	check "storage is its only FAIL line" \
	    test "$(grep -c '^FAIL' <<<"$out")" = 1
	out=$(on xena 120 "xmig migrate hbdisk xenb 2>&1")
	rc=$?
	check "xmig migrate hbdisk xenb refused (exit $rc)" test "$rc" = 1
	check "the refusal names the disk: $DISKLINE" \
	    grep -qF "$DISKLINE" <<<"$out"
	check "refused before any stream byte (no progress, xenb never received hbdisk)" \
	    no_stream "$out"
	check "xenb's relocd logged its refusal, naming the disk" \
	    on xenb 20 "grep -F 'refused migration: $DISKLINE' /var/log/relocd.log"
	check "hbdisk still runs on xena only, nothing of it on xenb" \
	    runs_only_on xena hbdisk
	id1=$(on xena 20 "xl domid hbdisk" | tail -n 1)
	check "hbdisk is the same domain on xena (id $id0 -> $id1)" \
	    test -n "$id0" -a "$id0" = "$id1"
	check "hbdisk's heartbeat advances on xena" \
	    advancing xena $CON/guest-hbdisk.log
	DISKSTEP="check FAIL storage (exit 1), migrate refused, guest kept on xena"
fi
on xena 60 "xl destroy hbdisk 2>&1; true" >/dev/null
check "hbdisk destroyed: its backend gone, the ramdisk released and unloaded" \
    disk_released
check "nothing of hbdisk left on either host" test "$(copies hbdisk)" = "0 0"
fi # want 1c

# 1e: a PV guest whose disk is a file image on xena only, moved with
# xmig migrate --copy-storage.  The image, under incoming_disk_paths on
# both hosts (a tmpfs of 128 MiB, dom0-init), is sparse: 32 MiB with two
# 4 MiB extents of random data, so 8 MiB is data and the rest holes.
# The guest never opens its disk (its initramfs has no blkfront), so the
# image cannot change while it runs: xena's checksum taken before the
# move is that of the image at the suspended point, and xenb's copy,
# read once the domain there is destroyed, must equal it.
IMG=/var/lib/xen/disks/hbfile.img
if want 1e; then
log ""
log "== 1e. hbfile on xena, a file image there only: xmig migrate --copy-storage"
check "xena: $IMG, 32 MiB sparse, 8 MiB of random data" \
    on xena 60 "rm -f $IMG && dd if=/dev/urandom of=$IMG bs=1M count=4 2>/dev/null && dd if=/dev/urandom of=$IMG bs=1M seek=20 count=4 conv=notrunc 2>/dev/null && truncate -s 33554432 $IMG && ls -ls $IMG && test \$(stat -c %s $IMG) = 33554432"
check "xenb has no $IMG" on xenb 20 "test ! -e $IMG"
sum_a=$(on xena 60 "sha256sum $IMG | cut -d' ' -f1" | tail -n 1)
log "sha256 of $IMG on xena before the move: $sum_a"
on xena 120 xl create /etc/xen/hb-file.cfg
rc=$?
check "xl create hbfile on xena (xvda = $IMG, a loop device under xen-blkback)" \
    test "$rc" = 0
if [ "$rc" = 0 ]; then
	check "hbfile's heartbeat on xena's console" \
	    wait_hb xena $CON/guest-hbfile.log 120
	on xena 20 "xenstore-ls /local/domain/0/backend/vbd | grep -E 'params|node|physical-device|hotplug-status|state'; losetup -a"
	out=$(on xena 60 "xmig check hbfile xenb 2>&1")
	rc=$?
	check "without --copy-storage, xmig check hbfile xenb fails: FAIL storage: disk xvda: $IMG does not exist on xenb (exit $rc)" \
	    eval 'test "$rc" = 1 && grep -qxF "FAIL storage: disk xvda: $IMG does not exist on xenb" <<<"$out"'
	out=$(on xena 60 "xmig check --copy-storage hbfile xenb 2>&1")
	rc=$?
	check "xmig check --copy-storage hbfile xenb passes (exit $rc)" \
	    test "$rc" = 0
	check "it says what it copies and the room: 8.0 MiB of data (32.0 MiB apparent), MiB free on xenb" \
	    grep -Eq '^PASS storage: 1 disk copied here: 8\.0 MiB of data \(32\.0 MiB apparent\), [0-9.]+ MiB free where it would go' <<<"$out"
	last_a0=$(hb_last xena $CON/guest-hbfile.log)
	t=$(now)
	out=$(on xena 300 "xmig migrate --copy-storage hbfile xenb 2>&1")
	rc=$?
	TIMES[m1e]=$(since "$t")
	printf '%s\n' "$out" | tail -n 6
	check "xmig migrate --copy-storage hbfile xenb exits 0" test "$rc" = 0
	# The "disks:" progress line comes once a second, so how many
	# (and whether the last shows 100%) depends on the copy's speed.
	check "xmig shows the disk's copy: disk xvda: sent 8388608 bytes of data (33554432 bytes apparent)" \
	    grep -q '^disk xvda: sent 8388608 bytes of data (33554432 bytes apparent)' <<<"$out"
	check "it reports the disk data copied and the source disk kept" \
	    grep -q 'MiB of disk data copied in [0-9]* ms, the source disk kept' <<<"$out"
	COPYMSG=$(grep -o '[0-9.]* MiB of disk data copied in [0-9]* ms' <<<"$out" | tail -n 1)
	check "hbfile runs on xenb, exactly once, gone from xena" \
	    runs_only_on xenb hbfile
	last_a=$(hb_last xena $CON/guest-hbfile.log)
	wait_hb xenb $CON/guest-hbfile.log 30
	first_b=$(hb_first xenb $CON/guest-hbfile.log)
	log "heartbeat: last on xena HB $last_a (HB $last_a0 before the move), first on xenb HB $first_b"
	check "heartbeat continues on xenb (no reboot: HB $first_b follows HB $last_a)" \
	    test -n "$first_b" -a -n "$last_a" -a "${first_b:-0}" -gt 1 \
	    -a "${first_b:-0}" -ge "${last_a:-0}"
	check "hbfile's heartbeat advances on xenb" \
	    advancing xenb $CON/guest-hbfile.log
	sent=$(on xena 20 "sed -n 's/.*disk xvda: sent \\([0-9]*\\) bytes of data.*/\\1/p' /var/log/relocd.log | tail -n 1" |
	    tail -n 1)
	on xenb 20 "grep -E 'hbfile.*(disk|verified)' /var/log/relocd.log | tail -n 4"
	check "only the data went over the link: 8 MiB of the 32 MiB image (${sent:-?} bytes sent)" \
	    test "${sent:-0}" = 8388608
	COPYSTEP="32 MiB image, ${sent:-?} bytes sent, ${COPYMSG:-?}"
	check "xenb's domain runs on its copy at $IMG (xvda on a loop device there)" \
	    on xenb 20 "xl list -l hbfile | grep -q '\"pdev_path\": \"$IMG\"' && xenstore-ls /local/domain/0/backend/vbd | grep -E 'params|node' && losetup -a | grep -F $IMG"
	sum_a1=$(on xena 60 "sha256sum $IMG | cut -d' ' -f1" | tail -n 1)
	check "xena keeps its source image (the default), unchanged" \
	    test -n "$sum_a" -a "$sum_a1" = "$sum_a"
	check "xena released its loop device with the domain" \
	    on xena 60 "i=0; while losetup -a | grep -qF $IMG; do i=\$((i + 1)); [ \$i -gt 30 ] && exit 1; sleep 1; done"
	alloc=$(on xenb 20 "du -k $IMG | cut -f1" | tail -n 1)
	check "holes stay holes on xenb (${alloc:-?} KiB allocated of 32768)" \
	    test "${alloc:-99999}" -le $((8 * 1024 + 64))
	on xenb 60 "xl destroy hbfile 2>&1; true" >/dev/null
	sleep 2
	check "hbfile destroyed on xenb, its loop device released" \
	    on xenb 60 "i=0; while losetup -a | grep -qF $IMG; do i=\$((i + 1)); [ \$i -gt 30 ] && exit 1; sleep 1; done"
	sum_b=$(on xenb 60 "sha256sum $IMG | cut -d' ' -f1" | tail -n 1)
	log "sha256 of $IMG: xena $sum_a, xenb $sum_b"
	check "xenb's copy has the image's sha256 (${sum_b:-none})" \
	    test -n "$sum_a" -a "$sum_a" = "$sum_b"
fi
on xena 60 "xl destroy hbfile 2>/dev/null; rm -f $IMG; true" >/dev/null
on xenb 60 "xl destroy hbfile 2>/dev/null; rm -f $IMG; true" >/dev/null
check "nothing of hbfile left on either host" test "$(copies hbfile)" = "0 0"
fi # want 1e

# 1f: a PV guest whose disk is a logical volume on xena only, moved with
# xmig migrate --copy-storage into a new LV of xenb's volume group
# (relocd.conf: incoming_volume_group).  Each dom0 gets LVM without
# udev (mkinitrd.sh's lvm.conf) and a volume group, vgxen, on brd's
# ramdisk: 128 MiB, made here (1c loads brd and unloads it again) and
# removed at the end.  The LV is 32 MiB, 8 MiB of it random data in two
# 4 MiB extents and the rest zeros; the source skips all-zero chunks, so
# only the data should cross the link.  The guest never opens its disk,
# so xena's checksum before the move is that of the volume at the
# suspended point, and xenb's copy must equal it.  Then the refusals:
# an LV of the same name already on xenb, and a volume group too small;
# then a copy cut off by kill -9 of either relocd (lvkill, below).
VG=vgxen
LV=/dev/$VG/hblv
LV2=/dev/$VG/hblv2
VGMB=128
# vg_make HOST: brd's ramdisk as LVM's physical volume, vgxen on it
vg_make() {
	on "$1" 60 "insmod \$(find /lib/modules -name brd.ko) rd_nr=1 rd_size=$((VGMB * 1024)) && test -b /dev/ram0 && lvm pvcreate -q /dev/ram0 && lvm vgcreate -q $VG /dev/ram0 && lvm vgs --units m $VG"
}
# lv_works HOST: an LV can be made, appears as a device node, is listed,
# written, read and removed, all without udev
lv_works() {
	on "$1" 60 "lvm lvcreate -q --yes -n probe -L 8m $VG && test -b /dev/$VG/probe && ls -lL /dev/$VG/probe && lvm lvs --noheadings -o lv_name,lv_size $VG | grep -q probe && dd if=/dev/zero of=/dev/$VG/probe bs=1M count=8 2>/dev/null && test \$(blockdev --getsize64 /dev/$VG/probe) = 8388608 && lvm lvremove -q --yes $VG/probe && test ! -e /dev/$VG/probe && ! dmsetup ls | grep -q probe"
}
# lv_sum HOST PATH: the SHA-256 of a block device
lv_sum() {
	on "$1" 60 "sha256sum $2 | cut -d' ' -f1" | tail -n 1
}
# vbd_gone HOST: no vbd backend left in HOST's xenstore (bounded)
vbd_gone() {
	on "$1" 60 "i=0; while [ -n \"\$(xenstore-ls /local/domain/0/backend/vbd 2>/dev/null)\" ]; do i=\$((i + 1)); [ \$i -gt 30 ] && exit 1; sleep 1; done"
}
# vg_remove HOST: every LV of vgxen, the VG, the PV, brd unloaded
vg_remove() {
	on "$1" 90 "for l in \$(lvm lvs --noheadings -o lv_name $VG 2>/dev/null); do lvm lvremove -q --yes $VG/\$l; done; lvm vgremove -q --yes $VG && lvm pvremove -q --yes /dev/ram0 && test ! -e /dev/$VG || exit 1; i=0; until rmmod brd 2>/dev/null; do i=\$((i + 1)); [ \$i -gt 30 ] && exit 1; sleep 1; done"
}
# reload_relocd HOST: SIGHUP, then until its log says it reloaded
reload_relocd() {
	on "$1" 40 "n=\$(grep -c 'reloaded /etc/xen/relocd.conf' /var/log/relocd.log); kill -HUP \$(cat /run/relocd.pid); i=0; until [ \$(grep -c 'reloaded /etc/xen/relocd.conf' /var/log/relocd.log) -gt \$n ]; do i=\$((i + 1)); [ \$i -gt 100 ] && { tail -n 3 /var/log/relocd.log; exit 1; }; sleep 0.2; done; grep 'reload' /var/log/relocd.log | tail -n 1"
}
# The copy cut off (1f, after the refusals): hblv3 on xena, a 32 MiB LV
# of random data (so copied whole), moved with --copy-storage slowed to
# -r 16 (2 MB/s: the guest's 128 MiB of memory first, in about a
# minute, then the volume, in about 17 s); once xmig's progress shows
# the volume's copy part-way, every relocd process of one host is
# killed with SIGKILL: xenb's (the receiver, which made the LV; the
# incoming domain's vbd and the session hold it open), then xena's (the
# sender; the guest is suspended there).  Never two running copies;
# hblv3 runs on at xena, once, with its relocd back; xenb's partial LV
# is removed: by its reconciliation when it starts again, or by its
# session when the stream breaks.
LV3=/dev/$VG/hblv3
LK=/tmp/lvkill.out
# relocd_kill9 HOST: SIGKILL to HOST's relocd (/run/relocd.pid) and
# every process under it (relocd-priv, the sessions' network processes
# and root helpers, what they run), all stopped first and looked for
# again, so that none forks or acts in between; the death monitors are
# not under it (a double fork) and stay.  Prints what it killed; the
# control socket it leaves is removed, so that start_relocd waits for
# the next one's.
relocd_kill9() {
	on "$1" 30 "t=; for n in 1 2 3; do t=\$(ps -o pid,ppid | awk -v r=\$(cat /run/relocd.pid) 'NR > 1 { p[\$1] = \$2 } END { for (i in p) { x = i; n = 0; while (x != r && (x in p) && n < 64) { x = p[x]; n++ } if (x == r) print i } }'); [ -n \"\$t\" ] && kill -STOP \$t; done; ps -o pid,ppid,args | awk -v l=\" \$(echo \$t) \" 'index(l, \" \" \$1 \" \")'; [ -n \"\$t\" ] && kill -9 \$t; i=0; while [ \$i -lt 50 ]; do a=; for q in \$t; do [ -e /proc/\$q ] && ! grep -q ') Z ' /proc/\$q/stat 2>/dev/null && a=1; done; [ -z \"\$a\" ] && break; i=\$((i + 1)); sleep 0.1; done; rm -f /run/relocd/control.sock; echo \"killed: \$(echo \$t)\"; [ -n \"\$t\" ] && [ -z \"\$a\" ]"
}
# lk_start: xmig migrate --copy-storage -r 16 hblv3 xenb in the
# background on xena, its output, then "exit N", in $LK
lk_start() {
	on xena 20 "rm -f $LK; (xmig migrate --copy-storage -r 16 hblv3 xenb >$LK 2>&1; echo \"exit \$?\" >>$LK) >/dev/null 2>&1 & echo started" >/dev/null
}
# lk_midcopy: until xmig's progress shows the volume's copy at 10 to
# 79 % (bounded: 240 looks, some 5 min; the memory goes first): that
# line; or, when xmig ended first, the end of its output and 1
lk_midcopy() {
	local i l
	for i in $(seq 1 240); do
		l=$(on xena 10 "tr '\\r' '\\n' < $LK | grep -E 'disks: [0-9.]+ of [0-9.]+ MiB \\([1-7][0-9]%\\)|^exit ' | tail -n 1" |
		    tail -n 1)
		case $l in
		exit*)	on xena 10 "tr '\\r' '\\n' < $LK | grep -v '^\$' | tail -n 4"
			return 1 ;;
		*disks:*) echo "$l"
			return 0 ;;
		esac
		sleep 1
	done
	return 1
}
# lk_where: where hblv3 is after a kill: st (its state on xena), nc
# and nr (its copies, and how many run), logged.
lk_where() {
	st=$(state xena hblv3)
	read -r nc nr <<<"$(copies hblv3)"
	log "hblv3: '$st' on xena, hblv3--incoming '$(state xenb hblv3--incoming)' on xenb; $nc copies, $nr running"
}
# lk_end: until xmig on xena has ended (bounded: 120 s); its last lines
lk_end() {
	on xena 150 "i=0; until grep -q '^exit ' $LK; do i=\$((i + 1)); [ \$i -gt 120 ] && break; sleep 1; done; tr '\\r' '\\n' < $LK | grep -v '^\$' | tail -n 5"
}
# log_since HOST N: HOST's relocd log from line N + 1 on, its lines
# about hblv3 and the recovery
log_since() {
	on "$1" 20 "sed -n '$(($2 + 1)),\$p' /var/log/relocd.log | grep -E 'hblv3|recover|logical volume'"
}
# wait_log HOST N PATTERN: until HOST's relocd log has a line matching
# PATTERN (grep -E) after line N (bounded: 60 s)
wait_log() {
	on "$1" 70 "i=0; until sed -n '$(($2 + 1)),\$p' /var/log/relocd.log | grep -Eq '$3'; do i=\$((i + 1)); [ \$i -gt 60 ] && exit 1; sleep 1; done" >/dev/null
}
# lv3_gone_b: nothing of hblv3 on xenb: no domain, no LV, no node, no
# device-mapper device
lv3_gone_b() {
	[ "$(state xenb hblv3--incoming)" = absent ] &&
	    [ "$(state xenb hblv3)" = absent ] &&
	    on xenb 30 "test ! -e $LV3 && ! lvm lvs --noheadings -o lv_name $VG | grep -qw hblv3 && ! dmsetup ls | grep -q hblv3" >/dev/null
}
# lvkill HOST: hblv3 moved to xenb, HOST's relocd killed mid-copy and
# started again, the checks; what it showed is added to LK_SAID
lvkill() {
	local k=$1 na nb t at tk out rc st nc nr hb0 hb1 tg gone said blog attr
	na=$(on xena 10 "wc -l < /var/log/relocd.log" | tail -n 1)
	nb=$(on xenb 10 "wc -l < /var/log/relocd.log" | tail -n 1)
	hb0=$(hb_last xena $CON/guest-hblv3.log)
	t=$(now)
	lk_start
	at=$(lk_midcopy)
	tk=$(since "$t")
	log "hblv3's move, $tk s in: $at"
	check "kill -9 on $k: the volume's copy seen part-way (xmig: ${at##*disks: })" \
	    grep -q 'disks: ' <<<"$at"
	if ! grep -q 'disks: ' <<<"$at"; then
		lk_end >/dev/null
		LK_SAID="$LK_SAID; $k: the copy not seen part-way"
		return
	fi
	check "kill -9 of every relocd process on $k ($tk s into the move)" \
	    relocd_kill9 "$k"
	out=$(lk_end)
	printf '%s\n' "$out"
	rc=$(sed -n 's/^exit //p' <<<"$out" | tail -n 1)
	said="$k's relocd killed at $(sed -n 's/.*disks: \([0-9.]* of [0-9.]* MiB ([0-9]*%)\) copied, \([0-9.]* MiB\/s\).*/\1 at \2/p' <<<"$at"), $tk s into the move: xmig exit ${rc:-?}"
	if [ "$k" = xenb ]; then
		check "xmig on xena fails (exit ${rc:-none}), saying why" \
		    eval 'test "$rc" = 1 && grep -q "^xmig: " <<<"$out"'
		# xena resumed it; xenb's incoming copy, paused, and the LV
		# stay until xenb's relocd is back.
		lk_where
		check "hblv3 runs on xena ('$st'), the only running copy of it" \
		    eval 'test "$nr" = 1 && case $st in absent | *p* | *s* | *c* | *d*) false ;; esac'
		# Open (lv_attr's sixth character "o"): the incoming domain,
		# paused, has it as its vbd, which is what lvremove refuses.
		attr=$(on xenb 30 "lvm lvs --noheadings -o lv_attr $VG/hblv3 2>/dev/null" |
		    tail -n 1 | tr -d ' ')
		check "the killed relocd left $LV3 on xenb (lv_attr ${attr:-none})" \
		    test -n "$attr"
		[ "${attr:5:1}" = o ] && said="$said; the LV left open ($attr)"
		check "xenb's relocd started again" start_relocd xenb
		check "its reconciliation removed the partial LV, saying so" \
		    wait_log xenb "$nb" "recovered the migration of hblv3: removed the partial disk copy, the logical volume $VG/hblv3"
		blog=$(log_since xenb "$nb")
		printf '%s\n' "$blog"
		check "and destroyed hblv3--incoming first (destination, before go)" \
		    grep -Eq 'recovered the migration of hblv3 \(destination, phase [a-z]+\): interrupted before go; the incoming copy was destroyed' <<<"$blog"
		said="$said; xenb's reconciliation ($(grep -o 'destination, phase [a-z]*' <<<"$blog" | tail -n 1)) destroyed hblv3--incoming and removed the LV"
	else
		check "xmig on xena: its relocd gone (exit ${rc:-none}), the outcome unknown to it" \
		    eval 'test "$rc" = 3 && grep -q "lost the connection to relocd" <<<"$out"'
		lk_where
		check "no running copy of hblv3 while xena's relocd is down (xena: '$st')" \
		    test "$nr" = 0
		# xenb's session sees the stream end: it destroys its copy
		# and removes the LV, at once or (no FIN) after io_timeout.
		t=$(now)
		gone=
		for i in $(seq 1 75); do
			lv3_gone_b && { gone=1; break; }
			sleep 2
		done
		tg=$(since "$t")
		blog=$(log_since xenb "$nb")
		printf '%s\n' "$blog"
		check "xenb dropped hblv3--incoming and removed the partial LV on its own ($tg s after the kill)" \
		    test -n "$gone"
		check "its session said so: removed the copy, the logical volume $VG/hblv3" \
		    grep -q "removed the copy, the logical volume $VG/hblv3" <<<"$blog"
		check "xena's relocd started again" start_relocd xena
		check "its reconciliation resumed hblv3 (source, before go)" \
		    wait_log xena "$na" 'recovered the migration of hblv3 \(source, phase [a-z]+\): interrupted before go; resumed here'
		said="$said; xenb's session removed its LV, $tg s after; xena's reconciliation ($(log_since xena "$na" | grep -o 'source, phase [a-z]*' | tail -n 1)) resumed hblv3"
	fi
	check "hblv3 runs on xena only, exactly once" runs_only_on xena hblv3
	check "hblv3's heartbeat advances on xena" \
	    advancing xena $CON/guest-hblv3.log
	hb1=$(hb_last xena $CON/guest-hblv3.log)
	check "the same guest: its heartbeat goes on from HB ${hb0:-?} (now HB ${hb1:-?})" \
	    test -n "$hb0" -a -n "$hb1" -a "${hb1:-0}" -gt "${hb0:-0}"
	check "nothing of hblv3 on xenb: no domain, no $LV3, no device-mapper device" \
	    lv3_gone_b
	check "xena's $LV3 unchanged" test "$(lv_sum xena $LV3)" = "$lvsum3"
	LK_SAID="${LK_SAID:+$LK_SAID; }$said"
}
if want 1f; then
log ""
log "== 1f. hblv on xena, a logical volume there only: xmig migrate --copy-storage into xenb's volume group"
LVMSTEP=
for h in xena xenb; do
	check "$h: LVM ($(on $h 20 "lvm version | sed -n 's/^ *LVM version: *\\([^ ]*\\).*/\\1/p'" | tail -n 1)) and device-mapper (dm-mod) answer" \
	    on $h 20 "lvm version && dmsetup version && test -c /dev/mapper/control"
	check "$h: volume group $VG on brd's ramdisk ($VGMB MiB)" vg_make $h
	check "$h: lvcreate, the node /dev/$VG/probe, lvs, lvremove, without udev" \
	    lv_works $h
done
# xenb takes copies into vgxen: the setting, checked as a start checks
# it, then a reload (SIGHUP).  A relocd that does not know the key keeps
# its configuration and the rest of the step shows how it refuses.
check "xenb's relocd.conf takes incoming_volume_group = \"$VG\" (relocd -n)" \
    on xenb 30 "cp /etc/xen/relocd.conf /etc/xen/relocd.conf.pre1f && echo 'incoming_volume_group = \"$VG\"' >> /etc/xen/relocd.conf && relocd -n -f /etc/xen/relocd.conf 2>&1 || { cp /etc/xen/relocd.conf.pre1f /etc/xen/relocd.conf; exit 1; }"
check "xenb's relocd reloads it (SIGHUP)" reload_relocd xenb
check "xena: $LV, 32 MiB, 8 MiB of random data at 0 and 20 MiB, zeros elsewhere" \
    on xena 90 "lvm lvcreate -q --yes -n hblv -L 32m $VG && dd if=/dev/zero of=$LV bs=1M count=32 2>/dev/null && dd if=/dev/urandom of=$LV bs=1M count=4 conv=notrunc 2>/dev/null && dd if=/dev/urandom of=$LV bs=1M seek=20 count=4 conv=notrunc 2>/dev/null && sync && test \$(blockdev --getsize64 $LV) = 33554432 && lvm lvs $VG"
check "xenb has no $LV" on xenb 20 "test ! -e $LV"
lvsum_a=$(lv_sum xena $LV)
log "sha256 of $LV on xena before the move: $lvsum_a"
lvmoved=0
on xena 120 xl create /etc/xen/hblv.cfg
rc=$?
check "xl create hblv on xena (xvda = phy:$LV, through xen-blkback)" \
    test "$rc" = 0
if [ "$rc" = 0 ]; then
	check "hblv's heartbeat on xena's console" \
	    wait_hb xena $CON/guest-hblv.log 120
	check "xen-blkback has $LV (physical-device is its major:minor)" \
	    on xena 20 "xenstore-ls /local/domain/0/backend/vbd | grep -E 'params|physical-device|hotplug-status|state' && test \"\$(xenstore-ls /local/domain/0/backend/vbd | sed -n 's/.*physical-device = \"\\(.*\\)\"/\\1/p')\" = \"\$(stat -L -c %t:%T $LV)\""
	out=$(on xena 60 "xmig check hblv xenb 2>&1")
	rc=$?
	check "without --copy-storage, xmig check hblv xenb fails: FAIL storage: disk xvda: $LV does not exist on xenb (exit $rc)" \
	    eval 'test "$rc" = 1 && grep -qxF "FAIL storage: disk xvda: $LV does not exist on xenb" <<<"$out"'
	out=$(on xena 60 "xmig check --copy-storage hblv xenb 2>&1")
	rc=$?
	check "xmig check --copy-storage hblv xenb passes (exit $rc)" \
	    test "$rc" = 0
	check "it says what it copies and the room: 32.0 MiB (an LV is copied whole), $VG's 124.0 MiB free on xenb" \
	    grep -Eq '^PASS storage: 1 disk copied here: 32\.0 MiB of data \(32\.0 MiB apparent\), 124\.0 MiB free where it would go' <<<"$out"
	last_a0=$(hb_last xena $CON/guest-hblv.log)
	t=$(now)
	out=$(on xena 300 "xmig migrate --copy-storage hblv xenb 2>&1")
	rc=$?
	TIMES[m1f]=$(since "$t")
	printf '%s\n' "$out" | tail -n 6
	check "xmig migrate --copy-storage hblv xenb exits 0" test "$rc" = 0
	[ "$rc" = 0 ] && lvmoved=1
fi
if [ "$lvmoved" = 0 ]; then
	# Not moved: the rest of the move's checks would only repeat it.
	check "hblv, not moved, still runs on xena only" runs_only_on xena hblv
	for h in xena xenb; do
		on $h 20 "grep -E 'hblv|lvm|volume' /var/log/relocd.log | tail -n 12"
	done
	LVMSTEP="not moved: $(grep -m1 '^xmig: ' <<<"$out")"
else
	check "xmig shows the volume's copy: disk xvda: sent 8388608 bytes of data (33554432 bytes apparent)" \
	    grep -q '^disk xvda: sent 8388608 bytes of data (33554432 bytes apparent)' <<<"$out"
	# Made and zeroed before xena suspended hblv (the prepare step).
	check "xmig showed xenb making the volume: xenb: creating the logical volume $VG/hblv (32 MiB)" \
	    grep -q "^xenb: creating the logical volume $VG/hblv (32 MiB)" <<<"$out"
	check "... and zeroing it" \
	    grep -q "^xenb: zeroing the new logical volume $VG/hblv: " <<<"$out"
	check "it reports the disk data copied and the source disk kept" \
	    grep -q 'MiB of disk data copied in [0-9]* ms, the source disk kept' <<<"$out"
	LVMSG=$(grep -o '[0-9.]* MiB of disk data copied in [0-9]* ms' <<<"$out" | tail -n 1)
	check "hblv runs on xenb, exactly once, gone from xena" \
	    runs_only_on xenb hblv
	last_a=$(hb_last xena $CON/guest-hblv.log)
	wait_hb xenb $CON/guest-hblv.log 30
	first_b=$(hb_first xenb $CON/guest-hblv.log)
	log "heartbeat: last on xena HB $last_a (HB $last_a0 before the move), first on xenb HB $first_b"
	check "heartbeat continues on xenb (no reboot: HB $first_b follows HB $last_a)" \
	    test -n "$first_b" -a -n "$last_a" -a "${first_b:-0}" -gt 1 \
	    -a "${first_b:-0}" -ge "${last_a:-0}"
	check "hblv's heartbeat advances on xenb" \
	    advancing xenb $CON/guest-hblv.log
	lvsent=$(on xena 20 "sed -n 's/.*disk xvda: sent \\([0-9]*\\) bytes of data.*/\\1/p' /var/log/relocd.log | tail -n 1" |
	    tail -n 1)
	on xenb 20 "grep -E 'hblv.*(disk|volume|verified|lvcreate)' /var/log/relocd.log | tail -n 6"
	check "only the data went over the link: 8 MiB of the 32 MiB volume (${lvsent:-?} bytes sent)" \
	    test "${lvsent:-0}" = 8388608
	LVMSTEP="32 MiB LV, ${lvsent:-?} bytes sent, ${LVMSG:-?}"
	check "xenb made $LV in $VG, 32 MiB, and its domain runs on it" \
	    on xenb 20 "lvm lvs --noheadings --units b --nosuffix -o lv_name,lv_size $VG | grep -E '^ *hblv +33554432' && xl list -l hblv | grep -q '\"pdev_path\": \"$LV\"' && xenstore-ls /local/domain/0/backend/vbd | grep -E 'params|physical-device'"
	lvsum_b=$(lv_sum xenb $LV)
	log "sha256 of $LV: xena $lvsum_a, xenb $lvsum_b (the guest running there)"
	check "xenb's $LV has xena's volume's sha256 (${lvsum_b:-none})" \
	    test -n "$lvsum_a" -a "$lvsum_a" = "$lvsum_b"
	check "xena released $LV with the domain (no vbd backend left)" \
	    vbd_gone xena
	on xenb 60 "xl destroy hblv 2>&1; true" >/dev/null
	check "hblv destroyed on xenb, $LV released" vbd_gone xenb
	lvsum_b1=$(lv_sum xenb $LV)
	check "xenb's $LV still has that sha256 after the domain's end" \
	    test -n "$lvsum_a" -a "$lvsum_b1" = "$lvsum_a"
fi
lvsum_a1=$(lv_sum xena $LV)
check "xena keeps its $LV, unchanged" \
    test -n "$lvsum_a" -a "$lvsum_a1" = "$lvsum_a"
on xena 60 "xl destroy hblv 2>/dev/null; true" >/dev/null
on xenb 60 "xl destroy hblv 2>/dev/null; true" >/dev/null
check "nothing of hblv left running on either host" test "$(copies hblv)" = "0 0"

# The refusals: hblv2 (16 MiB) on xena, and on xenb an LV of that name
# already (its content must survive), then no LV but no room in vgxen.
check "xena: $LV2, 16 MiB, 4 MiB of random data" \
    on xena 60 "lvm lvcreate -q --yes -n hblv2 -L 16m $VG && dd if=/dev/zero of=$LV2 bs=1M count=16 2>/dev/null && dd if=/dev/urandom of=$LV2 bs=1M seek=4 count=4 conv=notrunc 2>/dev/null"
check "xenb: an LV hblv2 of its own (8 MiB), marked" \
    on xenb 60 "lvm lvcreate -q --yes -n hblv2 -L 8m $VG && echo xenb-own | dd of=$LV2 conv=notrunc 2>/dev/null"
lv2sum_b=$(lv_sum xenb $LV2)
on xena 120 xl create /etc/xen/hblv2.cfg
rc=$?
check "xl create hblv2 on xena (xvda = phy:$LV2)" test "$rc" = 0
if [ "$rc" = 0 ]; then
	check "hblv2's heartbeat on xena's console" \
	    wait_hb xena $CON/guest-hblv2.log 120
	id0=$(on xena 20 "xl domid hblv2" | tail -n 1)
	out=$(on xena 60 "xmig check --copy-storage hblv2 xenb 2>&1")
	rc=$?
	check "xmig check --copy-storage hblv2 xenb fails on storage: $LV2 exists on xenb (exit $rc)" \
	    eval 'test "$rc" = 1 && grep -E "^FAIL storage: disk xvda: " <<<"$out" | grep -F "$LV2" | grep -Eqi "exist|present"'
	out=$(on xena 120 "xmig migrate --copy-storage hblv2 xenb 2>&1")
	rc=$?
	printf '%s\n' "$out" | tail -n 3
	check "xmig migrate --copy-storage hblv2 xenb refused (exit $rc): $LV2 exists on xenb" \
	    eval 'test "$rc" = 1 && grep -F "$LV2" <<<"$out" | grep -Eqi "exist|present"'
	check "refused before any stream byte (no progress, xenb never received hblv2)" \
	    eval '! grep -Eq "round [0-9]|[0-9]% of" <<<"$out" && on xenb 20 "! grep \"receiving domain hblv2\" /var/log/relocd.log"'
	check "xenb's own hblv2 untouched" \
	    test -n "$lv2sum_b" -a "$(lv_sum xenb $LV2)" = "$lv2sum_b"
	# No LV of that name now, but vgxen on xenb has no room left.
	check "xenb: its hblv2 removed, vgxen filled (lvcreate -l 100%FREE)" \
	    on xenb 60 "lvm lvremove -q --yes $VG/hblv2 && lvm lvcreate -q --yes -n filler -l 100%FREE $VG && lvm vgs --units m $VG"
	out=$(on xena 120 "xmig migrate --copy-storage hblv2 xenb 2>&1")
	rc=$?
	printf '%s\n' "$out" | tail -n 3
	check "xmig migrate --copy-storage hblv2 xenb refused again (exit $rc): no room in $VG" \
	    eval 'test "$rc" = 1 && grep -F "$LV2" <<<"$out" | grep -Eqi "free|room|space|small|enough"'
	check "no stream, and xenb made no hblv2" \
	    eval '! grep -Eq "round [0-9]|[0-9]% of" <<<"$out" && on xenb 20 "test ! -e $LV2 && ! grep \"receiving domain hblv2\" /var/log/relocd.log"'
	for h in xena xenb; do
		on $h 20 "grep -E 'hblv2|lvm|volume' /var/log/relocd.log | tail -n 12"
	done
	check "hblv2 still runs on xena only" runs_only_on xena hblv2
	id1=$(on xena 20 "xl domid hblv2" | tail -n 1)
	check "hblv2 is the same domain on xena (id $id0 -> $id1)" \
	    test -n "$id0" -a "$id0" = "$id1"
	check "hblv2's heartbeat advances on xena" \
	    advancing xena $CON/guest-hblv2.log
fi
on xena 60 "xl destroy hblv2 2>/dev/null; true" >/dev/null
check "nothing of hblv2 left running on either host" test "$(copies hblv2)" = "0 0"
# kill -9 of a relocd in the middle of the copy into a new LV (above,
# at lvkill): xenb's, then xena's.
log ""
log "== 1f. kill -9 of xenb's relocd, then of xena's, in the middle of hblv3's copy into a new LV"
LK_SAID=
on xenb 60 "lvm lvremove -q --yes $VG/filler 2>/dev/null; lvm vgs --units m $VG" >/dev/null
check "xena: $LV3, 32 MiB of random data, and hblv3's config" \
    on xena 90 "sed -e 's/hblv/hblv3/g' /etc/xen/hblv.cfg > /etc/xen/hblv3.cfg && grep -F $LV3 /etc/xen/hblv3.cfg && lvm lvcreate -q --yes -n hblv3 -L 32m $VG && dd if=/dev/urandom of=$LV3 bs=1M count=32 2>/dev/null && sync && test \$(blockdev --getsize64 $LV3) = 33554432"
check "xenb: no $LV3, and room for it in $VG" \
    on xenb 30 "test ! -e $LV3 && test \$(lvm vgs --noheadings --units b --nosuffix -o vg_free $VG) -ge 33554432"
lvsum3=$(lv_sum xena $LV3)
log "sha256 of $LV3 on xena: $lvsum3"
on xena 120 xl create /etc/xen/hblv3.cfg
rc=$?
check "xl create hblv3 on xena (xvda = phy:$LV3)" test "$rc" = 0
if [ "$rc" = 0 ] && wait_hb xena $CON/guest-hblv3.log 120; then
	lvkill xenb
	if runs_only_on xena hblv3 && lv3_gone_b; then
		lvkill xena
	else
		LK_SAID="$LK_SAID; xena's relocd not killed: hblv3 not back on xena alone"
	fi
	for h in xena xenb; do
		on $h 20 "grep -E 'hblv3' /var/log/relocd.log | tail -n 14"
	done
else
	LK_SAID="hblv3 could not be started on xena"
fi
log "1f, killed mid-copy: $LK_SAID"
LVMSTEP="${LVMSTEP:-?}; kill -9 mid-copy: $LK_SAID"
on xena 60 "xl destroy hblv3 2>/dev/null; true" >/dev/null
on xenb 60 "xl destroy hblv3--incoming 2>/dev/null; xl destroy hblv3 2>/dev/null; true" >/dev/null
check "nothing of hblv3 left running on either host" test "$(copies hblv3)" = "0 0"
# Clean up: every LV the step made, the volume groups, brd; xenb's
# relocd.conf as it was.
vbd_gone xena >/dev/null
vbd_gone xenb >/dev/null
for h in xena xenb; do
	check "$h: the step's LVs removed, $VG and its PV removed, brd unloaded" \
	    vg_remove $h
done
on xenb 30 "test -f /etc/xen/relocd.conf.pre1f && mv /etc/xen/relocd.conf.pre1f /etc/xen/relocd.conf" >/dev/null &&
    reload_relocd xenb >/dev/null
fi # want 1f

if want 2 && [ "$XEN" = shadow ]; then
log ""
log "== 2. xmig migrate -l hbpv $PVOTHER (live, shadow paging's log-dirty)"
since2=$(on $PVOTHER 10 "date +%T" | tail -n 1)
t=$(now)
out=$(on $PVHOST 300 xmig migrate -l hbpv $PVOTHER 2>&1)
rc=$?
TIMES[m2pv]=$(since "$t")
printf '%s\n' "$out"
[ "$rc" = 0 ] || log "NOTE: the stream at $PVOTHER:" \
    "$(stream_broke $PVOTHER "$since2" || echo 'not damaged')"
check "live PV migration: xmig migrate -l hbpv $PVOTHER exits 0" test "$rc" = 0
check "the pre-flight let it through (no log-dirty refusal)" \
    eval '! grep -q "cap_shadow = 0" <<<"$out"'
check "live progress from libxc: a round after the first" \
    grep -Eq 'round [2-9]' <<<"$out"
check "hbpv runs on $PVOTHER, exactly once" runs_only_on $PVOTHER hbpv
la=$(hb_last $PVHOST $CON/guest-hbpv.log)
for i in $(seq 1 30); do
	on $PVOTHER 20 "tr -d '\\r' < $CON/guest-hbpv.log | grep -q 'HB $((la + 1))\$'" >/dev/null && break
	sleep 1
done
ta=$(hb_time $PVHOST $CON/guest-hbpv.log "$la")
tb=$(hb_time $PVOTHER $CON/guest-hbpv.log $((la + 1)))
log "PV live heartbeat: last on $PVHOST HB $la, HB $((la + 1)) on $PVOTHER"
check "its heartbeat goes on on $PVOTHER (HB $((la + 1)) after HB $la)" \
    test -n "$la" -a -n "$tb"
check "and advances there" advancing $PVOTHER $CON/guest-hbpv.log
[ -n "$ta" ] && [ -n "$tb" ] &&
    TIMES[down2pv]=$(((tb - $(clock_off $PVOTHER)) - (ta - $(clock_off $PVHOST))))
if runs_only_on $PVOTHER hbpv; then
	pv_moved $PVOTHER
	PVLIVE="live, exit 0, heartbeat gap ${TIMES[down2pv]:-?} s"
else
	PVLIVE="failed (exit $rc)"
fi
on $PVHOST 20 "grep -iE 'hbpv|error|fail' /var/log/relocd.log | tail -n 4"
elif want 2; then
log ""
log "== 2. xmig migrate -l hbpv $PVOTHER (live): refused up front on this Xen"
out=$(on $PVHOST 120 xmig migrate -l hbpv $PVOTHER 2>&1)
rc=$?
echo "$out"
check "live PV migration refused (exit 1)" test "$rc" = 1
check "the refusal says to migrate offline" grep -q 'offline' <<<"$out"
check "hbpv still runs on $PVHOST only, untouched" runs_only_on $PVHOST hbpv
check "hbpv's heartbeat still advances on $PVHOST" \
    advancing $PVHOST $CON/guest-hbpv.log
PVLIVE="refused up front (cap_shadow = 0), guest untouched"
fi # want 2

# pvh_boot HOST: hbpvh created on HOST, and still running past the 7-8 s
# after boot where its init died of SIGILL before noxsave (README); three
# times at most, the log of a death kept as guest-hbpvh.bootN.log.
pvh_boot() {
	local i
	for i in 1 2 3; do
		on "$1" 60 "xl destroy hbpvh 2>/dev/null; sleep 1; mv -f $CON/guest-hbpvh.log $CON/guest-hbpvh.boot$i.log 2>/dev/null; true" >/dev/null
		on "$1" 180 xl create /etc/xen/hb-pvh.cfg &&
		    wait_hb "$1" $CON/guest-hbpvh.log 90 && sleep 8 &&
		    case $(state "$1" hbpvh) in *c* | absent) false ;; esac &&
		    return 0
		log "NOTE: hbpvh died at boot on $1 (SIGILL in its init, README)"
	done
	return 1
}

# hbpvh runs on xena, or is made to: under TCG its init sometimes dies
# of SIGILL (a kernel panic in its console log) on its own, with no
# migration near it.  That guest is destroyed and created again, once.
pvh_running() {
	local st
	st=$(state xena hbpvh)
	case $st in
	absent | *c* | *s*) ;;
	*) return 0 ;;
	esac
	log "NOTE: hbpvh is '$st' on xena before the step (TCG guest crash:" \
	    "$(on xena 20 "grep -m 1 -E 'panic|SIGILL' $CON/guest-hbpvh.log" |
	    tail -n 1)); creating it again"
	pvh_boot xena
}

# 2c, inside 2b: a live migration of hbpvh, slowed to 24 Mbit/s so that
# round 1 takes about 45 s, cancelled from a second "terminal" once xmig
# shows round 1 under way.  The guest must run on at xena, under its
# name, and nothing of it may stay on xenb.
pvh_cancel() {
	local i out st
	log ""
	log "== 2c. xmig cancel hbpvh during round 1 of a live migration"
	since2c=$(on xenb 10 "date +%T" | tail -n 1)
	on xena 20 "rm -f /tmp/mc.out; (xmig migrate -l -r 24 hbpvh xenb >/tmp/mc.out 2>&1; echo \"exit \$?\" >>/tmp/mc.out) >/dev/null 2>&1 & echo started" >/dev/null
	for i in $(seq 1 60); do
		on xena 20 "grep -Eq 'round 1: +([1-9]|[1-9][0-9])% of' /tmp/mc.out" >/dev/null && break
		sleep 1
	done
	on xena 20 "xmig jobs"
	out=$(on xena 60 "xmig cancel hbpvh 2>&1")
	log "xmig cancel: $out"
	for i in $(seq 1 90); do
		on xena 20 "grep -q '^exit ' /tmp/mc.out" >/dev/null && break
		sleep 1
	done
	out=$(on xena 20 "tr '\\r' '\\n' < /tmp/mc.out | grep -v '^\$' | tail -n 4")
	printf '%s\n' "$out"
	check "cancelled migration: xmig exits 1" grep -q '^exit 1$' <<<"$out"
	broke=
	grep -q 'cancelled: hbpvh runs on xena' <<<"$out" ||
	    broke=$(stream_broke xenb "$since2c")
	if [ -n "$broke" ]; then
		# Ended before the cancel came, its stream damaged on the
		# way (stream_broke): what is checked is that the guest
		# runs on at xena, below.
		log "NOTE: the live stream reached xenb damaged before the" \
		    "cancel (TCG, as in 2b): $broke"
		tcg_known "2c: the stream reached xenb damaged"
	else
		check "xmig says: cancelled: hbpvh runs on xena" \
		    grep -q 'cancelled: hbpvh runs on xena' <<<"$out"
	fi
	# The destination drops its copy when its restore fails on the
	# short stream: at once, or (seen once in four runs) after its
	# io_timeout of 120 s without a byte; allow that and a little.
	t=$(now)
	for i in $(seq 1 110); do
		[ "$(state xenb hbpvh--incoming)" = absent ] && break
		sleep 1
	done
	log "xenb's incoming copy gone after $(since "$t") s"
	for h in xena xenb; do
		on $h 20 "tail -n 16 /var/log/relocd.log; ps -o pid,ppid,comm,args | grep -E 'relocd|xl|save' | grep -v grep"
	done
	st=$(state xena hbpvh)
	case $st in
	*c*)
		log "NOTE: hbpvh crashed at the source during the log-dirty save" \
		    "(Xen under TCG, see 2b); relocd did not resume it"
		CANCEL="the guest crashed at the source during log-dirty (TCG)"
		;;
	*)
		check "after cancel: hbpvh runs on xena only, nothing on xenb" \
		    runs_only_on xena hbpvh
		check "after cancel: hbpvh's heartbeat advances on xena" \
		    advancing xena $CON/guest-hbpvh.log
		CANCEL="cancelled in round 1, guest running on at the source"
		;;
	esac
	on xena 20 "grep -E 'cancel' /var/log/relocd.log | tail -n 4"
	on xenb 20 "grep -iE 'hbpvh' /var/log/relocd.log | tail -n 3"
}

if want 2b; then
log "== 2b. a PVH guest, live (HAP log-dirty), xena -> xenb"
t=$(now)
if on xena 180 xl create /etc/xen/hb-pvh.cfg &&
    wait_hb xena $CON/guest-hbpvh.log 90; then
	TIMES[create_pvh]=$(since "$t")
	sleep 8		# past where its init may die at boot (pvh_running)
	pvh_running && pvh_cancel
	pvh_running
	since2b=$(on xenb 10 "date +%T" | tail -n 1)
	t=$(now)
	out=$(on xena 300 xmig migrate -l hbpvh xenb)
	rc=$?
	TIMES[m2pvh]=$(since "$t")
	printf '%s\n' "$out"
	log "PVH live migration: xmig exit status $rc"
	if [ "$rc" = 0 ]; then
		# libxc's rounds: the pre-copy passes, then the one after
		# the suspend.  (A dirty rate shows only if a pass before
		# the suspend had pages left; a quiet guest may go straight
		# to it.)
		check "live progress from libxc: a round after the first" \
		    grep -Eq 'round [2-9]' <<<"$out"
		check "PVH live: hbpvh runs on xenb only" runs_only_on xenb hbpvh
		la=$(hb_last xena $CON/guest-hbpvh.log)
		wait_hb xenb $CON/guest-hbpvh.log 30
		fb=$(hb_first xenb $CON/guest-hbpvh.log)
		log "PVH heartbeat: last on xena HB $la, first on xenb HB $fb"
		check "PVH heartbeat continues on xenb (HB $fb follows HB $la)" \
		    test -n "$fb" -a -n "$la" -a "${fb:-0}" -gt 1 \
		    -a "${fb:-0}" -ge "${la:-0}"
		ta=$(hb_time xena $CON/guest-hbpvh.log "$la")
		tb=$(hb_time xenb $CON/guest-hbpvh.log "$fb")
		[ -n "$ta" ] && [ -n "$tb" ] &&
		    TIMES[down2]=$(((tb - $(clock_off xenb)) - (ta - $(clock_off xena))))
		PVH="migrated live (exit 0), heartbeat gap ${TIMES[down2]:-?} s"
	else
		check "PVH live failed: no copy of hbpvh on xenb" \
		    test "$(state xenb hbpvh)$(state xenb hbpvh--incoming)" = \
		    absentabsent
		st=$(state xena hbpvh)
		on xena 20 "xl list; xl dmesg | grep -iE 'd[0-9]+v|crash|hbpvh' | tail -n 8; grep -E 'panic|BUG|Oops|RIP:|invalid opcode' $CON/guest-hbpvh.log | head -n 6"
		case $st in
		*c*)
			# on_crash = "preserve" keeps the evidence: Xen itself
			# crashed the guest during the log-dirty save.
			log "NOTE: hbpvh crashed at the source during the live save" \
			    "(Xen under TCG; xl dmesg above); relocd did not resume it"
			PVH="live migration failed (exit $rc): the guest crashed at the source during the log-dirty save"
			;;
		*)
			check "PVH live failed: hbpvh still runs on xena only" \
			    runs_only_on xena hbpvh
			PVH="live migration failed (exit $rc), guest kept at the source"
			broke=$(stream_broke xenb "$since2b")
			if [ -n "$broke" ]; then
				log "NOTE: the live stream reached xenb damaged (TCG): $broke"
				tcg_known "2b: the stream reached xenb damaged"
				PVH="$PVH; its stream reached xenb damaged (TLS)"
			fi
			;;
		esac
	fi
	on xena 20 "grep -iE 'hbpvh|error|fail' /var/log/relocd.log | tail -n 6"
	on xenb 20 "grep -iE 'hbpvh|error|fail' /var/log/relocd.log | tail -n 6"
	# What runs on xenb stays for step 3 (stock xl moves it back).
	on xena 60 "xl destroy hbpvh 2>/dev/null; true" >/dev/null
else
	PVH="could not be created"
	check "PVH guest created on xena" false
fi
fi # want 2b

if want 3; then
log ""
log "== 3. stock xl into relocd: xl migrate -s \"xmig tunnel\" hbpv $PVOTHER"
t=$(now)
on $PVHOST 300 "xl migrate -s 'xmig tunnel' hbpv $PVOTHER 2>&1"
rc=$?
TIMES[m3]=$(since "$t")
log "xl migrate exit status $rc"
tun=$(on $PVHOST 20 "grep 'tunnel' /var/log/relocd.log")
rcv=$(on $PVOTHER 20 "grep -E 'migrate-receive|receiving|received|refused|failed' /var/log/relocd.log | tail -n 8")
check "relocd relayed the receiver's xl banner to xl" \
    grep -q "xl banner crossed" <<<"$tun"
check "xl's save header crossed the tunnel" grep -q "xl save header crossed" <<<"$tun"
check "xl's domain config crossed the tunnel (domain hbpv)" \
    grep -q "config crossed: domain hbpv" <<<"$tun"
check "$PVOTHER's relocd received xl's migration request" \
    grep -q "hbpv" <<<"$rcv"
[ "$XEN" = shadow ] &&
    check "with shadow paging, xl migrate -s 'xmig tunnel' hbpv $PVOTHER exits 0" \
    test "$rc" = 0
if [ "$rc" = 0 ]; then
	check "after xl's migration hbpv runs on $PVOTHER only" \
	    runs_only_on $PVOTHER hbpv
	# xl always migrates live: the heartbeat goes on from where it was.
	la=$(hb_last $PVHOST $CON/guest-hbpv.log)
	lb=
	for i in $(seq 1 30); do
		lb=$(hb_last $PVOTHER $CON/guest-hbpv.log)
		[ -n "$lb" ] && [ -n "$la" ] && [ "$lb" -gt "$la" ] && break
		sleep 1
	done
	check "hbpv's heartbeat goes on on $PVOTHER (HB $lb after HB $la)" \
	    test -n "$la" -a -n "$lb" -a "${lb:-0}" -gt "${la:-0}"
	ta=$(hb_time $PVHOST $CON/guest-hbpv.log "$la")
	tb=$(hb_time $PVOTHER $CON/guest-hbpv.log $((la + 1)))
	[ -n "$ta" ] && [ -n "$tb" ] &&
	    TIMES[down3pv]=$(((tb - $(clock_off $PVOTHER)) - (ta - $(clock_off $PVHOST))))
	XL="xl migrate succeeded (live), heartbeat gap ${TIMES[down3pv]:-?} s"
	pv_moved $PVOTHER
else
	check "after xl's failure hbpv runs on $PVHOST only" \
	    runs_only_on $PVHOST hbpv
	XL="xl migrate failed (exit $rc: xl always migrates live), guest kept at the source"
fi
fi # want 3
HBLOG=$CON/guest-hbpv.log
HBHOST=$PVHOST

# 3b and 3c: the PVH guest, which xl can migrate live on this Xen.  It
# is on xenb after 2b, or is created there.
pvh_on_xenb() {
	case $(state xenb hbpvh) in
	absent | *c* | *s* | *d*) ;;
	*) runs_only_on xenb hbpvh && return 0 ;;
	esac
	log "NOTE: hbpvh is not running on xenb after 2b; creating it there"
	for h in xena xenb; do
		on $h 60 "xl destroy hbpvh 2>/dev/null; xl destroy hbpvh--incoming 2>/dev/null; true" >/dev/null
	done
	on xenb 20 "mv -f $CON/guest-hbpvh.log $CON/guest-hbpvh.before.log 2>/dev/null; true" >/dev/null
	on xenb 180 xl create /etc/xen/hb-pvh.cfg && wait_hb xenb $CON/guest-hbpvh.log 90
}
# xena's relocation_hosts_allow, then a reload (SIGHUP)
allow_on_xena() {
	on xena 30 "sed -i 's/^relocation_hosts_allow = .*/relocation_hosts_allow = $1/' /etc/xen/relocd.conf && n=\$(grep -c 'reloaded /etc/xen/relocd.conf' /var/log/relocd.log); kill -HUP \$(cat /run/relocd.pid); i=0; while [ \$(grep -c 'reloaded /etc/xen/relocd.conf' /var/log/relocd.log) -le \$n ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; grep 'reloaded /etc/xen/relocd.conf' /var/log/relocd.log | tail -n 1; [ \$i -lt 100 ]"
}

if want 3b; then
log ""
log "== 3b. stock xl to a host that does not allow xenb: refused, untouched"
if pvh_on_xenb; then
	id0=$(on xenb 20 "xl domid hbpvh" | tail -n 1)
	check "xena reloaded with relocation_hosts_allow = [ \"xena\" ]" \
	    allow_on_xena '[ "xena" ]'
	out=$(on xenb 120 "xl migrate -s 'xmig tunnel' hbpvh xena 2>&1")
	rc=$?
	printf '%s\n' "$out" | tail -n 6
	check "xl migrate -s 'xmig tunnel' hbpvh xena fails (exit $rc)" \
	    test "$rc" != 0 -a "$rc" != 124
	check "xmig tunnel told xl why: xenb's certificate is not in xena's allow-list" \
	    grep -q "not in this host's relocation_hosts_allow" <<<"$out"
	check "xena's relocd logged the refusal" \
	    on xena 20 "grep 'not in relocation_hosts_allow' /var/log/relocd.log | tail -n 1 | grep ."
	check "hbpvh still runs on xenb only, the same domain (id $id0)" \
	    eval 'runs_only_on xenb hbpvh &&
	    test "$(on xenb 20 "xl domid hbpvh" | tail -n 1)" = "$id0"'
	check "and its heartbeat advances there" advancing xenb $CON/guest-hbpvh.log
	check "xena reloaded with relocation_hosts_allow = [ \"xena\", \"xenb\" ]" \
	    allow_on_xena '[ "xena", "xenb" ]'

else
	check "hbpvh running on xenb for stock xl" false
fi
fi # want 3b
if want 3c; then
log ""
log "== 3c. stock xl into relocd, live: xl migrate -s \"xmig tunnel\" hbpvh xena"
# A failure here was first taken for the tunnel's: xena's libxc read a
# short Page data record a few MB into xl's live stream.  It is the TLS
# stream arriving damaged (stream_broke), which hits relocd's own live
# PVH move (2b) as often; the tunnel carries every byte (its log and the
# receiver's count them).  Such a failure is a NOTE, as in 2b; any other
# is a FAIL.  XEN_XL_PVH=0 leaves the step out.
if [ "${XEN_XL_PVH:-1}" = 0 ]; then
	log "3c not run (XEN_XL_PVH=0)"
	XLPVH="not run (XEN_XL_PVH=0)"
elif pvh_on_xenb; then
	since3c=$(on xena 10 "date +%T" | tail -n 1)
	t=$(now)
	out=$(on xenb 300 "xl migrate -s 'xmig tunnel' hbpvh xena 2>&1")
	rc=$?
	TIMES[m3pvh]=$(since "$t")
	printf '%s\n' "$out" | tail -n 8
	log "xl migrate (PVH) exit status $rc"
	tun=$(on xenb 20 "grep 'tunnel to xena' /var/log/relocd.log | tail -n 8")
	if [ "$rc" = 0 ]; then
		check "xl migrate -s 'xmig tunnel' hbpvh xena exits 0" true
		check "the tunnel saw xena's report: running at the destination" \
		    grep -q 'report: running at the destination' <<<"$tun"
		check "xena's relocd received hbpvh from xl" \
		    on xena 20 "grep -E 'hbpvh' /var/log/relocd.log | grep -iE 'receiv|running' | tail -n 3 | grep ."
		check "hbpvh runs on xena only, exactly once" runs_only_on xena hbpvh
		la=$(hb_last xenb $CON/guest-hbpvh.log)
		wait_hb xena $CON/guest-hbpvh.log 30
		fb=$(hb_first xena $CON/guest-hbpvh.log)
		log "PVH heartbeat (xl): last on xenb HB $la, first on xena HB $fb"
		check "its heartbeat goes on on xena (HB $fb follows HB $la)" \
		    test -n "$fb" -a -n "$la" -a "${fb:-0}" -gt 1 \
		    -a "${fb:-0}" -ge "${la:-0}"
		check "and advances there" advancing xena $CON/guest-hbpvh.log
		ta=$(hb_time xenb $CON/guest-hbpvh.log "$la")
		tb=$(hb_time xena $CON/guest-hbpvh.log "$fb")
		[ -n "$ta" ] && [ -n "$tb" ] &&
		    TIMES[down3]=$(((tb - $(clock_off xena)) - (ta - $(clock_off xenb))))
		XLPVH="live, exit 0, heartbeat gap ${TIMES[down3]:-?} s"
	else
		on xenb 20 "xl list; xl dmesg | tail -n 6; grep -E 'panic|BUG|Oops|RIP:' $CON/guest-hbpvh.log | head -n 6"
		printf '%s\n' "$tun"
		on xena 20 "grep -E 'hbpvh|migrate-receive|xl|libxl|xc:|seccomp|signal|died' /var/log/relocd.log | tail -n 16; xl dmesg | tail -n 8"
		broke=$(stream_broke xena "$since3c")
		case $(state xenb hbpvh) in
		*c*)
			log "NOTE: hbpvh crashed at the source during xl's live save" \
			    "(Xen under TCG, as in 2b)"
			XLPVH="failed (exit $rc): the guest crashed at the source during log-dirty (TCG)"
			;;
		*)
			if [ -n "$broke" ]; then
				log "NOTE: the live stream reached xena damaged" \
				    "(TCG, as in 2b): $broke"
				tcg_known "3c: the stream reached xena damaged"
				XLPVH="failed (exit $rc): the stream reached xena damaged (TLS), as relocd's own under TCG"
				check "hbpvh still runs on xenb only" \
				    runs_only_on xenb hbpvh
			else
				check "xl migrate -s 'xmig tunnel' hbpvh xena exits 0" false
				XLPVH="failed (exit $rc)"
			fi
			;;
		esac
		check "after it: no copy of hbpvh on xena" \
		    test "$(state xena hbpvh)$(state xena hbpvh--incoming)" = \
		    absentabsent
	fi
else
	XLPVH="not run: hbpvh could not be had on xenb"
	check "hbpvh running on xenb for stock xl" false
fi
fi # want 3c
for h in xena xenb; do
	on $h 60 "xl destroy hbpvh 2>/dev/null; xl destroy hbpvh--migratedaway 2>/dev/null; true" >/dev/null
done

if want 4; then
log ""
log "== 4. a relocd with a certificate from another CA is refused"
on $HBHOST 30 "relocd -d -f /etc/xen/relocd-foreign.conf >/var/log/relocd-foreign.log 2>&1 & echo \$! > /run/foreign.pid; i=0; while [ ! -S /run/relocd/foreign.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done"
other=xena
[ $HBHOST = xena ] && other=xenb
# -p: the peer's port (xm's meaning); this relocd listens on 8004.
out=$(on $HBHOST 120 xmig --config /etc/xen/relocd-foreign.conf migrate -p 8003 hbpv $other 2>&1)
rc=$?
echo "$out"
on $HBHOST 10 'kill $(cat /run/foreign.pid)' >/dev/null
check "migration from the foreign-CA relocd fails (exit 1)" test "$rc" = 1
check "$other's relocd logged the refused certificate" \
    on $other 20 "grep -iE 'refus|reject|verify' /var/log/relocd.log | tail -n 3 | grep ."
check "hbpv still runs on $HBHOST only" runs_only_on $HBHOST hbpv

log ""
log "== 5. the heartbeat on $HBHOST, from the guest's console"
on $HBHOST 20 "tr -d '\\r' < $HBLOG | tail -n 3"
check "heartbeat advancing on $HBHOST" advancing $HBHOST $HBLOG
fi # want 4

if want 6; then

log ""
log "== 6. relocd restarted; on_reboot/on_poweroff after the move (its monitor)"
check "hbpv's lease held on $HBHOST" lease_held $HBHOST hbpv
on $HBHOST 20 'kill $(cat /run/relocd.pid); i=0; while [ -S /run/relocd/control.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done' >/dev/null
check "relocd restarted on $HBHOST" start_relocd $HBHOST
check "the lease stayed held across relocd's restart (the monitor holds it)" \
    lease_held $HBHOST hbpv
# Its monitor killed as well (as a stop that kills relocd's whole cgroup
# would): the relocd that starts next gives hbpv a new one.
mon_pid() {
	on $HBHOST 20 "xmig leases hbpv" | sed -n 's/.* pid \([0-9]*\) since .*/\1/p'
}
mp0=$(mon_pid)
on $HBHOST 20 "kill \$(cat /run/relocd.pid); kill -9 $mp0; i=0; while [ -S /run/relocd/control.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; sleep 1; ps -o pid,args | grep -v grep | grep -E 'relocd|monitor'" >/dev/null
check "relocd and hbpv's monitor (pid $mp0) killed on $HBHOST; hbpv runs on" \
    eval 'test -n "$mp0" && on $HBHOST 20 "! kill -0 $mp0 2>/dev/null" &&
    runs_only_on $HBHOST hbpv'
check "relocd started again on $HBHOST" start_relocd $HBHOST
check "it found hbpv's monitor gone and started a new one" \
    on $HBHOST 20 "grep -E 'domain [0-9]+ \(hbpv\): its monitor is gone; starting a new one' /var/log/relocd.log"
mp1=$(mon_pid)
check "hbpv carries relocd's mark beside it (libxl userdata relocd-monitor)" \
    on $HBHOST 20 "ls /var/lib/xen /run/xen 2>/dev/null | grep \"^userdata-d\.\$(xl domid hbpv)\..*\.relocd-monitor\$\""
check "the new monitor (pid $mp1) holds hbpv's lease again" \
    eval 'test -n "$mp1" -a "$mp1" != "$mp0" && lease_held $HBHOST hbpv'
id0=$(on $HBHOST 20 "xl domid hbpv" | tail -n 1)
on $HBHOST 30 "xl reboot hbpv"
id1=
for i in $(seq 1 90); do
	id1=$(on $HBHOST 20 "xl domid hbpv 2>/dev/null" | tail -n 1)
	[ -n "$id1" ] && [ "$id1" != "$id0" ] && break
	sleep 1
done
check "on_reboot = restart: hbpv restarted as a new domain ($id0 -> $id1)" \
    test -n "$id1" -a "$id1" != "$id0"
on $HBHOST 20 "grep -E 'monitor|shut down|restart' /var/log/relocd.log | tail -n 6; cat /var/lib/relocd-cluster/leases/* 2>/dev/null; ls -l /var/lib/relocd/monitors"
# The monitor renames its socket before the new domain runs, but after
# xl already lists it.
check "the restarted hbpv keeps its lease; its holder's socket is $id1.sock" \
    eval 'lease_held $HBHOST hbpv &&
    on $HBHOST 40 "i=0; while [ ! -S /var/lib/relocd/monitors/$id1.sock ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done; test -S /var/lib/relocd/monitors/$id1.sock"'
on $HBHOST 30 "xl shutdown hbpv"
gone=
for i in $(seq 1 90); do
	[ "$(state $HBHOST hbpv)" = absent ] && { gone=1; break; }
	sleep 1
done
check "on_poweroff = destroy: hbpv is gone after xl shutdown" test -n "$gone"
lease_free() {
	on "$1" 20 "xmig leases $2" | grep -Eq "^$2 +[^ ]+ +free "
}
check "and its lease is free: the holder went with the domain" \
    lease_free $HBHOST hbpv
check "nothing of hbpv left on $HBHOST: no monitor, no socket, no libxl userdata" \
    on $HBHOST 20 "ls /var/lib/relocd/monitors /var/lib/xen /run/xen | grep -E 'sock|relocd-monitor'; ps -o pid,args | grep -v grep | grep monitor; test -z \"\$(ls /var/lib/relocd/monitors)\" && ! ls /var/lib/xen /run/xen | grep -q relocd-monitor"

fi # want 6

# 6b: the comparison users ask for: the same PVH guest between the same
# two hosts, moved live by relocd (xmig migrate -l) and by stock xl over
# ssh (xl migrate DOM HOST: Dropbear here, mkinitrd.sh), in turn, each
# method in each direction.  Times are the wall time of the command; the
# gap is between the last heartbeat at the source and the next one at the
# destination, from xenconsoled's timestamps (1 s resolution; a guest
# that never stops shows 1 s).
# On by default since eager FPU switching (run.sh) ended the damaged
# streams that made both methods fail; XEN_SSH_BENCH=0 leaves it out.
if want 6b && [ "${XEN_SSH_BENCH:-1}" = 1 ]; then
log ""
log "== 6b. relocd against xl over ssh: hbpvh moved live, in turn"
# pvh_log HOST: the log hbpvh writes on HOST (a relocd arrival's is
# guest-hbpvh.log, an xl arrival's guest-hbpvh--incoming.log)
pvh_log() {
	on "$1" 20 "ls -t $CON/guest-hbpvh.log $CON/guest-hbpvh--incoming.log 2>/dev/null | head -n 1" |
	    tail -n 1
}
# pvh_fresh HOST: hbpvh created on HOST, no heartbeat log of an earlier
# one anywhere (heartbeat numbers must be this guest's)
pvh_fresh() {
	local h
	for h in xena xenb; do
		on $h 60 "xl destroy hbpvh 2>/dev/null; xl destroy hbpvh--incoming 2>/dev/null; xl destroy hbpvh--migratedaway 2>/dev/null; mkdir -p $CON/old; mv -f $CON/guest-hbpvh* $CON/old/ 2>/dev/null; true" >/dev/null
	done
	pvh_boot "$1"
}
check "xl's transport: ssh from xena to xenb runs a command there (Dropbear, keys made for this run)" \
    eval 'test "$(on xena 30 "ssh xenb hostname" | tail -n 1)" = xenb'
t=$(now)
on xena 120 "dd if=/dev/zero bs=65536 count=512 2>/dev/null | ssh xenb 'cat > /dev/null'" >/dev/null
TIMES[ssh32]=$(since "$t")
t=$(now)
on xena 120 "xmig speedtest -s 32 xenb" >/dev/null
TIMES[tls32]=$(since "$t")
log "transport alone, 32 MiB xena -> xenb: ssh ${TIMES[ssh32]} s, relocd (xmig speedtest) ${TIMES[tls32]} s"
# Empty, not unset: under set -u an unset array aborts the summary
# when every round of a method failed.
B_relocd_t=() B_relocd_g=() B_ssh_t=() B_ssh_g=()
BENCH_FAIL=
BENCH_BAD=0
if pvh_fresh xena; then
	at=xena
	for r in 1 2; do
		if [ $r = 1 ]; then order="relocd ssh"; else order="ssh relocd"; fi
		for m in $order; do
			to=xenb
			[ $at = xenb ] && to=xena
			case $(state $at hbpvh) in
			*c*)	# its init's SIGILL at boot (README): not the move's
				log "NOTE: 6b round $r: hbpvh crashed on $at before the move (SIGILL in its init, README); created again"
				pvh_fresh $at || break 2 ;;
			esac
			slog=$(pvh_log $at)
			t=$(now)
			if [ $m = relocd ]; then
				out=$(on $at 300 "xmig migrate -l -q hbpvh $to 2>&1")
			else
				out=$(on $at 300 "xl migrate hbpvh $to 2>&1")
			fi
			rc=$?
			el=$(since "$t")
			printf '%s\n' "$out" | tail -n 3
			if [ "$rc" = 0 ] && runs_only_on $to hbpvh; then
				la=$(hb_last $at "$slog")
				dlog=$(pvh_log $to)
				for i in $(seq 1 30); do
					on $to 20 "tr -d '\\r' < $dlog | grep -q 'HB $((la + 1))\$'" >/dev/null && break
					sleep 1
				done
				ta=$(hb_time $at "$slog" "$la")
				tb=$(hb_time $to "$dlog" $((la + 1)))
				oa=$(clock_off $at)
				ob=$(clock_off $to)
				gap=?
				[ -n "$ta" ] && [ -n "$tb" ] && [ -n "$oa" ] && [ -n "$ob" ] &&
				    gap=$(((tb - ob) - (ta - oa)))
				log "6b round $r: $m $at -> $to: ${el} s, heartbeat gap ${gap} s (HB $la on $at, HB $((la + 1)) on $to)"
				if [ $m = relocd ]; then
					B_relocd_t+=("$el"); B_relocd_g+=("$gap")
				else
					B_ssh_t+=("$el"); B_ssh_g+=("$gap")
				fi
				at=$to
				continue
			fi
			st=$(state $at hbpvh)
			log "NOTE: 6b round $r: $m $at -> $to failed (exit $rc), hbpvh '$st' on $at"
			BENCH_FAIL="$BENCH_FAIL $m:$rc:$st"
			case $st in
			*c*)	log "NOTE: a TCG guest crash during log-dirty, as in 2b; hbpvh created again on $at"
				pvh_fresh $at || break 2 ;;
			*)	BENCH_BAD=$((BENCH_BAD + 1))
				runs_only_on $at hbpvh || break 2 ;;
			esac
		done
	done
fi
# avg LIST: the mean of numbers ("?" left out), one decimal
avg() {
	printf '%s\n' "$@" | awk '/^[0-9.]+$/ { s += $1; n++ } END { if (n) printf "%.1f", s / n; else print "?" }'
}
RT=$(avg "${B_relocd_t[@]}"); RG=$(avg "${B_relocd_g[@]}")
ST=$(avg "${B_ssh_t[@]}"); SG=$(avg "${B_ssh_g[@]}")
check "relocd moved hbpvh live at least once (${#B_relocd_t[@]} of 2)" \
    test "${#B_relocd_t[@]}" -ge 1
check "xl over ssh moved hbpvh live at least once (${#B_ssh_t[@]} of 2)" \
    test "${#B_ssh_t[@]}" -ge 1
check "no move failed but for a TCG guest crash (failed: ${BENCH_FAIL:-none})" \
    test "$BENCH_BAD" = 0
RATIO=$(awk -v a="$ST" -v b="$RT" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "?" }')
for h in xena xenb; do
	on $h 60 "xl destroy hbpvh 2>/dev/null; true" >/dev/null
done

fi

# 7: last, for xena does not come back.  hbfo is created through relocd
# on xena, so its monitor holds its lease and its record is in the
# shared cluster_dir; then xena's QEMU is killed: a host that died.
if want 7; then
log ""
log "== 7. xena dies: xmig migrate --force restarts its domain on xenb"
on xena 20 "sed -e 's/^name = .*/name = \"hbfo\"/' /etc/xen/hb-pv.cfg > /etc/xen/hb-fo.cfg" >/dev/null
check "xmig create hbfo on xena" on xena 120 "xmig create /etc/xen/hb-fo.cfg"
check "hbfo's lease held on xena by its monitor" lease_held xena hbfo
wait_hb xena $CON/guest-hbfo.log 60
out=$(on xenb 120 "xmig migrate --force --source-is-off hbfo xenb 2>&1")
rc=$?
echo "$out"
check "force while xena answers is refused (exit $rc)" test "$rc" = 1
check "it says xena answers" grep -q '10.99.0.1 answers' <<<"$out"
kill -9 "$QPID_xena" 2>/dev/null
wait "$QPID_xena" 2>/dev/null
t=$(now)
out=$(on xenb 240 "xmig migrate --force --source-is-off hbfo xenb 2>&1")
rc=$?
TIMES[force]=$(since "$t")
echo "$out"
check "after xena's death, force with --source-is-off succeeds (exit $rc)" \
    test "$rc" = 0
check "hbfo runs on xenb" eval 'case $(state xenb hbfo) in absent | *p* | *s* | *c* | *d*) false ;; esac'
check "a cold start on xenb: its heartbeat begins again at HB 1" \
    eval 'wait_hb xenb $CON/guest-hbfo.log 120 && test "$(hb_first xenb $CON/guest-hbfo.log)" = 1'
check "hbfo's lease now held on xenb" lease_held xenb hbfo
check "xmig jobs on xenb shows the forced restart and the operator's word" \
    on xenb 20 "xmig jobs | grep -E 'forced +hbfo +10.99.0.1 +done .*source-is-off'"
on xenb 20 "grep 'FORCED restart' /var/log/relocd.log | tail -n 1" >/dev/null
fi # want 7

log ""
log "== summary (QEMU $booted, 2 hosts x $smp vCPU, 2 GiB; guests 128 MiB)"
[ -n "${PVHLOOP:-}" ] &&
log "pvhloop:                       $PVHLOOP"
[ -n "${NETLOAD:-}" ] &&
log "netload (damaged/sent):        $NETLOAD"
[ -n "${PVHBOOT:-}" ] &&
log "pvhboot:                       $PVHBOOT"
[ -n "${TIMES[xenbuild]:-}" ] &&
log "hypervisor (XEN=shadow):       ${TIMES[xenbuild]} s to build or take from the cache"
log "boot, both dom0s ready:        ${TIMES[boot]} s"
log "xl create (PV):                ${TIMES[create]:-?} s"
log "1. offline xena -> xenb:       ${TIMES[m1]:-?} s (xmig migrate, wall)"
log "   downtime seen in heartbeat: ${TIMES[down1]:-?} s (1 s resolution)"
log "1c. disk on xena only:         ${DISKSTEP:-hbdisk could not be created}"
log "1e. --copy-storage, offline:   ${TIMES[m1e]:-?} s: ${COPYSTEP:-not run}"
log "1f. --copy-storage of an LV:   ${TIMES[m1f]:-?} s: ${LVMSTEP:-not run}"
log "2c. PVH live, cancelled:       ${CANCEL:-not run}"
log "2. PV live (xmig migrate -l):  ${TIMES[m2pv]:-?} s: ${PVLIVE:-not run}"
log "2b. PVH live:                  ${TIMES[m2pvh]:-?} s: ${PVH:-not run}"
log "3. xl via xmig tunnel (PV):    ${TIMES[m3]:-?} s: ${XL:-not run}"
log "3c. xl via xmig tunnel (PVH):  ${TIMES[m3pvh]:-?} s: ${XLPVH:-not run}"
[ "${XEN_SSH_BENCH:-1}" = 1 ] && want 6b &&
log "6b. PVH live, relocd:          ${B_relocd_t[*]:-?} s (mean $RT s), heartbeat gap ${B_relocd_g[*]:-?} s (mean $RG s)"
[ "${XEN_SSH_BENCH:-1}" = 1 ] && want 6b &&
log "6b. PVH live, xl over ssh:     ${B_ssh_t[*]:-?} s (mean $ST s), heartbeat gap ${B_ssh_g[*]:-?} s (mean $SG s)"
[ "${XEN_SSH_BENCH:-1}" = 1 ] && want 6b &&
log "6b. xl over ssh / relocd:      ${RATIO:-?} (mean wall time); transport alone, 32 MiB: ssh ${TIMES[ssh32]:-?} s, relocd ${TIMES[tls32]:-?} s"
log "7. forced restart on xenb:     ${TIMES[force]:-?} s (xmig migrate --force, wall)"
log "total:                         $(since "$T0") s"
log "check-xen: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
