/*
 * xl's save-file header: our encoder against the layout xl writes, and
 * the decoder against everything xl (or a bound of ours) refuses.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlproto.h"

static const char json[] = "{\"c_info\":{\"name\":\"web1\"}}";

static uint8_t	*encoded(size_t *);
static void	put32(uint8_t *, uint32_t);
static Suite	*xlproto_suite(void);

static uint8_t *
encoded(size_t *len)
{
	uint8_t *buf;

	ck_assert_int_eq(xl_header_encode(json, strlen(json), &buf, len), 0);
	return buf;
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

START_TEST(xlp_layout)
{
	static const uint8_t magic[32] = "Xen saved domain, xl format\n \0 \r";
	uint8_t *buf;
	uint32_t v;
	size_t len;

	buf = encoded(&len);
	ck_assert_uint_eq(len, 48 + 4 + strlen(json) + 1);
	ck_assert_int_eq(memcmp(buf, magic, 32), 0);
	/* host order: the bytes of 0x01020304 as this machine stores it */
	memcpy(&v, buf + 32, 4);
	ck_assert_uint_eq(v, 0x01020304U);
	memcpy(&v, buf + 36, 4);
	ck_assert_uint_eq(v, XL_MANDATORY_FLAG_JSON |
	    XL_MANDATORY_FLAG_STREAMv2);
	ck_assert_uint_eq(v, 3);
	memcpy(&v, buf + 40, 4);
	ck_assert_uint_eq(v, 0);
	memcpy(&v, buf + 44, 4);
	ck_assert_uint_eq(v, 4 + strlen(json) + 1);
	memcpy(&v, buf + 48, 4);
	ck_assert_uint_eq(v, strlen(json) + 1);
	ck_assert_int_eq(memcmp(buf + 52, json, strlen(json)), 0);
	ck_assert_int_eq(buf[len - 1], 0);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* what x86 xl writes, byte for byte */
	ck_assert_int_eq(memcmp(buf + 32, "\x04\x03\x02\x01\x03\0\0\0\0\0\0\0",
	    12), 0);
#endif
	free(buf);
}
END_TEST

START_TEST(xlp_round_trip)
{
	struct xl_header h;
	const char *j;
	uint8_t *buf;
	size_t len, jlen;
	char err[256];

	buf = encoded(&len);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), 0);
	ck_assert_uint_eq(h.mandatory_flags, 3);
	ck_assert_uint_eq(h.optional_flags, 0);
	ck_assert_uint_eq(h.optional_data_len, len - XL_HEADER_LEN);
	ck_assert_int_eq(xl_config_decode(buf + XL_HEADER_LEN,
	    h.optional_data_len, &j, &jlen, err, sizeof(err)), 0);
	ck_assert_uint_eq(jlen, strlen(json));
	ck_assert_int_eq(memcmp(j, json, jlen), 0);
	ck_assert_int_eq(j[jlen], '\0');
	ck_assert_ptr_eq(j, (const char *)buf + 52);	/* not copied */
	free(buf);
}
END_TEST

START_TEST(xlp_header_exact)
{
	struct xl_header h;
	uint8_t *buf;
	size_t len;
	char err[256];

	/* the header alone is enough to decode the header */
	buf = encoded(&len);
	ck_assert_int_eq(xl_header_decode(buf, XL_HEADER_LEN, &h, err,
	    sizeof(err)), 0);
	free(buf);
}
END_TEST

START_TEST(xlp_truncated)
{
	struct xl_header h;
	const char *j;
	uint8_t *buf;
	size_t len, jlen, cut;
	char err[256];

	buf = encoded(&len);
	for (cut = 0; cut < XL_HEADER_LEN; cut++)
		ck_assert_int_eq(xl_header_decode(buf, cut, &h, err,
		    sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header truncated (47 of 48 "
	    "bytes)");
	ck_assert_int_eq(xl_header_decode(NULL, 0, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header truncated (0 of 48 bytes)");
	/* the config cut short anywhere: lengths disagree */
	for (cut = 0; cut < len - XL_HEADER_LEN; cut++)
		ck_assert_int_eq(xl_config_decode(buf + XL_HEADER_LEN, cut,
		    &j, &jlen, err, sizeof(err)), -1);
	ck_assert_int_eq(xl_config_decode(buf + XL_HEADER_LEN, 3, &j, &jlen,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config truncated (3 bytes of optional "
	    "data, need at least 4)");
	free(buf);
}
END_TEST

START_TEST(xlp_wrong_magic)
{
	struct xl_header h;
	uint8_t *buf;
	size_t len;
	char err[256];

	buf = encoded(&len);
	buf[31] = '\n';	/* the last byte: the whole magic is compared */
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header has wrong magic number - "
	    "corrupt or for a different tool?");
	memcpy(buf, "LibxlFmt", 8);	/* a libxl stream, no xl header */
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "wrong magic number"));
	free(buf);
}
END_TEST

START_TEST(xlp_wrong_byte_order)
{
	struct xl_header h;
	uint8_t *buf;
	size_t len;
	char err[256];

	buf = encoded(&len);
	put32(buf + 32, __builtin_bswap32(XL_BYTEORDER_MARKER));
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header has wrong byte order "
	    "(written on a host of the other endianness)");
	put32(buf + 32, 0xdeadbeef);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header has wrong byte order "
	    "(marker 0xdeadbeef)");
	free(buf);
}
END_TEST

START_TEST(xlp_unknown_mandatory)
{
	struct xl_header h;
	uint8_t *buf;
	size_t len;
	char err[256];

	buf = encoded(&len);
	put32(buf + 36, 3 | (1U << 2) | (1U << 31));
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header has unsupported mandatory "
	    "flags 0x80000004 (known: 0x1 JSON, 0x2 STREAMv2)");
	/* optional flags are optional: unknown ones are fine */
	put32(buf + 36, 3);
	put32(buf + 40, 0xffffffff);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), 0);
	ck_assert_uint_eq(h.optional_flags, 0xffffffff);
	/* without the JSON flag the config is not something we can check */
	put32(buf + 36, XL_MANDATORY_FLAG_STREAMv2);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header has no JSON domain config "
	    "(mandatory flags 0x2): sender's xl is too old");
	free(buf);
}
END_TEST

