/*
 * The root side of receiving a domain: xl's migrate-receive rules, with
 * the network process (recv.c) doing the talking.
 *
 *	recv-begin: judge the config again, journal, create the domain
 *	    paused as NAME--incoming and restore it from the data socket
 *	    the network process feeds from the TLS session (a disk copy:
 *	    the copies only, with progress while an LV is zeroed, and
 *	    recv-restore later, so that the copies are made, and live
 *	    written, while the source still runs the domain)
 *	recv-go: "go" arrived: the domain is ours; rename, unpause
 *	recv-reported: the report reached the sender, or did not
 *	recv-abort, or the network process ending before "go": destroy
 *	    the incoming copy, the sender keeps the domain
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "diskcopy.h"
#include "domcfg.h"
#include "helper.h"
#include "hx.h"
#include "precheck.h"
#include "iochan.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

static void	helper_recv_destroy(struct helper *, const char *);
static int	helper_recv_begin_copy(struct helper *, struct json_object *,
		    struct json_object *, int *, int);
static int	helper_recv_restore_from(struct helper *, struct json_object *,
		    int);
static int	helper_recv_copies_create(struct helper *, struct json_object *,
		    char *, size_t);
static int	helper_recv_precheck(struct helper *, struct json_object *,
		    const char **, char *, size_t);
static int	helper_recv_lv_open(struct helper *, size_t, char *, size_t);
static void	helper_recv_note(struct helper *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	helper_recv_zero_tick(void *, uint64_t, uint64_t);

/* helper_recv_zero_tick's state: one LV being zeroed. */
struct helper_zero {
	struct helper	*h;
	const char	*name;		/* VG/LV */
	uint64_t	 t_note;	/* when progress last went out */
};

/* The same judgement the network process made, on the facts here. */
static int
helper_recv_precheck(struct helper *h, struct json_object *cfg,
    const char **code, char *reason, size_t reasonlen)
{
	struct xo_hostinfo hi;
	struct xo_dominfo *doms = NULL;
	size_t n = 0;
	int maint, rc;

	memset(&hi, 0, sizeof(hi));
	/* Turned on since the network process asked: it counts too. */
	if ((maint = maint_get(h->conf, NULL, 0, reason, reasonlen)) == -1) {
		*code = "journal";
		return -1;
	}
	*code = "backend";
	if (xo_host_info(h->xo, &hi) != 0 || xo_list(h->xo, &doms, &n) != 0) {
		snprintf(reason, reasonlen, "%s", xo_errmsg(h->xo));
		xo_hostinfo_dispose(&hi);
		return -1;
	}
	rc = recv_precheck(h->conf, maint, &hi, doms, n, cfg, code, reason,
	    reasonlen);
	free(doms);
	xo_hostinfo_dispose(&hi);
	return rc;
}

int
helper_recv_begin(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct json_object *cfg, *offer, *plan = NULL, *copycfg = NULL;
	const char *perr;
	int rc, defer;

	if (h->recv.active)
		return helper_error(h, "proto", "a domain is already being "
		    "received in this session");
	/* Deferred: the data channel comes with recv-restore. */
	defer = proto_get_int(args, "defer_restore", 0) != 0;
	if (nfds != (defer ? 0 : 1))
		return helper_error(h, "proto", "recv-begin without its data "
		    "channel");
	/* A disk copy always: its copies are made before the source
	 * suspends anything (PROTO_F_COPY_PREPARE). */
	if (defer != json_object_object_get_ex(args, "copy", NULL))
		return helper_error(h, "proto", "recv-begin defers the restore "
		    "for a disk copy, and only for one");
	if (!json_object_object_get_ex(args, "config", &cfg))
		return helper_error(h, "proto", "recv-begin without a config");
	if (helper_backend(h) == NULL)
		return 0;
	/* --copy-storage: where the copies go is decided here again, from
	 * this host's configuration, never taken from the network process;
	 * the config is judged as it will run, on the copies. */
	if (json_object_object_get_ex(args, "copy", &offer)) {
		plan = storage_plan(h->conf, offer);
		if ((perr = storage_plan_error(plan)) != NULL) {
			rc = helper_error(h, "storage", "cannot copy the "
			    "disks here: %s", perr);
			json_object_put(plan);
			return rc;
		}
		if ((copycfg = precheck_copy_apply(cfg, plan)) == NULL) {
			json_object_put(plan);
			return helper_error(h, "storage", "cannot apply the "
			    "copy plan to the config");
		}
		cfg = copycfg;
	}
	h->recv.paused = proto_get_int(args, "paused", 0) != 0;
	rc = helper_recv_begin_copy(h, cfg, plan, fds, defer);
	json_object_put(copycfg);
	json_object_put(plan);
	return rc;
}

