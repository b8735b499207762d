#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "xmig.h"

static const char *list_state(const char *);
static int	list_args(const char *, int, char **, const char **, int *);

/* xm's six state letters: running, blocked, paused, shutdown, crashed,
 * dying. */
static const char *
list_state(const char *s)
{
	if (s == NULL)
		return "------";
	if (strcmp(s, "running") == 0)
		return "r-----";
	if (strcmp(s, "paused") == 0)
		return "--p---";
	if (strcmp(s, "suspended") == 0 || strcmp(s, "shutdown") == 0)
		return "---s--";
	if (strcmp(s, "crashed") == 0)
		return "----c-";
	if (strcmp(s, "dying") == 0)
		return "-----d";
	return "------";
}

static int
list_args(const char *cmd, int argc, char **argv, const char **host,
    int *longfmt)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "long", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*host = NULL;
	while ((ch = getopt_long(argc, argv, longfmt ? "H:l" : "H:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'H':
			*host = optarg;
			break;
		case 'l':
			if (longfmt == NULL)
				return -1;
			*longfmt = 1;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int
main_list(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *doms, *d, *t;
	const char *host;
	size_t i, n;
	int longfmt = 0, rc = EXIT_FAILED;

	if (list_args("list", argc, argv, &host, &longfmt) == -1)
		return xmig_usage("list");
	req = json_object_new_object();
	if (host != NULL)
		json_object_object_add(req, "host",
		    json_object_new_string(host));
	if (ctl_call(PT_LIST, req, &reply) == -1)
		goto out;
	if (longfmt) {
		printf("%s\n", json_object_to_json_string_ext(reply,
		    JSON_C_TO_STRING_PRETTY));
		rc = EXIT_OK;
		goto out;
	}
	printf("%-40s %5s %5s %5s %10s %9s\n", "Name", "ID", "Mem", "VCPUs",
	    "State", "Time(s)");
	if (json_object_object_get_ex(reply, "domains", &doms)) {
		n = json_object_array_length(doms);
		for (i = 0; i < n; i++) {
			d = json_object_array_get_idx(doms, i);
			t = NULL;
			json_object_object_get_ex(d, "time", &t);
			printf("%-40s %5lld %5lld %5lld %10s %9.1f\n",
			    proto_get_str(d, "name"),
			    (long long)proto_get_int(d, "id", 0),
			    (long long)proto_get_int(d, "mem_mb", 0),
			    (long long)proto_get_int(d, "vcpus", 0),
			    list_state(proto_get_str(d, "state")),
			    t != NULL ? json_object_get_double(t) : 0.0);
		}
	}
	rc = EXIT_OK;
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

int
main_host_info(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	const char *host;
	int rc = EXIT_FAILED;

	if (list_args("host-info", argc, argv, &host, NULL) == -1)
		return xmig_usage("host-info");
	req = json_object_new_object();
	if (host != NULL)
		json_object_object_add(req, "host",
		    json_object_new_string(host));
	if (ctl_call(PT_HOST_INFO, req, &reply) == -1)
		goto out;
	/* xm info's "key : value" lines, in the order relocd sent them. */
	json_object_object_foreach(reply, key, val) {
		if (json_object_is_type(val, json_type_array)) {
			size_t i, n = json_object_array_length(val);

			printf("%-22s :", key);
			for (i = 0; i < n; i++)
				printf(" %s", json_object_get_string(
				    json_object_array_get_idx(val, i)));
			printf("\n");
		} else
			printf("%-22s : %s\n", key,
			    json_object_get_string(val));
	}
	rc = EXIT_OK;
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}
