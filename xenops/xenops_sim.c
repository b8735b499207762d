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
 * The stream format is in sim.h.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "conf.h"
#include "iochan.h"
#include "log.h"
#include "sim.h"
#include "xenops_impl.h"

#define SIM_XEN_VERSION		"4.17.0-sim"
#define SIM_CFG_MAX		(1024 * 1024)
#define SIM_DEF_TICK_MS		1000
#define SIM_MAX_TICK_MS		3600000
#define SIM_MAX_DIRTY_RATE	10000000
/* A domain must hold its generation table and some data. */
#define SIM_MIN_MEMORY_KB	1024
/* 2^32 pages: word 0 of a page encodes the pfn in 32 bits. */
#define SIM_MAX_PAGES		(1ULL << 32)
#define SIM_DESTROY_WAIT_MS	5000
#define SIM_PROGRESS_BYTES	(16ULL << 20)
/* Stream length allowed beyond (rounds + 2) x memory. */
#define SIM_STREAM_SLACK	(1ULL << 20)
/* A contiguous batch in more pieces than this is gathered instead. */
#define SIM_MAX_SEGS		8
/* Pages moved in one piece: the sender gathers scattered pages into
 * pieces this size (16 full TLS records a write), the receiver reads and
 * pwrites runs of at most this many (256 KiB stays in cache between the
 * decrypt and the copy into guest memory).  Either way a bounded buffer,
 * however large the batch. */
#define SIM_PIECE_PAGES		64
/* The transfer buffer: a PAGE_DATA record's header, a batch's pfns and
 * one piece of pages. */
#define SIM_XFER_BUF_LEN	(SIM_REC_HDR_LEN + SIM_PAGE_DATA_LEN(0) + \
				    SIM_BATCH_PAGES * 8 + \
				    SIM_PIECE_PAGES * SIM_PAGE_SIZE)

struct sim_host {
	char		*root;		/* <state_dir>/sim */
	char		*domdir;	/* <state_dir>/sim/dom */
	char		*condir;	/* <state_dir>/console */
	uint64_t	 total_kb;
	char		 hostname[256];
	char		 arch[32];
	char		**bridges;	/* NULL-terminated */
	int		 cap_shadow;
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
	unsigned	 tick_ms;
	unsigned	 dirty_rate;
};

struct sim_dom {
	uint32_t	 domid;
	struct sim_domcfg cfg;
};

struct sim_procstat {
	char		 state;
	uint64_t	 utime, stime;	/* clock ticks */
	uint64_t	 starttime;
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

static int	sim_open(struct xo_ctx *, const struct relocd_conf *);
static void	sim_close(struct xo_ctx *);
static int	sim_list(struct xo_ctx *, struct xo_dominfo **, size_t *);
static int	sim_info(struct xo_ctx *, uint32_t, struct xo_dominfo *);
static int	sim_host_info(struct xo_ctx *, struct xo_hostinfo *);
static int	sim_config_get(struct xo_ctx *, uint32_t,
		    struct json_object **);
static int	sim_create(struct xo_ctx *, struct json_object *, uint32_t *);
static int	sim_suspend_to(struct xo_ctx *, uint32_t, struct iochan *, int,
		    xo_progress_fn, void *);
static int	sim_restore_from(struct xo_ctx *, struct json_object *,
		    struct iochan *, uint32_t *, xo_progress_fn, void *);
static int	sim_fault(struct xo_ctx *, const char *, uint32_t);
static int	sim_rename(struct xo_ctx *, uint32_t, const char *,
		    const char *);
static int	sim_pause(struct xo_ctx *, uint32_t);
static int	sim_unpause(struct xo_ctx *, uint32_t);
static int	sim_resume(struct xo_ctx *, uint32_t);
static int	sim_destroy(struct xo_ctx *, uint32_t);
static int	sim_console_path(struct xo_ctx *, uint32_t, char *, size_t);

static int	sim_path(struct xo_ctx *, char *, size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static int	sim_mkdir(struct xo_ctx *, const char *);
static int	sim_file_read(const char *, char **, size_t *, size_t);
static int	sim_file_write(const char *, const void *, size_t);
static int	sim_name_ok(const char *);
static int	sim_cfg_parse(struct xo_ctx *, struct json_object *,
		    struct sim_domcfg *);
static int	sim_cfg_load(struct xo_ctx *, uint32_t, struct json_object **);
static int	sim_cfg_store(struct xo_ctx *, uint32_t, struct json_object *);
static int	sim_lock(struct xo_ctx *, int *);
static void	sim_unlock(int);
static int	sim_dom_cmp(const void *, const void *);
static int	sim_table_scan(struct xo_ctx *, struct sim_dom **, size_t *);
static int	sim_table_admit(struct xo_ctx *, const struct sim_domcfg *);
static int	sim_domid_alloc(struct xo_ctx *, uint32_t *);
static int	sim_dom_files(struct xo_ctx *, uint32_t,
		    const struct sim_domcfg *);
static void	sim_dom_remove(struct sim_host *, uint32_t);
static int	sim_proc_stat(pid_t, struct sim_procstat *);
static int	sim_pid_read(struct sim_host *, uint32_t, pid_t *, uint64_t *);
static int	sim_pid_alive(pid_t, uint64_t);
static int	sim_pid_kill(struct xo_ctx *, pid_t, uint64_t);
static int	sim_shared_read(struct sim_host *, uint32_t,
		    struct sim_shared *);
static int	sim_dom_state(struct xo_ctx *, uint32_t, enum xo_state *,
		    double *);
static int	sim_ctl_addr(struct xo_ctx *, uint32_t, struct sockaddr_un *,
		    int *);
static int	sim_guest_cmd(struct xo_ctx *, uint32_t, const char *,
		    const char *, int *, int);
static int	sim_memfd(struct xo_ctx *, uint32_t, const char *, uint64_t,
		    int *);
static int	sim_guest_start(struct xo_ctx *, uint32_t,
		    const struct sim_domcfg *, int, const struct sim_vcpu *,
		    int, int, int *);
static int	sim_guest_wait(struct xo_ctx *, int, struct sim_guest_status *);
static void	sim_progress(struct sim_xfer *, int);
static int	sim_xfer_init(struct sim_xfer *, struct xo_ctx *,
		    struct iochan *, uint64_t, xo_progress_fn, void *);
static void	sim_xfer_dispose(struct sim_xfer *);
static int	sim_send(struct sim_xfer *, const void *, size_t);
static void	sim_extent(struct sim_xfer *, uint64_t);
static int	sim_send_range(struct sim_xfer *, uint64_t, uint64_t);
static int	sim_send_flush(struct sim_xfer *);
static int	sim_send_page(struct sim_xfer *, uint64_t);
static int	sim_send_round_end(struct sim_xfer *, uint32_t, uint64_t);
static int	sim_send_tail(struct sim_xfer *, const struct sim_vcpu *);
static int	sim_send_bitmap(struct sim_xfer *, const uint64_t *);
static void	sim_dirty_take(uint64_t *, uint64_t *, size_t);
static uint64_t	sim_dirty_count(uint64_t *, size_t);
static int	sim_recv(struct sim_xfer *, void *, size_t, const char *);
static int	sim_recv_pages(struct sim_xfer *, uint32_t);
static int	sim_recv_stream(struct sim_xfer *, const struct sim_domcfg *,
		    struct sim_vcpu *);

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
	.destroy = sim_destroy,
	.console_path = sim_console_path,
};

/* -- small helpers ------------------------------------------------------ */

static int
sim_path(struct xo_ctx *ctx, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return xo_fail(ctx, XO_E_FAIL, "path too long: %s...", buf);
	return 0;
}

static int
sim_mkdir(struct xo_ctx *ctx, const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return xo_fail(ctx, XO_E_FAIL, "mkdir %s: %s", path,
		    strerror(errno));
	return 0;
}

/* Whole file, NUL-terminated; -1 with errno (EFBIG past max). */
static int
sim_file_read(const char *path, char **buf_r, size_t *len_r, size_t max)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, r = -1, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto out;
	if ((buf = malloc(max + 1)) == NULL)
		goto out;
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		len += n;
	}
	if (len > max) {
		errno = EFBIG;
		goto out;
	}
	buf[len] = '\0';
	*buf_r = buf;
	buf = NULL;
	if (len_r != NULL)
		*len_r = len;
	r = 0;
out:
	saved = errno;
	free(buf);
	if (fd != -1)
		close(fd);
	errno = saved;
	return r;
}

/* Replace path atomically: a crash leaves the old or the new file. */
static int
sim_file_write(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = data;
	ssize_t n;
	int fd = -1, r = -1, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto out;
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		p += n;
		len -= n;
	}
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	r = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (r == -1)
		unlink(tmp);
	errno = saved;
	return r;
}

