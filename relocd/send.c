/*
 * The source side of a migration, asked for by xmig over the control
 * socket: xl's migrate_domain, in xl's order, over mutual TLS.
 *
 *	preflight (request + config) -> banner -> header + config ->
 *	suspend into the stream -> "ready" -> rename to NAME--migratedaway
 *	-> "go" (THE POINT OF NO RETURN) -> report + status ->
 *	success: destroy here | failure: wait for permission, rename back,
 *	resume here
 *
 * Before "go" every failure resumes the domain here.  After "go", if the
 * destination's answer is lost the outcome is unknown: nothing automatic
 * happens, the copy here stays suspended and renamed, and the operator is
 * told to check both hosts (exit status 3), exactly as xl does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "domcfg.h"
#include "journal.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"
#include "xlproto.h"

#define SEND_SUFFIX	"--migratedaway"

struct send_state {
	struct iochan	 ctl;		/* progress to xmig, best effort */
	int		 ctl_gone;
	uint64_t	 start_us;
	uint64_t	 paused_us;
	int		 rounds;
	uint64_t	 bytes;
	uint64_t	 pages_total;
	uint64_t	 done_us;	/* report received: running there */
	struct journal	 jr;		/* this migration's record */
};

static void	send_progress(const struct xo_progress *, void *);
static void	send_note(struct send_state *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	send_result(struct iochan *, struct send_state *, int,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static int	send_read_ready(struct peer_conn *, char *, size_t);
static void	send_journal_end(struct send_state *, int, const char *);

/* xmig is only a client: if it is gone or stuck, the migration goes on. */
static void
send_note(struct send_state *st, const char *phase, const char *fmt, ...)
{
	struct json_object *o;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	if (st->ctl_gone)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "phase", json_object_new_string(phase));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (proto_send(&st->ctl, PT_PROGRESS, o) == -1)
		st->ctl_gone = 1;
	json_object_put(o);
}

static void
send_progress(const struct xo_progress *p, void *arg)
{
	struct send_state *st = arg;
	struct json_object *o;

	st->rounds = p->round;
	st->bytes = p->bytes;
	st->pages_total = p->pages_total;
	if (p->paused && st->paused_us == 0)
		st->paused_us = p->paused_at_us ? p->paused_at_us :
		    clock_mono_us();
	if (st->ctl_gone)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "phase", json_object_new_string("transfer"));
	json_object_object_add(o, "round", json_object_new_int(p->round));
	json_object_object_add(o, "pages_total",
	    json_object_new_int64(p->pages_total));
	json_object_object_add(o, "pages_sent",
	    json_object_new_int64(p->pages_sent));
	json_object_object_add(o, "pages_dirty",
	    json_object_new_int64(p->pages_dirty));
	json_object_object_add(o, "bytes", json_object_new_int64(p->bytes));
	json_object_object_add(o, "paused", json_object_new_int(p->paused != 0));
	if (proto_send(&st->ctl, PT_PROGRESS, o) == -1)
		st->ctl_gone = 1;
	json_object_put(o);
}

/* The last word to xmig: its exit status and what happened. */
static void
send_result(struct iochan *ctl, struct send_state *st, int exitcode,
    const char *fmt, ...)
{
	struct json_object *o;
	uint64_t end = clock_mono_us();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_journal_end(st, exitcode, msg);
	if (exitcode == 0)
		log_info("%s", msg);
	else if (exitcode == 3)
		log_crit("%s", msg);
	else
		log_warnx("%s", msg);
	o = json_object_new_object();
	json_object_object_add(o, "exit", json_object_new_int(exitcode));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "bytes", json_object_new_int64(st->bytes));
	json_object_object_add(o, "rounds", json_object_new_int(st->rounds));
	json_object_object_add(o, "memory_bytes",
	    json_object_new_int64(st->pages_total * 4096));
	json_object_object_add(o, "total_ms", json_object_new_double(
	    st->start_us ? (end - st->start_us) / 1000.0 : 0));
	/* Downtime as the source sees it: from the guest's pause to the
	 * report that it runs at the destination (an upper bound by one
	 * round trip). */
	if (st->paused_us != 0 && st->done_us != 0)
		json_object_object_add(o, "downtime_ms", json_object_new_double(
		    (st->done_us - st->paused_us) / 1000.0));
	if (!st->ctl_gone)
		proto_send(ctl, PT_RESULT, o);
	json_object_put(o);
}

/*
 * The record's last word.  A failed resume leaves the phase at "resume"
 * (a restarted relocd tries again); after "go" a lost answer is
 * "unknown" until xmig recover settles it.
 */
