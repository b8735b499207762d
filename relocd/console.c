/*
 * Consoles: a worker serves one client's view of one domain's console,
 * and follows the domain when it migrates away.
 *
 * Output comes from the console log (<state_dir>/console/<name>.log, as
 * xenconsoled writes it), followed like tail -f through a fd opened at
 * attach: the log is renamed with its domain, never truncated, so the fd
 * sees every line whatever the domain is called meanwhile.  Input goes to
 * the console tty (xo_console_path).  Reading the tty itself would split
 * the guest's output between the readers, so it is read only when there
 * is no log; then one watcher at a time sees the output.  With a log any
 * number of clients watch one console and input from any of them reaches
 * the guest, as on a shared serial line.
 *
 * After PT_OK the session carries console records (proto.h): OUT from
 * here, IN and DETACH from the client, and a last MOVED or END.  A relay
 * (xmig's -H) passes the records through unchanged, so a client is told
 * where the domain went whichever relocd it talks to.
 *
 * Where a domain went is the moved record <state_dir>/moved/<name>
 * ("host:port"), written by send.c after a successful migration and
 * before the source copy is destroyed; a record is believed only if it
 * changed while the client watched, so an old one never sends a client
 * after a domain that was destroyed here.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "clock.h"
#include "conrec.h"
#include "helper.h"
#include "hx.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

#define CONSOLE_TAIL_MAX_LINES	1000
#define CONSOLE_TAIL_MAX_BYTES	(64 * 1024)
#define CONSOLE_OUT_CHUNK	4096
#define CONSOLE_FOLLOW_MS	100	/* log polling interval */
#define CONSOLE_CHECK_MS	250	/* is the domain still here? */
#define CONSOLE_MOVED_WAIT_MS	2000	/* for a record not yet written */
#define CONSOLE_TTY_WAIT_MS	2000	/* a stuck tty loses keystrokes */
#define CONSOLE_TTY_GONE_MS	10000	/* pty closed, domain still listed */

struct console {
	struct relocd_conf *conf;
	struct iochan	*ioc;
	struct hx	*hx;
	char		 name[64];
	int		 tty_fd;
	int		 log_fd;
	off_t		 log_off;
	int		 last_cr;	/* last byte sent was '\r' */
	uint8_t		 in[CONSOLE_REC_MAX + CONSOLE_REC_HDR];
	size_t		 inlen;
};

static uint64_t	console_now_ms(void);
static void	console_keepalive(int);
static int	console_rec_send(struct iochan *, int, const void *, size_t);
static int	console_out(struct console *, const char *, size_t);
static int	console_tail(struct console *, int);
static int	console_log_pump(struct console *);
static int	console_tty_pump(struct console *);
static int	console_tty_write(struct console *, const uint8_t *, size_t);
static int	console_client_read(struct console *);
static void	console_moved_stamp(struct relocd_conf *, const char *,
		    struct console_rec_stamp *);
static int	console_moved_read(struct helper *, char *, size_t);
static void	console_gone(struct console *, const char *);
static int	console_is_self(struct relocd_conf *, const char *, int);
static int	console_name_ok(const char *);
static void	console_pipe(struct iochan *, struct iochan *);
static void	console_relay(struct worker *, struct json_object *);

static uint64_t
console_now_ms(void)
{
	return clock_mono_us() / 1000;
}

/* A console session may be idle for hours; keepalives find a peer that
 * vanished without closing (a host that lost power), so no worker waits
 * forever on a dead socket. */
