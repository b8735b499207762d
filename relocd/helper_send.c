/*
 * The root side of sending a domain away: xl's migrate_domain rules,
 * with the network process (migrate.c) doing the talking.
 *
 *	src-begin: check the domain, lock it, journal
 *	src-stream: suspend it into the data socket the network process
 *	    relays into the TLS session
 *	src-ready: "ready" arrived: rename to NAME--migratedaway, record
 *	    "go" and let the network process send it.  THE POINT OF NO
 *	    RETURN is this answer: from here a lost outcome is "unknown"
 *	src-report: the destination runs it (destroy here), or gave it
 *	    back (rename back, resume here)
 *	src-lost, or the network process ending after "go": unknown; the
 *	    copy here stays suspended for the operator
 *	src-abort, or the network process ending before "go": resume here
 *
 * Every outcome is answered with PT_RESULT {"exit", "message", ...}, the
 * frame xmig prints, and is journaled before it is answered.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "domcfg.h"
#include "helper.h"
#include "hx.h"
#include "iochan.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

static void	helper_src_progress(const struct xo_progress *, void *);
static int	helper_src_end(struct helper *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	helper_src_resume(struct helper *, const char *);
static struct json_object *helper_src_offer(struct helper *,
		    struct json_object *, struct json_object **, char *,
		    size_t);
static void	helper_src_remove_disks(struct helper *, char *, size_t);
static int	helper_src_live_too_big(const struct helper *);

/*
 * What xmig jobs shows of a migration away while it runs: the line xmig
 * migrate shows, kept next to its journal record (ID.progress), at most
 * once a second and at each round's start.  Not durable, and not the
 * journal's business: only a view, gone with the migration.
 */
static void
helper_src_progress_write(struct helper *h, int newround, uint64_t now)
{
	struct progress *p = &h->src.prog;
	struct json_object *o;
	char path[4300], tmp[4400];
	const char *text;
	int fd;

	if (h->src.jr.lockfd == -1 || (!newround &&
	    now - h->src.prog_written < 1000000))
		return;
	h->src.prog_written = now;
	o = json_object_new_object();
	json_object_object_add(o, "round", json_object_new_int(p->round));
	json_object_object_add(o, "paused", json_object_new_int(p->paused));
	json_object_object_add(o, "percent",
	    json_object_new_int(progress_percent(p, 0)));
	json_object_object_add(o, "round_pages",
	    json_object_new_int64((int64_t)p->round_pages));
	json_object_object_add(o, "rate", json_object_new_int64(
	    (int64_t)progress_rate(p, 0, now)));
	json_object_object_add(o, "dirty_rate", json_object_new_int64(
	    (int64_t)p->dirty_rate));
	json_object_object_add(o, "eta", json_object_new_int64(
	    progress_eta(p)));
	json_object_object_add(o, "bytes", json_object_new_int64(
	    (int64_t)p->bytes));
	if (h->src.disk_total > 0) {
		json_object_object_add(o, "disk_bytes", json_object_new_int64(
		    (int64_t)h->src.disk_bytes));
		json_object_object_add(o, "disk_total", json_object_new_int64(
		    (int64_t)h->src.disk_total));
		/* Live: the disk's own rounds, and what went again. */
		if (h->src.disk_round > 0) {
			json_object_object_add(o, "disk_round",
			    json_object_new_int(h->src.disk_round));
			json_object_object_add(o, "disk_resent",
			    json_object_new_int64((int64_t)
			    h->src.disk_resent));
		}
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(path, sizeof(path), "%s/%s.progress", h->src.jr.dir,
	    h->src.jr.id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) != -1) {
		if (write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
		    close(fd) == 0)
			rename(tmp, path);
		else
			unlink(tmp);
	}
	json_object_put(o);
}

