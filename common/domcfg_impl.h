/*
 * Private to the domain-config model (domcfg.c, domcfg_xl.c,
 * domcfg_policy.c).  The limits are the xl compiler's and the JSON
 * checks' both, so that what domcfg_from_cfg() writes domcfg_info()
 * takes.
 */
#ifndef DOMCFG_IMPL_H
#define DOMCFG_IMPL_H

#include <json-c/json.h>

#define DOMCFG_MAX_VCPUS	4096
#define DOMCFG_SIM_TICK_MAX	60000
#define DOMCFG_SIM_DIRTY_MAX	1000000
#define DOMCFG_DEFAULT_BRIDGE	"xenbr0"	/* as xl and libxl */

int	domcfg_add_str(struct json_object *, const char *, const char *);
struct json_object *domcfg_member(struct json_object *, const char *,
	    enum json_type);
const char *domcfg_get_str(struct json_object *, const char *);

#endif
