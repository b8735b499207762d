/*
 * The request engine: every request relocd serves is one row of the
 * table below.  A row says which port the request may arrive on, whether
 * it takes a migration slot, whether its handler may ask the root helper
 * to use the backend, and which handler serves it.  The engine runs in
 * the network process: it finishes the TLS handshake, checks the peer
 * against the allow-list, reads and decodes the request, and begins it
 * with the helper, which checks the row again, takes the slot and fixes
 * the request's scope, before the handler runs.  A new request is one
 * row and one handler.
 */
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "allow.h"
#include "clock.h"
#include "hx.h"
#include "log.h"
#include "relocd.h"

static const struct request requests[] = {
	/* type			ports			flags	handler */
	{ PT_LIST,		RQ_PEER | RQ_CONTROL,
	    RQ_BACKEND | RQ_REMOTE | RQ_SHARED,			serve_query },
	{ PT_HOST_INFO,		RQ_PEER | RQ_CONTROL,
	    RQ_BACKEND | RQ_REMOTE | RQ_SHARED,			serve_query },
	{ PT_PREFLIGHT,		RQ_PEER,		RQ_BACKEND | RQ_SHARED,
	    serve_preflight },
	{ PT_MIGRATE_RECEIVE,	RQ_PEER,		RQ_SLOT | RQ_BACKEND,
	    recv_migrate },
	{ PT_CONSOLE,		RQ_PEER | RQ_CONTROL,	RQ_BACKEND | RQ_REMOTE,
	    console_serve },
	{ PT_RECOVER,		RQ_PEER,		RQ_BACKEND,
	    recover_serve_peer },
	{ PT_SPEEDTEST,		RQ_PEER,		RQ_SLOT,
	    speedtest_serve_peer },
	{ PT_CTL_MIGRATE,	RQ_CONTROL,		RQ_SLOT | RQ_BACKEND,
	    migrate_serve },
	{ PT_CTL_CREATE,	RQ_CONTROL,		RQ_BACKEND,
	    serve_create },
	{ PT_CTL_DESTROY,	RQ_CONTROL,		RQ_BACKEND,
	    serve_destroy },
	{ PT_CTL_TUNNEL,	RQ_CONTROL,		RQ_SLOT,
	    tunnel_serve },
	{ PT_CTL_JOBS,		RQ_PEER | RQ_CONTROL,	RQ_REMOTE,
	    recover_serve_jobs },
	{ PT_CTL_RECOVER,	RQ_CONTROL,		RQ_BACKEND,
	    recover_serve_control },
	{ PT_CTL_SPEEDTEST,	RQ_CONTROL,		RQ_SLOT,
	    speedtest_serve_control },
	{ PT_CTL_MAINTENANCE,	RQ_CONTROL,		0,
	    serve_maintenance },
	{ PT_CTL_CANCEL,	RQ_CONTROL,		0,
	    cancel_serve },
	{ PT_CTL_CHECK,		RQ_CONTROL,		RQ_BACKEND | RQ_SHARED,
	    check_serve },
	{ PT_CTL_PLACE,		RQ_CONTROL,		RQ_BACKEND | RQ_SHARED,
	    place_serve },
	{ PT_CTL_FORCE,		RQ_CONTROL,		RQ_BACKEND,
	    force_serve },
	{ PT_FORCE,		RQ_PEER,		RQ_BACKEND,
	    force_serve_peer },
#ifdef RELOCD_TESTING
	/* Test builds only: proves that the filter kills and is heard. */
	{ PT_TEST_FORBIDDEN,	RQ_PEER | RQ_CONTROL,	0,
	    testing_serve_forbidden },
#endif
};

