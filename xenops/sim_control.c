/*
 * Guest control for the sim backend: the guest processes (start, state,
 * commands over ctl.sock, kill) and the domain operations built on them:
 * list, info, create, rename, destroy, pause, unpause, resume, and the
 * RELOCD_SIM_FAULT fault points.  The guest process itself is
 * simguest.c.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <linux/fs.h>

#include <json-c/json.h>

#include "clock.h"
#include "diskcopy.h"
#include "domcfg.h"
#include "lease.h"
#include "log.h"
#include "sim_impl.h"

#define SIM_DESTROY_WAIT_MS	5000

struct sim_procstat {
	char		 state;
	uint64_t	 utime, stime;	/* clock ticks */
	uint64_t	 starttime;
};

static int	sim_proc_stat(pid_t, struct sim_procstat *);
static int	sim_disk_open(const char *);
static int	sim_pid_alive(pid_t, uint64_t);
static int	sim_ctl_addr(struct xo_ctx *, uint32_t, struct sockaddr_un *,
		    int *);
static int	sim_guest_wait(struct xo_ctx *, int, struct sim_guest_status *);
static int	sim_uuid_new(struct xo_ctx *, struct json_object *,
		    struct sim_domcfg *);

/* -- guest processes ---------------------------------------------------- */

/* -1 if the process is gone. */
static int
sim_proc_stat(pid_t pid, struct sim_procstat *ps)
{
	char path[64], buf[1024], *p, *tok, *save;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold anything, even ") ": fields follow the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	memset(ps, 0, sizeof(*ps));
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok != NULL;
	    field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3)
			ps->state = tok[0];
		else if (field == 14)
			ps->utime = strtoull(tok, NULL, 10);
		else if (field == 15)
			ps->stime = strtoull(tok, NULL, 10);
		else if (field == 22) {
			ps->starttime = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -1;
}

/* 0 and *pid = 0 if there is no guest process (yet). */
int
sim_pid_read(struct sim_host *h, uint32_t domid, pid_t *pid, uint64_t *start)
{
	char path[PATH_MAX];
	char *buf = NULL;
	unsigned long long st;
	int p;

	*pid = 0;
	*start = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%u/pid", h->domdir,
	    domid) >= sizeof(path))
		return -1;
	if (sim_file_read(path, &buf, NULL, 64) == -1)
		return errno == ENOENT ? 0 : -1;
	if (sscanf(buf, "%d %llu", &p, &st) != 2 || p <= 1) {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	free(buf);
	*pid = p;
	*start = st;
	return 0;
}

/* Same process as recorded, and not a zombie nobody reaped. */
static int
sim_pid_alive(pid_t pid, uint64_t start)
{
	struct sim_procstat ps;

	if (pid <= 1 || sim_proc_stat(pid, &ps) == -1)
		return 0;
	if (ps.starttime != start)
		return 0;
	return ps.state != 'Z' && ps.state != 'X';
}

int
sim_pid_kill(struct xo_ctx *ctx, pid_t pid, uint64_t start)
{
	int waited;

	if (!sim_pid_alive(pid, start))
		return 0;
	if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
		return xo_fail(ctx, XO_E_FAIL, "kill guest %d: %s", (int)pid,
		    strerror(errno));
	for (waited = 0; waited < SIM_DESTROY_WAIT_MS; waited += 10) {
		if (!sim_pid_alive(pid, start))
			return 0;
		usleep(10000);
	}
	return xo_fail(ctx, XO_E_FAIL, "guest process %d did not die within "
	    "%d s of SIGKILL", (int)pid, SIM_DESTROY_WAIT_MS / 1000);
}

int
sim_shared_read(struct sim_host *h, uint32_t domid, struct sim_shared *sh)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%u/shared", h->domdir,
	    domid) >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = pread(fd, sh, sizeof(*sh), 0);
	close(fd);
	if (n != (ssize_t)sizeof(*sh) || sh->magic != SIM_SHARED_MAGIC) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * The guest owns its run state; the backend only adds what the guest
 * cannot say: that it is gone.  A domain without a guest process yet is
 * being restored, and shows as paused, as libxl's restoring domain does.
 */
