/*
 * relocd: the parent process (root) runs one libevent loop that accepts
 * TCP and control connections and drops peers whose address is not
 * allowed.  Every other connection gets a network process of its own
 * (worker.c), which runs as an unprivileged user under a seccomp filter,
 * does the TLS handshake with a deadline, checks the certificate against
 * the allow-list and serves the request with blocking I/O, asking root
 * for everything that needs it: relocd-priv (priv.c), which answers what
 * only reads, or the helper relocd-priv forks for a request that changes
 * something (helper.c).  Crypto and hypervisor calls never run in the
 * event loop, and one session's failure cannot take the daemon down.
 */
#ifndef RELOCD_H
#define RELOCD_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <signal.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "iochan.h"
#include "proto.h"
#include "tls.h"

#define RELOCD_VERSION		"0.1"
#define RELOCD_MAX_WORKERS	128	/* sessions being served */

struct relocd;

/*
 * A TCP connection whose session has not yet said it authenticated its
 * peer: it counts against max_unauthenticated until its network process
 * writes its verdict to the status pipe (one line: "A" authenticated,
 * "R reason" refused) or closes it.
 */
struct session {
	TAILQ_ENTRY(session) s_entry;
	struct relocd	*s_env;
	int		 s_status_fd;	/* read end of the status pipe */
	char		 s_addr[64];	/* peer address */
	char		 s_buf[512];	/* the verdict so far */
	size_t		 s_len;
	struct event	*s_ev;
	struct event	*s_tmo;
};
TAILQ_HEAD(sessionlist, session);

struct relocd {
	struct relocd_conf sc_conf;
	SSL_CTX		*sc_tls;
	uid_t		 sc_uid;	/* of the network processes */
	gid_t		 sc_gid;
	struct event_base *sc_evb;
	int		 sc_tcp_fd;
	int		 sc_ctl_fd;
	struct event	*sc_tcp_ev;
	struct event	*sc_ctl_ev;
	struct event	*sc_pause_ev;	/* accept paused on EMFILE */
	struct sessionlist sc_sessions;
	int		 sc_nunauth;
	int		 sc_nworkers;	/* network processes alive */
	struct {
		pid_t	 pid;		/* 0: free */
		char	 who[64];
	}		 sc_net[RELOCD_MAX_WORKERS];	/* network processes */
	pid_t		 sc_priv_pid;	/* relocd-priv, -1 while none */
	int		 sc_priv_fd;	/* to it: the sessions' channels */
	time_t		 sc_priv_started;
	struct event	*sc_priv_ev;	/* restart it, after a quick death */
	pid_t		 sc_sweep_pid;	/* the recovery sweep, or -1 */
};

/* cancel.c: a network process's flag, set by SIGUSR1 from its helper;
 * _net_init in the network process, _helper_init in a helper */
extern volatile sig_atomic_t worker_cancelled;
void	cancel_net_init(void);
void	cancel_helper_init(int net_pidfd);

/* reload.c: SIGHUP */
void	relocd_reload(struct relocd *);

/* listener.c */
int	listener_open(struct relocd *, char *err, size_t errlen);
void	listener_close(struct relocd *);

/* control.c */
int	control_open(struct relocd *, char *err, size_t errlen);
void	control_close(struct relocd *);

/* Who is at the far end of a session. */
struct peer_ctx {
	int		 local;		/* control socket: local admin */
	uid_t		 uid;
	char		 addr[64];	/* peer address, or "uid N pid M" */
	struct tls_peer	 id;		/* verified certificate (peer port) */
};

/*
 * The request engine (engine.c).  A session is served by two processes:
 * the network process, which runs the handler of the request as an
 * unprivileged user under a seccomp filter (privsep.c), and the root
 * helper (helper.c), at the other end of its socketpair, which alone
 * calls the backend, keeps the journal and touches state_dir, one
 * validated operation at a time.
 */
