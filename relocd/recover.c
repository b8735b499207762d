/*
 * Never two, never none.  Three jobs:
 *
 * recover_reconcile: at start, before accepting, settle every journaled
 * migration whose worker is gone, by the table in relocd.8:
 *	source, before "go" (preflight, stream, rename, resume):
 *	    rename NAME--migratedaway back, resume here
 *	source, "go" recorded, no report (unknown): leave it alone, log it
 *	    loudly; xmig jobs shows it, xmig recover settles it
 *	source, report received (reported): destroy the copy here
 *	destination, before "go" (receive, ready, destroy):
 *	    destroy NAME--incoming
 *	destination, "go" recorded: the domain is ours (xl's rule); finish
 *	    starting it (rename to NAME, unpause)
 *
 * recover_serve_control: xmig recover DOM [HOST] asks this host and HOST
 * which copies exist and makes exactly one run; it refuses to guess when
 * a host cannot be asked or a migration of DOM is still running.
 *
 * recover_serve_peer: the other host's half of that (PT_RECOVER).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domcfg.h"
#include "journal.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

#define AWAY_SUFFIX	"--migratedaway"
#define INCOMING_SUFFIX	"--incoming"

/* Which copies of one domain a host holds. */
struct recover_copies {
	int		 have[3];	/* NAME, --migratedaway, --incoming */
	uint32_t	 domid[3];
	enum xo_state	 state[3];
	int		 busy;		/* a live worker migrates it */
	int		 known;		/* the journal here has a record */
};
#define RC_NAME		0
#define RC_AWAY		1
#define RC_INCOMING	2

static const char *recover_suffix[3] = { "", AWAY_SUFFIX, INCOMING_SUFFIX };

static void	recover_one(struct relocd_conf *, struct xo_ctx *, const char *,
		    struct json_object *);
static int	recover_unsettled(struct json_object *);
static int	recover_copies_get(struct relocd_conf *, struct xo_ctx *,
		    const char *, struct recover_copies *);
static int	recover_act(struct xo_ctx *, const char *, const char *,
		    char *, size_t);
static void	recover_mark(struct relocd_conf *, const char *,
		    const char *);
static struct json_object *recover_copies_json(const struct recover_copies *);
static void	recover_copies_from_json(struct json_object *,
		    struct recover_copies *);
static int	recover_peer_call(struct relocd_conf *, SSL_CTX *,
		    const char *, const char *, const char *,
		    struct recover_copies *, char *, size_t);
static const char *recover_peer_from_journal(struct relocd_conf *,
		    const char *, char *, size_t);

/* Left by a worker that died, for the reconciliation table. */
static int
recover_unsettled(struct json_object *o)
{
	const char *phase = proto_get_str(o, "phase");

	/* A record its worker ended ("exit" set) waits for a restart or
	 * xmig recover; "unknown" waits for xmig recover. */
	return !proto_get_int(o, "alive", 0) &&
	    !json_object_object_get_ex(o, "exit", NULL) &&
	    !journal_phase_final(phase) &&
	    (phase == NULL || strcmp(phase, "unknown") != 0);
}

static int
recover_copies_get(struct relocd_conf *conf, struct xo_ctx *xo,
    const char *name, struct recover_copies *c)
{
	struct json_object *arr = NULL, *o, *v;
	struct xo_dominfo di;
	char n[DOMCFG_NAME_MAX + 32], dir[4096], err[256];
	size_t i, len;
	int k;

	memset(c, 0, sizeof(*c));
	for (k = 0; k < 3; k++) {
		snprintf(n, sizeof(n), "%s%s", name, recover_suffix[k]);
		if (xo_lookup(xo, n, &c->domid[k]) == 0 &&
		    xo_info(xo, c->domid[k], &di) == 0) {
			c->have[k] = 1;
			c->state[k] = di.state;
		}
	}
	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return -1;
	/* Busy: a worker runs it, or a dead worker's record waits for the
	 * reconciliation, which would act on the same copies. */
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		o = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(o, "domain", &v) ||
		    strcmp(json_object_get_string(v), name) != 0)
			continue;
		c->known = 1;
		if (proto_get_int(o, "alive", 0) || recover_unsettled(o))
			c->busy = 1;
	}
	json_object_put(arr);
	return 0;
}