/* recv-begin with the config as it will run here (the copies' paths). */
static int
helper_recv_begin_copy(struct helper *h, struct json_object *cfg,
    struct json_object *plan, int *fds, int defer)
{
	struct domcfg_info info;
	const char *code = "refused";
	char reason[1024], jerr[512];
	int fd;

	if (helper_recv_precheck(h, cfg, &code, reason, sizeof(reason)) == -1)
		return helper_error(h, code, "%s", reason);
	domcfg_info(cfg, &info, reason, sizeof(reason));
	snprintf(h->recv.name, sizeof(h->recv.name), "%s", info.name);
	snprintf(h->recv.incoming, sizeof(h->recv.incoming), "%s%s",
	    info.name, DOMCFG_SUFFIX_INCOMING);
	if (domcfg_set_name(cfg, h->recv.incoming) == -1)
		return helper_error(h, "config", "cannot name the incoming "
		    "copy %s", h->recv.incoming);
	log_info("%s: receiving domain %s (%llu MiB) as %s", h->who,
	    h->recv.name, (unsigned long long)info.memory_kb / 1024,
	    h->recv.incoming);
	/* Journaled before the domain exists here: a restart after a crash
	 * from now on destroys NAME--incoming until "go" is recorded. */
	if (journal_begin(&h->recv.jr, h->conf, JOURNAL_DEST, h->recv.name,
	    info.uuid, 0, h->who, jerr, sizeof(jerr)) == -1) {
		journal_dispose(&h->recv.jr);
		return helper_error(h, "journal", "cannot receive %s: %s",
		    h->recv.name, jerr);
	}
	journal_set_int(&h->recv.jr, "paused", h->recv.paused);
	h->recv.active = 1;
	if (plan != NULL && helper_recv_copies_create(h, plan, reason,
	    sizeof(reason)) == -1) {
		log_warnx("%s: %s", h->who, reason);
		helper_recv_copies_remove(h, "not received");
		journal_end(&h->recv.jr, "failed", 1, "not received; the "
		    "sender keeps it");
		h->recv.active = 0;
		return helper_error(h, "storage", "%s", reason);
	}
	if (defer) {
		/* The copies exist and are journaled: recv-disk may hand
		 * them out, and recv-restore brings the domain. */
		json_object_put(h->recv.cfg);
		h->recv.cfg = json_object_get(cfg);
		return helper_ok(h, NULL, NULL, 0);
	}
	fd = fds[0];
	fds[0] = -1;
	return helper_recv_restore_from(h, cfg, fd);
}

/* A live disk copy's domain, restored once the source suspended it. */
int
helper_recv_restore(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	int fd;

	if (!h->recv.active || h->recv.cfg == NULL || h->recv.have_domain ||
	    h->recv.go || nfds != 1)
		return helper_error(h, "proto", "recv-restore out of order");
	fd = fds[0];
	fds[0] = -1;
	return helper_recv_restore_from(h, h->recv.cfg, fd);
}

