/*
 * xmig console: an interactive console through the local relocd, which
 * serves it or relays it from another host over mutual TLS (keys stay in
 * the daemon).  When the domain migrates away, relocd says where it went
 * and we attach there by ourselves.
 *
 * The terminal is raw while attached and restored on every way out:
 * Ctrl-], a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT), a dropped
 * connection, the domain's end, any error, and exit() through atexit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conrec.h"
#include "proto.h"
#include "xmig.h"

#define CONSOLE_ESCAPE		0x1d	/* Ctrl-] */
#define CONSOLE_TAIL_DEFAULT	20
#define CONSOLE_TAIL_RECONNECT	200	/* shows what ran while we moved */
#define CONSOLE_ATTACH_TRIES	10	/* the domain may still be arriving */
#define CONSOLE_MOVES_IDLE_MAX	8	/* moves with no output between */

struct con_state {
	const char	*dom;		/* as the user named it */
	char		 name[64];	/* as relocd knows it */
	char		 where[300];	/* "" = this host */
	struct iochan	 ioc;
	uint8_t		 buf[CONSOLE_REC_HDR + CONSOLE_REC_MAX];
	size_t		 len;
	int		 stdin_open;
	int		 shown;		/* output since the last move */
};

static struct termios con_saved;
static int con_raw;
static volatile sig_atomic_t con_signal;

static void	con_tty_restore(void);
static void	con_tty_raw(void);
static void	con_on_signal(int);
static void	con_say(const char *, ...) __attribute__((format(printf, 1,
		    2)));
static int	con_write_all(int, const void *, size_t);
static int	con_open(struct con_state *, const char *, int, char *, size_t,
		    int *);
static int	con_send(struct con_state *, int, const void *, size_t);
static int	con_from_relocd(struct con_state *, int *, char *, size_t);
static int	con_from_user(struct con_state *);
static int	con_follow(struct con_state *, struct json_object *);

static void
con_tty_restore(void)
{
	if (!con_raw)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &con_saved);
	con_raw = 0;
}

static void
con_tty_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &con_saved) ==
	    -1)
		return;
	t = con_saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
		con_raw = 1;
}

static void
con_on_signal(int sig)
{
	con_signal = sig;
}

/* One status line of ours, on its own line in a raw terminal too. */
static void
con_say(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (con_raw)
		dprintf(STDOUT_FILENO, "\r\n[xmig: %s]\r\n", msg);
	else
		dprintf(STDOUT_FILENO, "\n[xmig: %s]\n", msg);
}

static int
con_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR && !con_signal)
			continue;
		if (n == -1 && errno == EAGAIN) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, 1000);
			continue;
		}
		return -1;
	}
	return 0;
}

/*
 * Ask the local relocd for the console, here or on host.  0 and the
 * channel open on success; -1 with the message in err, and *notfound
 * set when relocd's code says the domain is not (yet) there.
 */
static int
con_open(struct con_state *c, const char *host, int tail, char *err,
    size_t errlen, int *notfound)
{
	struct json_object *req = NULL, *body = NULL;
	struct proto_hdr h;
	const char *code;
	int rc = -1;

	*notfound = 0;
	c->len = 0;
	if (ctl_open(&c->ioc) == -1) {
		snprintf(err, errlen, "cannot reach the local relocd");
		return -1;
	}
	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string(c->dom));
	json_object_object_add(req, "tail_lines", json_object_new_int(tail));
	if (host != NULL && *host != '\0')
		json_object_object_add(req, "host",
		    json_object_new_string(host));
	if (proto_send(&c->ioc, PT_CONSOLE, req) == -1) {
		snprintf(err, errlen, "sending the request to relocd: %s",
		    c->ioc.err);
		goto out;
	}
	if (proto_recv(&c->ioc, &h, &body, PROTO_MAX_FRAME, err, errlen) ==
	    -1)
		goto out;
	if (h.type == PT_ERROR) {
		code = proto_get_str(body, "code");
		*notfound = code != NULL && strcmp(code, "notfound") == 0;
		snprintf(err, errlen, "%s", proto_get_str(body, "message") ?
		    proto_get_str(body, "message") : "relocd refused");
		goto out;
	}
	if (h.type != PT_OK) {
		snprintf(err, errlen, "unexpected %s answer from relocd",
		    proto_type_name(h.type));
		goto out;
	}
	snprintf(c->name, sizeof(c->name), "%s",
	    proto_get_str(body, "domain") ? proto_get_str(body, "domain") :
	    c->dom);
	snprintf(c->where, sizeof(c->where), "%s", host ? host : "");
	rc = 0;