/* The name becomes a file name (console log): no '/', nothing odd. */
static int
sim_name_ok(const char *name)
{
	size_t len = strlen(name);
	const char *p;

	if (len == 0 || len > 63 || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* -- open, close, host -------------------------------------------------- */

static int
sim_open(struct xo_ctx *ctx, const struct relocd_conf *conf)
{
	struct sim_host *h = NULL;
	size_t n, i;
	int rc;

	if (conf->state_dir == NULL || *conf->state_dir == '\0')
		return xo_fail(ctx, XO_E_FAIL, "state_dir is not set");
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	if (asprintf(&h->root, "%s/sim", conf->state_dir) == -1) {
		h->root = NULL;
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	if (asprintf(&h->domdir, "%s/sim/dom", conf->state_dir) == -1) {
		h->domdir = NULL;
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	if (asprintf(&h->condir, "%s/console", conf->state_dir) == -1) {
		h->condir = NULL;
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	if ((rc = sim_mkdir(ctx, conf->state_dir)) != 0 ||
	    (rc = sim_mkdir(ctx, h->root)) != 0 ||
	    (rc = sim_mkdir(ctx, h->domdir)) != 0 ||
	    (rc = sim_mkdir(ctx, h->condir)) != 0)
		goto out;

	h->total_kb = conf->sim_memory_mb > 0 ?
	    (uint64_t)conf->sim_memory_mb * 1024 : 0;
	if (conf->sim_hostname != NULL && *conf->sim_hostname != '\0')
		snprintf(h->hostname, sizeof(h->hostname), "%s",
		    conf->sim_hostname);
	else if (gethostname(h->hostname, sizeof(h->hostname) - 1) == -1)
		snprintf(h->hostname, sizeof(h->hostname), "localhost");
	snprintf(h->arch, sizeof(h->arch), "%s",
	    conf->sim_arch != NULL && *conf->sim_arch != '\0' ?
	    conf->sim_arch : "x86_64");
	h->cap_shadow = conf->sim_cap_shadow;
	for (n = 0; conf->sim_bridges != NULL && conf->sim_bridges[n] != NULL;
	    n++)
		;
	if ((h->bridges = calloc(n + 1, sizeof(char *))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((h->bridges[i] = strdup(conf->sim_bridges[i])) == NULL) {
			rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
			goto out;
		}
	}
	ctx->priv = h;
	h = NULL;
	rc = 0;
out:
	if (h != NULL) {
		ctx->priv = h;
		sim_close(ctx);
	}
	return rc;
}

static void
sim_close(struct xo_ctx *ctx)
{
	struct sim_host *h = ctx->priv;
	size_t i;

	if (h == NULL)
		return;
	if (h->saved_mem != NULL)
		munmap(h->saved_mem, h->saved_len);
	free(h->root);
	free(h->domdir);
	free(h->condir);
	for (i = 0; h->bridges != NULL && h->bridges[i] != NULL; i++)
		free(h->bridges[i]);
	free(h->bridges);
	free(h);
	ctx->priv = NULL;
}

static int
sim_host_info(struct xo_ctx *ctx, struct xo_hostinfo *hi)
{
	struct sim_host *h = ctx->priv;
	struct sim_dom *doms = NULL;
	uint64_t used = 0;
	size_t n = 0, i, nb;
	long ncpu;
	int rc;

	if ((rc = sim_table_scan(ctx, &doms, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		used += doms[i].cfg.memory_kb;
	snprintf(hi->hostname, sizeof(hi->hostname), "%s", h->hostname);
	snprintf(hi->arch, sizeof(hi->arch), "%s", h->arch);
	snprintf(hi->xen_version, sizeof(hi->xen_version), "%s",
	    SIM_XEN_VERSION);
	hi->total_kb = h->total_kb;
	hi->free_kb = used < h->total_kb ? h->total_kb - used : 0;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	hi->nr_cpus = ncpu > 0 ? (unsigned)ncpu : 1;
	hi->nr_domains = n;
	hi->cap_pv = hi->cap_hvm = hi->cap_hap = 1;
	hi->cap_shadow = h->cap_shadow;
	for (nb = 0; h->bridges[nb] != NULL; nb++)
		;
	if ((hi->bridges = calloc(nb + 1, sizeof(char *))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < nb; i++) {
		if ((hi->bridges[i] = strdup(h->bridges[i])) == NULL) {
			xo_hostinfo_dispose(hi);
			rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	free(doms);
	return rc;
}

/* -- domain configs ----------------------------------------------------- */

static int
sim_cfg_parse(struct xo_ctx *ctx, struct json_object *cfg,
    struct sim_domcfg *dc)
{
	struct json_object *ci, *bi, *sim, *o;
	int64_t v;

	memset(dc, 0, sizeof(*dc));
	if (!json_object_object_get_ex(cfg, "c_info", &ci) ||
	    !json_object_object_get_ex(cfg, "b_info", &bi))
		return xo_fail(ctx, XO_E_FAIL,
		    "domain config lacks c_info or b_info");
	if (!json_object_object_get_ex(ci, "name", &o) ||
	    !json_object_is_type(o, json_type_string))
		return xo_fail(ctx, XO_E_FAIL, "domain config has no name");
	if (!sim_name_ok(json_object_get_string(o)))
		return xo_fail(ctx, XO_E_FAIL, "invalid domain name '%.80s'",
		    json_object_get_string(o));
	snprintf(dc->name, sizeof(dc->name), "%s", json_object_get_string(o));
	if (json_object_object_get_ex(ci, "uuid", &o) &&
	    json_object_is_type(o, json_type_string)) {
		if (json_object_get_string_len(o) >= (int)sizeof(dc->uuid))
			return xo_fail(ctx, XO_E_FAIL,
			    "domain %s: invalid uuid '%.80s'", dc->name,
			    json_object_get_string(o));
		snprintf(dc->uuid, sizeof(dc->uuid), "%s",
		    json_object_get_string(o));
	}
	if (!json_object_object_get_ex(bi, "max_memkb", &o) ||
	    !json_object_is_type(o, json_type_int))
		return xo_fail(ctx, XO_E_FAIL,
		    "domain %s: b_info.max_memkb is missing", dc->name);
	v = json_object_get_int64(o);
	if (v < SIM_MIN_MEMORY_KB || v % 4 != 0 ||
	    (uint64_t)v / 4 > SIM_MAX_PAGES)
		return xo_fail(ctx, XO_E_FAIL,
		    "domain %s: memory of %" PRId64 " KiB is not a whole "
		    "number of pages between 1 MiB and 16 TiB", dc->name, v);
	dc->memory_kb = v;
	dc->nr_pages = v / 4;
	dc->vcpus = 1;
	if (json_object_object_get_ex(bi, "max_vcpus", &o) &&
	    json_object_is_type(o, json_type_int)) {
		v = json_object_get_int64(o);
		if (v < 1 || v > 4096)
			return xo_fail(ctx, XO_E_FAIL,
			    "domain %s: %" PRId64 " vcpus", dc->name, v);
		dc->vcpus = v;
	}
	dc->tick_ms = SIM_DEF_TICK_MS;
	if (json_object_object_get_ex(cfg, "xmig_sim", &sim)) {
		if (json_object_object_get_ex(sim, "tick_ms", &o) &&
		    json_object_is_type(o, json_type_int)) {
			v = json_object_get_int64(o);
			if (v < 0 || v > SIM_MAX_TICK_MS)
				return xo_fail(ctx, XO_E_FAIL,
				    "domain %s: tick_ms %" PRId64
				    " is out of range", dc->name, v);
			if (v > 0)
				dc->tick_ms = v;
		}
		if (json_object_object_get_ex(sim, "dirty_rate", &o) &&
		    json_object_is_type(o, json_type_int)) {
			v = json_object_get_int64(o);
			if (v < 0 || v > SIM_MAX_DIRTY_RATE)
				return xo_fail(ctx, XO_E_FAIL,
				    "domain %s: dirty_rate %" PRId64
				    " is out of range", dc->name, v);
			dc->dirty_rate = v;
		}
	}
	return 0;
}

static int
sim_cfg_load(struct xo_ctx *ctx, uint32_t domid, struct json_object **cfg_r)
{
	struct sim_host *h = ctx->priv;
	enum json_tokener_error jerr;
	struct json_object *cfg;
	char path[PATH_MAX];
	char *buf = NULL;
	int rc;

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%u/config.json",
	    h->domdir, domid)) != 0)
		goto out;
	if (sim_file_read(path, &buf, NULL, SIM_CFG_MAX) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = xo_fail(ctx, XO_E_NOTFOUND,
			    "domain %u does not exist", domid);
		else
			rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if ((cfg = json_tokener_parse_verbose(buf, &jerr)) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
		    json_tokener_error_desc(jerr));
		goto out;
	}
	*cfg_r = cfg;
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
sim_cfg_store(struct xo_ctx *ctx, uint32_t domid, struct json_object *cfg)
{
	struct sim_host *h = ctx->priv;
	char path[PATH_MAX];
	const char *s;
	int rc;

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%u/config.json",
	    h->domdir, domid)) != 0)
		return rc;
	s = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		return xo_fail(ctx, XO_E_FAIL, "out of memory");
	if (sim_file_write(path, s, strlen(s)) == -1)
		return xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
		    strerror(errno));
	return 0;
}

/* -- the domain table --------------------------------------------------- */

static int
sim_lock(struct xo_ctx *ctx, int *fd_r)
{
	struct sim_host *h = ctx->priv;
	char path[PATH_MAX];
	int fd, rc;

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/lock", h->root)) != 0)
		return rc;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
		    strerror(errno));
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			rc = xo_fail(ctx, XO_E_FAIL, "flock %s: %s", path,
			    strerror(errno));
			close(fd);
			return rc;
		}
	}
	*fd_r = fd;
	return 0;
}

/* Explicit unlock: a guest forked meanwhile may share the description. */
static void
sim_unlock(int fd)
{
	if (fd == -1)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

static int
sim_dom_cmp(const void *a, const void *b)
{
	const struct sim_dom *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

/* Every domain with a config, sorted by domid. */
static int
sim_table_scan(struct xo_ctx *ctx, struct sim_dom **doms_r, size_t *n_r)
{
	struct sim_host *h = ctx->priv;
	struct sim_dom *doms = NULL, *nd;
	struct json_object *cfg = NULL;
	struct sim_domcfg dc;
	struct dirent *de;
	DIR *d = NULL;
	size_t n = 0, cap = 0;
	unsigned long id;
	char *end;
	int rc;

	if ((d = opendir(h->domdir)) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", h->domdir,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		id = strtoul(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || id > UINT32_MAX)
			continue;
		rc = sim_cfg_load(ctx, id, &cfg);
		if (rc == XO_E_NOTFOUND)
			continue;	/* still being created */
		if (rc == 0)
			rc = sim_cfg_parse(ctx, cfg, &dc);
		json_object_put(cfg);
		cfg = NULL;
		if (rc != 0) {
			log_warnx("sim: skipping domain %lu: %s", id,
			    ctx->err);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nd = reallocarray(doms, cap,
			    sizeof(*doms))) == NULL) {
				rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
				goto out;
			}
			doms = nd;
		}
		doms[n].domid = id;
		doms[n].cfg = dc;
		n++;
	}
	if (n > 0)
		qsort(doms, n, sizeof(*doms), sim_dom_cmp);
	*doms_r = doms;
	doms = NULL;
	*n_r = n;
	rc = 0;
out:
	free(doms);
	if (d != NULL)
		closedir(d);
	return rc;
}

/* Under the lock: may a domain like dc join the table? */
static int
sim_table_admit(struct xo_ctx *ctx, const struct sim_domcfg *dc)
{
	struct sim_host *h = ctx->priv;
	struct sim_dom *doms = NULL;
	uint64_t used = 0, free_kb;
	size_t n = 0, i;
	int rc;

	if ((rc = sim_table_scan(ctx, &doms, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (strcmp(doms[i].cfg.name, dc->name) == 0) {
			rc = xo_fail(ctx, XO_E_EXISTS, "a domain named '%s' "
			    "already exists (domid %u)", dc->name,
			    doms[i].domid);
			goto out;
		}
		if (*dc->uuid != '\0' &&
		    strcasecmp(doms[i].cfg.uuid, dc->uuid) == 0) {
			rc = xo_fail(ctx, XO_E_EXISTS, "a domain with uuid %s "
			    "already exists: '%s' (domid %u)", dc->uuid,
			    doms[i].cfg.name, doms[i].domid);
			goto out;
		}
		used += doms[i].cfg.memory_kb;
	}
	free_kb = used < h->total_kb ? h->total_kb - used : 0;
	if (dc->memory_kb > free_kb) {
		rc = xo_fail(ctx, XO_E_NOMEM, "not enough free memory for "
		    "domain '%s': it needs %" PRIu64 " MiB, the host has %"
		    PRIu64 " MiB free of %" PRIu64 " MiB", dc->name,
		    (dc->memory_kb + 1023) / 1024, free_kb / 1024,
		    h->total_kb / 1024);
		goto out;
	}
	rc = 0;
out:
	free(doms);
	return rc;
}

/* Under the lock.  Domids are never reused, as Xen does not reuse them
 * until it wraps: a stale domid in a journal never names a new domain. */
static int
sim_domid_alloc(struct xo_ctx *ctx, uint32_t *domid_r)
{
	struct sim_host *h = ctx->priv;
	char path[PATH_MAX], dir[PATH_MAX], num[16];
	unsigned long next = 1;
	struct stat st;
	char *buf = NULL;
	int rc;

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/next_domid",
	    h->root)) != 0)
		return rc;
	if (sim_file_read(path, &buf, NULL, 32) == 0) {
		next = strtoul(buf, NULL, 10);
		free(buf);
	} else if (errno != ENOENT)
		return xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
		    strerror(errno));
	for (;; next++) {
		/* 0 is dom0; the top of the range is DOMID_FIRST_RESERVED
		 * and up in Xen. */
		if (next < 1 || next >= 0x7ff0)
			next = 1;
		if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%lu", h->domdir,
		    next)) != 0)
			return rc;
		if (stat(dir, &st) == -1 && errno == ENOENT)
			break;
	}
	snprintf(num, sizeof(num), "%lu\n", next + 1);
	if (sim_file_write(path, num, strlen(num)) == -1)
		return xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
		    strerror(errno));
	*domid_r = next;
	return 0;
}

