/*
 * The domain-config model: libxl's domain_config JSON held as a json-c
 * object (see domcfg.h for the fields used).
 *
 * JSON from a peer (the xl save header of an incoming migration) is
 * parsed here with a size and depth bound, and every field the daemon
 * later relies on is type-checked, so the rest of the code can trust
 * domcfg_info() and domcfg_policy_check() alone.  xl-format files from
 * the local admin are compiled in domcfg_xl.c; the incoming policy is in
 * domcfg_policy.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"
#include "domcfg_impl.h"
#include "errbuf.h"

#define DOMCFG_JSON_DEPTH	32	/* libxl's own configs nest ~5 deep */

static int	domcfg_get_int(struct json_object *, const char *, int64_t,
		    int64_t, int64_t *, const char *, char *, size_t);

int
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

int
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

/* --- JSON from a peer --- */

struct json_object *
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
const char *
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
	info->weight = 1;
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
		i64 = 1;
		if (domcfg_get_int(sim, "weight", 0, DOMCFG_WEIGHT_MAX,
		    &i64, "xmig_sim.weight", err, errlen) == -1)
			return -1;
		info->weight = (unsigned)i64;
		i64 = 0;
		if (domcfg_get_int(sim, "disk_counter", 0, 2, &i64,
		    "xmig_sim.disk_counter", err, errlen) == -1)
			return -1;
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
