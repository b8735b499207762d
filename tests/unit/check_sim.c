/*
 * The sim backend as two hosts in two state dirs: domain lifecycle,
 * admission (names, uuids, memory), live and offline migration checked by
 * the guests themselves, and streams that are corrupt, truncated or
 * hostile.  The corruption cases prove the oracle can fail: a guest that
 * lost a page says MEMORY CORRUPT, a stream that lies is refused.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "iochan.h"
#include "sim.h"
#include "xenops.h"

#define WAIT_MS		10000	/* every wait on a guest is bounded */
#define MIB		(1024 * 1024)

struct host {
	char		 dir[PATH_MAX];
	struct relocd_conf conf;
	struct xo_ctx	*xo;
};

/* One side of a stream, run in a thread. */
struct sender {
	struct xo_ctx	*xo;
	uint32_t	 domid;
	int		 fd;
	int		 flags;
	uint64_t	 max_bw;
	int		 rc;
	char		 err[512];
	int		 precopy_rounds;	/* rounds before the pause */
	int		 rounds;
	uint64_t	 round_pages[16];
	uint64_t	 bytes;
	uint64_t	 paused_at_us;
	uint64_t	 start_us, end_us;
};

enum mutation {
	MUT_NONE,
	MUT_FLIP,	/* flip a byte of a data page: guest must notice */
	MUT_DROP0,	/* drop page 0 (the table) from its record */
	MUT_TRUNCATE,	/* close after trunc_at bytes */
	MUT_BADPFN,	/* a pfn beyond memory */
	MUT_BADTYPE,	/* an unknown record type */
};

struct relay {
	int		 in, out;
	enum mutation	 mut;
	uint64_t	 trunc_at;
	uint64_t	 flipped_pfn;
	int		 dropped;
	int		 done;
};

struct writer {
	int		 fd;
	const uint8_t	*buf;
	size_t		 len;
};

static char topdir[PATH_MAX];
static char *bridges[] = { "xenbr0", "xenbr1", NULL };

static void	host_open(struct host *, const char *, long);
static void	host_close(struct host *);
static struct json_object *mkcfg(const char *, const char *, long, int, int);
static uint64_t	now_us(void);
static void	sleep_ms(int);
static char	*log_read(struct host *, const char *);
static int	log_wait(struct host *, const char *, const char *);
static int	log_has(struct host *, const char *, const char *);
static uint64_t	log_tick(const char *, int);
static int	dom_state(struct host *, uint32_t);
static void	doms_none(struct host *);
static void	on_progress(const struct xo_progress *, void *);
static void	*sender_main(void *);
static void	*relay_main(void *);
static void	*writer_main(void *);
static int	read_full(int, void *, size_t);
static int	write_full(int, const void *, size_t);
static uint32_t	create_dom(struct host *, const char *, long, int, int);
static int	migrate(struct host *, uint32_t, struct host *, const char *,
		    int, enum mutation, uint64_t, uint32_t *, struct sender *,
		    struct relay *);
static int	pid_of(struct host *, uint32_t, pid_t *);
static int	proc_gone(pid_t);
static uint64_t	tick_after(const char *, const char *);
static int	ctl_send(struct host *, uint32_t, const char *);
static int	sweep_cb(const char *, const struct stat *, int,
		    struct FTW *);
static void	sweep(void);
static Suite	*sim_suite(void);

/* -- helpers ------------------------------------------------------------ */

static void
host_open(struct host *h, const char *name, long mem_mb)
{
	char err[512];

	snprintf(h->dir, sizeof(h->dir), "%s/%s.XXXXXX", topdir, name);
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	/* conf_init() is not used: only the sim keys matter here. */
	memset(&h->conf, 0, sizeof(h->conf));
	h->conf.state_dir = h->dir;
	h->conf.backend = BACKEND_SIM;
	h->conf.sim_memory_mb = mem_mb;
	h->conf.sim_arch = "x86_64";
	h->conf.sim_hostname = (char *)name;
	h->conf.sim_bridges = bridges;
	h->conf.sim_cap_shadow = 1;
	h->xo = xo_open(&h->conf, err, sizeof(err));
	ck_assert_msg(h->xo != NULL, "xo_open: %s", err);
}

static void
host_close(struct host *h)
{
	struct xo_dominfo *doms = NULL;
	size_t n = 0, i;

	if (h->xo == NULL)
		return;
	if (xo_list(h->xo, &doms, &n) == 0)
		for (i = 0; i < n; i++)
			xo_destroy(h->xo, doms[i].domid);
	free(doms);
	xo_close(h->xo);
	h->xo = NULL;
}