int
sim_dom_state(struct xo_ctx *ctx, uint32_t domid, enum xo_state *st,
    double *cpu)
{
	struct sim_host *h = ctx->priv;
	struct sim_shared sh;
	struct sim_procstat ps;
	uint64_t start;
	pid_t pid;

	*st = XO_PAUSED;
	if (cpu != NULL)
		*cpu = 0;
	if (sim_shared_read(h, domid, &sh) == -1) {
		if (errno == ENOENT)
			return xo_fail(ctx, XO_E_NOTFOUND,
			    "domain %u does not exist", domid);
		return xo_fail(ctx, XO_E_FAIL, "domain %u: shared state: %s",
		    domid, strerror(errno));
	}
	if (sim_pid_read(h, domid, &pid, &start) == -1)
		return xo_fail(ctx, XO_E_FAIL, "domain %u: pid file: %s",
		    domid, strerror(errno));
	if (pid != 0 && !sim_pid_alive(pid, start)) {
		*st = XO_CRASHED;
		return 0;
	}
	if (pid != 0 && cpu != NULL && sim_proc_stat(pid, &ps) == 0)
		*cpu = (double)(ps.utime + ps.stime) / sysconf(_SC_CLK_TCK);
	switch (__atomic_load_n(&sh.state, __ATOMIC_ACQUIRE)) {
	case SIM_ST_RUNNING:
		*st = XO_RUNNING;
		break;
	case SIM_ST_SUSPENDED:
		*st = XO_SUSPENDED;
		break;
	default:
		*st = XO_PAUSED;
		break;
	}
	return 0;
}

/* sun_path is 108 bytes; a deep state_dir goes through /proc instead. */
static int
sim_ctl_addr(struct xo_ctx *ctx, uint32_t domid, struct sockaddr_un *sun,
    int *dirfd_r)
{
	struct sim_host *h = ctx->priv;
	char dir[PATH_MAX];
	int rc;

	*dirfd_r = -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		return rc;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path),
	    "%s/ctl.sock", dir) < sizeof(sun->sun_path))
		return 0;
	if ((*dirfd_r = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return xo_fail(ctx, XO_E_FAIL, "%s: %s", dir, strerror(errno));
	snprintf(sun->sun_path, sizeof(sun->sun_path),
	    "/proc/self/fd/%d/ctl.sock", *dirfd_r);
	return 0;
}

/*
 * One command, one reply line.  The guest answers after the action is
 * done, so on success the guest is in the state asked for.
 */
int
sim_guest_cmd(struct xo_ctx *ctx, uint32_t domid, const char *cmd,
    const char *expect, int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct sockaddr_un sun;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	struct pollfd pfd;
	char line[80], reply[512];
	uint64_t deadline, now;
	size_t len = 0, i, nrecv;
	ssize_t n;
	int fd = -1, dfd = -1, got = 0, rc;
	int rfds[4];
	char *nl;

	for (i = 0; i < (size_t)nfds; i++)
		fds[i] = -1;

	if ((rc = sim_ctl_addr(ctx, domid, &sun, &dfd)) != 0)
		goto out;
	deadline = clock_mono_us() + SIM_CMD_TIMEOUT_MS * 1000ULL;
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			rc = xo_fail(ctx, XO_E_FAIL, "socket: %s",
			    strerror(errno));
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		/* A full backlog is the only thing worth waiting for. */
		if ((errno != EAGAIN && errno != EINTR) ||
		    clock_mono_us() >= deadline) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %u: cannot reach "
			    "the guest to '%s': %s", domid, cmd,
			    strerror(errno));
			goto out;
		}
		close(fd);
		fd = -1;
		usleep(10000);
	}
	snprintf(line, sizeof(line), "%s\n", cmd);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(line)) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: sending '%s' to the "
		    "guest: %s", domid, cmd, strerror(errno));
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((nl = memchr(reply, '\n', len)) == NULL) {
		now = clock_mono_us();
		if (now >= deadline || len == sizeof(reply)) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest did "
			    "not answer '%s' within %d s", domid, cmd,
			    SIM_CMD_TIMEOUT_MS / 1000);
			goto out;
		}
		if (poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) ==
		    -1 && errno != EINTR) {
			rc = xo_fail(ctx, XO_E_FAIL, "poll: %s",
			    strerror(errno));
			goto out;
		}
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = reply + len;
		iov.iov_len = sizeof(reply) - len;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level != SOL_SOCKET ||
			    cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			nrecv = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(rfds, CMSG_DATA(cmsg), nrecv * sizeof(int));
			/* Keep what was asked for, never leak the rest. */
			for (i = 0; i < nrecv; i++) {
				if (got < nfds)
					fds[got++] = rfds[i];
				else
					close(rfds[i]);
			}
		}
		if (n <= 0) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest "
			    "closed its control connection without "
			    "answering '%s'", domid, cmd);
			goto out;
		}
		len += n;
	}
	*nl = '\0';
	if (strcmp(reply, expect) != 0) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u: the guest refused "
		    "'%s': %s", domid, cmd, reply);
		goto out;
	}
	if (got != nfds) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest sent %d "
		    "fds for '%s', not %d", domid, got, cmd, nfds);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		for (i = 0; i < (size_t)got; i++) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/*
 * Start the guest process of domid: everything that can fail is set up
 * here first (socket, pty, log), so its errors come back as messages.
 * Double fork and setsid: the guest belongs to no relocd process, is
 * never a SIGCHLD of the worker, and survives relocd restarts.
 */
