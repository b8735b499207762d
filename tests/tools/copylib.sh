# Helpers for the copy-storage scenarios (t_copy_storage.sh offline,
# t_copy_live.sh live), sourced after lib.sh and faultlib.sh.  Domain $D
# runs on a with two disks that exist only in a's disk directory: xvda
# (16 MiB, where the sim guest keeps its counter) and a sparse xvdb.

# disk_counter FILE: the sim guest's counter in its first disk.
disk_counter() {
	head -c 29 "$1" 2>/dev/null | sed -n 's/^simdisk 0*\([0-9][0-9]*\)$/\1/p'
}

# img_sum [-z] FILE: tests/tools/imgsum.py's digest (same sum, same
# content and holes; -z: zeros count as holes).
img_sum() {
	python3 "$ROOT/tests/tools/imgsum.py" "$@"
}

# Fresh hosts a and b (faultlib.sh's), each with its own disk directory
# as its incoming_disk_paths.
copy_hosts() {
	fault_hosts
	mkdir -p "$W/a/disks" "$W/b/disks"
	conf_set a incoming_disk_paths "[ \"$W/a/disks/\" ]"
	conf_set b incoming_disk_paths "[ \"$W/b/disks/\" ]"
}

# make_disks SIZE_MB DATA_MB COUNTER: xvda empty (the guest writes its
# counter there) and xvdb of SIZE_MB apparent with DATA_MB MiB of data
# (tests/tools/mkimage.py), and $W/$D.cfg using them.  COUNTER is the
# sim guest's sim_disk_counter: 1 writes the counter, 2 also scribbles
# over other chunks of xvdb (data or zeros) as a live copy runs.
make_disks() {
	rm -f "$W/a/disks/$D-a.img" "$W/a/disks/$D-b.img"
	truncate -s 16M "$W/a/disks/$D-a.img"
	python3 "$ROOT/tests/tools/mkimage.py" "$W/a/disks/$D-b.img" "$1" "$2"
	cat > "$W/$D.cfg" <<EOC
name = "$D"
memory = 16
vcpus = 1
sim_dirty_rate = 200
sim_tick_ms = 50
disk = [ "$W/a/disks/$D-a.img,raw,xvda,rw", "$W/a/disks/$D-b.img,raw,xvdb,rw" ]
sim_disk_counter = $3
EOC
}

# Nothing of the copy left at b.
no_copies_on_b() {
	[ -z "$(ls -A "$W/b/disks" 2>/dev/null)" ]
}
