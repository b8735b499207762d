/*
 * Disk copy records and digests (diskcopy.h).  The decoder runs in the
 * destination's network process on bytes from the peer: nothing in a
 * body is trusted until every field has been checked against the plan
 * both sides agreed on (the disks and their sizes).
 */
#include <sys/types.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "diskcopy.h"

/* Holes hashed as zeros come from here (never written: the zero page). */
static const uint8_t diskcopy_zeros[64 * 1024];

static int	diskcopy_mac_zeros(EVP_MAC_CTX *, size_t);

/* Fetched once per process: the lookup walks the provider's tables. */
static EVP_MAC	*diskcopy_gmac;

uint32_t
diskcopy_chunk_len(uint64_t size, uint64_t index)
{
	uint64_t off = index * DISKCOPY_CHUNK;

	if (off >= size)
		return 0;
	return size - off < DISKCOPY_CHUNK ? (uint32_t)(size - off) :
	    DISKCOPY_CHUNK;
}

int
diskcopy_chunk_decode(const uint8_t *b, size_t len, const uint64_t *sizes,
    uint32_t ndisks, struct diskcopy_chunk *c, char *err, size_t errlen)
{
	uint64_t v64, total = 0, end = 0;
	uint32_t v32, clen, i;

	if (len < DISKCOPY_CHUNK_HDR) {
		snprintf(err, errlen, "disk chunk of %zu bytes is shorter "
		    "than its header", len);
		return -1;
	}
	memcpy(&v32, b, 4);
	c->disk = be32toh(v32);
	memcpy(&v32, b + 4, 4);
	c->next = be32toh(v32);
	memcpy(&v64, b + 8, 8);
	c->index = be64toh(v64);
	memcpy(c->tag, b + 16, DISKCOPY_TAG_LEN);
	if (c->disk >= ndisks) {
		snprintf(err, errlen, "disk chunk for disk %u; %u disks are "
		    "being copied", c->disk, ndisks);
		return -1;
	}
	if (c->index > sizes[c->disk] / DISKCOPY_CHUNK ||
	    (clen = diskcopy_chunk_len(sizes[c->disk], c->index)) == 0) {
		snprintf(err, errlen, "disk %u: chunk %llu is beyond the "
		    "image's %llu bytes", c->disk, (unsigned long long)c->index,
		    (unsigned long long)sizes[c->disk]);
		return -1;
	}
	if (c->next > DISKCOPY_MAX_EXTENTS) {
		snprintf(err, errlen, "disk %u chunk %llu: %u extents (0 to "
		    "%d allowed)", c->disk, (unsigned long long)c->index,
		    c->next, DISKCOPY_MAX_EXTENTS);
		return -1;
	}
	if (len < DISKCOPY_CHUNK_HDR + (size_t)c->next * 8) {
		snprintf(err, errlen, "disk %u chunk %llu: truncated extent "
		    "table", c->disk, (unsigned long long)c->index);
		return -1;
	}
	for (i = 0; i < c->next; i++) {
		memcpy(&v32, b + DISKCOPY_CHUNK_HDR + i * 8, 4);
		c->ext[i].off = be32toh(v32);
		memcpy(&v32, b + DISKCOPY_CHUNK_HDR + i * 8 + 4, 4);
		c->ext[i].len = be32toh(v32);
		/* Sorted, disjoint, non-empty, inside the chunk. */
		if (c->ext[i].len == 0 || c->ext[i].off < end ||
		    (uint64_t)c->ext[i].off + c->ext[i].len > clen) {
			snprintf(err, errlen, "disk %u chunk %llu: extent %u "
			    "(%u+%u) is empty, overlaps or leaves the chunk of "
			    "%u bytes", c->disk, (unsigned long long)c->index,
			    i, c->ext[i].off, c->ext[i].len, clen);
			return -1;
		}
		end = (uint64_t)c->ext[i].off + c->ext[i].len;
		total += c->ext[i].len;
	}
	c->data = b + DISKCOPY_CHUNK_HDR + (size_t)c->next * 8;
	c->datalen = len - DISKCOPY_CHUNK_HDR - (size_t)c->next * 8;
	if (total != c->datalen) {
		snprintf(err, errlen, "disk %u chunk %llu: the extents add up "
		    "to %llu bytes, the frame holds %zu", c->disk,
		    (unsigned long long)c->index, (unsigned long long)total,
		    c->datalen);
		return -1;
	}
	return 0;
}