int
sim_guest_start(struct xo_ctx *ctx, uint32_t domid,
    const struct sim_domcfg *dc, int restored, const struct sim_vcpu *vcpu,
    int memfd, int dirtyfd, int *log_created)
{
	struct sim_host *h = ctx->priv;
	struct sim_guest_args a;
	struct sim_guest_status gs;
	struct sim_procstat ps;
	struct sockaddr_un sun;
	struct termios tio;
	char dir[PATH_MAX], path[PATH_MAX], pts[128], line[160];
	int pfd[2] = { -1, -1 };
	int sunfd = -1, status, rc;
	uint64_t gstart = 0;
	pid_t mid;

	memset(&a, 0, sizeof(a));
	a.dir_fd = a.ctl_fd = a.pty_fd = a.slave_fd = a.log_fd = -1;
	a.mem_fd = a.dirty_fd = a.shared_fd = a.status_fd = -1;
	a.lease_fd = a.disk_fd = a.disk_dirty_fd = -1;
	a.domid = domid;
	a.nr_pages = dc->nr_pages;
	a.tick_ms = dc->tick_ms;
	a.dirty_rate = dc->dirty_rate;
	a.restored = restored;
	a.vcpu = *vcpu;
	a.mem_fd = memfd;
	a.dirty_fd = dirtyfd;
	a.disk_scribble = dc->disk_scribble;
	*log_created = 0;

	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		goto out;
	if ((a.dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((a.shared_fd = openat(a.dir_fd, "shared", O_RDWR | O_CLOEXEC)) ==
	    -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", dir, strerror(errno));
		goto out;
	}

	if ((rc = sim_ctl_addr(ctx, domid, &sun, &sunfd)) != 0)
		goto out;
	if ((a.ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "socket: %s", strerror(errno));
		goto out;
	}
	unlinkat(a.dir_fd, "ctl.sock", 0);
	if (bind(a.ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(a.ctl_fd, 8) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s/ctl.sock: %s", dir,
		    strerror(errno));
		goto out;
	}

	/* The console: the guest holds the master; a viewer opens the
	 * slave.  Raw and without echo, or the guest's own output would
	 * come back to it as input. */
	if ((a.pty_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    grantpt(a.pty_fd) == -1 || unlockpt(a.pty_fd) == -1 ||
	    ptsname_r(a.pty_fd, pts, sizeof(pts)) != 0) {
		rc = xo_fail(ctx, XO_E_FAIL, "pty: %s", strerror(errno));
		goto out;
	}
	if ((a.slave_fd = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    tcgetattr(a.slave_fd, &tio) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", pts, strerror(errno));
		goto out;
	}
	cfmakeraw(&tio);
	if (tcsetattr(a.slave_fd, TCSANOW, &tio) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", pts, strerror(errno));
		goto out;
	}
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/console", dir)) != 0)
		goto out;
	snprintf(line, sizeof(line), "%s\n", pts);
	if (sim_file_write(path, line, strlen(line)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%s.log", h->condir,
	    dc->name)) != 0)
		goto out;
	a.log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (a.log_fd != -1)
		*log_created = 1;
	else if (errno == EEXIST)
		a.log_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (a.log_fd == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}

	if (*dc->disk != '\0' && (a.disk_fd = sim_disk_open(dc->disk)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %s: disk %s: %s",
		    dc->name, dc->disk, strerror(errno));
		goto out;
	}
	/* The guest marks what it writes there from its first write on,
	 * for a live copy to take (sim_disk_dirty). */
	if (a.disk_fd != -1) {
		struct stat dst;
		size_t words;

		if (fstat(a.disk_fd, &dst) == -1) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %s: disk %s: %s",
			    dc->name, dc->disk, strerror(errno));
			goto out;
		}
		a.disk_size = (uint64_t)dst.st_size;
		if (S_ISBLK(dst.st_mode) && ioctl(a.disk_fd, BLKGETSIZE64,
		    &a.disk_size) == -1) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %s: disk %s: %s",
			    dc->name, dc->disk, strerror(errno));
			goto out;
		}
		words = diskcopy_dirty_words(a.disk_size);
		if ((rc = sim_memfd(ctx, domid, "diskdirty", (words ? words :
		    1) * 8, &a.disk_dirty_fd)) != 0)
			goto out;
	}
	/* The guest takes and gives up the lease itself (simguest.c): it
	 * is the process that lives as long as the domain can write. */
	if (h->cluster_dir != NULL && *dc->uuid != '\0') {
		char lerr[256];

		if ((a.lease_fd = lease_open(h->cluster_dir, dc->uuid, lerr,
		    sizeof(lerr))) == -1) {
			rc = xo_fail(ctx, XO_E_FAIL, "domain %s: lease: %s",
			    dc->name, lerr);
			goto out;
		}
		snprintf(a.lease_holder, sizeof(a.lease_holder),
		    "%s domain %.*s (id %u)", h->hostname,
		    (int)domcfg_base_len(dc->name), dc->name, domid);
	}

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "pipe: %s", strerror(errno));
		goto out;
	}
	a.status_fd = pfd[1];
	if ((mid = fork()) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "fork: %s", strerror(errno));
		goto out;
	}
	if (mid == 0) {
		close(pfd[0]);
		if (setsid() == -1)
			_exit(1);
		switch (fork()) {
		case -1:
			_exit(1);
		case 0:
			sim_guest_main(&a);
		default:
			_exit(0);
		}
	}
	close(pfd[1]);
	pfd[1] = a.status_fd = -1;
	/* ECHILD: a SIGCHLD handler of the caller reaped it first. */
	while (waitpid(mid, &status, 0) == -1 && errno == EINTR)
		;
	if ((rc = sim_guest_wait(ctx, pfd[0], &gs)) != 0)
		goto out;
	if (sim_proc_stat(gs.pid, &ps) == -1 || ps.state == 'Z') {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest process "
		    "died as it started", domid);
		goto out;
	}
	gstart = ps.starttime;
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/pid", dir)) != 0)
		goto out;
	snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)gs.pid,
	    gstart);
	if (sim_file_write(path, line, strlen(line)) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && gstart != 0) {
		char keep[sizeof(ctx->err)];

		/* ctx->err keeps the first failure. */
		memcpy(keep, ctx->err, sizeof(keep));
		(void)sim_pid_kill(ctx, gs.pid, gstart);
		memcpy(ctx->err, keep, sizeof(keep));
	}
	if (rc != 0 && *log_created) {
		if (sim_path(ctx, path, sizeof(path), "%s/%s.log", h->condir,
		    dc->name) == 0)
			unlink(path);
		*log_created = 0;
	}
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (sunfd != -1)
		close(sunfd);
	if (a.dir_fd != -1)
		close(a.dir_fd);
	if (a.ctl_fd != -1)
		close(a.ctl_fd);
	if (a.pty_fd != -1)
		close(a.pty_fd);
	if (a.slave_fd != -1)
		close(a.slave_fd);
	if (a.log_fd != -1)
		close(a.log_fd);
	if (a.shared_fd != -1)
		close(a.shared_fd);
	if (a.lease_fd != -1)
		close(a.lease_fd);
	if (a.disk_fd != -1)
		close(a.disk_fd);
	if (a.disk_dirty_fd != -1)
		close(a.disk_dirty_fd);
	return rc;
}

