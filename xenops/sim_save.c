/*
 * The sim backend's save: a domain's memory and vCPU into the stream
 * (format in sim.h), live with pre-copy or offline.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "iochan.h"
#include "sim_impl.h"

/* A contiguous batch in more pieces than this is gathered instead. */
#define SIM_MAX_SEGS		8

static int	sim_send(struct sim_xfer *, const void *, size_t);
static void	sim_extent(struct sim_xfer *, uint64_t);
static int	sim_send_range(struct sim_xfer *, uint64_t, uint64_t);
static int	sim_send_flush(struct sim_xfer *);
static int	sim_send_page(struct sim_xfer *, uint64_t);
static int	sim_send_round_end(struct sim_xfer *, uint32_t, uint64_t);
static int	sim_send_tail(struct sim_xfer *, const struct sim_vcpu *);
static int	sim_send_bitmap(struct sim_xfer *, const uint64_t *);
static void	sim_dirty_take(uint64_t *, uint64_t *, size_t);
static uint64_t	sim_dirty_count(uint64_t *, size_t);

static int
sim_send(struct sim_xfer *x, const void *p, size_t len)
{
	if (ioc_write_full(x->ioc, p, len) == -1)
		return xo_fail(x->ctx, XO_E_IO, "writing the stream: %s",
		    x->ioc->err);
	return 0;
}

/*
 * The hole or data extent of guest memory at off.  Remembered for the
 * rest of the pass: data never turns back into a hole, and a hole written
 * since it was looked up was written after log-dirty was (re)armed for
 * this pass, so its dirty bit sends it again, as for any page that
 * changes under the copy.
 */
static void
sim_extent(struct sim_xfer *x, uint64_t off)
{
	uint64_t memlen = x->npages << SIM_PAGE_SHIFT;
	off_t r;

	if (off >= x->ext_off && off < x->ext_end)
		return;
	x->ext_off = off;
	x->ext_end = memlen;
	x->ext_hole = 0;
	if ((r = lseek(x->memfd, off, SEEK_DATA)) == -1) {
		/* ENXIO: nothing but hole up to the end. */
		x->ext_hole = errno == ENXIO;
		return;
	}
	if ((uint64_t)r > off) {
		x->ext_hole = 1;
		x->ext_end = r;
		return;
	}
	if ((r = lseek(x->memfd, off, SEEK_HOLE)) != -1 &&
	    (uint64_t)r < memlen)
		x->ext_end = r;
}

/*
 * Bytes [off, end) of guest memory, in a few big writes.  In a full pass,
 * pages the guest never wrote (holes of its memfd) go from a zero mapping
 * rather than from guest memory, where merely reading them would
 * allocate them at the source.  The stream is the same either way.
 * -1: too many pieces, gather instead.
 */
static int
sim_send_range(struct sim_xfer *x, uint64_t off, uint64_t end)
{
	struct {
		uint64_t	off, len;
		int		hole;
	} seg[SIM_MAX_SEGS];
	int n = 0, i, rc;

	if (!x->full_pass)
		return sim_send(x, x->mem + off, end - off);
	while (off < end) {
		if (n == SIM_MAX_SEGS)
			return -1;
		sim_extent(x, off);
		seg[n].off = off;
		seg[n].len = (x->ext_end < end ? x->ext_end : end) - off;
		seg[n].hole = x->ext_hole;
		off += seg[n++].len;
	}
	for (i = 0; i < n; i++) {
		if ((rc = sim_send(x, seg[i].hole ? x->zero : x->mem +
		    seg[i].off, seg[i].len)) != 0)
			return rc;
	}
	return 0;
}

/*
 * One PAGE_DATA record.  A contiguous batch (all of round 1) goes from
 * guest memory in a few big writes; a scattered one is gathered first,
 * since a write per page would mean a TLS record per page.
 */