/* The domain's directory and its shared block, state NEW. */
static int
sim_dom_files(struct xo_ctx *ctx, uint32_t domid, const struct sim_domcfg *dc)
{
	struct sim_host *h = ctx->priv;
	struct sim_shared sh;
	char dir[PATH_MAX], path[PATH_MAX];
	int fd = -1, rc;

	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		goto out;
	if (mkdir(dir, 0700) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "mkdir %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/shared", dir)) != 0)
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	memset(&sh, 0, sizeof(sh));
	sh.magic = SIM_SHARED_MAGIC;
	sh.state = SIM_ST_NEW;
	if (fd == -1 || ftruncate(fd, SIM_PAGE_SIZE) == -1 ||
	    pwrite(fd, &sh, sizeof(sh), 0) != (ssize_t)sizeof(sh)) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * A sparse memfd of len bytes (generation 0 is all zero, so creation is
 * instant).  Sealed at that size: whoever maps it can never be made to
 * fault past its end.
 */
static int
sim_memfd(struct xo_ctx *ctx, uint32_t domid, const char *what, uint64_t len,
    int *fd_r)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "simdom%u-%s", domid, what);
	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return xo_fail(ctx, XO_E_FAIL, "memfd_create: %s",
		    strerror(errno));
	if (ftruncate(fd, len) == -1 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1) {
		close(fd);
		return xo_fail(ctx, XO_E_FAIL, "domain %u: %s of %" PRIu64
		    " bytes: %s", domid, what, len, strerror(errno));
	}
	*fd_r = fd;
	return 0;
}

/* The directory and all in it (flat); the console log stays. */
static void
sim_dom_remove(struct sim_host *h, uint32_t domid)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%u", h->domdir, domid) >=
	    sizeof(dir))
		return;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == -1)
				log_warn("sim: unlink %s/%s", dir,
				    de->d_name);
		}
		closedir(d);
	}
	if (rmdir(dir) == -1 && errno != ENOENT)
		log_warn("sim: rmdir %s", dir);
}

/* -- guest processes ---------------------------------------------------- */

/* -1 if the process is gone. */
static int
sim_proc_stat(pid_t pid, struct sim_procstat *ps)
{
	char path[64], buf[1024], *p, *tok, *save;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold anything, even ") ": fields follow the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	memset(ps, 0, sizeof(*ps));
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok != NULL;
	    field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3)
			ps->state = tok[0];
		else if (field == 14)
			ps->utime = strtoull(tok, NULL, 10);
		else if (field == 15)
			ps->stime = strtoull(tok, NULL, 10);
		else if (field == 22) {
			ps->starttime = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -1;
}

/* 0 and *pid = 0 if there is no guest process (yet). */
static int
sim_pid_read(struct sim_host *h, uint32_t domid, pid_t *pid, uint64_t *start)
{
	char path[PATH_MAX];
	char *buf = NULL;
	unsigned long long st;
	int p;

	*pid = 0;
	*start = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%u/pid", h->domdir,
	    domid) >= sizeof(path))
		return -1;
	if (sim_file_read(path, &buf, NULL, 64) == -1)
		return errno == ENOENT ? 0 : -1;
	if (sscanf(buf, "%d %llu", &p, &st) != 2 || p <= 1) {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	free(buf);
	*pid = p;
	*start = st;
	return 0;
}

/* Same process as recorded, and not a zombie nobody reaped. */
static int
sim_pid_alive(pid_t pid, uint64_t start)
{
	struct sim_procstat ps;

	if (pid <= 1 || sim_proc_stat(pid, &ps) == -1)
		return 0;
	if (ps.starttime != start)
		return 0;
	return ps.state != 'Z' && ps.state != 'X';
}

static int
sim_pid_kill(struct xo_ctx *ctx, pid_t pid, uint64_t start)
{
	int waited;

	if (!sim_pid_alive(pid, start))
		return 0;
	if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
		return xo_fail(ctx, XO_E_FAIL, "kill guest %d: %s", (int)pid,
		    strerror(errno));
	for (waited = 0; waited < SIM_DESTROY_WAIT_MS; waited += 10) {
		if (!sim_pid_alive(pid, start))
			return 0;
		usleep(10000);
	}
	return xo_fail(ctx, XO_E_FAIL, "guest process %d did not die within "
	    "%d s of SIGKILL", (int)pid, SIM_DESTROY_WAIT_MS / 1000);
}

static int
sim_shared_read(struct sim_host *h, uint32_t domid, struct sim_shared *sh)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%u/shared", h->domdir,
	    domid) >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = pread(fd, sh, sizeof(*sh), 0);
	close(fd);
	if (n != (ssize_t)sizeof(*sh) || sh->magic != SIM_SHARED_MAGIC) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * The guest owns its run state; the backend only adds what the guest
 * cannot say: that it is gone.  A domain without a guest process yet is
 * being restored, and shows as paused, as libxl's restoring domain does.
 */
static int
sim_dom_state(struct xo_ctx *ctx, uint32_t domid, enum xo_state *st,
    double *cpu)
{
	struct sim_host *h = ctx->priv;
	struct sim_shared sh;
	struct sim_procstat ps;
	uint64_t start;
	pid_t pid;

	*st = XO_PAUSED;
	if (cpu != NULL)
		*cpu = 0;
	if (sim_shared_read(h, domid, &sh) == -1) {
		if (errno == ENOENT)
			return xo_fail(ctx, XO_E_NOTFOUND,
			    "domain %u does not exist", domid);
		return xo_fail(ctx, XO_E_FAIL, "domain %u: shared state: %s",
		    domid, strerror(errno));
	}
	if (sim_pid_read(h, domid, &pid, &start) == -1)
		return xo_fail(ctx, XO_E_FAIL, "domain %u: pid file: %s",
		    domid, strerror(errno));
	if (pid != 0 && !sim_pid_alive(pid, start)) {
		*st = XO_CRASHED;
		return 0;
	}
	if (pid != 0 && cpu != NULL && sim_proc_stat(pid, &ps) == 0)
		*cpu = (double)(ps.utime + ps.stime) / sysconf(_SC_CLK_TCK);
	switch (__atomic_load_n(&sh.state, __ATOMIC_ACQUIRE)) {
	case SIM_ST_RUNNING:
		*st = XO_RUNNING;
		break;
	case SIM_ST_SUSPENDED:
		*st = XO_SUSPENDED;
		break;
	default:
		*st = XO_PAUSED;
		break;
	}
	return 0;
}