static int	engine_handshake(struct worker *, SSL *, int);
static int	engine_allowed(struct worker *, int);
static void	engine_refuse(struct worker *, const char *, const char *);
static void	engine_linger(int);
static void	engine_verdict(int, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

const struct request *
request_find(int type)
{
	size_t i;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (requests[i].type == type)
			return &requests[i];
	return NULL;
}

/*
 * The parent counts this connection as unauthenticated until it reads
 * our verdict; it also logs refusals from there, rate-limited across all
 * sessions, so a flood of bad certificates cannot flood the log.
 */
static void
engine_verdict(int status_fd, const char *kind, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (status_fd == -1)
		return;
	n = snprintf(line, sizeof(line), "%s ", kind);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (write(status_fd, line, strlen(line)) < 0) {
		/* the parent is gone: nobody left to count us */
	}
	close(status_fd);
}

/* The server handshake with a deadline (handshake_timeout). */
static int
engine_handshake(struct worker *w, SSL *ssl, int status_fd)
{
	struct tls_peer id;
	struct pollfd pfd;
	uint64_t deadline;
	char reason[256];
	int r, e, left;

	deadline = clock_mono_us() + (uint64_t)w->conf->handshake_timeout *
	    1000000;
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_do_handshake(ssl)) == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		left = (int)(((int64_t)deadline - (int64_t)clock_mono_us()) /
		    1000);
		if (left <= 0) {
			engine_verdict(status_fd, "R", "TLS handshake not "
			    "completed within %d s (handshake_timeout)",
			    w->conf->handshake_timeout);
			return -1;
		}
		pfd.fd = w->ioc.fd;
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			break;
	}
	tls_failure_reason(ssl, reason, sizeof(reason));
	tls_peer_get(ssl, &id);
	engine_verdict(status_fd, "R", "subject %s, SHA-256 %s: %s",
	    id.subject, id.fingerprint, reason);
	tls_peer_dispose(&id);
	engine_linger(w->ioc.fd);
	return -1;
}

/* Allowed by its address, or by the names of its verified certificate:
 * never by what reverse DNS says. */
static int
engine_allowed(struct worker *w, int status_fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct tls_peer *id = &w->peer.id;
	char names[512] = "none";
	size_t i, off = 0;

	if (getpeername(w->ioc.fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    allow_match_addr(w->conf->allow, (struct sockaddr *)&ss))
		return 1;
	if (allow_match_names(w->conf->allow, id->names, id->nnames))
		return 1;
	for (i = 0; i < id->nnames && off < sizeof(names); i++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", id->names[i]);
	engine_verdict(status_fd, "R", "subject %s, SHA-256 %s: certificate "
	    "names (%s) not in relocation_hosts_allow", id->subject,
	    id->fingerprint, names);
	engine_refuse(w, "not-allowed", names);
	engine_linger(w->ioc.fd);
	return 0;
}

/* Tell an authenticated but unwelcome peer why, in one small frame. */
static void
engine_refuse(struct worker *w, const char *code, const char *names)
{
	w->ioc.timeout_ms = 1000;
	proto_send_error(&w->ioc, code, "certificate of %s (names: %s) is not "
	    "in this host's relocation_hosts_allow", w->peer.addr, names);
	ERR_clear_error();
	SSL_shutdown(w->ioc.ssl);
	ERR_clear_error();
}

/*
 * Closing a socket with unread input makes the kernel send a RST, which
 * can destroy the TLS alert or the error frame we just sent before the
 * peer reads it; under TLS 1.3 the client has usually written its first
 * request by then.  So: half-close, read and discard for at most a
 * second, then close.
 */
static void
engine_linger(int fd)
{
	uint64_t until = clock_mono_us() + 1000000;
	struct pollfd pfd;
	char buf[4096];
	int left;

	shutdown(fd, SHUT_WR);
	while ((left = (int)(((int64_t)until - (int64_t)clock_mono_us()) /
	    1000)) > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) <= 0)
			break;
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0 &&
		    errno != EAGAIN && errno != EINTR)
			break;
	}
}

