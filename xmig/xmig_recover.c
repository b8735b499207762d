/*
 * xmig jobs [-H HOST]: the migration journal of the local relocd, or of
 * HOST's (running, with their progress, ended, and the ones waiting for
 * an operator).  xmig recover DOM [HOST]: make
 * exactly one copy of DOM run, asking this host and HOST.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto.h"
#include "xmig.h"

/* A running migration away: the line xmig migrate shows for it. */
static void
jobs_show_progress(struct json_object *job)
{
	struct json_object *p;
	long eta;

	if (!json_object_object_get_ex(job, "progress", &p) ||
	    !proto_get_int(job, "alive", 0))
		return;
	printf("  round %d%s: %3d%% of %.1f MiB, %.1f MiB/s",
	    (int)proto_get_int(p, "round", 0), proto_get_int(p, "paused", 0) ?
	    " (domain paused)" : "", (int)proto_get_int(p, "percent", 0),
	    proto_get_int(p, "round_pages", 0) * 4096.0 / 1048576.0,
	    proto_get_int(p, "rate", 0) / 1048576.0);
	if (!proto_get_int(p, "paused", 0) &&
	    proto_get_int(p, "dirty_rate", 0) > 0)
		printf(", dirty %lld pages/s",
		    (long long)proto_get_int(p, "dirty_rate", 0));
	if ((eta = (long)proto_get_int(p, "eta", -1)) >= 0)
		printf(", ETA %ld s", eta);
	printf(", %.1f MiB sent\n", proto_get_int(p, "bytes", 0) / 1048576.0);
	/* --copy-storage: its disks follow the memory; live, they went
	 * first, in rounds of their own, and chunks go again. */
	if (proto_get_int(p, "disk_total", 0) > 0) {
		printf("  disks: %.1f of %.1f MiB copied",
		    proto_get_int(p, "disk_bytes", 0) / 1048576.0,
		    proto_get_int(p, "disk_total", 0) / 1048576.0);
		if (proto_get_int(p, "disk_round", 0) > 0)
			printf(" (round %d, %lld chunks sent again)",
			    (int)proto_get_int(p, "disk_round", 0),
			    (long long)proto_get_int(p, "disk_resent", 0));
		printf("\n");
	}
}

int
main_jobs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *reply = NULL, *jobs, *o, *req = NULL;
	const char *phase, *msg, *state;
	size_t i, n;
	int rc = EXIT_FAILED, unknown = 0, ch;

	while ((ch = getopt_long(argc, argv, "H:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			json_object_put(req);
			req = json_object_new_object();
			json_object_object_add(req, "host",
			    json_object_new_string(optarg));
			break;
		default:
			return xmig_usage("jobs");
		}
	}
	if (optind != argc) {
		json_object_put(req);
		return xmig_usage("jobs");
	}
	if (ctl_call(PT_CTL_JOBS, req, &reply) == -1)
		goto out;
	if (!json_object_object_get_ex(reply, "jobs", &jobs) ||
	    !json_object_is_type(jobs, json_type_array)) {
		xmig_err("relocd sent no job list");
		goto out;
	}
	n = json_object_array_length(jobs);
	printf("%-28s %-11s %-20s %-16s %-9s %s\n", "ID", "Role", "Domain",
	    "Peer", "Phase", "State");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(jobs, i);
		phase = proto_get_str(o, "phase");
		msg = proto_get_str(o, "message");
		if (proto_get_int(o, "alive", 0))
			state = "running";
		else if (phase != NULL && (strcmp(phase, "done") == 0 ||
		    strcmp(phase, "failed") == 0 ||
		    strcmp(phase, "recovered") == 0))
			state = "ended";
		else {
			state = "NEEDS ATTENTION";
			unknown = 1;
		}
		printf("%-28s %-11s %-20s %-16s %-9s %s%s%s\n",
		    proto_get_str(o, "id") ? proto_get_str(o, "id") : "?",
		    proto_get_str(o, "role") ? proto_get_str(o, "role") : "?",
		    proto_get_str(o, "domain") ? proto_get_str(o, "domain") :
		    "?", proto_get_str(o, "peer") ? proto_get_str(o, "peer") :
		    "", phase ? phase : "?", state, msg ? ": " : "",
		    msg ? msg : "");
		jobs_show_progress(o);
	}
	if (unknown)
		printf("Migrations marked NEEDS ATTENTION: run "
		    "\"xmig recover DOMAIN\" to settle them.\n");
	rc = EXIT_OK;
out:
	json_object_put(reply);
	json_object_put(req);
	return rc;
}

int
main_recover(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	const char *msg;
	int rc = EXIT_FAILED;

	if (argc < 2 || argc > 3 || argv[1][0] == '-' ||
	    (argc == 3 && argv[2][0] == '-'))
		return xmig_usage("recover");
	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string(argv[1]));
	if (argc == 3)
		json_object_object_add(req, "host",
		    json_object_new_string(argv[2]));
	if (ctl_call(PT_CTL_RECOVER, req, &reply) == -1)
		goto out;
	rc = (int)proto_get_int(reply, "exit", EXIT_FAILED);
	msg = proto_get_str(reply, "message");
	if (rc == EXIT_OK)
		printf("%s\n", msg ? msg : "recovered");
	else
		xmig_err("%s", msg ? msg : "recover failed");
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}
