#!/bin/bash
# The incoming domain-config policy, deny by default: each config that
# breaks one rule is refused by B with its reason, at the client and in
# B's log, before any stream byte (B never starts receiving), and the
# domain keeps running at A.  A config within every rule moves.
. "$(dirname "$0")/lib.sh"

conf_host a 127.0.0.2 hosta 'sim_bridges = [ "xenbr0", "xenbr1", "xenbr2" ]'
conf_host b 127.0.0.3 hostb 'sim_bridges = [ "xenbr0", "xenbr1" ]' \
    "incoming_disk_paths = [ \"/srv/xen/\", \"$W/disks/\" ]" \
    'incoming_bridges = [ "xenbr0", "xenbr2" ]' \
    'incoming_max_memory_mb = 64' 'incoming_max_vcpus = 2'
start_host a || exit 1
start_host b || exit 1

# mkdom NAME [extra xl config lines...]: a sim domain on A.
mkdom() {
	local n=$1 l
	shift
	domain_conf "$W/$n.cfg" "$n" 16 10 100
	for l in "$@"; do echo "$l" >> "$W/$n.cfg"; done
	xmig_on a create "$W/$n.cfg" > "$W/create-$n" 2>&1 ||
	    { fail "create $n: $(cat "$W/create-$n")"; return 1; }
}

# b_logged REASON: B's log has a refusal that gives REASON (among the
# failing pre-flight lines).
b_logged() {
	grep 'refused migration: ' "$W/b/relocd.log" | grep -qF -- "$1"
}

# refused NAME REASON: migrating NAME to B fails with REASON, before any
# stream byte, and nothing changed on either host.
refused() {
	local n=$1 why=$2 rc
	xmig_on a migrate -l "$n" 127.0.0.3 > "$W/out-$n" 2>&1
	rc=$?
	sed 's/^/    | /' "$W/out-$n"
	check "$n: migrate exits 1" [ $rc -eq 1 ]
	check "$n: xmig gives the reason '$why'" grep -qF -- "$why" "$W/out-$n"
	check "$n: B logs the refusal with the reason" b_logged "$why"
	check "$n: B never started receiving it" \
	    sh -c "! grep -q 'receiving domain $n ' '$W/b/relocd.log'"
	check "$n: still running at A" [ "$(dom_state a "$n")" = "r-----" ]
	check "$n: nothing of it on B" \
	    sh -c "! XMIG_CONFIG='$W/b/relocd.conf' '$XMIG' list | grep -q -- '^$n'"
}

mkdom disk 'disk = [ "/etc/shadow,raw,xvda,rw" ]'
refused disk "storage: disk xvda: /etc/shadow is not under incoming_disk_paths"
mkdom dotdot 'disk = [ "/srv/xen/../../etc/shadow,raw,xvda,rw" ]'
refused dotdot "disk xvda: backend path /srv/xen/../../etc/shadow has a '..' component"
mkdom script 'vif = [ "bridge=xenbr0,script=/tmp/evil" ]'
refused script "hotplug script override '/tmp/evil' on nic 0 is not allowed"
mkdom dscript "disk = [ \"vdev=xvda,access=rw,script=/tmp/evil,target=$W/disks/d.img\" ]"
refused dscript "hotplug script override '/tmp/evil' on disk xvda is not allowed"
mkdom bridge 'vif = [ "bridge=xenbr1" ]'
refused bridge "nic 0: bridge xenbr1 is not allowed (incoming_bridges)"
mkdom nobridge 'vif = [ "bridge=xenbr2" ]'
refused nobridge "network: nic 0: bridge xenbr2 does not exist on"
mkdom pci 'pci = [ "0000:01:00.0" ]'
refused pci "passthrough: PCI 0000:01:00.0 is assigned: a live move cannot take it (xl pci-detach pci 0000:01:00.0)"
mkdom boot 'bootloader = "pygrub"'
refused boot "bootloader 'pygrub' is not allowed (incoming_allow_bootloader)"
mkdom dm 'device_model_override = "/tmp/evil-qemu"'
refused dm "device model override '/tmp/evil-qemu' is not allowed (incoming_allow_device_model)"
domain_conf "$W/big.cfg" big 128 10 100
xmig_on a create "$W/big.cfg" >/dev/null || fail "create big"
refused big "memory 128 MiB is over the limit of 64 MiB (incoming_max_memory_mb)"
domain_conf "$W/cpus.cfg" cpus 16 10 100
sed -i 's/^vcpus = 1$/vcpus = 4/' "$W/cpus.cfg"
xmig_on a create "$W/cpus.cfg" >/dev/null || fail "create cpus"
refused cpus "4 vCPUs is over the limit of 2 (incoming_max_vcpus)"

# Within every rule: it moves.
mkdir -p "$W/disks" && truncate -s 1M "$W/disks/d.img" "$W/disks/good.img"
mkdom good "disk = [ \"$W/disks/good.img,raw,xvda,rw\" ]" \
    'vif = [ "bridge=xenbr0" ]'
xmig_on a migrate -l good 127.0.0.3 > "$W/out-good" 2>&1
rc=$?
sed 's/^/    | /' "$W/out-good"
check "good: migrate exits 0" [ $rc -eq 0 ]
assert_only_on b a good

for d in disk dotdot script dscript bridge nobridge pci boot dm big cpus; do
	xmig_on a destroy "$d" >/dev/null 2>&1
done
xmig_on b destroy good >/dev/null 2>&1
finish