/* The guest's start report, or why there is none. */
static int
sim_guest_wait(struct xo_ctx *ctx, int fd, struct sim_guest_status *gs)
{
	struct pollfd pfd;
	uint64_t deadline, now;
	size_t got = 0;
	ssize_t n;

	memset(gs, 0, sizeof(*gs));
	pfd.fd = fd;
	pfd.events = POLLIN;
	deadline = clock_mono_us() + SIM_CMD_TIMEOUT_MS * 1000ULL;
	while (got < sizeof(*gs)) {
		now = clock_mono_us();
		if (now >= deadline)
			return xo_fail(ctx, XO_E_FAIL, "the guest process did "
			    "not report within %d s",
			    SIM_CMD_TIMEOUT_MS / 1000);
		if (poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) ==
		    -1 && errno != EINTR)
			return xo_fail(ctx, XO_E_FAIL, "poll: %s",
			    strerror(errno));
		n = read(fd, (char *)gs + got, sizeof(*gs) - got);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return xo_fail(ctx, XO_E_FAIL, "the guest process "
			    "exited while starting");
		got += n;
	}
	gs->msg[sizeof(gs->msg) - 1] = '\0';
	if (gs->error != 0)
		return xo_fail(ctx, XO_E_FAIL, "%s", gs->msg);
	return 0;
}

