/*
 * The dispatcher: xo_* calls go to the configured backend's table.
 *
 * The sim backend is linked in.  The libxl backend is a module,
 * relocd-libxl.so, loaded by xo_open and unloaded by xo_close: libxenlight
 * pulls in some fifteen Xen and compression libraries, about 1 MB of
 * resident memory in every relocd process, which a host running the sim
 * backend never uses and a libxl host needs only in the workers that talk
 * to Xen (the parent opens the backend once, to check it, and closes it).
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "xenops_impl.h"

#ifdef HAVE_LIBXL
#ifndef RELOCD_MODDIR
#error "RELOCD_MODDIR (the installed module directory) is set by the Makefile"
#endif
#define XO_LIBXL_FILE	"relocd-libxl.so"
#define XO_LIBXL_SYM	"xo_backend_libxl"

static int	xo_libxl_find(char *, size_t);
static const struct xo_backend *xo_libxl_load(void **, char *, size_t);

static int	xo_libxl_fd = -1;	/* the module file, see xo_libxl_load */
static char	xo_libxl_path[PATH_MAX + 64];
#endif

int
xo_fail(struct xo_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return code;
}

struct xo_ctx *
xo_open(const struct relocd_conf *conf, char *err, size_t errlen)
{
	struct xo_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (conf->backend == BACKEND_SIM)
		ctx->be = &xo_backend_sim;
	else {
#ifdef HAVE_LIBXL
		ctx->be = xo_libxl_load(&ctx->module, err, errlen);
		if (ctx->be == NULL) {
			free(ctx);
			return NULL;
		}
#else
		snprintf(err, errlen,
		    "backend \"libxl\" is not available in this build");
		free(ctx);
		return NULL;
#endif
	}
	if (ctx->be->open(ctx, conf) != 0) {
		snprintf(err, errlen, "backend \"%s\": %s", ctx->be->name,
		    ctx->err);
		if (ctx->module != NULL)
			dlclose(ctx->module);
		free(ctx);
		return NULL;
	}
	return ctx;
}

int
xo_module_fd(void)
{
#ifdef HAVE_LIBXL
	return xo_libxl_fd;
#else
	return -1;
#endif
}

void
xo_close(struct xo_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx->be->close(ctx);
	/* Unmaps libxenlight and its libraries again (none of them is
	 * NODELETE, and glibc drops their atfork handlers at dlclose). */
	if (ctx->module != NULL)
		dlclose(ctx->module);
	free(ctx);
}

#ifdef HAVE_LIBXL
/*
 * Finds the libxl module and opens it, close-on-exec, into xo_libxl_fd.
 * Looked for next to the running executable (so that build/relocd finds
 * build/relocd-libxl.so, and an image holding both in one directory
 * works), then in RELOCD_MODDIR.  Both are absolute paths that only root
 * can change on a sane install: relocd runs as root, so never a path from
 * the environment, the current directory or the dynamic linker's search
 * path.  A module that is there but cannot be opened is an error, not a
 * reason to try the next place: a broken install must not quietly run an
 * older module.
 */
static int
xo_libxl_find(char *err, size_t errlen)
{
	char dir[PATH_MAX], also[PATH_MAX + 32] = "";
	char *slash;
	ssize_t n;
	int fd;

	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n > 0 && (size_t)n < sizeof(dir) - 1) {
		dir[n] = '\0';
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			snprintf(xo_libxl_path, sizeof(xo_libxl_path), "%s/%s",
			    dir, XO_LIBXL_FILE);
			xo_libxl_fd = open(xo_libxl_path, O_RDONLY | O_CLOEXEC);
			if (xo_libxl_fd != -1 || errno != ENOENT)
				goto done;
			if (strcmp(dir, RELOCD_MODDIR) != 0)
				snprintf(also, sizeof(also),
				    " (not in %s either)", dir);
		}
	}
	snprintf(xo_libxl_path, sizeof(xo_libxl_path), "%s/%s", RELOCD_MODDIR,
	    XO_LIBXL_FILE);
	xo_libxl_fd = open(xo_libxl_path, O_RDONLY | O_CLOEXEC);
