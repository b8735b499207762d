/*
 * The libxl backend: real Xen through libxl 4.17.
 *
 * Every call is synchronous (ao_how NULL) and runs in a relocd worker, a
 * process of its own per session, so libxl's fork and SIGCHLD rules never
 * meet the daemon's event loop.  The worker reaps nothing but what it
 * forked itself, so libxl owns SIGCHLD in "selective reap" mode.
 *
 * libxl's save helper inherits the stream fd and needs a real kernel fd,
 * while the stream travels in TLS.  So libxl gets one end of a socketpair
 * and a relay thread moves the bytes between the other end and the
 * worker's iochan, in 256 KiB reads and whole-buffer TLS writes.
 *
 * After a domain arrives (restore) or is created, a monitor process of
 * its own waits for its death, as xl's "Waiting for domain to die" does,
 * and carries out on_poweroff/on_reboot/on_crash: the xl that created the
 * domain on its first host saw it suspend and gave up watching it.
 *
 * With cluster_dir, the monitor is also the domain's lease holder
 * (leaseholder.h): it lives exactly as long as the domain, outlives any
 * relocd, and answers on STATE_DIR/monitors/DOMID.sock.  The lease is
 * taken through it before the domain first runs (create, the unpause
 * after "go", a resume) and given up at the point of no return.
 *
 * This file is the module relocd-libxl.so, which xo_open() loads (see the
 * Makefile), built only when libxenlight is here (HAVE_LIBXL).  It is
 * compiled with hidden visibility: its one entry point is the table
 * xo_backend_libxl, and what it calls back in relocd (logging, the
 * iochan, the clock, xo_fail) is the list in xenops/libxl-module.dynlist.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <openssl/ssl.h>
#include <xentoollog.h>

#include "clock.h"
#include "domcfg.h"
#include "conf.h"
#include "iochan.h"
#include "leaseholder.h"
#include "log.h"
#include "xenops_impl.h"
#include "xenops_libxl.h"

#define LIBXLBE_RELAY_BUF	(256 * 1024)
#define LIBXLBE_ERRLEN		512
/* Where xenconsoled --log=guest writes guest-NAME.log (Xen's default,
 * and Debian's): named at the domain's introduction, so a domain that
 * arrives writes to guest-NAME--incoming.log until its log follows its
 * rename (libxlbe_console_log_follow). */
#define LIBXLBE_CONSOLE_LOG_DIR	"/var/log/xen/console"
/* The libxl userdata that marks a domain whose monitor relocd started:
 * kept by libxl beside the domain, gone with it (and with a reboot). */
#define LIBXLBE_MONITOR_MARK	"relocd-monitor"

/* A xentoollog logger that keeps the last error for xo_errmsg and
 * forwards everything worth reading to relocd's log. */
struct libxlbe_logger {
	struct xentoollog_logger vtable;	/* first: libxl casts */
	char	last[LIBXLBE_ERRLEN];
	uint64_t suspend_us;	/* when libxl asked the guest to suspend */
	/* While a save runs: where libxc's progress goes.  libxl calls the
	 * logger from the thread inside libxl_domain_suspend. */
	struct libxlbe_prog	*prog;
	xo_progress_fn		 prog_fn;
	void			*prog_arg;
	unsigned long long	*prog_bytes;	/* the relay's, atomic */
	int			 prog_offline;
};

struct libxlbe {
	libxl_ctx		*ctx;
	struct libxlbe_logger	 lg;
	char			*cluster_dir;	/* NULL: no leases */
	char			 mondir[PATH_MAX]; /* the monitors' sockets */
	char			 host[256];	/* for the lease's holder text */
};

/* One direction of stream copying between libxl's fd and the iochan. */
struct libxlbe_relay {
	struct iochan	*ioc;
	int		 fd;		/* our end of the socketpair */
	int		 stop[2];	/* restore: libxl has finished */
	int		 to_libxl;	/* 1: iochan -> fd; 0: fd -> iochan */
	unsigned long long limit;	/* to_libxl: most bytes accepted */
	unsigned long long bytes;
	int		 failed;
	int		 overlong;
	char		 err[256];
};

static int	libxlbe_open(struct xo_ctx *, const struct relocd_conf *);
static void	libxlbe_close(struct xo_ctx *);
static int	libxlbe_list(struct xo_ctx *, struct xo_dominfo **, size_t *);
static int	libxlbe_info(struct xo_ctx *, uint32_t, struct xo_dominfo *);
static int	libxlbe_host_info(struct xo_ctx *, struct xo_hostinfo *);
static char	**libxlbe_cpu_features(const libxl_hwcap);
static char	**libxlbe_pci_free(libxl_ctx *);
static int	libxlbe_config_get(struct xo_ctx *, uint32_t,
		    struct json_object **);
static int	libxlbe_create(struct xo_ctx *, struct json_object *,
		    uint32_t *);
static int	libxlbe_suspend_to(struct xo_ctx *, uint32_t, struct iochan *,
		    int, xo_progress_fn, void *);
static int	libxlbe_restore_from(struct xo_ctx *, struct json_object *,
		    struct iochan *, uint32_t *, xo_progress_fn, void *);
static int	libxlbe_rename(struct xo_ctx *, uint32_t, const char *,
		    const char *);
static int	libxlbe_pause(struct xo_ctx *, uint32_t);
static int	libxlbe_unpause(struct xo_ctx *, uint32_t);
static int	libxlbe_resume(struct xo_ctx *, uint32_t);
static int	libxlbe_destroy(struct xo_ctx *, uint32_t);
static int	libxlbe_console_path(struct xo_ctx *, uint32_t, char *,
		    size_t);

static void	libxlbe_log_vmessage(struct xentoollog_logger *,
		    xentoollog_level, int, const char *, const char *,
		    va_list) __attribute__((format(printf, 5, 0)));
static void	libxlbe_log_progress(struct xentoollog_logger *,
		    const char *, const char *, int, unsigned long,
		    unsigned long);
