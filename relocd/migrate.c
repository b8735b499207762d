/*
 * The migration engine: the source side of one migration, xl's
 * migrate_domain in xl's order, over mutual TLS.
 *
 *	check + journal (helper) -> connect -> migrate-receive request with
 *	the config -> banner -> header + config -> stream (the helper
 *	suspends the domain into a socketpair; we relay it into the TLS
 *	session) -> "ready" -> the helper renames the domain and records
 *	"go" (THE POINT OF NO RETURN) -> "go" -> report + status -> the
 *	helper destroys the copy here, or resumes it
 *
 * It runs in the network process and reports through callbacks: the
 * progress frames (phase, round, bytes...) as they come, and the outcome
 * {"exit", "message", ...} once.  "migrate" is a thin caller that hands
 * both to xmig; any request that drives migrations calls it the same
 * way.  The decisions that keep a domain from running twice are the
 * helper's (helper_send.c): whatever happens to this process, the helper
 * resumes before "go" and leaves the domain alone after it.
 */
#include <sys/socket.h>

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "clock.h"
#include "diskcopy.h"
#include "domcfg.h"
#include "hx.h"
#include "log.h"
#include "migrate.h"
#include "precheck.h"
#include "relocd.h"
#include "xlproto.h"

#define MIGRATE_RELAY_BUF	(256 * 1024)

struct migrate_run {
	struct worker		*w;
	const struct migration	*m;
	struct peer_conn	 pc;
	char			 host[256];
	int			 port;
	char			 name[DOMCFG_NAME_MAX + 1];
	int			 status;	/* the destination's report */
	struct json_object	*result;
	/* --copy-storage: the disks offered (the helper's list) */
	struct json_object	*copy;
	struct diskcopy_key	 key;		/* the chunks' tag key */
	uint64_t		 disk_bytes;	/* data bytes sent */
	uint64_t		 disk_total;	/* allocated, all disks */
	uint64_t		 disk_us;	/* first chunk to "ready" */
	uint64_t		 disk_t0;	/* when the first disk began */
};

