/*
 * The destination side of a migration: xl's migrate-receive, in xl's
 * order (tools/xl/xl_migrate.c), inside the authenticated TLS session.
 *
 *	banner -> header + config -> stream (restore, paused, as
 *	NAME--incoming) -> "ready" -> wait for "go" -> rename to NAME,
 *	unpause -> report + status -> (on failure: destroy, "permission")
 *
 * Until "go" arrives the sender owns the domain: any failure here
 * destroys the incoming copy.  After "go" this host owns it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domcfg.h"
#include "journal.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"
#include "xlproto.h"

#define RECV_SUFFIX	"--incoming"

static int	recv_read_config(struct iochan *, struct json_object **,
		    char *, size_t);
static void	recv_fail_early(struct iochan *, const char *, const char *);
static int	recv_same_domain(struct json_object *, struct json_object *);

int
recv_precheck(struct relocd_conf *conf, struct xo_ctx *xo,
    struct json_object *cfg, const char **code, char *reason,
    size_t reasonlen)
{
	struct domcfg_policy pol;
	struct domcfg_info info;
	struct xo_hostinfo hi;
	struct xo_dominfo *doms = NULL;
	char incoming[DOMCFG_NAME_MAX + 16];
	size_t n = 0, i, len;
	int rc = -1;

	memset(&hi, 0, sizeof(hi));
	*code = "refused";
	if (!conf->accept_migrations) {
		*code = "maintenance";
		snprintf(reason, reasonlen, "this host is in maintenance and "
		    "refuses incoming migrations (accept_migrations = 0)");
		return -1;
	}
	if (domcfg_info(cfg, &info, reason, reasonlen) == -1) {
		*code = "config";
		return -1;
	}
	len = strlen(info.name);
	if ((len > strlen(RECV_SUFFIX) && strcmp(info.name + len -
	    strlen(RECV_SUFFIX), RECV_SUFFIX) == 0) ||
	    strstr(info.name, "--migratedaway") != NULL) {
		*code = "config";
		snprintf(reason, reasonlen, "domain name '%s' is the name of "
		    "a migration in progress", info.name);
		return -1;
	}
	if (xo_host_info(xo, &hi) != 0) {
		*code = "backend";
		snprintf(reason, reasonlen, "%s", xo_errmsg(xo));
		goto out;
	}
	memset(&pol, 0, sizeof(pol));
	pol.disk_paths = conf->incoming_disk_paths;
	pol.bridges = conf->incoming_bridges;
	pol.host_bridges = hi.bridges;
	pol.allow_bootloader = conf->incoming_allow_bootloader;
	pol.allow_device_model = conf->incoming_allow_device_model;
	pol.max_memory_kb = (uint64_t)conf->incoming_max_memory_mb * 1024;
	pol.max_vcpus = (unsigned)conf->incoming_max_vcpus;
	if (domcfg_policy_check(cfg, &pol, reason, reasonlen) == -1) {
		*code = "policy";
		goto out;
	}
	if (xo_list(xo, &doms, &n) != 0) {
		*code = "backend";
		snprintf(reason, reasonlen, "%s", xo_errmsg(xo));
		goto out;
	}
	snprintf(incoming, sizeof(incoming), "%s%s", info.name, RECV_SUFFIX);
	for (i = 0; i < n; i++) {
		if (strcmp(doms[i].name, info.name) == 0) {
			*code = "exists";
			snprintf(reason, reasonlen, "a domain named '%s' "
			    "already exists on this host (id %u)", info.name,
			    doms[i].domid);
			goto out;
		}
		if (strcmp(doms[i].name, incoming) == 0) {
			*code = "exists";
			snprintf(reason, reasonlen, "a migration of '%s' into "
			    "this host is already in progress", info.name);
			goto out;
		}
		if (*info.uuid != '\0' && strcasecmp(doms[i].uuid,
		    info.uuid) == 0) {
			*code = "exists";
			snprintf(reason, reasonlen, "a domain with UUID %s "
			    "already exists on this host ('%s', id %u)",
			    info.uuid, doms[i].name, doms[i].domid);
			goto out;
		}
	}
	if (hi.free_kb < info.memory_kb) {
		*code = "nomem";
		snprintf(reason, reasonlen, "not enough free memory: '%s' "
		    "needs %llu MiB, this host has %llu MiB free", info.name,
		    (unsigned long long)info.memory_kb / 1024,
		    (unsigned long long)hi.free_kb / 1024);
		goto out;
	}
	if (conf->max_domains > 0 && n >= (size_t)conf->max_domains) {
		*code = "full";
		snprintf(reason, reasonlen, "this host already runs %zu "
		    "domains (max_domains = %d)", n, conf->max_domains);
		goto out;
	}
	rc = 0;
out:
	free(doms);
	xo_hostinfo_dispose(&hi);
	return rc;
}

static int
recv_read_config(struct iochan *ioc, struct json_object **cfg, char *err,
    size_t errlen)
{
	uint8_t hdr[XL_HEADER_LEN], *opt = NULL;
	struct xl_header h;
	const char *json;
	size_t jsonlen;
	int rc = -1;

	*cfg = NULL;
	if (ioc_read_full(ioc, hdr, sizeof(hdr)) == -1) {
		snprintf(err, errlen, "reading the xl header: %s", ioc->err);
		return -1;
	}
	if (xl_header_decode(hdr, sizeof(hdr), &h, err, errlen) == -1)
		return -1;
	if ((opt = malloc(h.optional_data_len ? h.optional_data_len : 1)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ioc_read_full(ioc, opt, h.optional_data_len) == -1) {
		snprintf(err, errlen, "reading the domain config: %s",
		    ioc->err);
		goto out;
	}
	if (xl_config_decode(opt, h.optional_data_len, &json, &jsonlen, err,
	    errlen) == -1)
		goto out;
	if (domcfg_parse(json, jsonlen, cfg, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	free(opt);
	return rc;
}

/*
 * Before "ready" the sender is still writing its stream and reads
 * nothing; it looks at the back channel when it waits for "ready".  Say
 * why in a frame there, then keep reading (and discarding) for a bounded
 * while, so closing does not reset the connection and destroy the frame
 * before the sender has read it.
 */
