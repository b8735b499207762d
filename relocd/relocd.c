#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "log.h"
#include "helper.h"
#include "relocd.h"
#include "xenops.h"

static void	usage(void) __attribute__((noreturn));
static void	relocd_sig(evutil_socket_t, short, void *);
static void	relocd_sweep(evutil_socket_t, short, void *);
static int	relocd_check_dirs(struct relocd_conf *, char *, size_t);
static int	relocd_check_cluster_dir(struct relocd_conf *, char *, size_t);
static void	relocd_adopt(struct relocd_conf *);

static void
usage(void)
{
	fprintf(stderr, "usage: relocd [-dnv] [-f file]\n");
	exit(2);
}

static void
relocd_sig(evutil_socket_t sig, short ev, void *arg)
{
	struct relocd *env = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/* Workers keep running: a migration in flight finishes (or
		 * fails safely) on its own; only new sessions stop. */
		log_info("received signal %d, exiting", (int)sig);
		event_base_loopbreak(env->sc_evb);
		break;
	case SIGCHLD:
		worker_reap(env);
		break;
	case SIGHUP:
		relocd_reload(env);
		break;
	}
}

/*
 * A worker that dies while this parent runs (killed, or orphaned by an
 * earlier parent) leaves its journal record unsettled: reconcile it in a
 * child, since backend calls never run in the event loop.
 */
static void
relocd_sweep(evutil_socket_t fd, short ev, void *arg)
{
	struct relocd *env = arg;
	pid_t pid;

	if (env->sc_sweep_pid != -1 || !recover_pending(&env->sc_conf))
		return;
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		return;
	case 0:
		close(env->sc_tcp_fd);
		close(env->sc_ctl_fd);
		if (env->sc_priv_fd != -1)
			close(env->sc_priv_fd);
		worker_child_signals();
		log_procinit("recover");
		recover_reconcile(&env->sc_conf);
		_exit(0);
	default:
		env->sc_sweep_pid = pid;
	}
}

/*
 * The libxl backend's monitors outlive relocd, but one may have been
 * killed meanwhile (or relocd's whole cgroup with it): the domains that
 * lost theirs get new ones before the first session.
 */
static void
relocd_adopt(struct relocd_conf *conf)
{
	struct xo_ctx *xo;
	char err[1024];
	int n;

	if (conf->backend != BACKEND_LIBXL)
		return;
	if ((xo = xo_open(conf, err, sizeof(err))) == NULL) {
		log_warnx("death monitors: %s", err);
		return;
	}
	if ((n = xo_adopt(xo)) < 0)
		log_warnx("death monitors: %s", xo_errmsg(xo));
	else if (n > 0)
		log_info("death monitors: %d domain%s had lost %s and got a "
		    "new one", n, n == 1 ? "" : "s", n == 1 ? "its" : "theirs");
	xo_close(xo);
}

