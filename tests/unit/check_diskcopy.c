/*
 * The disk copy records (common/diskcopy.c): the strict chunk decoder a
 * destination's network process runs on a peer's bytes, and the digests
 * both sides compute, which must not depend on how a file is allocated.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskcopy.h"

static const uint64_t sizes[2] = { 4U << 20, (1U << 20) + 4096 };
static const struct diskcopy_key key = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	11, 12, 13, 14, 15, 16 } };

/* A chunk frame body: header, extents, data (the tag as computed). */
static size_t
mkchunk(uint8_t *b, uint32_t disk, uint64_t index,
    const struct diskcopy_extent *ext, uint32_t next, const uint8_t *data,
    size_t datalen)
{
	struct diskcopy_chunk c;
	size_t h;

	memset(&c, 0, sizeof(c));
	c.disk = disk;
	c.index = index;
	c.next = next;
	if (next > 0)
		memcpy(c.ext, ext, next * sizeof(*ext));
	/* Beyond the image there is no tag to take: any will do. */
	if (diskcopy_chunk_tag(&key, disk, index, diskcopy_chunk_len(sizes[disk],
	    index), ext, next, data, c.tag) == -1)
		memset(c.tag, 0, sizeof(c.tag));
	h = diskcopy_chunk_encode_hdr(b, &c);
	if (datalen > 0)
		memcpy(b + h, data, datalen);
	return h + datalen;
}

START_TEST(test_chunk_roundtrip)
{
	static uint8_t b[DISKCOPY_MAX_BODY], data[8192];
	struct diskcopy_extent ext[2] = { { 0, 4096 }, { 8192, 4096 } };
	struct diskcopy_chunk c;
	uint8_t tag[DISKCOPY_TAG_LEN];
	char err[256];
	size_t len;

	memset(data, 'x', sizeof(data));
	len = mkchunk(b, 0, 3, ext, 2, data, sizeof(data));
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(c.index, 3);
	ck_assert_uint_eq(c.next, 2);
	ck_assert_uint_eq(c.datalen, 8192);
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, 3, DISKCOPY_CHUNK, c.ext,
	    c.next, c.data, tag), 0);
	ck_assert_mem_eq(tag, c.tag, sizeof(tag));
	/* A byte changed: another tag. */
	b[len - 1] ^= 1;
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, 3, DISKCOPY_CHUNK, c.ext,
	    c.next, c.data, tag), 0);
	ck_assert_int_ne(memcmp(tag, c.tag, sizeof(tag)), 0);
}
END_TEST

/* The tag depends on the key and on where the chunk is (its nonce);
 * the key crosses as exactly 32 lower-case hex digits. */
START_TEST(test_tag_key)
{
	static uint8_t data[4096];
	struct diskcopy_extent ext[1] = { { 0, 4096 } };
	struct diskcopy_key k2 = key, back;
	uint8_t t1[DISKCOPY_TAG_LEN], t2[DISKCOPY_TAG_LEN];
	char hex[33];

	memset(data, 'k', sizeof(data));
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, 1, DISKCOPY_CHUNK, ext, 1,
	    data, t1), 0);
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, 1, DISKCOPY_CHUNK, ext, 1,
	    data, t2), 0);
	ck_assert_mem_eq(t1, t2, sizeof(t1));
	k2.k[15] ^= 1;
	ck_assert_int_eq(diskcopy_chunk_tag(&k2, 0, 1, DISKCOPY_CHUNK, ext, 1,
	    data, t2), 0);
	ck_assert_int_ne(memcmp(t1, t2, sizeof(t1)), 0);
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, 2, DISKCOPY_CHUNK, ext, 1,
	    data, t2), 0);
	ck_assert_int_ne(memcmp(t1, t2, sizeof(t1)), 0);
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 1, 1, DISKCOPY_CHUNK, ext, 1,
	    data, t2), 0);
	ck_assert_int_ne(memcmp(t1, t2, sizeof(t1)), 0);

	diskcopy_key_hex(&key, hex);
	ck_assert_str_eq(hex, "0102030405060708090a0b0c0d0e0f10");
	ck_assert_int_eq(diskcopy_key_parse(hex, &back), 0);
	ck_assert_mem_eq(back.k, key.k, sizeof(key.k));
	ck_assert_int_eq(diskcopy_key_parse(NULL, &back), -1);
	ck_assert_int_eq(diskcopy_key_parse("", &back), -1);
	ck_assert_int_eq(diskcopy_key_parse("0102030405060708090a0b0c0d0e0f1",
	    &back), -1);
	ck_assert_int_eq(diskcopy_key_parse("0102030405060708090a0b0c0d0e0f100",
	    &back), -1);
	ck_assert_int_eq(diskcopy_key_parse("0102030405060708090A0B0C0D0E0F10",
	    &back), -1);
	ck_assert_int_eq(diskcopy_key_parse("0102030405060708090a0b0c0d0e0f1g",
	    &back), -1);
	ck_assert_int_eq(diskcopy_key_new(&k2), 0);
	ck_assert_int_eq(diskcopy_key_new(&back), 0);
	ck_assert_int_ne(memcmp(k2.k, back.k, sizeof(k2.k)), 0);
}
END_TEST

