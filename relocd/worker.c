/*
 * A session's processes.  The parent forks the root helper; the helper
 * forks the network process, which becomes the unprivileged user and
 * loads its seccomp filter before it reads a byte, then serves the
 * request.  The helper waits on the socketpair between them and outlives
 * its child, so whatever ends the network process (a bug, the filter, a
 * kill) the helper sees it and settles what the session left half done.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <syslog.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relocd.h"

static void	worker_network(struct relocd *, int, int, int,
		    struct peer_ctx *, int);
static void	worker_close_others(const int *, int);

/*
 * Everything but KEEP (and stdio) closes: the network process must not
 * hold what it inherited from the parent, above all libevent's signal
 * socketpair, through which a byte would read as a signal to the parent.
 * syslog's socket goes too; syslog(3) opens a new one when it needs it.
 */
static void
worker_close_others(const int *keep, int n)
{
	int sorted[8], i, j, t, from = 3;

	for (i = 0; i < n && i < 8; i++)
		sorted[i] = keep[i];
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (sorted[i] < from)
			continue;
		if (sorted[i] > from)
			close_range((unsigned)from, (unsigned)sorted[i] - 1, 0);
		from = sorted[i] + 1;
	}
	close_range((unsigned)from, ~0U, 0);
}

/* The network process: never returns. */
static void
worker_network(struct relocd *env, int fd, int hxfd, int port,
    struct peer_ctx *pc, int status_fd)
{
	struct worker w;
	char err[512];
	int keep[3] = { fd, hxfd, status_fd };

	log_procinit(port == RQ_PEER ? "peer" : "control");
	prctl(PR_SET_NAME, port == RQ_PEER ? "relocd-peer" : "relocd-ctl");
	closelog();
	worker_close_others(keep, status_fd != -1 ? 3 : 2);
	if (privsep_drop(env->sc_uid, env->sc_gid, err, sizeof(err)) == -1) {
		log_warnx("network process: %s", err);
		_exit(1);
	}
	memset(&w, 0, sizeof(w));
	w.conf = &env->sc_conf;
	w.tls = env->sc_tls;
	w.port = port;
	w.peer = *pc;
	w.hx.fd = hxfd;
	ioc_init(&w.ioc, fd, env->sc_conf.io_timeout * 1000);
	engine_serve(&w, status_fd);
	ioc_shutdown(&w.ioc);
	_exit(0);
}

void
worker_spawn(struct relocd *env, int fd, int port, struct peer_ctx *pc,
    int status_fd)
{
	int sp[2];
	pid_t pid, child;

	if (env->sc_nworkers >= RELOCD_MAX_WORKERS) {
		log_warnx("refused %s: %d sessions already being served",
		    pc->addr, env->sc_nworkers);
		return;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		return;
	case 0:
		break;
	default:
		env->sc_nworkers++;
		log_debug("session %ld: connection from %s", (long)pid,
		    pc->addr);
		return;
	}

	/* The helper: the event loop is the parent's, never touched here
	 * (its epoll set is shared); the listeners are closed so a
	 * restarted relocd can bind again while this session runs on. */
	close(env->sc_tcp_fd);
	close(env->sc_ctl_fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	log_procinit("helper");
	prctl(PR_SET_NAME, "relocd-helper");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", __func__);
		_exit(1);
	}
	switch (child = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		_exit(1);
	case 0:
		close(sp[0]);
		worker_network(env, fd, sp[1], port, pc, status_fd);
		/* NOTREACHED */
	}
	close(sp[1]);
	close(fd);
	if (status_fd != -1)
		close(status_fd);
	helper_serve(&env->sc_conf, sp[0], port, pc, child);
	_exit(0);
}

void
worker_reap(struct relocd *env)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		env->sc_nworkers--;
		if (WIFSIGNALED(status))
			log_warnx("session %ld terminated by signal %d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("session %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
	}
}
