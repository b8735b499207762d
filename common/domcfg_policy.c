/*
 * The incoming-config policy: what a domain arriving from a peer may ask
 * of this host, deny by default.  domcfg_info() type-checks the config
 * first, so a malformed one is refused rather than half-checked.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "domcfg.h"
#include "domcfg_impl.h"
#include "errbuf.h"

#define DOMCFG_SCRIPT_DIR	"/etc/xen/scripts/"

static int	domcfg_path_under(const char *, const char *);
static int	domcfg_path_has_dotdot(const char *);
static int	domcfg_default_script(const char *, const char *);
static int	domcfg_in_list(char *const *, const char *);

static int
domcfg_path_has_dotdot(const char *path)
{
	const char *p = path;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/*
 * 1 if absolute PATH is PREFIX or below it, compared component by
 * component ("//" and "/./" do not count), so "/srv/vm" covers
 * "/srv/vm/a" but not "/srv/vmevil/a".  The caller has refused "..".
 */
static int
domcfg_path_under(const char *path, const char *prefix)
{
	const char *p = path, *q = prefix;
	size_t np, nq;

	if (*q != '/' || domcfg_path_has_dotdot(prefix))
		return 0;
	for (;;) {
		while (*q == '/' || (q[0] == '.' && (q[1] == '/' ||
		    q[1] == '\0')))
			q++;
		while (*p == '/' || (p[0] == '.' && (p[1] == '/' ||
		    p[1] == '\0')))
			p++;
		if (*q == '\0')
			return 1;
		np = strcspn(p, "/");
		nq = strcspn(q, "/");
		if (np != nq || memcmp(p, q, np) != 0)
			return 0;
		p += np;
		q += nq;
	}
}

/*
 * libxl records the script it used in the domain's stored config (nics
 * get vif-bridge even when the admin wrote nothing), so a config from a
 * stock xl host carries the default scripts.  Those are not overrides.
 */
static int
domcfg_default_script(const char *script, const char *def)
{
	if (strcmp(script, def) == 0)
		return 1;
	return strncmp(script, DOMCFG_SCRIPT_DIR,
	    strlen(DOMCFG_SCRIPT_DIR)) == 0 &&
	    strcmp(script + strlen(DOMCFG_SCRIPT_DIR), def) == 0;
}

static int
domcfg_in_list(char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

int
domcfg_vg_path(const char *path, const char *vg)
{
	size_t n = vg != NULL ? strlen(vg) : 0;

	if (n == 0 || path == NULL || strncmp(path, "/dev/", 5) != 0 ||
	    strncmp(path + 5, vg, n) != 0 || path[5 + n] != '/')
		return 0;
	return conf_lvm_name_ok(path + 6 + n);
}

int
domcfg_path_in(const char *path, char *const *prefixes)
{
	size_t i;

	if (path == NULL || path[0] != '/' || domcfg_path_has_dotdot(path))
		return 0;
	for (i = 0; prefixes != NULL && prefixes[i] != NULL; i++)
		if (domcfg_path_under(path, prefixes[i]))
			return 1;
	return 0;
}

int
domcfg_pci_bdf(struct json_object *dev, char *bdf, size_t len)
{
	struct json_object *v;
	int64_t f[4];
	const char *keys[4] = { "domain", "bus", "dev", "func" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!json_object_object_get_ex(dev, keys[i], &v) ||
		    !json_object_is_type(v, json_type_int))
			return -1;
		f[i] = json_object_get_int64(v);
		if (f[i] < 0 || f[i] > 0xffff)
			return -1;
	}
	snprintf(bdf, len, "%04x:%02x:%02x.%x", (unsigned)f[0],
	    (unsigned)f[1], (unsigned)f[2], (unsigned)f[3]);
	return 0;
}