static void
recv_fail_early(struct iochan *ioc, const char *code, const char *reason)
{
	static char sink[64 * 1024];
	struct timespec t0, t;
	ssize_t n;

	proto_send_error(ioc, code, "%s", reason);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ioc->timeout_ms = 2000;
	for (;;) {
		n = ioc_read_some(ioc, sink, sizeof(sink));
		if (n <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 30)
			break;
	}
}

/* The stream's config must be the one the preflight judged. */
static int
recv_same_domain(struct json_object *a, struct json_object *b)
{
	struct domcfg_info ia, ib;
	char err[256];

	if (domcfg_info(a, &ia, err, sizeof(err)) == -1 ||
	    domcfg_info(b, &ib, err, sizeof(err)) == -1)
		return 0;
	return strcmp(ia.name, ib.name) == 0 &&
	    strcasecmp(ia.uuid, ib.uuid) == 0 && ia.memory_kb == ib.memory_kb;
}

void
recv_migrate(struct relocd_conf *conf, struct iochan *ioc, struct peer_ctx *pc,
    struct json_object *req)
{
	struct json_object *precfg = NULL, *cfg = NULL, *ok = NULL;
	struct domcfg_info info;
	struct xo_ctx *xo = NULL;
	struct journal jr;
	const char *code = "refused";
	char reason[1024], name[DOMCFG_NAME_MAX + 1], jerr[512];
	char incoming[DOMCFG_NAME_MAX + 16];
	uint8_t go[sizeof(XL_PERMISSION_TO_GO)], status;
	uint32_t domid = 0;
	int have_domain = 0, paused, r;

