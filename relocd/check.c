/*
 * Before the move, and where to: xmig check asks one host, xmig place
 * every host in relocation_peers, and a migrate without a host takes
 * the first of place's ranking.  Nothing here touches the domain.
 *
 *	the domain's facts here (root helper: config, state, whether it is
 *	migrating, what this host can log-dirty) -> the source's lines ->
 *	for each target: connect (mutual TLS, both allow-lists) ->
 *	preflight (the destination's lines, precheck.c) -> rank
 *
 * The destination judges with the same code a migration meets
 * (recv.c), so a check that passes is a migration that is let in,
 * unless the host changed in between; the reservation a migration takes
 * at "ready to receive" covers the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diskcopy.h"
#include "domcfg.h"
#include "hx.h"
#include "log.h"
#include "migrate.h"
#include "precheck.h"
#include "relocd.h"

#define CHECK_MAX_TARGETS	64

static int	check_source(struct worker *, const char *, int,
		    struct json_object **, struct json_object **);
static struct json_object *check_target(struct worker *, const char *, int,
		    struct json_object *, struct json_object *, int);
static int	check_failed(struct json_object *);
static int	check_rank_cmp(const void *, const void *);

/* The number of FAIL lines. */
static int
check_failed(struct json_object *checks)
{
	struct json_object *c, *v;
	size_t i, n;
	int failed = 0;

	n = checks != NULL ? json_object_array_length(checks) : 0;
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(checks, i);
		if (json_object_object_get_ex(c, "status", &v) &&
		    strcmp(json_object_get_string(v), PRECHECK_FAIL) == 0)
			failed++;
	}
	return failed;
}

/*
 * The source's own lines for DOMAIN, in a new array *checks; *facts is
 * the helper's answer (config, source).  -1 if the domain cannot be
 * looked at at all (the lines say why).
 */
static int
check_source(struct worker *w, const char *domain, int how,
    struct json_object **facts, struct json_object **checks)
{
	struct json_object *args, *offer, *d;
	const char *code, *type, *state, *busy;
	uint64_t data = 0, size = 0;
	char err[1024];
	int rc = -1, live = (how & CHECK_LIVE) != 0, big = 0;
	size_t i, n, nblk = 0;