/* sun_path is 108 bytes; a deep state_dir goes through /proc instead. */
static int
sim_ctl_addr(struct xo_ctx *ctx, uint32_t domid, struct sockaddr_un *sun,
    int *dirfd_r)
{
	struct sim_host *h = ctx->priv;
	char dir[PATH_MAX];
	int rc;

	*dirfd_r = -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		return rc;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path),
	    "%s/ctl.sock", dir) < sizeof(sun->sun_path))
		return 0;
	if ((*dirfd_r = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return xo_fail(ctx, XO_E_FAIL, "%s: %s", dir, strerror(errno));
	snprintf(sun->sun_path, sizeof(sun->sun_path),
	    "/proc/self/fd/%d/ctl.sock", *dirfd_r);
	return 0;
}

/*
 * One command, one reply line.  The guest answers after the action is
 * done, so on success the guest is in the state asked for.
 */
static int
sim_guest_cmd(struct xo_ctx *ctx, uint32_t domid, const char *cmd,
    const char *expect, int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct sockaddr_un sun;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	struct pollfd pfd;
	char line[80], reply[128];
	uint64_t deadline, now;
	size_t len = 0, i, nrecv;
	ssize_t n;
	int fd = -1, dfd = -1, got = 0, rc;
	int rfds[4];
	char *nl;

	for (i = 0; i < (size_t)nfds; i++)
		fds[i] = -1;

	if ((rc = sim_ctl_addr(ctx, domid, &sun, &dfd)) != 0)
		goto out;
	deadline = clock_mono_us() + SIM_CMD_TIMEOUT_MS * 1000ULL;
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			rc = xo_fail(ctx, XO_E_FAIL, "socket: %s",
			    strerror(errno));
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		/* A full backlog is the only thing worth waiting for. */
		if ((errno != EAGAIN && errno != EINTR) ||
		    clock_mono_us() >= deadline) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %u: cannot reach "
			    "the guest to '%s': %s", domid, cmd,
			    strerror(errno));
			goto out;
		}
		close(fd);
		fd = -1;
		usleep(10000);
	}
	snprintf(line, sizeof(line), "%s\n", cmd);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(line)) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: sending '%s' to the "
		    "guest: %s", domid, cmd, strerror(errno));
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((nl = memchr(reply, '\n', len)) == NULL) {
		now = clock_mono_us();
		if (now >= deadline || len == sizeof(reply)) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest did "
			    "not answer '%s' within %d s", domid, cmd,
			    SIM_CMD_TIMEOUT_MS / 1000);
			goto out;
		}
		if (poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) ==
		    -1 && errno != EINTR) {
			rc = xo_fail(ctx, XO_E_FAIL, "poll: %s",
			    strerror(errno));
			goto out;
		}
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = reply + len;
		iov.iov_len = sizeof(reply) - len;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level != SOL_SOCKET ||
			    cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			nrecv = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(rfds, CMSG_DATA(cmsg), nrecv * sizeof(int));
			/* Keep what was asked for, never leak the rest. */
			for (i = 0; i < nrecv; i++) {
				if (got < nfds)
					fds[got++] = rfds[i];
				else
					close(rfds[i]);
			}
		}
		if (n <= 0) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest "
			    "closed its control connection without "
			    "answering '%s'", domid, cmd);
			goto out;
		}
		len += n;
	}
	*nl = '\0';
	if (strcmp(reply, expect) != 0) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u: the guest refused "
		    "'%s': %s", domid, cmd, reply);
		goto out;
	}
	if (got != nfds) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest sent %d "
		    "fds for '%s', not %d", domid, got, cmd, nfds);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		for (i = 0; i < (size_t)got; i++) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/*
 * Start the guest process of domid: everything that can fail is set up
 * here first (socket, pty, log), so its errors come back as messages.
 * Double fork and setsid: the guest belongs to no relocd process, is
 * never a SIGCHLD of the worker, and survives relocd restarts.
 */
static int
sim_guest_start(struct xo_ctx *ctx, uint32_t domid,
    const struct sim_domcfg *dc, int restored, const struct sim_vcpu *vcpu,
    int memfd, int dirtyfd, int *log_created)
{
	struct sim_host *h = ctx->priv;
	struct sim_guest_args a;
	struct sim_guest_status gs;
	struct sim_procstat ps;
	struct sockaddr_un sun;
	struct termios tio;
	char dir[PATH_MAX], path[PATH_MAX], pts[128], line[160];
	int pfd[2] = { -1, -1 };
	int sunfd = -1, status, rc;
	uint64_t gstart = 0;
	pid_t mid;

	memset(&a, 0, sizeof(a));
	a.dir_fd = a.ctl_fd = a.pty_fd = a.slave_fd = a.log_fd = -1;
	a.mem_fd = a.dirty_fd = a.shared_fd = a.status_fd = -1;
	a.domid = domid;
	a.nr_pages = dc->nr_pages;
	a.tick_ms = dc->tick_ms;
	a.dirty_rate = dc->dirty_rate;
	a.restored = restored;
	a.vcpu = *vcpu;
	a.mem_fd = memfd;
	a.dirty_fd = dirtyfd;
	*log_created = 0;

	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		goto out;
	if ((a.dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((a.shared_fd = openat(a.dir_fd, "shared", O_RDWR | O_CLOEXEC)) ==
	    -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", dir, strerror(errno));
		goto out;
	}

	if ((rc = sim_ctl_addr(ctx, domid, &sun, &sunfd)) != 0)
		goto out;
	if ((a.ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "socket: %s", strerror(errno));
		goto out;
	}
	unlinkat(a.dir_fd, "ctl.sock", 0);
	if (bind(a.ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(a.ctl_fd, 8) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s/ctl.sock: %s", dir,
		    strerror(errno));
		goto out;
	}

	/* The console: the guest holds the master; a viewer opens the
	 * slave.  Raw and without echo, or the guest's own output would
	 * come back to it as input. */
	if ((a.pty_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    grantpt(a.pty_fd) == -1 || unlockpt(a.pty_fd) == -1 ||
	    ptsname_r(a.pty_fd, pts, sizeof(pts)) != 0) {
		rc = xo_fail(ctx, XO_E_FAIL, "pty: %s", strerror(errno));
		goto out;
	}
	if ((a.slave_fd = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    tcgetattr(a.slave_fd, &tio) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", pts, strerror(errno));
		goto out;
	}
	cfmakeraw(&tio);
	if (tcsetattr(a.slave_fd, TCSANOW, &tio) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", pts, strerror(errno));
		goto out;
	}
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/console", dir)) != 0)
		goto out;
	snprintf(line, sizeof(line), "%s\n", pts);
	if (sim_file_write(path, line, strlen(line)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%s.log", h->condir,
	    dc->name)) != 0)
		goto out;
	a.log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (a.log_fd != -1)
		*log_created = 1;
	else if (errno == EEXIST)
		a.log_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (a.log_fd == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "pipe: %s", strerror(errno));
		goto out;
	}
	a.status_fd = pfd[1];
	if ((mid = fork()) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "fork: %s", strerror(errno));
		goto out;
	}
	if (mid == 0) {
		close(pfd[0]);
		if (setsid() == -1)
			_exit(1);
		switch (fork()) {
		case -1:
			_exit(1);
		case 0:
			sim_guest_main(&a);
		default:
			_exit(0);
		}
	}
	close(pfd[1]);
	pfd[1] = a.status_fd = -1;
	/* ECHILD: a SIGCHLD handler of the caller reaped it first. */
	while (waitpid(mid, &status, 0) == -1 && errno == EINTR)
		;
	if ((rc = sim_guest_wait(ctx, pfd[0], &gs)) != 0)
		goto out;
	if (sim_proc_stat(gs.pid, &ps) == -1 || ps.state == 'Z') {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest process "
		    "died as it started", domid);
		goto out;
	}
	gstart = ps.starttime;
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/pid", dir)) != 0)
		goto out;
	snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)gs.pid,
	    gstart);
	if (sim_file_write(path, line, strlen(line)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && gstart != 0) {
		char keep[sizeof(ctx->err)];

		/* ctx->err keeps the first failure. */
		memcpy(keep, ctx->err, sizeof(keep));
		(void)sim_pid_kill(ctx, gs.pid, gstart);
		memcpy(ctx->err, keep, sizeof(keep));
	}
	if (rc != 0 && *log_created) {
		if (sim_path(ctx, path, sizeof(path), "%s/%s.log", h->condir,
		    dc->name) == 0)
			unlink(path);
		*log_created = 0;
	}
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (sunfd != -1)
		close(sunfd);
	if (a.dir_fd != -1)
		close(a.dir_fd);
	if (a.ctl_fd != -1)
		close(a.ctl_fd);
	if (a.pty_fd != -1)
		close(a.pty_fd);
	if (a.slave_fd != -1)
		close(a.slave_fd);
	if (a.log_fd != -1)
		close(a.log_fd);
	if (a.shared_fd != -1)
		close(a.shared_fd);
	return rc;
}

/* The guest's start report, or why there is none. */
static int
sim_guest_wait(struct xo_ctx *ctx, int fd, struct sim_guest_status *gs)
{
	struct pollfd pfd;
	uint64_t deadline, now;
	size_t got = 0;
	ssize_t n;

	memset(gs, 0, sizeof(*gs));
	pfd.fd = fd;
	pfd.events = POLLIN;
	deadline = clock_mono_us() + SIM_CMD_TIMEOUT_MS * 1000ULL;
	while (got < sizeof(*gs)) {
		now = clock_mono_us();
		if (now >= deadline)
			return xo_fail(ctx, XO_E_FAIL, "the guest process did "
			    "not report within %d s",
			    SIM_CMD_TIMEOUT_MS / 1000);
		if (poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) ==
		    -1 && errno != EINTR)
			return xo_fail(ctx, XO_E_FAIL, "poll: %s",
			    strerror(errno));
		n = read(fd, (char *)gs + got, sizeof(*gs) - got);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return xo_fail(ctx, XO_E_FAIL, "the guest process "
			    "exited while starting");
		got += n;
	}
	gs->msg[sizeof(gs->msg) - 1] = '\0';
	if (gs->error != 0)
		return xo_fail(ctx, XO_E_FAIL, "%s", gs->msg);
	return 0;
}

/* -- list, info, config ------------------------------------------------- */

