/*
 * The root helper of a session.  It never reads the network: it serves
 * its network process one operation at a time over their socketpair, and
 * every operation is checked against the request the session began with
 * (the table below), so a network process that was taken over can ask
 * for no more than a peer allowed to send that request could.  Control
 * requests are scoped to the domain they name.
 *
 * When the network process ends, however it ends, the helper settles
 * what the session left half done with the rules of the migration
 * protocol (helper_recv_abandon, helper_src_abandon) and exits: the slot
 * and domain locks go with it.  (How it ended, a death by the seccomp
 * filter above all, the parent logs when it reaps it.)
 */
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domcfg.h"
#include "helper.h"
#include "hx.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

#define HELPER_MAX_TYPES	3

typedef int (*helper_fn)(struct helper *, struct json_object *, int *, int);

static int	helper_begin(struct helper *, struct json_object *, int *, int);
static int	helper_list(struct helper *, struct json_object *, int *, int);
static int	helper_host_info(struct helper *, struct json_object *, int *,
		    int);
static int	helper_facts(struct helper *, struct json_object *, int *, int);
static int	helper_create(struct helper *, struct json_object *, int *,
		    int);
static int	helper_destroy(struct helper *, struct json_object *, int *,
		    int);
static int	helper_slot(struct helper *, char *, size_t);
static int	helper_reserve(struct helper *, struct json_object *, int *,
		    int);
static int	helper_domfacts(struct helper *, struct json_object *, int *,
		    int);
static int	helper_query(struct helper *, int, struct json_object *);

/*
 * Which operation each request may ask for.  The three views are also
 * the whole root side of a read-only request (RQ_SHARED), which begins
 * nothing: the operation names the request (HX_LIST is a list, HX_FACTS
 * a precheck), so relocd-priv answers it without a begin.
 */
#define HELPER_UNBEGUN	-1	/* in types: also before any begin */

static const struct helper_op {
	int		 op;
	int		 types[HELPER_MAX_TYPES];
	helper_fn	 fn;
} helper_ops[] = {
	{ HX_LIST,		{ PT_LIST, HELPER_UNBEGUN },	helper_list },
	{ HX_HOST_INFO,		{ PT_HOST_INFO, HELPER_UNBEGUN },
	    helper_host_info },
	{ HX_FACTS,		{ PT_PREFLIGHT, PT_MIGRATE_RECEIVE,
	    HELPER_UNBEGUN },					helper_facts },
	{ HX_DOMFACTS,		{ PT_CTL_MIGRATE, HELPER_UNBEGUN },
	    helper_domfacts },
	{ HX_CREATE,		{ PT_CTL_CREATE },		helper_create },
	{ HX_DESTROY,		{ PT_CTL_DESTROY },		helper_destroy },
	{ HX_CANCEL,		{ PT_CTL_CANCEL },		helper_cancel },
	{ HX_FORCE_LOOKUP,	{ PT_CTL_FORCE, PT_FORCE },	helper_force_lookup },
	{ HX_FORCE_START,	{ PT_CTL_FORCE, PT_FORCE },	helper_force_start },
	{ HX_MAINTENANCE,	{ PT_CTL_MAINTENANCE },
	    helper_maintenance },
	{ HX_RESERVE,		{ PT_MIGRATE_RECEIVE },	helper_reserve },
	{ HX_RECV_BEGIN,	{ PT_MIGRATE_RECEIVE },	helper_recv_begin },
	{ HX_RECV_RESTORE,	{ PT_MIGRATE_RECEIVE },	helper_recv_restore },
	{ HX_RECV_GO,		{ PT_MIGRATE_RECEIVE },	helper_recv_go },
	{ HX_RECV_REPORTED,	{ PT_MIGRATE_RECEIVE },	helper_recv_reported },
	{ HX_RECV_ABORT,	{ PT_MIGRATE_RECEIVE },	helper_recv_abort },
	{ HX_RECV_DISK,		{ PT_MIGRATE_RECEIVE },	helper_recv_disk },
	{ HX_RECV_DISK_VERIFY,	{ PT_MIGRATE_RECEIVE },
	    helper_recv_disk_verify },
	{ HX_RECV_DISK_DONE,	{ PT_MIGRATE_RECEIVE },	helper_recv_disk_done },
	{ HX_SRC_BEGIN,		{ PT_CTL_MIGRATE },		helper_src_begin },
	{ HX_SRC_STREAM,	{ PT_CTL_MIGRATE },		helper_src_stream },
	{ HX_SRC_READY,		{ PT_CTL_MIGRATE },		helper_src_ready },
	{ HX_SRC_REPORT,	{ PT_CTL_MIGRATE },		helper_src_report },
	{ HX_SRC_LOST,		{ PT_CTL_MIGRATE },		helper_src_lost },
	{ HX_SRC_ABORT,		{ PT_CTL_MIGRATE },		helper_src_abort },
	{ HX_SRC_DISK,		{ PT_CTL_MIGRATE },		helper_src_disk },
	{ HX_SRC_DISK_PROGRESS,	{ PT_CTL_MIGRATE },
	    helper_src_disk_progress },
	{ HX_CONSOLE_OPEN,	{ PT_CONSOLE },		helper_console_open },
	{ HX_CONSOLE_CHECK,	{ PT_CONSOLE },		helper_console_check },
	{ HX_JOBS,		{ PT_CTL_JOBS, PT_CTL_RECOVER },	helper_jobs },
	{ HX_RECOVER_COPIES,	{ PT_RECOVER, PT_CTL_RECOVER },
	    helper_recover_copies },
	{ HX_RECOVER_ACT,	{ PT_RECOVER, PT_CTL_RECOVER },
	    helper_recover_act },
	{ HX_RECOVER_MARK,	{ PT_RECOVER, PT_CTL_RECOVER },
	    helper_recover_mark },
};

