/*
 * relocd's frames: the request/response envelope on the TLS port and on
 * the control socket.  A frame is a 12-byte big-endian header
 *	magic u32 "RLCD" | version u8 | type u8 | flags u16 | length u32
 * and a JSON object of length bytes.  Flags 0x00ff are optional, 0xff00
 * mandatory: a receiver refuses mandatory flags it does not know, by name.
 * After a migrate-receive request is accepted, the same TLS session
 * carries xl's migration protocol byte for byte (xlproto.h).
 */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct iochan;

#define PROTO_MAGIC		0x524c4344U	/* "RLCD" */
#define PROTO_VERSION		1
#define PROTO_HDR_LEN		12
#define PROTO_MAX_FRAME		(256 * 1024)	/* control frames */
#define PROTO_MAX_CONFIG_FRAME	(1024 * 1024 + 4096)	/* frames with a config */
#define PROTO_FLAGS_MANDATORY	0xff00U
/*
 * On a migrate-receive request: the session copies the domain's local
 * disks too (diskcopy.h), so the backend's stream travels framed
 * (PT_STREAM_DATA, PT_STREAM_END) and the disks follow it before
 * "ready".  Mandatory: a receiver that cannot do it must refuse, not
 * read disk chunks as stream bytes.
 */
#define PROTO_F_COPY_STORAGE	0x0100U
/*
 * With PROTO_F_COPY_STORAGE, a live migration's disks: pre-copied while
 * the domain runs, before its stream (PT_DISK_CHUNK frames of any disk,
 * in any order, a chunk again whenever it was written since, zero chunks
 * included; then PT_DISK_PRECOPY_END), and after the stream the chunks
 * written since, then PT_DISK_END of every disk in order, whose digest
 * is over the final content (diskcopy.h).  Mandatory: a receiver that
 * only knows the offline order must refuse it by name.
 */
#define PROTO_F_COPY_LIVE	0x0200U
/*
 * With PROTO_F_COPY_STORAGE, always: the receiver makes its copies (an
 * LV is created and zeroed, which can take minutes) between the config
 * and anything that touches the domain, and says so: PT_PROGRESS
 * {"phase": "prepare"[, "message"]} at least every second while it
 * works, then PT_OK {} or PT_ERROR.  The sender suspends the domain
 * (offline) or sends its first chunk (live) only after PT_OK, so the
 * domain runs at the source, and no timeout runs out, while the
 * destination's storage is slow.  Mandatory: a sender that does not
 * wait would time out, or suspend the domain for the zeroing.
 */
#define PROTO_F_COPY_PREPARE	0x0400U
#define PROTO_FLAGS_KNOWN	(PROTO_F_COPY_STORAGE | PROTO_F_COPY_LIVE | \
				 PROTO_F_COPY_PREPARE)

/*
 * Type numbers are allocated in ranges per feature so that features can
 * grow independently: console 0x05, 0x08-0x0f, 0x24, 0x28-0x2f, 0x84-0x87;
 * recovery/jobs/forced restart 0x06-0x07, 0x10-0x17, 0x25-0x27, 0x30-0x37,
 * 0x88-0x8b;
 * tunnel 0x23, 0x38-0x3f; speedtest 0x40-0x47; maintenance 0x50-0x57;
 * copy storage 0x60-0x67.
 */

/* Requests between hosts (TLS port). */
#define PT_LIST			0x01
#define PT_HOST_INFO		0x02
#define PT_PREFLIGHT		0x03
#define PT_MIGRATE_RECEIVE	0x04
#define PT_CONSOLE		0x05
/*
 * After PT_OK to a console request the session carries console records,
 * not frames: kind u8 | length u16 (big-endian) | payload.  The kinds
 * take numbers from the console range so they never read as frame types.
 */
