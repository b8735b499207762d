/*
 * fakexen.so: Xen's two openers for a machine without Xen, preloaded
 * (LD_PRELOAD) into a relocd with backend = "libxl".
 *
 * libxl_ctx_alloc opens the hypervisor (libxenctrl) and xenstore, which
 * this machine does not have; with these it succeeds, as it does on a
 * dom0, so relocd's startup check (xo_open, xo_close) runs its whole
 * path: load relocd-libxl.so, open a real libxl ctx (childproc mode,
 * atfork handlers), free it, unload.  t_backend_module.sh then checks
 * that nothing of Xen stays mapped in the daemon.  The handles are
 * tokens: any real use of them would crash (tests/unit/check_libxl.c
 * does the same, linked in).  The one call made with them is listing the
 * domains, which finds none: enough for a worker to show that it loaded
 * the module and called libxl.
 *
 * No Xen headers: only the symbol names matter to the dynamic linker.
 */
#include <stddef.h>

void	*xc_interface_open(void *, void *, unsigned);
int	 xc_interface_close(void *);
void	*xs_open(unsigned long);
void	 xs_close(void *);
int	 xc_domain_getinfolist(void *, unsigned, unsigned, void *);

static char token[64];

void *
xc_interface_open(void *logger, void *dombuild_logger, unsigned flags)
{
	return token;
}

int
xc_interface_close(void *xch)
{
	return 0;
}

void *
xs_open(unsigned long flags)
{
	return token + 32;
}

void
xs_close(void *xsh)
{
}

int
xc_domain_getinfolist(void *xch, unsigned first_domain, unsigned max_domains,
    void *info)
{
	return 0;
}