static int
sim_list(struct xo_ctx *ctx, struct xo_dominfo **doms_r, size_t *n_r)
{
	struct sim_dom *doms = NULL;
	struct xo_dominfo *out = NULL;
	size_t n = 0, i, k = 0;
	int rc;

	if ((rc = sim_table_scan(ctx, &doms, &n)) != 0)
		goto out;
	if ((out = calloc(n ? n : 1, sizeof(*out))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct xo_dominfo *di = &out[k];

		rc = sim_dom_state(ctx, doms[i].domid, &di->state,
		    &di->cpu_time);
		if (rc == XO_E_NOTFOUND)
			continue;	/* destroyed meanwhile */
		if (rc != 0)
			goto out;
		di->domid = doms[i].domid;
		snprintf(di->name, sizeof(di->name), "%s", doms[i].cfg.name);
		snprintf(di->uuid, sizeof(di->uuid), "%s", doms[i].cfg.uuid);
		di->memory_kb = doms[i].cfg.memory_kb;
		di->vcpus = doms[i].cfg.vcpus;
		k++;
	}
	*doms_r = out;
	out = NULL;
	*n_r = k;
	rc = 0;
out:
	free(out);
	free(doms);
	return rc;
}

static int
sim_info(struct xo_ctx *ctx, uint32_t domid, struct xo_dominfo *di)
{
	struct json_object *cfg = NULL;
	struct sim_domcfg dc;
	int rc;

	memset(di, 0, sizeof(*di));
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0 ||
	    (rc = sim_cfg_parse(ctx, cfg, &dc)) != 0 ||
	    (rc = sim_dom_state(ctx, domid, &di->state, &di->cpu_time)) != 0)
		goto out;
	di->domid = domid;
	snprintf(di->name, sizeof(di->name), "%s", dc.name);
	snprintf(di->uuid, sizeof(di->uuid), "%s", dc.uuid);
	di->memory_kb = dc.memory_kb;
	di->vcpus = dc.vcpus;
	rc = 0;
out:
	json_object_put(cfg);
	return rc;
}

static int
sim_config_get(struct xo_ctx *ctx, uint32_t domid, struct json_object **cfg)
{
	return sim_cfg_load(ctx, domid, cfg);
}

static int
sim_console_path(struct xo_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
	struct sim_host *h = ctx->priv;
	char path[PATH_MAX];
	char *s = NULL;
	int rc;

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%u/console",
	    h->domdir, domid)) != 0)
		goto out;
	if (sim_file_read(path, &s, NULL, 256) == -1) {
		if (errno == ENOENT)
			rc = xo_fail(ctx, XO_E_NOTFOUND, "domain %u has no "
			    "console (it does not exist or is being "
			    "restored)", domid);
		else
			rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	s[strcspn(s, "\n")] = '\0';
	if ((size_t)snprintf(buf, len, "%s", s) >= len) {
		rc = xo_fail(ctx, XO_E_FAIL, "console path too long");
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

/* -- create, rename, destroy, run control ------------------------------- */

static int
sim_create(struct xo_ctx *ctx, struct json_object *cfg, uint32_t *domid_r)
{
	struct sim_host *h = ctx->priv;
	struct sim_domcfg dc;
	struct sim_vcpu vcpu;
	uint32_t domid = 0;
	int lockfd = -1, memfd = -1, dirtyfd = -1, made = 0, log_created = 0;
	int rc;
	pid_t pid;
	uint64_t start;

	if ((rc = sim_cfg_parse(ctx, cfg, &dc)) != 0)
		goto out;
	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_table_admit(ctx, &dc)) != 0 ||
	    (rc = sim_domid_alloc(ctx, &domid)) != 0)
		goto out;
	made = 1;
	if ((rc = sim_dom_files(ctx, domid, &dc)) != 0 ||
	    (rc = sim_memfd(ctx, domid, "memory",
	    dc.nr_pages << SIM_PAGE_SHIFT, &memfd)) != 0 ||
	    (rc = sim_memfd(ctx, domid, "dirty", (dc.nr_pages + 63) / 64 * 8,
	    &dirtyfd)) != 0)
		goto out;
	memset(&vcpu, 0, sizeof(vcpu));
	vcpu.prng = sim_mix64(clock_mono_us() ^ ((uint64_t)getpid() << 32) ^
	    domid);
	if ((rc = sim_guest_start(ctx, domid, &dc, 0, &vcpu, memfd, dirtyfd,
	    &log_created)) != 0)
		goto out;
	/* Last: only now does the domain exist for everyone else. */
	if ((rc = sim_cfg_store(ctx, domid, cfg)) != 0)
		goto out;
	*domid_r = domid;
	rc = 0;
out:
	if (rc != 0 && made) {
		if (sim_pid_read(h, domid, &pid, &start) == 0 && pid != 0) {
			char keep[sizeof(ctx->err)];

			memcpy(keep, ctx->err, sizeof(keep));
			(void)sim_pid_kill(ctx, pid, start);
			memcpy(ctx->err, keep, sizeof(keep));
		}
		sim_dom_remove(h, domid);
	}
	sim_unlock(lockfd);
	if (memfd != -1)
		close(memfd);
	if (dirtyfd != -1)
		close(dirtyfd);
	return rc;
}

/*
 * Fault points, a test aid (relocd.8, FAULT INJECTION): the environment
 * variable RELOCD_SIM_FAULT holds "POINT=ACTION[,POINT=ACTION...]" with
 * POINT one of suspend, restore, rename, unpause, resume, destroy and
 * ACTION one of fail (the call fails), hang[:SECONDS] (the call sleeps,
 * 60 s by default, then goes on: tests kill the process meanwhile) and
 * crash (the guest is killed, then the call goes on and fails as it
 * would).
 * Each fires on the first such call in a process, and a worker serves
 * one migration, so one knob hits one step of one migration.
 */
static int
sim_fault(struct xo_ctx *ctx, const char *point, uint32_t domid)
{
	static char fired[8][16];
	const char *env, *p, *q;
	char item[64], *act;
	size_t len, i;
	unsigned secs;
	pid_t pid;
	uint64_t start;

	if ((env = getenv("RELOCD_SIM_FAULT")) == NULL || *env == '\0')
		return 0;
	for (p = env; *p != '\0'; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		len = (size_t)(q - p);
		if (len >= sizeof(item))
			continue;
		memcpy(item, p, len);
		item[len] = '\0';
		if ((act = strchr(item, '=')) == NULL)
			continue;
		*act++ = '\0';
		if (strcmp(item, point) != 0)
			continue;
		for (i = 0; i < 8 && fired[i][0] != '\0'; i++)
			if (strcmp(fired[i], point) == 0)
				return 0;
		if (i < 8)
			snprintf(fired[i], sizeof(fired[i]), "%s", point);
		log_warnx("sim: fault injected at %s: %s (RELOCD_SIM_FAULT)",
		    point, act);
		if (strcmp(act, "fail") == 0)
			return xo_fail(ctx, XO_E_FAIL, "injected fault at %s "
			    "(RELOCD_SIM_FAULT)", point);
		if (strncmp(act, "hang", 4) == 0) {
			secs = act[4] == ':' ? (unsigned)atoi(act + 5) : 60;
			sleep(secs > 3600 ? 3600 : secs);
			return 0;
		}
		if (strcmp(act, "crash") == 0 && domid != 0 &&
		    sim_pid_read(ctx->priv, domid, &pid, &start) == 0 &&
		    pid > 1)
			sim_pid_kill(ctx, pid, start);
		return 0;
	}
	return 0;
}

static int
sim_rename(struct xo_ctx *ctx, uint32_t domid, const char *old_name,
    const char *new_name)
{
	struct sim_host *h = ctx->priv;
	struct json_object *cfg = NULL, *ci;
	struct sim_dom *doms = NULL;
	char from[PATH_MAX], to[PATH_MAX], aside[PATH_MAX];
	const char *cur;
	size_t n = 0, i;
	int lockfd = -1, rc;

	if ((rc = sim_fault(ctx, "rename", domid)) != 0)
		return rc;

	if (!sim_name_ok(new_name))
		return xo_fail(ctx, XO_E_FAIL, "invalid domain name '%.80s'",
		    new_name);
	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0)
		goto out;
	if (!json_object_object_get_ex(cfg, "c_info", &ci) ||
	    (cur = json_object_get_string(json_object_object_get(ci,
	    "name"))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: config has no name",
		    domid);
		goto out;
	}
	if (strcmp(cur, old_name) != 0) {
		rc = xo_fail(ctx, XO_E_RENAMED, "domain %u is named '%s', "
		    "not '%s'", domid, cur, old_name);
		goto out;
	}
	if (strcmp(old_name, new_name) == 0) {
		rc = 0;
		goto out;
	}
	if ((rc = sim_table_scan(ctx, &doms, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (doms[i].domid != domid &&
		    strcmp(doms[i].cfg.name, new_name) == 0) {
			rc = xo_fail(ctx, XO_E_EXISTS, "a domain named '%s' "
			    "already exists (domid %u)", new_name,
			    doms[i].domid);
			goto out;
		}
	}
	json_object_object_add(ci, "name", json_object_new_string(new_name));
	if ((rc = sim_cfg_store(ctx, domid, cfg)) != 0)
		goto out;

	/* The log follows its domain; the guest's O_APPEND fd follows the
	 * file.  A stale log under the new name is kept aside. */
	if ((rc = sim_path(ctx, from, sizeof(from), "%s/%s.log", h->condir,
	    old_name)) != 0 ||
	    (rc = sim_path(ctx, to, sizeof(to), "%s/%s.log", h->condir,
	    new_name)) != 0 ||
	    (rc = sim_path(ctx, aside, sizeof(aside), "%s/%s.log.old",
	    h->condir, new_name)) != 0)
		goto out;
	if (access(from, F_OK) == 0) {
		if (rename(to, aside) == -1 && errno != ENOENT)
			log_warn("sim: rename %s", to);
		if (rename(from, to) == -1)
			log_warn("sim: rename %s", from);
	}
	rc = 0;
out:
	sim_unlock(lockfd);
	free(doms);
	json_object_put(cfg);
	return rc;
}

static int
sim_destroy(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_host *h = ctx->priv;
	char dir[PATH_MAX];
	struct stat st;
	uint64_t start;
	pid_t pid;
	int lockfd = -1, rc;

	if ((rc = sim_fault(ctx, "destroy", domid)) != 0)
		return rc;

	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		goto out;
	if (stat(dir, &st) == -1) {
		rc = xo_fail(ctx, XO_E_NOTFOUND, "domain %u does not exist",
		    domid);
		goto out;
	}
	if (sim_pid_read(h, domid, &pid, &start) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: pid file: %s", domid,
		    strerror(errno));
		goto out;
	}
	if (pid != 0 && (rc = sim_pid_kill(ctx, pid, start)) != 0)
		goto out;
	sim_dom_remove(h, domid);
	rc = 0;
out:
	sim_unlock(lockfd);
	return rc;
}

