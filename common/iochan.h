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
struct iochan;

/*
 * The TLS half lives in iochan_tls.c, reached only through this table, so
 * that a program that never opens TLS (xmig talks to the local relocd
 * over a Unix socket) does not link OpenSSL: loading libssl and libcrypto
 * costs about 1.3 ms at every exec here, a seventh of a remote query.
 */
struct ioc_tls_ops {
	/* >0 bytes, 0 close_notify, -1 error, -2 wait for POLLIN or
	 * POLLOUT (in *events). */
	ssize_t	(*read)(struct iochan *, void *, size_t, short *events);
	ssize_t	(*write)(struct iochan *, const void *, size_t,
		    short *events);
	/* Pushes out what the write path holds back: 0 done, -1 error, -2
	 * wait for *events. */
	int	(*flush)(struct iochan *, short *events);
	void	(*read_ahead)(struct iochan *);
	void	(*shutdown)(struct iochan *);
};

struct iochan {
	SSL		*ssl;		/* NULL: plain fd */
	const struct ioc_tls_ops *tls;	/* set with ssl */
	int		 fd;
	int		 timeout_ms;	/* per wait; <= 0 waits forever */
	uint64_t	 nread;
	uint64_t	 nwritten;
	uint64_t	 max_bw;	/* bytes per second, 0 = unlimited */
	uint64_t	 bw_start_us;	/* token bucket origin */
	uint64_t	 bw_start_bytes;
	char		 err[256];	/* why the last call failed */
};

/* A plain fd (Unix socket, pipe, socketpair). */
void	ioc_init(struct iochan *, int fd, int timeout_ms);
/* A TLS session on fd; ssl NULL is the same as ioc_init. */
void	ioc_init_tls(struct iochan *, int fd, SSL *ssl, int timeout_ms);
/* Waits for events on the fd within the timeout; -1 with ioc->err. */
int	ioc_wait(struct iochan *, short events);
/* 0: all len bytes; -1: error or EOF, reason in ioc->err ("peer closed
 * the connection", "timed out after 30 s", "TLS: ..."). */
int	ioc_read_full(struct iochan *, void *, size_t);
/* All len bytes are on their way to the peer when it returns 0: nothing
 * is held back for a later write. */
int	ioc_write_full(struct iochan *, const void *, size_t);
/* >0 bytes read, 0 clean EOF (TLS close_notify or fd EOF), -1 error. */
ssize_t	ioc_read_some(struct iochan *, void *, size_t);
/* Bulk receive: read TLS records ahead (see iochan.c for when it is
 * safe). */
void	ioc_read_ahead(struct iochan *);
/* Orderly TLS shutdown (close_notify), bounded by the timeout. */
void	ioc_shutdown(struct iochan *);

#endif
