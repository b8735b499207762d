#ifndef XMIG_H
#define XMIG_H

#include <json-c/json.h>

#include "conf.h"
#include "iochan.h"

/* Exit statuses (xmig.1). */
#define EXIT_OK		0
#define EXIT_FAILED	1	/* failed; the domain runs at the source */
#define EXIT_USAGE	2
#define EXIT_UNKNOWN	3	/* outcome unknown after the point of no return */

struct cmd_spec {
	const char	*name;
	int		(*fn)(int argc, char **argv);
	const char	*summary;
	const char	*usage;		/* after "xmig NAME " */
	const char	*options;	/* one option per line, or NULL */
};

extern const struct cmd_spec xmig_cmdtable[];
extern struct relocd_conf xmig_conf;

const struct cmd_spec *cmdtable_lookup(const char *name);
/* Prints the command's usage from the table and returns EXIT_USAGE. */
int	xmig_usage(const char *name);
void	xmig_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An xl config file as libxl JSON, parsed here so that errors name the
 * file and line the user wrote; -1 after saying why. */
int	xmig_domcfg_load(const char *path, struct json_object **cfg);
/* A decimal option argument in [min, max]; -1 after saying why. */
long	xmig_number(const char *what, const char *s, long min, long max);

/* The control socket to the local relocd. */
int	ctl_open(struct iochan *);
void	ctl_close(struct iochan *);
/* One request, one reply: 0 and *reply on PT_OK; -1 after printing why.
 * ctl_request works on an open channel (which stays open), ctl_call opens
 * and closes one around it. */
int	ctl_request(struct iochan *, int type, struct json_object *req,
	    struct json_object **reply);
int	ctl_call(int type, struct json_object *req, struct json_object **reply);

/* Interactive console of dom, on host (NULL: here); the exit status. */
int	console_attach(const char *dom, const char *host, int tail_lines);

int	main_console(int, char **);
int	main_migrate(int, char **);
int	main_list(int, char **);
int	main_host_info(int, char **);
int	main_create(int, char **);
int	main_destroy(int, char **);
int	main_jobs(int, char **);
int	main_recover(int, char **);
int	main_tunnel(int, char **);
int	main_speedtest(int, char **);
int	main_maintenance(int, char **);
int	main_cancel(int, char **);
int	main_check(int, char **);
int	main_place(int, char **);
int	main_evacuate(int, char **);
int	main_leases(int, char **);
int	main_help(int, char **);

#endif
