/*
 * Copying a domain's local disks in its migration session (xmig migrate
 * --copy-storage): the chunk records both sides speak, their digests,
 * and the sparse walk of an image.
 *
 * An image is cut into chunks of DISKCOPY_CHUNK bytes.  A chunk whose
 * logical content (holes read as zeros) is all zero is not sent: it is
 * a hole at the destination too.  Any other chunk travels as one
 * PT_DISK_CHUNK frame whose body is, big-endian,
 *
 *	disk u32 | next u32 | index u64 | tag[16] |
 *	next x { offset u32, length u32 } | the extents' bytes
 *
 * The extents are the chunk's allocated ranges (SEEK_DATA/SEEK_HOLE at
 * the source), relative to the chunk, sorted and disjoint: only they
 * are written at the destination, so holes stay holes.  The tag is the
 * AES-128-GMAC of the chunk's logical content under a key the source
 * draws for the migration and sends in its request, with (disk u32 |
 * index u64) as the nonce.  It does not depend on how either file is
 * allocated, so the destination's root helper can recompute every tag
 * by reading its copy back.  The image digest is SHA-256 over (index
 * u64 | tag) of every chunk that is not all zeros in the final image,
 * in index order; PT_DISK_END carries the source's, and the destination
 * compares it with the one it reads back from its copy.  Offline every
 * chunk is sent once, in order, so the running digest of what was sent
 * is that digest.
 *
 * Live (PROTO_F_COPY_LIVE) a chunk may be sent again, in any order, when
 * the running guest wrote it after it went: the later frame replaces the
 * earlier one.  A chunk that became all zeros travels as a frame with no
 * extents ("zero chunk", tagged as its zeros), and becomes a hole.  Both
 * sides keep the last tag of every chunk (diskcopy_tags) and take the
 * image digest over those at the end, so it covers the final content
 * and is the same digest an offline copy of that content has.
 *
 * Why GMAC and not SHA-256 over the data: every byte is tagged three
 * times (source, destination, read-back) and GHASH with PCLMULQDQ runs
 * about five times faster than SHA-256 here, which is what kept the
 * copy well below the stream's rate.  The tag only has to catch damage
 * between the disks and the TLS session, which protects the bytes on
 * the wire.  A chunk sent again live reuses its nonce; GMAC's forgery
 * resistance would suffer only if someone saw two tags under one key,
 * and the key lives for one migration and, like every tag, is only ever
 * sent inside that session.
 */
#ifndef DISKCOPY_H
#define DISKCOPY_H

#include <stddef.h>
#include <stdint.h>

#define DISKCOPY_CHUNK		(1024U * 1024)
#define DISKCOPY_MAX_EXTENTS	64
#define DISKCOPY_MAX_DISKS	16
#define DISKCOPY_TAG_LEN	16
#define DISKCOPY_KEY_LEN	16
#define DISKCOPY_CHUNK_HDR	(16 + DISKCOPY_TAG_LEN)
#define DISKCOPY_MAX_BODY	(DISKCOPY_CHUNK_HDR + \
				    DISKCOPY_MAX_EXTENTS * 8 + DISKCOPY_CHUNK)
/* An image larger than this is refused: 16 TiB. */
#define DISKCOPY_MAX_SIZE	(16ULL << 40)
/* Live, both sides hold about 20 bytes per chunk (diskcopy_tags: the
 * tag, its byte count, a bit), the destination twice (its network
 * process what arrived, its helper what it read back): 20 MiB at this
 * size, 1 TiB.  A larger image is copied offline. */
#define DISKCOPY_LIVE_MAX_SIZE	(1ULL << 40)
/* Live: the rounds while the domain runs (the full pass is the first);
 * the suspended round comes on top.  A destination accepts at most that
 * many frames of every chunk, so that a peer cannot keep a session
 * alive forever by sending the same chunk again. */
#define DISKCOPY_LIVE_ROUNDS	5
/* Live, the destination's helper reads back the chunks written in
 * batches of at most this many (recv-disk-verify), one batch at a time
 * behind the network process. */
#define DISKCOPY_VERIFY_MAX	64

struct diskcopy_extent {
	uint32_t	off;	/* in the chunk */
	uint32_t	len;
};

struct diskcopy_chunk {
	uint32_t	disk;
	uint32_t	next;
	uint64_t	index;
	uint8_t		tag[DISKCOPY_TAG_LEN];
	struct diskcopy_extent ext[DISKCOPY_MAX_EXTENTS];
	const uint8_t	*data;	/* the extents' bytes, back to back */
	size_t		datalen;
};

/* A migration's tag key. */
struct diskcopy_key {
	uint8_t		k[DISKCOPY_KEY_LEN];
};

/* A running image digest. */
struct diskcopy_image {
	void		*ctx;	/* EVP_MD_CTX */
	uint64_t	 chunks;
	uint64_t	 bytes;	/* extent bytes */
};

/* Bytes of chunk INDEX of an image of SIZE bytes. */
uint32_t diskcopy_chunk_len(uint64_t size, uint64_t index);
/*
 * Decode a PT_DISK_CHUNK body of LEN bytes, strictly: a known disk
 * (index below ndisks), a chunk inside that disk's size (sizes[disk]),
 * 0..DISKCOPY_MAX_EXTENTS extents, sorted, disjoint, non-empty, inside
 * the chunk, and exactly as many data bytes as they add up to (0
 * extents: a zero chunk, which only a live copy sends).  The chunk's
 * data points into body.  -1 with the reason.
 */
