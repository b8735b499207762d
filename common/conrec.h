/*
 * Console records: what a console session carries once PT_CONSOLE has
 * been answered with PT_OK (proto.h has the kinds and limits):
 *	kind u8 | length u16 big-endian | payload
 * relocd and xmig both speak them, through this one codec, so the two
 * cannot drift apart on what a well-formed record is.
 */
#ifndef CONREC_H
#define CONREC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

struct iochan;

/* conrec_decode() results. */
#define CONREC_OK	0	/* one record decoded */
#define CONREC_MORE	1	/* no whole record yet: read more bytes */
#define CONREC_BAD	-1	/* not a console record; err says why */

struct conrec {
	int		 kind;		/* PT_CONSOLE_* */
	const uint8_t	*payload;	/* in the caller's buffer */
	size_t		 len;		/* payload bytes */
	size_t		 size;		/* header and payload: bytes to drop */
};

/*
 * Header and payload into buf (room for size bytes).  The record's size,
 * or -1 if kind is not a record kind, len exceeds CONSOLE_REC_MAX or buf
 * is too small: a caller's bug, never cut short silently.
 */
ssize_t	conrec_encode(uint8_t *buf, size_t size, int kind,
	    const void *payload, size_t len);
/* The first record in buf[0..len), if it holds a whole one. */
int	conrec_decode(const uint8_t *buf, size_t len, struct conrec *,
	    char *err, size_t errlen);
/* One record in one write (one TLS record); -1 with ioc->err. */
int	conrec_send(struct iochan *, int kind, const void *payload,
	    size_t len);

#endif
