/*
 * libFuzzer target: the incoming domain-config policy
 * (common/domcfg_policy.c) on arbitrary JSON.  The first input byte
 * chooses the policy knobs, the rest is the config.  Invariants checked
 * on every accepted config: it has a valid name, no PCI device, no
 * hotplug script, and fits under the ceilings, whatever the JSON looked
 * like.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *paths[] = { "/srv/xen/", "/dev/vg0/", NULL };
	static char *bridges[] = { "xenbr0", "xenbr1", NULL };
	static char *host_bridges[] = { "xenbr0", NULL };
	struct domcfg_policy pol;
	struct domcfg_info info;
	struct json_object *cfg = NULL;
	char err[1024];
	uint8_t knobs;

	if (size < 1)
		return 0;
	knobs = data[0];
	if (domcfg_parse((const char *)data + 1, size - 1, &cfg, err,
	    sizeof(err)) == -1)
		return 0;
	memset(&pol, 0, sizeof(pol));
	pol.disk_paths = (knobs & 1) ? paths : NULL;
	pol.bridges = (knobs & 2) ? bridges : NULL;
	pol.host_bridges = (knobs & 4) ? host_bridges : NULL;
	pol.allow_bootloader = (knobs & 8) != 0;
	pol.allow_device_model = (knobs & 16) != 0;
	pol.max_memory_kb = (knobs & 32) ? 512 * 1024 : 0;
	pol.max_vcpus = (knobs & 64) ? 4 : 0;
	if (domcfg_policy_check(cfg, &pol, err, sizeof(err)) == 0) {
		if (domcfg_info(cfg, &info, err, sizeof(err)) == -1)
			abort();	/* accepted what it cannot describe */
		if (info.npci != 0)
			abort();	/* PCI passthrough got through */
		if (pol.max_memory_kb != 0 &&
		    info.memory_kb > pol.max_memory_kb)
			abort();
		if (pol.max_vcpus != 0 && info.vcpus > pol.max_vcpus)
			abort();
		/* deny by default: with no bridge on the host, no nic */
		if (pol.host_bridges == NULL && info.nnics != 0)
			abort();
	} else if (err[0] == '\0')
		abort();	/* a refusal must name its reason */
	json_object_put(cfg);
	return 0;
}