	*checks = json_object_new_array();
	*facts = NULL;
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(domain));
	if (how & CHECK_COPY_STORAGE)
		json_object_object_add(args, "copy_storage",
		    json_object_new_int(1));
	if (hx_call(&w->hx, HX_DOMFACTS, args, -1, facts, NULL, NULL, &code,
	    err, sizeof(err)) != 0) {
		precheck_add(*checks, PRECHECK_FAIL, "domain", "%s", err);
		goto out;
	}
	state = proto_get_str(*facts, "state");
	type = proto_get_str(*facts, "type");
	if (state == NULL || (strcmp(state, "running") != 0 &&
	    strcmp(state, "paused") != 0)) {
		precheck_add(*checks, PRECHECK_FAIL, "domain", "%s is %s; only "
		    "a running or paused domain can be migrated", domain,
		    state ? state : "in an unknown state");
		goto out;
	}
	precheck_add(*checks, PRECHECK_PASS, "domain", "%s is %s here (%s, "
	    "%lld MiB)", proto_get_str(*facts, "name"), state, type ? type :
	    "?", (long long)proto_get_int(*facts, "memory_kb", 0) / 1024);
	if ((busy = proto_get_str(*facts, "migrating_to")) != NULL)
		precheck_add(*checks, PRECHECK_FAIL, "migrating", "%s is "
		    "already migrating to %s", domain, busy);
	if (proto_get_int(*facts, "name_too_long", 0))
		precheck_add(*checks, PRECHECK_FAIL, "name", "the migration "
		    "renames it %s%s, which would exceed Xen's limit of %d "
		    "characters", proto_get_str(*facts, "name"),
		    DOMCFG_SUFFIX_AWAY, DOMCFG_NAME_MAX);
	if (live) {
		if (type != NULL && strcmp(type, "pv") == 0 &&
		    !proto_get_int(*facts, "cap_shadow", 0))
			precheck_add(*checks, PRECHECK_FAIL, "log-dirty", "live "
			    "migration of a PV domain needs log-dirty mode, "
			    "which this hypervisor cannot do (no shadow paging: "
			    "cap_shadow = 0); migrate it offline (without -l)");
		else if (type != NULL && strcmp(type, "pv") != 0 &&
		    !proto_get_int(*facts, "cap_hap", 0) &&
		    !proto_get_int(*facts, "cap_shadow", 0))
			precheck_add(*checks, PRECHECK_FAIL, "log-dirty", "live "
			    "migration of a %s domain needs HAP or shadow "
			    "paging, and this host has neither", type);
		else
			precheck_add(*checks, PRECHECK_PASS, "log-dirty", "this "
			    "host can track a %s guest's dirty pages (%s)",
			    type ? type : "?", type != NULL && strcmp(type,
			    "pv") == 0 ? "shadow" : "HAP");
	}
	if (how & CHECK_COPY_STORAGE) {
		if (live && !proto_get_int(*facts, "disk_dirty", 0))
			precheck_add(*checks, PRECHECK_FAIL, "copy-storage",
			    "live migration with --copy-storage is not "
			    "supported on the %s backend (the disk's writes "
			    "would have to be tracked while it runs: blkback "
			    "cannot, a qdisk disk would need QEMU's "
			    "drive-mirror over NBD); migrate it offline",
			    proto_get_str(*facts, "backend") ?
			    proto_get_str(*facts, "backend") : "this");
		else if (!json_object_object_get_ex(*facts, "copy", &offer))
			precheck_add(*checks, PRECHECK_FAIL, "copy-storage",
			    "%s", proto_get_str(*facts, "copy_error") ?
			    proto_get_str(*facts, "copy_error") : "nothing "
			    "to copy");
		else {
			n = json_object_array_length(offer);
			for (i = 0; i < n; i++) {
				d = json_object_array_get_idx(offer, i);
				data += (uint64_t)proto_get_int(d, "allocated",
				    0);
				if (proto_get_str(d, "kind") != NULL)
					nblk++;
				size += (uint64_t)proto_get_int(d, "size", 0);
				if ((uint64_t)proto_get_int(d, "size", 0) >
				    DISKCOPY_LIVE_MAX_SIZE)
					big = live;
			}
			precheck_add(*checks, big ? PRECHECK_FAIL :
			    PRECHECK_PASS,
			    "copy-storage", "%zu disk%s to copy%s%s: %.1f MiB "
			    "allocated, %.1f MiB apparent%s", n, n == 1 ? "" :
			    "s", nblk == 0 ? "" : nblk == 1 ? " (1 block "
			    "device)" : " (block devices among them)", live ? " live (its writes tracked "
			    "while it runs)" : "", data / 1048576.0, size /
			    1048576.0, big ? "; a disk over 1 TiB is too "
			    "large for a live copy, migrate it offline" : "");
			/* Judged by the destination's storage line as
			 * without --copy-storage: present there, or no. */
			if (json_object_object_get_ex(*facts, "copy_skipped",
			    &offer) && json_object_is_type(offer,
			    json_type_array))
				for (i = 0; i < json_object_array_length(offer);
				    i++) {
					d = json_object_array_get_idx(offer, i);
					precheck_add(*checks, PRECHECK_PASS,
					    "copy-storage", "disk %s: %s is not "
					    "copied, it must be present at the "
					    "destination: %s",
					    proto_get_str(d, "vdev") ?
					    proto_get_str(d, "vdev") : "?",
					    proto_get_str(d, "path") ?
					    proto_get_str(d, "path") : "?",
					    proto_get_str(d, "why") ?
					    proto_get_str(d, "why") : "?");
				}
		}
	}
	rc = 0;
out:
	json_object_put(args);
	return rc;
}

/*
 * One target's lines: reached and allowed both ways, then its own
 * pre-flight.  {"host", "checks", "failed", "headroom"}.
 */