static struct json_object *
mkcfg(const char *name, const char *uuid, long mem_mb, int tick_ms,
    int dirty_rate)
{
	struct json_object *cfg, *ci, *bi, *sim;

	cfg = json_object_new_object();
	ci = json_object_new_object();
	bi = json_object_new_object();
	sim = json_object_new_object();
	json_object_object_add(ci, "type", json_object_new_string("pv"));
	json_object_object_add(ci, "name", json_object_new_string(name));
	json_object_object_add(ci, "uuid", json_object_new_string(uuid));
	json_object_object_add(bi, "max_memkb",
	    json_object_new_int64(mem_mb * 1024));
	json_object_object_add(bi, "target_memkb",
	    json_object_new_int64(mem_mb * 1024));
	json_object_object_add(bi, "max_vcpus", json_object_new_int(2));
	json_object_object_add(sim, "tick_ms", json_object_new_int(tick_ms));
	json_object_object_add(sim, "dirty_rate",
	    json_object_new_int(dirty_rate));
	json_object_object_add(cfg, "c_info", ci);
	json_object_object_add(cfg, "b_info", bi);
	json_object_object_add(cfg, "xmig_sim", sim);
	return cfg;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ms(int ms)
{
	usleep(ms * 1000);
}

static char *
log_read(struct host *h, const char *name)
{
	char path[PATH_MAX * 2], *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/console/%s.log", h->dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, len + 1);
	if (buf != NULL && len > 0 && fread(buf, 1, len, f) != (size_t)len)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static int
log_has(struct host *h, const char *name, const char *needle)
{
	char *s = log_read(h, name);
	int r = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return r;
}

/* Bounded: WAIT_MS at most. */
static int
log_wait(struct host *h, const char *name, const char *needle)
{
	uint64_t end = now_us() + WAIT_MS * 1000ULL;

	do {
		if (log_has(h, name, needle))
			return 1;
		sleep_ms(20);
	} while (now_us() < end);
	return 0;
}

/* First (last = 0) or last "tick N" line of a log; 0 if none. */
static uint64_t
log_tick(const char *s, int last)
{
	unsigned long long t, found = 0;
	const char *p;

	for (p = s; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL) {
		if (sscanf(p, "tick %llu", &t) == 1) {
			found = t;
			if (!last)
				break;
		}
	}
	return found;
}

static int
dom_state(struct host *h, uint32_t domid)
{
	struct xo_dominfo di;

	if (xo_info(h->xo, domid, &di) != 0)
		return -1;
	return di.state;
}

/* Nothing left behind: no domain, no directory, no incoming log. */
static void
doms_none(struct host *h)
{
	struct xo_dominfo *doms = NULL;
	char path[PATH_MAX * 2];
	struct dirent *de;
	size_t n = 1;
	DIR *d;

	ck_assert_int_eq(xo_list(h->xo, &doms, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(doms);
	snprintf(path, sizeof(path), "%s/sim/dom", h->dir);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(de->d_name[0] == '.', "left behind: %s/%s",
		    path, de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/console/vm1--incoming.log", h->dir);
	ck_assert_msg(access(path, F_OK) == -1, "left behind: %s", path);
}

static void
on_progress(const struct xo_progress *p, void *arg)
{
	struct sender *s = arg;

	if (s == NULL)
		return;
	if (p->round > s->rounds)
		s->rounds = p->round;
	if (!p->paused && p->round > s->precopy_rounds)
		s->precopy_rounds = p->round;
	if (p->round < 16 && p->pages_sent > s->round_pages[p->round])
		s->round_pages[p->round] = p->pages_sent;
	s->bytes = p->bytes;
	if (p->paused)
		s->paused_at_us = p->paused_at_us;
}

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct iochan ioc;

	ioc_init(&ioc, s->fd, WAIT_MS);
	ioc.max_bw = s->max_bw;
	s->start_us = now_us();
	s->rc = xo_suspend_to(s->xo, s->domid, &ioc, s->flags, on_progress,
	    s);
	s->end_us = now_us();
	snprintf(s->err, sizeof(s->err), "%s", xo_errmsg(s->xo));
	close(s->fd);
	return NULL;
}

static int
read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int
write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Forwards the stream record by record, changing what it was told to. */
static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	uint8_t hdr[SIM_STREAM_HDR_LEN], rh[8], *body;
	uint64_t sent = 0, pfn, npages;
	uint32_t type, len, count, i, keep;
	int done = 0;

	body = malloc(SIM_PAGE_DATA_LEN(SIM_BATCH_PAGES));
	if (body == NULL || read_full(r->in, hdr, sizeof(hdr)) == -1)
		goto out;
	npages = be64toh(*(uint64_t *)(hdr + 16));
	if (write_full(r->out, hdr, sizeof(hdr)) == -1)
		goto out;
	sent = sizeof(hdr);
	while (!done) {
		if (read_full(r->in, rh, 8) == -1)
			goto out;
		type = be32toh(*(uint32_t *)rh);
		len = be32toh(*(uint32_t *)(rh + 4));
		if (len > SIM_PAGE_DATA_LEN(SIM_BATCH_PAGES) ||
		    read_full(r->in, body, len) == -1)
			goto out;
		if (type == SIM_REC_END)
			done = 1;
		if (type == SIM_REC_PAGE_DATA &&
		    (r->done == 0 || r->mut == MUT_DROP0)) {
			count = be32toh(*(uint32_t *)body);
			switch (r->mut) {
			case MUT_FLIP:
				for (i = 0; i < count; i++) {
					pfn = be64toh(*(uint64_t *)(body + 8 +
					    i * 8));
					if (pfn >= SIM_TABLE_PAGES(npages) + 11)
						break;
				}
				if (i == count)
					break;
				body[8 + count * 8 + i * SIM_PAGE_SIZE + 100] ^=
				    0x40;
				r->flipped_pfn = pfn;
				r->done = 1;
				break;
			case MUT_DROP0:
				/* A sender that never sends page 0: in
				 * every round, since the page is written
				 * on (pfns come in ascending order). */
				if (be64toh(*(uint64_t *)(body + 8)) != 0)
					break;
				keep = count - 1;
				memmove(body + 8, body + 16, keep * 8);
				memmove(body + 8 + keep * 8,
				    body + 8 + count * 8 + SIM_PAGE_SIZE,
				    (size_t)keep * SIM_PAGE_SIZE);
				*(uint32_t *)body = htobe32(keep);
				*(uint32_t *)(body + 4) = 0;
				len = SIM_PAGE_DATA_LEN(keep);
				*(uint32_t *)(rh + 4) = htobe32(len);
				r->dropped++;
				if (keep == 0)
					continue;
				break;
			case MUT_BADPFN:
				*(uint64_t *)(body + 8 + 8 * (count / 2)) =
				    htobe64(npages + 5);
				r->done = 1;
				break;
			default:
				break;
			}
		}
		if (type == SIM_REC_ROUND_END && r->mut == MUT_BADTYPE &&
		    r->done == 0) {
			*(uint32_t *)rh = htobe32(99);
			r->done = 1;
		}
		if (r->mut == MUT_TRUNCATE && sent + 8 + len > r->trunc_at) {
			/* Part of this record, then the wire is cut. */
			size_t part = r->trunc_at - sent;

			if (part > 8) {
				write_full(r->out, rh, 8);
				write_full(r->out, body, part - 8);
			} else
				write_full(r->out, rh, part);
			r->done = 1;
			goto out;
		}
		if (write_full(r->out, rh, 8) == -1 ||
		    write_full(r->out, body, len) == -1)
			goto out;
		sent += 8 + len;
	}
out:
	/* Both ends, as a cut wire: the sender fails too. */
	close(r->out);
	close(r->in);
	free(body);
	return NULL;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	write_full(w->fd, w->buf, w->len);
	close(w->fd);
	return NULL;
}

static uint32_t
create_dom(struct host *h, const char *name, long mem_mb, int tick_ms,
    int dirty_rate)
{
	struct json_object *cfg;
	char uuid[37];
	uint32_t domid = 0;
	int rc;

	snprintf(uuid, sizeof(uuid), "5a5a5a5a-0000-4000-8000-%012x",
	    (unsigned)(now_us() & 0xffffffff));
	cfg = mkcfg(name, uuid, mem_mb, tick_ms, dirty_rate);
	rc = xo_create(h->xo, cfg, &domid);
	json_object_put(cfg);
	ck_assert_msg(rc == 0, "create %s: %s", name, xo_errmsg(h->xo));
	return domid;
}

/*
 * Save domid of host a into a restore on host b as NAME, concurrently,
 * through a socketpair (and a relay thread if a mutation is asked for).
 * Returns the restore's rc; *s holds the sender's.
 */
static int
migrate(struct host *a, uint32_t domid, struct host *b, const char *name,
    int flags, enum mutation mut, uint64_t trunc_at, uint32_t *domid_b,
    struct sender *s, struct relay *r)
{
	struct json_object *cfg = NULL;
	struct iochan ioc;
	pthread_t st, rt;
	int sp[2], rp[2], rc, fl;

	ck_assert_int_eq(xo_config_get(a->xo, domid, &cfg), 0);
	json_object_object_add(json_object_object_get(cfg, "c_info"), "name",
	    json_object_new_string(name));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(s, 0, sizeof(*s));
	s->xo = a->xo;
	s->domid = domid;
	s->fd = sp[0];
	s->flags = flags;
	if (flags & XO_SUSPEND_LIVE)
		s->max_bw = 100 * MIB;	/* long enough a round 1 to dirty */
	memset(r, 0, sizeof(*r));
	r->mut = mut;
	r->trunc_at = trunc_at;
	if (mut != MUT_NONE) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, rp), 0);
		r->in = sp[1];
		r->out = rp[0];
		ck_assert_int_eq(pthread_create(&rt, NULL, relay_main, r), 0);
		sp[1] = rp[1];
	}
	fl = fcntl(sp[1], F_GETFL);
	fcntl(sp[1], F_SETFL, fl | O_NONBLOCK);
	ck_assert_int_eq(pthread_create(&st, NULL, sender_main, s), 0);
	ioc_init(&ioc, sp[1], WAIT_MS);
	rc = xo_restore_from(b->xo, cfg, &ioc, domid_b, on_progress, NULL);
	close(sp[1]);
	pthread_join(st, NULL);
	if (mut != MUT_NONE)
		pthread_join(rt, NULL);
	json_object_put(cfg);
	return rc;
}

