/*
 * xl-format domain config files from the local admin (xmig create),
 * compiled into the domain-config JSON with xl's own rules where it
 * matters (disk and vif specs, action names).  What it writes travels
 * with the domain when it migrates, and the receiver takes it through
 * domcfg_parse(), so it keeps within the same limits (domcfg_impl.h) and
 * is UTF-8.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "domcfg.h"
#include "domcfg_impl.h"
#include "errbuf.h"

#define DOMCFG_MAX_MEMORY_MB	(16L * 1024 * 1024)	/* 16 TiB */
#define DOMCFG_MAX_DEVICES	1024	/* per list: disks, nics, pcidevs */
#define DOMCFG_SPEC_MAX		4096	/* one disk/vif/pci spec */

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

static int	domcfg_add_int(struct json_object *, const char *, int64_t);
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
static int	domcfg_utf8_valid(const char *);

/* Keys domcfg_from_cfg understands; anything else is a typo or a
 * feature we do not carry, and is refused by name. */
static const char *const domcfg_keys[] = {
	"name", "uuid", "type", "builder", "memory", "maxmem", "vcpus",
	"kernel", "ramdisk", "root", "extra", "cmdline", "bootloader",
	"device_model_override", "disk", "vif", "pci", "on_poweroff",
	"on_reboot", "on_crash", "sim_tick_ms", "sim_dirty_rate", "sim_weight",
	"sim_disk_counter",
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
	    cfg_get(cfg, "sim_dirty_rate") != NULL ||
	    cfg_get(cfg, "sim_weight") != NULL ||
	    cfg_get(cfg, "sim_disk_counter") != NULL) {
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
		if ((r = cfg_get_long(cfg, "sim_weight", 0, DOMCFG_WEIGHT_MAX,
		    &v, err, errlen)) == -1)
			goto out;
		if (r == 1 && domcfg_add_int(sim, "weight", v) == -1)
			goto nomem;
		if ((r = cfg_get_long(cfg, "sim_disk_counter", 0, 2, &v, err,
		    errlen)) == -1)
			goto out;
		if (r == 1 && domcfg_add_int(sim, "disk_counter", v) == -1)
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