static int
sim_pause(struct xo_ctx *ctx, uint32_t domid)
{
	enum xo_state st;
	int rc;

	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	switch (st) {
	case XO_PAUSED:
		return 0;
	case XO_RUNNING:
		return sim_guest_cmd(ctx, domid, "pause", "ok paused", NULL, 0);
	default:
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot "
		    "be paused", domid, xo_state_name(st));
	}
}

static int
sim_unpause(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_shared sh;
	enum xo_state st;
	int rc;

	if ((rc = sim_fault(ctx, "unpause", domid)) != 0)
		return rc;

	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	switch (st) {
	case XO_RUNNING:
		return 0;
	case XO_PAUSED:
		if (sim_shared_read(ctx->priv, domid, &sh) == 0 &&
		    sh.state == SIM_ST_NEW)
			return xo_fail(ctx, XO_E_STATE, "domain %u is still "
			    "being restored", domid);
		return sim_guest_cmd(ctx, domid, "unpause", "ok running",
		    NULL, 0);
	case XO_SUSPENDED:
		return xo_fail(ctx, XO_E_STATE, "domain %u is suspended: "
		    "resume it, unpause cannot", domid);
	default:
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot "
		    "be unpaused", domid, xo_state_name(st));
	}
}

/* suspend_cancel: back to running where it stopped; the guest checks its
 * memory, as a resumed Xen guest would find out the hard way. */
static int
sim_resume(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_shared sh;
	enum xo_state st;
	int rc;

	if ((rc = sim_fault(ctx, "resume", domid)) != 0)
		return rc;

	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	switch (st) {
	case XO_RUNNING:
	case XO_PAUSED:
	case XO_SUSPENDED:
		if (sim_shared_read(ctx->priv, domid, &sh) == 0 &&
		    sh.state == SIM_ST_NEW)
			return xo_fail(ctx, XO_E_STATE, "domain %u is still "
			    "being restored", domid);
		return sim_guest_cmd(ctx, domid, "resume", "ok running",
		    NULL, 0);
	default:
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot "
		    "be resumed", domid, xo_state_name(st));
	}
}

/* -- the stream --------------------------------------------------------- */

static void
sim_progress(struct sim_xfer *x, int force)
{
	uint64_t bytes = x->ioc->nwritten + x->ioc->nread - x->bytes0;

	x->prog.bytes = bytes;
	if (!force && bytes < x->next_report)
		return;
	x->next_report = bytes + SIM_PROGRESS_BYTES;
	if (x->fn != NULL)
		x->fn(&x->prog, x->arg);
}

static int
sim_xfer_init(struct sim_xfer *x, struct xo_ctx *ctx, struct iochan *ioc,
    uint64_t npages, xo_progress_fn fn, void *arg)
{
	memset(x, 0, sizeof(*x));
	x->ctx = ctx;
	x->ioc = ioc;
	x->npages = npages;
	x->fn = fn;
	x->arg = arg;
	x->prog.pages_total = npages;
	x->bytes0 = ioc->nwritten + ioc->nread;
	x->next_report = SIM_PROGRESS_BYTES;
	x->memfd = -1;
	x->ext_off = x->ext_end = 0;
	x->buf = malloc(SIM_XFER_BUF_LEN);
	x->pfn = calloc(SIM_BATCH_PAGES, sizeof(*x->pfn));
	if (x->buf == NULL || x->pfn == NULL)
		return xo_fail(ctx, XO_E_FAIL, "out of memory");
	/* Private anonymous and never written: every page is the shared
	 * zero page. */
	x->zero = mmap(NULL, (size_t)SIM_BATCH_PAGES << SIM_PAGE_SHIFT,
	    PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->zero == MAP_FAILED) {
		x->zero = NULL;
		return xo_fail(ctx, XO_E_FAIL, "mmap: %s", strerror(errno));
	}
	return 0;
}

static void
sim_xfer_dispose(struct sim_xfer *x)
{
	free(x->buf);
	free(x->pfn);
	if (x->zero != NULL)
		munmap((void *)x->zero, (size_t)SIM_BATCH_PAGES <<
		    SIM_PAGE_SHIFT);
	x->buf = NULL;
	x->pfn = NULL;
	x->zero = NULL;
}

static int
sim_send(struct sim_xfer *x, const void *p, size_t len)
{
	if (ioc_write_full(x->ioc, p, len) == -1)
		return xo_fail(x->ctx, XO_E_IO, "writing the stream: %s",
		    x->ioc->err);
	return 0;
}

/*
 * The hole or data extent of guest memory at off.  Remembered for the
 * rest of the pass: data never turns back into a hole, and a hole written
 * since it was looked up was written after log-dirty was (re)armed for
 * this pass, so its dirty bit sends it again, as for any page that
 * changes under the copy.
 */
static void
sim_extent(struct sim_xfer *x, uint64_t off)
{
	uint64_t memlen = x->npages << SIM_PAGE_SHIFT;
	off_t r;

	if (off >= x->ext_off && off < x->ext_end)
		return;
	x->ext_off = off;
	x->ext_end = memlen;
	x->ext_hole = 0;
	if ((r = lseek(x->memfd, off, SEEK_DATA)) == -1) {
		/* ENXIO: nothing but hole up to the end. */
		x->ext_hole = errno == ENXIO;
		return;
	}
	if ((uint64_t)r > off) {
		x->ext_hole = 1;
		x->ext_end = r;
		return;
	}
	if ((r = lseek(x->memfd, off, SEEK_HOLE)) != -1 &&
	    (uint64_t)r < memlen)
		x->ext_end = r;
}

/*
 * Bytes [off, end) of guest memory, in a few big writes.  In a full pass,
 * pages the guest never wrote (holes of its memfd) go from a zero mapping
 * rather than from guest memory, where merely reading them would
 * allocate them at the source.  The stream is the same either way.
 * -1: too many pieces, gather instead.
 */
static int
sim_send_range(struct sim_xfer *x, uint64_t off, uint64_t end)
{
	struct {
		uint64_t	off, len;
		int		hole;
	} seg[SIM_MAX_SEGS];
	int n = 0, i, rc;

	if (!x->full_pass)
		return sim_send(x, x->mem + off, end - off);
	while (off < end) {
		if (n == SIM_MAX_SEGS)
			return -1;
		sim_extent(x, off);
		seg[n].off = off;
		seg[n].len = (x->ext_end < end ? x->ext_end : end) - off;
		seg[n].hole = x->ext_hole;
		off += seg[n++].len;
	}
	for (i = 0; i < n; i++) {
		if ((rc = sim_send(x, seg[i].hole ? x->zero : x->mem +
		    seg[i].off, seg[i].len)) != 0)
			return rc;
	}
	return 0;
}

/*
 * One PAGE_DATA record.  A contiguous batch (all of round 1) goes from
 * guest memory in a few big writes; a scattered one is gathered first,
 * since a write per page would mean a TLS record per page.
 */
static int
sim_send_flush(struct sim_xfer *x)
{
	uint8_t *b = x->buf;
	size_t hlen, i;
	int contiguous = 1, rc;

	if (x->count == 0)
		return 0;
	*(uint32_t *)b = htobe32(SIM_REC_PAGE_DATA);
	*(uint32_t *)(b + 4) = htobe32(SIM_PAGE_DATA_LEN(x->count));
	*(uint32_t *)(b + 8) = htobe32(x->count);
	*(uint32_t *)(b + 12) = 0;
	for (i = 0; i < x->count; i++) {
		*(uint64_t *)(b + 16 + i * 8) = htobe64(x->pfn[i]);
		if (x->pfn[i] != x->pfn[0] + i)
			contiguous = 0;
	}
	hlen = 16 + x->count * 8;
	if (contiguous && (rc = sim_send(x, b, hlen)) != 0)
		return rc;
	if (contiguous) {
		rc = sim_send_range(x, x->pfn[0] << SIM_PAGE_SHIFT,
		    (x->pfn[0] + x->count) << SIM_PAGE_SHIFT);
		if (rc == -1)	/* fragmented: gather, header already sent */
			rc = sim_send(x, x->mem + (x->pfn[0] << SIM_PAGE_SHIFT),
			    (size_t)x->count << SIM_PAGE_SHIFT);
		if (rc != 0)
			return rc;
	} else {
		/* The header, then the pages in gathered pieces: the first
		 * piece rides with the header. */
		size_t off = hlen, n, k;

		for (i = 0; i < x->count; i += n) {
			n = x->count - i < SIM_PIECE_PAGES ? x->count - i :
			    SIM_PIECE_PAGES;
			for (k = 0; k < n; k++)
				memcpy(b + off + (k << SIM_PAGE_SHIFT),
				    x->mem + (x->pfn[i + k] << SIM_PAGE_SHIFT),
				    SIM_PAGE_SIZE);
			if ((rc = sim_send(x, b, off + (n << SIM_PAGE_SHIFT)))
			    != 0)
				return rc;
			/* Later pieces reuse the buffer from its start. */
			off = 0;
		}
	}
	x->prog.pages_sent += x->count;
	x->count = 0;
	sim_progress(x, 0);
	return 0;
}

static int
sim_send_page(struct sim_xfer *x, uint64_t pfn)
{
	x->pfn[x->count++] = pfn;
	if (x->count == SIM_BATCH_PAGES)
		return sim_send_flush(x);
	return 0;
}

static int
sim_send_round_end(struct sim_xfer *x, uint32_t round, uint64_t remaining)
{
	uint8_t b[SIM_REC_HDR_LEN + SIM_ROUND_END_LEN];
	int rc;

	if ((rc = sim_send_flush(x)) != 0)
		return rc;
	*(uint32_t *)b = htobe32(SIM_REC_ROUND_END);
	*(uint32_t *)(b + 4) = htobe32(SIM_ROUND_END_LEN);
	*(uint32_t *)(b + 8) = htobe32(round);
	*(uint32_t *)(b + 12) = 0;
	*(uint64_t *)(b + 16) = htobe64(remaining);
	if ((rc = sim_send(x, b, sizeof(b))) != 0)
		return rc;
	x->prog.pages_dirty = remaining;
	sim_progress(x, 1);
	return 0;
}

