/*
 * The local end of "xmig tunnel HOST": stock xl's migration stream, from
 * the control socket to HOST's relocd over mutual TLS.
 *
 * HOST's relocd receives it with recv_migrate() like any migration, but
 * without a pre-flight config: it judges the config in xl's header.  This
 * side only relays, and watches the bytes go by closely enough to log
 * that xl's banner, header and config crossed and what the receiver
 * reported: the proof that relocd speaks xl's protocol.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domcfg.h"
#include "log.h"
#include "relocd.h"
#include "xlproto.h"

#define TUNNEL_BUF	(256 * 1024)
#define TUNNEL_BACK_MAX	4096	/* the receiver's messages are short */

/* What the relay saw, for the log. */
struct tunnel_watch {
	const char	*host;
	uint8_t		*head;		/* xl's header + config */
	size_t		 headlen, headwant;
	int		 head_done;
	uint8_t		 back[TUNNEL_BACK_MAX];	/* receiver -> xl */
	size_t		 backlen;
	int		 banner, ready, status;
	uint64_t	 to_peer, to_xl;
};

static void	tunnel_watch_xl(struct tunnel_watch *, const uint8_t *, size_t);
static void	tunnel_watch_back(struct tunnel_watch *, const uint8_t *,
		    size_t);
static int	tunnel_relay(struct relocd_conf *, struct iochan *,
		    struct peer_conn *, struct tunnel_watch *);

/* xl -> receiver: decode the header and config as the receiver will. */
static void
tunnel_watch_xl(struct tunnel_watch *tw, const uint8_t *p, size_t len)
{
	struct json_object *cfg = NULL;
	struct domcfg_info info;
	struct xl_header h;
	const char *json;
	size_t take, jsonlen;
	char err[256];

	if (tw->head_done)
		return;
	if (tw->head == NULL) {
		if ((tw->head = malloc(XL_HEADER_LEN + XL_MAX_CONFIG)) ==
		    NULL) {
			tw->head_done = 1;
			return;
		}
		tw->headwant = XL_HEADER_LEN;
	}
	take = tw->headwant - tw->headlen < len ? tw->headwant - tw->headlen :
	    len;
	memcpy(tw->head + tw->headlen, p, take);
	tw->headlen += take;
	if (tw->headlen < tw->headwant)
		return;
	if (tw->headwant == XL_HEADER_LEN) {
		if (xl_header_decode(tw->head, XL_HEADER_LEN, &h, err,
		    sizeof(err)) == -1 || h.optional_data_len >
		    XL_MAX_CONFIG) {
			log_warnx("tunnel to %s: xl's stream does not start "
			    "with an xl header: %s", tw->host, err);
			tw->head_done = 1;
			return;
		}
		log_info("tunnel to %s: xl save header crossed (flags "
		    "0x%x, %u bytes of config follow)", tw->host,
		    h.mandatory_flags, h.optional_data_len);
		tw->headwant += h.optional_data_len;
		if (take < len)
			tunnel_watch_xl(tw, p + take, len - take);
		return;
	}
	tw->head_done = 1;
	if (xl_config_decode(tw->head + XL_HEADER_LEN, tw->headlen -
	    XL_HEADER_LEN, &json, &jsonlen, err, sizeof(err)) == -1 ||
	    domcfg_parse(json, jsonlen, &cfg, err, sizeof(err)) == -1 ||
	    domcfg_info(cfg, &info, err, sizeof(err)) == -1) {
		log_warnx("tunnel to %s: xl's config: %s", tw->host, err);
	} else
		log_info("tunnel to %s: xl's config crossed: domain %s "
		    "(%s, %llu MiB); the libxl stream follows", tw->host,
		    info.name, info.type, (unsigned long long)info.memory_kb /
		    1024);
	json_object_put(cfg);
	free(tw->head);
	tw->head = NULL;
}

/* receiver -> xl: banner, "ready", report + status byte. */
static void
tunnel_watch_back(struct tunnel_watch *tw, const uint8_t *p, size_t len)
{
	size_t take, rl = sizeof(XL_REPORT);
	uint8_t *r;

	take = sizeof(tw->back) - tw->backlen < len ?
	    sizeof(tw->back) - tw->backlen : len;
	memcpy(tw->back + tw->backlen, p, take);
	tw->backlen += take;
	if (!tw->banner && tw->backlen >= sizeof(XL_RECEIVER_BANNER) - 1 &&
	    memcmp(tw->back, XL_RECEIVER_BANNER,
	    sizeof(XL_RECEIVER_BANNER) - 1) == 0) {
		tw->banner = 1;
		log_info("tunnel to %s: the receiver's xl banner crossed",
		    tw->host);
	}
	if (!tw->ready && memmem(tw->back, tw->backlen, XL_RECEIVER_READY,
	    sizeof(XL_RECEIVER_READY)) != NULL) {
		tw->ready = 1;
		log_info("tunnel to %s: receiver: domain received, ready to "
		    "unpause", tw->host);
	}
	if (tw->status == -1 && (r = memmem(tw->back, tw->backlen, XL_REPORT,
	    rl)) != NULL && (size_t)(r - tw->back) + rl < tw->backlen) {
		tw->status = r[rl];
		log_info("tunnel to %s: receiver reports status %d (%s)",
		    tw->host, tw->status, tw->status == 0 ? "running there" :
		    "failed there");
	}
}