/* Restore NAME--incoming from the data socket fd (closed here). */
static int
helper_recv_restore_from(struct helper *h, struct json_object *cfg, int fd)
{
	struct iochan ioc;
	char reason[1024], jerr[512];
	int r;

	ioc_init(&ioc, fd, h->conf->io_timeout * 1000);
	r = xo_restore_from(h->xo, cfg, &ioc, &h->recv.domid, NULL, NULL);
	close(fd);
	if (r != 0) {
		snprintf(reason, sizeof(reason), "receiving %s failed: %s",
		    h->recv.name, xo_errmsg(h->xo));
		log_warnx("%s: %s", h->who, reason);
		helper_recv_copies_remove(h, "not received");
		journal_end(&h->recv.jr, "failed", 1, "not received; the "
		    "sender keeps it");
		h->recv.active = 0;
		return helper_error(h, r == XO_E_NOMEM ? "nomem" : "stream",
		    "%s", reason);
	}
	h->recv.have_domain = 1;
	journal_set_int(&h->recv.jr, "domid", h->recv.domid);
	if (journal_phase(&h->recv.jr, "ready", jerr, sizeof(jerr)) == -1) {
		helper_recv_destroy(h, jerr);
		return helper_error(h, "journal", "%s", jerr);
	}
	return helper_ok(h, NULL, NULL, 0);
}

int
helper_recv_go(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct json_object *o;
	char jerr[512];
	int r, rc;

	if (!h->recv.have_domain || h->recv.go)
		return helper_error(h, "proto", "go without a received domain");
	/* "go" received: the domain is ours now.  If that cannot be
	 * recorded, a crash would make a restart destroy a running domain:
	 * refuse it instead, and the sender resumes its copy. */
	r = journal_phase(&h->recv.jr, "go", jerr, sizeof(jerr)) == -1 ?
	    XO_E_FAIL : 0;
	if (r != 0)
		log_warnx("%s: %s", h->who, jerr);
	else
		h->recv.go = 1;
	if (r == 0)
		r = xo_rename(h->xo, h->recv.domid, h->recv.incoming,
		    h->recv.name);
	if (r == 0 && !h->recv.paused)
		r = xo_unpause(h->xo, h->recv.domid);
	if (r == 0) {
		helper_cluster_record(h, h->recv.domid, h->recv.name);
		/* Its disks are the copies now: kept. */
		helper_recv_copies_close(h);
	}
	if (r != 0) {
		log_warnx("%s: cannot start %s: %s", h->who, h->recv.name,
		    xo_errmsg(h->xo));
		if (journal_phase(&h->recv.jr, "destroy", jerr,
		    sizeof(jerr)) == -1)
			log_warnx("%s: %s", h->who, jerr);
		xo_destroy(h->xo, h->recv.domid);
		h->recv.have_domain = 0;
		/* The sender resumes on its own disks. */
		helper_recv_copies_remove(h, "could not start here");
		journal_end(&h->recv.jr, "failed", 1, "could not start here; "
		    "destroyed, the sender resumes it");
		h->recv.active = 0;
	}
	h->recv.status = r == 0 ? 0 : -r;
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_int(
	    h->recv.status));
	rc = helper_ok(h, o, NULL, 0);
	json_object_put(o);
	return rc;
}

int
helper_recv_reported(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	int ok = proto_get_int(args, "ok", 0) != 0;

	if (!h->recv.active || !h->recv.go)
		return helper_ok(h, NULL, NULL, 0);
	if (!ok) {
		/* The sender cannot learn the outcome; it keeps its copy
		 * suspended and tells its operator to check both hosts. */
		log_crit("%s: could not report the outcome for %s; the sender "
		    "will ask its operator to check both hosts", h->who,
		    h->recv.name);
		journal_end(&h->recv.jr, "done", 3, "started here; the report "
		    "to the sender was lost");
	} else {
		log_info("%s: domain %s received and %s (id %u)", h->who,
		    h->recv.name, h->recv.paused ? "left paused" : "running",
		    h->recv.domid);
		journal_end(&h->recv.jr, "done", 0, h->recv.paused ?
		    "received, left paused" : "received and running");
	}
	h->recv.active = h->recv.have_domain = 0;
	return helper_ok(h, NULL, NULL, 0);
}

