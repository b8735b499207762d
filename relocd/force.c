/*
 * xmig migrate --force DOM HOST: a domain whose host died is started on
 * HOST, this host, from its record in cluster_dir.  A cold start: its
 * memory state died with its host.
 *
 * Three preconditions, in this order, each refused with its reason:
 *	1. the source relocd does not answer (network process: a live
 *	   source moves its own domains, or is asked to with recover);
 *	2. the source is fenced: fence_command ran for it and exited 0, or
 *	   the operator confirms with --source-is-off (root helper);
 *	3. the domain's lease is free (root helper, and again by the new
 *	   domain's own process as it starts: the check and the start
 *	   cannot be raced by a second forced start or a partitioned copy).
 * Then the record says the domain runs here, and a tombstone tells the
 * old host, when it comes back, that its copy must never run again.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "domcfg.h"
#include "helper.h"
#include "hx.h"
#include "lease.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

/* A fence agent (IPMI, a PDU) gets this long. */
#define FORCE_FENCE_TIMEOUT_S	120

static int	force_is_self(const struct relocd_conf *, const char *);
static void	force_local(struct worker *, struct json_object *,
		    const char *);
static void	force_remote(struct worker *, struct json_object *,
		    const char *, int);
static int	force_host_ok(const char *);
static int	force_fence(struct helper *, const char *host, char *out,
		    size_t outlen);
static void	force_journal(struct helper *, const char *, const char *,
		    const char *, uint32_t, const char *, const char *);

/* -- the network process ------------------------------------------------ */

static int
force_is_self(const struct relocd_conf *conf, const char *host)
{
	char name[256];

	if (*conf->relocation_address != '\0' &&
	    strcmp(host, conf->relocation_address) == 0)
		return 1;
	if (strcmp(host, "localhost") == 0)
		return 1;
	return gethostname(name, sizeof(name) - 1) == 0 &&
	    (name[sizeof(name) - 1] = '\0', strcmp(host, name) == 0);
}

/*
 * xmig on any live host: this host, or HOST asked over mutual TLS.  HOST
 * judges the source, the fence and the lease itself, with its own view
 * of the network and the storage.
 */
void
force_serve(struct worker *w, struct json_object *req)
{
	const char *dom = proto_get_str(req, "domain");
	const char *host = proto_get_str(req, "host");
	char name[256];
	int port;

	if (dom == NULL || host == NULL) {
		proto_send_error(&w->ioc, "usage", "migrate --force: DOMAIN "
		    "and HOST are needed");
		return;
	}
	if (peer_parse_hostport(host, w->conf->relocation_port, name,
	    sizeof(name), &port) == -1) {
		proto_send_error(&w->ioc, "usage", "malformed host \"%s\"",
		    host);
		return;
	}
	if (force_is_self(w->conf, name) && port == w->conf->relocation_port)
		force_local(w, req, NULL);
	else
		force_remote(w, req, name, port);
}

