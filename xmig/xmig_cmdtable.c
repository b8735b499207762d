#include <stddef.h>
#include <string.h>

#include "xmig.h"

/* The single source of every usage text (xl's xl_cmdtable.c idea). */
const struct cmd_spec xmig_cmdtable[] = {
	{ "migrate", main_migrate,
	  "Move a domain to another host",
	  "[options] <Domain> <Host>",
	  "-l, --live                Live migration: pre-copy while it runs.\n"
	  "-p, --port <port>         Port of the destination relocd "
	  "(default 8003).\n"
	  "-n, --node <node>         Accepted for xm compatibility (no "
	  "effect).\n"
	  "-s, --ssl                 Accepted: TLS is always on.\n"
	  "-c, --change_home_server  Accepted for xm compatibility (no "
	  "effect).\n"
	  "-r, --resource <Mbit/s>   Limit the stream's bandwidth.\n"
	  "    --paused              Leave the domain paused on the "
	  "destination.\n"
	  "    --console             Attach to its console afterwards (not "
	  "yet available)." },
	{ "list", main_list,
	  "List domains",
	  "[-l] [-H <Host>]",
	  "-H, --host <host>  List the domains of another host.\n"
	  "-l, --long         Print the full JSON." },
	{ "host-info", main_host_info,
	  "Show a host's resources and capabilities",
	  "[-H <Host>]",
	  "-H, --host <host>  Ask another host." },
	{ "create", main_create,
	  "Create a domain from an xl config file (sim backend)",
	  "<ConfigFile>",
	  NULL },
	{ "destroy", main_destroy,
	  "Terminate a domain immediately",
	  "<Domain>",
	  NULL },
	{ "help", main_help,
	  "Print help",
	  "[<Command>]",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cmd_spec *
cmdtable_lookup(const char *name)
{
	const struct cmd_spec *c;

	for (c = xmig_cmdtable; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}
