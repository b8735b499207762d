/*
 * A reader for xl.conf syntax, the format of /etc/xen/xl.conf and of xl
 * domain configuration files (libxlutil's xlu_cfg grammar):
 *
 *	key = value			# comment
 *	key = "string" ; other = 'single-quoted string'
 *	key = 42			# numbers are kept as their text
 *	key = [ "a", 'b', 3, ]		# lists; trailing comma allowed
 *
 * Statements end at a newline or ';'.  Lists may span lines.  A key is
 * [A-Za-z_][A-Za-z0-9_.]*.  A key given twice is an error (xl would
 * silently keep one of them; for a security daemon that hides typos).
 *
 * Every error is reported as "FILE:LINE: message" in the caller's buffer.
 */
#ifndef CFG_H
#define CFG_H

#include <stddef.h>

#define CFG_MAX_FILE	(1024 * 1024)	/* larger files are refused */

enum cfg_kind {
	CFG_STRING,	/* quoted string */
	CFG_NUMBER,	/* unquoted number: str holds its text */
	CFG_LIST,	/* [ ... ] of strings and numbers (no nesting) */
};

struct cfg_value {
	enum cfg_kind	 kind;
	char		*str;		/* CFG_STRING, CFG_NUMBER */
	struct cfg_value *items;	/* CFG_LIST */
	size_t		 nitems;
	int		 line;
};

struct cfg_setting {
	char		*name;
	struct cfg_value value;
	int		 line;
	int		 used;		/* set by cfg_get(); for unknown-key checks */
};

struct cfg {
	char		*file;		/* as given, for messages */
	struct cfg_setting *settings;
	size_t		 nsettings;
};

void	cfg_init(struct cfg *);
void	cfg_dispose(struct cfg *);
/* 0 on success; -1 with "FILE:LINE: message" in err. */
int	cfg_parse_buf(struct cfg *, const char *file, const char *buf,
	    size_t len, char *err, size_t errlen);
int	cfg_parse_file(struct cfg *, const char *path, char *err,
	    size_t errlen);
/* NULL if absent; marks the setting used. */
struct cfg_setting *cfg_get(struct cfg *, const char *name);

/*
 * Typed getters.  Each returns 0 if the key is absent (output untouched),
 * 1 if found and converted, -1 on a type or range error with
 * "FILE:LINE: message" in err.
 */
int	cfg_get_string(struct cfg *, const char *name, char **out,
	    char *err, size_t errlen);
int	cfg_get_long(struct cfg *, const char *name, long min, long max,
	    long *out, char *err, size_t errlen);
/* Accepts a list of strings, or (xend style) one string of entries
 * separated by white space.  *out is a NULL-terminated array. */
int	cfg_get_strlist(struct cfg *, const char *name, char ***out,
	    size_t *n, char *err, size_t errlen);
void	cfg_strlist_free(char **);
/* For "unknown setting" messages: the known name closest to NAME, if one
 * is within edit distance 2 (a transposition counts as 1), else NULL. */
const char *cfg_suggest(const char *name, const char *const *known,
	    size_t nknown);

#endif
