/*
 * xmig tunnel HOST [xl migrate-receive ...]: the transport for stock xl.
 *
 *	xl migrate -s "xmig tunnel" DOM HOST
 *
 * makes xl run "xmig tunnel HOST xl migrate-receive [-e] [-d] [-p]" in
 * place of ssh, with xl's migration protocol on our stdin (to the
 * receiver) and stdout (back from it).  We hand both to the local relocd
 * over the control socket; relocd opens the mutual-TLS session to HOST's
 * relocd (its keys never leave the daemon), asks for a migrate-receive
 * and relays.  Nothing of xl's protocol is interpreted here.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "xmig.h"

#define TUNNEL_BUF	(256 * 1024)

static int	tunnel_parse_remote(int, char **, int *);
static int	tunnel_write_all(int, const char *, size_t);
static int	tunnel_relay(struct iochan *);

/*
 * What xl asks the far end to run.  Only migrate-receive makes sense
 * here; its -p (leave paused) is honoured, -e/-d/-F change nothing for
 * relocd, and Remus/COLO (-r, --colo) are not a migration relocd takes.
 */
static int
tunnel_parse_remote(int argc, char **argv, int *paused)
{
	const char *base;
	int i = 0;

	*paused = 0;
	if (argc == 0)
		return 0;	/* "xmig tunnel HOST": migrate-receive */
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(base, "xl") != 0) {
		xmig_err("tunnel: the far end can only run 'xl "
		    "migrate-receive', not '%s'", argv[0]);
		return -1;
	}
	/* xl's global options (-t, -T, -v) come before the command. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++)
		;
	if (i == argc || strcmp(argv[i], "migrate-receive") != 0) {
		xmig_err("tunnel: the far end can only run 'xl "
		    "migrate-receive', not 'xl %s'", i < argc ? argv[i] : "");
		return -1;
	}
	for (i++; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0)
			*paused = 1;
		else if (strcmp(argv[i], "-e") != 0 &&
		    strcmp(argv[i], "-d") != 0 && strcmp(argv[i], "-F") != 0) {
			xmig_err("tunnel: 'xl migrate-receive %s' is not "
			    "supported: relocd receives plain migrations "
			    "(no Remus or COLO)", argv[i]);
			return -1;
		}
	}
	return 0;
}

static int
tunnel_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* stdin -> relocd, relocd -> stdout, until relocd closes. */
static int
tunnel_relay(struct iochan *ctl)
{
	struct pollfd pfd[2];
	char *buf;
	ssize_t n;
	int in_open = 1, rc = -1;

	if ((buf = malloc(TUNNEL_BUF)) == NULL) {
		xmig_err("tunnel: out of memory");
		return -1;
	}
	for (;;) {
		pfd[0].fd = in_open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctl->fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			xmig_err("tunnel: poll: %s", strerror(errno));
			break;
		}
		if (in_open && pfd[0].revents != 0) {
			n = read(STDIN_FILENO, buf, TUNNEL_BUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* xl is done sending: say so, keep reading
				 * the receiver's answers. */
				in_open = 0;
				shutdown(ctl->fd, SHUT_WR);
			} else if (tunnel_write_all(ctl->fd, buf, n) == -1) {
				xmig_err("tunnel: writing to relocd: %s",
				    strerror(errno));
				break;
			}
		}
		if (pfd[1].revents != 0) {
			n = read(ctl->fd, buf, TUNNEL_BUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0) {
				rc = 0;
				break;
			}
			if (n == -1) {
				xmig_err("tunnel: reading from relocd: %s",
				    strerror(errno));
				break;
			}
			if (tunnel_write_all(STDOUT_FILENO, buf, n) == -1) {
				xmig_err("tunnel: writing to xl: %s",
				    strerror(errno));
				break;
			}
		}
	}
	free(buf);
	return rc;
}

int
main_tunnel(int argc, char **argv)
{
	struct json_object *req = NULL, *body = NULL;
	struct iochan ctl;
	int paused, rc = EXIT_FAILED, opened = 0;

	if (argc < 2 || argv[1][0] == '-')
		return xmig_usage("tunnel");
	if (tunnel_parse_remote(argc - 2, argv + 2, &paused) == -1)
		return EXIT_USAGE;
	if (ctl_open(&ctl) == -1)
		return EXIT_FAILED;
	opened = 1;
	req = json_object_new_object();
	json_object_object_add(req, "host", json_object_new_string(argv[1]));
	json_object_object_add(req, "paused", json_object_new_int(paused));
	/* A refusal is printed on our stderr, which xl shows; the domain
	 * stays at the source. */
	if (ctl_request(&ctl, PT_CTL_TUNNEL, req, &body) == -1)
		goto out;
	if (tunnel_relay(&ctl) == 0)
		rc = EXIT_OK;
out:
	json_object_put(req);
	json_object_put(body);
	if (opened)
		ctl_close(&ctl);
	return rc;
}
