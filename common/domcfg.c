/*
 * The domain-config model: libxl's domain_config JSON held as a json-c
 * object (see domcfg.h for the fields used).
 *
 * Two kinds of input reach this file.  xl-format files from the local
 * admin (xmig create) are converted with xl's own rules where it matters
 * (disk and vif specs, action names).  JSON from a peer (the xl save
 * header of an incoming migration) is parsed with a size and depth bound,
 * and every field the daemon later relies on is type-checked here, so the
 * rest of the code can trust domcfg_info() and domcfg_policy_check()
 * alone.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "domcfg.h"
#include "errbuf.h"

#define DOMCFG_JSON_DEPTH	32	/* libxl's own configs nest ~5 deep */
#define DOMCFG_MAX_MEMORY_MB	(16L * 1024 * 1024)	/* 16 TiB */
#define DOMCFG_MAX_VCPUS	4096
#define DOMCFG_MAX_DEVICES	1024	/* per list: disks, nics, pcidevs */
#define DOMCFG_SPEC_MAX		4096	/* one disk/vif/pci spec */
#define DOMCFG_SIM_TICK_MAX	60000
#define DOMCFG_SIM_DIRTY_MAX	1000000
#define DOMCFG_DEFAULT_BRIDGE	"xenbr0"	/* as xl and libxl */
#define DOMCFG_SCRIPT_DIR	"/etc/xen/scripts/"

struct domcfg_disk {
	char		*target;
	const char	*format;	/* libxl enum name */
	char		*vdev;
	int		 readwrite;
	int		 access_set;
	char		*script;
	int		 is_cdrom;
	const char	*backend;	/* backendtype=, or NULL */
	int		 had_prefix;	/* xm's "phy:" and friends */
};

static int	domcfg_add_str(struct json_object *, const char *,
		    const char *);
static int	domcfg_add_int(struct json_object *, const char *, int64_t);
static int	domcfg_uuid_valid(const char *);
static int	domcfg_uuid_generate(char *);
static const char *domcfg_action(const char *);
static int	domcfg_disk_format(struct domcfg_disk *, const char *,
		    char *, size_t);
static int	domcfg_disk_vdev(struct domcfg_disk *, char *, int, char *,
		    size_t);
static int	domcfg_disk_positional(struct domcfg_disk *, char *, char *,
		    size_t);
static int	domcfg_disk_parse(const char *, struct json_object **,
		    char *, size_t);
static int	domcfg_mac_valid(const char *);
static int	domcfg_ifname_valid(const char *);
static int	domcfg_vif_parse(const char *, int, struct json_object **,
		    char *, size_t);
static int	domcfg_pci_parse(const char *, struct json_object **, char *,
		    size_t);
static int	domcfg_get_list(struct cfg *, const char *,
		    struct cfg_setting **, char *, size_t);
static int	domcfg_devices(struct cfg *, struct json_object *, char *,
		    size_t);
static int	domcfg_kernel(struct cfg *, struct json_object *, char *,
		    size_t);
static struct json_object *domcfg_member(struct json_object *, const char *,
		    enum json_type);
static int	domcfg_get_int(struct json_object *, const char *, int64_t,
		    int64_t, int64_t *, const char *, char *, size_t);
static const char *domcfg_get_str(struct json_object *, const char *);
static int	domcfg_path_under(const char *, const char *);
static int	domcfg_path_has_dotdot(const char *);
static int	domcfg_default_script(const char *, const char *);
static int	domcfg_in_list(char *const *, const char *);
static int	domcfg_utf8_valid(const char *);

/* Keys domcfg_from_cfg understands; anything else is a typo or a
 * feature we do not carry, and is refused by name. */
static const char *const domcfg_keys[] = {
	"name", "uuid", "type", "builder", "memory", "maxmem", "vcpus",
	"kernel", "ramdisk", "root", "extra", "cmdline", "bootloader",
	"device_model_override", "disk", "vif", "pci", "on_poweroff",
	"on_reboot", "on_crash", "sim_tick_ms", "sim_dirty_rate",
};
#define DOMCFG_NKEYS	(sizeof(domcfg_keys) / sizeof(domcfg_keys[0]))

/* xl's action names and libxl's JSON names for them */
static const struct {
	const char	*xl;
	const char	*libxl;
} domcfg_actions[] = {
	{ "destroy",		"destroy" },
	{ "restart",		"restart" },
	{ "rename-restart",	"restart_rename" },
	{ "preserve",		"preserve" },
	{ "coredump-destroy",	"coredump_destroy" },
	{ "coredump-restart",	"coredump_restart" },
	{ "soft-reset",		"soft_reset" },
};

static int
domcfg_add_str(struct json_object *o, const char *key, const char *val)
{
	struct json_object *s;

	if ((s = json_object_new_string(val)) == NULL)
		return -1;
	if (json_object_object_add(o, key, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

static int
domcfg_add_int(struct json_object *o, const char *key, int64_t val)
{
	struct json_object *i;

	if ((i = json_object_new_int64(val)) == NULL)
		return -1;
	if (json_object_object_add(o, key, i) != 0) {
		json_object_put(i);
		return -1;
	}
	return 0;
}

int
domcfg_name_valid(const char *name)
{
	size_t i;
	int digits = 1;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= DOMCFG_NAME_MAX)
			return 0;
		/* printable ASCII without blanks: names end up in logs,
		 * in xm-style columns and on command lines */
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == '/')
			return 0;
		if (name[i] < '0' || name[i] > '9')
			digits = 0;
	}
	/* an all-digit name would be taken for a domain id */
	return !digits;
}

static int
domcfg_uuid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	}
	return s[36] == '\0';
}

