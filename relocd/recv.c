/*
 * The destination side of a migration: xl's migrate-receive, in xl's
 * order (tools/xl/xl_migrate.c), inside the authenticated TLS session.
 *
 *	banner -> header + config -> stream (restore, paused, as
 *	NAME--incoming) -> "ready" -> wait for "go" -> rename to NAME,
 *	unpause -> report + status -> (on failure: destroy, "permission")
 *
 * With --copy-storage the disks follow the stream; live
 * (PROTO_F_COPY_LIVE) they are pre-copied before it as well, while the
 * source still runs the domain, into copies the helper creates before
 * it restores anything (recv-begin with defer_restore, recv-restore).
 *
 * Until "go" arrives the sender owns the domain: any failure here
 * destroys the incoming copy.  After "go" this host owns it.
 *
 * This is the network process's half: it reads and judges everything
 * the sender says, and feeds the stream through a socketpair to the root
 * helper, which restores it (helper_recv.c).  The helper never sees a
 * byte of the TLS session, only the backend's stream.
 */
#include <sys/socket.h>

#include <linux/falloc.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "clock.h"
#include "diskcopy.h"
#include "domcfg.h"
#include "helper.h"
#include "hx.h"
#include "log.h"
#include "precheck.h"
#include "relocd.h"
#include "xenops.h"
#include "xlproto.h"

#define RECV_RELAY_BUF	(256 * 1024)
/* The helper making the copies says nothing for this long: it is stuck
 * (lvm_command is bounded at 120 s, a zeroing step at 256 MiB). */
#define RECV_PREPARE_SILENT_S	300

/* The chunks written since the helper was last asked to read them back
 * (recv_readback), and whether it is reading a batch. */
struct recv_readback {
	const struct diskcopy_key *key;
	uint32_t		 disk[DISKCOPY_VERIFY_MAX];
	uint64_t		 index[DISKCOPY_VERIFY_MAX];
	size_t			 n;
	int			 asked;
	uint64_t		 read;		/* chunks asked, in all */
};

/* A live copy's disks here: the copies, and what each chunk holds. */
struct recv_live {
	uint32_t		 n;
	uint64_t		 sizes[DISKCOPY_MAX_DISKS];
	int			 fd[DISKCOPY_MAX_DISKS];
	struct diskcopy_tags	 tags[DISKCOPY_MAX_DISKS];
	char			 hex[DISKCOPY_MAX_DISKS][65];
	uint64_t		 frames;	/* chunk frames received */
	uint64_t		 max_frames;	/* every chunk, every round */
	uint64_t		 replaced;	/* of chunks received before */
	uint8_t			*buf;
	struct diskcopy_key	 key;		/* the chunks' tag key */
	struct recv_readback	 rb;
};

static int	recv_read_config(struct iochan *, struct json_object **,
		    char *, size_t);
static void	recv_fail_early(struct iochan *, const char *, const char *);
static int	recv_same_domain(struct json_object *, struct json_object *);
static int	recv_check(struct worker *, struct json_object *,
		    struct json_object *, const char **, char *, size_t);
static struct json_object *recv_checks(struct worker *, struct json_object *,
		    struct json_object *, int, struct json_object **,
		    const char **, char *, size_t);
static void	recv_source(struct json_object *, struct precheck_src *,
		    char ***);
static int	recv_source_left(struct iochan *, short);
static int	recv_prepare(struct worker *, struct json_object *,
		    const char **, char *, size_t);
static int	recv_relay(struct worker *, int, int, const char **, char *,
		    size_t);
static ssize_t	recv_stream_read(struct iochan *, uint32_t *, uint8_t *,
		    size_t, char *, size_t);
static struct json_object *recv_offer(struct json_object *);
static int	recv_offer_key(struct json_object *, struct diskcopy_key *);
static int	recv_disks(struct worker *, struct json_object *,
		    const struct diskcopy_key *, const char **, char *,
		    size_t);
static int	recv_disk_one(struct worker *, struct json_object *,
		    const struct diskcopy_key *, uint32_t, const uint64_t *,
		    uint32_t, int, uint8_t *, struct recv_readback *, char *,
		    const char **, char *, size_t);
static int	recv_disk_fd(struct worker *, uint32_t, int *, const char **,
		    char *, size_t);
static int	recv_disk_done(struct worker *, uint32_t, const char *,
		    const struct diskcopy_key *, int, const char **, char *,
		    size_t);
static int	recv_write(int, uint64_t, const uint8_t *, size_t);
static int	recv_chunk_write(struct worker *, const struct diskcopy_key *,
		    const char *, int, uint64_t, struct diskcopy_chunk *, int,
		    int, const char **, char *, size_t);
static int	recv_refusing(const struct relocd_conf *, int, const char **,
		    char *, size_t);
static int	recv_live_open(struct worker *, struct json_object *,
		    struct recv_live *, const char **, char *, size_t);
static void	recv_live_close(struct recv_live *);
static void	recv_readback_add(struct recv_readback *, uint32_t, uint64_t);
static int	recv_readback(struct worker *, struct recv_readback *, int, int,
		    const char **, char *, size_t);
static int	recv_readback_answer(struct worker *, struct recv_readback *,
		    const char **, char *, size_t);
static int	recv_live_chunk(struct worker *, struct json_object *,
		    struct recv_live *, uint32_t, const char **, char *,
		    size_t);
static int	recv_live_frames(struct worker *, struct json_object *,
		    struct recv_live *, int, const char **, char *, size_t);
static int	recv_live_done(struct worker *, struct recv_live *,
		    const char **, char *, size_t);
static int	recv_refused_early(struct worker *, const char **, char *,
		    size_t);

/*
 * Maintenance, from relocd.conf (accept_migrations = 0, until a restart
 * with another value) or set at run time (xmig maintenance on, until
 * xmig maintenance off): each reason names the way out.
 */
static int
recv_refusing(const struct relocd_conf *conf, int maintenance,
    const char **code, char *reason, size_t reasonlen)
{
	if (maintenance) {
		*code = "maintenance";
		snprintf(reason, reasonlen, "this host is in maintenance "
		    "(xmig maintenance on); it refuses incoming migrations");
		return -1;
	}
	if (!conf->accept_migrations) {
		*code = "maintenance";
		snprintf(reason, reasonlen, "this host is in maintenance and "
		    "refuses incoming migrations (accept_migrations = 0)");
		return -1;
	}
	return 0;
}

