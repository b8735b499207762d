#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "allow.h"
#include "log.h"
#include "relocd.h"

static void	listener_accept(evutil_socket_t, short, void *);
static void	listener_resume(evutil_socket_t, short, void *);
static void	session_handshake(evutil_socket_t, short, void *);
static void	session_timeout(evutil_socket_t, short, void *);
static void	session_authenticated(struct session *);
static void	session_refuse(struct session *, const char *, const char *);
static void	session_free(struct session *);
static void	session_linger(struct session *);
static void	session_drain(evutil_socket_t, short, void *);
static int	session_count_source(struct relocd *, const char *);
static int	listener_ratelimit(void);

int
listener_open(struct relocd *env, char *err, size_t errlen)
{
	struct relocd_conf *conf = &env->sc_conf;
	struct addrinfo hints, *res = NULL;
	char port[16];
	int fd = -1, on = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", conf->relocation_port);
	r = getaddrinfo(*conf->relocation_address ? conf->relocation_address :
	    NULL, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "%s:%d: relocation_address \"%s\": %s",
		    conf->path, conf->line_relocation_address,
		    conf->relocation_address, gai_strerror(r));
		return -1;
	}
	/* With no address, prefer the IPv6 wildcard (dual stack). */
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s",
		    *conf->relocation_address ? conf->relocation_address : "*",
		    conf->relocation_port, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	env->sc_tcp_fd = fd;
	env->sc_tcp_ev = event_new(env->sc_evb, fd, EV_READ | EV_PERSIST,
	    listener_accept, env);
	env->sc_pause_ev = evtimer_new(env->sc_evb, listener_resume, env);
	event_add(env->sc_tcp_ev, NULL);
	return 0;
}

void
listener_close(struct relocd *env)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&env->sc_sessions)) != NULL)
		session_free(s);
	if (env->sc_tcp_ev != NULL)
		event_free(env->sc_tcp_ev);
	if (env->sc_pause_ev != NULL)
		event_free(env->sc_pause_ev);
	if (env->sc_tcp_fd != -1)
		close(env->sc_tcp_fd);
	env->sc_tcp_ev = env->sc_pause_ev = NULL;
	env->sc_tcp_fd = -1;
}

/* At most a few refusal lines per second: a flood must not flood the log. */
static int
listener_ratelimit(void)
{
	static time_t last;
	static int n;
	time_t now = time(NULL);

	if (now != last) {
		last = now;
		n = 0;
	}
	return ++n <= 5;
}

static void
listener_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct relocd *env = arg;

	event_add(env->sc_tcp_ev, NULL);
}

static int
session_count_source(struct relocd *env, const char *addr)
{
	struct session *s;
	int n = 0;

	TAILQ_FOREACH(s, &env->sc_sessions, s_entry)
		if (s->s_ssl != NULL && strcmp(s->s_addr, addr) == 0)
			n++;
	return n;
}