/* The migration is over (however): its progress view goes. */
static void
helper_src_progress_end(struct helper *h)
{
	char path[4300];

	if (h->src.jr.id[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s.progress", h->src.jr.dir,
	    h->src.jr.id);
	unlink(path);
}

static void
helper_src_progress(const struct xo_progress *p, void *arg)
{
	struct helper *h = arg;
	struct json_object *o;
	char err[256];
	uint64_t now = clock_mono_us();

	helper_src_progress_write(h, progress_update(&h->src.prog, p->round,
	    p->pages_total, p->pages_sent, p->pages_dirty, p->bytes,
	    p->paused != 0, now), now);

	h->src.rounds = p->round;
	h->src.bytes = p->bytes;
	h->src.pages_total = p->pages_total;
	if (p->paused && h->src.paused_us == 0)
		h->src.paused_us = p->paused_at_us ? p->paused_at_us :
		    clock_mono_us();
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
	/* Best effort: a network process that stopped reading fails the
	 * stream itself. */
	hx_send(h->fd, PT_PROGRESS, o, NULL, 0, err, sizeof(err));
	json_object_put(o);
}

/*
 * The last word: journal, log, and the result the network process hands
 * to xmig.  A failed resume leaves the phase at "resume" (a restarted
 * relocd tries again); after "go" a lost answer is "unknown" until xmig
 * recover settles it.
 */
static int
helper_src_end(struct helper *h, int exitcode, const char *fmt, ...)
{
	struct json_object *o, *v;
	const char *phase = "failed";
	uint64_t end = clock_mono_us();
	char msg[1536];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->src.jr.rec != NULL) {
		if (exitcode == 0)
			phase = "done";
		else if (exitcode == 3 && json_object_object_get_ex(
		    h->src.jr.rec, "phase", &v) &&
		    strcmp(json_object_get_string(v), "resume") == 0)
			phase = "resume";
		else if (exitcode == 3)
			phase = "unknown";
		helper_src_progress_end(h);
		journal_end(&h->src.jr, phase, exitcode, msg);
	}
	h->src.active = 0;
	if (exitcode == 0)
		log_info("%s", msg);
	else if (exitcode == 3)
		log_crit("%s", msg);
	else
		log_warnx("%s", msg);
	o = json_object_new_object();
	json_object_object_add(o, "exit", json_object_new_int(exitcode));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "bytes", json_object_new_int64(
	    h->src.bytes));
	json_object_object_add(o, "rounds", json_object_new_int(
	    h->src.rounds));
	if (h->src.ncopy > 0) {
		json_object_object_add(o, "disk_bytes", json_object_new_int64(
		    (int64_t)h->src.disk_bytes));
		json_object_object_add(o, "disk_ms", json_object_new_double(
		    h->src.disk_us / 1000.0));
	}
	json_object_object_add(o, "memory_bytes",
	    json_object_new_int64(h->src.pages_total * 4096));
	json_object_object_add(o, "total_ms", json_object_new_double(
	    h->src.start_us ? (end - h->src.start_us) / 1000.0 : 0));
	/* Downtime as the source sees it: from the guest's pause to the
	 * report that it runs at the destination (an upper bound by one
	 * round trip). */
	if (exitcode == 0 && h->src.paused_us != 0)
		json_object_object_add(o, "downtime_ms", json_object_new_double(
		    (h->src.done_us - h->src.paused_us) / 1000.0));
	/* Whoever asked for the cancel, the xmig that waits for this
	 * migration says it the same way (cancel.c). */
	if (h->src.cancelled) {
		char where[256];

		if (gethostname(where, sizeof(where)) == -1)
			snprintf(where, sizeof(where), "this host");
		where[sizeof(where) - 1] = '\0';
		json_object_object_add(o, "cancelled",
		    json_object_new_int(1));
		json_object_object_add(o, "runs_on",
		    json_object_new_string(where));
	}
	rc = helper_result(h, o);
	json_object_put(o);
	return rc;
}

