/*
 * relocd-priv: the long-lived root process at the other end of every
 * network process's helper channel.  The parent forks it at start (and
 * again if it dies), and hands it each new session's end of the channel
 * with the network process's pidfd.
 *
 * A request whose root side only reads (list, host-info, a precheck's
 * facts: RQ_SHARED in the engine's table) is answered here, by the same
 * checked operations a helper runs, with no process of its own: that is
 * most of what the privilege line costs a short request (a fork and an
 * exit, and every page the new process touches, about a third of
 * `xmig list -H` on a small VM).  Any other request, at its begin, gets
 * a helper of its own, forked from here, which owns the session from
 * then on: slots, locks, the journal and the settling when the network
 * process dies are a helper's, never this process's.
 *
 * Nothing of the backend crosses a fork: the backend this process keeps
 * open between queries is closed before it forks a helper, which opens
 * its own.  Every session's descriptor carries a send and receive
 * timeout, so a network process that stops halfway through a frame
 * costs the others at most that long, and is ended.
 */
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "hx.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

#define PRIV_IO_TIMEOUT_S	2	/* per frame, on a session's channel */
#define PRIV_RESTART_S		1	/* the least time between two starts */
#define PRIV_REAP_MS		1000	/* how late a helper's end is reaped */

struct priv_session {
	struct helper	 h;
	int		 pidfd;		/* the network process, or -1 */
};

static struct priv_session *priv_sessions[RELOCD_MAX_WORKERS];
/* The helpers forked here, each with its network process's pidfd: a
 * network process whose helper is gone has nobody to answer it. */
static struct {
	pid_t		 pid;		/* 0: free */
	int		 pidfd;
} priv_helpers[RELOCD_MAX_WORKERS];
static struct xo_ctx *priv_xo;		/* kept open between queries */
static int priv_parent_fd = -1;

static void	priv_main(struct relocd_conf *, int) __attribute__((__noreturn__));
static void	priv_add(struct relocd_conf *, struct json_object *, int *,
		    int);
static void	priv_io(struct priv_session *, int);
static void	priv_fork(struct priv_session *, int, int,
		    struct json_object *, int *, int);
static void	priv_end(struct priv_session *);
static void	priv_drop(int, int);
static void	priv_reap(void);
static int	priv_nhelpers(void);
static void	priv_restart(evutil_socket_t, short, void *);