/*
 * One action on this host's copies of NAME: "resume" (the suspended
 * NAME--migratedaway becomes NAME and runs), "destroy-away",
 * "destroy-incoming", "start" (NAME--incoming becomes NAME and runs).
 */
static int
recover_act(struct xo_ctx *xo, const char *name, const char *action,
    char *err, size_t errlen)
{
	char away[DOMCFG_NAME_MAX + 32], inc[DOMCFG_NAME_MAX + 32];
	struct xo_dominfo di;
	uint32_t domid;

	snprintf(away, sizeof(away), "%s%s", name, AWAY_SUFFIX);
	snprintf(inc, sizeof(inc), "%s%s", name, INCOMING_SUFFIX);
	if (strcmp(action, "resume") == 0) {
		if (xo_lookup(xo, away, &domid) == 0 &&
		    xo_rename(xo, domid, away, name) != 0)
			goto fail;
		if (xo_lookup(xo, name, &domid) != 0 ||
		    xo_info(xo, domid, &di) != 0)
			goto fail;
		if (di.state != XO_RUNNING && xo_resume(xo, domid) != 0)
			goto fail;
		return 0;
	}
	if (strcmp(action, "start") == 0 ||
	    strcmp(action, "start-paused") == 0) {
		if (xo_lookup(xo, inc, &domid) == 0 &&
		    xo_rename(xo, domid, inc, name) != 0)
			goto fail;
		if (action[5] != '\0')
			return 0;	/* migrated with --paused */
		if (xo_lookup(xo, name, &domid) != 0 ||
		    xo_info(xo, domid, &di) != 0)
			goto fail;
		if (di.state == XO_PAUSED && xo_unpause(xo, domid) != 0)
			goto fail;
		return 0;
	}
	if (strcmp(action, "destroy-away") == 0 ||
	    strcmp(action, "destroy-incoming") == 0) {
		if (xo_lookup(xo, action[8] == 'a' ? away : inc, &domid) != 0)
			return 0;	/* already gone */
		if (xo_destroy(xo, domid) != 0)
			goto fail;
		return 0;
	}
	snprintf(err, errlen, "unknown recovery action \"%s\"", action);
	return -1;
fail:
	snprintf(err, errlen, "%s: %s", action, xo_errmsg(xo));
	return -1;
}

/* Settled: every unfinished record of NAME whose worker is gone. */
static void
recover_mark(struct relocd_conf *conf, const char *name, const char *msg)
{
	struct json_object *arr = NULL, *o, *v;
	char dir[4096], err[256];
	const char *id;
	size_t i, len;
	int fd;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return;
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		o = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(o, "domain", &v) ||
		    strcmp(json_object_get_string(v), name) != 0 ||
		    proto_get_int(o, "alive", 0) ||
		    journal_phase_final(proto_get_str(o, "phase")))
			continue;
		id = proto_get_str(o, "id");
		if ((fd = journal_lock(dir, id)) == -1)
			continue;
		json_object_object_del(o, "alive");
		json_object_object_add(o, "phase",
		    json_object_new_string("recovered"));
		json_object_object_add(o, "message",
		    json_object_new_string(msg));
		if (journal_write(dir, id, o, err, sizeof(err)) == -1)
			log_warnx("%s", err);
		close(fd);
	}
	json_object_put(arr);
}

/* One record whose worker is gone: the reconciliation table. */
static void
recover_one(struct relocd_conf *conf, struct xo_ctx *xo, const char *dir,
    struct json_object *o)
{
	const char *id, *role, *name, *phase, *peer;
	const char *action = NULL, *newphase = NULL, *msg = NULL;
	char err[512], m[1024];
	int fd;

