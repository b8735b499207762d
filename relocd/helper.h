/*
 * The root side of one session (helper.c): in relocd-priv for a request
 * that only reads (list, host-info, the facts of a precheck), in a
 * helper of its own for every other.  It owns everything that needs
 * root: the backend, the journal, the slot and domain locks, state_dir.
 */
#ifndef HELPER_H
#define HELPER_H

#include <stdint.h>

#include <json-c/json.h>

#include "diskcopy.h"
#include "domcfg.h"
#include "journal.h"
#include "precheck.h"
#include "progress.h"

#include <sys/types.h>
#include <time.h>

struct peer_ctx;
struct relocd_conf;
struct xo_ctx;
struct xo_dominfo;

/* Which moved record a console client saw when it attached. */
struct console_rec_stamp {
	int		present;
	ino_t		ino;
	struct timespec	mtime;
	off_t		size;
};

/* The destination half of a migration (helper_recv.c). */
struct helper_recv {
	int		 active;	/* journaled, maybe a domain here */
	int		 have_domain;	/* NAME--incoming exists */
	int		 go;		/* "go" arrived: the domain is ours */
	int		 status;	/* of the start after "go" */
	int		 paused;
	uint32_t	 domid;
	char		 name[DOMCFG_NAME_MAX + 1];
	char		 incoming[DOMCFG_NAME_MAX + 16];
	struct journal	 jr;
	/* --copy-storage: the copies created here, in the offer's order
	 * (targets malloc'ed, fds open until the copy is verified) */
	int		 ncopy;
	char		*copy_target[DISKCOPY_MAX_DISKS];
	char		*copy_lv[DISKCOPY_MAX_DISKS];	/* "VG/LV", or NULL */
	int		 copy_fd[DISKCOPY_MAX_DISKS];
	uint64_t	 copy_size[DISKCOPY_MAX_DISKS];
	int		 copy_given[DISKCOPY_MAX_DISKS];
	int		 copy_verified[DISKCOPY_MAX_DISKS];
	/* The copies read back as they are written (recv-disk-verify):
	 * what each chunk of each held when last read back (a table from
	 * recv-disk on, for a copy of at most DISKCOPY_LIVE_MAX_SIZE),
	 * and the key its tags are under (the same for the whole session) */
	struct diskcopy_tags copy_tags[DISKCOPY_MAX_DISKS];
	struct diskcopy_key copy_key;
	int		 have_copy_key;
	/* A live disk copy: the config kept from recv-begin for the
	 * restore that recv-restore starts later */
	struct json_object *cfg;
};

/* The source half (helper_send.c). */
struct helper_src {
	struct progress	 prog;		/* for xmig jobs (progress.h) */
	uint64_t	 prog_written;	/* when the progress file was */
	int		 active;	/* journaled: the domain is ours */
	int		 renamed;
	int		 cancelled;	/* ended by a cancel: it runs here */
	int		 go;		/* past the point of no return */
	int		 live;
	int		 port;
	uint32_t	 domid;
	char		 name[DOMCFG_NAME_MAX + 1];
	char		 away[DOMCFG_NAME_MAX + 16];
	char		 host[256];
	uint64_t	 start_us;
	uint64_t	 paused_us;
	uint64_t	 done_us;	/* the report said it runs there */
	int		 rounds;
	uint64_t	 bytes;
	uint64_t	 pages_total;
	struct journal	 jr;
	/* --copy-storage: the disks offered for copying (paths as this
	 * side's config names them), and whether to remove them once the
	 * destination runs the domain */
	int		 ncopy;
	char		*copy_path[DISKCOPY_MAX_DISKS];
	uint64_t	 copy_size[DISKCOPY_MAX_DISKS];
	int		 copy_blk[DISKCOPY_MAX_DISKS];	/* a block device */
	int		 streamed;	/* the suspend ended: disks may go */
	int		 remove_disks;
	uint64_t	 disk_bytes;
	uint64_t	 disk_us;	/* the copy, as the source timed it */
	uint64_t	 disk_total;	/* allocated bytes of the disks */
	int		 disk_round;	/* live: the disks' round, 0 offline */
	uint64_t	 disk_resent;	/* live: chunks sent again */
};

struct helper {
	struct relocd_conf *conf;
	int		 fd;		/* to the network process */
	int		 port;		/* RQ_PEER or RQ_CONTROL: the parent's
					 * word, not the network process's */
	char		 who[64];	/* peer address or "uid N pid M" */
	int		 type;		/* begun request, 0 before */
	char		 scope[DOMCFG_NAME_MAX + 1];	/* its domain */
	struct xo_ctx	*xo;		/* opened at first use */
	int		 slot_fd;
	int		 domlock_fd;
	int		 reserve_fd;	/* reserve.c: held while receiving */
	/* console (console.c) */
	uint32_t	 con_domid;
	char		 con_name[DOMCFG_NAME_MAX + 1];
	int		 con_watch;
	struct console_rec_stamp con_moved;
	struct helper_recv recv;
	struct helper_src src;
};