/*
 * Both ways until both ends have closed, each wait bounded by the idle
 * timeout.  xl closing its side becomes a TLS close_notify; the receiver
 * closing becomes EOF on the control socket.
 */
static int
tunnel_relay(struct relocd_conf *conf, struct iochan *ctl,
    struct peer_conn *pc, struct tunnel_watch *tw)
{
	struct pollfd pfd[2];
	uint8_t *buf;
	ssize_t n;
	int xl_open = 1, peer_open = 1, rc = -1, r;

	if ((buf = malloc(TUNNEL_BUF)) == NULL) {
		log_warnx("tunnel to %s: out of memory", tw->host);
		return -1;
	}
	while (xl_open || peer_open) {
		pfd[0].fd = xl_open ? ctl->fd : -1;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = peer_open ? pc->fd : -1;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (peer_open && SSL_pending(pc->ssl) > 0)
			pfd[1].revents = POLLIN;
		else {
			r = poll(pfd, 2, conf->io_timeout > 0 ?
			    conf->io_timeout * 1000 : -1);
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1) {
				log_warn("tunnel to %s: poll", tw->host);
				goto out;
			}
			if (r == 0) {
				log_warnx("tunnel to %s: nothing moved for %d "
				    "s; closing", tw->host, conf->io_timeout);
				goto out;
			}
		}
		if (xl_open && pfd[0].revents != 0) {
			n = read(ctl->fd, buf, TUNNEL_BUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				log_debug("tunnel to %s: xl's side ended after "
				    "%llu bytes (%s)", tw->host,
				    (unsigned long long)tw->to_peer, n == 0 ?
				    "end of file" : strerror(errno));
				xl_open = 0;
				SSL_shutdown(pc->ssl);
			} else {
				tunnel_watch_xl(tw, buf, n);
				if (ioc_write_full(&pc->ioc, buf, n) == -1) {
					log_warnx("tunnel to %s: %s", tw->host,
					    pc->ioc.err);
					goto out;
				}
				tw->to_peer += n;
			}
		}
		if (peer_open && pfd[1].revents != 0) {
			n = ioc_read_some(&pc->ioc, buf, TUNNEL_BUF);
			if (n <= 0) {
				if (n < 0)
					log_warnx("tunnel to %s: %s",
					    tw->host, pc->ioc.err);
				log_debug("tunnel to %s: the receiver's side "
				    "ended after %llu bytes from xl", tw->host,
				    (unsigned long long)tw->to_peer);
				peer_open = 0;
				/* xmig sees EOF and so does xl. */
				shutdown(ctl->fd, SHUT_WR);
				if (n < 0)
					goto out;
			} else {
				tunnel_watch_back(tw, buf, n);
				if (ioc_write_full(ctl, buf, n) == -1) {
					log_warnx("tunnel to %s: xmig: %s",
					    tw->host, ctl->err);
					goto out;
				}
				tw->to_xl += n;
			}
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

void
tunnel_serve(struct worker *w, struct json_object *req)
{
	struct relocd_conf *conf = w->conf;
	struct iochan *ctl = &w->ioc;
	struct peer_ctx *who = &w->peer;
	const char *spec = proto_get_str(req, "host");
	struct json_object *rq = NULL, *reply = NULL;
	struct peer_conn pc;
	struct tunnel_watch tw;
	char host[256], err[1024];
	int port;

	peer_conn_init(&pc);
	memset(&tw, 0, sizeof(tw));
	tw.status = -1;
	if (spec == NULL || peer_parse_hostport(spec, conf->relocation_port,
	    host, sizeof(host), &port) == -1) {
		proto_send_error(ctl, "usage", "tunnel: malformed host \"%s\"",
		    spec ? spec : "");
		return;
	}
	tw.host = spec;
	log_info("control (%s): xl migration tunnel to %s", who->addr, spec);
	rq = json_object_new_object();
	json_object_object_add(rq, "paused", json_object_new_int(
	    proto_get_int(req, "paused", 0) != 0));
	/* No config: the receiver judges the one in xl's header. */
	if (peer_connect(conf, w->tls, host, port, &pc, err, sizeof(err)) == -1 ||
	    peer_request(&pc, PT_MIGRATE_RECEIVE, rq, &reply, err,
	    sizeof(err)) == -1) {
		log_warnx("tunnel to %s refused: %s", spec, err);
		proto_send_error(ctl, "peer", "tunnel to %s: %s; the domain "
		    "was not touched", spec, err);
		goto out;
	}
	if (proto_send(ctl, PT_OK, NULL) == -1)
		goto out;
	tunnel_relay(conf, ctl, &pc, &tw);
	log_info("tunnel to %s closed: %llu bytes from xl, %llu back; "
	    "banner %s, ready %s, %s", spec,
	    (unsigned long long)tw.to_peer, (unsigned long long)tw.to_xl,
	    tw.banner ? "seen" : "not seen", tw.ready ? "seen" : "not seen",
	    tw.status == -1 ? "no report (xl gave up before \"go\", or the "
	    "receiver refused)" : tw.status == 0 ? "report: running at the "
	    "destination" : "report: failed at the destination");
out:
	free(tw.head);
	json_object_put(rq);
	json_object_put(reply);
	peer_conn_dispose(&pc);
}