static void
console_keepalive(int fd)
{
	int on = 1, idle = 30, intvl = 10, cnt = 3;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* The name becomes a file name (log, moved record): nothing that could
 * leave the directory. */
static int
console_name_ok(const char *name)
{
	return *name != '\0' && *name != '.' && strchr(name, '/') == NULL;
}

static int
console_rec_send(struct iochan *ioc, int kind, const void *buf, size_t len)
{
	return conrec_send(ioc, kind, buf, len);
}

/* The log holds bare LFs; the client's terminal is raw and wants CR LF. */
static int
console_out(struct console *c, const char *buf, size_t len)
{
	char out[CONSOLE_OUT_CHUNK * 2];
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (n + 2 > sizeof(out)) {
			if (console_rec_send(c->ioc, PT_CONSOLE_OUT, out, n) ==
			    -1)
				return -1;
			n = 0;
		}
		if (buf[i] == '\n' && !c->last_cr)
			out[n++] = '\r';
		out[n++] = buf[i];
		c->last_cr = buf[i] == '\r';
	}
	if (n > 0 && console_rec_send(c->ioc, PT_CONSOLE_OUT, out, n) == -1)
		return -1;
	return 0;
}

/* The last lines written before the client came, bounded in lines and
 * bytes; following starts where the tail ends. */
static int
console_tail(struct console *c, int lines)
{
	struct stat st;
	char *buf = NULL;
	off_t start;
	ssize_t n, i;
	int seen = 0, rc = -1;

	if (fstat(c->log_fd, &st) == -1)
		return -1;
	c->log_off = st.st_size;
	if (lines <= 0 || st.st_size == 0)
		return 0;
	if (lines > CONSOLE_TAIL_MAX_LINES)
		lines = CONSOLE_TAIL_MAX_LINES;
	start = st.st_size > CONSOLE_TAIL_MAX_BYTES ?
	    st.st_size - CONSOLE_TAIL_MAX_BYTES : 0;
	if ((buf = malloc(st.st_size - start)) == NULL)
		return -1;
	if ((n = pread(c->log_fd, buf, st.st_size - start, start)) <= 0) {
		rc = n == 0 ? 0 : -1;
		goto out;
	}
	c->log_off = start + n;
	/* Walk back over lines+1 newlines (the last one ends the last
	 * line); the tail starts after the last newline passed. */
	for (i = n - 1; i >= 0; i--) {
		if (buf[i] == '\n' && i != n - 1 && ++seen == lines)
			break;
	}
	i++;
	rc = console_out(c, buf + i, n - i);
out:
	free(buf);
	return rc;
}

static int
console_log_pump(struct console *c)
{
	char buf[CONSOLE_OUT_CHUNK];
	ssize_t n;
	int rounds;

	/* Bounded per call: a guest that writes faster than we send must
	 * not starve the client's input. */
	for (rounds = 0; rounds < 64; rounds++) {
		n = pread(c->log_fd, buf, sizeof(buf), c->log_off);
		if (n <= 0)
			return n == 0 || errno == EINTR ? 0 : -1;
		c->log_off += n;
		if (console_out(c, buf, n) == -1)
			return -1;
	}
	return 0;
}

static int
console_tty_pump(struct console *c)
{
	char buf[CONSOLE_OUT_CHUNK];
	ssize_t n;

	n = read(c->tty_fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	return console_rec_send(c->ioc, PT_CONSOLE_OUT, buf, n);
}

static int
console_tty_write(struct console *c, const uint8_t *buf, size_t len)
{
	struct pollfd pfd;
	ssize_t n;

	if (c->tty_fd == -1)
		return 0;	/* the pty is gone with its domain */
	while (len > 0) {
		n = write(c->tty_fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			pfd.fd = c->tty_fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, CONSOLE_TTY_WAIT_MS) > 0)
				continue;
			log_warnx("console %s: the guest reads no input; "
			    "%zu bytes dropped", c->name, len);
			return 0;
		}
		log_warn("console %s: write", c->name);
		return -1;
	}
	return 0;
}

