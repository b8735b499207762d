/*
 * cluster_dir: the storage every host of a cluster shares (relocd(8),
 * FAILURE OF A HOST).  Root helper only; every file is written as the
 * journal writes its records (temp file, fsync, rename, fsync of the
 * directory), so a host that dies mid-write leaves the old record or the
 * new one, never half of one.
 *
 *	domains/UUID.json	where the domain runs and its libxl config:
 *				{"name", "uuid", "host", "since", "config"},
 *				written by the host that makes it run
 *				(create, the destination of a migration, a
 *				forced restart), removed when it is destroyed
 *	leases/UUID		its lease (common/lease.c), held by the
 *				domain's own process
 *	tombstones/UUID.json	a forced restart moved it off "from":
 *				{"name", "uuid", "from", "to", "by", "when",
 *				"fence"}; "from" settles it when it comes back
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "conf.h"
#include "domcfg.h"
#include "helper.h"
#include "journal.h"
#include "lease.h"
#include "log.h"
#include "proto.h"
#include "xenops.h"

#define CLUSTER_DOMAINS		"domains"
#define CLUSTER_TOMBSTONES	"tombstones"
/* Under autostart_dir: xendomains starts "*", which a dot-name is not. */
#define CLUSTER_AUTOSTART_OFF	".relocd-forced-away"

static int	cluster_subdir(const struct relocd_conf *, const char *, char *,
		    size_t, char *, size_t);
static void	cluster_now(char *, size_t);
static const char *cluster_str(struct json_object *, const char *);

/* A field of a record for a message: never NULL. */
static const char *
cluster_str(struct json_object *o, const char *key)
{
	const char *s = proto_get_str(o, key);

	return s != NULL ? s : "?";
}

int
cluster_enabled(const struct relocd_conf *conf)
{
	return conf->cluster_dir != NULL && *conf->cluster_dir != '\0';
}

/* This host as its peers name it: the address they dial. */
const char *
cluster_self(const struct relocd_conf *conf)
{
	static char name[256];

	if (conf->relocation_address != NULL &&
	    *conf->relocation_address != '\0')
		return conf->relocation_address;
	if (gethostname(name, sizeof(name) - 1) == -1)
		snprintf(name, sizeof(name), "localhost");
	return name;
}

static void
cluster_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)now);
}

static int
cluster_subdir(const struct relocd_conf *conf, const char *sub, char *buf,
    size_t len, char *err, size_t errlen)
{
	if ((size_t)snprintf(buf, len, "%s/%s", conf->cluster_dir, sub) >=
	    len) {
		snprintf(err, errlen, "cluster_dir path too long");
		return -1;
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", buf, strerror(errno));
		return -1;
	}
	return 0;
}

/* The domain runs here now, from this config. */
int
cluster_record_put(const struct relocd_conf *conf, struct json_object *cfg,
    char *err, size_t errlen)
{
	struct json_object *rec;
	struct domcfg_info info;
	char dir[4200], when[64];
	int rc;

	if (!cluster_enabled(conf))
		return 0;
	if (domcfg_info(cfg, &info, err, errlen) == -1)
		return -1;
	if (!domcfg_uuid_valid(info.uuid)) {
		snprintf(err, errlen, "domain %s has no UUID to record",
		    info.name);
		return -1;
	}
	if (cluster_subdir(conf, CLUSTER_DOMAINS, dir, sizeof(dir), err,
	    errlen) == -1)
		return -1;
	cluster_now(when, sizeof(when));
	rec = json_object_new_object();
	json_object_object_add(rec, "name", json_object_new_string(info.name));
	json_object_object_add(rec, "uuid", json_object_new_string(info.uuid));
	json_object_object_add(rec, "host",
	    json_object_new_string(cluster_self(conf)));
	json_object_object_add(rec, "since", json_object_new_string(when));
	json_object_object_add(rec, "config", json_object_get(cfg));
	rc = journal_write(dir, info.uuid, rec, err, errlen);
	json_object_put(rec);
	return rc;
}

/* It stopped running here on purpose (destroy): no host owns it. */
void
cluster_record_drop(const struct relocd_conf *conf, const char *uuid)
{
	struct json_object *rec;
	const char *host;
	char path[4300];

	if (!cluster_enabled(conf) || !domcfg_uuid_valid(uuid))
		return;
	snprintf(path, sizeof(path), "%s/%s/%s.json", conf->cluster_dir,
	    CLUSTER_DOMAINS, uuid);
	if ((rec = journal_read_object(path)) == NULL)
		return;
	/* Another host's record (it moved there) is not ours to drop. */
	host = proto_get_str(rec, "host");
	if (host != NULL && strcmp(host, cluster_self(conf)) == 0 &&
	    unlink(path) == -1 && errno != ENOENT)
		log_warn("cluster_dir: %s", path);
	json_object_put(rec);
}

/*
 * Calls fn with every UUID.json object of cluster_dir/sub, until fn
 * returns non-zero; returns that, 0 at the end, or -1 + err.  A file that
 * does not parse (being written, or junk) is skipped.
 */
