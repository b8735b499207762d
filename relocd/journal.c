/*
 * The migration journal (journal.h).  A record is small JSON; durability
 * comes from the classic sequence: write a temp file, fsync it, rename it
 * over the record, fsync the directory.  A failed write is reported to
 * the caller, which then does not take the action the phase announces.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "journal.h"

static int	journal_write_all(int, const char *, size_t);
static int	journal_cmp(const void *, const void *);
static int	journal_id_ok(const char *);

void
journal_init(struct journal *j)
{
	memset(j, 0, sizeof(*j));
	j->lockfd = -1;
}

static int
journal_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Record ids are ours: digits, letters and '-' only. */
static int
journal_id_ok(const char *id)
{
	size_t i;

	if (*id == '\0' || strlen(id) > 80)
		return 0;
	for (i = 0; id[i] != '\0'; i++)
		if (!(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'z')))
			return 0;
	return 1;
}

int
journal_write(const char *dir, const char *id, struct json_object *rec,
    char *err, size_t errlen)
{
	char tmp[4200], path[4200];
	const char *s;
	int fd = -1, dfd = -1, rc = -1, saved;

	snprintf(tmp, sizeof(tmp), "%s/%s.json.tmp", dir, id);
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 ||
	    journal_write_all(fd, s, strlen(s)) == -1 ||
	    journal_write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		saved = errno;
		snprintf(err, errlen, "journal %s: %s", tmp, strerror(saved));
		unlink(tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) == -1) {
		saved = errno;
		snprintf(err, errlen, "journal %s: %s", path, strerror(saved));
		unlink(tmp);
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "journal %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

int
journal_lock(const char *dir, const char *id)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.lock", dir, id);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
journal_begin(struct journal *j, const struct relocd_conf *conf,
    const char *role, const char *name, const char *uuid, uint32_t domid,
    const char *peer, char *err, size_t errlen)
{
	struct timespec ts;
	struct json_object *o;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(j->dir, sizeof(j->dir), "%s/%s", conf->state_dir,
	    JOURNAL_SUBDIR);
	if (mkdir(j->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "journal %s: %s", j->dir,
		    strerror(errno));
		return -1;
	}
	snprintf(j->id, sizeof(j->id), "%lld-%09ld-%ld-%c",
	    (long long)ts.tv_sec, ts.tv_nsec, (long)getpid(),
	    strcmp(role, JOURNAL_SOURCE) == 0 ? 's' : 'd');
	if ((j->lockfd = journal_lock(j->dir, j->id)) == -1) {
		snprintf(err, errlen, "journal %s/%s.lock: %s", j->dir, j->id,
		    strerror(errno));
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(j->id));
	json_object_object_add(o, "role", json_object_new_string(role));
	json_object_object_add(o, "domain", json_object_new_string(name));
	json_object_object_add(o, "uuid", json_object_new_string(uuid ?
	    uuid : ""));
	json_object_object_add(o, "domid", json_object_new_int64(domid));
	json_object_object_add(o, "peer", json_object_new_string(peer ?
	    peer : ""));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "started",
	    json_object_new_int64(ts.tv_sec));
	j->rec = o;
	return journal_phase(j, role[0] == 's' ? "preflight" : "receive",
	    err, errlen);
}

int
journal_phase(struct journal *j, const char *phase, char *err,
    size_t errlen)
{
	if (j->rec == NULL)
		return 0;
	json_object_object_add(j->rec, "phase",
	    json_object_new_string(phase));
	json_object_object_add(j->rec, "updated",
	    json_object_new_int64(time(NULL)));
	return journal_write(j->dir, j->id, j->rec, err, errlen);
}

void
journal_set_int(struct journal *j, const char *key, int64_t v)
{
	if (j->rec != NULL)
		json_object_object_add(j->rec, key, json_object_new_int64(v));
}

void
journal_set_str(struct journal *j, const char *key, const char *v)
{
	if (j->rec != NULL)
		json_object_object_add(j->rec, key,
		    json_object_new_string(v));
}

void
journal_set_obj(struct journal *j, const char *key, struct json_object *v)
{
	if (j->rec != NULL)
		json_object_object_add(j->rec, key, v);
	else
		json_object_put(v);
}