int
helper_ok(struct helper *h, struct json_object *body, const int *fds,
    int nfds)
{
	char err[256];

	if (hx_send(h->fd, PT_OK, body, fds, nfds, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", h->who, err);
		return -1;
	}
	return 0;
}

int
helper_error(struct helper *h, const char *code, const char *fmt, ...)
{
	struct json_object *o;
	char msg[1536], err[256];
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (hx_send(h->fd, PT_ERROR, o, NULL, 0, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", h->who, err);
		rc = -1;
	}
	json_object_put(o);
	return rc;
}

int
helper_result(struct helper *h, struct json_object *body)
{
	char err[256];

	if (hx_send(h->fd, PT_RESULT, body, NULL, 0, err, sizeof(err)) ==
	    -1) {
		log_warnx("%s: %s", h->who, err);
		return -1;
	}
	return 0;
}

struct xo_ctx *
helper_backend(struct helper *h)
{
	char err[1024];

	if (h->xo == NULL &&
	    (h->xo = xo_open(h->conf, err, sizeof(err))) == NULL)
		helper_error(h, "backend", "%s", err);
	return h->xo;
}

/*
 * Slots are lock files: the kernel drops a lock when its holder exits,
 * however it exits, so the count never leaks, and sessions that outlive
 * a restarted parent still count.
 */
static int
helper_slot(struct helper *h, char *err, size_t errlen)
{
	char path[4096];
	int i, fd;

	for (i = 0; i < h->conf->max_migrations; i++) {
		snprintf(path, sizeof(path), "%s/slots/%d",
		    h->conf->state_dir, i);
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
		    -1) {
			snprintf(err, errlen, "migration slot %s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			h->slot_fd = fd;	/* held until we exit */
			return 0;
		}
		close(fd);
	}
	snprintf(err, errlen, "busy: %d migrations already in progress "
	    "(max_migrations = %d)", h->conf->max_migrations,
	    h->conf->max_migrations);
	return -1;
}

/*
 * A migration away holds state_dir/migrating/NAME, flock'ed, with the
 * destination written in it: a second migrate or a destroy of the domain
 * is refused at once, before anything is touched, and says where it is
 * going.  The lock goes with the helper, however it ends.
 */
int
helper_domain_lock(struct helper *h, const char *name, const char *host,
    char *err, size_t errlen)
{
	char dir[4096], path[4200], other[256];
	int fd;

	snprintf(dir, sizeof(dir), "%s/migrating", h->conf->state_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		if (helper_domain_busy(h->conf, name, other,
		    sizeof(other)) == NULL)
			snprintf(other, sizeof(other), "another host");
		snprintf(err, errlen, "%s is already migrating to %s", name,
		    other);
		return -1;
	}
	if (ftruncate(fd, 0) == -1 || pwrite(fd, host, strlen(host), 0) !=
	    (ssize_t)strlen(host)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	h->domlock_fd = fd;
	return 0;
}

const char *
helper_domain_busy(struct relocd_conf *conf, const char *name, char *host,
    size_t hostlen)
{
	char path[4200];
	ssize_t n;
	int fd, i;

	if (!domcfg_name_valid(name))
		return NULL;
	snprintf(path, sizeof(path), "%s/migrating/%s", conf->state_dir,
	    name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return NULL;		/* nobody holds it */
	}
	/* The holder writes its destination just after it takes the
	 * lock: give it a moment. */
	for (i = 0; (n = pread(fd, host, hostlen - 1, 0)) <= 0 && i < 20; i++)
		poll(NULL, 0, 5);
	close(fd);
	host[n > 0 ? n : 0] = '\0';
	if (*host == '\0')
		snprintf(host, hostlen, "another host");
	return host;
}

static int
helper_begin(struct helper *h, struct json_object *args, int *fds, int nfds)
{
	const struct request *rq;
	struct json_object *req;
	const char *dom;
	char err[512];
	int type = (int)proto_get_int(args, "type", -1);

	if (h->type != 0)
		return helper_error(h, "proto", "a request was already begun");
	if ((rq = request_find(type)) == NULL || !(rq->ports & h->port)) {
		log_warnx("%s: network process began %s, which this port does "
		    "not serve: refused", h->who, proto_type_name(type) ?
		    proto_type_name(type) : "an unknown request");
		return helper_error(h, "proto", "not a request this port "
		    "serves");
	}
	if (!json_object_object_get_ex(args, "request", &req) ||
	    !json_object_is_type(req, json_type_object))
		return helper_error(h, "proto", "begin without a request");
	/* A control request's scope: the domain it names, fixed before
	 * the network process talks to any other host. */
	if ((type == PT_CTL_MIGRATE || type == PT_CTL_DESTROY ||
	    type == PT_CTL_CANCEL) &&
	    (dom = proto_get_str(req, "domain")) != NULL)
		snprintf(h->scope, sizeof(h->scope), "%s", dom);
	if ((rq->flags & RQ_SLOT) && helper_slot(h, err, sizeof(err)) == -1) {
		log_warnx("%s: refused %s: %s", h->who, proto_type_name(type),
		    err);
		return helper_error(h, "busy", "%s", err);
	}
	h->type = type;
	return helper_ok(h, NULL, NULL, 0);
}

/* list, host-info and the facts prechecks judge: one view each. */
static int
helper_query(struct helper *h, int op, struct json_object *args)
{
	struct json_object *o;
	char err[1024];
	int rc;

	if (helper_backend(h) == NULL)
		return 0;
	if (op == HX_LIST)
		o = hostinfo_list_json(h->xo, err, sizeof(err));
	else if (op == HX_HOST_INFO)
		o = hostinfo_host_json(h->xo, h->conf, err, sizeof(err));
	else
		o = hostinfo_facts_json(h->xo, h->conf, args, h->reserve_fd,
		    err, sizeof(err));
	if (o == NULL)
		return helper_error(h, "backend", "%s", err);
	rc = helper_ok(h, o, NULL, 0);
	json_object_put(o);
	return rc;
}

static int
helper_list(struct helper *h, struct json_object *args, int *fds, int nfds)
{
	return helper_query(h, HX_LIST, args);
}

static int
helper_host_info(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	return helper_query(h, HX_HOST_INFO, args);
}

static int
helper_facts(struct helper *h, struct json_object *args, int *fds, int nfds)
{
	return helper_query(h, HX_FACTS, args);
}

/*
 * What xmig check needs of a domain here, read only: its config, state
 * and type, whether it is migrating, and what this host can log-dirty.
 * Answered by relocd-priv for any control client: the same a list and
 * a host-info would tell it, plus the config.
 */
static int
helper_domfacts(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *dom = proto_get_str(args, "domain"), *busy;
	struct json_object *cfg = NULL, *o;
	struct domcfg_info info;
	struct xo_hostinfo hi;
	struct xo_dominfo di;
	char err[512], host[256];
	uint32_t domid;
	int rc;

	if (dom == NULL)
		return helper_error(h, "usage", "no domain named");
	/* A config is the host's operators' business, not a peer's. */
	if (h->port != RQ_CONTROL)
		return helper_error(h, "proto", "domain facts are for the "
		    "control socket");
	if (helper_backend(h) == NULL)
		return 0;
	if (xo_lookup(h->xo, dom, &domid) != 0 ||
	    xo_info(h->xo, domid, &di) != 0)
		return helper_error(h, "notfound", "%s", xo_errmsg(h->xo));
	if (xo_config_get(h->xo, domid, &cfg) != 0 ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
		json_object_put(cfg);
		return helper_error(h, "backend", "%s: no usable config: %s",
		    di.name, xo_errmsg(h->xo));
	}
	memset(&hi, 0, sizeof(hi));
	if (xo_host_info(h->xo, &hi) != 0) {
		json_object_put(cfg);
		return helper_error(h, "backend", "%s", xo_errmsg(h->xo));
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(di.name));
	json_object_object_add(o, "state",
	    json_object_new_string(xo_state_name(di.state)));
	json_object_object_add(o, "type", json_object_new_string(info.type));
	json_object_object_add(o, "memory_kb",
	    json_object_new_int64((int64_t)info.memory_kb));
	json_object_object_add(o, "weight", json_object_new_int64(info.weight));
	json_object_object_add(o, "config", cfg);
	json_object_object_add(o, "cap_shadow",
	    json_object_new_int(hi.cap_shadow));
	/* Can a live migration copy its disks (xo_disk_dirty)? */
	json_object_object_add(o, "disk_dirty",
	    json_object_new_int(xo_has_disk_dirty(h->xo)));
	json_object_object_add(o, "backend",
	    json_object_new_string(xo_backend_name(h->xo)));
	json_object_object_add(o, "cap_hap", json_object_new_int(hi.cap_hap));
	json_object_object_add(o, "source", hostinfo_source_json(&hi));
	if (strlen(di.name) > DOMCFG_MIGRATE_NAME_MAX)
		json_object_object_add(o, "name_too_long",
		    json_object_new_int(1));
	if ((busy = helper_domain_busy(h->conf, di.name, host,
	    sizeof(host))) != NULL)
		json_object_object_add(o, "migrating_to",
		    json_object_new_string(busy));
	/* xmig check --copy-storage: what would be copied, or why not. */
	if (proto_get_int(args, "copy_storage", 0)) {
		struct json_object *offer, *skipped;

		if ((offer = storage_offer(h->conf, cfg, &skipped, err,
		    sizeof(err))) != NULL) {
			json_object_object_add(o, "copy", offer);
			if (skipped != NULL)
				json_object_object_add(o, "copy_skipped",
				    skipped);
		} else
			json_object_object_add(o, "copy_error",
			    json_object_new_string(err));
	}
	xo_hostinfo_dispose(&hi);
	rc = helper_ok(h, o, NULL, 0);
	json_object_put(o);
	return rc;
}

/* "Ready to receive": hold the memory and capacity until the end. */
static int
helper_reserve(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *name = proto_get_str(args, "domain"), *code;
	char reason[1024];
	int64_t kb = proto_get_int(args, "memory_kb", -1);
	int64_t weight = proto_get_int(args, "weight", 1);

	if (name == NULL || kb < 0 || weight < 0 || weight >
	    DOMCFG_WEIGHT_MAX)
		return helper_error(h, "proto", "reserve: bad arguments");
	if (helper_backend(h) == NULL)
		return 0;
	if (reserve_take(h, name, (uint64_t)kb, (unsigned)weight, &code,
	    reason, sizeof(reason)) == -1)
		return helper_error(h, code, "%s", reason);
	return helper_ok(h, NULL, NULL, 0);
}

/*
 * The domain runs here now: its record in cluster_dir says so, with the
 * config a survivor would start it from (the backend's, which has the
 * UUID the backend gave it).  A failure leaves the domain running and
 * says that a forced restart of it is not possible.
 */
void
helper_cluster_record(struct helper *h, uint32_t domid, const char *name)
{
	struct json_object *cfg = NULL;
	char err[1024];

	if (!cluster_enabled(h->conf))
		return;
	if (xo_config_get(h->xo, domid, &cfg) != 0)
		log_warnx("%s: %s runs, but its record in cluster_dir was not "
		    "written (no forced restart of it possible): %s", h->who,
		    name, xo_errmsg(h->xo));
	else if (cluster_record_put(h->conf, cfg, err, sizeof(err)) == -1)
		log_warnx("%s: %s runs, but its record in cluster_dir was not "
		    "written (no forced restart of it possible): %s", h->who,
		    name, err);
	json_object_put(cfg);
}

static int
helper_create(struct helper *h, struct json_object *args, int *fds, int nfds)
{
	struct json_object *cfg, *reply;
	struct domcfg_info info;
	uint32_t domid;
	char err[1024];
	int r, rc;

	if (!json_object_object_get_ex(args, "config", &cfg) ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1)
		return helper_error(h, "usage", "bad domain config: %s",
		    json_object_object_get_ex(args, "config", &cfg) ? err :
		    "missing");
	if (helper_backend(h) == NULL)
		return 0;
	if ((r = xo_create(h->xo, cfg, &domid)) != 0)
		return helper_error(h, r == XO_E_EXISTS ? "exists" : "backend",
		    "%s", xo_errmsg(h->xo));
	log_info("%s: created domain %s (id %u)", h->who, info.name, domid);
	helper_cluster_record(h, domid, info.name);
	reply = json_object_new_object();
	json_object_object_add(reply, "id", json_object_new_int64(domid));
	json_object_object_add(reply, "name", json_object_new_string(
	    info.name));
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

static int
helper_destroy(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *dom = proto_get_str(args, "domain");
	struct xo_dominfo di;
	uint32_t domid;
	char host[256];
	int r;

	if (dom == NULL || strcmp(dom, h->scope) != 0)
		return helper_error(h, "usage", "destroy: not the domain the "
		    "request named");
	if (helper_backend(h) == NULL)
		return 0;
	if ((r = xo_lookup(h->xo, dom, &domid)) != 0 ||
	    (r = xo_info(h->xo, domid, &di)) != 0)
		return helper_error(h, r == XO_E_NOTFOUND ? "notfound" :
		    "backend", "%s", xo_errmsg(h->xo));
	if (helper_domain_busy(h->conf, di.name, host, sizeof(host)) != NULL)
		return helper_error(h, "migrating", "%s is already migrating "
		    "to %s; not destroyed", di.name, host);
	if ((r = xo_destroy(h->xo, domid)) != 0)
		return helper_error(h, r == XO_E_NOTFOUND ? "notfound" :
		    "backend", "%s", xo_errmsg(h->xo));
	log_info("%s: destroyed domain %s (id %u)", h->who, di.name, domid);
	cluster_record_drop(h->conf, di.uuid);
	return helper_ok(h, NULL, NULL, 0);
}

/*
 * {"maintenance": "on" | "off"} sets it, {} only reads it.  Control
 * socket only (the request's row), so no peer can turn a host's
 * maintenance on or off.
 */
int
helper_maintenance(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct json_object *reply;
	const char *set = proto_get_str(args, "maintenance");
	char since[256], err[1024];
	int was, on, rc;

	if (set != NULL && strcmp(set, "on") != 0 && strcmp(set, "off") != 0)
		return helper_error(h, "usage", "maintenance: \"on\" or "
		    "\"off\", not \"%s\"", set);
	if ((was = maint_get(h->conf, NULL, 0, err, sizeof(err))) == -1)
		return helper_error(h, "journal", "%s", err);
	on = was;
	if (set != NULL) {
		on = strcmp(set, "on") == 0;
		/* Already so: left as it is, so "since" keeps saying when
		 * and by whom it was turned on. */
		if (on != was && maint_set(h->conf, on, h->who, err,
		    sizeof(err)) == -1) {
			log_warnx("%s: maintenance %s: %s", h->who, set, err);
			return helper_error(h, "journal", "maintenance %s: "
			    "%s", set, err);
		}
		if (on && !was)
			log_info("%s: maintenance on: incoming migrations are "
			    "refused until xmig maintenance off", h->who);
		if (!on && cluster_tombstones_clear(h->conf, err,
		    sizeof(err)) == -1)
			log_warnx("%s: tombstones of forced restarts: %s",
			    h->who, err);
		if (!on && was)
			log_info("%s: maintenance off: incoming migrations "
			    "are accepted%s", h->who,
			    h->conf->accept_migrations ? "" : " (but "
			    "accept_migrations = 0 in relocd.conf still "
			    "refuses them)");
	}
	if (maint_get(h->conf, since, sizeof(since), err, sizeof(err)) ==
	    -1)
		return helper_error(h, "journal", "%s", err);
	reply = json_object_new_object();
	json_object_object_add(reply, "maintenance",
	    json_object_new_boolean(on));
	json_object_object_add(reply, "changed",
	    json_object_new_boolean(on != was));
	json_object_object_add(reply, "accept_migrations",
	    json_object_new_boolean(h->conf->accept_migrations && !on));
	if (on && *since != '\0')
		json_object_object_add(reply, "since",
		    json_object_new_string(since));
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

void
helper_init(struct helper *h, struct relocd_conf *conf, int fd, int port,
    const struct peer_ctx *pc)
{
	int i;

	memset(h, 0, sizeof(*h));
	h->conf = conf;
	h->fd = fd;
	h->port = port;
	h->slot_fd = h->domlock_fd = h->reserve_fd = -1;
	for (i = 0; i < DISKCOPY_MAX_DISKS; i++)
		h->recv.copy_fd[i] = -1;
	journal_init(&h->recv.jr);
	journal_init(&h->src.jr);
	snprintf(h->who, sizeof(h->who), "%s", pc->addr);
}

/* One operation, checked against the request the session began. */
void
helper_handle(struct helper *h, int type, struct json_object *args,
    int *fds, int nfds)
{
	const struct helper_op *op = NULL;
	size_t i;
	int j, allowed = 0;

	for (i = 0; i < sizeof(helper_ops) / sizeof(helper_ops[0]); i++)
		if (helper_ops[i].op == type)
			op = &helper_ops[i];
	for (j = 0; op != NULL && j < HELPER_MAX_TYPES; j++)
		if ((op->types[j] != 0 && op->types[j] == h->type) ||
		    (op->types[j] == HELPER_UNBEGUN && h->type == 0))
			allowed = 1;
	if (type == HX_BEGIN)
		helper_begin(h, args, fds, nfds);
	else if (!allowed) {
		log_warnx("%s: network process asked for %s during %s: "
		    "refused", h->who, hx_op_name(type) ? hx_op_name(type) :
		    "?", h->type ? proto_type_name(h->type) : "no request");
		helper_error(h, "proto", "%s is not part of this request",
		    hx_op_name(type) ? hx_op_name(type) : "?");
	} else
		op->fn(h, args, fds, nfds);
}

void
helper_run(struct helper *h, int net_pidfd)
{
	struct json_object *args = NULL;
	char err[512];
	int fds[HX_MAX_FDS], nfds, type, i;

	if (net_pidfd != -1)
		cancel_helper_init(net_pidfd);
	while (hx_recv(h->fd, &type, &args, fds, &nfds, err,
	    sizeof(err)) == 0) {
		helper_handle(h, type, args, fds, nfds);
		for (i = 0; i < nfds; i++)
			if (fds[i] != -1)
				close(fds[i]);
		json_object_put(args);
		args = NULL;
	}
	if (strcmp(err, "helper channel: closed") != 0) {
		/* Broke the protocol: it gets nothing more from us. */
		log_warnx("%s: %s", h->who, err);
		if (net_pidfd != -1)
			pidfd_send_signal(net_pidfd, SIGKILL, NULL, 0);
	}
	/* The network process is gone or broke the protocol: settle. */
	helper_recv_abandon(h);
	helper_src_abandon(h);
	helper_dispose(h);
}

void
helper_dispose(struct helper *h)
{
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	xo_close(h->xo);
	h->xo = NULL;
	json_object_put(h->recv.cfg);
	h->recv.cfg = NULL;
	journal_dispose(&h->recv.jr);
	journal_dispose(&h->src.jr);
	/* Whatever is left was settled (kept or removed) on its path. */
	helper_recv_copies_close(h);
	helper_src_copies_free(h);
	reserve_release(h);
	if (h->domlock_fd != -1)
		close(h->domlock_fd);
	if (h->slot_fd != -1)
		close(h->slot_fd);
	h->domlock_fd = h->slot_fd = -1;
}

void
helper_serve(struct relocd_conf *conf, int fd, int port,
    const struct peer_ctx *pc, int net_pidfd)
{
	struct helper h;

	helper_init(&h, conf, fd, port, pc);
	helper_run(&h, net_pidfd);
	if (net_pidfd != -1)
		close(net_pidfd);
}
