/*
 * The sim host's state: its directories and files, the host itself (open,
 * close, host info), domain configs, and the domain table with the lock
 * that makes each change of it one atomic step.  The layout on disk is
 * described in xenops_sim.c.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "domcfg.h"
#include "log.h"
#include "sim_impl.h"

#define SIM_XEN_VERSION		"4.17.0-sim"
#define SIM_CFG_MAX		(1024 * 1024)
#define SIM_DEF_TICK_MS		1000
#define SIM_MAX_TICK_MS		3600000
#define SIM_MAX_DIRTY_RATE	10000000
/* A domain must hold its generation table and some data. */
#define SIM_MIN_MEMORY_KB	1024
/* 2^32 pages: word 0 of a page encodes the pfn in 32 bits. */
#define SIM_MAX_PAGES		(1ULL << 32)

static int	sim_mkdir(struct xo_ctx *, const char *);
static int	sim_dom_cmp(const void *, const void *);

/* -- small helpers ------------------------------------------------------ */

int
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
int
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
int
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
int
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

int
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
	if (conf->cluster_dir != NULL && *conf->cluster_dir != '\0' &&
	    (h->cluster_dir = strdup(conf->cluster_dir)) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
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
	if ((h->cpu_features = xo_strv_dup(conf->sim_cpu_features)) == NULL ||
	    (h->pci_free = xo_strv_dup(conf->sim_pci_assignable)) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
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

void
sim_close(struct xo_ctx *ctx)
{
	struct sim_host *h = ctx->priv;

	if (h == NULL)
		return;
	if (h->saved_mem != NULL)
		munmap(h->saved_mem, h->saved_len);
	free(h->root);
	free(h->domdir);
	free(h->condir);
	free(h->cluster_dir);
	xo_strv_free(h->bridges);
	xo_strv_free(h->cpu_features);
	xo_strv_free(h->pci_free);
	free(h);
	ctx->priv = NULL;
}

int
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
	if ((hi->cpu_features = xo_strv_dup(h->cpu_features)) == NULL ||
	    (hi->pci_free = xo_strv_dup(h->pci_free)) == NULL) {
		xo_hostinfo_dispose(hi);
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(doms);
	return rc;
}

/* -- domain configs ----------------------------------------------------- */

int
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
	dc->weight = 1;
	if (json_object_object_get_ex(cfg, "xmig_sim", &sim) &&
	    json_object_object_get_ex(sim, "disk_counter", &o) &&
	    json_object_get_int64(o) >= 1) {
		struct json_object *disks, *d0, *p;

		if (!json_object_object_get_ex(cfg, "disks", &disks) ||
		    !json_object_is_type(disks, json_type_array) ||
		    json_object_array_length(disks) == 0 ||
		    (d0 = json_object_array_get_idx(disks, 0)) == NULL ||
		    !json_object_object_get_ex(d0, "pdev_path", &p) ||
		    !json_object_is_type(p, json_type_string) ||
		    json_object_get_string_len(p) >= (int)sizeof(dc->disk))
			return xo_fail(ctx, XO_E_FAIL, "domain %s: "
			    "sim_disk_counter needs a disk", dc->name);
		snprintf(dc->disk, sizeof(dc->disk), "%s",
		    json_object_get_string(p));
		dc->disk_scribble = json_object_get_int64(o) == 2;
	}
	if (json_object_object_get_ex(cfg, "xmig_sim", &sim)) {
		if (json_object_object_get_ex(sim, "weight", &o) &&
		    json_object_is_type(o, json_type_int)) {
			v = json_object_get_int64(o);
			if (v < 0 || v > DOMCFG_WEIGHT_MAX)
				return xo_fail(ctx, XO_E_FAIL,
				    "domain %s: weight %" PRId64
				    " is out of range", dc->name, v);
			dc->weight = v;
		}
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

int
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

int
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

int
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
void
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
int
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
int
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
int
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
int
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
int
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
void
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