/* A random (version 4) UUID, as libxl_uuid_generate makes. */
static int
domcfg_uuid_generate(char *out)
{
	uint8_t u[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(u)) {
		n = getrandom(u + got, sizeof(u) - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += n;
	}
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

static const char *
domcfg_action(const char *xl)
{
	size_t i;

	for (i = 0; i < sizeof(domcfg_actions) / sizeof(domcfg_actions[0]);
	    i++)
		if (strcmp(xl, domcfg_actions[i].xl) == 0)
			return domcfg_actions[i].libxl;
	return NULL;
}

/*
 * 1 if s is UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF).  JSON text is UTF-8 and domcfg_parse() refuses
 * anything else, so what domcfg_from_cfg() writes must be too.
 */
static int
domcfg_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c, min, n, i;

	while (*p != '\0') {
		c = *p++;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			min = 0x80;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			min = 0x800;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		for (i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)	/* also stops at NUL */
				return 0;
			c = (c << 6) | (*p & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

/* --- xl disk specs (xl-disk-configuration(5), libxlu_disk_l.l) --- */

static int
domcfg_disk_format(struct domcfg_disk *d, const char *s, char *why,
    size_t whylen)
{
	static const char *const formats[] = {
		"raw", "qcow", "qcow2", "vhd", "empty", "qed",
	};
	const char *f = NULL;
	size_t i;

	if (s[0] == '\0')
		f = "raw";	/* "empty value means the default" */
	for (i = 0; f == NULL && i < sizeof(formats) / sizeof(formats[0]);
	    i++)
		if (strcmp(s, formats[i]) == 0)
			f = formats[i];
	if (f == NULL) {
		errbuf_set(why, whylen, "unknown format '%s'", s);
		return -1;
	}
	if (d->format != NULL && strcmp(d->format, f) != 0) {
		errbuf_set(why, whylen, "format given twice");
		return -1;
	}
	d->format = f;
	return 0;
}

/* "xvda", or xm's "hdc:cdrom" when colon_type. */
static int
domcfg_disk_vdev(struct domcfg_disk *d, char *s, int colon_type, char *why,
    size_t whylen)
{
	char *colon, *p;

	if (colon_type && (colon = strrchr(s, ':')) != NULL) {
		*colon++ = '\0';
		if (strcmp(colon, "cdrom") == 0)
			d->is_cdrom = 1;
		else if (strcmp(colon, "disk") == 0)
			d->is_cdrom = 0;
		else {
			errbuf_set(why, whylen, "unknown device type '%s'",
			    colon);
			return -1;
		}
	}
	if (d->vdev != NULL && d->vdev[0] != '\0') {
		errbuf_set(why, whylen, "vdev given twice");
		return -1;
	}
	/* libxl decodes the name later; keep it to what it accepts,
	 * which also keeps it printable in messages */
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) ||
		    p - s >= 16) {
			errbuf_set(why, whylen, "invalid vdev '%s'", s);
			return -1;
		}
	free(d->vdev);
	if ((d->vdev = strdup(s)) == NULL) {
		errbuf_set(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

/* A parameter without '=': xm prefixes, then target, format, vdev,
 * access in that order, as xl assigns them. */
static int
domcfg_disk_positional(struct domcfg_disk *d, char *tok, char *why,
    size_t whylen)
{
	static const char *const ignored[] = {
		"tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy",
	};
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	char *colon, *p, script[32];
	size_t i, n;
	int found;

	/*
	 * Prefixes: "word:" at the start of a positional parameter, where
	 * what follows the colon is not a letter or digit (so "hdc:cdrom"
	 * is not one) or is anything for a known prefix, as flex's
	 * trailing-context rules in xl make it.  "tap:aio:/x" chains.
	 */
	for (;;) {
		if ((colon = strchr(tok, ':')) == NULL || colon == tok)
			break;
		for (p = tok; p < colon; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (p > tok && *p >= '0' && *p <= '9')))
				break;
		if (p < colon)
			break;
		n = colon - tok;
		found = 0;
		for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			if (strlen(formats[i]) == n &&
			    strncmp(tok, formats[i], n) == 0) {
				*colon = '\0';
				if (domcfg_disk_format(d, tok, why,
				    whylen) == -1)
					return -1;
				found = 1;
			}
		for (i = 0; !found && i < sizeof(scripts) / sizeof(scripts[0]);
		    i++)
			if (strlen(scripts[i]) == n &&
			    strncmp(tok, scripts[i], n) == 0) {
				if (d->script != NULL) {
					errbuf_set(why, whylen,
					    "script given twice");
					return -1;
				}
				snprintf(script, sizeof(script), "block-%s",
				    scripts[i]);
				if ((d->script = strdup(script)) == NULL) {
					errbuf_set(why, whylen,
					    "out of memory");
					return -1;
				}
				found = 1;
			}
		for (i = 0; !found && i < sizeof(ignored) / sizeof(ignored[0]);
		    i++)
			if (strlen(ignored[i]) == n &&
			    strncmp(tok, ignored[i], n) == 0)
				found = 1;
		if (!found) {
			if ((colon[1] >= 'a' && colon[1] <= 'z') ||
			    (colon[1] >= '0' && colon[1] <= '9'))
				break;	/* e.g. "hdc:cdrom" */
			*colon = '\0';
			errbuf_set(why, whylen, "unknown disk prefix '%s:'",
			    tok);
			return -1;
		}
		d->had_prefix = 1;
		tok = colon + 1;
	}

	if (d->target == NULL) {
		if ((d->target = strdup(tok)) == NULL) {
			errbuf_set(why, whylen, "out of memory");
			return -1;
		}
	} else if (!d->had_prefix && d->format == NULL) {
		if (d->target[0] == '\0' && strchr(tok, ':') != NULL) {
			/* ",hdc:cdrom": an empty drive */
			if (domcfg_disk_vdev(d, tok, 1, why, whylen) == -1)
				return -1;
			d->format = "empty";
		} else if (domcfg_disk_format(d, tok, why, whylen) == -1)
			return -1;
	} else if (d->vdev == NULL) {
		if (domcfg_disk_vdev(d, tok, 1, why, whylen) == -1)
			return -1;
	} else if (!d->access_set) {
		d->access_set = 1;
		if (strcmp(tok, "r") == 0 || strcmp(tok, "ro") == 0)
			d->readwrite = 0;
		else if (strcmp(tok, "w") == 0 || strcmp(tok, "rw") == 0 ||
		    tok[0] == '\0')
			d->readwrite = 1;
		else {
			errbuf_set(why, whylen, "unknown access '%s'", tok);
			return -1;
		}
	} else {
		errbuf_set(why, whylen, "too many positional parameters");
		return -1;
	}
	return 0;
}

static int
domcfg_disk_parse(const char *spec, struct json_object **out, char *why,
    size_t whylen)
{
	struct domcfg_disk d;
	struct json_object *o = NULL;
	char *buf = NULL, *p, *tok, *next, *eq, *val;
	size_t len;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	d.readwrite = 1;
	if (strlen(spec) > DOMCFG_SPEC_MAX) {
		errbuf_set(why, whylen, "disk spec too long");
		goto out;
	}
	if ((buf = strdup(spec)) == NULL) {
		errbuf_set(why, whylen, "out of memory");
		goto out;
	}
	for (p = buf; *p != '\0'; p = next) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		if (strncmp(p, "target=", 7) == 0) {
			/* eats the rest of the spec, commas included */
			val = p + 7;
			len = strlen(val);
			if (len > 0 && val[len - 1] == ',')
				val[--len] = '\0';
			if (d.target != NULL && d.target[0] != '\0') {
				errbuf_set(why, whylen, "target given twice");
				goto out;
			}
			free(d.target);
			if ((d.target = strdup(val)) == NULL) {
				errbuf_set(why, whylen, "out of memory");
				goto out;
			}
			break;
		}
		tok = p;
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		else
			next = p + strlen(p);
		/* trailing blanks are not part of a value */
		for (len = strlen(tok); len > 0 && (tok[len - 1] == ' ' ||
		    tok[len - 1] == '\t' || tok[len - 1] == '\n'); len--)
			tok[len - 1] = '\0';

		if ((eq = strchr(tok, '=')) != NULL) {
			*eq = '\0';
			val = eq + 1;
			if (strcmp(tok, "format") == 0) {
				if (domcfg_disk_format(&d, val, why,
				    whylen) == -1)
					goto out;
			} else if (strcmp(tok, "vdev") == 0) {
				if (domcfg_disk_vdev(&d, val, 0, why,
				    whylen) == -1)
					goto out;
			} else if (strcmp(tok, "access") == 0) {
				if (strcmp(val, "r") == 0 ||
				    strcmp(val, "ro") == 0)
					d.readwrite = 0;
				else if (strcmp(val, "w") == 0 ||
				    strcmp(val, "rw") == 0 || val[0] == '\0')
					d.readwrite = 1;
				else {
					errbuf_set(why, whylen,
					    "unknown access '%s'", val);
					goto out;
				}
				d.access_set = 1;
			} else if (strcmp(tok, "devtype") == 0) {
				if (strcmp(val, "cdrom") == 0)
					d.is_cdrom = 1;
				else if (strcmp(val, "disk") == 0)
					d.is_cdrom = 0;
				else {
					errbuf_set(why, whylen,
					    "unknown devtype '%s'", val);
					goto out;
				}
			} else if (strcmp(tok, "backendtype") == 0) {
				if (strcmp(val, "phy") == 0)
					d.backend = "phy";
				else if (strcmp(val, "tap") == 0)
					d.backend = "tap";
				else if (strcmp(val, "qdisk") == 0)
					d.backend = "qdisk";
				else if (strcmp(val, "standalone") == 0)
					d.backend = "standalone";
				else {
					errbuf_set(why, whylen,
					    "unknown backendtype '%s'", val);
					goto out;
				}
			} else if (strcmp(tok, "script") == 0) {
				if (d.script != NULL) {
					errbuf_set(why, whylen,
					    "script given twice");
					goto out;
				}
				if ((d.script = strdup(val)) == NULL) {
					errbuf_set(why, whylen,
					    "out of memory");
					goto out;
				}
			} else {
				errbuf_set(why, whylen, "unknown disk "
				    "parameter '%s'", tok);
				goto out;
			}
			continue;
		}
		if (strcmp(tok, "cdrom") == 0) {
			d.is_cdrom = 1;
			continue;
		}
		if (strcmp(tok, "direct-io-safe") == 0 ||
		    strcmp(tok, "discard") == 0 ||
		    strcmp(tok, "no-discard") == 0 ||
		    strcmp(tok, "trusted") == 0 ||
		    strcmp(tok, "untrusted") == 0)
			continue;	/* tuning flags: nothing to model */
		if (domcfg_disk_positional(&d, tok, why, whylen) == -1)
			goto out;
	}

	if (d.vdev == NULL || d.vdev[0] == '\0') {
		errbuf_set(why, whylen, "no vdev given");
		goto out;
	}
	if (d.target == NULL || d.target[0] == '\0') {
		/* only a CD-ROM drive may be empty */
		if (!d.is_cdrom) {
			errbuf_set(why, whylen, "no target given");
			goto out;
		}
		d.format = "empty";
	}

	if ((o = json_object_new_object()) == NULL)
		goto nomem;
	if ((d.target != NULL && d.target[0] != '\0' &&
	    domcfg_add_str(o, "pdev_path", d.target) == -1) ||
	    domcfg_add_str(o, "vdev", d.vdev) == -1 ||
	    domcfg_add_str(o, "format", d.format != NULL ? d.format :
	    "raw") == -1 ||
	    domcfg_add_int(o, "readwrite", d.readwrite) == -1 ||
	    (d.is_cdrom && domcfg_add_int(o, "is_cdrom", 1) == -1) ||
	    (d.backend != NULL && domcfg_add_str(o, "backend",
	    d.backend) == -1) ||
	    (d.script != NULL && domcfg_add_str(o, "script", d.script) == -1))
		goto nomem;
	*out = o;
	o = NULL;
	rc = 0;
	goto out;
 nomem:
	errbuf_set(why, whylen, "out of memory");
 out:
	json_object_put(o);
	free(d.target);
	free(d.vdev);
	free(d.script);
	free(buf);
	return rc;
}

/* --- vif specs --- */

static int
domcfg_mac_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	}
	return s[17] == '\0';
}

/* A Linux interface name: what a bridge or vifname can be. */
static int
domcfg_ifname_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 15 || s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '/' ||
		    s[i] == ':')
			return 0;
	return i > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int
