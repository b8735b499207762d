#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "leaseholder.h"
#include "log.h"

#define LHOLDER_IO_SECS		2	/* a client that stalls is dropped */
/* The client waits for a holder still starting: the socket exists before
 * its monitor has opened libxl and the lease. */
#define LHOLDER_ASK_SECS	15

static void	*lholder_run(void *);
static void	 lholder_serve(struct lholder *, int);
static void	 lholder_handle(struct lholder *, char *, char *, size_t);

static int
lholder_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
	    path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void
lholder_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int
lholder_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char dir[PATH_MAX], *slash;
	int fd = -1, dfd = -1, probe = -1, rc = -1, saved;

	if (lholder_addr(path, &sun) == -1) {
		snprintf(err, errlen, "%s: path too long for a socket", path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	/* Two spawners for one domain must not both find the socket stale
	 * and each unlink the other's: the check and the bind are one step
	 * under the directory's lock. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    flock(dfd, LOCK_EX) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "%s: a lease holder answers there "
		    "already", path);
		errno = EADDRINUSE;
		goto out;
	}
	if (errno == ECONNREFUSED && unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 8) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = fd;
	fd = -1;
out:
	saved = errno;
	if (probe != -1)
		close(probe);
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);	/* and its lock */
	errno = saved;
	return rc;
}

int
lholder_start(struct lholder *lh, int lfd, const char *path,
    const char *cluster_dir, const char *uuid, char *err, size_t errlen)
{
	int e;

	memset(lh, 0, sizeof(*lh));
	lh->lfd = lfd;
	lh->lease_fd = -1;
	snprintf(lh->path, sizeof(lh->path), "%s", path);
	/* A lease that cannot be opened is the answer to every "take",
	 * not a reason to stop watching the domain.  Without cluster_dir
	 * there is none: the socket only says the monitor is alive. */
	if (cluster_dir == NULL)
		snprintf(lh->err, sizeof(lh->err), "no cluster_dir: this "
		    "host keeps no leases");
	else if ((lh->lease_fd = lease_open(cluster_dir, uuid, lh->err,
	    sizeof(lh->err))) == -1)
		log_warnx("lease of %s: %s", uuid, lh->err);
	if ((e = pthread_mutex_init(&lh->mtx, NULL)) != 0 ||
	    (e = pthread_create(&lh->tid, NULL, lholder_run, lh)) != 0) {
		snprintf(err, errlen, "lease holder thread: %s", strerror(e));
		if (lh->lease_fd != -1)
			close(lh->lease_fd);
		lh->lease_fd = -1;
		return -1;
	}
	lh->running = 1;
	return 0;
}

int
lholder_moved(struct lholder *lh, const char *newpath)
{
	int rc = 0;

	pthread_mutex_lock(&lh->mtx);
	if (rename(lh->path, newpath) == -1) {
		log_warn("lease holder: %s to %s", lh->path, newpath);
		rc = -1;
	} else
		snprintf(lh->path, sizeof(lh->path), "%s", newpath);
	pthread_mutex_unlock(&lh->mtx);
	return rc;
}

void
lholder_stop(struct lholder *lh)
{
	if (!lh->running)
		return;
	/* Wakes the accept (Linux: EINVAL on a shut-down listener). */
	(void)shutdown(lh->lfd, SHUT_RDWR);
	pthread_join(lh->tid, NULL);
	lh->running = 0;
	(void)unlink(lh->path);
	close(lh->lfd);
	lh->lfd = -1;
	if (lh->lease_fd != -1)
		close(lh->lease_fd);	/* and the lock with it */
	lh->lease_fd = -1;
	lh->held = 0;
	pthread_mutex_destroy(&lh->mtx);
}

static void *
lholder_run(void *arg)
{
	struct lholder *lh = arg;
	int c;

	for (;;) {
		if ((c = accept4(lh->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* stopped */
		}
		lholder_serve(lh, c);
		close(c);
	}
	return NULL;
}

static void
lholder_serve(struct lholder *lh, int c)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	char req[512], reply[512];
	size_t off = 0;
	ssize_t n;
	char *nl = NULL;

	/* The directory is root's alone; this is the second lock. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
	    cr.uid != geteuid()) {
		log_warnx("lease holder %s: a request from uid %d refused",
		    lh->path, crlen == sizeof(cr) ? (int)cr.uid : -1);
		return;
	}
	lholder_timeouts(c, LHOLDER_IO_SECS);
	while (off < sizeof(req) - 1 &&
	    (n = read(c, req + off, sizeof(req) - 1 - off)) > 0) {
		off += (size_t)n;
		req[off] = '\0';
		if ((nl = strchr(req, '\n')) != NULL)
			break;
	}
	if (nl == NULL)
		return;	/* truncated, too long or stalled: no answer */
	*nl = '\0';
	lholder_handle(lh, req, reply, sizeof(reply));
	n = (ssize_t)strlen(reply);
	if (write(c, reply, (size_t)n) != n) {
		/* the client gave up; it learns nothing, and retries */
	}
}

static void
lholder_handle(struct lholder *lh, char *req, char *reply, size_t len)
{
	char who[300];

	pthread_mutex_lock(&lh->mtx);
	if (strncmp(req, "take ", 5) == 0 && req[5] != '\0') {
		if (lh->held)
			snprintf(reply, len, "ok\n");
		else if (lh->lease_fd == -1)
			snprintf(reply, len, "err the domain's lease cannot be "
			    "opened: %s\n", lh->err);
		else if (lease_acquire(lh->lease_fd, req + 5) == 0) {
			lh->held = 1;
			snprintf(reply, len, "ok\n");
		} else if (errno == EAGAIN) {
			lease_holder_text(lh->lease_fd, who, sizeof(who));
			snprintf(reply, len, "err the domain's lease is held "
			    "elsewhere (%s)\n", *who ? who : "holder unknown");
		} else
			snprintf(reply, len, "err the domain's lease: %s\n",
			    strerror(errno));
	} else if (strcmp(req, "give") == 0) {
		if (lh->held)
			lease_release(lh->lease_fd);
		lh->held = 0;
		snprintf(reply, len, "ok\n");
	} else if (strcmp(req, "held") == 0)
		snprintf(reply, len, "ok %s\n", lh->held ? "held" : "free");
	else
		snprintf(reply, len, "err unknown request\n");
	pthread_mutex_unlock(&lh->mtx);
}

int
lholder_ask(const char *path, const char *request, char *reply, size_t len)
{
	struct sockaddr_un sun;
	char buf[512], *nl;
	size_t off = 0;
	ssize_t n;
	int fd, saved;

	if (len > 0)
		*reply = '\0';
	if (lholder_addr(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	lholder_timeouts(fd, LHOLDER_ASK_SECS);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	n = snprintf(buf, sizeof(buf), "%s\n", request);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		goto fail;
	}
	if (write(fd, buf, (size_t)n) != n)
		goto fail;
	while (off < sizeof(buf) - 1 &&
	    (n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0) {
		off += (size_t)n;
		buf[off] = '\0';
		if (strchr(buf, '\n') != NULL)
			break;
	}
	buf[off] = '\0';
	if ((nl = strchr(buf, '\n')) == NULL) {
		/* EOF before an answer: the holder ended (its domain died,
		 * or it could not start); a timeout keeps read's errno. */
		if (n >= 0)
			errno = EPIPE;
		goto fail;
	}
	*nl = '\0';
	snprintf(reply, len, "%s", buf);
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
