/*
 * The privilege line.  Every session is two processes: the network
 * process, which reads the peer's bytes (TLS, frames, JSON, xl's header
 * and config) and runs as the unprivileged `user` with no capabilities,
 * no_new_privs and a seccomp filter; and the root helper (helper.c) at
 * the other end of its socketpair, which alone calls the hypervisor
 * backend, writes the journal and touches state_dir.
 *
 * The filter is an allow-list: what a network process does once it has
 * its descriptors is read, write, poll, pass descriptors to the helper,
 * connect to another relocd (name lookups through /etc/hosts and DNS
 * included) and allocate memory.  It cannot open a file for writing, map
 * executable memory, create processes, change its identity, trace or
 * signal another process, or load kernel objects.  A call outside the
 * list kills the process (SIGSYS), which the parent logs.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/falloc.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "relocd.h"

/* Without arguments to check. */
static const int privsep_plain_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(sendmmsg), SCMP_SYS(connect),
	SCMP_SYS(bind), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(lseek), SCMP_SYS(brk), SCMP_SYS(munmap),
	SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getrandom),
	SCMP_SYS(uname), SCMP_SYS(getrusage), SCMP_SYS(sched_yield),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall), SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	/* --copy-storage writes a disk's copy through the one descriptor
	 * the root helper created for it and handed over (opening files
	 * stays forbidden). */
	SCMP_SYS(pwrite64),
#if defined(__SANITIZE_ADDRESS__)
	/* The sanitizers' runtime: its reports and its exit path. */
	SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigaction), SCMP_SYS(prctl),
	SCMP_SYS(readlink), SCMP_SYS(getppid), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(mincore), SCMP_SYS(openat),
#endif
};

/* Calls allowed with one argument pinned. */
static const struct privsep_arg_call {
	int			nr;
	struct scmp_arg_cmp	cmp;
} privsep_arg_calls[] = {
	/* Files: read only (name lookups read /etc/hosts and friends). */
	{ SCMP_SYS(openat), SCMP_A2(SCMP_CMP_MASKED_EQ,
	    O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY) },
	/* Memory, never executable (a disk copied live maps its dirty bitmap
	 * shared, from the descriptor the helper passed: no new call). */
	{ SCMP_SYS(mmap), SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
	{ SCMP_SYS(mprotect), SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
	/* Sockets: TCP to peers, UDP to the resolver, Unix for syslog and
	 * the data channels to the helper. */
	{ SCMP_SYS(socket), SCMP_A0(SCMP_CMP_EQ, AF_INET, 0) },
	{ SCMP_SYS(socket), SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0) },
	{ SCMP_SYS(socket), SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0) },
	{ SCMP_SYS(socketpair), SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0) },
	/* isatty() for stdio, and the terminal mode of a console tty the
	 * helper passed us. */
	{ SCMP_SYS(ioctl), SCMP_A1(SCMP_CMP_EQ, TCGETS, 0) },
	{ SCMP_SYS(ioctl), SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0) },
	/* A live --copy-storage replaces a chunk it wrote before whole:
	 * the copy's old extents are punched out first, so that a chunk
	 * that became zeros is a hole again.  Punching only: the mode is
	 * pinned, so the call can neither grow nor preallocate a file. */
	{ SCMP_SYS(fallocate), SCMP_A1(SCMP_CMP_EQ,
	    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0) },
	/* abort() raises SIGABRT, the one signal it may send. */
	{ SCMP_SYS(tgkill), SCMP_A2(SCMP_CMP_EQ, SIGABRT, 0) },
};

/* The hottest calls of a stream, tested first. */
static const int privsep_hot_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(poll), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(writev), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg),
};

static struct sock_fprog privsep_prog;

