/*
 * The TLS half of iochan: OpenSSL's want-read/want-write answers turned
 * into "wait for this event", so iochan.c keeps one loop for both kinds
 * of channel and never names an OpenSSL symbol.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "iochan.h"

/*
 * Outgoing TLS records are gathered into writes of this size.  OpenSSL
 * writes every 16 KiB record with its own write(2), and each costs the
 * kernel a TCP segment's work on both ends: on loopback, a 2 GiB stream
 * took 0.93 CPU-s/GiB to send record by record and 0.53-0.61 gathered
 * 256 KiB at a time (0.61-0.65 at 64 KiB), at 1.6 GB/s instead of 1.1.
 * ioc_write_full flushes before it returns, so nothing waits here.
 */
#define IOC_TLS_WBUF	(128 * 1024)

static ssize_t	ioc_tls_read(struct iochan *, void *, size_t, short *);
static ssize_t	ioc_tls_write(struct iochan *, const void *, size_t,
		    short *);
static int	ioc_tls_flush(struct iochan *, short *);
static void	ioc_tls_gather(SSL *);
static void	ioc_tls_read_ahead(struct iochan *);
static void	ioc_tls_shutdown(struct iochan *);
static void	ioc_tls_err(struct iochan *, const char *);
static ssize_t	ioc_tls_answer(struct iochan *, int, const char *, int,
		    short *);

static const struct ioc_tls_ops ioc_tls_ops = {
	.read = ioc_tls_read,
	.write = ioc_tls_write,
	.flush = ioc_tls_flush,
	.read_ahead = ioc_tls_read_ahead,
	.shutdown = ioc_tls_shutdown,
};

void
ioc_init_tls(struct iochan *ioc, int fd, SSL *ssl, int timeout_ms)
{
	ioc_init(ioc, fd, timeout_ms);
	if (ssl != NULL) {
		ioc->ssl = ssl;
		ioc->tls = &ioc_tls_ops;
		ioc_tls_gather(ssl);
	}
}

/*
 * A buffering BIO in front of the socket for writes only (reads keep the
 * socket BIO, with read-ahead).  After the handshake, whose flights
 * OpenSSL flushes itself; alerts, close_notify included, it flushes too.
 * Without memory for it the session simply stays record by record.
 */
static void
ioc_tls_gather(SSL *ssl)
{
	BIO *sock = SSL_get_wbio(ssl), *buf;

	if (sock == NULL || BIO_method_type(sock) == BIO_TYPE_BUFFER ||
	    (buf = BIO_new(BIO_f_buffer())) == NULL)
		return;
	if (BIO_set_write_buffer_size(buf, IOC_TLS_WBUF) != 1 ||
	    !BIO_up_ref(sock)) {
		BIO_free(buf);
		return;
	}
	/* The chain holds its own reference to the socket BIO; set0 drops
	 * the one the SSL held as its wbio (it keeps the rbio's). */
	BIO_push(buf, sock);
	SSL_set0_wbio(ssl, buf);
}

static int
ioc_tls_flush(struct iochan *ioc, short *events)
{
	BIO *wbio = SSL_get_wbio(ioc->ssl);

	if (wbio == NULL || BIO_wpending(wbio) == 0)
		return 0;
	errno = 0;
	if (BIO_flush(wbio) == 1)
		return 0;
	if (BIO_should_retry(wbio)) {
		*events = POLLOUT;
		return -2;
	}
	snprintf(ioc->err, sizeof(ioc->err), "TLS write: %s",
	    errno != 0 ? strerror(errno) : "flush failed");
	return -1;
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

/*
 * What SSL_read's or SSL_write's answer r <= 0 means for the channel: -2
 * and the event to wait for, -1 with the reason, and for the peer's
 * close_notify 0 (end of stream) where eof_ok, an error otherwise.
 */
static ssize_t
ioc_tls_answer(struct iochan *ioc, int r, const char *what, int eof_ok,
    short *events)
{
	switch (SSL_get_error(ioc->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return -2;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return -2;
	case SSL_ERROR_ZERO_RETURN:
		if (eof_ok)
			return 0;
		/* FALLTHROUGH */
	default:
		ioc_tls_err(ioc, what);
		return -1;
	}
}

/*
 * Several TLS records per read(2) instead of two reads per record, for a
 * bulk receive.  Only for a session whose every later read goes through
 * ioc_read_some (SSL_read first, poll only on WANT_READ, which OpenSSL
 * returns only with no whole record buffered): code that polls the socket
 * and trusts SSL_pending would miss records read ahead.
 */
static void
ioc_tls_read_ahead(struct iochan *ioc)
{
	SSL_set_read_ahead(ioc->ssl, 1);
}

static ssize_t
ioc_tls_read(struct iochan *ioc, void *buf, size_t len, short *events)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_read(ioc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return r > 0 ? r : ioc_tls_answer(ioc, r, "read", 1, events);
}

static ssize_t
ioc_tls_write(struct iochan *ioc, const void *buf, size_t len,
    short *events)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_write(ioc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return r > 0 ? r : ioc_tls_answer(ioc, r, "write", 0, events);
}

static void
ioc_tls_shutdown(struct iochan *ioc)
{
	int r, tries;

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