static void
send_journal_end(struct send_state *st, int exitcode, const char *msg)
{
	struct json_object *v;
	const char *phase = "failed";

	if (st->jr.rec == NULL)
		return;
	if (exitcode == 0)
		phase = "done";
	else if (exitcode == 3 && json_object_object_get_ex(st->jr.rec,
	    "phase", &v) && strcmp(json_object_get_string(v), "resume") == 0)
		phase = "resume";
	else if (exitcode == 3)
		phase = "unknown";
	journal_end(&st->jr, phase, exitcode, msg);
}

/*
 * "ready", or a frame in which the destination says why it failed (see
 * recv_fail_early): a relocd frame starts with its magic, which xl's
 * ready message never does.
 */
static int
send_read_ready(struct peer_conn *pc, char *err, size_t errlen)
{
	uint8_t buf[sizeof(XL_RECEIVER_READY)], *body = NULL;
	struct json_object *o = NULL;
	struct proto_hdr h;
	const char *m;
	char why[256];
	int rc = -1;

	if (ioc_read_full(&pc->ioc, buf, PROTO_HDR_LEN) == -1) {
		snprintf(err, errlen, "%s closed the connection before the "
		    "domain was received: %s", pc->host, pc->ioc.err);
		return -1;
	}
	if (proto_hdr_decode(buf, PROTO_HDR_LEN, &h, PROTO_MAX_FRAME, why,
	    sizeof(why)) == PROTO_OK && h.type == PT_ERROR) {
		if ((body = malloc(h.len + 1)) == NULL ||
		    ioc_read_full(&pc->ioc, body, h.len) == -1 ||
		    proto_body_decode(body, h.len, &o, why, sizeof(why)) != 0)
			m = "(its reason was lost)";
		else
			m = proto_get_str(o, "message");
		snprintf(err, errlen, "%s failed to receive the domain: %s",
		    pc->host, m ? m : "(no reason given)");
		goto out;
	}
	if (ioc_read_full(&pc->ioc, buf + PROTO_HDR_LEN,
	    sizeof(buf) - PROTO_HDR_LEN) == -1) {
		snprintf(err, errlen, "%s: reading ready: %s", pc->host,
		    pc->ioc.err);
		goto out;
	}
	if (memcmp(buf, XL_RECEIVER_READY, sizeof(buf)) != 0) {
		snprintf(err, errlen, "%s sent unexpected data instead of "
		    "ready", pc->host);
		goto out;
	}
	rc = 0;
out:
	free(body);
	json_object_put(o);
	return rc;
}

void
send_migrate(struct relocd_conf *conf, SSL_CTX *tls, struct iochan *ctl,
    struct json_object *req)
{
	struct send_state st;
	struct peer_conn pc;
	struct json_object *cfg = NULL, *rq = NULL, *reply = NULL;
	struct domcfg_info info;
	struct xo_dominfo di;
	struct xo_hostinfo hi;
	struct xo_ctx *xo = NULL;
	const char *dom, *spec;
	char host[256], err[1024], name[DOMCFG_NAME_MAX + 1], jerr[512];
	char away[DOMCFG_NAME_MAX + 16], *json = NULL;
	uint8_t report[sizeof(XL_REPORT)], status, go[sizeof(
	    XL_PERMISSION_TO_GO)], *hdr = NULL;
	size_t hdrlen;
	uint32_t domid;
	uint64_t done_us;
	int port, live, paused, bw, renamed = 0, r;

