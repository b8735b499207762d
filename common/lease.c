#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domcfg.h"
#include "lease.h"

static int
lease_path(const char *cluster_dir, const char *uuid, char *buf, size_t len,
    char *err, size_t errlen)
{
	if (!domcfg_uuid_valid(uuid)) {
		snprintf(err, errlen, "'%s' is not a UUID", uuid);
		return -1;
	}
	if ((size_t)snprintf(buf, len, "%s/leases/%s", cluster_dir, uuid) >=
	    len) {
		snprintf(err, errlen, "%s/leases: path too long", cluster_dir);
		return -1;
	}
	return 0;
}

int
lease_open(const char *cluster_dir, const char *uuid, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if (lease_path(cluster_dir, uuid, path, sizeof(path), err,
	    errlen) == -1)
		return -1;
	*strrchr(path, '/') = '\0';
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	path[strlen(path)] = '/';
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

static void
lease_flock(struct flock *fl, short type)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = 0;
	fl->l_len = 0;		/* the whole file, however long */
}

int
lease_acquire(int fd, const char *holder)
{
	struct flock fl;
	char buf[320], when[32];
	struct tm tm;
	time_t now;
	int n;

	lease_flock(&fl, F_WRLCK);
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		if (errno == EACCES)
			errno = EAGAIN;
		return -1;
	}
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	n = snprintf(buf, sizeof(buf), "%s pid %d since %s\n", holder,
	    (int)getpid(), when);
	if (n > 0 && (size_t)n < sizeof(buf)) {
		/* Text for messages only; a short write costs nothing but
		 * a less helpful refusal. */
		if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, n, 0) == n) {
		}
	}
	return 0;
}

void
lease_release(int fd)
{
	struct flock fl;

	lease_flock(&fl, F_UNLCK);
	(void)fcntl(fd, F_OFD_SETLK, &fl);
}

void
lease_holder_text(int fd, char *buf, size_t len)
{
	ssize_t n;
	char *nl;

	if (len == 0)
		return;
	n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
}

int
lease_probe(const char *cluster_dir, const char *uuid, struct lease_info *li,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct flock fl;
	int fd;

	memset(li, 0, sizeof(*li));
	if (lease_path(cluster_dir, uuid, path, sizeof(path), err,
	    errlen) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;	/* never taken: free */
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	lease_flock(&fl, F_WRLCK);
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	li->held = fl.l_type != F_UNLCK;
	lease_holder_text(fd, li->holder, sizeof(li->holder));
	close(fd);
	return 0;
}
