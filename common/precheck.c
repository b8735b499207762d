/*
 * The destination's pre-flight checks (precheck.h): one line per
 * prerequisite, each with the reason an administrator can act on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "domcfg.h"
#include "domcfg_impl.h"
#include "precheck.h"

#define PRECHECK_DETAIL	1024

static int	precheck_in(char *const *, const char *);
static void	precheck_append(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	precheck_storage(const struct relocd_conf *,
		    const struct precheck_host *, struct json_object *,
		    struct json_object *);
static int	precheck_network(const struct relocd_conf *,
		    const struct precheck_host *, struct json_object *,
		    struct json_object *);
static int	precheck_passthrough(const struct precheck_host *,
		    struct json_object *, const char *, int,
		    struct json_object *);
static unsigned	precheck_weight_used(const struct precheck_host *);

void
precheck_add(struct json_object *checks, const char *status,
    const char *name, const char *fmt, ...)
{
	struct json_object *o;
	char detail[PRECHECK_DETAIL];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	json_object_array_add(checks, o);
}

static int
precheck_in(char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* "; "-separated pieces of one detail, cut short rather than overrun. */
static void
precheck_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used > 0) {
		snprintf(buf + used, len - used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

int
precheck_version_ge(const char *a, const char *b)
{
	unsigned amaj, amin, bmaj, bmin;

	if (a == NULL || b == NULL || sscanf(a, "%u.%u", &amaj, &amin) != 2 ||
	    sscanf(b, "%u.%u", &bmaj, &bmin) != 2)
		return -1;
	return amaj > bmaj || (amaj == bmaj && amin >= bmin);
}

static unsigned
precheck_weight_used(const struct precheck_host *h)
{
	unsigned used = 0;
	size_t i;

	for (i = 0; i < h->ndoms; i++)
		used += h->doms[i].weight;
	return used;
}

struct json_object *
precheck_disk_paths(const struct relocd_conf *conf, struct json_object *cfg)
{
	struct json_object *arr, *out;
	const char *path;
	size_t i, n;

	out = json_object_new_array();
	arr = domcfg_member(cfg, "disks", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		path = domcfg_get_str(json_object_array_get_idx(arr, i),
		    "pdev_path");
		if (path != NULL && (domcfg_path_in(path,
		    conf->incoming_disk_paths) || conf_vg_path(conf, path)))
			json_object_array_add(out,
			    json_object_new_string(path));
	}
	return out;
}

/* A member as an integer, 0 when absent or not one. */
static int64_t
precheck_jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* The plan's entry whose target is PATH, or NULL. */
static struct json_object *
precheck_copy_find(struct json_object *plan, const char *path)
{
	struct json_object *e;
	const char *t;
	size_t i, n;

	if (plan == NULL || !json_object_is_type(plan, json_type_array))
		return NULL;
	n = json_object_array_length(plan);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(plan, i);
		/* One refused before it had a target is under its source. */
		if ((t = domcfg_get_str(e, "target")) != NULL ?
		    strcmp(t, path) == 0 : domcfg_get_str(e, "error") !=
		    NULL && (t = domcfg_get_str(e, "source")) != NULL &&
		    strcmp(t, path) == 0)
			return e;
	}
	return NULL;
}

struct json_object *
precheck_copy_apply(struct json_object *cfg, struct json_object *plan)
{
	struct json_object *out = NULL, *arr, *dev, *e;
	const char *path, *src, *target;
	size_t i, j, n, m;

	if (plan == NULL || !json_object_is_type(plan, json_type_array) ||
	    json_object_deep_copy(cfg, &out, NULL) != 0)
		return NULL;
	arr = domcfg_member(out, "disks", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	m = json_object_array_length(plan);
	for (i = 0; i < n; i++) {
		dev = json_object_array_get_idx(arr, i);
		if ((path = domcfg_get_str(dev, "pdev_path")) == NULL)
			continue;
		for (j = 0; j < m; j++) {
			e = json_object_array_get_idx(plan, j);
			src = domcfg_get_str(e, "source");
			target = domcfg_get_str(e, "target");
			if (src == NULL || target == NULL ||
			    strcmp(src, path) != 0)
				continue;
			json_object_object_add(dev, "pdev_path",
			    json_object_new_string(target));
			break;
		}
	}
	return out;
}

/*
 * Every disk and CD-ROM image: inside incoming_disk_paths, present on
 * this host, a block device or a file, and writable if the guest writes
 * it.  The facts (exists, kind, writable) are the root helper's, from
 * the real path, so a symlink out of the allowed tree does not count.
 */
static int
precheck_storage(const struct relocd_conf *conf, const struct precheck_host *h,
    struct json_object *cfg, struct json_object *checks)
{
	struct json_object *arr, *dev, *st, *v;
	char bad[PRECHECK_DETAIL] = "", what[96];
	struct json_object *cp;
	const char *path, *vdev, *kind, *err;
	size_t i, n, ndisks = 0, ncd = 0, ncopy = 0;
	uint64_t copy_bytes = 0, copy_size = 0, copy_free = 0;
	int cdrom, rw;

	arr = domcfg_member(cfg, "disks", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		dev = json_object_array_get_idx(arr, i);
		path = domcfg_get_str(dev, "pdev_path");
		vdev = domcfg_get_str(dev, "vdev");
		cdrom = json_object_object_get_ex(dev, "is_cdrom", &v) &&
		    json_object_get_int(v) != 0;
		rw = !cdrom && (!json_object_object_get_ex(dev, "readwrite",
		    &v) || json_object_get_int(v) != 0);
		if (path == NULL || path[0] == '\0')
			continue;	/* an empty CD-ROM drive */
		snprintf(what, sizeof(what), "%s%.32s", cdrom ? "CD-ROM " :
		    "disk ", vdev != NULL ? vdev : "?");
		cdrom ? ncd++ : ndisks++;
		if (!cdrom && (cp = precheck_copy_find(h->copy, path)) !=
		    NULL) {
			/* Copied here: the target must be creatable and
			 * have room; the plan says whether it has. */
			ncopy++;
			copy_bytes += (uint64_t)precheck_jint(cp,
			    "allocated");
			copy_size += (uint64_t)precheck_jint(cp, "size");
			if ((err = domcfg_get_str(cp, "error")) != NULL)
				precheck_append(bad, sizeof(bad), "%s: %.400s",
				    what, err);
			else if (copy_free == 0 || (uint64_t)precheck_jint(cp,
			    "fs_free") < copy_free)
				copy_free = (uint64_t)precheck_jint(cp,
				    "fs_free");
			continue;
		}
		if (!domcfg_path_in(path, conf->incoming_disk_paths) &&
		    !conf_vg_path(conf, path)) {
			precheck_append(bad, sizeof(bad), "%s: %.200s is not "
			    "under incoming_disk_paths", what, path);
			continue;
		}
		st = NULL;
		if (h->paths == NULL ||
		    !json_object_object_get_ex(h->paths, path, &st) ||
		    st == NULL) {
			precheck_append(bad, sizeof(bad), "%s: %.200s was not "
			    "looked up", what, path);
			continue;
		}
		if (json_object_object_get_ex(st, "inside", &v) &&
		    !json_object_get_boolean(v)) {
			precheck_append(bad, sizeof(bad), "%s: %.200s resolves "
			    "outside incoming_disk_paths (a symbolic link)",
			    what, path);
			continue;
		}
		if (!json_object_object_get_ex(st, "exists", &v) ||
		    !json_object_get_boolean(v)) {
			precheck_append(bad, sizeof(bad), "%s: %.200s does not "
			    "exist on %s%s", what, path, h->hostname,
			    cdrom ? " (the CD-ROM image)" : "");
			continue;
		}
		kind = json_object_object_get_ex(st, "kind", &v) ?
		    json_object_get_string(v) : "?";
		if (strcmp(kind, "block") != 0 && strcmp(kind, "file") != 0) {
			precheck_append(bad, sizeof(bad), "%s: %.200s is a %s, "
			    "not a block device or a file", what, path, kind);
			continue;
		}
		if (rw && (!json_object_object_get_ex(st, "writable", &v) ||
		    !json_object_get_boolean(v))) {
			precheck_append(bad, sizeof(bad), "%s: %.200s is "
			    "read-only on %s, and the guest writes it", what,
			    path, h->hostname);
			continue;
		}
	}
	if (*bad != '\0') {
		precheck_add(checks, PRECHECK_FAIL, "storage", "%s", bad);
		return 1;
	}
	if (ncopy > 0) {
		precheck_add(checks, PRECHECK_PASS, "storage", "%zu disk%s "
		    "copied here: %.1f MiB of data (%.1f MiB apparent), "
		    "%.1f MiB free where %s go; %zu other disk%s and %zu "
		    "CD-ROM image%s present on %s", ncopy, ncopy == 1 ? "" :
		    "s", copy_bytes / 1048576.0, copy_size / 1048576.0,
		    copy_free / 1048576.0, ncopy == 1 ? "it would" : "they "
		    "would", ndisks - ncopy, ndisks - ncopy == 1 ? "" : "s",
		    ncd, ncd == 1 ? "" : "s", h->hostname);
		return 0;
	}
	if (ndisks + ncd == 0)
		precheck_add(checks, PRECHECK_PASS, "storage", "no disks");
	else
		precheck_add(checks, PRECHECK_PASS, "storage", "%zu disk%s and "
		    "%zu CD-ROM image%s present on %s", ndisks, ndisks == 1 ?
		    "" : "s", ncd, ncd == 1 ? "" : "s", h->hostname);
	return 0;
}

/* Every bridge a nic names exists here and incoming_bridges allows it. */
static int
precheck_network(const struct relocd_conf *conf, const struct precheck_host *h,
    struct json_object *cfg, struct json_object *checks)
{
	struct json_object *arr, *dev;
	char bad[PRECHECK_DETAIL] = "", seen[PRECHECK_DETAIL] = "";
	const char *bridge;
	size_t i, n;

	arr = domcfg_member(cfg, "nics", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		dev = json_object_array_get_idx(arr, i);
		bridge = domcfg_get_str(dev, "bridge");
		if (bridge == NULL)
			bridge = DOMCFG_DEFAULT_BRIDGE;
		if (!precheck_in(h->bridges, bridge))
			precheck_append(bad, sizeof(bad), "nic %zu: bridge "
			    "%.64s does not exist on %s", i, bridge,
			    h->hostname);
		else if (!precheck_in(conf->incoming_bridges, bridge))
			precheck_append(bad, sizeof(bad), "nic %zu: bridge "
			    "%.64s is not allowed (incoming_bridges)", i,
			    bridge);
		else if (strstr(seen, bridge) == NULL)
			precheck_append(seen, sizeof(seen), "%.64s", bridge);
	}
	if (*bad != '\0') {
		precheck_add(checks, PRECHECK_FAIL, "network", "%s", bad);
		return 1;
	}
	if (n == 0)
		precheck_add(checks, PRECHECK_PASS, "network", "no nics");
	else
		precheck_add(checks, PRECHECK_PASS, "network", "%zu nic%s, "
		    "bridges present: %s", n, n == 1 ? "" : "s", seen);
	return 0;
}

/*
 * Assigned devices are the host's, not the guest's: a live move needs
 * them detached first (the line says how); an offline one may take a PCI
 * device the destination has free.
 */
static int
precheck_passthrough(const struct precheck_host *h, struct json_object *cfg,
    const char *name, int live, struct json_object *checks)
{
	static const char *const other[][3] = {
		{ "usbdevs", "USB device", "xl usbdev-detach" },
		{ "dtdevs", "device-tree device", "" },
	};
	struct json_object *arr, *b_info, *v;
	char bad[PRECHECK_DETAIL] = "", bdf[32];
	size_t i, j, n, npci = 0;

	arr = domcfg_member(cfg, "pcidevs", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		if (domcfg_pci_bdf(json_object_array_get_idx(arr, i), bdf,
		    sizeof(bdf)) == -1)
			snprintf(bdf, sizeof(bdf), "#%zu", i);
		npci++;
		if (live)
			precheck_append(bad, sizeof(bad), "PCI %s is assigned: "
			    "a live move cannot take it (xl pci-detach %.64s "
			    "%s)", bdf, name, bdf);
		else if (!precheck_in(h->pci_free, bdf))
			precheck_append(bad, sizeof(bad), "PCI %s is not free "
			    "to assign on %s (xl pci-assignable-add %s "
			    "there)", bdf, h->hostname, bdf);
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		arr = domcfg_member(cfg, other[i][0], json_type_array);
		n = arr != NULL ? json_object_array_length(arr) : 0;
		for (j = 0; j < n; j++)
			precheck_append(bad, sizeof(bad), "%s #%zu is "
			    "assigned%s%s%s%s", other[i][1], j, *other[i][2] ?
			    ": detach it first (" : "", other[i][2],
			    *other[i][2] ? " " : "", *other[i][2] ? name : "");
		if (n > 0 && *other[i][2])
			strncat(bad, ")", sizeof(bad) - strlen(bad) - 1);
	}
	b_info = domcfg_member(cfg, "b_info", json_type_object);
	for (i = 0; i < 3; i++) {
		static const char *const hw[] = { "iomem", "ioports", "irqs" };

		if (json_object_object_get_ex(b_info, hw[i], &v) && v != NULL &&
		    (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > 0))
			precheck_append(bad, sizeof(bad), "raw hardware "
			    "access (b_info.%s) cannot move", hw[i]);
	}
	if (*bad != '\0') {
		precheck_add(checks, PRECHECK_FAIL, "passthrough", "%s", bad);
		return 1;
	}
	if (npci > 0)
		precheck_add(checks, PRECHECK_PASS, "passthrough", "%zu PCI "
		    "device%s free on %s", npci, npci == 1 ? "" : "s",
		    h->hostname);
	else
		precheck_add(checks, PRECHECK_PASS, "passthrough",
		    "no assigned devices");
	return 0;
}

void
precheck_policy(const struct relocd_conf *conf, char *const *host_bridges,
    char *const *pci_free, struct domcfg_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->disk_paths = conf->incoming_disk_paths;
	pol->volume_group = conf->incoming_volume_group;
	pol->bridges = conf->incoming_bridges;
	pol->host_bridges = host_bridges;
	pol->pci_free = pci_free;
	pol->allow_bootloader = conf->incoming_allow_bootloader;
	pol->allow_device_model = conf->incoming_allow_device_model;
	pol->max_memory_kb = (uint64_t)conf->incoming_max_memory_mb * 1024;
	pol->max_vcpus = (unsigned)conf->incoming_max_vcpus;
}

int
precheck_dest(const struct relocd_conf *conf, const struct precheck_host *h,
    const struct precheck_src *src, struct json_object *cfg, int live,
    struct json_object *checks)
{
	struct domcfg_policy pol;
	struct domcfg_info info;
	char why[PRECHECK_DETAIL], missing[PRECHECK_DETAIL] = "";
	char incoming[DOMCFG_NAME_MAX + 16];
	uint64_t avail;
	unsigned used;
	size_t i, nfeat = 0, len;
	int fails = 0, r, ok;

	if (domcfg_info(cfg, &info, why, sizeof(why)) == -1) {
		precheck_add(checks, PRECHECK_FAIL, "config", "%s", why);
		return 1;
	}

	if (h->maintenance || !conf->accept_migrations) {
		precheck_add(checks, PRECHECK_FAIL, "maintenance", "%s is in "
		    "maintenance (%s); it refuses incoming migrations",
		    h->hostname, h->maintenance ? "xmig maintenance on" :
		    "accept_migrations = 0");
		fails++;
	} else
		precheck_add(checks, PRECHECK_PASS, "maintenance", "%s accepts "
		    "migrations", h->hostname);

	if (src->arch == NULL || *src->arch == '\0')
		precheck_add(checks, PRECHECK_WARN, "arch", "the source did "
		    "not say its architecture; %s is %s", h->hostname,
		    h->arch);
	else if (strcmp(src->arch, h->arch) != 0) {
		precheck_add(checks, PRECHECK_FAIL, "arch", "%s is %s, %s is "
		    "%s: a domain cannot change architecture", src->hostname,
		    src->arch, h->hostname, h->arch);
		fails++;
	} else
		precheck_add(checks, PRECHECK_PASS, "arch", "%s on both",
		    h->arch);

	/* libxc restores streams from its own and older versions. */
	r = precheck_version_ge(h->xen_version, src->xen_version);
	if (r == 1)
		precheck_add(checks, PRECHECK_PASS, "xen-version", "Xen %s "
		    "restores a stream from Xen %s", h->xen_version,
		    src->xen_version);
	else if (r == 0) {
		precheck_add(checks, PRECHECK_FAIL, "xen-version", "Xen %s on "
		    "%s cannot restore a stream from the newer Xen %s",
		    h->xen_version, h->hostname, src->xen_version);
		fails++;
	} else
		precheck_add(checks, PRECHECK_WARN, "xen-version", "versions "
		    "not comparable: '%s' here, '%s' at the source",
		    h->xen_version ? h->xen_version : "",
		    src->xen_version ? src->xen_version : "");

	if (strcmp(info.type, "pv") == 0)
		ok = h->cap_pv;
	else
		ok = h->cap_hvm;	/* PVH and HVM are HVM containers */
	if (!ok) {
		precheck_add(checks, PRECHECK_FAIL, "domain-type", "%s cannot "
		    "run %s guests (cap_%s = 0)", h->hostname, info.type,
		    strcmp(info.type, "pv") == 0 ? "pv" : "hvm");
		fails++;
	} else
		precheck_add(checks, PRECHECK_PASS, "domain-type", "%s runs "
		    "%s guests", h->hostname, info.type);

	if (src->cpu_features == NULL)
		precheck_add(checks, PRECHECK_WARN, "cpu-features", "the "
		    "source did not list its CPU features");
	else {
		for (i = 0; src->cpu_features[i] != NULL; i++) {
			nfeat++;
			if (!precheck_in(h->cpu_features, src->cpu_features[i]))
				precheck_append(missing, sizeof(missing), "%s",
				    src->cpu_features[i]);
		}
		if (*missing != '\0') {
			precheck_add(checks, PRECHECK_FAIL, "cpu-features",
			    "%s lacks CPU features the guest was started "
			    "with: %s", h->hostname, missing);
			fails++;
		} else
			precheck_add(checks, PRECHECK_PASS, "cpu-features",
			    "all %zu of the guest's CPU features present",
			    nfeat);
	}

	avail = h->free_kb > h->reserved_kb ? h->free_kb - h->reserved_kb : 0;
	if (avail < info.memory_kb) {
		precheck_add(checks, PRECHECK_FAIL, "memory", "not enough free "
		    "memory: %s needs %llu MiB, %s has %llu MiB free%s",
		    info.name, (unsigned long long)info.memory_kb / 1024,
		    h->hostname, (unsigned long long)avail / 1024,
		    h->nreserved > 0 ? " after what migrations on their way "
		    "in have reserved" : "");
		fails++;
	} else
		precheck_add(checks, PRECHECK_PASS, "memory", "%llu MiB needed, "
		    "%llu MiB free%s", (unsigned long long)info.memory_kb /
		    1024, (unsigned long long)avail / 1024, h->nreserved > 0 ?
		    " (after reservations of migrations on their way in)" :
		    "");

	used = precheck_weight_used(h) + h->reserved_weight;
	if (conf->max_domains > 0 && h->ndoms + h->nreserved >=
	    (size_t)conf->max_domains) {
		precheck_add(checks, PRECHECK_FAIL, "capacity", "%s already "
		    "runs or receives %zu domains (max_domains = %d)",
		    h->hostname, h->ndoms + h->nreserved, conf->max_domains);
		fails++;
	} else if (conf->capacity > 0 && used + info.weight >
	    (unsigned)conf->capacity) {
		precheck_add(checks, PRECHECK_FAIL, "capacity", "%s weighs %u "
		    "and %s has %u of its capacity %d left", info.name,
		    info.weight, h->hostname, used >= (unsigned)conf->capacity ?
		    0 : conf->capacity - used, conf->capacity);
		fails++;
	} else if (conf->capacity > 0)
		precheck_add(checks, PRECHECK_PASS, "capacity", "weight %u of "
		    "%d left (capacity %d)", info.weight, conf->capacity -
		    (int)used, conf->capacity);
	else
		precheck_add(checks, PRECHECK_PASS, "capacity", "%zu domains%s",
		    h->ndoms, conf->max_domains > 0 ? ", under max_domains" :
		    ", no limit set");

	fails += precheck_storage(conf, h, cfg, checks);
	fails += precheck_network(conf, h, cfg, checks);
	fails += precheck_passthrough(h, cfg, info.name, live, checks);

	snprintf(incoming, sizeof(incoming), "%s%s", info.name,
	    DOMCFG_SUFFIX_INCOMING);
	*why = '\0';
	len = strlen(info.name);
	if (domcfg_is_migration_name(info.name))
		precheck_append(why, sizeof(why), "domain name '%s' is the "
		    "name of a migration in progress", info.name);
	else if (len > DOMCFG_MIGRATE_NAME_MAX)
		precheck_append(why, sizeof(why), "domain name '%s' is %zu "
		    "characters: a migration renames it %s%s, which would "
		    "exceed Xen's limit of %d", info.name, len, info.name,
		    DOMCFG_SUFFIX_AWAY, DOMCFG_NAME_MAX);
	for (i = 0; i < h->ndoms; i++) {
		if (strcmp(h->doms[i].name, info.name) == 0)
			precheck_append(why, sizeof(why), "a domain named '%s' "
			    "already exists on %s", info.name, h->hostname);
		else if (strcmp(h->doms[i].name, incoming) == 0)
			precheck_append(why, sizeof(why), "a migration of '%s' "
			    "into %s is already in progress", info.name,
			    h->hostname);
		else if (*info.uuid != '\0' && h->doms[i].uuid != NULL &&
		    strcasecmp(h->doms[i].uuid, info.uuid) == 0)
			precheck_append(why, sizeof(why), "a domain with UUID "
			    "%s already exists on %s ('%s')", info.uuid,
			    h->hostname, h->doms[i].name);
	}
	if (*why != '\0') {
		precheck_add(checks, PRECHECK_FAIL, "name", "%s", why);
		fails++;
	} else
		precheck_add(checks, PRECHECK_PASS, "name", "name %s and its "
		    "UUID are free on %s", info.name, h->hostname);

	precheck_policy(conf, h->bridges, h->pci_free, &pol);
	pol.devices_judged = 1;
	if (domcfg_policy_check(cfg, &pol, why, sizeof(why)) == -1) {
		precheck_add(checks, PRECHECK_FAIL, "policy", "%s", why);
		fails++;
	} else
		precheck_add(checks, PRECHECK_PASS, "policy", "%s's incoming "
		    "policy allows the config", h->hostname);
	return fails;
}

const char *
precheck_failures(struct json_object *checks, char *buf, size_t len)
{
	static const struct {
		const char	*name, *code;
	} codes[] = {
		{ "maintenance", "maintenance" }, { "memory", "nomem" },
		{ "capacity", "full" }, { "name", "exists" },
		{ "config", "config" },
	};
	struct json_object *c, *v;
	const char *code = NULL, *name, *detail;
	size_t i, j, n;

	*buf = '\0';
	n = checks != NULL ? json_object_array_length(checks) : 0;
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(checks, i);
		if (!json_object_object_get_ex(c, "status", &v) ||
		    strcmp(json_object_get_string(v), PRECHECK_FAIL) != 0)
			continue;
		name = json_object_object_get_ex(c, "name", &v) ?
		    json_object_get_string(v) : "?";
		detail = json_object_object_get_ex(c, "detail", &v) ?
		    json_object_get_string(v) : "";
		precheck_append(buf, len, "%s: %s", name, detail);
		if (code == NULL) {
			code = "policy";
			for (j = 0; j < sizeof(codes) / sizeof(codes[0]); j++)
				if (strcmp(codes[j].name, name) == 0)
					code = codes[j].code;
		}
	}
	return code;
}

void
precheck_rank_reasons(struct json_object *rank, int all, char *buf,
    size_t len)
{
	struct json_object *targets, *t, *c, *v;
	const char *st;
	size_t i, j, n, m;

	n = json_object_object_get_ex(rank, "targets", &targets) ?
	    json_object_array_length(targets) : 0;
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(targets, i);
		c = json_object_object_get(t, "checks");
		m = c != NULL ? json_object_array_length(c) : 0;
		for (j = 0; j < m; j++) {
			v = json_object_array_get_idx(c, j);
			st = json_object_get_string(json_object_object_get(v,
			    "status"));
			if (st == NULL || strcmp(st, PRECHECK_FAIL) != 0)
				continue;
			precheck_append(buf, len, "%s: %s: %s",
			    json_object_get_string(json_object_object_get(t,
			    "host")), json_object_get_string(
			    json_object_object_get(v, "name")),
			    json_object_get_string(json_object_object_get(v,
			    "detail")));
			if (!all)
				break;
		}
	}
	/* The domain could not be looked at: the source's lines say why. */
	c = json_object_object_get(rank, "source");
	m = c != NULL ? json_object_array_length(c) : 0;
	for (j = 0; j < m; j++) {
		v = json_object_array_get_idx(c, j);
		precheck_append(buf, len, "%s: %s", json_object_get_string(
		    json_object_object_get(v, "name")), json_object_get_string(
		    json_object_object_get(v, "detail")));
	}
}

struct json_object *
precheck_headroom(const struct relocd_conf *conf,
    const struct precheck_host *h, struct json_object *cfg)
{
	struct json_object *o;
	struct domcfg_info info;
	char err[256];
	uint64_t avail;
	unsigned used;

	if (domcfg_info(cfg, &info, err, sizeof(err)) == -1)
		memset(&info, 0, sizeof(info));
	avail = h->free_kb > h->reserved_kb ? h->free_kb - h->reserved_kb : 0;
	used = precheck_weight_used(h) + h->reserved_weight + info.weight;
	o = json_object_new_object();
	json_object_object_add(o, "memory_mb", json_object_new_int64(
	    avail > info.memory_kb ? (int64_t)((avail - info.memory_kb) /
	    1024) : 0));
	json_object_object_add(o, "capacity", json_object_new_int64(
	    conf->capacity > 0 ? (int64_t)conf->capacity - (int64_t)used :
	    -1));
	json_object_object_add(o, "domains", json_object_new_int64(
	    conf->max_domains > 0 ? (int64_t)conf->max_domains -
	    (int64_t)(h->ndoms + h->nreserved + 1) : -1));
	return o;
}