static int
pid_of(struct host *h, uint32_t domid, pid_t *pid)
{
	char path[PATH_MAX * 2];
	FILE *f;
	int p, r;

	snprintf(path, sizeof(path), "%s/sim/dom/%u/pid", h->dir, domid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	r = fscanf(f, "%d", &p);
	fclose(f);
	if (r != 1)
		return -1;
	*pid = p;
	return 0;
}

/* Gone, or a zombie nobody reaped yet (we are not its parent). */
static int
proc_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

/* The first tick after the line holding marker. */
static uint64_t
tick_after(const char *s, const char *marker)
{
	const char *p;

	if (s == NULL || (p = strstr(s, marker)) == NULL)
		return 0;
	return log_tick(p, 0);
}

static int
ctl_send(struct host *h, uint32_t domid, const char *line)
{
	struct sockaddr_un sun;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sim/dom/%u/ctl.sock",
	    h->dir, domid);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (r == 0)
		r = write_full(fd, line, strlen(line));
	close(fd);
	return r;
}

/* -- tests -------------------------------------------------------------- */

START_TEST(test_lifecycle)
{
	struct host a;
	struct xo_dominfo *doms = NULL, di;
	struct xo_hostinfo hi;
	struct json_object *cfg = NULL;
	struct sockaddr_un sun;
	struct stat lst;
	char con[256], path[PATH_MAX * 2], link[PATH_MAX], buf[512];
	char listen_ino[64];
	uint64_t t1, t2, end;
	uint32_t domid, d2;
	size_t n = 0, got = 0;
	pid_t pid;
	DIR *d;
	struct dirent *de;
	int lfd, pty, nfds = 0;
	ssize_t k;

	host_open(&a, "A", 256);
	/* Stands for relocd's listening socket: must not leak to guests. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/listen.sock", a.dir);
	ck_assert_int_ne(lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(fstat(lfd, &lst), 0);
	snprintf(listen_ino, sizeof(listen_ino), "socket:[%lu]",
	    (unsigned long)lst.st_ino);

	domid = create_dom(&a, "vm1", 16, 50, 500);
	ck_assert_uint_eq(domid, 1);
	d2 = create_dom(&a, "vm2", 8, 1000, 0);
	ck_assert_uint_eq(d2, 2);
	ck_assert_int_eq(xo_list(a.xo, &doms, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(doms[0].name, "vm1");
	ck_assert_uint_eq(doms[0].domid, 1);
	ck_assert_uint_eq(doms[0].memory_kb, 16 * 1024);
	ck_assert_uint_eq(doms[0].vcpus, 2);
	ck_assert_int_eq(doms[0].state, XO_RUNNING);
	ck_assert_str_eq(doms[1].name, "vm2");
	free(doms);

	ck_assert_int_eq(xo_host_info(a.xo, &hi), 0);
	ck_assert_str_eq(hi.hostname, "A");
	ck_assert_str_eq(hi.arch, "x86_64");
	ck_assert_str_eq(hi.xen_version, "4.17.0-sim");
	ck_assert_uint_eq(hi.total_kb, 256 * 1024);
	ck_assert_uint_eq(hi.free_kb, (256 - 24) * 1024);
	ck_assert_uint_eq(hi.nr_domains, 2);
	ck_assert_int_eq(hi.cap_shadow, 1);
	ck_assert_int_eq(hi.cap_hap, 1);
	ck_assert_str_eq(hi.bridges[1], "xenbr1");
	ck_assert_ptr_null(hi.bridges[2]);
	xo_hostinfo_dispose(&hi);

	ck_assert_int_eq(xo_lookup(a.xo, "vm2", &d2), 0);
	ck_assert_uint_eq(d2, 2);
	ck_assert_int_eq(xo_config_get(a.xo, domid, &cfg), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    json_object_object_get(cfg, "c_info"), "name")), "vm1");
	json_object_put(cfg);

	/* The guest: its own session, only its own fds. */
	ck_assert_int_eq(pid_of(&a, domid, &pid), 0);
	ck_assert_int_ne(getsid(pid), -1);
	ck_assert_int_ne(getsid(pid), getsid(0));
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		nfds++;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    de->d_name);
		k = readlink(path, link, sizeof(link) - 1);
		if (k < 0)
			continue;
		link[k] = '\0';
		ck_assert_msg(strcmp(link, listen_ino) != 0,
		    "the guest inherited a listening socket (fd %s)",
		    de->d_name);
	}
	closedir(d);
	ck_assert_msg(nfds <= 3 + 9, "guest has %d fds", nfds);
	close(lfd);

	/* Heartbeat, pause (ticks stop), unpause (ticks go on). */
	ck_assert(log_wait(&a, "vm1", "tick 3"));
	ck_assert(log_has(&a, "vm1", "booted"));
	ck_assert_int_eq(xo_pause(a.xo, domid), 0);
	ck_assert_int_eq(dom_state(&a, domid), XO_PAUSED);
	{
		char *s = log_read(&a, "vm1");

		t1 = log_tick(s, 1);
		free(s);
	}
	sleep_ms(300);
	{
		char *s = log_read(&a, "vm1");

		t2 = log_tick(s, 1);
		free(s);
	}
	ck_assert_uint_eq(t1, t2);
	ck_assert_int_eq(xo_pause(a.xo, domid), 0);
	ck_assert_int_eq(xo_unpause(a.xo, domid), 0);
	ck_assert_int_eq(dom_state(&a, domid), XO_RUNNING);
	snprintf(buf, sizeof(buf), "tick %" PRIu64 "\n", t1 + 2);
	ck_assert(log_wait(&a, "vm1", buf));
	ck_assert(!log_has(&a, "vm1", "verified"));

	/* The console: a pty that echoes lines, and logs them. */
	ck_assert_int_eq(xo_console_path(a.xo, domid, con, sizeof(con)), 0);
	ck_assert_msg(strncmp(con, "/dev/pts/", 9) == 0, "console %s", con);
	ck_assert_int_ne(pty = open(con, O_RDWR | O_NOCTTY | O_NONBLOCK), -1);
	ck_assert_int_eq(write(pty, "hello guest\r", 12), 12);
	end = now_us() + WAIT_MS * 1000ULL;
	memset(buf, 0, sizeof(buf));
	while (strstr(buf, "echo: hello guest\r\n") == NULL && now_us() < end) {
		struct pollfd pfd = { .fd = pty, .events = POLLIN };

		poll(&pfd, 1, 100);
		k = read(pty, buf + got, sizeof(buf) - 1 - got);
		if (k > 0)
			got += k;
		if (got > sizeof(buf) / 2) {
			/* keep the tail */
			memmove(buf, buf + got - 64, 64);
			got = 64;
		}
		buf[got] = '\0';
	}
	ck_assert_msg(strstr(buf, "echo: hello guest\r\n") != NULL,
	    "no echo on the pty: '%s'", buf);
	close(pty);
	ck_assert(log_wait(&a, "vm1", "echo: hello guest\n"));

	/* Destroy: the process goes, the log stays. */
	ck_assert_int_eq(xo_destroy(a.xo, domid), 0);
	ck_assert(proc_gone(pid));
	ck_assert_int_eq(xo_info(a.xo, domid, &di), XO_E_NOTFOUND);
	ck_assert_int_eq(xo_destroy(a.xo, domid), XO_E_NOTFOUND);
	ck_assert(log_has(&a, "vm1", "tick 1\n"));
	ck_assert_int_eq(xo_destroy(a.xo, d2), 0);
	/* Domids are not reused. */
	ck_assert_uint_eq(create_dom(&a, "vm3", 8, 1000, 0), 3);
	host_close(&a);
}
END_TEST

