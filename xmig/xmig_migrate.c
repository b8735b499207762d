#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "proto.h"
#include "xmig.h"

#define VIEW_PAGE		4096
#define VIEW_SAMPLE_US		100000	/* rates from steps at least this long */
#define VIEW_LOG_US		5000000	/* not a terminal: a line this often */

/*
 * What the progress frames add up to.  A frame says the round, the pages
 * sent in it so far, the stream's bytes, and at a round's end the pages
 * the guest dirtied during it; the rates and the ETA are xmig's own, from
 * the frames' arrival.  The ETA counts what this round has left and what
 * the last round left dirty, at the current rate.
 */
struct migrate_view {
	int		 tty;
	int		 round;		/* 0 before the first transfer frame */
	int		 paused;
	uint64_t	 total;		/* guest pages */
	uint64_t	 round_pages;	/* to send in this round */
	uint64_t	 sent, dirty, bytes;
	uint64_t	 t_start, t_sample, t_logged;
	uint64_t	 t_round, round_bytes;	/* when this round began */
	uint64_t	 s_bytes;	/* at t_sample */
	double		 rate;		/* stream bytes/s, smoothed */
	double		 dirty_rate;	/* pages/s, smoothed */
	int		 drawn;		/* a line is on the terminal */
};

static void	view_transfer(struct migrate_view *, struct json_object *);
static void	view_line(struct migrate_view *, int);
static void	view_end(struct migrate_view *);
static void	view_phase(struct migrate_view *, struct json_object *);

static double
view_smooth(double old, double now)
{
	return old > 0 ? 0.6 * old + 0.4 * now : now;
}

/* The line: round, percent, rate, dirty rate while live, ETA. */
static void
view_line(struct migrate_view *v, int done)
{
	uint64_t left, now = clock_mono_us();
	double mib = v->round_pages * (double)VIEW_PAGE / 1048576.0;
	double rate = v->rate;
	int pct;
	char eta[32] = "?";

	/* A round's own average when it is over (it may have been shorter
	 * than one sample). */
	if (done && now - v->t_round >= VIEW_SAMPLE_US)
		rate = (v->bytes - v->round_bytes) * 1e6 / (now - v->t_round);
	pct = done || v->round_pages == 0 ? 100 :
	    (int)(100.0 * v->sent / v->round_pages);
	if (pct > 100)
		pct = 100;
	left = v->round_pages > v->sent ? v->round_pages - v->sent : 0;
	if (!v->paused)
		left += v->dirty;	/* what the next rounds will send */
	if (rate > 0)
		snprintf(eta, sizeof(eta), "%.0f s",
		    left * (double)VIEW_PAGE / rate + 0.5);
	printf("%s  round %d%s: %3d%% of %.1f MiB, %.1f MiB/s", v->tty ?
	    "\r\033[K" : "", v->round, v->paused ? " (domain paused)" : "",
	    pct, mib, rate / 1048576.0);
	if (!v->paused && v->dirty_rate > 0)
		printf(", dirty %.0f pages/s", v->dirty_rate);
	if (!done)
		printf(", ETA %s", eta);
	if (!v->tty || done)
		printf("\n");
	v->drawn = v->tty && !done;
	fflush(stdout);
}

static void
view_transfer(struct migrate_view *v, struct json_object *p)
{
	uint64_t now = clock_mono_us(), dt;
	int round = (int)proto_get_int(p, "round", 0);
	int paused = proto_get_int(p, "paused", 0) != 0, newround = 0;

	if (v->t_start == 0)
		v->t_start = v->t_sample = now;
	if (round != v->round) {
		/* The backend counts the pages dirtied in a round at its
		 * end (so does libxc): the guest's dirty rate is that count
		 * over the round's time. */
		if (v->round > 0 && now - v->t_round >= VIEW_SAMPLE_US &&
		    !paused)
			v->dirty_rate = v->dirty * 1e6 / (now - v->t_round);
		if (v->round > 0)
			view_line(v, 1);
		/* This round sends what the last one left dirty. */
		v->round_pages = round == 1 || v->dirty == 0 ?
		    (uint64_t)proto_get_int(p, "pages_total", 0) : v->dirty;
		v->round = round;
		v->t_round = now;
		v->round_bytes = v->bytes;
		newround = 1;
	}
	v->total = (uint64_t)proto_get_int(p, "pages_total", 0);
	v->sent = (uint64_t)proto_get_int(p, "pages_sent", 0);
	v->dirty = (uint64_t)proto_get_int(p, "pages_dirty", 0);
	v->bytes = (uint64_t)proto_get_int(p, "bytes", 0);
	if ((dt = now - v->t_sample) >= VIEW_SAMPLE_US) {
		v->rate = view_smooth(v->rate, (v->bytes - v->s_bytes) * 1e6 /
		    dt);
		v->t_sample = now;
		v->s_bytes = v->bytes;
	}
	v->paused = paused;
	/* A terminal: every frame.  A log: each round's end (view_line
	 * with done), and every VIEW_LOG_US of a long one. */
	if (newround)
		v->t_logged = now;
	if (v->tty || now - v->t_logged >= VIEW_LOG_US) {
		view_line(v, 0);
		v->t_logged = now;
	}
}

/* The stream is over: its last round, whole. */
static void
view_end(struct migrate_view *v)
{
	if (v->round > 0)
		view_line(v, 1);
	v->round = 0;
	v->drawn = 0;
}

