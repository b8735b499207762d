/*
 * A reader for xl.conf syntax (see cfg.h for the grammar).
 *
 * The input is untrusted in the sense that it is fuzzed and that a typo
 * must produce one precise line, so: a hand-written lexer over a bounded
 * buffer (every read is checked against the end pointer), a parser that
 * is a flat loop (lists do not nest, so there is no recursion at all),
 * and a hash of the names seen so far so that a file of many settings
 * stays linear.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "errbuf.h"

/* ASCII only, whatever the locale: the grammar is not localized. */
#define CFG_ISDIGIT(c)	((c) >= '0' && (c) <= '9')
#define CFG_ISALPHA(c)	(((c) >= 'a' && (c) <= 'z') || \
			    ((c) >= 'A' && (c) <= 'Z'))
#define CFG_ISWORD(c)	(CFG_ISDIGIT(c) || CFG_ISALPHA(c) || (c) == '_' || \
			    (c) == '.')

enum cfg_tok {
	TOK_EOF,
	TOK_NEWLINE,
	TOK_SEMI,
	TOK_EQUALS,
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_COMMA,
	TOK_IDENT,
	TOK_NUMBER,
	TOK_STRING,
	TOK_ERROR,
};

struct cfg_lexer {
	const char	*file;
	const char	*p;
	const char	*end;
	int		 line;
	/* the current token */
	enum cfg_tok	 tok;
	int		 tokline;
	char		*text;		/* IDENT, NUMBER, STRING; owned */
	char		*err;
	size_t		 errlen;
};

/* Open-addressing set of setting indexes, for duplicate detection. */
struct cfg_names {
	size_t		*slot;		/* index + 1; 0 = empty */
	size_t		 size;		/* power of two */
	size_t		 used;
};

