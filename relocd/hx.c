#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hx.h"
#include "relocd.h"

static int	hx_read_full(int, void *, size_t, char *, size_t);

/* The short codes PT_ERROR carries (xmig and peers read them). */
static const char *const hx_codes[] = {
	"refused", "maintenance", "config", "policy", "exists", "nomem",
	"full", "busy", "backend", "notfound", "usage", "journal", "stream",
	"migrating", "proto", "peer", "helper", "storage", "disk", NULL
};

const char *
hx_code(const char *code)
{
	size_t i;

	for (i = 0; code != NULL && hx_codes[i] != NULL; i++)
		if (strcmp(code, hx_codes[i]) == 0)
			return hx_codes[i];
	return "refused";
}

const char *
hx_op_name(int op)
{
	switch (op) {
	case HX_BEGIN:
		return "begin";
	case HX_LIST:
		return "list";
	case HX_HOST_INFO:
		return "host-info";
	case HX_FACTS:
		return "facts";
	case HX_CREATE:
		return "create";
	case HX_DESTROY:
		return "destroy";
	case HX_MAINTENANCE:
		return "maintenance";
	case HX_SESSION:
		return "session";
	case HX_CANCEL:
		return "cancel";
	case HX_RESERVE:
		return "reserve";
	case HX_DOMFACTS:
		return "domain-facts";
	case HX_RECV_CHECK:
		return "recv-check";
	case HX_RECV_BEGIN:
		return "recv-begin";
	case HX_RECV_RESTORE:
		return "recv-restore";
	case HX_RECV_GO:
		return "recv-go";
	case HX_RECV_REPORTED:
		return "recv-reported";
	case HX_RECV_ABORT:
		return "recv-abort";
	case HX_SRC_BEGIN:
		return "src-begin";
	case HX_SRC_DISK:
		return "src-disk";
	case HX_SRC_DISK_PROGRESS:
		return "src-disk-progress";
	case HX_RECV_DISK:
		return "recv-disk";
	case HX_RECV_DISK_DONE:
		return "recv-disk-done";
	case HX_RECV_DISK_VERIFY:
		return "recv-disk-verify";
	case HX_SRC_STREAM:
		return "src-stream";
	case HX_SRC_READY:
		return "src-ready";
	case HX_SRC_REPORT:
		return "src-report";
	case HX_SRC_LOST:
		return "src-lost";
	case HX_SRC_ABORT:
		return "src-abort";
	case HX_CONSOLE_OPEN:
		return "console-open";
	case HX_CONSOLE_CHECK:
		return "console-check";
	case HX_JOBS:
		return "jobs";
	case HX_FORCE_LOOKUP:
		return "force-lookup";
	case HX_FORCE_START:
		return "force-start";
	case HX_RECOVER_COPIES:
		return "recover-copies";
	case HX_RECOVER_ACT:
		return "recover-act";
	case HX_RECOVER_MARK:
		return "recover-mark";
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
hx_send(int fd, int type, struct json_object *body, const int *fds, int nfds,
    char *err, size_t errlen)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * HX_MAX_FDS)];
	} cm;
	struct msghdr msg;
	struct iovec iov[2];
	uint8_t hdr[PROTO_HDR_LEN];
	const char *text = "{}";
	size_t len = 2, off = 0, total;
	ssize_t n;

	if (body != NULL)
		text = json_object_to_json_string_length(body,
		    JSON_C_TO_STRING_PLAIN, &len);
	if (len > HX_MAX_FRAME || nfds > HX_MAX_FDS) {
		snprintf(err, errlen, "helper frame too large");
		return -1;
	}
	proto_hdr_encode(hdr, type, 0, (uint32_t)len);
	total = PROTO_HDR_LEN + len;
	while (off < total) {
		memset(&msg, 0, sizeof(msg));
		if (off < PROTO_HDR_LEN) {
			iov[0].iov_base = hdr + off;
			iov[0].iov_len = PROTO_HDR_LEN - off;
			iov[1].iov_base = (void *)text;
			iov[1].iov_len = len;
			msg.msg_iovlen = 2;
		} else {
			iov[0].iov_base = (char *)text + (off - PROTO_HDR_LEN);
			iov[0].iov_len = total - off;
			msg.msg_iovlen = 1;
		}
		msg.msg_iov = iov;
		/* The descriptors ride on the first byte of the header. */
		if (off == 0 && nfds > 0) {
			memset(&cm, 0, sizeof(cm));
			msg.msg_control = cm.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm.hdr.cmsg_level = SOL_SOCKET;
			cm.hdr.cmsg_type = SCM_RIGHTS;
			cm.hdr.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(&cm.hdr), fds, sizeof(int) * nfds);
		}
		if ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "helper channel: %s",
			    strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

