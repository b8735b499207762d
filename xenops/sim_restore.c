/*
 * The sim backend's restore: a new domain from a stream (format in sim.h),
 * none of which is trusted.
 */
#include <sys/stat.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "iochan.h"
#include "sim_impl.h"

/* Stream length allowed beyond (rounds + 2) x memory. */
#define SIM_STREAM_SLACK	(1ULL << 20)

static int	sim_recv(struct sim_xfer *, void *, size_t, const char *);
static int	sim_recv_pages(struct sim_xfer *, uint32_t);
static int	sim_recv_stream(struct sim_xfer *, const struct sim_domcfg *,
		    struct sim_vcpu *);

static int
sim_recv(struct sim_xfer *x, void *p, size_t len, const char *what)
{
	if (ioc_read_full(x->ioc, p, len) == -1)
		return xo_fail(x->ctx, XO_E_IO, "stream truncated or broken "
		    "reading %s at byte %" PRIu64 ": %s", what,
		    x->ioc->nread - x->bytes0, x->ioc->err);
	return 0;
}

/*
 * The body of a PAGE_DATA record of count pages, pfns checked before a
 * byte lands in memory.  Runs of consecutive pages are read into a small
 * buffer and pwritten into the guest's memfd.  Not through a mapping: a
 * write fault per page allocated, zeroed and mapped every page (that was
 * most of the receiver's CPU), and unmapping guest memory again sat on
 * the downtime path; a whole-page pwrite allocates without zeroing and
 * leaves relocd's RSS its own.
 */
static int
sim_recv_pages(struct sim_xfer *x, uint32_t count)
{
	uint8_t *b = x->buf;
	size_t i, run, len, done;
	ssize_t n;
	int rc;

	if ((rc = sim_recv(x, b, (size_t)count * 8, "PAGE_DATA pfns")) != 0)
		return rc;
	for (i = 0; i < count; i++) {
		x->pfn[i] = be64toh(*(uint64_t *)(b + i * 8));
		if (x->pfn[i] >= x->npages)
			return xo_fail(x->ctx, XO_E_BADSTREAM, "PAGE_DATA: pfn "
			    "%#" PRIx64 " is beyond the domain's %" PRIu64
			    " pages", x->pfn[i], x->npages);
	}
	for (i = 0; i < count; i += run) {
		for (run = 1; i + run < count && run < SIM_PIECE_PAGES &&
		    x->pfn[i + run] == x->pfn[i] + run; run++)
			;
		len = run << SIM_PAGE_SHIFT;
		if ((rc = sim_recv(x, b, len, "PAGE_DATA pages")) != 0)
			return rc;
		if (++x->store_runs == x->store_fail_at)
			return xo_fail(x->ctx, XO_E_FAIL, "writing guest memory "
			    "(pfn %#" PRIx64 "): %s", x->pfn[i], strerror(EIO));
		for (done = 0; done < len; done += n) {
			n = pwrite(x->memfd, b + done, len - done,
			    (off_t)((x->pfn[i] << SIM_PAGE_SHIFT) + done));
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n <= 0)
				return xo_fail(x->ctx, XO_E_FAIL, "writing "
				    "guest memory (pfn %#" PRIx64 "): %s",
				    x->pfn[i], n == 0 ? "no progress" :
				    strerror(errno));
		}
	}
	return 0;
}

/*
 * Read and check a whole stream into guest memory.  Nothing in it is
 * trusted: every length is checked against its type before it is read,
 * and the total against a bound from the config's memory (a sender may
 * send each page at most once per round, and there are at most
 * SIM_PRECOPY_MAX_ROUNDS + 1 rounds), so a hostile peer can neither write
 * outside memory nor keep us reading forever.
 */
static int
sim_recv_stream(struct sim_xfer *x, const struct sim_domcfg *dc,
    struct sim_vcpu *vcpu)
{
	uint8_t hdr[SIM_STREAM_HDR_LEN], rh[SIM_REC_HDR_LEN], body[32];
	uint64_t bound, total, v;
	uint32_t type, len, count, round = 0;
	int have_vcpu = 0, rc;

