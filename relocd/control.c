#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relocd.h"

static void	control_accept(evutil_socket_t, short, void *);
static int	control_in_use(const char *);

/* A live relocd answers on its socket; a stale file from a crash does not. */
static int
control_in_use(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return r == 0;
}

int
control_open(struct relocd *env, char *err, size_t errlen)
{
	struct relocd_conf *conf = &env->sc_conf;
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)];
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    conf->control_socket) >= (int)sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s:%d: control_socket: path too long",
		    conf->path, conf->line_control_socket);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", conf->control_socket);
	if (mkdir(dirname(dir), 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s:%d: control_socket \"%s\": cannot "
		    "create its directory: %s", conf->path,
		    conf->line_control_socket, conf->control_socket,
		    strerror(errno));
		return -1;
	}
	if (control_in_use(conf->control_socket)) {
		snprintf(err, errlen, "control socket %s is in use: is "
		    "another relocd running with this configuration?",
		    conf->control_socket);
		return -1;
	}
	unlink(conf->control_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	/* Created 0660 from the start: no window where others may connect. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "control socket %s: %s",
		    conf->control_socket, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(conf->control_socket, 0660) == -1 ||
	    listen(fd, 32) == -1) {
		snprintf(err, errlen, "control socket %s: %s",
		    conf->control_socket, strerror(errno));
		close(fd);
		return -1;
	}
	env->sc_ctl_fd = fd;
	env->sc_ctl_ev = event_new(env->sc_evb, fd, EV_READ | EV_PERSIST,
	    control_accept, env);
	event_add(env->sc_ctl_ev, NULL);
	return 0;
}

void
control_close(struct relocd *env)
{
	if (env->sc_ctl_ev != NULL)
		event_free(env->sc_ctl_ev);
	if (env->sc_ctl_fd != -1) {
		close(env->sc_ctl_fd);
		unlink(env->sc_conf.control_socket);
	}
	env->sc_ctl_ev = NULL;
	env->sc_ctl_fd = -1;
}

static void
control_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct relocd *env = arg;
	struct peer_ctx pc;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	memset(&pc, 0, sizeof(pc));
	pc.local = 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		pc.uid = cred.uid;
		snprintf(pc.addr, sizeof(pc.addr), "uid %u pid %ld",
		    (unsigned)cred.uid, (long)cred.pid);
	} else
		snprintf(pc.addr, sizeof(pc.addr), "uid ?");
	if (worker_spawn(env, fd, RQ_CONTROL, &pc, -1) == -1 &&
	    (errno == EMFILE || errno == ENFILE))
		log_warn("control: refused %s", pc.addr);
	close(fd);
}