out:
	if (rc == -1)
		ctl_close(&c->ioc);
	json_object_put(req);
	json_object_put(body);
	return rc;
}

static int
con_send(struct con_state *c, int kind, const void *buf, size_t len)
{
	uint8_t rec[CONSOLE_REC_HDR + 4096];	/* con_from_user's read */
	ssize_t n;

	if ((n = conrec_encode(rec, sizeof(rec), kind, buf, len)) == -1)
		return -1;
	return con_write_all(c->ioc.fd, rec, n);
}

/*
 * Records from relocd.  1: go on; 0: the console ended (*kind says how:
 * PT_CONSOLE_MOVED with its JSON in msg, PT_CONSOLE_END with the reason,
 * or 0 for a dropped connection).
 */
static int
con_from_relocd(struct con_state *c, int *kind, char *msg, size_t msglen)
{
	struct conrec r;
	char why[256];
	ssize_t n;
	int dr;

	*kind = 0;
	n = read(c->ioc.fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		snprintf(msg, msglen, "%s", n == 0 ? "relocd closed the "
		    "connection" : strerror(errno));
		return 0;
	}
	c->len += n;
	/* c->buf holds a record of the largest size: MORE never means a
	 * full buffer. */
	while ((dr = conrec_decode(c->buf, c->len, &r, why, sizeof(why))) ==
	    CONREC_OK) {
		if (r.kind == PT_CONSOLE_OUT) {
			if (con_write_all(STDOUT_FILENO, r.payload, r.len) ==
			    -1) {
				snprintf(msg, msglen, "writing to the "
				    "terminal: %s", strerror(errno));
				return 0;
			}
			c->shown = 1;
		} else if (r.kind == PT_CONSOLE_MOVED ||
		    r.kind == PT_CONSOLE_END) {
			*kind = r.kind;
			snprintf(msg, msglen, "%.*s", (int)r.len,
			    (const char *)r.payload);
			return 0;
		}
		memmove(c->buf, c->buf + r.size, c->len - r.size);
		c->len -= r.size;
	}
	if (dr == CONREC_BAD) {
		snprintf(msg, msglen, "malformed console record: %s", why);
		return 0;
	}
	return 1;
}

/* Keystrokes to the guest.  1: go on; 0: the user detached; -1: error. */
static int
con_from_user(struct con_state *c)
{
	uint8_t buf[4096];
	ssize_t n, i;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		/* Input ended (a pipe, /dev/null): go on watching. */
		c->stdin_open = 0;
		return 1;
	}
	for (i = 0; i < n; i++)
		if (buf[i] == CONSOLE_ESCAPE)
			break;
	if (i > 0 && con_send(c, PT_CONSOLE_IN, buf, i) == -1)
		return -1;
	if (i < n) {
		con_send(c, PT_CONSOLE_DETACH, NULL, 0);
		return 0;
	}
	return 1;
}

/* The domain went elsewhere: attach there.  0 or the exit status. */
static int
con_follow(struct con_state *c, struct json_object *moved)
{
	const char *to = proto_get_str(moved, "to");
	char err[1024], dest[300];
	int tries, notfound;

	if (to == NULL) {
		con_say("%s moved, but relocd did not say where", c->name);
		return EXIT_FAILED;
	}
	snprintf(dest, sizeof(dest), "%s", to);
	ctl_close(&c->ioc);
	for (tries = 0; tries < CONSOLE_ATTACH_TRIES; tries++) {
		if (con_signal)
			return EXIT_FAILED;
		if (con_open(c, dest, CONSOLE_TAIL_RECONNECT, err, sizeof(err),
		    &notfound) == 0) {
			con_say("%s moved to %s, reconnected", c->name, dest);
			return 0;
		}
		if (!notfound)
			break;
		/* The report can reach the source a moment before the
		 * destination's name is final. */
		poll(NULL, 0, 200);
	}
	con_say("%s moved to %s, but attaching there failed: %s", c->name,
	    dest, err);
	return EXIT_FAILED;
}

