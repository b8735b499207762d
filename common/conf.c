/*
 * relocd.conf, read into struct relocd_conf.
 *
 * conf_keys[] below is the one list of keys: their types, defaults,
 * ranges and where they land in struct relocd_conf.  conf_init() and
 * conf_load() are both driven by it, so a key cannot have a default in
 * one place and a parser in another.  etc/relocd.conf and relocd.conf.5
 * document the same keys.
 *
 * Relative paths in the file (tls_*_file, control_socket, state_dir,
 * incoming_disk_paths) are taken relative to the directory of the config
 * file, made absolute at load time: a test or a second "host" on one
 * machine can then be a self-contained directory, and the daemon may
 * chdir("/") after loading without its paths changing meaning.
 *
 * Nothing here opens the files named: whether the CA, certificate and
 * key exist and agree is the TLS self-check's business (tls.c), which
 * reports FILE:LINE from the line_* fields recorded here.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allow.h"
#include "cfg.h"
#include "conf.h"
#include "domcfg.h"
#include "errbuf.h"
#include "log.h"

enum conf_type {
	CT_STRING,	/* char * */
	CT_PATH,	/* char *, relative to the file's directory */
	CT_INT,		/* int, in [min, max] */
	CT_LONG,	/* long, in [min, max] */
	CT_STRLIST,	/* char **, NULL-terminated */
	CT_PATHLIST,	/* char **, entries are paths */
	CT_ALLOW,	/* hosts_allow + nhosts_allow + compiled allow */
	CT_TLSVER,	/* "1.2" | "1.3" -> 12 | 13 */
	CT_BACKEND,	/* "libxl" | "sim" */
	CT_LVMNAME,	/* char *, "" or an LVM volume group name */
};

#define NOLINE	((size_t)-1)

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;		/* the field */
	const char	*defstr;	/* CT_STRING, CT_PATH */
	long		 defnum;	/* numbers, TLSVER, BACKEND */
	long		 min, max;
	size_t		 line_off;	/* int line_* field, or NOLINE */
};

#define OFF(f)	offsetof(struct relocd_conf, f)

