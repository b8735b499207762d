/*
 * xmig evacuate [-l] [-j N] [HOST...]: empty this host, as XAPI's
 * host-evacuate does.
 *
 *	maintenance on -> list the domains -> for each, in turn: place it
 *	(the listed hosts, else relocation_peers), less what this
 *	evacuation already has on its way to each host -> migrate it, at
 *	most N at a time -> one line per domain -> a summary
 *
 * Each migration is an ordinary "xmig migrate -q" in a child process of
 * its own process group: Ctrl-C here stops starting new ones and lets
 * the running ones finish (they live in relocd anyway).  A domain that
 * fits nowhere is reported with every host's reason, and the others
 * still move.  A host that is busy (max_migrations) or full for now
 * makes the domain wait for a running migration to end, not fail.
 */
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "precheck.h"
#include "proto.h"
#include "xmig.h"

#define EVAC_MAX_DOMAINS	1024
#define EVAC_MAX_TRIES		20	/* busy or full for now, then fail */

enum evac_state { EVAC_WAITING, EVAC_RUNNING, EVAC_DONE };

struct evac_dom {
	char		 name[64];
	int64_t		 mem_mb;
	int64_t		 weight;
	enum evac_state	 state;
	char		 host[256];
	pid_t		 pid;
	int		 fd;		/* the child's output */
	char		 out[2048];
	size_t		 outlen;
	int		 tries;
	int		 rc;
	uint64_t	 t0;
	char		 why[2048];	/* the result line */
};

struct evac {
	struct evac_dom	*doms;
	size_t		 ndoms;
	char		**hosts;	/* -H list, or NULL: relocation_peers */
	size_t		 nhosts;
	int		 live;
	int		 jobs;
	int		 running;
};

static volatile sig_atomic_t evac_interrupted;

static void	evac_sigint(int);
static int	evac_list(struct evac *);
static int	evac_place(struct evac *, struct evac_dom *);
static int	evac_start(struct evac *, struct evac_dom *);
static void	evac_reap(struct evac *);
static int64_t	evac_pending(const struct evac *, const char *, int);

static void
evac_sigint(int sig)
{
	evac_interrupted = 1;
}

/* The guests here, running or paused, largest first: the big ones have
 * the fewest places to go, so they choose while there is room. */
static int
evac_cmp(const void *a, const void *b)
{
	const struct evac_dom *x = a, *y = b;

	if (x->mem_mb != y->mem_mb)
		return x->mem_mb > y->mem_mb ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
evac_list(struct evac *e)
{
	struct json_object *req, *reply = NULL, *doms, *d;
	const char *name, *state;
	size_t i, n;
	int rc = -1;

	req = json_object_new_object();
	if (ctl_call(PT_LIST, req, &reply) == -1)
		goto out;
	if (!json_object_object_get_ex(reply, "domains", &doms))
		goto out;
	n = json_object_array_length(doms);
	if ((e->doms = calloc(n + 1, sizeof(*e->doms))) == NULL)
		goto out;
	for (i = 0; i < n && e->ndoms < EVAC_MAX_DOMAINS; i++) {
		d = json_object_array_get_idx(doms, i);
		name = proto_get_str(d, "name");
		state = proto_get_str(d, "state");
		if (name == NULL || state == NULL || strstr(name, "--") != NULL)
			continue;
		snprintf(e->doms[e->ndoms].name, sizeof(e->doms[0].name), "%s",
		    name);
		e->doms[e->ndoms].mem_mb = proto_get_int(d, "mem_mb", 0);
		e->doms[e->ndoms].weight = proto_get_int(d, "weight", 1);
		e->doms[e->ndoms].fd = -1;
		e->ndoms++;
	}
	qsort(e->doms, e->ndoms, sizeof(e->doms[0]), evac_cmp);
	rc = 0;
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

/* Memory (or weight) this evacuation has on its way to HOST. */
static int64_t
evac_pending(const struct evac *e, const char *host, int weight)
{
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < e->ndoms; i++)
		if (e->doms[i].state == EVAC_RUNNING &&
		    strcmp(e->doms[i].host, host) == 0)
			sum += weight ? e->doms[i].weight : e->doms[i].mem_mb;
	return sum;
}

/*
 * Choose d's host: 1 chosen (d->host), 0 not now (wait for a running
 * migration to end), -1 nowhere (d->why has each host's reason).
 */
static int
evac_place(struct evac *e, struct evac_dom *d)
{
	struct json_object *req, *reply = NULL, *targets, *t, *h, *arr;
	const char *host, *best = NULL;
	int64_t mem, cap, bestmem = -1;
	size_t i, n;
	int rc = -1, fits_later = 0;

	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string(d->name));
	json_object_object_add(req, "live", json_object_new_int(e->live));
	if (e->hosts != NULL) {
		arr = json_object_new_array();
		for (i = 0; i < e->nhosts; i++)
			json_object_array_add(arr,
			    json_object_new_string(e->hosts[i]));
		json_object_object_add(req, "hosts", arr);
	}
	if (ctl_call(PT_CTL_PLACE, req, &reply) == -1) {
		snprintf(d->why, sizeof(d->why), "%s: cannot place it (see "
		    "above)", d->name);
		goto out;
	}
	if (!json_object_object_get_ex(reply, "targets", &targets))
		targets = NULL;
	n = targets != NULL ? json_object_array_length(targets) : 0;
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(targets, i);
		host = proto_get_str(t, "host");
		if (host == NULL || proto_get_int(t, "failed", 1) > 0)
			continue;
		h = NULL;
		json_object_object_get_ex(t, "headroom", &h);
		/* What we sent that the host has not reserved yet counts. */
		mem = proto_get_int(h, "memory_mb", 0) - evac_pending(e, host,
		    0);
		cap = proto_get_int(h, "capacity", -1);
		if (mem < 0 || (cap >= 0 && cap - evac_pending(e, host, 1) <
		    0)) {
			fits_later = 1;
			continue;
		}
		if (mem > bestmem || (mem == bestmem && best != NULL &&
		    strcmp(host, best) < 0)) {
			best = host;
			bestmem = mem;
		}
	}
	if (best != NULL) {
		snprintf(d->host, sizeof(d->host), "%s", best);
		rc = 1;
		goto out;
	}
	if (fits_later && e->running > 0) {
		rc = 0;
		goto out;
	}
	snprintf(d->why, sizeof(d->why), "%s: fits nowhere", d->name);
	precheck_rank_reasons(reply, 1, d->why, sizeof(d->why));
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

