/*
 * The domain-config model: libxl's domain_config JSON (what
 * libxl_domain_config_to_json() writes and xl puts in its save header),
 * held as a json-c object.  Both backends use it, so the pre-flight checks
 * and the incoming policy are one code path.
 *
 * Fields used (libxl_types.idl names):
 *	c_info.type ("pv" | "pvh" | "hvm"), c_info.name, c_info.uuid
 *	b_info.max_memkb, b_info.target_memkb, b_info.max_vcpus,
 *	b_info.bootloader, b_info.device_model_override / device_model
 *	disks[].pdev_path, .vdev, .format, .readwrite, .script
 *	nics[].bridge, .mac, .script
 *	pcidevs[] (any entry = passthrough)
 *	on_poweroff, on_reboot, on_crash ("destroy" | "restart" | "preserve"...)
 * Simulator knobs ride in a private top-level object the real libxl never
 * sees: "xmig_sim": { "tick_ms": N, "dirty_rate": N }.
 */
#ifndef DOMCFG_H
#define DOMCFG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

struct cfg;

#define DOMCFG_NAME_MAX		63	/* xl rejects longer names too */
#define DOMCFG_MAX_JSON		(1024 * 1024)

/*
 * xl's migration names (tools/xl/xl_migrate.c): the destination holds the
 * domain as NAME--incoming until "go", the source renames its copy
 * NAME--migratedaway before sending "go".  Recovery after a crash relies
 * on these names, so a domain whose name cannot take the longer suffix
 * within DOMCFG_NAME_MAX is refused before anything is touched.
 */
#define DOMCFG_SUFFIX_INCOMING	"--incoming"
#define DOMCFG_SUFFIX_AWAY	"--migratedaway"
#define DOMCFG_MIGRATE_NAME_MAX	(DOMCFG_NAME_MAX - \
	(int)sizeof(DOMCFG_SUFFIX_AWAY) + 1)

/*
 * The length of name without a trailing DOMCFG_SUFFIX_INCOMING: the
 * domain an arriving copy belongs to, whose lease and console log it
 * uses.  Inline because the libxl module, which links no libcommon,
 * needs it as much as relocd does.
 */
static inline size_t
domcfg_base_len(const char *name)
{
	size_t len = strlen(name), sl = sizeof(DOMCFG_SUFFIX_INCOMING) - 1;

	if (len > sl && strcmp(name + len - sl, DOMCFG_SUFFIX_INCOMING) == 0)
		return len - sl;
	return len;
}

/* Is name one a migration gives a domain for its duration? */
static inline int
domcfg_is_migration_name(const char *name)
{
	return domcfg_base_len(name) != strlen(name) ||
	    strstr(name, DOMCFG_SUFFIX_AWAY) != NULL;
}

/* A domain's weight against a host's capacity (relocd.conf(5)). */
#define DOMCFG_WEIGHT_MAX	1000000

struct domcfg_info {
	const char	*name;		/* points into the object */
	const char	*uuid;		/* "" if none */
	const char	*type;		/* "pv", "pvh", "hvm" */
	uint64_t	 memory_kb;	/* max_memkb */
	unsigned	 vcpus;
	size_t		 ndisks, nnics, npci;
	unsigned	 weight;	/* for capacity: xmig_sim.weight, 1 */
	unsigned	 sim_tick_ms;	/* 0 if not a sim domain */
	unsigned	 sim_dirty_rate;
};

/*
 * Build the JSON from a parsed xl-format domain config file: name, uuid
 * (generated if absent), type (default "pv"), memory (MiB), maxmem,
 * vcpus, disk = [ "target=/path,vdev=xvda,access=rw" or xl's positional
 * "/path,raw,xvda,rw" ], vif = [ "bridge=xenbr0,mac=...,script=..." ],
 * pci = [ ... ], kernel, ramdisk, extra, bootloader, on_poweroff,
 * on_reboot, on_crash, sim_tick_ms, sim_dirty_rate.  Unknown keys are
 * errors "FILE:LINE: unknown setting 'x'".  0 or -1 + message.
 */
int	domcfg_from_cfg(struct cfg *, struct json_object **out, char *err,
	    size_t errlen);
/* Parse JSON text (bounded by DOMCFG_MAX_JSON); checks that c_info.name
 * is a valid domain name and memory is present. */
int	domcfg_parse(const char *json, size_t len, struct json_object **out,
	    char *err, size_t errlen);
/* Fill info from the object; -1 + message if a required field is bad. */
int	domcfg_info(struct json_object *, struct domcfg_info *, char *err,
	    size_t errlen);
int	domcfg_set_name(struct json_object *, const char *name);
/* 1 if NAME is acceptable as a domain name (xl's rules: not empty, no
 * '/', not all digits, at most DOMCFG_NAME_MAX bytes, printable ASCII
 * without blanks). */
int	domcfg_name_valid(const char *name);
/* JSON text, NUL-terminated, caller frees. */
char	*domcfg_to_string(struct json_object *);

struct domcfg_policy {
	char * const	*disk_paths;	/* allowed prefixes, NULL-terminated */
	char * const	*bridges;	/* allowed bridges, NULL-terminated */
	char * const	*host_bridges;	/* bridges present on this host
					 * (NULL: none, so no nic passes) */
	int		 allow_bootloader;
	int		 allow_device_model;
	uint64_t	 max_memory_kb;	/* 0 = no ceiling */
	unsigned	 max_vcpus;	/* 0 = no ceiling */
	/* PCI devices free to assign here: an offline move may bring a
	 * device the destination has free ("0000:03:00.0"). */
	char * const	*pci_free;
	/* The pre-flight (precheck.c) judges disk paths, bridges and
	 * passthrough itself, one line per device: skip them here. */
	int		 devices_judged;
	/* incoming_volume_group: its LVs, /dev/VG/NAME, are allowed too,
	 * though they are LVM's links out of that directory ("" = none) */
	const char	*volume_group;
};

/* 1 if absolute PATH is one of PREFIXES or below one, component by
 * component; a path with a ".." component is never. */
int	domcfg_path_in(const char *path, char *const *prefixes);
/* 1 if PATH is /dev/VG/NAME, NAME a valid LV name (VG "" or NULL:
 * never). */
int	domcfg_vg_path(const char *path, const char *vg);
/* A PCI device of a config as "DDDD:BB:DD.F"; -1 if it has none. */
int	domcfg_pci_bdf(struct json_object *dev, char *bdf, size_t len);

/*
 * The incoming-config policy (relocd.conf(5), INCOMING POLICY): deny by
 * default, since an authenticated peer can still be wrong or compromised.
 * 0 if the config may be received; -1 with the first reason in reason,
 * e.g. "disk xvda: backend path /srv/x.img is not under an allowed path
 * (incoming_disk_paths)", "PCI passthrough is not allowed (2 devices)".
 */
int	domcfg_policy_check(struct json_object *, const struct domcfg_policy *,
	    char *reason, size_t reasonlen);

/* 36 characters of hex digits and dashes in the 8-4-4-4-12 layout. */
int	domcfg_uuid_valid(const char *);

#endif
