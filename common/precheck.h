/*
 * The pre-flight: every prerequisite of a move that the destination can
 * judge, one line each, as xmig check prints them and as a migration is
 * refused with them:
 *
 *	PASS|WARN|FAIL NAME: detail
 *
 * Pure: the facts come from the destination's root helper (hostinfo.c)
 * and the source's request; nothing here touches a host.  A migration
 * runs the same list (recv.c), so check and migrate cannot disagree.
 */
#ifndef PRECHECK_H
#define PRECHECK_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct relocd_conf;

#define PRECHECK_PASS	"PASS"
#define PRECHECK_WARN	"WARN"
#define PRECHECK_FAIL	"FAIL"

struct precheck_dom {
	const char	*name;
	const char	*uuid;
	unsigned	 weight;
};

/* The destination, as its helper saw it a moment ago. */
struct precheck_host {
	const char	*hostname;
	const char	*arch;
	const char	*xen_version;
	int		 cap_pv, cap_hvm, cap_hap, cap_shadow;
	char *const	*bridges;
	char *const	*cpu_features;
	char *const	*pci_free;
	uint64_t	 free_kb;
	/* What migrations on their way in hold (reserve.c). */
	uint64_t	 reserved_kb;
	unsigned	 reserved_weight;
	unsigned	 nreserved;
	int		 maintenance;	/* xmig maintenance on */
	const struct precheck_dom *doms;
	size_t		 ndoms;
	/* {PATH: {"exists", "kind", "writable", "inside"}} for the disk
	 * paths asked about (hostinfo_paths_json). */
	struct json_object *paths;
	/* With xmig migrate --copy-storage: this host's plan for the
	 * disks the source offers to copy, [{"vdev", "source", "target",
	 * "size", "allocated", "fs_free", "error"}] (storage.c); NULL
	 * without. */
	struct json_object *copy;
};

/* What the source says of itself. */
struct precheck_src {
	const char	*hostname;
	const char	*arch;
	const char	*xen_version;
	char *const	*cpu_features;	/* NULL: not told, not compared */
};

struct domcfg_policy;
/* The incoming policy of relocd.conf, for a host with these bridges and
 * these PCI devices free to assign. */
void	precheck_policy(const struct relocd_conf *, char *const *host_bridges,
	    char *const *pci_free, struct domcfg_policy *);
/* Appends {"status", "name", "detail"} to checks (a JSON array). */
void	precheck_add(struct json_object *checks, const char *status,
	    const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/*
 * The destination's checks of CFG against HOST and its configuration
 * CONF (maintenance, arch, xen-version, domain-type, cpu-features,
 * memory, capacity, storage, network, passthrough, name, policy).
 * Returns the number of FAIL lines added.
 */
int	precheck_dest(const struct relocd_conf *, const struct precheck_host *,
	    const struct precheck_src *, struct json_object *cfg, int live,
	    struct json_object *checks);
/* The disk and CD-ROM image paths of CFG a destination should look up
 * (those under incoming_disk_paths, or LVs of incoming_volume_group), as
 * a JSON array of strings. */
struct json_object *precheck_disk_paths(const struct relocd_conf *,
	    struct json_object *cfg);
/*
 * A copy plan (precheck_host.copy) applied to CFG: each disk copied gets
 * its target as pdev_path, so the policy and the storage check judge
 * where the copy will be, not where the source keeps it.  A new config
 * (the caller puts it), or NULL on a plan that is not an array.
 */
struct json_object *precheck_copy_apply(struct json_object *cfg,
	    struct json_object *plan);
/* The FAIL lines of checks, "NAME: detail" joined by "; ", and the
 * protocol code of the first (maintenance, nomem, full, exists,
 * policy); NULL code if none failed. */
const char *precheck_failures(struct json_object *checks, char *buf,
	    size_t len);
/* Why a ranking (check_place's answer) has no host: each target's FAIL
 * lines as "HOST: NAME: detail" (its first only, unless ALL), then the
 * source's lines when the domain could not be looked at, appended to
 * BUF "; "-separated. */
void	precheck_rank_reasons(struct json_object *rank, int all, char *buf,
	    size_t len);
/* Headroom left after CFG would arrive: what place ranks hosts by. */
struct json_object *precheck_headroom(const struct relocd_conf *,
	    const struct precheck_host *, struct json_object *cfg);
/* "4.17.0" >= "4.16": 1, 0, or -1 if either cannot be read. */
int	precheck_version_ge(const char *a, const char *b);

#endif
