/*
 * common/tls.c: the self-check of our own certificate and key, and the
 * reason given for every refused peer certificate.  The handshakes run
 * in process, server and client over a socketpair, with certificates
 * from tests/pki/mkcerts.sh made at test time in a temporary directory.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "iochan.h"
#include "tls.h"

static char pki[256];

static void	conf_tls(struct relocd_conf *, const char *, const char *,
		    const char *);
static SSL_CTX	*client_ctx(const char *);
static void	tls_pair(SSL_CTX *, SSL_CTX *, SSL **, SSL **, int[2]);
static int	handshake(SSL_CTX *, SSL_CTX *, const char *, char *, size_t,
		    char *, size_t, struct tls_peer *);

static char *
pki_path(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", pki, name);
	return buf[i];
}

/* A conf for tls_ctx_new: CERT.pem/CERT.key (or KEY), the cluster CA. */
static void
conf_tls(struct relocd_conf *c, const char *cert, const char *key,
    const char *crl)
{
	char b[512];

	conf_init(c);
	free(c->tls_ca_file);
	free(c->tls_cert_file);
	free(c->tls_key_file);
	free(c->tls_crl_file);
	c->path = strdup("test.conf");
	c->tls_ca_file = strdup(pki_path("ca.pem"));
	snprintf(b, sizeof(b), "%s.pem", cert);
	c->tls_cert_file = strdup(pki_path(b));
	if (key != NULL)
		c->tls_key_file = strdup(key);
	else {
		snprintf(b, sizeof(b), "%s.key", cert);
		c->tls_key_file = strdup(pki_path(b));
	}
	c->tls_crl_file = strdup(crl != NULL ? pki_path(crl) : "");
	c->tls_min_version = 13;
}

/* A plain client context presenting CERT (NULL: none), trusting the CA:
 * it must be able to present certificates tls_ctx_new would refuse. */
static SSL_CTX *
client_ctx(const char *cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char b[512];

	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx,
	    pki_path("ca.pem"), NULL), 1);
	if (cert != NULL) {
		snprintf(b, sizeof(b), "%s.pem", cert);
		ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx,
		    pki_path(b), SSL_FILETYPE_PEM), 1);
		snprintf(b, sizeof(b), "%s.key", cert);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx,
		    pki_path(b), SSL_FILETYPE_PEM), 1);
	}
	return ctx;
}

/* A server and a client SSL on the two ends of a non-blocking
 * socketpair (sv[0] the server's), not yet shaken hands. */
static void
tls_pair(SSL_CTX *sctx, SSL_CTX *cctx, SSL **s, SSL **c, int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	*s = SSL_new(sctx);
	*c = SSL_new(cctx);
	SSL_set_fd(*s, sv[0]);
	SSL_set_fd(*c, sv[1]);
	SSL_set_accept_state(*s);
	SSL_set_connect_state(*c);
}

/*
 * Drive both ends of a handshake (and one record each way, so that a
 * TLS 1.3 server's verdict on the client certificate reaches the
 * client) until both finish or one fails; bounded.  Returns 1 if the
 * server accepted the client; the reasons each side would give, and the
 * server's view of the client, come back.
 */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *expect_host,
    char *sreason, size_t slen, char *creason, size_t clen,
    struct tls_peer *peer)
{
	SSL *s, *c;
	int sv[2], sdone = 0, cdone = 0, sfail = 0, cfail = 0, i, r;
	char buf[16];

	tls_pair(sctx, cctx, &s, &c, sv);
	if (expect_host != NULL)
		ck_assert_int_eq(tls_client_expect_host(c, expect_host), 0);
	*sreason = *creason = '\0';
	for (i = 0; i < 200 && !(sdone && cdone) && !sfail && !cfail; i++) {
		if (!cdone) {
			ERR_clear_error();
			r = SSL_do_handshake(c);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE) {
				tls_failure_reason(c, creason, clen);
				cfail = 1;
			}
		}
		if (!sdone) {
			ERR_clear_error();
			r = SSL_do_handshake(s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(s, r) != SSL_ERROR_WANT_WRITE) {
				tls_failure_reason(s, sreason, slen);
				sfail = 1;
			}
		}
	}
	if (peer != NULL)
		tls_peer_get(s, peer);
	if (sdone && cdone) {
		/* Server says hello; the client reads it. */
		ck_assert_int_eq(SSL_write(s, "ok", 2), 2);
		for (i = 0; i < 50; i++) {
			ERR_clear_error();
			if (SSL_read(c, buf, sizeof(buf)) > 0)
				break;
		}
	} else if (sfail && !cfail) {
		/* Let the client see the server's alert. */
		for (i = 0; i < 50; i++) {
			ERR_clear_error();
			r = SSL_read(c, buf, sizeof(buf));
			if (r <= 0 && SSL_get_error(c, r) !=
			    SSL_ERROR_WANT_READ) {
				tls_failure_reason(c, creason, clen);
				break;
			}
		}
	}
	SSL_free(s);
	SSL_free(c);
	close(sv[0]);
	close(sv[1]);
	return sdone && cdone && !sfail && !cfail;
}

