/*
 * tlsloop: the baselines relocd's data path is measured against, a tight
 * C loop with nothing in between: raw TCP (write/read) or TLS 1.3
 * (SSL_write/SSL_read, the same suite relocd prefers).  One connection,
 * one direction, n bytes.
 *
 *	tlsloop -s [-t] [-C cert -K key] -a ADDR -p PORT
 *		serve one connection, read to EOF, print a result line
 *	tlsloop -c [-t] -a ADDR -p PORT -n BYTES [-w WRITE_SIZE]
 *		send BYTES of zeros, print a result line
 *	tlsloop -h [-C cert -K key -A ca] -a ADDR -p PORT -r COUNT
 *		(client) COUNT sequential mutual-TLS handshakes
 *
 * The result line is "bytes=N secs=S cpu=C" (cpu: user + system seconds
 * of this process), which tests/bench/run.sh parses.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LOOP_SUITE	"TLS_AES_128_GCM_SHA256"
#define LOOP_RBUF	(1024 * 1024)

static double	loop_now(void);
static double	loop_cpu(void);
static int	loop_socket(const char *, int, int);
static SSL_CTX	*loop_ctx(int, const char *, const char *, const char *);
static void	loop_ssl_die(const char *);
static void	loop_usage(void) __attribute__((noreturn));

static double
loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
loop_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
loop_ssl_die(const char *what)
{
	ERR_print_errors_fp(stderr);
	errx(1, "%s failed", what);
}

static void
loop_usage(void)
{
	fprintf(stderr, "usage: tlsloop -s|-c|-h [-t] [-C cert] [-K key] "
	    "[-A ca] -a addr -p port [-n bytes] [-w size] [-r count]\n");
	exit(2);
}

/* Listening (server) or connected (client) socket. */
static int
loop_socket(const char *addr, int port, int server)
{
	struct sockaddr_in sin;
	int fd, on = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		errx(2, "bad address %s", addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (server) {
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			err(1, "bind %s:%d", addr, port);
		if (listen(fd, 8) == -1)
			err(1, "listen");
		return fd;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect %s:%d", addr, port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

static SSL_CTX *
loop_ctx(int server, const char *cert, const char *key, const char *ca)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		loop_ssl_die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_ciphersuites(ctx, LOOP_SUITE);
	/* As relocd: no tickets, so closing never races a RST. */
	SSL_CTX_set_num_tickets(ctx, 0);
	if (cert != NULL && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		loop_ssl_die(cert);
	if (key != NULL && SSL_CTX_use_PrivateKey_file(ctx, key,
	    SSL_FILETYPE_PEM) != 1)
		loop_ssl_die(key);
	if (ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
			loop_ssl_die(ca);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
}

int
main(int argc, char *argv[])
{
	const char *addr = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char *buf;
	double t0, c0;
	uint64_t n = 0, done = 0;
	size_t wsize = 256 * 1024, chunk;
	ssize_t r;
	int mode = 0, tls = 0, port = 0, count = 1, lfd, fd, ch, i;

	while ((ch = getopt(argc, argv, "schtA:C:K:a:p:n:w:r:")) != -1) {
		switch (ch) {
		case 's':
		case 'c':
		case 'h':
			mode = ch;
			break;
		case 't':
			tls = 1;
			break;
		case 'A':
			ca = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			wsize = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			count = atoi(optarg);
			break;
		default:
			loop_usage();
		}
	}
	if (mode == 0 || addr == NULL || port <= 0 || wsize == 0 ||
	    count <= 0)
		loop_usage();
	if ((buf = calloc(1, wsize > LOOP_RBUF ? wsize : LOOP_RBUF)) == NULL)
		err(1, "calloc");
	if (mode == 'h') {
		/* Handshake only: connect, mutual TLS, close. */
		ctx = loop_ctx(0, cert, key, ca);
		t0 = loop_now();
		for (i = 0; i < count; i++) {
			fd = loop_socket(addr, port, 0);
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_connect(ssl) != 1)
				loop_ssl_die("SSL_connect");
			SSL_free(ssl);
			close(fd);
		}
		printf("handshakes=%d secs=%.6f\n", count, loop_now() - t0);
		return 0;
	}
	if (tls)
		ctx = loop_ctx(mode == 's', cert, key, NULL);
	if (mode == 's') {
		lfd = loop_socket(addr, port, 1);
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			err(1, "accept");
		close(lfd);
	} else
		fd = loop_socket(addr, port, 0);
	if (tls) {
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if ((mode == 's' ? SSL_accept(ssl) : SSL_connect(ssl)) != 1)
			loop_ssl_die("TLS handshake");
	}
	t0 = loop_now();
	c0 = loop_cpu();
	if (mode == 's') {
		for (;;) {
			if (tls)
				r = SSL_read(ssl, buf, LOOP_RBUF);
			else
				r = read(fd, buf, LOOP_RBUF);
			if (r < 0 && !tls && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			done += r;
		}
		if (tls)
			SSL_shutdown(ssl);
	} else {
		while (done < n) {
			chunk = n - done < wsize ? n - done : wsize;
			if (tls)
				r = SSL_write(ssl, buf, (int)chunk);
			else
				r = write(fd, buf, chunk);
			if (r < 0 && !tls && errno == EINTR)
				continue;
			if (r <= 0)
				errx(1, "write failed after %llu bytes",
				    (unsigned long long)done);
			done += r;
		}
		if (tls) {
			/* close_notify, then wait for the peer's. */
			SSL_shutdown(ssl);
			while (SSL_read(ssl, buf, LOOP_RBUF) > 0)
				;
		} else {
			shutdown(fd, SHUT_WR);
			while (read(fd, buf, LOOP_RBUF) > 0)
				;
		}
	}
	printf("bytes=%llu secs=%.6f cpu=%.3f\n", (unsigned long long)done,
	    loop_now() - t0, loop_cpu() - c0);
	return 0;
}