int
priv_start(struct relocd *env)
{
	int sp[2], keep[2], nkeep = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", __func__);
		return -1;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		close(sp[0]);
		close(sp[1]);
		return -1;
	case 0:
		/* Nothing of the parent's (not its listeners, not the
		 * sessions' status pipes, not libevent's) but the libxl
		 * module the daemon started with. */
		keep[nkeep++] = sp[1];
		if (xo_module_fd() != -1)
			keep[nkeep++] = xo_module_fd();
		worker_close_others(keep, nkeep);
		worker_child_signals();
		log_procinit("priv");
		prctl(PR_SET_NAME, "relocd-priv");
		priv_main(&env->sc_conf, sp[1]);
		/* NOTREACHED */
	}
	close(sp[1]);
	/* A stuck relocd-priv must not stop the parent's loop for long. */
	{
		struct timeval tv = { PRIV_IO_TIMEOUT_S, 0 };

		setsockopt(sp[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	env->sc_priv_fd = sp[0];
	env->sc_priv_pid = pid;
	env->sc_priv_started = time(NULL);
	log_debug("relocd-priv %ld started", (long)pid);
	return 0;
}

/* It died: say how, and start another (not in a tight loop). */
void
priv_ended(struct relocd *env, int status)
{
	struct timeval tv = { PRIV_RESTART_S, 0 };
	pid_t pid = env->sc_priv_pid;

	if (WIFSIGNALED(status))
		log_warnx("relocd-priv %ld killed by signal %d: starting "
		    "another; sessions it was serving end, migrations in "
		    "flight (in helpers of their own) go on", (long)pid,
		    WTERMSIG(status));
	else
		log_warnx("relocd-priv %ld exited with status %d: starting "
		    "another", (long)pid, WEXITSTATUS(status));
	if (env->sc_priv_fd != -1)
		close(env->sc_priv_fd);
	env->sc_priv_fd = -1;
	env->sc_priv_pid = -1;
	if (time(NULL) - env->sc_priv_started >= PRIV_RESTART_S) {
		priv_start(env);
		return;
	}
	if (env->sc_priv_ev == NULL)
		env->sc_priv_ev = evtimer_new(env->sc_evb, priv_restart, env);
	if (env->sc_priv_ev != NULL)
		evtimer_add(env->sc_priv_ev, &tv);
}

/*
 * After a reload: relocd-priv serves with the configuration it was
 * started with, so a new one takes the new sessions, and the old one,
 * its channel closed, finishes those it has and goes.
 */
void
priv_replace(struct relocd *env)
{
	struct timeval tv = { PRIV_RESTART_S, 0 };

	if (env->sc_priv_fd != -1)
		close(env->sc_priv_fd);
	env->sc_priv_fd = -1;
	env->sc_priv_pid = -1;
	if (priv_start(env) == 0)
		return;
	if (env->sc_priv_ev == NULL)
		env->sc_priv_ev = evtimer_new(env->sc_evb, priv_restart, env);
	if (env->sc_priv_ev != NULL)
		evtimer_add(env->sc_priv_ev, &tv);
}

static void
priv_restart(evutil_socket_t fd, short ev, void *arg)
{
	struct relocd *env = arg;

	if (env->sc_priv_pid == -1)
		priv_start(env);
}

/* The parent's half: a new session's channel and pidfd go to priv. */
int
priv_session(struct relocd *env, int hxfd, int pidfd, int port,
    const struct peer_ctx *pc)
{
	struct json_object *o;
	char err[256];
	int fds[2] = { hxfd, pidfd }, rc;

	if (env->sc_priv_fd == -1) {
		log_warnx("refused %s: relocd-priv is restarting", pc->addr);
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "port", json_object_new_int(port));
	json_object_object_add(o, "addr", json_object_new_string(pc->addr));
	rc = hx_send(env->sc_priv_fd, HX_SESSION, o, fds, pidfd != -1 ? 2 : 1,
	    err, sizeof(err));
	json_object_put(o);
	if (rc == -1)
		log_warnx("refused %s: relocd-priv: %s", pc->addr, err);
	return rc;
}

static void
priv_main(struct relocd_conf *conf, int pfd)
{
	struct pollfd pfds[1 + RELOCD_MAX_WORKERS];
	struct priv_session *at[1 + RELOCD_MAX_WORKERS];
	struct json_object *args;
	char err[256];
	int fds[HX_MAX_FDS], nfds, type, i, n, draining = 0;

	/*
	 * No SIGCHLD handler: libxl, whose ctx this process keeps between
	 * queries, insists on owning that signal whenever it forks.  The
	 * helpers are reaped at the next wake-up or within PRIV_REAP_MS.
	 */
	priv_parent_fd = pfd;
	for (;;) {
		priv_reap();
		n = 0;
		if (!draining) {
			pfds[n].fd = pfd;
			pfds[n].events = POLLIN;
			at[n++] = NULL;
		}
		for (i = 0; i < RELOCD_MAX_WORKERS; i++)
			if (priv_sessions[i] != NULL) {
				pfds[n].fd = priv_sessions[i]->h.fd;
				pfds[n].events = POLLIN;
				at[n++] = priv_sessions[i];
			}
		/* The parent is gone (a restart): serve what was handed
		 * over and watch the helpers to their end, then go; the
		 * next relocd starts its own. */
		if (draining && n == 0 && priv_nhelpers() == 0)
			break;
		if (poll(pfds, (nfds_t)n, PRIV_REAP_MS) == -1) {
			if (errno != EINTR)
				fatal("%s: poll", __func__);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (pfds[i].revents == 0)
				continue;
			if (at[i] != NULL) {
				priv_io(at[i], pfds[i].fd);
				continue;
			}
			if (hx_recv(pfd, &type, &args, fds, &nfds, err,
			    sizeof(err)) == -1) {
				if (strcmp(err, "helper channel: closed") != 0)
					log_warnx("parent channel: %s", err);
				draining = 1;
				continue;
			}
			if (type == HX_SESSION && nfds >= 1)
				priv_add(conf, args, fds, nfds);
			else {
				log_warnx("parent channel: unexpected %s",
				    hx_op_name(type) ? hx_op_name(type) : "?");
				while (nfds > 0)
					close(fds[--nfds]);
			}
			json_object_put(args);
		}
	}
	xo_close(priv_xo);
	_exit(0);
}

static void
priv_add(struct relocd_conf *conf, struct json_object *args, int *fds,
    int nfds)
{
	struct timeval tv = { PRIV_IO_TIMEOUT_S, 0 };
	struct priv_session *s;
	struct peer_ctx pc;
	const char *addr = proto_get_str(args, "addr");
	int i;

	for (i = 0; i < RELOCD_MAX_WORKERS; i++)
		if (priv_sessions[i] == NULL)
			break;
	if (i == RELOCD_MAX_WORKERS || (s = calloc(1, sizeof(*s))) == NULL) {
		/* Not reachable while the parent keeps its limit. */
		log_warnx("%s: no room for another session",
		    addr != NULL ? addr : "?");
		priv_drop(fds[0], nfds > 1 ? fds[1] : -1);
		return;
	}
	memset(&pc, 0, sizeof(pc));
	snprintf(pc.addr, sizeof(pc.addr), "%s", addr != NULL ? addr : "?");
	helper_init(&s->h, conf, fds[0], (int)proto_get_int(args, "port",
	    RQ_PEER), &pc);
	s->pidfd = nfds > 1 ? fds[1] : -1;
	setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	priv_sessions[i] = s;
}

/* One operation of one session, or its end. */
static void
priv_io(struct priv_session *s, int fd)
{
	const struct request *rq;
	struct json_object *args = NULL;
	char err[512];
	int fds[HX_MAX_FDS], nfds = 0, type, i;

	if (hx_recv(fd, &type, &args, fds, &nfds, err, sizeof(err)) == -1) {
		if (strcmp(err, "helper channel: closed") != 0) {
			log_warnx("%s: %s: ending its network process",
			    s->h.who, err);
			if (s->pidfd != -1)
				pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
		}
		priv_end(s);
		return;
	}
	if (type == HX_BEGIN && s->h.type == 0 &&
	    (rq = request_find((int)proto_get_int(args, "type", -1))) != NULL &&
	    !(rq->flags & RQ_SHARED)) {
		priv_fork(s, rq->type, type, args, fds, nfds);
		json_object_put(args);
		return;
	}
	s->h.xo = priv_xo;
	helper_handle(&s->h, type, args, fds, nfds);
	priv_xo = s->h.xo;
	s->h.xo = NULL;
	for (i = 0; i < nfds; i++)
		if (fds[i] != -1)
			close(fds[i]);
	json_object_put(args);
}

/*
 * A request that changes something: a helper of its own takes the
 * session over, begins it and serves it to its end.
 */
static void
priv_fork(struct priv_session *s, int rqtype, int type,
    struct json_object *args, int *fds, int nfds)
{
	struct timeval tv = { 0, 0 };
	pid_t pid;
	int i;

	/* libxl wants a child that does not exec to start from no ctx. */
	xo_close(priv_xo);
	priv_xo = NULL;
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		helper_error(&s->h, "busy", "cannot start a helper for "
		    "this request: %s", strerror(errno));
		break;
	case 0:
		close(priv_parent_fd);
		for (i = 0; i < RELOCD_MAX_WORKERS; i++)
			if (priv_helpers[i].pid != 0)
				close(priv_helpers[i].pidfd);
		for (i = 0; i < RELOCD_MAX_WORKERS; i++)
			if (priv_sessions[i] != NULL && priv_sessions[i] != s) {
				close(priv_sessions[i]->h.fd);
				if (priv_sessions[i]->pidfd != -1)
					close(priv_sessions[i]->pidfd);
			}
		log_procinit("helper");
		prctl(PR_SET_NAME, "relocd-helper");
		/* Its session takes as long as it takes. */
		setsockopt(s->h.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(s->h.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		helper_handle(&s->h, type, args, fds, nfds);
		for (i = 0; i < nfds; i++)
			if (fds[i] != -1)
				close(fds[i]);
		helper_run(&s->h, s->pidfd);
		_exit(0);
	default:
		log_debug("%s: helper %ld serves its %s request", s->h.who,
		    (long)pid, proto_type_name(rqtype));
		for (i = 0; i < RELOCD_MAX_WORKERS; i++)
			if (priv_helpers[i].pid == 0) {
				priv_helpers[i].pid = pid;
				priv_helpers[i].pidfd = s->pidfd;
				s->pidfd = -1;
				break;
			}
	}
	for (i = 0; i < nfds; i++)
		if (fds[i] != -1)
			close(fds[i]);
	priv_end(s);
}

/* A session leaves this process: ended, or handed to its helper. */
static void
priv_end(struct priv_session *s)
{
	int i;

	for (i = 0; i < RELOCD_MAX_WORKERS; i++)
		if (priv_sessions[i] == s)
			priv_sessions[i] = NULL;
	helper_dispose(&s->h);
	if (s->pidfd != -1)
		close(s->pidfd);
	free(s);
}

static void
priv_drop(int fd, int pidfd)
{
	close(fd);
	if (pidfd != -1)
		close(pidfd);
}

/*
 * The helpers forked here: how they ended, and their network processes
 * end with them (normally long gone by then: a helper ends after its
 * network process; after a crash, the network process would wait for an
 * answer that never comes, holding its peer's connection).
 */
static void
priv_reap(void)
{
	pid_t pid;
	int status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFSIGNALED(status))
			log_warnx("helper %ld terminated by signal %d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("helper %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
		for (i = 0; i < RELOCD_MAX_WORKERS; i++)
			if (priv_helpers[i].pid == pid) {
				if (priv_helpers[i].pidfd != -1) {
					pidfd_send_signal(priv_helpers[i].pidfd,
					    SIGKILL, NULL, 0);
					close(priv_helpers[i].pidfd);
				}
				priv_helpers[i].pid = 0;
			}
	}
}

static int
priv_nhelpers(void)
{
	int i, n = 0;

	for (i = 0; i < RELOCD_MAX_WORKERS; i++)
		if (priv_helpers[i].pid != 0)
			n++;
	return n;
}