int
helper_src_begin(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *dom = proto_get_str(args, "domain");
	const char *host = proto_get_str(args, "host");
	struct json_object *cfg = NULL, *reply, *offer = NULL, *skipped = NULL;
	struct domcfg_info info;
	struct xo_dominfo di;
	struct xo_hostinfo hi;
	char err[1024];
	int rc, i;

	if (h->src.active || h->src.jr.rec != NULL)
		return helper_error(h, "proto", "a migration was already "
		    "begun in this session");
	if (dom == NULL || host == NULL || strcmp(dom, h->scope) != 0)
		return helper_error(h, "usage", "migrate: not the domain the "
		    "request named");
	if (helper_backend(h) == NULL)
		return 0;
	if (xo_lookup(h->xo, dom, &h->src.domid) != 0 ||
	    xo_info(h->xo, h->src.domid, &di) != 0)
		return helper_error(h, "notfound", "%s", xo_errmsg(h->xo));
	if (strstr(di.name, DOMCFG_SUFFIX_AWAY) != NULL ||
	    strstr(di.name, DOMCFG_SUFFIX_INCOMING) != NULL)
		return helper_error(h, "migrating", "%s is in the middle of a "
		    "migration; not touched", di.name);
	/* Before anything is touched: one migration of a domain at once. */
	if (helper_domain_lock(h, di.name, host, err, sizeof(err)) == -1)
		return helper_error(h, "migrating", "%s not migrated: %s",
		    di.name, err);
	/* Looked at again under the lock: a migration that just ended
	 * took the domain away or renamed it. */
	if (xo_info(h->xo, h->src.domid, &di) != 0 ||
	    strstr(di.name, DOMCFG_SUFFIX_AWAY) != NULL)
		return helper_error(h, "notfound", "%s is no longer here", dom);
	if (di.state != XO_RUNNING && di.state != XO_PAUSED)
		return helper_error(h, "refused", "%s is %s; only a running or "
		    "paused domain can be migrated", di.name,
		    xo_state_name(di.state));
	if (strlen(di.name) > DOMCFG_MIGRATE_NAME_MAX)
		return helper_error(h, "config", "%s not migrated: its name is "
		    "%zu characters, and the migration renames it %s%s, which "
		    "would exceed Xen's limit of %d; rename the domain to at "
		    "most %d characters", di.name, strlen(di.name), di.name,
		    DOMCFG_SUFFIX_AWAY, DOMCFG_NAME_MAX,
		    DOMCFG_MIGRATE_NAME_MAX);
	if (xo_config_get(h->xo, h->src.domid, &cfg) != 0 ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
		json_object_put(cfg);
		return helper_error(h, "backend", "%s: no usable config: %s",
		    di.name, xo_errmsg(h->xo));
	}
	h->src.live = proto_get_int(args, "live", 0) != 0;
	h->src.port = (int)proto_get_int(args, "port", 0);
	snprintf(h->src.name, sizeof(h->src.name), "%s", di.name);
	snprintf(h->src.away, sizeof(h->src.away), "%s%s", di.name,
	    DOMCFG_SUFFIX_AWAY);
	snprintf(h->src.host, sizeof(h->src.host), "%s", host);
	memset(&hi, 0, sizeof(hi));
	if (xo_host_info(h->xo, &hi) == 0 && h->src.live && !hi.cap_shadow &&
	    strcmp(info.type, "pv") == 0) {
		xo_hostinfo_dispose(&hi);
		json_object_put(cfg);
		return helper_error(h, "refused", "%s not migrated: live "
		    "migration of a PV domain needs log-dirty mode, which "
		    "this hypervisor cannot do (no shadow paging: cap_shadow "
		    "= 0); migrate it offline (without -l)", di.name);
	}
	if (h->src.live && strcmp(info.type, "pv") != 0 && !hi.cap_hap &&
	    !hi.cap_shadow) {
		xo_hostinfo_dispose(&hi);
		json_object_put(cfg);
		return helper_error(h, "refused", "%s not migrated: live "
		    "migration of a %s domain needs log-dirty mode, which "
		    "needs HAP or shadow paging, and this host has neither; "
		    "migrate it offline (without -l)", di.name, info.type);
	}

	if (proto_get_int(args, "copy_storage", 0) && h->src.live &&
	    !xo_has_disk_dirty(h->xo)) {
		xo_hostinfo_dispose(&hi);
		json_object_put(cfg);
		/* Honest about why: blkback cannot track a disk's writes,
		 * and a qdisk mirror (QEMU's drive-mirror into an NBD export
		 * at the destination, as libvirt does it) is not built.  The
		 * sim backend tracks them (xo_disk_dirty). */
		return helper_error(h, "refused", "%s not migrated: live "
		    "migration with --copy-storage is not supported on the "
		    "%s backend: it needs the disk's writes tracked while it "
		    "runs, which blkback cannot do and which for qdisk disks "
		    "would take QEMU's drive-mirror over NBD; migrate it "
		    "offline (without -l)", di.name, xo_backend_name(h->xo));
	}
	if (proto_get_int(args, "copy_storage", 0) &&
	    (offer = helper_src_offer(h, cfg, &skipped, err, sizeof(err))) ==
	    NULL) {
		xo_hostinfo_dispose(&hi);
		json_object_put(cfg);
		return helper_error(h, "storage", "%s not migrated: %s",
		    di.name, err);
	}
	if (offer != NULL && h->src.live && (i = helper_src_live_too_big(h)) !=
	    -1) {
		xo_hostinfo_dispose(&hi);
		json_object_put(cfg);
		json_object_put(offer);
		json_object_put(skipped);
		rc = helper_error(h, "storage", "%s not migrated: its disk %s "
		    "is %llu bytes; a live copy handles images up to %llu "
		    "bytes (the chunk tables it keeps grow with the image); "
		    "migrate it offline (without -l)", di.name,
		    h->src.copy_path[i], (unsigned long long)
		    h->src.copy_size[i], DISKCOPY_LIVE_MAX_SIZE);
		helper_src_copies_free(h);
		return rc;
	}
	h->src.remove_disks = offer != NULL &&
	    proto_get_int(args, "remove_source_disk", 0) != 0;

	/* Journaled before anything is touched, so that a restart after a
	 * crash at any later point knows this migration existed. */
	if (journal_begin(&h->src.jr, h->conf, JOURNAL_SOURCE, h->src.name,
	    info.uuid, h->src.domid, host, err, sizeof(err)) == -1) {
		journal_dispose(&h->src.jr);
		xo_hostinfo_dispose(&hi);
		json_object_put(cfg);
		json_object_put(offer);
		json_object_put(skipped);
		helper_src_copies_free(h);
		return helper_error(h, "journal", "%s not migrated: %s",
		    h->src.name, err);
	}
	if (offer != NULL) {
		journal_set_obj(&h->src.jr, "copy_storage",
		    json_object_get(offer));
		journal_set_int(&h->src.jr, "remove_source_disk",
		    h->src.remove_disks);
	}
	journal_set_int(&h->src.jr, "live", h->src.live);
	journal_set_int(&h->src.jr, "port", h->src.port);
	h->src.active = 1;
	h->src.start_us = clock_mono_us();

	reply = json_object_new_object();
	json_object_object_add(reply, "name", json_object_new_string(
	    h->src.name));
	json_object_object_add(reply, "memory_kb", json_object_new_int64(
	    (int64_t)info.memory_kb));
	json_object_object_add(reply, "config", cfg);
	/* What the destination's pre-flight compares with itself. */
	json_object_object_add(reply, "source", hostinfo_source_json(&hi));
	if (offer != NULL)
		json_object_object_add(reply, "copy", offer);
	/* Said to the operator: the destination must have these. */
	if (skipped != NULL)
		json_object_object_add(reply, "copy_skipped", skipped);
	xo_hostinfo_dispose(&hi);
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

int
helper_src_stream(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct iochan ioc;
	char err[512];
	int r;

	if (!h->src.active || h->src.go || nfds != 1)
		return helper_error(h, "proto", "src-stream out of order");
	if (journal_phase(&h->src.jr, "stream", err, sizeof(err)) == -1) {
		close(fds[0]);
		fds[0] = -1;
		return helper_error(h, "journal", "%s", err);
	}
	ioc_init(&ioc, fds[0], h->conf->io_timeout * 1000);
	r = xo_suspend_to(h->xo, h->src.domid, &ioc, h->src.live ?
	    XO_SUSPEND_LIVE : 0, helper_src_progress, h);
	/* The network process sees the end of the stream as EOF. */
	close(fds[0]);
	fds[0] = -1;
	if (r != 0)
		return helper_error(h, "stream", "%s", xo_errmsg(h->xo));
	/* Suspended: its disks hold still, they may go now. */
	h->src.streamed = 1;
	return helper_ok(h, NULL, NULL, 0);
}

/* Before "go": rename back (if renamed), resume here. */
static int
helper_src_resume(struct helper *h, const char *why)
{
	char jerr[512];

	if (journal_phase(&h->src.jr, "resume", jerr, sizeof(jerr)) == -1)
		log_warnx("%s", jerr);
	if (h->src.renamed && xo_rename(h->xo, h->src.domid, h->src.away,
	    h->src.name) != 0)
		log_warnx("rename %s back to %s: %s", h->src.away, h->src.name,
		    xo_errmsg(h->xo));
	h->src.renamed = 0;
	if (xo_resume(h->xo, h->src.domid) != 0)
		return helper_src_end(h, 3, "migration of %s to %s failed "
		    "(%s), and resuming it here failed too: %s. It is not "
		    "running: check both hosts", h->src.name, h->src.host, why,
		    xo_errmsg(h->xo));
	if (strncmp(why, "cancelled", 9) == 0) {
		h->src.cancelled = 1;
		return helper_src_end(h, 1, "migration of %s to %s cancelled "
		    "before the point of no return; resumed at the source: it "
		    "is running here", h->src.name, h->src.host);
	}
	return helper_src_end(h, 1, "migration of %s to %s failed: %s; "
	    "resumed at the source: it is running here", h->src.name,
	    h->src.host, why);
}

int
helper_src_ready(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	char err[512];

	if (!h->src.active || h->src.go)
		return helper_error(h, "proto", "src-ready out of order");
	if (h->src.ncopy > 0) {
		h->src.disk_bytes = (uint64_t)proto_get_int(args,
		    "disk_bytes", 0);
		h->src.disk_us = (uint64_t)proto_get_int(args, "disk_us", 0);
		journal_set_int(&h->src.jr, "disk_bytes",
		    (int64_t)h->src.disk_bytes);
	}
	if (journal_phase(&h->src.jr, "rename", err, sizeof(err)) == -1)
		return helper_src_resume(h, err);
	if (xo_rename(h->xo, h->src.domid, h->src.name, h->src.away) != 0) {
		snprintf(err, sizeof(err), "rename to %s: %s", h->src.away,
		    xo_errmsg(h->xo));
		return helper_src_resume(h, err);
	}
	h->src.renamed = 1;
	/* The lease moves with "go": ours goes first, or the destination
	 * could not take it.  Until "go" leaves nobody else can take it
	 * either (the destination waits for "go"; a forced restart is
	 * refused while we answer), and a resume takes it back. */
	if (xo_lease_give(h->xo, h->src.domid) != 0) {
		snprintf(err, sizeof(err), "giving up the lease: %s",
		    xo_errmsg(h->xo));
		return helper_src_resume(h, err);
	}
	/*
	 * THE POINT OF NO RETURN.  Once this answer leaves, "go" may leave
	 * this host and the destination may run the domain: resuming it
	 * here could run it twice.  From here, a lost answer means
	 * "unknown", never "resume".
	 */
	if (journal_phase(&h->src.jr, "go", err, sizeof(err)) == -1)
		return helper_src_resume(h, err);
	h->src.go = 1;
	return helper_ok(h, NULL, NULL, 0);
}

int
helper_src_report(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	int status = (int)proto_get_int(args, "status", -1);
	char err[512], disks[1024];

	if (!h->src.active || !h->src.go || status < 0 || status > 255)
		return helper_error(h, "proto", "src-report out of order");
	if (status != 0) {
		/* The destination destroyed its copy and handed ours back:
		 * resume here. */
		if (!proto_get_int(args, "permission", 0))
			return helper_error(h, "proto", "src-report: a failure "
			    "without permission is src-lost");
		snprintf(err, sizeof(err), "%s could not start it (status %d)",
		    h->src.host, status);
		return helper_src_resume(h, err);
	}
	/* "bang!": the destination runs it; ours goes.  Journaled first: a
	 * restart then destroys the leftover copy. */
	h->src.done_us = clock_mono_us();
	if (journal_phase(&h->src.jr, "reported", err, sizeof(err)) == -1)
		log_warnx("%s", err);
	/* Before the destroy: console watchers follow it there. */
	console_moved_record(h->conf, h->src.name, h->src.host, h->src.port);
	if (xo_destroy(h->xo, h->src.domid) != 0)
		log_crit("%s runs on %s but the suspended copy %s here could "
		    "not be destroyed: %s; destroy it by hand", h->src.name,
		    h->src.host, h->src.away, xo_errmsg(h->xo));
	disks[0] = '\0';
	if (h->src.ncopy > 0)
		helper_src_remove_disks(h, disks, sizeof(disks));
	return helper_src_end(h, 0, "%s migrated to %s: %.1f MiB in %d "
	    "round%s%s, %.0f ms total, downtime %.1f ms", h->src.name,
	    h->src.host, h->src.bytes / 1048576.0, h->src.rounds,
	    h->src.rounds == 1 ? "" : "s", disks,
	    (h->src.done_us - h->src.start_us) / 1000.0,
	    h->src.paused_us ? (h->src.done_us - h->src.paused_us) / 1000.0 :
	    0.0);
}

int
helper_src_lost(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *why = proto_get_str(args, "reason");

	if (!h->src.active || !h->src.go)
		return helper_error(h, "proto", "src-lost before go");
	/* Nothing automatic from here: the operator decides. */
	return helper_src_end(h, 3, "migration of %s to %s failed during the "
	    "final handshake (%s): the outcome is unknown. The copy here is "
	    "suspended as %s. CHECK BOTH HOSTS: if %s runs on %s, destroy %s "
	    "here; if not, resume it here (xmig recover %s)", h->src.name,
	    h->src.host, why ? why : "no reason given", h->src.away,
	    h->src.name, h->src.host, h->src.away, h->src.name);
}

int
helper_src_abort(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *why = proto_get_str(args, "reason");
	struct json_object *v;

	if (!h->src.active || h->src.go)
		return helper_error(h, "proto", "src-abort after go");
	if (why == NULL)
		why = "no reason given";
	/* Not suspended yet: nothing to undo.  A cancel (in a live disk
	 * copy, which runs before the stream) is still said as one. */
	if (json_object_object_get_ex(h->src.jr.rec, "phase", &v) &&
	    strcmp(json_object_get_string(v), "preflight") == 0) {
		if (strncmp(why, "cancelled", 9) == 0)
			h->src.cancelled = 1;
		return helper_src_end(h, 1, "%s not migrated: %s; it is still "
		    "running here", h->src.name, why);
	}
	return helper_src_resume(h, why);
}

void
helper_src_abandon(struct helper *h)
{
	struct json_object *o;

	if (!h->src.active)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "reason", json_object_new_string(
	    "relocd's network process for this migration ended"));
	if (h->src.go)
		helper_src_lost(h, o, NULL, 0);
	else
		helper_src_abort(h, o, NULL, 0);
	json_object_put(o);
}