static void
helper_recv_destroy(struct helper *h, const char *why)
{
	char jerr[512];

	log_warnx("%s: %s; destroying %s: the sender keeps the domain",
	    h->who, why, h->recv.incoming);
	if (h->recv.have_domain) {
		if (journal_phase(&h->recv.jr, "destroy", jerr,
		    sizeof(jerr)) == -1)
			log_warnx("%s: %s", h->who, jerr);
		if (xo_destroy(h->xo, h->recv.domid) != 0) {
			log_crit("cannot destroy incoming domain %u: %s",
			    h->recv.domid, xo_errmsg(h->xo));
			/* Left at "destroy": a restart tries again, and
			 * removes the copies its record names then. */
			helper_recv_copies_close(h);
			journal_dispose(&h->recv.jr);
			h->recv.active = h->recv.have_domain = 0;
			return;
		}
	}
	helper_recv_copies_remove(h, why);
	journal_end(&h->recv.jr, "failed", 1, "not received; the sender "
	    "keeps it");
	h->recv.active = h->recv.have_domain = 0;
}

int
helper_recv_abort(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *why = proto_get_str(args, "reason");

	if (h->recv.go)
		return helper_error(h, "proto", "abort after go: the domain "
		    "is this host's");
	if (h->recv.active)
		helper_recv_destroy(h, why ? why : "aborted");
	return helper_ok(h, NULL, NULL, 0);
}

/* The network process ended in the middle. */
void
helper_recv_abandon(struct helper *h)
{
	if (!h->recv.active)
		return;
	if (h->recv.go) {
		/* Started here; whether the sender heard is unknown. */
		journal_end(&h->recv.jr, "done", 3, "started here; the "
		    "network process ended before the report was sent");
		log_crit("%s: %s started here, but the network process ended "
		    "before it could report it: the sender will ask its "
		    "operator to check both hosts", h->who, h->recv.name);
		return;
	}
	helper_recv_destroy(h, "the network process ended before go");
}

/*
 * The copies of the offered disks, created empty (sparse, the source's
 * size) before any of their bytes arrive.  Journaled first: a crash from
 * here on leaves a record that names them, and the reconciliation
 * (reconcile.c) deletes them with the incoming domain.  O_EXCL: a file
 * that appeared since the plan is not ours to write.  An LV is
 * journaled ("copies_lv") only once lvcreate made it: a crash in
 * between leaves an empty LV that refuses the next attempt by name,
 * where journaling it first could remove one someone else made.
 */
static int
helper_recv_copies_create(struct helper *h, struct json_object *plan,
    char *err, size_t errlen)
{
	struct json_object *e, *names, *lvs;
	const char *target, *lv, *vg;
	char jerr[512], name[2 * (CONF_LVM_NAME_MAX + 1)];
	size_t i, n;
	int fd;

	n = json_object_array_length(plan);
	names = json_object_new_array();
	lvs = json_object_new_array();
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(plan, i);
		if (proto_get_str(e, "lv") == NULL)
			json_object_array_add(names, json_object_new_string(
			    proto_get_str(e, "target")));
	}
	journal_set_obj(&h->recv.jr, "copies", names);
	journal_set_obj(&h->recv.jr, "copies_lv", json_object_get(lvs));
	if (journal_phase(&h->recv.jr, "receive", jerr, sizeof(jerr)) == -1) {
		snprintf(err, errlen, "%s", jerr);
		json_object_put(lvs);
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(plan, i);
		target = proto_get_str(e, "target");
		h->recv.copy_size[i] = (uint64_t)proto_get_int(e, "size", 0);
		if ((lv = proto_get_str(e, "lv")) != NULL &&
		    (vg = proto_get_str(e, "vg")) != NULL) {
			snprintf(name, sizeof(name), "%s/%s", vg, lv);
			helper_recv_note(h, "creating the logical volume %s "
			    "(%lld MiB)", name, (long long)proto_get_int(e,
			    "lv_size", 0) >> 20);
			if (lvm_lv_create(h->conf, vg, lv, (uint64_t)
			    proto_get_int(e, "lv_size", 0), jerr,
			    sizeof(jerr)) == -1) {
				snprintf(err, errlen, "creating the logical "
				    "volume %s: %s", name, jerr);
				json_object_put(lvs);
				return -1;
			}
			h->recv.copy_target[i] = strdup(target);
			h->recv.copy_lv[i] = strdup(name);
			h->recv.copy_fd[i] = -1;
			h->recv.ncopy = (int)i + 1;
			json_object_array_add(lvs, json_object_new_string(name));
			if (journal_phase(&h->recv.jr, "receive", jerr,
			    sizeof(jerr)) == -1) {
				snprintf(err, errlen, "%s", jerr);
				json_object_put(lvs);
				return -1;
			}
			if (h->recv.copy_target[i] == NULL ||
			    h->recv.copy_lv[i] == NULL) {
				snprintf(err, errlen, "out of memory");
				json_object_put(lvs);
				return -1;
			}
			if (helper_recv_lv_open(h, i, err, errlen) == -1) {
				json_object_put(lvs);
				return -1;
			}
			log_info("%s: created the logical volume %s (%s, "
			    "%lld bytes, zeroed) for the copy of %s", h->who,
			    name, target, (long long)proto_get_int(e,
			    "lv_size", 0), proto_get_str(e, "source"));
			continue;
		}
		fd = open(target, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1) {
			snprintf(err, errlen, "creating %s: %s", target,
			    strerror(errno));
			json_object_put(lvs);
			return -1;
		}
		h->recv.copy_target[i] = strdup(target);
		h->recv.copy_fd[i] = fd;
		h->recv.ncopy = (int)i + 1;
		if (h->recv.copy_target[i] == NULL ||
		    ftruncate(fd, (off_t)h->recv.copy_size[i]) == -1) {
			snprintf(err, errlen, "sizing %s to %llu bytes: %s",
			    target, (unsigned long long)h->recv.copy_size[i],
			    strerror(errno));
			json_object_put(lvs);
			return -1;
		}
		log_info("%s: created %s (%llu bytes) for the copy of %s",
		    h->who, target, (unsigned long long)h->recv.copy_size[i],
		    proto_get_str(e, "source"));
	}
	json_object_put(lvs);
	return 0;
}