/* -- list, info, config ------------------------------------------------- */

int
sim_list(struct xo_ctx *ctx, struct xo_dominfo **doms_r, size_t *n_r)
{
	struct sim_dom *doms = NULL;
	struct xo_dominfo *out = NULL;
	size_t n = 0, i, k = 0;
	int rc;

	if ((rc = sim_table_scan(ctx, &doms, &n)) != 0)
		goto out;
	if ((out = calloc(n ? n : 1, sizeof(*out))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct xo_dominfo *di = &out[k];

		rc = sim_dom_state(ctx, doms[i].domid, &di->state,
		    &di->cpu_time);
		if (rc == XO_E_NOTFOUND)
			continue;	/* destroyed meanwhile */
		if (rc != 0)
			goto out;
		di->domid = doms[i].domid;
		snprintf(di->name, sizeof(di->name), "%s", doms[i].cfg.name);
		snprintf(di->uuid, sizeof(di->uuid), "%s", doms[i].cfg.uuid);
		di->memory_kb = doms[i].cfg.memory_kb;
		di->vcpus = doms[i].cfg.vcpus;
		di->weight = doms[i].cfg.weight;
		k++;
	}
	*doms_r = out;
	out = NULL;
	*n_r = k;
	rc = 0;
out:
	free(out);
	free(doms);
	return rc;
}

int
sim_info(struct xo_ctx *ctx, uint32_t domid, struct xo_dominfo *di)
{
	struct json_object *cfg = NULL;
	struct sim_domcfg dc;
	int rc;

	memset(di, 0, sizeof(*di));
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0 ||
	    (rc = sim_cfg_parse(ctx, cfg, &dc)) != 0 ||
	    (rc = sim_dom_state(ctx, domid, &di->state, &di->cpu_time)) != 0)
		goto out;
	di->domid = domid;
	snprintf(di->name, sizeof(di->name), "%s", dc.name);
	snprintf(di->uuid, sizeof(di->uuid), "%s", dc.uuid);
	di->memory_kb = dc.memory_kb;
	di->vcpus = dc.vcpus;
	di->weight = dc.weight;
	rc = 0;
out:
	json_object_put(cfg);
	return rc;
}

int
sim_config_get(struct xo_ctx *ctx, uint32_t domid, struct json_object **cfg)
{
	return sim_cfg_load(ctx, domid, cfg);
}

