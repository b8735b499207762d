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
 * Live with --copy-storage (PROTO_F_COPY_LIVE), the disks go first,
 * while the domain runs: every allocated chunk, then rounds of the
 * chunks it wrote since (its dirty bitmap, xo_disk_dirty), until few are
 * left or MIGRATE_DISK_ROUNDS; then the stream (whose own pre-copy ends
 * with the suspend); then, suspended, the chunks written since the last
 * round, and each disk's digest over its final content.
 *
 * It runs in the network process and reports through callbacks: the
 * progress frames (phase, round, bytes...) as they come, and the outcome
 * {"exit", "message", ...} once.  "migrate" is a thin caller that hands
 * both to xmig; any request that drives migrations calls it the same
 * way.  The decisions that keep a domain from running twice are the
 * helper's (helper_send.c): whatever happens to this process, the helper
 * resumes before "go" and leaves the domain alone after it.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

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
/* Live disk copy: rounds while the domain runs (the full pass is the
 * first), and the dirty chunks small enough to leave to the suspended
 * round: at most 16 MiB of downtime per disk. */
#define MIGRATE_DISK_ROUNDS	DISKCOPY_LIVE_ROUNDS
#define MIGRATE_DISK_TARGET	16

/* A disk copied live: its image, and the chunks the domain writes. */
struct migrate_live_disk {
	int			 fd;	/* the image, read only */
	uint64_t		*bm;	/* its dirty bitmap, shared */
	size_t			 bmlen;
	size_t			 nwords;
	uint64_t		*snap;	/* a round's taken bits */
	uint64_t		 size;
	struct diskcopy_tags	 tags;	/* what the destination holds */
};

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
	uint64_t		 disk_note;	/* next progress line */
	uint64_t		 disk_chunks;	/* chunk frames sent */
	uint8_t			*dbuf;		/* one chunk frame */
	/* live (PROTO_F_COPY_LIVE) */
	int			 live_copy;
	struct migrate_live_disk ld[DISKCOPY_MAX_DISKS];
	size_t			 nld;
	int			 disk_round;
	int			 disk_rounds_running; /* before the suspend */
	uint64_t		 resent;	/* chunks sent again */
};