#define RQ_PEER		0x01	/* arrives on the TLS port */
#define RQ_CONTROL	0x02	/* arrives on the control socket */

#define RQ_SLOT		0x01	/* takes one of max_migrations slots */
#define RQ_BACKEND	0x02	/* may ask the helper to use the backend */
#define RQ_REMOTE	0x04	/* with "host", served by that host */
#define RQ_SHARED	0x08	/* its root side only reads: served by
				 * relocd-priv, no helper of its own */

/* The root helper as the network process sees it (hx.c). */
struct hx {
	int		 fd;		/* socketpair to the helper */
	int		 asked;		/* hx_ask's answers not yet read */
	char		 err[256];
};

/* One session's context, for every handler. */
struct worker {
	struct relocd_conf *conf;
	SSL_CTX		*tls;		/* for connections to other hosts */
	struct iochan	 ioc;		/* the peer's TLS session, or xmig */
	int		 port;		/* RQ_PEER or RQ_CONTROL */
	struct peer_ctx	 peer;
	struct hx	 hx;
	const struct request *rq;	/* being served */
	uint16_t	 rq_flags;	/* its frame's flags (proto.h) */
};

typedef void (*request_fn)(struct worker *, struct json_object *req);

struct request {
	int		 type;		/* PT_* */
	int		 ports;		/* RQ_PEER | RQ_CONTROL */
	int		 flags;		/* RQ_SLOT | RQ_BACKEND | RQ_REMOTE */
	request_fn	 handler;
};

/* engine.c */
const struct request *request_find(int type);
/* The network process: from the accepted socket to the handler's end. */
void	engine_serve(struct worker *, int status_fd);
/* After the peer is known: read one request and serve it. */
void	engine_dispatch(struct worker *);

/* worker.c: the processes of a session.  worker_spawn: -1 with errno
 * when it could not start one (EMFILE: out of descriptors). */
int	worker_spawn(struct relocd *, int fd, int port, struct peer_ctx *,
	    int status_fd);
void	worker_reap(struct relocd *);
/* A new process's start: close every descriptor but stdio and KEEP, and
 * the parent's signal handlers (libevent's) back to the defaults. */
void	worker_close_others(const int *keep, int n);
void	worker_child_signals(void);
/* RELOCD_SIM_FAULT's POINT=corrupt, on a sim host (a test aid). */
int	worker_sim_corrupt(const struct relocd_conf *, const char *point);
/* RELOCD_SIM_FAULT's POINT=hang[:SECONDS]: the seconds, or 0. */
unsigned worker_sim_hang(const struct relocd_conf *, const char *point);

/* priv.c: relocd-priv, the long-lived root process every session's
 * network process talks to first */
int	priv_start(struct relocd *);
void	priv_ended(struct relocd *, int status);
void	priv_replace(struct relocd *);
int	priv_session(struct relocd *, int hxfd, int pidfd, int port,
	    const struct peer_ctx *);

/* privsep.c: privsep_init in the parent, once; privsep_drop in each
 * network process */
int	privsep_init(char *err, size_t errlen);
int	privsep_lookup(const struct relocd_conf *, uid_t *, gid_t *,
	    char *err, size_t errlen);
int	privsep_drop(uid_t, gid_t, char *err, size_t errlen);

/* helper.c: the root side of a session, until the network process ends
 * (net_pidfd: to end it if it breaks the protocol; -1 in the fuzzer,
 * which runs it in a thread) */
void	helper_serve(struct relocd_conf *, int fd, int port,
	    const struct peer_ctx *, int net_pidfd);

/* Handlers (the table in engine.c names them all). */
void	serve_query(struct worker *, struct json_object *);
void	cancel_serve(struct worker *, struct json_object *);
void	check_serve(struct worker *, struct json_object *);
void	place_serve(struct worker *, struct json_object *);
/* force.c */
void	force_serve(struct worker *, struct json_object *);
void	force_serve_peer(struct worker *, struct json_object *);
/* check.c: the source's and each target's pre-flight lines, targets
 * ranked best first: {"domain", "live", "memory_kb", "targets": [{"host",
 * "checks", "failed", "headroom"}]} (or "source" alone, when the domain
 * cannot be looked at). */