static void	libxlbe_log_destroy(struct xentoollog_logger *);
static int	libxlbe_ctx_new(struct libxlbe *, char *, size_t);
static int	libxlbe_fail(struct xo_ctx *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	libxlbe_dominfo_fill(struct libxlbe *, const libxl_dominfo *,
		    struct xo_dominfo *);
static void	*libxlbe_relay_run(void *);
static int	libxlbe_relay_start(struct libxlbe_relay *, pthread_t *);
static char	**libxlbe_bridges(void);
static void	libxlbe_monitor_spawn(struct libxlbe *, uint32_t);
static void	libxlbe_monitor_run(uint32_t, int, const char *,
		    const char *) __attribute__((noreturn));
static int	libxlbe_monitor_action(libxl_domain_config *, int);
static void	libxlbe_monitor_sock(const struct libxlbe *, uint32_t, char *,
		    size_t);
static void	libxlbe_close_fds(int);
static int	libxlbe_lease_take(struct xo_ctx *, uint32_t);
static int	libxlbe_lease_give(struct xo_ctx *, uint32_t);
static void	libxlbe_console_log_follow(const char *, const char *);
static void	libxlbe_boot_id(char *, size_t);
static void	libxlbe_monitor_mark(libxl_ctx *, uint32_t, const char *);
static int	libxlbe_monitor_marked(struct libxlbe *, uint32_t);
static void	libxlbe_mark_text(const char *, char *, size_t);
static int	libxlbe_adopt(struct xo_ctx *);

__attribute__((visibility("default")))
const struct xo_backend xo_backend_libxl = {
	.name = "libxl",
	.open = libxlbe_open,
	.close = libxlbe_close,
	.list = libxlbe_list,
	.info = libxlbe_info,
	.host_info = libxlbe_host_info,
	.config_get = libxlbe_config_get,
	.create = libxlbe_create,
	.suspend_to = libxlbe_suspend_to,
	.restore_from = libxlbe_restore_from,
	.rename = libxlbe_rename,
	.pause = libxlbe_pause,
	.unpause = libxlbe_unpause,
	.resume = libxlbe_resume,
	.destroy = libxlbe_destroy,
	.console_path = libxlbe_console_path,
	.lease_give = libxlbe_lease_give,
	.adopt = libxlbe_adopt,
};

/* The childproc hooks must outlive every ctx: static. */
static const libxl_childproc_hooks libxlbe_childproc_hooks = {
	.chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

int
libxlbe_error_map(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case ERROR_DOMAIN_NOTFOUND:
	case ERROR_NOTFOUND:
		return XO_E_NOTFOUND;
	case ERROR_NOMEM:
		return XO_E_NOMEM;
	case ERROR_DEVICE_EXISTS:
		return XO_E_EXISTS;
	case ERROR_NI:
	case ERROR_NOPARAVIRT:
	case ERROR_FEATURE_REMOVED:
		return XO_E_NOTSUP;
	case ERROR_GUEST_TIMEDOUT:
	case ERROR_DOMAIN_DESTROYED:
		return XO_E_STATE;
	default:
		return XO_E_FAIL;
	}
}

unsigned long long
libxlbe_stream_limit(unsigned long long memory_kb)
{
	/* libxc's pre-copy: at most 5 iterations plus the final round,
	 * each at most the whole memory, plus records and headers. */
	return memory_kb * 1024ULL * 8 + 64ULL * 1024 * 1024;
}

int
libxlbe_config_from_json(libxl_ctx *ctx, struct json_object *cfg,
    libxl_domain_config *dc, char *err, size_t errlen)
{
	const char *s;
	int rc;

	s = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
	if (s == NULL) {
		snprintf(err, errlen, "cannot serialise the domain config");
		return XO_E_FAIL;
	}
	if ((rc = libxl_domain_config_from_json(ctx, dc, s)) != 0) {
		snprintf(err, errlen, "libxl does not accept the domain "
		    "config: %s", libxl_error_to_string(rc));
		return XO_E_FAIL;
	}
	return 0;
}

int
libxlbe_config_to_json(libxl_ctx *ctx, libxl_domain_config *dc,
    struct json_object **out, char *err, size_t errlen)
{
	char *s = NULL;
	int rc = XO_E_FAIL;

	*out = NULL;
	if ((s = libxl_domain_config_to_json(ctx, dc)) == NULL) {
		snprintf(err, errlen, "libxl cannot write the domain config "
		    "as JSON");
		goto out;
	}
	if ((*out = json_tokener_parse(s)) == NULL ||
	    !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		snprintf(err, errlen, "libxl wrote a domain config that is "
		    "not a JSON object");
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

static void
libxlbe_log_vmessage(struct xentoollog_logger *l, xentoollog_level level,
    int errnoval, const char *context, const char *fmt, va_list ap)
{
	struct libxlbe_logger *lg = (struct libxlbe_logger *)l;
	char msg[LIBXLBE_ERRLEN];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* The only sign of the moment a live save stops the guest: libxl
	 * logs its suspend request (PV: xenstore or event channel; PVH and
	 * HVM: xc_domain_shutdown) before the last round. */
	if (lg->suspend_us == 0 && (strstr(msg, "suspend request via") !=
	    NULL || strstr(msg, "xc_domain_shutdown on HVM") != NULL))
		lg->suspend_us = clock_mono_us();
	if (errnoval >= 0) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(errnoval));
	}
	if (level >= XTL_ERROR) {
		snprintf(lg->last, sizeof(lg->last), "%s", msg);
		log_warnx("%s: %s", context ? context : "libxl", msg);
	} else if (level >= XTL_WARN)
		log_info("%s: %s", context ? context : "libxl", msg);
	else if (level >= XTL_DETAIL)
		log_debug("%s: %s", context ? context : "libxl", msg);
}

static void
libxlbe_log_progress(struct xentoollog_logger *l, const char *context,
    const char *doing_what, int percent, unsigned long done,
    unsigned long total)
{
	struct libxlbe_logger *lg = (struct libxlbe_logger *)l;

	if (done == 0)
		log_debug("%s: %s: %lu pages", context ? context : "libxl",
		    doing_what, total);
	if (lg->prog == NULL || doing_what == NULL)
		return;
	lg->prog->bytes = __atomic_load_n(lg->prog_bytes, __ATOMIC_RELAXED);
	lg->prog->paused = lg->prog_offline || lg->suspend_us != 0;
	lg->prog->paused_at_us = lg->prog_offline ? lg->prog->p.paused_at_us :
	    lg->suspend_us;
	libxlbe_progress_step(lg->prog, doing_what, done, total,
	    clock_mono_us(), lg->prog_fn, lg->prog_arg);
}

int
libxlbe_progress_round(const char *doing_what, int current)
{
	const char *s;
	char *end;
	unsigned long n;

	if ((s = strstr(doing_what, "iteration ")) != NULL) {
		n = strtoul(s + strlen("iteration "), &end, 10);
		if (end != s + strlen("iteration ") && n < 100000)
			return (int)n + 1;
		return 0;
	}
	/* Offline ("Frames"): one round. */
	if (strncmp(doing_what, "Frames", 6) == 0)
		return current > 0 ? current : 1;
	return 0;
}

void
libxlbe_progress_step(struct libxlbe_prog *s, const char *doing_what,
    unsigned long done, unsigned long total, uint64_t now,
    xo_progress_fn fn, void *arg)
{
	struct xo_progress *p = &s->p;
	uint64_t sent;
	int round;

	if ((round = libxlbe_progress_round(doing_what, p->round)) == 0 ||
	    total == 0 || done > total)
		return;
	if (round != p->round) {
		if (p->round > 0) {
			/* The round that ends: all sent, and it left
			 * dirty what this one sends. */
			p->pages_sent = p->round == 1 ? p->pages_total :
			    p->pages_dirty;
			p->pages_dirty = total;
			if (fn != NULL)
				fn(p, arg);
		}
		p->round = round;
		if (p->pages_total == 0)
			p->pages_total = total;
	} else if (done < total && now - s->last_us < LIBXLBE_PROGRESS_US)
		return;
	p->bytes = s->bytes;
	p->paused = s->paused;
	if (s->paused && p->paused_at_us == 0)
		p->paused_at_us = s->paused_at_us;
	if (round == 1 && done == total)
		p->pages_sent = p->pages_total;
	else if (round == 1) {
		sent = (uint64_t)((double)done / total * p->pages_total);
		if (s->bytes / 4096 > sent)
			sent = s->bytes / 4096;
		p->pages_sent = sent < p->pages_total ? sent : p->pages_total;
	} else
		p->pages_sent = done;
	s->last_us = now;
	if (fn != NULL)
		fn(p, arg);
}

void
libxlbe_progress_end(struct libxlbe_prog *s)
{
	if (s->p.round == 0)
		s->p.round = 1;
	s->p.pages_sent = s->p.round == 1 ? s->p.pages_total :
	    s->p.pages_dirty;
}

static void
libxlbe_log_destroy(struct xentoollog_logger *l)
{
}

static int
libxlbe_ctx_new(struct libxlbe *lb, char *err, size_t errlen)
{
	int rc;

	lb->lg.vtable.vmessage = libxlbe_log_vmessage;
	lb->lg.vtable.progress = libxlbe_log_progress;
	lb->lg.vtable.destroy = libxlbe_log_destroy;
	rc = libxl_ctx_alloc(&lb->ctx, LIBXL_VERSION, 0,
	    (xentoollog_logger *)&lb->lg);
	if (rc != 0) {
		lb->ctx = NULL;
		snprintf(err, errlen, "cannot talk to Xen (libxl_ctx_alloc: "
		    "%s%s%s); is this a Xen dom0 with xenstored running?",
		    libxl_error_to_string(rc), *lb->lg.last ? ": " : "",
		    lb->lg.last);
		return -1;
	}
	libxl_childproc_setmode(lb->ctx, &libxlbe_childproc_hooks, NULL);
	return 0;
}

/* The reason of a failed libxl call: what libxl logged, else its code. */
static int
libxlbe_fail(struct xo_ctx *xo, int rc, const char *fmt, ...)
{
	struct libxlbe *lb = xo->priv;
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return xo_fail(xo, libxlbe_error_map(rc), "%s: %s", what,
	    *lb->lg.last ? lb->lg.last : libxl_error_to_string(rc));
}

static int
libxlbe_open(struct xo_ctx *xo, const struct relocd_conf *conf)
{
	struct sockaddr_un sun;
	struct libxlbe *lb;

	if ((lb = calloc(1, sizeof(*lb))) == NULL)
		return xo_fail(xo, XO_E_FAIL, "out of memory");
	/* Every monitor answers on a socket there, lease or not: it is how
	 * relocd finds a domain's monitor alive (libxlbe_adopt). */
	if ((size_t)snprintf(lb->mondir, sizeof(lb->mondir), "%s/monitors",
	    conf->state_dir) >= sizeof(sun.sun_path) -
	    sizeof("/4294967295.sock")) {
		free(lb);
		return xo_fail(xo, XO_E_FAIL, "state_dir %s: too long "
		    "for the monitors' sockets", conf->state_dir);
	}
	if (conf->cluster_dir != NULL && *conf->cluster_dir != '\0') {
		if ((lb->cluster_dir = strdup(conf->cluster_dir)) == NULL) {
			free(lb);
			return xo_fail(xo, XO_E_FAIL, "out of memory");
		}
		if (gethostname(lb->host, sizeof(lb->host) - 1) == -1)
			snprintf(lb->host, sizeof(lb->host), "localhost");
	}
	if (libxlbe_ctx_new(lb, xo->err, sizeof(xo->err)) == -1) {
		free(lb->cluster_dir);
		free(lb);
		return XO_E_FAIL;
	}
	xo->priv = lb;
	return 0;
}

static void
libxlbe_close(struct xo_ctx *xo)
{
	struct libxlbe *lb = xo->priv;

	if (lb == NULL)
		return;
	libxl_ctx_free(lb->ctx);
	free(lb->cluster_dir);
	free(lb);
	xo->priv = NULL;
}

static void
libxlbe_dominfo_fill(struct libxlbe *lb, const libxl_dominfo *di,
    struct xo_dominfo *out)
{
	char *name;

	memset(out, 0, sizeof(*out));
	out->domid = di->domid;
	name = libxl_domid_to_name(lb->ctx, di->domid);
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
	free(name);
	snprintf(out->uuid, sizeof(out->uuid), LIBXL_UUID_FMT,
	    LIBXL_UUID_BYTES(di->uuid));
	out->memory_kb = di->current_memkb;
	out->vcpus = di->vcpu_online;
	out->weight = 1;	/* libxl keeps no weight: relocd.conf(5) */
	out->cpu_time = (double)di->cpu_time / 1e9;
	if (di->dying)
		out->state = XO_DYING;
	else if (di->shutdown && di->shutdown_reason ==
	    LIBXL_SHUTDOWN_REASON_SUSPEND)
		out->state = XO_SUSPENDED;
	else if (di->shutdown && di->shutdown_reason ==
	    LIBXL_SHUTDOWN_REASON_CRASH)
		out->state = XO_CRASHED;
	else if (di->shutdown)
		out->state = XO_SHUTDOWN;
	else if (di->paused)
		out->state = XO_PAUSED;
	else
		out->state = XO_RUNNING;
}

static int
libxlbe_list(struct xo_ctx *xo, struct xo_dominfo **doms, size_t *n)
{
	struct libxlbe *lb = xo->priv;
	libxl_dominfo *all;
	struct xo_dominfo *out;
	int nb = 0, i;
	size_t k = 0;

	*doms = NULL;
	*n = 0;
	if ((all = libxl_list_domain(lb->ctx, &nb)) == NULL)
		return libxlbe_fail(xo, ERROR_FAIL, "listing domains");
	if ((out = calloc(nb > 0 ? nb : 1, sizeof(*out))) == NULL) {
		libxl_dominfo_list_free(all, nb);
		return xo_fail(xo, XO_E_FAIL, "out of memory");
	}
	/* libxl lists in domid order; dom0 is not a guest. */
	for (i = 0; i < nb; i++)
		if (all[i].domid != 0)
			libxlbe_dominfo_fill(lb, &all[i], &out[k++]);
	libxl_dominfo_list_free(all, nb);
	*doms = out;
	*n = k;
	return 0;
}

static int
libxlbe_info(struct xo_ctx *xo, uint32_t domid, struct xo_dominfo *out)
{
	struct libxlbe *lb = xo->priv;
	libxl_dominfo di;
	int rc;

	libxl_dominfo_init(&di);
	if ((rc = libxl_domain_info(lb->ctx, &di, domid)) != 0) {
		libxl_dominfo_dispose(&di);
		if (rc == ERROR_DOMAIN_NOTFOUND)
			return xo_fail(xo, XO_E_NOTFOUND, "domain %u does not "
			    "exist", domid);
		return libxlbe_fail(xo, rc, "domain %u", domid);
	}
	libxlbe_dominfo_fill(lb, &di, out);
	libxl_dominfo_dispose(&di);
	return 0;
}

/* Bridges are the interfaces with a bridge/ directory in sysfs. */
static char **
libxlbe_bridges(void)
{
	DIR *d;
	struct dirent *de;
	char **v, **nv, path[512];
	size_t n = 0;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if ((d = opendir("/sys/class/net")) == NULL)
		return v;
	while ((de = readdir(d)) != NULL && n < 256) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/bridge",
		    de->d_name);
		if (access(path, F_OK) != 0)
			continue;
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = strdup(de->d_name)) == NULL)
			break;
		v[++n] = NULL;
	}
	closedir(d);
	return v;
}

