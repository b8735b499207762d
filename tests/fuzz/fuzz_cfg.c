/*
 * libFuzzer target: the xl.conf-syntax reader (common/cfg.c) and what is
 * built on it: relocd.conf's key table (common/conf.c, through a file,
 * as relocd -n reads it) and xl domain config files (domcfg_from_cfg,
 * what "xmig create" reads).  Messages must be "FILE:LINE: ...".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "conf.h"
#include "domcfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char conf_path[4096];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relocd_conf conf;
	struct json_object *dom = NULL;
	struct cfg c;
	char err[2048];
	FILE *fp;

	cfg_init(&c);
	if (cfg_parse_buf(&c, "fuzz.cfg", (const char *)data, size, err,
	    sizeof(err)) == 0) {
		if (domcfg_from_cfg(&c, &dom, err, sizeof(err)) == 0 &&
		    dom == NULL)
			abort();
		json_object_put(dom);
	} else if (strncmp(err, "fuzz.cfg:", 9) != 0)
		abort();	/* every error names FILE:LINE */
	cfg_dispose(&c);

	/* relocd.conf goes through a file, as relocd -n reads it. */
	if (conf_path[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(conf_path, sizeof(conf_path), "%s/fuzz_cfg.%ld.conf",
		    tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
		    (long)getpid());
	}
	if ((fp = fopen(conf_path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	conf_init(&conf);
	if (conf_load(&conf, conf_path, err, sizeof(err)) == -1 &&
	    strncmp(err, conf_path, strlen(conf_path)) != 0)
		abort();
	conf_dispose(&conf);
	return 0;
}