static const struct conf_key conf_keys[] = {
	{ "relocation_address", CT_STRING, OFF(relocation_address), "", 0,
	    0, 0, OFF(line_relocation_address) },
	{ "relocation_port", CT_INT, OFF(relocation_port), NULL,
	    CONF_DEFAULT_PORT, 1, 65535, NOLINE },
	{ "relocation_hosts_allow", CT_ALLOW, OFF(hosts_allow), NULL, 0, 0, 0,
	    NOLINE },
	{ "tls_ca_file", CT_PATH, OFF(tls_ca_file), "/etc/xen/relocd/ca.pem",
	    0, 0, 0, OFF(line_tls_ca_file) },
	{ "tls_cert_file", CT_PATH, OFF(tls_cert_file),
	    "/etc/xen/relocd/host.pem", 0, 0, 0, OFF(line_tls_cert_file) },
	{ "tls_key_file", CT_PATH, OFF(tls_key_file),
	    "/etc/xen/relocd/host.key", 0, 0, 0, OFF(line_tls_key_file) },
	{ "tls_crl_file", CT_PATH, OFF(tls_crl_file), "", 0, 0, 0,
	    OFF(line_tls_crl_file) },
	{ "tls_min_version", CT_TLSVER, OFF(tls_min_version), NULL, 13, 0, 0,
	    NOLINE },
	{ "control_socket", CT_PATH, OFF(control_socket),
	    "/run/relocd/control.sock", 0, 0, 0, OFF(line_control_socket) },
	{ "state_dir", CT_PATH, OFF(state_dir), "/var/lib/relocd", 0, 0, 0,
	    OFF(line_state_dir) },
	/* the network-facing process runs as this user: relocd(8) */
	{ "user", CT_STRING, OFF(user), "relocd", 0, 0, 0, OFF(line_user) },
	{ "backend", CT_BACKEND, OFF(backend), NULL, BACKEND_LIBXL, 0, 0,
	    NOLINE },
	{ "max_migrations", CT_INT, OFF(max_migrations), NULL, 4, 1, 64,
	    NOLINE },
	{ "accept_migrations", CT_INT, OFF(accept_migrations), NULL, 1, 0, 1,
	    NOLINE },
	/* Xen's domids stop at 0x7fef: no host can hold more */
	{ "max_domains", CT_INT, OFF(max_domains), NULL, 0, 0, 32752,
	    NOLINE },
	/* Serviceguard's package weights: each domain weighs 1 unless its
	 * config says otherwise, and a host takes at most this much */
	{ "capacity", CT_INT, OFF(capacity), NULL, 0, 0, 1000000, NOLINE },
	{ "relocation_peers", CT_STRLIST, OFF(relocation_peers), NULL, 0, 0,
	    0, NOLINE },
	/* shared storage for leases, domain records, tombstones: relocd(8),
	 * FAILURE OF A HOST */
	{ "cluster_dir", CT_PATH, OFF(cluster_dir), "", 0, 0, 0,
	    OFF(line_cluster_dir) },
	{ "fence_command", CT_STRING, OFF(fence_command), "", 0, 0, 0,
	    OFF(line_fence_command) },
	/* xendomains' boot-time starts, disabled for a domain forced away */
	{ "autostart_dir", CT_PATH, OFF(autostart_dir), "/etc/xen/auto", 0, 0,
	    0, NOLINE },
	{ "handshake_timeout", CT_INT, OFF(handshake_timeout), NULL, 10, 1,
	    300, NOLINE },
	{ "io_timeout", CT_INT, OFF(io_timeout), NULL, 30, 1, 3600, NOLINE },
	/* what is queued when the guest pauses is downtime: relocd.conf(5) */
	{ "stream_buffer_kb", CT_INT, OFF(stream_buffer_kb), NULL, 1024, 64,
	    65536, NOLINE },
	/* each handshake in flight costs a TLS state and a descriptor */
	{ "max_unauthenticated", CT_INT, OFF(max_unauthenticated), NULL, 64,
	    1, 4096, NOLINE },
	{ "max_unauthenticated_per_source", CT_INT,
	    OFF(max_unauthenticated_per_source), NULL, 8, 1, 4096, NOLINE },
	{ "ready_timeout", CT_INT, OFF(ready_timeout), NULL, 120, 1, 3600,
	    NOLINE },
	{ "go_timeout", CT_INT, OFF(go_timeout), NULL, 30, 1, 3600, NOLINE },
	{ "report_timeout", CT_INT, OFF(report_timeout), NULL, 30, 1, 3600,
	    NOLINE },
	{ "incoming_disk_paths", CT_PATHLIST, OFF(incoming_disk_paths), NULL,
	    0, 0, 0, NOLINE },
	/* --copy-storage of block devices: new LVs in this VG, made with
	 * lvm_command as root by the helper */
	{ "incoming_volume_group", CT_LVMNAME, OFF(incoming_volume_group), "",
	    0, 0, 0, NOLINE },
	{ "lvm_command", CT_PATH, OFF(lvm_command), "/sbin/lvm", 0, 0, 0,
	    NOLINE },
	{ "incoming_bridges", CT_STRLIST, OFF(incoming_bridges), NULL, 0, 0, 0,
	    NOLINE },
	{ "incoming_allow_bootloader", CT_INT, OFF(incoming_allow_bootloader),
	    NULL, 0, 0, 1, NOLINE },
	{ "incoming_allow_device_model", CT_INT,
	    OFF(incoming_allow_device_model), NULL, 0, 0, 1, NOLINE },
	/* 16 TiB and 4096 vCPUs: beyond any Xen host, and no overflow
	 * when the MiB become KiB */
	{ "incoming_max_memory_mb", CT_LONG, OFF(incoming_max_memory_mb), NULL,
	    0, 0, 16L * 1024 * 1024, NOLINE },
	{ "incoming_max_vcpus", CT_LONG, OFF(incoming_max_vcpus), NULL, 0, 0,
	    4096, NOLINE },
	{ "sim_memory_mb", CT_LONG, OFF(sim_memory_mb), NULL, 8192, 1,
	    16L * 1024 * 1024, NOLINE },
	{ "sim_arch", CT_STRING, OFF(sim_arch), "x86_64", 0, 0, 0, NOLINE },
	{ "sim_hostname", CT_STRING, OFF(sim_hostname), "", 0, 0, 0, NOLINE },
	{ "sim_bridges", CT_STRLIST, OFF(sim_bridges), NULL, 0, 0, 0, NOLINE },
	{ "sim_cap_shadow", CT_INT, OFF(sim_cap_shadow), NULL, 1, 0, 1,
	    NOLINE },
	{ "sim_cpu_features", CT_STRLIST, OFF(sim_cpu_features), NULL, 0, 0,
	    0, NOLINE },
	{ "sim_pci_assignable", CT_STRLIST, OFF(sim_pci_assignable), NULL, 0,
	    0, 0, NOLINE },
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

static int	conf_set_defaults(struct relocd_conf *);
static char	*conf_dir(const char *);
static char	*conf_path_join(const char *, const char *);
static int	conf_apply(struct relocd_conf *, struct cfg *,
		    struct cfg_setting *, const struct conf_key *,
		    const char *, char *, size_t);

#define FIELD(c, k, t)	((t *)(void *)((char *)(c) + (k)->off))

/* -1 only when out of memory. */
static int
conf_set_defaults(struct relocd_conf *c)
{
	const struct conf_key *k;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CT_STRING:
		case CT_PATH:
		case CT_LVMNAME:
			if ((*FIELD(c, k, char *) = strdup(k->defstr)) == NULL)
				return -1;
			break;
		case CT_INT:
		case CT_TLSVER:
			*FIELD(c, k, int) = (int)k->defnum;
			break;
		case CT_BACKEND:
			*FIELD(c, k, enum conf_backend) =
			    (enum conf_backend)k->defnum;
			break;
		case CT_LONG:
			*FIELD(c, k, long) = k->defnum;
			break;
		case CT_STRLIST:
		case CT_PATHLIST:
		case CT_ALLOW:
			/* empty, not NULL: callers iterate without checks */
			if ((*FIELD(c, k, char **) = calloc(1,
			    sizeof(char *))) == NULL)
				return -1;
			break;
		}
	}
	if ((c->allow = allow_new()) == NULL)
		return -1;
	return 0;
}

