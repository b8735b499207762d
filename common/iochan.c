#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "iochan.h"

/* Largest single write: over TLS a record holds 16 KiB, so a piece this
 * size fills records completely and never waits for more data. */
#define IOC_CHUNK	(256 * 1024)

static void	ioc_throttle(struct iochan *);

void
ioc_init(struct iochan *ioc, int fd, int timeout_ms)
{
	memset(ioc, 0, sizeof(*ioc));
	ioc->fd = fd;
	ioc->timeout_ms = timeout_ms;
}

int
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

/* Rate limit as a token bucket anchored at the first write: sleep until
 * the bytes written so far fit max_bw. */
static void
ioc_throttle(struct iochan *ioc)
{
	uint64_t due_us, now;

	if (ioc->max_bw == 0)
		return;
	now = clock_mono_us();
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
	if (ioc->tls != NULL)
		ioc->tls->read_ahead(ioc);
}

ssize_t
ioc_read_some(struct iochan *ioc, void *buf, size_t len)
{
	ssize_t n;
	short events;

	for (;;) {
		if (ioc->tls != NULL) {
			n = ioc->tls->read(ioc, buf, len, &events);
			if (n == -2) {
				if (ioc_wait(ioc, events) == -1)
					return -1;
				continue;
			}
			if (n > 0)
				ioc->nread += n;
			return n;
		}
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
	short events = POLLOUT;

	while (len > 0) {
		chunk = len > IOC_CHUNK ? IOC_CHUNK : len;
		if (ioc->tls != NULL)
			n = ioc->tls->write(ioc, p, chunk, &events);
		else if ((n = write(ioc->fd, p, chunk)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				snprintf(ioc->err, sizeof(ioc->err),
				    "write: %s", strerror(errno));
				return -1;
			}
			n = -2;
			events = POLLOUT;
		}
		if (n == -1)
			return -1;
		if (n == -2) {
			if (ioc_wait(ioc, events) == -1)
				return -1;
			continue;
		}
		ioc->nwritten += n;
		p += n;
		len -= n;
		ioc_throttle(ioc);
	}
	/* Never wait for more data to fill a write: the small messages of
	 * the migration handshake sit on the downtime path. */
	while (ioc->tls != NULL && (n = ioc->tls->flush(ioc, &events)) != 0) {
		if (n == -1 || ioc_wait(ioc, events) == -1)
			return -1;
	}
	return 0;
}

void
ioc_shutdown(struct iochan *ioc)
{
	if (ioc->tls != NULL)
		ioc->tls->shutdown(ioc);
}