int
domcfg_policy_check(struct json_object *obj, const struct domcfg_policy *pol,
    char *reason, size_t reasonlen)
{
	static const char *const passthrough[][2] = {
		{ "pcidevs", "PCI passthrough" },
		{ "dtdevs", "device-tree passthrough" },
		{ "usbdevs", "USB passthrough" },
	};
	static const char *const hwaccess[] = { "iomem", "ioports", "irqs" };
	struct json_object *arr, *dev, *b_info, *pv, *v;
	struct domcfg_info info;
	const char *path, *vdev, *script, *bridge, *s;
	char name[32], why[256];
	size_t i, j, n;
	uint64_t mb;

	/* a malformed config is refused, not half-checked */
	if (domcfg_info(obj, &info, why, sizeof(why)) == -1) {
		errbuf_set(reason, reasonlen, "%s", why);
		return -1;
	}
	b_info = domcfg_member(obj, "b_info", json_type_object);

	arr = domcfg_member(obj, "disks", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		dev = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(dev, json_type_object)) {
			errbuf_set(reason, reasonlen, "disk %zu is not an "
			    "object", i);
			return -1;
		}
		vdev = domcfg_get_str(dev, "vdev");
		if (vdev == NULL) {
			snprintf(name, sizeof(name), "#%zu", i);
			vdev = name;
		}
		if (json_object_object_get_ex(dev, "pdev_path", &v) &&
		    v != NULL && !json_object_is_type(v, json_type_string)) {
			errbuf_set(reason, reasonlen, "disk %.32s: backend "
			    "path is not a string", vdev);
			return -1;
		}
		path = domcfg_get_str(dev, "pdev_path");
		/* no backend path: an empty CD-ROM drive */
		if (path != NULL && path[0] != '\0') {
			if (path[0] != '/') {
				errbuf_set(reason, reasonlen, "disk %.32s: "
				    "backend path %.200s is not absolute",
				    vdev, path);
				return -1;
			}
			if (domcfg_path_has_dotdot(path)) {
				errbuf_set(reason, reasonlen, "disk %.32s: "
				    "backend path %.200s has a '..' component",
				    vdev, path);
				return -1;
			}
			for (j = 0; !pol->devices_judged &&
			    pol->disk_paths != NULL &&
			    pol->disk_paths[j] != NULL; j++)
				if (domcfg_path_under(path,
				    pol->disk_paths[j]))
					break;
			if (!pol->devices_judged && (pol->disk_paths ==
			    NULL || pol->disk_paths[j] == NULL) &&
			    !domcfg_vg_path(path, pol->volume_group)) {
				errbuf_set(reason, reasonlen, "disk %.32s: "
				    "backend path %.200s is not under an "
				    "allowed path (incoming_disk_paths)", vdev,
				    path);
				return -1;
			}
		}
		if (json_object_object_get_ex(dev, "script", &v) && v != NULL) {
			script = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "(not a string)";
			if (!domcfg_default_script(script, "block")) {
				errbuf_set(reason, reasonlen, "hotplug script "
				    "override '%.200s' on disk %.32s is not "
				    "allowed", script, vdev);
				return -1;
			}
		}
	}

	arr = domcfg_member(obj, "nics", json_type_array);
	n = arr != NULL ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		dev = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(dev, json_type_object)) {
			errbuf_set(reason, reasonlen, "nic %zu is not an "
			    "object", i);
			return -1;
		}
		if (json_object_object_get_ex(dev, "devid", &v) &&
		    json_object_is_type(v, json_type_int))
			snprintf(name, sizeof(name), "%lld",
			    (long long)json_object_get_int64(v));
		else
			snprintf(name, sizeof(name), "%zu", i);
		if (json_object_object_get_ex(dev, "script", &v) && v != NULL) {
			script = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "(not a string)";
			if (!domcfg_default_script(script, "vif-bridge")) {
				errbuf_set(reason, reasonlen, "hotplug script "
				    "override '%.200s' on nic %s is not "
				    "allowed", script, name);
				return -1;
			}
		}
		if (json_object_object_get_ex(dev, "bridge", &v) && v != NULL) {
			if (!json_object_is_type(v, json_type_string)) {
				errbuf_set(reason, reasonlen, "nic %s: bridge "
				    "is not a string", name);
				return -1;
			}
			bridge = json_object_get_string(v);
		} else
			bridge = DOMCFG_DEFAULT_BRIDGE;	/* libxl's default */
		if (pol->devices_judged)
			continue;
		if (!domcfg_in_list(pol->bridges, bridge)) {
			errbuf_set(reason, reasonlen, "nic %s: bridge %.64s "
			    "is not allowed (incoming_bridges)", name, bridge);
			return -1;
		}
		if (!domcfg_in_list(pol->host_bridges, bridge)) {
			errbuf_set(reason, reasonlen, "nic %s: bridge %.64s "
			    "does not exist on this host", name, bridge);
			return -1;
		}
	}

	for (i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++) {
		if (pol->devices_judged)
			break;
		if (!json_object_object_get_ex(obj, passthrough[i][0], &v) ||
		    v == NULL)
			continue;
		n = json_object_is_type(v, json_type_array) ?
		    json_object_array_length(v) : 1;
		/* PCI devices this host has free may come (offline: the
		 * pre-flight refuses a live move with one). */
		if (i == 0 && n > 0 && json_object_is_type(v,
		    json_type_array) && pol->pci_free != NULL) {
			for (j = 0; j < n; j++)
				if (domcfg_pci_bdf(json_object_array_get_idx(v,
				    j), why, sizeof(why)) == -1 ||
				    !domcfg_in_list(pol->pci_free, why))
					break;
			if (j == n)
				continue;
		}
		if (n > 0) {
			errbuf_set(reason, reasonlen, "%s is not allowed "
			    "(%zu device%s)", passthrough[i][1], n,
			    n == 1 ? "" : "s");
			return -1;
		}
	}
	/* raw I/O memory, ports and IRQs are passthrough by another name */
	for (i = 0; i < sizeof(hwaccess) / sizeof(hwaccess[0]); i++) {
		if (!json_object_object_get_ex(b_info, hwaccess[i], &v) ||
		    v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > 0) {
			errbuf_set(reason, reasonlen, "hardware access "
			    "(b_info.%s) is not allowed", hwaccess[i]);
			return -1;
		}
	}

	if (!pol->allow_bootloader) {
		/* 4.17 has it in b_info; older libxl in type.pv */
		pv = domcfg_member(b_info, "type.pv", json_type_object);
		s = domcfg_get_str(b_info, "bootloader");
		if (s == NULL || s[0] == '\0')
			s = domcfg_get_str(pv, "bootloader");
		if (s != NULL && s[0] != '\0') {
			errbuf_set(reason, reasonlen, "bootloader '%.200s' is "
			    "not allowed (incoming_allow_bootloader)", s);
			return -1;
		}
	}
	if (!pol->allow_device_model) {
		s = domcfg_get_str(b_info, "device_model");
		if (s == NULL || s[0] == '\0')
			s = domcfg_get_str(b_info, "device_model_override");
		if (s != NULL && s[0] != '\0') {
			errbuf_set(reason, reasonlen, "device model override "
			    "'%.200s' is not allowed "
			    "(incoming_allow_device_model)", s);
			return -1;
		}
	}

	if (pol->max_memory_kb != 0 && info.memory_kb > pol->max_memory_kb) {
		mb = info.memory_kb / 1024 + (info.memory_kb % 1024 != 0);
		errbuf_set(reason, reasonlen, "memory %llu MiB is over the "
		    "limit of %llu MiB (incoming_max_memory_mb)",
		    (unsigned long long)mb,
		    (unsigned long long)(pol->max_memory_kb / 1024));
		return -1;
	}
	if (pol->max_vcpus != 0 && info.vcpus > pol->max_vcpus) {
		errbuf_set(reason, reasonlen, "%u vCPUs is over the limit of "
		    "%u (incoming_max_vcpus)", info.vcpus, pol->max_vcpus);
		return -1;
	}
	return 0;
}