domcfg_vif_parse(const char *spec, int devid, struct json_object **out,
    char *why, size_t whylen)
{
	static const char *const keys[] = {
		"mac", "bridge", "script", "ip", "vifname", "model", "type",
	};
	const char *vals[sizeof(keys) / sizeof(keys[0])];
	struct json_object *o = NULL;
	char *buf = NULL, *p, *tok, *next, *eq;
	size_t i, len;
	int rc = -1;

	memset(vals, 0, sizeof(vals));
	if (strlen(spec) > DOMCFG_SPEC_MAX) {
		errbuf_set(why, whylen, "vif spec too long");
		goto out;
	}
	if ((buf = strdup(spec)) == NULL)
		goto nomem;
	for (p = buf; *p != '\0'; p = next) {
		tok = p;
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		else
			next = p + strlen(p);
		while (*tok == ' ' || *tok == '\t' || *tok == '\n')
			tok++;
		for (len = strlen(tok); len > 0 && (tok[len - 1] == ' ' ||
		    tok[len - 1] == '\t' || tok[len - 1] == '\n'); len--)
			tok[len - 1] = '\0';
		if (*tok == '\0')
			continue;
		if ((eq = strchr(tok, '=')) == NULL) {
			errbuf_set(why, whylen, "expected key=value, got '%s'",
			    tok);
			goto out;
		}
		*eq = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(tok, keys[i]) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			errbuf_set(why, whylen, "unknown vif parameter '%s'",
			    tok);
			goto out;
		}
		if (vals[i] != NULL) {
			errbuf_set(why, whylen, "'%s' given twice", keys[i]);
			goto out;
		}
		vals[i] = eq + 1;
	}
	/* mac, bridge, script, ip, vifname, model, type */
	if (vals[0] != NULL && !domcfg_mac_valid(vals[0])) {
		errbuf_set(why, whylen, "invalid mac '%s' (six hex bytes "
		    "separated by ':')", vals[0]);
		goto out;
	}
	if (vals[1] != NULL && !domcfg_ifname_valid(vals[1])) {
		errbuf_set(why, whylen, "invalid bridge name '%s'", vals[1]);
		goto out;
	}
	if (vals[4] != NULL && !domcfg_ifname_valid(vals[4])) {
		errbuf_set(why, whylen, "invalid vifname '%s'", vals[4]);
		goto out;
	}
	if (vals[6] != NULL && strcmp(vals[6], "vif") != 0 &&
	    strcmp(vals[6], "ioemu") != 0) {
		errbuf_set(why, whylen, "unknown vif type '%s' (vif or ioemu)",
		    vals[6]);
		goto out;
	}

	if ((o = json_object_new_object()) == NULL ||
	    domcfg_add_int(o, "devid", devid) == -1 ||
	    domcfg_add_str(o, "bridge", vals[1] != NULL ? vals[1] :
	    DOMCFG_DEFAULT_BRIDGE) == -1 ||
	    (vals[0] != NULL && domcfg_add_str(o, "mac", vals[0]) == -1) ||
	    (vals[2] != NULL && domcfg_add_str(o, "script", vals[2]) == -1) ||
	    (vals[3] != NULL && domcfg_add_str(o, "ip", vals[3]) == -1) ||
	    (vals[4] != NULL && domcfg_add_str(o, "ifname", vals[4]) == -1) ||
	    (vals[5] != NULL && domcfg_add_str(o, "model", vals[5]) == -1) ||
	    (vals[6] != NULL && domcfg_add_str(o, "nictype",
	    strcmp(vals[6], "vif") == 0 ? "vif" : "vif_ioemu") == -1))
		goto nomem;
	*out = o;
	o = NULL;
	rc = 0;
	goto out;
 nomem:
	errbuf_set(why, whylen, "out of memory");
 out:
	json_object_put(o);
	free(buf);
	return rc;
}