int
console_attach(const char *dom, const char *host, int tail)
{
	struct con_state c;
	struct json_object *o = NULL;
	struct pollfd pfd[2];
	struct sigaction sa, old[4];
	const int sigs[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	char err[1024];
	int i, r, kind, notfound, rc = EXIT_FAILED, moves_idle = 0;

	memset(&c, 0, sizeof(c));
	c.dom = dom;
	c.ioc.fd = -1;
	c.stdin_open = 1;
	if (con_open(&c, host, tail, err, sizeof(err), &notfound) == -1) {
		xmig_err("console %s%s%s: %s", dom, host ? " on " : "",
		    host ? host : "", err);
		return EXIT_FAILED;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = con_on_signal;
	sigemptyset(&sa.sa_mask);	/* no SA_RESTART: poll must return */
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	atexit(con_tty_restore);
	con_tty_raw();
	con_say("attached to %s%s%s; Ctrl-] detaches", c.name,
	    *c.where ? " on " : "", c.where);

	/* Ends on Ctrl-], a signal, or the console's end; each wait is
	 * bounded by the poll timeout so a signal is always seen. */
	for (;;) {
		if (con_signal) {
			con_tty_restore();
			con_say("detached from %s (signal %d)", c.name,
			    (int)con_signal);
			rc = EXIT_FAILED;
			break;
		}
		pfd[0].fd = c.ioc.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = c.stdin_open ? STDIN_FILENO : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR) {
			con_tty_restore();
			xmig_err("console: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0) {
			if ((r = con_from_user(&c)) <= 0) {
				con_tty_restore();
				if (r == 0)
					con_say("detached from %s", c.name);
				else
					xmig_err("console %s: lost the "
					    "connection to relocd", c.name);
				rc = r == 0 ? EXIT_OK : EXIT_FAILED;
				break;
			}
		}
		if (pfd[0].revents == 0)
			continue;
		if (con_from_relocd(&c, &kind, err, sizeof(err)) == 1) {
			if (c.shown)
				moves_idle = 0;
			c.shown = 0;
			continue;
		}
		if (kind == PT_CONSOLE_MOVED) {
			json_object_put(o);
			o = json_tokener_parse(err);
			if (++moves_idle > CONSOLE_MOVES_IDLE_MAX) {
				con_tty_restore();
				con_say("%s keeps moving without output; "
				    "giving up", c.name);
				break;
			}
			if ((rc = con_follow(&c, o)) != 0) {
				con_tty_restore();
				break;
			}
			rc = EXIT_FAILED;
			continue;
		}
		con_tty_restore();
		if (kind == PT_CONSOLE_END) {
			json_object_put(o);
			o = json_tokener_parse(err);
			con_say("console closed: %s", proto_get_str(o,
			    "message") ? proto_get_str(o, "message") :
			    "the domain is gone");
			rc = EXIT_OK;
		} else
			con_say("lost the console of %s: %s", c.name, err);
		break;
	}
	con_tty_restore();
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	json_object_put(o);
	ctl_close(&c.ioc);
	return rc;
}

int
main_console(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "tail", required_argument, NULL, 't' },
		{ "no-tail", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL;
	char *end;
	long tail = CONSOLE_TAIL_DEFAULT;
	int ch;

	while ((ch = getopt_long(argc, argv, "H:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 't':
			errno = 0;
			tail = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    tail < 0 || tail > 1000) {
				xmig_err("tail: '%s' is not a number of lines "
				    "from 0 to 1000", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			tail = 0;
			break;
		default:
			return xmig_usage("console");
		}
	}
	if (argc - optind != 1)
		return xmig_usage("console");
	return console_attach(argv[optind], host, (int)tail);
}