static int
libxlbe_host_info(struct xo_ctx *xo, struct xo_hostinfo *hi)
{
	struct libxlbe *lb = xo->priv;
	const libxl_version_info *vi;
	libxl_physinfo pi;
	libxl_dominfo *all;
	struct utsname un;
	uint64_t freekb = 0;
	int rc, nb = 0, i;

	libxl_physinfo_init(&pi);
	if ((rc = libxl_get_physinfo(lb->ctx, &pi)) != 0) {
		libxl_physinfo_dispose(&pi);
		return libxlbe_fail(xo, rc, "reading host info");
	}
	gethostname(hi->hostname, sizeof(hi->hostname) - 1);
	if (uname(&un) == 0)
		snprintf(hi->arch, sizeof(hi->arch), "%s", un.machine);
	if ((vi = libxl_get_version_info(lb->ctx)) != NULL)
		snprintf(hi->xen_version, sizeof(hi->xen_version), "%d.%d%s",
		    vi->xen_version_major, vi->xen_version_minor,
		    vi->xen_version_extra ? vi->xen_version_extra : "");
	hi->total_kb = pi.total_pages * 4;
	/* What libxl says a new domain may take, as xl's freemem() asks. */
	if (libxl_get_free_memory(lb->ctx, &freekb) == 0)
		hi->free_kb = freekb;
	else
		hi->free_kb = pi.free_pages * 4;
	hi->nr_cpus = pi.nr_cpus;
	/* The truth the pre-flight needs: Debian's Xen lacks shadow
	 * paging, so PV guests have no log-dirty mode and no live move. */
	hi->cap_pv = pi.cap_pv;
	hi->cap_hvm = pi.cap_hvm;
	hi->cap_hap = pi.cap_hap;
	hi->cap_shadow = pi.cap_shadow;
	hi->cpu_features = libxlbe_cpu_features(pi.hw_cap);
	libxl_physinfo_dispose(&pi);
	hi->pci_free = libxlbe_pci_free(lb->ctx);
	if ((all = libxl_list_domain(lb->ctx, &nb)) != NULL) {
		for (i = 0; i < nb; i++)
			if (all[i].domid != 0)
				hi->nr_domains++;
		libxl_dominfo_list_free(all, nb);
	}
	hi->bridges = libxlbe_bridges();
	return 0;
}