void
conf_init(struct relocd_conf *c)
{
	/* at start-up, before anything could be done without a config */
	if (conf_set_defaults(c) == -1)
		fatal("conf_init");
}

void
conf_dispose(struct relocd_conf *c)
{
	const struct conf_key *k;
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CT_STRING:
		case CT_PATH:
		case CT_LVMNAME:
			free(*FIELD(c, k, char *));
			break;
		case CT_STRLIST:
		case CT_PATHLIST:
		case CT_ALLOW:
			cfg_strlist_free(*FIELD(c, k, char **));
			break;
		default:
			break;
		}
	}
	allow_free(c->allow);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

/*
 * LVM's rule for VG and LV names (lvm(8), VALID NAMES); an LV name that
 * LVM keeps for itself (snapshot, pvmove, _mlog...) is refused by
 * lvcreate, which says so.
 */
int
conf_lvm_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > CONF_LVM_NAME_MAX || s[0] == '-' ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

int
conf_vg_path(const struct relocd_conf *conf, const char *path)
{
	return domcfg_vg_path(path, conf->incoming_volume_group);
}

const char *
conf_default_path(void)
{
	const char *env;

	if ((env = getenv("XMIG_CONFIG")) != NULL && env[0] != '\0')
		return env;
	return CONF_DEFAULT_FILE;
}