START_TEST(test_chunk_strict)
{
	static uint8_t b[DISKCOPY_MAX_BODY], data[8192];
	struct diskcopy_extent ok[1] = { { 0, 4096 } };
	struct diskcopy_extent overlap[2] = { { 0, 4096 }, { 2048, 4096 } };
	struct diskcopy_extent out[1] = { { 4096, 4096 } };
	struct diskcopy_chunk c;
	char err[256];
	size_t len;

	memset(data, 'y', sizeof(data));
	/* Unknown disk. */
	len = mkchunk(b, 0, 0, ok, 1, data, 4096);
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 1, &c, err,
	    sizeof(err)), 0);
	b[3] = 7;
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "disk 7"));
	/* Beyond the image. */
	len = mkchunk(b, 0, 4, ok, 1, data, 4096);
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "beyond"));
	/* Overlapping extents. */
	len = mkchunk(b, 0, 0, overlap, 2, data, 8192);
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), -1);
	/* An extent past a short last chunk (disk 1: 4096 bytes). */
	len = mkchunk(b, 1, 1, ok, 1, data, 4096);
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), 0);
	memcpy(b, "\0\0\0\1\0\0\0\1\0\0\0\0\0\0\0\1", 16);
	memset(b + DISKCOPY_CHUNK_HDR, 0, 8);
	b[DISKCOPY_CHUNK_HDR + 2] = out[0].off >> 8;
	b[DISKCOPY_CHUNK_HDR + 6] = out[0].len >> 8;
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), -1);
	/* Data and extents that do not add up; no extents; truncated. */
	len = mkchunk(b, 0, 0, ok, 1, data, 4096);
	ck_assert_int_eq(diskcopy_chunk_decode(b, len - 1, sizes, 2, &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(diskcopy_chunk_decode(b, DISKCOPY_CHUNK_HDR + 4,
	    sizes, 2, &c, err, sizeof(err)), -1);
	b[7] = 0;
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(diskcopy_chunk_decode(b, 10, sizes, 2, &c, err,
	    sizeof(err)), -1);
}
END_TEST

/* The image digest read back from two files with the same content but
 * different allocation (one has zeros written where the other has a
 * hole) is the same; a changed byte changes it. */
START_TEST(test_image_allocation_independent)
{
	char a[] = "/tmp/check_diskcopy.XXXXXX", b[] = "/tmp/check_diskcopy.XXXXXX";
	static uint8_t buf[1 << 20];
	char ha[65], hb[65];
	uint64_t bytes, size = 8U << 20;
	char err[256];
	int fa, fb;

	ck_assert_int_ne(fa = mkstemp(a), -1);
	ck_assert_int_ne(fb = mkstemp(b), -1);
	unlink(a);
	unlink(b);
	ck_assert_int_eq(ftruncate(fa, (off_t)size), 0);
	ck_assert_int_eq(ftruncate(fb, (off_t)size), 0);
	memset(buf, 'z', 4096);
	ck_assert_int_eq(pwrite(fa, buf, 4096, 3 << 20), 4096);
	ck_assert_int_eq(pwrite(fb, buf, 4096, 3 << 20), 4096);
	/* b: a whole chunk of written zeros, and zeros around the data. */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(pwrite(fb, buf, sizeof(buf), 5 << 20),
	    (ssize_t)sizeof(buf));
	ck_assert_int_eq(pwrite(fb, buf, 4096, (3 << 20) + 4096), 4096);
	ck_assert_int_eq(diskcopy_image_of(fa, &key, 0, size, ha, &bytes, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(diskcopy_image_of(fb, &key, 0, size, hb, &bytes, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(ha, hb);
	buf[0] = 1;
	ck_assert_int_eq(pwrite(fb, buf, 1, 7 << 20), 1);
	ck_assert_int_eq(diskcopy_image_of(fb, &key, 0, size, hb, &bytes, err,
	    sizeof(err)), 0);
	ck_assert_str_ne(ha, hb);
	close(fa);
	close(fb);
}
END_TEST

START_TEST(test_extents)
{
	char p[] = "/tmp/check_diskcopy.XXXXXX";
	struct diskcopy_extent ext[DISKCOPY_MAX_EXTENTS];
	static uint8_t buf[4096];
	int fd, n, i;

	ck_assert_int_ne(fd = mkstemp(p), -1);
	unlink(p);
	ck_assert_int_eq(ftruncate(fd, 4 << 20), 0);
	ck_assert_int_eq(diskcopy_extents(fd, 0, DISKCOPY_CHUNK, ext, 8), 0);
	memset(buf, 1, sizeof(buf));
	/* 100 separate blocks in chunk 1: more than 8 extents merge. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(pwrite(fd, buf, 4096, (1 << 20) + i * 8192),
		    4096);
	n = diskcopy_extents(fd, 1 << 20, DISKCOPY_CHUNK, ext, 8);
	ck_assert_int_eq(n, 8);
	ck_assert_uint_eq(ext[0].off, 0);
	ck_assert_uint_eq(ext[7].off + ext[7].len, 99 * 8192 + 4096);
	close(fd);
}
END_TEST

/* A live copy's zero chunk: no extents, no data, tagged as zeros. */
START_TEST(test_zero_chunk)
{
	static uint8_t b[DISKCOPY_MAX_BODY], zeros[DISKCOPY_CHUNK];
	struct diskcopy_extent all[1] = { { 0, DISKCOPY_CHUNK } };
	struct diskcopy_chunk c;
	uint8_t tag[DISKCOPY_TAG_LEN];
	char err[256];
	size_t len;

	len = mkchunk(b, 0, 2, NULL, 0, NULL, 0);
	ck_assert_uint_eq(len, DISKCOPY_CHUNK_HDR);
	ck_assert_int_eq(diskcopy_chunk_decode(b, len, sizes, 2, &c, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(c.next, 0);
	ck_assert_uint_eq(c.datalen, 0);
	/* The same tag as the chunk's zeros sent as data. */
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, 2, DISKCOPY_CHUNK, all, 1,
	    zeros, tag), 0);
	ck_assert_mem_eq(tag, c.tag, sizeof(tag));
	/* With data after it, it is not one. */
	ck_assert_int_eq(diskcopy_chunk_decode(b, len + 1, sizes, 2, &c, err,
	    sizeof(err)), -1);
}
END_TEST

START_TEST(test_dirty_bitmap)
{
	uint64_t size = (130ULL << 20) + 5, bm[3], snap[3];
	size_t nw = diskcopy_dirty_words(size);

	/* 131 chunks: three words. */
	ck_assert_uint_eq(nw, 3);
	ck_assert_uint_eq(diskcopy_dirty_words(64ULL << 20), 1);
	ck_assert_uint_eq(diskcopy_dirty_words(0), 0);
	memset(bm, 0, sizeof(bm));
	/* The counter record at 0, a write across chunks 63 and 64, one
	 * in the short last chunk, one past the end (ignored). */
	diskcopy_dirty_mark(bm, size, 0, 32);
	diskcopy_dirty_mark(bm, size, (64ULL << 20) - 10, 20);
	diskcopy_dirty_mark(bm, size, 130ULL << 20, 5);
	diskcopy_dirty_mark(bm, size, size, 4096);
	diskcopy_dirty_mark(bm, size, 7, 0);
	ck_assert_uint_eq(diskcopy_dirty_count(bm, nw), 4);
	ck_assert_uint_eq(bm[0], 1ULL | 1ULL << 63);
	ck_assert_uint_eq(bm[1], 1ULL);
	ck_assert_uint_eq(bm[2], 1ULL << 2);
	/* Taken and cleared at once; a write after it marks again. */
	ck_assert_uint_eq(diskcopy_dirty_take(bm, snap, nw), 4);
	ck_assert_uint_eq(diskcopy_dirty_count(bm, nw), 0);
	ck_assert_uint_eq(snap[0], 1ULL | 1ULL << 63);
	diskcopy_dirty_mark(bm, size, 0, 32);
	ck_assert_uint_eq(diskcopy_dirty_take(bm, snap, nw), 1);
	ck_assert_uint_eq(snap[0], 1ULL);
	ck_assert_uint_eq(snap[1] | snap[2], 0);
}
END_TEST

/* The tag of chunk INDEX of fd, as a sender takes it: 0 if all zero. */
static int
tag_of(int fd, uint64_t size, uint64_t index, uint8_t *tag, uint32_t *bytes)
{
	static uint8_t buf[DISKCOPY_CHUNK];
	struct diskcopy_extent ext[DISKCOPY_MAX_EXTENTS];
	uint32_t clen = diskcopy_chunk_len(size, index);
	ssize_t got;
	int n;

	n = diskcopy_extents(fd, index * DISKCOPY_CHUNK, clen, ext,
	    DISKCOPY_MAX_EXTENTS);
	ck_assert_int_ge(n, 0);
	got = diskcopy_read(fd, index * DISKCOPY_CHUNK, ext, n, buf);
	ck_assert_int_ge(got, 0);
	if (n == 0 || diskcopy_zero(buf, (size_t)got))
		return 0;
	ck_assert_int_eq(diskcopy_chunk_tag(&key, 0, index, clen, ext, (uint32_t)n,
	    buf, tag), 0);
	*bytes = (uint32_t)got;
	return 1;
}

/*
 * A live copy's digest over the last tag of every chunk, whatever order
 * and however often they were sent, is the digest of the final image:
 * the one an offline copy of it sends and the one read back from it.
 */
START_TEST(test_tags_final_digest)
{
	char p[] = "/tmp/check_diskcopy.XXXXXX";
	struct diskcopy_tags t;
	uint8_t tag[DISKCOPY_TAG_LEN], buf[4096];
	uint64_t size = (6ULL << 20) + 4096, chunks, bytes, rb;
	uint32_t n;
	char live[65], back[65], before[65];
	int fd, i;

	ck_assert_int_ne(fd = mkstemp(p), -1);
	unlink(p);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	ck_assert_int_eq(diskcopy_tags_init(&t, size), 0);
	ck_assert_uint_eq(t.nchunks, 7);
	memset(buf, 'a', sizeof(buf));
	/* Round 1: chunks 0, 2, 5 and the short chunk 6 hold data. */
	for (i = 0; i < 7; i++)
		if (i == 0 || i == 2 || i == 5 || i == 6)
			ck_assert_int_eq(pwrite(fd, buf, sizeof(buf),
			    (off_t)i << 20), (ssize_t)sizeof(buf));
	for (i = 0; i < 7; i++)
		if (tag_of(fd, size, (uint64_t)i, tag, &n))
			diskcopy_tags_set(&t, (uint64_t)i, tag, n);
	ck_assert_int_eq(diskcopy_tags_digest(&t, before, &chunks, &bytes),
	    0);
	ck_assert_uint_eq(chunks, 4);
	ck_assert_uint_eq(bytes, 4 * 4096);
	ck_assert_int_eq(diskcopy_image_of(fd, &key, 0, size, back, &rb,
	    (char[64]){ 0 }, 64), 0);
	ck_assert_str_eq(before, back);
	/* The guest writes on: chunk 5 changes, chunk 2 becomes zeros,
	 * chunk 3 gets data.  Resent in reverse order. */
	buf[0] = 'b';
	ck_assert_int_eq(pwrite(fd, buf, 1, 5 << 20), 1);
	ck_assert_int_eq(diskcopy_tags_same(&t, 5, t.tag + 5 *
	    DISKCOPY_TAG_LEN), 1);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), 2 << 20),
	    (ssize_t)sizeof(buf));
	buf[100] = 'c';
	ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), 3 << 20),
	    (ssize_t)sizeof(buf));
	for (i = 5; i >= 2; i--) {
		if (tag_of(fd, size, (uint64_t)i, tag, &n)) {
			if (i == 5)
				ck_assert_int_eq(diskcopy_tags_same(&t, 5,
				    tag), 0);
			diskcopy_tags_set(&t, (uint64_t)i, tag, n);
		} else
			diskcopy_tags_clear(&t, (uint64_t)i);
	}
	ck_assert_int_eq(diskcopy_tags_has(&t, 2), 0);
	ck_assert_int_eq(diskcopy_tags_digest(&t, live, &chunks, &bytes), 0);
	ck_assert_uint_eq(chunks, 4);
	ck_assert_str_ne(live, before);
	ck_assert_int_eq(diskcopy_image_of(fd, &key, 0, size, back, &rb,
	    (char[64]){ 0 }, 64), 0);
	ck_assert_str_eq(live, back);
	ck_assert_uint_eq(rb, bytes);
	/* A stale tag (chunk 5 not resent) would not match. */
	ck_assert_int_eq(tag_of(fd, size, 0, tag, &n), 1);
	diskcopy_tags_set(&t, 5, tag, n);
	ck_assert_int_eq(diskcopy_tags_digest(&t, live, &chunks, &bytes), 0);
	ck_assert_str_ne(live, back);
	diskcopy_tags_dispose(&t);
	/* Too large for a live copy's tables. */
	ck_assert_int_eq(diskcopy_tags_init(&t, DISKCOPY_LIVE_MAX_SIZE + 1),
	    -1);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("diskcopy");
	TCase *tc = tcase_create("records");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_chunk_roundtrip);
	tcase_add_test(tc, test_tag_key);
	tcase_add_test(tc, test_chunk_strict);
	tcase_add_test(tc, test_image_allocation_independent);
	tcase_add_test(tc, test_extents);
	tcase_add_test(tc, test_zero_chunk);
	tcase_add_test(tc, test_dirty_bitmap);
	tcase_add_test(tc, test_tags_final_digest);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