	id = proto_get_str(o, "id");
	role = proto_get_str(o, "role");
	name = proto_get_str(o, "domain");
	phase = proto_get_str(o, "phase");
	peer = proto_get_str(o, "peer");
	if (id == NULL || role == NULL || name == NULL || phase == NULL)
		return;
	if (journal_phase_final(phase))
		return;
	if ((fd = journal_lock(dir, id)) == -1)
		return;		/* a worker took it meanwhile */
	if (strcmp(role, JOURNAL_SOURCE) == 0) {
		if (strcmp(phase, "go") == 0 || strcmp(phase, "unknown") == 0) {
			log_crit("migration of %s to %s: \"go\" was sent and "
			    "no report came back: the outcome is unknown. The "
			    "copy here stays suspended as %s%s. CHECK BOTH "
			    "HOSTS, or run: xmig recover %s %s", name,
			    peer ? peer : "?", name, AWAY_SUFFIX, name,
			    peer ? peer : "");
			newphase = "unknown";
			msg = "go sent, no report: outcome unknown; run xmig "
			    "recover";
		} else if (strcmp(phase, "reported") == 0) {
			action = "destroy-away";
			newphase = "done";
			msg = "ran at the destination; the copy here was "
			    "destroyed on reconciliation";
		} else {
			action = "resume";
			newphase = "failed";
			msg = "interrupted before go; resumed here on "
			    "reconciliation";
		}
	} else {
		if (strcmp(phase, "go") == 0) {
			action = proto_get_int(o, "paused", 0) ?
			    "start-paused" : "start";
			newphase = "done";
			msg = "go had been received; started here on "
			    "reconciliation";
		} else {
			action = "destroy-incoming";
			newphase = "failed";
			msg = "interrupted before go; the incoming copy was "
			    "destroyed on reconciliation (the sender keeps it)";
		}
	}
	if (action != NULL) {
		if (recover_act(xo, name, action, err, sizeof(err)) == -1) {
			log_crit("recovering the migration of %s (%s, phase "
			    "%s): %s; check both hosts", name, role, phase,
			    err);
			goto out;
		}
		log_warnx("recovered the migration of %s (%s, phase %s): %s",
		    name, role, phase, msg);
	}
	snprintf(m, sizeof(m), "%s", msg);
	json_object_object_del(o, "alive");
	json_object_object_add(o, "phase", json_object_new_string(newphase));
	json_object_object_add(o, "message", json_object_new_string(m));
	if (strcmp(newphase, "unknown") == 0)
		json_object_object_add(o, "exit", json_object_new_int(3));
	if (journal_write(dir, id, o, err, sizeof(err)) == -1)
		log_warnx("%s", err);
out:
	close(fd);
}

void
recover_reconcile(struct relocd_conf *conf)
{
	struct json_object *arr = NULL, *o;
	struct xo_ctx *xo = NULL;
	char dir[4096], err[1024];
	size_t i, len;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1) {
		log_warnx("reconciling migrations: %s", err);
		return;
	}
	len = json_object_array_length(arr);
	if (len == 0)
		goto out;
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		log_crit("reconciling migrations: %s", err);
		goto out;
	}
	for (i = 0; i < len; i++) {
		o = json_object_array_get_idx(arr, i);
		if (proto_get_int(o, "alive", 0)) {
			if (!journal_phase_final(proto_get_str(o, "phase")))
				log_info("migration of %s (%s) is still run by "
				    "worker %lld; left to it",
				    proto_get_str(o, "domain"),
				    proto_get_str(o, "role"),
				    (long long)proto_get_int(o, "pid", 0));
			continue;
		}
		recover_one(conf, xo, dir, o);
	}
out:
	xo_close(xo);
	json_object_put(arr);
}

int
recover_pending(struct relocd_conf *conf)
{
	struct json_object *arr = NULL, *o;
	char dir[4096], err[256];
	size_t i, len;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return 0;
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		o = json_object_array_get_idx(arr, i);
		if (recover_unsettled(o))
			n++;
	}
	json_object_put(arr);
	return n > 0;
}

void
recover_serve_jobs(struct relocd_conf *conf, struct iochan *ioc)
{
	struct json_object *arr = NULL, *reply;
	char dir[4096], err[512];

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1) {
		proto_send_error(ioc, "journal", "%s", err);
		return;
	}
	reply = json_object_new_object();
	json_object_object_add(reply, "jobs", arr);
	proto_send(ioc, PT_OK, reply);
	json_object_put(reply);
}

