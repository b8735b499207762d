/*
 * The hypervisor interface: everything relocd asks of a hypervisor, and
 * nothing more.  Two backends: libxl (real Xen) and sim (simulated hosts).
 * Calls are synchronous and are made from worker processes, never from the
 * daemon's event loop.
 *
 * Every call returns 0 on success or a negative XO_E_* code; the human
 * reason of the last failure is in xo_errmsg(ctx).
 */
#ifndef XENOPS_H
#define XENOPS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct relocd_conf;
struct iochan;

#define XO_E_FAIL	-1	/* generic backend failure */
#define XO_E_NOTFOUND	-2	/* no such domain */
#define XO_E_EXISTS	-3	/* name or uuid already present */
#define XO_E_NOMEM	-4	/* not enough free host memory */
#define XO_E_BADSTREAM	-5	/* malformed, truncated or oversized stream */
#define XO_E_IO		-6	/* the channel failed (see its err) */
#define XO_E_STATE	-7	/* domain in the wrong state for this call */
#define XO_E_NOTSUP	-8	/* the backend/host cannot do this */
#define XO_E_RENAMED	-9	/* rename: old name did not match */

enum xo_state {
	XO_RUNNING,
	XO_PAUSED,
	XO_SUSPENDED,	/* state saved for migration, not running */
	XO_SHUTDOWN,
	XO_CRASHED,
	XO_DYING,
};

struct xo_dominfo {
	uint32_t	domid;
	char		name[64];
	char		uuid[37];
	uint64_t	memory_kb;
	unsigned	vcpus;
	enum xo_state	state;
	double		cpu_time;	/* seconds */
	unsigned	weight;		/* for capacity (sim: sim_weight), 1 */
};

struct xo_hostinfo {
	char		hostname[256];
	char		arch[32];		/* "x86_64" */
	char		xen_version[32];	/* "4.17.0" */
	uint64_t	total_kb;
	uint64_t	free_kb;		/* what a new domain may take */
	unsigned	nr_cpus;
	unsigned	nr_domains;		/* guests, dom0 not counted */
	int		cap_pv, cap_hvm, cap_hap, cap_shadow;
	char		**bridges;		/* NULL-terminated */
	/* The CPU's features a guest can be given, by name (libxl: the
	 * featureset words of physinfo's hw_cap; sim: sim_cpu_features). */
	char		**cpu_features;		/* NULL-terminated */
	/* PCI devices free to assign ("0000:03:00.0"). */
	char		**pci_free;		/* NULL-terminated */
};

/* Flags for xo_suspend_to. */
#define XO_SUSPEND_LIVE		0x1

/* Progress of a suspend (sender) or restore (receiver). */
struct xo_progress {
	int		round;		/* 1 = first full pass */
	uint64_t	pages_total;	/* guest pages */
	uint64_t	pages_sent;	/* in this round so far */
	uint64_t	pages_dirty;	/* left for the next round */
	uint64_t	bytes;		/* stream bytes so far */
	int		paused;		/* guest stopped (final round) */
	uint64_t	paused_at_us;	/* CLOCK_MONOTONIC when paused */
};
typedef void (*xo_progress_fn)(const struct xo_progress *, void *arg);

struct xo_ctx;

/* Opens the backend named in conf; NULL + message in err. */
struct xo_ctx *xo_open(const struct relocd_conf *, char *err, size_t errlen);
void	xo_close(struct xo_ctx *);
/* The descriptor of the libxl module file this process loads, or -1: a
 * child that closes what it inherited must keep it (see xenops.c). */
int	xo_module_fd(void);
const char *xo_errmsg(const struct xo_ctx *);
const char *xo_backend_name(const struct xo_ctx *);