static struct json_object *
check_target(struct worker *w, const char *target, int port,
    struct json_object *facts, struct json_object *srcchecks, int live)
{
	struct json_object *o, *checks, *rq, *reply = NULL, *v, *cfg, *src;
	struct json_object *cs;
	struct peer_conn pc;
	char host[256], err[1024];
	int p;
	size_t i, n;

	peer_conn_init(&pc);
	o = json_object_new_object();
	checks = json_object_new_array();
	n = json_object_array_length(srcchecks);
	for (i = 0; i < n; i++)
		json_object_array_add(checks, json_object_get(
		    json_object_array_get_idx(srcchecks, i)));
	json_object_object_add(o, "host", json_object_new_string(target));
	json_object_object_add(o, "checks", checks);
	if (peer_parse_hostport(target, port ? port :
	    w->conf->relocation_port, host, sizeof(host), &p) == -1 ||
	    p <= 0 || p > 65535) {
		precheck_add(checks, PRECHECK_FAIL, "peer", "'%s' is not a "
		    "host[:port]", target);
		goto out;
	}
	if (!json_object_object_get_ex(facts, "config", &cfg)) {
		precheck_add(checks, PRECHECK_FAIL, "peer", "no config to ask "
		    "%s about", host);
		goto out;
	}
	if (peer_connect(w->conf, w->tls, host, p, &pc, err,
	    sizeof(err)) == -1) {
		precheck_add(checks, PRECHECK_FAIL, "peer", "%s", err);
		goto out;
	}
	rq = json_object_new_object();
	json_object_object_add(rq, "config", json_object_get(cfg));
	json_object_object_add(rq, "live", json_object_new_int(live));
	if (json_object_object_get_ex(facts, "source", &src))
		json_object_object_add(rq, "source", json_object_get(src));
	/* The destination plans the copies and checks their room. */
	if (json_object_object_get_ex(facts, "copy", &src)) {
		cs = json_object_new_object();
		json_object_object_add(cs, "disks", json_object_get(src));
		json_object_object_add(rq, "copy_storage", cs);
	}
	if (peer_request(&pc, PT_PREFLIGHT, rq, &reply, err,
	    sizeof(err)) == -1) {
		json_object_put(rq);
		precheck_add(checks, PRECHECK_FAIL, "peer", "%s", err);
		goto out;
	}
	json_object_put(rq);
	precheck_add(checks, PRECHECK_PASS, "peer", "%s answers on port %d; "
	    "mutual TLS, and each allows the other", host, p);
	if (json_object_object_get_ex(reply, "checks", &v) &&
	    json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			json_object_array_add(checks, json_object_get(
			    json_object_array_get_idx(v, i)));
	} else
		precheck_add(checks, PRECHECK_FAIL, "peer", "%s sent no "
		    "checks: a relocd too old to pre-flight", host);
	if (json_object_object_get_ex(reply, "headroom", &v) && v != NULL)
		json_object_object_add(o, "headroom", json_object_get(v));
out:
	json_object_object_add(o, "failed",
	    json_object_new_int(check_failed(checks)));
	json_object_put(reply);
	peer_conn_dispose(&pc);
	return o;
}

/* Hosts that pass first; then the most memory left, the most capacity
 * left, and the name, so that a tie always goes the same way. */
static int
check_rank_cmp(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a;
	struct json_object *y = *(struct json_object *const *)b;
	struct json_object *hx = NULL, *hy = NULL;
	int64_t mx, my, cx, cy;
	int fx, fy;

	fx = proto_get_int(x, "failed", 1) > 0;
	fy = proto_get_int(y, "failed", 1) > 0;
	if (fx != fy)
		return fx - fy;
	json_object_object_get_ex(x, "headroom", &hx);
	json_object_object_get_ex(y, "headroom", &hy);
	mx = proto_get_int(hx, "memory_mb", -1);
	my = proto_get_int(hy, "memory_mb", -1);
	if (mx != my)
		return mx > my ? -1 : 1;
	cx = proto_get_int(hx, "capacity", -1);
	cy = proto_get_int(hy, "capacity", -1);
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(proto_get_str(x, "host"), proto_get_str(y, "host"));
}

