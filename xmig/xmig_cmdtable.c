#include <stddef.h>
#include <string.h>

#include "xmig.h"

/* The single source of every usage text (xl's xl_cmdtable.c idea). */
const struct cmd_spec xmig_cmdtable[] = {
	{ "migrate", main_migrate,
	  "Move a domain to another host",
	  "[options] <Domain> [<Host>]",
	  "-l, --live                Live migration: pre-copy while it runs.\n"
	  "                          Without <Host>: the first host of "
	  "'xmig place'.\n"
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
	  "    --console             Attach to its console on the "
	  "destination as soon\n"
	  "                          as it runs there (see 'xmig help "
	  "console').\n"
	  "-q, --quiet               Print only the result, not the "
	  "progress.\n"
	  "    --copy-storage        Copy its file disks and LVs of local "
	  "VGs in the\n"
	  "                          same session; <Host> creates files "
	  "under\n"
	  "                          incoming_disk_paths, LVs in\n"
	  "                          incoming_volume_group.  Other block\n"
	  "                          devices (LUNs, shared VGs' LVs) stay "
	  "and must\n"
	  "                          be present on <Host>.\n"
	  "    --remove-source-disk  With --copy-storage: remove the source's "
	  "disks\n"
	  "                          once <Host> runs the domain.\n"
	  "    --force               The domain's host is dead: <Host> "
	  "starts it from\n"
	  "                          cluster_dir, a cold start.  Refused "
	  "by <Host>\n"
	  "                          unless the source does not answer, is "
	  "fenced and\n"
	  "                          the domain's lease is free.\n"
	  "    --source-is-off       With --force: the operator confirms "
	  "the source is\n"
	  "                          powered off (instead of "
	  "fence_command).\n"
	  "    --from <Host>         With --force: refuse unless the "
	  "domain's record\n"
	  "                          names this host as its source.\n"
	  "    --config <File>       With --force and --from, on a host "
	  "without\n"
	  "                          cluster_dir: start from this xl config; "
	  "no lease\n"
	  "                          guards it (see relocd(8), FAILURE OF A "
	  "HOST)." },
	{ "list", main_list,
	  "List domains",
	  "[-l] [-H <Host>]",
	  "-H, --host <host>  List the domains of another host.\n"
	  "-l, --long         Print the full JSON." },
	{ "console", main_console,
	  "Attach to a domain's console; follows the domain when it migrates",
	  "[-H <Host>] [-t <lines> | --no-tail] <Domain>",
	  "-H, --host <host>   The domain's host (default: this one).\n"
	  "-t, --tail <lines>  Show this many recent lines first "
	  "(default 20).\n"
	  "    --no-tail       Show only new output.\n"
	  "Ctrl-] detaches.  Several clients may watch one console; input "
	  "from\nany of them reaches the guest." },
	{ "host-info", main_host_info,
	  "Show a host's resources and capabilities",
	  "[-H <Host>]",
	  "-H, --host <host>  Ask another host." },
	{ "create", main_create,
	  "Create and start a domain from an xl config file",
	  "<ConfigFile>",
	  NULL },
	{ "destroy", main_destroy,
	  "Terminate a domain immediately",
	  "<Domain>",
	  NULL },
	{ "jobs", main_jobs,
	  "List migrations: running, ended, and those needing attention",
	  "[-H <Host>]",
	  "-H, --host <host>  The journal of another host (over mutual TLS)." },
	{ "recover", main_recover,
	  "Make exactly one copy of a half-migrated domain run",
	  "<Domain> [<Host>]",
	  "<Host> is the other host of the migration; by default the one\n"
	  "this host's journal recorded for <Domain>." },
	{ "tunnel", main_tunnel,
	  "Carry stock xl's migration to HOST's relocd (xl migrate -s)",
	  "<Host>[:<port>] [xl migrate-receive [-e] [-d] [-p]]",
	  "Run by xl, not by hand:  xl migrate -s \"xmig tunnel\" <Domain> "
	  "<Host>\nxl's stream goes over the local relocd's mutual-TLS "
	  "session to <Host>;\n-p (from xl migrate -p) leaves the domain "
	  "paused there." },
	{ "speedtest", main_speedtest,
	  "Measure the migration stream's speed to another host",
	  "[-s <MiB>] [-r <Mbit/s>] [-p <port>] <Host>",
	  "-s, --size <MiB>          Bytes to send (default 1024 MiB, at "
	  "most 65536).\n"
	  "-r, --resource <Mbit/s>   Limit the stream's bandwidth, as "
	  "migrate -r does.\n"
	  "-p, --port <port>         Port of the destination relocd "
	  "(default 8003).\n"
	  "The stream takes the path a migration takes (mutual TLS, the "
	  "allow-list,\na migration slot on each host) and carries no "
	  "domain: guest memory is\nneither read here nor stored there." },
	{ "cancel", main_cancel,
	  "Stop a migration away before its point of no return",
	  "<Domain>",
	  "The domain goes on running here, under its own name, and the\n"
	  "destination drops its incoming copy.  Past the point of no return\n"
	  "it is refused with the reason, and the migration finishes.\n"
	  "Ctrl-C in 'xmig migrate' does the same." },
	{ "check", main_check,
	  "Would a migration work?  Every prerequisite, on both hosts",
	  "[-l] [--json] [-p <port>] [--copy-storage] <Domain> <Host>",
	  "-l, --live       Check for a live migration (log-dirty, "
	  "passthrough).\n"
	  "    --copy-storage  Check for a copy of its disks: "
	  "what\n"
	  "                 would be copied, and the room for it on <Host>.\n"
	  "    --json       The same lines as JSON, for scripts.\n"
	  "-p, --port <port>  Port of the destination relocd (default "
	  "8003).\n"
	  "One line per check: PASS|WARN|FAIL name: detail.  Nothing is "
	  "touched.\n"
	  "Exit 0 if none fails, 1 if one does.  'xmig migrate' runs the "
	  "same\nchecks first and refuses with the failing lines." },
	{ "place", main_place,
	  "Rank the hosts of relocation_peers for a domain, best first",
	  "[-l] [--json] [--copy-storage] <Domain>",
	  "-l, --live   Rank for a live migration.\n"
	  "    --copy-storage  Rank for a move with its disks.\n"
	  "    --json   The ranking and every host's lines as JSON.\n"
	  "Hosts that pass every check first, by the memory, then the "
	  "capacity\nleft after the domain arrives, then by name; those that "
	  "fail, with why.\n'xmig migrate DOMAIN' without a host takes the "
	  "first." },
	{ "evacuate", main_evacuate,
	  "Empty this host: maintenance on, then every domain elsewhere",
	  "[-l] [-j <N>] [<Host>...]",
	  "-l, --live      Migrate them live.\n"
	  "-j, --jobs <N>  At most N migrations at a time (default "
	  "max_migrations).\n"
	  "To the hosts given, else to relocation_peers: each domain to the "
	  "best\nhost of 'xmig place', less what the evacuation already sends "
	  "there.\nOne line per domain and a summary; a domain that fits "
	  "nowhere is named\nwith every host's reason and the others still "
	  "move.  Ctrl-C starts no\nnew migration and lets the running ones "
	  "finish.  Exit 0 only if the\nhost is empty at the end.  "
	  "Maintenance stays on." },
	{ "leases", main_leases,
	  "Show the domains' leases in cluster_dir and who holds them",
	  "[<Domain>]",
	  NULL },
	{ "maintenance", main_maintenance,
	  "Refuse (on) or accept again (off) incoming migrations",
	  "[on | off]",
	  "on   This host refuses incoming migrations and preflights, with "
	  "the\n     reason, until 'xmig maintenance off', relocd restarts "
	  "included.\n     Migrations already running finish; outgoing "
	  "ones are not affected.\n"
	  "off  Accept them again (unless relocd.conf says "
	  "accept_migrations = 0).\n"
	  "Without an argument: say which.  This host only; 'xmig host-info' "
	  "shows it." },
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