/*
 * The CPU features a guest may be given here: physinfo's hw_cap holds
 * the first eight words of Xen's featureset (cpufeatureset.h: CPUID 1
 * edx and ecx, 0x80000001 edx and ecx, 0xd:1 eax, 7:0 ebx and ecx,
 * 0x80000007 edx).  The features pre-flights care about have names; any
 * other bit is "WORD.BIT", which compares just as well.
 */
static const struct {
	unsigned	 word, bit;
	const char	*name;
} libxlbe_features[] = {
	{ 0, 25, "sse" }, { 0, 26, "sse2" },
	{ 1, 0, "sse3" }, { 1, 1, "pclmulqdq" }, { 1, 9, "ssse3" },
	{ 1, 12, "fma" }, { 1, 13, "cx16" }, { 1, 19, "sse4_1" },
	{ 1, 20, "sse4_2" }, { 1, 22, "movbe" }, { 1, 23, "popcnt" },
	{ 1, 25, "aes" }, { 1, 26, "xsave" }, { 1, 28, "avx" },
	{ 1, 29, "f16c" }, { 1, 30, "rdrand" },
	{ 2, 20, "nx" }, { 2, 26, "pdpe1gb" }, { 2, 27, "rdtscp" },
	{ 2, 29, "lm" },
	{ 3, 0, "lahf_lm" }, { 3, 5, "abm" }, { 3, 6, "sse4a" },
	{ 4, 0, "xsaveopt" }, { 4, 1, "xsavec" }, { 4, 3, "xsaves" },
	{ 5, 0, "fsgsbase" }, { 5, 3, "bmi1" }, { 5, 4, "hle" },
	{ 5, 5, "avx2" }, { 5, 7, "smep" }, { 5, 8, "bmi2" },
	{ 5, 9, "erms" }, { 5, 10, "invpcid" }, { 5, 11, "rtm" },
	{ 5, 16, "avx512f" }, { 5, 18, "rdseed" }, { 5, 19, "adx" },
	{ 5, 20, "smap" }, { 5, 23, "clflushopt" }, { 5, 29, "sha" },
	{ 6, 2, "umip" }, { 6, 3, "pku" }, { 6, 9, "vaes" },
	{ 6, 10, "vpclmulqdq" }, { 6, 22, "rdpid" },
	{ 7, 8, "itsc" },
};
static const char *const libxlbe_feature_words[8] = {
	"1d", "1c", "e1d", "e1c", "Da1", "7b0", "7c0", "e7d",
};

static char **
libxlbe_cpu_features(const libxl_hwcap cap)
{
	char **v, name[32];
	const char *s;
	unsigned w, b;
	size_t n = 0, i;

	if ((v = calloc(8 * 32 + 1, sizeof(char *))) == NULL)
		return NULL;
	for (w = 0; w < 8; w++)
		for (b = 0; b < 32; b++) {
			if (!(cap[w] & (1U << b)))
				continue;
			s = NULL;
			for (i = 0; i < sizeof(libxlbe_features) /
			    sizeof(libxlbe_features[0]); i++)
				if (libxlbe_features[i].word == w &&
				    libxlbe_features[i].bit == b)
					s = libxlbe_features[i].name;
			if (s == NULL) {
				snprintf(name, sizeof(name), "%s.%u",
				    libxlbe_feature_words[w], b);
				s = name;
			}
			if ((v[n++] = strdup(s)) == NULL) {
				xo_strv_free(v);
				return NULL;
			}
		}
	return v;
}

/* PCI devices bound to pciback and not assigned: what a guest may get. */
static char **
libxlbe_pci_free(libxl_ctx *ctx)
{
	libxl_device_pci *list;
	char **v, bdf[32];
	int n = 0, i;

	list = libxl_device_pci_assignable_list(ctx, &n);
	if ((v = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(char *))) ==
	    NULL) {
		libxl_device_pci_assignable_list_free(list, n);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x",
		    (unsigned)list[i].domain, list[i].bus, list[i].dev,
		    list[i].func);
		if ((v[i] = strdup(bdf)) == NULL) {
			xo_strv_free(v);
			v = NULL;
			break;
		}
	}
	libxl_device_pci_assignable_list_free(list, n);
	return v;
}

static int
libxlbe_config_get(struct xo_ctx *xo, uint32_t domid,
    struct json_object **out)
{
	struct libxlbe *lb = xo->priv;
	libxl_domain_config dc;
	int rc;

	*out = NULL;
	libxl_domain_config_init(&dc);
	if ((rc = libxl_retrieve_domain_configuration(lb->ctx, domid, &dc,
	    NULL)) != 0) {
		rc = libxlbe_fail(xo, rc, "no stored config for domain %u",
		    domid);
		goto out;
	}
	/* As xl's save_domain_core_begin: let the target pick the id. */
	dc.c_info.domid = 0;
	rc = libxlbe_config_to_json(lb->ctx, &dc, out, xo->err,
	    sizeof(xo->err));
out:
	libxl_domain_config_dispose(&dc);
	return rc;
}

static int
libxlbe_create(struct xo_ctx *xo, struct json_object *cfg, uint32_t *domid)
{
	struct libxlbe *lb = xo->priv;
	libxl_domain_config dc;
	int rc;

	*domid = 0;
	libxl_domain_config_init(&dc);
	if ((rc = libxlbe_config_from_json(lb->ctx, cfg, &dc, xo->err,
	    sizeof(xo->err))) != 0)
		goto out;
	if ((rc = libxl_domain_create_new(lb->ctx, &dc, domid, NULL,
	    NULL)) != 0) {
		rc = libxlbe_fail(xo, rc, "creating %s", dc.c_info.name);
		goto out;
	}
	/* Created paused: its monitor, then its lease, then it runs. */
	libxlbe_monitor_spawn(lb, *domid);
	if ((rc = libxlbe_lease_take(xo, *domid)) != 0) {
		libxl_domain_destroy(lb->ctx, *domid, NULL);
		goto out;
	}
	if ((rc = libxl_domain_unpause(lb->ctx, *domid, NULL)) != 0) {
		rc = libxlbe_fail(xo, rc, "starting %s", dc.c_info.name);
		libxl_domain_destroy(lb->ctx, *domid, NULL);
		goto out;
	}
out:
	libxl_domain_config_dispose(&dc);
	return rc;
}