int
sim_console_path(struct xo_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
	struct sim_host *h = ctx->priv;
	char path[PATH_MAX];
	char *s = NULL;
	int rc;

	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%u/console",
	    h->domdir, domid)) != 0)
		goto out;
	if (sim_file_read(path, &s, NULL, 256) == -1) {
		if (errno == ENOENT)
			rc = xo_fail(ctx, XO_E_NOTFOUND, "domain %u has no "
			    "console (it does not exist or is being "
			    "restored)", domid);
		else
			rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	s[strcspn(s, "\n")] = '\0';
	if ((size_t)snprintf(buf, len, "%s", s) >= len) {
		rc = xo_fail(ctx, XO_E_FAIL, "console path too long");
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

/* -- create, rename, destroy, run control ------------------------------- */

static int
sim_uuid_new(struct xo_ctx *ctx, struct json_object *cfg,
    struct sim_domcfg *dc)
{
	struct json_object *ci;
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return xo_fail(ctx, XO_E_FAIL, "getrandom: %s",
		    strerror(errno));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(dc->uuid, sizeof(dc->uuid), "%02x%02x%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
	if (!json_object_object_get_ex(cfg, "c_info", &ci) ||
	    json_object_object_add(ci, "uuid",
	    json_object_new_string(dc->uuid)) != 0)
		return xo_fail(ctx, XO_E_FAIL, "domain %s: cannot set its "
		    "uuid", dc->name);
	return 0;
}

int
sim_create(struct xo_ctx *ctx, struct json_object *cfg, uint32_t *domid_r)
{
	struct sim_host *h = ctx->priv;
	struct sim_domcfg dc;
	struct sim_vcpu vcpu;
	uint32_t domid = 0;
	int lockfd = -1, memfd = -1, dirtyfd = -1, made = 0, log_created = 0;
	int rc;
	pid_t pid;
	uint64_t start;

	if ((rc = sim_cfg_parse(ctx, cfg, &dc)) != 0)
		goto out;
	/* libxl gives a domain without one a UUID; so do we, into the
	 * config, so that it moves with the domain and its lease has a
	 * name. */
	if (*dc.uuid == '\0' && (rc = sim_uuid_new(ctx, cfg, &dc)) != 0)
		goto out;
	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_table_admit(ctx, &dc)) != 0 ||
	    (rc = sim_domid_alloc(ctx, &domid)) != 0)
		goto out;
	made = 1;
	if ((rc = sim_dom_files(ctx, domid, &dc)) != 0 ||
	    (rc = sim_memfd(ctx, domid, "memory",
	    dc.nr_pages << SIM_PAGE_SHIFT, &memfd)) != 0 ||
	    (rc = sim_memfd(ctx, domid, "dirty", (dc.nr_pages + 63) / 64 * 8,
	    &dirtyfd)) != 0)
		goto out;
	memset(&vcpu, 0, sizeof(vcpu));
	vcpu.prng = sim_mix64(clock_mono_us() ^ ((uint64_t)getpid() << 32) ^
	    domid);
	if ((rc = sim_guest_start(ctx, domid, &dc, 0, &vcpu, memfd, dirtyfd,
	    &log_created)) != 0)
		goto out;
	/* Last: only now does the domain exist for everyone else. */
	if ((rc = sim_cfg_store(ctx, domid, cfg)) != 0)
		goto out;
	*domid_r = domid;
	rc = 0;
out:
	if (rc != 0 && made) {
		if (sim_pid_read(h, domid, &pid, &start) == 0 && pid != 0) {
			char keep[sizeof(ctx->err)];

			memcpy(keep, ctx->err, sizeof(keep));
			(void)sim_pid_kill(ctx, pid, start);
			memcpy(ctx->err, keep, sizeof(keep));
		}
		sim_dom_remove(h, domid);
	}
	sim_unlock(lockfd);
	if (memfd != -1)
		close(memfd);
	if (dirtyfd != -1)
		close(dirtyfd);
	return rc;
}

/*
 * Fault points, a test aid (relocd.8, FAULT INJECTION): the environment
 * variable RELOCD_SIM_FAULT holds "POINT=ACTION[,POINT=ACTION...]" with
 * POINT one of suspend, restore, rename, unpause, resume, destroy and
 * ACTION one of fail (the call fails), hang[:SECONDS] (the call sleeps,
 * 60 s by default, then goes on: tests kill the process meanwhile) and
 * crash (the guest is killed, then the call goes on and fails as it
 * would).
 * Each fires on the first such call in a process, and a worker serves
 * one migration, so one knob hits one step of one migration.
 */
int
sim_fault(struct xo_ctx *ctx, const char *point, uint32_t domid)
{
	static char fired[8][16];
	const char *env, *p, *q;
	char item[64], *act;
	size_t len, i;
	unsigned secs;
	pid_t pid;
	uint64_t start;

	if ((env = getenv("RELOCD_SIM_FAULT")) == NULL || *env == '\0')
		return 0;
	for (p = env; *p != '\0'; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		len = (size_t)(q - p);
		if (len >= sizeof(item))
			continue;
		memcpy(item, p, len);
		item[len] = '\0';
		if ((act = strchr(item, '=')) == NULL)
			continue;
		*act++ = '\0';
		if (strcmp(item, point) != 0)
			continue;
		for (i = 0; i < 8 && fired[i][0] != '\0'; i++)
			if (strcmp(fired[i], point) == 0)
				return 0;
		if (i < 8)
			snprintf(fired[i], sizeof(fired[i]), "%s", point);
		log_warnx("sim: fault injected at %s: %s (RELOCD_SIM_FAULT)",
		    point, act);
		if (strcmp(act, "fail") == 0)
			return xo_fail(ctx, XO_E_FAIL, "injected fault at %s "
			    "(RELOCD_SIM_FAULT)", point);
		if (strncmp(act, "hang", 4) == 0) {
			secs = act[4] == ':' ? (unsigned)atoi(act + 5) : 60;
			sleep(secs > 3600 ? 3600 : secs);
			return 0;
		}
		if (strcmp(act, "crash") == 0 && domid != 0 &&
		    sim_pid_read(ctx->priv, domid, &pid, &start) == 0 &&
		    pid > 1)
			sim_pid_kill(ctx, pid, start);
		return 0;
	}
	return 0;
}

int
sim_rename(struct xo_ctx *ctx, uint32_t domid, const char *old_name,
    const char *new_name)
{
	struct sim_host *h = ctx->priv;
	struct json_object *cfg = NULL, *ci;
	struct sim_dom *doms = NULL;
	char from[PATH_MAX], to[PATH_MAX], aside[PATH_MAX];
	const char *cur;
	size_t n = 0, i;
	int lockfd = -1, rc;

	if ((rc = sim_fault(ctx, "rename", domid)) != 0)
		return rc;

	if (!sim_name_ok(new_name))
		return xo_fail(ctx, XO_E_FAIL, "invalid domain name '%.80s'",
		    new_name);
	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0)
		goto out;
	if (!json_object_object_get_ex(cfg, "c_info", &ci) ||
	    (cur = json_object_get_string(json_object_object_get(ci,
	    "name"))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: config has no name",
		    domid);
		goto out;
	}
	if (strcmp(cur, old_name) != 0) {
		rc = xo_fail(ctx, XO_E_RENAMED, "domain %u is named '%s', "
		    "not '%s'", domid, cur, old_name);
		goto out;
	}
	if (strcmp(old_name, new_name) == 0) {
		rc = 0;
		goto out;
	}
	if ((rc = sim_table_scan(ctx, &doms, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (doms[i].domid != domid &&
		    strcmp(doms[i].cfg.name, new_name) == 0) {
			rc = xo_fail(ctx, XO_E_EXISTS, "a domain named '%s' "
			    "already exists (domid %u)", new_name,
			    doms[i].domid);
			goto out;
		}
	}
	json_object_object_add(ci, "name", json_object_new_string(new_name));
	if ((rc = sim_cfg_store(ctx, domid, cfg)) != 0)
		goto out;

	/* The log follows its domain; the guest's O_APPEND fd follows the
	 * file.  A stale log under the new name is kept aside. */
	if ((rc = sim_path(ctx, from, sizeof(from), "%s/%s.log", h->condir,
	    old_name)) != 0 ||
	    (rc = sim_path(ctx, to, sizeof(to), "%s/%s.log", h->condir,
	    new_name)) != 0 ||
	    (rc = sim_path(ctx, aside, sizeof(aside), "%s/%s.log.old",
	    h->condir, new_name)) != 0)
		goto out;
	if (access(from, F_OK) == 0) {
		if (rename(to, aside) == -1 && errno != ENOENT)
			log_warn("sim: rename %s", to);
		if (rename(from, to) == -1)
			log_warn("sim: rename %s", from);
	}
	rc = 0;
out:
	sim_unlock(lockfd);
	free(doms);
	json_object_put(cfg);
	return rc;
}

int
sim_destroy(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_host *h = ctx->priv;
	char dir[PATH_MAX];
	struct stat st;
	uint64_t start;
	pid_t pid;
	int lockfd = -1, rc;

	if ((rc = sim_fault(ctx, "destroy", domid)) != 0)
		return rc;

	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_path(ctx, dir, sizeof(dir), "%s/%u", h->domdir,
	    domid)) != 0)
		goto out;
	if (stat(dir, &st) == -1) {
		rc = xo_fail(ctx, XO_E_NOTFOUND, "domain %u does not exist",
		    domid);
		goto out;
	}
	if (sim_pid_read(h, domid, &pid, &start) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: pid file: %s", domid,
		    strerror(errno));
		goto out;
	}
	if (pid != 0 && (rc = sim_pid_kill(ctx, pid, start)) != 0)
		goto out;
	sim_dom_remove(h, domid);
	rc = 0;
