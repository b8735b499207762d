#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

static void	serve_query(struct relocd_conf *, struct iochan *, int);
static void	serve_remote(struct relocd_conf *, SSL_CTX *, struct iochan *,
		    int, const char *);
static void	serve_preflight(struct relocd_conf *, struct iochan *,
		    struct json_object *);
static void	serve_create(struct relocd_conf *, struct iochan *,
		    struct json_object *, struct peer_ctx *);
static void	serve_destroy(struct relocd_conf *, struct iochan *,
		    struct json_object *, struct peer_ctx *);

/* list and host-info answered from this host's backend. */
static void
serve_query(struct relocd_conf *conf, struct iochan *ioc, int type)
{
	struct xo_ctx *xo = NULL;
	struct json_object *o = NULL;
	char err[1024];

	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		proto_send_error(ioc, "backend", "%s", err);
		return;
	}
	if (type == PT_LIST)
		o = hostinfo_list_json(xo, err, sizeof(err));
	else
		o = hostinfo_host_json(xo, conf, err, sizeof(err));
	if (o == NULL)
		proto_send_error(ioc, "backend", "%s", err);
	else
		proto_send(ioc, PT_OK, o);
	json_object_put(o);
	xo_close(xo);
}

/* xmig's "-H HOST": the local relocd asks HOST over mutual TLS, so keys
 * stay with the daemon and the peer sees this host's certificate. */
static void
serve_remote(struct relocd_conf *conf, SSL_CTX *tls, struct iochan *ioc,
    int type, const char *spec)
{
	struct peer_conn pc;
	struct json_object *reply = NULL;
	char host[256], err[1024];
	int port;

	peer_conn_init(&pc);
	if (peer_parse_hostport(spec, conf->relocation_port, host,
	    sizeof(host), &port) == -1) {
		proto_send_error(ioc, "usage", "malformed host \"%s\"", spec);
		return;
	}
	if (peer_connect(conf, tls, host, port, &pc, err, sizeof(err)) == -1 ||
	    peer_request(&pc, type, NULL, &reply, err, sizeof(err)) == -1) {
		proto_send_error(ioc, "peer", "%s", err);
		goto out;
	}
	json_object_object_add(reply, "queried",
	    json_object_new_string(spec));
	proto_send(ioc, PT_OK, reply);
out:
	json_object_put(reply);
	peer_conn_dispose(&pc);
}

static void
serve_preflight(struct relocd_conf *conf, struct iochan *ioc,
    struct json_object *req)
{
	struct json_object *cfg;
	struct xo_ctx *xo = NULL;
	const char *code = "refused";
	char reason[1024];

	if (!json_object_object_get_ex(req, "config", &cfg)) {
		proto_send_error(ioc, "proto", "preflight without a config");
		return;
	}
	if ((xo = xo_open(conf, reason, sizeof(reason))) == NULL) {
		proto_send_error(ioc, "backend", "%s", reason);
		return;
	}
	if (recv_precheck(conf, xo, cfg, &code, reason, sizeof(reason)) == -1)
		proto_send_error(ioc, code, "%s", reason);
	else
		proto_send(ioc, PT_OK, NULL);
	xo_close(xo);
}

void
serve_peer(struct relocd_conf *conf, struct iochan *ioc, struct peer_ctx *pc)
{
	struct proto_hdr h;
	struct json_object *req = NULL;
	char err[512];

	if (proto_recv(ioc, &h, &req, PROTO_MAX_CONFIG_FRAME, err,
	    sizeof(err)) == -1) {
		log_warnx("%s (%s): bad request: %s", pc->addr, pc->id.subject,
		    err);
		proto_send_error(ioc, "proto", "%s", err);
		return;
	}
	log_info("%s (%s): %s request", pc->addr, pc->id.subject,
	    proto_type_name(h.type));
	switch (h.type) {
	case PT_LIST:
	case PT_HOST_INFO:
		serve_query(conf, ioc, h.type);
		break;
	case PT_PREFLIGHT:
		serve_preflight(conf, ioc, req);
		break;
	case PT_MIGRATE_RECEIVE:
		recv_migrate(conf, ioc, pc, req);
		break;
	case PT_RECOVER:
		recover_serve_peer(conf, ioc, pc, req);
		break;
	case PT_CONSOLE:
		console_serve(conf, ioc, pc, req);
		break;
	case PT_SPEEDTEST:
		speedtest_serve_peer(conf, ioc, pc, req);
		break;
	default:
		log_warnx("%s: refused %s request: not served over the "
		    "network", pc->addr, proto_type_name(h.type));
		proto_send_error(ioc, "proto", "%s is not a request this "
		    "port serves", proto_type_name(h.type));
		break;
	}
	json_object_put(req);
}