#define CONSOLE_REC_HDR		3
#define CONSOLE_REC_MAX		16384	/* payload bytes */
#define PT_CONSOLE_OUT		0x08	/* guest output bytes */
#define PT_CONSOLE_IN		0x09	/* keystrokes for the guest */
#define PT_CONSOLE_MOVED	0x0a	/* {"domain", "to": "host:port"} */
#define PT_CONSOLE_END		0x0b	/* {"domain", "message"}: gone */
#define PT_CONSOLE_DETACH	0x0c	/* the client leaves */
#define PT_RECOVER		0x10	/* recovery: query or settle copies */
#define PT_FORCE		0x11	/* a peer's operator: force DOM here */
#define PT_SPEEDTEST		0x40	/* {"bytes"}; after PT_OK, raw bytes */
/*
 * Copy storage (PROTO_F_COPY_STORAGE), sender to receiver, inside xl's
 * protocol: the backend's stream as PT_STREAM_DATA frames (raw bytes,
 * at most PROTO_STREAM_CHUNK) ended by PT_STREAM_END {}, then for each
 * disk in the request's order its PT_DISK_CHUNK frames (diskcopy.h) and
 * PT_DISK_END {"disk", "chunks", "bytes", "digest"}.
 */
#define PT_STREAM_DATA		0x60
#define PT_STREAM_END		0x61
#define PT_DISK_CHUNK		0x62
#define PT_DISK_END		0x63
/* {"rounds", "chunks"}: the live pre-copy ends, the stream follows */
#define PT_DISK_PRECOPY_END	0x64
#define PROTO_STREAM_CHUNK	(256 * 1024)
/* Requests on the local control socket only. */
#define PT_CTL_MIGRATE		0x20
#define PT_CTL_CREATE		0x21
#define PT_CTL_DESTROY		0x22
#define PT_CTL_TUNNEL		0x23
#define PT_CTL_JOBS		0x30	/* the migration journal */
#define PT_CTL_RECOVER		0x31	/* xmig recover DOM [HOST] */
#define PT_CTL_CANCEL		0x32	/* xmig cancel DOM */
#define PT_CTL_CHECK		0x33	/* xmig check DOM HOST */
#define PT_CTL_PLACE		0x34	/* xmig place DOM */
#define PT_CTL_FORCE		0x35	/* xmig migrate --force DOM HOST */
#define PT_CTL_SPEEDTEST	0x41	/* xmig speedtest HOST */
#define PT_CTL_MAINTENANCE	0x50	/* xmig maintenance [on|off] */
/* Served only by test builds of relocd (RELOCD_TESTING). */
#define PT_TEST_FORBIDDEN	0x7e
/* Replies. */
#define PT_OK			0x80
#define PT_ERROR		0x81
#define PT_PROGRESS		0x82
#define PT_RESULT		0x83

/* Decoder results. */
#define PROTO_OK		0
#define PROTO_E_MAGIC		-1
#define PROTO_E_VERSION		-2
#define PROTO_E_TYPE		-3
#define PROTO_E_FLAGS		-4
#define PROTO_E_TOOBIG		-5
#define PROTO_E_SHORT		-6
#define PROTO_E_BODY		-7

struct proto_hdr {
	uint32_t	magic;
	uint8_t		version;
	uint8_t		type;
	uint16_t	flags;
	uint32_t	len;
};

const char *proto_type_name(int type);
/* Decode and validate a header against max_len; message in err. */
int	proto_hdr_decode(const uint8_t *buf, size_t len, struct proto_hdr *,
	    size_t max_len, char *err, size_t errlen);
void	proto_hdr_encode(uint8_t *buf, int type, uint16_t flags,
	    uint32_t len);
/* Parse a body: a JSON object of exactly len bytes. */
int	proto_body_decode(const uint8_t *buf, size_t len,
	    struct json_object **out, char *err, size_t errlen);

/* Blocking frame I/O over a channel. body may be NULL ({}). */
int	proto_send(struct iochan *, int type, struct json_object *body);
/* The same with header flags. */
int	proto_send_flags(struct iochan *, int type, uint16_t flags,
	    struct json_object *body);
/* Send PT_ERROR {"code": code, "message": msg}. */
int	proto_send_error(struct iochan *, const char *code, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* Receive one frame; on failure err says why (channel or decoder). */
int	proto_recv(struct iochan *, struct proto_hdr *,
	    struct json_object **body, size_t max_len, char *err,
	    size_t errlen);

/* Convenience accessors on a body; NULL / dflt when absent or mistyped. */
const char *proto_get_str(struct json_object *, const char *key);
int64_t	proto_get_int(struct json_object *, const char *key, int64_t dflt);

#endif
