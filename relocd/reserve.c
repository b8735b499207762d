/*
 * Reservations: what a migration on its way in holds of this host's
 * memory and capacity, from the moment the destination says "ready to
 * receive" until the migration ends.  Without them two sources that
 * each checked a host with room for one domain would both be let in.
 *
 * One file per reservation, state_dir/reserve/PID, held under flock by
 * the receiving helper for its whole life: when the helper ends, however
 * it ends, the lock goes and the reservation with it (a reader removes
 * the file).  Taking one is judged under state_dir/reserve.lock, so two
 * helpers cannot both see the same room.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "domcfg.h"
#include "helper.h"
#include "log.h"
#include "relocd.h"
#include "xenops.h"

static int	reserve_dir(const struct relocd_conf *, char *, size_t, char *,
		    size_t);

static int
reserve_dir(const struct relocd_conf *conf, char *dir, size_t dirlen,
    char *err, size_t errlen)
{
	snprintf(dir, dirlen, "%s/reserve", conf->state_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* 1 if name's incoming copy (or name itself, renamed at go) is here. */
static int
reserve_arrived(const char *name, const struct xo_dominfo *doms,
    size_t ndoms)
{
	size_t i, len = strlen(name);

	for (i = 0; i < ndoms; i++)
		if (domcfg_base_len(doms[i].name) == len &&
		    strncmp(doms[i].name, name, len) == 0)
			return 1;
	return 0;
}

int
reserve_sum(const struct relocd_conf *conf, int self_fd,
    const struct xo_dominfo *doms, size_t ndoms, struct reserve_total *t,
    char *err, size_t errlen)
{
	struct json_object *o, *v;
	struct dirent *de;
	struct stat st, self;
	char dir[4096], path[4400], buf[512];
	ssize_t n;
	DIR *d;
	int fd;

	memset(t, 0, sizeof(*t));
	if (reserve_dir(conf, dir, sizeof(dir), err, errlen) == -1)
		return -1;
	if (self_fd == -1 || fstat(self_fd, &self) == -1)
		memset(&self, 0, sizeof(self));
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
		    -1)
			continue;
		/* Our own counts as what it is: the caller adds it. */
		if (fstat(fd, &st) == 0 && self_fd != -1 &&
		    st.st_ino == self.st_ino && st.st_dev == self.st_dev) {
			close(fd);
			continue;
		}
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			/* Nobody holds it: its helper has ended. */
			unlink(path);
			close(fd);
			continue;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if ((o = json_tokener_parse(buf)) == NULL)
			continue;
		if (json_object_object_get_ex(o, "domain", &v) &&
		    reserve_arrived(json_object_get_string(v), doms, ndoms)) {
			json_object_put(o);
			continue;
		}
		if (json_object_object_get_ex(o, "memory_kb", &v))
			t->kb += (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "weight", &v))
			t->weight += (unsigned)json_object_get_int64(v);
		t->count++;
		json_object_put(o);
	}
	closedir(d);
	return 0;
}

/*
 * Reserve MEMORY_KB and WEIGHT for NAME, if the host has them beyond
 * what the others hold: 0 (h->reserve_fd holds it), or -1 with the
 * reason and its code (nomem, full) or a failure (journal).
 */