/* The disks --copy-storage copies (storage_offer), kept to be opened
 * for the network process and removed after, by this side's paths. */
static struct json_object *
helper_src_offer(struct helper *h, struct json_object *cfg,
    struct json_object **skipped, char *err, size_t errlen)
{
	struct json_object *offer, *d;
	size_t i, n;

	if ((offer = storage_offer(h->conf, cfg, skipped, err, errlen)) ==
	    NULL)
		return NULL;
	n = json_object_array_length(offer);
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(offer, i);
		if ((h->src.copy_path[i] = strdup(proto_get_str(d,
		    "path"))) == NULL) {
			snprintf(err, errlen, "out of memory");
			json_object_put(offer);
			json_object_put(*skipped);
			*skipped = NULL;
			helper_src_copies_free(h);
			return NULL;
		}
		h->src.copy_size[i] = (uint64_t)proto_get_int(d, "size", 0);
		h->src.copy_blk[i] = proto_get_str(d, "kind") != NULL;
		h->src.ncopy = (int)i + 1;
	}
	return offer;
}

void
helper_src_copies_free(struct helper *h)
{
	int i;

	for (i = 0; i < h->src.ncopy; i++) {
		free(h->src.copy_path[i]);
		h->src.copy_path[i] = NULL;
	}
	h->src.ncopy = 0;
}

