/*
 * libFuzzer target: xl's save-file header and the domain config behind it
 * (common/xlproto.c, then common/domcfg.c's parser and the incoming
 * policy of common/domcfg_policy.c), exactly the path recv.c takes with a
 * sender's bytes before any byte reaches the backend.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"
#include "xlproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *paths[] = { "/srv/xen/", NULL };
	static char *bridges[] = { "xenbr0", NULL };
	struct domcfg_policy pol;
	struct domcfg_info info;
	struct xl_header h;
	struct json_object *cfg = NULL;
	const char *json;
	size_t jsonlen;
	char err[1024];

	if (xl_header_decode(data, size, &h, err, sizeof(err)) == -1)
		return 0;
	/* The cap: the config and its own u32 length. */
	if (h.optional_data_len > (uint32_t)XL_MAX_CONFIG + 4)
		abort();
	if (size - XL_HEADER_LEN < h.optional_data_len)
		return 0;
	if (xl_config_decode(data + XL_HEADER_LEN, h.optional_data_len, &json,
	    &jsonlen, err, sizeof(err)) == -1)
		return 0;
	if (json < (const char *)data + XL_HEADER_LEN ||
	    json + jsonlen > (const char *)data + size)
		abort();	/* points outside the input */
	if (domcfg_parse(json, jsonlen, &cfg, err, sizeof(err)) == -1)
		return 0;
	if (domcfg_info(cfg, &info, err, sizeof(err)) == 0 &&
	    !domcfg_name_valid(info.name))
		abort();	/* parse let an invalid name through */
	memset(&pol, 0, sizeof(pol));
	pol.disk_paths = paths;
	pol.bridges = bridges;
	pol.host_bridges = bridges;
	pol.max_memory_kb = 1024 * 1024;
	pol.max_vcpus = 8;
	(void)domcfg_policy_check(cfg, &pol, err, sizeof(err));
	json_object_put(cfg);
	return 0;
}
