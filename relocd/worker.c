/*
 * A session's network process.  The parent forks it for each accepted
 * connection; it becomes the unprivileged user and loads its seccomp
 * filter before it reads a byte, then serves the request.  Its helper
 * channel goes to relocd-priv (priv.c), which answers a request that only
 * reads and forks a helper of its own for any other.  The process at the
 * other end of the channel holds the only other end of it, so whatever
 * ends the network process (a bug, the filter, a kill) that end reads
 * as closed and what the session left half done is settled; the parent,
 * which reaps the network process, says how it ended.
 */
#include <sys/pidfd.h>
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
		    struct peer_ctx *, int) __attribute__((__noreturn__));
static int	worker_net_add(struct relocd *, pid_t, const char *);

/*
 * Everything but KEEP (and stdio) closes: the network process must not
 * hold what it inherited from the parent, above all libevent's signal
 * socketpair, through which a byte would read as a signal to the parent.
 * syslog's socket goes too; syslog(3) opens a new one when it needs it.
 */
void
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

	worker_child_signals();
	cancel_net_init();	/* before the filter: no sigaction after */
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

/*
 * The parent's signal handlers are libevent's, writing to a socketpair a
 * child must not touch: a child starts from the defaults.
 */
void
worker_child_signals(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
}

int
worker_spawn(struct relocd *env, int fd, int port, struct peer_ctx *pc,
    int status_fd)
{
	int sp[2], pidfd, e;
	pid_t net;

	if (env->sc_nworkers >= RELOCD_MAX_WORKERS) {
		log_warnx("refused %s: %d sessions already being served",
		    pc->addr, env->sc_nworkers);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		e = errno;
		if (e != EMFILE && e != ENFILE)
			log_warn("%s: socketpair", __func__);
		errno = e;
		return -1;
	}
	switch (net = fork()) {
	case -1:
		e = errno;
		log_warn("%s: fork", __func__);
		close(sp[0]);
		close(sp[1]);
		errno = e;
		return -1;
	case 0:
		close(sp[0]);
		worker_network(env, fd, sp[1], port, pc, status_fd);
		/* NOTREACHED */
	}
	close(sp[1]);
	env->sc_nworkers++;
	worker_net_add(env, net, pc->addr);
	/* Taken before this loop can reap it, so the descriptor names this
	 * process and no later one with its pid. */
	if ((pidfd = pidfd_open(net, 0)) == -1)
		log_warn("%s: pidfd_open", __func__);
	if (priv_session(env, sp[0], pidfd, port, pc) == -1)
		kill(net, SIGKILL);	/* it would wait for nobody */
	else
		log_debug("network process %ld: connection from %s",
		    (long)net, pc->addr);
	close(sp[0]);
	if (pidfd != -1)
		close(pidfd);
	return 0;
}

/* The network processes, to say how each ended when it is reaped. */
static int
worker_net_add(struct relocd *env, pid_t pid, const char *who)
{
	int i;

	for (i = 0; i < RELOCD_MAX_WORKERS; i++)
		if (env->sc_net[i].pid == 0) {
			env->sc_net[i].pid = pid;
			snprintf(env->sc_net[i].who, sizeof(env->sc_net[i].who),
			    "%s", who);
			return 0;
		}
	/* Not reachable: each has a helper, and helpers are limited. */
	return -1;
}

void
worker_reap(struct relocd *env)
{
	pid_t pid;
	int status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == env->sc_priv_pid) {
			priv_ended(env, status);
			continue;
		}
		for (i = 0; i < RELOCD_MAX_WORKERS; i++)
			if (env->sc_net[i].pid == pid)
				break;
		if (i == RELOCD_MAX_WORKERS) {
			if (pid == env->sc_sweep_pid)
				env->sc_sweep_pid = -1;
			if (WIFSIGNALED(status))
				log_warnx("child %ld terminated by signal %d",
				    (long)pid, WTERMSIG(status));
			else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_warnx("child %ld exited with status %d",
				    (long)pid, WEXITSTATUS(status));
			continue;
		}
		env->sc_net[i].pid = 0;
		env->sc_nworkers--;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
			log_warnx("%s: network process %ld killed by its "
			    "seccomp filter (SIGSYS): it made a system call "
			    "outside its allow-list", env->sc_net[i].who,
			    (long)pid);
		else if (WIFSIGNALED(status))
			log_warnx("%s: network process %ld killed by signal %d",
			    env->sc_net[i].who, (long)pid, WTERMSIG(status));
	}
}

/*
 * The network processes' own fault points (the disk copy's) in the sim
 * backend's RELOCD_SIM_FAULT, "POINT=ACTION[:ARG]": what follows the
 * '=' of POINT, or NULL if it is not set or this is not a sim host
 * (the tests' hosts are).
 */
static const char *
worker_sim_fault(const struct relocd_conf *conf, const char *point)
{
	const char *env = getenv("RELOCD_SIM_FAULT"), *p;
	size_t n = strlen(point);

	if (conf->backend != BACKEND_SIM || env == NULL)
		return NULL;
	for (p = env; (p = strstr(p, point)) != NULL; p += n)
		if ((p == env || p[-1] == ',') && p[n] == '=')
			return p + n + 1;
	return NULL;
}

/* "POINT=corrupt": 1 if set. */
int
worker_sim_corrupt(const struct relocd_conf *conf, const char *point)
{
	const char *f = worker_sim_fault(conf, point);

	return f != NULL && strncmp(f, "corrupt", 7) == 0;
}

/* "POINT=hang[:SECONDS]": the seconds to hold there (60 without a
 * number, at most 3600, as the sim backend's hang), 0 if not set. */
unsigned
worker_sim_hang(const struct relocd_conf *conf, const char *point)
{
	const char *f = worker_sim_fault(conf, point);
	unsigned secs;

	if (f == NULL || strncmp(f, "hang", 4) != 0)
		return 0;
	secs = f[4] == ':' ? (unsigned)atoi(f + 5) : 60;
	return secs > 3600 ? 3600 : secs;
}