START_TEST(test_duplicates)
{
	struct host a;
	struct json_object *cfg;
	struct iochan ioc;
	uint32_t domid, d;
	uint64_t t0;
	int sp[2], rc;

	host_open(&a, "A", 256);
	cfg = mkcfg("vm1", "11111111-2222-4333-8444-555555555555", 8, 1000,
	    0);
	ck_assert_int_eq(xo_create(a.xo, cfg, &domid), 0);
	json_object_put(cfg);

	cfg = mkcfg("vm1", "11111111-2222-4333-8444-666666666666", 8, 1000,
	    0);
	ck_assert_int_eq(xo_create(a.xo, cfg, &d), XO_E_EXISTS);
	ck_assert_msg(strstr(xo_errmsg(a.xo), "'vm1'") != NULL, "%s",
	    xo_errmsg(a.xo));
	json_object_put(cfg);

	cfg = mkcfg("vm2", "11111111-2222-4333-8444-555555555555", 8, 1000,
	    0);
	ck_assert_int_eq(xo_create(a.xo, cfg, &d), XO_E_EXISTS);
	ck_assert_msg(strstr(xo_errmsg(a.xo),
	    "uuid 11111111-2222-4333-8444-555555555555") != NULL, "%s",
	    xo_errmsg(a.xo));

	/* A restore is refused before a byte of stream is read: the peer
	 * here never sends one, and the call must not wait for it. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ioc_init(&ioc, sp[1], 30000);
	t0 = now_us();
	rc = xo_restore_from(a.xo, cfg, &ioc, &d, NULL, NULL);
	ck_assert_int_eq(rc, XO_E_EXISTS);
	ck_assert_uint_lt(now_us() - t0, 2000000);
	ck_assert_uint_eq(ioc.nread, 0);
	json_object_put(cfg);
	close(sp[0]);
	close(sp[1]);

	/* Names that would escape the console directory. */
	cfg = mkcfg("../evil", "11111111-2222-4333-8444-777777777777", 8, 1000,
	    0);
	ck_assert_int_eq(xo_create(a.xo, cfg, &d), XO_E_FAIL);
	json_object_put(cfg);

	ck_assert_int_eq(xo_destroy(a.xo, domid), 0);
	host_close(&a);
}
END_TEST