/* The state directory must exist and be ours before any worker needs it. */
static int
relocd_check_dirs(struct relocd_conf *conf, char *err, size_t errlen)
{
	char path[4096];

	if (mkdir(conf->state_dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s:%d: state_dir \"%s\": %s",
		    conf->path, conf->line_state_dir, conf->state_dir,
		    strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/slots", conf->state_dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s:%d: state_dir \"%s\": cannot create "
		    "%s: %s", conf->path, conf->line_state_dir,
		    conf->state_dir, path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Shared storage is mounted, never made: a cluster_dir that is missing is
 * a share that is not there, and a local directory in its place would
 * hand out leases nobody else can see.
 */
static int
relocd_check_cluster_dir(struct relocd_conf *conf, char *err, size_t errlen)
{
	struct stat st;

	if (*conf->cluster_dir == '\0')
		return 0;
	if (stat(conf->cluster_dir, &st) == -1) {
		snprintf(err, errlen, "%s:%d: cluster_dir \"%s\": %s (is the "
		    "shared storage mounted?)", conf->path,
		    conf->line_cluster_dir, conf->cluster_dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s:%d: cluster_dir \"%s\": not a "
		    "directory", conf->path, conf->line_cluster_dir,
		    conf->cluster_dir);
		return -1;
	}
	if (access(conf->cluster_dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "%s:%d: cluster_dir \"%s\": %s",
		    conf->path, conf->line_cluster_dir, conf->cluster_dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct relocd env_s, *env = &env_s;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_chld = NULL,
	    *ev_hup = NULL, *ev_sweep = NULL;
	struct timeval sweep_tv = { 5, 0 };
	struct xo_ctx *xo = NULL;
	const char *file = NULL;
	char err[1024], *abs = NULL;
	int ch, debug = 0, verbose = 0, noaction = 0;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/*
	 * Every connection is served by a process forked from this one, and
	 * every page it writes that it shares with this one is a
	 * copy-on-write fault, with a TLB flush that is dear on a VM.  With
	 * fast bins, the first large allocation of a TLS handshake in the
	 * new process coalesced every small chunk this process had freed,
	 * writing all over the shared heap; without them frees coalesce
	 * here at once.  Measured: setup about 4% faster.
	 */
	mallopt(M_MXFAST, 0);

	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);

	memset(env, 0, sizeof(*env));
	env->sc_tcp_fd = env->sc_ctl_fd = env->sc_priv_fd = -1;
	env->sc_priv_pid = env->sc_sweep_pid = -1;
	TAILQ_INIT(&env->sc_sessions);
	conf_init(&env->sc_conf);
	/* Absolute: daemon() goes to /, and SIGHUP reads the file again
	 * (and the relative paths in it, from its directory). */
	if (file != NULL && *file != '/' && (abs = realpath(file, NULL)) !=
	    NULL)
		file = abs;
	if (conf_load(&env->sc_conf, file, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	/* -n loads everything a start would: certificates, keys, CRL, the
	 * self-check and the backend. */
	if ((env->sc_tls = tls_ctx_new(&env->sc_conf, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if ((xo = xo_open(&env->sc_conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", env->sc_conf.path, err);
		exit(1);
	}
	xo_close(xo);
	if (privsep_lookup(&env->sc_conf, &env->sc_uid, &env->sc_gid, err,
	    sizeof(err)) == -1 || privsep_init(err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (relocd_check_cluster_dir(&env->sc_conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (noaction) {
		printf("configuration OK\n");
		exit(0);
	}
	if (geteuid() != 0)
		log_warnx("not running as root: the libxl backend and the "
		    "control socket permissions need root, and the network "
		    "processes keep this user instead of becoming \"%s\"",
		    env->sc_conf.user);
	if (relocd_check_dirs(&env->sc_conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}

	signal(SIGPIPE, SIG_IGN);
	if ((env->sc_evb = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (listener_open(env, err, sizeof(err)) == -1 ||
	    control_open(env, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, LOG_DAEMON);
	}
	log_procinit("parent");

	/* Settle what a crash left behind before the first accept (the
	 * listeners are open but nothing is accepted before the loop
	 * runs), and after daemon(): its log lines go where the daemon's
	 * go. */
	recover_reconcile(&env->sc_conf);
	/* A forced restart moved domains off this host while it was
	 * dead: their stale copies go, and maintenance stays on. */
	cluster_settle(&env->sc_conf);
	relocd_adopt(&env->sc_conf);
	if (priv_start(env) == -1)
		fatalx("cannot start relocd-priv");

	ev_term = evsignal_new(env->sc_evb, SIGTERM, relocd_sig, env);
	ev_int = evsignal_new(env->sc_evb, SIGINT, relocd_sig, env);
	ev_chld = evsignal_new(env->sc_evb, SIGCHLD, relocd_sig, env);
	ev_hup = evsignal_new(env->sc_evb, SIGHUP, relocd_sig, env);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_chld, NULL);
	evsignal_add(ev_hup, NULL);
	ev_sweep = event_new(env->sc_evb, -1, EV_PERSIST, relocd_sweep, env);
	event_add(ev_sweep, &sweep_tv);

	log_info("relocd %s listening on %s:%d (TLS >= 1.%d, backend %s, "
	    "%zu allow-list entries), control socket %s", RELOCD_VERSION,
	    *env->sc_conf.relocation_address ? env->sc_conf.relocation_address :
	    "*", env->sc_conf.relocation_port, env->sc_conf.tls_min_version % 10,
	    env->sc_conf.backend == BACKEND_SIM ? "sim" : "libxl",
	    env->sc_conf.nhosts_allow, env->sc_conf.control_socket);

	event_base_dispatch(env->sc_evb);

	listener_close(env);
	control_close(env);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_free(ev_hup);
	event_free(ev_sweep);
	if (env->sc_priv_ev != NULL)
		event_free(env->sc_priv_ev);
	/* relocd-priv serves what it was handed, then goes. */
	if (env->sc_priv_fd != -1)
		close(env->sc_priv_fd);
	event_base_free(env->sc_evb);
	SSL_CTX_free(env->sc_tls);
	conf_dispose(&env->sc_conf);
	free(abs);
	return 0;
}
