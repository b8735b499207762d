#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"
#include "relocd.h"

static int	peer_tcp_connect(struct relocd_conf *, const char *, int,
		    char *, size_t);
static void	peer_explain(struct peer_conn *, const char *, char *, size_t);

void
peer_conn_init(struct peer_conn *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->fd = -1;
}

void
peer_conn_dispose(struct peer_conn *pc)
{
	if (pc->ssl != NULL) {
		ioc_shutdown(&pc->ioc);
		SSL_free(pc->ssl);
	}
	if (pc->fd != -1)
		close(pc->fd);
	peer_conn_init(pc);
}

int
peer_parse_hostport(const char *spec, int dflt_port, char *host,
    size_t hostlen, int *port)
{
	const char *colon, *end;
	char *ep;
	long p;

	*port = dflt_port;
	if (*spec == '[') {			/* [v6addr]:port */
		if ((end = strchr(spec, ']')) == NULL)
			return -1;
		if ((size_t)(end - spec - 1) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(end - spec - 1),
		    spec + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(spec, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;		/* bare IPv6 address */
		if (colon == NULL)
			snprintf(host, hostlen, "%s", spec);
		else
			snprintf(host, hostlen, "%.*s", (int)(colon - spec),
			    spec);
	}
	if (*host == '\0')
		return -1;
	if (colon != NULL) {
		errno = 0;
		p = strtol(colon + 1, &ep, 10);
		if (errno != 0 || *ep != '\0' || p < 1 || p > 65535)
			return -1;
		*port = (int)p;
	}
	return 0;
}

/* Leave from relocation_address when set: the destination's allow-list
 * is written with the addresses of its peers. */
static int
peer_tcp_connect(struct relocd_conf *conf, const char *host, int port,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai, *src = NULL;
	struct pollfd pfd;
	char portstr[16];
	socklen_t len;
	int fd = -1, r, soerr, on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(r));
		return -1;
	}
	if (*conf->relocation_address != '\0') {
		hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
		if ((r = getaddrinfo(conf->relocation_address, "0", &hints,
		    &src)) != 0) {
			snprintf(err, errlen, "relocation_address %s: %s",
			    conf->relocation_address, gai_strerror(r));
			freeaddrinfo(res);
			return -1;
		}
	}
	snprintf(err, errlen, "cannot connect to %s port %d", host, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (src != NULL && src->ai_family != ai->ai_family)
			continue;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		peer_stream_window(conf, fd);
		if (src != NULL && bind(fd, src->ai_addr, src->ai_addrlen) ==
		    -1) {
			snprintf(err, errlen, "cannot bind to "
			    "relocation_address %s: %s",
			    conf->relocation_address, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			snprintf(err, errlen, "cannot connect to %s port %d: "
			    "%s%s", host, port, strerror(errno),
			    errno == ECONNREFUSED ?
			    " (is relocd running there?)" : "");
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, conf->handshake_timeout * 1000);
		len = sizeof(soerr);
		if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len) == -1 || soerr != 0) {
			snprintf(err, errlen, "cannot connect to %s port %d: "
			    "%s%s", host, port, r == 0 ? "timed out" :
			    strerror(r < 0 ? errno : soerr),
			    r > 0 && soerr == ECONNREFUSED ?
			    " (is relocd running there?)" : "");
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);
	if (fd != -1)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

int
peer_connect(struct relocd_conf *conf, SSL_CTX *ctx, const char *host,
    int port, struct peer_conn *pc, char *err, size_t errlen)
{
	char why[512];

	peer_conn_init(pc);
	snprintf(pc->host, sizeof(pc->host), "%s", host);
	pc->port = port;
	if ((pc->fd = peer_tcp_connect(conf, host, port, err, errlen)) == -1)
		return -1;
	if ((pc->ssl = SSL_new(ctx)) == NULL ||
	    tls_client_expect_host(pc->ssl, host) == -1) {
		snprintf(err, errlen, "TLS setup for %s failed", host);
		peer_conn_dispose(pc);
		return -1;
	}
	if (tls_connect(pc->ssl, pc->fd, conf->handshake_timeout * 1000, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "TLS handshake with %s:%d failed: %s",
		    host, port, why);
		/* The server has nothing more to say: no close_notify. */
		SSL_free(pc->ssl);
		pc->ssl = NULL;
		peer_conn_dispose(pc);
		return -1;
	}
	ioc_init_tls(&pc->ioc, pc->fd, pc->ssl, conf->io_timeout * 1000);
	return 0;
}

/*
 * Under TLS 1.3 the client's handshake ends before the server has judged
 * the client certificate; a rejection arrives as an alert on the first
 * read.  Turn OpenSSL's alert text into what the operator needs.
 */
static void
peer_explain(struct peer_conn *pc, const char *raw, char *err, size_t errlen)
{
	static const struct {
		const char *alert, *meaning;
	} map[] = {
		{ "alert unknown ca", "it does not trust our certificate "
		    "(not issued by its CA)" },
		{ "certificate required", "it requires a client "
		    "certificate" },
		{ "alert certificate revoked", "our certificate is revoked "
		    "in its CRL" },
		{ "alert certificate expired", "it says our certificate has "
		    "expired" },
		{ "alert bad certificate", "it rejected our certificate" },
		{ "alert unsupported certificate", "it rejected our "
		    "certificate's usage" },
		{ "alert protocol version", "no common TLS version" },
		{ "alert handshake failure", "TLS handshake failure" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strstr(raw, map[i].alert) != NULL) {
			snprintf(err, errlen, "%s:%d refused the connection: "
			    "%s", pc->host, pc->port, map[i].meaning);
			return;
		}
	}
	snprintf(err, errlen, "%s:%d: %s", pc->host, pc->port, raw);
}

int
peer_request(struct peer_conn *pc, int type, struct json_object *req,
    struct json_object **reply, char *err, size_t errlen)
{
	return peer_request_flags(pc, type, 0, req, reply, err, errlen);
}

int
peer_request_flags(struct peer_conn *pc, int type, uint16_t flags,
    struct json_object *req, struct json_object **reply, char *err,
    size_t errlen)
{
	struct proto_hdr h;
	struct json_object *body = NULL;
	char why[512];

	*reply = NULL;
	if (proto_send_flags(&pc->ioc, type, flags, req) == -1) {
		/* A refusal may be waiting to be read (an alert or our
		 * error frame): it says more than "connection reset". */
		snprintf(why, sizeof(why), "%s", pc->ioc.err);
		pc->ioc.timeout_ms = 1000;
		if (proto_recv(&pc->ioc, &h, &body, PROTO_MAX_FRAME, err,
		    errlen) == 0 && h.type == PT_ERROR) {
			snprintf(err, errlen, "%s refused: %s", pc->host,
			    proto_get_str(body, "message") ?
			    proto_get_str(body, "message") : "(no reason)");
			json_object_put(body);
			return -1;
		}
		json_object_put(body);
		peer_explain(pc, strstr(err, "alert") ? err : why, err,
		    errlen);
		return -1;
	}
	if (proto_recv(&pc->ioc, &h, &body, PROTO_MAX_CONFIG_FRAME, why,
	    sizeof(why)) == -1) {
		peer_explain(pc, why, err, errlen);
		return -1;
	}
	if (h.type == PT_ERROR) {
		snprintf(err, errlen, "%s refused: %s", pc->host,
		    proto_get_str(body, "message") ?
		    proto_get_str(body, "message") : "(no reason given)");
		json_object_put(body);
		return -1;
	}
	if (h.type != PT_OK) {
		snprintf(err, errlen, "%s: unexpected %s reply", pc->host,
		    proto_type_name(h.type));
		json_object_put(body);
		return -1;
	}
	*reply = body;
	return 0;
}

/*
 * Whatever a migration stream has queued in socket buffers when the guest
 * pauses for the last round must cross before the guest runs again.  Left
 * to autotuning, a receive queue grows to tens of MiB here (tcp_rmem), and
 * a source that sends faster than the destination stores runs that far
 * ahead: measured, 256 MiB live at 2000 pages/s paused 15 ms instead of
 * 10.  So every connection between relocds, from either end, gets buffers
 * of stream_buffer_kb each way; a long fat link wants more
 * (relocd.conf(5)).  The other sessions carry small messages, which fit.
 */
void
peer_stream_window(struct relocd_conf *conf, int fd)
{
	int bytes = conf->stream_buffer_kb * 1024;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) ==
	    -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) == -1)
		log_warn("stream_buffer_kb: setsockopt");
}
