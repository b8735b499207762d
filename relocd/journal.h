/*
 * The migration journal: one record per migration in state_dir/journal/,
 * rewritten durably (temp file, fsync, rename, fsync of the directory)
 * BEFORE the action each phase announces, so that a relocd restarted
 * after any crash knows what may have happened and reconciles it
 * (recover.c, the table in relocd.8).
 *
 * ID.json is the record; ID.lock is flock'ed by the worker that runs the
 * migration for as long as it runs.  The kernel drops the lock however
 * the worker ends, so "lock free and phase not final" means "the worker
 * died in that phase", and a restarted parent leaves locked records to
 * the workers that still own them.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct relocd_conf;

#define JOURNAL_SUBDIR		"journal"
#define JOURNAL_KEEP		32	/* finished records kept for jobs */

/* Roles. */
#define JOURNAL_SOURCE		"source"
#define JOURNAL_DEST		"destination"

/*
 * Phases, in order.  Source: preflight, stream, rename, go, reported,
 * resume; destination: receive, ready, go, reported, destroy.  Final:
 * done (ran there / here as intended), failed (runs at the source),
 * unknown (go sent, outcome lost: the operator decides), recovered.
 */
struct journal {
	int		 lockfd;	/* -1: no journal */
	char		 dir[4096];
	char		 id[96];
	struct json_object *rec;
};

void	journal_init(struct journal *);
/* Create the record and take its lock.  -1 with the reason in err. */
int	journal_begin(struct journal *, const struct relocd_conf *,
	    const char *role, const char *name, const char *uuid,
	    uint32_t domid, const char *peer, char *err, size_t errlen);
/* Durably record a phase (and optional fields); -1 with err. */
int	journal_phase(struct journal *, const char *phase, char *err,
	    size_t errlen);
void	journal_set_int(struct journal *, const char *key, int64_t);
void	journal_set_str(struct journal *, const char *key, const char *);
/* Any JSON value (the record takes the reference). */
void	journal_set_obj(struct journal *, const char *key,
	    struct json_object *);
/* Final phase with the exit status and message; releases the lock. */
void	journal_end(struct journal *, const char *phase, int exitcode,
	    const char *message);
void	journal_dispose(struct journal *);

/* Is the phase one a migration ends in? */
int	journal_phase_final(const char *phase);

/*
 * All records under dir (state_dir/journal), oldest first, each with
 * "alive": 1 when a worker still holds its lock.  -1 with err.
 */
int	journal_list(const char *dir, struct json_object **arr, char *err,
	    size_t errlen);
/* A small file in the journal's directory (a record, a progress view)
 * as a JSON object; NULL when it is missing or not one. */
struct json_object *journal_read_object(const char *path);
/* Rewrite record id (already in dir) durably; -1 with err. */
int	journal_write(const char *dir, const char *id, struct json_object *,
	    char *err, size_t errlen);
/*
 * Take the lock of record id without waiting: its fd, or -1 when a live
 * worker holds it (or on error).
 */
int	journal_lock(const char *dir, const char *id);
/* Keep the newest JOURNAL_KEEP finished records, drop older ones. */
void	journal_prune(const char *dir);

#endif