static void	cfg_errf(char *, size_t, const char *, int, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
static void	cfg_value_free(struct cfg_value *);
static int	cfg_lex(struct cfg_lexer *);
static int	cfg_lex_string(struct cfg_lexer *, char);
static int	cfg_lex_word(struct cfg_lexer *, enum cfg_tok);
static const char *cfg_tok_describe(const struct cfg_lexer *, char *,
		    size_t);
static int	cfg_next(struct cfg_lexer *, int);
static int	cfg_parse_list(struct cfg_lexer *, const char *,
		    struct cfg_value *);
static int	cfg_list_append(struct cfg_value *, struct cfg_lexer *);
static uint64_t	cfg_hash(const char *);
static int	cfg_names_grow(struct cfg_names *, const struct cfg *);
static ssize_t	cfg_names_find(const struct cfg_names *, const struct cfg *,
		    const char *);
static int	cfg_names_add(struct cfg_names *, const struct cfg *, size_t);
static struct cfg_setting *cfg_find(const struct cfg *, const char *);
static int	cfg_parse_number(const char *, long *, int *);
static const char *cfg_kind_name(enum cfg_kind);
static int	cfg_edit_distance(const char *, const char *);

/*
 * Every message is "FILE:LINE: ..." (or "FILE: ..." for LINE 0), one line
 * as errbuf makes it: values quoted in messages come from the file and may
 * hold a newline from a "\n" escape.
 */
static void
cfg_errf(char *err, size_t errlen, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL || errlen == 0)
		return;
	if (line > 0)
		errbuf_set(err, errlen, "%s:%d: ", file, line);
	else
		errbuf_set(err, errlen, "%s: ", file);
	/* A truncated prefix leaves one byte: the message adds nothing. */
	n = strlen(err);
	va_start(ap, fmt);
	errbuf_vset(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

void
cfg_init(struct cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static void
cfg_value_free(struct cfg_value *v)
{
	size_t i;

	free(v->str);
	v->str = NULL;
	for (i = 0; i < v->nitems; i++)
		free(v->items[i].str);
	free(v->items);
	v->items = NULL;
	v->nitems = 0;
}

void
cfg_dispose(struct cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nsettings; i++) {
		free(cfg->settings[i].name);
		cfg_value_free(&cfg->settings[i].value);
	}
	free(cfg->settings);
	free(cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}

/* --- lexer --- */

static const char *
cfg_tok_describe(const struct cfg_lexer *lx, char *buf, size_t len)
{
	switch (lx->tok) {
	case TOK_EOF:
		return "end of file";
	case TOK_NEWLINE:
		return "end of line";
	case TOK_SEMI:
		return "';'";
	case TOK_EQUALS:
		return "'='";
	case TOK_LBRACKET:
		return "'['";
	case TOK_RBRACKET:
		return "']'";
	case TOK_COMMA:
		return "','";
	case TOK_STRING:
		return "a string";
	case TOK_IDENT:
	case TOK_NUMBER:
		/* bounded: a fuzzer's 1 MB word must not make the message
		 * useless (snprintf truncates it anyway) */
		snprintf(buf, len, "'%.40s%s'", lx->text,
		    strlen(lx->text) > 40 ? "..." : "");
		return buf;
	case TOK_ERROR:
		break;
	}
	return "an error";
}

static int
cfg_lex_word(struct cfg_lexer *lx, enum cfg_tok tok)
{
	const char *start = lx->p;

	/* Identifiers are [A-Za-z_][A-Za-z0-9_.]*; numbers are lexed as
	 * xl does, [0-9][A-Za-z0-9_.]*, and kept as text: whether "1.3"
	 * or "0x10" is acceptable is the getter's business. */
	while (lx->p < lx->end && CFG_ISWORD(*lx->p))
		lx->p++;
	lx->text = strndup(start, lx->p - start);
	if (lx->text == NULL) {
		cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
		    "out of memory");
		return lx->tok = TOK_ERROR;
	}
	return lx->tok = tok;
}

/*
 * A quoted string, with xl's escapes: \" \' \\ \a \b \f \n \r \t \v,
 * \xHH and \ooo (octal; xl's own octal handling is buggy, this is not).
 * Both quote kinds take escapes, and any other escape is an error, as in
 * xl: so a regex's "\." is written "\\." (xend's examples did the same).
 * A raw newline ends the line, not the string: that is an unterminated
 * string, reported at the line where it started.
 */
static int
cfg_lex_string(struct cfg_lexer *lx, char quote)
{
	char *out, *q;
	unsigned v;
	int n, c;

	/* the decoded string is never longer than the source */
	out = malloc(lx->end - lx->p + 1);
	if (out == NULL) {
		cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
		    "out of memory");
		return lx->tok = TOK_ERROR;
	}
	q = out;
	lx->p++;	/* opening quote */
	for (;;) {
		if (lx->p >= lx->end || *lx->p == '\n') {
			cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
			    "unterminated string");
			goto fail;
		}
		c = (unsigned char)*lx->p++;
		if (c == quote)
			break;
		if (c == '\0') {
			cfg_errf(lx->err, lx->errlen, lx->file, lx->line,
			    "NUL byte in string");
			goto fail;
		}
		if (c != '\\') {
			*q++ = c;
			continue;
		}
		if (lx->p >= lx->end) {
			cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
			    "unterminated string");
			goto fail;
		}
		c = (unsigned char)*lx->p++;
		switch (c) {
		case '"':
		case '\'':
		case '\\':
			*q++ = c;
			break;
		case 'a':
			*q++ = '\a';
			break;
		case 'b':
			*q++ = '\b';
			break;
		case 'f':
			*q++ = '\f';
			break;
		case 'n':
			*q++ = '\n';
			break;
		case 'r':
			*q++ = '\r';
			break;
		case 't':
			*q++ = '\t';
			break;
		case 'v':
			*q++ = '\v';
			break;
		case 'x':
			v = 0;
			for (n = 0; n < 2 && lx->p < lx->end &&
			    isxdigit((unsigned char)*lx->p); n++, lx->p++)
				v = v * 16 + (CFG_ISDIGIT(*lx->p) ?
				    *lx->p - '0' :
				    ((*lx->p | 0x20) - 'a' + 10));
			if (n == 0) {
				cfg_errf(lx->err, lx->errlen, lx->file,
				    lx->line, "invalid escape '\\x' in string "
				    "(\\x needs hex digits)");
				goto fail;
			}
			goto numeric;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			v = c - '0';
			for (n = 1; n < 3 && lx->p < lx->end &&
			    *lx->p >= '0' && *lx->p <= '7'; n++, lx->p++)
				v = v * 8 + (*lx->p - '0');
			if (v > 0xff) {
				cfg_errf(lx->err, lx->errlen, lx->file,
				    lx->line, "octal escape out of range in "
				    "string");
				goto fail;
			}
 numeric:
			/* strings are C strings everywhere downstream */
			if (v == 0) {
				cfg_errf(lx->err, lx->errlen, lx->file,
				    lx->line, "NUL byte in string");
				goto fail;
			}
			*q++ = (char)v;
			break;
		default:
			if (c <= 0x20 || c >= 0x7f)
				cfg_errf(lx->err, lx->errlen, lx->file,
				    lx->line, "invalid escape in string");
			else
				cfg_errf(lx->err, lx->errlen, lx->file,
				    lx->line, "invalid escape '\\%c' in string "
				    "(a backslash is written '\\\\')", c);
			goto fail;
		}
	}
	*q = '\0';
	lx->text = out;
	return lx->tok = TOK_STRING;
 fail:
	free(out);
	return lx->tok = TOK_ERROR;
}