int	diskcopy_chunk_decode(const uint8_t *body, size_t len,
	    const uint64_t *sizes, uint32_t ndisks, struct diskcopy_chunk *,
	    char *err, size_t errlen);
/* The body's header and extent table into buf; returns its length. */
size_t	diskcopy_chunk_encode_hdr(uint8_t *buf, const struct diskcopy_chunk *);
/* A fresh random key, as the source draws one per migration. */
int	diskcopy_key_new(struct diskcopy_key *);
/* The key as 32 hex digits (+ NUL), and back: -1 unless exactly that. */
void	diskcopy_key_hex(const struct diskcopy_key *, char hex[33]);
int	diskcopy_key_parse(const char *, struct diskcopy_key *);
/* The tag of a chunk of CHUNKLEN bytes from its extents and data. */
int	diskcopy_chunk_tag(const struct diskcopy_key *, uint32_t disk,
	    uint64_t index, uint32_t chunklen, const struct diskcopy_extent *,
	    uint32_t next, const uint8_t *data, uint8_t tag[DISKCOPY_TAG_LEN]);
/* Are all LEN bytes zero? */
int	diskcopy_zero(const uint8_t *, size_t);
/*
 * The allocated ranges of fd in [off, off + len) as extents relative to
 * off, at most max (the rest merged into the last: read as zeros, still
 * correct).  The count (0: all hole), or -1 with errno.
 */
int	diskcopy_extents(int fd, uint64_t off, uint32_t len,
	    struct diskcopy_extent *, int max);
/* Read a chunk's extents into data, back to back: total bytes or -1. */
ssize_t	diskcopy_read(int fd, uint64_t off, const struct diskcopy_extent *,
	    int next, uint8_t *data);

/*
 * Chunk INDEX of an image of SIZE bytes read back from fd into buf
 * (DISKCOPY_CHUNK bytes) and tagged as the sender would have: 1 with
 * its tag and data bytes (*got), 0 if it is all hole or zeros, -1 with
 * errno (EPROTO: the tag could not be computed).
 */
int	diskcopy_chunk_readtag(int fd, const struct diskcopy_key *,
	    uint32_t disk, uint64_t size, uint64_t index, uint8_t *buf,
	    uint8_t tag[DISKCOPY_TAG_LEN], size_t *got);
int	diskcopy_image_init(struct diskcopy_image *);
int	diskcopy_image_add(struct diskcopy_image *, uint64_t index,
	    const uint8_t tag[DISKCOPY_TAG_LEN], size_t bytes);
/* The digest as 64 hex digits (+ NUL) and the context freed. */
int	diskcopy_image_final(struct diskcopy_image *, char hex[65]);
void	diskcopy_image_dispose(struct diskcopy_image *);
/*
 * Read an image of SIZE bytes back from fd (as the destination's helper
 * does its copy) and compute its image digest: every chunk as the
 * sender would have sent it.  bytes: data bytes read.  -1 with err.
 */
int	diskcopy_image_of(int fd, const struct diskcopy_key *, uint32_t disk,
	    uint64_t size, char hex[65], uint64_t *bytes, char *err,
	    size_t errlen);

/*
 * Dirty tracking of a running guest's disk: one bit per chunk, in 64-bit
 * words shared between the writer (the guest, which sets the bits of
 * what it wrote once the write is complete) and the copy (which takes
 * and clears them atomically before it reads the chunks again).  A
 * write that lands after its word was taken sets the bit again, so the
 * chunk goes again in a later round.
 */
size_t	diskcopy_dirty_words(uint64_t size);
/* Mark the chunks of [off, off + len) of an image of SIZE bytes. */
void	diskcopy_dirty_mark(uint64_t *bm, uint64_t size, uint64_t off,
	    uint64_t len);
/* Take and clear every word into snap; the number of chunks taken. */
uint64_t diskcopy_dirty_take(uint64_t *bm, uint64_t *snap, size_t nwords);
uint64_t diskcopy_dirty_count(const uint64_t *bm, size_t nwords);

/* The last tag and data byte count of every chunk of an image (live). */
struct diskcopy_tags {
	uint64_t	 nchunks;
	uint8_t		*tag;	/* nchunks x DISKCOPY_TAG_LEN */
	uint32_t	*bytes;
	uint64_t	*have;	/* bitmap: chunk holds data */
};

/* -1 if SIZE is over DISKCOPY_LIVE_MAX_SIZE or memory is short. */
int	diskcopy_tags_init(struct diskcopy_tags *, uint64_t size);
void	diskcopy_tags_dispose(struct diskcopy_tags *);
/* Chunk INDEX now holds data with this tag (index below nchunks). */
void	diskcopy_tags_set(struct diskcopy_tags *, uint64_t index,
	    const uint8_t tag[DISKCOPY_TAG_LEN], uint32_t bytes);
/* Chunk INDEX is all zeros now. */
void	diskcopy_tags_clear(struct diskcopy_tags *, uint64_t index);
int	diskcopy_tags_has(const struct diskcopy_tags *, uint64_t index);
/* Does chunk INDEX hold data with exactly this tag? */
int	diskcopy_tags_same(const struct diskcopy_tags *, uint64_t index,
	    const uint8_t tag[DISKCOPY_TAG_LEN]);
/* The image digest over the chunks holding data, in index order, with
 * their count and data bytes. */
int	diskcopy_tags_digest(const struct diskcopy_tags *, char hex[65],
	    uint64_t *chunks, uint64_t *bytes);

#endif