size_t
diskcopy_chunk_encode_hdr(uint8_t *b, const struct diskcopy_chunk *c)
{
	uint64_t v64;
	uint32_t v32, i;

	v32 = htobe32(c->disk);
	memcpy(b, &v32, 4);
	v32 = htobe32(c->next);
	memcpy(b + 4, &v32, 4);
	v64 = htobe64(c->index);
	memcpy(b + 8, &v64, 8);
	memcpy(b + 16, c->tag, DISKCOPY_TAG_LEN);
	for (i = 0; i < c->next; i++) {
		v32 = htobe32(c->ext[i].off);
		memcpy(b + DISKCOPY_CHUNK_HDR + i * 8, &v32, 4);
		v32 = htobe32(c->ext[i].len);
		memcpy(b + DISKCOPY_CHUNK_HDR + i * 8 + 4, &v32, 4);
	}
	return DISKCOPY_CHUNK_HDR + (size_t)c->next * 8;
}

int
diskcopy_key_new(struct diskcopy_key *key)
{
	return RAND_bytes(key->k, sizeof(key->k)) == 1 ? 0 : -1;
}

void
diskcopy_key_hex(const struct diskcopy_key *key, char hex[33])
{
	size_t i;

	for (i = 0; i < sizeof(key->k); i++)
		snprintf(hex + 2 * i, 3, "%02x", key->k[i]);
}

int
diskcopy_key_parse(const char *s, struct diskcopy_key *key)
{
	unsigned int v;
	size_t i;

	if (s == NULL || strlen(s) != 2 * sizeof(key->k) ||
	    strspn(s, "0123456789abcdef") != 2 * sizeof(key->k))
		return -1;
	for (i = 0; i < sizeof(key->k); i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		key->k[i] = (uint8_t)v;
	}
	return 0;
}

static int
diskcopy_mac_zeros(EVP_MAC_CTX *ctx, size_t n)
{
	size_t k;

	while (n > 0) {
		k = n < sizeof(diskcopy_zeros) ? n : sizeof(diskcopy_zeros);
		if (EVP_MAC_update(ctx, diskcopy_zeros, k) != 1)
			return -1;
		n -= k;
	}
	return 0;
}

