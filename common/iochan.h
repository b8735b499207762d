/*
 * A blocking byte channel with deadlines over a TLS session or a plain fd.
 * The workers move migration streams through it; the sim backend writes
 * its stream straight into it, so bulk data is never copied through an
 * extra pipe.  Reads and writes wait at most timeout_ms for progress
 * (an idle timeout, not a total one).
 */
#ifndef IOCHAN_H
#define IOCHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ssl_st SSL;

struct iochan {
	SSL		*ssl;		/* NULL: plain fd */
	int		 fd;
	int		 timeout_ms;	/* per wait; <= 0 waits forever */
	uint64_t	 nread;
	uint64_t	 nwritten;
	uint64_t	 max_bw;	/* bytes per second, 0 = unlimited */
	uint64_t	 bw_start_us;	/* token bucket origin */
	uint64_t	 bw_start_bytes;
	char		 err[256];	/* why the last call failed */
};

void	ioc_init(struct iochan *, int fd, SSL *ssl, int timeout_ms);
/* 0: all len bytes; -1: error or EOF, reason in ioc->err ("peer closed
 * the connection", "timed out after 30 s", "TLS: ..."). */
int	ioc_read_full(struct iochan *, void *, size_t);
int	ioc_write_full(struct iochan *, const void *, size_t);
/* >0 bytes read, 0 clean EOF (TLS close_notify or fd EOF), -1 error. */
ssize_t	ioc_read_some(struct iochan *, void *, size_t);
/* Bulk receive: read TLS records ahead (see iochan.c for when it is
 * safe). */
void	ioc_read_ahead(struct iochan *);
/* Orderly TLS shutdown (close_notify), bounded by the timeout. */
void	ioc_shutdown(struct iochan *);

#endif
