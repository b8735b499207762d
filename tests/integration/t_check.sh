#!/bin/bash
# Before the move, and where to (xmig check, place, migrate without a
# host), on three sim hosts that differ in memory, capacity, CPU
# features, bridges and free PCI devices.  Every prerequisite that fails
# is a FAIL line naming it; migrate refuses with the same lines before a
# stream byte, and the domain is untouched.  Two migrations into room
# for one: one moves, the other is refused up front.
. "$(dirname "$0")/lib.sh"

D=$W/disks
mkdir -p "$D"
truncate -s 8M "$D/web1.img" "$D/boot.iso"
FEAT='sim_cpu_features = [ "sse4_2", "avx2", "aes" ]'
conf_host a 127.0.0.2 hosta "$FEAT" \
    'sim_bridges = [ "xenbr0", "xenbr1" ]' \
    'relocation_peers = [ "127.0.0.3", "127.0.0.4" ]'
conf_host b 127.0.0.3 hostb "$FEAT" 'capacity = 3' \
    'sim_bridges = [ "xenbr0" ]' 'incoming_bridges = [ "xenbr0" ]' \
    "incoming_disk_paths = [ \"$D/\" ]" \
    'sim_pci_assignable = [ "0000:03:00.0" ]'
conf_host c 127.0.0.4 hostc "$FEAT" \
    'sim_bridges = [ "xenbr0", "xenbr1" ]' \
    'incoming_bridges = [ "xenbr0", "xenbr1" ]' \
    "incoming_disk_paths = [ \"$D/\" ]"
conf_set b sim_memory_mb 1024
conf_set c sim_memory_mb 2048
start_host a || exit 1
start_host b || exit 1
start_host c || exit 1

# mkdom NAME MiB [extra xl config lines...]: a sim domain on A.
mkdom() {
	local n=$1 mem=$2 l
	shift 2
	domain_conf "$W/$n.cfg" "$n" "$mem" 10 100
	for l in "$@"; do echo "$l" >> "$W/$n.cfg"; done
	xmig_on a create "$W/$n.cfg" > "$W/create-$n" 2>&1 ||
	    { fail "create $n: $(cat "$W/create-$n")"; return 1; }
}

# check_fails NAME HOST CHECK TEXT [-l]: xmig check exits 1 and prints
# "FAIL CHECK: ...TEXT...", and the domain still runs at A.
check_fails() {
	local n=$1 host=$2 what=$3 text=$4 rc
	shift 4
	xmig_on a check "$@" "$n" "$host" > "$W/check-$n" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/check-$n"
	check "$n: check exits 1 (got $rc)" [ $rc -eq 1 ]
	check "$n: FAIL $what names it" \
	    sh -c "grep '^FAIL $what: ' '$W/check-$n' | grep -qF -- '$text'"
	check "$n: still running at A" [ "$(dom_state a "$n")" = "r-----" ]
}

# 1. A domain every host can take: every line PASS, exit 0.
mkdom web1 64 "disk = [ \"$D/web1.img,raw,xvda,rw\", \"$D/boot.iso,raw,hdc:cdrom,r\" ]" \
    'vif = [ "bridge=xenbr0" ]'
xmig_on a check web1 127.0.0.3 > "$W/check-web1" 2>&1
rc=$?
sed 's/^/    | /' "$W/check-web1"
check "web1: check exits 0 (got $rc)" [ $rc -eq 0 ]
for c in domain peer maintenance arch xen-version domain-type cpu-features \
    memory capacity storage network passthrough name policy; do
	check "web1: PASS $c" grep -q "^PASS $c: " "$W/check-web1"
done
check "web1: no FAIL line" sh -c "! grep -q '^FAIL' '$W/check-web1'"
check "web1: storage saw the disk and the CD-ROM image" \
    grep -q '^PASS storage: 1 disk and 1 CD-ROM image present on b' "$W/check-web1"