START_TEST(test_ctx_good)
{
	struct relocd_conf c;
	char err[1024];
	SSL_CTX *ctx;

	conf_tls(&c, "hosta", NULL, "crl.pem");
	ctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	SSL_CTX_free(ctx);
	conf_dispose(&c);
}
END_TEST

static void
self_check_refuses(const char *cert, const char *key, const char *want)
{
	struct relocd_conf c;
	char err[1024];
	SSL_CTX *ctx;

	conf_tls(&c, cert, key, NULL);
	ctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_ptr_null(ctx);
	ck_assert_msg(strncmp(err, "test.conf", 9) == 0, "%s", err);
	ck_assert_msg(strstr(err, want) != NULL, "want '%s' in '%s'", want,
	    err);
	conf_dispose(&c);
}

START_TEST(test_ctx_self_check)
{
	char loose[512], cmd[1200];

	self_check_refuses("expired", NULL, "certificate has expired");
	self_check_refuses("notyet", NULL, "certificate is not yet valid");
	self_check_refuses("caleaf", NULL,
	    "is a CA certificate, not a host certificate");
	self_check_refuses("nousage", NULL, "lacks extended key usage");
	self_check_refuses("hosta", pki_path("hostb.key"),
	    "private key does not match the certificate");
	self_check_refuses("foreign", NULL,
	    "does not verify against tls_ca_file");
	snprintf(loose, sizeof(loose), "%s/loose.key", pki);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 644 '%s'",
	    pki_path("hosta.key"), loose, loose);
	ck_assert_int_eq(system(cmd), 0);
	self_check_refuses("hosta", loose,
	    "accessible by group or others (mode 0644)");
}
END_TEST

START_TEST(test_ctx_crl_missing)
{
	struct relocd_conf c;
	char err[1024];

	conf_tls(&c, "hosta", NULL, "nosuch-crl.pem");
	ck_assert_ptr_null(tls_ctx_new(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "tls_crl_file") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "No such file or directory") != NULL, "%s",
	    err);
	conf_dispose(&c);
}
END_TEST

/* Each file the context loads, unreadable: the key, the path and the
 * system's reason, never OpenSSL's "system lib". */
static void
file_refused(const char *key, const char *path, const char *why)
{
	struct relocd_conf c;
	char err[1024], want[1024];
	char **slot;

	conf_tls(&c, "hosta", NULL, "crl.pem");
	if (strcmp(key, "tls_ca_file") == 0)
		slot = &c.tls_ca_file;
	else if (strcmp(key, "tls_cert_file") == 0)
		slot = &c.tls_cert_file;
	else if (strcmp(key, "tls_key_file") == 0)
		slot = &c.tls_key_file;
	else
		slot = &c.tls_crl_file;
	free(*slot);
	*slot = strdup(path);
	ck_assert_ptr_null(tls_ctx_new(&c, err, sizeof(err)));
	snprintf(want, sizeof(want), "test.conf: %s \"%s\": %s", key, path,
	    why);
	ck_assert_msg(strcmp(err, want) == 0, "want '%s', got '%s'", want,
	    err);
	conf_dispose(&c);
}

START_TEST(test_ctx_file_errors)
{
	const char *keys[] = { "tls_ca_file", "tls_cert_file",
	    "tls_key_file", "tls_crl_file" };
	char missing[512], under[512];
	size_t i;

	snprintf(missing, sizeof(missing), "%s/nosuch.pem", pki);
	/* A path through a regular file fails for root too. */
	snprintf(under, sizeof(under), "%s/x.pem", pki_path("ca.pem"));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		file_refused(keys[i], missing, "No such file or directory");
		file_refused(keys[i], under, "Not a directory");
	}
	file_refused("tls_cert_file", pki, "Is a directory");
	file_refused("tls_ca_file", pki, "Is a directory");
	file_refused("tls_crl_file", pki, "Is a directory");
}
END_TEST

/* Each bad client certificate: refused, with its reason, and the
 * subject and fingerprint are known for the log line. */
