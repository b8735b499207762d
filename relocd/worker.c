#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relocd.h"

void
worker_spawn(struct relocd *env, struct session *s, struct peer_ctx *pc)
{
	struct iochan ioc;
	pid_t pid;

	if (env->sc_nworkers >= RELOCD_MAX_WORKERS) {
		log_warnx("refused %s: %d sessions already being served",
		    s->s_addr, env->sc_nworkers);
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
		log_debug("worker %ld serves %s", (long)pid, s->s_addr);
		return;
	}

	/* The worker: the event loop is the parent's, never touched here
	 * (its epoll set is shared); the listeners are closed so a restarted
	 * relocd can bind again while this session runs on. */
	close(env->sc_tcp_fd);
	close(env->sc_ctl_fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	log_procinit(s->s_ssl != NULL ? "peer" : "control");
	prctl(PR_SET_NAME, s->s_ssl != NULL ? "relocd-peer" : "relocd-ctl");

	ioc_init_tls(&ioc, s->s_fd, s->s_ssl, env->sc_conf.io_timeout * 1000);
	if (s->s_ssl != NULL)
		serve_peer(&env->sc_conf, &ioc, pc);
	else
		serve_control(&env->sc_conf, env->sc_tls, &ioc, pc);
	ioc_shutdown(&ioc);
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
			log_warnx("worker %ld terminated by signal %d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("worker %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
	}
}

/*
 * Slots are lock files: the kernel drops a lock when its holder exits,
 * however it exits, so the count never leaks, and workers that outlive
 * a restarted parent still count.
 */
int
worker_migration_slot(struct relocd_conf *conf, char *err, size_t errlen)
{
	char path[4096];
	int i, fd;

	for (i = 0; i < conf->max_migrations; i++) {
		snprintf(path, sizeof(path), "%s/slots/%d", conf->state_dir, i);
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
		    -1) {
			snprintf(err, errlen, "migration slot %s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;	/* held until this worker exits */
		close(fd);
	}
	snprintf(err, errlen, "busy: %d migrations already in progress "
	    "(max_migrations = %d)", conf->max_migrations,
	    conf->max_migrations);
	return -1;
}
