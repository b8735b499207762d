/*
 * Private to the sim backend's own files: the host and domain state they
 * share and the calls between them.  xenops_sim.c describes the host's
 * layout on disk and holds the backend table; sim.h holds what the guest
 * process and the unit test see too.
 */
#ifndef SIM_IMPL_H
#define SIM_IMPL_H

#include <sys/types.h>

#include <stdint.h>

#include "sim.h"
#include "xenops_impl.h"

/* Pages moved in one piece: the sender gathers scattered pages into
 * pieces this size (16 full TLS records a write), the receiver reads and
 * pwrites runs of at most this many (256 KiB stays in cache between the
 * decrypt and the copy into guest memory).  Either way a bounded buffer,
 * however large the batch. */
#define SIM_PIECE_PAGES		64

struct sim_host {
	char		*root;		/* <state_dir>/sim */
	char		*domdir;	/* <state_dir>/sim/dom */
	char		*condir;	/* <state_dir>/console */
	uint64_t	 total_kb;
	char		 hostname[256];
	char		 arch[32];
	char		**bridges;	/* NULL-terminated */
	char		**cpu_features;	/* sim_cpu_features */
	char		**pci_free;	/* sim_pci_assignable */
	int		 cap_shadow;
	char		*cluster_dir;	/* leases live here; NULL = none */
	/* Guest memory a save mapped, unmapped only at sim_close: tearing
	 * down the mapping of a big guest took tens of ms, and right after
	 * the last round that sat on the downtime path. */
	void		*saved_mem;
	size_t		 saved_len;
};

/* What the backend needs from a domain config. */
struct sim_domcfg {
	char		 name[64];
	char		 uuid[37];	/* "" if none */
	uint64_t	 memory_kb;
	uint64_t	 nr_pages;
	unsigned	 vcpus;
	unsigned	 weight;	/* xmig_sim.weight, 1 */
	unsigned	 tick_ms;
	unsigned	 dirty_rate;
	/* xmig_sim.disk_counter: the guest keeps a counter in its first
	 * disk (a file), read at boot, written every tick */
	char		 disk[256];	/* "" = none */
	/* disk_counter = 2: and a 4 KiB block of data or zeros at the
	 * start of another chunk of that disk every tick */
	int		 disk_scribble;
};

struct sim_dom {
	uint32_t	 domid;
	struct sim_domcfg cfg;
};

/* One stream being written or read. */
struct sim_xfer {
	struct xo_ctx	*ctx;
	struct iochan	*ioc;
	uint8_t		*mem;
	uint64_t	 npages;
	xo_progress_fn	 fn;
	void		*arg;
	struct xo_progress prog;
	uint64_t	 bytes0;	/* channel counter at the start */
	uint64_t	 next_report;
	uint8_t		*buf;		/* record header + pfns + pages */
	/* sender: to find never-written holes; receiver: written with
	 * pwrite (sim_recv_pages says why) */
	int		 memfd;
	/* sender only */
	const uint8_t	*zero;		/* reads as zero, never backed */
	int		 full_pass;	/* holes may be skipped */
	uint64_t	 ext_off;	/* [ext_off, ext_end) is all hole */
	uint64_t	 ext_end;	/* (ext_hole) or all data, as of */
	int		 ext_hole;	/* this pass */
	uint64_t	*pfn;		/* SIM_BATCH_PAGES */
	unsigned	 count;
	/* receiver only: RELOCD_SIM_FAULT store=fail fails the pwrite of
	 * this run (1-based) with EIO; 0 never */
	uint64_t	 store_fail_at;
	uint64_t	 store_runs;
};

/* sim_host.c: files, the host, domain configs, the domain table */
int	sim_path(struct xo_ctx *, char *, size_t, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
int	sim_file_read(const char *, char **, size_t *, size_t);
int	sim_file_write(const char *, const void *, size_t);
int	sim_name_ok(const char *);
int	sim_open(struct xo_ctx *, const struct relocd_conf *);
void	sim_close(struct xo_ctx *);
int	sim_host_info(struct xo_ctx *, struct xo_hostinfo *);
int	sim_cfg_parse(struct xo_ctx *, struct json_object *,
	    struct sim_domcfg *);
int	sim_cfg_load(struct xo_ctx *, uint32_t, struct json_object **);
int	sim_cfg_store(struct xo_ctx *, uint32_t, struct json_object *);
int	sim_lock(struct xo_ctx *, int *);
void	sim_unlock(int);
int	sim_table_scan(struct xo_ctx *, struct sim_dom **, size_t *);
int	sim_table_admit(struct xo_ctx *, const struct sim_domcfg *);
int	sim_domid_alloc(struct xo_ctx *, uint32_t *);
int	sim_dom_files(struct xo_ctx *, uint32_t, const struct sim_domcfg *);
int	sim_memfd(struct xo_ctx *, uint32_t, const char *, uint64_t, int *);
void	sim_dom_remove(struct sim_host *, uint32_t);

/* sim_control.c: guest processes and the domain operations */
int	sim_pid_read(struct sim_host *, uint32_t, pid_t *, uint64_t *);
int	sim_pid_kill(struct xo_ctx *, pid_t, uint64_t);
int	sim_shared_read(struct sim_host *, uint32_t, struct sim_shared *);
int	sim_dom_state(struct xo_ctx *, uint32_t, enum xo_state *, double *);
int	sim_guest_cmd(struct xo_ctx *, uint32_t, const char *,
	    const char *, int *, int);
int	sim_guest_start(struct xo_ctx *, uint32_t,
	    const struct sim_domcfg *, int, const struct sim_vcpu *,
	    int, int, int *);
int	sim_list(struct xo_ctx *, struct xo_dominfo **, size_t *);
int	sim_info(struct xo_ctx *, uint32_t, struct xo_dominfo *);
int	sim_config_get(struct xo_ctx *, uint32_t, struct json_object **);
int	sim_console_path(struct xo_ctx *, uint32_t, char *, size_t);
int	sim_create(struct xo_ctx *, struct json_object *, uint32_t *);
int	sim_fault(struct xo_ctx *, const char *, uint32_t);
int	sim_rename(struct xo_ctx *, uint32_t, const char *, const char *);
int	sim_destroy(struct xo_ctx *, uint32_t);
int	sim_pause(struct xo_ctx *, uint32_t);
int	sim_unpause(struct xo_ctx *, uint32_t);
int	sim_resume(struct xo_ctx *, uint32_t);
int	sim_lease_give(struct xo_ctx *, uint32_t);
int	sim_disk_dirty(struct xo_ctx *, uint32_t, const char *, int *);

/* sim_xfer.c: one stream, either direction */
void	sim_progress(struct sim_xfer *, int);
int	sim_xfer_init(struct sim_xfer *, struct xo_ctx *,
	    struct iochan *, uint64_t, xo_progress_fn, void *);
void	sim_xfer_dispose(struct sim_xfer *);

/* sim_save.c */
int	sim_suspend_to(struct xo_ctx *, uint32_t, struct iochan *, int,
	    xo_progress_fn, void *);

/* sim_restore.c */
int	sim_restore_from(struct xo_ctx *, struct json_object *,
	    struct iochan *, uint32_t *, xo_progress_fn, void *);

#endif
