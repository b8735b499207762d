/*
 * A migration's progress as people read it, from the backend's figures:
 * the round, the percent of the round's pages sent, the stream's rate,
 * the guest's dirty rate and the time left.  The backend (sim, or libxc
 * through libxl) says per round what it sent and, at the round's end,
 * how many pages the guest dirtied during it; the rates and the ETA are
 * computed here, from when the figures arrive.  xmig migrate shows it
 * live, and the sending helper keeps it for xmig jobs.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>

#define PROGRESS_PAGE		4096
#define PROGRESS_SAMPLE_US	100000	/* rates from steps this long */

struct progress {
	int		 round;		/* 0 before the first figures */
	int		 paused;	/* the last round: guest stopped */
	uint64_t	 total;		/* guest pages */
	uint64_t	 round_pages;	/* to send in this round */
	uint64_t	 sent;		/* of them, sent */
	uint64_t	 dirty;		/* dirtied during the last round */
	uint64_t	 bytes;		/* stream bytes, all rounds */
	uint64_t	 t_round, round_bytes;	/* when this round began */
	uint64_t	 t_sample, s_bytes;
	uint64_t	 t_start;	/* the first figures */
	double		 rate;		/* stream bytes/s, smoothed */
	double		 dirty_rate;	/* pages/s */
	struct {			/* the round the last update ended */
		int	 round, paused;
		uint64_t pages;
		double	 rate, dirty_rate;
	}		 ended;
};

void	progress_init(struct progress *);
/* One set of figures, at now (CLOCK_MONOTONIC, us).  Returns 1 when they
 * begin a new round (the last one ended at now). */
int	progress_update(struct progress *, int round, uint64_t total,
	    uint64_t sent, uint64_t dirty, uint64_t bytes, int paused,
	    uint64_t now);
/* Percent of this round's pages sent (100 when done). */
int	progress_percent(const struct progress *, int done);
/* Bytes/s: smoothed while the round runs; its own average when done. */
double	progress_rate(const struct progress *, int done, uint64_t now);
/* Seconds left for what this round has left and what the last round
 * left dirty, at the current rate; -1 while the rate is unknown, which
 * it is for the first second: a stream starts with headers and waits
 * (libxc maps the guest), and a rate from those says hours. */
#define PROGRESS_ETA_AFTER_US	1000000
long	progress_eta(const struct progress *);

#endif