static void *
libxlbe_relay_run(void *arg)
{
	struct libxlbe_relay *r = arg;
	struct pollfd pfd[2];
	sigset_t all;
	char *buf;
	ssize_t n, w;
	size_t off;

	/* libxl's SIGCHLD handler belongs to the thread that calls libxl. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if ((buf = malloc(LIBXLBE_RELAY_BUF)) == NULL) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		r->failed = 1;
		shutdown(r->fd, SHUT_RDWR);
		return NULL;
	}
	for (;;) {
		if (!r->to_libxl) {
			n = read(r->fd, buf, LIBXLBE_RELAY_BUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0)
				break;
			if (n == -1) {
				snprintf(r->err, sizeof(r->err), "reading "
				    "libxl's stream: %s", strerror(errno));
				r->failed = 1;
				break;
			}
			if (ioc_write_full(r->ioc, buf, n) == -1) {
				snprintf(r->err, sizeof(r->err), "%s",
				    r->ioc->err);
				r->failed = 1;
				/* The save helper gets EPIPE and libxl
				 * fails the suspend. */
				shutdown(r->fd, SHUT_RDWR);
				break;
			}
			__atomic_fetch_add(&r->bytes, n, __ATOMIC_RELAXED);
			continue;
		}
		/* To libxl: stop when libxl has finished, and read no byte
		 * past its stream (the sender sends nothing more until it
		 * hears "ready"). */
		if (r->ioc->ssl == NULL || SSL_pending(r->ioc->ssl) == 0) {
			pfd[0].fd = r->stop[0];
			pfd[0].events = POLLIN;
			pfd[1].fd = r->ioc->fd;
			pfd[1].events = POLLIN;
			n = poll(pfd, 2, r->ioc->timeout_ms > 0 ?
			    r->ioc->timeout_ms : -1);
			if (n == -1 && errno == EINTR)
				continue;
			if (pfd[0].revents != 0)
				break;
			if (n == 0) {
				snprintf(r->err, sizeof(r->err), "the sender "
				    "sent nothing for %d s",
				    r->ioc->timeout_ms / 1000);
				r->failed = 1;
				shutdown(r->fd, SHUT_RDWR);
				break;
			}
		}
		n = ioc_read_some(r->ioc, buf, LIBXLBE_RELAY_BUF);
		if (n == 0) {
			log_debug("restore relay: end of the stream after %llu "
			    "bytes", r->bytes);
			shutdown(r->fd, SHUT_WR);
			break;
		}
		if (n < 0) {
			snprintf(r->err, sizeof(r->err), "%s", r->ioc->err);
			r->failed = 1;
			shutdown(r->fd, SHUT_RDWR);
			break;
		}
		r->bytes += n;
		if (r->bytes > r->limit) {
			snprintf(r->err, sizeof(r->err), "the stream is "
			    "longer than %llu bytes, more than the domain's "
			    "memory can explain", r->limit);
			r->failed = r->overlong = 1;
			shutdown(r->fd, SHUT_RDWR);
			break;
		}
		for (off = 0; off < (size_t)n; off += w) {
			w = send(r->fd, buf + off, n - off, MSG_NOSIGNAL);
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w == -1)
				break;
		}
		if (off < (size_t)n)
			break;	/* libxl stopped reading: it has failed */
	}
	free(buf);
	return NULL;
}

static int
libxlbe_relay_start(struct libxlbe_relay *r, pthread_t *tid)
{
	int rc;

	if ((rc = pthread_create(tid, NULL, libxlbe_relay_run, r)) != 0) {
		snprintf(r->err, sizeof(r->err), "pthread_create: %s",
		    strerror(rc));
		return -1;
	}
	return 0;
}

static int
libxlbe_suspend_to(struct xo_ctx *xo, uint32_t domid, struct iochan *ioc,
    int flags, xo_progress_fn fn, void *arg)
{
	struct libxlbe *lb = xo->priv;
	struct libxlbe_relay r;
	struct libxlbe_prog pr;
	libxl_dominfo di;
	pthread_t tid;
	int sp[2] = { -1, -1 }, rc, started = 0;

	memset(&r, 0, sizeof(r));
	r.stop[0] = r.stop[1] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		rc = xo_fail(xo, XO_E_FAIL, "socketpair: %s", strerror(errno));
		goto out;
	}
	r.ioc = ioc;
	r.fd = sp[1];
	if (libxlbe_relay_start(&r, &tid) == -1) {
		rc = xo_fail(xo, XO_E_FAIL, "%s", r.err);
		goto out;
	}
	started = 1;
	memset(&pr, 0, sizeof(pr));
	libxl_dominfo_init(&di);
	if (libxl_domain_info(lb->ctx, &di, domid) == 0)
		pr.p.pages_total = di.current_memkb / 4;
	libxl_dominfo_dispose(&di);
	/* Offline, libxl suspends the guest before the first page: the
	 * downtime is the whole transfer, and the sender should say so. */
	if (fn != NULL && !(flags & XO_SUSPEND_LIVE)) {
		pr.p.round = 1;
		pr.p.paused = 1;
		pr.p.paused_at_us = clock_mono_us();
		fn(&pr.p, arg);
	}
	*lb->lg.last = '\0';
	lb->lg.suspend_us = 0;
	if (fn != NULL) {
		lb->lg.prog = &pr;
		lb->lg.prog_fn = fn;
		lb->lg.prog_arg = arg;
		lb->lg.prog_bytes = &r.bytes;
		lb->lg.prog_offline = !(flags & XO_SUSPEND_LIVE);
	}
	rc = libxl_domain_suspend(lb->ctx, domid, sp[0],
	    (flags & XO_SUSPEND_LIVE) ? LIBXL_SUSPEND_LIVE : 0, NULL);
	lb->lg.prog = NULL;
	/* EOF for the relay once it has drained what libxl wrote. */
	close(sp[0]);
	sp[0] = -1;
	pthread_join(tid, NULL);
	started = 0;
	if (r.failed) {
		rc = xo_fail(xo, XO_E_IO, "sending the stream: %s", r.err);
		goto out;
	}
	if (rc != 0) {
		rc = libxlbe_fail(xo, rc, "suspending domain %u", domid);
		goto out;
	}
	if (fn != NULL) {
		/* Live: the guest stopped when libxl asked it to suspend
		 * (failing that, the end of the stream bounds it). */
		libxlbe_progress_end(&pr);
		pr.p.bytes = r.bytes;
		if (lb->lg.suspend_us != 0 && pr.p.paused_at_us == 0) {
			pr.p.paused = 1;
			pr.p.paused_at_us = lb->lg.suspend_us;
		}
		if (!pr.p.paused || pr.p.paused_at_us == 0) {
			pr.p.paused = 1;
			pr.p.paused_at_us = lb->lg.suspend_us ?
			    lb->lg.suspend_us : clock_mono_us();
		}
		fn(&pr.p, arg);
	}
	rc = 0;
out:
	if (started) {
		close(sp[0]);
		sp[0] = -1;
		pthread_join(tid, NULL);
	}
	if (sp[0] != -1)
		close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	return rc;
}

static int
libxlbe_restore_from(struct xo_ctx *xo, struct json_object *cfg,
    struct iochan *ioc, uint32_t *domid, xo_progress_fn fn, void *arg)
{
	struct libxlbe *lb = xo->priv;
	libxl_domain_config dc;
	libxl_domain_restore_params params;
	struct libxlbe_relay r;
	pthread_t tid;
	uint64_t memkb;
	int sp[2] = { -1, -1 }, rc, lrc, started = 0;

