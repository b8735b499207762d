/*
 * Frame decoding: truncated, oversized, unknown-version, bad bodies.
 * Console records (conrec.h): round trip, short, oversized, unknown kind.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conrec.h"
#include "iochan.h"
#include "proto.h"

static void
mkhdr(uint8_t *b, uint32_t magic, uint8_t ver, uint8_t type, uint16_t flags,
    uint32_t len)
{
	uint32_t v32;
	uint16_t v16;

	v32 = htonl(magic);
	memcpy(b, &v32, 4);
	b[4] = ver;
	b[5] = type;
	v16 = htons(flags);
	memcpy(b + 6, &v16, 2);
	v32 = htonl(len);
	memcpy(b + 8, &v32, 4);
}

START_TEST(test_hdr_roundtrip)
{
	uint8_t b[PROTO_HDR_LEN];
	struct proto_hdr h;
	char err[256];

	proto_hdr_encode(b, PT_MIGRATE_RECEIVE, 0x0001, 1234);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_OK);
	ck_assert_uint_eq(h.type, PT_MIGRATE_RECEIVE);
	ck_assert_uint_eq(h.flags, 0x0001);
	ck_assert_uint_eq(h.len, 1234);
	ck_assert_uint_eq(h.version, PROTO_VERSION);
}
END_TEST

START_TEST(test_hdr_truncated)
{
	uint8_t b[PROTO_HDR_LEN];
	struct proto_hdr h;
	char err[256];
	size_t n;

	proto_hdr_encode(b, PT_LIST, 0, 0);
	for (n = 0; n < PROTO_HDR_LEN; n++)
		ck_assert_int_eq(proto_hdr_decode(b, n, &h, PROTO_MAX_FRAME,
		    err, sizeof(err)), PROTO_E_SHORT);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
}
END_TEST

START_TEST(test_hdr_oversized)
{
	uint8_t b[PROTO_HDR_LEN];
	struct proto_hdr h;
	char err[256];

	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_LIST, 0, 0xffffffffU);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_TOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "exceeds the limit"));
	/* Exactly at the limit is fine; one more is not. */
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_LIST, 0, PROTO_MAX_FRAME);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_OK);
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_LIST, 0, PROTO_MAX_FRAME + 1);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_TOOBIG);
}
END_TEST

START_TEST(test_hdr_version_magic_type_flags)
{
	uint8_t b[PROTO_HDR_LEN];
	struct proto_hdr h;
	char err[256];

	mkhdr(b, PROTO_MAGIC, 2, PT_LIST, 0, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_VERSION);
	ck_assert_ptr_nonnull(strstr(err, "version 2 not supported"));

	mkhdr(b, 0x16030100, PROTO_VERSION, PT_LIST, 0, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_MAGIC);

	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, 0x7f, 0, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_TYPE);
	ck_assert_ptr_nonnull(strstr(err, "0x7f"));

	/* An unknown optional flag is ignored, a mandatory one refused by
	 * name. */
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_LIST, 0x0080, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_OK);
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_LIST, 0x0800, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_FLAGS);
	ck_assert_ptr_nonnull(strstr(err, "0x0800"));
	/* Copy storage is a mandatory flag this side knows. */
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_MIGRATE_RECEIVE,
	    PROTO_F_COPY_STORAGE, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_OK);
	ck_assert_uint_eq(h.flags, PROTO_F_COPY_STORAGE);
	/* And so is its live order. */
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_MIGRATE_RECEIVE,
	    PROTO_F_COPY_STORAGE | PROTO_F_COPY_LIVE, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_OK);
	ck_assert_uint_eq(h.flags, PROTO_F_COPY_STORAGE | PROTO_F_COPY_LIVE);
	/* And the receiver's prepare step. */
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_MIGRATE_RECEIVE,
	    PROTO_F_COPY_STORAGE | PROTO_F_COPY_PREPARE, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_OK);
	ck_assert_uint_eq(h.flags, PROTO_F_COPY_STORAGE | PROTO_F_COPY_PREPARE);
}
END_TEST

START_TEST(test_body)
{
	struct json_object *o = NULL;
	char err[256];
	const char *good = "{\"a\":1}";
	const char *deep = "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}";

	ck_assert_int_eq(proto_body_decode((const uint8_t *)good,
	    strlen(good), &o, err, sizeof(err)), PROTO_OK);
	ck_assert_int_eq(proto_get_int(o, "a", 0), 1);
	json_object_put(o);
	ck_assert_int_eq(proto_body_decode((const uint8_t *)"[1]", 3, &o, err,
	    sizeof(err)), PROTO_E_BODY);
	ck_assert_int_eq(proto_body_decode((const uint8_t *)"{\"a\":1}x", 8,
	    &o, err, sizeof(err)), PROTO_E_BODY);
	ck_assert_int_eq(proto_body_decode((const uint8_t *)"{\"a\":", 5, &o,
	    err, sizeof(err)), PROTO_E_BODY);
	ck_assert_int_eq(proto_body_decode((const uint8_t *)"{\"a\0\":1}", 8,
	    &o, err, sizeof(err)), PROTO_E_BODY);
	ck_assert_int_eq(proto_body_decode((const uint8_t *)deep, strlen(deep),
	    &o, err, sizeof(err)), PROTO_E_BODY);
}
END_TEST