/* Reads the next token into lx; TOK_ERROR has the message in lx->err. */
static int
cfg_lex(struct cfg_lexer *lx)
{
	unsigned char c;

	free(lx->text);
	lx->text = NULL;
	for (;;) {
		if (lx->p >= lx->end) {
			lx->tokline = lx->line;
			return lx->tok = TOK_EOF;
		}
		c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
		    c == '\v') {
			lx->p++;
			continue;
		}
		if (c == '#') {
			/* up to, not including, the newline */
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		break;
	}
	lx->tokline = lx->line;
	switch (c) {
	case '\n':
		lx->p++;
		lx->line++;
		return lx->tok = TOK_NEWLINE;
	case ';':
		lx->p++;
		return lx->tok = TOK_SEMI;
	case '=':
		lx->p++;
		return lx->tok = TOK_EQUALS;
	case '[':
		lx->p++;
		return lx->tok = TOK_LBRACKET;
	case ']':
		lx->p++;
		return lx->tok = TOK_RBRACKET;
	case ',':
		lx->p++;
		return lx->tok = TOK_COMMA;
	case '"':
	case '\'':
		return cfg_lex_string(lx, c);
	}
	if (CFG_ISDIGIT(c))
		return cfg_lex_word(lx, TOK_NUMBER);
	if (CFG_ISALPHA(c) || c == '_')
		return cfg_lex_word(lx, TOK_IDENT);
	if (c == '+' && lx->p + 1 < lx->end && lx->p[1] == '=')
		cfg_errf(lx->err, lx->errlen, lx->file, lx->line,
		    "'+=' is not supported");
	else if (c > 0x20 && c < 0x7f)
		cfg_errf(lx->err, lx->errlen, lx->file, lx->line,
		    "unexpected character '%c'", c);
	else
		cfg_errf(lx->err, lx->errlen, lx->file, lx->line,
		    "unexpected byte 0x%02x", c);
	return lx->tok = TOK_ERROR;
}

/* Next token, skipping end-of-lines if skipnl (inside lists). */
static int
cfg_next(struct cfg_lexer *lx, int skipnl)
{
	do {
		cfg_lex(lx);
	} while (skipnl && lx->tok == TOK_NEWLINE);
	return lx->tok;
}

/* --- parser --- */

