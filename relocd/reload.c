/*
 * SIGHUP: relocd.conf, the certificates, the key and the CRL read again,
 * through the checks a start and `relocd -n` make.  A configuration that
 * fails them changes nothing: the running one stays, and the log says
 * FILE:LINE and why.  One that passes applies to what starts after it:
 * the parent's accept checks and every new network process use it, and a
 * new relocd-priv is started with it (the old one finishes the sessions
 * it was serving and goes).  Sessions in flight keep the settings they
 * started with: their processes have their own copy.
 *
 * What the parent set up once at start cannot change this way: the
 * listening address and port, the control socket, the backend, the
 * network processes' user and state_dir.  A change to one of them is
 * logged as needing a restart, and the running value stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relocd.h"

static int	reload_keep_str(const char *, char **, int *, char *,
		    int);

/* A restart-only string key: keep the running value.  1 if it changed. */
static int
reload_keep_str(const char *key, char **newv, int *newline, char *oldv,
    int oldline)
{
	char *copy;

	if (strcmp(*newv != NULL ? *newv : "", oldv != NULL ? oldv : "") == 0)
		return 0;
	log_warnx("reload: %s changed from \"%s\" to \"%s\": that needs a "
	    "restart; still \"%s\"", key, oldv != NULL ? oldv : "",
	    *newv != NULL ? *newv : "", oldv != NULL ? oldv : "");
	if ((copy = strdup(oldv != NULL ? oldv : "")) == NULL)
		fatal("%s", __func__);
	free(*newv);
	*newv = copy;
	if (newline != NULL)
		*newline = oldline;
	return 1;
}

void
relocd_reload(struct relocd *env)
{
	struct relocd_conf nc, *old = &env->sc_conf;
	SSL_CTX *tls = NULL;
	uid_t uid;
	gid_t gid;
	char err[1024];
	int n = 0;

	log_info("SIGHUP: reading %s again", old->path);
	conf_init(&nc);
	if (conf_load(&nc, old->path, err, sizeof(err)) == -1 ||
	    (tls = tls_ctx_new(&nc, err, sizeof(err))) == NULL ||
	    privsep_lookup(&nc, &uid, &gid, err, sizeof(err)) == -1) {
		log_warnx("reload failed, the running configuration stays: "
		    "%s", err);
		conf_dispose(&nc);
		return;
	}
	n += reload_keep_str("relocation_address", &nc.relocation_address,
	    &nc.line_relocation_address, old->relocation_address,
	    old->line_relocation_address);
	n += reload_keep_str("control_socket", &nc.control_socket,
	    &nc.line_control_socket, old->control_socket,
	    old->line_control_socket);
	n += reload_keep_str("state_dir", &nc.state_dir, &nc.line_state_dir,
	    old->state_dir, old->line_state_dir);
	n += reload_keep_str("cluster_dir", &nc.cluster_dir,
	    &nc.line_cluster_dir, old->cluster_dir, old->line_cluster_dir);
	n += reload_keep_str("user", &nc.user, &nc.line_user, old->user,
	    old->line_user);
	if (nc.relocation_port != old->relocation_port) {
		log_warnx("reload: relocation_port changed from %d to %d: "
		    "that needs a restart; still %d", old->relocation_port,
		    nc.relocation_port, old->relocation_port);
		nc.relocation_port = old->relocation_port;
		n++;
	}
	if (nc.backend != old->backend) {
		log_warnx("reload: backend changed: that needs a restart; "
		    "still \"%s\"", old->backend == BACKEND_SIM ? "sim" :
		    "libxl");
		nc.backend = old->backend;
		n++;
	}
	conf_dispose(old);
	*old = nc;
	SSL_CTX_free(env->sc_tls);
	env->sc_tls = tls;
	priv_replace(env);
	log_info("reloaded %s: %zu allow-list entries, CRL %s%s", old->path,
	    old->nhosts_allow, old->tls_crl_file != NULL &&
	    *old->tls_crl_file != '\0' ? old->tls_crl_file : "none",
	    n > 0 ? "; some changes wait for a restart (above)" : "");
}