	*domid = 0;
	memset(&r, 0, sizeof(r));
	r.stop[0] = r.stop[1] = -1;
	libxl_domain_config_init(&dc);
	libxl_domain_restore_params_init(&params);
	if ((rc = libxlbe_config_from_json(lb->ctx, cfg, &dc, xo->err,
	    sizeof(xo->err))) != 0)
		goto out;
	memkb = dc.b_info.max_memkb > dc.b_info.target_memkb ?
	    dc.b_info.max_memkb : dc.b_info.target_memkb;
	if (memkb == 0 || memkb == LIBXL_MEMKB_DEFAULT) {
		rc = xo_fail(xo, XO_E_BADSTREAM, "the config names no memory "
		    "size; the stream cannot be bounded");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    pipe2(r.stop, O_CLOEXEC) == -1) {
		rc = xo_fail(xo, XO_E_FAIL, "socketpair: %s", strerror(errno));
		goto out;
	}
	r.ioc = ioc;
	r.fd = sp[1];
	r.to_libxl = 1;
	r.limit = libxlbe_stream_limit(memkb);
	if (libxlbe_relay_start(&r, &tid) == -1) {
		rc = xo_fail(xo, XO_E_FAIL, "%s", r.err);
		goto out;
	}
	started = 1;
	params.stream_version = 2;	/* xl header's STREAMv2 flag */
	params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
	*lb->lg.last = '\0';
	/* Created paused: the caller unpauses after "go". */
	lrc = libxl_domain_create_restore(lb->ctx, &dc, domid, sp[0], -1,
	    &params, NULL, NULL);
	/* Stop the relay before anyone reads "go" from the channel. */
	if (write(r.stop[1], "", 1) == -1)
		log_warn("%s: waking the relay", __func__);
	close(sp[0]);
	sp[0] = -1;
	pthread_join(tid, NULL);
	started = 0;
	if (lrc != 0 || r.failed) {
		if (*domid != 0 && *domid != (uint32_t)INVALID_DOMID)
			libxl_domain_destroy(lb->ctx, *domid, NULL);
		*domid = 0;
		if (r.overlong)
			rc = xo_fail(xo, XO_E_BADSTREAM, "%s", r.err);
		else if (r.failed)
			rc = xo_fail(xo, XO_E_IO, "receiving the stream: %s",
			    r.err);
		else
			rc = libxlbe_fail(xo, lrc, "restoring %s",
			    dc.c_info.name);
		goto out;
	}
	if (fn != NULL) {
		struct xo_progress p;

		memset(&p, 0, sizeof(p));
		p.round = 1;
		p.bytes = r.bytes;
		fn(&p, arg);
	}
	libxlbe_monitor_spawn(lb, *domid);
	rc = 0;
out:
	if (started) {
		if (write(r.stop[1], "", 1) == -1)
			log_warn("%s: waking the relay", __func__);
		close(sp[0]);
		sp[0] = -1;
		pthread_join(tid, NULL);
	}
	if (sp[0] != -1)
		close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	if (r.stop[0] != -1)
		close(r.stop[0]);
	if (r.stop[1] != -1)
		close(r.stop[1]);
	libxl_domain_restore_params_dispose(&params);
	libxl_domain_config_dispose(&dc);
	return rc;
}

static int
libxlbe_rename(struct xo_ctx *xo, uint32_t domid, const char *old_name,
    const char *new_name)
{
	struct libxlbe *lb = xo->priv;
	char *cur;
	int rc;

	*lb->lg.last = '\0';
	/* libxl checks old_name inside its xenstore transaction. */
	if ((rc = libxl_domain_rename(lb->ctx, domid, old_name,
	    new_name)) == 0) {
		libxlbe_console_log_follow(old_name, new_name);
		return 0;
	}
	cur = libxl_domid_to_name(lb->ctx, domid);
	if (cur != NULL && strcmp(cur, old_name) != 0) {
		rc = xo_fail(xo, XO_E_RENAMED, "domain %u is named '%s', not "
		    "'%s': someone else renamed it", domid, cur, old_name);
		free(cur);
		return rc;
	}
	free(cur);
	return libxlbe_fail(xo, rc, "renaming domain %u to '%s'", domid,
	    new_name);
}

/*
 * An arrival (NAME--incoming renamed NAME): xenconsoled named the log at
 * the introduction and writes on through the fd it holds, so the file
 * itself is renamed to the name the domain goes by.  An older log of that
 * name (an earlier stay of the domain here) is kept as guest-NAME.log.1.
 * The source's renames leave its log alone: it keeps the name the domain
 * had there, as with xl.
 */
static void
libxlbe_console_log_follow(const char *old_name, const char *new_name)
{
	char from[PATH_MAX], to[PATH_MAX], keep[PATH_MAX + 4];
	size_t nl = strlen(new_name);

	if (strncmp(old_name, new_name, nl) != 0 ||
	    domcfg_base_len(old_name) != nl ||
	    strchr(new_name, '/') != NULL)
		return;
	snprintf(from, sizeof(from), "%s/guest-%s.log",
	    LIBXLBE_CONSOLE_LOG_DIR, old_name);
	snprintf(to, sizeof(to), "%s/guest-%s.log", LIBXLBE_CONSOLE_LOG_DIR,
	    new_name);
	if (access(from, F_OK) == -1)
		return;	/* not logging, or not yet: it gets the new name */
	snprintf(keep, sizeof(keep), "%s.1", to);
	if (access(to, F_OK) == 0 && rename(to, keep) == -1)
		log_warn("console log %s", to);
	if (rename(from, to) == -1)
		log_warn("console log %s to %s", from, to);
	else
		log_debug("console log %s is now %s", from, to);
}

static int
libxlbe_pause(struct xo_ctx *xo, uint32_t domid)
{
	struct libxlbe *lb = xo->priv;
	int rc;

	*lb->lg.last = '\0';
	if ((rc = libxl_domain_pause(lb->ctx, domid, NULL)) != 0)
		return libxlbe_fail(xo, rc, "pausing domain %u", domid);
	return 0;
}

static int
libxlbe_unpause(struct xo_ctx *xo, uint32_t domid)
{
	struct libxlbe *lb = xo->priv;
	int rc;

	*lb->lg.last = '\0';
	if ((rc = libxlbe_lease_take(xo, domid)) != 0)
		return rc;
	if ((rc = libxl_domain_unpause(lb->ctx, domid, NULL)) != 0)
		return libxlbe_fail(xo, rc, "unpausing domain %u", domid);
	return 0;
}

static int
libxlbe_resume(struct xo_ctx *xo, uint32_t domid)
{
	struct libxlbe *lb = xo->priv;
	libxl_dominfo di;
	int rc;

	*lb->lg.last = '\0';
	/* A suspend that failed early leaves the guest as it was (libxl
	 * never suspended it): resuming it would be an error, and it is
	 * not ours to unpause one its owner had paused. */
	libxl_dominfo_init(&di);
	if (libxl_domain_info(lb->ctx, &di, domid) == 0 && !di.shutdown) {
		libxl_dominfo_dispose(&di);
		return 0;
	}
	/* Only a suspend is undone: a guest that crashed or shut down
	 * while it was being saved is left for its on_* action. */
	if (di.shutdown && di.shutdown_reason !=
	    LIBXL_SHUTDOWN_REASON_SUSPEND) {
		rc = xo_fail(xo, XO_E_STATE, "domain %u %s while it was being "
		    "saved; not resuming it", domid,
		    di.shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH ?
		    "crashed" : "shut down");
		libxl_dominfo_dispose(&di);
		return rc;
	}
	libxl_dominfo_dispose(&di);
	/* Given up at the point of no return, the lease may be another
	 * host's now: then this copy must not run again. */
	if ((rc = libxlbe_lease_take(xo, domid)) != 0)
		return rc;
	if ((rc = libxl_domain_resume(lb->ctx, domid, 1, NULL)) != 0)
		return libxlbe_fail(xo, rc, "resuming domain %u", domid);
	return 0;
}

static int
libxlbe_destroy(struct xo_ctx *xo, uint32_t domid)
{
	struct libxlbe *lb = xo->priv;
	int rc;

	*lb->lg.last = '\0';
	if ((rc = libxl_domain_destroy(lb->ctx, domid, NULL)) != 0)
		return libxlbe_fail(xo, rc, "destroying domain %u", domid);
	return 0;
}

static int
libxlbe_console_path(struct xo_ctx *xo, uint32_t domid, char *buf,
    size_t len)
{
	struct libxlbe *lb = xo->priv;
	char *path = NULL;
	int rc;

	*lb->lg.last = '\0';
	if ((rc = libxl_primary_console_get_tty(lb->ctx, domid, &path)) != 0)
		return libxlbe_fail(xo, rc, "console of domain %u", domid);
	snprintf(buf, len, "%s", path);
	free(path);
	return 0;
}

/*
 * The monitor: a process of its own (double-forked, so neither the worker
 * nor the daemon has to reap it) holding a fresh libxl ctx, as libxl wants
 * of a child that does not exec.
 */