static int
cfg_list_append(struct cfg_value *list, struct cfg_lexer *lx)
{
	struct cfg_value *items, *it;
	size_t cap;

	/* grow by doubling: nitems is a power of two exactly when full */
	if (list->nitems == 0 || (list->nitems & (list->nitems - 1)) == 0) {
		cap = list->nitems == 0 ? 4 : list->nitems * 2;
		if (cap < list->nitems)
			return -1;
		items = reallocarray(list->items, cap, sizeof(*items));
		if (items == NULL)
			return -1;
		list->items = items;
	}
	it = &list->items[list->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = lx->tok == TOK_STRING ? CFG_STRING : CFG_NUMBER;
	it->str = lx->text;
	it->line = lx->tokline;
	lx->text = NULL;
	return 0;
}

/*
 * After '[': items separated by ',', a trailing ',' allowed, newlines and
 * comments anywhere.  A loop, not a recursion: nesting is an error.
 */
static int
cfg_parse_list(struct cfg_lexer *lx, const char *name, struct cfg_value *v)
{
	char buf[64];
	int open = lx->tokline;

	v->kind = CFG_LIST;
	v->line = open;
	for (;;) {
		/* a value or the closing bracket */
		cfg_next(lx, 1);
		switch (lx->tok) {
		case TOK_RBRACKET:
			/* "[]", or a trailing comma */
			return 0;
		case TOK_STRING:
		case TOK_NUMBER:
			if (cfg_list_append(v, lx) == -1) {
				cfg_errf(lx->err, lx->errlen, lx->file,
				    lx->tokline, "out of memory");
				return -1;
			}
			break;
		case TOK_ERROR:
			return -1;
		case TOK_EOF:
			cfg_errf(lx->err, lx->errlen, lx->file, open,
			    "unterminated list for '%s'", name);
			return -1;
		case TOK_LBRACKET:
			cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
			    "nested lists are not supported (in '%s')", name);
			return -1;
		default:
			cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
			    "expected a value or ']' in the list for '%s', "
			    "got %s", name, cfg_tok_describe(lx, buf,
			    sizeof(buf)));
			return -1;
		}
		/* then a separator or the closing bracket */
		cfg_next(lx, 1);
		switch (lx->tok) {
		case TOK_COMMA:
			break;
		case TOK_RBRACKET:
			return 0;
		case TOK_ERROR:
			return -1;
		case TOK_EOF:
			cfg_errf(lx->err, lx->errlen, lx->file, open,
			    "unterminated list for '%s'", name);
			return -1;
		case TOK_LBRACKET:
			cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
			    "nested lists are not supported (in '%s')", name);
			return -1;
		default:
			cfg_errf(lx->err, lx->errlen, lx->file, lx->tokline,
			    "expected ',' or ']' in the list for '%s' "
			    "(opened at line %d), got %s", name, open,
			    cfg_tok_describe(lx, buf, sizeof(buf)));
			return -1;
		}
	}
}

static uint64_t
cfg_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static int
cfg_names_add(struct cfg_names *nm, const struct cfg *cfg, size_t idx)
{
	size_t i;

	if ((nm->used + 1) * 2 > nm->size && cfg_names_grow(nm, cfg) == -1)
		return -1;
	i = cfg_hash(cfg->settings[idx].name) & (nm->size - 1);
	while (nm->slot[i] != 0)
		i = (i + 1) & (nm->size - 1);
	nm->slot[i] = idx + 1;
	nm->used++;
	return 0;
}

static int
cfg_names_grow(struct cfg_names *nm, const struct cfg *cfg)
{
	struct cfg_names bigger;
	size_t i, j;

	bigger.size = nm->size == 0 ? 64 : nm->size * 2;
	bigger.used = 0;
	bigger.slot = calloc(bigger.size, sizeof(*bigger.slot));
	if (bigger.slot == NULL)
		return -1;
	for (i = 0; i < nm->size; i++) {
		if (nm->slot[i] == 0)
			continue;
		j = cfg_hash(cfg->settings[nm->slot[i] - 1].name) &
		    (bigger.size - 1);
		while (bigger.slot[j] != 0)
			j = (j + 1) & (bigger.size - 1);
		bigger.slot[j] = nm->slot[i];
		bigger.used++;
	}
	free(nm->slot);
	*nm = bigger;
	return 0;
}

static ssize_t
cfg_names_find(const struct cfg_names *nm, const struct cfg *cfg,
    const char *name)
{
	size_t i;

	if (nm->size == 0)
		return -1;
	i = cfg_hash(name) & (nm->size - 1);
	while (nm->slot[i] != 0) {
		if (strcmp(cfg->settings[nm->slot[i] - 1].name, name) == 0)
			return nm->slot[i] - 1;
		i = (i + 1) & (nm->size - 1);
	}
	return -1;
}