static int
cluster_each(const struct relocd_conf *conf, const char *sub,
    int (*fn)(struct json_object *, const char *, void *), void *arg,
    char *err, size_t errlen)
{
	struct json_object *o;
	struct dirent *de;
	char dir[4200], path[4500];
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s", conf->cluster_dir, sub);
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 36 + 5 ||
		    strcmp(de->d_name + 36, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((o = journal_read_object(path)) == NULL)
			continue;
		rc = fn(o, path, arg);
		json_object_put(o);
	}
	closedir(d);
	return rc;
}

struct cluster_find {
	const char		*dom;
	struct json_object	*rec;
};

static int
cluster_find_one(struct json_object *rec, const char *path, void *arg)
{
	struct cluster_find *f = arg;
	const char *name = proto_get_str(rec, "name");
	const char *uuid = proto_get_str(rec, "uuid");

	if ((name == NULL || strcmp(name, f->dom) != 0) &&
	    (uuid == NULL || strcasecmp(uuid, f->dom) != 0))
		return 0;
	f->rec = json_object_get(rec);
	return 1;
}

/*
 * The record of the domain named dom (a name or a UUID): 1 and *rec (new
 * reference), 0 if there is none, -1 + err.
 */
int
cluster_record_find(const struct relocd_conf *conf, const char *dom,
    struct json_object **rec_r, char *err, size_t errlen)
{
	struct cluster_find f = { dom, NULL };
	int rc;

	rc = cluster_each(conf, CLUSTER_DOMAINS, cluster_find_one, &f, err,
	    errlen);
	*rec_r = f.rec;
	return rc;
}

/* A forced restart moved rec's domain from its host to this one. */
int
cluster_tombstone_put(const struct relocd_conf *conf,
    struct json_object *rec, const char *by, const char *fence, char *err,
    size_t errlen)
{
	struct json_object *t;
	char dir[4200], when[64];
	const char *uuid = proto_get_str(rec, "uuid");
	int rc;

	if (uuid == NULL || !domcfg_uuid_valid(uuid)) {
		snprintf(err, errlen, "the domain's record has no UUID");
		return -1;
	}
	if (cluster_subdir(conf, CLUSTER_TOMBSTONES, dir, sizeof(dir), err,
	    errlen) == -1)
		return -1;
	cluster_now(when, sizeof(when));
	t = json_object_new_object();
	json_object_object_add(t, "name",
	    json_object_new_string(cluster_str(rec, "name")));
	json_object_object_add(t, "uuid", json_object_new_string(uuid));
	json_object_object_add(t, "from",
	    json_object_new_string(cluster_str(rec, "host")));
	json_object_object_add(t, "to",
	    json_object_new_string(cluster_self(conf)));
	json_object_object_add(t, "by", json_object_new_string(by));
	json_object_object_add(t, "when", json_object_new_string(when));
	json_object_object_add(t, "fence", json_object_new_string(fence));
	rc = journal_write(dir, uuid, t, err, errlen);
	json_object_put(t);
	return rc;
}

struct cluster_mine {
	const struct relocd_conf *conf;
	void	(*fn)(const struct relocd_conf *, struct json_object *,
		    const char *, void *);
	void	*arg;
	int	 n;
};

static int
cluster_mine_one(struct json_object *t, const char *path, void *arg)
{
	struct cluster_mine *m = arg;
	const char *from = proto_get_str(t, "from");

	if (from != NULL && strcmp(from, cluster_self(m->conf)) == 0) {
		m->n++;
		m->fn(m->conf, t, path, m->arg);
	}
	return 0;
}

/*
 * Calls fn for every tombstone whose "from" is this host; returns how
 * many there were, or -1 + err.
 */
static int
cluster_tombstones_mine(const struct relocd_conf *conf,
    void (*fn)(const struct relocd_conf *, struct json_object *,
    const char *, void *), void *arg, char *err, size_t errlen)
{
	struct cluster_mine m = { conf, fn, arg, 0 };

	if (cluster_each(conf, CLUSTER_TOMBSTONES, cluster_mine_one, &m, err,
	    errlen) == -1)
		return -1;
	return m.n;
}

/*
 * xendomains would start t's domain here at the next boot from its
 * config in autostart_dir, with xl, which takes no lease: move that
 * config aside (kept, for the operator), into a directory xendomains'
 * glob does not see.  A config that does not parse is not ours to judge.
 */
