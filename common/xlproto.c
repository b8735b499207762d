/*
 * xl's save-file header, as xl 4.17 writes it (save_domain_core_writeconfig
 * in xl_saverestore.c) and reads it (create_domain in xl_vmcontrol.c):
 *
 *	char	 magic[32];		XL_SAVE_MAGIC
 *	uint32_t byteorder;		XL_BYTEORDER_MARKER
 *	uint32_t mandatory_flags;	unknown ones => refuse
 *	uint32_t optional_flags;
 *	uint32_t optional_data_len;
 *	optional data: uint32_t config_len; config_len bytes of JSON + NUL
 *
 * The integers are in the host's byte order, as in xl: both ends of a
 * migration are the same architecture.  The peer is authenticated but
 * these bytes are still parsed defensively: every length is checked
 * against the buffer and against XL_MAX_CONFIG before it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "xlproto.h"

static uint32_t	xlp_get32(const uint8_t *);
static void	xlp_put32(uint8_t *, uint32_t);

/* memcpy, not a cast: buf has no alignment guarantee */
static uint32_t
xlp_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
xlp_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

int
xl_header_decode(const uint8_t *buf, size_t len, struct xl_header *h,
    char *err, size_t errlen)
{
	uint32_t order, bad;

	if (len < XL_HEADER_LEN) {
		errbuf_set(err, errlen, "saved domain header truncated (%zu of "
		    "%d bytes)", len, XL_HEADER_LEN);
		return -1;
	}
	if (memcmp(buf, XL_SAVE_MAGIC, XL_SAVE_MAGIC_LEN) != 0) {
		/* xl's own words */
		errbuf_set(err, errlen, "saved domain header has wrong magic "
		    "number - corrupt or for a different tool?");
		return -1;
	}
	order = xlp_get32(buf + 32);
	if (order != XL_BYTEORDER_MARKER) {
		if (order == __builtin_bswap32(XL_BYTEORDER_MARKER))
			errbuf_set(err, errlen, "saved domain header has wrong "
			    "byte order (written on a host of the other "
			    "endianness)");
		else
			errbuf_set(err, errlen, "saved domain header has wrong "
			    "byte order (marker 0x%08x)", order);
		return -1;
	}
	h->mandatory_flags = xlp_get32(buf + 36);
	h->optional_flags = xlp_get32(buf + 40);
	h->optional_data_len = xlp_get32(buf + 44);

	bad = h->mandatory_flags & ~XL_MANDATORY_FLAG_ALL;
	if (bad != 0) {
		errbuf_set(err, errlen, "saved domain header has unsupported "
		    "mandatory flags 0x%x (known: 0x1 JSON, 0x2 STREAMv2)",
		    bad);
		return -1;
	}
	/*
	 * Without the JSON flag the config is xl's old text format (or
	 * absent), which nothing here can check against the policy.
	 */
	if (!(h->mandatory_flags & XL_MANDATORY_FLAG_JSON)) {
		errbuf_set(err, errlen, "saved domain header has no JSON "
		    "domain config (mandatory flags 0x%x): sender's xl is too "
		    "old", h->mandatory_flags);
		return -1;
	}
	if (h->optional_data_len > (uint32_t)XL_MAX_CONFIG + 4) {
		errbuf_set(err, errlen, "saved domain header: optional data "
		    "too large (%u bytes, the limit is %d)",
		    h->optional_data_len, XL_MAX_CONFIG + 4);
		return -1;
	}
	return 0;
}

int
xl_config_decode(const uint8_t *buf, size_t len, const char **json,
    size_t *jsonlen, char *err, size_t errlen)
{
	uint32_t clen;

	if (len > (size_t)XL_MAX_CONFIG + 4) {
		errbuf_set(err, errlen, "domain config too large (%zu bytes, "
		    "the limit is %d)", len, XL_MAX_CONFIG + 4);
		return -1;
	}
	if (len < 4) {
		errbuf_set(err, errlen, "domain config truncated (%zu bytes of "
		    "optional data, need at least 4)", len);
		return -1;
	}
	/*
	 * xl would skip optional data beyond the config; xl never writes
	 * any, so a mismatch means a corrupt or crafted header.
	 */
	clen = xlp_get32(buf);
	if ((size_t)clen != len - 4) {
		errbuf_set(err, errlen, "domain config length %u does not "
		    "match the optional data length %zu (expected %zu)", clen,
		    len, len - 4);
		return -1;
	}
	if (clen == 0) {
		errbuf_set(err, errlen, "domain config is empty");
		return -1;
	}
	if (buf[len - 1] != '\0') {
		errbuf_set(err, errlen, "domain config is not NUL-terminated");
		return -1;
	}
	if (memchr(buf + 4, '\0', clen - 1) != NULL) {
		errbuf_set(err, errlen, "domain config contains a NUL byte");
		return -1;
	}
	*json = (const char *)buf + 4;
	*jsonlen = clen - 1;
	return 0;
}

int
xl_header_encode(const char *json, size_t jsonlen, uint8_t **out,
    size_t *outlen)
{
	uint8_t *buf;
	size_t total;

	/* the config travels with its NUL, so it cannot hold one */
	if (jsonlen + 1 > XL_MAX_CONFIG) {
		errno = EMSGSIZE;
		return -1;
	}
	if (memchr(json, '\0', jsonlen) != NULL) {
		errno = EINVAL;
		return -1;
	}
	total = XL_HEADER_LEN + 4 + jsonlen + 1;
	if ((buf = malloc(total)) == NULL)
		return -1;
	memcpy(buf, XL_SAVE_MAGIC, XL_SAVE_MAGIC_LEN);
	xlp_put32(buf + 32, XL_BYTEORDER_MARKER);
	xlp_put32(buf + 36, XL_MANDATORY_FLAG_JSON |
	    XL_MANDATORY_FLAG_STREAMv2);
	xlp_put32(buf + 40, 0);
	xlp_put32(buf + 44, (uint32_t)(4 + jsonlen + 1));
	xlp_put32(buf + 48, (uint32_t)(jsonlen + 1));
	memcpy(buf + 52, json, jsonlen);
	buf[52 + jsonlen] = '\0';
	*out = buf;
	*outlen = total;
	return 0;
}