done:
	if (xo_libxl_fd == -1) {
		snprintf(err, errlen, "backend \"libxl\": cannot load %s: %s%s",
		    xo_libxl_path, strerror(errno), also);
		return -1;
	}
	/* Above stdio, which daemon() points at /dev/null. */
	if (xo_libxl_fd <= STDERR_FILENO) {
		fd = fcntl(xo_libxl_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		if (fd == -1)
			snprintf(err, errlen, "backend \"libxl\": cannot "
			    "load %s: %s", xo_libxl_path, strerror(errno));
		close(xo_libxl_fd);
		if ((xo_libxl_fd = fd) == -1)
			return -1;
	}
	return 0;
}

/*
 * Loads the libxl module and takes its table.  The file a process found
 * first stays open in xo_libxl_fd, inherited by the workers the daemon
 * forks: when an upgrade has replaced the file since the daemon started,
 * they load the one the daemon checked, through the descriptor, so that
 * one process never mixes two builds' structures.  Otherwise by its name,
 * which debuggers and sanitizer reports show.
 */
static const struct xo_backend *
xo_libxl_load(void **handle, char *err, size_t errlen)
{
	const struct xo_backend *be = NULL;
	char fdpath[32];
	const char *load, *why;
	struct stat st, pst;
	size_t len;
	void *h;
	int found = 0;

	if (xo_libxl_fd == -1) {
		if (xo_libxl_find(err, errlen) == -1)
			return NULL;
		found = 1;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", xo_libxl_fd);
	load = xo_libxl_path;
	if (stat(xo_libxl_path, &st) == -1 || fstat(xo_libxl_fd, &pst) == -1 ||
	    st.st_dev != pst.st_dev || st.st_ino != pst.st_ino)
		load = fdpath;
	if ((h = dlopen(load, RTLD_NOW | RTLD_LOCAL)) != NULL)
		be = dlsym(h, XO_LIBXL_SYM);
	if (be == NULL) {
		if ((why = dlerror()) == NULL)
			why = "no backend table";
		/* dlerror names the file it failed on: say it once. */
		len = strlen(load);
		if (strncmp(why, load, len) == 0 &&
		    strncmp(why + len, ": ", 2) == 0)
			why += len + 2;
		snprintf(err, errlen, "backend \"libxl\": cannot load %s: %s",
		    xo_libxl_path, why);
		if (h != NULL)
			dlclose(h);
		if (found) {
			close(xo_libxl_fd);
			xo_libxl_fd = -1;
		}
		return NULL;
	}
	*handle = h;
	return be;
}
#endif

const char *
xo_errmsg(const struct xo_ctx *ctx)
{
	return ctx->err;
}

const char *
xo_backend_name(const struct xo_ctx *ctx)
{
	return ctx->be->name;
}

int
xo_list(struct xo_ctx *ctx, struct xo_dominfo **doms, size_t *n)
{
	return ctx->be->list(ctx, doms, n);
}

int
xo_lookup(struct xo_ctx *ctx, const char *key, uint32_t *domid)
{
	struct xo_dominfo *doms = NULL;
	size_t n = 0, i;
	char *end;
	unsigned long id;
	int rc;

	if ((rc = xo_list(ctx, &doms, &n)) != 0)
		return rc;
	id = strtoul(key, &end, 10);
	rc = xo_fail(ctx, XO_E_NOTFOUND, "domain '%s' does not exist", key);
	for (i = 0; i < n; i++) {
		if (strcmp(doms[i].name, key) == 0 ||
		    (*key != '\0' && *end == '\0' && doms[i].domid == id)) {
			*domid = doms[i].domid;
			rc = 0;
			break;
		}
	}
	free(doms);
	return rc;
}

int
xo_info(struct xo_ctx *ctx, uint32_t domid, struct xo_dominfo *info)
{
	return ctx->be->info(ctx, domid, info);
}

int
xo_host_info(struct xo_ctx *ctx, struct xo_hostinfo *hi)
{
	memset(hi, 0, sizeof(*hi));
	return ctx->be->host_info(ctx, hi);
}

void
xo_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

char **
xo_strv_dup(char *const *v)
{
	char **d;
	size_t n, i;

	for (n = 0; v != NULL && v[n] != NULL; n++)
		;
	if ((d = calloc(n + 1, sizeof(char *))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((d[i] = strdup(v[i])) == NULL) {
			xo_strv_free(d);
			return NULL;
		}
	return d;
}

void
xo_hostinfo_dispose(struct xo_hostinfo *hi)
{
	xo_strv_free(hi->bridges);
	xo_strv_free(hi->cpu_features);
	xo_strv_free(hi->pci_free);
	hi->bridges = hi->cpu_features = hi->pci_free = NULL;
}

int
xo_config_get(struct xo_ctx *ctx, uint32_t domid, struct json_object **cfg)
{
	return ctx->be->config_get(ctx, domid, cfg);
}

int
xo_create(struct xo_ctx *ctx, struct json_object *cfg, uint32_t *domid)
{
	return ctx->be->create(ctx, cfg, domid);
}

int
xo_suspend_to(struct xo_ctx *ctx, uint32_t domid, struct iochan *ioc,
    int flags, xo_progress_fn fn, void *arg)
{
	return ctx->be->suspend_to(ctx, domid, ioc, flags, fn, arg);
}

int
xo_restore_from(struct xo_ctx *ctx, struct json_object *cfg,
    struct iochan *ioc, uint32_t *domid, xo_progress_fn fn, void *arg)
{
	return ctx->be->restore_from(ctx, cfg, ioc, domid, fn, arg);
}

int
xo_rename(struct xo_ctx *ctx, uint32_t domid, const char *old_name,
    const char *new_name)
{
	return ctx->be->rename(ctx, domid, old_name, new_name);
}

int
xo_pause(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->pause(ctx, domid);
}

int
xo_unpause(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->unpause(ctx, domid);
}

int
xo_resume(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->resume(ctx, domid);
}

int
xo_has_leases(const struct xo_ctx *ctx)
{
	return ctx->be->lease_give != NULL;
}

int
xo_lease_give(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->lease_give != NULL ? ctx->be->lease_give(ctx, domid) :
	    0;
}

int
xo_has_disk_dirty(const struct xo_ctx *ctx)
{
	return ctx->be->disk_dirty != NULL;
}

int
xo_disk_dirty(struct xo_ctx *ctx, uint32_t domid, const char *path, int *fd)
{
	*fd = -1;
	if (ctx->be->disk_dirty == NULL)
		return xo_fail(ctx, XO_E_NOTSUP, "the %s backend cannot track "
		    "the writes of a running domain to its disks",
		    ctx->be->name);
	return ctx->be->disk_dirty(ctx, domid, path, fd);
}

int
xo_adopt(struct xo_ctx *ctx)
{
	return ctx->be->adopt != NULL ? ctx->be->adopt(ctx) : 0;
}

int
xo_destroy(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->destroy(ctx, domid);
}

int
xo_console_path(struct xo_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
	return ctx->be->console_path(ctx, domid, buf, len);
}

const char *
xo_state_name(enum xo_state st)
{
	switch (st) {
	case XO_RUNNING:
		return "running";
	case XO_PAUSED:
		return "paused";
	case XO_SUSPENDED:
		return "suspended";
	case XO_SHUTDOWN:
		return "shutdown";
	case XO_CRASHED:
		return "crashed";
	case XO_DYING:
		return "dying";
	}
	return "unknown";
}
