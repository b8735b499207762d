/*
 * Maintenance mode at run time (xmig maintenance on|off).  It is one
 * record, state_dir/maintenance.json, written durably by the root helper
 * with the journal's sequence (temp file, fsync, rename, fsync of the
 * directory): a host turned to maintenance stays there across a crash
 * or a restart until an operator turns it off.  Its presence is the
 * state; its content only says since when and by whom.
 *
 * Read with every incoming migration's facts (HX_FACTS) and every
 * host-info, so turning it on needs no signal to the daemon and no
 * restart: the next request sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "helper.h"
#include "journal.h"

#define MAINT_ID	"maintenance"
#define MAINT_MAX	4096	/* bytes of the record we read */

static int	maint_path(const struct relocd_conf *, char *, size_t);

static int
maint_path(const struct relocd_conf *conf, char *path, size_t len)
{
	return snprintf(path, len, "%s/%s.json", conf->state_dir, MAINT_ID) <
	    (int)len ? 0 : -1;
}

int
maint_get(const struct relocd_conf *conf, char *since, size_t sincelen,
    char *err, size_t errlen)
{
	struct json_object *rec = NULL, *v;
	char path[4200], buf[MAINT_MAX];
	ssize_t n;
	int fd;

	if (since != NULL && sincelen > 0)
		*since = '\0';
	if (maint_path(conf, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "state_dir path too long");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		/* Cannot tell: the callers refuse rather than guess. */
		snprintf(err, errlen, "maintenance state %s: %s", path,
		    strerror(errno));
		return -1;
	}
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n == -1 && errno == EINTR);
	close(fd);
	/* The record exists: on, whatever it says.  A damaged one still
	 * means someone turned maintenance on. */
	if (n <= 0 || since == NULL || sincelen == 0)
		return 1;
	buf[n] = '\0';
	if ((rec = json_tokener_parse(buf)) != NULL &&
	    json_object_object_get_ex(rec, "since", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(since, sincelen, "%s", json_object_get_string(v));
	if (*since != '\0' && json_object_object_get_ex(rec, "by", &v) &&
	    json_object_is_type(v, json_type_string)) {
		size_t l = strlen(since);

		snprintf(since + l, sincelen - l, " by %s",
		    json_object_get_string(v));
	}
	json_object_put(rec);
	return 1;
}

int
maint_set(const struct relocd_conf *conf, int on, const char *who,
    char *err, size_t errlen)
{
	struct json_object *rec;
	struct tm tm;
	char path[4200], when[64];
	time_t now = time(NULL);
	int dfd = -1, rc = -1;

	if (maint_path(conf, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "state_dir path too long");
		return -1;
	}
	if (on) {
		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		    &tm) == 0)
			snprintf(when, sizeof(when), "%lld", (long long)now);
		rec = json_object_new_object();
		json_object_object_add(rec, "since",
		    json_object_new_string(when));
		json_object_object_add(rec, "by", json_object_new_string(who));
		rc = journal_write(conf->state_dir, MAINT_ID, rec, err, errlen);
		json_object_put(rec);
		return rc;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* The removal must outlive a crash as the record did. */
	if ((dfd = open(conf->state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || fsync(dfd) == -1) {
		snprintf(err, errlen, "%s: %s", conf->state_dir,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (dfd != -1)
		close(dfd);
	return rc;
}