out:
	sim_unlock(lockfd);
	return rc;
}

int
sim_pause(struct xo_ctx *ctx, uint32_t domid)
{
	enum xo_state st;
	int rc;

	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	switch (st) {
	case XO_PAUSED:
		return 0;
	case XO_RUNNING:
		return sim_guest_cmd(ctx, domid, "pause", "ok paused", NULL, 0);
	default:
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot "
		    "be paused", domid, xo_state_name(st));
	}
}

int
sim_unpause(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_shared sh;
	enum xo_state st;
	int rc;

	if ((rc = sim_fault(ctx, "unpause", domid)) != 0)
		return rc;

	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	switch (st) {
	case XO_RUNNING:
		return 0;
	case XO_PAUSED:
		if (sim_shared_read(ctx->priv, domid, &sh) == 0 &&
		    sh.state == SIM_ST_NEW)
			return xo_fail(ctx, XO_E_STATE, "domain %u is still "
			    "being restored", domid);
		return sim_guest_cmd(ctx, domid, "unpause", "ok running",
		    NULL, 0);
	case XO_SUSPENDED:
		return xo_fail(ctx, XO_E_STATE, "domain %u is suspended: "
		    "resume it, unpause cannot", domid);
	default:
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot "
		    "be unpaused", domid, xo_state_name(st));
	}
}