static void
view_phase(struct migrate_view *v, struct json_object *p)
{
	const char *phase = proto_get_str(p, "phase");

	if (phase == NULL)
		return;
	if (strcmp(phase, "transfer") == 0) {
		view_transfer(v, p);
		return;
	}
	view_end(v);
	printf("%s\n", proto_get_str(p, "message") ?
	    proto_get_str(p, "message") : phase);
	fflush(stdout);
}

int
main_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "live", no_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "node", required_argument, NULL, 'n' },
		{ "ssl", no_argument, NULL, 's' },
		{ "change_home_server", no_argument, NULL, 'c' },
		{ "resource", required_argument, NULL, 'r' },
		{ "paused", no_argument, NULL, 'P' },
		{ "console", no_argument, NULL, 'C' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *req = NULL, *body = NULL;
	struct migrate_view view;
	struct iochan ioc;
	struct proto_hdr h;
	char err[512];
	long port = 0, mbit = 0;
	int ch, live = 0, paused = 0, console = 0, quiet = 0;
	int rc = EXIT_UNKNOWN, got_go = 0;

	ioc.fd = -1;
	while ((ch = getopt_long(argc, argv, "lp:n:scr:qh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'l':
			live = 1;
			break;
		case 'p':
			if ((port = xmig_number("port", optarg, 1, 65535)) <
			    0)
				return EXIT_USAGE;
			break;
		case 'n':
			if (xmig_number("node", optarg, 0, 1023) < 0)
				return EXIT_USAGE;
			break;
		case 's':	/* TLS is always on */
		case 'c':	/* xend-managed domains only */
			break;
		case 'r':
			if ((mbit = xmig_number("resource (Mbit/s)", optarg,
			    1, 1000000)) < 0)
				return EXIT_USAGE;
			break;
		case 'P':
			paused = 1;
			break;
		case 'C':
			console = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return xmig_usage("migrate");
		}
	}
	if (argc - optind != 2)
		return xmig_usage("migrate");

	req = json_object_new_object();
	json_object_object_add(req, "domain",
	    json_object_new_string(argv[optind]));
	json_object_object_add(req, "host",
	    json_object_new_string(argv[optind + 1]));
	json_object_object_add(req, "live", json_object_new_int(live));
	json_object_object_add(req, "paused", json_object_new_int(paused));
	if (port)
		json_object_object_add(req, "port", json_object_new_int(port));
	if (mbit)
		json_object_object_add(req, "bandwidth_mbit",
		    json_object_new_int64(mbit));
	if (ctl_open(&ioc) == -1) {
		rc = EXIT_FAILED;
		goto out;
	}
	if (proto_send(&ioc, PT_CTL_MIGRATE, req) == -1) {
		xmig_err("sending the request to relocd: %s", ioc.err);
		rc = EXIT_FAILED;
		goto out;
	}
	memset(&view, 0, sizeof(view));
	view.tty = isatty(STDOUT_FILENO);
	/* Bounded by relocd: every phase there has a timeout, and relocd
	 * always ends with a result frame or closes the socket. */
	for (;;) {
		json_object_put(body);
		body = NULL;
		if (proto_recv(&ioc, &h, &body, PROTO_MAX_FRAME, err,
		    sizeof(err)) == -1) {
			if (view.drawn)
				printf("\n");
			xmig_err("lost the connection to relocd during the "
			    "migration (%s): the outcome is unknown%s; check "
			    "with 'xmig list' here and 'xmig list -H %s'", err,
			    got_go ? " (it was past the point of no return)" :
			    "", argv[optind + 1]);
			rc = EXIT_UNKNOWN;
			goto out;
		}
		if (h.type == PT_PROGRESS) {
			const char *ph = proto_get_str(body, "phase");

			if (ph != NULL && strcmp(ph, "go") == 0)
				got_go = 1;
			if (!quiet)
				view_phase(&view, body);
			continue;
		}
		if (view.drawn)
			printf("\n");
		if (h.type == PT_ERROR) {
			xmig_err("%s", proto_get_str(body, "message"));
			rc = EXIT_FAILED;
			goto out;
		}
		if (h.type != PT_RESULT) {
			xmig_err("unexpected %s frame from relocd",
			    proto_type_name(h.type));
			rc = EXIT_UNKNOWN;
			goto out;
		}
		break;
	}
	rc = (int)proto_get_int(body, "exit", EXIT_UNKNOWN);
	if (rc == EXIT_OK)
		printf("%s\n", proto_get_str(body, "message"));
	else
		xmig_err("%s", proto_get_str(body, "message"));
	if (rc == EXIT_OK && console) {
		/* It runs there now: the destination's console, with the
		 * lines it printed since it arrived. */
		const char *dh = argv[optind + 1];
		const char *c = strrchr(dh, ':');
		char dest[300];

		json_object_put(body);
		body = NULL;
		ctl_close(&ioc);
		/* -p overrides a port in HOST, as for the migration. */
		if (port == 0)
			snprintf(dest, sizeof(dest), "%s", dh);
		else if (c != NULL && (*dh == '[' ? c[-1] == ']' :
		    strchr(dh, ':') == c))
			snprintf(dest, sizeof(dest), "%.*s:%ld", (int)(c - dh),
			    dh, port);
		else
			snprintf(dest, sizeof(dest), c != NULL && *dh != '[' ?
			    "[%s]:%ld" : "%s:%ld", dh, port);
		rc = console_attach(argv[optind], dest, 200);
	}
out:
	json_object_put(body);
	json_object_put(req);
	ctl_close(&ioc);
	return rc;
}