static void
libxlbe_monitor_spawn(struct libxlbe *lb, uint32_t domid)
{
	char path[PATH_MAX], err[256];
	pid_t pid;
	int status, lfd = -1;

	/* The socket is bound before the fork, so a "take" right after
	 * this returns waits in its backlog rather than finding nobody. */
	if (mkdir(lb->mondir, 0700) == -1 && errno != EEXIST)
		log_warn("domain %u: %s", domid, lb->mondir);
	libxlbe_monitor_sock(lb, domid, path, sizeof(path));
	if ((lfd = lholder_listen(path, err, sizeof(err))) == -1) {
		if (errno != EADDRINUSE)
			log_warnx("domain %u: no death monitor: %s", domid,
			    err);
		return;	/* EADDRINUSE: it has its monitor */
	}
	switch (pid = fork()) {
	case -1:
		log_warn("domain %u: no death monitor: fork", domid);
		break;
	case 0:
		libxl_postfork_child_noexec(lb->ctx);
		setsid();
		if (fork() != 0)
			_exit(0);
		libxlbe_monitor_run(domid, lfd, path, lb->cluster_dir);
	default:
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		break;
	}
	if (lfd != -1)
		close(lfd);
}

static void
libxlbe_monitor_sock(const struct libxlbe *lb, uint32_t domid, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/%u.sock", lb->mondir, domid);
}

/* This boot of dom0: a mark left by an earlier boot (libxl keeps its
 * userdata under /var/lib/xen) names another domain that had the id. */
static void
libxlbe_boot_id(char *buf, size_t len)
{
	FILE *fp;

	*buf = '\0';
	if ((fp = fopen("/proc/sys/kernel/random/boot_id", "re")) != NULL) {
		if (fgets(buf, (int)len, fp) == NULL)
			*buf = '\0';
		fclose(fp);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * The mark's text: this boot, and the directory of the monitor's socket,
 * which names the relocd (its state_dir) whose monitor it is.  A second
 * relocd on the host, with a state_dir of its own, must never take a
 * domain for one whose monitor is gone: two monitors would both carry
 * out on_reboot, and the one that lost would take the lease with it.
 */
static void
libxlbe_mark_text(const char *mondir, char *buf, size_t len)
{
	char boot[64];

	libxlbe_boot_id(boot, sizeof(boot));
	snprintf(buf, len, "%s %s", *boot != '\0' ? boot : "unknown",
	    mondir);
}

/* (monitor) This domain is watched by a monitor relocd started; sock is
 * the monitor's socket. */
static void
libxlbe_monitor_mark(libxl_ctx *ctx, uint32_t domid, const char *sock)
{
	char dir[PATH_MAX], mark[PATH_MAX + 80], *slash;

	snprintf(dir, sizeof(dir), "%s", sock);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	libxlbe_mark_text(dir, mark, sizeof(mark));
	if (libxl_userdata_store(ctx, domid, LIBXLBE_MONITOR_MARK,
	    (const uint8_t *)mark, (int)strlen(mark)) != 0)
		log_warnx("domain %u: cannot mark it as relocd's (libxl "
		    "userdata %s): a relocd restart would not find its "
		    "monitor missing", domid, LIBXLBE_MONITOR_MARK);
}

/* 1: a monitor of this relocd (lb's state_dir) watched this domain, in
 * this boot. */
static int
libxlbe_monitor_marked(struct libxlbe *lb, uint32_t domid)
{
	uint8_t *data = NULL;
	char mark[PATH_MAX + 80];
	int len = 0, marked;

	if (libxl_userdata_retrieve(lb->ctx, domid, LIBXLBE_MONITOR_MARK,
	    &data, &len) != 0 || data == NULL)
		return 0;
	libxlbe_mark_text(lb->mondir, mark, sizeof(mark));
	marked = strncmp(mark, "unknown ", 8) != 0 &&
	    (size_t)len == strlen(mark) && memcmp(data, mark, (size_t)len) == 0;
	free(data);
	return marked;
}

/*
 * At relocd's start: the monitors outlive relocd, but not a kill of
 * their own (or of relocd's whole cgroup).  Every domain a monitor of
 * ours watched in this boot and whose monitor no longer answers gets a
 * new one; with cluster_dir a running one also takes its lease again,
 * as it would before an unpause.  Domains xl started (xl's own process
 * waits for their death) carry no mark and are left alone.  The number
 * of monitors started, or -1.
 */
static int
libxlbe_adopt(struct xo_ctx *xo)
{
	struct libxlbe *lb = xo->priv;
	libxl_dominfo *di;
	char path[PATH_MAX], reply[64], *name;
	int i, n = 0, started = 0;

	if ((di = libxl_list_domain(lb->ctx, &n)) == NULL)
		return xo_fail(xo, XO_E_FAIL, "listing domains: %s",
		    *lb->lg.last ? lb->lg.last : "libxl_list_domain failed");
	for (i = 0; i < n; i++) {
		if (di[i].domid == 0 || di[i].dying ||
		    !libxlbe_monitor_marked(lb, di[i].domid))
			continue;
		libxlbe_monitor_sock(lb, di[i].domid, path, sizeof(path));
		if (lholder_ask(path, "held", reply, sizeof(reply)) == 0)
			continue;
		name = libxl_domid_to_name(lb->ctx, di[i].domid);
		log_warnx("domain %u (%s): its monitor is gone; starting a "
		    "new one", di[i].domid, name ? name : "?");
		free(name);
		libxlbe_monitor_spawn(lb, di[i].domid);
		started++;
		if (lb->cluster_dir != NULL && !di[i].paused &&
		    !di[i].shutdown && libxlbe_lease_take(xo,
		    di[i].domid) != 0)
			log_crit("domain %u runs without its lease: %s",
			    di[i].domid, xo->err);
	}
	libxl_dominfo_list_free(di, n);
	return started;
}

/*
 * Before the domain runs (create, the unpause after "go", a resume): its
 * monitor takes its lease, or it does not run.  A domain whose monitor is
 * gone gets a new one first: the lease needs a holder that outlives us.
 */
static int
libxlbe_lease_take(struct xo_ctx *xo, uint32_t domid)
{
	struct libxlbe *lb = xo->priv;
	char path[PATH_MAX], req[400], reply[512], *name;
	int tries, rc;

	if (lb->cluster_dir == NULL)
		return 0;
	name = libxl_domid_to_name(lb->ctx, domid);
	/* Whose lease it is: the name without a migration's suffix. */
	if (name != NULL)
		name[domcfg_base_len(name)] = '\0';
	snprintf(req, sizeof(req), "take %s domain %s (id %u)", lb->host,
	    name != NULL ? name : "?", domid);
	free(name);
	libxlbe_monitor_sock(lb, domid, path, sizeof(path));
	for (tries = 0; tries < 2; tries++) {
		if ((rc = lholder_ask(path, req, reply, sizeof(reply))) == 0 ||
		    (errno != ENOENT && errno != ECONNREFUSED &&
		    errno != EPIPE))
			break;
		if (tries == 0) {
			log_warnx("domain %u has no lease holder: starting "
			    "its monitor again", domid);
			libxlbe_monitor_spawn(lb, domid);
		}
	}
	if (rc == -1)
		return xo_fail(xo, XO_E_FAIL, "domain %u: its lease holder "
		    "(%s) did not answer: %s; not running it without its "
		    "lease", domid, path, strerror(errno));
	if (strcmp(reply, "ok") != 0)
		return xo_fail(xo, XO_E_STATE, "domain %u: %s; not running it",
		    domid, strncmp(reply, "err ", 4) == 0 ? reply + 4 : reply);
	return 0;
}

/* The point of no return: the suspended domain's monitor lets go. */
static int
libxlbe_lease_give(struct xo_ctx *xo, uint32_t domid)
{
	struct libxlbe *lb = xo->priv;
	libxl_dominfo di;
	char path[PATH_MAX], reply[512];
	int suspended;

	if (lb->cluster_dir == NULL)
		return 0;
	libxl_dominfo_init(&di);
	suspended = libxl_domain_info(lb->ctx, &di, domid) == 0 &&
	    di.shutdown && di.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND;
	libxl_dominfo_dispose(&di);
	if (!suspended)
		return xo_fail(xo, XO_E_STATE, "domain %u is not suspended: "
		    "only a suspended domain gives up its lease", domid);
	libxlbe_monitor_sock(lb, domid, path, sizeof(path));
	if (lholder_ask(path, "give", reply, sizeof(reply)) == -1) {
		/* No holder, no lease: a domain xl started, or one whose
		 * monitor died, and the kernel dropped its lease then. */
		if (errno == ENOENT || errno == ECONNREFUSED ||
		    errno == EPIPE) {
			log_info("domain %u holds no lease here (started "
			    "outside relocd?): none to give", domid);
			return 0;
		}
		return xo_fail(xo, XO_E_FAIL, "domain %u: its lease holder "
		    "(%s) did not answer: %s", domid, path, strerror(errno));
	}
	if (strcmp(reply, "ok") != 0)
		return xo_fail(xo, XO_E_FAIL, "domain %u: giving up its lease: "
		    "%s", domid, reply);
	return 0;
}

/* Everything inherited goes, above all the worker's TLS socket and its
 * migration slot lock: the monitor must not hold a session open.  keep:
 * the lease holder's socket, or -1. */
static void
libxlbe_close_fds(int keep)
{
	DIR *d;
	struct dirent *de;
	int fd, dfd, nul;

	if ((nul = open("/dev/null", O_RDWR)) != -1) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (nul > 2)
			close(nul);
	}
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] != '.' && fd > 2 && fd != dfd && fd != keep)
			close(fd);
	}
	closedir(d);
}