/*
 * The new LV of copy I, open for writing and all zeros.  Through
 * LVM's link (/dev/VG/LV to /dev/dm-N), which udev may make a moment
 * after lvcreate returns; what opens must be a block device that holds
 * the source's bytes.
 */
static int
helper_recv_lv_open(struct helper *h, size_t i, char *err, size_t errlen)
{
	const char *target = h->recv.copy_target[i];
	struct helper_zero z = { h, h->recv.copy_lv[i], 0 };
	char zerr[256];
	struct stat st;
	uint64_t size;
	unsigned secs;
	int fd = -1, tries;

	for (tries = 0; tries < 50; tries++) {
		if ((fd = open(target, O_RDWR | O_CLOEXEC)) != -1 ||
		    errno != ENOENT)
			break;
		usleep(100000);
	}
	if (fd == -1) {
		snprintf(err, errlen, "opening the new logical volume %s: %s",
		    target, strerror(errno));
		return -1;
	}
	h->recv.copy_fd[i] = fd;
	if (fstat(fd, &st) == -1 || !S_ISBLK(st.st_mode) ||
	    lvm_blk_size(fd, &size) == -1 || size < h->recv.copy_size[i]) {
		snprintf(err, errlen, "the new logical volume %s is not a "
		    "block device of at least %llu bytes", target,
		    (unsigned long long)h->recv.copy_size[i]);
		return -1;
	}
	/* Test fault: storage that zeroes slowly, one step a second. */
	for (secs = worker_sim_hang(h->conf, "lvzero"); secs > 0; secs--) {
		sleep(1);
		if (helper_recv_zero_tick(&z, 0, size) == -1) {
			snprintf(err, errlen, "the new logical volume %s: the "
			    "migration ended while it was zeroed (test fault "
			    "lvzero)", target);
			return -1;
		}
	}
	if (lvm_zero(fd, size, helper_recv_zero_tick, &z, zerr,
	    sizeof(zerr)) == -1) {
		snprintf(err, errlen, "the new logical volume %s: %s", target,
		    zerr);
		return -1;
	}
	return 0;
}

/* A line of progress while the copies are made (the "prepare" phase),
 * for the source to show: best effort, as the stream's. */
