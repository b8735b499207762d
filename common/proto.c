#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iochan.h"
#include "proto.h"

static int	proto_type_known(int);

static int
proto_type_known(int type)
{
	return proto_type_name(type) != NULL;
}

const char *
proto_type_name(int type)
{
	switch (type) {
	case PT_LIST:
		return "list";
	case PT_HOST_INFO:
		return "host-info";
	case PT_PREFLIGHT:
		return "preflight";
	case PT_MIGRATE_RECEIVE:
		return "migrate-receive";
	case PT_CONSOLE:
		return "console";
	case PT_CTL_MIGRATE:
		return "migrate";
	case PT_CTL_CREATE:
		return "create";
	case PT_CTL_DESTROY:
		return "destroy";
	case PT_CTL_TUNNEL:
		return "tunnel";
	case PT_RECOVER:
		return "recover";
	case PT_CTL_JOBS:
		return "jobs";
	case PT_CTL_RECOVER:
		return "recover-control";
	case PT_CTL_CANCEL:
		return "cancel";
	case PT_CTL_CHECK:
		return "check";
	case PT_CTL_PLACE:
		return "place";
	case PT_CTL_FORCE:
		return "force";
	case PT_FORCE:
		return "force-peer";
	case PT_SPEEDTEST:
		return "speedtest";
	case PT_CTL_SPEEDTEST:
		return "speedtest-control";
	case PT_CTL_MAINTENANCE:
		return "maintenance";
	case PT_TEST_FORBIDDEN:
		return "test-forbidden";
	case PT_STREAM_DATA:
		return "stream-data";
	case PT_STREAM_END:
		return "stream-end";
	case PT_DISK_CHUNK:
		return "disk-chunk";
	case PT_DISK_END:
		return "disk-end";
	case PT_DISK_PRECOPY_END:
		return "disk-precopy-end";
	case PT_OK:
		return "ok";
	case PT_ERROR:
		return "error";
	case PT_PROGRESS:
		return "progress";
	case PT_RESULT:
		return "result";
	}
	return NULL;
}

int
proto_hdr_decode(const uint8_t *buf, size_t len, struct proto_hdr *h,
    size_t max_len, char *err, size_t errlen)
{
	uint32_t v32;
	uint16_t v16;

	if (len < PROTO_HDR_LEN) {
		snprintf(err, errlen, "truncated frame header (%zu of %d bytes)",
		    len, PROTO_HDR_LEN);
		return PROTO_E_SHORT;
	}
	memcpy(&v32, buf, 4);
	h->magic = ntohl(v32);
	h->version = buf[4];
	h->type = buf[5];
	memcpy(&v16, buf + 6, 2);
	h->flags = ntohs(v16);
	memcpy(&v32, buf + 8, 4);
	h->len = ntohl(v32);

	if (h->magic != PROTO_MAGIC) {
		snprintf(err, errlen,
		    "not a relocd frame (bad magic 0x%08x): is the peer a "
		    "relocd?", h->magic);
		return PROTO_E_MAGIC;
	}
	if (h->version != PROTO_VERSION) {
		snprintf(err, errlen,
		    "protocol version %u not supported (this side speaks %u)",
		    h->version, PROTO_VERSION);
		return PROTO_E_VERSION;
	}
	if ((h->flags & PROTO_FLAGS_MANDATORY & ~PROTO_FLAGS_KNOWN) != 0) {
		snprintf(err, errlen, "unknown mandatory flags 0x%04x",
		    h->flags & PROTO_FLAGS_MANDATORY & ~PROTO_FLAGS_KNOWN);
		return PROTO_E_FLAGS;
	}
	if (!proto_type_known(h->type)) {
		snprintf(err, errlen, "unknown frame type 0x%02x", h->type);
		return PROTO_E_TYPE;
	}
	if (h->len > max_len) {
		snprintf(err, errlen,
		    "%s frame of %u bytes exceeds the limit of %zu",
		    proto_type_name(h->type), h->len, max_len);
		return PROTO_E_TOOBIG;
	}
	return PROTO_OK;
}

void
proto_hdr_encode(uint8_t *buf, int type, uint16_t flags, uint32_t len)
{
	uint32_t v32;
	uint16_t v16;

	v32 = htonl(PROTO_MAGIC);
	memcpy(buf, &v32, 4);
	buf[4] = PROTO_VERSION;
	buf[5] = (uint8_t)type;
	v16 = htons(flags);
	memcpy(buf + 6, &v16, 2);
	v32 = htonl(len);
	memcpy(buf + 8, &v32, 4);
}

int
proto_body_decode(const uint8_t *buf, size_t len, struct json_object **out,
    char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	int rc = PROTO_E_BODY;

	*out = NULL;
	if (len == 0) {
		*out = json_object_new_object();
		return PROTO_OK;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "frame body contains a NUL byte");
		goto out;
	}
	/* Depth 16: our bodies are flat; a deep one is an attack. */
	if ((tok = json_tokener_new_ex(16)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	obj = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (obj == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, errlen, "frame body is not valid JSON: %s",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "frame body has trailing bytes");
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "frame body is not a JSON object");
		goto out;
	}
	*out = obj;
	obj = NULL;
	rc = PROTO_OK;
out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

int
proto_send(struct iochan *ioc, int type, struct json_object *body)
{
	return proto_send_flags(ioc, type, 0, body);
}

int
proto_send_flags(struct iochan *ioc, int type, uint16_t flags,
    struct json_object *body)
{
	const char *text = "{}";
	size_t len = 2;
	uint8_t *buf;
	int rc;

	if (body != NULL)
		text = json_object_to_json_string_length(body,
		    JSON_C_TO_STRING_PLAIN, &len);
	if ((buf = malloc(PROTO_HDR_LEN + len)) == NULL) {
		snprintf(ioc->err, sizeof(ioc->err), "out of memory");
		return -1;
	}
	/* Header and body in one write: one TLS record for small frames. */
	proto_hdr_encode(buf, type, flags, (uint32_t)len);
	memcpy(buf + PROTO_HDR_LEN, text, len);
	rc = ioc_write_full(ioc, buf, PROTO_HDR_LEN + len);
	free(buf);
	return rc;
}

int
proto_send_error(struct iochan *ioc, const char *code, const char *fmt, ...)
{
	struct json_object *o;
	char msg[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	rc = proto_send(ioc, PT_ERROR, o);
	json_object_put(o);
	return rc;
}

int
proto_recv(struct iochan *ioc, struct proto_hdr *h, struct json_object **body,
    size_t max_len, char *err, size_t errlen)
{
	uint8_t hdr[PROTO_HDR_LEN];
	uint8_t *buf = NULL;
	int rc = -1;

	*body = NULL;
	if (ioc_read_full(ioc, hdr, sizeof(hdr)) == -1) {
		snprintf(err, errlen, "%s", ioc->err);
		return -1;
	}
	if (proto_hdr_decode(hdr, sizeof(hdr), h, max_len, err, errlen) !=
	    PROTO_OK)
		return -1;
	if ((buf = malloc(h->len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ioc_read_full(ioc, buf, h->len) == -1) {
		snprintf(err, errlen, "%s", ioc->err);
		goto out;
	}
	if (proto_body_decode(buf, h->len, body, err, errlen) != PROTO_OK)
		goto out;
	rc = 0;
out:
	free(buf);
	return rc;
}

const char *
proto_get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t
proto_get_int(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}