/* The config file's directory, absolute. */
static char *
conf_dir(const char *file)
{
	char *dir, *slash, *abs, cwd[PATH_MAX];

	if ((slash = strrchr(file, '/')) == NULL)
		dir = strdup(".");
	else if (slash == file)
		dir = strdup("/");
	else
		dir = strndup(file, slash - file);
	if (dir == NULL || dir[0] == '/')
		return dir;
	/* realpath, not just getcwd: the daemon may chdir("/") later */
	if ((abs = realpath(dir, NULL)) == NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			free(dir);
			return NULL;
		}
		abs = conf_path_join(cwd, dir);
	}
	free(dir);
	return abs;
}

/* DIR/REL for a relative REL; a copy of REL otherwise ("" stays ""). */
static char *
conf_path_join(const char *dir, const char *rel)
{
	char *s;

	if (rel[0] == '/' || rel[0] == '\0')
		return strdup(rel);
	while (rel[0] == '.' && rel[1] == '/')
		for (rel += 2; *rel == '/'; rel++)
			;
	if (strcmp(rel, ".") == 0 || rel[0] == '\0')
		return strdup(dir);
	if (asprintf(&s, "%s%s%s", dir,
	    dir[strlen(dir) - 1] == '/' ? "" : "/", rel) == -1)
		return NULL;
	return s;
}

/* One setting into c; -1 with "FILE:LINE: key: ..." in err. */
static int
conf_apply(struct relocd_conf *c, struct cfg *cfg, struct cfg_setting *st,
    const struct conf_key *k, const char *dir, char *err, size_t errlen)
{
	char aerr[256], **list = NULL, *s = NULL, *p;
	const char *v;
	size_t n = 0, i;
	long l;
	int rc = -1, line;

	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_LVMNAME:
		if (cfg_get_string(cfg, k->name, &s, err, errlen) == -1)
			goto out;
		if (k->type == CT_LVMNAME && *s != '\0' &&
		    !conf_lvm_name_ok(s)) {
			errbuf_set(err, errlen, "%s:%d: %s: '%.64s' is not a "
			    "volume group name (LVM allows A-Z a-z 0-9 + _ . -, "
			    "not a leading '-', not \".\" or \"..\", at most %d "
			    "characters)", cfg->file, st->line, k->name, s,
			    CONF_LVM_NAME_MAX);
			goto out;
		}
		if (k->type == CT_PATH) {
			if ((p = conf_path_join(dir, s)) == NULL)
				goto nomem;
			free(s);
			s = p;
		}
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = s;
		s = NULL;
		break;
	case CT_INT:
	case CT_LONG:
		if (cfg_get_long(cfg, k->name, k->min, k->max, &l, err,
		    errlen) == -1)
			goto out;
		if (k->type == CT_INT)
			*FIELD(c, k, int) = (int)l;
		else
			*FIELD(c, k, long) = l;
		break;
	case CT_TLSVER:
		/* tls_min_version = 1.2 unquoted is a number token to the
		 * lexer; accept it, it can only mean one thing */
		if (st->value.kind == CFG_LIST) {
			errbuf_set(err, errlen, "%s:%d: %s: expected a string, "
			    "got a list", cfg->file, st->line, k->name);
			goto out;
		}
		cfg_get(cfg, k->name);
		v = st->value.str;
		if (strcmp(v, "1.2") == 0)
			*FIELD(c, k, int) = 12;
		else if (strcmp(v, "1.3") == 0)
			*FIELD(c, k, int) = 13;
		else {
			errbuf_set(err, errlen, "%s:%d: %s: \"%.20s\" is not "
			    "allowed: use \"1.2\" or \"1.3\" (1.2 is the "
			    "floor)", cfg->file, st->line, k->name, v);
			goto out;
		}
		break;
	case CT_BACKEND:
		if (cfg_get_string(cfg, k->name, &s, err, errlen) == -1)
			goto out;
		if (strcmp(s, "libxl") == 0)
			*FIELD(c, k, enum conf_backend) = BACKEND_LIBXL;
		else if (strcmp(s, "sim") == 0)
			*FIELD(c, k, enum conf_backend) = BACKEND_SIM;
		else {
			errbuf_set(err, errlen, "%s:%d: %s: unknown backend "
			    "'%.40s' (use \"libxl\" or \"sim\")", cfg->file,
			    st->line, k->name, s);
			goto out;
		}
		break;
	case CT_STRLIST:
	case CT_PATHLIST:
	case CT_ALLOW:
		if (cfg_get_strlist(cfg, k->name, &list, &n, err,
		    errlen) == -1)
			goto out;
		for (i = 0; k->type == CT_PATHLIST && i < n; i++) {
			if ((p = conf_path_join(dir, list[i])) == NULL)
				goto nomem;
			free(list[i]);
			list[i] = p;
		}
		/* each entry compiled now, so a bad one is a config error
		 * at its own line rather than a surprise at accept time */
		for (i = 0; k->type == CT_ALLOW && i < n; i++) {
			if (allow_add(c->allow, list[i], aerr,
			    sizeof(aerr)) == 0)
				continue;
			line = st->value.kind == CFG_LIST &&
			    i < st->value.nitems ? st->value.items[i].line :
			    st->line;
			errbuf_set(err, errlen, "%s:%d: %s: %s", cfg->file,
			    line, k->name, aerr);
			goto out;
		}
		cfg_strlist_free(*FIELD(c, k, char **));
		*FIELD(c, k, char **) = list;
		list = NULL;
		if (k->type == CT_ALLOW)
			c->nhosts_allow = n;
		break;
	}
	if (k->line_off != NOLINE)
		*(int *)(void *)((char *)c + k->line_off) = st->line;
	rc = 0;
	goto out;
 nomem:
	errbuf_set(err, errlen, "%s:%d: %s: out of memory", cfg->file,
	    st->line, k->name);
 out:
	cfg_strlist_free(list);
	free(s);
	return rc;
}