/* VCPU and END. */
static int
sim_send_tail(struct sim_xfer *x, const struct sim_vcpu *v)
{
	uint8_t b[2 * SIM_REC_HDR_LEN + SIM_VCPU_LEN];

	*(uint32_t *)b = htobe32(SIM_REC_VCPU);
	*(uint32_t *)(b + 4) = htobe32(SIM_VCPU_LEN);
	*(uint64_t *)(b + 8) = htobe64(v->ticks);
	*(uint64_t *)(b + 16) = htobe64(v->tick_phase_us);
	*(uint64_t *)(b + 24) = htobe64(v->prng);
	*(uint64_t *)(b + 32) = 0;
	*(uint32_t *)(b + 40) = htobe32(SIM_REC_END);
	*(uint32_t *)(b + 44) = 0;
	return sim_send(x, b, sizeof(b));
}

static int
sim_send_bitmap(struct sim_xfer *x, const uint64_t *snap)
{
	size_t i, nwords = (x->npages + 63) / 64;
	uint64_t w;
	int rc;

	for (i = 0; i < nwords; i++) {
		for (w = snap[i]; w != 0; w &= w - 1) {
			if ((rc = sim_send_page(x, i * 64 +
			    __builtin_ctzll(w))) != 0)
				return rc;
		}
	}
	return sim_send_flush(x);
}

/* Take and clear the dirty set: a page written after its word was taken
 * sets its bit again and goes in the next round. */
static void
sim_dirty_take(uint64_t *bm, uint64_t *snap, size_t nwords)
{
	size_t i;

	for (i = 0; i < nwords; i++)
		snap[i] = __atomic_exchange_n(&bm[i], 0, __ATOMIC_ACQ_REL);
}

static uint64_t
sim_dirty_count(uint64_t *bm, size_t nwords)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < nwords; i++)
		n += __builtin_popcountll(__atomic_load_n(&bm[i],
		    __ATOMIC_RELAXED));
	return n;
}

/*
 * Live: pre-copy as libxc does (round 1 sends everything with log-dirty
 * on, then the dirty set until it is small or the round limit is hit),
 * then suspend and send what is left.  Offline: suspend, then one pass.
 */
static int
sim_suspend_to(struct xo_ctx *ctx, uint32_t domid, struct iochan *ioc,
    int flags, xo_progress_fn fn, void *arg)
{
	struct sim_host *h = ctx->priv;
	struct json_object *cfg = NULL;
	struct sim_domcfg dc;
	struct sim_shared sh;
	struct sim_xfer x;
	enum xo_state st;
	struct stat mst, bst;
	uint8_t hdr[SIM_STREAM_HDR_LEN];
	uint64_t *bm = MAP_FAILED, *snap = NULL, pfn, dirty;
	void *mem = MAP_FAILED;
	size_t memlen = 0, bmlen = 0, nwords;
	uint32_t round;
	int memfd = -1, bmfd = -1, fds[2], rc;

	if ((rc = sim_fault(ctx, "suspend", domid)) != 0)
		return rc;

	memset(&x, 0, sizeof(x));
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0 ||
	    (rc = sim_cfg_parse(ctx, cfg, &dc)) != 0 ||
	    (rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		goto out;
	if (st != XO_RUNNING && st != XO_PAUSED) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot be "
		    "saved", domid, xo_state_name(st));
		goto out;
	}
	if (sim_shared_read(h, domid, &sh) == 0 && sh.state == SIM_ST_NEW) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u is still being "
		    "restored", domid);
		goto out;
	}
	memlen = dc.nr_pages << SIM_PAGE_SHIFT;
	nwords = (dc.nr_pages + 63) / 64;
	bmlen = nwords * 8;
	if ((rc = sim_guest_cmd(ctx, domid, "memfds", "ok memfds", fds,
	    2)) != 0)
		goto out;
	memfd = fds[0];
	bmfd = fds[1];
	/* Sealed at creation, but check: a short map would fault. */
	if (fstat(memfd, &mst) == -1 || (uint64_t)mst.st_size != memlen ||
	    fstat(bmfd, &bst) == -1 || (uint64_t)bst.st_size != bmlen) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest's memory "
		    "is not %" PRIu64 " pages", domid, dc.nr_pages);
		goto out;
	}
	mem = mmap(NULL, memlen, PROT_READ, MAP_SHARED, memfd, 0);
	bm = mmap(NULL, bmlen, PROT_READ | PROT_WRITE, MAP_SHARED, bmfd, 0);
	if (mem == MAP_FAILED || bm == MAP_FAILED) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: mmap: %s", domid,
		    strerror(errno));
		goto out;
	}
	if ((snap = calloc(nwords, sizeof(*snap))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	if ((rc = sim_xfer_init(&x, ctx, ioc, dc.nr_pages, fn, arg)) != 0)
		goto out;
	x.mem = mem;
	x.memfd = memfd;

	*(uint64_t *)hdr = htobe64(SIM_STREAM_IDENT);
	*(uint32_t *)(hdr + 8) = htobe32(SIM_STREAM_VERSION);
	*(uint32_t *)(hdr + 12) = htobe32(SIM_PAGE_SIZE);
	*(uint64_t *)(hdr + 16) = htobe64(dc.nr_pages);
	if ((rc = sim_send(&x, hdr, sizeof(hdr))) != 0)
		goto out;

	round = 1;
	x.prog.round = round;
	if (!(flags & XO_SUSPEND_LIVE)) {
		if ((rc = sim_guest_cmd(ctx, domid, "suspend",
		    "ok suspended", NULL, 0)) != 0)
			goto out;
		x.prog.paused = 1;
		x.prog.paused_at_us = clock_mono_us();
		if (sim_shared_read(h, domid, &sh) == 0)
			x.prog.paused_at_us = sh.stopped_at_us;
		x.full_pass = 1;
		for (pfn = 0; pfn < dc.nr_pages; pfn++)
			if ((rc = sim_send_page(&x, pfn)) != 0)
				goto out;
		if ((rc = sim_send_round_end(&x, round, 0)) != 0)
			goto out;
	} else {
		/* Enabling log-dirty: only writes from now on count. */
		sim_dirty_take(bm, snap, nwords);
		x.full_pass = 1;
		for (pfn = 0; pfn < dc.nr_pages; pfn++)
			if ((rc = sim_send_page(&x, pfn)) != 0)
				goto out;
		if ((rc = sim_send_flush(&x)) != 0)
			goto out;
		x.full_pass = 0;
		dirty = sim_dirty_count(bm, nwords);
		if ((rc = sim_send_round_end(&x, round, dirty)) != 0)
			goto out;
		/* Xen 4.17's simple_precopy_policy. */
		while (dirty >= SIM_PRECOPY_TARGET &&
		    round < SIM_PRECOPY_MAX_ROUNDS) {
			x.prog.round = ++round;
			x.prog.pages_sent = 0;
			sim_dirty_take(bm, snap, nwords);
			if ((rc = sim_send_bitmap(&x, snap)) != 0)
				goto out;
			dirty = sim_dirty_count(bm, nwords);
			if ((rc = sim_send_round_end(&x, round, dirty)) != 0)
				goto out;
		}
		if ((rc = sim_guest_cmd(ctx, domid, "suspend",
		    "ok suspended", NULL, 0)) != 0)
			goto out;
		x.prog.paused = 1;
		x.prog.paused_at_us = clock_mono_us();
		if (sim_shared_read(h, domid, &sh) == 0)
			x.prog.paused_at_us = sh.stopped_at_us;
		x.prog.round = ++round;
		x.prog.pages_sent = 0;
		sim_dirty_take(bm, snap, nwords);
		if ((rc = sim_send_bitmap(&x, snap)) != 0 ||
		    (rc = sim_send_round_end(&x, round, 0)) != 0)
			goto out;
	}
	if (sim_shared_read(h, domid, &sh) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: reading the vCPU "
		    "state: %s", domid, strerror(errno));
		goto out;
	}
	if ((rc = sim_send_tail(&x, &sh.vcpu)) != 0)
		goto out;
	sim_progress(&x, 1);
	rc = 0;
out:
	sim_xfer_dispose(&x);
	free(snap);
	if (mem != MAP_FAILED && rc == 0 && h->saved_mem == NULL) {
		h->saved_mem = mem;
		h->saved_len = memlen;
	} else if (mem != MAP_FAILED)
		munmap(mem, memlen);
	if (bm != MAP_FAILED)
		munmap(bm, bmlen);
	if (memfd != -1)
		close(memfd);
	if (bmfd != -1)
		close(bmfd);
	json_object_put(cfg);
	return rc;
}

static int
sim_recv(struct sim_xfer *x, void *p, size_t len, const char *what)
{
	if (ioc_read_full(x->ioc, p, len) == -1)
		return xo_fail(x->ctx, XO_E_IO, "stream truncated or broken "
		    "reading %s at byte %" PRIu64 ": %s", what,
		    x->ioc->nread - x->bytes0, x->ioc->err);
	return 0;
}

/*
 * The body of a PAGE_DATA record of count pages, pfns checked before a
 * byte lands in memory.  Runs of consecutive pages are read into a small
 * buffer and pwritten into the guest's memfd.  Not through a mapping: a
 * write fault per page allocated, zeroed and mapped every page (that was
 * most of the receiver's CPU), and unmapping guest memory again sat on
 * the downtime path; a whole-page pwrite allocates without zeroing and
 * leaves relocd's RSS its own.
 */