int
recv_precheck(const struct relocd_conf *conf, int maintenance,
    const struct xo_hostinfo *hi, const struct xo_dominfo *doms, size_t n,
    struct json_object *cfg, const char **code, char *reason,
    size_t reasonlen)
{
	struct domcfg_policy pol;
	struct domcfg_info info;
	char incoming[DOMCFG_NAME_MAX + 16];
	size_t i, len;

	*code = "refused";
	if (recv_refusing(conf, maintenance, code, reason, reasonlen) == -1)
		return -1;
	if (domcfg_info(cfg, &info, reason, reasonlen) == -1) {
		*code = "config";
		return -1;
	}
	len = strlen(info.name);
	if (domcfg_is_migration_name(info.name)) {
		*code = "config";
		snprintf(reason, reasonlen, "domain name '%s' is the name of "
		    "a migration in progress", info.name);
		return -1;
	}
	if (len > DOMCFG_MIGRATE_NAME_MAX) {
		*code = "config";
		snprintf(reason, reasonlen, "domain name '%s' is %zu "
		    "characters: a migration renames it %s%s, which would "
		    "exceed Xen's limit of %d; rename the domain to at most "
		    "%d characters", info.name, len, info.name,
		    DOMCFG_SUFFIX_AWAY, DOMCFG_NAME_MAX,
		    DOMCFG_MIGRATE_NAME_MAX);
		return -1;
	}
	/* The pre-flight's policy (precheck.c): PCI devices free here may
	 * come, as its passthrough line let them. */
	precheck_policy(conf, hi->bridges, hi->pci_free, &pol);
	if (domcfg_policy_check(cfg, &pol, reason, reasonlen) == -1) {
		*code = "policy";
		return -1;
	}
	snprintf(incoming, sizeof(incoming), "%s%s", info.name,
	    DOMCFG_SUFFIX_INCOMING);
	for (i = 0; i < n; i++) {
		if (strcmp(doms[i].name, info.name) == 0) {
			*code = "exists";
			snprintf(reason, reasonlen, "a domain named '%s' "
			    "already exists on this host (id %u)", info.name,
			    doms[i].domid);
			return -1;
		}
		if (strcmp(doms[i].name, incoming) == 0) {
			*code = "exists";
			snprintf(reason, reasonlen, "a migration of '%s' into "
			    "this host is already in progress", info.name);
			return -1;
		}
		if (*info.uuid != '\0' && strcasecmp(doms[i].uuid,
		    info.uuid) == 0) {
			*code = "exists";
			snprintf(reason, reasonlen, "a domain with UUID %s "
			    "already exists on this host ('%s', id %u)",
			    info.uuid, doms[i].name, doms[i].domid);
			return -1;
		}
	}
	if (hi->free_kb < info.memory_kb) {
		*code = "nomem";
		snprintf(reason, reasonlen, "not enough free memory: '%s' "
		    "needs %llu MiB, this host has %llu MiB free", info.name,
		    (unsigned long long)info.memory_kb / 1024,
		    (unsigned long long)hi->free_kb / 1024);
		return -1;
	}
	if (conf->max_domains > 0 && n >= (size_t)conf->max_domains) {
		*code = "full";
		snprintf(reason, reasonlen, "this host already runs %zu "
		    "domains (max_domains = %d)", n, conf->max_domains);
		return -1;
	}
	return 0;
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
	uint64_t t0 = clock_mono_us();

	proto_send_error(ioc, code, "%s", reason);
	ioc->timeout_ms = 2000;
	while (ioc_read_some(ioc, sink, sizeof(sink)) > 0)
		if (clock_mono_us() - t0 > 30 * 1000000ULL)
			break;
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

/* What the source says of itself in its request ("source"). */
static void
recv_source(struct json_object *req, struct precheck_src *src,
    char ***features)
{
	struct json_object *o, *arr;
	const char *s;
	size_t n, i;

	memset(src, 0, sizeof(*src));
	*features = NULL;
	if (!json_object_object_get_ex(req, "source", &o) ||
	    !json_object_is_type(o, json_type_object)) {
		src->hostname = "the source";
		return;
	}
	src->hostname = proto_get_str(o, "hostname") ?
	    proto_get_str(o, "hostname") : "the source";
	src->arch = proto_get_str(o, "arch");
	src->xen_version = proto_get_str(o, "xen_version");
	if (!json_object_object_get_ex(o, "cpu_features", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	if (n > 1024 || (*features = calloc(n + 1, sizeof(char *))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		(*features)[i] = (char *)(s != NULL ? s : "");
	}
	src->cpu_features = *features;
}

/*
 * Every pre-flight check (precheck.c) on the facts the helper reports,
 * the disk paths of CFG looked up as root: the checks as a JSON array,
 * and the headroom left if it came (place ranks by it).  NULL with the
 * reason if the facts cannot be had.
 */
static struct json_object *
recv_checks(struct worker *w, struct json_object *req, struct json_object *cfg,
    int live, struct json_object **headroom, const char **code,
    char *reason, size_t reasonlen)
{
	struct json_object *args, *facts = NULL, *checks = NULL, *offer;
	struct json_object *copycfg = NULL;
	struct hostinfo_facts f;
	struct precheck_src src;
	char **features = NULL;

	memset(&f, 0, sizeof(f));
	args = json_object_new_object();
	json_object_object_add(args, "paths", precheck_disk_paths(w->conf,
	    cfg));
	/* --copy-storage: the helper plans where the copies would go. */
	if ((offer = recv_offer(req)) != NULL)
		json_object_object_add(args, "copy", json_object_get(offer));
	if (hx_call(&w->hx, HX_FACTS, args, -1, &facts, NULL, NULL, code,
	    reason, reasonlen) != 0)
		goto out;
	*code = "backend";
	if (hostinfo_facts_host(facts, &f, reason, reasonlen) == -1)
		goto out;
	recv_source(req, &src, &features);
	/* Judged as it would run here: on the copies. */
	if (f.h.copy != NULL &&
	    (copycfg = precheck_copy_apply(cfg, f.h.copy)) != NULL)
		cfg = copycfg;
	checks = json_object_new_array();
	precheck_dest(w->conf, &f.h, &src, cfg, live, checks);
	if (headroom != NULL)
		*headroom = precheck_headroom(w->conf, &f.h, cfg);
out:
	json_object_put(copycfg);
	free(features);
	hostinfo_facts_dispose(&f);
	json_object_put(facts);
	json_object_put(args);
	return checks;
}

/* The pre-flight as a migration uses it: 0, or -1 with every failing
 * check in the reason and the first one's code. */
static int
recv_check(struct worker *w, struct json_object *req, struct json_object *cfg,
    const char **code, char *reason, size_t reasonlen)
{
	struct json_object *checks;
	const char *c;

	if ((checks = recv_checks(w, req, cfg, proto_get_int(req, "live",
	    0) != 0, NULL, code, reason, reasonlen)) == NULL)
		return -1;
	c = precheck_failures(checks, reason, reasonlen);
	json_object_put(checks);
	if (c == NULL)
		return 0;
	*code = c;
	return -1;
}

/* xmig check and xmig place, from a peer: every line, failed or not. */
void
serve_preflight(struct worker *w, struct json_object *req)
{
	struct json_object *cfg, *checks, *headroom = NULL, *o;
	const char *code = "refused";
	char reason[1024];

	if (!json_object_object_get_ex(req, "config", &cfg)) {
		proto_send_error(&w->ioc, "proto", "preflight without a config");
		return;
	}
	if ((checks = recv_checks(w, req, cfg, proto_get_int(req, "live",
	    0) != 0, &headroom, &code, reason, sizeof(reason))) == NULL) {
		proto_send_error(&w->ioc, code, "%s", reason);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "checks", checks);
	json_object_object_add(o, "headroom", headroom);
	proto_send(&w->ioc, PT_OK, o);
	json_object_put(o);
}

/*
 * The source's end of the session closed (REVENTS from a poll for
 * POLLRDHUP) while it should be waiting for our answer.  TLS has no
 * half-close, so under TLS any end is the source gone (a cancel, a
 * crash), whatever its last records say.  A plain channel is the fuzz
 * harness, which queues all of its peer's bytes and their end at once:
 * gone only with nothing left to read; otherwise what it sent is read
 * after the answer, and the session is not watched any more.
 */
static int
recv_source_left(struct iochan *ioc, short revents)
{
	char c;

	if (revents & (POLLHUP | POLLERR))
		return 1;
	if (ioc->ssl != NULL)
		return 1;
	return recv(ioc->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/*
 * The copies, made before anything touches the domain (recv-begin with
 * defer_restore): the helper creates them, and an LV is zeroed whole,
 * which on storage that writes every byte takes minutes, while the
 * source runs the domain and waits for our PT_OK.  Meanwhile a
 * PT_PROGRESS goes out at least every second, with the helper's lines
 * when it has one, so that the source's io_timeout measures whether we
 * are alive, not how fast our disks are.  The source sends nothing until
 * our answer: its end closed means it left (a cancel).  Then, or
 * when the helper is stuck, our end of its channel is closed: the only
 * word a helper in the middle of a call hears.  It stops at its next
 * step and removes what it made.  0, or -1 with the reason.
 */
static int
recv_prepare(struct worker *w, struct json_object *args, const char **code,
    char *reason, size_t reasonlen)
{
	struct json_object *body = NULL, *o;
	struct pollfd pfd[2];
	uint64_t now, t_helper, t_sent = 0;
	int type, rc = -1, gone = 0, watch = 1;
	const char *msg;
	char why[256];

	*code = "helper";
	if (hx_send(w->hx.fd, HX_RECV_BEGIN, args, NULL, 0, reason,
	    reasonlen) == -1)
		return -1;
	t_helper = clock_mono_us();
	for (;;) {
		pfd[0].fd = w->hx.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = watch ? w->ioc.fd : -1;
		pfd[1].events = POLLRDHUP;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR) {
			snprintf(reason, reasonlen, "poll: %s",
			    strerror(errno));
			gone = 1;
			break;
		}
		now = clock_mono_us();
		if (pfd[1].revents != 0 && recv_source_left(&w->ioc,
		    pfd[1].revents)) {
			snprintf(reason, reasonlen, "the source left while "
			    "the disk copies were being made here "
			    "(cancelled?)");
			gone = 1;
			break;
		}
		if (pfd[1].revents != 0)
			watch = 0;
		if (pfd[0].revents != 0) {
			if (hx_recv(w->hx.fd, &type, &body, NULL, NULL, why,
			    sizeof(why)) == -1) {
				snprintf(reason, reasonlen, "relocd's root "
				    "helper ended while it made the disk "
				    "copies (%s)", why);
				break;
			}
			t_helper = now;
			if (type == PT_OK) {
				rc = 0;
				break;
			}
			if (type == PT_ERROR) {
				*code = hx_code(proto_get_str(body, "code"));
				snprintf(reason, reasonlen, "%s",
				    proto_get_str(body, "message") ?
				    proto_get_str(body, "message") :
				    "(no reason given)");
				break;
			}
			if (type != PT_PROGRESS) {
				snprintf(reason, reasonlen, "the helper "
				    "answered %s", hx_op_name(type));
				break;
			}
			if ((msg = proto_get_str(body, "message")) != NULL)
				log_info("%s: %s", w->peer.addr, msg);
		} else if (now - t_helper > RECV_PREPARE_SILENT_S *
		    1000000ULL) {
			snprintf(reason, reasonlen, "making the disk copies "
			    "here made no progress for %d s",
			    RECV_PREPARE_SILENT_S);
			gone = 1;
			break;
		}
		/* The helper's line as it comes, else one a second. */
		if (body != NULL || now - t_sent >= 1000000) {
			o = json_object_new_object();
			json_object_object_add(o, "phase",
			    json_object_new_string("prepare"));
			if (body != NULL && (msg = proto_get_str(body,
			    "message")) != NULL)
				json_object_object_add(o, "message",
				    json_object_new_string(msg));
			t_sent = now;
			if (proto_send(&w->ioc, PT_PROGRESS, o) == -1) {
				json_object_put(o);
				snprintf(reason, reasonlen, "the source left "
				    "while the disk copies were being made "
				    "here: %s", w->ioc.err);
				gone = 1;
				break;
			}
			json_object_put(o);
		}
		json_object_put(body);
		body = NULL;
	}
	json_object_put(body);
	if (gone) {
		close(w->hx.fd);
		w->hx.fd = -1;
	}
	return rc;
}

/*
 * The stream, from the TLS session into the data socket, until the
 * helper says how the restore ended.  The sender writes nothing after
 * its stream until it has read "ready", so nothing read here belongs to
 * the protocol that follows.  0: restored (domid in *reply), -1: failed,
 * with the reason.
 */
static int
recv_relay(struct worker *w, int data, int framed, const char **code,
    char *reason, size_t reasonlen)
{
	struct json_object *body = NULL;
	struct iochan *ioc = &w->ioc;
	struct pollfd pfd[2];
	uint8_t *buf;
	size_t off, len;
	ssize_t n, m;
	uint32_t left = 0;
	int type, feeding = 1, stalled = 0, pending, bad = 0, broke, rc = -1;
	char why[512];

	*code = "stream";
	if ((buf = malloc(RECV_RELAY_BUF)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return -1;
	}
	ioc_read_ahead(ioc);
	for (;;) {
		/* Records already read ahead are not on the socket. */
		pending = feeding && ioc->ssl != NULL &&
		    SSL_has_pending(ioc->ssl);
		pfd[0].fd = feeding ? ioc->fd : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = w->hx.fd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (!pending && poll(pfd, 2, ioc->timeout_ms) == 0) {
			if (!feeding) {
				if (!stalled)
					snprintf(reason, reasonlen, "the "
					    "helper did not answer for %d s",
					    ioc->timeout_ms / 1000);
				break;
			}
			/* The sender stalls: end the stream here, so the
			 * helper's restore fails on it and answers. */
			snprintf(reason, reasonlen, "no progress for %d s "
			    "(timed out)", ioc->timeout_ms / 1000);
			log_debug("%s: the sender stalled: ending the stream",
			    w->peer.addr);
			stalled = 1;
			feeding = 0;
			shutdown(data, SHUT_WR);
			continue;
		}
		if (pfd[1].revents != 0 && !pending) {
			if (hx_recv(w->hx.fd, &type, &body, NULL, NULL, reason,
			    reasonlen) == -1)
				break;
			if (type == PT_PROGRESS) {
				json_object_put(body);
				body = NULL;
				continue;
			}
			if (type == PT_OK)
				rc = bad ? -1 : 0;
			else if (!stalled && !bad) {
				*code = hx_code(proto_get_str(body, "code"));
				snprintf(reason, reasonlen, "%s",
				    proto_get_str(body, "message") ?
				    proto_get_str(body, "message") :
				    "(no reason given)");
			}
			break;
		}
		if (!feeding || (pfd[0].revents == 0 && !pending))
			continue;
		if (framed) {
			/* Copy storage: the stream ends at PT_STREAM_END,
			 * and not a byte after it is read here (the disks
			 * follow it). */
			n = recv_stream_read(ioc, &left, buf, RECV_RELAY_BUF,
			    why, sizeof(why));
			if (n <= 0) {
				if (n < 0) {
					bad = 1;
					snprintf(reason, reasonlen, "%s", why);
				}
				log_debug("%s: the stream ended (%s)",
				    w->peer.addr, n == 0 ? "its end frame" :
				    why);
				feeding = 0;
				shutdown(data, SHUT_WR);
				continue;
			}
		} else if ((n = ioc_read_some(ioc, buf, RECV_RELAY_BUF)) <=
		    0) {
			/* The sender is gone: the helper's restore fails on
			 * the short stream and says so. */
			log_debug("%s: the stream ended after %llu bytes "
			    "(%s)", w->peer.addr,
			    (unsigned long long)ioc->nread,
			    n == 0 ? "closed by the sender" : ioc->err);
			feeding = 0;
			shutdown(data, SHUT_WR);
			continue;
		}
		/* What is already read ahead, in one write: a write per TLS
		 * record would wake the helper sixteen times as often. */
		len = (size_t)n;
		while (len < RECV_RELAY_BUF - 16384 && ioc->ssl != NULL &&
		    SSL_has_pending(ioc->ssl) && (!framed || left > 0) &&
		    (n = framed ? recv_stream_read(ioc, &left, buf + len,
		    RECV_RELAY_BUF - len, why, sizeof(why)) :
		    ioc_read_some(ioc, buf + len, RECV_RELAY_BUF - len)) > 0)
			len += (size_t)n;
		/* A failed read here ends the stream with its own reason:
		 * read again, a TLS session that failed would only say it
		 * was closed (no close_notify), hiding a damaged record. */
		if ((broke = n < 0 && !framed))
			log_debug("%s: the stream ended after %llu bytes (%s)",
			    w->peer.addr, (unsigned long long)ioc->nread,
			    ioc->err);
		for (off = 0; off < len; off += (size_t)m) {
			m = write(data, buf + off, len - off);
			if (m == -1 && errno == EINTR) {
				m = 0;
				continue;
			}
			if (m <= 0) {
				/* The helper stopped reading: its answer says
				 * why. */
				feeding = 0;
				break;
			}
		}
		if (broke) {
			/* What it carried is written; then the end. */
			feeding = 0;
			shutdown(data, SHUT_WR);
		}
	}
	json_object_put(body);
	free(buf);
	return rc;
}

/*
 * The framed stream (copy storage): the next bytes of the backend's
 * stream, at most len, from PT_STREAM_DATA frames (*left: what remains
 * of the current one); 0 at PT_STREAM_END; -1 with the reason on
 * anything else.
 */
static ssize_t
recv_stream_read(struct iochan *ioc, uint32_t *left, uint8_t *buf,
    size_t len, char *why, size_t whylen)
{
	uint8_t hb[PROTO_HDR_LEN], body[16];
	struct proto_hdr h;
	ssize_t n;

	while (*left == 0) {
		if (ioc_read_full(ioc, hb, sizeof(hb)) == -1) {
			snprintf(why, whylen, "reading the stream: %s",
			    ioc->err);
			return -1;
		}
		if (proto_hdr_decode(hb, sizeof(hb), &h, PROTO_STREAM_CHUNK,
		    why, whylen) != PROTO_OK)
			return -1;
		if (h.type == PT_STREAM_END) {
			if (h.len > sizeof(body) ||
			    ioc_read_full(ioc, body, h.len) == -1) {
				snprintf(why, whylen, "a malformed end of the "
				    "stream");
				return -1;
			}
			return 0;
		}
		if (h.type != PT_STREAM_DATA || h.len == 0) {
			snprintf(why, whylen, "expected the domain's stream, "
			    "got a %s frame of %u bytes",
			    proto_type_name(h.type), h.len);
			return -1;
		}
		*left = h.len;
	}
	n = ioc_read_some(ioc, buf, len < *left ? len : *left);
	if (n <= 0) {
		snprintf(why, whylen, "the stream broke off: %s", n == 0 ?
		    "closed by the sender" : ioc->err);
		return -1;
	}
	*left -= (uint32_t)n;
	return n;
}

/* The disks a copy-storage request offers, or NULL. */
static struct json_object *
recv_offer(struct json_object *req)
{
	struct json_object *cs, *disks;

	if (!json_object_object_get_ex(req, "copy_storage", &cs) ||
	    !json_object_object_get_ex(cs, "disks", &disks) ||
	    !json_object_is_type(disks, json_type_array))
		return NULL;
	return disks;
}

/* The offer's tag key (diskcopy.h), or -1 if it has none or a bad one. */
static int
recv_offer_key(struct json_object *req, struct diskcopy_key *key)
{
	struct json_object *cs;

	if (!json_object_object_get_ex(req, "copy_storage", &cs))
		return -1;
	return diskcopy_key_parse(proto_get_str(cs, "key"), key);
}

/*
 * One disk's chunks into the copy the helper made for it (fd): every
 * frame decoded strictly (diskcopy_chunk_decode), its tag recomputed
 * from what arrived before a byte is written, chunks in increasing
 * order, then PT_DISK_END, whose counts and image digest must be the
 * ones computed here.  The helper reads the copy back and compares
 * (helper_recv_disk_done): as the chunks are written if RB, else whole
 * at the end.
 */
static int
recv_disk_one(struct worker *w, struct json_object *d,
    const struct diskcopy_key *key, uint32_t disk, const uint64_t *sizes,
    uint32_t ndisks, int fd, uint8_t *buf, struct recv_readback *rb,
    char *hex, const char **code, char *reason, size_t reasonlen)
{
	struct iochan *ioc = &w->ioc;
	struct diskcopy_chunk c;
	struct diskcopy_image im;
	struct json_object *end = NULL;
	struct proto_hdr h;
	const char *vdev = proto_get_str(d, "vdev"), *dg;
	uint64_t next = 0;
	char why[512];
	int rc = -1;

	*code = "disk";
	if (diskcopy_image_init(&im) == -1) {
		snprintf(reason, reasonlen, "cannot set up SHA-256");
		return -1;
	}
	for (;;) {
		if (ioc_read_full(ioc, buf, PROTO_HDR_LEN) == -1) {
			snprintf(reason, reasonlen, "disk %s: %s", vdev,
			    ioc->err);
			goto out;
		}
		if (proto_hdr_decode(buf, PROTO_HDR_LEN, &h, DISKCOPY_MAX_BODY,
		    why, sizeof(why)) != PROTO_OK ||
		    (h.type != PT_DISK_CHUNK && h.type != PT_DISK_END) ||
		    (h.type == PT_DISK_END && h.len > PROTO_MAX_FRAME)) {
			snprintf(reason, reasonlen, "disk %s: expected its "
			    "chunks: %s", vdev, h.type == PT_DISK_CHUNK ||
			    h.type == PT_DISK_END ? why : "another frame");
			*code = "proto";
			goto out;
		}
		if (ioc_read_full(ioc, buf, h.len) == -1) {
			snprintf(reason, reasonlen, "disk %s: %s", vdev,
			    ioc->err);
			goto out;
		}
		if (h.type == PT_DISK_END)
			break;
		if (diskcopy_chunk_decode(buf, h.len, sizes, ndisks, &c, why,
		    sizeof(why)) == -1 || c.disk != disk || c.index < next) {
			snprintf(reason, reasonlen, "disk %s: a bad chunk: %s",
			    vdev, c.disk != disk || c.index < next ? "for "
			    "another disk, or out of order" : why);
			*code = "proto";
			goto out;
		}
		/* Offline, a chunk of zeros is a hole that is never sent. */
		if (c.next == 0) {
			snprintf(reason, reasonlen, "disk %s: a zero chunk "
			    "(%llu) in an offline copy", vdev,
			    (unsigned long long)c.index);
			*code = "proto";
			goto out;
		}
		next = c.index + 1;
		/* A fresh copy, each chunk once: nothing to punch out. */
		if (recv_chunk_write(w, key, vdev, fd, sizes[disk], &c, 0,
		    im.chunks == 1, code, reason, reasonlen) == -1)
			goto out;
		if (diskcopy_image_add(&im, c.index, c.tag, c.datalen) == -1) {
			snprintf(reason, reasonlen, "SHA-256 failed");
			goto out;
		}
		if (rb != NULL) {
			recv_readback_add(rb, disk, c.index);
			if (recv_readback(w, rb, 0, 0, code, reason,
			    reasonlen) == -1)
				goto out;
		}
	}
	/* The last batch read back before the digest is compared. */
	if (rb != NULL && recv_readback(w, rb, 1, 0, code, reason,
	    reasonlen) == -1)
		goto out;
	if (proto_body_decode(buf, h.len, &end, why, sizeof(why)) != 0 ||
	    diskcopy_image_final(&im, hex) == -1) {
		snprintf(reason, reasonlen, "disk %s: a bad end: %s", vdev,
		    why);
		*code = "proto";
		goto out;
	}
	dg = proto_get_str(end, "digest");
	if (proto_get_int(end, "disk", -1) != disk ||
	    proto_get_int(end, "chunks", -1) != (int64_t)im.chunks ||
	    proto_get_int(end, "bytes", -1) != (int64_t)im.bytes ||
	    dg == NULL || strcmp(dg, hex) != 0) {
		snprintf(reason, reasonlen, "disk %s: the source sent %lld "
		    "chunks, %lld bytes, image %.16s...; received %llu chunks, "
		    "%llu bytes, image %.16s...", vdev,
		    (long long)proto_get_int(end, "chunks", -1),
		    (long long)proto_get_int(end, "bytes", -1),
		    dg != NULL ? dg : "?", (unsigned long long)im.chunks,
		    (unsigned long long)im.bytes, hex);
		goto out;
	}
	log_info("%s: disk %s: received %llu bytes of data in %llu chunks",
	    w->peer.addr, vdev, (unsigned long long)im.bytes,
	    (unsigned long long)im.chunks);
	rc = 0;
out:
	diskcopy_image_dispose(&im);
	json_object_put(end);
	return rc;
}

/*
 * The copy the helper made for disk I (HX_RECV_DISK), open for writing,
 * into *fd.  One descriptor or none: whatever else it sent is closed.
 */
static int
recv_disk_fd(struct worker *w, uint32_t i, int *fd, const char **code,
    char *reason, size_t reasonlen)
{
	struct json_object *args, *reply = NULL;
	int fds[HX_MAX_FDS], nfds = 0, rc;

	args = json_object_new_object();
	json_object_object_add(args, "disk", json_object_new_int((int)i));
	rc = hx_call(&w->hx, HX_RECV_DISK, args, -1, &reply, fds, &nfds, code,
	    reason, reasonlen);
	json_object_put(args);
	json_object_put(reply);
	if (rc == 0 && nfds == 1) {
		*fd = fds[0];
		return 0;
	}
	if (rc == 0)
		snprintf(reason, reasonlen, "the helper gave no copy to write");
	while (nfds > 0)
		close(fds[--nfds]);
	return -1;
}

/*
 * Disk I received whole, its image digest HEX: the helper reads its copy
 * back under the chunks' key and compares (HX_RECV_DISK_DONE); VERIFIED,
 * it read back every chunk as it was written (recv_readback) and
 * compares that.  Our descriptor is closed by then, so that its fsync
 * covers every write.
 */
static int
recv_disk_done(struct worker *w, uint32_t i, const char *hex,
    const struct diskcopy_key *key, int verified, const char **code,
    char *reason, size_t reasonlen)
{
	struct json_object *args, *reply = NULL;
	char keyhex[2 * DISKCOPY_KEY_LEN + 1];
	int rc;

	args = json_object_new_object();
	json_object_object_add(args, "disk", json_object_new_int((int)i));
	json_object_object_add(args, "digest", json_object_new_string(hex));
	diskcopy_key_hex(key, keyhex);
	json_object_object_add(args, "key", json_object_new_string(keyhex));
	if (verified)
		json_object_object_add(args, "verified",
		    json_object_new_int(1));
	rc = hx_call(&w->hx, HX_RECV_DISK_DONE, args, -1, &reply, NULL, NULL,
	    code, reason, reasonlen);
	json_object_put(args);
	json_object_put(reply);
	return rc;
}

/* Every offered disk, in order, each into the copy the helper made and
 * then read back and compared by it. */
static int
recv_disks(struct worker *w, struct json_object *offer,
    const struct diskcopy_key *key, const char **code, char *reason,
    size_t reasonlen)
{
	struct json_object *d;
	struct recv_readback rb;
	uint64_t sizes[DISKCOPY_MAX_DISKS];
	uint8_t *buf;
	char hex[65];
	uint32_t i, n;
	int fd, rbon, rc = -1;

	n = (uint32_t)json_object_array_length(offer);
	for (i = 0; i < n; i++)
		sizes[i] = (uint64_t)proto_get_int(json_object_array_get_idx(
		    offer, i), "size", 0);
	if ((buf = malloc(DISKCOPY_MAX_BODY)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(offer, i);
		if ((rc = recv_disk_fd(w, i, &fd, code, reason,
		    reasonlen)) == -1)
			goto out;
		/* Read back as it is written, while the rest streams in
		 * (the helper's table of it is a live copy's: up to 1
		 * TiB), else whole after the last chunk. */
		memset(&rb, 0, sizeof(rb));
		rb.key = key;
		rbon = sizes[i] <= DISKCOPY_LIVE_MAX_SIZE;
		rc = recv_disk_one(w, d, key, i, sizes, n, fd, buf,
		    rbon ? &rb : NULL, hex, code, reason, reasonlen);
		close(fd);
		/* What it sent, the helper compares with its copy. */
		if (rc != 0 || (rc = recv_disk_done(w, i, hex, key, rbon, code,
		    reason, reasonlen)) != 0) {
			rc = -1;
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/*
 * A live copy: every copy the helper made, at once (chunks of any disk
 * may come in any order), with a table of what each chunk holds.
 */
static int
recv_live_open(struct worker *w, struct json_object *offer,
    struct recv_live *lv, const char **code, char *reason, size_t reasonlen)
{
	struct json_object *d;
	uint32_t i;

	lv->n = (uint32_t)json_object_array_length(offer);
	if ((lv->buf = malloc(DISKCOPY_MAX_BODY)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return -1;
	}
	for (i = 0; i < lv->n; i++) {
		d = json_object_array_get_idx(offer, i);
		lv->sizes[i] = (uint64_t)proto_get_int(d, "size", 0);
		if (recv_disk_fd(w, i, &lv->fd[i], code, reason,
		    reasonlen) == -1)
			return -1;
		lv->max_frames += (DISKCOPY_LIVE_ROUNDS + 1) *
		    ((lv->sizes[i] + DISKCOPY_CHUNK - 1) / DISKCOPY_CHUNK);
		if (diskcopy_tags_init(&lv->tags[i], lv->sizes[i]) == -1) {
			*code = "storage";
			snprintf(reason, reasonlen, "disk %s: %llu bytes: too "
			    "large for a live copy (at most %llu), or out of "
			    "memory", proto_get_str(d, "vdev"),
			    (unsigned long long)lv->sizes[i],
			    DISKCOPY_LIVE_MAX_SIZE);
			return -1;
		}
	}
	return 0;
}

static void
recv_live_close(struct recv_live *lv)
{
	uint32_t i;

	for (i = 0; i < lv->n; i++) {
		if (lv->fd[i] != -1)
			close(lv->fd[i]);
		lv->fd[i] = -1;
		diskcopy_tags_dispose(&lv->tags[i]);
	}
	free(lv->buf);
	lv->buf = NULL;
}

/* LEN bytes at OFF of the copy; -1 with errno. */
static int
recv_write(int fd, uint64_t off, const uint8_t *p, size_t len)
{
	size_t done;
	ssize_t n;

	for (done = 0; done < len; done += (size_t)n) {
		n = pwrite(fd, p + done, len - done, (off_t)(off + done));
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

/*
 * One chunk, decoded (c), into the copy of its disk (fd, SIZE bytes,
 * VDEV): its tag recomputed from what arrived before a byte is written,
 * then its extents.  HELD: the copy holds an earlier version of the
 * chunk (live, sent again), punched out first so that this one replaces
 * it whole and a zero chunk leaves a hole.  Offline every chunk comes
 * once, in order, onto a fresh copy: never held, never zeros.  FAULT:
 * this is the chunk the diskwrite test fault damages, if it is set.
 */
static int
recv_chunk_write(struct worker *w, const struct diskcopy_key *key,
    const char *vdev, int fd, uint64_t size, struct diskcopy_chunk *c, int held,
    int fault, const char **code, char *reason, size_t reasonlen)
{
	static const uint8_t zeros[64 * 1024];
	uint8_t tag[DISKCOPY_TAG_LEN];
	const uint8_t *p;
	uint64_t base = c->index * DISKCOPY_CHUNK, off;
	uint32_t clen = diskcopy_chunk_len(size, c->index), i;
	size_t k;

	if (diskcopy_chunk_tag(key, c->disk, c->index, clen, c->ext, c->next,
	    c->data, tag) == -1) {
		snprintf(reason, reasonlen,
		    "disk %s: tagging chunk %llu failed", vdev,
		    (unsigned long long)c->index);
		return -1;
	}
	*code = "disk";
	if (memcmp(tag, c->tag, sizeof(tag)) != 0) {
		snprintf(reason, reasonlen, "disk %s: chunk %llu (at byte "
		    "%llu) arrived damaged: its tag does not match the "
		    "source's", vdev, (unsigned long long)c->index,
		    (unsigned long long)base);
		return -1;
	}
	/* Test fault: damage on the way to the disk, which only the
	 * helper's read-back can catch. */
	if (fault && c->next > 0 && worker_sim_corrupt(w->conf, "diskwrite")) {
		log_warnx("disk %s: fault injected: chunk %llu corrupted on "
		    "its way to the disk (RELOCD_SIM_FAULT)", vdev,
		    (unsigned long long)c->index);
		((uint8_t *)c->data)[0] ^= 0x5a;
	}
	if (held && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)base, clen) == -1) {
		if (errno != EOPNOTSUPP) {
			snprintf(reason, reasonlen,
			    "disk %s: clearing chunk %llu of the copy: %s",
			    vdev, (unsigned long long)c->index,
			    strerror(errno));
			return -1;
		}
		/* A file system without holes: zeros, then. */
		for (off = 0; off < clen; off += k) {
			k = clen - off < sizeof(zeros) ? clen - off :
			    sizeof(zeros);
			if (recv_write(fd, base + off, zeros, k) == -1) {
				snprintf(reason, reasonlen,
				    "disk %s: writing the copy: %s", vdev,
				    strerror(errno));
				return -1;
			}
		}
	}
	for (i = 0, p = c->data; i < c->next; p += c->ext[i++].len) {
		if (recv_write(fd, base + c->ext[i].off, p, c->ext[i].len) ==
		    -1) {
			snprintf(reason, reasonlen,
			    "disk %s: writing the copy: %s", vdev,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Chunk INDEX of DISK was written: the helper is to read it back, again
 * if it did before. */
static void
recv_readback_add(struct recv_readback *rb, uint32_t disk, uint64_t index)
{
	size_t i;

	for (i = 0; i < rb->n; i++)
		if (rb->disk[i] == disk && rb->index[i] == index)
			return;
	rb->disk[rb->n] = disk;
	rb->index[rb->n++] = index;
}

/*
 * The helper reads back what was written (HX_RECV_DISK_VERIFY) one batch
 * behind us: the answer to the batch it has is taken, then the chunks
 * written since go to it.  WAIT: and that answer too, so that every
 * chunk written so far has been read back; SYNC: and made durable.
 * Without WAIT nothing is sent until DISKCOPY_VERIFY_MAX are waiting,
 * so that recv_readback_add always has room.
 */
static int
recv_readback(struct worker *w, struct recv_readback *rb, int wait, int sync,
    const char **code, char *reason, size_t reasonlen)
{
	struct json_object *args, *chunks, *e;
	char keyhex[2 * DISKCOPY_KEY_LEN + 1];
	size_t i;
	int rc;

	if (!wait && rb->n < DISKCOPY_VERIFY_MAX)
		return 0;
	if (recv_readback_answer(w, rb, code, reason, reasonlen) == -1)
		return -1;
	if (rb->n == 0 && !sync)
		return 0;
	args = json_object_new_object();
	diskcopy_key_hex(rb->key, keyhex);
	json_object_object_add(args, "key", json_object_new_string(keyhex));
	chunks = json_object_new_array();
	for (i = 0; i < rb->n; i++) {
		e = json_object_new_array();
		json_object_array_add(e, json_object_new_int64(rb->disk[i]));
		json_object_array_add(e, json_object_new_int64(
		    (int64_t)rb->index[i]));
		json_object_array_add(chunks, e);
	}
	json_object_object_add(args, "chunks", chunks);
	if (sync)
		json_object_object_add(args, "sync", json_object_new_int(1));
	*code = "helper";
	rc = hx_ask(&w->hx, HX_RECV_DISK_VERIFY, args, -1, reason,
	    reasonlen);
	json_object_put(args);
	if (rc == -1)
		return -1;
	rb->read += rb->n;
	rb->n = 0;
	rb->asked = 1;
	return wait ? recv_readback_answer(w, rb, code, reason, reasonlen) : 0;
}

/* The helper's answer to the batch it has, if it has one. */
static int
recv_readback_answer(struct worker *w, struct recv_readback *rb,
    const char **code, char *reason, size_t reasonlen)
{
	struct json_object *reply = NULL;
	int rc;

	if (!rb->asked)
		return 0;
	rb->asked = 0;
	rc = hx_answer(&w->hx, &reply, NULL, NULL, code, reason, reasonlen);
	json_object_put(reply);
	return rc == 0 ? 0 : -1;
}

/*
 * One chunk frame of LEN bytes in lv->buf: decoded strictly, then
 * written (recv_chunk_write) over whatever an earlier frame of the
 * chunk left.
 */
static int
recv_live_chunk(struct worker *w, struct json_object *offer,
    struct recv_live *lv, uint32_t len, const char **code, char *reason,
    size_t reasonlen)
{
	struct diskcopy_chunk c;
	const char *vdev;
	char why[512];
	int held;

	if (diskcopy_chunk_decode(lv->buf, len, lv->sizes, lv->n, &c, why,
	    sizeof(why)) == -1) {
		snprintf(reason, reasonlen, "a bad disk chunk: %s", why);
		*code = "proto";
		return -1;
	}
	if (lv->frames >= lv->max_frames) {
		snprintf(reason, reasonlen, "more disk chunks than %d rounds "
		    "of every chunk (%llu)", DISKCOPY_LIVE_ROUNDS + 1,
		    (unsigned long long)lv->max_frames);
		*code = "proto";
		return -1;
	}
	vdev = proto_get_str(json_object_array_get_idx(offer, c.disk), "vdev");
	held = diskcopy_tags_has(&lv->tags[c.disk], c.index);
	if (recv_chunk_write(w, &lv->key, vdev, lv->fd[c.disk],
	    lv->sizes[c.disk], &c, held, lv->frames == 1, code, reason,
	    reasonlen) == -1)
		return -1;
	if (held)
		lv->replaced++;
	if (c.next == 0)
		diskcopy_tags_clear(&lv->tags[c.disk], c.index);
	else
		diskcopy_tags_set(&lv->tags[c.disk], c.index, c.tag,
		    (uint32_t)c.datalen);
	lv->frames++;
	recv_readback_add(&lv->rb, c.disk, c.index);
	return recv_readback(w, &lv->rb, 0, 0, code, reason, reasonlen);
}

/*
 * A live copy's frames: before the stream (!final) chunks until
 * PT_DISK_PRECOPY_END; after it, chunks until the PT_DISK_END of every
 * disk, in order, each of whose counts and digest (over the final
 * content) must be the ones of what arrived here.
 */
static int
recv_live_frames(struct worker *w, struct json_object *offer,
    struct recv_live *lv, int final, const char **code, char *reason,
    size_t reasonlen)
{
	struct iochan *ioc = &w->ioc;
	struct json_object *end = NULL;
	struct proto_hdr h;
	const char *dg, *vdev;
	uint64_t chunks, bytes;
	uint32_t ended = 0;
	char why[512];
	int rc = -1;

	/* Bounded: every frame is a read with io_timeout, and at most
	 * lv->max_frames chunk frames are taken (recv_live_chunk). */
	for (;;) {
		json_object_put(end);
		end = NULL;
		*code = "proto";
		if (ioc_read_full(ioc, lv->buf, PROTO_HDR_LEN) == -1) {
			*code = "disk";
			snprintf(reason, reasonlen, "reading the disks: %s",
			    ioc->err);
			goto out;
		}
		if (proto_hdr_decode(lv->buf, PROTO_HDR_LEN, &h,
		    DISKCOPY_MAX_BODY, why, sizeof(why)) != PROTO_OK ||
		    (h.type != PT_DISK_CHUNK && h.len > PROTO_MAX_FRAME)) {
			snprintf(reason, reasonlen, "expected the disks' "
			    "chunks: %s", why);
			goto out;
		}
		if (h.type != PT_DISK_CHUNK && h.type != (final ? PT_DISK_END :
		    PT_DISK_PRECOPY_END)) {
			snprintf(reason, reasonlen, "expected the disks' "
			    "chunks, got a %s frame", proto_type_name(h.type));
			goto out;
		}
		if (ioc_read_full(ioc, lv->buf, h.len) == -1) {
			*code = "disk";
			snprintf(reason, reasonlen, "reading the disks: %s",
			    ioc->err);
			goto out;
		}
		if (h.type == PT_DISK_CHUNK) {
			if (recv_live_chunk(w, offer, lv, h.len, code, reason,
			    reasonlen) == -1)
				goto out;
			continue;
		}
		if (proto_body_decode(lv->buf, h.len, &end, why,
		    sizeof(why)) != 0) {
			snprintf(reason, reasonlen, "a bad end of the disks: "
			    "%s", why);
			goto out;
		}
		if (h.type == PT_DISK_PRECOPY_END) {
			/* Read back and durable before the suspended
			 * round, which then has only its own chunks to. */
			if (recv_readback(w, &lv->rb, 1, 1, code, reason,
			    reasonlen) == -1)
				goto out;
			log_info("%s: disks pre-copied while the domain runs at "
			    "the source: %lld rounds, %llu chunks (%llu "
			    "replacing earlier ones), %llu read back by the "
			    "helper", w->peer.addr,
			    (long long)proto_get_int(end, "rounds", 0),
			    (unsigned long long)lv->frames,
			    (unsigned long long)lv->replaced,
			    (unsigned long long)lv->rb.read);
			rc = 0;
			goto out;
		}
		vdev = proto_get_str(json_object_array_get_idx(offer,
		    ended), "vdev");
		*code = "disk";
		if (proto_get_int(end, "disk", -1) != ended) {
			*code = "proto";
			snprintf(reason, reasonlen, "the end of disk %lld, "
			    "expected disk %u's", (long long)proto_get_int(end,
			    "disk", -1), ended);
			goto out;
		}
		if (diskcopy_tags_digest(&lv->tags[ended], lv->hex[ended],
		    &chunks, &bytes) == -1) {
			snprintf(reason, reasonlen, "SHA-256 failed");
			goto out;
		}
		dg = proto_get_str(end, "digest");
		if (proto_get_int(end, "chunks", -1) != (int64_t)chunks ||
		    proto_get_int(end, "bytes", -1) != (int64_t)bytes ||
		    dg == NULL || strcmp(dg, lv->hex[ended]) != 0) {
			snprintf(reason, reasonlen, "disk %s: the source's "
			    "final image is %lld chunks, %lld bytes, %.16s...; "
			    "received %llu chunks, %llu bytes, %.16s...", vdev,
			    (long long)proto_get_int(end, "chunks", -1),
			    (long long)proto_get_int(end, "bytes", -1),
			    dg != NULL ? dg : "?", (unsigned long long)chunks,
			    (unsigned long long)bytes, lv->hex[ended]);
			goto out;
		}
		log_info("%s: disk %s: final image of %llu bytes of data in "
		    "%llu chunks received live (%llu chunk frames for all "
		    "disks, %llu of them replacing earlier ones)",
		    w->peer.addr, vdev, (unsigned long long)bytes,
		    (unsigned long long)chunks, (unsigned long long)lv->frames,
		    (unsigned long long)lv->replaced);
		if (++ended == lv->n) {
			rc = 0;
			goto out;
		}
	}
out:
	json_object_put(end);
	return rc;
}

/* Every disk whole: the helper has read back every chunk after its
 * last write once it answers for the last ones; it compares. */
static int
recv_live_done(struct worker *w, struct recv_live *lv, const char **code,
    char *reason, size_t reasonlen)
{
	uint32_t i;

	if (recv_readback(w, &lv->rb, 1, 0, code, reason, reasonlen) == -1)
		return -1;
	for (i = 0; i < lv->n; i++) {
		/* Ours closed first: the helper's fsync covers every
		 * write made through it. */
		close(lv->fd[i]);
		lv->fd[i] = -1;
		if (recv_disk_done(w, i, lv->hex[i], &lv->key, 1, code,
		    reason, reasonlen) != 0)
			return -1;
	}
	return 0;
}

/* Maintenance, for a request that announces no config. */
static int
recv_refused_early(struct worker *w, const char **code, char *reason,
    size_t reasonlen)
{
	struct json_object *facts = NULL;
	struct hostinfo_facts f;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	if (hx_call(&w->hx, HX_FACTS, NULL, -1, &facts, NULL, NULL, code,
	    reason, reasonlen) != 0)
		return -1;
	*code = "backend";
	if (hostinfo_facts_host(facts, &f, reason, reasonlen) == 0)
		rc = recv_refusing(w->conf, f.h.maintenance, code, reason,
		    reasonlen);
	hostinfo_facts_dispose(&f);
	json_object_put(facts);
	return rc;
}

void
recv_migrate(struct worker *w, struct json_object *req)
{
	struct json_object *precfg = NULL, *cfg = NULL, *ok = NULL;
	struct json_object *args = NULL, *reply = NULL;
	struct iochan *ioc = &w->ioc;
	struct domcfg_info info;
	const char *code = "refused", *addr = w->peer.addr;
	char reason[1024], name[DOMCFG_NAME_MAX + 1];
	uint8_t go[sizeof(XL_PERMISSION_TO_GO)], status;
	struct json_object *offer = NULL;
	struct diskcopy_key key;
	struct recv_live lv;
	int sp[2] = { -1, -1 }, begun = 0, paused, copy, live_copy;

	memset(&lv, 0, sizeof(lv));
	for (live_copy = 0; live_copy < DISKCOPY_MAX_DISKS; live_copy++)
		lv.fd[live_copy] = -1;
	paused = proto_get_int(req, "paused", 0) != 0;
	/* Disks are copied only when the frame says so (a mandatory flag
	 * an older receiver refuses); an offer without it means nothing. */
	copy = (w->rq_flags & PROTO_F_COPY_STORAGE) != 0;
	live_copy = copy && (w->rq_flags & PROTO_F_COPY_LIVE) != 0;
	if (copy && !(w->rq_flags & PROTO_F_COPY_PREPARE)) {
		log_warnx("%s (%s): refused migration: a copy-storage request "
		    "without the prepare step (an older relocd)", addr,
		    w->peer.id.subject);
		proto_send_error(ioc, "proto", "this relocd copies disks only "
		    "with the prepare step (PROTO_F_COPY_PREPARE): update "
		    "relocd on the source");
		goto out;
	}
	if ((w->rq_flags & (PROTO_F_COPY_LIVE | PROTO_F_COPY_PREPARE)) &&
	    !copy) {
		log_warnx("%s (%s): refused migration: the live-copy or "
		    "prepare flag without copy-storage", addr,
		    w->peer.id.subject);
		proto_send_error(ioc, "proto", "the live-copy and prepare "
		    "flags go with the copy-storage flag");
		goto out;
	}
	if (!copy)
		json_object_object_del(req, "copy_storage");
	else if ((offer = recv_offer(req)) == NULL ||
	    json_object_array_length(offer) == 0 ||
	    json_object_array_length(offer) > DISKCOPY_MAX_DISKS ||
	    !json_object_object_get_ex(req, "config", NULL) ||
	    recv_offer_key(req, &key) == -1) {
		log_warnx("%s (%s): refused migration: a copy-storage request "
		    "without its config or tag key, or with 0 or more than %d "
		    "disks", addr, w->peer.id.subject, DISKCOPY_MAX_DISKS);
		proto_send_error(ioc, "proto", "a copy-storage request needs "
		    "the config, a tag key of %d hex digits and 1 to %d disks "
		    "to copy", 2 * DISKCOPY_KEY_LEN, DISKCOPY_MAX_DISKS);
		goto out;
	}
	/* Pre-flight on the config announced in the request, so refusals
	 * come before the sender has suspended anything. */
	if (json_object_object_get_ex(req, "config", &precfg) &&
	    recv_check(w, req, precfg, &code, reason, sizeof(reason)) == -1) {
		log_warnx("%s (%s): refused migration: %s", addr,
		    w->peer.id.subject, reason);
		proto_send_error(ioc, code, "%s", reason);
		goto out;
	}
	/* Held from "ready to receive" to the end: a second migration
	 * that checked the same room is refused here, up front. */
	if (precfg != NULL && domcfg_info(precfg, &info, reason,
	    sizeof(reason)) == 0) {
		args = json_object_new_object();
		json_object_object_add(args, "domain",
		    json_object_new_string(info.name));
		json_object_object_add(args, "memory_kb",
		    json_object_new_int64((int64_t)info.memory_kb));
		json_object_object_add(args, "weight",
		    json_object_new_int64(info.weight));
		if (hx_call(&w->hx, HX_RESERVE, args, -1, &reply, NULL, NULL,
		    &code, reason, sizeof(reason)) != 0) {
			log_warnx("%s (%s): refused migration: %s", addr,
			    w->peer.id.subject, reason);
			proto_send_error(ioc, code, "%s", reason);
			goto out;
		}
		json_object_put(args);
		json_object_put(reply);
		args = reply = NULL;
	}
	/* Without one (stock xl through xmig tunnel), maintenance at
	 * least is known before the sender suspends anything. */
	if (precfg == NULL && recv_refused_early(w, &code, reason,
	    sizeof(reason)) == -1) {
		log_warnx("%s (%s): refused migration: %s", addr,
		    w->peer.id.subject, reason);
		proto_send_error(ioc, code, "%s", reason);
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
		log_warnx("%s: sending banner: %s", addr, ioc->err);
		goto out;
	}
	if (recv_read_config(ioc, &cfg, reason, sizeof(reason)) == -1) {
		log_warnx("%s: refused migration: %s", addr, reason);
		recv_fail_early(ioc, "config", reason);
		goto out;
	}
	if (precfg != NULL && !recv_same_domain(precfg, cfg)) {
		snprintf(reason, sizeof(reason), "the config in the stream "
		    "is not the one announced in the request");
		log_warnx("%s: refused migration: %s", addr, reason);
		recv_fail_early(ioc, "config", reason);
		goto out;
	}
	/* The stream's config is authoritative: judge it again. */
	if (recv_check(w, req, cfg, &code, reason, sizeof(reason)) == -1) {
		log_warnx("%s (%s): refused migration: %s", addr,
		    w->peer.id.subject, reason);
		recv_fail_early(ioc, code, reason);
		goto out;
	}
	domcfg_info(cfg, &info, reason, sizeof(reason));
	snprintf(name, sizeof(name), "%s", info.name);

	/* The helper judges the config once more on its own, journals,
	 * and restores from the data socket that we feed.  A live copy
	 * first: the copies only, written while the source runs. */
	args = json_object_new_object();
	json_object_object_add(args, "config", json_object_get(cfg));
	json_object_object_add(args, "paused", json_object_new_int(paused));
	if (copy) {
		json_object_object_add(args, "copy", json_object_get(offer));
		json_object_object_add(args, "defer_restore",
		    json_object_new_int(1));
		if (recv_prepare(w, args, &code, reason, sizeof(reason)) ==
		    -1) {
			log_warnx("%s: refused migration: %s", addr, reason);
			recv_fail_early(ioc, code, reason);
			goto out;
		}
		begun = 1;
		if (proto_send(ioc, PT_OK, NULL) == -1) {
			log_warnx("%s: the copies are made, but the source "
			    "is gone: %s", addr, ioc->err);
			goto out;
		}
	}
	if (live_copy) {
		lv.key = key;
		lv.rb.key = &lv.key;
		if (recv_live_open(w, offer, &lv, &code, reason,
		    sizeof(reason)) == -1 || recv_live_frames(w, offer, &lv, 0,
		    &code, reason, sizeof(reason)) == -1) {
			log_warnx("%s: refused migration: %s", addr, reason);
			recv_fail_early(ioc, code, reason);
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(reason, sizeof(reason), "socketpair: %s",
		    strerror(errno));
		recv_fail_early(ioc, "stream", reason);
		goto out;
	}
	if (hx_send(w->hx.fd, copy ? HX_RECV_RESTORE : HX_RECV_BEGIN,
	    copy ? NULL : args, &sp[1], 1, reason, sizeof(reason)) == -1) {
		recv_fail_early(ioc, "stream", reason);
		goto out;
	}
	close(sp[1]);
	sp[1] = -1;
	begun = 1;
	if (recv_relay(w, sp[0], copy, &code, reason, sizeof(reason)) == -1) {
		log_warnx("%s: %s", addr, reason);
		recv_fail_early(ioc, code, reason);
		goto out;
	}
	/* Then its disks, into the copies the helper made; any failure
	 * deletes them with the incoming domain (HX_RECV_ABORT). */
	if (live_copy ? (recv_live_frames(w, offer, &lv, 1, &code,
	    reason, sizeof(reason)) == -1 || recv_live_done(w, &lv, &code,
	    reason, sizeof(reason)) == -1) : copy && recv_disks(w, offer, &key,
	    &code, reason, sizeof(reason)) == -1) {
		log_warnx("%s: refused migration: %s", addr, reason);
		recv_fail_early(ioc, code, reason);
		goto out;
	}
	close(sp[0]);
	sp[0] = -1;
	if (ioc_write_full(ioc, XL_RECEIVER_READY,
	    sizeof(XL_RECEIVER_READY)) == -1) {
		log_warnx("%s: sending ready: %s", addr, ioc->err);
		goto out;
	}
	ioc->timeout_ms = w->conf->go_timeout * 1000;
	if (ioc_read_full(ioc, go, sizeof(go)) == -1) {
		log_warnx("%s: no go from the sender (%s)", addr, ioc->err);
		goto out;
	}
	if (memcmp(go, XL_PERMISSION_TO_GO, sizeof(go)) != 0) {
		log_warnx("%s: expected go, got something else", addr);
		goto out;
	}
	ioc->timeout_ms = w->conf->io_timeout * 1000;

	/* "go": from here the domain is this host's. */
	begun = 0;
	if (hx_call(&w->hx, HX_RECV_GO, NULL, -1, &reply, NULL, NULL, &code,
	    reason, sizeof(reason)) != 0) {
		/* The helper is gone: nothing to report either way. */
		log_crit("%s: starting %s: %s", addr, name, reason);
		goto out;
	}
	status = (uint8_t)proto_get_int(reply, "status", 1);
	json_object_put(args);
	args = json_object_new_object();
	if (ioc_write_full(ioc, XL_REPORT, sizeof(XL_REPORT)) == -1 ||
	    ioc_write_full(ioc, &status, 1) == -1) {
		json_object_object_add(args, "ok", json_object_new_int(0));
		hx_call(&w->hx, HX_RECV_REPORTED, args, -1, &ok, NULL, NULL,
		    &code, reason, sizeof(reason));
		goto out;
	}
	if (status != 0) {
		if (ioc_write_full(ioc, XL_PERMISSION_TO_GO,
		    sizeof(XL_PERMISSION_TO_GO)) == -1)
			log_crit("%s: could not give %s back to the sender "
			    "(%s): check both hosts", addr, name, ioc->err);
		else
			log_warnx("%s: %s destroyed here; the sender resumes "
			    "it", addr, name);
		goto out;
	}
	json_object_object_add(args, "ok", json_object_new_int(1));
	json_object_put(ok);
	ok = NULL;
	hx_call(&w->hx, HX_RECV_REPORTED, args, -1, &ok, NULL, NULL, &code,
	    reason, sizeof(reason));
out:
	explicit_bzero(&key, sizeof(key));
	/* Ours closed first: an LV still open here would be "in use" to
	 * the helper's lvremove. */
	recv_live_close(&lv);
	if (begun) {
		/* Before "go": the incoming copy goes, the sender keeps it. */
		json_object_put(args);
		args = json_object_new_object();
		json_object_object_add(args, "reason", json_object_new_string(
		    "the migration ended before go"));
		json_object_put(reply);
		reply = NULL;
		hx_call(&w->hx, HX_RECV_ABORT, args, -1, &reply, NULL, NULL,
		    &code, reason, sizeof(reason));
	}
	if (sp[0] != -1)
		close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	json_object_put(ok);
	json_object_put(cfg);
	json_object_put(args);
	json_object_put(reply);
}