	if ((rc = sim_recv(x, hdr, sizeof(hdr), "the stream header")) != 0)
		return rc;
	if (be64toh(*(uint64_t *)hdr) != SIM_STREAM_IDENT)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "not a sim stream "
		    "(ident %#" PRIx64 ")", be64toh(*(uint64_t *)hdr));
	if ((v = be32toh(*(uint32_t *)(hdr + 8))) != SIM_STREAM_VERSION)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "sim stream version %"
		    PRIu64 " is not supported (only %d)", v,
		    SIM_STREAM_VERSION);
	if ((v = be32toh(*(uint32_t *)(hdr + 12))) != SIM_PAGE_SIZE)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "stream page size %"
		    PRIu64 " is not %d", v, SIM_PAGE_SIZE);
	if ((v = be64toh(*(uint64_t *)(hdr + 16))) != dc->nr_pages)
		return xo_fail(x->ctx, XO_E_BADSTREAM, "the stream has %"
		    PRIu64 " pages, the config says %" PRIu64 " (%" PRIu64
		    " MiB)", v, dc->nr_pages, dc->memory_kb / 1024);

	bound = (SIM_PRECOPY_MAX_ROUNDS + 2) * dc->nr_pages *
	    (SIM_PAGE_SIZE + 8) + SIM_STREAM_SLACK;
	total = sizeof(hdr);
	x->prog.round = 1;
	for (;;) {
		if ((rc = sim_recv(x, rh, sizeof(rh), "a record header")) != 0)
			return rc;
		type = be32toh(*(uint32_t *)rh);
		len = be32toh(*(uint32_t *)(rh + 4));
		total += sizeof(rh) + len + ((8 - len % 8) % 8);
		if (total > bound)
			return xo_fail(x->ctx, XO_E_BADSTREAM, "stream exceeds "
			    "%" PRIu64 " bytes for a %" PRIu64 " MiB domain",
			    bound, dc->memory_kb / 1024);
		if (have_vcpu && type != SIM_REC_END)
			return xo_fail(x->ctx, XO_E_BADSTREAM, "record type %"
			    PRIu32 " after VCPU (only END may follow)", type);
		switch (type) {
		case SIM_REC_PAGE_DATA:
			if (len < 8)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "PAGE_DATA of %" PRIu32 " bytes", len);
			if ((rc = sim_recv(x, body, 8, "PAGE_DATA")) != 0)
				return rc;
			count = be32toh(*(uint32_t *)body);
			if (count == 0 || count > SIM_BATCH_PAGES ||
			    *(uint32_t *)(body + 4) != 0)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "PAGE_DATA: bad page count %" PRIu32
				    " (1..%d)", count, SIM_BATCH_PAGES);
			if (len != SIM_PAGE_DATA_LEN(count))
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "PAGE_DATA: %" PRIu32 " pages in a body "
				    "of %" PRIu32 " bytes", count, len);
			if ((rc = sim_recv_pages(x, count)) != 0)
				return rc;
			x->prog.pages_sent += count;
			sim_progress(x, 0);
			break;
		case SIM_REC_ROUND_END:
			if (len != SIM_ROUND_END_LEN)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "ROUND_END of %" PRIu32 " bytes", len);
			if ((rc = sim_recv(x, body, len, "ROUND_END")) != 0)
				return rc;
			if (be32toh(*(uint32_t *)body) != round + 1 ||
			    round + 1 > SIM_PRECOPY_MAX_ROUNDS + 1)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "ROUND_END %" PRIu32 " after round %"
				    PRIu32 " (at most %d rounds)",
				    be32toh(*(uint32_t *)body), round,
				    SIM_PRECOPY_MAX_ROUNDS + 1);
			round++;
			x->prog.pages_dirty = be64toh(*(uint64_t *)(body + 8));
			sim_progress(x, 1);
			x->prog.round = round + 1;
			x->prog.pages_sent = 0;
			break;
		case SIM_REC_VCPU:
			if (len != SIM_VCPU_LEN)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "VCPU of %" PRIu32 " bytes", len);
			if ((rc = sim_recv(x, body, len, "VCPU")) != 0)
				return rc;
			vcpu->ticks = be64toh(*(uint64_t *)body);
			vcpu->tick_phase_us = be64toh(*(uint64_t *)(body + 8));
			vcpu->prng = be64toh(*(uint64_t *)(body + 16));
			vcpu->reserved = be64toh(*(uint64_t *)(body + 24));
			if (vcpu->reserved != 0)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "VCPU: reserved field is not zero");
			have_vcpu = 1;
			break;
		case SIM_REC_END:
			if (len != 0)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "END of %" PRIu32 " bytes", len);
			if (!have_vcpu)
				return xo_fail(x->ctx, XO_E_BADSTREAM,
				    "END before the VCPU record");
			x->prog.round = round;
			x->prog.paused = 1;
			sim_progress(x, 1);
			return 0;
		default:
			return xo_fail(x->ctx, XO_E_BADSTREAM, "unknown record "
			    "type %" PRIu32 " (%" PRIu32 " bytes)", type, len);
		}
	}
}

