#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "conf.h"
#include "tls.h"

/* AES-128-GCM first: on these machines it is the fastest AEAD and TLS,
 * not the wire, is the ceiling (reference/perf-anchors.md). */
#define TLS13_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static void	tls_where(const struct relocd_conf *, int, char *, size_t);
static const char *tls_errstr(void);
static int	tls_check_readable(const char *, char *, size_t);
static int	tls_check_key_file(const char *, char *, size_t);
static int	tls_self_check(X509 *, char *, size_t);
static int	tls_load_crl(SSL_CTX *, const char *, char *, size_t);
static int	tls_verify_cb(int, X509_STORE_CTX *);
static void	tls_exdata_free(void *, void *, CRYPTO_EX_DATA *, int, long,
		    void *);

/* The peer's leaf certificate, kept even when verification fails, so a
 * refusal can be logged with the subject and fingerprint it was about. */
static int tls_leaf_idx = -1;

static void
tls_exdata_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	X509_free(ptr);
}

static int
tls_verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl;
	X509 *leaf;

	ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	leaf = X509_STORE_CTX_get0_cert(sctx);
	if (ssl != NULL && leaf != NULL && tls_leaf_idx != -1 &&
	    SSL_get_ex_data(ssl, tls_leaf_idx) == NULL &&
	    X509_up_ref(leaf) == 1)
		SSL_set_ex_data(ssl, tls_leaf_idx, leaf);
	/* OpenSSL accepts a CA certificate as a peer's leaf; a host must
	 * present a host certificate, or any sub-CA key could pose as one. */
	if (preverify_ok && X509_STORE_CTX_get_error_depth(sctx) == 0 &&
	    X509_STORE_CTX_get_current_cert(sctx) == leaf &&
	    (X509_get_extension_flags(leaf) & EXFLAG_CA) != 0) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_CA);
		return 0;
	}
	return preverify_ok;
}

static void
tls_where(const struct relocd_conf *conf, int line, char *buf, size_t len)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", conf->path, line);
	else
		snprintf(buf, len, "%s", conf->path);
}

static const char *
tls_errstr(void)
{
	static char buf[256];
	unsigned long e, last = 0;

	/* The last error in the queue is the most specific one. */
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown error";
	ERR_error_string_n(last, buf, sizeof(buf));
	return buf;
}

/*
 * OpenSSL reports a file it cannot open or read as "system lib", with
 * neither the file nor the reason; a directory reads as a PEM file with
 * nothing in it.  Open each file ourselves first, so the operator reads
 * the system's reason next to the key and the path.
 */
static int
tls_check_readable(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO in the path must not hang relocd -n. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "%s", strerror(errno));
	else if (S_ISDIR(st.st_mode))
		snprintf(err, errlen, "%s", strerror(EISDIR));
	else
		rc = 0;
	close(fd);
	return rc;
}

static int
tls_check_key_file(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "private key is accessible by group or others (mode %04o); "
		    "chmod 600 it", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
tls_self_check(X509 *cert, char *err, size_t errlen)
{
	uint32_t xku, ku;

	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
		snprintf(err, errlen, "certificate has expired");
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
		snprintf(err, errlen, "certificate is not yet valid");
		return -1;
	}
	if (X509_check_ca(cert) != 0 &&
	    (X509_get_extension_flags(cert) & EXFLAG_CA) != 0) {
		snprintf(err, errlen,
		    "certificate is a CA certificate, not a host certificate");
		return -1;
	}
	xku = X509_get_extended_key_usage(cert);
	if ((xku & (XKU_SSL_SERVER | XKU_SSL_CLIENT)) !=
	    (XKU_SSL_SERVER | XKU_SSL_CLIENT)) {
		snprintf(err, errlen,
		    "certificate lacks extended key usage %s (a host "
		    "certificate must allow serverAuth and clientAuth)",
		    (xku & XKU_SSL_SERVER) ? "clientAuth" : "serverAuth");
		return -1;
	}
	ku = X509_get_key_usage(cert);
	if (ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE) == 0) {
		snprintf(err, errlen,
		    "certificate key usage lacks digitalSignature");
		return -1;
	}
	return 0;
}