/* "xmig migrate -q [-l] DOM HOST" in a child of its own process group,
 * its output on a pipe. */
static int
evac_start(struct evac *e, struct evac_dom *d)
{
	char *argv[6];
	int p[2], argc = 0, r;
	pid_t pid;

	if (pipe(p) == -1) {
		snprintf(d->why, sizeof(d->why), "%s: pipe: %s", d->name,
		    strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	switch (pid = fork()) {
	case -1:
		snprintf(d->why, sizeof(d->why), "%s: fork: %s", d->name,
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		argv[argc++] = "migrate";
		argv[argc++] = "-q";
		if (e->live)
			argv[argc++] = "-l";
		argv[argc++] = d->name;
		argv[argc++] = d->host;
		argv[argc] = NULL;
		optind = 1;
		r = main_migrate(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(r);
	default:
		break;
	}
	close(p[1]);
	d->pid = pid;
	d->fd = p[0];
	d->outlen = 0;
	d->t0 = clock_mono_us();
	d->state = EVAC_RUNNING;
	e->running++;
	printf("%s: moving to %s (%lld MiB)\n", d->name, d->host,
	    (long long)d->mem_mb);
	fflush(stdout);
	return 0;
}

/* Read what the children said; settle those that ended. */
static void
evac_reap(struct evac *e)
{
	struct pollfd pfd[EVAC_MAX_DOMAINS];
	struct evac_dom *idx[EVAC_MAX_DOMAINS];
	struct evac_dom *d;
	size_t i, n = 0;
	ssize_t r;
	char *nl;
	int status;

	for (i = 0; i < e->ndoms; i++)
		if (e->doms[i].state == EVAC_RUNNING && e->doms[i].fd != -1) {
			pfd[n].fd = e->doms[i].fd;
			pfd[n].events = POLLIN;
			idx[n++] = &e->doms[i];
		}
	if (n > 0 && poll(pfd, n, 500) > 0) {
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			d = idx[i];
			r = read(d->fd, d->out + d->outlen, sizeof(d->out) -
			    d->outlen - 1);
			if (r > 0)
				d->outlen += (size_t)r;
			else {
				close(d->fd);
				d->fd = -1;
			}
		}
	}
	for (i = 0; i < e->ndoms; i++) {
		d = &e->doms[i];
		if (d->state != EVAC_RUNNING || d->fd != -1 ||
		    waitpid(d->pid, &status, 0) != d->pid)
			continue;
		e->running--;
		d->out[d->outlen] = '\0';
		while (d->outlen > 0 && d->out[d->outlen - 1] == '\n')
			d->out[--d->outlen] = '\0';
		/* The last line is the outcome. */
		nl = strrchr(d->out, '\n');
		d->rc = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_UNKNOWN;
		/* Busy or full for now: it waits its turn again. */
		if (d->rc == EXIT_FAILED && (strstr(d->out, "busy:") != NULL ||
		    strstr(d->out, "not enough free memory") != NULL ||
		    strstr(d->out, "capacity") != NULL) &&
		    ++d->tries < EVAC_MAX_TRIES) {
			printf("%s: %s refused it for now; it waits\n", d->name,
			    d->host);
			d->state = EVAC_WAITING;
			continue;
		}
		d->state = EVAC_DONE;
		nl = nl != NULL ? nl + 1 : d->out;
		if (strncmp(nl, "xmig: ", 6) == 0)
			nl += 6;
		/* relocd's outcome names the domain first, mostly. */
		if (strncmp(nl, d->name, strlen(d->name)) == 0 &&
		    nl[strlen(d->name)] == ' ')
			snprintf(d->why, sizeof(d->why), "%s", nl);
		else
			snprintf(d->why, sizeof(d->why), "%s: %s", d->name,
			    nl);
		printf("%s (%.1f s)\n", d->why,
		    (clock_mono_us() - d->t0) / 1e6);
		fflush(stdout);
	}
}

int
main_evacuate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "live", no_argument, NULL, 'l' },
		{ "jobs", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *req, *reply = NULL;
	struct sigaction sa, old;
	struct evac e;
	struct evac_dom *d;
	size_t i, moved = 0, failed = 0, nowhere = 0, notstarted = 0, left;
	long v;
	int ch, r, progress, rc = EXIT_FAILED;

	memset(&e, 0, sizeof(e));
	e.jobs = xmig_conf.max_migrations > 0 ? xmig_conf.max_migrations : 4;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "lj:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			e.live = 1;
			break;
		case 'j':
			if ((v = xmig_number("jobs", optarg, 1, 64)) == -1)
				return EXIT_USAGE;
			e.jobs = (int)v;
			break;
		default:
			return xmig_usage("evacuate");
		}
	}
	if (argc > optind) {
		e.hosts = argv + optind;
		e.nhosts = (size_t)(argc - optind);
	}

	/* Nothing may arrive while we empty it. */
	req = json_object_new_object();
	json_object_object_add(req, "maintenance", json_object_new_string("on"));
	r = ctl_call(PT_CTL_MAINTENANCE, req, &reply);
	json_object_put(req);
	json_object_put(reply);
	if (r == -1)
		return EXIT_FAILED;
	printf("maintenance on: this host refuses incoming migrations\n");
	if (evac_list(&e) == -1)
		return EXIT_FAILED;
	printf("evacuating %zu domain%s, at most %d at a time\n", e.ndoms,
	    e.ndoms == 1 ? "" : "s", e.jobs);
	fflush(stdout);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = evac_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	for (;;) {
		progress = 0;
		for (i = 0; i < e.ndoms && !evac_interrupted &&
		    e.running < e.jobs; i++) {
			d = &e.doms[i];
			if (d->state != EVAC_WAITING)
				continue;
			r = evac_place(&e, d);
			if (r == 0)
				continue;	/* after a running one ends */
			progress = 1;
			if (r == -1 || evac_start(&e, d) == -1) {
				d->state = EVAC_DONE;
				d->rc = EXIT_FAILED;
				d->tries = -1;	/* nowhere */
				printf("%s\n", d->why);
				fflush(stdout);
			}
		}
		if (e.running == 0) {
			/* With nothing running, every waiting domain was
			 * either started or settled above. */
			for (i = 0; i < e.ndoms; i++)
				if (e.doms[i].state == EVAC_WAITING)
					break;
			if (i == e.ndoms || evac_interrupted)
				break;
			if (!progress)
				sleep(1);	/* refused for now: a breath */
			continue;
		}
		evac_reap(&e);
	}
	sigaction(SIGINT, &old, NULL);

	for (i = 0; i < e.ndoms; i++) {
		d = &e.doms[i];
		if (d->state == EVAC_WAITING) {
			notstarted++;
			printf("%s: not started%s\n", d->name,
			    evac_interrupted ? " (interrupted)" : "");
		} else if (d->rc == EXIT_OK)
			moved++;
		else if (d->tries == -1)
			nowhere++;
		else
			failed++;
	}
	/* The host is empty, or it is not: ask it. */
	free(e.doms);
	e.doms = NULL;
	e.ndoms = 0;
	left = evac_list(&e) == 0 ? e.ndoms : (size_t)-1;
	printf("evacuate: %zu moved, %zu failed, %zu fit nowhere, %zu not "
	    "started; ", moved, failed, nowhere, notstarted);
	if (left == 0) {
		printf("this host is empty\n");
		rc = EXIT_OK;
	} else if (left == (size_t)-1)
		printf("cannot tell what is left here\n");
	else {
		printf("%zu domain%s left here:", left, left == 1 ? "" : "s");
		for (i = 0; i < e.ndoms; i++)
			printf(" %s", e.doms[i].name);
		printf("\n");
	}
	printf("maintenance stays on ('xmig maintenance off' to accept "
	    "migrations again)\n");
	free(e.doms);
	return rc;
}