static int
libxlbe_monitor_action(libxl_domain_config *dc, int reason)
{
	switch (reason) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF:
		return dc->on_poweroff;
	case LIBXL_SHUTDOWN_REASON_REBOOT:
		return dc->on_reboot;
	case LIBXL_SHUTDOWN_REASON_CRASH:
		return dc->on_crash;
	case LIBXL_SHUTDOWN_REASON_WATCHDOG:
		return dc->on_watchdog;
	case LIBXL_SHUTDOWN_REASON_SOFT_RESET:
		return dc->on_soft_reset;
	default:
		return LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	}
}

static void
libxlbe_monitor_run(uint32_t domid, int lfd, const char *sock,
    const char *cluster_dir)
{
	struct libxlbe lb;
	struct lholder lh;
	libxl_domain_config dc;
	libxl_evgen_domain_death *deathw = NULL;
	libxl_event *ev = NULL;
	char err[LIBXLBE_ERRLEN], uuid[40], path[PATH_MAX], *name;
	int rc, action, reason, restarts = 0;

	libxlbe_close_fds(lfd);
	log_procinit("monitor");
	memset(&lh, 0, sizeof(lh));
	memset(&lb, 0, sizeof(lb));
	if (libxlbe_ctx_new(&lb, err, sizeof(err)) == -1) {
		log_warnx("domain %u: no death monitor: %s", domid, err);
		_exit(1);
	}
	libxl_domain_config_init(&dc);
	if ((rc = libxl_retrieve_domain_configuration(lb.ctx, domid, &dc,
	    NULL)) != 0 || libxl_evenable_domain_death(lb.ctx, domid, 0,
	    &deathw) != 0) {
		log_warnx("domain %u: no death monitor: %s", domid,
		    *lb.lg.last ? lb.lg.last : "cannot watch it");
		_exit(1);
	}
	snprintf(uuid, sizeof(uuid), LIBXL_UUID_FMT,
	    LIBXL_UUID_BYTES(dc.c_info.uuid));
	if (lholder_start(&lh, lfd, sock, cluster_dir, uuid, err,
	    sizeof(err)) == -1) {
		log_warnx("domain %u: %s", domid, err);
		_exit(1);
	}
	snprintf(path, sizeof(path), "%s", sock);
	libxlbe_monitor_mark(lb.ctx, domid, path);
	log_debug("domain %u: watching for its death", domid);
	for (;;) {
		if (libxl_event_wait(lb.ctx, &ev, LIBXL_EVENTMASK_ALL, 0,
		    0) != 0)
			break;
		if (ev->type == LIBXL_EVENT_TYPE_DOMAIN_DEATH) {
			log_info("domain %u has died", domid);
			break;
		}
		if (ev->type != LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN) {
			libxl_event_free(lb.ctx, ev);
			continue;
		}
		if (ev->u.domain_shutdown.shutdown_reason ==
		    LIBXL_SHUTDOWN_REASON_SUSPEND) {
			/* Migrating away: the sender destroys it (death)
			 * or resumes it (we go on watching). */
			log_debug("domain %u suspended", domid);
			libxl_event_free(lb.ctx, ev);
			continue;
		}
		reason = ev->u.domain_shutdown.shutdown_reason;
		action = libxlbe_monitor_action(&dc, reason);
		libxl_event_free(lb.ctx, ev);
		ev = NULL;
		name = libxl_domid_to_name(lb.ctx, domid);
		log_info("domain %u (%s) shut down (%s): %s", domid,
		    name ? name : "?", libxl_shutdown_reason_to_string(reason),
		    libxl_action_on_shutdown_to_string(action));
		switch (action) {
		case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE:
			free(name);
			goto out;
		case LIBXL_ACTION_ON_SHUTDOWN_RESTART:
		case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
		case LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART:
		case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET:
			libxl_evdisable_domain_death(lb.ctx, deathw);
			deathw = NULL;
			libxl_domain_destroy(lb.ctx, domid, NULL);
			/* The stored config may carry the name the domain
			 * arrived under (NAME--incoming). */
			if (name != NULL) {
				free(dc.c_info.name);
				dc.c_info.name = name;
				name = NULL;
			}
			if (++restarts > 100 || libxl_domain_create_new(
			    lb.ctx, &dc, &domid, NULL, NULL) != 0) {
				log_warnx("%s: restart failed: %s",
				    dc.c_info.name, lb.lg.last);
				goto out;
			}
			/* Same domain, same lease, new id: the socket
			 * and the mark follow before the domain runs, so
			 * relocd finds this monitor and never starts a
			 * second one. */
			{
				char *slash = strrchr(path, '/');

				snprintf(slash + 1, sizeof(path) -
				    (size_t)(slash + 1 - path), "%u.sock",
				    domid);
				lholder_moved(&lh, path);
			}
			libxlbe_monitor_mark(lb.ctx, domid, path);
			if (libxl_domain_unpause(lb.ctx, domid, NULL) != 0 ||
			    libxl_evenable_domain_death(lb.ctx, domid, 0,
			    &deathw) != 0) {
				log_warnx("%s: restart failed: %s",
				    dc.c_info.name, lb.lg.last);
				libxl_domain_destroy(lb.ctx, domid, NULL);
				goto out;
			}
			log_info("%s restarted as domain %u", dc.c_info.name,
			    domid);
			break;
		default:
			free(name);
			libxl_domain_destroy(lb.ctx, domid, NULL);
			break;
		}
	}
out:
	if (ev != NULL)
		libxl_event_free(lb.ctx, ev);
	if (deathw != NULL)
		libxl_evdisable_domain_death(lb.ctx, deathw);
	libxl_domain_config_dispose(&dc);
	libxl_ctx_free(lb.ctx);
	/* The lease goes with us: the domain can no longer write. */
	lholder_stop(&lh);
	_exit(0);
}