/*
 * The domain is reserved (its config written) before the first stream
 * byte is read, so name, uuid and memory are checked once, atomically,
 * and a concurrent create cannot take them meanwhile.  The guest starts
 * only once the whole stream is in.
 */
int
sim_restore_from(struct xo_ctx *ctx, struct json_object *cfg,
    struct iochan *ioc, uint32_t *domid_r, xo_progress_fn fn, void *arg)
{
	struct sim_host *h = ctx->priv;
	struct sim_domcfg dc;
	struct sim_vcpu vcpu;
	struct sim_xfer x;
	char path[PATH_MAX];
	struct stat st;
	size_t memlen = 0;
	uint32_t domid = 0;
	int lockfd = -1, memfd = -1, dirtyfd = -1, made = 0, log_created = 0;
	int rc;
	pid_t pid;
	uint64_t start;

	if ((rc = sim_fault(ctx, "restore", 0)) != 0)
		return rc;

	memset(&x, 0, sizeof(x));
	memset(&vcpu, 0, sizeof(vcpu));
	if ((rc = sim_cfg_parse(ctx, cfg, &dc)) != 0)
		goto out;
	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_table_admit(ctx, &dc)) != 0 ||
	    (rc = sim_domid_alloc(ctx, &domid)) != 0)
		goto out;
	made = 1;
	if ((rc = sim_dom_files(ctx, domid, &dc)) != 0 ||
	    (rc = sim_cfg_store(ctx, domid, cfg)) != 0)
		goto out;
	sim_unlock(lockfd);
	lockfd = -1;

	memlen = dc.nr_pages << SIM_PAGE_SHIFT;
	if ((rc = sim_memfd(ctx, domid, "memory", memlen, &memfd)) != 0 ||
	    (rc = sim_memfd(ctx, domid, "dirty", (dc.nr_pages + 63) / 64 * 8,
	    &dirtyfd)) != 0)
		goto out;
	if ((rc = sim_xfer_init(&x, ctx, ioc, dc.nr_pages, fn, arg)) != 0)
		goto out;
	x.memfd = memfd;
	/* Mid-stream, a few MiB in, as a failing memory store would. */
	if (sim_fault(ctx, "store", 0) != 0)
		x.store_fail_at = 16;
	/* The rest of this session is ours and relocd's ioc reads. */
	ioc_read_ahead(ioc);
	if ((rc = sim_recv_stream(&x, &dc, &vcpu)) != 0)
		goto out;

	if ((rc = sim_lock(ctx, &lockfd)) != 0)
		goto out;
	if ((rc = sim_path(ctx, path, sizeof(path), "%s/%u/config.json",
	    h->domdir, domid)) != 0)
		goto out;
	if (stat(path, &st) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u was destroyed while "
		    "it was being restored", domid);
		made = 0;
		goto out;
	}
	if ((rc = sim_guest_start(ctx, domid, &dc, 1, &vcpu, memfd, dirtyfd,
	    &log_created)) != 0)
		goto out;
	*domid_r = domid;
	rc = 0;
out:
	if (rc != 0 && made) {
		char keep[sizeof(ctx->err)];

		memcpy(keep, ctx->err, sizeof(keep));
		if (lockfd == -1 && sim_lock(ctx, &lockfd) != 0)
			lockfd = -1;
		if (sim_pid_read(h, domid, &pid, &start) == 0 && pid != 0)
			(void)sim_pid_kill(ctx, pid, start);
		sim_dom_remove(h, domid);
		memcpy(ctx->err, keep, sizeof(keep));
	}
	sim_unlock(lockfd);
	sim_xfer_dispose(&x);
	if (memfd != -1)
		close(memfd);
	if (dirtyfd != -1)
		close(dirtyfd);
	return rc;
}
