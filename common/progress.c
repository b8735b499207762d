#include <string.h>

#include "progress.h"

void
progress_init(struct progress *p)
{
	memset(p, 0, sizeof(*p));
}

int
progress_update(struct progress *p, int round, uint64_t total,
    uint64_t sent, uint64_t dirty, uint64_t bytes, int paused, uint64_t now)
{
	uint64_t dt;
	int newround = 0;

	if (round != p->round) {
		/* The pages the guest dirtied during the round that ends,
		 * over its time: its dirty rate while it ran. */
		if (p->round > 0 && !p->paused && now - p->t_round >=
		    PROGRESS_SAMPLE_US)
			p->dirty_rate = p->dirty * 1e6 / (now - p->t_round);
		p->ended.round = p->round;
		p->ended.paused = p->paused;
		p->ended.pages = p->round_pages;
		p->ended.rate = progress_rate(p, 1, now);
		p->ended.dirty_rate = p->paused ? 0 : p->dirty_rate;
		/* This round sends what the last one left dirty (its last
		 * figures say how much). */
		p->round_pages = round == 1 || p->dirty == 0 ? total :
		    p->dirty;
		if (p->round == 0)
			p->t_sample = p->t_start = now;
		p->round = round;
		p->t_round = now;
		p->round_bytes = p->bytes;
		newround = 1;
	}
	p->total = total;
	p->sent = sent;
	p->dirty = dirty;
	p->bytes = bytes;
	p->paused = paused;
	if ((dt = now - p->t_sample) >= PROGRESS_SAMPLE_US) {
		double r = (bytes - p->s_bytes) * 1e6 / dt;

		p->rate = p->rate > 0 ? 0.6 * p->rate + 0.4 * r : r;
		p->t_sample = now;
		p->s_bytes = bytes;
	}
	return newround;
}

int
progress_percent(const struct progress *p, int done)
{
	int pct;

	if (done || p->round_pages == 0)
		return 100;
	pct = (int)(100.0 * p->sent / p->round_pages);
	return pct > 100 ? 100 : pct;
}

double
progress_rate(const struct progress *p, int done, uint64_t now)
{
	/* A round may be over before its first sample. */
	if (done && now - p->t_round >= PROGRESS_SAMPLE_US)
		return (p->bytes - p->round_bytes) * 1e6 / (now - p->t_round);
	return p->rate;
}

long
progress_eta(const struct progress *p)
{
	uint64_t left;

	if (p->rate <= 0 || p->t_sample - p->t_start < PROGRESS_ETA_AFTER_US)
		return -1;
	left = p->round_pages > p->sent ? p->round_pages - p->sent : 0;
	if (!p->paused)
		left += p->dirty;
	return (long)(left * (double)PROGRESS_PAGE / p->rate + 0.5);
}
