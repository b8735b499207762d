#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "iochan.h"

/* Largest single SSL_write: a full TLS record is 16 KiB, so writing in
 * 64 KiB pieces fills records completely and never waits for more. */
#define IOC_CHUNK	(256 * 1024)

static int	ioc_wait(struct iochan *, short);
static void	ioc_tls_err(struct iochan *, const char *);
static uint64_t	ioc_now_us(void);
static void	ioc_throttle(struct iochan *);

void
ioc_init(struct iochan *ioc, int fd, SSL *ssl, int timeout_ms)
{
	memset(ioc, 0, sizeof(*ioc));
	ioc->fd = fd;
	ioc->ssl = ssl;
	ioc->timeout_ms = timeout_ms;
}

static uint64_t
ioc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
ioc_wait(struct iochan *ioc, short events)
{
	struct pollfd pfd;
	int r;

	pfd.fd = ioc->fd;
	pfd.events = events;
	for (;;) {
		r = poll(&pfd, 1, ioc->timeout_ms > 0 ? ioc->timeout_ms : -1);
		if (r > 0)
			return 0;
		if (r == 0) {
			snprintf(ioc->err, sizeof(ioc->err),
			    "no progress for %d s (timed out)",
			    ioc->timeout_ms / 1000);
			return -1;
		}
		if (errno != EINTR) {
			snprintf(ioc->err, sizeof(ioc->err), "poll: %s",
			    strerror(errno));
			return -1;
		}
	}
}

static void
ioc_tls_err(struct iochan *ioc, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(ioc->err, sizeof(ioc->err), "TLS %s: %s", what, buf);
	} else if (errno != 0)
		snprintf(ioc->err, sizeof(ioc->err), "TLS %s: %s", what,
		    strerror(errno));
	else
		snprintf(ioc->err, sizeof(ioc->err),
		    "peer closed the connection without TLS close_notify "
		    "(stream truncated)");
	ERR_clear_error();
}

/* Rate limit as a token bucket anchored at the first write: sleep until
 * the bytes written so far fit max_bw. */
static void
ioc_throttle(struct iochan *ioc)
{
	uint64_t due_us, now;

	if (ioc->max_bw == 0)
		return;
	now = ioc_now_us();
	if (ioc->bw_start_us == 0) {
		ioc->bw_start_us = now;
		ioc->bw_start_bytes = ioc->nwritten;
		return;
	}
	due_us = ioc->bw_start_us +
	    (ioc->nwritten - ioc->bw_start_bytes) * 1000000 / ioc->max_bw;
	if (due_us > now)
		usleep((useconds_t)(due_us - now));
}

/*
 * Several TLS records per read(2) instead of two reads per record, for a
 * bulk receive.  Only for a session whose every later read goes through
 * ioc_read_some (SSL_read first, poll only on WANT_READ, which OpenSSL
 * returns only with no whole record buffered): code that polls the socket
 * and trusts SSL_pending would miss records read ahead.
 */
void
ioc_read_ahead(struct iochan *ioc)
{
	if (ioc->ssl != NULL)
		SSL_set_read_ahead(ioc->ssl, 1);
}

ssize_t
ioc_read_some(struct iochan *ioc, void *buf, size_t len)
{
	ssize_t n;
	int r, e;

	for (;;) {
		if (ioc->ssl == NULL) {
			n = read(ioc->fd, buf, len);
			if (n >= 0) {
				ioc->nread += n;
				return n;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				snprintf(ioc->err, sizeof(ioc->err), "read: %s",
				    strerror(errno));
				return -1;
			}
			if (ioc_wait(ioc, POLLIN) == -1)
				return -1;
			continue;
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_read(ioc->ssl, buf, len > INT32_MAX ? INT32_MAX :
		    (int)len);
		if (r > 0) {
			ioc->nread += r;
			return r;
		}
		e = SSL_get_error(ioc->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			if (ioc_wait(ioc, POLLIN) == -1)
				return -1;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			if (ioc_wait(ioc, POLLOUT) == -1)
				return -1;
		} else if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		else {
			ioc_tls_err(ioc, "read");
			return -1;
		}
	}
}

int
ioc_read_full(struct iochan *ioc, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = ioc_read_some(ioc, p, len)) < 0)
			return -1;
		if (n == 0) {
			snprintf(ioc->err, sizeof(ioc->err),
			    "peer closed the connection");
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int
ioc_write_full(struct iochan *ioc, const void *buf, size_t len)
{
	const char *p = buf;
	size_t chunk;
	ssize_t n;
	int r, e;

	while (len > 0) {
		chunk = len > IOC_CHUNK ? IOC_CHUNK : len;
		if (ioc->ssl == NULL) {
			n = write(ioc->fd, p, chunk);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN) {
					snprintf(ioc->err, sizeof(ioc->err),
					    "write: %s", strerror(errno));
					return -1;
				}
				if (ioc_wait(ioc, POLLOUT) == -1)
					return -1;
				continue;
			}
		} else {
			ERR_clear_error();
			errno = 0;
			r = SSL_write(ioc->ssl, p, (int)chunk);
			if (r <= 0) {
				e = SSL_get_error(ioc->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE) {
					if (ioc_wait(ioc, POLLOUT) == -1)
						return -1;
				} else if (e == SSL_ERROR_WANT_READ) {
					if (ioc_wait(ioc, POLLIN) == -1)
						return -1;
				} else {
					ioc_tls_err(ioc, "write");
					return -1;
				}
				continue;
			}
			n = r;
		}
		ioc->nwritten += n;
		p += n;
		len -= n;
		ioc_throttle(ioc);
	}
	return 0;
}

void
ioc_shutdown(struct iochan *ioc)
{
	int r, tries;

	if (ioc->ssl == NULL)
		return;
	/* Bounded: a peer that never answers close_notify costs at most
	 * a few waits, not a hang. */
	for (tries = 0; tries < 4; tries++) {
		ERR_clear_error();
		r = SSL_shutdown(ioc->ssl);
		if (r == 1)
			break;
		if (r == 0)
			continue;
		r = SSL_get_error(ioc->ssl, r);
		if (r == SSL_ERROR_WANT_READ) {
			if (ioc_wait(ioc, POLLIN) == -1)
				break;
		} else if (r == SSL_ERROR_WANT_WRITE) {
			if (ioc_wait(ioc, POLLOUT) == -1)
				break;
		} else
			break;
	}
	ERR_clear_error();
}