static int
sim_send_flush(struct sim_xfer *x)
{
	uint8_t *b = x->buf;
	size_t hlen, i;
	int contiguous = 1, rc;

	if (x->count == 0)
		return 0;
	*(uint32_t *)b = htobe32(SIM_REC_PAGE_DATA);
	*(uint32_t *)(b + 4) = htobe32(SIM_PAGE_DATA_LEN(x->count));
	*(uint32_t *)(b + 8) = htobe32(x->count);
	*(uint32_t *)(b + 12) = 0;
	for (i = 0; i < x->count; i++) {
		*(uint64_t *)(b + 16 + i * 8) = htobe64(x->pfn[i]);
		if (x->pfn[i] != x->pfn[0] + i)
			contiguous = 0;
	}
	hlen = 16 + x->count * 8;
	if (contiguous && (rc = sim_send(x, b, hlen)) != 0)
		return rc;
	if (contiguous) {
		rc = sim_send_range(x, x->pfn[0] << SIM_PAGE_SHIFT,
		    (x->pfn[0] + x->count) << SIM_PAGE_SHIFT);
		if (rc == -1)	/* fragmented: gather, header already sent */
			rc = sim_send(x, x->mem + (x->pfn[0] << SIM_PAGE_SHIFT),
			    (size_t)x->count << SIM_PAGE_SHIFT);
		if (rc != 0)
			return rc;
	} else {
		/* The header, then the pages in gathered pieces: the first
		 * piece rides with the header. */
		size_t off = hlen, n, k;

		for (i = 0; i < x->count; i += n) {
			n = x->count - i < SIM_PIECE_PAGES ? x->count - i :
			    SIM_PIECE_PAGES;
			for (k = 0; k < n; k++)
				memcpy(b + off + (k << SIM_PAGE_SHIFT),
				    x->mem + (x->pfn[i + k] << SIM_PAGE_SHIFT),
				    SIM_PAGE_SIZE);
			if ((rc = sim_send(x, b, off + (n << SIM_PAGE_SHIFT)))
			    != 0)
				return rc;
			/* Later pieces reuse the buffer from its start. */
			off = 0;
		}
	}
	x->prog.pages_sent += x->count;
	x->count = 0;
	sim_progress(x, 0);
	return 0;
}

static int
sim_send_page(struct sim_xfer *x, uint64_t pfn)
{
	x->pfn[x->count++] = pfn;
	if (x->count == SIM_BATCH_PAGES)
		return sim_send_flush(x);
	return 0;
}

static int
sim_send_round_end(struct sim_xfer *x, uint32_t round, uint64_t remaining)
{
	uint8_t b[SIM_REC_HDR_LEN + SIM_ROUND_END_LEN];
	int rc;

	if ((rc = sim_send_flush(x)) != 0)
		return rc;
	*(uint32_t *)b = htobe32(SIM_REC_ROUND_END);
	*(uint32_t *)(b + 4) = htobe32(SIM_ROUND_END_LEN);
	*(uint32_t *)(b + 8) = htobe32(round);
	*(uint32_t *)(b + 12) = 0;
	*(uint64_t *)(b + 16) = htobe64(remaining);
	if ((rc = sim_send(x, b, sizeof(b))) != 0)
		return rc;
	x->prog.pages_dirty = remaining;
	sim_progress(x, 1);
	return 0;
}

/* VCPU and END. */
static int
sim_send_tail(struct sim_xfer *x, const struct sim_vcpu *v)
{
	uint8_t b[2 * SIM_REC_HDR_LEN + SIM_VCPU_LEN];

	*(uint32_t *)b = htobe32(SIM_REC_VCPU);
	*(uint32_t *)(b + 4) = htobe32(SIM_VCPU_LEN);
	*(uint64_t *)(b + 8) = htobe64(v->ticks);
	*(uint64_t *)(b + 16) = htobe64(v->tick_phase_us);
	*(uint64_t *)(b + 24) = htobe64(v->prng);
	*(uint64_t *)(b + 32) = 0;
	*(uint32_t *)(b + 40) = htobe32(SIM_REC_END);
	*(uint32_t *)(b + 44) = 0;
	return sim_send(x, b, sizeof(b));
}