int
diskcopy_chunk_tag(const struct diskcopy_key *key, uint32_t disk,
    uint64_t index, uint32_t chunklen, const struct diskcopy_extent *ext,
    uint32_t next, const uint8_t *data, uint8_t tag[DISKCOPY_TAG_LEN])
{
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[3];
	uint8_t nonce[12];
	uint64_t v64 = htobe64(index);
	uint32_t v32 = htobe32(disk), pos = 0, i;
	size_t taglen = 0;
	int rc = -1;

	if (diskcopy_gmac == NULL &&
	    (diskcopy_gmac = EVP_MAC_fetch(NULL, "GMAC", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_MAC_CTX_new(diskcopy_gmac)) == NULL)
		return -1;
	/* Unique per chunk within a migration's key. */
	memcpy(nonce, &v32, 4);
	memcpy(nonce + 4, &v64, 8);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
	    (char *)"AES-128-GCM", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV,
	    nonce, sizeof(nonce));
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key->k, sizeof(key->k), params) != 1)
		goto out;
	for (i = 0; i < next; i++) {
		/* Decoded extents always fit; anything else is a bug, not
		 * a reason to tag gigabytes of zeros. */
		if (ext[i].off < pos || ext[i].len > chunklen ||
		    ext[i].off > chunklen - ext[i].len)
			goto out;
		if (diskcopy_mac_zeros(ctx, ext[i].off - pos) == -1 ||
		    EVP_MAC_update(ctx, data, ext[i].len) != 1)
			goto out;
		data += ext[i].len;
		pos = ext[i].off + ext[i].len;
	}
	if (diskcopy_mac_zeros(ctx, chunklen - pos) == -1 ||
	    EVP_MAC_final(ctx, tag, &taglen, DISKCOPY_TAG_LEN) != 1 ||
	    taglen != DISKCOPY_TAG_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int
diskcopy_zero(const uint8_t *p, size_t len)
{
	size_t i;

	/* Real data usually differs from zero in its first bytes. */
	for (i = 0; i < len && i < 64; i++)
		if (p[i] != 0)
			return 0;
	return len <= 64 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

int
diskcopy_extents(int fd, uint64_t off, uint32_t len,
    struct diskcopy_extent *ext, int max)
{
	uint64_t end = off + len, pos = off;
	off_t d, h;
	int n = 0;

	while (pos < end) {
		if ((d = lseek(fd, (off_t)pos, SEEK_DATA)) == -1) {
			if (errno == ENXIO)
				break;	/* nothing but hole to the end */
			/* A block device knows no holes: all data, its
			 * zeros found as it is read. */
			if (errno == EINVAL && n == 0 && pos == off) {
				ext[0].off = 0;
				ext[0].len = len;
				return 1;
			}
			return -1;
		}
		if ((uint64_t)d >= end)
			break;
		if ((h = lseek(fd, d, SEEK_HOLE)) == -1)
			return -1;
		if ((uint64_t)h > end)
			h = (off_t)end;
		if (n == max) {
			/* Too fragmented: the last extent runs on, its
			 * holes read (and written) as zeros. */
			ext[n - 1].len = (uint32_t)((uint64_t)h - off -
			    ext[n - 1].off);
		} else {
			ext[n].off = (uint32_t)((uint64_t)d - off);
			ext[n].len = (uint32_t)((uint64_t)(h - d));
			n++;
		}
		pos = (uint64_t)h;
	}
	return n;
}

ssize_t
diskcopy_read(int fd, uint64_t off, const struct diskcopy_extent *ext,
    int next, uint8_t *data)
{
	size_t done, total = 0;
	ssize_t r;
	int i;

	for (i = 0; i < next; i++) {
		for (done = 0; done < ext[i].len; done += (size_t)r) {
			r = pread(fd, data + total + done, ext[i].len - done,
			    (off_t)(off + ext[i].off + done));
			if (r == -1 && errno == EINTR) {
				r = 0;
				continue;
			}
			if (r == -1)
				return -1;
			if (r == 0) {
				/* Shrunk under us: the rest reads as zeros,
				 * and the tag says what was read. */
				memset(data + total + done, 0,
				    ext[i].len - done);
				break;
			}
		}
		total += ext[i].len;
	}
	return (ssize_t)total;
}

int
diskcopy_image_init(struct diskcopy_image *im)
{
	memset(im, 0, sizeof(*im));
	if ((im->ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(im->ctx, EVP_sha256(), NULL) != 1) {
		diskcopy_image_dispose(im);
		return -1;
	}
	return 0;
}

int
diskcopy_image_add(struct diskcopy_image *im, uint64_t index,
    const uint8_t tag[DISKCOPY_TAG_LEN], size_t bytes)
{
	uint64_t v64 = htobe64(index);

	if (EVP_DigestUpdate(im->ctx, &v64, 8) != 1 ||
	    EVP_DigestUpdate(im->ctx, tag, DISKCOPY_TAG_LEN) != 1)
		return -1;
	im->chunks++;
	im->bytes += bytes;
	return 0;
}

int
diskcopy_image_final(struct diskcopy_image *im, char hex[65])
{
	uint8_t d[32];	/* SHA-256 */
	unsigned int n = 0, i;
	int rc = -1;

	if (EVP_DigestFinal_ex(im->ctx, d, &n) == 1 && n == sizeof(d)) {
		for (i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
		rc = 0;
	}
	diskcopy_image_dispose(im);
	return rc;
}

void
diskcopy_image_dispose(struct diskcopy_image *im)
{
	EVP_MD_CTX_free(im->ctx);
	im->ctx = NULL;
}

int
diskcopy_chunk_readtag(int fd, const struct diskcopy_key *key, uint32_t disk,
    uint64_t size, uint64_t index, uint8_t *buf,
    uint8_t tag[DISKCOPY_TAG_LEN], size_t *got)
{
	struct diskcopy_extent ext[DISKCOPY_MAX_EXTENTS];
	uint32_t clen = diskcopy_chunk_len(size, index);
	ssize_t r;
	int n;

	*got = 0;
	n = diskcopy_extents(fd, index * DISKCOPY_CHUNK, clen, ext,
	    DISKCOPY_MAX_EXTENTS);
	if (n == -1 || (r = diskcopy_read(fd, index * DISKCOPY_CHUNK, ext, n,
	    buf)) == -1)
		return -1;
	if (n == 0 || diskcopy_zero(buf, (size_t)r))
		return 0;
	if (diskcopy_chunk_tag(key, disk, index, clen, ext, (uint32_t)n, buf,
	    tag) == -1) {
		errno = EPROTO;
		return -1;
	}
	*got = (size_t)r;
	return 1;
}

int
diskcopy_image_of(int fd, const struct diskcopy_key *key, uint32_t disk,
    uint64_t size, char hex[65], uint64_t *bytes, char *err, size_t errlen)
{
	struct diskcopy_image im;
	uint8_t tag[DISKCOPY_TAG_LEN], *buf = NULL;
	uint64_t index, nchunks;
	size_t got;
	int r, rc = -1;

	*bytes = 0;
	if (diskcopy_image_init(&im) == -1) {
		snprintf(err, errlen, "cannot set up SHA-256");
		return -1;
	}
	if ((buf = malloc(DISKCOPY_CHUNK)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	nchunks = (size + DISKCOPY_CHUNK - 1) / DISKCOPY_CHUNK;
	for (index = 0; index < nchunks; index++) {
		if ((r = diskcopy_chunk_readtag(fd, key, disk, size, index,
		    buf, tag, &got)) == -1) {
			snprintf(err, errlen, "reading chunk %llu: %s",
			    (unsigned long long)index, errno == EPROTO ?
			    "tagging failed" : strerror(errno));
			goto out;
		}
		if (r == 0)
			continue;
		if (diskcopy_image_add(&im, index, tag, got) == -1) {
			snprintf(err, errlen, "SHA-256 failed");
			goto out;
		}
		*bytes += (uint64_t)got;
	}
	if (diskcopy_image_final(&im, hex) == -1) {
		snprintf(err, errlen, "SHA-256 failed");
		goto out;
	}
	rc = 0;
out:
	diskcopy_image_dispose(&im);
	free(buf);
	return rc;
}

size_t
diskcopy_dirty_words(uint64_t size)
{
	uint64_t nchunks = (size + DISKCOPY_CHUNK - 1) / DISKCOPY_CHUNK;

	return (size_t)((nchunks + 63) / 64);
}

void
diskcopy_dirty_mark(uint64_t *bm, uint64_t size, uint64_t off, uint64_t len)
{
	uint64_t first, last, i;

	if (len == 0 || off >= size)
		return;
	if (len > size - off)
		len = size - off;
	first = off / DISKCOPY_CHUNK;
	last = (off + len - 1) / DISKCOPY_CHUNK;
	/* Release: the copy that takes the bit sees the write before it. */
	for (i = first; i <= last; i++)
		__atomic_fetch_or(&bm[i >> 6], 1ULL << (i & 63),
		    __ATOMIC_RELEASE);
}

uint64_t
diskcopy_dirty_take(uint64_t *bm, uint64_t *snap, size_t nwords)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < nwords; i++) {
		snap[i] = __atomic_exchange_n(&bm[i], 0, __ATOMIC_ACQ_REL);
		n += (uint64_t)__builtin_popcountll(snap[i]);
	}
	return n;
}

uint64_t
diskcopy_dirty_count(const uint64_t *bm, size_t nwords)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < nwords; i++)
		n += (uint64_t)__builtin_popcountll(__atomic_load_n(&bm[i],
		    __ATOMIC_RELAXED));
	return n;
}

int
diskcopy_tags_init(struct diskcopy_tags *t, uint64_t size)
{
	memset(t, 0, sizeof(*t));
	if (size > DISKCOPY_LIVE_MAX_SIZE)
		return -1;
	t->nchunks = (size + DISKCOPY_CHUNK - 1) / DISKCOPY_CHUNK;
	t->tag = calloc(t->nchunks ? t->nchunks : 1, DISKCOPY_TAG_LEN);
	t->bytes = calloc(t->nchunks ? t->nchunks : 1, sizeof(*t->bytes));
	t->have = calloc(diskcopy_dirty_words(size) + 1, sizeof(*t->have));
	if (t->tag == NULL || t->bytes == NULL || t->have == NULL) {
		diskcopy_tags_dispose(t);
		return -1;
	}
	return 0;
}

void
diskcopy_tags_dispose(struct diskcopy_tags *t)
{
	free(t->tag);
	free(t->bytes);
	free(t->have);
	memset(t, 0, sizeof(*t));
}

void
diskcopy_tags_set(struct diskcopy_tags *t, uint64_t index,
    const uint8_t tag[DISKCOPY_TAG_LEN], uint32_t bytes)
{
	if (index >= t->nchunks)
		return;
	memcpy(t->tag + index * DISKCOPY_TAG_LEN, tag, DISKCOPY_TAG_LEN);
	t->bytes[index] = bytes;
	t->have[index >> 6] |= 1ULL << (index & 63);
}

void
diskcopy_tags_clear(struct diskcopy_tags *t, uint64_t index)
{
	if (index >= t->nchunks)
		return;
	t->have[index >> 6] &= ~(1ULL << (index & 63));
	t->bytes[index] = 0;
}

int
diskcopy_tags_has(const struct diskcopy_tags *t, uint64_t index)
{
	return index < t->nchunks &&
	    (t->have[index >> 6] & (1ULL << (index & 63))) != 0;
}

int
diskcopy_tags_same(const struct diskcopy_tags *t, uint64_t index,
    const uint8_t tag[DISKCOPY_TAG_LEN])
{
	return diskcopy_tags_has(t, index) && memcmp(t->tag + index *
	    DISKCOPY_TAG_LEN, tag, DISKCOPY_TAG_LEN) == 0;
}

int
diskcopy_tags_digest(const struct diskcopy_tags *t, char hex[65],
    uint64_t *chunks, uint64_t *bytes)
{
	struct diskcopy_image im;
	uint64_t i;

	if (diskcopy_image_init(&im) == -1)
		return -1;
	for (i = 0; i < t->nchunks; i++) {
		if (!diskcopy_tags_has(t, i))
			continue;
		if (diskcopy_image_add(&im, i, t->tag + i * DISKCOPY_TAG_LEN,
		    t->bytes[i]) == -1) {
			diskcopy_image_dispose(&im);
			return -1;
		}
	}
	*chunks = im.chunks;
	*bytes = im.bytes;
	return diskcopy_image_final(&im, hex);
}