static struct json_object *
recover_copies_json(const struct recover_copies *c)
{
	struct json_object *o = json_object_new_object();
	static const char *key[3] = { "name", "away", "incoming" };
	int k;

	for (k = 0; k < 3; k++)
		json_object_object_add(o, key[k], c->have[k] ?
		    json_object_new_string(xo_state_name(c->state[k])) :
		    NULL);
	json_object_object_add(o, "busy", json_object_new_int(c->busy));
	return o;
}

static void
recover_copies_from_json(struct json_object *o, struct recover_copies *c)
{
	static const char *key[3] = { "name", "away", "incoming" };
	const char *s;
	enum xo_state st;
	int k;

	memset(c, 0, sizeof(*c));
	for (k = 0; k < 3; k++) {
		if ((s = proto_get_str(o, key[k])) == NULL)
			continue;
		c->have[k] = 1;
		c->state[k] = XO_CRASHED;	/* unknown: not runnable */
		for (st = XO_RUNNING; st <= XO_DYING; st++)
			if (strcmp(s, xo_state_name(st)) == 0)
				c->state[k] = st;
	}
	c->busy = proto_get_int(o, "busy", 0) != 0;
}

/* PT_RECOVER from another host: {domain, action}; answers the copies. */
void
recover_serve_peer(struct relocd_conf *conf, struct iochan *ioc,
    struct peer_ctx *pc, struct json_object *req)
{
	const char *name = proto_get_str(req, "domain");
	const char *action = proto_get_str(req, "action");
	struct recover_copies c;
	struct json_object *reply = NULL;
	struct xo_ctx *xo = NULL;
	char err[1024];

	if (name == NULL || action == NULL) {
		proto_send_error(ioc, "proto", "recover: need a domain and an "
		    "action");
		return;
	}
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		proto_send_error(ioc, "backend", "%s", err);
		return;
	}
	if (recover_copies_get(conf, xo, name, &c) == -1) {
		proto_send_error(ioc, "journal", "cannot read the journal");
		goto out;
	}
	if (strcmp(action, "query") != 0) {
		/* A peer may only settle migrations this host took part
		 * in: an allowed host is not thereby allowed to destroy or
		 * resume any suspended domain here. */
		if (!c.known) {
			proto_send_error(ioc, "refused", "recover: this host's "
			    "journal has no migration of %s", name);
			goto out;
		}
		if (c.busy) {
			proto_send_error(ioc, "busy", "a migration of %s is "
			    "still in progress on this host, or awaits "
			    "reconciliation", name);
			goto out;
		}
		if (recover_act(xo, name, action, err, sizeof(err)) == -1) {
			proto_send_error(ioc, "backend", "%s", err);
			goto out;
		}
		log_warnx("%s (%s): recover %s: %s done", pc->addr,
		    pc->id.subject, name, action);
		recover_mark(conf, name, "settled by xmig recover");
		recover_copies_get(conf, xo, name, &c);
	}
	reply = recover_copies_json(&c);
	proto_send(ioc, PT_OK, reply);
out:
	json_object_put(reply);
	xo_close(xo);
}

static int
recover_peer_call(struct relocd_conf *conf, SSL_CTX *tls, const char *spec,
    const char *name, const char *action, struct recover_copies *c,
    char *err, size_t errlen)
{
	struct peer_conn pc;
	struct json_object *req, *reply = NULL;
	char host[256], e[1024];
	int port, rc = -1;

	peer_conn_init(&pc);
	if (peer_parse_hostport(spec, conf->relocation_port, host,
	    sizeof(host), &port) == -1) {
		snprintf(err, errlen, "malformed host \"%s\"", spec);
		return -1;
	}
	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string(name));
	json_object_object_add(req, "action", json_object_new_string(action));
	if (peer_connect(conf, tls, host, port, &pc, e, sizeof(e)) == -1 ||
	    peer_request(&pc, PT_RECOVER, req, &reply, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s", e);
		goto out;
	}
	recover_copies_from_json(reply, c);
	rc = 0;
out:
	json_object_put(req);
	json_object_put(reply);
	peer_conn_dispose(&pc);
	return rc;
}