START_TEST(test_nomem)
{
	struct host a;
	struct json_object *cfg;
	struct iochan ioc;
	struct xo_hostinfo hi;
	uint32_t d;
	int sp[2];

	host_open(&a, "A", 64);
	create_dom(&a, "big", 48, 1000, 0);
	cfg = mkcfg("more", "11111111-2222-4333-8444-888888888888", 32, 1000,
	    0);
	ck_assert_int_eq(xo_create(a.xo, cfg, &d), XO_E_NOMEM);
	ck_assert_msg(strstr(xo_errmsg(a.xo), "needs 32 MiB") != NULL &&
	    strstr(xo_errmsg(a.xo), "16 MiB free") != NULL, "%s",
	    xo_errmsg(a.xo));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ioc_init(&ioc, sp[1], 30000);
	ck_assert_int_eq(xo_restore_from(a.xo, cfg, &ioc, &d, NULL, NULL),
	    XO_E_NOMEM);
	close(sp[0]);
	close(sp[1]);
	json_object_put(cfg);
	ck_assert_int_eq(xo_host_info(a.xo, &hi), 0);
	ck_assert_uint_eq(hi.free_kb, 16 * 1024);
	xo_hostinfo_dispose(&hi);
	host_close(&a);
}
END_TEST

/* Live: pre-copy while dirtying, the guest at B checks every page. */
START_TEST(test_live_migration)
{
	struct host a, b;
	struct sender s;
	struct relay r;
	char *la, *lb, want[64];
	uint64_t last_a, first_b;
	uint32_t domid, db = 0;
	int rc, i;

	host_open(&a, "A", 256);
	host_open(&b, "B", 256);
	domid = create_dom(&a, "vm1", 32, 100, 2000);
	ck_assert(log_wait(&a, "vm1", "tick 4"));

	rc = migrate(&a, domid, &b, "vm1--incoming", XO_SUSPEND_LIVE,
	    MUT_NONE, 0, &db, &s, &r);
	ck_assert_msg(s.rc == 0, "suspend_to: %s", s.err);
	ck_assert_msg(rc == 0, "restore_from: %s", xo_errmsg(b.xo));
	fprintf(stderr, "live migration of 32 MiB at 2000 pages/s: %d "
	    "pre-copy rounds + final, %.1f MiB in %.0f ms, downtime to "
	    "stream end %.1f ms; pages per round:", s.precopy_rounds,
	    s.bytes / (double)MIB, (s.end_us - s.start_us) / 1000.0,
	    (s.end_us - s.paused_at_us) / 1000.0);
	for (i = 1; i <= s.rounds && i < 16; i++)
		fprintf(stderr, " %" PRIu64, s.round_pages[i]);
	fprintf(stderr, "\n");
	ck_assert_int_ge(s.precopy_rounds, 2);
	ck_assert_int_le(s.precopy_rounds, SIM_PRECOPY_MAX_ROUNDS);
	ck_assert_uint_eq(s.round_pages[1], 8192);
	ck_assert_uint_gt(s.paused_at_us, 0);

	ck_assert_int_eq(dom_state(&a, domid), XO_SUSPENDED);
	ck_assert_int_eq(dom_state(&b, db), XO_PAUSED);
	ck_assert_int_eq(xo_unpause(a.xo, domid), XO_E_STATE);

	/* Ticks stop at A ... */
	la = log_read(&a, "vm1");
	last_a = log_tick(la, 1);
	free(la);
	ck_assert_uint_ge(last_a, 4);

	/* ... and go on at B from there, under its own name. */
	ck_assert_int_eq(xo_rename(b.xo, db, "vm1", "vm1"), XO_E_RENAMED);
	ck_assert_int_eq(xo_rename(b.xo, db, "vm1--incoming", "vm1"), 0);
	ck_assert_int_eq(xo_rename(a.xo, domid, "vm1", "vm1--migratedaway"),
	    0);
	ck_assert_int_eq(xo_unpause(b.xo, db), 0);
	ck_assert_msg(log_wait(&b, "vm1", "verified 8192 pages"),
	    "B did not verify");
	snprintf(want, sizeof(want), "tick %" PRIu64 "\n", last_a + 3);
	ck_assert(log_wait(&b, "vm1", want));
	lb = log_read(&b, "vm1");
	first_b = log_tick(lb, 0);
	ck_assert_msg(strstr(lb, "MEMORY CORRUPT") == NULL, "%s", lb);
	ck_assert_msg(strstr(lb, "booted") == NULL, "B booted afresh");
	free(lb);
	ck_assert_uint_eq(first_b, last_a + 1);
	/* Still at A, nothing new after the suspend. */
	la = log_read(&a, "vm1--migratedaway");
	ck_assert_ptr_nonnull(la);
	ck_assert_uint_eq(log_tick(la, 1), last_a);
	free(la);

	ck_assert_int_eq(xo_destroy(a.xo, domid), 0);
	host_close(&a);
	host_close(&b);
}
END_TEST