static int
sim_recv_pages(struct sim_xfer *x, uint32_t count)
{
	uint8_t *b = x->buf;
	size_t i, run, len, done;
	ssize_t n;
	int rc;

	if ((rc = sim_recv(x, b, (size_t)count * 8, "PAGE_DATA pfns")) != 0)
		return rc;
	for (i = 0; i < count; i++) {
		x->pfn[i] = be64toh(*(uint64_t *)(b + i * 8));
		if (x->pfn[i] >= x->npages)
			return xo_fail(x->ctx, XO_E_BADSTREAM, "PAGE_DATA: pfn "
			    "%#" PRIx64 " is beyond the domain's %" PRIu64
			    " pages", x->pfn[i], x->npages);
	}
	for (i = 0; i < count; i += run) {
		for (run = 1; i + run < count && run < SIM_PIECE_PAGES &&
		    x->pfn[i + run] == x->pfn[i] + run; run++)
			;
		len = run << SIM_PAGE_SHIFT;
		if ((rc = sim_recv(x, b, len, "PAGE_DATA pages")) != 0)
			return rc;
		if (++x->store_runs == x->store_fail_at)
			return xo_fail(x->ctx, XO_E_FAIL, "writing guest memory "
			    "(pfn %#" PRIx64 "): %s", x->pfn[i], strerror(EIO));
		for (done = 0; done < len; done += n) {
			n = pwrite(x->memfd, b + done, len - done,
			    (off_t)((x->pfn[i] << SIM_PAGE_SHIFT) + done));
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n <= 0)
				return xo_fail(x->ctx, XO_E_FAIL, "writing "
				    "guest memory (pfn %#" PRIx64 "): %s",
				    x->pfn[i], n == 0 ? "no progress" :
				    strerror(errno));
		}
	}
	return 0;
}

/*
 * Read and check a whole stream into guest memory.  Nothing in it is
 * trusted: every length is checked against its type before it is read,
 * and the total against a bound from the config's memory (a sender may
 * send each page at most once per round, and there are at most
 * SIM_PRECOPY_MAX_ROUNDS + 1 rounds), so a hostile peer can neither write
 * outside memory nor keep us reading forever.
 */
static int
sim_recv_stream(struct sim_xfer *x, const struct sim_domcfg *dc,
    struct sim_vcpu *vcpu)
{
	uint8_t hdr[SIM_STREAM_HDR_LEN], rh[SIM_REC_HDR_LEN], body[32];
	uint64_t bound, total, v;
	uint32_t type, len, count, round = 0;
	int have_vcpu = 0, rc;

	if ((rc = sim_recv(x, hdr, sizeof(hdr), "the stream header")) != 0)
		return rc;
	if (be64toh(*(uint64_t *)hdr) != SIM_STREAM_IDENT)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "not a sim stream "
		    "(ident %#" PRIx64 ")", be64toh(*(uint64_t *)hdr));
	if ((v = be32toh(*(uint32_t *)(hdr + 8))) != SIM_STREAM_VERSION)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "sim stream version %"
		    PRIu64 " is not supported (only %d)", v,
		    SIM_STREAM_VERSION);
	if ((v = be32toh(*(uint32_t *)(hdr + 12))) != SIM_PAGE_SIZE)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "stream page size %"
		    PRIu64 " is not %d", v, SIM_PAGE_SIZE);
	if ((v = be64toh(*(uint64_t *)(hdr + 16))) != dc->nr_pages)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "the stream has %"
		    PRIu64 " pages, the config says %" PRIu64 " (%" PRIu64
		    " MiB)", v, dc->nr_pages, dc->memory_kb / 1024);

	bound = (SIM_PRECOPY_MAX_ROUNDS + 2) * dc->nr_pages *
	    (SIM_PAGE_SIZE + 8) + SIM_STREAM_SLACK;
	total = sizeof(hdr);
	x->prog.round = 1;
	for (;;) {
		if ((rc = sim_recv(x, rh, sizeof(rh), "a record header")) != 0)
			return rc;
		type = be32toh(*(uint32_t *)rh);
		len = be32toh(*(uint32_t *)(rh + 4));
		total += sizeof(rh) + len + ((8 - len % 8) % 8);
		if (total > bound)
			return xo_fail(x->ctx, XO_E_BADSTREAM, "stream exceeds "
			    "%" PRIu64 " bytes for a %" PRIu64 " MiB domain",
			    bound, dc->memory_kb / 1024);
		if (have_vcpu && type != SIM_REC_END)
			return xo_fail(x->ctx, XO_E_BADSTREAM, "record type %"
			    PRIu32 " after VCPU (only END may follow)", type);
		switch (type) {
		case SIM_REC_PAGE_DATA:
			if (len < 8)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "PAGE_DATA of %" PRIu32 " bytes", len);
			if ((rc = sim_recv(x, body, 8, "PAGE_DATA")) != 0)
				return rc;
			count = be32toh(*(uint32_t *)body);
			if (count == 0 || count > SIM_BATCH_PAGES ||
			    *(uint32_t *)(body + 4) != 0)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "PAGE_DATA: bad page count %" PRIu32
				    " (1..%d)", count, SIM_BATCH_PAGES);
			if (len != SIM_PAGE_DATA_LEN(count))
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "PAGE_DATA: %" PRIu32 " pages in a body "
				    "of %" PRIu32 " bytes", count, len);
			if ((rc = sim_recv_pages(x, count)) != 0)
				return rc;
			x->prog.pages_sent += count;
			sim_progress(x, 0);
			break;
		case SIM_REC_ROUND_END:
			if (len != SIM_ROUND_END_LEN)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "ROUND_END of %" PRIu32 " bytes", len);
			if ((rc = sim_recv(x, body, len, "ROUND_END")) != 0)
				return rc;
			if (be32toh(*(uint32_t *)body) != round + 1 ||
			    round + 1 > SIM_PRECOPY_MAX_ROUNDS + 1)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "ROUND_END %" PRIu32 " after round %"
				    PRIu32 " (at most %d rounds)",
				    be32toh(*(uint32_t *)body), round,
				    SIM_PRECOPY_MAX_ROUNDS + 1);
			round++;
			x->prog.pages_dirty = be64toh(*(uint64_t *)(body + 8));
			sim_progress(x, 1);
			x->prog.round = round + 1;
			x->prog.pages_sent = 0;
			break;
		case SIM_REC_VCPU:
			if (len != SIM_VCPU_LEN)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "VCPU of %" PRIu32 " bytes", len);
			if ((rc = sim_recv(x, body, len, "VCPU")) != 0)
				return rc;
			vcpu->ticks = be64toh(*(uint64_t *)body);
			vcpu->tick_phase_us = be64toh(*(uint64_t *)(body + 8));
			vcpu->prng = be64toh(*(uint64_t *)(body + 16));
			vcpu->reserved = be64toh(*(uint64_t *)(body + 24));
			if (vcpu->reserved != 0)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "VCPU: reserved field is not zero");
			have_vcpu = 1;
			break;
		case SIM_REC_END:
			if (len != 0)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "END of %" PRIu32 " bytes", len);
			if (!have_vcpu)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "END before the VCPU record");
			x->prog.round = round;
			x->prog.paused = 1;
			sim_progress(x, 1);
			return 0;
		default:
			return xo_fail(x->ctx, XO_E_BADSTREAM, "unknown record "
			    "type %" PRIu32 " (%" PRIu32 " bytes)", type, len);
		}
	}
}

/*
 * The domain is reserved (its config written) before the first stream
 * byte is read, so name, uuid and memory are checked once, atomically,
 * and a concurrent create cannot take them meanwhile.  The guest starts
 * only once the whole stream is in.
 */
static int
sim_restore_from(struct xo_ctx *ctx, struct json_object *cfg,
    struct iochan *ioc, uint32_t *domid_r, xo_progress_fn fn, void *arg)
{
	struct sim_host *h = ctx->priv;
	struct sim_domcfg dc;
	struct sim_vcpu vcpu;
	struct sim_xfer x;
	char path[PATH_MAX];
	struct stat st;
	size_t memlen = 0;
	uint32_t domid = 0;
	int lockfd = -1, memfd = -1, dirtyfd = -1, made = 0, log_created = 0;
	int rc;
	pid_t pid;
	uint64_t start;

	if ((rc = sim_fault(ctx, "restore", 0)) != 0)
		return rc;

	memset(&x, 0, sizeof(x));
	memset(&vcpu, 0, sizeof(vcpu));
	if ((rc = sim_cfg_parse(ctx, cfg, &dc)) != 0)
		goto out;
	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_table_admit(ctx, &dc)) != 0 ||
	    (rc = sim_domid_alloc(ctx, &domid)) != 0)
		goto out;
	made = 1;
	if ((rc = sim_dom_files(ctx, domid, &dc)) != 0 ||
	    (rc = sim_cfg_store(ctx, domid, cfg)) != 0)
		goto out;
	sim_unlock(lockfd);
	lockfd = -1;

	memlen = dc.nr_pages << SIM_PAGE_SHIFT;
	if ((rc = sim_memfd(ctx, domid, "memory", memlen, &memfd)) != 0 ||
	    (rc = sim_memfd(ctx, domid, "dirty", (dc.nr_pages + 63) / 64 * 8,
	    &dirtyfd)) != 0)
		goto out;
	if ((rc = sim_xfer_init(&x, ctx, ioc, dc.nr_pages, fn, arg)) != 0)
		goto out;
	x.memfd = memfd;
	/* Mid-stream, a few MiB in, as a failing memory store would. */
	if (sim_fault(ctx, "store", 0) != 0)
		x.store_fail_at = 16;
	/* The rest of this session is ours and relocd's ioc reads. */
	ioc_read_ahead(ioc);
	if ((rc = sim_recv_stream(&x, &dc, &vcpu)) != 0)
		goto out;

	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%u/config.json",
	    h->domdir, domid)) != 0)
		goto out;
	if (stat(path, &st) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u was destroyed while "
		    "it was being restored", domid);
		made = 0;
		goto out;
	}
	if ((rc = sim_guest_start(ctx, domid, &dc, 1, &vcpu, memfd, dirtyfd,
	    &log_created)) != 0)
		goto out;
	*domid_r = domid;
	rc = 0;
out:
	if (rc != 0 && made) {
		char keep[sizeof(ctx->err)];

		memcpy(keep, ctx->err, sizeof(keep));
		if (lockfd == -1 && sim_lock(ctx, &lockfd) != 0)
			lockfd = -1;
		if (sim_pid_read(h, domid, &pid, &start) == 0 && pid != 0)
			(void)sim_pid_kill(ctx, pid, start);
		sim_dom_remove(h, domid);
		memcpy(ctx->err, keep, sizeof(keep));
	}
	sim_unlock(lockfd);
	sim_xfer_dispose(&x);
	if (memfd != -1)
		close(memfd);
	if (dirtyfd != -1)
		close(dirtyfd);
	return rc;
}