int
reserve_take(struct helper *h, const char *name, uint64_t memory_kb,
    unsigned weight, const char **code, char *reason, size_t reasonlen)
{
	struct reserve_total t;
	struct xo_hostinfo hi;
	struct xo_dominfo *doms = NULL;
	struct json_object *o;
	char dir[4096], path[4400], lockpath[4200];
	const char *text;
	unsigned used = 0;
	uint64_t avail;
	size_t n = 0, i;
	int lockfd = -1, fd = -1, rc = -1;

	*code = "journal";
	memset(&hi, 0, sizeof(hi));
	if (h->reserve_fd != -1) {
		snprintf(reason, reasonlen, "a reservation is already held");
		return -1;
	}
	if (reserve_dir(h->conf, dir, sizeof(dir), reason, reasonlen) == -1)
		return -1;
	snprintf(lockpath, sizeof(lockpath), "%s/reserve.lock",
	    h->conf->state_dir);
	if ((lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1 || flock(lockfd, LOCK_EX) == -1) {
		snprintf(reason, reasonlen, "%s: %s", lockpath,
		    strerror(errno));
		goto out;
	}
	*code = "backend";
	if (xo_host_info(h->xo, &hi) != 0 || xo_list(h->xo, &doms, &n) != 0) {
		snprintf(reason, reasonlen, "%s", xo_errmsg(h->xo));
		goto out;
	}
	*code = "journal";
	if (reserve_sum(h->conf, -1, doms, n, &t, reason, reasonlen) == -1)
		goto out;
	for (i = 0; i < n; i++)
		used += doms[i].weight;
	avail = hi.free_kb > t.kb ? hi.free_kb - t.kb : 0;
	if (avail < memory_kb) {
		*code = "nomem";
		snprintf(reason, reasonlen, "not enough free memory: '%s' "
		    "needs %llu MiB, this host has %llu MiB free after %u "
		    "migration%s on their way in", name,
		    (unsigned long long)memory_kb / 1024,
		    (unsigned long long)avail / 1024, t.count,
		    t.count == 1 ? "" : "s");
		goto out;
	}
	if (h->conf->max_domains > 0 && n + t.count >=
	    (size_t)h->conf->max_domains) {
		*code = "full";
		snprintf(reason, reasonlen, "this host already runs or "
		    "receives %zu domains (max_domains = %d)", n + t.count,
		    h->conf->max_domains);
		goto out;
	}
	if (h->conf->capacity > 0 && used + t.weight + weight >
	    (unsigned)h->conf->capacity) {
		*code = "full";
		snprintf(reason, reasonlen, "'%s' weighs %u and this host has "
		    "%u of its capacity %d left after %u migration%s on their "
		    "way in", name, weight, used + t.weight >=
		    (unsigned)h->conf->capacity ? 0 : h->conf->capacity -
		    used - t.weight, h->conf->capacity, t.count,
		    t.count == 1 ? "" : "s");
		goto out;
	}
	*code = "journal";
	/* Locked before it has its name: a reader that finds it unlocked
	 * removes it. */
	snprintf(path, sizeof(path), "%s/.%ld", dir, (long)getpid());
	snprintf(lockpath, sizeof(lockpath), "%s/%ld", dir, (long)getpid());
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 || flock(fd, LOCK_EX) == -1) {
		snprintf(reason, reasonlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(name));
	json_object_object_add(o, "memory_kb",
	    json_object_new_int64((int64_t)memory_kb));
	json_object_object_add(o, "weight", json_object_new_int64(weight));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		snprintf(reason, reasonlen, "%s: %s", path, strerror(errno));
		json_object_put(o);
		unlink(path);
		goto out;
	}
	json_object_put(o);
	if (rename(path, lockpath) == -1) {
		snprintf(reason, reasonlen, "%s: %s", lockpath,
		    strerror(errno));
		unlink(path);
		goto out;
	}
	h->reserve_fd = fd;
	fd = -1;
	log_debug("%s: reserved %llu MiB and weight %u for %s", h->who,
	    (unsigned long long)memory_kb / 1024, weight, name);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (lockfd != -1)
		close(lockfd);
	free(doms);
	xo_hostinfo_dispose(&hi);
	return rc;
}

/* The migration has ended: what it held is the host's again. */
void
reserve_release(struct helper *h)
{
	char path[4400];

	if (h->reserve_fd == -1)
		return;
	snprintf(path, sizeof(path), "%s/reserve/%ld", h->conf->state_dir,
	    (long)getpid());
	unlink(path);
	close(h->reserve_fd);
	h->reserve_fd = -1;
}