/* HOST's side of force_remote: an allowed peer, for its operator. */
void
force_serve_peer(struct worker *w, struct json_object *req)
{
	char by[512], *p;

	if (proto_get_str(req, "domain") == NULL) {
		proto_send_error(&w->ioc, "usage", "force: no domain named");
		return;
	}
	/* A config from a peer would be a domain of its choosing, created
	 * here past the incoming policy; a record in cluster_dir is not
	 * the peer's to write. */
	if (json_object_object_get_ex(req, "config", NULL)) {
		proto_send_error(&w->ioc, "refused", "a forced restart from a "
		    "config file is for this host's own operator: run "
		    "'xmig migrate --force --config' on %s",
		    *w->conf->relocation_address != '\0' ?
		    w->conf->relocation_address : "it");
		return;
	}
	snprintf(by, sizeof(by), "%s for %s", w->peer.addr,
	    proto_get_str(req, "by") != NULL ? proto_get_str(req, "by") :
	    "its operator");
	/* The peer's words go into our log and journal: one line. */
	for (p = by; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	force_local(w, req, by);
}

static void
force_remote(struct worker *w, struct json_object *req, const char *host,
    int port)
{
	struct json_object *fwd, *reply = NULL;
	struct peer_conn pc;
	char err[1536], by[256];

	if (peer_connect(w->conf, w->tls, host, port, &pc, err,
	    sizeof(err)) == -1) {
		proto_send_error(&w->ioc, "force", "%s: %s", host, err);
		return;
	}
	fwd = json_object_new_object();
	json_object_object_add(fwd, "domain", json_object_new_string(
	    proto_get_str(req, "domain")));
	if (proto_get_str(req, "from") != NULL)
		json_object_object_add(fwd, "from", json_object_new_string(
		    proto_get_str(req, "from")));
	json_object_object_add(fwd, "source_is_off", json_object_new_int(
	    proto_get_int(req, "source_is_off", 0) != 0));
	if (json_object_object_get_ex(req, "config", NULL))
		json_object_object_add(fwd, "config", json_object_get(
		    json_object_object_get(req, "config")));
	snprintf(by, sizeof(by), "%s on %s", w->peer.addr,
	    *w->conf->relocation_address != '\0' ?
	    w->conf->relocation_address : "its host");
	json_object_object_add(fwd, "by", json_object_new_string(by));
	/* HOST is silent while it judges: its probe of the source, a fence
	 * command of up to FORCE_FENCE_TIMEOUT_S, the cold start.  Waiting
	 * only io_timeout would report a failure for a restart that then
	 * happens. */
	pc.ioc.timeout_ms = (2 * w->conf->handshake_timeout +
	    FORCE_FENCE_TIMEOUT_S + 2 * w->conf->io_timeout) * 1000;
	if (peer_request(&pc, PT_FORCE, fwd, &reply, err, sizeof(err)) == -1) {
		if (strstr(err, " refused: ") != NULL)
			proto_send_error(&w->ioc, "force", "%s", err);
		else
			proto_send_error(&w->ioc, "force", "%s; the restart "
			    "may have happened all the same: 'xmig jobs -H "
			    "%s' says", err, host);
	} else
		proto_send(&w->ioc, PT_OK, reply);
	json_object_put(fwd);
	json_object_put(reply);
	peer_conn_dispose(&pc);
}

static void
force_local(struct worker *w, struct json_object *req, const char *by)
{
	struct json_object *args = NULL, *rec = NULL, *reply = NULL, *cfg;
	struct domcfg_info info;
	struct peer_conn pc;
	const char *dom = proto_get_str(req, "domain");
	const char *from = proto_get_str(req, "from");
	const char *src, *code;
	char err[1536], probe[1024];

	peer_conn_init(&pc);
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(dom));
	if (by != NULL)
		json_object_object_add(args, "by", json_object_new_string(by));
	if (from != NULL)
		json_object_object_add(args, "from",
		    json_object_new_string(from));
	if (json_object_object_get_ex(req, "config", &cfg)) {
		/* --config FILE: judged here first, as create's is. */
		if (domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
			proto_send_error(&w->ioc, "usage", "bad domain config: "
			    "%s", err);
			goto out;
		}
		if (from == NULL) {
			proto_send_error(&w->ioc, "usage", "--force --config "
			    "needs --from SRCHOST");
			goto out;
		}
		json_object_object_add(args, "config", json_object_get(cfg));
		src = from;
	} else {
		if (hx_call(&w->hx, HX_FORCE_LOOKUP, args, -1, &rec, NULL,
		    NULL, &code, err, sizeof(err)) != 0) {
			proto_send_error(&w->ioc, code, "%s", err);
			goto out;
		}
		src = proto_get_str(rec, "host");
	}

	/* 1. A source that answers is alive: its domain may run. */
	if (peer_connect(w->conf, w->tls, src, w->conf->relocation_port, &pc,
	    probe, sizeof(probe)) == 0) {
		proto_send_error(&w->ioc, "alive", "%s answers on port %d: "
		    "its relocd is alive, so %s may be running there; a "
		    "forced restart is only for a dead host (use 'xmig "
		    "migrate' or 'xmig recover')", src,
		    w->conf->relocation_port, dom);
		goto out;
	}
	log_info("%s: forced restart of %s: %s does not answer: %s",
	    w->peer.addr, dom, src, probe);

	json_object_object_add(args, "source_is_off", json_object_new_int(
	    proto_get_int(req, "source_is_off", 0) != 0));
	json_object_object_add(args, "probe", json_object_new_string(probe));
	if (hx_call(&w->hx, HX_FORCE_START, args, -1, &reply, NULL, NULL,
	    &code, err, sizeof(err)) != 0) {
		proto_send_error(&w->ioc, code, "%s", err);
		goto out;
	}
	json_object_object_add(reply, "probe", json_object_new_string(probe));
	proto_send(&w->ioc, PT_OK, reply);
out:
	peer_conn_dispose(&pc);
	json_object_put(args);
	json_object_put(rec);
	json_object_put(reply);
}

