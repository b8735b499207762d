#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domcfg.h"
#include "helper.h"
#include "relocd.h"
#include "xenops.h"

static struct json_object *
hostinfo_strv_json(char *const *v)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

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
		json_object_object_add(d, "weight",
		    json_object_new_int64(doms[i].weight));
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
	struct json_object *o;
	char since[256];
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
	json_object_object_add(o, "bridges", hostinfo_strv_json(hi.bridges));
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

/* REAL (resolved) is under one of incoming_disk_paths, each resolved
 * too: the allowed tree may itself sit behind a symbolic link. */
int
hostinfo_real_inside(const struct relocd_conf *conf, const char *real)
{
	char rp[PATH_MAX], *one[2] = { NULL, NULL };
	size_t i;

	for (i = 0; conf->incoming_disk_paths != NULL &&
	    conf->incoming_disk_paths[i] != NULL; i++) {
		one[0] = realpath(conf->incoming_disk_paths[i], rp) != NULL ?
		    rp : conf->incoming_disk_paths[i];
		if (domcfg_path_in(real, one))
			return 1;
	}
	return 0;
}

/*
 * A disk path a peer asked about, looked up as root: only inside
 * incoming_disk_paths, both as written and once resolved (a symbolic
 * link out of the tree is "not inside", and nothing more is said of its
 * target), so a peer learns nothing of the rest of the filesystem.
 */
static struct json_object *
hostinfo_path_json(const struct relocd_conf *conf, const char *path)
{
	struct json_object *o = json_object_new_object();
	char real[PATH_MAX];
	struct stat st;
	const char *kind;

	if (!domcfg_path_in(path, conf->incoming_disk_paths) &&
	    !conf_vg_path(conf, path)) {
		json_object_object_add(o, "inside",
		    json_object_new_boolean(0));
		return o;
	}
	if (realpath(path, real) == NULL) {
		json_object_object_add(o, "inside", json_object_new_boolean(1));
		json_object_object_add(o, "exists", json_object_new_boolean(0));
		if (errno != ENOENT && errno != ENOTDIR)
			json_object_object_add(o, "error",
			    json_object_new_string(strerror(errno)));
		return o;
	}
	/* LVM's /dev/VG/LV is a link to /dev/dm-N: inside when it leads
	 * to a block device, and nothing else of /dev counts. */
	if (conf_vg_path(conf, path) && !domcfg_path_in(path,
	    conf->incoming_disk_paths) ? stat(real, &st) == -1 ||
	    !S_ISBLK(st.st_mode) : !hostinfo_real_inside(conf, real)) {
		json_object_object_add(o, "inside",
		    json_object_new_boolean(0));
		return o;
	}
	json_object_object_add(o, "inside", json_object_new_boolean(1));
	if (stat(real, &st) == -1) {
		json_object_object_add(o, "exists", json_object_new_boolean(0));
		return o;
	}
	kind = S_ISBLK(st.st_mode) ? "block" : S_ISREG(st.st_mode) ? "file" :
	    S_ISDIR(st.st_mode) ? "directory" : "special file";
	json_object_object_add(o, "exists", json_object_new_boolean(1));
	json_object_object_add(o, "kind", json_object_new_string(kind));
	/* Root may write anything but a read-only mount or device. */
	json_object_object_add(o, "writable", json_object_new_boolean(
	    access(real, W_OK) == 0));
	return o;
}

#define HOSTINFO_MAX_PATHS	64

/* What a source tells a destination's pre-flight about itself. */
struct json_object *
hostinfo_source_json(const struct xo_hostinfo *hi)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "hostname",
	    json_object_new_string(hi->hostname));
	json_object_object_add(o, "arch", json_object_new_string(hi->arch));
	json_object_object_add(o, "xen_version",
	    json_object_new_string(hi->xen_version));
	json_object_object_add(o, "cpu_features",
	    hostinfo_strv_json(hi->cpu_features));
	return o;
}

/* Maintenance, free memory, bridges and the domains (list's view):
 * what an incoming config is judged against; with {"paths": [...]},
 * those disk paths looked up too (hostinfo_path_json). */