	journal_init(&jr);
	paused = proto_get_int(req, "paused", 0) != 0;
	if (worker_migration_slot(conf, reason, sizeof(reason)) == -1) {
		log_warnx("%s: refused migration: %s", pc->addr, reason);
		proto_send_error(ioc, "busy", "%s", reason);
		goto out;
	}
	if ((xo = xo_open(conf, reason, sizeof(reason))) == NULL) {
		log_warnx("%s: refused migration: %s", pc->addr, reason);
		proto_send_error(ioc, "backend", "%s", reason);
		goto out;
	}
	/* Pre-flight on the config announced in the request, so refusals
	 * come before the sender has suspended anything. */
	if (json_object_object_get_ex(req, "config", &precfg) &&
	    recv_precheck(conf, xo, precfg, &code, reason,
	    sizeof(reason)) == -1) {
		log_warnx("%s (%s): refused migration: %s", pc->addr,
		    pc->id.subject, reason);
		proto_send_error(ioc, code, "%s", reason);
		goto out;
	}
	if (precfg == NULL && !conf->accept_migrations) {
		log_warnx("%s: refused migration: accept_migrations = 0",
		    pc->addr);
		proto_send_error(ioc, "maintenance", "this host is in "
		    "maintenance and refuses incoming migrations "
		    "(accept_migrations = 0)");
		goto out;
	}
	ok = json_object_new_object();
	json_object_object_add(ok, "receiver",
	    json_object_new_string(RELOCD_VERSION));
	if (proto_send(ioc, PT_OK, ok) == -1)
		goto out;

	/* From here on the bytes are xl's. */
	if (ioc_write_full(ioc, XL_RECEIVER_BANNER,
	    sizeof(XL_RECEIVER_BANNER) - 1) == -1) {
		log_warnx("%s: sending banner: %s", pc->addr, ioc->err);
		goto out;
	}
	if (recv_read_config(ioc, &cfg, reason, sizeof(reason)) == -1) {
		log_warnx("%s: refused migration: %s", pc->addr, reason);
		recv_fail_early(ioc, "config", reason);
		goto out;
	}
	if (precfg != NULL && !recv_same_domain(precfg, cfg)) {
		snprintf(reason, sizeof(reason), "the config in the stream "
		    "is not the one announced in the request");
		log_warnx("%s: refused migration: %s", pc->addr, reason);
		recv_fail_early(ioc, "config", reason);
		goto out;
	}
	/* The stream's config is authoritative: judge it again. */
	if (recv_precheck(conf, xo, cfg, &code, reason, sizeof(reason)) ==
	    -1) {
		log_warnx("%s (%s): refused migration: %s", pc->addr,
		    pc->id.subject, reason);
		recv_fail_early(ioc, code, reason);
		goto out;
	}
	domcfg_info(cfg, &info, reason, sizeof(reason));
	snprintf(name, sizeof(name), "%s", info.name);
	snprintf(incoming, sizeof(incoming), "%s%s", name, RECV_SUFFIX);
	domcfg_set_name(cfg, incoming);
	log_info("%s (%s): receiving domain %s (%llu MiB) as %s", pc->addr,
	    pc->id.subject, name, (unsigned long long)info.memory_kb / 1024,
	    incoming);
	/* Journaled before the domain exists here: a restart after a crash
	 * from now on destroys NAME--incoming until "go" is recorded. */
	if (journal_begin(&jr, conf, JOURNAL_DEST, name, info.uuid, 0,
	    pc->addr, jerr, sizeof(jerr)) == -1) {
		journal_dispose(&jr);
		snprintf(reason, sizeof(reason), "cannot receive %s: %s", name,
		    jerr);
		log_warnx("%s: %s", pc->addr, reason);
		recv_fail_early(ioc, "journal", reason);
		goto out;
	}
	journal_set_int(&jr, "paused", paused);