static int
hx_read_full(int fd, void *buf, size_t len, char *err, size_t errlen)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, (char *)buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "helper channel: %s", n == 0 ?
			    "closed" : strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

int
hx_recv(int fd, int *type, struct json_object **body, int *fds, int *nfds,
    char *err, size_t errlen)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * HX_MAX_FDS)];
	} cm;
	struct cmsghdr *c;
	struct msghdr msg;
	struct iovec iov;
	uint8_t hdr[PROTO_HDR_LEN], *text = NULL;
	uint32_t v32, len;
	ssize_t n;
	int i, got = 0, rc = -1;

	*body = NULL;
	if (nfds != NULL)
		*nfds = 0;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = hdr;
	iov.iov_len = sizeof(hdr);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n <= 0) {
		snprintf(err, errlen, "helper channel: %s", n == 0 ? "closed" :
		    strerror(errno));
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		got = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < got && i < HX_MAX_FDS; i++) {
			int d;

			memcpy(&d, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds != NULL && nfds != NULL)
				fds[(*nfds)++] = d;
			else
				close(d);
		}
	}
	if ((size_t)n < sizeof(hdr) && hx_read_full(fd, hdr + n,
	    sizeof(hdr) - (size_t)n, err, errlen) == -1)
		goto out;
	memcpy(&v32, hdr, 4);
	if (ntohl(v32) != PROTO_MAGIC || hdr[4] != PROTO_VERSION) {
		snprintf(err, errlen, "helper channel: not a relocd frame");
		goto out;
	}
	memcpy(&v32, hdr + 8, 4);
	len = ntohl(v32);
	if (len > HX_MAX_FRAME || hx_op_name(hdr[5]) == NULL) {
		snprintf(err, errlen, "helper channel: bad frame (type 0x%02x, "
		    "%u bytes)", hdr[5], len);
		goto out;
	}
	if ((text = malloc(len ? len : 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (hx_read_full(fd, text, len, err, errlen) == -1 ||
	    proto_body_decode(text, len, body, err, errlen) != 0)
		goto out;
	*type = hdr[5];
	rc = 0;
out:
	free(text);
	if (rc == -1 && nfds != NULL) {
		for (i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return rc;
}

int
hx_ask(struct hx *hx, int op, struct json_object *args, int sendfd,
    char *msg, size_t msglen)
{
	if (hx_send(hx->fd, op, args, sendfd != -1 ? &sendfd : NULL,
	    sendfd != -1 ? 1 : 0, msg, msglen) == -1)
		return -1;
	hx->asked++;
	return 0;
}

/* The next answer's frame, past any progress: -1 if the channel broke. */
static int
hx_wait(struct hx *hx, int *type, struct json_object **body, int *fds,
    int *nfds, char *msg, size_t msglen)
{
	for (;;) {
		if (hx_recv(hx->fd, type, body, fds, nfds, msg, msglen) ==
		    -1) {
			hx->asked = 0;
			return -1;
		}
		if (*type != PT_PROGRESS)
			break;
		json_object_put(*body);
	}
	if (hx->asked > 0)
		hx->asked--;
	return 0;
}

int
hx_answer(struct hx *hx, struct json_object **reply, int *fds, int *nfds,
    const char **code, char *msg, size_t msglen)
{
	struct json_object *body = NULL;
	int type;

	*reply = NULL;
	*code = "helper";
	if (hx_wait(hx, &type, &body, fds, nfds, msg, msglen) == -1)
		return -1;
	switch (type) {
	case PT_OK:
		*reply = body;
		return 0;
	case PT_RESULT:
		*reply = body;
		return 1;
	case PT_ERROR:
		/* code points into a static string: the body is dropped. */
		snprintf(msg, msglen, "%s", proto_get_str(body, "message") ?
		    proto_get_str(body, "message") : "(no reason given)");
		*code = hx_code(proto_get_str(body, "code"));
		break;
	default:
		snprintf(msg, msglen, "helper answered %s", hx_op_name(type));
		break;
	}
	json_object_put(body);
	return -1;
}

int
hx_call(struct hx *hx, int op, struct json_object *args, int sendfd,
    struct json_object **reply, int *fds, int *nfds, const char **code,
    char *msg, size_t msglen)
{
	struct json_object *stale;
	int type;

	*reply = NULL;
	*code = "helper";
	/* An answer still owed to hx_ask (a failure left it unread) would
	 * otherwise be taken for this one's; it no longer matters. */
	while (hx->asked > 0) {
		if (hx_wait(hx, &type, &stale, NULL, NULL, msg, msglen) == -1)
			return -1;
		json_object_put(stale);
	}
	if (hx_ask(hx, op, args, sendfd, msg, msglen) == -1)
		return -1;
	return hx_answer(hx, reply, fds, nfds, code, msg, msglen);
}
