/*
 * One sim stream being written (sim_save.c) or read (sim_restore.c): the
 * state both directions set up and tear down alike, and progress
 * reports.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iochan.h"
#include "sim_impl.h"

#define SIM_PROGRESS_BYTES	(16ULL << 20)
/* The transfer buffer: a PAGE_DATA record's header, a batch's pfns and
 * one piece of pages. */
#define SIM_XFER_BUF_LEN	(SIM_REC_HDR_LEN + SIM_PAGE_DATA_LEN(0) + \
				    SIM_BATCH_PAGES * 8 + \
				    SIM_PIECE_PAGES * SIM_PAGE_SIZE)

void
sim_progress(struct sim_xfer *x, int force)
{
	uint64_t bytes = x->ioc->nwritten + x->ioc->nread - x->bytes0;

	x->prog.bytes = bytes;
	if (!force && bytes < x->next_report)
		return;
	x->next_report = bytes + SIM_PROGRESS_BYTES;
	if (x->fn != NULL)
		x->fn(&x->prog, x->arg);
}

int
sim_xfer_init(struct sim_xfer *x, struct xo_ctx *ctx, struct iochan *ioc,
    uint64_t npages, xo_progress_fn fn, void *arg)
{
	memset(x, 0, sizeof(*x));
	x->ctx = ctx;
	x->ioc = ioc;
	x->npages = npages;
	x->fn = fn;
	x->arg = arg;
	x->prog.pages_total = npages;
	x->bytes0 = ioc->nwritten + ioc->nread;
	x->next_report = SIM_PROGRESS_BYTES;
	x->memfd = -1;
	x->ext_off = x->ext_end = 0;
	x->buf = malloc(SIM_XFER_BUF_LEN);
	x->pfn = calloc(SIM_BATCH_PAGES, sizeof(*x->pfn));
	if (x->buf == NULL || x->pfn == NULL)
		return xo_fail(ctx, XO_E_FAIL, "out of memory");
	/* Private anonymous and never written: every page is the shared
	 * zero page. */
	x->zero = mmap(NULL, (size_t)SIM_BATCH_PAGES << SIM_PAGE_SHIFT,
	    PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->zero == MAP_FAILED) {
		x->zero = NULL;
		return xo_fail(ctx, XO_E_FAIL, "mmap: %s", strerror(errno));
	}
	return 0;
}

void
sim_xfer_dispose(struct sim_xfer *x)
{
	free(x->buf);
	free(x->pfn);
	if (x->zero != NULL)
		munmap((void *)x->zero, (size_t)SIM_BATCH_PAGES <<
		    SIM_PAGE_SHIFT);
	x->buf = NULL;
	x->pfn = NULL;
	x->zero = NULL;
}