START_TEST(xlp_oversized)
{
	struct xl_header h;
	const char *j;
	uint8_t *buf, *out;
	size_t len, jlen;
	char err[256];

	buf = encoded(&len);
	put32(buf + 44, XL_MAX_CONFIG + 4);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), 0);
	put32(buf + 44, XL_MAX_CONFIG + 5);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "saved domain header: optional data too large "
	    "(1048581 bytes, the limit is 1048580)");
	put32(buf + 44, 0xffffffff);
	ck_assert_int_eq(xl_header_decode(buf, len, &h, err, sizeof(err)), -1);
	ck_assert_int_eq(xl_config_decode(buf + 48, (size_t)XL_MAX_CONFIG + 5,
	    &j, &jlen, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config too large (1048581 bytes, the "
	    "limit is 1048580)");
	free(buf);

	/* the encoder keeps to the same bound */
	buf = malloc(XL_MAX_CONFIG);
	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', XL_MAX_CONFIG);
	out = NULL;
	ck_assert_int_eq(xl_header_encode((char *)buf, XL_MAX_CONFIG, &out,
	    &len), -1);
	ck_assert_ptr_null(out);
	free(buf);
}
END_TEST

START_TEST(xlp_max_config)
{
	struct xl_header h;
	const char *j;
	uint8_t *buf, *out;
	size_t len, jlen;
	char err[256];

	/* the largest config both ends accept */
	buf = malloc(XL_MAX_CONFIG - 1);
	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', XL_MAX_CONFIG - 1);
	ck_assert_int_eq(xl_header_encode((char *)buf, XL_MAX_CONFIG - 1, &out,
	    &len), 0);
	ck_assert_int_eq(xl_header_decode(out, len, &h, err, sizeof(err)), 0);
	ck_assert_int_eq(xl_config_decode(out + 48, h.optional_data_len, &j,
	    &jlen, err, sizeof(err)), 0);
	ck_assert_uint_eq(jlen, XL_MAX_CONFIG - 1);
	free(out);
	free(buf);
}
END_TEST

START_TEST(xlp_missing_nul)
{
	const char *j;
	uint8_t *buf;
	size_t len, jlen;
	char err[256];

	buf = encoded(&len);
	buf[len - 1] = '}';
	ck_assert_int_eq(xl_config_decode(buf + 48, len - 48, &j, &jlen, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config is not NUL-terminated");
	free(buf);
}
END_TEST

START_TEST(xlp_embedded_nul)
{
	const char *j;
	uint8_t *buf;
	size_t len, jlen;
	char err[256];

	buf = encoded(&len);
	buf[52 + 3] = '\0';
	ck_assert_int_eq(xl_config_decode(buf + 48, len - 48, &j, &jlen, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config contains a NUL byte");
	free(buf);
	/* and the encoder will not produce one */
	ck_assert_int_eq(xl_header_encode("a\0b", 3, &buf, &len), -1);
}
END_TEST

START_TEST(xlp_length_mismatch)
{
	const char *j;
	uint8_t *buf;
	size_t len, jlen;
	char err[256];

	buf = encoded(&len);
	put32(buf + 48, strlen(json));		/* one short */
	ck_assert_int_eq(xl_config_decode(buf + 48, len - 48, &j, &jlen, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config length 26 does not match the "
	    "optional data length 31 (expected 27)");
	put32(buf + 48, 0xfffffff0);		/* far past the end */
	ck_assert_int_eq(xl_config_decode(buf + 48, len - 48, &j, &jlen, err,
	    sizeof(err)), -1);
	put32(buf + 48, 0);
	ck_assert_int_eq(xl_config_decode(buf + 48, 4, &j, &jlen, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "domain config is empty");
	free(buf);
}
END_TEST

START_TEST(xlp_protocol_strings)
{
	/* the lengths xl sends on the wire */
	ck_assert_uint_eq(sizeof(XL_RECEIVER_BANNER) - 1, 54);
	ck_assert_uint_eq(sizeof(XL_RECEIVER_READY), 34);
	ck_assert_uint_eq(sizeof(XL_PERMISSION_TO_GO), 44);
	ck_assert_uint_eq(sizeof(XL_REPORT), 39);
	ck_assert_uint_eq(sizeof(XL_SAVE_MAGIC) - 1, XL_SAVE_MAGIC_LEN);
}
END_TEST

static Suite *
xlproto_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("xlproto");
	tc = tcase_create("header");
	tcase_add_test(tc, xlp_layout);
	tcase_add_test(tc, xlp_round_trip);
	tcase_add_test(tc, xlp_header_exact);
	tcase_add_test(tc, xlp_truncated);
	tcase_add_test(tc, xlp_wrong_magic);
	tcase_add_test(tc, xlp_wrong_byte_order);
	tcase_add_test(tc, xlp_unknown_mandatory);
	tcase_add_test(tc, xlp_oversized);
	tcase_add_test(tc, xlp_max_config);
	tcase_add_test(tc, xlp_missing_nul);
	tcase_add_test(tc, xlp_embedded_nul);
	tcase_add_test(tc, xlp_length_mismatch);
	tcase_add_test(tc, xlp_protocol_strings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(xlproto_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
