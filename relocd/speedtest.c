/*
 * xmig speedtest HOST: how fast this host's relocd can move a migration
 * stream to HOST's, measured on the path a migration takes (mutual TLS,
 * the allow-list, a migration slot on each side, the same channel code
 * and buffer sizes), with bytes that come from nowhere and go nowhere.
 * What it leaves out is the hypervisor's share: reading and storing guest
 * memory.  An administrator sizes "migrate -r" with it; make bench uses
 * it as the pass-through stream source its data-path case compares with
 * socat and ssh.
 *
 *	source relocd			destination relocd
 *	speedtest {"bytes": N}	->
 *				<-	ok {}			(slot taken)
 *	N bytes of zeros	->	read and dropped
 *				<-	ok {"bytes", "us", "cpu_us"}
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "clock.h"
#include "log.h"
#include "relocd.h"

/* One write: a whole number of full TLS records, as a sim stream's
 * contiguous batch is written. */
#define SPEED_CHUNK	(4U << 20)
/* One read: what the sim receiver reads per run. */
#define SPEED_READ	(256U << 10)

static uint64_t	speed_cpu_us(void);

/* This worker's CPU (user + system): it has one thread. */
static uint64_t
speed_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* The destination: after "ok", exactly the announced bytes, then the
 * result.  Anything else ends the session with the reason. */
void
speedtest_serve_peer(struct worker *w, struct json_object *req)
{
	struct iochan *ioc = &w->ioc;
	struct peer_ctx *pc = &w->peer;
	struct json_object *res;
	uint8_t *buf = NULL;
	uint64_t want, got = 0, t0 = 0, c0;
	int64_t bytes = proto_get_int(req, "bytes", -1);
	ssize_t n;

	if (bytes < 1 || (uint64_t)bytes > SPEEDTEST_MAX_BYTES) {
		proto_send_error(ioc, "usage", "speedtest: bytes must be 1 to "
		    "%llu, not %lld", (unsigned long long)SPEEDTEST_MAX_BYTES,
		    (long long)bytes);
		return;
	}
	/* It loads the host as a migration does, so it took a slot as
	 * one (the request table says so). */
	want = (uint64_t)bytes;
	if ((buf = malloc(SPEED_READ)) == NULL) {
		proto_send_error(ioc, "nomem", "out of memory");
		return;
	}
	if (proto_send(ioc, PT_OK, NULL) == -1)
		goto out;
	ioc_read_ahead(ioc);
	c0 = speed_cpu_us();
	while (got < want) {
		n = ioc_read_some(ioc, buf, want - got < SPEED_READ ?
		    (size_t)(want - got) : SPEED_READ);
		if (n <= 0) {
			log_warnx("%s (%s): speedtest ended after %llu of %llu "
			    "bytes: %s", pc->addr, pc->id.subject,
			    (unsigned long long)got, (unsigned long long)want,
			    n == 0 ? "peer closed the stream" : ioc->err);
			goto out;
		}
		if (got == 0)
			t0 = clock_mono_us();
		got += (uint64_t)n;
	}
	res = json_object_new_object();
	json_object_object_add(res, "bytes", json_object_new_int64(got));
	json_object_object_add(res, "us",
	    json_object_new_int64(clock_mono_us() - t0));
	json_object_object_add(res, "cpu_us",
	    json_object_new_int64(speed_cpu_us() - c0));
	proto_send(ioc, PT_OK, res);
	json_object_put(res);
	log_info("%s (%s): speedtest: received %llu bytes", pc->addr,
	    pc->id.subject, (unsigned long long)got);
out:
	free(buf);
}

