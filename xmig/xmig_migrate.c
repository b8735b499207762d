#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"
#include "proto.h"
#include "xmig.h"

#define VIEW_LOG_US		5000000	/* not a terminal: a line this often */

/* What xmig shows of the progress frames (progress.h computes it). */
struct migrate_view {
	int		 tty;
	int		 drawn;		/* a line is on the terminal */
	uint64_t	 t_logged;
	struct progress	 p;
};

static void	view_print(struct migrate_view *, int, int, int, uint64_t,
		    double, double, long);
static void	view_transfer(struct migrate_view *, struct json_object *);
static void	view_line(struct migrate_view *, int);
static void	view_end(struct migrate_view *);
static void	view_phase(struct migrate_view *, struct json_object *);

/* A line: round, percent, size, rate, dirty rate while live, ETA (-1:
 * unknown, -2: none, the round is over). */
static void
view_print(struct migrate_view *v, int round, int paused, int pct,
    uint64_t pages, double rate, double dirty_rate, long eta)
{
	printf("%s  round %d%s: %3d%% of %.1f MiB, %.1f MiB/s", v->tty ?
	    "\r\033[K" : "", round, paused ? " (domain paused)" : "", pct,
	    pages * (double)PROGRESS_PAGE / 1048576.0, rate / 1048576.0);
	if (!paused && dirty_rate > 0)
		printf(", dirty %.0f pages/s", dirty_rate);
	if (eta >= 0)
		printf(", ETA %ld s", eta);
	else if (eta == -1)
		printf(", ETA ?");
	if (!v->tty || eta == -2)
		printf("\n");
	v->drawn = v->tty && eta != -2;
	fflush(stdout);
}

/* The round under way. */
static void
view_line(struct migrate_view *v, int done)
{
	const struct progress *p = &v->p;

	view_print(v, p->round, p->paused, progress_percent(p, done),
	    p->round_pages, progress_rate(p, done, clock_mono_us()),
	    p->dirty_rate, done ? -2 : progress_eta(p));
}

static void
view_transfer(struct migrate_view *v, struct json_object *o)
{
	uint64_t now = clock_mono_us();

	if (progress_update(&v->p, (int)proto_get_int(o, "round", 0),
	    (uint64_t)proto_get_int(o, "pages_total", 0),
	    (uint64_t)proto_get_int(o, "pages_sent", 0),
	    (uint64_t)proto_get_int(o, "pages_dirty", 0),
	    (uint64_t)proto_get_int(o, "bytes", 0),
	    proto_get_int(o, "paused", 0) != 0, now)) {
		/* The round that ended, whole, before the next. */
		if (v->p.ended.round > 0)
			view_print(v, v->p.ended.round, v->p.ended.paused, 100,
			    v->p.ended.pages, v->p.ended.rate,
			    v->p.ended.dirty_rate, -2);
		v->t_logged = now;
	}
	/* A terminal: every frame.  A log: each round's end, and every
	 * VIEW_LOG_US of a long one. */
	if (v->tty || now - v->t_logged >= VIEW_LOG_US) {
		view_line(v, 0);
		v->t_logged = now;
	}
}