static void
serve_create(struct relocd_conf *conf, struct iochan *ioc,
    struct json_object *req, struct peer_ctx *pc)
{
	struct json_object *cfg, *reply;
	struct domcfg_info info;
	struct xo_ctx *xo = NULL;
	uint32_t domid;
	char err[1024];
	int r;

	if (!json_object_object_get_ex(req, "config", &cfg) ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
		proto_send_error(ioc, "usage", "bad domain config: %s",
		    json_object_object_get_ex(req, "config", &cfg) ? err :
		    "missing");
		return;
	}
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		proto_send_error(ioc, "backend", "%s", err);
		return;
	}
	if ((r = xo_create(xo, cfg, &domid)) != 0) {
		proto_send_error(ioc, r == XO_E_EXISTS ? "exists" : "backend",
		    "%s", xo_errmsg(xo));
		goto out;
	}
	log_info("%s: created domain %s (id %u)", pc->addr, info.name, domid);
	reply = json_object_new_object();
	json_object_object_add(reply, "id", json_object_new_int64(domid));
	json_object_object_add(reply, "name", json_object_new_string(
	    info.name));
	proto_send(ioc, PT_OK, reply);
	json_object_put(reply);
out:
	xo_close(xo);
}

static void
serve_destroy(struct relocd_conf *conf, struct iochan *ioc,
    struct json_object *req, struct peer_ctx *pc)
{
	const char *dom = proto_get_str(req, "domain");
	struct xo_ctx *xo = NULL;
	uint32_t domid;
	char err[1024];
	int r;

	if (dom == NULL) {
		proto_send_error(ioc, "usage", "destroy: no domain named");
		return;
	}
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		proto_send_error(ioc, "backend", "%s", err);
		return;
	}
	if ((r = xo_lookup(xo, dom, &domid)) != 0 ||
	    (r = xo_destroy(xo, domid)) != 0) {
		proto_send_error(ioc, r == XO_E_NOTFOUND ? "notfound" :
		    "backend", "%s", xo_errmsg(xo));
		goto out;
	}
	log_info("%s: destroyed domain %s (id %u)", pc->addr, dom, domid);
	proto_send(ioc, PT_OK, NULL);
out:
	xo_close(xo);
}

void
serve_control(struct relocd_conf *conf, SSL_CTX *tls, struct iochan *ioc,
    struct peer_ctx *pc)
{
	struct proto_hdr h;
	struct json_object *req = NULL;
	const char *host;
	char err[512];

	if (proto_recv(ioc, &h, &req, PROTO_MAX_CONFIG_FRAME, err,
	    sizeof(err)) == -1) {
		log_warnx("control (%s): bad request: %s", pc->addr, err);
		proto_send_error(ioc, "proto", "%s", err);
		return;
	}
	host = proto_get_str(req, "host");
	log_debug("control (%s): %s request%s%s", pc->addr,
	    proto_type_name(h.type), host ? " for " : "", host ? host : "");
	switch (h.type) {
	case PT_LIST:
	case PT_HOST_INFO:
		if (host != NULL)
			serve_remote(conf, tls, ioc, h.type, host);
		else
			serve_query(conf, ioc, h.type);
		break;
	case PT_CONSOLE:
		if (host != NULL)
			console_relay(conf, tls, ioc, pc, req);
		else
			console_serve(conf, ioc, pc, req);
		break;
	case PT_CTL_CREATE:
		serve_create(conf, ioc, req, pc);
		break;
	case PT_CTL_DESTROY:
		serve_destroy(conf, ioc, req, pc);
		break;
	case PT_CTL_MIGRATE:
		log_info("control (%s): migrate %s to %s", pc->addr,
		    proto_get_str(req, "domain") ? proto_get_str(req,
		    "domain") : "?", host ? host : "?");
		send_migrate(conf, tls, ioc, req);
		break;
	case PT_CTL_TUNNEL:
		tunnel_serve(conf, tls, ioc, pc, req);
		break;
	case PT_CTL_JOBS:
		recover_serve_jobs(conf, ioc);
		break;
	case PT_CTL_RECOVER:
		recover_serve_control(conf, tls, ioc, req);
		break;
	case PT_CTL_SPEEDTEST:
		speedtest_serve_control(conf, tls, ioc, req);
		break;
	default:
		proto_send_error(ioc, "proto", "%s is not a control request",
		    proto_type_name(h.type));
		break;
	}
	json_object_put(req);
}
