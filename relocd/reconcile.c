/*
 * Never two, never none: the root side of recovery.
 *
 * recover_reconcile: at start, before accepting, and whenever a session
 * dies with its record unsettled, settle every journaled migration
 * whose session is gone, by the table in relocd.8:
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
 * The helper operations behind xmig jobs and xmig recover (recover.c):
 * the copies of a domain here, one action on them, and marking its
 * records settled.  A peer may act only on domains this host's journal
 * knows and no session is migrating.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domcfg.h"
#include "helper.h"
#include "journal.h"
#include "log.h"
#include "recover.h"
#include "relocd.h"
#include "xenops.h"

static const char *recover_suffix[3] = { "", DOMCFG_SUFFIX_AWAY,
	DOMCFG_SUFFIX_INCOMING };

static void	recover_one(struct relocd_conf *, struct xo_ctx *, const char *,
		    struct json_object *);
static int	recover_unsettled(struct json_object *);
static int	recover_copies_get(struct relocd_conf *, struct xo_ctx *,
		    const char *, struct recover_copies *);
static int	recover_act(struct xo_ctx *, const char *, const char *,
		    char *, size_t);
static void	recover_mark(struct relocd_conf *, const char *,
		    const char *);
static void	recover_copies_remove(struct relocd_conf *, const char *,
		    struct json_object *);

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

	snprintf(away, sizeof(away), "%s%s", name, DOMCFG_SUFFIX_AWAY);
	snprintf(inc, sizeof(inc), "%s%s", name, DOMCFG_SUFFIX_INCOMING);
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
	int fd, drop_copies = 0, unknown = 0;

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
			    peer ? peer : "?", name, DOMCFG_SUFFIX_AWAY, name,
			    peer ? peer : "");
			newphase = "unknown";
			unknown = 1;
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
			drop_copies = 1;
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
		/* Before "go" the sender keeps its disks: the copies made
		 * here for it (--copy-storage) are partial, or unused. */
		if (drop_copies)
			recover_copies_remove(conf, name, o);
	}
	snprintf(m, sizeof(m), "%s", msg);
	json_object_object_del(o, "alive");
	json_object_object_add(o, "phase", json_object_new_string(newphase));
	json_object_object_add(o, "message", json_object_new_string(m));
	if (unknown)
		json_object_object_add(o, "exit", json_object_new_int(3));
	if (journal_write(dir, id, o, err, sizeof(err)) == -1)
		log_warnx("%s", err);
out:
	close(fd);
}

/* The disk copies a destination's record names: files ("copies") and
 * the LVs it made ("copies_lv", VG/LV). */
static void
recover_copies_remove(struct relocd_conf *conf, const char *name,
    struct json_object *o)
{
	struct json_object *arr;
	const char *path;
	char err[1024];
	size_t i, n;

	if (json_object_object_get_ex(o, "copies_lv", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			path = json_object_get_string(
			    json_object_array_get_idx(arr, i));
			if (path == NULL)
				continue;
			if (helper_lv_remove(conf, path, err,
			    sizeof(err)) == 0)
				log_warnx("recovered the migration of %s: "
				    "removed the partial disk copy, the "
				    "logical volume %s", name, path);
			else
				log_warnx("recovering the migration of %s: "
				    "removing the partial disk copy, the "
				    "logical volume %s: %s", name, path, err);
		}
	}
	if (!json_object_object_get_ex(o, "copies", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		path = json_object_get_string(json_object_array_get_idx(arr,
		    i));
		if (path == NULL || *path != '/')
			continue;
		if (unlink(path) == 0)
			log_warnx("recovered the migration of %s: removed the "
			    "partial disk copy %s", name, path);
		else if (errno != ENOENT)
			log_warn("recovering the migration of %s: removing the "
			    "partial disk copy %s", name, path);
	}
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

/* A running migration away's progress, next to its record (helper_send). */
static void
jobs_add_progress(const char *dir, struct json_object *arr)
{
	struct json_object *o, *p;
	char path[4400];
	const char *id;
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if ((id = proto_get_str(o, "id")) == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s.progress", dir, id);
		/* Left by a helper that died before it could remove it. */
		if (!proto_get_int(o, "alive", 0)) {
			unlink(path);
			continue;
		}
		if ((p = journal_read_object(path)) != NULL)
			json_object_object_add(o, "progress", p);
	}
}

int
helper_jobs(struct helper *h, struct json_object *args, int *fds, int nfds)
{
	struct json_object *arr = NULL, *reply;
	char dir[4096], err[512];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", h->conf->state_dir,
	    JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return helper_error(h, "journal", "%s", err);
	jobs_add_progress(dir, arr);
	reply = json_object_new_object();
	json_object_object_add(reply, "jobs", arr);
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

int
helper_recover_copies(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *name = proto_get_str(args, "domain");
	struct recover_copies c;
	struct json_object *reply;
	int rc;

	if (name == NULL || !domcfg_name_valid(name))
		return helper_error(h, "usage", "recover: need a domain name");
	if (helper_backend(h) == NULL)
		return 0;
	if (recover_copies_get(h->conf, h->xo, name, &c) == -1)
		return helper_error(h, "journal", "cannot read the journal");
	reply = recover_copies_json(&c);
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

int
helper_recover_act(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *name = proto_get_str(args, "domain");
	const char *action = proto_get_str(args, "action");
	struct recover_copies c;
	char err[1024];

	if (name == NULL || action == NULL || !domcfg_name_valid(name))
		return helper_error(h, "usage", "recover: need a domain and "
		    "an action");
	if (helper_backend(h) == NULL)
		return 0;
	if (recover_copies_get(h->conf, h->xo, name, &c) == -1)
		return helper_error(h, "journal", "cannot read the journal");
	if (h->port == RQ_PEER) {
		/* A peer may only settle migrations this host took part
		 * in: an allowed host is not thereby allowed to destroy or
		 * resume any suspended domain here. */
		if (!c.known)
			return helper_error(h, "refused", "recover: this "
			    "host's journal has no migration of %s", name);
		if (c.busy)
			return helper_error(h, "busy", "a migration of %s is "
			    "still in progress on this host, or awaits "
			    "reconciliation", name);
	}
	if (recover_act(h->xo, name, action, err, sizeof(err)) == -1)
		return helper_error(h, "backend", "%s", err);
	log_warnx("%s: recover %s: %s done", h->who, name, action);
	return helper_recover_copies(h, args, fds, nfds);
}

int
helper_recover_mark(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *name = proto_get_str(args, "domain");
	const char *msg = proto_get_str(args, "message");

	if (name == NULL || msg == NULL || !domcfg_name_valid(name))
		return helper_error(h, "usage", "recover: need a domain and "
		    "a message");
	recover_mark(h->conf, name, msg);
	return helper_ok(h, NULL, NULL, 0);
}
