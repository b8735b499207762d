/*
 * The libxl backend.  Until it is written (issue 3) the table is empty and
 * xo_open() says the backend is not available in this build.
 */
#include "xenops_impl.h"

const struct xo_backend xo_backend_libxl = {
	.name = "libxl",
};