/* 1: go on; 0: the client detached or left; -1: error. */
static int
console_client_read(struct console *c)
{
	struct conrec r;
	ssize_t n;
	int dr;

	n = ioc_read_some(c->ioc, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n <= 0)
		return n;
	c->inlen += n;
	/* c->in holds a record of the largest size: MORE never means a
	 * full buffer. */
	while ((dr = conrec_decode(c->in, c->inlen, &r, c->ioc->err,
	    sizeof(c->ioc->err))) == CONREC_OK) {
		if (r.kind == PT_CONSOLE_DETACH)
			return 0;
		if (r.kind == PT_CONSOLE_IN &&
		    console_tty_write(c, r.payload, r.len) == -1)
			return -1;
		/* Output and the last records go the other way: a client
		 * that sends them anyway does no harm. */
		memmove(c->in, c->in + r.size, c->inlen - r.size);
		c->inlen -= r.size;
	}
	return dr == CONREC_BAD ? -1 : 1;
}

/* (helper) The moved record's identity, to tell a new one from old. */
static void
console_moved_stamp(struct relocd_conf *conf, const char *name,
    struct console_rec_stamp *s)
{
	struct stat st;
	char path[4096];

	memset(s, 0, sizeof(*s));
	if (!console_name_ok(name))
		return;
	snprintf(path, sizeof(path), "%s/moved/%s", conf->state_dir, name);
	if (stat(path, &st) == -1)
		return;
	s->present = 1;
	s->ino = st.st_ino;
	s->mtime = st.st_mtim;
	s->size = st.st_size;
}

/* (helper) The record, if it was (re)written since the client attached. */
static int
console_moved_read(struct helper *h, char *to, size_t tolen)
{
	struct console_rec_stamp now, *was = &h->con_moved;
	char path[4096];
	FILE *fp;

	console_moved_stamp(h->conf, h->con_name, &now);
	if (!now.present || (was->present && now.ino == was->ino &&
	    now.size == was->size && now.mtime.tv_sec == was->mtime.tv_sec &&
	    now.mtime.tv_nsec == was->mtime.tv_nsec))
		return -1;
	snprintf(path, sizeof(path), "%s/moved/%s", h->conf->state_dir,
	    h->con_name);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(to, tolen, fp) == NULL) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	to[strcspn(to, "\n")] = '\0';
	return *to == '\0' ? -1 : 0;
}

/* The domain left this host: say where to, or that it ended. */
static void
console_gone(struct console *c, const char *to)
{
	struct json_object *o;
	const char *s;
	char msg[512];

	if (c->log_fd != -1)
		console_log_pump(c);
	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(c->name));
	if (to != NULL) {
		log_info("console %s: the domain moved to %s; client told",
		    c->name, to);
		json_object_object_add(o, "to", json_object_new_string(to));
	} else {
		snprintf(msg, sizeof(msg), "%s is no longer on this host "
		    "(destroyed or shut down)", c->name);
		json_object_object_add(o, "message",
		    json_object_new_string(msg));
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	console_rec_send(c->ioc, to != NULL ? PT_CONSOLE_MOVED :
	    PT_CONSOLE_END, s, strlen(s));
	json_object_put(o);
}

/*
 * (helper) The console of the named domain: its tty, opened raw, and its
 * log when there is one, passed to the network process.
 */
