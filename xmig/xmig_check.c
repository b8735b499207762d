/*
 * xmig check and xmig place: the pre-flight, asked of the local relocd,
 * which asks the targets.  One line per check:
 *
 *	PASS|WARN|FAIL NAME: detail
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "xmig.h"

static void	check_print_lines(struct json_object *, const char *);
static int	check_opts(int, char **, const char *, int *, int *, int *, int *);

static void
check_print_lines(struct json_object *checks, const char *indent)
{
	struct json_object *c;
	size_t i, n;

	n = checks != NULL ? json_object_array_length(checks) : 0;
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(checks, i);
		printf("%s%s %s: %s\n", indent, proto_get_str(c, "status") ?
		    proto_get_str(c, "status") : "?", proto_get_str(c, "name") ?
		    proto_get_str(c, "name") : "?", proto_get_str(c, "detail") ?
		    proto_get_str(c, "detail") : "");
	}
}

/* -l, --json, -p PORT, --copy-storage; optind left at the first
 * operand. */
static int
check_opts(int argc, char **argv, const char *cmd, int *live, int *json,
    int *port, int *copy)
{
	static const struct option longopts[] = {
		{ "live", no_argument, NULL, 'l' },
		{ "copy-storage", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int ch;

	*live = *json = *port = *copy = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ljp:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			*live = 1;
			break;
		case 'j':
			*json = 1;
			break;
		case 'S':
			*copy = 1;
			break;
		case 'p':
			if ((v = xmig_number("port", optarg, 1, 65535)) == -1)
				return -1;
			*port = (int)v;
			break;
		default:
			return -1;
		}
	}
	(void)cmd;
	return 0;
}

int
main_check(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *targets, *t, *src;
	int live, json, port, copy, rc = EXIT_FAILED;

	if (check_opts(argc, argv, "check", &live, &json, &port, &copy) ==
	    -1 || argc - optind != 2)
		return xmig_usage("check");
	req = json_object_new_object();
	json_object_object_add(req, "domain",
	    json_object_new_string(argv[optind]));
	json_object_object_add(req, "host",
	    json_object_new_string(argv[optind + 1]));
	json_object_object_add(req, "live", json_object_new_int(live));
	if (copy)
		json_object_object_add(req, "copy_storage",
		    json_object_new_int(1));
	if (port)
		json_object_object_add(req, "port", json_object_new_int(port));
	if (ctl_call(PT_CTL_CHECK, req, &reply) == -1)
		goto out;
	if (json)
		printf("%s\n", json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PRETTY));
	if (json_object_object_get_ex(reply, "targets", &targets) &&
	    json_object_array_length(targets) == 1) {
		t = json_object_array_get_idx(targets, 0);
		if (!json)
			check_print_lines(json_object_object_get_ex(t, "checks",
			    &src) ? src : NULL, "");
		rc = proto_get_int(t, "failed", 1) == 0 ? EXIT_OK :
		    EXIT_FAILED;
	} else if (json_object_object_get_ex(reply, "source", &src) && !json)
		check_print_lines(src, "");
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

int
main_place(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *targets, *t, *h, *c, *v;
	int live, json, port, copy, rc = EXIT_FAILED;
	size_t i, j, n, m;
	int64_t cap, doms;

	if (check_opts(argc, argv, "place", &live, &json, &port, &copy) ==
	    -1 || argc - optind != 1 || port != 0)
		return xmig_usage("place");
	req = json_object_new_object();
	json_object_object_add(req, "domain",
	    json_object_new_string(argv[optind]));
	json_object_object_add(req, "live", json_object_new_int(live));
	if (copy)
		json_object_object_add(req, "copy_storage",
		    json_object_new_int(1));
	if (ctl_call(PT_CTL_PLACE, req, &reply) == -1)
		goto out;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PRETTY));
	}
	if (!json_object_object_get_ex(reply, "targets", &targets) ||
	    (n = json_object_array_length(targets)) == 0) {
		if (!json && json_object_object_get_ex(reply, "source", &v))
			check_print_lines(v, "");
		goto out;
	}
	if (!json)
		printf("%s (%lld MiB, %s), best first:\n", argv[optind],
		    (long long)proto_get_int(reply, "memory_kb", 0) / 1024,
		    live ? "live" : "offline");
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(targets, i);
		if (proto_get_int(t, "failed", 1) == 0)
			rc = EXIT_OK;
		if (json)
			continue;
		if (proto_get_int(t, "failed", 1) > 0) {
			printf("  -  %-20s FAIL:", proto_get_str(t, "host"));
			json_object_object_get_ex(t, "checks", &c);
			m = c != NULL ? json_object_array_length(c) : 0;
			for (j = 0; j < m; j++) {
				v = json_object_array_get_idx(c, j);
				if (strcmp(proto_get_str(v, "status") ?
				    proto_get_str(v, "status") : "", "FAIL") ==
				    0)
					printf(" %s: %s;", proto_get_str(v,
					    "name"), proto_get_str(v, "detail"));
			}
			printf("\n");
			continue;
		}
		h = NULL;
		json_object_object_get_ex(t, "headroom", &h);
		cap = proto_get_int(h, "capacity", -1);
		doms = proto_get_int(h, "domains", -1);
		printf("  %zu. %-20s PASS, left after it: %lld MiB", i + 1,
		    proto_get_str(t, "host"),
		    (long long)proto_get_int(h, "memory_mb", 0));
		if (cap >= 0)
			printf(", capacity %lld", (long long)cap);
		if (doms >= 0)
			printf(", %lld domains", (long long)doms);
		printf("\n");
	}
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}