/* Through a real socket: a truncated frame is an error, never a frame. */
START_TEST(test_recv_truncated)
{
	struct iochan a, b;
	struct proto_hdr h;
	struct json_object *o;
	uint8_t buf[PROTO_HDR_LEN + 4];
	char err[256];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ioc_init(&a, sv[0], 1000);
	ioc_init(&b, sv[1], 1000);
	proto_hdr_encode(buf, PT_LIST, 0, 10);
	memcpy(buf + PROTO_HDR_LEN, "{\"a\"", 4);
	ck_assert_int_eq(ioc_write_full(&a, buf, sizeof(buf)), 0);
	close(sv[0]);
	ck_assert_int_eq(proto_recv(&b, &h, &o, PROTO_MAX_FRAME, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(o);
	ck_assert_ptr_nonnull(strstr(err, "closed"));
	close(sv[1]);
}
END_TEST

START_TEST(test_send_recv)
{
	struct iochan a, b;
	struct proto_hdr h;
	struct json_object *o, *r;
	char err[256];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ioc_init(&a, sv[0], 1000);
	ioc_init(&b, sv[1], 1000);
	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string("web1"));
	ck_assert_int_eq(proto_send(&a, PT_CTL_MIGRATE, o), 0);
	ck_assert_int_eq(proto_recv(&b, &h, &r, PROTO_MAX_FRAME, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(h.type, PT_CTL_MIGRATE);
	ck_assert_str_eq(proto_get_str(r, "domain"), "web1");
	json_object_put(o);
	json_object_put(r);
	ck_assert_int_eq(proto_send_error(&a, "busy", "%d busy", 4), 0);
	ck_assert_int_eq(proto_recv(&b, &h, &r, PROTO_MAX_FRAME, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(h.type, PT_ERROR);
	ck_assert_str_eq(proto_get_str(r, "message"), "4 busy");
	json_object_put(r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Every kind, payloads from none to the largest, back to back. */
START_TEST(test_conrec_roundtrip)
{
	static const int kinds[] = { PT_CONSOLE_OUT, PT_CONSOLE_IN,
	    PT_CONSOLE_MOVED, PT_CONSOLE_END, PT_CONSOLE_DETACH };
	static const size_t lens[] = { 0, 1, 255, 256, CONSOLE_REC_MAX };
	static uint8_t payload[CONSOLE_REC_MAX];
	static uint8_t buf[2 * (CONSOLE_REC_HDR + CONSOLE_REC_MAX)];
	struct conrec r;
	char err[256];
	ssize_t n1, n2;
	size_t i, k, l;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			n1 = conrec_encode(buf, sizeof(buf), kinds[k],
			    lens[l] ? payload : NULL, lens[l]);
			ck_assert_int_eq(n1, CONSOLE_REC_HDR + lens[l]);
			ck_assert_uint_eq(buf[0], kinds[k]);
			ck_assert_uint_eq(buf[1], lens[l] >> 8);
			ck_assert_uint_eq(buf[2], lens[l] & 0xff);
			/* A second record right behind the first. */
			n2 = conrec_encode(buf + n1, sizeof(buf) - n1,
			    PT_CONSOLE_OUT, "zz", 2);
			ck_assert_int_eq(n2, CONSOLE_REC_HDR + 2);
			ck_assert_int_eq(conrec_decode(buf, n1 + n2, &r, err,
			    sizeof(err)), CONREC_OK);
			ck_assert_int_eq(r.kind, kinds[k]);
			ck_assert_uint_eq(r.len, lens[l]);
			ck_assert_uint_eq(r.size, n1);
			ck_assert_ptr_eq(r.payload, buf + CONSOLE_REC_HDR);
			ck_assert_int_eq(memcmp(r.payload, payload, r.len), 0);
			ck_assert_int_eq(conrec_decode(buf + r.size,
			    n1 + n2 - r.size, &r, err, sizeof(err)),
			    CONREC_OK);
			ck_assert_int_eq(r.kind, PT_CONSOLE_OUT);
			ck_assert_uint_eq(r.len, 2);
			ck_assert_int_eq(memcmp(r.payload, "zz", 2), 0);
		}
	}
}
END_TEST

/* A partial record is never a record, whatever its length. */
START_TEST(test_conrec_short)
{
	static uint8_t buf[CONSOLE_REC_HDR + 300];
	struct conrec r;
	char err[256];
	ssize_t n;
	size_t i;

	memset(buf + CONSOLE_REC_HDR, 'x', 300);
	n = conrec_encode(buf, sizeof(buf), PT_CONSOLE_IN, buf +
	    CONSOLE_REC_HDR, 300);
	ck_assert_int_eq(n, sizeof(buf));
	for (i = 0; i < (size_t)n; i++)
		ck_assert_int_eq(conrec_decode(buf, i, &r, err, sizeof(err)),
		    CONREC_MORE);
	ck_assert_int_eq(conrec_decode(buf, n, &r, err, sizeof(err)),
	    CONREC_OK);
	/* The encoder refuses a buffer too small, rather than cutting. */
	ck_assert_int_eq(conrec_encode(buf, sizeof(buf) - 1, PT_CONSOLE_IN,
	    buf + CONSOLE_REC_HDR, 300), -1);
}
END_TEST

START_TEST(test_conrec_oversized)
{
	static uint8_t big[CONSOLE_REC_MAX + 1];
	static uint8_t buf[CONSOLE_REC_HDR + CONSOLE_REC_MAX + 1];
	struct conrec r;
	char err[256];

	/* Refused from the header alone: no waiting for the payload. */
	buf[0] = PT_CONSOLE_OUT;
	buf[1] = (CONSOLE_REC_MAX + 1) >> 8;
	buf[2] = (CONSOLE_REC_MAX + 1) & 0xff;
	err[0] = '\0';
	ck_assert_int_eq(conrec_decode(buf, CONSOLE_REC_HDR, &r, err,
	    sizeof(err)), CONREC_BAD);
	ck_assert_ptr_nonnull(strstr(err, "exceeds"));
	ck_assert_int_eq(conrec_decode(buf, sizeof(buf), &r, err,
	    sizeof(err)), CONREC_BAD);
	buf[1] = buf[2] = 0xff;
	ck_assert_int_eq(conrec_decode(buf, CONSOLE_REC_HDR, &r, err,
	    sizeof(err)), CONREC_BAD);
	ck_assert_int_eq(conrec_encode(buf, sizeof(buf), PT_CONSOLE_OUT, big,
	    sizeof(big)), -1);
}
END_TEST

START_TEST(test_conrec_unknown_kind)
{
	/* A frame where a record was due ('R' of "RLCD"), a reply type,
	 * zero, and the console range's next unused number. */
	static const int bad[] = { 0x52, PT_OK, 0x00, 0x0d, 0xff };
	uint8_t buf[CONSOLE_REC_HDR + 4];
	struct conrec r;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(buf, "\x00\x00\x04" "abcd", sizeof(buf));
		buf[0] = (uint8_t)bad[i];
		err[0] = '\0';
		/* Refused from its first byte. */
		ck_assert_int_eq(conrec_decode(buf, 1, &r, err, sizeof(err)),
		    CONREC_BAD);
		ck_assert_ptr_nonnull(strstr(err, "unknown"));
		ck_assert_int_eq(conrec_decode(buf, sizeof(buf), &r, err,
		    sizeof(err)), CONREC_BAD);
		ck_assert_int_eq(conrec_encode(buf, sizeof(buf), bad[i], "abcd",
		    4), -1);
	}
}
END_TEST

/* conrec_send: one record on the wire, as the decoder reads it. */
START_TEST(test_conrec_send)
{
	struct iochan a, b;
	struct conrec r;
	uint8_t buf[CONSOLE_REC_HDR + 5];
	char err[256];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ioc_init(&a, sv[0], 1000);
	ioc_init(&b, sv[1], 1000);
	ck_assert_int_eq(conrec_send(&a, PT_CONSOLE_END, "{\"a\"}", 5), 0);
	ck_assert_int_eq(ioc_read_full(&b, buf, sizeof(buf)), 0);
	ck_assert_int_eq(conrec_decode(buf, sizeof(buf), &r, err,
	    sizeof(err)), CONREC_OK);
	ck_assert_int_eq(r.kind, PT_CONSOLE_END);
	ck_assert_int_eq(memcmp(r.payload, "{\"a\"}", 5), 0);
	ck_assert_int_eq(conrec_send(&a, 0x52, "x", 1), -1);
	ck_assert_ptr_nonnull(strstr(a.err, "cannot be encoded"));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("frames");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hdr_roundtrip);
	tcase_add_test(tc, test_hdr_truncated);
	tcase_add_test(tc, test_hdr_oversized);
	tcase_add_test(tc, test_hdr_version_magic_type_flags);
	tcase_add_test(tc, test_body);
	tcase_add_test(tc, test_recv_truncated);
	tcase_add_test(tc, test_send_recv);
	suite_add_tcase(s, tc);
	tc = tcase_create("console records");
	tcase_add_test(tc, test_conrec_roundtrip);
	tcase_add_test(tc, test_conrec_short);
	tcase_add_test(tc, test_conrec_oversized);
	tcase_add_test(tc, test_conrec_unknown_kind);
	tcase_add_test(tc, test_conrec_send);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
