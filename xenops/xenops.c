#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "xenops_impl.h"

int
xo_fail(struct xo_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return code;
}

struct xo_ctx *
xo_open(const struct relocd_conf *conf, char *err, size_t errlen)
{
	struct xo_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctx->be = conf->backend == BACKEND_SIM ? &xo_backend_sim :
	    &xo_backend_libxl;
	if (ctx->be->open == NULL) {
		snprintf(err, errlen,
		    "backend \"%s\" is not available in this build",
		    ctx->be->name);
		free(ctx);
		return NULL;
	}
	if (ctx->be->open(ctx, conf) != 0) {
		snprintf(err, errlen, "backend \"%s\": %s", ctx->be->name,
		    ctx->err);
		free(ctx);
		return NULL;
	}
	return ctx;
}

void
xo_close(struct xo_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx->be->close(ctx);
	free(ctx);
}

const char *
xo_errmsg(const struct xo_ctx *ctx)
{
	return ctx->err;
}

const char *
xo_backend_name(const struct xo_ctx *ctx)
{
	return ctx->be->name;
}

int
xo_list(struct xo_ctx *ctx, struct xo_dominfo **doms, size_t *n)
{
	return ctx->be->list(ctx, doms, n);
}

int
xo_lookup(struct xo_ctx *ctx, const char *key, uint32_t *domid)
{
	struct xo_dominfo *doms = NULL;
	size_t n = 0, i;
	char *end;
	unsigned long id;
	int rc;

	if ((rc = xo_list(ctx, &doms, &n)) != 0)
		return rc;
	id = strtoul(key, &end, 10);
	rc = xo_fail(ctx, XO_E_NOTFOUND, "domain '%s' does not exist", key);
	for (i = 0; i < n; i++) {
		if (strcmp(doms[i].name, key) == 0 ||
		    (*key != '\0' && *end == '\0' && doms[i].domid == id)) {
			*domid = doms[i].domid;
			rc = 0;
			break;
		}
	}
	free(doms);
	return rc;
}

int
xo_info(struct xo_ctx *ctx, uint32_t domid, struct xo_dominfo *info)
{
	return ctx->be->info(ctx, domid, info);
}

int
xo_host_info(struct xo_ctx *ctx, struct xo_hostinfo *hi)
{
	memset(hi, 0, sizeof(*hi));
	return ctx->be->host_info(ctx, hi);
}

void
xo_hostinfo_dispose(struct xo_hostinfo *hi)
{
	size_t i;

	if (hi->bridges != NULL) {
		for (i = 0; hi->bridges[i] != NULL; i++)
			free(hi->bridges[i]);
		free(hi->bridges);
	}
	hi->bridges = NULL;
}

int
xo_config_get(struct xo_ctx *ctx, uint32_t domid, struct json_object **cfg)
{
	return ctx->be->config_get(ctx, domid, cfg);
}

int
xo_create(struct xo_ctx *ctx, struct json_object *cfg, uint32_t *domid)
{
	return ctx->be->create(ctx, cfg, domid);
}

int
xo_suspend_to(struct xo_ctx *ctx, uint32_t domid, struct iochan *ioc,
    int flags, xo_progress_fn fn, void *arg)
{
	return ctx->be->suspend_to(ctx, domid, ioc, flags, fn, arg);
}

int
xo_restore_from(struct xo_ctx *ctx, struct json_object *cfg,
    struct iochan *ioc, uint32_t *domid, xo_progress_fn fn, void *arg)
{
	return ctx->be->restore_from(ctx, cfg, ioc, domid, fn, arg);
}

int
xo_rename(struct xo_ctx *ctx, uint32_t domid, const char *old_name,
    const char *new_name)
{
	return ctx->be->rename(ctx, domid, old_name, new_name);
}

int
xo_pause(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->pause(ctx, domid);
}

int
xo_unpause(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->unpause(ctx, domid);
}

int
xo_resume(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->resume(ctx, domid);
}

int
xo_destroy(struct xo_ctx *ctx, uint32_t domid)
{
	return ctx->be->destroy(ctx, domid);
}

int
xo_console_path(struct xo_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
	return ctx->be->console_path(ctx, domid, buf, len);
}

const char *
xo_state_name(enum xo_state st)
{
	switch (st) {
	case XO_RUNNING:
		return "running";
	case XO_PAUSED:
		return "paused";
	case XO_SUSPENDED:
		return "suspended";
	case XO_SHUTDOWN:
		return "shutdown";
	case XO_CRASHED:
		return "crashed";
	case XO_DYING:
		return "dying";
	}
	return "unknown";
}