static void	migrate_note(struct migrate_run *, const char *, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	migrate_local_result(struct migrate_run *, int, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	migrate_tell(struct migrate_run *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	migrate_relay(struct migrate_run *, int, char *, size_t);
static int	migrate_read_ready(struct peer_conn *, char *, size_t);
static int	migrate_disks(struct migrate_run *, char *, size_t);
static int	migrate_disk_one(struct migrate_run *, uint32_t, int,
		    uint8_t *, char *, size_t);
static int	migrate_peer_spoke(struct peer_conn *);
static void	migrate_disk_progress(struct migrate_run *);
static void	migrate_ctl_progress(struct json_object *, void *);
static void	migrate_ctl_outcome(struct json_object *, void *);

static void
migrate_note(struct migrate_run *r, const char *phase, const char *fmt, ...)
{
	struct json_object *o;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	if (r->m->progress == NULL)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "phase", json_object_new_string(phase));
	json_object_object_add(o, "message", json_object_new_string(msg));
	r->m->progress(o, r->m->arg);
	json_object_put(o);
}

/* An outcome decided here, before the helper has journaled anything. */
static void
migrate_local_result(struct migrate_run *r, int exitcode, const char *fmt,
    ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	r->result = json_object_new_object();
	json_object_object_add(r->result, "exit",
	    json_object_new_int(exitcode));
	json_object_object_add(r->result, "message",
	    json_object_new_string(msg));
}

/*
 * Tell the helper how it went (abort, lost or report); its PT_RESULT is
 * the outcome.  If the helper cannot answer, the outcome is unknown to
 * us: say so rather than guess.
 */
static void
migrate_tell(struct migrate_run *r, int op, const char *fmt, ...)
{
	struct json_object *args, *reply = NULL;
	const char *code;
	char msg[1024], err[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	args = json_object_new_object();
	json_object_object_add(args, "reason", json_object_new_string(msg));
	if (op == HX_SRC_REPORT) {
		/* Only with the report read whole: a status, and for a
		 * failure the permission that followed it. */
		json_object_object_add(args, "status",
		    json_object_new_int(r->status));
		json_object_object_add(args, "permission",
		    json_object_new_int(1));
	}
	if (hx_call(&r->w->hx, op, args, -1, &reply, NULL, NULL, &code, err,
	    sizeof(err)) == 1)
		r->result = reply;
	else {
		json_object_put(reply);
		migrate_local_result(r, 3, "migration of %s to %s: the helper "
		    "did not answer (%s) after: %s. CHECK BOTH HOSTS (xmig "
		    "jobs, xmig recover %s)", r->name, r->host, err, msg,
		    r->name);
	}
	json_object_put(args);
}

/*
 * "ready", or a frame in which the destination says why it failed (see
 * recv_fail_early): a relocd frame starts with its magic, which xl's
 * ready message never does.
 */
static int
migrate_read_ready(struct peer_conn *pc, char *err, size_t errlen)
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

/*
 * The stream: from the helper's data socket into the TLS session, with
 * the helper's progress passed on, until the data socket ends and the
 * helper has said how the suspend ended.  0, or -1 with the reason.
 */
static int
migrate_relay(struct migrate_run *r, int data, char *err, size_t errlen)
{
	struct iochan *ioc = &r->pc.ioc;
	struct json_object *body = NULL;
	struct pollfd pfd[2];
	uint8_t *buf;
	ssize_t n;
	int type, eof = 0, answered = 0, ok = 0, broken = 0;

	/* Copy storage frames the stream (PT_STREAM_DATA): room for a
	 * header in front of every read. */
	if ((buf = malloc(PROTO_HDR_LEN + MIGRATE_RELAY_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*err = '\0';
	while (!eof || !answered) {
		/* xmig cancel: end the stream here; the helper's suspend
		 * fails on it and answers, and the abort resumes it. */
		if (worker_cancelled && !broken) {
			snprintf(err, errlen, "cancelled by the administrator");
			broken = 1;
			shutdown(data, SHUT_RDWR);
		}
		pfd[0].fd = eof ? -1 : data;
		pfd[0].events = POLLIN;
		pfd[1].fd = answered ? -1 : r->w->hx.fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		/* Both each turn: a stream that is always ready (a rate
		 * limit, a slow peer) must not starve the helper's progress
		 * frames.  Its answer counts only once the stream is whole
		 * (eof), whichever is read first. */
		if (pfd[0].revents != 0) {
			n = read(data, buf + PROTO_HDR_LEN, r->copy != NULL ?
			    PROTO_STREAM_CHUNK : MIGRATE_RELAY_BUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				eof = 1;
				continue;
			}
			/* Header and bytes in one write, one TLS record
			 * run. */
			if (r->copy != NULL)
				proto_hdr_encode(buf, PT_STREAM_DATA, 0,
				    (uint32_t)n);
			if (!broken && ioc_write_full(ioc, r->copy != NULL ?
			    buf : buf + PROTO_HDR_LEN, (size_t)n +
			    (r->copy != NULL ? PROTO_HDR_LEN : 0)) == -1) {
				/* Stop the helper's suspend: it sees the
				 * data socket close and answers. */
				snprintf(err, errlen, "sending the stream to "
				    "%s: %s", r->host, ioc->err);
				broken = 1;
				shutdown(data, SHUT_RDWR);
			}
		}
		if (pfd[1].revents == 0)
			continue;
		if (hx_recv(r->w->hx.fd, &type, &body, NULL, NULL, err,
		    errlen) == -1)
			break;
		if (type == PT_PROGRESS) {
			if (r->m->progress != NULL)
				r->m->progress(body, r->m->arg);
		} else {
			answered = 1;
			ok = type == PT_OK;
			if (!ok && !broken)
				snprintf(err, errlen, "%s",
				    proto_get_str(body, "message") ?
				    proto_get_str(body, "message") :
				    "the stream failed");
		}
		json_object_put(body);
		body = NULL;
	}
	free(buf);
	if (!(ok && !broken && answered && eof))
		return -1;
	if (r->copy != NULL && proto_send(ioc, PT_STREAM_END, NULL) == -1) {
		snprintf(err, errlen, "sending the stream to %s: %s", r->host,
		    ioc->err);
		return -1;
	}
	return 0;
}

/* The disks' bytes to the helper, for xmig jobs (best effort). */
static void
migrate_disk_progress(struct migrate_run *r)
{
	struct json_object *args, *reply = NULL;
	const char *code;
	char err[256];

	args = json_object_new_object();
	json_object_object_add(args, "disk_bytes",
	    json_object_new_int64((int64_t)r->disk_bytes));
	json_object_object_add(args, "disk_total",
	    json_object_new_int64((int64_t)r->disk_total));
	if (hx_call(&r->w->hx, HX_SRC_DISK_PROGRESS, args, -1, &reply, NULL,
	    NULL, &code, err, sizeof(err)) != 0)
		log_debug("disk progress: %s", err);
	json_object_put(args);
	json_object_put(reply);
}

/* Has the destination said something (a refusal) while we send? */
static int
migrate_peer_spoke(struct peer_conn *pc)
{
	struct pollfd pfd;

	if (pc->ioc.ssl != NULL && SSL_has_pending(pc->ioc.ssl))
		return 1;
	pfd.fd = pc->ioc.fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) == 1;
}

/*
 * One disk, chunk by chunk (diskcopy.h): the allocated extents of each
 * chunk, read from the image the helper opened for us, tagged, in one
 * frame; chunks of zeros and holes are not sent.  Then PT_DISK_END with
 * the image digest.  0, or -1 with the reason (a refusal from the
 * destination is read by migrate_read_ready).
 */
static int
migrate_disk_one(struct migrate_run *r, uint32_t disk, int fd, uint8_t *buf,
    char *err, size_t errlen)
{
	struct json_object *d = json_object_array_get_idx(r->copy, disk);
	struct diskcopy_chunk c;
	struct diskcopy_image im;
	struct json_object *end;
	const char *vdev = proto_get_str(d, "vdev");
	uint64_t size = (uint64_t)proto_get_int(d, "size", 0), nchunks, t0;
	uint64_t next_note;
	uint8_t *data;
	size_t hlen;
	ssize_t got;
	uint32_t clen;
	char hex[65];
	int n, corrupt, rc = -1;

	if (diskcopy_image_init(&im) == -1) {
		snprintf(err, errlen, "cannot set up SHA-256");
		return -1;
	}
	corrupt = worker_sim_corrupt(r->w->conf, "diskchunk");
	nchunks = (size + DISKCOPY_CHUNK - 1) / DISKCOPY_CHUNK;
	t0 = clock_mono_us();
	next_note = t0 + 1000000;
	memset(&c, 0, sizeof(c));
	c.disk = disk;
	for (c.index = 0; c.index < nchunks; c.index++) {
		clen = diskcopy_chunk_len(size, c.index);
		n = diskcopy_extents(fd, c.index * DISKCOPY_CHUNK, clen, c.ext,
		    DISKCOPY_MAX_EXTENTS);
		if (n == -1) {
			snprintf(err, errlen, "disk %s: looking for data: %s",
			    vdev, strerror(errno));
			goto out;
		}
		if (n == 0)
			continue;
		c.next = (uint32_t)n;
		hlen = PROTO_HDR_LEN + DISKCOPY_CHUNK_HDR + (size_t)n * 8;
		data = buf + hlen;
		if ((got = diskcopy_read(fd, c.index * DISKCOPY_CHUNK, c.ext,
		    n, data)) == -1) {
			snprintf(err, errlen, "disk %s: reading it: %s", vdev,
			    strerror(errno));
			goto out;
		}
		if (diskcopy_zero(data, (size_t)got))
			continue;
		if (diskcopy_chunk_tag(&r->key, disk, c.index, clen, c.ext,
		    c.next, data, c.tag) == -1 ||
		    diskcopy_image_add(&im, c.index, c.tag, (size_t)got) ==
		    -1) {
			snprintf(err, errlen, "disk %s: tagging chunk %llu "
			    "failed", vdev, (unsigned long long)c.index);
			goto out;
		}
		/* Test fault: a chunk damaged after its tag was taken, as
		 * on a flaky path; the destination must catch it. */
		if (corrupt && im.chunks == 2) {
			log_warnx("disk %s: fault injected: chunk %llu "
			    "corrupted in flight (RELOCD_SIM_FAULT)", vdev,
			    (unsigned long long)c.index);
			data[got / 2] ^= 0x5a;
		}
		proto_hdr_encode(buf, PT_DISK_CHUNK, 0, (uint32_t)(hlen -
		    PROTO_HDR_LEN + (size_t)got));
		diskcopy_chunk_encode_hdr(buf + PROTO_HDR_LEN, &c);
		if (ioc_write_full(&r->pc.ioc, buf, hlen + (size_t)got) ==
		    -1) {
			snprintf(err, errlen, "sending disk %s to %s: %s", vdev,
			    r->host, r->pc.ioc.err);
			goto out;
		}
		r->disk_bytes += (uint64_t)got;
		if (worker_cancelled) {
			snprintf(err, errlen, "cancelled by the "
			    "administrator");
			goto out;
		}
		/* A refusal (a bad chunk, a full disk) stops us early. */
		if (migrate_peer_spoke(&r->pc)) {
			rc = 1;
			goto out;
		}
		if (clock_mono_us() >= next_note) {
			next_note = clock_mono_us() + 1000000;
			migrate_disk_progress(r);
			migrate_note(r, "disk", "disks: %.1f of %.1f MiB "
			    "(%.0f%%) copied, %.1f MiB/s, now %s",
			    r->disk_bytes / 1048576.0, r->disk_total /
			    1048576.0, r->disk_total ? 100.0 *
			    r->disk_bytes / r->disk_total : 100.0,
			    r->disk_bytes / 1048576.0 / ((clock_mono_us() -
			    r->disk_t0) / 1e6), vdev);
		}
	}
	if (diskcopy_image_final(&im, hex) == -1) {
		snprintf(err, errlen, "SHA-256 failed");
		goto out;
	}
	end = json_object_new_object();
	json_object_object_add(end, "disk", json_object_new_int(disk));
	json_object_object_add(end, "chunks",
	    json_object_new_int64((int64_t)im.chunks));
	json_object_object_add(end, "bytes",
	    json_object_new_int64((int64_t)im.bytes));
	json_object_object_add(end, "digest", json_object_new_string(hex));
	if (proto_send(&r->pc.ioc, PT_DISK_END, end) == -1) {
		snprintf(err, errlen, "sending disk %s to %s: %s", vdev,
		    r->host, r->pc.ioc.err);
		json_object_put(end);
		goto out;
	}
	json_object_put(end);
	migrate_note(r, "disk", "disk %s: sent %llu bytes of data (%llu "
	    "bytes apparent) in %llu chunks, %.0f ms, image SHA-256 %.16s...",
	    vdev, (unsigned long long)im.bytes, (unsigned long long)size,
	    (unsigned long long)im.chunks, (clock_mono_us() - t0) / 1000.0,
	    hex);
	rc = 0;
out:
	diskcopy_image_dispose(&im);
	return rc;
}

/* Every disk offered, in order, each from the descriptor the helper
 * hands us.  0; 1 when the destination spoke up (read it next); -1. */
static int
migrate_disks(struct migrate_run *r, char *err, size_t errlen)
{
	struct json_object *args, *reply = NULL;
	const char *code;
	uint8_t *buf;
	size_t i, n = json_object_array_length(r->copy);
	int fd = -1, nfds, rc = -1;

	r->disk_t0 = clock_mono_us();
	for (i = 0; i < n; i++)
		r->disk_total += (uint64_t)proto_get_int(
		    json_object_array_get_idx(r->copy, i), "allocated", 0);
	if ((buf = malloc(PROTO_HDR_LEN + DISKCOPY_MAX_BODY)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		args = json_object_new_object();
		json_object_object_add(args, "disk", json_object_new_int(
		    (int)i));
		nfds = 0;
		rc = hx_call(&r->w->hx, HX_SRC_DISK, args, -1, &reply, &fd,
		    &nfds, &code, err, errlen);
		json_object_put(args);
		json_object_put(reply);
		reply = NULL;
		if (rc != 0 || nfds != 1) {
			if (rc == 0)
				snprintf(err, errlen, "the helper sent no "
				    "disk");
			rc = -1;
			goto out;
		}
		rc = migrate_disk_one(r, (uint32_t)i, fd, buf, err, errlen);
		close(fd);
		fd = -1;
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

struct json_object *
migration_run(struct worker *w, const struct migration *m)
{
	struct migrate_run r;
	struct json_object *args = NULL, *reply = NULL, *cfg, *rq = NULL, *src;
	struct json_object *rreply = NULL, *cs;
	const char *code;
	char err[1024], *json = NULL, keyhex[2 * DISKCOPY_KEY_LEN + 1];
	uint8_t report[sizeof(XL_REPORT)], status, go[sizeof(
	    XL_PERMISSION_TO_GO)], *hdr = NULL;
	char banner[sizeof(XL_RECEIVER_BANNER) - 1];
	size_t hdrlen;
	uint64_t t_disk;
	int sp[2] = { -1, -1 };

	memset(&r, 0, sizeof(r));
	r.w = w;
	r.m = m;
	peer_conn_init(&r.pc);
	snprintf(r.name, sizeof(r.name), "%s", m->domain ? m->domain : "?");
	if (m->domain == NULL || m->host == NULL ||
	    peer_parse_hostport(m->host, m->port ? m->port :
	    w->conf->relocation_port, r.host, sizeof(r.host), &r.port) == -1) {
		migrate_local_result(&r, 2, "migrate: need a domain and a "
		    "valid host");
		goto out;
	}
	if (r.port <= 0 || r.port > 65535) {
		migrate_local_result(&r, 2, "migrate: bad port %d", r.port);
		goto out;
	}

	/* The helper checks and locks the domain and journals the
	 * migration before anything is touched. */
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(
	    m->domain));
	json_object_object_add(args, "host", json_object_new_string(r.host));
	json_object_object_add(args, "port", json_object_new_int(r.port));
	json_object_object_add(args, "live", json_object_new_int(m->live));
	if (m->copy_storage) {
		json_object_object_add(args, "copy_storage",
		    json_object_new_int(1));
		json_object_object_add(args, "remove_source_disk",
		    json_object_new_int(m->remove_source_disk));
	}
	if (hx_call(&w->hx, HX_SRC_BEGIN, args, -1, &reply, NULL, NULL, &code,
	    err, sizeof(err)) != 0) {
		migrate_local_result(&r, 1, "%s", err);
		goto out;
	}
	if (m->copy_storage && (!json_object_object_get_ex(reply, "copy",
	    &r.copy) || !json_object_is_type(r.copy, json_type_array))) {
		r.copy = NULL;
		migrate_tell(&r, HX_SRC_ABORT, "the helper offered no disks "
		    "to copy");
		goto out;
	}
	r.copy = json_object_get(r.copy);	/* past the reply's reuse */
	snprintf(r.name, sizeof(r.name), "%s", proto_get_str(reply, "name") ?
	    proto_get_str(reply, "name") : m->domain);
	if (!json_object_object_get_ex(reply, "config", &cfg)) {
		migrate_tell(&r, HX_SRC_ABORT, "the helper sent no config");
		goto out;
	}
	migrate_note(&r, "connect", "migrating %s (%llu MiB, %s) to %s port "
	    "%d", r.name, (unsigned long long)proto_get_int(reply, "memory_kb",
	    0) / 1024, m->live ? "live" : "offline", r.host, r.port);
	if (peer_connect(w->conf, w->tls, r.host, r.port, &r.pc, err,
	    sizeof(err)) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
	rq = json_object_new_object();
	json_object_object_add(rq, "live", json_object_new_int(m->live));
	json_object_object_add(rq, "paused", json_object_new_int(m->paused));
	json_object_object_add(rq, "config", json_object_get(cfg));
	if (json_object_object_get_ex(reply, "source", &src))
		json_object_object_add(rq, "source", json_object_get(src));
	if (r.copy != NULL) {
		if (diskcopy_key_new(&r.key) == -1) {
			migrate_tell(&r, HX_SRC_ABORT, "no random bytes for "
			    "the disk copy's key");
			goto out;
		}
		diskcopy_key_hex(&r.key, keyhex);
		cs = json_object_new_object();
		json_object_object_add(cs, "disks", json_object_get(r.copy));
		json_object_object_add(cs, "key",
		    json_object_new_string(keyhex));
		json_object_object_add(rq, "copy_storage", cs);
	}
	if (peer_request_flags(&r.pc, PT_MIGRATE_RECEIVE, r.copy != NULL ?
	    PROTO_F_COPY_STORAGE : 0, rq, &rreply, err, sizeof(err)) == -1) {
		if (r.copy != NULL && strstr(err, "mandatory flags") != NULL)
			migrate_tell(&r, HX_SRC_ABORT, "%s cannot copy disks "
			    "(its relocd is older and does not know "
			    "--copy-storage): %s", r.host, err);
		else
			migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}

	/* xl's protocol from here. */
	if (ioc_read_full(&r.pc.ioc, banner, sizeof(banner)) == -1 ||
	    memcmp(banner, XL_RECEIVER_BANNER, sizeof(banner)) != 0) {
		migrate_tell(&r, HX_SRC_ABORT, "%s sent no receiver banner "
		    "(%s)", r.host, r.pc.ioc.err[0] ? r.pc.ioc.err :
		    "unexpected data");
		goto out;
	}
	json = domcfg_to_string(cfg);
	if (json == NULL || xl_header_encode(json, strlen(json), &hdr,
	    &hdrlen) == -1 || ioc_write_full(&r.pc.ioc, hdr, hdrlen) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "sending its config to %s: %s",
		    r.host, r.pc.ioc.err);
		goto out;
	}
	if (m->bandwidth_mbit > 0)
		r.pc.ioc.max_bw = (uint64_t)m->bandwidth_mbit * 1000000 / 8;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "socketpair: %s",
		    strerror(errno));
		goto out;
	}
	if (hx_send(w->hx.fd, HX_SRC_STREAM, NULL, &sp[1], 1, err,
	    sizeof(err)) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
	close(sp[1]);
	sp[1] = -1;
	if (migrate_relay(&r, sp[0], err, sizeof(err)) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
	/* Suspended, memory sent: now its disks, in the same session.  A
	 * refusal from the destination is read as "ready" would be. */
	t_disk = clock_mono_us();
	if (r.copy != NULL && migrate_disks(&r, err, sizeof(err)) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
	r.pc.ioc.timeout_ms = w->conf->ready_timeout * 1000;
	if (migrate_read_ready(&r.pc, err, sizeof(err)) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
	/* The copy's time includes the destination's read-back check,
	 * which "ready" waits for. */
	r.disk_us = clock_mono_us() - t_disk;
	r.pc.ioc.timeout_ms = w->conf->io_timeout * 1000;

	/* The last moment a cancel counts. */
	if (worker_cancelled) {
		migrate_tell(&r, HX_SRC_ABORT, "cancelled by the "
		    "administrator");
		goto out;
	}
	/* The helper renames the domain and records "go": once it says
	 * so, we are past the point of no return. */
	json_object_put(reply);
	reply = NULL;
	json_object_put(args);
	args = json_object_new_object();
	json_object_object_add(args, "disk_bytes",
	    json_object_new_int64((int64_t)r.disk_bytes));
	json_object_object_add(args, "disk_us",
	    json_object_new_int64((int64_t)r.disk_us));
	switch (hx_call(&w->hx, HX_SRC_READY, args, -1, &reply, NULL, NULL,
	    &code, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		r.result = reply;	/* it could not: resumed here */
		reply = NULL;
		goto out;
	default:
		migrate_local_result(&r, 3, "migration of %s to %s: the helper "
		    "did not answer at the point of no return (%s). CHECK BOTH "
		    "HOSTS (xmig jobs, xmig recover %s)", r.name, r.host, err,
		    r.name);
		goto out;
	}
	migrate_note(&r, "go", "%s received by %s; sending go", r.name, r.host);
	if (ioc_write_full(&r.pc.ioc, XL_PERMISSION_TO_GO,
	    sizeof(XL_PERMISSION_TO_GO)) == -1) {
		migrate_tell(&r, HX_SRC_LOST, "sending go: %s", r.pc.ioc.err);
		goto out;
	}
	r.pc.ioc.timeout_ms = w->conf->report_timeout * 1000;
	if (ioc_read_full(&r.pc.ioc, report, sizeof(report)) == -1 ||
	    memcmp(report, XL_REPORT, sizeof(report)) != 0 ||
	    ioc_read_full(&r.pc.ioc, &status, 1) == -1) {
		migrate_tell(&r, HX_SRC_LOST, "waiting for the report: %s",
		    r.pc.ioc.err[0] ? r.pc.ioc.err : "unexpected data");
		goto out;
	}
	if (status != 0 && (ioc_read_full(&r.pc.ioc, go, sizeof(go)) == -1 ||
	    memcmp(go, XL_PERMISSION_TO_GO, sizeof(go)) != 0)) {
		migrate_tell(&r, HX_SRC_LOST, "%s could not start %s (status "
		    "%u) and did not give it back: %s", r.host, r.name, status,
		    r.pc.ioc.err[0] ? r.pc.ioc.err : "unexpected data");
		goto out;
	}
	r.status = status;
	migrate_tell(&r, HX_SRC_REPORT, "report: status %u", status);
out:
	/* The outcome first: closing the session with the destination may
	 * wait for it (a TLS shutdown, bounded by io_timeout). */
	if (m->outcome != NULL)
		m->outcome(r.result, m->arg);
	if (sp[0] != -1)
		close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	free(json);
	free(hdr);
	json_object_put(args);
	json_object_put(reply);
	json_object_put(rq);
	json_object_put(rreply);
	json_object_put(r.copy);
	explicit_bzero(&r.key, sizeof(r.key));
	explicit_bzero(keyhex, sizeof(keyhex));
	peer_conn_dispose(&r.pc);
	return r.result;
}

/* xmig is only a client: if it is gone or stuck, the migration goes on. */
struct migrate_ctl {
	struct iochan	 ctl;
	int		 gone;
	const char	*chosen;	/* the host place chose, or NULL */
};

static void
migrate_ctl_progress(struct json_object *o, void *arg)
{
	struct migrate_ctl *c = arg;

	if (!c->gone && proto_send(&c->ctl, PT_PROGRESS, o) == -1)
		c->gone = 1;
}

static void
migrate_ctl_outcome(struct json_object *o, void *arg)
{
	struct migrate_ctl *c = arg;

	if (c->chosen != NULL)
		json_object_object_add(o, "host",
		    json_object_new_string(c->chosen));
	if (!c->gone && proto_send(&c->ctl, PT_RESULT, o) == -1)
		c->gone = 1;
}

/*
 * No host named: the first of place's ranking (check.c), said with why,
 * or a result that lists every host's reason.  The chosen name is kept
 * in CHOSEN.
 */
static int
migrate_choose(struct worker *w, struct migrate_ctl *c, const char *dom,
    int how, char *chosen, size_t chosenlen)
{
	struct json_object *rank, *targets = NULL, *t, *o, *ch, *h = NULL;
	char why[2048] = "";
	size_t n = 0;
	int rc = -1;

	for (n = 0; w->conf->relocation_peers != NULL &&
	    w->conf->relocation_peers[n] != NULL; n++)
		;
	o = json_object_new_object();
	if (n == 0) {
		json_object_object_add(o, "exit", json_object_new_int(2));
		json_object_object_add(o, "message", json_object_new_string(
		    "migrate: no host given, and none to choose from: list "
		    "the cluster's hosts in relocation_peers "
		    "(relocd.conf(5))"));
		migrate_ctl_outcome(o, c);
		json_object_put(o);
		return -1;
	}
	rank = check_place(w, dom, how,
	    (const char *const *)w->conf->relocation_peers, n, 0);
	if (json_object_object_get_ex(rank, "targets", &targets) &&
	    json_object_array_length(targets) > 0 &&
	    proto_get_int(t = json_object_array_get_idx(targets, 0),
	    "failed", 1) == 0) {
		snprintf(chosen, chosenlen, "%s", proto_get_str(t, "host"));
		json_object_object_get_ex(t, "headroom", &h);
		ch = json_object_new_object();
		json_object_object_add(ch, "phase",
		    json_object_new_string("place"));
		json_object_object_add(ch, "host",
		    json_object_new_string(chosen));
		snprintf(why, sizeof(why), "chose %s: every check passes, and "
		    "it has the most left after %s arrives (%lld MiB free",
		    chosen, dom, (long long)proto_get_int(h, "memory_mb", 0));
		if (proto_get_int(h, "capacity", -1) >= 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    ", capacity %lld", (long long)proto_get_int(h,
			    "capacity", 0));
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    ") of %zu host%s", n, n == 1 ? "" : "s");
		json_object_object_add(ch, "message",
		    json_object_new_string(why));
		log_info("%s", why);
		if (!c->gone && proto_send(&c->ctl, PT_PROGRESS, ch) == -1)
			c->gone = 1;
		json_object_put(ch);
		c->chosen = chosen;
		rc = 0;
		goto out;
	}
	/* Nowhere: each host's first failing line. */
	snprintf(why, sizeof(why), "%s not migrated: no host passes every "
	    "check", dom);
	precheck_rank_reasons(rank, 0, why, sizeof(why));
	json_object_object_add(o, "exit", json_object_new_int(1));
	json_object_object_add(o, "message", json_object_new_string(why));
	migrate_ctl_outcome(o, c);
out:
	json_object_put(o);
	json_object_put(rank);
	return rc;
}

void
migrate_serve(struct worker *w, struct json_object *req)
{
	struct migrate_ctl c;
	struct migration m;
	struct json_object *res;
	char chosen[256];

	memset(&m, 0, sizeof(m));
	m.domain = proto_get_str(req, "domain");
	m.host = proto_get_str(req, "host");
	m.live = proto_get_int(req, "live", 0) != 0;
	m.paused = proto_get_int(req, "paused", 0) != 0;
	m.port = (int)proto_get_int(req, "port", 0);
	m.bandwidth_mbit = (int)proto_get_int(req, "bandwidth_mbit", 0);
	m.copy_storage = proto_get_int(req, "copy_storage", 0) != 0;
	m.remove_source_disk = proto_get_int(req, "remove_source_disk", 0) !=
	    0;
	m.progress = migrate_ctl_progress;
	m.outcome = migrate_ctl_outcome;
	m.arg = &c;
	c.ctl = w->ioc;
	c.ctl.timeout_ms = 200;
	c.gone = 0;
	c.chosen = NULL;
	log_info("control (%s): migrate %s to %s", w->peer.addr,
	    m.domain ? m.domain : "?", m.host ? m.host : "(to choose)");
	if (m.host == NULL && m.domain != NULL) {
		if (migrate_choose(w, &c, m.domain, (m.live ? CHECK_LIVE : 0) |
		    (m.copy_storage ? CHECK_COPY_STORAGE : 0), chosen,
		    sizeof(chosen)) == -1)
			return;
		m.host = chosen;
	}
	res = migration_run(w, &m);
	json_object_put(res);
}
