/*
 * The sim guest: the process that is a sim domain.  It runs in the image
 * forked from the backend (no exec), so it must shed everything it
 * inherited first: signal handlers, the signal mask and every fd but its
 * own.  Single-threaded, and every command is handled between two page
 * writes, so any point where it reads its control socket is a safe point
 * to stop at.
 *
 * What it does while running: a heartbeat line every tick, dirtying
 * dirty_rate pages per second with self-checking contents (sim.h), and an
 * echo of every line typed on its console.  Everything waits in one
 * poll(); nothing spins.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "diskcopy.h"
#include "lease.h"
#include "sim.h"

#define SIM_NCLIENTS		4
#define SIM_CMD_MAX		64
#define SIM_INPUT_MAX		256
/* Wake at least this often, to notice that our domain was removed. */
#define SIM_IDLE_MS		1000

/* Pages read at a time by a verification: 256 KiB. */
#define SIM_VERIFY_PAGES	64

struct sim_client {
	int	fd;
	size_t	len;
	char	buf[SIM_CMD_MAX];
};

struct sim_guest {
	struct sim_guest_args *a;
	uint8_t		*mem;
	uint64_t	*dirty;
	uint64_t	*disk_dirty;	/* one bit per chunk of the disk */
	struct sim_shared *sh;
	uint64_t	*writes;	/* in guest memory, page 0 */
	uint32_t	*gen;		/* in guest memory, pages 0..T-1 */
	uint64_t	 npages;
	uint64_t	 ntable;
	uint64_t	 tick_us;

	int		 running;
	int		 lease_held;
	int		 disk_bad;	/* the disk counter is not ours */
	int		 verify_pending; /* first run after restore/suspend */
	int		 verify_now;
	struct sim_vcpu	 vcpu;
	uint64_t	 next_tick_us;
	uint64_t	 next_dirty_us;
	uint64_t	 last_dirty_us;
	uint64_t	 dirty_credit;	/* pages * 1e6 */
	uint64_t	 next_dircheck_us;

	int		 pty_ok;
	size_t		 inlen;
	int		 in_cr;
	char		 in[SIM_INPUT_MAX];
	struct sim_client cl[SIM_NCLIENTS];
};