static void
cluster_autostart_off(const struct relocd_conf *conf, struct json_object *t)
{
	const char *dir = conf->autostart_dir, *name, *uuid;
	struct dirent *de;
	struct cfg c;
	char path[4200], off[4300], err[512], *cname, *cuuid;
	DIR *d;
	int match;

	name = proto_get_str(t, "name");
	uuid = proto_get_str(t, "uuid");
	if (dir == NULL || *dir == '\0' || name == NULL || uuid == NULL ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cfg_init(&c);
		cname = cuuid = NULL;
		/* The UUID decides; a config without one, its name. */
		match = cfg_parse_file(&c, path, err, sizeof(err)) == 0 &&
		    cfg_get_string(&c, "name", &cname, err, sizeof(err)) == 1 &&
		    cfg_get_string(&c, "uuid", &cuuid, err, sizeof(err)) != -1 &&
		    (cuuid != NULL ? strcasecmp(cuuid, uuid) == 0 :
		    strcmp(cname, name) == 0);
		free(cname);
		free(cuuid);
		cfg_dispose(&c);
		if (!match)
			continue;
		snprintf(off, sizeof(off), "%s/%s", dir, CLUSTER_AUTOSTART_OFF);
		if (mkdir(off, 0700) == -1 && errno != EEXIST) {
			log_warn("cannot disable the autostart of %s (%s): %s",
			    name, path, off);
			continue;
		}
		snprintf(off, sizeof(off), "%s/%s/%s", dir,
		    CLUSTER_AUTOSTART_OFF, de->d_name);
		if (rename(path, off) == -1)
			log_warn("cannot disable the autostart of %s: %s",
			    name, path);
		else
			log_warnx("%s: autostart disabled, it runs on %s now: "
			    "%s moved to %s", name, cluster_str(t, "to"), path,
			    off);
	}
	closedir(d);
}

/*
 * The copy this host had of a domain that was restarted elsewhere while
 * we were dead: it must never run again.  A running copy cannot be here
 * (it would hold the lease, and the forced restart would have been
 * refused), so whatever is left is suspended or paused: destroy it.
 */
static void
cluster_settle_one(const struct relocd_conf *conf, struct json_object *t,
    const char *path, void *arg)
{
	struct xo_ctx **xop = arg, *xo;
	struct xo_dominfo *doms = NULL;
	char err[1024];
	const char *uuid = proto_get_str(t, "uuid");
	size_t n = 0, i;

	log_warnx("%s (%s) was restarted on %s by %s at %s (fence: %s): "
	    "this host keeps maintenance on until 'xmig maintenance off'",
	    cluster_str(t, "name"), cluster_str(t, "uuid"), cluster_str(t, "to"),
	    cluster_str(t, "by"), cluster_str(t, "when"),
	    cluster_str(t, "fence"));
	cluster_autostart_off(conf, t);
	/* The backend is opened for the first tombstone only: most starts
	 * have none, and a libxl host would load its module for nothing. */
	if (*xop == NULL && (*xop = xo_open(conf, err, sizeof(err))) == NULL) {
		log_warnx("cluster_dir: cannot look for a stale copy of %s: "
		    "%s", cluster_str(t, "name"), err);
		return;
	}
	xo = *xop;
	if (xo_list(xo, &doms, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (uuid == NULL || strcasecmp(doms[i].uuid, uuid) != 0)
			continue;
		if (doms[i].state == XO_RUNNING) {
			log_crit("%s (id %u) RUNS here although it was "
			    "restarted on %s: left alone, check its lease "
			    "and its disks now", doms[i].name, doms[i].domid,
			    cluster_str(t, "to"));
			continue;
		}
		if (xo_destroy(xo, doms[i].domid) == 0)
			log_warnx("destroyed the stale %s copy of %s (id %u)",
			    xo_state_name(doms[i].state), doms[i].name,
			    doms[i].domid);
		else
			log_warnx("cannot destroy the stale copy of %s (id "
			    "%u): %s", doms[i].name, doms[i].domid,
			    xo_errmsg(xo));
	}
	free(doms);
}

/*
 * At start: settle every tombstone naming this host as "from", and stay
 * in maintenance while any is left.  Returns how many there are.
 */
int
cluster_settle(const struct relocd_conf *conf)
{
	struct xo_ctx *xo = NULL;
	char err[1024];
	int n;

	if (!cluster_enabled(conf))
		return 0;
	n = cluster_tombstones_mine(conf, cluster_settle_one, &xo, err,
	    sizeof(err));
	if (xo != NULL)
		xo_close(xo);
	if (n == -1) {
		log_warnx("cluster_dir: %s", err);
		return 0;
	}
	if (n > 0 && maint_set(conf, 1, "relocd: a forced restart moved "
	    "domains off this host", err, sizeof(err)) == -1)
		log_warnx("cannot turn maintenance on: %s", err);
	return n;
}

static void
cluster_clear_one(const struct relocd_conf *conf, struct json_object *t,
    const char *path, void *arg)
{
	int *cleared = arg;

	if (unlink(path) == 0) {
		log_info("tombstone of %s cleared (maintenance off)",
		    cluster_str(t, "name"));
		(*cleared)++;
	} else
		log_warn("cluster_dir: %s", path);
}

/* Maintenance off: the operator has looked; the records go. */
int
cluster_tombstones_clear(const struct relocd_conf *conf, char *err,
    size_t errlen)
{
	int cleared = 0;

	if (!cluster_enabled(conf))
		return 0;
	if (cluster_tombstones_mine(conf, cluster_clear_one, &cleared, err,
	    errlen) == -1)
		return -1;
	return cleared;
}