/* The other host of DOM's newest journaled migration here. */
static const char *
recover_peer_from_journal(struct relocd_conf *conf, const char *name,
    char *buf, size_t len)
{
	struct json_object *arr = NULL, *o, *v;
	char dir[4096], err[256];
	const char *found = NULL, *peer;
	size_t i, n;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return NULL;
	n = json_object_array_length(arr);
	for (i = n; i > 0; i--) {
		o = json_object_array_get_idx(arr, i - 1);
		if (!json_object_object_get_ex(o, "domain", &v) ||
		    strcmp(json_object_get_string(v), name) != 0 ||
		    (peer = proto_get_str(o, "peer")) == NULL || *peer == '\0')
			continue;
		if (strcmp(proto_get_str(o, "role"), JOURNAL_SOURCE) == 0 &&
		    proto_get_int(o, "port", 0) > 0)
			snprintf(buf, len, "%s:%lld", peer,
			    (long long)proto_get_int(o, "port", 0));
		else
			snprintf(buf, len, "%s", peer);
		found = buf;
		break;
	}
	json_object_put(arr);
	return found;
}

static void
recover_reply(struct iochan *ioc, int exitcode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
recover_reply(struct iochan *ioc, int exitcode, const char *fmt, ...)
{
	struct json_object *o;
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (exitcode == 0)
		log_info("recover: %s", msg);
	else
		log_warnx("recover: %s", msg);
	o = json_object_new_object();
	json_object_object_add(o, "exit", json_object_new_int(exitcode));
	json_object_object_add(o, "message", json_object_new_string(msg));
	proto_send(ioc, PT_OK, o);
	json_object_put(o);
}

/*
 * xmig recover DOM [HOST]: exactly one copy runs afterwards, or nothing
 * is touched and the reply says why.
 */
void
recover_serve_control(struct relocd_conf *conf, SSL_CTX *tls,
    struct iochan *ioc, struct json_object *req)
{
	const char *name = proto_get_str(req, "domain");
	const char *spec = proto_get_str(req, "host");
	struct recover_copies l, r;
	struct xo_ctx *xo = NULL;
	char hostbuf[300], err[1024], e2[1024];
	int nname;

	if (name == NULL || *name == '\0') {
		proto_send_error(ioc, "usage", "recover: no domain named");
		return;
	}
	if (spec == NULL && (spec = recover_peer_from_journal(conf, name,
	    hostbuf, sizeof(hostbuf))) == NULL) {
		recover_reply(ioc, 2, "recover: the journal here knows no "
		    "migration of %s; name the other host: xmig recover %s "
		    "HOST", name, name);
		return;
	}
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		recover_reply(ioc, 1, "%s", err);
		return;
	}
	if (recover_copies_get(conf, xo, name, &l) == -1) {
		recover_reply(ioc, 1, "cannot read the journal here");
		goto out;
	}
	if (recover_peer_call(conf, tls, spec, name, "query", &r, err,
	    sizeof(err)) == -1) {
		recover_reply(ioc, 1, "cannot ask %s about %s (%s): refusing "
		    "to guess; nothing was changed. Try again when %s answers",
		    spec, name, err, spec);
		goto out;
	}
	if (l.busy || r.busy) {
		recover_reply(ioc, 1, "a migration of %s is still in progress "
		    "on %s, or its relocd has yet to reconcile it: wait for "
		    "it to end (xmig jobs) and try again; nothing was "
		    "changed", name, l.busy ? "this host" : spec);
		goto out;
	}
	nname = l.have[RC_NAME] + r.have[RC_NAME];
	if (nname == 2) {
		recover_reply(ioc, 1, "%s exists on both this host and %s: "
		    "refusing to guess which one to keep; nothing was "
		    "changed", name, spec);
		goto out;
	}
	if (l.have[RC_NAME]) {
		/* It is here: whatever is left elsewhere goes, and a copy
		 * left suspended by a failed resume runs again. */
		if ((l.state[RC_NAME] == XO_SUSPENDED &&
		    recover_act(xo, name, "resume", err, sizeof(err)) == -1) ||
		    recover_act(xo, name, "destroy-away", err,
		    sizeof(err)) == -1 ||
		    recover_act(xo, name, "destroy-incoming", err,
		    sizeof(err)) == -1 ||
		    recover_peer_call(conf, tls, spec, name, "destroy-away",
		    &r, err, sizeof(err)) == -1 ||
		    recover_peer_call(conf, tls, spec, name,
		    "destroy-incoming", &r, err, sizeof(err)) == -1) {
			recover_reply(ioc, 1, "%s runs here; removing leftover "
			    "copies failed: %s", name, err);
			goto out;
		}
		recover_mark(conf, name, "settled by xmig recover: runs here");
		recover_reply(ioc, 0, "%s runs here; no copy is left on %s",
		    name, spec);
		goto out;
	}
	if (r.have[RC_NAME]) {
		if ((r.state[RC_NAME] == XO_SUSPENDED &&
		    recover_peer_call(conf, tls, spec, name, "resume", &r, err,
		    sizeof(err)) == -1) ||
		    recover_act(xo, name, "destroy-away", err,
		    sizeof(err)) == -1 ||
		    recover_act(xo, name, "destroy-incoming", err,
		    sizeof(err)) == -1 ||
		    recover_peer_call(conf, tls, spec, name, "destroy-away",
		    &r, err, sizeof(err)) == -1) {
			recover_reply(ioc, 1, "%s runs on %s; removing "
			    "leftover copies failed: %s", name, spec, err);
			goto out;
		}
		recover_mark(conf, name, "settled by xmig recover: runs on the "
		    "other host");
		recover_reply(ioc, 0, "%s runs on %s; the suspended copy here "
		    "was destroyed", name, spec);
		goto out;
	}
	/* Nowhere under its own name: the suspended source copy resumes. */
	if (l.have[RC_AWAY]) {
		if (recover_peer_call(conf, tls, spec, name,
		    "destroy-incoming", &r, e2, sizeof(e2)) == -1) {
			recover_reply(ioc, 1, "%s does not run on %s, but its "
			    "incoming copy there could not be destroyed (%s): "
			    "refusing to resume it here; nothing was changed",
			    name, spec, e2);
			goto out;
		}
		if (recover_act(xo, name, "resume", err, sizeof(err)) == -1 ||
		    recover_act(xo, name, "destroy-incoming", err,
		    sizeof(err)) == -1) {
			recover_reply(ioc, 3, "resuming %s here failed: %s; it "
			    "runs nowhere: check this host", name, err);
			goto out;
		}
		recover_mark(conf, name, "settled by xmig recover: resumed at "
		    "the source");
		recover_reply(ioc, 0, "%s does not run on %s; resumed here",
		    name, spec);
		goto out;
	}
	if (r.have[RC_AWAY]) {
		if (recover_act(xo, name, "destroy-incoming", err,
		    sizeof(err)) == -1 ||
		    recover_peer_call(conf, tls, spec, name, "resume", &r, err,
		    sizeof(err)) == -1) {
			recover_reply(ioc, 3, "resuming %s on %s failed: %s; "
			    "it runs nowhere: check both hosts", name, spec,
			    err);
			goto out;
		}
		recover_mark(conf, name, "settled by xmig recover: resumed on "
		    "the other host");
		recover_reply(ioc, 0, "%s does not run here; resumed on %s",
		    name, spec);
		goto out;
	}
	if (l.have[RC_INCOMING] || r.have[RC_INCOMING]) {
		recover_reply(ioc, 1, "only an incoming copy of %s exists (on "
		    "%s) and no source copy: refusing to guess whether it is "
		    "complete; nothing was changed", name,
		    l.have[RC_INCOMING] ? "this host" : spec);
		goto out;
	}
	recover_reply(ioc, 1, "%s exists neither here nor on %s", name, spec);
out:
	xo_close(xo);
}