static int
sim_send_bitmap(struct sim_xfer *x, const uint64_t *snap)
{
	size_t i, nwords = (x->npages + 63) / 64;
	uint64_t w;
	int rc;

	for (i = 0; i < nwords; i++) {
		for (w = snap[i]; w != 0; w &= w - 1) {
			if ((rc = sim_send_page(x, i * 64 +
			    __builtin_ctzll(w))) != 0)
				return rc;
		}
	}
	return sim_send_flush(x);
}

/* Take and clear the dirty set: a page written after its word was taken
 * sets its bit again and goes in the next round. */
static void
sim_dirty_take(uint64_t *bm, uint64_t *snap, size_t nwords)
{
	size_t i;

	for (i = 0; i < nwords; i++)
		snap[i] = __atomic_exchange_n(&bm[i], 0, __ATOMIC_ACQ_REL);
}

static uint64_t
sim_dirty_count(uint64_t *bm, size_t nwords)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < nwords; i++)
		n += __builtin_popcountll(__atomic_load_n(&bm[i],
		    __ATOMIC_RELAXED));
	return n;
}

/*
 * Live: pre-copy as libxc does (round 1 sends everything with log-dirty
 * on, then the dirty set until it is small or the round limit is hit),
 * then suspend and send what is left.  Offline: suspend, then one pass.
 */
