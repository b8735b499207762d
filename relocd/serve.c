/*
 * Small requests: list, host-info (here, or asked of another host over
 * mutual TLS), create, destroy and maintenance.  The backend's answers
 * and the maintenance record come from the root helper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"
#include "hx.h"
#include "log.h"
#include "relocd.h"

static void	serve_helper(struct worker *, int, struct json_object *);

/* One helper operation whose answer is the client's answer. */
static void
serve_helper(struct worker *w, int op, struct json_object *args)
{
	struct json_object *reply = NULL;
	const char *code;
	char err[1536];

	if (hx_call(&w->hx, op, args, -1, &reply, NULL, NULL, &code, err,
	    sizeof(err)) != 0)
		proto_send_error(&w->ioc, code, "%s", err);
	else
		proto_send(&w->ioc, PT_OK, reply);
	json_object_put(reply);
}

/* xmig's "-H HOST": the local relocd asks HOST over mutual TLS, so keys
 * stay with the daemon and the peer sees this host's certificate. */
void
serve_remote(struct worker *w, int type, const char *spec)
{
	struct peer_conn pc;
	struct json_object *reply = NULL;
	char host[256], err[1024];
	int port;

	peer_conn_init(&pc);
	if (peer_parse_hostport(spec, w->conf->relocation_port, host,
	    sizeof(host), &port) == -1) {
		proto_send_error(&w->ioc, "usage", "malformed host \"%s\"",
		    spec);
		return;
	}
	if (peer_connect(w->conf, w->tls, host, port, &pc, err,
	    sizeof(err)) == -1 ||
	    peer_request(&pc, type, NULL, &reply, err, sizeof(err)) == -1) {
		proto_send_error(&w->ioc, "peer", "%s", err);
		goto out;
	}
	json_object_object_add(reply, "queried",
	    json_object_new_string(spec));
	proto_send(&w->ioc, PT_OK, reply);
out:
	json_object_put(reply);
	peer_conn_dispose(&pc);
}

void
serve_query(struct worker *w, struct json_object *req)
{
	const char *host = proto_get_str(req, "host");
	int type = w->rq->type;

	if (host != NULL && w->port == RQ_CONTROL)
		serve_remote(w, type, host);
	else
		serve_helper(w, type == PT_LIST ? HX_LIST : HX_HOST_INFO,
		    NULL);
}

void
serve_create(struct worker *w, struct json_object *req)
{
	struct json_object *cfg, *args;
	struct domcfg_info info;
	char err[1024];

	/* Judged here first: the helper parses only what passed. */
	if (!json_object_object_get_ex(req, "config", &cfg) ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
		proto_send_error(&w->ioc, "usage", "bad domain config: %s",
		    json_object_object_get_ex(req, "config", &cfg) ? err :
		    "missing");
		return;
	}
	args = json_object_new_object();
	json_object_object_add(args, "config", json_object_get(cfg));
	serve_helper(w, HX_CREATE, args);
	json_object_put(args);
}

void
serve_destroy(struct worker *w, struct json_object *req)
{
	const char *dom = proto_get_str(req, "domain");
	struct json_object *args;

	if (dom == NULL) {
		proto_send_error(&w->ioc, "usage", "destroy: no domain named");
		return;
	}
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(dom));
	serve_helper(w, HX_DESTROY, args);
	json_object_put(args);
}

/* xmig maintenance [on|off]: this host only (no "host": a peer's
 * maintenance is its own operators' to set). */
void
serve_maintenance(struct worker *w, struct json_object *req)
{
	const char *set = proto_get_str(req, "maintenance");
	struct json_object *args;

	if (set != NULL && strcmp(set, "on") != 0 && strcmp(set, "off") != 0) {
		proto_send_error(&w->ioc, "usage", "maintenance: \"on\" or "
		    "\"off\", not \"%s\"", set);
		return;
	}
	args = json_object_new_object();
	if (set != NULL)
		json_object_object_add(args, "maintenance",
		    json_object_new_string(set));
	serve_helper(w, HX_MAINTENANCE, args);
	json_object_put(args);
}
