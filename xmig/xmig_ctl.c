#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "xmig.h"

int
ctl_open(struct iochan *ioc)
{
	struct sockaddr_un sun;
	const char *path = xmig_conf.control_socket;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		xmig_err("control socket path too long: %s", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xmig_err("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		xmig_err("cannot reach relocd at %s: %s%s", path, strerror(e),
		    e == ENOENT || e == ECONNREFUSED ?
		    " (is relocd running? see relocd(8))" : e == EACCES ?
		    " (the control socket is for root and the relocd group)" :
		    "");
		close(fd);
		return -1;
	}
	/* No idle limit: a migration may take long between two frames
	 * only if relocd is stuck, and relocd has its own timeouts. */
	ioc_init(ioc, fd, 0);
	return 0;
}

void
ctl_close(struct iochan *ioc)
{
	if (ioc->fd != -1)
		close(ioc->fd);
	ioc->fd = -1;
}

/* One request and its answer on an open control channel. */
int
ctl_request(struct iochan *ioc, int type, struct json_object *req,
    struct json_object **reply)
{
	struct proto_hdr h;
	struct json_object *body = NULL;
	char err[512];
	int rc = -1;

	*reply = NULL;
	if (proto_send(ioc, type, req) == -1) {
		xmig_err("sending the request to relocd: %s", ioc->err);
		goto out;
	}
	if (proto_recv(ioc, &h, &body, PROTO_MAX_CONFIG_FRAME, err,
	    sizeof(err)) == -1) {
		xmig_err("no answer from relocd: %s", err);
		goto out;
	}
	if (h.type == PT_ERROR) {
		xmig_err("%s", proto_get_str(body, "message") ?
		    proto_get_str(body, "message") : "relocd refused");
		goto out;
	}
	/* PT_RESULT: a final answer that carries an exit status. */
	if (h.type != PT_OK && h.type != PT_RESULT) {
		xmig_err("unexpected %s answer from relocd",
		    proto_type_name(h.type));
		goto out;
	}
	*reply = body;
	body = NULL;
	rc = 0;
out:
	json_object_put(body);
	return rc;
}

int
ctl_call(int type, struct json_object *req, struct json_object **reply)
{
	struct iochan ioc;
	int rc;

	*reply = NULL;
	if (ctl_open(&ioc) == -1)
		return -1;
	rc = ctl_request(&ioc, type, req, reply);
	ctl_close(&ioc);
	return rc;
}
