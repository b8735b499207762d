#!/bin/bash
#
# PID 1 of one node of make check-cluster, started by run.sh as
#   ip netns exec NS unshare --mount --uts --ipc --pid --fork --mount-proc \
#       bash node-init.sh NODE W RELOCD
# inside the node's cgroup.  It gives the node its own host name, /run,
# /dev/shm and Corosync/Pacemaker directories, starts the node's relocd
# (restarted when it dies, as systemd's Restart=on-failure would), then
# corosync and pacemakerd, and reaps children until the node is killed.
# Every wait is bounded.
set -u
NODE=$1
W=$2
RELOCD=$3
D=$W/$NODE

hostname "$NODE"
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# ip netns exec mounted a fresh /sys; give it the cgroup2 hierarchy (the
# fence agent finds the nodes' groups there).
mount -t cgroup2 none /sys/fs/cgroup
for m in etc/corosync var/lib/corosync var/lib/pacemaker var/log/corosync \
    var/log/pacemaker; do
	mount --bind "$D/${m//\//-}" "/$m"
done
# This node's relocd.conf at the one path the resources name.
mount --bind "$D" "$W/self"
# The agent under test as ocf:relocd:xendomain, and the test's fence
# agent among /usr/sbin/fence_*: visible to this node only.
mount --bind "$W/ocf" /usr/lib/ocf/resource.d
mount -t overlay overlay -o "lowerdir=$W/sbin:/usr/sbin" /usr/sbin
mkdir -p /run/crm /run/corosync
chown hacluster:haclient /run/crm

# relocd, restarted a second after it dies (at most 50 times).
(
	n=0
	while [ $n -lt 50 ]; do
		"$RELOCD" -d -v -f "$D/relocd.conf" >>"$D/relocd.log" 2>&1
		echo "node-init: relocd exited $? ($(date +%T.%N))" >>"$D/relocd.log"
		n=$((n + 1))
		sleep 1
	done
) &

corosync -f >>"$D/var-log-corosync/stdout.log" 2>&1 &
for _ in $(seq 1 100); do
	corosync-cfgtool -s >/dev/null 2>&1 && break
	sleep 0.1
done

PCMK_logfile=/var/log/pacemaker/pacemaker.log \
    pacemakerd >>"$D/var-log-pacemaker/stdout.log" 2>&1 &

echo "node-init: $NODE up ($(date +%T.%N))" >>"$D/init.log"
# PID 1 reaps every orphan of the node.
while :; do
	sleep 1 &
	wait $! 2>/dev/null
done