static const struct {
	const char	*cert;
	const char	*server_reason;
	const char	*client_reason;
} refusals[] = {
	{ NULL, "no client certificate",
	    "the peer requires a client certificate" },
	{ "foreign", "certificate not issued by the cluster CA",
	    "the peer does not trust our certificate" },
	{ "expired", "certificate rejected: certificate has expired",
	    "the peer says our certificate has expired" },
	{ "notyet", "certificate rejected: certificate is not yet valid",
	    "the peer refused our certificate" },
	{ "revoked", "certificate rejected: certificate revoked",
	    "the peer says our certificate is revoked" },
	{ "caleaf", "a CA certificate presented as a host certificate",
	    "the peer does not trust our certificate" },
	{ "nousage", "certificate rejected: wrong key usage",
	    "wrong key usage" },
};

START_TEST(test_peer_refused)
{
	struct relocd_conf c;
	struct tls_peer id;
	SSL_CTX *sctx, *cctx;
	char err[1024], sr[256], cr[256];
	const char *cert = refusals[_i].cert;

	conf_tls(&c, "hostb", NULL, "crl.pem");
	sctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	cctx = client_ctx(cert);
	ck_assert_int_eq(handshake(sctx, cctx, NULL, sr, sizeof(sr), cr,
	    sizeof(cr), &id), 0);
	ck_assert_msg(strstr(sr, refusals[_i].server_reason) != NULL,
	    "%s: server says '%s'", cert ? cert : "none", sr);
	ck_assert_msg(strstr(cr, refusals[_i].client_reason) != NULL,
	    "%s: client says '%s'", cert ? cert : "none", cr);
	if (cert != NULL) {
		ck_assert_msg(strstr(id.subject, "CN=hosta") != NULL, "%s",
		    id.subject);
		ck_assert_uint_eq(strlen(id.fingerprint), 32 * 3 - 1);
	} else
		ck_assert_str_eq(id.subject, "(no certificate)");
	tls_peer_dispose(&id);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	conf_dispose(&c);
}
END_TEST

START_TEST(test_peer_accepted_and_names)
{
	struct relocd_conf c;
	struct tls_peer id;
	SSL_CTX *sctx, *cctx;
	char err[1024], sr[256], cr[256];
	size_t i;
	int have_ip = 0;

	conf_tls(&c, "hostb", NULL, "crl.pem");
	sctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	cctx = client_ctx("hosta");
	ck_assert_msg(handshake(sctx, cctx, NULL, sr, sizeof(sr), cr,
	    sizeof(cr), &id) == 1, "server '%s' client '%s'", sr, cr);
	for (i = 0; i < id.nnames; i++)
		if (strcmp(id.names[i], "127.0.0.2") == 0)
			have_ip = 1;
	ck_assert(have_ip);
	tls_peer_dispose(&id);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	conf_dispose(&c);
}
END_TEST