	memset(&st, 0, sizeof(st));
	memset(&hi, 0, sizeof(hi));
	journal_init(&st.jr);
	st.ctl = *ctl;
	st.ctl.timeout_ms = 200;
	peer_conn_init(&pc);
	dom = proto_get_str(req, "domain");
	spec = proto_get_str(req, "host");
	live = proto_get_int(req, "live", 0) != 0;
	paused = proto_get_int(req, "paused", 0) != 0;
	port = (int)proto_get_int(req, "port", 0);
	bw = (int)proto_get_int(req, "bandwidth_mbit", 0);
	if (dom == NULL || spec == NULL || peer_parse_hostport(spec, port ?
	    port : conf->relocation_port, host, sizeof(host), &port) == -1) {
		send_result(ctl, &st, 2, "migrate: need a domain and a valid "
		    "host");
		goto out;
	}
	if (port <= 0 || port > 65535) {
		send_result(ctl, &st, 2, "migrate: bad port %d", port);
		goto out;
	}
	if (worker_migration_slot(conf, err, sizeof(err)) == -1) {
		send_result(ctl, &st, 1, "%s not migrated: %s", dom, err);
		goto out;
	}
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		send_result(ctl, &st, 1, "%s", err);
		goto out;
	}
	if (xo_lookup(xo, dom, &domid) != 0 || xo_info(xo, domid, &di) != 0) {
		send_result(ctl, &st, 1, "%s", xo_errmsg(xo));
		goto out;
	}
	if (strstr(di.name, SEND_SUFFIX) != NULL ||
	    strstr(di.name, "--incoming") != NULL) {
		send_result(ctl, &st, 1, "%s is in the middle of a migration; "
		    "not touched", di.name);
		goto out;
	}
	if (di.state != XO_RUNNING && di.state != XO_PAUSED) {
		send_result(ctl, &st, 1, "%s is %s; only a running or paused "
		    "domain can be migrated", di.name,
		    xo_state_name(di.state));
		goto out;
	}
	if (xo_config_get(xo, domid, &cfg) != 0 ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
		send_result(ctl, &st, 1, "%s: no usable config: %s", di.name,
		    xo_errmsg(xo));
		goto out;
	}
	snprintf(name, sizeof(name), "%s", di.name);
	snprintf(away, sizeof(away), "%s%s", name, SEND_SUFFIX);
	if (xo_host_info(xo, &hi) == 0 && live && !hi.cap_shadow &&
	    strcmp(info.type, "pv") == 0) {
		send_result(ctl, &st, 1, "%s not migrated: live migration of "
		    "a PV domain needs log-dirty mode, which this hypervisor "
		    "cannot do (no shadow paging: cap_shadow = 0); migrate "
		    "it offline (without -l)", name);
		goto out;
	}

	/* Journaled before anything is touched, so that a restart after a
	 * crash at any later point knows this migration existed. */
	if (journal_begin(&st.jr, conf, JOURNAL_SOURCE, name, info.uuid,
	    domid, host, err, sizeof(err)) == -1) {
		journal_dispose(&st.jr);
		send_result(ctl, &st, 1, "%s not migrated: %s", name, err);
		goto out;
	}
	journal_set_int(&st.jr, "live", live);
	journal_set_int(&st.jr, "port", port);

	st.start_us = clock_mono_us();
	send_note(&st, "connect", "migrating %s (%llu MiB, %s) to %s port %d",
	    name, (unsigned long long)info.memory_kb / 1024,
	    live ? "live" : "offline", host, port);
	if (peer_connect(conf, tls, host, port, &pc, err, sizeof(err)) == -1) {
		send_result(ctl, &st, 1, "%s not migrated: %s; it is still "
		    "running here", name, err);
		goto out;
	}
	rq = json_object_new_object();
	json_object_object_add(rq, "live", json_object_new_int(live));
	json_object_object_add(rq, "paused", json_object_new_int(paused));
	json_object_object_add(rq, "config", json_object_get(cfg));
	if (peer_request(&pc, PT_MIGRATE_RECEIVE, rq, &reply, err,
	    sizeof(err)) == -1) {
		send_result(ctl, &st, 1, "%s not migrated: %s; it is still "
		    "running here", name, err);
		goto out;
	}

	/* xl's protocol from here. */
	{
		char banner[sizeof(XL_RECEIVER_BANNER) - 1];

		if (ioc_read_full(&pc.ioc, banner, sizeof(banner)) == -1 ||
		    memcmp(banner, XL_RECEIVER_BANNER, sizeof(banner)) != 0) {
			send_result(ctl, &st, 1, "%s not migrated: %s sent no "
			    "receiver banner (%s); it is still running here",
			    name, host, pc.ioc.err[0] ? pc.ioc.err :
			    "unexpected data");
			goto out;
		}
	}
	json = domcfg_to_string(cfg);
	if (json == NULL || xl_header_encode(json, strlen(json), &hdr,
	    &hdrlen) == -1 || ioc_write_full(&pc.ioc, hdr, hdrlen) == -1) {
		send_result(ctl, &st, 1, "%s not migrated: sending its config "
		    "to %s: %s; it is still running here", name, host,
		    pc.ioc.err);
		goto out;
	}
	if (bw > 0)
		pc.ioc.max_bw = (uint64_t)bw * 1000000 / 8;

	if (journal_phase(&st.jr, "stream", err, sizeof(err)) == -1) {
		send_result(ctl, &st, 1, "%s not migrated: %s; it is still "
		    "running here", name, err);
		goto out;
	}
	r = xo_suspend_to(xo, domid, &pc.ioc, live ? XO_SUSPEND_LIVE : 0,
	    send_progress, &st);
	if (r != 0) {
		snprintf(err, sizeof(err), "%s", xo_errmsg(xo));
		goto resume;
	}
	pc.ioc.timeout_ms = conf->ready_timeout * 1000;
	if (send_read_ready(&pc, err, sizeof(err)) == -1)
		goto resume;
	pc.ioc.timeout_ms = conf->io_timeout * 1000;
	if (journal_phase(&st.jr, "rename", err, sizeof(err)) == -1)
		goto resume;
	if (xo_rename(xo, domid, name, away) != 0) {
		snprintf(err, sizeof(err), "rename to %s: %s", away,
		    xo_errmsg(xo));
		goto resume;
	}
	renamed = 1;

	/*
	 * THE POINT OF NO RETURN.  Once "go" may have left this host, the
	 * destination may run the domain: resuming it here could run it
	 * twice.  From here, a lost answer means "unknown", never "resume".
	 */
	if (journal_phase(&st.jr, "go", err, sizeof(err)) == -1)
		goto resume;
	send_note(&st, "go", "%s received by %s; sending go", name, host);
	if (ioc_write_full(&pc.ioc, XL_PERMISSION_TO_GO,
	    sizeof(XL_PERMISSION_TO_GO)) == -1) {
		snprintf(err, sizeof(err), "sending go: %s", pc.ioc.err);
		goto failed_badly;
	}
	pc.ioc.timeout_ms = conf->report_timeout * 1000;
	if (ioc_read_full(&pc.ioc, report, sizeof(report)) == -1 ||
	    memcmp(report, XL_REPORT, sizeof(report)) != 0 ||
	    ioc_read_full(&pc.ioc, &status, 1) == -1) {
		snprintf(err, sizeof(err), "waiting for the report: %s",
		    pc.ioc.err[0] ? pc.ioc.err : "unexpected data");
		goto failed_badly;
	}
	done_us = clock_mono_us();
	if (status == 0) {
		/* "bang!": the destination runs it; ours goes.  Journaled
		 * first: a restart then destroys the leftover copy. */
		if (journal_phase(&st.jr, "reported", err, sizeof(err)) == -1)
			log_warnx("%s", err);
		/* Before the destroy: console watchers follow it there. */
		console_moved_record(conf, name, host, port);
		if (xo_destroy(xo, domid) != 0)
			log_crit("%s runs on %s but the suspended copy %s here "
			    "could not be destroyed: %s; destroy it by hand",
			    name, host, away, xo_errmsg(xo));
		st.done_us = done_us;
		send_result(ctl, &st, 0, "%s migrated to %s: %.1f MiB in %d "
		    "round%s, %.0f ms total, downtime %.1f ms", name, host,
		    st.bytes / 1048576.0, st.rounds, st.rounds == 1 ? "" : "s",
		    (done_us - st.start_us) / 1000.0,
		    st.paused_us ? (done_us - st.paused_us) / 1000.0 : 0.0);
		goto out;
	}
	if (ioc_read_full(&pc.ioc, go, sizeof(go)) == -1 ||
	    memcmp(go, XL_PERMISSION_TO_GO, sizeof(go)) != 0) {
		snprintf(err, sizeof(err), "%s could not start %s (status %u) "
		    "and did not give it back: %s", host, name, status,
		    pc.ioc.err[0] ? pc.ioc.err : "unexpected data");
		goto failed_badly;
	}
	snprintf(err, sizeof(err), "%s could not start it (status %u)", host,
	    status);
	/* FALLTHROUGH: the destination destroyed its copy and handed ours
	 * back: resume here. */
