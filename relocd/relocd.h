/*
 * relocd: the parent process runs one libevent loop that accepts TCP and
 * control connections, drops peers whose address is not allowed, runs TLS
 * handshakes with a deadline and checks the verified certificate against
 * the allow-list.  Every authenticated session is then handed to a worker
 * process of its own, which reads the request and serves it with blocking
 * I/O: crypto and hypervisor calls never run in the event loop, and one
 * migration's failure cannot take the daemon down.
 */
#ifndef RELOCD_H
#define RELOCD_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

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

/* A connection before it reaches a worker. */
struct session {
	TAILQ_ENTRY(session) s_entry;
	struct relocd	*s_env;
	int		 s_fd;
	SSL		*s_ssl;		/* NULL on the control socket */
	struct sockaddr_storage s_ss;
	char		 s_addr[64];	/* peer address, or "uid N" */
	struct event	*s_ev;
	struct event	*s_tmo;
};
TAILQ_HEAD(sessionlist, session);

struct relocd {
	struct relocd_conf sc_conf;
	SSL_CTX		*sc_tls;
	struct event_base *sc_evb;
	int		 sc_tcp_fd;
	int		 sc_ctl_fd;
	struct event	*sc_tcp_ev;
	struct event	*sc_ctl_ev;
	struct event	*sc_pause_ev;	/* accept paused on EMFILE */
	struct sessionlist sc_sessions;
	int		 sc_nunauth;
	int		 sc_nworkers;
};

/* What a worker knows about the far end. */
struct peer_ctx {
	int		 local;		/* control socket: local admin */
	uid_t		 uid;
	char		 addr[64];
	struct tls_peer	 id;
};

/* listener.c */
int	listener_open(struct relocd *, char *err, size_t errlen);
void	listener_close(struct relocd *);

/* control.c */
int	control_open(struct relocd *, char *err, size_t errlen);
void	control_close(struct relocd *);

/* worker.c */
void	worker_spawn(struct relocd *, struct session *, struct peer_ctx *);
void	worker_reap(struct relocd *);
/* In a worker: take one of max_migrations slots; -1 if all are busy. */
int	worker_migration_slot(struct relocd_conf *, char *err, size_t errlen);

/* serve.c: a worker serving a peer host or the local xmig */
void	serve_peer(struct relocd_conf *, struct iochan *, struct peer_ctx *);
void	serve_control(struct relocd_conf *, SSL_CTX *, struct iochan *,
	    struct peer_ctx *);

/* recv.c / send.c */
struct xo_ctx;
/* Would this host take the domain?  The checks of DESIGN.md section 5,
 * before any stream byte: maintenance mode, policy, name and UUID,
 * memory, domain count.  0, or -1 with the reason and a short code. */
int	recv_precheck(struct relocd_conf *, struct xo_ctx *,
	    struct json_object *cfg, const char **code, char *reason,
	    size_t reasonlen);
void	recv_migrate(struct relocd_conf *, struct iochan *, struct peer_ctx *,
	    struct json_object *req);
void	send_migrate(struct relocd_conf *, SSL_CTX *, struct iochan *ctl,
	    struct json_object *req);

/* console.c: a domain's console, served here or relayed from a peer;
 * the moved record that lets watchers follow a migrated domain */
void	console_serve(struct relocd_conf *, struct iochan *,
	    struct peer_ctx *, struct json_object *req);
void	console_relay(struct relocd_conf *, SSL_CTX *, struct iochan *ctl,
	    struct peer_ctx *, struct json_object *req);
void	console_moved_record(struct relocd_conf *, const char *name,
	    const char *host, int port);

/* recover.c: restart reconciliation, xmig jobs and xmig recover */
void	recover_reconcile(struct relocd_conf *);
/* Did a worker die leaving its record unsettled (not "unknown")? */
int	recover_pending(struct relocd_conf *);
void	recover_serve_jobs(struct relocd_conf *, struct iochan *);
void	recover_serve_control(struct relocd_conf *, SSL_CTX *,
	    struct iochan *, struct json_object *req);
void	recover_serve_peer(struct relocd_conf *, struct iochan *,
	    struct peer_ctx *, struct json_object *req);

/* tunnel.c: "xmig tunnel HOST", stock xl's stream to HOST's relocd */
void	tunnel_serve(struct relocd_conf *, SSL_CTX *, struct iochan *ctl,
	    struct peer_ctx *, struct json_object *req);

/* speedtest.c: "xmig speedtest HOST", a stream with no domain behind it */
#define SPEEDTEST_MAX_BYTES	(64ULL << 30)
void	speedtest_serve_peer(struct relocd_conf *, struct iochan *,
	    struct peer_ctx *, struct json_object *req);
void	speedtest_serve_control(struct relocd_conf *, SSL_CTX *,
	    struct iochan *ctl, struct json_object *req);

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
void	peer_conn_dispose(struct peer_conn *);
/* Bounds the bytes a connection to or from a relocd has in flight. */
void	peer_stream_window(struct relocd_conf *, int fd);
/* "host[:port]" and a default port into host and port; -1 if malformed. */
int	peer_parse_hostport(const char *spec, int dflt_port, char *host,
	    size_t hostlen, int *port);

/* hostinfo.c: JSON views shared by local and remote answers */
struct json_object *hostinfo_list_json(struct xo_ctx *, char *err,
	    size_t errlen);
struct json_object *hostinfo_host_json(struct xo_ctx *,
	    struct relocd_conf *, char *err, size_t errlen);

#endif