static void	sim_guest_sigreset(void);
static void	sim_guest_fds_keep(struct sim_guest_args *);
static void	sim_guest_report(struct sim_guest_args *, int, const char *);
static int	sim_guest_map(struct sim_guest *);
static void	sim_guest_loop(struct sim_guest *) __attribute__((noreturn));
static uint64_t	sim_guest_rand(struct sim_guest *);
static void	sim_guest_console(struct sim_guest *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sim_guest_mark(struct sim_guest *, uint64_t);
static void	sim_guest_page_write(struct sim_guest *, uint64_t);
static void	sim_guest_dirty_batch(struct sim_guest *, uint64_t);
static void	sim_guest_tick(struct sim_guest *, uint64_t);
static int	sim_guest_page_ok(const struct sim_guest *, uint64_t,
		    const uint64_t *);
static int	sim_guest_pread(int, void *, size_t, off_t);
static void	sim_guest_verify(struct sim_guest *);
static void	sim_guest_stop(struct sim_guest *, enum sim_run_state);
static void	sim_guest_run(struct sim_guest *, int);
static void	sim_guest_pty_read(struct sim_guest *);
static void	sim_guest_accept(struct sim_guest *);
static void	sim_guest_client_read(struct sim_guest *, struct sim_client *);
static const char *sim_guest_command(struct sim_guest *, const char *,
		    int *);
static void	sim_guest_reply(int, const char *, const int *, int);
static int	sim_guest_lease(struct sim_guest *);
static int	sim_guest_disk_read(struct sim_guest *, unsigned long long *);
static void	sim_guest_disk_tick(struct sim_guest *);
static void	sim_guest_disk_scribble(struct sim_guest *,
		    unsigned long long);
static const char *sim_guest_lease_reply(struct sim_guest *);
static void	sim_guest_lease_refusal(struct sim_guest *, char *, size_t);

void
sim_guest_main(struct sim_guest_args *a)
{
	static struct sim_guest g;
	char name[16];
	int fl;

	sim_guest_sigreset();
	sim_guest_fds_keep(a);
	snprintf(name, sizeof(name), "simdom%u", a->domid);
	prctl(PR_SET_NAME, name, 0, 0, 0);

	memset(&g, 0, sizeof(g));
	g.a = a;
	if (sim_guest_map(&g) == -1)
		_exit(1);
	if ((fl = fcntl(a->pty_fd, F_GETFL)) != -1)
		fcntl(a->pty_fd, F_SETFL, fl | O_NONBLOCK);
	if ((fl = fcntl(a->ctl_fd, F_GETFL)) != -1)
		fcntl(a->ctl_fd, F_SETFL, fl | O_NONBLOCK);
	g.pty_ok = 1;
	g.tick_us = (uint64_t)a->tick_ms * 1000;
	g.vcpu = a->vcpu;
	if (g.vcpu.tick_phase_us >= g.tick_us)
		g.vcpu.tick_phase_us = 0;
	for (fl = 0; fl < SIM_NCLIENTS; fl++)
		g.cl[fl].fd = -1;

	g.sh->vcpu = g.vcpu;
	if (a->restored) {
		/* Created paused, as libxl restores; the first unpause
		 * checks that the stream brought all of memory. */
		g.verify_pending = 1;
		g.sh->stopped_at_us = clock_mono_us();
		__atomic_store_n(&g.sh->state, SIM_ST_PAUSED,
		    __ATOMIC_RELEASE);
	} else {
		/* A fresh start runs at once: the lease first, or no
		 * start at all (the backend reports our message). */
		if (sim_guest_lease(&g) == -1) {
			char msg[sizeof(((struct sim_guest_status *)0)->msg)];

			sim_guest_lease_refusal(&g, msg, sizeof(msg));
			sim_guest_report(a, EAGAIN, msg);
			_exit(1);
		}
		if (a->disk_fd != -1) {
			unsigned long long n;

			if (sim_guest_disk_read(&g, &n) == 0)
				sim_guest_console(&g, "disk counter %llu at "
				    "boot", n);
			else
				g.disk_bad = 1;
		}
		sim_guest_console(&g, "simdom%u: booted, %llu pages "
		    "(%llu MiB), tick %u ms, dirtying %u pages/s", a->domid,
		    (unsigned long long)g.npages,
		    (unsigned long long)(g.npages >> 8), a->tick_ms,
		    a->dirty_rate);
		sim_guest_run(&g, 0);
	}
	sim_guest_report(a, 0, "ready");
	sim_guest_loop(&g);
}

/*
 * The lease is ours whenever we can run: taken before the first
 * instruction of a fresh start, before an unpause of a restored copy (the
 * destination, after "go") and before a resume (if it was given up).  It
 * is given up only at the source's point of no return ("lease-give"),
 * suspended, the one state from which no instruction runs without the
 * backend, just before "go" hands the domain over.  Dying drops it with
 * our last descriptor.
 */
static int
sim_guest_lease(struct sim_guest *g)
{
	if (g->a->lease_fd == -1 || g->lease_held)
		return 0;
	if (lease_acquire(g->a->lease_fd, g->a->lease_holder) == -1)
		return -1;
	g->lease_held = 1;
	return 0;
}

static void
sim_guest_lease_refusal(struct sim_guest *g, char *buf, size_t len)
{
	char who[256];

	lease_holder_text(g->a->lease_fd, who, sizeof(who));
	snprintf(buf, len, "the domain's lease is held elsewhere (%s)",
	    *who != '\0' ? who : "holder unknown");
}

/* Whatever relocd had installed (libevent's signal pipe, SIGCHLD
 * reaping) is meaningless here. */
static void
sim_guest_sigreset(void)
{
	struct sigaction sa;
	sigset_t set;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/*
 * Keep only our fds, renumbered from 3, and close the rest: relocd's
 * listening sockets, TLS sessions and journal must not live on in a
 * process that may outlive relocd by months.
 */
static void
sim_guest_fds_keep(struct sim_guest_args *a)
{
	int *keep[] = { &a->dir_fd, &a->ctl_fd, &a->pty_fd, &a->slave_fd,
	    &a->log_fd, &a->mem_fd, &a->dirty_fd, &a->shared_fd,
	    &a->status_fd, &a->lease_fd, &a->disk_fd, &a->disk_dirty_fd };
	const int n = sizeof(keep) / sizeof(keep[0]);
	int high[sizeof(keep) / sizeof(keep[0])];
	int base, i, fd;
	DIR *d;
	struct dirent *de;

	/* Copies above every target first, so no dup2 clobbers a fd that
	 * is still to be moved. */
	base = 3 + n;
	for (i = 0; i < n; i++)
		if (*keep[i] >= base)
			base = *keep[i] + 1;
	for (i = 0; i < n; i++)
		high[i] = *keep[i] == -1 ? -1 : fcntl(*keep[i], F_DUPFD, base);
	for (i = 0; i < n; i++) {
		if (*keep[i] == -1) {
			/* Optional (the lease, the disk) and absent: its
			 * number may hold something inherited, which
			 * close_range below does not reach. */
			close(3 + i);
			continue;
		}
		if (high[i] == -1 || dup2(high[i], 3 + i) == -1)
			_exit(1);
		*keep[i] = 3 + i;
	}
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (close_range(3 + n, ~0U, 0) == 0)
		return;
	/* Kernels before 5.9. */
	if ((d = opendir("/proc/self/fd")) == NULL)
		_exit(1);
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd >= 3 + n && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

static void
sim_guest_report(struct sim_guest_args *a, int error, const char *msg)
{
	struct sim_guest_status st;
	ssize_t n;

	memset(&st, 0, sizeof(st));
	st.pid = getpid();
	st.error = error;
	snprintf(st.msg, sizeof(st.msg), "%s", msg);
	do
		n = write(a->status_fd, &st, sizeof(st));
	while (n == -1 && errno == EINTR);
	close(a->status_fd);
	a->status_fd = -1;
}

static int
sim_guest_map(struct sim_guest *g)
{
	struct sim_guest_args *a = g->a;
	char msg[160];
	size_t memlen, dirtylen;
	void *p;

	g->npages = a->nr_pages;
	g->ntable = SIM_TABLE_PAGES(a->nr_pages);
	memlen = a->nr_pages << SIM_PAGE_SHIFT;
	dirtylen = (a->nr_pages + 63) / 64 * 8;
	p = mmap(NULL, memlen, PROT_READ | PROT_WRITE, MAP_SHARED, a->mem_fd,
	    0);
	if (p == MAP_FAILED)
		goto fail;
	g->mem = p;
	p = mmap(NULL, dirtylen, PROT_READ | PROT_WRITE, MAP_SHARED,
	    a->dirty_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	g->dirty = p;
	p = mmap(NULL, SIM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    a->shared_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	g->sh = p;
	if (a->disk_dirty_fd != -1) {
		size_t words = diskcopy_dirty_words(a->disk_size);

		/* As sim_guest_start sized it: a word at least. */
		p = mmap(NULL, (words ? words : 1) * 8, PROT_READ |
		    PROT_WRITE, MAP_SHARED, a->disk_dirty_fd, 0);
		if (p == MAP_FAILED)
			goto fail;
		g->disk_dirty = p;
	}
	g->writes = (uint64_t *)g->mem;
	g->gen = (uint32_t *)(g->mem + SIM_TABLE_HDR);
	/* memory and dirty stay open: they are memfds, and the backend
	 * gets them from us to save the domain. */
	close(a->shared_fd);
	a->shared_fd = -1;
	return 0;

fail:
	snprintf(msg, sizeof(msg), "guest: mmap: %s", strerror(errno));
	sim_guest_report(a, errno, msg);
	return -1;
}

/* splitmix64: its whole state is one word of vCPU state. */
static uint64_t
sim_guest_rand(struct sim_guest *g)
{
	g->vcpu.prng += 0x9e3779b97f4a7c15ULL;
	return sim_mix64(g->vcpu.prng);
}

/*
 * One line to the console log (as xenconsoled logs it) and to the pty.
 * The pty write never blocks: output nobody reads is dropped, as a
 * serial line drops it, rather than stopping the guest.
 */
static void
sim_guest_console(struct sim_guest *g, const char *fmt, ...)
{
	char line[SIM_INPUT_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n] = '\n';
	if (write(g->a->log_fd, line, n + 1) == -1) {
		/* a full disk loses log lines, not the guest */
	}
	if (!g->pty_ok)
		return;
	/* Raw pty: the terminal on the other side wants CR LF. */
	line[n] = '\r';
	line[n + 1] = '\n';
	if (write(g->a->pty_fd, line, n + 2) == -1) {
		/* EAGAIN: nobody reads the console */
	}
}

/* Only after the write it records is complete: see sim_guest_page_write. */
static void
sim_guest_mark(struct sim_guest *g, uint64_t pfn)
{
	__atomic_fetch_or(&g->dirty[pfn >> 6], 1ULL << (pfn & 63),
	    __ATOMIC_RELEASE);
}

/*
 * Move data page pfn to its next generation.  Each dirty bit is set after
 * the store it stands for: the sender takes and clears a word of the
 * bitmap before copying its pages, so a write still in flight when the
 * sender copies sets its bit again afterwards and the page goes again.
 * Setting the bit first could let the last copy miss the write.
 */
static void
sim_guest_page_write(struct sim_guest *g, uint64_t pfn)
{
	uint64_t *w = (uint64_t *)(g->mem + (pfn << SIM_PAGE_SHIFT));
	uint32_t gen = g->gen[pfn] + 1;
	unsigned i;

	if (gen == 0)
		memset(w, 0, SIM_PAGE_SIZE);
	else
		for (i = 0; i < SIM_PAGE_SIZE / 8; i++)
			w[i] = sim_page_word(pfn, gen, i);
	sim_guest_mark(g, pfn);
	g->gen[pfn] = gen;
	(*g->writes)++;
	sim_guest_mark(g, (SIM_TABLE_HDR + pfn * 4) >> SIM_PAGE_SHIFT);
	sim_guest_mark(g, 0);
}

static void
sim_guest_dirty_batch(struct sim_guest *g, uint64_t now)
{
	uint64_t n, ndata, rate = g->a->dirty_rate;

	g->dirty_credit += rate * (now - g->last_dirty_us);
	g->last_dirty_us = now;
	n = g->dirty_credit / 1000000;
	g->dirty_credit %= 1000000;
	/* After a long stall, do not catch up in one burst. */
	if (n > rate)
		n = rate;
	ndata = g->npages - g->ntable;
	while (n-- > 0)
		sim_guest_page_write(g, g->ntable + sim_guest_rand(g) % ndata);
	g->next_dirty_us = now + SIM_DIRTY_PERIOD_US;
}

/*
 * sim_disk_counter: a counter in the first 32 bytes of the guest's disk,
 * "simdisk" and 20 digits, read and written back one higher every tick.
 * It is what a restarted copy must find again: a forced restart on
 * another host continues from the dead host's last write, and two copies
 * writing at once would be seen as a counter that goes back.  -1 and a
 * console line if the disk holds something else (never overwritten).
 */
#define SIM_DISK_REC	32

static int
sim_guest_disk_read(struct sim_guest *g, unsigned long long *n)
{
	char b[SIM_DISK_REC + 1];
	ssize_t r;
	int i, zero = 1;

	*n = 0;
	r = pread(g->a->disk_fd, b, SIM_DISK_REC, 0);
	if (r < 0) {
		sim_guest_console(g, "DISK CORRUPT: read: %s",
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < r; i++)
		if (b[i] != 0)
			zero = 0;
	if (zero)
		return 0;	/* a fresh disk */
	b[r] = '\0';
	if (r < 29 || strncmp(b, "simdisk ", 8) != 0 ||
	    sscanf(b + 8, "%20llu", n) != 1) {
		sim_guest_console(g, "DISK CORRUPT: the counter record is "
		    "damaged");
		return -1;
	}
	return 0;
}

/*
 * sim_disk_counter = 2: one 4 KiB block at the start of another chunk
 * of the disk, data (naming the tick) or zeros, half and half, so that
 * a live copy of the disk sees chunks change under it and turn back to
 * all zeros.  Nothing checks them but the copy: its image must be the
 * source's final one.
 */
static void
sim_guest_disk_scribble(struct sim_guest *g, unsigned long long n)
{
	static char b[4096];
	uint64_t nchunks = (g->a->disk_size + DISKCOPY_CHUNK - 1) /
	    DISKCOPY_CHUNK, r, k;
	size_t len;

	if (nchunks < 2 || g->a->disk_size < DISKCOPY_CHUNK + sizeof(b))
		return;
	r = sim_guest_rand(g);
	/* Whole chunks only, below the disk's end. */
	k = 1 + (r >> 1) % ((g->a->disk_size - sizeof(b)) / DISKCOPY_CHUNK);
	memset(b, 0, sizeof(b));
	if (r & 1) {
		len = (size_t)snprintf(b, sizeof(b), "simdisk scribble: tick "
		    "%llu, chunk %llu\n", n, (unsigned long long)k);
		memset(b + len, '.', sizeof(b) - len - 1);
		b[sizeof(b) - 1] = '\n';
	}
	if (pwrite(g->a->disk_fd, b, sizeof(b), (off_t)(k *
	    DISKCOPY_CHUNK)) != (ssize_t)sizeof(b)) {
		sim_guest_console(g, "disk write failed: %s",
		    strerror(errno));
		return;
	}
	if (g->disk_dirty != NULL)
		diskcopy_dirty_mark(g->disk_dirty, g->a->disk_size, k *
		    DISKCOPY_CHUNK, sizeof(b));
}

static void
sim_guest_disk_tick(struct sim_guest *g)
{
	char b[SIM_DISK_REC];
	unsigned long long n;

	if (g->a->disk_fd == -1 || g->disk_bad)
		return;
	if (sim_guest_disk_read(g, &n) == -1) {
		g->disk_bad = 1;
		return;
	}
	memset(b, 0, sizeof(b));
	snprintf(b, sizeof(b), "simdisk %020llu\n", n + 1);
	if (pwrite(g->a->disk_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		sim_guest_console(g, "disk write failed: %s",
		    strerror(errno));
	/* After the write, as for memory: a live copy that takes the bit
	 * reads what was written, or the bit is set again after it. */
	else if (g->disk_dirty != NULL)
		diskcopy_dirty_mark(g->disk_dirty, g->a->disk_size, 0,
		    sizeof(b));
	if (g->a->disk_scribble)
		sim_guest_disk_scribble(g, n + 1);
}

static void
sim_guest_tick(struct sim_guest *g, uint64_t now)
{
	g->vcpu.ticks++;
	sim_guest_disk_tick(g);
	sim_guest_console(g, "tick %llu", (unsigned long long)g->vcpu.ticks);
	g->next_tick_us += g->tick_us;
	if (g->next_tick_us <= now)
		g->next_tick_us = now + g->tick_us;
}

static int
sim_guest_page_ok(const struct sim_guest *g, uint64_t pfn, const uint64_t *w)
{
	uint32_t gen = g->gen[pfn];
	unsigned i;

	if (gen == 0) {
		for (i = 0; i < SIM_PAGE_SIZE / 8; i++)
			if (w[i] != 0)
				return 0;
		return 1;
	}
	for (i = 0; i < SIM_PAGE_SIZE / 8; i++)
		if (w[i] != sim_page_word(pfn, gen, i))
			return 0;
	return 1;
}

static int
sim_guest_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done;
	ssize_t n;

	for (done = 0; done < len; done += n) {
		n = pread(fd, (uint8_t *)buf + done, len - done,
		    off + (off_t)done);
		if (n == -1 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			return -1;
	}
	return 0;
}

/*
 * Every page against the table, the table against itself (unused entries
 * zero) and against the write count (a table page lost along with the
 * data pages it describes would otherwise look consistent).
 *
 * The data pages are read with pread, not through g->mem.  Where page
 * tables are shadowed (a nested or PVM host, such as the machines the
 * bench runs on) the first touch of every mapped page is an exit to the
 * outer hypervisor: a restored 256 MiB guest spent about three seconds of
 * a CPU here, taken from the migrations still in flight beside it, which
 * is what made an evacuation's later moves three times slower than its
 * first.  Read through the kernel's own mapping it takes a tenth of that.
 */
static void
sim_guest_verify(struct sim_guest *g)
{
	static uint64_t buf[SIM_VERIFY_PAGES * (SIM_PAGE_SIZE / 8)];
	const uint8_t *tend, *p;
	uint64_t pfn, i, run;
	uint32_t sum = 0;

	for (pfn = 0; pfn < g->ntable; pfn++) {
		if (g->gen[pfn] != 0) {
			sim_guest_console(g, "MEMORY CORRUPT page %llu "
			    "(generation table entry %llu is %u)",
			    (unsigned long long)(SIM_TABLE_HDR + pfn * 4) >>
			    SIM_PAGE_SHIFT, (unsigned long long)pfn,
			    g->gen[pfn]);
			return;
		}
	}
	tend = g->mem + (g->ntable << SIM_PAGE_SHIFT);
	for (p = (const uint8_t *)(g->gen + g->npages); p < tend; p++) {
		if (*p != 0) {
			sim_guest_console(g, "MEMORY CORRUPT page %llu "
			    "(garbage after the generation table)",
			    (unsigned long long)(g->ntable - 1));
			return;
		}
	}
	for (pfn = g->ntable; pfn < g->npages; pfn += run) {
		run = g->npages - pfn;
		if (run > SIM_VERIFY_PAGES)
			run = SIM_VERIFY_PAGES;
		if (sim_guest_pread(g->a->mem_fd, buf, run << SIM_PAGE_SHIFT,
		    (off_t)(pfn << SIM_PAGE_SHIFT)) == -1) {
			sim_guest_console(g, "MEMORY CORRUPT page %llu "
			    "(unreadable: %s)", (unsigned long long)pfn,
			    strerror(errno));
			return;
		}
		for (i = 0; i < run; i++) {
			if (!sim_guest_page_ok(g, pfn + i,
			    buf + i * (SIM_PAGE_SIZE / 8))) {
				sim_guest_console(g, "MEMORY CORRUPT page %llu "
				    "(expected generation %u)",
				    (unsigned long long)(pfn + i),
				    g->gen[pfn + i]);
				return;
			}
			sum += g->gen[pfn + i];
		}
	}
	/* Modulo 2^32 on both sides, so generations may wrap. */
	if (sum != (uint32_t)*g->writes) {
		sim_guest_console(g, "MEMORY CORRUPT page 0 (generations sum "
		    "to %u, %llu writes were made)", sum,
		    (unsigned long long)*g->writes);
		return;
	}
	sim_guest_console(g, "verified %llu pages",
	    (unsigned long long)g->npages);
	/* The disk it runs on now (a copy, after --copy-storage) must hold
	 * its last write from before the stop. */
	if (g->a->disk_fd != -1 && !g->disk_bad) {
		unsigned long long n;

		if (sim_guest_disk_read(g, &n) == 0)
			sim_guest_console(g, "disk counter %llu verified", n);
		else
			g->disk_bad = 1;
	}
}

/* Called between two page writes only: the guest is quiescent. */
static void
sim_guest_stop(struct sim_guest *g, enum sim_run_state st)
{
	uint64_t now = clock_mono_us(), left;

	if (g->running) {
		left = g->next_tick_us > now ? g->next_tick_us - now : 0;
		g->vcpu.tick_phase_us = left >= g->tick_us ? 0 :
		    g->tick_us - left;
		g->running = 0;
		g->sh->stopped_at_us = now;
	}
	g->sh->vcpu = g->vcpu;
	__atomic_store_n(&g->sh->state, st, __ATOMIC_RELEASE);
}

static void
sim_guest_run(struct sim_guest *g, int verify)
{
	uint64_t now = clock_mono_us();

	if (verify)
		g->verify_now = 1;
	if (g->running)
		return;
	g->running = 1;
	g->next_tick_us = now + g->tick_us - g->vcpu.tick_phase_us;
	g->last_dirty_us = now;
	g->next_dirty_us = now + SIM_DIRTY_PERIOD_US;
	g->dirty_credit = 0;
	__atomic_store_n(&g->sh->state, SIM_ST_RUNNING, __ATOMIC_RELEASE);
}

static void
sim_guest_loop(struct sim_guest *g)
{
	struct pollfd pfd[2 + SIM_NCLIENTS];
	int idx[SIM_NCLIENTS];
	uint64_t now, next;
	struct stat st;
	int i, n, timeout;

	g->next_dircheck_us = clock_mono_us() + SIM_IDLE_MS * 1000;
	for (;;) {
		now = clock_mono_us();
		next = now + SIM_IDLE_MS * 1000;
		if (g->running) {
			if (g->next_tick_us < next)
				next = g->next_tick_us;
			if (g->a->dirty_rate > 0 && g->next_dirty_us < next)
				next = g->next_dirty_us;
		}
		timeout = next > now ? (int)((next - now + 999) / 1000) : 0;

		pfd[0].fd = g->a->ctl_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = g->pty_ok ? g->a->pty_fd : -1;
		pfd[1].events = POLLIN;
		for (n = 2, i = 0; i < SIM_NCLIENTS; i++) {
			if (g->cl[i].fd == -1)
				continue;
			pfd[n].fd = g->cl[i].fd;
			pfd[n].events = POLLIN;
			idx[n - 2] = i;
			n++;
		}
		if (poll(pfd, n, timeout) == -1 && errno != EINTR)
			_exit(1);

		now = clock_mono_us();
		if (g->running && g->a->dirty_rate > 0 &&
		    now >= g->next_dirty_us)
			sim_guest_dirty_batch(g, now);
		if (g->running && now >= g->next_tick_us)
			sim_guest_tick(g, now);
		if (pfd[1].fd != -1 && pfd[1].revents != 0)
			sim_guest_pty_read(g);
		for (i = 2; i < n; i++)
			if (pfd[i].revents != 0)
				sim_guest_client_read(g, &g->cl[idx[i - 2]]);
		if (pfd[0].revents & POLLIN)
			sim_guest_accept(g);
		if (g->verify_now) {
			g->verify_now = 0;
			sim_guest_verify(g);
		}
		if (now >= g->next_dircheck_us) {
			/* Our domain was destroyed behind our back (state
			 * dir removed): nobody can reach us any more. */
			if (fstat(g->a->dir_fd, &st) == -1 || st.st_nlink == 0)
				_exit(0);
			g->next_dircheck_us = now + SIM_IDLE_MS * 1000;
		}
	}
}

/* Console input: every line comes back as "echo: LINE". */
static void
sim_guest_pty_read(struct sim_guest *g)
{
	char buf[512];
	ssize_t n, i;
	char c;

	n = read(g->a->pty_fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* No reader can ever come back on a dead pty; stop
		 * polling it rather than spin on POLLHUP. */
		g->pty_ok = 0;
		return;
	}
	for (i = 0; i < n; i++) {
		c = buf[i];
		if (c == '\r' || c == '\n') {
			if (c == '\n' && g->in_cr) {
				g->in_cr = 0;
				continue;
			}
			g->in_cr = c == '\r';
			g->in[g->inlen] = '\0';
			sim_guest_console(g, "echo: %s", g->in);
			g->inlen = 0;
			continue;
		}
		g->in_cr = 0;
		if ((unsigned char)c < 0x20 || c == 0x7f)
			continue;
		if (g->inlen == sizeof(g->in) - 1) {
			g->in[g->inlen] = '\0';
			sim_guest_console(g, "echo: %s", g->in);
			g->inlen = 0;
		}
		g->in[g->inlen++] = c;
	}
}

static void
sim_guest_accept(struct sim_guest *g)
{
	int fd, i;

	while ((fd = accept4(g->a->ctl_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < SIM_NCLIENTS; i++)
			if (g->cl[i].fd == -1)
				break;
		if (i == SIM_NCLIENTS) {
			/* The backend retries on a closed connection. */
			close(fd);
			continue;
		}
		g->cl[i].fd = fd;
		g->cl[i].len = 0;
	}
}

/* One command per connection: read a line, act, answer, close. */
static void
sim_guest_client_read(struct sim_guest *g, struct sim_client *c)
{
	const char *reply;
	int fds[2] = { -1, -1 };
	char *nl;
	ssize_t n;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto done;
	c->len += n;
	c->buf[c->len] = '\0';
	if ((nl = strchr(c->buf, '\n')) == NULL) {
		if (c->len < sizeof(c->buf) - 1)
			return;
		reply = "err command too long\n";
	} else {
		*nl = '\0';
		reply = sim_guest_command(g, c->buf, fds);
	}
	sim_guest_reply(c->fd, reply, fds, fds[0] == -1 ? 0 :
	    fds[1] == -1 ? 1 : 2);
done:
	close(c->fd);
	c->fd = -1;
}

/* The reply line, with fds attached if there are any. */
static void
sim_guest_reply(int fd, const char *reply, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)reply;
	iov.iov_len = strlen(reply);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == -1) {
		/* the backend gave up waiting; it will see the state */
	}
}

static const char *
sim_guest_lease_reply(struct sim_guest *g)
{
	static char reply[400];
	char why[320];

	sim_guest_lease_refusal(g, why, sizeof(why));
	snprintf(reply, sizeof(reply), "err %s\n", why);
	return reply;
}

/*
 * The answer goes out only once the action is done, so a backend that got
 * "ok paused" has a quiescent guest.  Verification (after the answer) is
 * guest work, like any other, and shows on the console.
 */
static const char *
sim_guest_command(struct sim_guest *g, const char *cmd, int *fds)
{
	uint32_t st = __atomic_load_n(&g->sh->state, __ATOMIC_ACQUIRE);

	if (strcmp(cmd, "pause") == 0) {
		if (st == SIM_ST_SUSPENDED)
			return "err suspended\n";
		sim_guest_stop(g, SIM_ST_PAUSED);
		return "ok paused\n";
	}
	if (strcmp(cmd, "suspend") == 0) {
		sim_guest_stop(g, SIM_ST_SUSPENDED);
		/* Whatever runs next runs from a stream or a resume. */
		g->verify_pending = 1;
		return "ok suspended\n";
	}
	if (strcmp(cmd, "unpause") == 0) {
		if (st == SIM_ST_SUSPENDED)
			return "err suspended\n";
		if (sim_guest_lease(g) == -1)
			return sim_guest_lease_reply(g);
		sim_guest_run(g, g->verify_pending);
		g->verify_pending = 0;
		return "ok running\n";
	}
	if (strcmp(cmd, "lease-give") == 0) {
		/* The source's point of no return: suspended, and "go" is
		 * about to hand the domain, and its lease, over. */
		if (st != SIM_ST_SUSPENDED)
			return "err not suspended\n";
		if (g->lease_held) {
			lease_release(g->a->lease_fd);
			g->lease_held = 0;
		}
		return "ok lease given\n";
	}
	if (strcmp(cmd, "resume") == 0) {
		if (sim_guest_lease(g) == -1)
			return sim_guest_lease_reply(g);
		sim_guest_run(g, 1);
		g->verify_pending = 0;
		return "ok running\n";
	}
	if (strcmp(cmd, "memfds") == 0) {
		/* Our memory and log-dirty bitmap, for a save. */
		fds[0] = g->a->mem_fd;
		fds[1] = g->a->dirty_fd;
		return "ok memfds\n";
	}
	if (strcmp(cmd, "diskfds") == 0) {
		/* The dirty bitmap of our disk, for a live copy of it. */
		if (g->a->disk_dirty_fd == -1)
			return "err no disk\n";
		fds[0] = g->a->disk_dirty_fd;
		return "ok diskfds\n";
	}
	if (strcmp(cmd, "crash") == 0) {
		/* Failure injection: a guest that dies on its own. */
		_exit(70);
	}
	return "err unknown command\n";
}