void
engine_serve(struct worker *w, int status_fd)
{
	SSL *ssl = NULL;

	if (w->port == RQ_PEER) {
		if ((ssl = SSL_new(w->tls)) == NULL) {
			engine_verdict(status_fd, "R", "out of memory");
			return;
		}
		SSL_set_fd(ssl, w->ioc.fd);
		SSL_set_accept_state(ssl);
		ioc_init_tls(&w->ioc, w->ioc.fd, ssl,
		    w->conf->io_timeout * 1000);
		if (engine_handshake(w, ssl, status_fd) == -1)
			return;
		tls_peer_get(ssl, &w->peer.id);
		if (!engine_allowed(w, status_fd))
			return;
		engine_verdict(status_fd, "A", "subject %s",
		    w->peer.id.subject);
		log_debug("%s authenticated: subject %s, SHA-256 %s",
		    w->peer.addr, w->peer.id.subject, w->peer.id.fingerprint);
	}
	engine_dispatch(w);
}

void
engine_dispatch(struct worker *w)
{
	const struct request *rq;
	struct json_object *req = NULL, *args = NULL, *reply = NULL;
	struct proto_hdr h;
	const char *code, *host;
	char err[1024];

	if (proto_recv(&w->ioc, &h, &req, PROTO_MAX_CONFIG_FRAME, err,
	    sizeof(err)) == -1) {
		log_warnx("%s (%s): bad request: %s", w->peer.addr,
		    w->port == RQ_PEER ? w->peer.id.subject : "control", err);
		proto_send_error(&w->ioc, "proto", "%s", err);
		goto out;
	}
	rq = request_find(h.type);
	if (rq == NULL || !(rq->ports & w->port)) {
		log_warnx("%s: refused %s request: not served on the %s",
		    w->peer.addr, proto_type_name(h.type),
		    w->port == RQ_PEER ? "network" : "control socket");
		proto_send_error(&w->ioc, "proto", "%s is not a request this "
		    "port serves", proto_type_name(h.type));
		goto out;
	}
	/* Copy storage changes what follows a migrate-receive request
	 * only; on anything else the flag is a peer's mistake. */
	if ((h.flags & (PROTO_F_COPY_STORAGE | PROTO_F_COPY_LIVE |
	    PROTO_F_COPY_PREPARE)) &&
	    h.type != PT_MIGRATE_RECEIVE) {
		log_warnx("%s: refused %s request: the copy-storage flag is "
		    "for migrate-receive only", w->peer.addr,
		    proto_type_name(h.type));
		proto_send_error(&w->ioc, "proto", "the copy-storage flag is "
		    "for a migrate-receive request only, not %s",
		    proto_type_name(h.type));
		goto out;
	}
	w->rq_flags = h.flags;
	host = proto_get_str(req, "host");
	if (w->port == RQ_PEER)
		log_info("%s (%s): %s request", w->peer.addr,
		    w->peer.id.subject, proto_type_name(h.type));
	else
		log_debug("control (%s): %s request%s%s", w->peer.addr,
		    proto_type_name(h.type), host ? " for " : "",
		    host ? host : "");

	/* The helper checks the row again, takes the slot and fixes the
	 * scope (the domain a control request names) before any byte of
	 * another host is read on this request's behalf.  A read-only
	 * request begins nothing: its one operation names it. */
	if (!(rq->flags & RQ_SHARED)) {
		args = json_object_new_object();
		json_object_object_add(args, "type",
		    json_object_new_int(h.type));
		json_object_object_add(args, "request", json_object_get(req));
		if (hx_call(&w->hx, HX_BEGIN, args, -1, &reply, NULL, NULL,
		    &code, err, sizeof(err)) != 0) {
			proto_send_error(&w->ioc, code, "%s", err);
			goto out;
		}
	}
	w->rq = rq;
	rq->handler(w, req);
out:
	json_object_put(req);
	json_object_put(args);
	json_object_put(reply);
}

#ifdef RELOCD_TESTING
/*
 * Test builds only: a network process that makes a system call its
 * filter forbids (ptrace), as a process taken over by an attacker would.
 * The filter kills it; its helper logs that.  Nothing is answered.
 */
void
testing_serve_forbidden(struct worker *w, struct json_object *req)
{
	log_info("%s: test request: calling ptrace, which the filter "
	    "forbids", w->peer.addr);
	syscall(SYS_ptrace, 0, 0, 0, 0);
	/* Reached only if the filter let it through. */
	proto_send_error(&w->ioc, "refused", "the forbidden system call was "
	    "not stopped");
}
#endif