START_TEST(test_offline_migration)
{
	struct host a, b;
	struct sender s;
	struct relay r;
	char *la, *lb, want[64];
	uint64_t last_a;
	uint32_t domid, db = 0;
	int rc;

	host_open(&a, "A", 256);
	host_open(&b, "B", 256);
	/* Few pages written: most of memory is holes at the source, sent
	 * as zeros without touching them, around the pages written. */
	domid = create_dom(&a, "vm1", 16, 100, 30);
	ck_assert(log_wait(&a, "vm1", "tick 3"));
	rc = migrate(&a, domid, &b, "vm1--incoming", 0, MUT_NONE, 0, &db, &s,
	    &r);
	ck_assert_msg(s.rc == 0, "suspend_to: %s", s.err);
	ck_assert_msg(rc == 0, "restore_from: %s", xo_errmsg(b.xo));
	ck_assert_int_eq(s.precopy_rounds, 0);
	ck_assert_int_eq(s.rounds, 1);
	fprintf(stderr, "offline migration of 16 MiB: %.1f MiB in %.0f ms\n",
	    s.bytes / (double)MIB, (s.end_us - s.start_us) / 1000.0);
	la = log_read(&a, "vm1");
	last_a = log_tick(la, 1);
	free(la);
	ck_assert_int_eq(xo_unpause(b.xo, db), 0);
	ck_assert(log_wait(&b, "vm1--incoming", "verified 4096 pages"));
	snprintf(want, sizeof(want), "tick %" PRIu64 "\n", last_a + 1);
	ck_assert(log_wait(&b, "vm1--incoming", want));
	lb = log_read(&b, "vm1--incoming");
	ck_assert_uint_eq(log_tick(lb, 0), last_a + 1);
	ck_assert(strstr(lb, "MEMORY CORRUPT") == NULL);
	free(lb);
	host_close(&a);
	host_close(&b);
}
END_TEST

/* A flipped byte passes every structural check; the guest catches it. */
START_TEST(test_corrupt_flip)
{
	struct host a, b;
	struct sender s;
	struct relay r;
	char want[64];
	uint32_t domid, db = 0;
	int rc;

	host_open(&a, "A", 256);
	host_open(&b, "B", 256);
	domid = create_dom(&a, "vm1", 16, 100, 2000);
	ck_assert(log_wait(&a, "vm1", "tick 2"));
	rc = migrate(&a, domid, &b, "vm1--incoming", 0, MUT_FLIP, 0, &db, &s,
	    &r);
	ck_assert_msg(s.rc == 0, "suspend_to: %s", s.err);
	ck_assert_msg(rc == 0, "restore_from: %s", xo_errmsg(b.xo));
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(xo_unpause(b.xo, db), 0);
	snprintf(want, sizeof(want), "MEMORY CORRUPT page %" PRIu64 " ",
	    r.flipped_pfn);
	ck_assert_msg(log_wait(&b, "vm1--incoming", want),
	    "the guest missed a corrupt page %" PRIu64, r.flipped_pfn);
	ck_assert(!log_has(&b, "vm1--incoming", "verified"));

	/* The source is intact: resumed, it verifies. */
	ck_assert_int_eq(xo_resume(a.xo, domid), 0);
	ck_assert(log_wait(&a, "vm1", "verified 4096 pages"));
	host_close(&a);
	host_close(&b);
}
END_TEST

/* A lost page (here the generation table itself) is caught too. */
START_TEST(test_corrupt_drop)
{
	struct host a, b;
	struct sender s;
	struct relay r;
	uint32_t domid, db = 0;
	int rc;

	host_open(&a, "A", 256);
	host_open(&b, "B", 256);
	domid = create_dom(&a, "vm1", 16, 100, 2000);
	ck_assert(log_wait(&a, "vm1", "tick 2"));
	rc = migrate(&a, domid, &b, "vm1--incoming", XO_SUSPEND_LIVE,
	    MUT_DROP0, 0, &db, &s, &r);
	ck_assert_msg(s.rc == 0, "suspend_to: %s", s.err);
	ck_assert_msg(rc == 0, "restore_from: %s", xo_errmsg(b.xo));
	ck_assert_int_ge(r.dropped, 2);
	ck_assert_int_eq(xo_unpause(b.xo, db), 0);
	ck_assert(log_wait(&b, "vm1--incoming", "MEMORY CORRUPT page"));
	ck_assert(!log_has(&b, "vm1--incoming", "verified"));
	(void)domid;
	host_close(&a);
	host_close(&b);
}
END_TEST