resume:
	if (journal_phase(&st.jr, "resume", jerr, sizeof(jerr)) == -1)
		log_warnx("%s", jerr);
	if (renamed && xo_rename(xo, domid, away, name) != 0)
		log_warnx("rename %s back to %s: %s", away, name,
		    xo_errmsg(xo));
	if (xo_resume(xo, domid) != 0) {
		send_result(ctl, &st, 3, "migration of %s to %s failed (%s), "
		    "and resuming it here failed too: %s. It is not running: "
		    "check both hosts", name, host, err, xo_errmsg(xo));
		goto out;
	}
	send_result(ctl, &st, 1, "migration of %s to %s failed: %s; resumed "
	    "at the source: it is running here", name, host, err);
	goto out;

failed_badly:
	/* Nothing automatic from here: the operator decides. */
	send_result(ctl, &st, 3, "migration of %s to %s failed during the "
	    "final handshake (%s): the outcome is unknown. The copy here is "
	    "suspended as %s. CHECK BOTH HOSTS: if %s runs on %s, destroy "
	    "%s here; if not, resume it here", name, host, err, away, name,
	    host, away);
out:
	free(json);
	free(hdr);
	json_object_put(cfg);
	json_object_put(rq);
	json_object_put(reply);
	xo_hostinfo_dispose(&hi);
	peer_conn_dispose(&pc);
	journal_dispose(&st.jr);
	xo_close(xo);
}