int
helper_console_open(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	const char *dom = proto_get_str(args, "domain");
	struct json_object *reply;
	struct xo_dominfo di;
	struct termios tio;
	char tty[1024], path[4096];
	int out[2] = { -1, -1 }, n = 1, r, rc;

	if (dom == NULL || *dom == '\0')
		return helper_error(h, "usage", "console: no domain named");
	if (h->con_watch)
		return helper_error(h, "proto", "a console is already open");
	if (helper_backend(h) == NULL)
		return 0;
	/* Before the lookup: a migration that ends right after it must
	 * leave a record that counts as new. */
	console_moved_stamp(h->conf, dom, &h->con_moved);
	if ((r = xo_lookup(h->xo, dom, &h->con_domid)) != 0 ||
	    (r = xo_info(h->xo, h->con_domid, &di)) != 0)
		return helper_error(h, r == XO_E_NOTFOUND ? "notfound" :
		    "backend", "%s", xo_errmsg(h->xo));
	snprintf(h->con_name, sizeof(h->con_name), "%s", di.name);
	if (strcmp(h->con_name, dom) != 0)	/* named by its domid */
		console_moved_stamp(h->conf, h->con_name, &h->con_moved);
	if ((r = xo_console_path(h->xo, h->con_domid, tty, sizeof(tty))) != 0)
		return helper_error(h, r == XO_E_NOTFOUND ? "notfound" :
		    "backend", "%s: %s", h->con_name, xo_errmsg(h->xo));
	if ((out[0] = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return helper_error(h, "backend", "%s: console %s: %s",
		    h->con_name, tty, strerror(errno));
	/* As xl console does: bytes pass unchanged both ways. */
	if (tcgetattr(out[0], &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(out[0], TCSANOW, &tio);
	}
	snprintf(path, sizeof(path), "%s/console/%s.log", h->conf->state_dir,
	    h->con_name);
	if (console_name_ok(h->con_name) &&
	    (out[1] = open(path, O_RDONLY | O_CLOEXEC)) != -1)
		n = 2;
	h->con_watch = 1;
	reply = json_object_new_object();
	json_object_object_add(reply, "domain", json_object_new_string(
	    h->con_name));
	json_object_object_add(reply, "tty", json_object_new_string(tty));
	json_object_object_add(reply, "output", json_object_new_string(
	    n == 2 ? "log" : "tty"));
	rc = helper_ok(h, reply, out, n);
	json_object_put(reply);
	close(out[0]);
	if (out[1] != -1)
		close(out[1]);
	return rc;
}

/* (helper) Still here?  If not, where it went, if a migration said. */
int
helper_console_check(struct helper *h, struct json_object *args, int *fds,
    int nfds)
{
	struct json_object *reply;
	struct xo_dominfo di;
	char to[300];
	uint64_t until;
	int rc, moved = -1;

	if (!h->con_watch)
		return helper_error(h, "proto", "no console is open");
	reply = json_object_new_object();
	if (xo_info(h->xo, h->con_domid, &di) != XO_E_NOTFOUND) {
		json_object_object_add(reply, "here", json_object_new_int(1));
		goto out;
	}
	/* The source destroys its copy right after writing the record:
	 * wait a little for one not yet written. */
	until = console_now_ms() + CONSOLE_MOVED_WAIT_MS;
	while ((moved = console_moved_read(h, to, sizeof(to))) == -1 &&
	    console_now_ms() < until)
		poll(NULL, 0, 50);
	json_object_object_add(reply, "here", json_object_new_int(0));
	if (moved == 0)
		json_object_object_add(reply, "to", json_object_new_string(to));
out:
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

void
console_serve(struct worker *w, struct json_object *req)
{
	struct console c;
	struct json_object *args = NULL, *reply = NULL;
	struct iochan *ioc = &w->ioc;
	struct pollfd pfd[2];
	const char *dom = proto_get_str(req, "domain"), *code;
	const char *who = w->peer.local ? "control" : w->peer.addr;
	char err[1024];
	uint64_t now, next_check = 0, tty_gone = 0;
	int tail = (int)proto_get_int(req, "tail_lines", 20);
	int r, timeout, fds[HX_MAX_FDS], nfds = 0, i;

	if (w->port == RQ_CONTROL && proto_get_str(req, "host") != NULL &&
	    w->rq != NULL) {
		console_relay(w, req);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.conf = w->conf;
	c.ioc = ioc;
	c.hx = &w->hx;
	c.tty_fd = c.log_fd = -1;
	if (dom == NULL || *dom == '\0') {
		proto_send_error(ioc, "usage", "console: no domain named");
		goto out;
	}
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(dom));
	if (hx_call(c.hx, HX_CONSOLE_OPEN, args, -1, &reply, fds, &nfds, &code,
	    err, sizeof(err)) != 0) {
		proto_send_error(ioc, code, "%s", err);
		goto out;
	}
	if (nfds < 1) {
		proto_send_error(ioc, "backend", "the helper passed no console");
		goto out;
	}
	c.tty_fd = fds[0];
	if (nfds > 1)
		c.log_fd = fds[1];
	snprintf(c.name, sizeof(c.name), "%s", proto_get_str(reply, "domain") ?
	    proto_get_str(reply, "domain") : dom);
	if (proto_send(ioc, PT_OK, reply) == -1)
		goto out;
	log_info("console %s: %s (%s) attached", c.name, who,
	    w->peer.local ? w->peer.addr : w->peer.id.subject);
	if (ioc->ssl != NULL)
		console_keepalive(ioc->fd);
	if (c.log_fd != -1 && console_tail(&c, tail) == -1)
		goto out;

	/* Ends when the client leaves or the domain does; every wait in
	 * it is bounded. */
	for (;;) {
		timeout = ioc->ssl != NULL && SSL_pending(ioc->ssl) > 0 ? 0 :
		    c.log_fd != -1 ? CONSOLE_FOLLOW_MS : CONSOLE_CHECK_MS;
		pfd[0].fd = ioc->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = c.log_fd == -1 ? c.tty_fd : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR) {
			log_warn("console %s: poll", c.name);
			break;
		}
		if (pfd[0].revents != 0 || (ioc->ssl != NULL &&
		    SSL_pending(ioc->ssl) > 0)) {
			if ((r = console_client_read(&c)) <= 0) {
				if (r == -1)
					log_warnx("console %s: client: %s",
					    c.name, ioc->err[0] ? ioc->err :
					    "bad record");
				break;
			}
		}
		if (c.log_fd != -1 && console_log_pump(&c) == -1)
			break;
		if (c.log_fd == -1 && c.tty_fd != -1 && pfd[1].revents != 0 &&
		    console_tty_pump(&c) == -1) {
			/* The console daemon closed the pty: the domain is
			 * going (destroyed after a migration away, or shut
			 * down).  Ask at once whether, and where to. */
			c.tty_fd = -1;
			tty_gone = console_now_ms();
			next_check = 0;
		}
		if (tty_gone != 0 && console_now_ms() - tty_gone >
		    CONSOLE_TTY_GONE_MS) {
			console_gone(&c, NULL);
			break;
		}
		if ((now = console_now_ms()) < next_check)
			continue;
		next_check = now + CONSOLE_CHECK_MS;
		json_object_put(reply);
		reply = NULL;
		if (hx_call(c.hx, HX_CONSOLE_CHECK, NULL, -1, &reply, NULL,
		    NULL, &code, err, sizeof(err)) != 0) {
			log_warnx("console %s: %s", c.name, err);
			break;
		}
		if (!proto_get_int(reply, "here", 1)) {
			console_gone(&c, proto_get_str(reply, "to"));
			break;
		}
	}
	log_info("console %s: %s detached", c.name, who);
out:
	json_object_put(args);
	json_object_put(reply);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Is host:port this relocd?  Then serve the console here rather than
 * through a TLS session to ourselves (which our allow-list may refuse). */
static int
console_is_self(struct relocd_conf *conf, const char *host, int port)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (port != conf->relocation_port)
		return 0;
	if (*conf->relocation_address == '\0')
		return strcmp(host, "localhost") == 0 ||
		    (inet_pton(AF_INET, host, &a4) == 1 &&
		    ntohl(a4.s_addr) >> 24 == 127) ||
		    (inet_pton(AF_INET6, host, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6));
	return strcmp(host, conf->relocation_address) == 0;
}

/* Bytes both ways until either side ends. */
static void
console_pipe(struct iochan *a, struct iochan *b)
{
	struct iochan *src, *dst;
	struct pollfd pfd[2];
	uint8_t buf[16384];
	ssize_t n;
	int i, pend[2];

	for (;;) {
		pend[0] = a->ssl != NULL && SSL_pending(a->ssl) > 0;
		pend[1] = b->ssl != NULL && SSL_pending(b->ssl) > 0;
		pfd[0].fd = a->fd;
		pfd[1].fd = b->fd;
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, pend[0] || pend[1] ? 0 : -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents == 0 && !pend[i])
				continue;
			src = i == 0 ? a : b;
			dst = i == 0 ? b : a;
			if ((n = ioc_read_some(src, buf, sizeof(buf))) <= 0)
				return;
			if (ioc_write_full(dst, buf, n) == -1)
				return;
		}
	}
}

static void
console_relay(struct worker *w, struct json_object *req)
{
	struct relocd_conf *conf = w->conf;
	struct iochan *ctl = &w->ioc;
	struct peer_conn peer;
	struct json_object *rq = NULL, *reply = NULL;
	const char *spec = proto_get_str(req, "host");
	const char *dom = proto_get_str(req, "domain");
	char host[256], err[1024];
	int port;

	peer_conn_init(&peer);
	if (spec == NULL || peer_parse_hostport(spec, conf->relocation_port,
	    host, sizeof(host), &port) == -1) {
		proto_send_error(ctl, "usage", "malformed host \"%s\"",
		    spec ? spec : "");
		goto out;
	}
	if (console_is_self(conf, host, port)) {
		json_object_object_del(req, "host");
		console_serve(w, req);
		goto out;
	}
	rq = json_object_new_object();
	json_object_object_add(rq, "domain", json_object_new_string(
	    dom ? dom : ""));
	json_object_object_add(rq, "tail_lines", json_object_new_int64(
	    proto_get_int(req, "tail_lines", 20)));
	if (peer_connect(conf, w->tls, host, port, &peer, err, sizeof(err)) ==
	    -1 || peer_request(&peer, PT_CONSOLE, rq, &reply, err,
	    sizeof(err)) == -1) {
		log_warnx("console %s on %s: %s", dom ? dom : "?", spec, err);
		proto_send_error(ctl, strstr(err, "does not exist") ?
		    "notfound" : "peer", "%s", err);
		goto out;
	}
	json_object_object_add(reply, "host", json_object_new_string(spec));
	if (proto_send(ctl, PT_OK, reply) == -1)
		goto out;
	log_info("console %s: relaying %s to %s", dom ? dom : "?",
	    w->peer.addr, spec);
	console_keepalive(peer.fd);
	console_pipe(ctl, &peer.ioc);
	log_info("console %s: relay from %s to %s ended", dom ? dom : "?",
	    w->peer.addr, spec);
out:
	json_object_put(rq);
	json_object_put(reply);
	peer_conn_dispose(&peer);
}

/*
 * (helper) Called by helper_send.c once the destination runs the domain, before the copy
 * here is destroyed: watchers of this console learn where it went.
 * Written whole or not at all (a temporary file renamed into place).
 */
void
console_moved_record(struct relocd_conf *conf, const char *name,
    const char *host, int port)
{
	char dir[4096], path[4096], tmp[4200], line[300];
	int fd, n;

	if (!console_name_ok(name))
		return;
	snprintf(dir, sizeof(dir), "%s/moved", conf->state_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("console: %s", dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	n = snprintf(line, sizeof(line), strchr(host, ':') != NULL ?
	    "[%s]:%d\n" : "%s:%d\n", host, port);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("console: %s", tmp);
		return;
	}
	if (write(fd, line, n) != n || fsync(fd) == -1) {
		log_warn("console: moved record %s", tmp);
		close(fd);
		unlink(tmp);
		return;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("console: moved record %s", path);
		unlink(tmp);
	}
}