static void
view_end(struct migrate_view *v)
{
	if (v->p.round > 0)
		view_line(v, 1);
	progress_init(&v->p);
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

/* Ctrl-C: a cancel, asked of relocd, where the migration lives. */
static volatile sig_atomic_t migrate_interrupted;

static void
migrate_sigint(int sig)
{
	migrate_interrupted++;
}

/* The cancel's answer: 0 cancelled (and where it runs), else why not. */
static int
migrate_cancel_reply(struct json_object *reply, const char *dom)
{
	if (proto_get_int(reply, "exit", 1) == 0) {
		printf("cancelled: %s runs on %s\n", dom,
		    proto_get_str(reply, "runs_on") ?
		    proto_get_str(reply, "runs_on") : "this host");
		return 0;
	}
	xmig_err("cancel of %s: %s", dom, proto_get_str(reply, "message") ?
	    proto_get_str(reply, "message") : "refused");
	return 1;
}

int
main_cancel(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	int rc = EXIT_FAILED;

	if (argc != 2 || argv[1][0] == '-')
		return xmig_usage("cancel");
	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string(argv[1]));
	if (ctl_call(PT_CTL_CANCEL, req, &reply) == 0)
		rc = migrate_cancel_reply(reply, argv[1]) == 0 ? EXIT_OK :
		    (int)proto_get_int(reply, "exit", EXIT_FAILED);
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

/*
 * xmig migrate --force: the domain's host is dead; start it on HOST from
 * its record in cluster_dir.  relocd refuses, with the reason, unless the
 * source does not answer, is fenced (fence_command, or the operator's
 * --source-is-off) and the domain's lease is free.
 */
static int
migrate_force(const char *dom, const char *host, const char *from,
    int source_off, const char *cfgfile)
{
	struct json_object *req, *reply = NULL, *cfg = NULL;
	int rc = EXIT_FAILED;

	req = json_object_new_object();
	if (cfgfile != NULL) {
		if (xmig_domcfg_load(cfgfile, &cfg) == -1)
			goto out;
		json_object_object_add(req, "config", json_object_get(cfg));
	}
	json_object_object_add(req, "domain", json_object_new_string(dom));
	json_object_object_add(req, "host", json_object_new_string(host));
	if (from != NULL)
		json_object_object_add(req, "from",
		    json_object_new_string(from));
	json_object_object_add(req, "source_is_off",
	    json_object_new_int(source_off));
	if (ctl_call(PT_CTL_FORCE, req, &reply) == -1)
		goto out;
	printf("%s: started on %s from %s (a cold start: its memory state on "
	    "%s is lost)\n", dom, host, cfgfile != NULL ? cfgfile :
	    "its config in cluster_dir",
	    proto_get_str(reply, "from") != NULL ?
	    proto_get_str(reply, "from") : "the dead host");
	printf("  source: %s\n", proto_get_str(reply, "probe") != NULL ?
	    proto_get_str(reply, "probe") : "did not answer");
	printf("  fence: %s\n", proto_get_str(reply, "fence") != NULL ?
	    proto_get_str(reply, "fence") : "?");
	printf("  lease: %s\n", proto_get_str(reply, "lease") != NULL ?
	    proto_get_str(reply, "lease") : "?");
	rc = EXIT_OK;
out:
	json_object_put(cfg);
	json_object_put(req);
	json_object_put(reply);
	return rc;
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
		{ "force", no_argument, NULL, 'F' },
		{ "source-is-off", no_argument, NULL, 'O' },
		{ "from", required_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'K' },
		{ "copy-storage", no_argument, NULL, 'S' },
		{ "remove-source-disk", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *req = NULL, *body = NULL;
	const char *from = NULL, *cfgfile = NULL;
	int force = 0, source_off = 0;
	struct migrate_view view;
	struct iochan ioc, cioc;
	struct sigaction sa;
	struct pollfd pfd;
	struct proto_hdr h;
	char err[512];
	long port = 0, mbit = 0;
	const char *target;
	int ch, live = 0, paused = 0, console = 0, quiet = 0;
	int copy_storage = 0, remove_disk = 0;
	int rc = EXIT_UNKNOWN, got_go = 0, cancelling = 0, cancelled = 0;

	ioc.fd = cioc.fd = -1;
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
		case 'F':
			force = 1;
			break;
		case 'O':
			source_off = 1;
			break;
		case 'f':
			from = optarg;
			break;
		case 'K':
			cfgfile = optarg;
			break;
		case 'S':
			copy_storage = 1;
			break;
		case 'R':
			remove_disk = 1;
			break;
		default:
			return xmig_usage("migrate");
		}
	}
	if (remove_disk && !copy_storage) {
		xmig_err("--remove-source-disk goes with --copy-storage");
		return xmig_usage("migrate");
	}
	if (copy_storage && force) {
		xmig_err("--copy-storage moves disks from a live source; "
		    "--force restarts a domain whose host is dead");
		return xmig_usage("migrate");
	}
	if ((source_off || from != NULL || cfgfile != NULL) && !force) {
		xmig_err("--source-is-off, --from and --config go with --force");
		return xmig_usage("migrate");
	}
	if (force) {
		/* A cold start on a survivor: none of a migration's
		 * options mean anything there. */
		if (argc - optind != 2 || live || paused || console || port ||
		    mbit) {
			xmig_err("--force takes DOMAIN HOST and no -l, -p, -r, "
			    "--paused or --console");
			return xmig_usage("migrate");
		}
		if (cfgfile != NULL && from == NULL) {
			xmig_err("--force --config needs --from SRCHOST: "
			    "without cluster_dir nothing records the source");
			return xmig_usage("migrate");
		}
		return migrate_force(argv[optind], argv[optind + 1], from,
		    source_off, cfgfile);
	}
	if (argc - optind != 1 && argc - optind != 2)
		return xmig_usage("migrate");
	/* Without one, relocd chooses (xmig place) and says which. */
	target = argc - optind == 2 ? argv[optind + 1] : NULL;

	req = json_object_new_object();
	json_object_object_add(req, "domain",
	    json_object_new_string(argv[optind]));
	if (target != NULL)
		json_object_object_add(req, "host",
		    json_object_new_string(target));
	json_object_object_add(req, "live", json_object_new_int(live));
	json_object_object_add(req, "paused", json_object_new_int(paused));
	if (port)
		json_object_object_add(req, "port", json_object_new_int(port));
	if (mbit)
		json_object_object_add(req, "bandwidth_mbit",
		    json_object_new_int64(mbit));
	if (copy_storage) {
		json_object_object_add(req, "copy_storage",
		    json_object_new_int(1));
		json_object_object_add(req, "remove_source_disk",
		    json_object_new_int(remove_disk));
	}
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
	progress_init(&view.p);
	view.tty = isatty(STDOUT_FILENO);
	/* Ctrl-C asks relocd to cancel, on a second connection, and the
	 * result still comes on this one: the migration is relocd's. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = migrate_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	/* Bounded by relocd: every phase there has a timeout, and relocd
	 * always ends with a result frame or closes the socket. */
	for (;;) {
		json_object_put(body);
		body = NULL;
		if (migrate_interrupted && !cancelling) {
			cancelling = 1;
			if (view.drawn)
				printf("\n");
			fprintf(stderr, "xmig: cancelling the migration of %s "
			    "(it is relocd's: a second Ctrl-C does not stop "
			    "it sooner)\n", argv[optind]);
			if (ctl_open(&cioc) == 0) {
				struct json_object *c = json_object_new_object();

				json_object_object_add(c, "domain",
				    json_object_new_string(argv[optind]));
				if (proto_send(&cioc, PT_CTL_CANCEL, c) == -1)
					ctl_close(&cioc);
				json_object_put(c);
			}
		}
		/* Wait here, not in a read a signal cannot interrupt. */
		pfd.fd = ioc.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if (proto_recv(&ioc, &h, &body, PROTO_MAX_FRAME, err,
		    sizeof(err)) == -1) {
			if (view.drawn)
				printf("\n");
			xmig_err("lost the connection to relocd during the "
			    "migration (%s): the outcome is unknown%s; check "
			    "with 'xmig list' here and 'xmig list -H %s'", err,
			    got_go ? " (it was past the point of no return)" :
			    "", target != NULL ? target : "HOST");
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
	/* After Ctrl-C: the cancel's answer, which comes once the
	 * migration has ended. */
	if (cioc.fd != -1) {
		struct json_object *cr = NULL;

		if (proto_recv(&cioc, &h, &cr, PROTO_MAX_FRAME, err,
		    sizeof(err)) == 0 && h.type == PT_OK &&
		    proto_get_int(cr, "exit", 1) == 0) {
			migrate_cancel_reply(cr, argv[optind]);
			cancelled = 1;
		} else if (h.type == PT_ERROR)
			xmig_err("cancel of %s: %s", argv[optind],
			    proto_get_str(cr, "message") ?
			    proto_get_str(cr, "message") : "refused");
		json_object_put(cr);
	}
	if (cancelled)
		rc = EXIT_FAILED;
	else if (rc != EXIT_OK && proto_get_int(body, "cancelled", 0)) {
		/* Cancelled from another terminal (xmig cancel). */
		printf("cancelled: %s runs on %s\n", argv[optind],
		    proto_get_str(body, "runs_on") ?
		    proto_get_str(body, "runs_on") : "this host");
		xmig_err("%s", proto_get_str(body, "message"));
	} else if (rc == EXIT_OK)
		printf("%s\n", proto_get_str(body, "message"));
	else
		xmig_err("%s", proto_get_str(body, "message"));
	if (rc == EXIT_OK && console) {
		/* It runs there now: the destination's console, with the
		 * lines it printed since it arrived. */
		char chosen[256], dest[300];
		const char *dh, *c;

		snprintf(chosen, sizeof(chosen), "%s", target != NULL ? target :
		    proto_get_str(body, "host") ? proto_get_str(body, "host") :
		    "localhost");
		dh = chosen;
		c = strrchr(dh, ':');

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
	ctl_close(&cioc);
	return rc;
}