/* "[DDDD:]BB:DD.F[@VSLOT][,options]": kept as text plus libxl's fields. */
static int
domcfg_pci_parse(const char *spec, struct json_object **out, char *why,
    size_t whylen)
{
	struct json_object *o = NULL;
	unsigned dom = 0, bus, dev, fn;
	char bdf[32];
	size_t len;
	int n;

	len = strcspn(spec, "@,");
	if (len == 0 || len >= sizeof(bdf))
		goto bad;
	memcpy(bdf, spec, len);
	bdf[len] = '\0';
	if (strspn(bdf, "0123456789abcdefABCDEF:.") != len)
		goto bad;
	if (sscanf(bdf, "%4x:%2x:%2x.%1u%n", &dom, &bus, &dev, &fn, &n) ==
	    4 && (size_t)n == len)
		;
	else if (dom = 0, sscanf(bdf, "%2x:%2x.%1u%n", &bus, &dev, &fn,
	    &n) == 3 && (size_t)n == len)
		;
	else
		goto bad;
	if (dev > 0x1f || fn > 7)
		goto bad;
	if ((o = json_object_new_object()) == NULL ||
	    domcfg_add_str(o, "bdf", bdf) == -1 ||
	    domcfg_add_int(o, "domain", dom) == -1 ||
	    domcfg_add_int(o, "bus", bus) == -1 ||
	    domcfg_add_int(o, "dev", dev) == -1 ||
	    domcfg_add_int(o, "func", fn) == -1) {
		json_object_put(o);
		errbuf_set(why, whylen, "out of memory");
		return -1;
	}
	*out = o;
	return 0;
 bad:
	errbuf_set(why, whylen, "not a PCI address (e.g. 0000:03:00.0)");
	return -1;
}

