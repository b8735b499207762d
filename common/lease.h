/*
 * Per-domain leases on shared storage (cluster_dir), as libvirt's virtlockd
 * keeps them: CLUSTER_DIR/leases/UUID, one file per domain, leased by an
 * open-file-description (OFD) write lock over the whole file.
 *
 * The lock belongs to an open file description, not to a process: it is
 * held for as long as any descriptor of it stays open, and the kernel drops
 * it when the last one closes, which is when the process that holds the
 * domain's memory dies.  So it is the domain's own process (sim: the guest;
 * libxl: the lease holder beside the domain) that keeps it, never relocd,
 * and a relocd that crashes or is cut off leaves it held.
 *
 * The file's text names the last holder, for messages only: the lock, not
 * the text, is the lease.
 */
#ifndef LEASE_H
#define LEASE_H

#include <stddef.h>

struct lease_info {
	int	held;		/* 1: someone holds it now */
	char	holder[256];	/* the last holder's own words, or "" */
};

/* Open (creating leases/ and the file) the lease of uuid; -1 + err. */
int	lease_open(const char *cluster_dir, const char *uuid, char *err,
	    size_t errlen);
/* Take it without waiting: 0, or -1 with errno EAGAIN if held. */
int	lease_acquire(int fd, const char *holder);
void	lease_release(int fd);
/* Who holds uuid's lease now: 0, or -1 + err if it cannot be read. */
int	lease_probe(const char *cluster_dir, const char *uuid,
	    struct lease_info *, char *err, size_t errlen);
/* The file's holder text of an open lease (for a refusal). */
void	lease_holder_text(int fd, char *buf, size_t len);

#endif