/* -- the root helper ---------------------------------------------------- */

/* A host name as a fence command's %h: no shell can misread it. */
static int
force_host_ok(const char *h)
{
	const char *p;

	if (*h == '\0' || *h == '-')
		return 0;
	for (p = h; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		    *p == ':' || *p == '_'))
			return 0;
	return 1;
}

static int
force_record(struct helper *h, struct json_object *args,
    struct json_object **rec, char *err, size_t errlen, const char **code)
{
	const char *dom = proto_get_str(args, "domain");
	const char *from = proto_get_str(args, "from"), *src;
	int r;

	*rec = NULL;
	*code = "force";
	if (!cluster_enabled(h->conf)) {
		snprintf(err, errlen, "no cluster_dir in %s: without shared "
		    "storage there is no record to start %s from and no "
		    "lease to guard it", h->conf->path, dom);
		return -1;
	}
	if ((r = cluster_record_find(h->conf, dom, rec, err, errlen)) == -1)
		return -1;
	if (r == 0) {
		*code = "notfound";
		snprintf(err, errlen, "%s has no record in %s/domains: it was "
		    "never started or migrated by a relocd with this "
		    "cluster_dir", dom, h->conf->cluster_dir);
		return -1;
	}
	src = proto_get_str(*rec, "host");
	if (src == NULL || !force_host_ok(src)) {
		snprintf(err, errlen, "%s's record names no usable host",
		    dom);
		return -1;
	}
	if (strcmp(src, cluster_self(h->conf)) == 0) {
		snprintf(err, errlen, "%s's record says it runs on this host "
		    "(%s): nothing to force", dom, src);
		return -1;
	}
	if (from != NULL && strcmp(from, src) != 0) {
		snprintf(err, errlen, "%s's record says it runs on %s, not %s: "
		    "nothing started", dom, src, from);
		return -1;
	}
	return 0;
}

/*
 * --config FILE, for hosts without cluster_dir: the operator's config
 * and --from stand in for the record.  No lease, no tombstone: nothing
 * stops a second copy but the fence (relocd(8), FAILURE OF A HOST).
 */
static int
force_config(struct helper *h, struct json_object *args,
    struct json_object *cfg, struct json_object **rec, char *err,
    size_t errlen)
{
	const char *from = proto_get_str(args, "from");
	struct domcfg_info info;

	*rec = NULL;
	if (cluster_enabled(h->conf)) {
		snprintf(err, errlen, "this host has cluster_dir: the domain's "
		    "record there is its config, and its lease guards it; "
		    "drop --config");
		return -1;
	}
	if (from == NULL || !force_host_ok(from)) {
		snprintf(err, errlen, "--force --config needs --from with the "
		    "dead host's name");
		return -1;
	}
	if (domcfg_info(cfg, &info, err, errlen) == -1)
		return -1;
	if (strcmp(from, cluster_self(h->conf)) == 0) {
		snprintf(err, errlen, "--from names this host");
		return -1;
	}
	*rec = json_object_new_object();
	json_object_object_add(*rec, "name", json_object_new_string(
	    info.name));
	json_object_object_add(*rec, "uuid", json_object_new_string(
	    info.uuid));
	json_object_object_add(*rec, "host", json_object_new_string(from));
	json_object_object_add(*rec, "config", json_object_get(cfg));
	return 0;
}

int
helper_force_lookup(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct json_object *rec, *reply;
	const char *code;
	char err[1024];
	int rc;

	if (force_record(h, args, &rec, err, sizeof(err), &code) == -1)
		return helper_error(h, code, "%s", err);
	reply = json_object_new_object();
	json_object_object_add(reply, "host", json_object_new_string(
	    proto_get_str(rec, "host")));
	json_object_object_add(reply, "uuid", json_object_new_string(
	    proto_get_str(rec, "uuid")));
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	json_object_put(rec);
	return rc;
}

/*
 * fence_command with %h: 0 and what it did in out, or -1 and why not.
 * Bounded: an agent that hangs is killed with its process group.
 */