/* A list of strings, or -1 with a message naming the setting. */
static int
domcfg_get_list(struct cfg *cfg, const char *name, struct cfg_setting **out,
    char *err, size_t errlen)
{
	struct cfg_setting *st;
	size_t i;

	*out = NULL;
	if ((st = cfg_get(cfg, name)) == NULL)
		return 0;
	if (st->value.kind != CFG_LIST) {
		errbuf_set(err, errlen, "%s:%d: %s: expected a list, got %s",
		    cfg->file, st->line, name, st->value.kind == CFG_STRING ?
		    "a string" : "a number");
		return -1;
	}
	if (st->value.nitems > DOMCFG_MAX_DEVICES) {
		errbuf_set(err, errlen, "%s:%d: %s: too many entries (more "
		    "than %d)", cfg->file, st->line, name, DOMCFG_MAX_DEVICES);
		return -1;
	}
	for (i = 0; i < st->value.nitems; i++)
		if (st->value.items[i].kind != CFG_STRING) {
			errbuf_set(err, errlen, "%s:%d: %s: expected a list "
			    "of strings, item %zu is a number", cfg->file,
			    st->value.items[i].line, name, i + 1);
			return -1;
		}
	*out = st;
	return 1;
}

/* disk, vif and pci lists into disks[], nics[], pcidevs[]. */
static int
domcfg_devices(struct cfg *cfg, struct json_object *root, char *err,
    size_t errlen)
{
	struct cfg_setting *st;
	struct json_object *arr = NULL, *dev, *o;
	const char *v, *w;
	char why[256];
	size_t i, j, n;
	int rc = -1, r;

	/* disks */
	if ((arr = json_object_new_array()) == NULL)
		goto nomem;
	if (domcfg_get_list(cfg, "disk", &st, err, errlen) == -1)
		goto out;
	for (i = 0; st != NULL && i < st->value.nitems; i++) {
		if (domcfg_disk_parse(st->value.items[i].str, &dev, why,
		    sizeof(why)) == -1) {
			errbuf_set(err, errlen, "%s:%d: disk '%.60s': %s",
			    cfg->file, st->value.items[i].line,
			    st->value.items[i].str, why);
			goto out;
		}
		if (json_object_array_add(arr, dev) != 0) {
			json_object_put(dev);
			goto nomem;
		}
		/* two disks on one vdev would fail late, in libxl */
		v = domcfg_get_str(dev, "vdev");
		for (j = 0; j < i; j++) {
			o = json_object_array_get_idx(arr, j);
			w = domcfg_get_str(o, "vdev");
			if (v != NULL && w != NULL && strcmp(v, w) == 0) {
				errbuf_set(err, errlen, "%s:%d: disk '%.60s': "
				    "vdev %s is already used by disk %zu",
				    cfg->file, st->value.items[i].line,
				    st->value.items[i].str, v, j + 1);
				goto out;
			}
		}
	}
	r = json_object_object_add(root, "disks", arr);
	if (r != 0)
		goto nomem;
	arr = NULL;

	/* nics */
	if ((arr = json_object_new_array()) == NULL)
		goto nomem;
	if (domcfg_get_list(cfg, "vif", &st, err, errlen) == -1)
		goto out;
	for (i = 0; st != NULL && i < st->value.nitems; i++) {
		if (domcfg_vif_parse(st->value.items[i].str, (int)i, &dev, why,
		    sizeof(why)) == -1) {
			errbuf_set(err, errlen, "%s:%d: vif '%.60s': %s",
			    cfg->file, st->value.items[i].line,
			    st->value.items[i].str, why);
			goto out;
		}
		if (json_object_array_add(arr, dev) != 0) {
			json_object_put(dev);
			goto nomem;
		}
	}
	if (json_object_object_add(root, "nics", arr) != 0)
		goto nomem;
	arr = NULL;

	/* pcidevs */
	if ((arr = json_object_new_array()) == NULL)
		goto nomem;
	if (domcfg_get_list(cfg, "pci", &st, err, errlen) == -1)
		goto out;
	n = st != NULL ? st->value.nitems : 0;
	for (i = 0; i < n; i++) {
		if (domcfg_pci_parse(st->value.items[i].str, &dev, why,
		    sizeof(why)) == -1) {
			errbuf_set(err, errlen, "%s:%d: pci '%.60s': %s",
			    cfg->file, st->value.items[i].line,
			    st->value.items[i].str, why);
			goto out;
		}
		if (json_object_array_add(arr, dev) != 0) {
			json_object_put(dev);
			goto nomem;
		}
	}
	if (json_object_object_add(root, "pcidevs", arr) != 0)
		goto nomem;
	arr = NULL;
	rc = 0;
	goto out;
 nomem:
	errbuf_set(err, errlen, "%s: out of memory", cfg->file);
 out:
	json_object_put(arr);
	return rc;
}

/*
 * kernel, ramdisk, bootloader, device model and the command line, which
 * xl builds from root= and extra= unless cmdline= is given.  xl ignores
 * root/extra next to cmdline with a warning; here that is an error, as
 * one of them is surely not what the admin meant.
 */
static int
domcfg_kernel(struct cfg *cfg, struct json_object *b_info, char *err,
    size_t errlen)
{
	static const struct {
		const char	*key;
		const char	*field;
	} strs[] = {
		{ "kernel",			"kernel" },
		{ "ramdisk",			"ramdisk" },
		{ "bootloader",			"bootloader" },
		{ "device_model_override",	"device_model" },
	};
	struct cfg_setting *st;
	char *s = NULL, *root = NULL, *extra = NULL, *cmd = NULL;
	size_t i;
	int rc = -1;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (cfg_get_string(cfg, strs[i].key, &s, err, errlen) == -1)
			goto out;
		if (s == NULL)
			continue;
		if (domcfg_add_str(b_info, strs[i].field, s) == -1)
			goto nomem;
		free(s);
		s = NULL;
	}
	if (cfg_get_string(cfg, "root", &root, err, errlen) == -1 ||
	    cfg_get_string(cfg, "extra", &extra, err, errlen) == -1 ||
	    cfg_get_string(cfg, "cmdline", &cmd, err, errlen) == -1)
		goto out;
	if (cmd != NULL && (root != NULL || extra != NULL)) {
		st = cfg_get(cfg, "cmdline");
		errbuf_set(err, errlen, "%s:%d: cmdline: set together with "
		    "'%s'; use one or the other", cfg->file, st->line,
		    root != NULL ? "root" : "extra");
		goto out;
	}
	if (cmd == NULL && (root != NULL || extra != NULL)) {
		if (asprintf(&cmd, "%s%s%s%s", root != NULL ? "root=" : "",
		    root != NULL ? root : "",
		    root != NULL && extra != NULL ? " " : "",
		    extra != NULL ? extra : "") == -1) {
			cmd = NULL;
			goto nomem;
		}
	}
	if (cmd != NULL && domcfg_add_str(b_info, "cmdline", cmd) == -1)
		goto nomem;
	rc = 0;
	goto out;
 nomem:
	errbuf_set(err, errlen, "%s: out of memory", cfg->file);
 out:
	free(s);
	free(root);
	free(extra);
	free(cmd);
	return rc;
}