/* Structurally bad streams are refused, and nothing is left on B. */
START_TEST(test_bad_streams)
{
	static const struct {
		enum mutation	 mut;
		const char	*msg;
	} cases[] = {
		{ MUT_BADPFN, "beyond the domain's 4096 pages" },
		{ MUT_BADTYPE, "unknown record type 99" },
	};
	struct host a, b;
	struct sender s;
	struct relay r;
	uint32_t domid, db;
	size_t i;
	int rc;

	host_open(&a, "A", 256);
	host_open(&b, "B", 256);
	domid = create_dom(&a, "vm1", 16, 100, 1000);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = migrate(&a, domid, &b, "vm1--incoming", XO_SUSPEND_LIVE,
		    cases[i].mut, 0, &db, &s, &r);
		ck_assert_int_eq(rc, XO_E_BADSTREAM);
		ck_assert_msg(strstr(xo_errmsg(b.xo), cases[i].msg) != NULL,
		    "%s", xo_errmsg(b.xo));
		doms_none(&b);
		/* Whether the sender noticed (the rest of the stream may
		 * have fit in the socket buffers) or not, the source
		 * resumes. */
		ck_assert_int_eq(xo_resume(a.xo, domid), 0);
		ck_assert_int_eq(dom_state(&a, domid), XO_RUNNING);
	}
	host_close(&a);
	host_close(&b);
}
END_TEST

/* Hand-made streams: wrong size, endless, no VCPU. */
START_TEST(test_hostile_streams)
{
	struct host b;
	struct json_object *cfg;
	struct writer w;
	struct iochan ioc;
	pthread_t t;
	uint8_t *buf, *p;
	uint32_t db;
	size_t len, k;
	int sp[2], rc, which;
	const char *want[] = { "the config says 256", "stream exceeds",
	    "END before the VCPU", "not a sim stream" };

	host_open(&b, "B", 256);
	cfg = mkcfg("vm1--incoming", "11111111-2222-4333-8444-999999999999",
	    1, 100, 0);
	len = SIM_STREAM_HDR_LEN + 10 * (8 + SIM_PAGE_DATA_LEN(256)) + 64;
	ck_assert_ptr_nonnull(buf = calloc(1, len));
	for (which = 0; which < 4; which++) {
		p = buf;
		*(uint64_t *)p = htobe64(which == 3 ? 0x4c6962786c537472ULL :
		    SIM_STREAM_IDENT);
		*(uint32_t *)(p + 8) = htobe32(SIM_STREAM_VERSION);
		*(uint32_t *)(p + 12) = htobe32(SIM_PAGE_SIZE);
		*(uint64_t *)(p + 16) = htobe64(which == 0 ? 512 : 256);
		p += SIM_STREAM_HDR_LEN;
		/* 10 full passes, no round ends: only the byte bound
		 * stops it.  Or one pass and END without VCPU. */
		for (k = 0; k < (which == 2 ? 1 : 10); k++) {
			uint32_t i;

			*(uint32_t *)p = htobe32(SIM_REC_PAGE_DATA);
			*(uint32_t *)(p + 4) = htobe32(SIM_PAGE_DATA_LEN(256));
			*(uint32_t *)(p + 8) = htobe32(256);
			*(uint32_t *)(p + 12) = 0;
			for (i = 0; i < 256; i++)
				*(uint64_t *)(p + 16 + i * 8) = htobe64(i);
			p += 8 + SIM_PAGE_DATA_LEN(256);
		}
		*(uint32_t *)p = htobe32(SIM_REC_END);
		*(uint32_t *)(p + 4) = 0;
		p += 8;
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
		w.fd = sp[0];
		w.buf = buf;
		w.len = p - buf;
		ck_assert_int_eq(pthread_create(&t, NULL, writer_main, &w), 0);
		ioc_init(&ioc, sp[1], WAIT_MS);
		rc = xo_restore_from(b.xo, cfg, &ioc, &db, NULL, NULL);
		ck_assert_int_eq(rc, XO_E_BADSTREAM);
		ck_assert_msg(strstr(xo_errmsg(b.xo), want[which]) != NULL,
		    "case %d: %s", which, xo_errmsg(b.xo));
		close(sp[1]);
		pthread_join(t, NULL);
		doms_none(&b);
	}
	free(buf);
	json_object_put(cfg);
	host_close(&b);
}
END_TEST

START_TEST(test_truncated)
{
	struct host a, b;
	struct sender s;
	struct relay r;
	uint32_t domid, db;
	int rc;

	host_open(&a, "A", 256);
	host_open(&b, "B", 256);
	domid = create_dom(&a, "vm1", 16, 100, 1000);
	rc = migrate(&a, domid, &b, "vm1--incoming", 0, MUT_TRUNCATE,
	    1 * MIB + 123, &db, &s, &r);
	ck_assert_int_eq(rc, XO_E_IO);
	ck_assert_msg(strstr(xo_errmsg(b.xo), "peer closed") != NULL, "%s",
	    xo_errmsg(b.xo));
	doms_none(&b);
	/* Offline: the source was suspended first; resume brings it back
	 * whole. */
	ck_assert_int_eq(dom_state(&a, domid), XO_SUSPENDED);
	ck_assert_int_eq(xo_resume(a.xo, domid), 0);
	ck_assert(log_wait(&a, "vm1", "verified 4096 pages"));
	host_close(&a);
	host_close(&b);
}
END_TEST