/* The filter, compiled into privsep_prog.  0, or -1 with err. */
int
privsep_init(char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	struct stat st;
	size_t i;
	ssize_t n;
	int r = 0, fd = -1;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (i = 0; r == 0 && i < sizeof(privsep_hot_calls) /
	    sizeof(privsep_hot_calls[0]); i++)
		r = seccomp_syscall_priority(ctx, privsep_hot_calls[i],
		    (uint8_t)(255 - i));
	for (i = 0; r == 0 && i < sizeof(privsep_plain_calls) /
	    sizeof(privsep_plain_calls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    privsep_plain_calls[i], 0);
	for (i = 0; r == 0 && i < sizeof(privsep_arg_calls) /
	    sizeof(privsep_arg_calls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    privsep_arg_calls[i].nr, 1, privsep_arg_calls[i].cmp);
	if (r != 0) {
		snprintf(err, errlen, "seccomp rule: %s", strerror(-r));
		goto fail;
	}
	/* libseccomp 2.5 exports to a descriptor only. */
	if ((fd = memfd_create("relocd-seccomp", MFD_CLOEXEC)) == -1 ||
	    (r = seccomp_export_bpf(ctx, fd)) != 0 ||
	    fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size % sizeof(struct sock_filter) != 0 ||
	    (privsep_prog.filter = malloc(st.st_size)) == NULL ||
	    (n = pread(fd, privsep_prog.filter, st.st_size, 0)) !=
	    st.st_size) {
		snprintf(err, errlen, "compiling the seccomp filter: %s",
		    r != 0 ? strerror(-r) : strerror(errno));
		goto fail;
	}
	privsep_prog.len = (unsigned short)(st.st_size /
	    sizeof(struct sock_filter));
	close(fd);
	seccomp_release(ctx);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	free(privsep_prog.filter);
	privsep_prog.filter = NULL;
	seccomp_release(ctx);
	return -1;
}

int
privsep_lookup(const struct relocd_conf *conf, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		if (conf->line_user > 0)
			snprintf(err, errlen, "%s:%d: user \"%s\": %s",
			    conf->path, conf->line_user, conf->user,
			    errno ? strerror(errno) : "no such user");
		else
			snprintf(err, errlen, "%s: user \"%s\" (the default of "
			    "the user setting) does not exist: create it "
			    "(make install does) or set user = \"nobody\"",
			    conf->path, conf->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "%s:%d: user \"%s\" is root: the network "
		    "process must run unprivileged", conf->path,
		    conf->line_user, conf->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * In the network process, before it reads a byte from anyone: become
 * `user`, give up every capability for good, and load the filter.  A
 * relocd that is not root (a developer's test run) cannot change its
 * identity and keeps it; the filter and no_new_privs still apply.
 */
int
privsep_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (geteuid() == 0) {
		if (setgroups(1, &gid) == -1 ||
		    setresgid(gid, gid, gid) == -1 ||
		    setresuid(uid, uid, uid) == -1) {
			snprintf(err, errlen, "dropping privileges to uid %u: "
			    "%s", (unsigned)uid, strerror(errno));
			return -1;
		}
		/* No way back: a process that could regain root is not
		 * worth confining. */
		if (setresuid(0, 0, 0) != -1 || geteuid() == 0) {
			snprintf(err, errlen, "could regain root after "
			    "dropping privileges");
			return -1;
		}
	}
	/*
	 * No PR_SET_PDEATHSIG: the parent is the daemon, and a session
	 * outlives a daemon that exits (a restart must not cut a migration
	 * in flight).  A network process whose helper is gone reads the end
	 * of their socketpair at its next request to it, or fails writing
	 * the stream into it, and stops.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		snprintf(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	if (privsep_prog.filter == NULL) {
		snprintf(err, errlen, "no seccomp filter (privsep_init)");
		return -1;
	}
	/*
	 * SPEC_ALLOW: without it the kernel forces the speculative store
	 * bypass mitigation on a filtered process, which cost this one's
	 * TLS and copies about a tenth here.  It guards a process from code
	 * it runs itself, sandboxed (a JIT); this one runs none, and who
	 * controls it holds its secrets anyway.
	 */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_SPEC_ALLOW, &privsep_prog) == -1) {
		snprintf(err, errlen, "loading the seccomp filter: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}
