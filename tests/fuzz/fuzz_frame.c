/*
 * libFuzzer target: the frame decoder (common/proto.c), the first thing
 * that reads bytes from an authenticated peer or a local client.  The
 * input is a 12-byte header and a body; both decoders must refuse
 * anything malformed without reading past the buffer, allocating for a
 * length the input does not have, or accepting a length over the cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_hdr h;
	struct json_object *body = NULL;
	char err[256];
	size_t max;

	/* The first byte picks the cap: control frames or config frames. */
	max = (size > 0 && (data[0] & 1)) ? PROTO_MAX_CONFIG_FRAME :
	    PROTO_MAX_FRAME;
	if (proto_hdr_decode(data, size, &h, max, err, sizeof(err)) !=
	    PROTO_OK)
		return 0;
	if (h.len > max || size < PROTO_HDR_LEN)
		abort();	/* accepted a header it should have refused */
	(void)proto_type_name(h.type);
	if (h.len > size - PROTO_HDR_LEN)
		return 0;	/* a short frame: the channel would wait */
	if (proto_body_decode(data + PROTO_HDR_LEN, h.len, &body, err,
	    sizeof(err)) == PROTO_OK) {
		if (body == NULL || !json_object_is_type(body,
		    json_type_object))
			abort();	/* the contract: a JSON object */
		(void)proto_get_str(body, "domain");
		(void)proto_get_int(body, "paused", 0);
	}
	json_object_put(body);
	return 0;
}
