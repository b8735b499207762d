/*
 * xl's migration protocol (tools/xl/xl.h, xl_migrate.c in Xen 4.17), byte
 * for byte, so that stock xl and relocd can talk to each other.
 */
#ifndef XLPROTO_H
#define XLPROTO_H

#include <stddef.h>
#include <stdint.h>

/* Sent without the NUL. */
#define XL_RECEIVER_BANNER \
	"xl migration receiver ready, send binary domain data.\n"
/* These three are sent with their NUL. */
#define XL_RECEIVER_READY	"domain received, ready to unpause"
#define XL_PERMISSION_TO_GO	"domain is yours, you are cleared to unpause"
#define XL_REPORT		"my copy unpause results are as follows"

#define XL_SAVE_MAGIC		"Xen saved domain, xl format\n \0 \r"
#define XL_SAVE_MAGIC_LEN	32
#define XL_BYTEORDER_MARKER	0x01020304U
#define XL_MANDATORY_FLAG_JSON		(1U << 0)
#define XL_MANDATORY_FLAG_STREAMv2	(1U << 1)
#define XL_MANDATORY_FLAG_ALL \
	(XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2)
#define XL_HEADER_LEN		48	/* magic + 4 x u32 */
#define XL_MAX_CONFIG		(1024 * 1024)

struct xl_header {
	uint32_t	mandatory_flags;
	uint32_t	optional_flags;
	uint32_t	optional_data_len;
};

/*
 * Decode the fixed 48-byte header.  -1 + reason ("wrong magic number",
 * "byte order", "unsupported mandatory flags 0x..", "optional data too
 * large") on anything xl would refuse or that exceeds XL_MAX_CONFIG.
 */
int	xl_header_decode(const uint8_t *buf, size_t len, struct xl_header *,
	    char *err, size_t errlen);
/*
 * The optional data: u32 config length + config JSON with its NUL.
 * Checks the inner length against the outer, the NUL, and the bound.
 * On success *json points into buf (not copied).
 */
int	xl_config_decode(const uint8_t *buf, size_t len, const char **json,
	    size_t *jsonlen, char *err, size_t errlen);
/* Header + optional data for JSON of jsonlen bytes (NUL not counted):
 * returns a malloc'ed buffer in *out, its length in *outlen. */
int	xl_header_encode(const char *json, size_t jsonlen, uint8_t **out,
	    size_t *outlen);

#endif