int
domcfg_from_cfg(struct cfg *cfg, struct json_object **out, char *err,
    size_t errlen)
{
	static const char *const keys[] = {
		"on_poweroff", "on_reboot", "on_crash",
	};
	static const char *const defaults[] = {
		"destroy", "restart", "destroy",
	};
	struct json_object *root = NULL, *c_info, *b_info, *sim = NULL, *o;
	struct cfg_setting *st;
	const char *suggest, *type = "pv", *act;
	char *name = NULL, *uuid = NULL, *s = NULL, gen[37], key[32];
	long memory = 0, maxmem = 0, vcpus = 1, v;
	size_t i, j, k;
	int rc = -1, r, line;

	/* unknown keys first, in file order, so a typo is named even if
	 * it is also what makes a required key look missing */
	for (i = 0; i < cfg->nsettings; i++) {
		for (k = 0; k < DOMCFG_NKEYS; k++)
			if (strcmp(cfg->settings[i].name, domcfg_keys[k]) == 0)
				break;
		if (k < DOMCFG_NKEYS)
			continue;
		suggest = cfg_suggest(cfg->settings[i].name, domcfg_keys,
		    DOMCFG_NKEYS);
		errbuf_set(err, errlen, "%s:%d: unknown setting '%.64s'%s%s%s",
		    cfg->file, cfg->settings[i].line, cfg->settings[i].name,
		    suggest != NULL ? " (did you mean '" : "",
		    suggest != NULL ? suggest : "",
		    suggest != NULL ? "'?)" : "");
		goto out;
	}

	/* every string ends up in JSON, which must be UTF-8 */
	for (i = 0; i < cfg->nsettings; i++) {
		st = &cfg->settings[i];
		line = 0;
		if (st->value.kind == CFG_STRING &&
		    !domcfg_utf8_valid(st->value.str))
			line = st->line;
		for (j = 0; line == 0 && st->value.kind == CFG_LIST &&
		    j < st->value.nitems; j++)
			if (!domcfg_utf8_valid(st->value.items[j].str))
				line = st->value.items[j].line;
		if (line != 0) {
			errbuf_set(err, errlen, "%s:%d: %s: not valid UTF-8",
			    cfg->file, line, st->name);
			goto out;
		}
	}

	if ((root = json_object_new_object()) == NULL ||
	    (c_info = json_object_new_object()) == NULL)
		goto nomem;
	if (json_object_object_add(root, "c_info", c_info) != 0) {
		json_object_put(c_info);
		goto nomem;
	}
	if ((b_info = json_object_new_object()) == NULL)
		goto nomem;
	if (json_object_object_add(root, "b_info", b_info) != 0) {
		json_object_put(b_info);
		goto nomem;
	}

	/* c_info */
	if ((r = cfg_get_string(cfg, "type", &s, err, errlen)) == -1)
		goto out;
	if (r == 1) {
		st = cfg_get(cfg, "type");
		if (strcmp(s, "pv") == 0 || strcmp(s, "pvh") == 0 ||
		    strcmp(s, "hvm") == 0)
			type = strcmp(s, "pv") == 0 ? "pv" :
			    strcmp(s, "pvh") == 0 ? "pvh" : "hvm";
		else {
			errbuf_set(err, errlen, "%s:%d: type: unknown domain "
			    "type '%.40s' (use \"pv\", \"pvh\" or \"hvm\")",
			    cfg->file, st->line, s);
			goto out;
		}
		free(s);
		s = NULL;
	}
	/* xl's legacy spelling; "type" wins when both are there, as in xl */
	if ((r = cfg_get_string(cfg, "builder", &s, err, errlen)) == -1)
		goto out;
	if (r == 1) {
		st = cfg_get(cfg, "builder");
		if (strcmp(s, "hvm") != 0 && strcmp(s, "generic") != 0) {
			errbuf_set(err, errlen, "%s:%d: builder: unknown "
			    "builder '%.40s' (use \"generic\" or \"hvm\")",
			    cfg->file, st->line, s);
			goto out;
		}
		if (cfg_get(cfg, "type") == NULL && strcmp(s, "hvm") == 0)
			type = "hvm";
		free(s);
		s = NULL;
	}
	if (cfg_get_string(cfg, "name", &name, err, errlen) == -1)
		goto out;
	if (name == NULL) {
		errbuf_set(err, errlen, "%s: missing required setting 'name'",
		    cfg->file);
		goto out;
	}
	if (!domcfg_name_valid(name)) {
		errbuf_set(err, errlen, "%s:%d: name: '%.80s' is not a valid "
		    "domain name (1..%d printable characters, no blanks or "
		    "'/', not all digits)", cfg->file, cfg_get(cfg,
		    "name")->line, name, DOMCFG_NAME_MAX);
		goto out;
	}
	if (cfg_get_string(cfg, "uuid", &uuid, err, errlen) == -1)
		goto out;
	if (uuid != NULL) {
		if (!domcfg_uuid_valid(uuid)) {
			errbuf_set(err, errlen, "%s:%d: uuid: '%.80s' is not "
			    "a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			    cfg->file, cfg_get(cfg, "uuid")->line, uuid);
			goto out;
		}
		for (i = 0; uuid[i] != '\0'; i++)
			if (uuid[i] >= 'A' && uuid[i] <= 'F')
				uuid[i] += 'a' - 'A';
	} else if (domcfg_uuid_generate(gen) == -1) {
		errbuf_set(err, errlen, "%s: cannot generate a UUID: %s",
		    cfg->file, strerror(errno));
		goto out;
	}
	if (domcfg_add_str(c_info, "type", type) == -1 ||
	    domcfg_add_str(c_info, "name", name) == -1 ||
	    domcfg_add_str(c_info, "uuid", uuid != NULL ? uuid : gen) == -1)
		goto nomem;

	/* b_info */
	if ((r = cfg_get_long(cfg, "memory", 1, DOMCFG_MAX_MEMORY_MB, &memory,
	    err, errlen)) == -1)
		goto out;
	if (r == 0) {
		errbuf_set(err, errlen, "%s: missing required setting "
		    "'memory'", cfg->file);
		goto out;
	}
	maxmem = memory;
	if (cfg_get_long(cfg, "maxmem", 1, DOMCFG_MAX_MEMORY_MB, &maxmem, err,
	    errlen) == -1)
		goto out;
	if (maxmem < memory) {
		errbuf_set(err, errlen, "%s:%d: maxmem: %ld is less than "
		    "memory (%ld)", cfg->file, cfg_get(cfg, "maxmem")->line,
		    maxmem, memory);
		goto out;
	}
	if (cfg_get_long(cfg, "vcpus", 1, DOMCFG_MAX_VCPUS, &vcpus, err,
	    errlen) == -1)
		goto out;
	snprintf(key, sizeof(key), "type.%s", type);
	if ((o = json_object_new_object()) == NULL)
		goto nomem;
	if (json_object_object_add(b_info, key, o) != 0) {
		json_object_put(o);
		goto nomem;
	}
	if (domcfg_add_int(b_info, "max_vcpus", vcpus) == -1 ||
	    domcfg_add_int(b_info, "max_memkb", (int64_t)maxmem * 1024) == -1 ||
	    domcfg_add_int(b_info, "target_memkb",
	    (int64_t)memory * 1024) == -1)
		goto nomem;
	if (domcfg_kernel(cfg, b_info, err, errlen) == -1)
		goto out;

	/* devices */
	if (domcfg_devices(cfg, root, err, errlen) == -1)
		goto out;

	/* actions, with xl's defaults */
	for (i = 0; i < 3; i++) {
		act = defaults[i];
		if (cfg_get_string(cfg, keys[i], &s, err, errlen) == -1)
			goto out;
		if (s != NULL && (act = domcfg_action(s)) == NULL) {
			errbuf_set(err, errlen, "%s:%d: %s: unknown action "
			    "'%.40s' (destroy, restart, rename-restart, "
			    "preserve, coredump-destroy, coredump-restart, "
			    "soft-reset)", cfg->file, cfg_get(cfg,
			    keys[i])->line, keys[i], s);
			goto out;
		}
		free(s);
		s = NULL;
		if (domcfg_add_str(root, keys[i], act) == -1)
			goto nomem;
	}

	/* simulator knobs, in an object only xmig's sim backend reads */
	if (cfg_get(cfg, "sim_tick_ms") != NULL ||
	    cfg_get(cfg, "sim_dirty_rate") != NULL) {
		if ((sim = json_object_new_object()) == NULL)
			goto nomem;
		if ((r = cfg_get_long(cfg, "sim_tick_ms", 1,
		    DOMCFG_SIM_TICK_MAX, &v, err, errlen)) == -1)
			goto out;
		if (r == 1 && domcfg_add_int(sim, "tick_ms", v) == -1)
			goto nomem;
		if ((r = cfg_get_long(cfg, "sim_dirty_rate", 0,
		    DOMCFG_SIM_DIRTY_MAX, &v, err, errlen)) == -1)
			goto out;
		if (r == 1 && domcfg_add_int(sim, "dirty_rate", v) == -1)
			goto nomem;
		if (json_object_object_add(root, "xmig_sim", sim) != 0)
			goto nomem;
		sim = NULL;
	}

	*out = root;
	root = NULL;
	rc = 0;
	goto out;
 nomem:
	errbuf_set(err, errlen, "%s: out of memory", cfg->file);
 out:
	json_object_put(sim);
	json_object_put(root);
	free(name);
	free(uuid);
	free(s);
	return rc;
}

/* --- JSON from a peer --- */

static struct json_object *
domcfg_member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* A string member, NULL if absent or not a string. */
static const char *
domcfg_get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if ((v = domcfg_member(o, key, json_type_string)) == NULL)
		return NULL;
	return json_object_get_string(v);
}

