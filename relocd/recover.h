/*
 * Recovery's shared pieces: which copies of a domain a host holds, as
 * the root helper finds them (reconcile.c) and as they cross the network
 * and the helper channel (recover.c).
 */
#ifndef RECOVER_H
#define RECOVER_H

#include <stdint.h>

#include <json-c/json.h>

#include "xenops.h"

struct recover_copies {
	int		 have[3];	/* NAME, --migratedaway, --incoming */
	uint32_t	 domid[3];
	enum xo_state	 state[3];
	int		 busy;		/* a live session migrates it */
	int		 known;		/* the journal here has a record */
};
#define RC_NAME		0
#define RC_AWAY		1
#define RC_INCOMING	2

struct json_object *recover_copies_json(const struct recover_copies *);
void	recover_copies_from_json(struct json_object *,
	    struct recover_copies *);

#endif
