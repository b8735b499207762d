#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmig.h"

struct relocd_conf xmig_conf;

static void	xmig_help_all(FILE *);

void
xmig_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "xmig: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

long
xmig_number(const char *what, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max) {
		xmig_err("%s: '%s' is not a number from %ld to %ld", what, s,
		    min, max);
		return -1;
	}
	return v;
}

static void
xmig_help_all(FILE *fp)
{
	const struct cmd_spec *c;

	fprintf(fp, "usage: xmig [--config <file>] <command> [args]\n\n"
	    "commands:\n");
	for (c = xmig_cmdtable; c->name != NULL; c++)
		fprintf(fp, "  %-11s %s\n", c->name, c->summary);
	fprintf(fp, "\n'xmig help <command>' describes one command.\n");
}

int
xmig_usage(const char *name)
{
	const struct cmd_spec *c = cmdtable_lookup(name);

	if (c == NULL) {
		xmig_help_all(stderr);
		return EXIT_USAGE;
	}
	fprintf(stderr, "usage: xmig %s %s\n\n%s\n", c->name, c->usage,
	    c->summary);
	if (c->options != NULL)
		fprintf(stderr, "\noptions:\n%s\n", c->options);
	return EXIT_USAGE;
}

int
main_help(int argc, char **argv)
{
	const struct cmd_spec *c;

	if (argc < 2) {
		xmig_help_all(stdout);
		return EXIT_OK;
	}
	if ((c = cmdtable_lookup(argv[1])) == NULL) {
		xmig_err("unknown command '%s'", argv[1]);
		return EXIT_USAGE;
	}
	printf("usage: xmig %s %s\n\n%s\n", c->name, c->usage, c->summary);
	if (c->options != NULL)
		printf("\noptions:\n%s\n", c->options);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_spec *c;
	const char *file = NULL;
	char err[1024];
	int ch;

	signal(SIGPIPE, SIG_IGN);
	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'h':
			xmig_help_all(stdout);
			return EXIT_OK;
		default:
			xmig_help_all(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		xmig_help_all(stderr);
		return EXIT_USAGE;
	}
	if ((c = cmdtable_lookup(argv[0])) == NULL) {
		xmig_err("unknown command '%s'", argv[0]);
		xmig_help_all(stderr);
		return EXIT_USAGE;
	}
	if (c->fn != main_help) {
		conf_init(&xmig_conf);
		if (conf_load(&xmig_conf, file, err, sizeof(err)) == -1) {
			xmig_err("%s", err);
			return EXIT_FAILED;
		}
	}
	optind = 0;	/* each command parses its own argv */
	return c->fn(argc, argv);
}