xmig_on a check --json web1 127.0.0.3 > "$W/check-web1.json" 2>&1
check "web1: --json has the same lines" sh -c "
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d[\"targets\"][0]; assert t[\"failed\"] == 0 and len(t[\"checks\"]) >= 14' '$W/check-web1.json'"

# 2. Each refused up front, with its line.
mkdom nodisk 64 "disk = [ \"$D/absent.img,raw,xvda,rw\" ]"
check_fails nodisk 127.0.0.3 storage "disk xvda: $D/absent.img does not exist on b"
mkdom noiso 64 "disk = [ \"$D/absent.iso,raw,hdc:cdrom,r\" ]"
check_fails noiso 127.0.0.3 storage "(the CD-ROM image)"
# A link out of the allowed tree is not a disk there, even under it.
ln -s /etc/hostname "$D/escape.img"
mkdom escape 64 "disk = [ \"$D/escape.img,raw,xvda,r\" ]"
check_fails escape 127.0.0.3 storage "$D/escape.img resolves outside incoming_disk_paths"
mkdom br1 64 'vif = [ "bridge=xenbr1" ]'
check_fails br1 127.0.0.3 network "nic 0: bridge xenbr1 does not exist on b"
mkdom heavy 64 'sim_weight = 4'
check_fails heavy 127.0.0.3 capacity "heavy weighs 4 and b has 3 of its capacity 3 left"
mkdom pcidom 64 'pci = [ "0000:03:00.0" ]'
check_fails pcidom 127.0.0.3 passthrough "xl pci-detach pcidom 0000:03:00.0" -l
xmig_on a check pcidom 127.0.0.3 > "$W/check-pci-off" 2>&1
check "pcidom offline to b, where the device is free: PASS passthrough" \
    grep -q '^PASS passthrough: 1 PCI device free on b' "$W/check-pci-off"
check_fails pcidom 127.0.0.4 passthrough "PCI 0000:03:00.0 is not free to assign on c"
# What check lets through, the migration's own judgement does too.
xmig_on a migrate pcidom 127.0.0.3 > "$W/mig-pcidom" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig-pcidom"
check "pcidom: offline migrate to b, where the device is free, exits 0 (got $rc)" [ $rc -eq 0 ]
check "pcidom runs on b" [ "$(dom_state b pcidom)" = "r-----" ]

# migrate runs the same checks: refused before any byte, with the lines.
xmig_on a migrate nodisk 127.0.0.3 > "$W/mig-nodisk" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig-nodisk"
check "nodisk: migrate exits 1 (got $rc)" [ $rc -eq 1 ]
check "nodisk: migrate gives the storage line" \
    grep -qF "storage: disk xvda: $D/absent.img does not exist on b" "$W/mig-nodisk"
check "nodisk: B never started receiving it" \
    sh -c "! grep -q 'receiving domain nodisk ' '$W/b/relocd.log'"
check "nodisk: still running at A" [ "$(dom_state a nodisk)" = "r-----" ]

# Maintenance, then a CPU feature the destination lacks (c restarted
# without avx2).
xmig_on c maintenance on > /dev/null
check_fails web1 127.0.0.4 maintenance "c is in maintenance (xmig maintenance on)"
xmig_on c maintenance off > /dev/null
stop_host c
conf_set c sim_cpu_features '[ "sse4_2", "aes" ]'
start_host c || exit 1
check_fails web1 127.0.0.4 cpu-features "c lacks CPU features the guest was started with: avx2"
stop_host c
conf_set c sim_cpu_features '[ "sse4_2", "avx2", "aes", "sha" ]'
start_host c || exit 1

# 3. place: c (2048 MiB) before b (1024 MiB); migrate without a host
# takes c and says why.
xmig_on a place web1 > "$W/place" 2>&1
rc=$?
sed 's/^/    | /' "$W/place"
check "place exits 0 (got $rc)" [ $rc -eq 0 ]
check "place ranks c first" grep -Eq '^  1\. 127\.0\.0\.4 +PASS' "$W/place"
check "place ranks b second" grep -Eq '^  2\. 127\.0\.0\.3 +PASS' "$W/place"
xmig_on a migrate web1 > "$W/mig-web1" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig-web1"
check "migrate without a host exits 0 (got $rc)" [ $rc -eq 0 ]
check "it says which host it chose, and why" \
    grep -q '^chose 127.0.0.4: every check passes, and it has the most left' "$W/mig-web1"
assert_only_on c a web1
xmig_on a place noiso > "$W/place-noiso" 2>&1
rc=$?
sed 's/^/    | /' "$W/place-noiso"
check "place of a domain no host can take exits 1 (got $rc)" [ $rc -eq 1 ]
check "and gives each host's reason" sh -c "
    grep -q '^  -  127.0.0.3 .*FAIL: storage' '$W/place-noiso' &&
    grep -q '^  -  127.0.0.4 .*FAIL: storage' '$W/place-noiso'"
xmig_on a migrate noiso > "$W/mig-noiso" 2>&1
rc=$?
sed 's/^/    | /' "$W/mig-noiso"
check "migrate without a host, where none passes, exits 1 (got $rc)" [ $rc -eq 1 ]
check "and names each host's first failing line" sh -c "
    grep 'no host passes every check' '$W/mig-noiso' | grep -q '127.0.0.3: storage: CD-ROM hdc' &&
    grep 'no host passes every check' '$W/mig-noiso' | grep -q '127.0.0.4: storage: CD-ROM hdc'"
check "noiso still runs at A" [ "$(dom_state a noiso)" = "r-----" ]

# 4. Two migrations into room for one: b has 1024 MiB; two 600 MiB
# domains at once (slowed, so that they overlap).
mkdom big1 600
mkdom big2 600
xmig_on a migrate -r 800 big1 127.0.0.3 > "$W/mig-big1" 2>&1 &
P1=$!
xmig_on a migrate -r 800 big2 127.0.0.3 > "$W/mig-big2" 2>&1 &
P2=$!
wait $P1
r1=$?
wait $P2
r2=$?
sed 's/^/    | /' "$W/mig-big1" "$W/mig-big2"
check "one of the two moved, the other was refused ($r1, $r2)" \
    sh -c "[ \$(( $r1 + $r2 )) -eq 1 ]"
check "the refusal is for memory, up front" \
    grep -hq "not enough free memory" "$W/mig-big1" "$W/mig-big2"
if [ $r1 -eq 0 ]; then moved=big1 kept=big2; else moved=big2 kept=big1; fi
check "$moved runs on b" [ "$(dom_state b $moved)" = "r-----" ]
check "$kept still runs on a, nothing of it on b" sh -c "
    [ '$(dom_state a $kept)' = 'r-----' ] && [ -z '$(dom_state b $kept)' ] &&
    ! grep -q 'receiving domain $kept ' '$W/b/relocd.log'"
# The receiving helper ends just after the source hears the report.
no_reservations() {
	local i
	for i in $(seq 1 50); do
		[ -z "$(ls "$W/b/state/reserve" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
check "b's reservations are gone with the migrations" no_reservations

for d in nodisk noiso escape br1 heavy pcidom big1 big2; do
	xmig_on a destroy "$d" >/dev/null 2>&1
done
xmig_on b destroy big1 >/dev/null 2>&1
xmig_on b destroy big2 >/dev/null 2>&1
xmig_on c destroy web1 >/dev/null 2>&1
xmig_on b destroy pcidom >/dev/null 2>&1
finish
