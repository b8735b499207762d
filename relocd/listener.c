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

#include "allow.h"
#include "log.h"
#include "relocd.h"

static void	listener_accept(evutil_socket_t, short, void *);
static void	listener_resume(evutil_socket_t, short, void *);
static void	session_status(evutil_socket_t, short, void *);
static void	session_free(struct session *);
static int	session_count_source(struct relocd *, const char *);
static int	listener_ratelimit(void);
static void	listener_defer(struct relocd *);

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

/* Out of descriptors: stop accepting for a second rather than spin on a
 * listener that stays ready. */
static void
listener_defer(struct relocd *env)
{
	struct timeval tv = { 1, 0 };

	errno = EMFILE;
	log_warn("accept: deferring connections");
	event_del(env->sc_tcp_ev);
	evtimer_add(env->sc_pause_ev, &tv);
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
		if (strcmp(s->s_addr, addr) == 0)
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
	struct peer_ctx pc;
	struct timeval tv;
	char addr[64];
	int fd, on = 1, sp[2] = { -1, -1 };

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE)
			listener_defer(env);
		else if (errno != EAGAIN && errno != EINTR &&
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

	memset(&pc, 0, sizeof(pc));
	snprintf(pc.addr, sizeof(pc.addr), "%s", addr);
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) == -1 &&
	    (errno == EMFILE || errno == ENFILE)) {
		close(fd);
		listener_defer(env);
		return;
	}
	if (sp[0] == -1 || (s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s", __func__);
		if (sp[0] != -1) {
			close(sp[0]);
			close(sp[1]);
		}
		close(fd);
		return;
	}
	s->s_env = env;
	s->s_status_fd = sp[0];
	snprintf(s->s_addr, sizeof(s->s_addr), "%s", addr);
	s->s_ev = event_new(env->sc_evb, sp[0], EV_READ | EV_PERSIST,
	    session_status, s);
	TAILQ_INSERT_TAIL(&env->sc_sessions, s, s_entry);
	env->sc_nunauth++;
	tv.tv_sec = conf->handshake_timeout + 5;
	tv.tv_usec = 0;
	event_add(s->s_ev, &tv);
	if (worker_spawn(env, fd, RQ_PEER, &pc, sp[1]) == -1 &&
	    (errno == EMFILE || errno == ENFILE))
		listener_defer(env);
	close(sp[1]);
	close(fd);
}

/*
 * The network process's verdict on its peer, or the end of the process.
 * Until then the connection counts against the unauthenticated limits.
 */
static void
session_status(evutil_socket_t fd, short ev, void *arg)
{
	struct session *s = arg;
	ssize_t n;

	if (ev & EV_TIMEOUT) {
		/* The network process enforces the deadline itself; this
		 * only keeps a stuck one from holding a place forever. */
		session_free(s);
		return;
	}
	n = read(s->s_status_fd, s->s_buf + s->s_len,
	    sizeof(s->s_buf) - 1 - s->s_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		s->s_len += (size_t)n;
		if (s->s_len < sizeof(s->s_buf) - 1)
			return;
	}
	s->s_buf[s->s_len] = '\0';
	if (s->s_buf[0] == 'R' && listener_ratelimit())
		log_warnx("refused %s: %s", s->s_addr, s->s_len > 2 ?
		    s->s_buf + 2 : "(no reason)");
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
	if (s->s_status_fd != -1)
		close(s->s_status_fd);
	free(s);
}
