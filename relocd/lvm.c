/*
 * The LVM work of --copy-storage (incoming_volume_group), run as root
 * by the helper: lvm_command with a fixed argument vector, never a
 * shell, its output captured for the message and its time bounded (a
 * VG whose PV hangs must not hold a migration slot forever).  Names
 * reach here validated (conf_lvm_name_ok), so no argument can be read
 * as an option.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "helper.h"
#include "log.h"
#include "relocd.h"

#define LVM_TIMEOUT_S	120
#define LVM_OUT_MAX	8192

static int	lvm_run(const struct relocd_conf *, const char *const *, char *,
		    size_t, char *, size_t);

/*
 * lvm_command with ARGS (a subcommand first): 0 when it exited 0 (its
 * stdout in out), else -1 with the command and its stderr in err.
 */
static int
lvm_run(const struct relocd_conf *conf, const char *const *args, char *out,
    size_t outlen, char *err, size_t errlen)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1", NULL };
	const char *argv[16];
	char ebuf[LVM_OUT_MAX], *nl;
	size_t olen = 0, elen = 0, i, n;
	struct pollfd pfd[2];
	uint64_t deadline;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, status, left, dn, r;
	pid_t pid, w;
	ssize_t k;

	argv[0] = conf->lvm_command;
	for (n = 0; args[n] != NULL && n + 2 < sizeof(argv) / sizeof(*argv);
	    n++)
		argv[n + 1] = args[n];
	argv[n + 1] = NULL;
	if (out != NULL && outlen > 0)
		*out = '\0';
	if (pipe2(po, O_CLOEXEC) == -1 || pipe2(pe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "%s %s: pipe: %s", conf->lvm_command,
		    args[0], strerror(errno));
		goto fail;
	}
	switch (pid = fork()) {
	case -1:
		snprintf(err, errlen, "%s %s: fork: %s", conf->lvm_command,
		    args[0], strerror(errno));
		goto fail;
	case 0:
		setpgid(0, 0);
		if ((dn = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(dn, 0) == -1 || dup2(po[1], 1) == -1 ||
		    dup2(pe[1], 2) == -1)
			_exit(127);
		/* lvm complains of every descriptor it inherits. */
		close_range(3, ~0U, 0);
		execve(argv[0], (char *const *)argv, envp);
		dprintf(2, "cannot run it: %s\n", strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	deadline = clock_mono_us() + (uint64_t)LVM_TIMEOUT_S * 1000000;
	for (left = 2; left > 0;) {
		uint64_t now = clock_mono_us();

		if (now >= deadline) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
			snprintf(err, errlen, "%s %s did not end within %d s "
			    "(killed)", conf->lvm_command, args[0],
			    LVM_TIMEOUT_S);
			goto fail;
		}
		pfd[0].fd = po[0];
		pfd[1].fd = pe[0];
		pfd[0].revents = pfd[1].revents = 0;
		pfd[0].events = pfd[1].events = POLLIN;
		r = poll(pfd, 2, (int)((deadline - now) / 1000) + 1);
		if (r == -1 && errno != EINTR)
			break;
		for (i = 0; r > 0 && i < 2; i++) {
			char tmp[1024], *buf = i == 0 ? out : ebuf;
			size_t *len = i == 0 ? &olen : &elen;
			size_t cap = i == 0 ? outlen : sizeof(ebuf);
			int *fd = i == 0 ? &po[0] : &pe[0];

			if (*fd == -1 || pfd[i].revents == 0)
				continue;
			k = read(*fd, tmp, sizeof(tmp));
			if (k == -1 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(*fd);
				*fd = -1;
				left--;
				continue;
			}
			/* Beyond what fits: read and dropped. */
			if (buf != NULL && *len + 1 < cap) {
				n = (size_t)k < cap - *len - 1 ? (size_t)k :
				    cap - *len - 1;
				memcpy(buf + *len, tmp, n);
				*len += n;
				buf[*len] = '\0';
			}
		}
		if (po[0] == -1 && pe[0] == -1)
			break;
	}
	ebuf[elen] = '\0';
	/* Its output closed; its end bounded all the same. */
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 ||
	    (w == -1 && errno == EINTR)) {
		if (clock_mono_us() >= deadline) {
			kill(-pid, SIGKILL);
			while ((w = waitpid(pid, &status, 0)) == -1 &&
			    errno == EINTR)
				;
			snprintf(err, errlen, "%s %s did not end within %d s "
			    "(killed)", conf->lvm_command, args[0],
			    LVM_TIMEOUT_S);
			goto fail;
		}
		usleep(10000);
	}
	if (w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (po[0] != -1)
			close(po[0]);
		if (pe[0] != -1)
			close(pe[0]);
		return 0;
	}
	/* The message: its stderr on one line. */
	for (nl = ebuf; (nl = strchr(nl, '\n')) != NULL; )
		*nl = ' ';
	while (elen > 0 && (ebuf[elen - 1] == ' ' || ebuf[elen - 1] == '\t'))
		ebuf[--elen] = '\0';
	if (w == pid && WIFEXITED(status))
		snprintf(err, errlen, "%s %s exited %d%s%.600s",
		    conf->lvm_command, args[0], WEXITSTATUS(status),
		    elen > 0 ? ": " : "", ebuf);
	else
		snprintf(err, errlen, "%s %s ended by signal %d",
		    conf->lvm_command, args[0], w == pid &&
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
fail:
	for (i = 0; i < 2; i++) {
		if (po[i] != -1)
			close(po[i]);
		if (pe[i] != -1)
			close(pe[i]);
	}
	return -1;
}

/* The VG's free bytes and extent size (vgs, in bytes). */
int
lvm_vg_info(const struct relocd_conf *conf, const char *vg, uint64_t *freeb,
    uint64_t *extent, char *err, size_t errlen)
{
	const char *args[] = { "vgs", "--noheadings", "--nosuffix",
	    "--units", "b", "--options", "vg_free,vg_extent_size", vg, NULL };
	char out[512];
	unsigned long long f, e;

	if (lvm_run(conf, args, out, sizeof(out), err, errlen) == -1)
		return -1;
	if (sscanf(out, " %llu %llu", &f, &e) != 2 || e == 0) {
		snprintf(err, errlen, "%s vgs %s: cannot read its free space "
		    "and extent size from '%.100s'", conf->lvm_command, vg,
		    out);
		return -1;
	}
	*freeb = f;
	*extent = e;
	return 0;
}

/* 1 if VG holds an LV named LV, 0 if not, -1 with the reason. */
int
lvm_lv_exists(const struct relocd_conf *conf, const char *vg, const char *lv,
    char *err, size_t errlen)
{
	const char *args[] = { "lvs", "--noheadings", "--options", "lv_name",
	    vg, NULL };
	char out[LVM_OUT_MAX], *p, *save = NULL;

	if (lvm_run(conf, args, out, sizeof(out), err, errlen) == -1)
		return -1;
	for (p = strtok_r(out, " \t\n", &save); p != NULL;
	    p = strtok_r(NULL, " \t\n", &save))
		if (strcmp(p, lv) == 0)
			return 1;
	return 0;
}

/*
 * 1 if the block device PATH is a logical volume of a volume group only
 * this host uses, as LVM says; 0 if not, with what it is in WHY.  Only
 * such an LV is --copy-storage's to copy: any other block device (a SAN
 * LUN, multipath, iSCSI, DRBD, an LV of a clustered or lvmlockd VG) may
 * be the very storage the destination sees, which a copy would refuse
 * as present there, or write over itself.  The path alone cannot tell:
 * /dev/VG/LV names a shared VG's LV too.  lvm_command failing, or
 * saying nothing, means no LV (also where LVM is not installed); an
 * answer not of the expected shape is not trusted either way.
 */
int
lvm_lv_local(const struct relocd_conf *conf, const char *path, char *why,
    size_t whylen)
{
	const char *args[] = { "lvs", "--noheadings", "--options",
	    "vg_name,lv_name,vg_attr", path, NULL };
	char out[1024], err[512], *f[4], *save = NULL;
	size_t n;

	/* A leading '-' would be read as an option. */
	if (path[0] != '/') {
		snprintf(why, whylen, "not an absolute path, so not asked of "
		    "LVM");
		return 0;
	}
	if (lvm_run(conf, args, out, sizeof(out), err, sizeof(err)) == -1) {
		snprintf(why, whylen, "not a logical volume (%.400s)", err);
		return 0;
	}
	for (n = 0; n < 4 && (f[n] = strtok_r(n == 0 ? out : NULL, " \t\n",
	    &save)) != NULL; n++)
		;
	if (n == 0) {
		snprintf(why, whylen, "not a logical volume (%s lvs says "
		    "nothing of it)", conf->lvm_command);
		return 0;
	}
	/* vg_attr: permissions, resizeable, exported, partial, allocation
	 * policy, then 'c' clustered (clvmd) or 's' shared (lvmlockd). */
	if (n != 3 || !conf_lvm_name_ok(f[0]) || !conf_lvm_name_ok(f[1]) ||
	    strlen(f[2]) != 6) {
		snprintf(why, whylen, "not known to be a local logical volume: "
		    "%s lvs answered what is not \"VG LV ATTR\"",
		    conf->lvm_command);
		return 0;
	}
	if (f[2][5] == 'c' || f[2][5] == 's') {
		snprintf(why, whylen, "the logical volume %s/%s of the %s "
		    "volume group %s (attributes %s), which other hosts see",
		    f[0], f[1], f[2][5] == 'c' ? "clustered" : "shared",
		    f[0], f[2]);
		return 0;
	}
	return 1;
}

/* A new LV of SIZE bytes (a multiple of the VG's extent size), not
 * initialized: lvm_zero does it, on the descriptor that is handed out. */
int
lvm_lv_create(const struct relocd_conf *conf, const char *vg, const char *lv,
    uint64_t size, char *err, size_t errlen)
{
	char sz[32];
	const char *args[] = { "lvcreate", "--yes", "--wipesignatures", "n",
	    "--zero", "n", "-n", lv, "-L", sz, vg, NULL };

	snprintf(sz, sizeof(sz), "%" PRIu64 "b", size);
	return lvm_run(conf, args, NULL, 0, err, errlen);
}

int
lvm_lv_remove(const struct relocd_conf *conf, const char *vg, const char *lv,
    char *err, size_t errlen)
{
	char name[2 * (CONF_LVM_NAME_MAX + 1)];
	const char *args[] = { "lvremove", "--yes", name, NULL };

	snprintf(name, sizeof(name), "%s/%s", vg, lv);
	return lvm_run(conf, args, NULL, 0, err, errlen);
}

/* A block device's size in bytes, or -1. */
int
lvm_blk_size(int fd, uint64_t *size)
{
	uint64_t s;

	if (ioctl(fd, BLKGETSIZE64, &s) == -1)
		return -1;
	*size = s;
	return 0;
}

/*
 * All of it zeros: a new LV holds whatever its extents held before,
 * another guest's data perhaps, and a hole of the source must read as
 * zeros in the copy (chunks of zeros are never sent).  In steps of 256
 * MiB, each bounded by the kernel, so that TICK can report progress and
 * stop a zeroing nobody waits for any more.
 */
int
lvm_zero(int fd, uint64_t size, int (*tick)(void *, uint64_t, uint64_t),
    void *arg, char *err, size_t errlen)
{
	uint64_t r[2], off, step = 256ULL << 20;

	for (off = 0; off < size; off += step) {
		r[0] = off;
		r[1] = size - off < step ? size - off : step;
		if (ioctl(fd, BLKZEROOUT, r) == -1) {
			snprintf(err, errlen, "zeroing it (BLKZEROOUT at byte "
			    "%" PRIu64 "): %s", off, strerror(errno));
			return -1;
		}
		if (tick != NULL && tick(arg, off + r[1], size) == -1) {
			snprintf(err, errlen, "zeroing it stopped at byte "
			    "%" PRIu64 ": the migration ended meanwhile",
			    off + r[1]);
			return -1;
		}
	}
	return 0;
}
