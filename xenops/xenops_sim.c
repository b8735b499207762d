/*
 * The sim backend: a simulated Xen host, faithful where migration
 * correctness is decided.  A domain is a real process (simguest.c) with
 * mmapped memory, a log-dirty bitmap it sets as it writes, a vCPU state
 * and a console; save and restore move its memory through the caller's
 * channel with real pre-copy.
 *
 * A host is a directory.  Under conf->state_dir:
 *
 *	sim/lock		flock(2)ed around every change of the domain
 *				table (create, restore, rename, destroy), so
 *				name/uuid/memory checks and the change they
 *				allow are one atomic step
 *	sim/next_domid		the next domid (from 1, never reused)
 *	sim/dom/<domid>/	one domain:
 *	    config.json		libxl domain_config JSON; c_info.name is the
 *				current name.  Always replaced atomically.  A
 *				create writes it last (a directory without it
 *				is not a domain yet); a restore writes it first,
 *				so the name, uuid and memory are reserved while
 *				the stream runs
 *	    shared		struct sim_shared: run state and vCPU state
 *	    pid			"PID STARTTIME": the guest and its start time
 *				(/proc/PID/stat field 22), so that a recycled
 *				pid is never signalled
 *	    ctl.sock		the guest's command socket
 *	    console		path of the guest's pty
 *	console/<name>.log	what the guest printed, as xenconsoled logs it.
 *				Renamed with its domain (an existing file of
 *				the new name goes to <new>.log.old); kept after
 *				destroy.  The guest appends through a fd it
 *				holds, so a rename never loses a line.
 *
 * Guest memory (memory_kb/4 pages, sparse at creation) and its log-dirty
 * bitmap (1 bit per page, u64 words) are memfds, created by the backend
 * and held by the guest process: RAM, as a domain's memory is, never
 * written back to the state_dir's disk, and gone with the domain, so
 * nothing leaks whatever kills it.  A save gets both from the guest over
 * ctl.sock (SCM_RIGHTS); a restore fills fresh ones and hands them to the
 * guest it starts.
 *
 * The stream format is in sim.h.  The code: sim_host.c (the host's
 * files and the domain table), sim_control.c (guest processes and the
 * domain operations), sim_save.c and sim_restore.c (the two ends of a
 * stream, with what they share in sim_xfer.c); their shared internals are
 * in sim_impl.h.  This file holds the backend's table.
 */
#include "sim_impl.h"

const struct xo_backend xo_backend_sim = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.list = sim_list,
	.info = sim_info,
	.host_info = sim_host_info,
	.config_get = sim_config_get,
	.create = sim_create,
	.suspend_to = sim_suspend_to,
	.restore_from = sim_restore_from,
	.rename = sim_rename,
	.pause = sim_pause,
	.unpause = sim_unpause,
	.resume = sim_resume,
	.lease_give = sim_lease_give,
	.disk_dirty = sim_disk_dirty,
	.destroy = sim_destroy,
	.console_path = sim_console_path,
};