static int
tls_load_crl(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl = NULL;
	FILE *fp = NULL;
	int n = 0, rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	while ((crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL)) != NULL) {
		if (X509_CRL_get0_nextUpdate(crl) != NULL &&
		    X509_cmp_current_time(X509_CRL_get0_nextUpdate(crl)) <= 0) {
			snprintf(err, errlen, "CRL has expired (nextUpdate is "
			    "in the past): refusing to run without revocation "
			    "data");
			X509_CRL_free(crl);
			goto out;
		}
		if (!X509_STORE_add_crl(store, crl)) {
			snprintf(err, errlen, "%s", tls_errstr());
			X509_CRL_free(crl);
			goto out;
		}
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "no CRL found in the file");
		goto out;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

SSL_CTX *
tls_ctx_new(const struct relocd_conf *conf, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	X509 *cert;
	char where[512], why[256];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL) {
		snprintf(err, errlen, "%s: TLS: %s", conf->path, tls_errstr());
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, conf->tls_min_version == 12 ?
	    TLS1_2_VERSION : TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES);
	SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS);
	/* No session tickets: closing with unread tickets makes the kernel
	 * send a RST that truncates the peer's stream. */
	SSL_CTX_set_num_tickets(ctx, 0);
	/* With read-ahead (a bulk receive, ioc_read_ahead): several
	 * records per read(2).  Allocated only when read-ahead is on. */
	SSL_CTX_set_default_read_buffer_len(ctx, 128 * 1024);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Room for several records per read(2) once a bulk receive turns
	 * read-ahead on (iochan.c): one read per 16 KiB record, two with
	 * read-ahead off, and each recvmsg sends a window update, which
	 * on loopback was a good part of the receiver's CPU. */
	SSL_CTX_set_default_read_buffer_len(ctx, 128 * 1024);
	if (tls_leaf_idx == -1)
		tls_leaf_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    tls_exdata_free);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_verify_cb);
	SSL_CTX_set_verify_depth(ctx, 4);

	tls_where(conf, conf->line_tls_ca_file, where, sizeof(where));
	if (tls_check_readable(conf->tls_ca_file, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: tls_ca_file \"%s\": %s", where,
		    conf->tls_ca_file, why);
		goto fail;
	}
	if (!SSL_CTX_load_verify_locations(ctx, conf->tls_ca_file, NULL)) {
		snprintf(err, errlen, "%s: tls_ca_file \"%s\": %s", where,
		    conf->tls_ca_file, tls_errstr());
		goto fail;
	}
	if (conf->tls_crl_file != NULL && *conf->tls_crl_file != '\0') {
		tls_where(conf, conf->line_tls_crl_file, where, sizeof(where));
		if (tls_check_readable(conf->tls_crl_file, why,
		    sizeof(why)) == -1 || tls_load_crl(ctx, conf->tls_crl_file,
		    why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: tls_crl_file \"%s\": %s",
			    where, conf->tls_crl_file, why);
			goto fail;
		}
	}
	tls_where(conf, conf->line_tls_cert_file, where, sizeof(where));
	if (tls_check_readable(conf->tls_cert_file, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: tls_cert_file \"%s\": %s", where,
		    conf->tls_cert_file, why);
		goto fail;
	}
	if (!SSL_CTX_use_certificate_chain_file(ctx, conf->tls_cert_file)) {
		snprintf(err, errlen, "%s: tls_cert_file \"%s\": %s", where,
		    conf->tls_cert_file, tls_errstr());
		goto fail;
	}
	cert = SSL_CTX_get0_certificate(ctx);
	if (tls_self_check(cert, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: tls_cert_file \"%s\": %s", where,
		    conf->tls_cert_file, why);
		goto fail;
	}
	tls_where(conf, conf->line_tls_key_file, where, sizeof(where));
	if (tls_check_key_file(conf->tls_key_file, why, sizeof(why)) == -1 ||
	    tls_check_readable(conf->tls_key_file, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: tls_key_file \"%s\": %s", where,
		    conf->tls_key_file, why);
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey_file(ctx, conf->tls_key_file,
	    SSL_FILETYPE_PEM)) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			snprintf(err, errlen, "%s: tls_key_file \"%s\": "
			    "private key does not match the certificate in "
			    "\"%s\"", where, conf->tls_key_file,
			    conf->tls_cert_file);
		else
			snprintf(err, errlen, "%s: tls_key_file \"%s\": %s",
			    where, conf->tls_key_file, tls_errstr());
		goto fail;
	}
	if (!SSL_CTX_check_private_key(ctx)) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: tls_key_file \"%s\": private key "
		    "does not match the certificate in \"%s\"", where,
		    conf->tls_key_file, conf->tls_cert_file);
		goto fail;
	}
	/* Our own certificate must verify against our CA, or no peer will
	 * accept us: say so now rather than at the first migration. */
	{
		X509_STORE_CTX *sctx = X509_STORE_CTX_new();
		int ok;

		X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), cert,
		    NULL);
		ok = X509_verify_cert(sctx);
		if (ok != 1) {
			tls_where(conf, conf->line_tls_cert_file, where,
			    sizeof(where));
			snprintf(err, errlen, "%s: tls_cert_file \"%s\": does "
			    "not verify against tls_ca_file \"%s\": %s", where,
			    conf->tls_cert_file, conf->tls_ca_file,
			    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(sctx)));
			X509_STORE_CTX_free(sctx);
			goto fail;
		}
		X509_STORE_CTX_free(sctx);
	}
	ERR_clear_error();
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_client_expect_host(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	unsigned char addr[16];

	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -1;
	SSL_set_tlsext_host_name(ssl, host);
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

int
tls_connect(SSL *ssl, int fd, int timeout_ms, char *err, size_t errlen)
{
	struct pollfd pfd;
	uint64_t start;
	int r, e, left;

	start = clock_mono_us();
	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	for (;;) {
		ERR_clear_error();
		r = SSL_do_handshake(ssl);
		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_failure_reason(ssl, err, errlen);
			return -1;
		}
		left = timeout_ms - (int)((clock_mono_us() - start) / 1000);
		if (left <= 0) {
			snprintf(err, errlen, "TLS handshake timed out after "
			    "%d s", timeout_ms / 1000);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

void
tls_peer_get(SSL *ssl, struct tls_peer *p)
{
	GENERAL_NAMES *sans = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	X509 *cert;
	char buf[256];
	int j, n;

	memset(p, 0, sizeof(*p));
	snprintf(p->subject, sizeof(p->subject), "(no certificate)");
	snprintf(p->fingerprint, sizeof(p->fingerprint), "-");
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		if (tls_leaf_idx == -1 ||
		    (cert = SSL_get_ex_data(ssl, tls_leaf_idx)) == NULL ||
		    X509_up_ref(cert) != 1)
			return;
	}
	X509_NAME_oneline(X509_get_subject_name(cert), p->subject,
	    sizeof(p->subject));
	if (X509_digest(cert, EVP_sha256(), md, &mdlen)) {
		for (i = 0; i < mdlen && i * 3 + 3 <= sizeof(p->fingerprint);
		    i++)
			snprintf(p->fingerprint + i * 3, 4, "%02X%s", md[i],
			    i + 1 < mdlen ? ":" : "");
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	n = sans ? sk_GENERAL_NAME_num(sans) : 0;
	for (j = 0; j < n && p->nnames < TLS_MAX_NAMES - 1; j++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, j);
		const unsigned char *d;
		int len;

		if (gn->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(gn->d.dNSName);
			len = ASN1_STRING_length(gn->d.dNSName);
			/* An embedded NUL is a forgery attempt: skip it. */
			if (len <= 0 || memchr(d, '\0', len) != NULL)
				continue;
			p->names[p->nnames++] = strndup((const char *)d, len);
		} else if (gn->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(gn->d.iPAddress);
			len = ASN1_STRING_length(gn->d.iPAddress);
			if (len == 4)
				inet_ntop(AF_INET, d, buf, sizeof(buf));
			else if (len == 16)
				inet_ntop(AF_INET6, d, buf, sizeof(buf));
			else
				continue;
			p->names[p->nnames++] = strdup(buf);
		}
	}
	GENERAL_NAMES_free(sans);
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_commonName, buf, sizeof(buf));
	if (n > 0 && (size_t)n == strlen(buf) && p->nnames < TLS_MAX_NAMES) {
		/* The CN usually repeats a SAN: list each name once. */
		for (j = 0; j < (int)p->nnames; j++)
			if (strcasecmp(p->names[j], buf) == 0)
				break;
		if (j == (int)p->nnames)
			p->names[p->nnames++] = strdup(buf);
	}
	X509_free(cert);
}

void
tls_peer_dispose(struct tls_peer *p)
{
	size_t i;

	for (i = 0; i < p->nnames; i++)
		free(p->names[i]);
	p->nnames = 0;
}

void
tls_failure_reason(SSL *ssl, char *buf, size_t len)
{
	long vr = SSL_get_verify_result(ssl);
	unsigned long e, last = 0;
	const char *r;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (vr != X509_V_OK) {
		switch (vr) {
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
			snprintf(buf, len, "certificate not issued by the "
			    "cluster CA (%s)",
			    X509_verify_cert_error_string(vr));
			return;
		case X509_V_ERR_INVALID_CA:
			snprintf(buf, len, "certificate rejected: a CA "
			    "certificate presented as a host certificate");
			return;
		case X509_V_ERR_CERT_HAS_EXPIRED:
		case X509_V_ERR_CERT_NOT_YET_VALID:
			snprintf(buf, len, "certificate rejected: %s",
			    X509_verify_cert_error_string(vr));
			return;
		case X509_V_ERR_CERT_REVOKED:
			snprintf(buf, len, "certificate rejected: certificate "
			    "revoked (listed in tls_crl_file)");
			return;
		case X509_V_ERR_INVALID_PURPOSE:
			snprintf(buf, len, "certificate rejected: wrong key "
			    "usage (not valid for TLS client and server "
			    "authentication: %s)",
			    X509_verify_cert_error_string(vr));
			return;
		case X509_V_ERR_HOSTNAME_MISMATCH:
		case X509_V_ERR_IP_ADDRESS_MISMATCH:
			snprintf(buf, len, "certificate name mismatch: the "
			    "peer's certificate does not name the host we "
			    "asked for");
			return;
		default:
			snprintf(buf, len, "certificate rejected: %s",
			    X509_verify_cert_error_string(vr));
			return;
		}
	}
	/* OpenSSL 3 reports a peer's close as an error of its own. */
	if ((last == 0 || ERR_GET_REASON(last) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING) && SSL_is_server(ssl)) {
		snprintf(buf, len, "the peer closed the connection during "
		    "the TLS handshake");
		return;
	}
	if (last == 0 || ERR_GET_REASON(last) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		snprintf(buf, len, "connection closed during the TLS "
		    "handshake (refused by the peer: address not allowed, "
		    "or not a relocd)");
		return;
	}
	r = ERR_reason_error_string(last);
	if (r == NULL)
		r = "unknown";
	if (ERR_GET_REASON(last) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		snprintf(buf, len, "no client certificate");
	else if (ERR_GET_REASON(last) == SSL_R_UNSUPPORTED_PROTOCOL ||
	    ERR_GET_REASON(last) == SSL_R_WRONG_VERSION_NUMBER ||
	    ERR_GET_REASON(last) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
		snprintf(buf, len, "TLS version not allowed (%s)", r);
	else if (ERR_GET_REASON(last) == SSL_R_TLSV1_ALERT_UNKNOWN_CA)
		snprintf(buf, len, "the peer does not trust our certificate "
		    "(unknown CA)");
	else if (ERR_GET_REASON(last) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
		snprintf(buf, len, "the peer requires a client certificate");
	else if (ERR_GET_REASON(last) == SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED)
		snprintf(buf, len, "the peer says our certificate is revoked");
	else if (ERR_GET_REASON(last) == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)
		snprintf(buf, len, "the peer says our certificate has "
		    "expired");
	else if (ERR_GET_REASON(last) == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE)
		snprintf(buf, len, "the peer refused our certificate (alert "
		    "bad certificate: not the name it expected, or not yet "
		    "valid)");
	else if (ERR_GET_REASON(last) ==
	    SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE)
		snprintf(buf, len, "the peer refused our certificate (alert "
		    "unsupported certificate: wrong key usage)");
	else
		snprintf(buf, len, "TLS handshake failed: %s", r);
}