/* 0 absent (out untouched), 1 found, -1 wrong type or out of range. */
static int
domcfg_get_int(struct json_object *o, const char *key, int64_t min,
    int64_t max, int64_t *out, const char *what, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		errbuf_set(err, errlen, "domain config: %s is not an integer",
		    what);
		return -1;
	}
	/* json-c saturates at INT64_MAX; larger is out of range anyway */
	i = json_object_get_int64(v);
	if (i < min || i > max) {
		errbuf_set(err, errlen, "domain config: %s %lld is out of "
		    "range (%lld..%lld)", what, (long long)i, (long long)min,
		    (long long)max);
		return -1;
	}
	*out = i;
	return 1;
}

int
domcfg_parse(const char *json, size_t len, struct json_object **out,
    char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	struct domcfg_info info;
	enum json_tokener_error jerr;
	size_t end;
	int rc = -1;

	if (len > DOMCFG_MAX_JSON) {
		errbuf_set(err, errlen, "domain config too large (%zu bytes, "
		    "the limit is %d)", len, DOMCFG_MAX_JSON);
		goto out;
	}
	/* tolerate the NUL that travels with the config in xl's header */
	if (len > 0 && json[len - 1] == '\0')
		len--;
	if (memchr(json, '\0', len) != NULL) {
		errbuf_set(err, errlen, "domain config contains a NUL byte");
		goto out;
	}
	if ((tok = json_tokener_new_ex(DOMCFG_JSON_DEPTH)) == NULL) {
		errbuf_set(err, errlen, "domain config: out of memory");
		goto out;
	}
	/* trailing bytes are checked below, for a clearer message */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue || jerr ==
		    json_tokener_success)
			errbuf_set(err, errlen, "domain config: JSON is "
			    "truncated");
		else
			errbuf_set(err, errlen, "domain config: invalid JSON "
			    "at offset %zu: %s",
			    json_tokener_get_parse_end(tok),
			    json_tokener_error_desc(jerr));
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (json[end] != ' ' && json[end] != '\t' &&
		    json[end] != '\n' && json[end] != '\r') {
			errbuf_set(err, errlen, "domain config: trailing "
			    "garbage after the JSON at offset %zu", end);
			goto out;
		}
	if (domcfg_info(obj, &info, err, errlen) == -1)
		goto out;
	*out = obj;
	obj = NULL;
	rc = 0;
 out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

