#include <stdio.h>
#include <string.h>

#include "conrec.h"
#include "iochan.h"

static int	conrec_kind_known(int);

/*
 * The kinds are fixed for a console session of this protocol version.
 * Anything else means the peer is out of step (a frame where a record
 * was due, say): skipping it by its length field would only read the
 * bytes after it as records too.
 */
static int
conrec_kind_known(int kind)
{
	switch (kind) {
	case PT_CONSOLE_OUT:
	case PT_CONSOLE_IN:
	case PT_CONSOLE_MOVED:
	case PT_CONSOLE_END:
	case PT_CONSOLE_DETACH:
		return 1;
	}
	return 0;
}

ssize_t
conrec_encode(uint8_t *buf, size_t size, int kind, const void *payload,
    size_t len)
{
	if (!conrec_kind_known(kind) || len > CONSOLE_REC_MAX ||
	    size < CONSOLE_REC_HDR + len)
		return -1;
	buf[0] = (uint8_t)kind;
	buf[1] = (uint8_t)(len >> 8);
	buf[2] = (uint8_t)len;
	/* Control records carry no payload (NULL, 0). */
	if (len > 0)
		memcpy(buf + CONSOLE_REC_HDR, payload, len);
	return CONSOLE_REC_HDR + len;
}

int
conrec_decode(const uint8_t *buf, size_t len, struct conrec *r, char *err,
    size_t errlen)
{
	size_t plen;

	memset(r, 0, sizeof(*r));
	/* The kind is judged as soon as its byte is here, so garbage is
	 * refused without waiting for bytes that may never come. */
	if (len < 1)
		return CONREC_MORE;
	if (!conrec_kind_known(buf[0])) {
		snprintf(err, errlen, "unknown console record kind 0x%02x",
		    buf[0]);
		return CONREC_BAD;
	}
	if (len < CONSOLE_REC_HDR)
		return CONREC_MORE;
	plen = (size_t)buf[1] << 8 | buf[2];
	if (plen > CONSOLE_REC_MAX) {
		snprintf(err, errlen, "console record of %zu bytes exceeds "
		    "the limit of %d", plen, CONSOLE_REC_MAX);
		return CONREC_BAD;
	}
	if (len < CONSOLE_REC_HDR + plen)
		return CONREC_MORE;
	r->kind = buf[0];
	r->payload = buf + CONSOLE_REC_HDR;
	r->len = plen;
	r->size = CONSOLE_REC_HDR + plen;
	return CONREC_OK;
}

int
conrec_send(struct iochan *ioc, int kind, const void *payload, size_t len)
{
	uint8_t rec[CONSOLE_REC_HDR + CONSOLE_REC_MAX];
	ssize_t n;

	if ((n = conrec_encode(rec, sizeof(rec), kind, payload, len)) == -1) {
		snprintf(ioc->err, sizeof(ioc->err), "console record kind "
		    "0x%02x of %zu bytes cannot be encoded", kind & 0xff, len);
		return -1;
	}
	return ioc_write_full(ioc, rec, n);
}
