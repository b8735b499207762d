/*
 * The migration engine (migrate.c): one migration of one domain from
 * this host, run in a network process, reported through a callback.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <json-c/json.h>

struct worker;

struct migration {
	const char	*domain;	/* name or domid */
	const char	*host;		/* "host[:port]" */
	int		 port;		/* overrides a port in host; 0: none */
	int		 live;
	int		 paused;	/* leave it paused at the destination */
	int		 bandwidth_mbit;	/* 0: unlimited */
	int		 copy_storage;	/* copy its disks too (files, block devices) */
	int		 remove_source_disk;	/* ...and remove them after */
	/* Each progress frame's body as it comes (not kept). */
	void		(*progress)(struct json_object *, void *arg);
	/* The outcome (below), as soon as it is known. */
	void		(*outcome)(struct json_object *, void *arg);
	void		*arg;
};

/*
 * Runs the migration to its end.  Returns the outcome, never NULL:
 * {"exit": 0 migrated | 1 failed, runs here | 2 usage | 3 unknown,
 *  "message", and when it got that far "bytes", "rounds",
 *  "memory_bytes", "total_ms", "downtime_ms"}.  The caller puts it.
 */
struct json_object *migration_run(struct worker *, const struct migration *);

#endif