/* The first offered disk too big for a live copy, or -1. */
static int
helper_src_live_too_big(const struct helper *h)
{
	int i;

	for (i = 0; i < h->src.ncopy; i++)
		if (h->src.copy_size[i] > DISKCOPY_LIVE_MAX_SIZE)
			return i;
	return -1;
}

/*
 * Disk N, read only, for the network process to send: offline only once
 * the suspend ended (nothing writes it any more), live from the start
 * with its dirty bitmap (xo_disk_dirty), whose bits say which chunks
 * the running domain wrote since they were read; before "go" either
 * way.  The file must still be the regular file of the size offered:
 * one swapped or resized since would not match what the destination
 * planned for.
 */
int
helper_src_disk(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	int64_t n = proto_get_int(args, "disk", -1);
	struct stat st;
	uint64_t size;
	int fd, dfd = -1, out[2], rc;

	if (!h->src.active || h->src.go || (!h->src.streamed &&
	    !h->src.live) || n < 0 || n >= h->src.ncopy)
		return helper_error(h, "proto", "src-disk out of order");
	/* A file is opened as named, never through a symbolic link; a
	 * block device is, as LVM names it: /dev/VG/LV is its link to
	 * /dev/dm-N.  Either way what opened must be what was offered. */
	fd = open(h->src.copy_path[n], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ELOOP && h->src.copy_blk[n])
		fd = open(h->src.copy_path[n], O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return helper_error(h, "storage", "%s: %s",
		    h->src.copy_path[n], strerror(errno));
	if (fstat(fd, &st) == -1)
		size = UINT64_MAX;
	else if (h->src.copy_blk[n])
		size = S_ISBLK(st.st_mode) && lvm_blk_size(fd, &size) == 0 ?
		    size : UINT64_MAX;
	else
		size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
	if (size != h->src.copy_size[n]) {
		close(fd);
		return helper_error(h, "storage", "%s changed since the "
		    "migration began (no longer a %s of %llu bytes)",
		    h->src.copy_path[n], h->src.copy_blk[n] ? "block device" :
		    "file", (unsigned long long)h->src.copy_size[n]);
	}
	if (h->src.live && !h->src.streamed && xo_disk_dirty(h->xo,
	    h->src.domid, h->src.copy_path[n], &dfd) != 0) {
		close(fd);
		return helper_error(h, "backend", "%s: tracking its writes: %s",
		    h->src.copy_path[n], xo_errmsg(h->xo));
	}
	out[0] = fd;
	out[1] = dfd;
	rc = helper_ok(h, NULL, out, dfd == -1 ? 1 : 2);
	close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/* How far the disks are (--copy-storage), for xmig jobs. */
int
helper_src_disk_progress(struct helper *h, struct json_object *args,
    int *fds, int nfds)
{
	if (!h->src.active || h->src.go || (!h->src.streamed &&
	    !h->src.live) || h->src.ncopy == 0)
		return helper_error(h, "proto", "src-disk-progress out of "
		    "order");
	h->src.disk_bytes = (uint64_t)proto_get_int(args, "disk_bytes", 0);
	h->src.disk_total = (uint64_t)proto_get_int(args, "disk_total", 0);
	h->src.disk_round = (int)proto_get_int(args, "disk_round", 0);
	h->src.disk_resent = (uint64_t)proto_get_int(args, "disk_resent", 0);
	helper_src_progress_write(h, 1, clock_mono_us());
	return helper_ok(h, NULL, NULL, 0);
}

/* The destination runs it on the copies: keep ours, or remove them. */
static void
helper_src_remove_disks(struct helper *h, char *msg, size_t len)
{
	int i, removed = 0;

	if (!h->src.remove_disks) {
		snprintf(msg, len, ", %.1f MiB of disk data copied in %.0f ms, "
		    "the source disk%s kept", h->src.disk_bytes / 1048576.0,
		    h->src.disk_us / 1000.0, h->src.ncopy == 1 ? "" : "s");
		return;
	}
	for (i = 0; i < h->src.ncopy; i++) {
		/* Unlinking /dev/VG/LV would drop LVM's link, not the LV:
		 * the operator removes it, with lvremove. */
		if (h->src.copy_blk[i]) {
			log_info("%s: its source disk %s is a block device: "
			    "kept (remove it with lvremove if it is an LV no "
			    "longer needed)", h->src.name, h->src.copy_path[i]);
			continue;
		}
		if (unlink(h->src.copy_path[i]) == -1)
			log_warn("%s runs on %s; removing its source disk %s",
			    h->src.name, h->src.host, h->src.copy_path[i]);
		else {
			log_info("%s: removed the source disk %s",
			    h->src.name, h->src.copy_path[i]);
			removed++;
		}
	}
	snprintf(msg, len, ", %.1f MiB of disk data copied in %.0f ms, %d of "
	    "%d source disk%s removed", h->src.disk_bytes / 1048576.0,
	    h->src.disk_us / 1000.0, removed, h->src.ncopy,
	    h->src.ncopy == 1 ? "" : "s");
}
