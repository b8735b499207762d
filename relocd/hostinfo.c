#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "relocd.h"
#include "xenops.h"

struct json_object *
hostinfo_list_json(struct xo_ctx *xo, char *err, size_t errlen)
{
	struct json_object *o, *arr, *d;
	struct xo_dominfo *doms = NULL;
	size_t n = 0, i;

	if (xo_list(xo, &doms, &n) != 0) {
		snprintf(err, errlen, "%s", xo_errmsg(xo));
		return NULL;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		d = json_object_new_object();
		json_object_object_add(d, "name",
		    json_object_new_string(doms[i].name));
		json_object_object_add(d, "id",
		    json_object_new_int64(doms[i].domid));
		json_object_object_add(d, "uuid",
		    json_object_new_string(doms[i].uuid));
		json_object_object_add(d, "mem_mb",
		    json_object_new_int64(doms[i].memory_kb / 1024));
		json_object_object_add(d, "vcpus",
		    json_object_new_int64(doms[i].vcpus));
		json_object_object_add(d, "state",
		    json_object_new_string(xo_state_name(doms[i].state)));
		json_object_object_add(d, "time",
		    json_object_new_double(doms[i].cpu_time));
		json_object_array_add(arr, d);
	}
	json_object_object_add(o, "domains", arr);
	free(doms);
	return o;
}

struct json_object *
hostinfo_host_json(struct xo_ctx *xo, struct relocd_conf *conf, char *err,
    size_t errlen)
{
	struct xo_hostinfo hi;
	struct json_object *o, *br;
	char since[256];
	size_t i;
	int maint;

	if ((maint = maint_get(conf, since, sizeof(since), err,
	    errlen)) == -1)
		return NULL;
	if (xo_host_info(xo, &hi) != 0) {
		snprintf(err, errlen, "%s", xo_errmsg(xo));
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(hi.hostname));
	json_object_object_add(o, "backend",
	    json_object_new_string(xo_backend_name(xo)));
	json_object_object_add(o, "arch", json_object_new_string(hi.arch));
	json_object_object_add(o, "xen_version",
	    json_object_new_string(hi.xen_version));
	json_object_object_add(o, "nr_cpus", json_object_new_int64(hi.nr_cpus));
	json_object_object_add(o, "total_memory_mb",
	    json_object_new_int64(hi.total_kb / 1024));
	json_object_object_add(o, "free_memory_mb",
	    json_object_new_int64(hi.free_kb / 1024));
	json_object_object_add(o, "nr_domains",
	    json_object_new_int64(hi.nr_domains));
	json_object_object_add(o, "cap_pv", json_object_new_boolean(hi.cap_pv));
	json_object_object_add(o, "cap_hvm",
	    json_object_new_boolean(hi.cap_hvm));
	json_object_object_add(o, "cap_hap",
	    json_object_new_boolean(hi.cap_hap));
	json_object_object_add(o, "cap_shadow",
	    json_object_new_boolean(hi.cap_shadow));
	br = json_object_new_array();
	for (i = 0; hi.bridges != NULL && hi.bridges[i] != NULL; i++)
		json_object_array_add(br, json_object_new_string(hi.bridges[i]));
	json_object_object_add(o, "bridges", br);
	/* What a peer would be told, and why: accept_migrations = 0 in
	 * relocd.conf, or maintenance turned on at run time. */
	json_object_object_add(o, "accept_migrations",
	    json_object_new_boolean(conf->accept_migrations && !maint));
	json_object_object_add(o, "maintenance",
	    json_object_new_boolean(maint));
	if (maint && *since != '\0')
		json_object_object_add(o, "maintenance_since",
		    json_object_new_string(since));
	json_object_object_add(o, "max_migrations",
	    json_object_new_int64(conf->max_migrations));
	json_object_object_add(o, "relocd_version",
	    json_object_new_string(RELOCD_VERSION));
	xo_hostinfo_dispose(&hi);
	return o;
}

/* Maintenance, free memory, bridges and the domains (list's view):
 * what an incoming config is judged against. */
struct json_object *
hostinfo_facts_json(struct xo_ctx *xo, struct relocd_conf *conf, char *err,
    size_t errlen)
{
	struct json_object *o, *arr;
	struct xo_hostinfo hi;
	size_t i;
	int maint;

	if ((maint = maint_get(conf, NULL, 0, err, errlen)) == -1)
		return NULL;
	memset(&hi, 0, sizeof(hi));
	if (xo_host_info(xo, &hi) != 0) {
		snprintf(err, errlen, "%s", xo_errmsg(xo));
		return NULL;
	}
	if ((o = hostinfo_list_json(xo, err, errlen)) == NULL) {
		xo_hostinfo_dispose(&hi);
		return NULL;
	}
	json_object_object_add(o, "maintenance", json_object_new_boolean(
	    maint));
	json_object_object_add(o, "free_kb", json_object_new_int64(
	    (int64_t)hi.free_kb));
	arr = json_object_new_array();
	for (i = 0; hi.bridges != NULL && hi.bridges[i] != NULL; i++)
		json_object_array_add(arr, json_object_new_string(
		    hi.bridges[i]));
	json_object_object_add(o, "bridges", arr);
	xo_hostinfo_dispose(&hi);
	return o;
}

int
hostinfo_facts_parse(struct json_object *o, struct xo_hostinfo *hi,
    struct xo_dominfo **domsp, size_t *np, int *maintenance, char *err,
    size_t errlen)
{
	struct json_object *arr, *br, *d, *m;
	struct xo_dominfo *doms = NULL;
	const char *s;
	size_t n, nb, i;

	memset(hi, 0, sizeof(*hi));
	*domsp = NULL;
	*np = 0;
	if (!json_object_object_get_ex(o, "domains", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    !json_object_object_get_ex(o, "bridges", &br) ||
	    !json_object_is_type(br, json_type_array) ||
	    !json_object_object_get_ex(o, "maintenance", &m) ||
	    !json_object_is_type(m, json_type_boolean)) {
		snprintf(err, errlen, "the helper's host facts are malformed");
		return -1;
	}
	*maintenance = json_object_get_boolean(m);
	hi->free_kb = (uint64_t)proto_get_int(o, "free_kb", 0);
	nb = json_object_array_length(br);
	if ((hi->bridges = calloc(nb + 1, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < nb; i++) {
		s = json_object_get_string(json_object_array_get_idx(br, i));
		if ((hi->bridges[i] = strdup(s ? s : "")) == NULL)
			goto nomem;
	}
	n = json_object_array_length(arr);
	if ((doms = calloc(n + 1, sizeof(*doms))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(arr, i);
		snprintf(doms[i].name, sizeof(doms[i].name), "%s",
		    proto_get_str(d, "name") ? proto_get_str(d, "name") : "");
		snprintf(doms[i].uuid, sizeof(doms[i].uuid), "%s",
		    proto_get_str(d, "uuid") ? proto_get_str(d, "uuid") : "");
		doms[i].domid = (uint32_t)proto_get_int(d, "id", 0);
	}
	*domsp = doms;
	*np = n;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	free(doms);
	xo_hostinfo_dispose(hi);
	return -1;
}