int
cfg_parse_buf(struct cfg *cfg, const char *file, const char *buf,
    size_t len, char *err, size_t errlen)
{
	struct cfg_lexer lx;
	struct cfg_names names = { NULL, 0, 0 };
	struct cfg_setting *st, *settings;
	struct cfg_value value;
	char tbuf[64], *name = NULL;
	ssize_t dup;
	size_t i;
	int rc = -1, line;

	memset(&value, 0, sizeof(value));
	if (file == NULL)
		file = "(config)";
	if (cfg->file == NULL || strcmp(cfg->file, file) != 0) {
		free(cfg->file);
		if ((cfg->file = strdup(file)) == NULL) {
			cfg_errf(err, errlen, file, 0, "out of memory");
			return -1;
		}
	}
	if (len > CFG_MAX_FILE) {
		cfg_errf(err, errlen, file, 0,
		    "file too large (more than %d bytes)", CFG_MAX_FILE);
		return -1;
	}

	memset(&lx, 0, sizeof(lx));
	lx.file = cfg->file;
	lx.p = buf;
	lx.end = buf + len;
	lx.line = 1;
	lx.err = err;
	lx.errlen = errlen;

	/* settings from an earlier call count for duplicates too */
	for (i = 0; i < cfg->nsettings; i++)
		if (cfg_names_add(&names, cfg, i) == -1)
			goto nomem;

	for (;;) {
		cfg_next(&lx, 0);
		if (lx.tok == TOK_NEWLINE || lx.tok == TOK_SEMI)
			continue;
		if (lx.tok == TOK_EOF)
			break;
		if (lx.tok == TOK_ERROR)
			goto out;
		if (lx.tok != TOK_IDENT) {
			cfg_errf(err, errlen, cfg->file, lx.tokline,
			    "expected a setting name, got %s",
			    cfg_tok_describe(&lx, tbuf, sizeof(tbuf)));
			goto out;
		}
		name = lx.text;
		lx.text = NULL;
		line = lx.tokline;

		cfg_next(&lx, 0);
		if (lx.tok == TOK_ERROR)
			goto out;
		if (lx.tok != TOK_EQUALS) {
			cfg_errf(err, errlen, cfg->file, lx.tokline,
			    "expected '=' after '%s'", name);
			goto out;
		}

		cfg_next(&lx, 0);
		switch (lx.tok) {
		case TOK_STRING:
		case TOK_NUMBER:
			value.kind = lx.tok == TOK_STRING ? CFG_STRING :
			    CFG_NUMBER;
			value.str = lx.text;
			value.line = lx.tokline;
			lx.text = NULL;
			break;
		case TOK_LBRACKET:
			if (cfg_parse_list(&lx, name, &value) == -1)
				goto out;
			break;
		case TOK_ERROR:
			goto out;
		case TOK_NEWLINE:
		case TOK_SEMI:
		case TOK_EOF:
			cfg_errf(err, errlen, cfg->file, lx.tokline,
			    "missing value for '%s'", name);
			goto out;
		case TOK_IDENT:
			cfg_errf(err, errlen, cfg->file, lx.tokline,
			    "expected a value for '%s', got %s (strings "
			    "need quotes)", name,
			    cfg_tok_describe(&lx, tbuf, sizeof(tbuf)));
			goto out;
		default:
			cfg_errf(err, errlen, cfg->file, lx.tokline,
			    "expected a value for '%s', got %s", name,
			    cfg_tok_describe(&lx, tbuf, sizeof(tbuf)));
			goto out;
		}

		cfg_next(&lx, 0);
		if (lx.tok == TOK_ERROR)
			goto out;
		if (lx.tok != TOK_NEWLINE && lx.tok != TOK_SEMI &&
		    lx.tok != TOK_EOF) {
			cfg_errf(err, errlen, cfg->file, lx.tokline,
			    "expected end of line or ';' after the value of "
			    "'%s', got %s", name,
			    cfg_tok_describe(&lx, tbuf, sizeof(tbuf)));
			goto out;
		}

		if ((dup = cfg_names_find(&names, cfg, name)) >= 0) {
			cfg_errf(err, errlen, cfg->file, line,
			    "duplicate setting '%s' (first set at line %d)",
			    name, cfg->settings[dup].line);
			goto out;
		}

		if (cfg->nsettings == 0 ||
		    (cfg->nsettings & (cfg->nsettings - 1)) == 0) {
			settings = reallocarray(cfg->settings,
			    cfg->nsettings == 0 ? 16 : cfg->nsettings * 2,
			    sizeof(*settings));
			if (settings == NULL)
				goto nomem;
			cfg->settings = settings;
		}
		st = &cfg->settings[cfg->nsettings];
		st->name = name;
		st->value = value;
		st->line = line;
		st->used = 0;
		name = NULL;
		memset(&value, 0, sizeof(value));
		cfg->nsettings++;
		if (cfg_names_add(&names, cfg, cfg->nsettings - 1) == -1)
			goto nomem;

		if (lx.tok == TOK_EOF)
			break;
	}
	rc = 0;
	goto out;
 nomem:
	cfg_errf(err, errlen, cfg->file, lx.line, "out of memory");
 out:
	free(lx.text);
	free(name);
	cfg_value_free(&value);
	free(names.slot);
	return rc;
}