static int
force_fence(struct helper *h, const char *host, char *out, size_t outlen)
{
	const char *t = h->conf->fence_command;
	char cmd[2048];
	size_t n = 0, hl = strlen(host);
	uint64_t deadline;
	pid_t pid, w;
	int status;

	for (; *t != '\0' && n + hl + 2 < sizeof(cmd); t++) {
		if (t[0] == '%' && t[1] == 'h') {
			memcpy(cmd + n, host, hl);
			n += hl;
			t++;
		} else if (t[0] == '%' && t[1] == '%') {
			cmd[n++] = '%';
			t++;
		} else
			cmd[n++] = *t;
	}
	cmd[n] = '\0';
	if (*t != '\0') {
		snprintf(out, outlen, "fence_command too long");
		return -1;
	}
	log_info("%s: fencing %s: %s", h->who, host, cmd);
	switch (pid = fork()) {
	case -1:
		snprintf(out, outlen, "fence_command: fork: %s",
		    strerror(errno));
		return -1;
	case 0:
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	deadline = clock_mono_us() + (uint64_t)FORCE_FENCE_TIMEOUT_S * 1000000;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 ||
	    (w == -1 && errno == EINTR)) {
		if (clock_mono_us() >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
			snprintf(out, outlen, "fence_command '%s' did not end "
			    "within %d s (killed): %s is not known to be off",
			    cmd, FORCE_FENCE_TIMEOUT_S, host);
			return -1;
		}
		usleep(50000);
	}
	if (w == -1) {
		snprintf(out, outlen, "fence_command: waitpid: %s",
		    strerror(errno));
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(out, outlen, "fence_command '%s' exited 0", cmd);
		return 0;
	}
	if (WIFEXITED(status))
		snprintf(out, outlen, "fence_command '%s' exited %d: %s is "
		    "not known to be off", cmd, WEXITSTATUS(status), host);
	else
		snprintf(out, outlen, "fence_command '%s' died of signal %d: "
		    "%s is not known to be off", cmd, WTERMSIG(status), host);
	return -1;
}

/*
 * For xmig jobs: who forced which domain off which host, and the fence.
 * Written final from the first byte: a record in any other phase would be
 * a half-done migration to the restart reconciliation, which settles
 * those by destroying or resuming copies.
 */
static void
force_journal(struct helper *h, const char *who, const char *name,
    const char *uuid, uint32_t domid, const char *src, const char *fence)
{
	struct json_object *o;
	struct timespec ts;
	char dir[4200], id[96], err[512] = "", msg[1600];

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(dir, sizeof(dir), "%s/%s", h->conf->state_dir,
	    JOURNAL_SUBDIR);
	snprintf(id, sizeof(id), "%lld-%09ld-%ld-f", (long long)ts.tv_sec,
	    ts.tv_nsec, (long)getpid());
	snprintf(msg, sizeof(msg), "forced restart by %s, a cold start as id "
	    "%u; fence: %s", who, domid, fence);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "role", json_object_new_string("forced"));
	json_object_object_add(o, "domain", json_object_new_string(name));
	json_object_object_add(o, "uuid", json_object_new_string(uuid != NULL ?
	    uuid : ""));
	json_object_object_add(o, "domid", json_object_new_int64(domid));
	json_object_object_add(o, "peer", json_object_new_string(src));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "started", json_object_new_int64(ts.tv_sec));
	json_object_object_add(o, "updated", json_object_new_int64(ts.tv_sec));
	json_object_object_add(o, "phase", json_object_new_string("done"));
	json_object_object_add(o, "exit", json_object_new_int(0));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if ((mkdir(dir, 0700) == -1 && errno != EEXIST) ||
	    journal_write(dir, id, o, err, sizeof(err)) == -1)
		log_warnx("%s: journal of the forced restart of %s: %s",
		    h->who, name, errno != 0 && *err == '\0' ? strerror(errno) :
		    err);
	else
		journal_prune(dir);
	json_object_put(o);
}