static void
helper_recv_note(struct helper *h, const char *fmt, ...)
{
	struct json_object *o;
	char msg[512], err[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "phase", json_object_new_string("prepare"));
	json_object_object_add(o, "message", json_object_new_string(msg));
	hx_send(h->fd, PT_PROGRESS, o, NULL, 0, err, sizeof(err));
	json_object_put(o);
}

/*
 * After each step of a zeroing: progress at most once a second, and -1
 * if the network process has gone.  In the middle of a call it sends
 * nothing, so a readable channel can only be its end closed (the source
 * left, recv.c recv_prepare): the rest of the zeroing would be for
 * nobody, and the failure path removes the LV.
 */
static int
helper_recv_zero_tick(void *arg, uint64_t done, uint64_t total)
{
	struct helper_zero *z = arg;
	struct pollfd pfd;
	uint64_t now = clock_mono_us();

	pfd.fd = z->h->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0)
		return -1;
	if (now - z->t_note < 1000000 && done < total)
		return 0;
	z->t_note = now;
	helper_recv_note(z->h, "zeroing the new logical volume %s: %llu of "
	    "%llu MiB", z->name, (unsigned long long)(done >> 20),
	    (unsigned long long)(total >> 20));
	return 0;
}

void
helper_recv_copies_close(struct helper *h)
{
	int i;

	for (i = 0; i < h->recv.ncopy; i++) {
		if (h->recv.copy_fd[i] != -1)
			close(h->recv.copy_fd[i]);
		h->recv.copy_fd[i] = -1;
		free(h->recv.copy_target[i]);
		h->recv.copy_target[i] = NULL;
		free(h->recv.copy_lv[i]);
		h->recv.copy_lv[i] = NULL;
		diskcopy_tags_dispose(&h->recv.copy_tags[i]);
	}
	h->recv.ncopy = 0;
}

/* The LV VG/LV (a journaled copy) removed, a few times if LVM finds
 * it still open (udev's probe after the last close): 0 or -1. */
int
helper_lv_remove(const struct relocd_conf *conf, const char *name,
    char *err, size_t errlen)
{
	char vg[CONF_LVM_NAME_MAX + 1];
	const char *slash = strchr(name, '/');
	int tries;

	if (slash == NULL || (size_t)(slash - name) >= sizeof(vg)) {
		snprintf(err, errlen, "'%.200s' names no logical volume", name);
		return -1;
	}
	memcpy(vg, name, (size_t)(slash - name));
	vg[slash - name] = '\0';
	if (!conf_lvm_name_ok(vg) || !conf_lvm_name_ok(slash + 1)) {
		snprintf(err, errlen, "'%.200s' names no logical volume", name);
		return -1;
	}
	for (tries = 0; tries < 3; tries++) {
		if (tries > 0)
			sleep(1);
		if (lvm_lv_remove(conf, vg, slash + 1, err, errlen) == 0)
			return 0;
	}
	return -1;
}

void
helper_recv_copies_remove(struct helper *h, const char *why)
{
	char err[1024];
	int i;

	/* Every descriptor closed first: an open LV is "in use". */
	for (i = 0; i < h->recv.ncopy; i++) {
		if (h->recv.copy_fd[i] != -1)
			close(h->recv.copy_fd[i]);
		h->recv.copy_fd[i] = -1;
	}
	for (i = 0; i < h->recv.ncopy; i++) {
		if (h->recv.copy_lv[i] != NULL) {
			if (helper_lv_remove(h->conf, h->recv.copy_lv[i], err,
			    sizeof(err)) == -1)
				log_warnx("%s: removing the partial copy, the "
				    "logical volume %s: %s", h->who,
				    h->recv.copy_lv[i], err);
			else
				log_info("%s: removed the copy, the logical "
				    "volume %s (%s)", h->who,
				    h->recv.copy_lv[i], why);
			continue;
		}
		if (h->recv.copy_target[i] == NULL)
			continue;
		if (unlink(h->recv.copy_target[i]) == -1 && errno != ENOENT)
			log_warn("%s: removing the partial copy %s", h->who,
			    h->recv.copy_target[i]);
		else
			log_info("%s: removed the copy %s (%s)", h->who,
			    h->recv.copy_target[i], why);
	}
	helper_recv_copies_close(h);
}

