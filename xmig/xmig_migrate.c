#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "xmig.h"

static void	migrate_show(struct json_object *, int, int *);

/* On a terminal one line is redrawn; in a log, one line per round. */
static void
migrate_show(struct json_object *p, int tty, int *last_round)
{
	static int paused_shown;
	const char *phase = proto_get_str(p, "phase");
	int64_t round, total, sent, dirty, bytes;

	if (phase == NULL)
		return;
	if (strcmp(phase, "transfer") != 0) {
		if (tty && *last_round > 0)
			printf("\n");
		printf("%s\n", proto_get_str(p, "message") ?
		    proto_get_str(p, "message") : phase);
		*last_round = 0;
		fflush(stdout);
		return;
	}
	round = proto_get_int(p, "round", 0);
	total = proto_get_int(p, "pages_total", 0);
	sent = proto_get_int(p, "pages_sent", 0);
	dirty = proto_get_int(p, "pages_dirty", 0);
	bytes = proto_get_int(p, "bytes", 0);
	if (tty) {
		printf("\r  round %lld%s: %lld pages sent, %lld dirty, "
		    "%.1f MiB total   ", (long long)round,
		    proto_get_int(p, "paused", 0) ? " (paused)" : "",
		    (long long)sent, (long long)dirty, bytes / 1048576.0);
	} else if (round != *last_round) {
		printf("  round %lld%s: %lld of %lld pages to send\n",
		    (long long)round, proto_get_int(p, "paused", 0) ?
		    " (domain paused)" : "", (long long)(round == 1 ? total :
		    sent + dirty), (long long)total);
		paused_shown = proto_get_int(p, "paused", 0) != 0;
	} else if (!paused_shown && proto_get_int(p, "paused", 0)) {
		/* The stop-and-copy round: the guest stopped mid-round. */
		printf("  round %lld: domain paused for the last %lld pages\n",
		    (long long)round, (long long)(sent + dirty));
		paused_shown = 1;
	}
	*last_round = (int)round;
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *req = NULL, *body = NULL;
	struct iochan ioc;
	struct proto_hdr h;
	char err[512];
	long port = 0, mbit = 0;
	int ch, live = 0, paused = 0, console = 0, tty, last_round = 0;
	int rc = EXIT_UNKNOWN, got_go = 0;

	ioc.fd = -1;
	while ((ch = getopt_long(argc, argv, "lp:n:scr:h", longopts, NULL)) !=
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
	tty = isatty(STDOUT_FILENO);
	/* Bounded by relocd: every phase there has a timeout, and relocd
	 * always ends with a result frame or closes the socket. */
	for (;;) {
		json_object_put(body);
		body = NULL;
		if (proto_recv(&ioc, &h, &body, PROTO_MAX_FRAME, err,
		    sizeof(err)) == -1) {
			if (tty && last_round > 0)
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
			migrate_show(body, tty, &last_round);
			continue;
		}
		if (tty && last_round > 0)
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
