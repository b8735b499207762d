/*
 * libFuzzer target: a session with an authenticated peer, from the first
 * request frame to the end of xl's migration protocol (relocd/engine.c
 * engine_dispatch -> the request's handler, e.g. recv.c recv_migrate,
 * with the frame decoder, xl header decoder, domain-config parser and
 * incoming policy underneath), and the root helper it talks to
 * (helper.c, helper_recv.c), run in a thread on the other end of the
 * same socketpair as in relocd.  The input is what the peer sends: it is
 * written into one end of a socketpair and the network side reads the
 * other end through a plain (non-TLS) iochan, exactly as it reads the
 * decrypted TLS stream.
 *
 * TLS itself is not in the loop (OpenSSL is fuzzed upstream); the
 * listener's non-blocking handshake is not either, because no byte of a
 * peer reaches our code before the handshake and the certificate checks
 * are done.
 *
 * The backend is an in-process fake (below) that records every call and
 * asserts the invariants:
 *  - nothing creates a domain except xo_restore_from, and only for a
 *    config that passes the incoming policy with this conf, under the
 *    name NAME--incoming, for a NAME and UUID not already on the host;
 *  - no call that acts on a local domain (suspend, resume, create) is
 *    reachable from the peer port at all;
 *  - when the session ends, every domain it restored was either
 *    destroyed or renamed to NAME after "go" (none left --incoming);
 *  - descriptors are back to where they were (no leaked socket or file);
 *  - a copy-storage session leaves no disk copy behind unless a domain
 *    was started on it.
 * Its stream format: a 4-byte little-endian length N <= 64 KiB and N
 * bytes; anything else is XO_E_BADSTREAM.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "domcfg.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

#define FUZZ_MAX_INPUT		(128 * 1024)
#define FUZZ_EXISTING_NAME	"existing"
#define FUZZ_EXISTING_UUID	"6b8d4a6e-2f3c-4a8e-9f11-0c2b7d3e5a10"
#define FUZZ_MAX_DOMS		4

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct xo_ctx {
	char	err[256];
};

struct fake_dom {
	int		 live;
	int		 incoming;	/* still NAME--incoming */
	uint32_t	 domid;
	char		 name[DOMCFG_NAME_MAX + 16];
};

static struct relocd_conf fuzz_conf;
static struct fake_dom fuzz_doms[FUZZ_MAX_DOMS];
static int fuzz_opens;
/* The second: a directory copies of disks (--copy-storage) go to. */
static char *fuzz_disk_paths[] = { "/srv/xen/", NULL, NULL };
static char fuzz_copy_dir[4200];
static char *fuzz_bridges[] = { "xenbr0", NULL };
static char *fuzz_host_bridges[] = { "xenbr0", "xenbr1", NULL };

static int	fuzz_count_fds(void);
static void	fuzz_die(const char *) __attribute__((noreturn));

static void
fuzz_die(const char *what)
{
	fprintf(stderr, "fuzz_session: invariant broken: %s\n", what);
	abort();
}

