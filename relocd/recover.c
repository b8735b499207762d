/*
 * Cross-host recovery: xmig recover DOM [HOST] asks this host and HOST
 * which copies of DOM exist and makes exactly one run; it refuses to
 * guess when a host cannot be asked or a migration of DOM is still
 * running.  recover_serve_peer is the other host's half (PT_RECOVER).
 * The copies are found and acted on by each host's root helper
 * (reconcile.c); this file only talks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"
#include "hx.h"
#include "journal.h"
#include "log.h"
#include "recover.h"
#include "relocd.h"

static int	recover_peer_call(struct worker *, const char *, const char *,
		    const char *, struct recover_copies *, char *, size_t);
static const char *recover_peer_from_journal(struct worker *, const char *,
		    char *, size_t);
static int	recover_local(struct worker *, int, const char *,
		    const char *, struct recover_copies *, char *, size_t);
static void	recover_mark(struct worker *, const char *, const char *);
static void	recover_reply(struct iochan *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

struct json_object *
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
	json_object_object_add(o, "known", json_object_new_int(c->known));
	return o;
}

void
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
	c->known = proto_get_int(o, "known", 0) != 0;
}

/* One helper operation on this host's copies; their state after it. */
static int
recover_local(struct worker *w, int op, const char *name, const char *action,
    struct recover_copies *c, char *err, size_t errlen)
{
	struct json_object *args, *reply = NULL;
	const char *code;
	int rc = -1;

	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(name));
	if (action != NULL)
		json_object_object_add(args, "action",
		    json_object_new_string(action));
	if (hx_call(&w->hx, op, args, -1, &reply, NULL, NULL, &code, err,
	    errlen) == 0) {
		recover_copies_from_json(reply, c);
		rc = 0;
	}
	json_object_put(args);
	json_object_put(reply);
	return rc;
}

/* Settled: the journal's unfinished records of NAME say so. */
static void
recover_mark(struct worker *w, const char *name, const char *msg)
{
	struct json_object *args, *reply = NULL;
	const char *code;
	char err[512];

	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(name));
	json_object_object_add(args, "message", json_object_new_string(msg));
	if (hx_call(&w->hx, HX_RECOVER_MARK, args, -1, &reply, NULL, NULL,
	    &code, err, sizeof(err)) != 0)
		log_warnx("recover %s: %s", name, err);
	json_object_put(args);
	json_object_put(reply);
}

void
recover_serve_jobs(struct worker *w, struct json_object *req)
{
	struct json_object *reply = NULL;
	const char *code, *host = proto_get_str(req, "host");
	char err[512];

	if (host != NULL && w->port == RQ_CONTROL) {
		serve_remote(w, PT_CTL_JOBS, host);
		return;
	}
	if (hx_call(&w->hx, HX_JOBS, NULL, -1, &reply, NULL, NULL, &code, err,
	    sizeof(err)) != 0)
		proto_send_error(&w->ioc, code, "%s", err);
	else
		proto_send(&w->ioc, PT_OK, reply);
	json_object_put(reply);
}

/* PT_RECOVER from another host: {domain, action}; answers the copies. */
void
recover_serve_peer(struct worker *w, struct json_object *req)
{
	const char *name = proto_get_str(req, "domain");
	const char *action = proto_get_str(req, "action");
	struct recover_copies c;
	struct json_object *reply = NULL;
	char err[1024];

	if (name == NULL || action == NULL) {
		proto_send_error(&w->ioc, "proto", "recover: need a domain and "
		    "an action");
		return;
	}
	if (strcmp(action, "query") == 0) {
		if (recover_local(w, HX_RECOVER_COPIES, name, NULL, &c, err,
		    sizeof(err)) == -1) {
			proto_send_error(&w->ioc, "refused", "%s", err);
			return;
		}
	} else {
		if (recover_local(w, HX_RECOVER_ACT, name, action, &c, err,
		    sizeof(err)) == -1) {
			proto_send_error(&w->ioc, "refused", "%s", err);
			return;
		}
		log_warnx("%s (%s): recover %s: %s done", w->peer.addr,
		    w->peer.id.subject, name, action);
		recover_mark(w, name, "settled by xmig recover");
	}
	reply = recover_copies_json(&c);
	proto_send(&w->ioc, PT_OK, reply);
	json_object_put(reply);
}