/* The copy of disk N, for the network process to write into. */
int
helper_recv_disk(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	int64_t n = proto_get_int(args, "disk", -1);

	/* Live, before the domain is restored: the copies exist from
	 * recv-begin on. */
	if (!h->recv.active || h->recv.go || n < 0 ||
	    n >= h->recv.ncopy || h->recv.copy_fd[n] == -1 ||
	    h->recv.copy_given[n])
		return helper_error(h, "proto", "recv-disk out of order");
	/* Its table for recv-disk-verify, for a disk that has one. */
	if (h->recv.copy_size[n] <= DISKCOPY_LIVE_MAX_SIZE &&
	    diskcopy_tags_init(&h->recv.copy_tags[n],
	    h->recv.copy_size[n]) == -1)
		return helper_error(h, "nomem", "%s: no memory for the table "
		    "of its chunks", h->recv.copy_target[n]);
	h->recv.copy_given[n] = 1;
	return helper_ok(h, NULL, &h->recv.copy_fd[n], 1);
}

/*
 * A copy's chunks, read back as they arrive: [disk, index] pairs
 * that the network process wrote since it last asked, each read from
 * the copy and its tag kept (recv-disk-done's digest is taken over
 * them).  It asks again for a chunk it writes again, and asks only after
 * the write, so the last read of every chunk follows its last write
 * whatever this read saw meanwhile.  Offline it runs beside the stream
 * rather than after it; live, most of it while the domain still runs at
 * the source: what is left for the suspended round is the chunks it
 * sends.  "sync": the copies written so far to stable storage too, so
 * that recv-disk-done's fsync has only that round's to write.
 */
int
helper_recv_disk_verify(struct helper *h, struct json_object *args,
    int *fds, int nfds)
{
	struct json_object *chunks, *e;
	struct diskcopy_key key;
	uint8_t tag[DISKCOPY_TAG_LEN], *buf = NULL;
	size_t i, n, got;
	int64_t disk, index;
	int r, rc = -1;

	if (!h->recv.active || h->recv.go ||
	    diskcopy_key_parse(proto_get_str(args, "key"), &key) == -1 ||
	    (h->recv.have_copy_key && memcmp(&key, &h->recv.copy_key,
	    sizeof(key)) != 0) ||
	    !json_object_object_get_ex(args, "chunks", &chunks) ||
	    !json_object_is_type(chunks, json_type_array) ||
	    (n = json_object_array_length(chunks)) > DISKCOPY_VERIFY_MAX)
		return helper_error(h, "proto", "recv-disk-verify out of "
		    "order, or without its chunks or tag key");
	h->recv.copy_key = key;
	h->recv.have_copy_key = 1;
	if (n > 0 && (buf = malloc(DISKCOPY_CHUNK)) == NULL)
		return helper_error(h, "nomem", "out of memory");
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(chunks, i);
		disk = index = -1;
		if (json_object_is_type(e, json_type_array) &&
		    json_object_array_length(e) == 2) {
			disk = json_object_get_int64(
			    json_object_array_get_idx(e, 0));
			index = json_object_get_int64(
			    json_object_array_get_idx(e, 1));
		}
		if (disk < 0 || disk >= h->recv.ncopy || index < 0 ||
		    !h->recv.copy_given[disk] || h->recv.copy_verified[disk] ||
		    h->recv.copy_fd[disk] == -1 || (uint64_t)index >=
		    (h->recv.copy_size[disk] + DISKCOPY_CHUNK - 1) /
		    DISKCOPY_CHUNK) {
			rc = helper_error(h, "proto", "recv-disk-verify: no "
			    "chunk %lld of a copy %lld being written",
			    (long long)index, (long long)disk);
			goto out;
		}
		if (h->recv.copy_tags[disk].tag == NULL) {
			rc = helper_error(h, "storage", "%s: %llu bytes: too "
			    "large to read back as it is written",
			    h->recv.copy_target[disk],
			    (unsigned long long)h->recv.copy_size[disk]);
			goto out;
		}
		r = diskcopy_chunk_readtag(h->recv.copy_fd[disk], &key,
		    (uint32_t)disk, h->recv.copy_size[disk], (uint64_t)index,
		    buf, tag, &got);
		if (r == -1) {
			rc = helper_error(h, "disk", "%s: reading chunk %lld "
			    "of the copy back: %s", h->recv.copy_target[disk],
			    (long long)index, errno == EPROTO ? "tagging "
			    "failed" : strerror(errno));
			goto out;
		}
		if (r == 1)
			diskcopy_tags_set(&h->recv.copy_tags[disk],
			    (uint64_t)index, tag, (uint32_t)got);
		else
			diskcopy_tags_clear(&h->recv.copy_tags[disk],
			    (uint64_t)index);
	}
	if (proto_get_int(args, "sync", 0) == 1) {
		for (disk = 0; disk < h->recv.ncopy; disk++) {
			if (!h->recv.copy_given[disk] ||
			    h->recv.copy_fd[disk] == -1 ||
			    fdatasync(h->recv.copy_fd[disk]) == 0)
				continue;
			rc = helper_error(h, "disk", "%s: fdatasync: %s",
			    h->recv.copy_target[disk], strerror(errno));
			goto out;
		}
	}
	rc = helper_ok(h, NULL, NULL, 0);
