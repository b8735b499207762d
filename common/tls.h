/*
 * TLS for relocd and its peers: one SSL_CTX per process serves both as the
 * server (accepting peers) and as the client (connecting to peers), since
 * every host presents the same host certificate either way.  Mutual
 * authentication always; TLS 1.3 by default, 1.2 at the lowest.
 */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct relocd_conf;

#define TLS_MAX_NAMES	32

struct tls_peer {
	char	 subject[256];
	char	 fingerprint[96];	/* SHA-256, AA:BB:... */
	char	*names[TLS_MAX_NAMES];	/* SAN DNS, SAN IP (text), CN */
	size_t	 nnames;
};

/*
 * Load CA, CRL, certificate and key, and check our own certificate: key
 * matches, valid now, not a CA, usable for TLS server and client, key file
 * not readable by group or others.  NULL + "FILE:LINE: message" in err.
 */
SSL_CTX	*tls_ctx_new(const struct relocd_conf *, char *err, size_t errlen);

/* Client side: check the server's certificate names HOST (DNS name or
 * address) during the handshake. */
int	tls_client_expect_host(SSL *, const char *host);
/* Blocking client handshake on fd (non-blocking is fine) with a deadline.
 * 0 or -1 with the reason in err. */
int	tls_connect(SSL *, int fd, int timeout_ms, char *err, size_t errlen);

/* After a handshake (or a failed one): the peer's identity. */
void	tls_peer_get(SSL *, struct tls_peer *);
void	tls_peer_dispose(struct tls_peer *);
/* Why the handshake failed, for the one log line and the client. */
void	tls_failure_reason(SSL *, char *buf, size_t len);

#endif