/* The sender checks that the destination's certificate names HOST. */
START_TEST(test_destination_name)
{
	struct relocd_conf cs, cc;
	SSL_CTX *sctx, *cctx;
	char err[1024], sr[256], cr[256];

	conf_tls(&cs, "hostb", NULL, NULL);
	conf_tls(&cc, "hosta", NULL, NULL);
	sctx = tls_ctx_new(&cs, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	cctx = tls_ctx_new(&cc, err, sizeof(err));
	ck_assert_msg(cctx != NULL, "%s", err);
	ck_assert_int_eq(handshake(sctx, cctx, "127.0.0.3", sr, sizeof(sr),
	    cr, sizeof(cr), NULL), 1);
	ck_assert_int_eq(handshake(sctx, cctx, "hostb.test", sr, sizeof(sr),
	    cr, sizeof(cr), NULL), 1);
	ck_assert_int_eq(handshake(sctx, cctx, "127.0.0.4", sr, sizeof(sr),
	    cr, sizeof(cr), NULL), 0);
	ck_assert_msg(strstr(cr, "certificate name mismatch") != NULL, "%s",
	    cr);
	ck_assert_int_eq(handshake(sctx, cctx, "hostc", sr, sizeof(sr),
	    cr, sizeof(cr), NULL), 0);
	ck_assert_msg(strstr(cr, "certificate name mismatch") != NULL, "%s",
	    cr);
	/* No partial wildcards, no suffix games. */
	ck_assert_int_eq(handshake(sctx, cctx, "hostb.test.evil", sr,
	    sizeof(sr), cr, sizeof(cr), NULL), 0);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	conf_dispose(&cs);
	conf_dispose(&cc);
}
END_TEST

/* TLS 1.2 is refused under the default floor and accepted under "1.2". */
START_TEST(test_min_version)
{
	struct relocd_conf c;
	SSL_CTX *sctx, *cctx;
	char err[1024], sr[256], cr[256];

	conf_tls(&c, "hostb", NULL, NULL);
	sctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	cctx = client_ctx("hosta");
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	ck_assert_int_eq(handshake(sctx, cctx, NULL, sr, sizeof(sr), cr,
	    sizeof(cr), NULL), 0);
	ck_assert_msg(strstr(sr, "TLS version not allowed") != NULL, "%s",
	    sr);
	SSL_CTX_free(sctx);
	c.tls_min_version = 12;
	sctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	ck_assert_int_eq(handshake(sctx, cctx, NULL, sr, sizeof(sr), cr,
	    sizeof(cr), NULL), 1);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	conf_dispose(&c);
}
END_TEST

/* Socket writes under a TLS iochan, counted by a BIO callback. */
static size_t gather_writes, gather_bytes;

static long
gather_count(BIO *b, int oper, const char *argp, size_t len, int argi,
    long argl, int ret, size_t *processed)
{
	if (oper == (BIO_CB_WRITE | BIO_CB_RETURN) && ret > 0 &&
	    processed != NULL) {
		gather_writes++;
		gather_bytes += *processed;
	}
	return ret;
}

/*
 * iochan over TLS: a small ioc_write_full reaches the peer at once
 * (nothing waits in the gathering buffer for more data: the migration
 * handshake's messages are on the downtime path), and a bulk write goes
 * out in socket writes of several records each, not one per record.
 */
START_TEST(test_ioc_tls_gather_and_flush)
{
	struct relocd_conf c;
	struct iochan a, b;
	SSL_CTX *sctx, *cctx;
	SSL *s, *cl;
	uint8_t *big;
	char err[1024], msg[8];
	size_t i, len = 4 << 20;
	int sv[2], sdone = 0, cdone = 0, r, status;
	pid_t pid;

	conf_tls(&c, "hostb", NULL, NULL);
	sctx = tls_ctx_new(&c, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	cctx = client_ctx("hosta");
	tls_pair(sctx, cctx, &s, &cl, sv);
	for (i = 0; i < 200 && !(sdone && cdone); i++) {
		if (!cdone && (r = SSL_do_handshake(cl)) == 1)
			cdone = 1;
		if (!sdone && (r = SSL_do_handshake(s)) == 1)
			sdone = 1;
	}
	ck_assert(sdone && cdone);
	ioc_init_tls(&a, sv[1], cl, 2000);
	ioc_init_tls(&b, sv[0], s, 2000);
	ck_assert_int_eq(BIO_method_type(SSL_get_wbio(cl)), BIO_TYPE_BUFFER);

	ck_assert_msg(ioc_write_full(&a, "hello", 5) == 0, "%s", a.err);
	ck_assert_msg(ioc_read_full(&b, msg, 5) == 0, "the peer waited: %s",
	    b.err);
	ck_assert(memcmp(msg, "hello", 5) == 0);

	ck_assert_ptr_nonnull(big = malloc(len));
	for (i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7 + i / 4096);
	if ((pid = fork()) == 0) {
		uint8_t *got = malloc(len);

		if (got == NULL || ioc_read_full(&b, got, len) != 0 ||
		    memcmp(got, big, len) != 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	BIO_set_callback_ex(BIO_next(SSL_get_wbio(cl)), gather_count);
	ck_assert_msg(ioc_write_full(&a, big, len) == 0, "%s", a.err);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the reader did not get the same 4 MiB");
	/* One record is 16 KiB + 22 bytes: more per write means gathered. */
	ck_assert_msg(gather_writes > 0 && gather_bytes / gather_writes >
	    2 * 16 * 1024, "%zu socket writes for %zu bytes", gather_writes,
	    gather_bytes);
	free(big);
	SSL_free(s);
	SSL_free(cl);
	close(sv[0]);
	close(sv[1]);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	conf_dispose(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");
	SRunner *sr;
	const char *src = getenv("RELOCD_SRCDIR");
	char cmd[1024];
	int failed;

	snprintf(pki, sizeof(pki), "/tmp/check_tls.XXXXXX");
	if (mkdtemp(pki) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/pki/mkcerts.sh' '%s'",
	    src != NULL ? src : ".", pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "check_tls: %s failed\n", cmd);
		return 1;
	}
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ctx_good);
	tcase_add_test(tc, test_ctx_self_check);
	tcase_add_test(tc, test_ctx_crl_missing);
	tcase_add_test(tc, test_ctx_file_errors);
	tcase_add_loop_test(tc, test_peer_refused, 0,
	    sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_test(tc, test_peer_accepted_and_names);
	tcase_add_test(tc, test_destination_name);
	tcase_add_test(tc, test_min_version);
	tcase_add_test(tc, test_ioc_tls_gather_and_flush);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	if (system(cmd) != 0)
		fprintf(stderr, "check_tls: could not remove %s\n", pki);
	return failed == 0 ? 0 : 1;
}
