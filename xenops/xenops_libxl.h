/*
 * The libxl backend's pure parts, shared with its unit tests
 * (tests/unit/check_libxl.c).  Only built when libxenlight is present
 * (HAVE_LIBXL); the rest of relocd sees the backend through xenops.h.
 */
#ifndef XENOPS_LIBXL_H
#define XENOPS_LIBXL_H

#ifdef HAVE_LIBXL

#include <stddef.h>

#include <json-c/json.h>
#include <libxl.h>

#include "xenops.h"

/* A libxl ERROR_* code as an XO_E_* code (0 stays 0). */
int	libxlbe_error_map(int libxl_rc);
/* The libxl domain_config of a json-c object, and back.  The caller
 * inits and disposes the libxl_domain_config. */
int	libxlbe_config_from_json(libxl_ctx *, struct json_object *,
	    libxl_domain_config *, char *err, size_t errlen);
int	libxlbe_config_to_json(libxl_ctx *, libxl_domain_config *,
	    struct json_object **, char *err, size_t errlen);
/* The stream bound on the receiving side: pre-copy sends pages more
 * than once, so the bound is a multiple of the guest's memory. */
unsigned long long libxlbe_stream_limit(unsigned long long memory_kb);

/*
 * libxc's save progress, as libxl's save helper passes it on through the
 * logger: a prefix per round ("Frames iteration N", N from 0; "Frames"
 * offline) and (done, total) steps every 4 MiB of the round.  libxc
 * counts a round's pages when the round begins, so the size of round
 * N+1 is what round N left dirty.  The first round walks every frame
 * number up to the highest one, holes too (a PVH guest's special pages
 * sit just below 4 GiB): its pages sent are the stream's bytes, or its
 * steps scaled to the guest's pages, whichever is further.
 */
struct libxlbe_prog {
	struct xo_progress p;		/* p.pages_total: the guest's pages */
	uint64_t	   last_us;	/* when fn was last called */
	/* Set by the caller before each step: what is true now, which
	 * the end of the round before must not be reported with. */
	uint64_t	   bytes;
	int		   paused;
	uint64_t	   paused_at_us;
};
#define LIBXLBE_PROGRESS_US	200000	/* at most 5 reports a second */
/* The round a progress prefix names (1 = the first), or 0 if none. */
int	libxlbe_progress_round(const char *doing_what, int current);
void	libxlbe_progress_step(struct libxlbe_prog *, const char *doing_what,
	    unsigned long done, unsigned long total, uint64_t now,
	    xo_progress_fn, void *arg);
/* The figures once the save is over: the last round all sent. */
void	libxlbe_progress_end(struct libxlbe_prog *);

#endif
#endif