/* The source, for xmig: connect, stream, report both sides' figures. */
void
speedtest_serve_control(struct worker *w, struct json_object *req)
{
	struct relocd_conf *conf = w->conf;
	struct iochan *ctl = &w->ioc;
	struct peer_conn pc;
	struct json_object *preq = NULL, *reply = NULL, *res = NULL;
	const char *spec = proto_get_str(req, "host");
	const uint8_t *zero = MAP_FAILED;
	uint64_t left, t0, c0, t1, c1;
	int64_t bytes = proto_get_int(req, "bytes", -1);
	int64_t bw = proto_get_int(req, "bandwidth_mbit", 0);
	int port = (int)proto_get_int(req, "port", 0);
	const SSL_CIPHER *cipher;
	struct proto_hdr h;
	char host[256], err[1024];
	size_t chunk;

	peer_conn_init(&pc);
	if (spec == NULL || peer_parse_hostport(spec, port ? port :
	    conf->relocation_port, host, sizeof(host), &port) == -1 ||
	    port <= 0 || port > 65535) {
		proto_send_error(ctl, "usage", "speedtest: need a valid host");
		goto out;
	}
	if (bytes < 1 || (uint64_t)bytes > SPEEDTEST_MAX_BYTES || bw < 0) {
		proto_send_error(ctl, "usage", "speedtest: bytes must be 1 to "
		    "%llu", (unsigned long long)SPEEDTEST_MAX_BYTES);
		goto out;
	}
	/* Never written, so every page is the shared zero page: streaming
	 * it costs no memory, as a never-written guest page does not. */
	zero = mmap(NULL, SPEED_CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (zero == MAP_FAILED) {
		proto_send_error(ctl, "nomem", "mmap: %s", strerror(errno));
		goto out;
	}
	preq = json_object_new_object();
	json_object_object_add(preq, "bytes", json_object_new_int64(bytes));
	if (peer_connect(conf, w->tls, host, port, &pc, err, sizeof(err)) == -1 ||
	    peer_request(&pc, PT_SPEEDTEST, preq, &reply, err,
	    sizeof(err)) == -1) {
		proto_send_error(ctl, "peer", "%s", err);
		goto out;
	}
	if (bw > 0)
		pc.ioc.max_bw = (uint64_t)bw * 1000000 / 8;
	t0 = clock_mono_us();
	c0 = speed_cpu_us();
	for (left = (uint64_t)bytes; left > 0; left -= chunk) {
		chunk = left < SPEED_CHUNK ? (size_t)left : SPEED_CHUNK;
		if (ioc_write_full(&pc.ioc, zero, chunk) == -1) {
			proto_send_error(ctl, "peer", "%s:%d: the stream broke "
			    "after %llu bytes: %s", host, port,
			    (unsigned long long)((uint64_t)bytes - left),
			    pc.ioc.err);
			goto out;
		}
	}
	if (proto_recv(&pc.ioc, &h, &res, PROTO_MAX_FRAME, err,
	    sizeof(err)) == -1 || h.type != PT_OK) {
		proto_send_error(ctl, "peer", "%s:%d: no result after the "
		    "stream: %s", host, port, h.type == PT_ERROR ?
		    (proto_get_str(res, "message") ? proto_get_str(res,
		    "message") : "(no reason)") : err);
		goto out;
	}
	t1 = clock_mono_us();
	c1 = speed_cpu_us();
	json_object_object_add(res, "host", json_object_new_string(spec));
	json_object_object_add(res, "send_us", json_object_new_int64(t1 - t0));
	json_object_object_add(res, "send_cpu_us",
	    json_object_new_int64(c1 - c0));
	json_object_object_add(res, "tls_version",
	    json_object_new_string(SSL_get_version(pc.ssl)));
	if ((cipher = SSL_get_current_cipher(pc.ssl)) != NULL)
		json_object_object_add(res, "cipher", json_object_new_string(
		    SSL_CIPHER_get_name(cipher)));
	proto_send(ctl, PT_OK, res);
	log_info("speedtest to %s:%d: %lld bytes in %llu us", host,
	    port, (long long)bytes, (unsigned long long)(t1 - t0));
out:
	if (zero != MAP_FAILED)
		munmap((void *)zero, SPEED_CHUNK);
	json_object_put(preq);
	json_object_put(reply);
	json_object_put(res);
	peer_conn_dispose(&pc);
}