struct json_object *
check_place(struct worker *w, const char *domain, int how,
    const char *const *hosts, size_t nhosts, int port)
{
	int live = (how & CHECK_LIVE) != 0;
	struct json_object *facts = NULL, *srcchecks = NULL, *o, *arr;
	struct json_object *targets[CHECK_MAX_TARGETS];
	size_t i, n = 0;

	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(domain));
	json_object_object_add(o, "live", json_object_new_int(live));
	arr = json_object_new_array();
	json_object_object_add(o, "targets", arr);
	if (check_source(w, domain, how, &facts, &srcchecks) == -1) {
		json_object_object_add(o, "source", srcchecks);
		json_object_put(facts);
		return o;
	}
	json_object_object_add(o, "memory_kb", json_object_new_int64(
	    proto_get_int(facts, "memory_kb", 0)));
	for (i = 0; i < nhosts && n < CHECK_MAX_TARGETS; i++)
		targets[n++] = check_target(w, hosts[i], port, facts,
		    srcchecks, live);
	qsort(targets, n, sizeof(targets[0]), check_rank_cmp);
	for (i = 0; i < n; i++)
		json_object_array_add(arr, targets[i]);
	json_object_put(srcchecks);
	json_object_put(facts);
	return o;
}

/* xmig check DOM HOST: one target, every line. */
void
check_serve(struct worker *w, struct json_object *req)
{
	const char *dom = proto_get_str(req, "domain");
	const char *host = proto_get_str(req, "host");
	struct json_object *o;

	if (dom == NULL || host == NULL) {
		proto_send_error(&w->ioc, "usage", "check: need a domain and a "
		    "host");
		return;
	}
	log_info("control (%s): check %s against %s", w->peer.addr, dom, host);
	o = check_place(w, dom, (proto_get_int(req, "live", 0) != 0 ?
	    CHECK_LIVE : 0) | (proto_get_int(req, "copy_storage", 0) != 0 ?
	    CHECK_COPY_STORAGE : 0), &host, 1,
	    (int)proto_get_int(req, "port", 0));
	proto_send(&w->ioc, PT_OK, o);
	json_object_put(o);
}

/* xmig place DOM: every host of relocation_peers, ranked. */
void
place_serve(struct worker *w, struct json_object *req)
{
	const char *dom = proto_get_str(req, "domain");
	const char *hosts[CHECK_MAX_TARGETS], *const *list;
	struct json_object *o, *arr;
	size_t n = 0, i;

	if (dom == NULL) {
		proto_send_error(&w->ioc, "usage", "place: need a domain");
		return;
	}
	/* xmig evacuate HOST...: among those; else the cluster's. */
	if (json_object_object_get_ex(req, "hosts", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (i = 0; i < json_object_array_length(arr) &&
		    n < CHECK_MAX_TARGETS; i++)
			if (json_object_is_type(json_object_array_get_idx(arr,
			    i), json_type_string))
				hosts[n++] = json_object_get_string(
				    json_object_array_get_idx(arr, i));
		list = hosts;
	} else {
		for (n = 0; w->conf->relocation_peers != NULL &&
		    w->conf->relocation_peers[n] != NULL; n++)
			;
		list = (const char *const *)w->conf->relocation_peers;
	}
	if (n == 0) {
		proto_send_error(&w->ioc, "usage", "place: no hosts to choose "
		    "from: list them in relocation_peers (relocd.conf(5))");
		return;
	}
	log_info("control (%s): place %s among %zu hosts", w->peer.addr, dom,
	    n);
	o = check_place(w, dom, (proto_get_int(req, "live", 0) != 0 ?
	    CHECK_LIVE : 0) | (proto_get_int(req, "copy_storage", 0) != 0 ?
	    CHECK_COPY_STORAGE : 0), list, n, 0);
	proto_send(&w->ioc, PT_OK, o);
	json_object_put(o);
}