/* Guests only (no dom0); *doms malloc'ed, sorted by domid. */
int	xo_list(struct xo_ctx *, struct xo_dominfo **doms, size_t *n);
/* By name, or by numeric domid. */
int	xo_lookup(struct xo_ctx *, const char *name_or_id, uint32_t *domid);
int	xo_info(struct xo_ctx *, uint32_t domid, struct xo_dominfo *);
int	xo_host_info(struct xo_ctx *, struct xo_hostinfo *);
void	xo_hostinfo_dispose(struct xo_hostinfo *);
/* NULL-terminated string vectors, as xo_hostinfo holds them. */
char	**xo_strv_dup(char *const *);
void	xo_strv_free(char **);

/* The domain's libxl JSON config (new reference, caller puts it). */
int	xo_config_get(struct xo_ctx *, uint32_t domid, struct json_object **);

/* Create and start a domain from a config (sim: a fresh guest). */
int	xo_create(struct xo_ctx *, struct json_object *cfg, uint32_t *domid);

/*
 * Save the domain into the channel as the backend's stream (the part of
 * xl's protocol after the header).  LIVE: pre-copy while it runs, then
 * pause for the last round.  Without LIVE: pause first, then copy.
 * On success the domain is suspended (not running) at the source; on
 * failure the caller resumes it with xo_resume.
 */
int	xo_suspend_to(struct xo_ctx *, uint32_t domid, struct iochan *,
	    int flags, xo_progress_fn, void *arg);
/*
 * Create a domain PAUSED from cfg (its c_info.name is used as is: the
 * caller sets NAME--incoming) and restore it from the channel.  Refuses
 * a stream inconsistent with cfg's memory, or longer than a bound derived
 * from it.  On failure nothing is left behind.
 */
int	xo_restore_from(struct xo_ctx *, struct json_object *cfg,
	    struct iochan *, uint32_t *domid, xo_progress_fn, void *arg);

/* Rename only if the current name is old_name (xl's locking rule). */
int	xo_rename(struct xo_ctx *, uint32_t domid, const char *old_name,
	    const char *new_name);
int	xo_pause(struct xo_ctx *, uint32_t domid);
int	xo_unpause(struct xo_ctx *, uint32_t domid);
/* Undo a suspend: the domain runs again where it was (suspend_cancel). */
int	xo_resume(struct xo_ctx *, uint32_t domid);
int	xo_destroy(struct xo_ctx *, uint32_t domid);
/*
 * At the point of no return: the suspended domain gives up its lease
 * (cluster_dir), which moves to the destination with "go"; xo_resume
 * takes it again.  0 on a backend or a domain without one.
 */
int	xo_lease_give(struct xo_ctx *, uint32_t domid);
/*
 * At start: give every domain this host's monitors watched, and whose
 * monitor is gone, a new one (libxl; the sim's guests are their own
 * monitors).  The number started, 0 on a backend without monitors, or
 * an XO_E_* code.
 */
int	xo_adopt(struct xo_ctx *);
/* 1 if the backend's domains hold leases when cluster_dir is set. */
int	xo_has_leases(const struct xo_ctx *);
/*
 * Live --copy-storage: the dirty bitmap of the running domain's disk at
 * path, a descriptor of diskcopy_dirty_words(size) 64-bit words to map
 * shared, one bit per DISKCOPY_CHUNK that the domain sets once a write
 * to that chunk is complete (diskcopy_dirty_mark); the copy takes and
 * clears them (diskcopy_dirty_take).  XO_E_NOTSUP on a backend that
 * cannot track them (libxl: blkback has no such log, and a qdisk disk
 * would need QEMU's drive-mirror): xo_has_disk_dirty says so up front.
 */
int	xo_disk_dirty(struct xo_ctx *, uint32_t domid, const char *path,
	    int *fd);
int	xo_has_disk_dirty(const struct xo_ctx *);
/* Path of the console device (sim: the guest's pty), for issue 4. */
int	xo_console_path(struct xo_ctx *, uint32_t domid, char *buf,
	    size_t len);

const char *xo_state_name(enum xo_state);

#endif
