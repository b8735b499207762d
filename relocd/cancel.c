/*
 * Cancel: stop a migration away before its point of no return, so the
 * domain goes on running here, under its own name, and the destination
 * drops its incoming copy: the path of a stream that broke, taken on
 * purpose.
 *
 * xmig cancel DOM (or Ctrl-C in xmig migrate, which sends it) reaches a
 * helper of its own, which finds the migration's record in the journal.
 * Past "go" it refuses, with the reason: the migration finishes.  Before
 * that it signals the migration's helper (SIGUSR1), which forwards the
 * signal to its network process through the pidfd it holds (the only
 * process that may signal it); the network process checks the flag in
 * its stream relay and before it asks for the point of no return, and
 * aborts as for a broken stream.  A cancel that arrives as the network
 * process passes that point is too late, and says so: either way the
 * answer is the journal's last word on the migration, once it has ended,
 * so the domain runs on exactly one host, whatever the moment.
 */
#include <sys/pidfd.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "domcfg.h"
#include "helper.h"
#include "hx.h"
#include "journal.h"
#include "log.h"
#include "relocd.h"

#define CANCEL_WAIT_S	60	/* for the migration to end after the signal */

volatile sig_atomic_t worker_cancelled;
static int cancel_net_pidfd = -1;

static void	cancel_net_signal(int);
static void	cancel_forward(int);
static struct json_object *cancel_find(struct relocd_conf *, const char *,
		    const char *);

/* The network process: a flag its relay and the migration engine read. */
static void
cancel_net_signal(int sig)
{
	worker_cancelled = 1;
}

void
cancel_net_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cancel_net_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

/* The migration's helper: passes the signal on to its network process. */
static void
cancel_forward(int sig)
{
	int e = errno;

	if (cancel_net_pidfd != -1)
		pidfd_send_signal(cancel_net_pidfd, SIGUSR1, NULL, 0);
	errno = e;
}

void
cancel_helper_init(int net_pidfd)
{
	struct sigaction sa;

	cancel_net_pidfd = net_pidfd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cancel_forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

/* The source record of NAME: the running one, or with ID that one. */
static struct json_object *
cancel_find(struct relocd_conf *conf, const char *name, const char *id)
{
	struct json_object *arr = NULL, *o, *found = NULL;
	char dir[4096], err[512];
	const char *v;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/%s", conf->state_dir, JOURNAL_SUBDIR);
	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return NULL;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if ((v = proto_get_str(o, "role")) == NULL ||
		    strcmp(v, JOURNAL_SOURCE) != 0 ||
		    (v = proto_get_str(o, "domain")) == NULL ||
		    strcmp(v, name) != 0)
			continue;
		if (id != NULL ? (v = proto_get_str(o, "id")) != NULL &&
		    strcmp(v, id) == 0 : proto_get_int(o, "alive", 0) != 0) {
			found = json_object_get(o);
			break;
		}
	}
	json_object_put(arr);
	return found;
}

int
helper_cancel(struct helper *h, struct json_object *args, int *fds, int nfds)
{
	const char *name = proto_get_str(args, "domain"), *phase;
	struct json_object *rec = NULL, *end = NULL, *reply;
	char host[256], comm[64], path[64], id[128], where[256];
	uint64_t until;
	ssize_t n;
	pid_t pid;
	int fd, rc;

	if (name == NULL || strcmp(name, h->scope) != 0)
		return helper_error(h, "proto", "cancel: not the domain the "
		    "request named");
	if (helper_domain_busy(h->conf, name, host, sizeof(host)) == NULL ||
	    (rec = cancel_find(h->conf, name, NULL)) == NULL) {
		json_object_put(rec);
		return helper_error(h, "usage", "%s is not migrating away from "
		    "this host: nothing to cancel", name);
	}
	phase = proto_get_str(rec, "phase");
	if (phase != NULL && (strcmp(phase, "go") == 0 ||
	    strcmp(phase, "reported") == 0)) {
		json_object_put(rec);
		return helper_error(h, "refused", "%s is past the point of no "
		    "return (it may already run on %s): the migration "
		    "finishes, and cannot be cancelled", name, host);
	}
	/* Its helper, by the pid its record holds: still a helper of ours
	 * (a pid can be reused), or nothing is signalled. */
	pid = (pid_t)proto_get_int(rec, "pid", 0);
	snprintf(id, sizeof(id), "%s", proto_get_str(rec, "id") ?
	    proto_get_str(rec, "id") : "");
	json_object_put(rec);
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	n = -1;
	if (pid > 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
	}
	if (n <= 0 || strncmp(comm, "relocd-helper", 13) != 0 ||
	    kill(pid, SIGUSR1) == -1)
		return helper_error(h, "failed", "cannot reach the migration "
		    "of %s (helper %ld): %s", name, (long)pid, n <= 0 ?
		    "gone" : strerror(errno));
	log_info("%s: cancel of the migration of %s to %s requested", h->who,
	    name, host);
	/* Its last word, once it has one. */
	until = clock_mono_us() + CANCEL_WAIT_S * 1000000ULL;
	while (helper_domain_busy(h->conf, name, host, sizeof(host)) != NULL &&
	    clock_mono_us() < until)
		poll(NULL, 0, 100);
	if ((end = cancel_find(h->conf, name, id)) == NULL ||
	    (phase = proto_get_str(end, "phase")) == NULL) {
		json_object_put(end);
		return helper_error(h, "failed", "the migration of %s has not "
		    "ended within %d s of the cancel: see xmig jobs", name,
		    CANCEL_WAIT_S);
	}
	if (gethostname(where, sizeof(where)) == -1)
		snprintf(where, sizeof(where), "this host");
	where[sizeof(where) - 1] = '\0';
	reply = json_object_new_object();
	if (strcmp(phase, "failed") == 0) {
		json_object_object_add(reply, "exit", json_object_new_int(0));
		json_object_object_add(reply, "message", json_object_new_string(
		    "cancelled"));
		json_object_object_add(reply, "runs_on",
		    json_object_new_string(where));
	} else {
		json_object_object_add(reply, "exit", json_object_new_int(
		    strcmp(phase, "done") == 0 ? 1 : 3));
		json_object_object_add(reply, "message", json_object_new_string(
		    strcmp(phase, "done") == 0 ? "too late: it was past the "
		    "point of no return and migrated" : proto_get_str(end,
		    "message") ? proto_get_str(end, "message") : phase));
	}
	json_object_put(end);
	rc = helper_ok(h, reply, NULL, 0);
	json_object_put(reply);
	return rc;
}

/* PT_CTL_CANCEL {domain}: the network side. */
void
cancel_serve(struct worker *w, struct json_object *req)
{
	const char *dom = proto_get_str(req, "domain");
	struct json_object *args, *reply = NULL;
	const char *code;
	char err[1536];

	if (dom == NULL) {
		proto_send_error(&w->ioc, "usage", "cancel: no domain named");
		return;
	}
	args = json_object_new_object();
	json_object_object_add(args, "domain", json_object_new_string(dom));
	if (hx_call(&w->hx, HX_CANCEL, args, -1, &reply, NULL, NULL, &code,
	    err, sizeof(err)) != 0)
		proto_send_error(&w->ioc, code, "%s", err);
	else
		proto_send(&w->ioc, PT_OK, reply);
	json_object_put(args);
	json_object_put(reply);
}