int
helper_force_start(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct json_object *rec = NULL, *cfg, *reply = NULL;
	struct lease_info li;
	const char *code, *src, *uuid, *name;
	char err[1024], fence[1200], lerr[256];
	uint32_t domid;
	int r, rc, guarded = cluster_enabled(h->conf);
	/* Who forced it: the requester, through the peer if relayed. */
	const char *who = proto_get_str(args, "by") != NULL ?
	    proto_get_str(args, "by") : h->who;

	memset(&li, 0, sizeof(li));
	if (json_object_object_get_ex(args, "config", &cfg)) {
		if (force_config(h, args, cfg, &rec, err, sizeof(err)) == -1)
			return helper_error(h, "force", "%s", err);
	} else if (force_record(h, args, &rec, err, sizeof(err), &code) ==
	    -1)
		return helper_error(h, code, "%s", err);
	src = proto_get_str(rec, "host");
	uuid = proto_get_str(rec, "uuid");
	name = proto_get_str(rec, "name");

	/* 2. Fenced. */
	if (proto_get_int(args, "source_is_off", 0))
		snprintf(fence, sizeof(fence), "%s confirmed off by the "
		    "operator (--source-is-off, %s)", src, who);
	else if (*h->conf->fence_command == '\0') {
		rc = helper_error(h, "fence", "no proof that %s is off: set "
		    "fence_command in %s, or check the host yourself and "
		    "confirm with --source-is-off; nothing started", src,
		    h->conf->path);
		goto out;
	} else if (force_fence(h, src, fence, sizeof(fence)) == -1) {
		log_warnx("%s: forced restart of %s refused: %s", h->who,
		    name, fence);
		rc = helper_error(h, "fence", "%s; nothing started", fence);
		goto out;
	}

	/* 3. The lease.  Free now; the guest takes it as it starts, and
	 * refuses to start if anyone got there first. */
	if (guarded && lease_probe(h->conf->cluster_dir, uuid, &li, lerr,
	    sizeof(lerr)) == -1) {
		rc = helper_error(h, "lease", "%s's lease: %s; nothing "
		    "started", name, lerr);
		goto out;
	}
	if (guarded && li.held) {
		log_warnx("%s: forced restart of %s refused: its lease is "
		    "held (%s)", h->who, name, li.holder);
		rc = helper_error(h, "lease", "%s's lease is held (%s): a "
		    "copy of it still runs, whatever the fence said; nothing "
		    "started", name, *li.holder != '\0' ? li.holder :
		    "holder unknown");
		goto out;
	}

	if (helper_backend(h) == NULL) {
		rc = 0;
		goto out;
	}
	/* A backend whose domains hold no lease would start one nothing
	 * guards: the double start leases exist to prevent. */
	if (guarded && !xo_has_leases(h->xo)) {
		rc = helper_error(h, "lease", "the %s backend holds no leases "
		    "yet, so nothing would keep a second copy of %s from "
		    "running: forced restart refused; start it by hand once "
		    "you know %s is off", xo_backend_name(h->xo), name, src);
		goto out;
	}
	if (!json_object_object_get_ex(rec, "config", &cfg)) {
		rc = helper_error(h, "force", "%s's record has no config",
		    name);
		goto out;
	}
	if ((r = xo_create(h->xo, cfg, &domid)) != 0) {
		rc = helper_error(h, r == XO_E_EXISTS ? "exists" : "backend",
		    "%s", xo_errmsg(h->xo));
		goto out;
	}
	log_warnx("%s: FORCED restart of %s (%s) from %s as id %u, a cold "
	    "start, asked by %s; fence: %s", h->who, name, uuid, src, domid,
	    who, fence);
	helper_cluster_record(h, domid, name);
	force_journal(h, who, name, uuid, domid, src, fence);
	if (guarded && cluster_tombstone_put(h->conf, rec, who, fence, err,
	    sizeof(err)) == -1)
		log_warnx("%s: the tombstone of %s for %s was not written: "
		    "%s; keep %s in maintenance by hand", h->who, name, src,
		    err, src);
	if (guarded && lease_probe(h->conf->cluster_dir, uuid, &li, lerr,
	    sizeof(lerr)) == -1)
		snprintf(li.holder, sizeof(li.holder), "unknown: %s", lerr);
	reply = json_object_new_object();
	json_object_object_add(reply, "id", json_object_new_int64(domid));
	json_object_object_add(reply, "from", json_object_new_string(src));
	json_object_object_add(reply, "fence", json_object_new_string(fence));
	json_object_object_add(reply, "lease", json_object_new_string(
	    li.held ? li.holder : guarded ? "none (no lease)" : "none: no "
	    "cluster_dir, nothing but the fence keeps a second copy from "
	    "running"));
	rc = helper_ok(h, reply, NULL, 0);
out:
	json_object_put(rec);
	json_object_put(reply);
	return rc;
}