void
journal_end(struct journal *j, const char *phase, int exitcode,
    const char *message)
{
	char err[512];

	if (j->rec == NULL)
		return;
	journal_set_int(j, "exit", exitcode);
	if (message != NULL)
		journal_set_str(j, "message", message);
	/* Best effort: a lost final record is reconciled at restart from
	 * the phase before it, which is always the safe reading. */
	(void)journal_phase(j, phase, err, sizeof(err));
	journal_prune(j->dir);
	journal_dispose(j);
}

void
journal_dispose(struct journal *j)
{
	if (j->lockfd != -1)
		close(j->lockfd);
	j->lockfd = -1;
	json_object_put(j->rec);
	j->rec = NULL;
}

int
journal_phase_final(const char *phase)
{
	return phase != NULL && (strcmp(phase, "done") == 0 ||
	    strcmp(phase, "failed") == 0 || strcmp(phase, "recovered") == 0);
}

static int
journal_cmp(const void *a, const void *b)
{
	struct json_object *const *x = a, *const *y = b;
	struct json_object *ix, *iy;

	json_object_object_get_ex(*x, "id", &ix);
	json_object_object_get_ex(*y, "id", &iy);
	return strcmp(json_object_get_string(ix), json_object_get_string(iy));
}

struct json_object *
journal_read_object(const char *path)
{
	struct json_object *o;
	char buf[8192];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((o = json_tokener_parse(buf)) != NULL &&
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int
journal_list(const char *dir, struct json_object **arr_r, char *err,
    size_t errlen)
{
	struct json_object *arr, *o, *idobj;
	struct dirent *de;
	DIR *d;
	char path[4200], id[96];
	size_t len, i;
	int lfd;

	*arr_r = NULL;
	arr = json_object_new_array();
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			*arr_r = arr;
			return 0;
		}
		snprintf(err, errlen, "journal %s: %s", dir, strerror(errno));
		json_object_put(arr);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || len - 5 >= sizeof(id) ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, len - 5);
		id[len - 5] = '\0';
		if (!journal_id_ok(id))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((o = journal_read_object(path)) == NULL)
			continue;
		if (!json_object_object_get_ex(o, "id", &idobj) ||
		    strcmp(json_object_get_string(idobj), id) != 0) {
			json_object_put(o);
			continue;
		}
		/* A lock we can take is a lock nobody holds. */
		if ((lfd = journal_lock(dir, id)) != -1)
			close(lfd);
		json_object_object_add(o, "alive",
		    json_object_new_int(lfd == -1));
		json_object_array_add(arr, o);
	}
	closedir(d);
	len = json_object_array_length(arr);
	if (len > 1) {
		struct json_object **v = calloc(len, sizeof(*v));

		if (v != NULL) {
			for (i = 0; i < len; i++)
				v[i] = json_object_get(
				    json_object_array_get_idx(arr, i));
			qsort(v, len, sizeof(*v), journal_cmp);
			json_object_put(arr);
			arr = json_object_new_array();
			for (i = 0; i < len; i++)
				json_object_array_add(arr, v[i]);
			free(v);
		}
	}
	*arr_r = arr;
	return 0;
}

void
journal_prune(const char *dir)
{
	struct json_object *arr = NULL, *o, *v;
	char err[256], path[4200];
	size_t i, len, nfinal = 0, drop;
	const char *id;

	if (journal_list(dir, &arr, err, sizeof(err)) == -1)
		return;
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		o = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(o, "phase", &v) &&
		    journal_phase_final(json_object_get_string(v)))
			nfinal++;
	}
	drop = nfinal > JOURNAL_KEEP ? nfinal - JOURNAL_KEEP : 0;
	for (i = 0; i < len && drop > 0; i++) {
		o = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(o, "phase", &v) ||
		    !journal_phase_final(json_object_get_string(v)))
			continue;
		json_object_object_get_ex(o, "id", &v);
		id = json_object_get_string(v);
		snprintf(path, sizeof(path), "%s/%s.json", dir, id);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.lock", dir, id);
		unlink(path);
		drop--;
	}
	json_object_put(arr);
}
