/*
 * The channel between a session's network process and its root helper:
 * a Unix stream socketpair carrying relocd frames (proto.h's header and a
 * JSON object), with up to HX_MAX_FDS descriptors riding on a frame's
 * header.  The network process asks (HX_* operations); the helper answers
 * each with exactly one PT_OK, PT_ERROR {"code", "message"} or PT_RESULT
 * {"exit", "message", ...}, preceded by any number of PT_PROGRESS frames
 * during a stream.  The helper checks every operation against the request
 * the session began with (helper.c's table) and decodes its arguments
 * with the same bounded decoder as network frames.
 */
#ifndef HX_H
#define HX_H

#include <stddef.h>

#include <json-c/json.h>

#include "proto.h"

struct hx;

#define HX_MAX_FDS		2
#define HX_MAX_FRAME		(PROTO_MAX_CONFIG_FRAME + 4096)

/* Operations, in their own number range (never a network frame type). */
#define HX_BEGIN		0xa0	/* {"type", "request"}: slot, scope */
#define HX_LIST			0xa1	/* xmig list's view */
#define HX_HOST_INFO		0xa2	/* host-info's view */
#define HX_FACTS		0xa3	/* host info + domains, for prechecks */
#define HX_CREATE		0xa4	/* {"config"} */
#define HX_DESTROY		0xa5	/* {"domain"} */
#define HX_MAINTENANCE		0xa6	/* [{"maintenance": "on"|"off"}] */
#define HX_SESSION		0xa7	/* parent to relocd-priv only: {"port",
					 * "addr"} + channel [, pidfd] */
#define HX_RECV_CHECK		0xa8	/* {"config"}: would we take it? */
#define HX_RECV_BEGIN		0xa9	/* {"config", "paused"} + data fd */
#define HX_RECV_GO		0xaa	/* "go" read: start it here */
#define HX_RECV_REPORTED	0xab	/* {"ok"}: the report went out, or not */
#define HX_RECV_ABORT		0xac	/* {"reason"}: before "go" */
#define HX_CANCEL		0xad	/* {"domain"}: stop its migration away */
#define HX_RESERVE		0xae	/* {"domain", "memory_kb", "weight"} */
#define HX_DOMFACTS		0xaf	/* {"domain"}: what check asks of it */
#define HX_SRC_BEGIN		0xb0	/* {"domain", "host", "port", "live"} */
#define HX_SRC_STREAM		0xb1	/* + data fd: suspend into it */
#define HX_SRC_READY		0xb2	/* "ready" read: rename, allow "go" */
#define HX_SRC_REPORT		0xb3	/* {"status", "permission"} */
#define HX_SRC_LOST		0xb4	/* {"reason"}: after "go" */
#define HX_SRC_ABORT		0xb5	/* {"reason"}: before "go" */
#define HX_SRC_DISK		0xb6	/* {"disk"} -> its image, read only */
#define HX_RECV_DISK		0xb7	/* {"disk"} -> the copy, to write */
#define HX_RECV_DISK_DONE	0xc2	/* {"disk", "digest", "chunks",
					 * "bytes"}: read it back, compare */
#define HX_SRC_DISK_PROGRESS	0xc3	/* {"disk_bytes", "disk_total"} */
#define HX_RECV_RESTORE		0xc4	/* + data fd: after recv-begin
					 * {"defer_restore": 1} */
#define HX_RECV_DISK_VERIFY	0xc5	/* {"key", "chunks": [[disk, index],
					 * ...], "sync"}: read them back */
#define HX_CONSOLE_OPEN		0xb8	/* {"domain"} -> tty fd [, log fd] */
#define HX_CONSOLE_CHECK	0xb9	/* still here?  if not, moved where? */
#define HX_JOBS			0xbc	/* the journal */
#define HX_FORCE_LOOKUP		0xc0	/* {"domain", "from"}: its record */
#define HX_FORCE_START		0xc1	/* {"domain", "source_is_off",
					 * "probe"}: fence, lease, start */
#define HX_RECOVER_COPIES	0xbd	/* {"domain"}: the copies here */
#define HX_RECOVER_ACT		0xbe	/* {"domain", "action"} */
#define HX_RECOVER_MARK		0xbf	/* {"domain", "message"}: settled */

const char *hx_op_name(int op);
/* A static copy of a known error code ("refused" for any other). */
const char *hx_code(const char *code);

/* Frame I/O on the socketpair, used by both sides.  fds may be NULL. */
int	hx_send(int fd, int type, struct json_object *body, const int *fds,
	    int nfds, char *err, size_t errlen);
/* Waits for one frame; received descriptors go to fds (closed by the
 * caller), *nfds says how many.  -1 with err (0 bytes: "closed"). */
int	hx_recv(int fd, int *type, struct json_object **body, int *fds,
	    int *nfds, char *err, size_t errlen);

/*
 * The network side.  hx_call: one operation and its answer.  Returns 0
 * for PT_OK (body in *reply, may be NULL), 1 for PT_RESULT (*reply), -1
 * for PT_ERROR or a broken channel (code and message; *reply NULL).
 */
int	hx_call(struct hx *, int op, struct json_object *args, int sendfd,
	    struct json_object **reply, int *fds, int *nfds,
	    const char **code, char *msg, size_t msglen);
/*
 * hx_call in two halves, so that the network process works on while the
 * helper does (a live copy's read-back): hx_ask sends, hx_answer reads
 * the answer as hx_call returns it.  Answers come in the order asked;
 * hx_call first reads and drops any that are still owed.
 */
int	hx_ask(struct hx *, int op, struct json_object *args, int sendfd,
	    char *msg, size_t msglen);
int	hx_answer(struct hx *, struct json_object **reply, int *fds,
	    int *nfds, const char **code, char *msg, size_t msglen);

#endif