/*
 * Loads into a fresh struct and swaps it in only on success, so a failed
 * reload leaves the running configuration as it was.  c must have been
 * through conf_init() (or be all zeroes).
 */
int
conf_load(struct relocd_conf *c, const char *file, char *err, size_t errlen)
{
	const char *names[CONF_NKEYS];
	struct relocd_conf nc;
	struct cfg cfg;
	struct cfg_setting *st;
	const char *suggest;
	char *dir = NULL;
	size_t i, k;
	int rc = -1;

	cfg_init(&cfg);
	if (conf_set_defaults(&nc) == -1) {
		conf_dispose(&nc);
		errbuf_set(err, errlen, "%s: out of memory", file != NULL ?
		    file : conf_default_path());
		return -1;
	}
	if (file == NULL)
		file = conf_default_path();
	for (k = 0; k < CONF_NKEYS; k++)
		names[k] = conf_keys[k].name;

	if (cfg_parse_file(&cfg, file, err, errlen) == -1)
		goto out;
	if ((dir = conf_dir(file)) == NULL) {
		errbuf_set(err, errlen, "%s: cannot find the config file's "
		    "directory", file);
		goto out;
	}
	if ((nc.path = strdup(file)) == NULL) {
		errbuf_set(err, errlen, "%s: out of memory", file);
		goto out;
	}

	/* in file order, so the first error in the file is the one told */
	for (i = 0; i < cfg.nsettings; i++) {
		st = &cfg.settings[i];
		for (k = 0; k < CONF_NKEYS; k++)
			if (strcmp(st->name, conf_keys[k].name) == 0)
				break;
		if (k == CONF_NKEYS) {
			suggest = cfg_suggest(st->name, names, CONF_NKEYS);
			errbuf_set(err, errlen, "%s:%d: unknown setting "
			    "'%.64s'%s%s%s", cfg.file, st->line, st->name,
			    suggest != NULL ? " (did you mean '" : "",
			    suggest != NULL ? suggest : "",
			    suggest != NULL ? "'?)" : "");
			goto out;
		}
		if (conf_apply(&nc, &cfg, st, &conf_keys[k], dir, err,
		    errlen) == -1)
			goto out;
	}

	conf_dispose(c);
	*c = nc;
	memset(&nc, 0, sizeof(nc));
	rc = 0;
 out:
	conf_dispose(&nc);
	cfg_dispose(&cfg);
	free(dir);
	return rc;
}