struct json_object *
hostinfo_facts_json(struct xo_ctx *xo, struct relocd_conf *conf,
    struct json_object *args, int self_reserve_fd, char *err, size_t errlen)
{
	struct json_object *o, *arr, *paths, *p;
	struct reserve_total t;
	struct xo_hostinfo hi;
	struct xo_dominfo *doms = NULL;
	const char *s;
	size_t i, n, ndoms = 0;
	int maint, rc;

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
	json_object_object_add(o, "bridges", hostinfo_strv_json(hi.bridges));
	json_object_object_add(o, "hostname",
	    json_object_new_string(hi.hostname));
	json_object_object_add(o, "arch", json_object_new_string(hi.arch));
	json_object_object_add(o, "xen_version",
	    json_object_new_string(hi.xen_version));
	json_object_object_add(o, "cap_pv", json_object_new_int(hi.cap_pv));
	json_object_object_add(o, "cap_hvm", json_object_new_int(hi.cap_hvm));
	json_object_object_add(o, "cap_hap", json_object_new_int(hi.cap_hap));
	json_object_object_add(o, "cap_shadow",
	    json_object_new_int(hi.cap_shadow));
	json_object_object_add(o, "cpu_features",
	    hostinfo_strv_json(hi.cpu_features));
	json_object_object_add(o, "pci_free", hostinfo_strv_json(hi.pci_free));
	xo_hostinfo_dispose(&hi);
	if (xo_list(xo, &doms, &ndoms) != 0) {
		snprintf(err, errlen, "%s", xo_errmsg(xo));
		json_object_put(o);
		return NULL;
	}
	rc = reserve_sum(conf, self_reserve_fd, doms, ndoms, &t, err, errlen);
	free(doms);
	if (rc == -1) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "reserved_kb",
	    json_object_new_int64((int64_t)t.kb));
	json_object_object_add(o, "reserved_weight",
	    json_object_new_int64(t.weight));
	json_object_object_add(o, "reserved_count",
	    json_object_new_int64(t.count));
	if (args != NULL && json_object_object_get_ex(args, "paths", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		paths = json_object_new_object();
		n = json_object_array_length(arr);
		for (i = 0; i < n && i < HOSTINFO_MAX_PATHS; i++) {
			p = json_object_array_get_idx(arr, i);
			if (!json_object_is_type(p, json_type_string))
				continue;
			s = json_object_get_string(p);
			json_object_object_add(paths, s,
			    hostinfo_path_json(conf, s));
		}
		json_object_object_add(o, "paths", paths);
	}
	/* xmig migrate --copy-storage: where the copies would go. */
	if (args != NULL && json_object_object_get_ex(args, "copy", &arr))
		json_object_object_add(o, "copy", storage_plan(conf, arr));
	return o;
}

static char **
hostinfo_strv_parse(struct json_object *o, const char *key)
{
	struct json_object *arr;
	const char *s;
	char **v;
	size_t n = 0, i;

	if (json_object_object_get_ex(o, key, &arr) &&
	    json_object_is_type(arr, json_type_array))
		n = json_object_array_length(arr);
	if ((v = calloc(n + 1, sizeof(char *))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		if ((v[i] = strdup(s != NULL ? s : "")) == NULL) {
			xo_strv_free(v);
			return NULL;
		}
	}
	return v;
}

int
hostinfo_facts_host(struct json_object *o, struct hostinfo_facts *f,
    char *err, size_t errlen)
{
	struct json_object *arr, *d, *m;
	size_t n, i;

	memset(f, 0, sizeof(*f));
	if (!json_object_object_get_ex(o, "domains", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    !json_object_object_get_ex(o, "maintenance", &m)) {
		snprintf(err, errlen, "the helper's host facts are malformed");
		return -1;
	}
	f->o = json_object_get(o);
	f->h.maintenance = json_object_get_boolean(m);
	f->h.hostname = proto_get_str(o, "hostname") ?
	    proto_get_str(o, "hostname") : "this host";
	f->h.arch = proto_get_str(o, "arch") ? proto_get_str(o, "arch") : "";
	f->h.xen_version = proto_get_str(o, "xen_version") ?
	    proto_get_str(o, "xen_version") : "";
	f->h.cap_pv = (int)proto_get_int(o, "cap_pv", 0);
	f->h.cap_hvm = (int)proto_get_int(o, "cap_hvm", 0);
	f->h.cap_hap = (int)proto_get_int(o, "cap_hap", 0);
	f->h.cap_shadow = (int)proto_get_int(o, "cap_shadow", 0);
	f->h.free_kb = (uint64_t)proto_get_int(o, "free_kb", 0);
	f->h.reserved_kb = (uint64_t)proto_get_int(o, "reserved_kb", 0);
	f->h.reserved_weight = (unsigned)proto_get_int(o, "reserved_weight",
	    0);
	f->h.nreserved = (unsigned)proto_get_int(o, "reserved_count", 0);
	if ((f->bridges = hostinfo_strv_parse(o, "bridges")) == NULL ||
	    (f->cpu_features = hostinfo_strv_parse(o, "cpu_features")) ==
	    NULL || (f->pci_free = hostinfo_strv_parse(o, "pci_free")) ==
	    NULL)
		goto nomem;
	f->h.bridges = f->bridges;
	f->h.cpu_features = f->cpu_features;
	f->h.pci_free = f->pci_free;
	json_object_object_get_ex(o, "paths", &f->h.paths);
	json_object_object_get_ex(o, "copy", &f->h.copy);
	n = json_object_array_length(arr);
	if ((f->doms = calloc(n + 1, sizeof(*f->doms))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(arr, i);
		f->doms[i].name = proto_get_str(d, "name") ?
		    proto_get_str(d, "name") : "";
		f->doms[i].uuid = proto_get_str(d, "uuid") ?
		    proto_get_str(d, "uuid") : "";
		f->doms[i].weight = (unsigned)proto_get_int(d, "weight", 1);
	}
	f->h.doms = f->doms;
	f->h.ndoms = n;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	hostinfo_facts_dispose(f);
	return -1;
}

void
hostinfo_facts_dispose(struct hostinfo_facts *f)
{
	xo_strv_free(f->bridges);
	xo_strv_free(f->cpu_features);
	xo_strv_free(f->pci_free);
	free(f->doms);
	json_object_put(f->o);
	memset(f, 0, sizeof(*f));
}