static void
listener_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct relocd *env = arg;
	struct relocd_conf *conf = &env->sc_conf;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct session *s = NULL;
	struct timeval tv;
	char addr[64];
	int fd, on = 1;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: stop accepting for a second
			 * rather than spin on a listener that stays ready. */
			log_warn("accept: deferring connections");
			event_del(env->sc_tcp_ev);
			tv.tv_sec = 1;
			tv.tv_usec = 0;
			evtimer_add(env->sc_pause_ev, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (getnameinfo((struct sockaddr *)&ss, sslen, addr, sizeof(addr),
	    NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(addr, sizeof(addr), "(unknown)");

	/* Before any TLS byte: an address-only (or empty) list decides now. */
	if (allow_addresses_only(conf->allow) &&
	    !allow_match_addr(conf->allow, (struct sockaddr *)&ss)) {
		if (listener_ratelimit())
			log_warnx("refused connection from %s: address not in "
			    "relocation_hosts_allow%s", addr,
			    allow_count(conf->allow) == 0 ?
			    " (the list is empty: nobody is allowed)" : "");
		close(fd);
		return;
	}
	if (env->sc_nunauth >= conf->max_unauthenticated ||
	    session_count_source(env, addr) >=
	    conf->max_unauthenticated_per_source) {
		if (listener_ratelimit())
			log_warnx("refused connection from %s: too many "
			    "unauthenticated connections", addr);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	peer_stream_window(conf, fd);

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->s_ssl = SSL_new(env->sc_tls)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		free(s);
		close(fd);
		return;
	}
	s->s_env = env;
	s->s_fd = fd;
	s->s_ss = ss;
	snprintf(s->s_addr, sizeof(s->s_addr), "%s", addr);
	SSL_set_fd(s->s_ssl, fd);
	SSL_set_accept_state(s->s_ssl);
	s->s_ev = event_new(env->sc_evb, fd, EV_READ, session_handshake, s);
	s->s_tmo = evtimer_new(env->sc_evb, session_timeout, s);
	TAILQ_INSERT_TAIL(&env->sc_sessions, s, s_entry);
	env->sc_nunauth++;
	tv.tv_sec = conf->handshake_timeout;
	tv.tv_usec = 0;
	evtimer_add(s->s_tmo, &tv);
	session_handshake(fd, EV_READ, s);
}

static void
session_handshake(evutil_socket_t fd, short ev, void *arg)
{
	struct session *s = arg;
	struct tls_peer id;
	char reason[256];
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(s->s_ssl);
	if (r == 1) {
		session_authenticated(s);
		return;
	}
	e = SSL_get_error(s->s_ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		event_del(s->s_ev);
		event_assign(s->s_ev, s->s_env->sc_evb, s->s_fd,
		    e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE,
		    session_handshake, s);
		event_add(s->s_ev, NULL);
		return;
	}
	tls_failure_reason(s->s_ssl, reason, sizeof(reason));
	tls_peer_get(s->s_ssl, &id);
	if (listener_ratelimit())
		log_warnx("refused %s: subject %s, SHA-256 %s: %s", s->s_addr,
		    id.subject, id.fingerprint, reason);
	tls_peer_dispose(&id);
	session_linger(s);
}

static void
session_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct session *s = arg;

	if (listener_ratelimit())
		log_warnx("refused %s: TLS handshake not completed within "
		    "%d s (handshake_timeout)", s->s_addr,
		    s->s_env->sc_conf.handshake_timeout);
	session_free(s);
}

static void
session_authenticated(struct session *s)
{
	struct relocd_conf *conf = &s->s_env->sc_conf;
	struct peer_ctx pc;

	memset(&pc, 0, sizeof(pc));
	snprintf(pc.addr, sizeof(pc.addr), "%s", s->s_addr);
	tls_peer_get(s->s_ssl, &pc.id);
	/* Allowed by its address, or by the names of its verified
	 * certificate: never by what reverse DNS says. */
	if (!allow_match_addr(conf->allow, (struct sockaddr *)&s->s_ss) &&
	    !allow_match_names(conf->allow, pc.id.names, pc.id.nnames)) {
		char names[512] = "none";
		size_t i, off = 0;

		for (i = 0; i < pc.id.nnames && off < sizeof(names); i++)
			off += snprintf(names + off, sizeof(names) - off,
			    "%s%s", i > 0 ? ", " : "", pc.id.names[i]);
		log_warnx("refused %s: subject %s, SHA-256 %s: certificate "
		    "names (%s) not in relocation_hosts_allow", s->s_addr,
		    pc.id.subject, pc.id.fingerprint, names);
		session_refuse(s, "not-allowed", names);
		tls_peer_dispose(&pc.id);
		session_linger(s);
		return;
	}
	log_debug("%s authenticated: subject %s, SHA-256 %s", s->s_addr,
	    pc.id.subject, pc.id.fingerprint);
	worker_spawn(s->s_env, s, &pc);
	tls_peer_dispose(&pc.id);
	session_free(s);
}

/*
 * Tell an authenticated but unwelcome peer why, in one small frame.  The
 * socket is fresh and the frame tiny, so a non-blocking write goes out
 * whole; if it does not, the peer sees the connection close.
 */
static void
session_refuse(struct session *s, const char *code, const char *names)
{
	struct json_object *o;
	const char *text;
	uint8_t buf[PROTO_HDR_LEN + 1024];
	size_t len;
	char msg[900];

	snprintf(msg, sizeof(msg), "certificate of %s (names: %s) is not in "
	    "this host's relocation_hosts_allow", s->s_addr, names);
	o = json_object_new_object();
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN,
	    &len);
	if (len <= sizeof(buf) - PROTO_HDR_LEN) {
		proto_hdr_encode(buf, PT_ERROR, 0, (uint32_t)len);
		memcpy(buf + PROTO_HDR_LEN, text, len);
		ERR_clear_error();
		if (SSL_write(s->s_ssl, buf, (int)(PROTO_HDR_LEN + len)) > 0)
			SSL_shutdown(s->s_ssl);
		ERR_clear_error();
	}
	json_object_put(o);
}

/*
 * Closing a socket with unread input makes the kernel send a RST, which
 * can destroy the TLS alert or the error frame we just sent before the
 * peer reads it; under TLS 1.3 the client has usually written its first
 * request by then.  So: half-close, read and discard for at most a
 * second, then close.  The session still counts against the
 * unauthenticated limits meanwhile.
 */
static void
session_linger(struct session *s)
{
	struct timeval tv = { 1, 0 };

	shutdown(s->s_fd, SHUT_WR);
	event_del(s->s_ev);
	event_del(s->s_tmo);
	event_assign(s->s_ev, s->s_env->sc_evb, s->s_fd, EV_READ | EV_PERSIST,
	    session_drain, s);
	event_add(s->s_ev, NULL);
	event_assign(s->s_tmo, s->s_env->sc_evb, -1, 0, session_drain, s);
	evtimer_add(s->s_tmo, &tv);
}

static void
session_drain(evutil_socket_t fd, short ev, void *arg)
{
	struct session *s = arg;
	char buf[4096];
	ssize_t n;

	if (ev & EV_READ) {
		n = recv(s->s_fd, buf, sizeof(buf), 0);
		if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
			return;
	}
	session_free(s);
}

static void
session_free(struct session *s)
{
	struct relocd *env = s->s_env;

	TAILQ_REMOVE(&env->sc_sessions, s, s_entry);
	env->sc_nunauth--;
	if (s->s_ev != NULL)
		event_free(s->s_ev);
	if (s->s_tmo != NULL)
		event_free(s->s_tmo);
	/* SSL_free writes nothing: a worker that took over the session
	 * keeps it intact. */
	if (s->s_ssl != NULL)
		SSL_free(s->s_ssl);
	if (s->s_fd != -1)
		close(s->s_fd);
	free(s);
}