int
domcfg_info(struct json_object *obj, struct domcfg_info *info, char *err,
    size_t errlen)
{
	static const char *const lists[] = { "disks", "nics", "pcidevs" };
	struct json_object *c_info, *b_info, *v, *sim;
	size_t *counts[3];
	int64_t i64;
	size_t i;

	memset(info, 0, sizeof(*info));
	counts[0] = &info->ndisks;
	counts[1] = &info->nnics;
	counts[2] = &info->npci;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		errbuf_set(err, errlen, "domain config is not a JSON object");
		return -1;
	}
	if ((c_info = domcfg_member(obj, "c_info", json_type_object)) ==
	    NULL) {
		errbuf_set(err, errlen, "domain config: c_info missing");
		return -1;
	}
	info->name = domcfg_get_str(c_info, "name");
	if (info->name == NULL) {
		errbuf_set(err, errlen, "domain config: c_info.name missing");
		return -1;
	}
	if (!domcfg_name_valid(info->name)) {
		errbuf_set(err, errlen, "domain config: invalid domain name "
		    "'%.80s'", info->name);
		return -1;
	}
	info->uuid = "";
	if (json_object_object_get_ex(c_info, "uuid", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    !domcfg_uuid_valid(json_object_get_string(v))) {
			errbuf_set(err, errlen, "domain config: c_info.uuid "
			    "is not a UUID");
			return -1;
		}
		info->uuid = json_object_get_string(v);
	}
	info->type = "pv";
	if (json_object_object_get_ex(c_info, "type", &v) && v != NULL) {
		if (json_object_is_type(v, json_type_string) &&
		    (strcmp(json_object_get_string(v), "pv") == 0 ||
		    strcmp(json_object_get_string(v), "pvh") == 0 ||
		    strcmp(json_object_get_string(v), "hvm") == 0))
			info->type = json_object_get_string(v);
		else {
			errbuf_set(err, errlen, "domain config: c_info.type "
			    "is not \"pv\", \"pvh\" or \"hvm\"");
			return -1;
		}
	}

	if ((b_info = domcfg_member(obj, "b_info", json_type_object)) ==
	    NULL) {
		errbuf_set(err, errlen, "domain config: b_info missing");
		return -1;
	}
	switch (domcfg_get_int(b_info, "max_memkb", 1, INT64_MAX, &i64,
	    "b_info.max_memkb", err, errlen)) {
	case -1:
		return -1;
	case 0:
		errbuf_set(err, errlen, "domain config: b_info.max_memkb "
		    "missing");
		return -1;
	}
	info->memory_kb = (uint64_t)i64;
	i64 = 1;
	if (domcfg_get_int(b_info, "max_vcpus", 1, DOMCFG_MAX_VCPUS, &i64,
	    "b_info.max_vcpus", err, errlen) == -1)
		return -1;
	info->vcpus = (unsigned)i64;

	for (i = 0; i < 3; i++) {
		if (!json_object_object_get_ex(obj, lists[i], &v) || v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_array)) {
			errbuf_set(err, errlen, "domain config: %s is not a "
			    "list", lists[i]);
			return -1;
		}
		*counts[i] = json_object_array_length(v);
	}

	if (json_object_object_get_ex(obj, "xmig_sim", &sim) && sim != NULL) {
		if (!json_object_is_type(sim, json_type_object)) {
			errbuf_set(err, errlen, "domain config: xmig_sim is "
			    "not an object");
			return -1;
		}
		i64 = 0;
		if (domcfg_get_int(sim, "tick_ms", 1, DOMCFG_SIM_TICK_MAX,
		    &i64, "xmig_sim.tick_ms", err, errlen) == -1)
			return -1;
		info->sim_tick_ms = (unsigned)i64;
		i64 = 0;
		if (domcfg_get_int(sim, "dirty_rate", 0, DOMCFG_SIM_DIRTY_MAX,
		    &i64, "xmig_sim.dirty_rate", err, errlen) == -1)
			return -1;
		info->sim_dirty_rate = (unsigned)i64;
	}
	return 0;
}

int
domcfg_set_name(struct json_object *obj, const char *name)
{
	struct json_object *c_info;

	if (!domcfg_name_valid(name) ||
	    (c_info = domcfg_member(obj, "c_info", json_type_object)) == NULL)
		return -1;
	return domcfg_add_str(c_info, "name", name);
}

char *
domcfg_to_string(struct json_object *obj)
{
	const char *s;

	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	return s != NULL ? strdup(s) : NULL;
}

/* --- the incoming policy --- */

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
			for (j = 0; pol->disk_paths != NULL &&
			    pol->disk_paths[j] != NULL; j++)
				if (domcfg_path_under(path,
				    pol->disk_paths[j]))
					break;
			if (pol->disk_paths == NULL ||
			    pol->disk_paths[j] == NULL) {
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
		if (!json_object_object_get_ex(obj, passthrough[i][0], &v) ||
		    v == NULL)
			continue;
		n = json_object_is_type(v, json_type_array) ?
		    json_object_array_length(v) : 1;
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
