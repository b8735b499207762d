/*
 * xmig leases [DOMAIN]: the leases in cluster_dir, read straight from the
 * shared storage (no relocd needed: it is what an operator looks at when
 * a host is dead), with the host each domain's record names.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domcfg.h"
#include "lease.h"
#include "xmig.h"

static void	lease_line(const char *, const char *, int, const char *);

static void
lease_line(const char *name, const char *host, int held, const char *who)
{
	printf("%-20s %-15s %-5s %s\n", name, host, held ? "held" : "free",
	    held ? who : "-");
}

int
main_leases(int argc, char **argv)
{
	struct json_object *rec, *o;
	struct lease_info li;
	struct dirent *de;
	const char *dir = xmig_conf.cluster_dir, *want = NULL;
	const char *name, *host;
	char path[4400], uuid[37], err[512];
	DIR *d;
	int found = 0;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return xmig_usage("leases");
	if (argc == 2)
		want = argv[1];
	if (dir == NULL || *dir == '\0') {
		xmig_err("no cluster_dir in %s: this host keeps no leases",
		    xmig_conf.path);
		return EXIT_FAILED;
	}
	snprintf(path, sizeof(path), "%s/leases", dir);
	if ((d = opendir(path)) == NULL) {
		if (want != NULL) {
			xmig_err("%s: no lease in %s", want, dir);
			return EXIT_FAILED;
		}
		return EXIT_OK;
	}
	printf("%-20s %-15s %-5s %s\n", "Name", "Host (record)", "Lease",
	    "Holder");
	while ((de = readdir(d)) != NULL) {
		if (!domcfg_uuid_valid(de->d_name))
			continue;
		snprintf(uuid, sizeof(uuid), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/domains/%s.json", dir, uuid);
		rec = json_object_from_file(path);
		name = host = NULL;
		if (rec != NULL && json_object_object_get_ex(rec, "name", &o))
			name = json_object_get_string(o);
		if (rec != NULL && json_object_object_get_ex(rec, "host", &o))
			host = json_object_get_string(o);
		if (want == NULL || (name != NULL && strcmp(name, want) == 0) ||
		    strcasecmp(uuid, want) == 0) {
			if (lease_probe(dir, uuid, &li, err, sizeof(err)) ==
			    -1)
				xmig_err("%s", err);
			else {
				lease_line(name != NULL ? name : uuid,
				    host != NULL ? host : "-", li.held,
				    li.holder);
				found++;
			}
		}
		json_object_put(rec);
	}
	closedir(d);
	if (want != NULL && found == 0) {
		xmig_err("%s: no lease in %s", want, dir);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}