/*
 * The sim guest's disk, read-write: a file as named, or a block device
 * as LVM names it (/dev/VG/LV, its link to /dev/dm-N), as a Xen host
 * takes phy: disks.
 */
static int
sim_disk_open(const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) != -1 ||
	    errno != ELOOP)
		return fd;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISBLK(st.st_mode)) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	return fd;
}

/*
 * The dirty bitmap of domid's disk at path.  The sim guest writes one
 * disk only, sim_disk_counter's, and marks every write to it; for that
 * disk the map is the guest's own.  No other disk of a sim domain is
 * ever written while it runs, so its map is a fresh one in which no bit
 * will ever be set: honest, and a live copy of it is a single pass.
 */
int
sim_disk_dirty(struct xo_ctx *ctx, uint32_t domid, const char *path, int *fd)
{
	struct json_object *cfg = NULL;
	struct sim_domcfg dc;
	struct stat a, b;
	enum xo_state st;
	uint64_t size;
	size_t words;
	int rc, bfd;

	*fd = -1;
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0 ||
	    (rc = sim_cfg_parse(ctx, cfg, &dc)) != 0 ||
	    (rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		goto out;
	if (st != XO_RUNNING && st != XO_PAUSED) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u is %s: no disk "
		    "writes to track", domid, xo_state_name(st));
		goto out;
	}
	if (stat(path, &a) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (*dc.disk != '\0' && stat(dc.disk, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		rc = sim_guest_cmd(ctx, domid, "diskfds", "ok diskfds", fd, 1);
		goto out;
	}
	size = (uint64_t)a.st_size;
	if (S_ISBLK(a.st_mode) && (bfd = sim_disk_open(path)) != -1) {
		if (ioctl(bfd, BLKGETSIZE64, &size) == -1)
			size = 0;
		close(bfd);
	}
	words = diskcopy_dirty_words(size);
	rc = sim_memfd(ctx, domid, "diskdirty", (words ? words : 1) * 8, fd);
out:
	json_object_put(cfg);
	return rc;
}

/* The suspended guest lets its lease go (it alone holds it). */
int
sim_lease_give(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_host *h = ctx->priv;
	enum xo_state st;
	int rc;

	/* No cluster_dir, no lease: no round trip to the guest on the
	 * downtime path. */
	if (h->cluster_dir == NULL)
		return 0;
	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	if (st != XO_SUSPENDED)
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s: only a "
		    "suspended domain gives up its lease", domid,
		    xo_state_name(st));
	return sim_guest_cmd(ctx, domid, "lease-give", "ok lease given",
	    NULL, 0);
}

/* suspend_cancel: back to running where it stopped; the guest checks its
 * memory, as a resumed Xen guest would find out the hard way. */
int
sim_resume(struct xo_ctx *ctx, uint32_t domid)
{
	struct sim_shared sh;
	enum xo_state st;
	int rc;

	if ((rc = sim_fault(ctx, "resume", domid)) != 0)
		return rc;

	if ((rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		return rc;
	switch (st) {
	case XO_RUNNING:
	case XO_PAUSED:
	case XO_SUSPENDED:
		if (sim_shared_read(ctx->priv, domid, &sh) == 0 &&
		    sh.state == SIM_ST_NEW)
			return xo_fail(ctx, XO_E_STATE, "domain %u is still "
			    "being restored", domid);
		return sim_guest_cmd(ctx, domid, "resume", "ok running",
		    NULL, 0);
	default:
		return xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot "
		    "be resumed", domid, xo_state_name(st));
	}
}