int
sim_suspend_to(struct xo_ctx *ctx, uint32_t domid, struct iochan *ioc,
    int flags, xo_progress_fn fn, void *arg)
{
	struct sim_host *h = ctx->priv;
	struct json_object *cfg = NULL;
	struct sim_domcfg dc;
	struct sim_shared sh;
	struct sim_xfer x;
	enum xo_state st;
	struct stat mst, bst;
	uint8_t hdr[SIM_STREAM_HDR_LEN];
	uint64_t *bm = MAP_FAILED, *snap = NULL, pfn, dirty;
	void *mem = MAP_FAILED;
	size_t memlen = 0, bmlen = 0, nwords;
	uint32_t round;
	int memfd = -1, bmfd = -1, fds[2], rc;

	if ((rc = sim_fault(ctx, "suspend", domid)) != 0)
		return rc;

	memset(&x, 0, sizeof(x));
	if ((rc = sim_cfg_load(ctx, domid, &cfg)) != 0 ||
	    (rc = sim_cfg_parse(ctx, cfg, &dc)) != 0 ||
	    (rc = sim_dom_state(ctx, domid, &st, NULL)) != 0)
		goto out;
	if (st != XO_RUNNING && st != XO_PAUSED) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u is %s, it cannot be "
		    "saved", domid, xo_state_name(st));
		goto out;
	}
	if (sim_shared_read(h, domid, &sh) == 0 && sh.state == SIM_ST_NEW) {
		rc = xo_fail(ctx, XO_E_STATE, "domain %u is still being "
		    "restored", domid);
		goto out;
	}
	memlen = dc.nr_pages << SIM_PAGE_SHIFT;
	nwords = (dc.nr_pages + 63) / 64;
	bmlen = nwords * 8;
	if ((rc = sim_guest_cmd(ctx, domid, "memfds", "ok memfds", fds,
	    2)) != 0)
		goto out;
	memfd = fds[0];
	bmfd = fds[1];
	/* Sealed at creation, but check: a short map would fault. */
	if (fstat(memfd, &mst) == -1 || (uint64_t)mst.st_size != memlen ||
	    fstat(bmfd, &bst) == -1 || (uint64_t)bst.st_size != bmlen) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: the guest's memory "
		    "is not %" PRIu64 " pages", domid, dc.nr_pages);
		goto out;
	}
	mem = mmap(NULL, memlen, PROT_READ, MAP_SHARED, memfd, 0);
	bm = mmap(NULL, bmlen, PROT_READ | PROT_WRITE, MAP_SHARED, bmfd, 0);
	if (mem == MAP_FAILED || bm == MAP_FAILED) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: mmap: %s", domid,
		    strerror(errno));
		goto out;
	}
	if ((snap = calloc(nwords, sizeof(*snap))) == NULL) {
		rc = xo_fail(ctx, XO_E_FAIL, "out of memory");
		goto out;
	}
	if ((rc = sim_xfer_init(&x, ctx, ioc, dc.nr_pages, fn, arg)) != 0)
		goto out;
	x.mem = mem;
	x.memfd = memfd;

	*(uint64_t *)hdr = htobe64(SIM_STREAM_IDENT);
	*(uint32_t *)(hdr + 8) = htobe32(SIM_STREAM_VERSION);
	*(uint32_t *)(hdr + 12) = htobe32(SIM_PAGE_SIZE);
	*(uint64_t *)(hdr + 16) = htobe64(dc.nr_pages);
	if ((rc = sim_send(&x, hdr, sizeof(hdr))) != 0)
		goto out;

	round = 1;
	x.prog.round = round;
	if (!(flags & XO_SUSPEND_LIVE)) {
		if ((rc = sim_guest_cmd(ctx, domid, "suspend",
		    "ok suspended", NULL, 0)) != 0)
			goto out;
		x.prog.paused = 1;
		x.prog.paused_at_us = clock_mono_us();
		if (sim_shared_read(h, domid, &sh) == 0)
			x.prog.paused_at_us = sh.stopped_at_us;
		x.full_pass = 1;
		for (pfn = 0; pfn < dc.nr_pages; pfn++)
			if ((rc = sim_send_page(&x, pfn)) != 0)
				goto out;
		if ((rc = sim_send_round_end(&x, round, 0)) != 0)
			goto out;
	} else {
		/* Enabling log-dirty: only writes from now on count. */
		sim_dirty_take(bm, snap, nwords);
		x.full_pass = 1;
		for (pfn = 0; pfn < dc.nr_pages; pfn++)
			if ((rc = sim_send_page(&x, pfn)) != 0)
				goto out;
		if ((rc = sim_send_flush(&x)) != 0)
			goto out;
		x.full_pass = 0;
		dirty = sim_dirty_count(bm, nwords);
		if ((rc = sim_send_round_end(&x, round, dirty)) != 0)
			goto out;
		/* Xen 4.17's simple_precopy_policy. */
		while (dirty >= SIM_PRECOPY_TARGET &&
		    round < SIM_PRECOPY_MAX_ROUNDS) {
			x.prog.round = ++round;
			x.prog.pages_sent = 0;
			sim_dirty_take(bm, snap, nwords);
			if ((rc = sim_send_bitmap(&x, snap)) != 0)
				goto out;
			dirty = sim_dirty_count(bm, nwords);
			if ((rc = sim_send_round_end(&x, round, dirty)) != 0)
				goto out;
		}
		if ((rc = sim_guest_cmd(ctx, domid, "suspend",
		    "ok suspended", NULL, 0)) != 0)
			goto out;
		x.prog.paused = 1;
		x.prog.paused_at_us = clock_mono_us();
		if (sim_shared_read(h, domid, &sh) == 0)
			x.prog.paused_at_us = sh.stopped_at_us;
		x.prog.round = ++round;
		x.prog.pages_sent = 0;
		sim_dirty_take(bm, snap, nwords);
		if ((rc = sim_send_bitmap(&x, snap)) != 0 ||
		    (rc = sim_send_round_end(&x, round, 0)) != 0)
			goto out;
	}
	if (sim_shared_read(h, domid, &sh) == -1) {
		rc = xo_fail(ctx, XO_E_FAIL, "domain %u: reading the vCPU "
		    "state: %s", domid, strerror(errno));
		goto out;
	}
	if ((rc = sim_send_tail(&x, &sh.vcpu)) != 0)
		goto out;
	sim_progress(&x, 1);
	rc = 0;
out:
	sim_xfer_dispose(&x);
	free(snap);
	if (mem != MAP_FAILED && rc == 0 && h->saved_mem == NULL) {
		h->saved_mem = mem;
		h->saved_len = memlen;
	} else if (mem != MAP_FAILED)
		munmap(mem, memlen);
	if (bm != MAP_FAILED)
		munmap(bm, bmlen);
	if (memfd != -1)
		close(memfd);
	if (bmfd != -1)
		close(bmfd);
	json_object_put(cfg);
	return rc;
}