out:
	free(buf);
	return rc;
}

/*
 * Disk N arrived whole, by the network process's count: read it back
 * from the file itself and compare its image digest with the source's.
 * This is the check the network process cannot fake or get wrong: it
 * covers what is on disk here, not what was received.  "verified": a
 * copy whose every chunk was read back after its last write
 * (recv-disk-verify): the digest is taken over those reads.
 */
int
helper_recv_disk_done(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	int64_t n = proto_get_int(args, "disk", -1);
	const char *want = proto_get_str(args, "digest");
	int asread = proto_get_int(args, "verified", 0) == 1;
	struct diskcopy_key key;
	char hex[65], err[512];
	uint64_t bytes, chunks;

	if (!h->recv.have_domain || h->recv.go || n < 0 ||
	    n >= h->recv.ncopy || !h->recv.copy_given[n] ||
	    h->recv.copy_verified[n] || want == NULL ||
	    diskcopy_key_parse(proto_get_str(args, "key"), &key) == -1 ||
	    (asread && h->recv.have_copy_key && memcmp(&key,
	    &h->recv.copy_key, sizeof(key)) != 0))
		return helper_error(h, "proto", "recv-disk-done out of order, "
		    "or without its tag key");
	if (fsync(h->recv.copy_fd[n]) == -1)
		return helper_error(h, "disk", "%s: fsync: %s",
		    h->recv.copy_target[n], strerror(errno));
	if (asread) {
		if (h->recv.copy_tags[n].tag == NULL)
			return helper_error(h, "storage", "%s: too large to "
			    "have been read back as it was written",
			    h->recv.copy_target[n]);
		if (diskcopy_tags_digest(&h->recv.copy_tags[n], hex,
		    &chunks, &bytes) == -1)
			return helper_error(h, "disk", "%s: SHA-256 failed",
			    h->recv.copy_target[n]);
	} else if (diskcopy_image_of(h->recv.copy_fd[n], &key, (uint32_t)n,
	    h->recv.copy_size[n], hex, &bytes, err, sizeof(err)) == -1)
		return helper_error(h, "disk", "%s: %s",
		    h->recv.copy_target[n], err);
	if (strcmp(hex, want) != 0)
		return helper_error(h, "disk", "the copy %s does not match "
		    "the source's image (digest of its chunks' tags %.16s..., the "
		    "source's %.16s...)", h->recv.copy_target[n], hex, want);
	h->recv.copy_verified[n] = 1;
	log_info("%s: %s verified: %llu bytes of data, image digest %s%s",
	    h->who, h->recv.copy_target[n], (unsigned long long)bytes, hex,
	    asread ? " (each chunk read back after its last write)" : "");
	return helper_ok(h, NULL, NULL, 0);
}