	if ((r = xo_restore_from(xo, cfg, ioc, &domid, NULL, NULL)) != 0) {
		snprintf(reason, sizeof(reason), "receiving %s failed: %s",
		    name, xo_errmsg(xo));
		log_warnx("%s: %s", pc->addr, reason);
		recv_fail_early(ioc, r == XO_E_NOMEM ? "nomem" : "stream",
		    reason);
		goto out;
	}
	have_domain = 1;
	journal_set_int(&jr, "domid", domid);
	if (journal_phase(&jr, "ready", jerr, sizeof(jerr)) == -1) {
		log_warnx("%s: %s; destroying %s", pc->addr, jerr, incoming);
		recv_fail_early(ioc, "journal", jerr);
		goto out;
	}
	if (ioc_write_full(ioc, XL_RECEIVER_READY,
	    sizeof(XL_RECEIVER_READY)) == -1) {
		log_warnx("%s: sending ready: %s; destroying %s", pc->addr,
		    ioc->err, incoming);
		goto out;
	}
	ioc->timeout_ms = conf->go_timeout * 1000;
	if (ioc_read_full(ioc, go, sizeof(go)) == -1) {
		log_warnx("%s: no go from the sender (%s); destroying %s: the "
		    "sender keeps the domain", pc->addr, ioc->err, incoming);
		goto out;
	}
	if (memcmp(go, XL_PERMISSION_TO_GO, sizeof(go)) != 0) {
		log_warnx("%s: expected go, got something else; destroying %s",
		    pc->addr, incoming);
		goto out;
	}

	ioc->timeout_ms = conf->io_timeout * 1000;

	/* "go" received: the domain is ours now.  If that cannot be
	 * recorded, a crash would make a restart destroy a running domain:
	 * refuse it instead, and the sender resumes its copy. */
	r = journal_phase(&jr, "go", jerr, sizeof(jerr)) == -1 ? XO_E_FAIL :
	    0;
	if (r != 0)
		log_warnx("%s: %s", pc->addr, jerr);
	if (r == 0)
		r = xo_rename(xo, domid, incoming, name);
	if (r == 0 && !paused)
		r = xo_unpause(xo, domid);
	if (r != 0)
		log_warnx("%s: cannot start %s: %s", pc->addr, name,
		    xo_errmsg(xo));
	status = r == 0 ? 0 : (uint8_t)(-r);
	if (ioc_write_full(ioc, XL_REPORT, sizeof(XL_REPORT)) == -1 ||
	    ioc_write_full(ioc, &status, 1) == -1) {
		/* The sender cannot learn the outcome; it keeps its copy
		 * suspended and tells its operator to check both hosts. */
		log_crit("%s: could not report the outcome for %s (%s); the "
		    "sender will ask its operator to check both hosts",
		    pc->addr, name, ioc->err);
		if (r == 0) {
			have_domain = 0;
			journal_end(&jr, "done", 3, "started here; the report "
			    "to the sender was lost");
		}
		goto out;
	}
	if (r != 0) {
		if (journal_phase(&jr, "destroy", jerr, sizeof(jerr)) == -1)
			log_warnx("%s: %s", pc->addr, jerr);
		xo_destroy(xo, domid);
		have_domain = 0;
		journal_end(&jr, "failed", 1, "could not start here; "
		    "destroyed, the sender resumes it");
		if (ioc_write_full(ioc, XL_PERMISSION_TO_GO,
		    sizeof(XL_PERMISSION_TO_GO)) == -1)
			log_crit("%s: could not give %s back to the sender "
			    "(%s): check both hosts", pc->addr, name,
			    ioc->err);
		else
			log_warnx("%s: %s destroyed here; the sender resumes "
			    "it", pc->addr, name);
		goto out;
	}
	have_domain = 0;
	log_info("%s: domain %s received and %s (id %u)", pc->addr, name,
	    paused ? "left paused" : "running", domid);
	journal_end(&jr, "done", 0, paused ? "received, left paused" :
	    "received and running");
out:
	if (have_domain) {
		if (journal_phase(&jr, "destroy", jerr, sizeof(jerr)) == -1)
			log_warnx("%s: %s", pc->addr, jerr);
		if (xo_destroy(xo, domid) != 0) {
			log_crit("cannot destroy incoming domain %u: %s",
			    domid, xo_errmsg(xo));
			/* Left at "destroy": a restart tries again. */
			journal_dispose(&jr);
		}
	}
	journal_end(&jr, "failed", 1, "not received; the sender keeps it");
	json_object_put(ok);
	json_object_put(cfg);
	xo_close(xo);
}
