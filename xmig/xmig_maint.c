/*
 * xmig maintenance [on|off]: this host refuses incoming migrations, at
 * run time and until turned off, restarts included (relocd keeps it in
 * state_dir).  Local only: the control socket is the host's own
 * operators'; no peer can set it.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "xmig.h"

static int	maint_bool(struct json_object *, const char *);

static int
maint_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

int
main_maintenance(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	const char *set = NULL, *since;
	int on, rc = EXIT_FAILED;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "on") != 0 &&
	    strcmp(argv[1], "off") != 0))
		return xmig_usage("maintenance");
	if (argc == 2)
		set = argv[1];
	req = json_object_new_object();
	if (set != NULL)
		json_object_object_add(req, "maintenance",
		    json_object_new_string(set));
	if (ctl_call(PT_CTL_MAINTENANCE, req, &reply) == -1)
		goto out;
	on = maint_bool(reply, "maintenance");
	since = proto_get_str(reply, "since");
	if (set != NULL && !maint_bool(reply, "changed"))
		printf("maintenance was already %s\n", on ? "on" : "off");
	if (on)
		printf("maintenance on%s%s: this host refuses incoming "
		    "migrations until 'xmig maintenance off'\n",
		    since != NULL ? " since " : "", since != NULL ? since : "");
	else if (!maint_bool(reply, "accept_migrations"))
		printf("maintenance off, but accept_migrations = 0 in "
		    "relocd.conf still refuses incoming migrations\n");
	else
		printf("maintenance off: this host accepts incoming "
		    "migrations\n");
	rc = EXIT_OK;
out:
	json_object_put(req);
	json_object_put(reply);
	return rc;
}
