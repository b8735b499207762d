/* Frame decoding: truncated, oversized, unknown-version, bad bodies. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	mkhdr(b, PROTO_MAGIC, PROTO_VERSION, PT_LIST, 0x0100, 0);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &h, PROTO_MAX_FRAME,
	    err, sizeof(err)), PROTO_E_FLAGS);
	ck_assert_ptr_nonnull(strstr(err, "0x0100"));
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
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