static void	migrate_note(struct migrate_run *, const char *, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	migrate_local_result(struct migrate_run *, int, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	migrate_tell(struct migrate_run *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	migrate_relay(struct migrate_run *, int, char *, size_t);
static int	migrate_read_ready(struct peer_conn *, char *, size_t);
static int	migrate_prepared(struct migrate_run *, char *, size_t);
static int	migrate_disks(struct migrate_run *, char *, size_t);
static int	migrate_disk_fds(struct migrate_run *, size_t, int, int *,
		    char *, size_t);
static int	migrate_disk_one(struct migrate_run *, uint32_t, int,
		    char *, size_t);
static int	migrate_chunk(struct migrate_run *, uint32_t, int, uint64_t,
		    uint64_t, struct diskcopy_tags *, struct diskcopy_image *,
		    char *, size_t);
static void	migrate_disk_tick(struct migrate_run *, const char *);
static int	migrate_live_open(struct migrate_run *, char *, size_t);
static void	migrate_live_close(struct migrate_run *);
static int	migrate_live_round(struct migrate_run *, int, uint64_t *,
		    char *, size_t);
static int	migrate_live_precopy(struct migrate_run *, char *, size_t);
static int	migrate_live_final(struct migrate_run *, char *, size_t);
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
 * Copy storage: the destination's PT_OK once its copies exist, before
 * anything here touches the domain (PROTO_F_COPY_PREPARE).  Making an
 * LV means zeroing it whole, minutes on storage that writes every
 * byte, so the destination sends PT_PROGRESS at least every second
 * meanwhile and io_timeout runs from frame to frame; its lines are
 * shown as each step begins, and a step's count every 5 s.  A cancel
 * ends the wait by closing the session (the caller's abort), which the
 * destination takes as the sign to stop and remove its copies.  0, or
 * -1 with the reason.
 */
static int
migrate_prepared(struct migrate_run *r, char *err, size_t errlen)
{
	struct iochan *ioc = &r->pc.ioc;
	struct json_object *o = NULL;
	struct pollfd pfd[2];
	struct proto_hdr h;
	uint64_t t_shown = 0, now;
	const char *msg;
	char why[256], shown[256] = "";
	size_t k;
	int n, rc = -1;

	for (;;) {
		if (worker_cancelled) {
			snprintf(err, errlen, "cancelled by the administrator "
			    "while %s made the disk copies", r->host);
			break;
		}
		/* Our helper says nothing between calls: a readable
		 * channel is its end gone. */
		pfd[0].fd = ioc->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = r->w->hx.fd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		n = ioc->ssl != NULL && SSL_has_pending(ioc->ssl) ? 1 :
		    poll(pfd, 2, ioc->timeout_ms);
		if (n == -1 && errno == EINTR)
			continue;	/* a cancel, seen above */
		if (n == 0) {
			snprintf(err, errlen, "%s, making the disk copies, "
			    "stopped answering: nothing for %d s "
			    "(io_timeout)", r->host, ioc->timeout_ms / 1000);
			break;
		}
		if (n == -1) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0) {
			snprintf(err, errlen, "relocd's root helper ended "
			    "while %s made the disk copies", r->host);
			break;
		}
		if (proto_recv(ioc, &h, &o, PROTO_MAX_FRAME, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "%s, making the disk copies: "
			    "%s", r->host, why);
			break;
		}
		if (h.type != PT_PROGRESS && h.type != PT_OK &&
		    h.type != PT_ERROR) {
			snprintf(err, errlen, "%s sent %s while making the "
			    "disk copies", r->host, proto_type_name(h.type));
			break;
		}
		if (h.type == PT_OK) {
			rc = 0;
			break;
		}
		msg = proto_get_str(o, "message");
		if (h.type == PT_ERROR) {
			snprintf(err, errlen, "%s cannot take the disk copies: "
			    "%s", r->host, msg ? msg : "(no reason given)");
			break;
		}
		/* A new step (the text before its ':') at once, the same
		 * one's count every 5 s. */
		now = clock_mono_us();
		k = msg != NULL ? strcspn(msg, ":") : 0;
		if (msg != NULL && (now - t_shown >= 5000000 ||
		    k != strcspn(shown, ":") || strncmp(msg, shown, k) != 0)) {
			t_shown = now;
			snprintf(shown, sizeof(shown), "%s", msg);
			migrate_note(r, "prepare", "%s: %s", r->host, msg);
		}
		json_object_put(o);
		o = NULL;
	}
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
	if (r->live_copy) {
		json_object_object_add(args, "disk_round",
		    json_object_new_int(r->disk_round));
		json_object_object_add(args, "disk_resent",
		    json_object_new_int64((int64_t)r->resent));
	}
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

/* Once a second: the disks' progress, to xmig and to xmig jobs. */
static void
migrate_disk_tick(struct migrate_run *r, const char *vdev)
{
	char round[96] = "";

	if (clock_mono_us() < r->disk_note)
		return;
	r->disk_note = clock_mono_us() + 1000000;
	migrate_disk_progress(r);
	if (r->live_copy)
		snprintf(round, sizeof(round), ", round %d, %llu chunks sent "
		    "again", r->disk_round, (unsigned long long)r->resent);
	migrate_note(r, "disk", "disks: %.1f of %.1f MiB (%.0f%%) copied, "
	    "%.1f MiB/s, now %s%s", r->disk_bytes / 1048576.0,
	    r->disk_total / 1048576.0, r->disk_total ? 100.0 * r->disk_bytes /
	    r->disk_total : 100.0, r->disk_bytes / 1048576.0 /
	    ((clock_mono_us() - r->disk_t0) / 1e6), vdev, round);
}

/*
 * Chunk INDEX of disk DISK (image fd of SIZE bytes): its allocated
 * extents read, tagged and sent in one frame, unless it is all zeros.
 * Live (t: what the destination holds) a chunk that did not change
 * since it went is not sent again, and one that became all zeros since
 * goes as a zero chunk, which the destination punches out.  Offline, im
 * takes every tag sent.  0; 1 when the destination spoke up (a refusal:
 * read it as "ready" would be); -1 with the reason.
 */
static int
migrate_chunk(struct migrate_run *r, uint32_t disk, int fd, uint64_t size,
    uint64_t index, struct diskcopy_tags *t, struct diskcopy_image *im,
    char *err, size_t errlen)
{
	struct json_object *d = json_object_array_get_idx(r->copy, disk);
	const char *vdev = proto_get_str(d, "vdev");
	struct diskcopy_chunk c;
	uint32_t clen = diskcopy_chunk_len(size, index);
	uint8_t *data;
	size_t hlen;
	ssize_t got = 0;
	int n, zero, corrupt;

	memset(&c, 0, sizeof(c));
	c.disk = disk;
	c.index = index;
	n = diskcopy_extents(fd, index * DISKCOPY_CHUNK, clen, c.ext,
	    DISKCOPY_MAX_EXTENTS);
	if (n == -1) {
		snprintf(err, errlen, "disk %s: looking for data: %s", vdev,
		    strerror(errno));
		return -1;
	}
	hlen = PROTO_HDR_LEN + DISKCOPY_CHUNK_HDR + (size_t)n * 8;
	data = r->dbuf + hlen;
	if (n > 0 && (got = diskcopy_read(fd, index * DISKCOPY_CHUNK, c.ext,
	    n, data)) == -1) {
		snprintf(err, errlen, "disk %s: reading it: %s", vdev,
		    strerror(errno));
		return -1;
	}
	zero = n == 0 || diskcopy_zero(data, (size_t)got);
	if (zero) {
		/* Nothing there, or nothing there any more. */
		if (t == NULL || !diskcopy_tags_has(t, index))
			return 0;
		n = 0;
		got = 0;
		hlen = PROTO_HDR_LEN + DISKCOPY_CHUNK_HDR;
	}
	c.next = (uint32_t)n;
	if (diskcopy_chunk_tag(&r->key, disk, index, clen, c.ext, c.next,
	    r->dbuf + hlen, c.tag) == -1 || (im != NULL &&
	    diskcopy_image_add(im, index, c.tag, (size_t)got) == -1)) {
		snprintf(err, errlen, "tagging chunk %llu failed",
		    (unsigned long long)index);
		return -1;
	}
	/* Written to, but to what it held: the destination has it. */
	if (t != NULL && !zero && diskcopy_tags_same(t, index, c.tag))
		return 0;
	/* Test fault: a chunk damaged after its tag was taken, as on a
	 * flaky path; the destination must catch it. */
	corrupt = worker_sim_corrupt(r->w->conf, "diskchunk");
	if (corrupt && !zero && (im != NULL ? im->chunks == 2 :
	    r->disk_chunks == 1)) {
		log_warnx("disk %s: fault injected: chunk %llu corrupted in "
		    "flight (RELOCD_SIM_FAULT)", vdev,
		    (unsigned long long)index);
		data[got / 2] ^= 0x5a;
	}
	proto_hdr_encode(r->dbuf, PT_DISK_CHUNK, 0, (uint32_t)(hlen -
	    PROTO_HDR_LEN + (size_t)got));
	diskcopy_chunk_encode_hdr(r->dbuf + PROTO_HDR_LEN, &c);
	if (ioc_write_full(&r->pc.ioc, r->dbuf, hlen + (size_t)got) == -1) {
		snprintf(err, errlen, "sending disk %s to %s: %s", vdev,
		    r->host, r->pc.ioc.err);
		return -1;
	}
	r->disk_bytes += (uint64_t)got;
	r->disk_chunks++;
	if (t != NULL) {
		if (diskcopy_tags_has(t, index))
			r->resent++;
		if (zero)
			diskcopy_tags_clear(t, index);
		else
			diskcopy_tags_set(t, index, c.tag, (uint32_t)got);
	}
	if (worker_cancelled) {
		snprintf(err, errlen, "cancelled by the administrator");
		return -1;
	}
	/* A refusal (a bad chunk, a full disk) stops us early. */
	if (migrate_peer_spoke(&r->pc))
		return 1;
	migrate_disk_tick(r, vdev);
	return 0;
}

/*
 * One disk, offline, chunk by chunk in order (migrate_chunk), then
 * PT_DISK_END with the image digest.  0; 1 when the destination spoke
 * up; -1 with the reason.
 */
static int
migrate_disk_one(struct migrate_run *r, uint32_t disk, int fd, char *err,
    size_t errlen)
{
	struct json_object *d = json_object_array_get_idx(r->copy, disk);
	struct diskcopy_image im;
	struct json_object *end;
	const char *vdev = proto_get_str(d, "vdev");
	uint64_t size = (uint64_t)proto_get_int(d, "size", 0), nchunks, t0;
	uint64_t index;
	char hex[65];
	int rc = -1;

	if (diskcopy_image_init(&im) == -1) {
		snprintf(err, errlen, "cannot set up SHA-256");
		return -1;
	}
	nchunks = (size + DISKCOPY_CHUNK - 1) / DISKCOPY_CHUNK;
	t0 = clock_mono_us();
	for (index = 0; index < nchunks; index++)
		if ((rc = migrate_chunk(r, disk, fd, size, index, NULL, &im,
		    err, errlen)) != 0)
			goto out;
	rc = -1;
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
	    "bytes apparent) in %llu chunks, %.0f ms, image digest (of its "
	    "chunks' tags, not a sha256sum) %.16s...",
	    vdev, (unsigned long long)im.bytes, (unsigned long long)size,
	    (unsigned long long)im.chunks, (clock_mono_us() - t0) / 1000.0,
	    hex);
	rc = 0;
out:
	diskcopy_image_dispose(&im);
	return rc;
}

/*
 * Disk I's descriptors from the helper (HX_SRC_DISK), into fds: its
 * image, and live its dirty bitmap as well (nwant 2).  Any other count
 * is the helper's fault, and whatever it did send is closed.  0; -1
 * with the reason.
 */
static int
migrate_disk_fds(struct migrate_run *r, size_t i, int nwant, int *fds,
    char *err, size_t errlen)
{
	struct json_object *args, *reply = NULL;
	const char *code;
	int nfds = 0, rc;

	args = json_object_new_object();
	json_object_object_add(args, "disk", json_object_new_int((int)i));
	rc = hx_call(&r->w->hx, HX_SRC_DISK, args, -1, &reply, fds, &nfds,
	    &code, err, errlen);
	json_object_put(args);
	json_object_put(reply);
	if (rc == 0 && nfds == nwant)
		return 0;
	if (rc == 0 && nwant == 1)
		snprintf(err, errlen, "the helper sent no disk");
	else if (rc == 0)
		snprintf(err, errlen,
		    "the helper sent no disk and dirty bitmap for disk %zu", i);
	while (nfds > 0)
		close(fds[--nfds]);
	return -1;
}

/* Every disk offered, offline, in order, each from the descriptor the
 * helper hands us.  0; 1 when the destination spoke up (read it next);
 * -1. */
static int
migrate_disks(struct migrate_run *r, char *err, size_t errlen)
{
	size_t i, n = json_object_array_length(r->copy);
	int fds[HX_MAX_FDS], rc;

	r->disk_t0 = clock_mono_us();
	r->disk_note = r->disk_t0 + 1000000;
	for (i = 0; i < n; i++) {
		if (migrate_disk_fds(r, i, 1, fds, err, errlen) == -1)
			return -1;
		rc = migrate_disk_one(r, (uint32_t)i, fds[0], err, errlen);
		close(fds[0]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Live: every disk with its dirty bitmap from the helper (the backend's
 * xo_disk_dirty), mapped shared, and tracking begun: its bits cleared
 * now, so that whatever the domain writes from here on goes again.
 */
static int
migrate_live_open(struct migrate_run *r, char *err, size_t errlen)
{
	struct migrate_live_disk *ld;
	struct json_object *d;
	struct stat st;
	size_t i, n = json_object_array_length(r->copy);
	int fds[HX_MAX_FDS];
	void *p;

	for (i = 0; i < n; i++) {
		ld = &r->ld[i];
		d = json_object_array_get_idx(r->copy, i);
		if (migrate_disk_fds(r, i, 2, fds, err, errlen) == -1)
			return -1;
		ld->fd = fds[0];
		r->nld = i + 1;
		ld->size = (uint64_t)proto_get_int(d, "size", 0);
		ld->nwords = diskcopy_dirty_words(ld->size);
		ld->bmlen = (ld->nwords ? ld->nwords : 1) * 8;
		/* The backend sized it; a short one would fault here. */
		if (fstat(fds[1], &st) == -1 || (uint64_t)st.st_size <
		    ld->bmlen) {
			snprintf(err, errlen, "disk %s: the dirty bitmap is "
			    "not %zu bytes", proto_get_str(d, "vdev"),
			    ld->bmlen);
			close(fds[1]);
			return -1;
		}
		p = mmap(NULL, ld->bmlen, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fds[1], 0);
		close(fds[1]);
		if (p == MAP_FAILED) {
			snprintf(err, errlen, "disk %s: mapping its dirty "
			    "bitmap: %s", proto_get_str(d, "vdev"),
			    strerror(errno));
			return -1;
		}
		ld->bm = p;
		if ((ld->snap = calloc(ld->nwords ? ld->nwords : 1,
		    sizeof(*ld->snap))) == NULL ||
		    diskcopy_tags_init(&ld->tags, ld->size) == -1) {
			snprintf(err, errlen, "disk %s: out of memory for its "
			    "chunk tables", proto_get_str(d, "vdev"));
			return -1;
		}
		diskcopy_dirty_take(ld->bm, ld->snap, ld->nwords);
	}
	return 0;
}

static void
migrate_live_close(struct migrate_run *r)
{
	struct migrate_live_disk *ld;
	size_t i;

	for (i = 0; i < r->nld; i++) {
		ld = &r->ld[i];
		if (ld->bm != NULL)
			munmap(ld->bm, ld->bmlen);
		if (ld->fd != -1)
			close(ld->fd);
		free(ld->snap);
		diskcopy_tags_dispose(&ld->tags);
	}
	memset(r->ld, 0, sizeof(r->ld));
	r->nld = 0;
}

/*
 * One round over every disk: all its chunks (full), or those whose
 * dirty bit is set, taken and cleared first.  *dirty: the chunks the
 * round took.  0; 1 when the destination spoke up; -1.
 */
static int
migrate_live_round(struct migrate_run *r, int full, uint64_t *dirty,
    char *err, size_t errlen)
{
	struct migrate_live_disk *ld;
	uint64_t index, nchunks, w;
	size_t i, k;
	int rc;

	r->disk_round++;
	*dirty = 0;
	for (i = 0; i < r->nld; i++) {
		ld = &r->ld[i];
		nchunks = ld->tags.nchunks;
		if (full) {
			for (index = 0; index < nchunks; index++)
				if ((rc = migrate_chunk(r, (uint32_t)i, ld->fd,
				    ld->size, index, &ld->tags, NULL, err,
				    errlen)) != 0)
					return rc;
			continue;
		}
		*dirty += diskcopy_dirty_take(ld->bm, ld->snap, ld->nwords);
		for (k = 0; k < ld->nwords; k++) {
			for (w = ld->snap[k]; w != 0; w &= w - 1) {
				index = k * 64 + (uint64_t)__builtin_ctzll(w);
				if (index >= nchunks)
					break;
				if ((rc = migrate_chunk(r, (uint32_t)i, ld->fd,
				    ld->size, index, &ld->tags, NULL, err,
				    errlen)) != 0)
					return rc;
			}
		}
	}
	return 0;
}

/*
 * Live, while the domain runs: the full pass, then the chunks written
 * since, round after round, until at most MIGRATE_DISK_TARGET are dirty
 * (the suspended round takes them) or MIGRATE_DISK_ROUNDS were made;
 * then PT_DISK_PRECOPY_END.  0; 1 when the destination spoke up; -1.
 */
static int
migrate_live_precopy(struct migrate_run *r, char *err, size_t errlen)
{
	struct json_object *o;
	uint64_t dirty, total;
	size_t i;
	int rc;

	r->disk_t0 = clock_mono_us();
	r->disk_note = r->disk_t0 + 1000000;
	if ((rc = migrate_live_open(r, err, errlen)) != 0)
		return rc;
	if ((rc = migrate_live_round(r, 1, &dirty, err, errlen)) != 0)
		return rc;
	while (r->disk_round < MIGRATE_DISK_ROUNDS) {
		for (i = 0, total = 0; i < r->nld; i++)
			total += diskcopy_dirty_count(r->ld[i].bm,
			    r->ld[i].nwords);
		if (total == 0)
			break;
		if ((rc = migrate_live_round(r, 0, &dirty, err, errlen)) != 0)
			return rc;
		migrate_note(r, "disk", "disks: round %d (domain running): "
		    "%llu chunks written since the last round, sent again",
		    r->disk_round, (unsigned long long)dirty);
		if (dirty <= MIGRATE_DISK_TARGET)
			break;
	}
	r->disk_rounds_running = r->disk_round;
	o = json_object_new_object();
	json_object_object_add(o, "rounds", json_object_new_int(
	    r->disk_round));
	json_object_object_add(o, "chunks", json_object_new_int64(
	    (int64_t)r->disk_chunks));
	rc = proto_send(&r->pc.ioc, PT_DISK_PRECOPY_END, o);
	json_object_put(o);
	if (rc == -1) {
		snprintf(err, errlen, "sending the disks to %s: %s", r->host,
		    r->pc.ioc.err);
		return -1;
	}
	migrate_disk_progress(r);
	migrate_note(r, "disk", "disks: %.1f MiB sent in %d round%s while "
	    "the domain ran (%llu chunks, %llu of them again); its memory "
	    "next", r->disk_bytes / 1048576.0, r->disk_round,
	    r->disk_round == 1 ? "" : "s",
	    (unsigned long long)r->disk_chunks,
	    (unsigned long long)r->resent);
	return 0;
}

/*
 * Live, suspended: the chunks written since the last round, then every
 * disk's PT_DISK_END with its digest over the final content, which the
 * destination's helper compares with its copy read back.  0; 1 when the
 * destination spoke up; -1.
 */
static int
migrate_live_final(struct migrate_run *r, char *err, size_t errlen)
{
	struct json_object *end, *d;
	uint64_t dirty, chunks, bytes;
	char hex[65];
	size_t i;
	unsigned secs;
	int rc;

	/* Test fault: held here, the domain suspended at the source and
	 * its memory sent, before the last chunks go. */
	if ((secs = worker_sim_hang(r->w->conf, "diskfinal")) > 0) {
		log_warnx("disks: fault injected at diskfinal: hang %u s "
		    "(RELOCD_SIM_FAULT)", secs);
		sleep(secs);
	}
	if ((rc = migrate_live_round(r, 0, &dirty, err, errlen)) != 0)
		return rc;
	for (i = 0; i < r->nld; i++) {
		d = json_object_array_get_idx(r->copy, i);
		if (diskcopy_tags_digest(&r->ld[i].tags, hex, &chunks,
		    &bytes) == -1) {
			snprintf(err, errlen, "SHA-256 failed");
			return -1;
		}
		end = json_object_new_object();
		json_object_object_add(end, "disk", json_object_new_int(
		    (int)i));
		json_object_object_add(end, "chunks",
		    json_object_new_int64((int64_t)chunks));
		json_object_object_add(end, "bytes",
		    json_object_new_int64((int64_t)bytes));
		json_object_object_add(end, "digest",
		    json_object_new_string(hex));
		rc = proto_send(&r->pc.ioc, PT_DISK_END, end);
		json_object_put(end);
		if (rc == -1) {
			snprintf(err, errlen, "sending disk %s to %s: %s",
			    proto_get_str(d, "vdev"), r->host,
			    r->pc.ioc.err);
			return -1;
		}
		migrate_note(r, "disk", "disk %s: final image %llu bytes of "
		    "data in %llu chunks, image digest (of its chunks' tags, not "
		    "a sha256sum) %.16s...",
		    proto_get_str(d, "vdev"), (unsigned long long)bytes,
		    (unsigned long long)chunks, hex);
	}
	migrate_disk_progress(r);
	migrate_note(r, "disk", "disks: live copy in %d rounds (%d while the "
	    "domain ran, the last one suspended: %llu chunks): %llu chunks "
	    "sent, %llu of them re-sent, %.1f MiB", r->disk_round,
	    r->disk_rounds_running, (unsigned long long)dirty,
	    (unsigned long long)r->disk_chunks,
	    (unsigned long long)r->resent, r->disk_bytes / 1048576.0);
	return 0;
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
	int sp[2] = { -1, -1 }, drc;

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
	if (r.copy != NULL) {
		size_t i, n = json_object_array_length(r.copy);

		/* Left alone, and why: the operator sees it before the
		 * destination refuses one that is not there. */
		if (json_object_object_get_ex(reply, "copy_skipped", &src) &&
		    json_object_is_type(src, json_type_array))
			for (i = 0; i < json_object_array_length(src); i++) {
				cs = json_object_array_get_idx(src, i);
				migrate_note(&r, "disk", "disk %s: %s is not "
				    "copied, it must be present at %s: %s",
				    proto_get_str(cs, "vdev") ?
				    proto_get_str(cs, "vdev") : "?",
				    proto_get_str(cs, "path") ?
				    proto_get_str(cs, "path") : "?", r.host,
				    proto_get_str(cs, "why") ?
				    proto_get_str(cs, "why") : "?");
			}

		for (i = 0; i < n; i++)
			r.disk_total += (uint64_t)proto_get_int(
			    json_object_array_get_idx(r.copy, i), "allocated",
			    0);
		r.live_copy = m->live;
		if ((r.dbuf = malloc(PROTO_HDR_LEN + DISKCOPY_MAX_BODY)) ==
		    NULL) {
			migrate_tell(&r, HX_SRC_ABORT, "out of memory");
			goto out;
		}
	}
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
	if (peer_request_flags(&r.pc, PT_MIGRATE_RECEIVE, r.copy == NULL ? 0 :
	    PROTO_F_COPY_STORAGE | PROTO_F_COPY_PREPARE |
	    (r.live_copy ? PROTO_F_COPY_LIVE : 0), rq,
	    &rreply, err, sizeof(err)) == -1) {
		if (r.copy != NULL && strstr(err, "mandatory flags") != NULL)
			migrate_tell(&r, HX_SRC_ABORT, "%s cannot copy disks "
			    "%s(its relocd is older and does not know "
			    "%s--copy-storage): %s", r.host, r.live_copy ?
			    "live " : "", r.live_copy ? "-l " : "", err);
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
	/* The destination makes the copies while the domain runs here. */
	if (r.copy != NULL && migrate_prepared(&r, err, sizeof(err)) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
	if (m->bandwidth_mbit > 0)
		r.pc.ioc.max_bw = (uint64_t)m->bandwidth_mbit * 1000000 / 8;

	/* Live: its disks while it runs, before its memory.  A refusal
	 * from the destination is read as "ready" would be. */
	t_disk = clock_mono_us();
	if (r.live_copy && (drc = migrate_live_precopy(&r, err,
	    sizeof(err))) != 0) {
		if (drc == -1) {
			migrate_tell(&r, HX_SRC_ABORT, "%s", err);
			goto out;
		}
		goto ready;
	}
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
	/* Suspended, memory sent: now its disks (live: what was written
	 * since the last round), in the same session. */
	if (!r.live_copy)
		t_disk = clock_mono_us();
	if (r.copy != NULL && (r.live_copy ? migrate_live_final(&r, err,
	    sizeof(err)) : migrate_disks(&r, err, sizeof(err))) == -1) {
		migrate_tell(&r, HX_SRC_ABORT, "%s", err);
		goto out;
	}
ready:
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
	migrate_live_close(&r);
	free(r.dbuf);
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