START_TEST(test_resume_after_suspend)
{
	struct host a;
	struct sender s;
	pthread_t st;
	char *la, want[64], sink[65536];
	uint64_t last;
	uint32_t domid;
	int sp[2];

	host_open(&a, "A", 256);
	domid = create_dom(&a, "vm1", 16, 50, 3000);
	ck_assert(log_wait(&a, "vm1", "tick 3"));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(&s, 0, sizeof(s));
	s.xo = a.xo;
	s.domid = domid;
	s.fd = sp[0];
	s.flags = XO_SUSPEND_LIVE;
	s.max_bw = 200 * MIB;
	ck_assert_int_eq(pthread_create(&st, NULL, sender_main, &s), 0);
	while (read(sp[1], sink, sizeof(sink)) > 0)
		;
	pthread_join(st, NULL);
	close(sp[1]);
	ck_assert_msg(s.rc == 0, "%s", s.err);
	ck_assert_int_eq(dom_state(&a, domid), XO_SUSPENDED);
	la = log_read(&a, "vm1");
	last = log_tick(la, 1);
	free(la);
	sleep_ms(200);
	la = log_read(&a, "vm1");
	ck_assert_uint_eq(log_tick(la, 1), last);
	free(la);

	ck_assert_int_eq(xo_resume(a.xo, domid), 0);
	ck_assert_int_eq(dom_state(&a, domid), XO_RUNNING);
	ck_assert(log_wait(&a, "vm1", "verified 4096 pages"));
	snprintf(want, sizeof(want), "tick %" PRIu64 "\n", last + 2);
	ck_assert(log_wait(&a, "vm1", want));
	la = log_read(&a, "vm1");
	ck_assert_uint_eq(tick_after(la, "verified"), last + 1);
	ck_assert_msg(strstr(la, "MEMORY CORRUPT") == NULL, "%s", la);
	free(la);
	host_close(&a);
}
END_TEST

START_TEST(test_rename)
{
	struct host a;
	char path[PATH_MAX * 2];
	uint32_t d1, d2;
	FILE *f;

	host_open(&a, "A", 256);
	d1 = create_dom(&a, "vm1", 8, 50, 0);
	d2 = create_dom(&a, "vm2", 8, 1000, 0);
	/* A stale log under the new name is moved aside. */
	snprintf(path, sizeof(path), "%s/console/vm9.log", a.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("old vm9\n", f);
	fclose(f);
	ck_assert_int_eq(xo_rename(a.xo, d1, "wrong", "vm9"), XO_E_RENAMED);
	ck_assert_int_eq(xo_rename(a.xo, d1, "vm1", "vm2"), XO_E_EXISTS);
	ck_assert_int_eq(xo_rename(a.xo, d1, "vm1", "a/b"), XO_E_FAIL);
	ck_assert(log_wait(&a, "vm1", "tick 2"));
	ck_assert_int_eq(xo_rename(a.xo, d1, "vm1", "vm9"), 0);
	ck_assert_int_eq(xo_lookup(a.xo, "vm9", &d2), 0);
	ck_assert_uint_eq(d2, d1);
	snprintf(path, sizeof(path), "%s/console/vm9.log.old", a.dir);
	ck_assert(access(path, F_OK) == 0);
	ck_assert(log_has(&a, "vm9", "tick 1\n"));
	/* The guest goes on writing to the renamed file. */
	ck_assert(log_wait(&a, "vm9", "tick 6\n"));
	snprintf(path, sizeof(path), "%s/console/vm1.log", a.dir);
	ck_assert(access(path, F_OK) == -1);
	host_close(&a);
}
END_TEST

START_TEST(test_crash)
{
	struct host a;
	uint32_t domid;
	uint64_t end;

	host_open(&a, "A", 256);
	domid = create_dom(&a, "vm1", 8, 1000, 0);
	ck_assert_int_eq(dom_state(&a, domid), XO_RUNNING);
	ck_assert_int_eq(ctl_send(&a, domid, "crash\n"), 0);
	end = now_us() + WAIT_MS * 1000ULL;
	while (dom_state(&a, domid) != XO_CRASHED && now_us() < end)
		sleep_ms(20);
	ck_assert_int_eq(dom_state(&a, domid), XO_CRASHED);
	ck_assert_int_eq(xo_pause(a.xo, domid), XO_E_STATE);
	ck_assert_int_eq(xo_destroy(a.xo, domid), 0);
	doms_none(&a);
	host_close(&a);
}
END_TEST

/* -- harness ------------------------------------------------------------ */

/* Kill the guests a failed test left behind (only those under topdir:
 * ours), then remove everything. */
static int
sweep_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	unsigned long long start, now_start;
	char stat_path[64], buf[1024], *p;
	FILE *f;
	int pid, fd, field;
	ssize_t n;

	if (type == FTW_F && strcmp(base, "pid") == 0 &&
	    (f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d %llu", &pid, &start) == 2 && pid > 1) {
			snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat",
			    pid);
			if ((fd = open(stat_path, O_RDONLY)) != -1) {
				n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				buf[n > 0 ? n : 0] = '\0';
				p = strrchr(buf, ')');
				for (field = 2; p != NULL && field < 22;
				    field++)
					p = strchr(p + 1, ' ');
				if (p != NULL && sscanf(p, " %llu",
				    &now_start) == 1 && now_start == start)
					kill(pid, SIGKILL);
			}
		}
		fclose(f);
	}
	return 0;
}

static int
rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void
sweep(void)
{
	nftw(topdir, sweep_cb, 16, FTW_PHYS);
	nftw(topdir, rm_cb, 16, FTW_PHYS | FTW_DEPTH);
}

static Suite *
sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc;

	tc = tcase_create("host");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_nomem);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("migration");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_live_migration);
	tcase_add_test(tc, test_offline_migration);
	tcase_add_test(tc, test_resume_after_suspend);
	suite_add_tcase(s, tc);

	tc = tcase_create("oracle");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_corrupt_flip);
	tcase_add_test(tc, test_corrupt_drop);
	tcase_add_test(tc, test_bad_streams);
	tcase_add_test(tc, test_hostile_streams);
	tcase_add_test(tc, test_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* A peer that goes away must fail a write, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(topdir, sizeof(topdir), "/tmp/check_sim.XXXXXX");
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(sim_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sweep();
	return failed == 0 ? 0 : 1;
}
