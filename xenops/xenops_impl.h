/* Between xenops.c (the dispatcher) and its backends. */
#ifndef XENOPS_IMPL_H
#define XENOPS_IMPL_H

#include "xenops.h"

struct xo_backend {
	const char *name;
	int	(*open)(struct xo_ctx *, const struct relocd_conf *);
	void	(*close)(struct xo_ctx *);
	int	(*list)(struct xo_ctx *, struct xo_dominfo **, size_t *);
	int	(*info)(struct xo_ctx *, uint32_t, struct xo_dominfo *);
	int	(*host_info)(struct xo_ctx *, struct xo_hostinfo *);
	int	(*config_get)(struct xo_ctx *, uint32_t, struct json_object **);
	int	(*create)(struct xo_ctx *, struct json_object *, uint32_t *);
	int	(*suspend_to)(struct xo_ctx *, uint32_t, struct iochan *, int,
		    xo_progress_fn, void *);
	int	(*restore_from)(struct xo_ctx *, struct json_object *,
		    struct iochan *, uint32_t *, xo_progress_fn, void *);
	int	(*rename)(struct xo_ctx *, uint32_t, const char *, const char *);
	int	(*pause)(struct xo_ctx *, uint32_t);
	int	(*unpause)(struct xo_ctx *, uint32_t);
	int	(*resume)(struct xo_ctx *, uint32_t);
	int	(*destroy)(struct xo_ctx *, uint32_t);
	int	(*console_path)(struct xo_ctx *, uint32_t, char *, size_t);
	/* NULL: the backend holds no leases */
	int	(*lease_give)(struct xo_ctx *, uint32_t);
	/* NULL: no monitors to start again at relocd's start */
	int	(*adopt)(struct xo_ctx *);
	/* NULL: the backend cannot track a running domain's disk writes */
	int	(*disk_dirty)(struct xo_ctx *, uint32_t, const char *, int *);
};

struct xo_ctx {
	const struct xo_backend *be;
	void	*priv;
	void	*module;	/* dlopen handle of be's module, or NULL */
	char	 err[512];
};

/* Sets the message returned by xo_errmsg; returns code for tail calls. */
int	xo_fail(struct xo_ctx *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

extern const struct xo_backend xo_backend_sim;
/* In relocd-libxl.so (xo_open loads it), and linked into its unit test. */
extern const struct xo_backend xo_backend_libxl;

#endif