int
cfg_parse_file(struct cfg *cfg, const char *path, char *err, size_t errlen)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		cfg_errf(err, errlen, path, 0, "cannot open: %s",
		    strerror(errno));
		goto out;
	}
	/* Read up to one byte past the limit rather than trusting
	 * st_size: the file may be a pipe, or grow while we read. */
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > (size_t)CFG_MAX_FILE + 1)
				cap = (size_t)CFG_MAX_FILE + 1;
			if (len == cap)
				break;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				cfg_errf(err, errlen, path, 0,
				    "out of memory");
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			cfg_errf(err, errlen, path, 0, "cannot read: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len > CFG_MAX_FILE) {
		free(cfg->file);
		cfg->file = strdup(path);
		cfg_errf(err, errlen, path, 0,
		    "file too large (more than %d bytes)", CFG_MAX_FILE);
		goto out;
	}
	rc = cfg_parse_buf(cfg, path, buf != NULL ? buf : "", len, err,
	    errlen);
 out:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

static struct cfg_setting *
cfg_find(const struct cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nsettings; i++)
		if (strcmp(cfg->settings[i].name, name) == 0)
			return &cfg->settings[i];
	return NULL;
}

struct cfg_setting *
cfg_get(struct cfg *cfg, const char *name)
{
	struct cfg_setting *st;

	if ((st = cfg_find(cfg, name)) != NULL)
		st->used = 1;
	return st;
}

static const char *
cfg_kind_name(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_STRING:
		return "a string";
	case CFG_NUMBER:
		return "a number";
	case CFG_LIST:
		return "a list";
	}
	return "something else";
}

int
cfg_get_string(struct cfg *cfg, const char *name, char **out, char *err,
    size_t errlen)
{
	struct cfg_setting *st;
	char *s;

	if ((st = cfg_get(cfg, name)) == NULL)
		return 0;
	if (st->value.kind != CFG_STRING) {
		cfg_errf(err, errlen, cfg->file, st->line,
		    "%s: expected a string, got %s", name,
		    cfg_kind_name(st->value.kind));
		return -1;
	}
	if ((s = strdup(st->value.str)) == NULL) {
		cfg_errf(err, errlen, cfg->file, st->line, "out of memory");
		return -1;
	}
	free(*out);
	*out = s;
	return 1;
}

/*
 * Decimal, or hex with 0x.  Not strtol(…, 0): a leading zero must not
 * silently switch to octal.  *overflow is set when the digits are valid
 * but do not fit in a long.
 */
static int
cfg_parse_number(const char *s, long *out, int *overflow)
{
	unsigned long v = 0, base = 10, d;
	const char *p = s;

	*overflow = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p))
			d = *p - '0';
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = tolower((unsigned char)*p) - 'a' + 10;
		else
			return -1;
		if (v > (LONG_MAX - d) / base)
			*overflow = 1;
		else
			v = v * base + d;
	}
	*out = *overflow ? LONG_MAX : (long)v;
	return 0;
}

int
cfg_get_long(struct cfg *cfg, const char *name, long min, long max,
    long *out, char *err, size_t errlen)
{
	struct cfg_setting *st;
	int overflow;
	long v;

	if ((st = cfg_get(cfg, name)) == NULL)
		return 0;
	if (st->value.kind != CFG_NUMBER) {
		cfg_errf(err, errlen, cfg->file, st->line,
		    "%s: expected a number, got %s", name,
		    cfg_kind_name(st->value.kind));
		return -1;
	}
	if (cfg_parse_number(st->value.str, &v, &overflow) == -1) {
		cfg_errf(err, errlen, cfg->file, st->line,
		    "%s: '%.40s' is not a number", name, st->value.str);
		return -1;
	}
	if (overflow || v < min || v > max) {
		cfg_errf(err, errlen, cfg->file, st->line,
		    "%s: %.40s is out of range (%ld..%ld)", name,
		    st->value.str, min, max);
		return -1;
	}
	*out = v;
	return 1;
}