/* What a check is for (check_place's how). */
#define CHECK_LIVE		0x1
#define CHECK_COPY_STORAGE	0x2
struct json_object *check_place(struct worker *, const char *domain,
	    int how, const char *const *hosts, size_t nhosts, int port);
/* A control request with "host": asked of that host, over mutual TLS. */
void	serve_remote(struct worker *, int type, const char *host);
void	serve_preflight(struct worker *, struct json_object *);
void	serve_create(struct worker *, struct json_object *);
void	serve_destroy(struct worker *, struct json_object *);
void	serve_maintenance(struct worker *, struct json_object *);
void	recv_migrate(struct worker *, struct json_object *);
void	migrate_serve(struct worker *, struct json_object *);
void	console_serve(struct worker *, struct json_object *);
void	recover_serve_jobs(struct worker *, struct json_object *);
void	recover_serve_control(struct worker *, struct json_object *);
void	recover_serve_peer(struct worker *, struct json_object *);
void	tunnel_serve(struct worker *, struct json_object *);
#define SPEEDTEST_MAX_BYTES	(64ULL << 30)
void	speedtest_serve_peer(struct worker *, struct json_object *);
void	speedtest_serve_control(struct worker *, struct json_object *);
#ifdef RELOCD_TESTING
void	testing_serve_forbidden(struct worker *, struct json_object *);
#endif

/* recv.c: would this host take the domain?  Maintenance (run-time, from
 * maint.c, or accept_migrations = 0), the incoming policy, name and UUID, memory, domain count, before any
 * stream byte.  Pure: the host's facts come from the helper.  0, or -1
 * with the reason and a short code. */
struct xo_hostinfo;
struct xo_dominfo;
int	recv_precheck(const struct relocd_conf *, int maintenance,
	    const struct xo_hostinfo *, const struct xo_dominfo *doms,
	    size_t ndoms, struct json_object *cfg, const char **code,
	    char *reason, size_t reasonlen);

/* console.c (root helper side): where a migrated domain went */
void	console_moved_record(struct relocd_conf *, const char *name,
	    const char *host, int port);

/* recover.c / reconcile.c */
void	recover_reconcile(struct relocd_conf *);
/* Did a worker die leaving its record unsettled (not "unknown")? */
int	recover_pending(struct relocd_conf *);

/* peer.c: connections this host opens to another relocd */
struct peer_conn {
	int		 fd;
	SSL		*ssl;
	struct iochan	 ioc;
	char		 host[256];
	int		 port;
};
void	peer_conn_init(struct peer_conn *);
int	peer_connect(struct relocd_conf *, SSL_CTX *, const char *host,
	    int port, struct peer_conn *, char *err, size_t errlen);
/* Send a request, wait for PT_OK (body returned) or PT_ERROR (message in
 * err, code in *code if given).  -1 on any failure. */
int	peer_request(struct peer_conn *, int type, struct json_object *req,
	    struct json_object **reply, char *err, size_t errlen);
/* The same with header flags (PROTO_F_COPY_STORAGE). */
int	peer_request_flags(struct peer_conn *, int type, uint16_t flags,
	    struct json_object *req, struct json_object **reply, char *err,
	    size_t errlen);
void	peer_conn_dispose(struct peer_conn *);
/* Bounds the bytes a connection to or from a relocd has in flight. */
void	peer_stream_window(struct relocd_conf *, int fd);
/* "host[:port]" and a default port into host and port; -1 if malformed. */
int	peer_parse_hostport(const char *spec, int dflt_port, char *host,
	    size_t hostlen, int *port);

#endif