static int
recover_peer_call(struct worker *w, const char *spec, const char *name,
    const char *action, struct recover_copies *c, char *err, size_t errlen)
{
	struct relocd_conf *conf = w->conf;
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
	if (peer_connect(conf, w->tls, host, port, &pc, e, sizeof(e)) == -1 ||
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
recover_peer_from_journal(struct worker *w, const char *name, char *buf,
    size_t len)
{
	struct json_object *reply = NULL, *arr, *o, *v;
	char err[256];
	const char *found = NULL, *peer, *code;
	size_t i, n;

	if (hx_call(&w->hx, HX_JOBS, NULL, -1, &reply, NULL, NULL, &code, err,
	    sizeof(err)) != 0 || !json_object_object_get_ex(reply, "jobs",
	    &arr) || !json_object_is_type(arr, json_type_array)) {
		json_object_put(reply);
		return NULL;
	}
	n = json_object_array_length(arr);
	for (i = n; i > 0; i--) {
		o = json_object_array_get_idx(arr, i - 1);
		if (!json_object_object_get_ex(o, "domain", &v) ||
		    strcmp(json_object_get_string(v), name) != 0 ||
		    (peer = proto_get_str(o, "peer")) == NULL || *peer == '\0')
			continue;
		if (proto_get_str(o, "role") != NULL &&
		    strcmp(proto_get_str(o, "role"), JOURNAL_SOURCE) == 0 &&
		    proto_get_int(o, "port", 0) > 0)
			snprintf(buf, len, "%s:%lld", peer,
			    (long long)proto_get_int(o, "port", 0));
		else
			snprintf(buf, len, "%s", peer);
		found = buf;
		break;
	}
	json_object_put(reply);
	return found;
}

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
	proto_send(ioc, PT_RESULT, o);
	json_object_put(o);
}

/*
 * xmig recover DOM [HOST]: exactly one copy runs afterwards, or nothing
 * is touched and the reply says why.
 */
void
recover_serve_control(struct worker *w, struct json_object *req)
{
	const char *name = proto_get_str(req, "domain");
	const char *spec = proto_get_str(req, "host");
	struct iochan *ioc = &w->ioc;
	struct recover_copies l, r, x;
	char hostbuf[300], err[1024], e2[1024];
	int nname;

	if (name == NULL || *name == '\0') {
		proto_send_error(ioc, "usage", "recover: no domain named");
		return;
	}
	if (spec == NULL && (spec = recover_peer_from_journal(w, name,
	    hostbuf, sizeof(hostbuf))) == NULL) {
		recover_reply(ioc, 2, "recover: the journal here knows no "
		    "migration of %s; name the other host: xmig recover %s "
		    "HOST", name, name);
		return;
	}
	if (recover_local(w, HX_RECOVER_COPIES, name, NULL, &l, err,
	    sizeof(err)) == -1) {
		recover_reply(ioc, 1, "%s", err);
		return;
	}
	if (recover_peer_call(w, spec, name, "query", &r, err,
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
		    recover_local(w, HX_RECOVER_ACT, name, "resume", &x, err, sizeof(err)) == -1) ||
		    recover_local(w, HX_RECOVER_ACT, name, "destroy-away", &x, err, sizeof(err)) == -1 ||
		    recover_local(w, HX_RECOVER_ACT, name, "destroy-incoming", &x, err, sizeof(err)) == -1 ||
		    recover_peer_call(w, spec, name, "destroy-away",
		    &r, err, sizeof(err)) == -1 ||
		    recover_peer_call(w, spec, name,
		    "destroy-incoming", &r, err, sizeof(err)) == -1) {
			recover_reply(ioc, 1, "%s runs here; removing leftover "
			    "copies failed: %s", name, err);
			goto out;
		}
		recover_mark(w, name, "settled by xmig recover: runs here");
		recover_reply(ioc, 0, "%s runs here; no copy is left on %s",
		    name, spec);
		goto out;
	}
	if (r.have[RC_NAME]) {
		if ((r.state[RC_NAME] == XO_SUSPENDED &&
		    recover_peer_call(w, spec, name, "resume", &r, err,
		    sizeof(err)) == -1) ||
		    recover_local(w, HX_RECOVER_ACT, name, "destroy-away", &x, err, sizeof(err)) == -1 ||
		    recover_local(w, HX_RECOVER_ACT, name, "destroy-incoming", &x, err, sizeof(err)) == -1 ||
		    recover_peer_call(w, spec, name, "destroy-away",
		    &r, err, sizeof(err)) == -1) {
			recover_reply(ioc, 1, "%s runs on %s; removing "
			    "leftover copies failed: %s", name, spec, err);
			goto out;
		}
		recover_mark(w, name, "settled by xmig recover: runs on the "
		    "other host");
		recover_reply(ioc, 0, "%s runs on %s; the suspended copy here "
		    "was destroyed", name, spec);
		goto out;
	}
	/* Nowhere under its own name: the suspended source copy resumes. */
	if (l.have[RC_AWAY]) {
		if (recover_peer_call(w, spec, name,
		    "destroy-incoming", &r, e2, sizeof(e2)) == -1) {
			recover_reply(ioc, 1, "%s does not run on %s, but its "
			    "incoming copy there could not be destroyed (%s): "
			    "refusing to resume it here; nothing was changed",
			    name, spec, e2);
			goto out;
		}
		if (recover_local(w, HX_RECOVER_ACT, name, "resume", &x, err, sizeof(err)) == -1 ||
		    recover_local(w, HX_RECOVER_ACT, name, "destroy-incoming", &x, err, sizeof(err)) == -1) {
			recover_reply(ioc, 3, "resuming %s here failed: %s; it "
			    "runs nowhere: check this host", name, err);
			goto out;
		}
		recover_mark(w, name, "settled by xmig recover: resumed at "
		    "the source");
		recover_reply(ioc, 0, "%s does not run on %s; resumed here",
		    name, spec);
		goto out;
	}
	if (r.have[RC_AWAY]) {
		if (recover_local(w, HX_RECOVER_ACT, name, "destroy-incoming", &x, err, sizeof(err)) == -1 ||
		    recover_peer_call(w, spec, name, "resume", &r, err,
		    sizeof(err)) == -1) {
			recover_reply(ioc, 3, "resuming %s on %s failed: %s; "
			    "it runs nowhere: check both hosts", name, spec,
			    err);
			goto out;
		}
		recover_mark(w, name, "settled by xmig recover: resumed on "
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
	return;
}