void
cfg_strlist_free(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

int
cfg_get_strlist(struct cfg *cfg, const char *name, char ***out, size_t *n,
    char *err, size_t errlen)
{
	struct cfg_setting *st;
	const char *p, *q;
	char **list = NULL;
	size_t i, cnt = 0, cap;
	int rc = -1;

	if ((st = cfg_get(cfg, name)) == NULL)
		return 0;
	switch (st->value.kind) {
	case CFG_LIST:
		for (i = 0; i < st->value.nitems; i++)
			if (st->value.items[i].kind != CFG_STRING) {
				cfg_errf(err, errlen, cfg->file,
				    st->value.items[i].line,
				    "%s: expected a list of strings, item %zu "
				    "is %s", name, i + 1,
				    cfg_kind_name(st->value.items[i].kind));
				return -1;
			}
		if ((list = calloc(st->value.nitems + 1,
		    sizeof(*list))) == NULL)
			goto nomem;
		for (cnt = 0; cnt < st->value.nitems; cnt++)
			if ((list[cnt] = strdup(st->value.items[cnt].str)) ==
			    NULL)
				goto nomem;
		break;
	case CFG_STRING:
		/* xend style: "a b c"; at most one word per two bytes */
		cap = strlen(st->value.str) / 2 + 2;
		if ((list = calloc(cap, sizeof(*list))) == NULL)
			goto nomem;
		for (p = st->value.str;;) {
			while (*p == ' ' || *p == '\t' || *p == '\n' ||
			    *p == '\r')
				p++;
			if (*p == '\0')
				break;
			for (q = p; *q != '\0' && *q != ' ' && *q != '\t' &&
			    *q != '\n' && *q != '\r'; q++)
				;
			if ((list[cnt] = strndup(p, q - p)) == NULL)
				goto nomem;
			cnt++;
			p = q;
		}
		break;
	default:
		cfg_errf(err, errlen, cfg->file, st->line,
		    "%s: expected a list or a string, got %s", name,
		    cfg_kind_name(st->value.kind));
		return -1;
	}
	cfg_strlist_free(*out);
	*out = list;
	if (n != NULL)
		*n = cnt;
	list = NULL;
	rc = 1;
	goto out;
 nomem:
	cfg_errf(err, errlen, cfg->file, st->line, "out of memory");
 out:
	cfg_strlist_free(list);
	return rc;
}

/* Optimal string alignment distance (a transposition counts as one),
 * of names short enough for the fixed rows; -1 if either is longer. */
static int
cfg_edit_distance(const char *a, const char *b)
{
	int d[3][65], la, lb, i, j, v, t;

	la = strnlen(a, 65);
	lb = strnlen(b, 65);
	if (la > 64 || lb > 64)
		return -1;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		int *cur = d[i % 3], *prev = d[(i - 1) % 3],
		    *pprev = d[(i + 1) % 3];

		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			v = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if ((t = prev[j] + 1) < v)
				v = t;
			if ((t = cur[j - 1] + 1) < v)
				v = t;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && (t = pprev[j - 2] + 1) < v)
				v = t;
			cur[j] = v;
		}
	}
	return d[la % 3][lb];
}

const char *
cfg_suggest(const char *name, const char *const *known, size_t nknown)
{
	const char *best = NULL;
	size_t i, ln, lk;
	int d, bestd = 3;

	ln = strnlen(name, 65);
	for (i = 0; i < nknown; i++) {
		lk = strlen(known[i]);
		/* a length difference over 2 is a distance over 2 */
		if (ln > lk + 2 || lk > ln + 2)
			continue;
		d = cfg_edit_distance(name, known[i]);
		if (d >= 0 && d < bestd) {
			bestd = d;
			best = known[i];
		}
	}
	return best;
}
