/*
 * The libxl backend's pure parts, shared with its unit tests
 * (tests/unit/check_libxl.c).  Only built when libxenlight is present
 * (HAVE_LIBXL); the rest of relocd sees the backend through xenops.h.
 */
#ifndef XENOPS_LIBXL_H
#define XENOPS_LIBXL_H

#ifdef HAVE_LIBXL

#include <stddef.h>

#include <json-c/json.h>
#include <libxl.h>

/* A libxl ERROR_* code as an XO_E_* code (0 stays 0). */
int	libxlbe_error_map(int libxl_rc);
/* The libxl domain_config of a json-c object, and back.  The caller
 * inits and disposes the libxl_domain_config. */
int	libxlbe_config_from_json(libxl_ctx *, struct json_object *,
	    libxl_domain_config *, char *err, size_t errlen);
int	libxlbe_config_to_json(libxl_ctx *, libxl_domain_config *,
	    struct json_object **, char *err, size_t errlen);
/* The stream bound on the receiving side: pre-copy sends pages more
 * than once, so the bound is a multiple of the guest's memory. */
unsigned long long libxlbe_stream_limit(unsigned long long memory_kb);

#endif
#endif