static int
fuzz_count_fds(void)
{
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* The fake backend.  Every call a peer session may make is here. */

struct xo_ctx *
xo_open(const struct relocd_conf *conf, char *err, size_t errlen)
{
	struct xo_ctx *xo;

	if ((xo = calloc(1, sizeof(*xo))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fuzz_opens++;
	return xo;
}

void
xo_close(struct xo_ctx *xo)
{
	if (xo != NULL)
		fuzz_opens--;
	free(xo);
}

const char *
xo_errmsg(const struct xo_ctx *xo)
{
	return xo->err;
}

const char *
xo_backend_name(const struct xo_ctx *xo)
{
	return "fuzz";
}

int
xo_list(struct xo_ctx *xo, struct xo_dominfo **doms, size_t *n)
{
	struct xo_dominfo *d;
	size_t i, k = 1;

	if ((d = calloc(FUZZ_MAX_DOMS + 1, sizeof(*d))) == NULL)
		return XO_E_FAIL;
	d[0].domid = 1;
	snprintf(d[0].name, sizeof(d[0].name), "%s", FUZZ_EXISTING_NAME);
	snprintf(d[0].uuid, sizeof(d[0].uuid), "%s", FUZZ_EXISTING_UUID);
	d[0].memory_kb = 65536;
	d[0].vcpus = 1;
	for (i = 0; i < FUZZ_MAX_DOMS; i++) {
		if (!fuzz_doms[i].live)
			continue;
		d[k].domid = fuzz_doms[i].domid;
		snprintf(d[k].name, sizeof(d[k].name), "%s",
		    fuzz_doms[i].name);
		k++;
	}
	*doms = d;
	*n = k;
	return 0;
}

int
xo_lookup(struct xo_ctx *xo, const char *name, uint32_t *domid)
{
	snprintf(xo->err, sizeof(xo->err), "no domain %s", name);
	return XO_E_NOTFOUND;
}

int
xo_info(struct xo_ctx *xo, uint32_t domid, struct xo_dominfo *info)
{
	snprintf(xo->err, sizeof(xo->err), "no domain %u", domid);
	return XO_E_NOTFOUND;
}

int
xo_host_info(struct xo_ctx *xo, struct xo_hostinfo *hi)
{
	memset(hi, 0, sizeof(*hi));
	snprintf(hi->hostname, sizeof(hi->hostname), "fuzzhost");
	snprintf(hi->arch, sizeof(hi->arch), "x86_64");
	snprintf(hi->xen_version, sizeof(hi->xen_version), "4.17.0");
	hi->total_kb = hi->free_kb = 4ULL * 1024 * 1024;
	hi->nr_cpus = 2;
	hi->cap_pv = hi->cap_hvm = 1;
	/* Owned by the caller (xo_hostinfo_dispose frees it). */
	if ((hi->bridges = calloc(3, sizeof(char *))) == NULL)
		return XO_E_FAIL;
	hi->bridges[0] = strdup(fuzz_host_bridges[0]);
	hi->bridges[1] = strdup(fuzz_host_bridges[1]);
	return 0;
}

void
xo_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
xo_hostinfo_dispose(struct xo_hostinfo *hi)
{
	xo_strv_free(hi->bridges);
	xo_strv_free(hi->cpu_features);
	xo_strv_free(hi->pci_free);
	hi->bridges = hi->cpu_features = hi->pci_free = NULL;
}

int
xo_config_get(struct xo_ctx *xo, uint32_t domid, struct json_object **out)
{
	fuzz_die("xo_config_get reached from the peer port");
}

int
xo_create(struct xo_ctx *xo, struct json_object *cfg, uint32_t *domid)
{
	fuzz_die("xo_create reached from the peer port");
}

int
xo_suspend_to(struct xo_ctx *xo, uint32_t domid, struct iochan *ioc,
    int flags, xo_progress_fn fn, void *arg)
{
	fuzz_die("xo_suspend_to reached from the peer port");
}

int
xo_restore_from(struct xo_ctx *xo, struct json_object *cfg,
    struct iochan *ioc, uint32_t *domid, xo_progress_fn fn, void *arg)
{
	struct domcfg_policy pol;
	struct domcfg_info info;
	struct xo_hostinfo hi;
	char why[1024], base[DOMCFG_NAME_MAX + 16];
	uint8_t lenb[4], *buf;
	uint32_t len;
	size_t n, i;
	int slot = -1;

	/* The invariant: only a config that passes every check gets here. */
	if (domcfg_info(cfg, &info, why, sizeof(why)) == -1)
		fuzz_die("restore of a config domcfg_info refuses");
	n = strlen(info.name);
	if (n <= strlen("--incoming") ||
	    strcmp(info.name + n - strlen("--incoming"), "--incoming") != 0)
		fuzz_die("restore under a name other than NAME--incoming");
	snprintf(base, sizeof(base), "%.*s", (int)(n - strlen("--incoming")),
	    info.name);
	if (strcmp(base, FUZZ_EXISTING_NAME) == 0 ||
	    strcasecmp(info.uuid, FUZZ_EXISTING_UUID) == 0)
		fuzz_die("restore of a domain the host already has");
	if (!fuzz_conf.accept_migrations)
		fuzz_die("restore while accept_migrations = 0");
	xo_host_info(xo, &hi);
	memset(&pol, 0, sizeof(pol));
	pol.disk_paths = fuzz_conf.incoming_disk_paths;
	pol.bridges = fuzz_conf.incoming_bridges;
	pol.host_bridges = hi.bridges;
	pol.max_memory_kb = (uint64_t)fuzz_conf.incoming_max_memory_mb * 1024;
	pol.max_vcpus = (unsigned)fuzz_conf.incoming_max_vcpus;
	if (domcfg_policy_check(cfg, &pol, why, sizeof(why)) == -1)
		fuzz_die("restore of a config the policy refuses");
	xo_hostinfo_dispose(&hi);

	for (i = 0; i < FUZZ_MAX_DOMS; i++)
		if (!fuzz_doms[i].live)
			slot = (int)i;
	if (slot == -1)
		fuzz_die("more incoming domains than sessions");
	if (ioc_read_full(ioc, lenb, sizeof(lenb)) == -1) {
		snprintf(xo->err, sizeof(xo->err), "stream: %s", ioc->err);
		return XO_E_IO;
	}
	len = lenb[0] | lenb[1] << 8 | lenb[2] << 16 | (uint32_t)lenb[3] << 24;
	if (len > 64 * 1024) {
		snprintf(xo->err, sizeof(xo->err), "stream too long");
		return XO_E_BADSTREAM;
	}
	if ((buf = malloc(len ? len : 1)) == NULL)
		return XO_E_FAIL;
	if (ioc_read_full(ioc, buf, len) == -1) {
		snprintf(xo->err, sizeof(xo->err), "stream: %s", ioc->err);
		free(buf);
		return XO_E_IO;
	}
	free(buf);
	fuzz_doms[slot].live = 1;
	fuzz_doms[slot].incoming = 1;
	fuzz_doms[slot].domid = 100 + slot;
	snprintf(fuzz_doms[slot].name, sizeof(fuzz_doms[slot].name), "%s",
	    info.name);
	*domid = fuzz_doms[slot].domid;
	return 0;
}

static struct fake_dom *
fuzz_dom(uint32_t domid)
{
	size_t i;

	for (i = 0; i < FUZZ_MAX_DOMS; i++)
		if (fuzz_doms[i].live && fuzz_doms[i].domid == domid)
			return &fuzz_doms[i];
	fuzz_die("call on a domain the session did not restore");
}

int
xo_rename(struct xo_ctx *xo, uint32_t domid, const char *old_name,
    const char *new_name)
{
	struct fake_dom *d = fuzz_dom(domid);

	if (strcmp(d->name, old_name) != 0)
		return XO_E_RENAMED;
	snprintf(d->name, sizeof(d->name), "%s", new_name);
	d->incoming = 0;
	return 0;
}

int
xo_pause(struct xo_ctx *xo, uint32_t domid)
{
	fuzz_dom(domid);
	return 0;
}

int
xo_unpause(struct xo_ctx *xo, uint32_t domid)
{
	if (fuzz_dom(domid)->incoming)
		fuzz_die("unpause of a NAME--incoming domain");
	return 0;
}

int
xo_resume(struct xo_ctx *xo, uint32_t domid)
{
	fuzz_die("xo_resume reached from the peer port");
}

/* The harness never forks the root helper, so there is no module to keep. */
int
xo_module_fd(void)
{
	return -1;
}

int
xo_has_leases(const struct xo_ctx *xo)
{
	fuzz_die("xo_has_leases reached from the peer port");
}

int
xo_lease_give(struct xo_ctx *xo, uint32_t domid)
{
	fuzz_die("xo_lease_give reached from the peer port");
}

/* A live copy's source side: the control port only, never a peer's. */
int
xo_has_disk_dirty(const struct xo_ctx *xo)
{
	fuzz_die("xo_has_disk_dirty reached from the peer port");
}

int
xo_disk_dirty(struct xo_ctx *xo, uint32_t domid, const char *path, int *fd)
{
	fuzz_die("xo_disk_dirty reached from the peer port");
}

int
xo_destroy(struct xo_ctx *xo, uint32_t domid)
{
	fuzz_dom(domid)->live = 0;
	return 0;
}

int
xo_console_path(struct xo_ctx *xo, uint32_t domid, char *buf, size_t len)
{
	snprintf(xo->err, sizeof(xo->err), "no console");
	return XO_E_NOTSUP;
}

const char *
xo_state_name(enum xo_state st)
{
	return "running";
}

/* The helper's side of one session, as relocd's helper process runs it. */
struct fuzz_helper {
	int		 fd;
	struct peer_ctx	 pc;
};

static void *
fuzz_helper_main(void *arg)
{
	struct fuzz_helper *fh = arg;

	helper_serve(&fuzz_conf, fh->fd, RQ_PEER, &fh->pc, -1);
	return NULL;
}

/* Remove the copies a session left in fuzz_copy_dir; how many. */
static int
fuzz_copies_clear(void)
{
	char path[4500];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(fuzz_copy_dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s%s", fuzz_copy_dir, de->d_name);
		unlink(path);
		n++;
	}
	closedir(d);
	return n;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char tmpl[4096];
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpl, sizeof(tmpl), "%s/fuzz_session.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	{
		char slots[4200];

		snprintf(slots, sizeof(slots), "%s/slots", tmpl);
		mkdir(slots, 0700);
	}
	snprintf(fuzz_copy_dir, sizeof(fuzz_copy_dir), "%s/disks/", tmpl);
	mkdir(fuzz_copy_dir, 0700);
	fuzz_disk_paths[1] = fuzz_copy_dir;
	log_init(0, LOG_USER);	/* not stderr: the fuzzer's output */
	log_setverbose(0);
	conf_init(&fuzz_conf);
	/* Replace conf_init's allocations with ours (no leak reports). */
	free(fuzz_conf.state_dir);
	cfg_strlist_free(fuzz_conf.incoming_disk_paths);
	cfg_strlist_free(fuzz_conf.incoming_bridges);
	fuzz_conf.path = "fuzz.conf";
	fuzz_conf.state_dir = tmpl;
	fuzz_conf.backend = BACKEND_SIM;
	fuzz_conf.incoming_disk_paths = fuzz_disk_paths;
	fuzz_conf.incoming_bridges = fuzz_bridges;
	fuzz_conf.incoming_max_memory_mb = 1024;
	fuzz_conf.incoming_max_vcpus = 8;
	fuzz_conf.accept_migrations = 1;
	fuzz_conf.max_migrations = 4;
	fuzz_conf.io_timeout = 1;
	fuzz_conf.go_timeout = 1;
	fuzz_conf.ready_timeout = 1;
	fuzz_conf.report_timeout = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_helper fh;
	struct worker w;
	pthread_t helper;
	int sv[2], hx[2], fds_before, bufsz = FUZZ_MAX_INPUT * 2, started;
	size_t i, off = 0;
	ssize_t n;

	if (size > FUZZ_MAX_INPUT)
		return -1;	/* keep it out of the corpus */
	fds_before = fuzz_count_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	/* All of the peer's bytes, then its end of the stream. */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (off < size) {
		n = write(sv[1], data + off, size - off);
		if (n <= 0)
			break;	/* the buffer is full: the rest is cut */
		off += (size_t)n;
	}
	shutdown(sv[1], SHUT_WR);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hx) == -1)
		abort();
	memset(&w, 0, sizeof(w));
	w.conf = &fuzz_conf;
	w.port = RQ_PEER;
	snprintf(w.peer.addr, sizeof(w.peer.addr), "192.0.2.1");
	snprintf(w.peer.id.subject, sizeof(w.peer.id.subject), "/CN=fuzzpeer");
	snprintf(w.peer.id.fingerprint, sizeof(w.peer.id.fingerprint), "-");
	w.hx.fd = hx[1];
	fh.fd = hx[0];
	fh.pc = w.peer;
	if (pthread_create(&helper, NULL, fuzz_helper_main, &fh) != 0)
		abort();
	ioc_init(&w.ioc, sv[0], 1000);
	engine_dispatch(&w);
	/* The network side is done: the helper sees it leave. */
	close(hx[1]);
	pthread_join(helper, NULL);
	close(sv[0]);
	close(sv[1]);

	if (fuzz_opens != 0)
		fuzz_die("backend handle not closed");
	started = 0;
	for (i = 0; i < FUZZ_MAX_DOMS; i++) {
		if (fuzz_doms[i].live && fuzz_doms[i].incoming)
			fuzz_die("NAME--incoming left behind");
		if (fuzz_doms[i].live)
			started = 1;
		fuzz_doms[i].live = 0;	/* received: gone for the next run */
	}
	/* Disk copies stay only with a domain started on them. */
	if (fuzz_copies_clear() > 0 && !started)
		fuzz_die("a partial disk copy left behind");
	if (fds_before != -1 && fuzz_count_fds() != fds_before)
		fuzz_die("descriptor leaked");
	return 0;
}