/*
 * A session's root side: _init, then each operation through _handle
 * (which checks it against the request begun), and at the network
 * process's end _run settles what is half done and calls _dispose.
 * helper_run: the loop, until the network process ends (net_pidfd, or
 * -1: to end it if it breaks the protocol).
 */
void	helper_init(struct helper *, struct relocd_conf *, int fd, int port,
	    const struct peer_ctx *);
void	helper_handle(struct helper *, int op, struct json_object *args,
	    int *fds, int nfds);
void	helper_run(struct helper *, int net_pidfd);
void	helper_dispose(struct helper *);

/* Answers: exactly one per operation. */
int	helper_ok(struct helper *, struct json_object *body, const int *fds,
	    int nfds);
int	helper_error(struct helper *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	helper_result(struct helper *, struct json_object *body);
/* The backend, opened at first use; NULL after an error answer. */
struct xo_ctx *helper_backend(struct helper *);
/* The per-domain lock a migration holds at the source: 0, or -1 with
 * the reason (who holds it) in err. */
int	helper_domain_lock(struct helper *, const char *name, const char *host,
	    char *err, size_t errlen);
/* Is NAME being migrated away by a live session?  Its destination, or
 * NULL. */
const char *helper_domain_busy(struct relocd_conf *, const char *name,
	    char *host, size_t hostlen);

/* Operations (args are decoded; descriptors are the op's to close). */
int	helper_cancel(struct helper *, struct json_object *, int *, int);
int	helper_force_lookup(struct helper *, struct json_object *, int *, int);
int	helper_force_start(struct helper *, struct json_object *, int *, int);
int	helper_recv_check(struct helper *, struct json_object *, int *, int);
int	helper_recv_begin(struct helper *, struct json_object *, int *, int);
int	helper_recv_restore(struct helper *, struct json_object *, int *, int);
int	helper_recv_go(struct helper *, struct json_object *, int *, int);
int	helper_recv_reported(struct helper *, struct json_object *, int *,
	    int);
int	helper_recv_abort(struct helper *, struct json_object *, int *, int);
void	helper_recv_abandon(struct helper *);
int	helper_recv_disk(struct helper *, struct json_object *, int *, int);
int	helper_recv_disk_verify(struct helper *, struct json_object *, int *,
	    int);
int	helper_recv_disk_done(struct helper *, struct json_object *, int *,
	    int);
/* Close and delete the copies made here (every failure path). */
void	helper_recv_copies_remove(struct helper *, const char *why);
void	helper_recv_copies_close(struct helper *);
int	helper_src_disk(struct helper *, struct json_object *, int *, int);
int	helper_src_disk_progress(struct helper *, struct json_object *, int *,
	    int);
void	helper_src_copies_free(struct helper *);
int	helper_src_begin(struct helper *, struct json_object *, int *, int);
int	helper_src_stream(struct helper *, struct json_object *, int *, int);
int	helper_src_ready(struct helper *, struct json_object *, int *, int);
int	helper_src_report(struct helper *, struct json_object *, int *, int);
int	helper_src_lost(struct helper *, struct json_object *, int *, int);
int	helper_src_abort(struct helper *, struct json_object *, int *, int);
void	helper_src_abandon(struct helper *);
int	helper_console_open(struct helper *, struct json_object *, int *,
	    int);
int	helper_console_check(struct helper *, struct json_object *, int *,
	    int);
int	helper_jobs(struct helper *, struct json_object *, int *, int);
int	helper_recover_copies(struct helper *, struct json_object *, int *,
	    int);
int	helper_recover_act(struct helper *, struct json_object *, int *, int);
int	helper_recover_mark(struct helper *, struct json_object *, int *,
	    int);

int	helper_maintenance(struct helper *, struct json_object *, int *,
	    int);

/* reserve.c: what migrations on their way in hold of this host. */
struct reserve_total {
	uint64_t	 kb;
	unsigned	 weight;
	unsigned	 count;
};
/*
 * The others' reservations (not the one SELF_FD holds; -1: all).  One
 * whose domain is already among DOMS (as NAME--incoming, or renamed) is
 * in the backend's free memory and the domains' weights already: not
 * counted twice.
 */
int	reserve_sum(const struct relocd_conf *, int self_fd,
	    const struct xo_dominfo *doms, size_t ndoms,
	    struct reserve_total *, char *err, size_t errlen);
int	reserve_take(struct helper *, const char *name, uint64_t memory_kb,
	    unsigned weight, const char **code, char *reason, size_t reasonlen);
void	reserve_release(struct helper *);

/* maint.c: maintenance mode at run time, state_dir/maintenance.json.
 * maint_get: 1 on (since: when and by whom, if recorded), 0 off, -1
 * when it cannot tell (err).  maint_set: durably; 0, or -1 with err. */
int	maint_get(const struct relocd_conf *, char *since, size_t sincelen,
	    char *err, size_t errlen);
int	maint_set(const struct relocd_conf *, int on, const char *who,
	    char *err, size_t errlen);

/* cluster.c: cluster_dir, the cluster's shared storage (leases, domain
 * records, tombstones of forced restarts).  Root helper only. */
int	cluster_enabled(const struct relocd_conf *);
void	helper_cluster_record(struct helper *, uint32_t domid,
	    const char *name);
const char *cluster_self(const struct relocd_conf *);
int	cluster_record_put(const struct relocd_conf *, struct json_object *cfg,
	    char *err, size_t errlen);
void	cluster_record_drop(const struct relocd_conf *, const char *uuid);
int	cluster_record_find(const struct relocd_conf *, const char *dom,
	    struct json_object **rec, char *err, size_t errlen);
int	cluster_tombstone_put(const struct relocd_conf *, struct json_object *,
	    const char *by, const char *fence, char *err, size_t errlen);
int	cluster_settle(const struct relocd_conf *);
int	cluster_tombstones_clear(const struct relocd_conf *, char *err,
	    size_t errlen);

/* storage.c: copies of an incoming domain's disks (--copy-storage). */
/*
 * This host's plan for the disks a source offers to copy (an array of
 * {"vdev", "path", "size", "allocated"}, as the network brought it):
 * [{"vdev", "source", "target", "size", "allocated", "fs_free"[,
 * "error"]}], one entry per disk offered; a disk that cannot be copied
 * here says why in "error".  Never NULL.
 */
struct json_object *storage_plan(const struct relocd_conf *,
	    struct json_object *offer);
/* The source's side: the disks of CFG that --copy-storage copies,
 * [{"vdev", "path", "size", "allocated"[, "kind"]}], or NULL with the
 * reason; *skipped (if not NULL), the block devices left alone,
 * [{"vdev", "path", "why"}]. */
struct json_object *storage_offer(const struct relocd_conf *,
	    struct json_object *cfg, struct json_object **skipped, char *err,
	    size_t errlen);
/* The first entry's error of a plan, or NULL if every disk can come. */
const char *storage_plan_error(struct json_object *plan);

/* hostinfo.c */
/* lvm.c: lvm_command's subcommands, as root; -1 with the reason. */
int	lvm_vg_info(const struct relocd_conf *, const char *vg,
	    uint64_t *freeb, uint64_t *extent, char *err, size_t errlen);
int	lvm_lv_exists(const struct relocd_conf *, const char *vg,
	    const char *lv, char *err, size_t errlen);
int	lvm_lv_local(const struct relocd_conf *, const char *path,
	    char *why, size_t whylen);
int	lvm_lv_create(const struct relocd_conf *, const char *vg,
	    const char *lv, uint64_t size, char *err, size_t errlen);
int	lvm_lv_remove(const struct relocd_conf *, const char *vg,
	    const char *lv, char *err, size_t errlen);
int	lvm_blk_size(int fd, uint64_t *size);
int	storage_blk_size(const char *path, uint64_t *size);
int	helper_lv_remove(const struct relocd_conf *, const char *name,
	    char *err, size_t errlen);
/* TICK after each step with the bytes done; its -1 stops the zeroing. */
int	lvm_zero(int fd, uint64_t size, int (*tick)(void *, uint64_t,
	    uint64_t), void *arg, char *err, size_t errlen);

/* REAL (a resolved path) is under one of incoming_disk_paths. */
int	hostinfo_real_inside(const struct relocd_conf *, const char *real);
struct json_object *hostinfo_list_json(struct xo_ctx *, char *err,
	    size_t errlen);
struct json_object *hostinfo_host_json(struct xo_ctx *,
	    struct relocd_conf *, char *err, size_t errlen);
/* What recv_precheck needs to know about this host, both ways: free
 * memory, bridges, domains, and whether it is in maintenance. */
struct json_object *hostinfo_facts_json(struct xo_ctx *,
	    struct relocd_conf *, struct json_object *args,
	    int self_reserve_fd, char *err, size_t errlen);
struct xo_hostinfo;
struct xo_dominfo;
struct json_object *hostinfo_source_json(const struct xo_hostinfo *);
/* The facts as the pre-flight reads them (precheck.h); the strings
 * point into the JSON, which the struct keeps. */
struct hostinfo_facts {
	struct precheck_host	 h;
	struct precheck_dom	*doms;
	char			**bridges, **cpu_features, **pci_free;
	struct json_object	*o;
};
int	hostinfo_facts_host(struct json_object *, struct hostinfo_facts *,
	    char *err, size_t errlen);
void	hostinfo_facts_dispose(struct hostinfo_facts *);

#endif
