#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "domcfg.h"
#include "proto.h"
#include "xmig.h"

int
xmig_domcfg_load(const char *path, struct json_object **cfg)
{
	struct cfg c;
	char err[1024];
	int rc = 0;

	*cfg = NULL;
	cfg_init(&c);
	if (cfg_parse_file(&c, path, err, sizeof(err)) == -1 ||
	    domcfg_from_cfg(&c, cfg, err, sizeof(err)) == -1) {
		xmig_err("%s", err);
		rc = -1;
	}
	cfg_dispose(&c);
	return rc;
}

int
main_create(int argc, char **argv)
{
	struct json_object *cfg = NULL, *req = NULL, *reply = NULL;
	int rc = EXIT_FAILED;

	if (argc != 2 || argv[1][0] == '-')
		return xmig_usage("create");
	if (xmig_domcfg_load(argv[1], &cfg) == -1)
		goto out;
	req = json_object_new_object();
	json_object_object_add(req, "config", json_object_get(cfg));
	if (ctl_call(PT_CTL_CREATE, req, &reply) == -1)
		goto out;
	printf("Started domain %s (id=%lld)\n", proto_get_str(reply, "name"),
	    (long long)proto_get_int(reply, "id", 0));
	rc = EXIT_OK;
out:
	json_object_put(cfg);
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

int
main_destroy(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	int rc = EXIT_FAILED;

	if (argc != 2 || argv[1][0] == '-')
		return xmig_usage("destroy");
	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string(argv[1]));
	if (ctl_call(PT_CTL_DESTROY, req, &reply) == 0)
		rc = EXIT_OK;
	json_object_put(req);
	json_object_put(reply);
	return rc;
}
