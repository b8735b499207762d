/*
 * relocation_hosts_allow (relocd.conf(5), ALLOW LIST).
 *
 * xend matched a regex against the peer's reverse DNS, which whoever owns
 * the PTR zone controls.  Here names come only from a certificate the TLS
 * layer has verified against the cluster CA, addresses only from the
 * socket, and nothing is ever looked up.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "errbuf.h"

#define ALLOW_NAME_MAX	253	/* a DNS name in text, without the final dot */
#define ALLOW_LABEL_MAX	63
#define ALLOW_REGEX_MAX	512	/* bytes of one regex */
#define ALLOW_REGEX_COST 1024	/* its size once glibc expands repeats */
#define ALLOW_REGEX_DEPTH 32	/* nested groups */

enum allow_kind {
	ALLOW_ADDR4,
	ALLOW_ADDR6,
	ALLOW_NAME,
	ALLOW_GLOB,
	ALLOW_REGEX,
};

struct allow_entry {
	enum allow_kind	 kind;
	char		*text;		/* NAME: the name, GLOB: the domain
					 * after "*.", both lower case */
	uint8_t		 addr[16];	/* ADDR4 uses the first 4 */
	unsigned	 prefix;
	regex_t		 re;
};

struct allow_list {
	struct allow_entry *v;
	size_t		 n;
	size_t		 cap;
};

static const char *allow_name_check(const char *, size_t, int);
static int	allow_add_cidr(struct allow_entry *, const char *, char *,
		    size_t);
static size_t	allow_regex_bracket(const char *, size_t, size_t);
static const char *allow_regex_check(const char *, size_t);
static int	allow_add_regex(struct allow_entry *, const char *, char *,
		    size_t);
static int	allow_prefix_match(const uint8_t *, const uint8_t *, unsigned);
static int	allow_regex_match(const regex_t *, const char *);
static int	allow_name_normalize(const char *, char *, size_t, int *);

struct allow_list *
allow_new(void)
{
	return calloc(1, sizeof(struct allow_list));
}

void
allow_free(struct allow_list *al)
{
	size_t i;

	if (al == NULL)
		return;
	for (i = 0; i < al->n; i++) {
		if (al->v[i].kind == ALLOW_REGEX)
			regfree(&al->v[i].re);
		free(al->v[i].text);
	}
	free(al->v);
	free(al);
}

size_t
allow_count(const struct allow_list *al)
{
	return al == NULL ? 0 : al->n;
}

int
allow_addresses_only(const struct allow_list *al)
{
	size_t i;

	if (al == NULL)
		return 1;
	for (i = 0; i < al->n; i++)
		if (al->v[i].kind != ALLOW_ADDR4 &&
		    al->v[i].kind != ALLOW_ADDR6)
			return 0;
	return 1;
}

/*
 * NULL if s[0..len) is a host name: labels of 1..63 letters, digits and
 * hyphens, not starting or ending with a hyphen, 253 bytes at most.
 * Otherwise what is wrong.  Unless numeric_tld, an all-digit last label
 * is refused too: no top-level domain is numeric (RFC 3696), so such a
 * "name" is a mistyped address.
 */
static const char *
allow_name_check(const char *s, size_t len, int numeric_tld)
{
	size_t i, start = 0;
	int digits = 1;
	char c;

	if (len == 0)
		return "empty name";
	if (len > ALLOW_NAME_MAX)
		return "name longer than 253 characters";
	for (i = 0; i <= len; i++) {
		c = i < len ? s[i] : '.';
		if (c == '.') {
			if (i == start)
				return "empty label";
			if (i - start > ALLOW_LABEL_MAX)
				return "label longer than 63 characters";
			if (s[start] == '-' || s[i - 1] == '-')
				return "label starts or ends with '-'";
			if (i == len && digits && !numeric_tld)
				return "not a valid address, and the last "
				    "label of a name cannot be numeric";
			start = i + 1;
			digits = 1;
			continue;
		}
		if (c >= '0' && c <= '9')
			continue;
		digits = 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-')
			continue;
		return "invalid character in name (letters, digits, '-' "
		    "and '.' only)";
	}
	return NULL;
}

/* A.B.C.D[/N] or IPv6[/N]; the caller knows there is a '/' or ':'. */
static int
allow_add_cidr(struct allow_entry *e, const char *entry, char *err,
    size_t errlen)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char addr[INET6_ADDRSTRLEN + 1], fixed[INET6_ADDRSTRLEN];
	const char *slash, *p;
	unsigned prefix = 0, max, i;
	int v6;

	slash = strchr(entry, '/');
	if ((slash != NULL ? (size_t)(slash - entry) : strlen(entry)) >=
	    sizeof(addr)) {
		errbuf_set(err, errlen, "%s: not a valid address", entry);
		return -1;
	}
	if (slash != NULL) {
		memcpy(addr, entry, slash - entry);
		addr[slash - entry] = '\0';
	} else
		strcpy(addr, entry);

	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, e->addr) != 1) {
		errbuf_set(err, errlen, "%s: not a valid %s address", entry,
		    v6 ? "IPv6" : "IPv4");
		return -1;
	}
	max = v6 ? 128 : 32;
	if (slash == NULL)
		prefix = max;
	else {
		/* plain decimal: no sign, no spaces, no leading zeros */
		p = slash + 1;
		if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
			goto badprefix;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || prefix > max)
				goto badprefix;
			prefix = prefix * 10 + (*p - '0');
		}
		if (prefix > max)
			goto badprefix;
	}

	/* Host bits set is almost always a typo for the network, and
	 * silently masking would allow a different set than the admin
	 * thinks; say which network was probably meant. */
	for (i = prefix; i < max; i++)
		if (e->addr[i / 8] & (0x80 >> (i % 8)))
			break;
	if (i < max) {
		uint8_t net[16];

		memcpy(net, e->addr, sizeof(net));
		for (i = prefix; i < max; i++)
			net[i / 8] &= ~(0x80 >> (i % 8));
		inet_ntop(v6 ? AF_INET6 : AF_INET, net, fixed, sizeof(fixed));
		errbuf_set(err, errlen, "%s: host bits set (did you mean "
		    "%s/%u?)", entry, fixed, prefix);
		return -1;
	}

	/* ::ffff:a.b.c.d/N (N >= 96) is an IPv4 entry: peers on a
	 * dual-stack socket are matched as IPv4 (see allow_match_addr). */
	if (v6 && prefix >= 96 && memcmp(e->addr, mapped, 12) == 0) {
		memmove(e->addr, e->addr + 12, 4);
		memset(e->addr + 4, 0, 12);
		prefix -= 96;
		v6 = 0;
	}
	e->kind = v6 ? ALLOW_ADDR6 : ALLOW_ADDR4;
	e->prefix = prefix;
	return 0;
 badprefix:
	errbuf_set(err, errlen, "%s: prefix length must be 0..%u", entry, max);
	return -1;
}

/* Index of the ']' closing the bracket expression opening at re[i], or
 * len if none: ']' first is literal, [:class:] [.coll.] [=equiv=] nest
 * one level, and '\' is literal inside, as POSIX and glibc have it. */
static size_t
allow_regex_bracket(const char *re, size_t len, size_t i)
{
	char t;

	i++;
	if (i < len && re[i] == '^')
		i++;
	if (i < len && re[i] == ']')
		i++;
	while (i < len && re[i] != ']') {
		if (re[i] == '[' && i + 1 < len && (re[i + 1] == ':' ||
		    re[i + 1] == '.' || re[i + 1] == '=')) {
			t = re[i + 1];
			for (i += 2; i + 1 < len && !(re[i] == t &&
			    re[i + 1] == ']'); i++)
				;
			i++;
		}
		i++;
	}
	return i < len ? i : len;
}

/*
 * Checks the body of a regex before regcomp sees it: parentheses must
 * balance (else the body could close our anchoring group), and the
 * compiled size must stay small.  glibc compiles a+ and a{m,n} by
 * copying a's tree, so stacked or nested repeats grow exponentially
 * ("a++++++++", "((a{99}){99}){99}"): one typo in the config would
 * exhaust memory.  The size is estimated as glibc builds it: an atom
 * costs 1, a group the sum of its contents, a repeat multiplies what it
 * applies to by the number of copies.  Stacked operators ("a**", which
 * POSIX leaves undefined) and deep nesting make glibc's epsilon closures
 * blow up instead, so they are refused outright.  Allow-list patterns
 * are tiny; none of this limits a sensible one.
 */
static const char *
allow_regex_check(const char *re, size_t len)
{
	struct {
		size_t	sum;	/* cost of this group so far */
		size_t	last;	/* cost of the last atom or group */
	} st[ALLOW_REGEX_DEPTH + 1];
	size_t depth = 0, i, j, m, n, f;
	int quant = 0;		/* the last token was a repeat */

	if (len > ALLOW_REGEX_MAX)
		return "too long (more than 512 bytes)";
	st[0].sum = st[0].last = 0;
	for (i = 0; i < len; i++) {
		if (quant && (re[i] == '*' || re[i] == '+' || re[i] == '?' ||
		    (re[i] == '{' && i + 1 < len && ((re[i + 1] >= '0' &&
		    re[i + 1] <= '9') || re[i + 1] == ','))))
			return "stacked repetition operators";
		quant = 0;
		switch (re[i]) {
		case '(':
			if (++depth > ALLOW_REGEX_DEPTH)
				return "too complex (groups nested more "
				    "than 32 deep)";
			st[depth].sum = st[depth].last = 0;
			continue;
		case ')':
			if (depth == 0)
				return "unbalanced parentheses";
			f = st[depth].sum > 0 ? st[depth].sum : 1;
			depth--;
			st[depth].last = f;
			st[depth].sum += f;
			break;
		case '|':
			st[depth].last = 0;
			continue;
		case '*':
		case '?':
			quant = 1;
			continue;	/* one copy */
		case '+':
			f = 2;		/* a+ is aa* */
			goto repeat;
		case '{':
			/* {m}, {m,}, {m,n} and glibc's {,n}; anything else
			 * is left to regcomp to refuse */
			for (j = i + 1, m = 0; j < len && re[j] >= '0' &&
			    re[j] <= '9'; j++)
				if ((m = m * 10 + (re[j] - '0')) > 100000)
					return "repeat count too large";
			n = m;
			if (j < len && re[j] == ',') {
				f = ++j;
				for (n = 0; j < len && re[j] >= '0' &&
				    re[j] <= '9'; j++)
					if ((n = n * 10 + (re[j] - '0')) >
					    100000)
						return "repeat count too large";
				if (j == f)
					n = m + 1;	/* {m,}: m and a star */
			} else if (j == i + 1)
				goto atom;
			if (j >= len || re[j] != '}')
				goto atom;
			i = j;
			f = n > 0 ? n : 1;
 repeat:
			if (st[depth].last > ALLOW_REGEX_COST / f)
				return "too complex (nested repetitions)";
			st[depth].sum += st[depth].last * (f - 1);
			st[depth].last *= f;
			quant = 1;
			break;
		case '[':
			i = allow_regex_bracket(re, len, i);
			goto atom;
		case '\\':
			/* glibc takes \1..\9 in an ERE; matching them can
			 * take exponential time */
			if (++i < len && re[i] >= '1' && re[i] <= '9')
				return "back-references are not supported";
			/* FALLTHROUGH */
		default:
 atom:
			st[depth].last = 1;
			st[depth].sum++;
			break;
		}
		if (st[depth].sum > ALLOW_REGEX_COST)
			return "too complex (nested repetitions)";
	}
	if (depth != 0)
		return "unbalanced parentheses";
	return NULL;
}

/*
 * xend's regexes, made safe: anchored at both ends whatever the admin
 * wrote.  The body is wrapped as ^(body)$ and, as a backstop should a
 * body ever close our group early, a match also has to span the whole
 * string (POSIX leftmost-longest makes that exact), so REG_NOSUB is not
 * used.
 */
static int
allow_add_regex(struct allow_entry *e, const char *entry, char *err,
    size_t errlen)
{
	char *pat = NULL, msg[160];
	const char *why;
	size_t len, nbs;
	int r, rc = -1;

	len = strlen(entry + 1);
	if (len > 0 && entry[len] == '$') {
		/* "\$" is a literal dollar: strip only an unescaped one */
		for (nbs = 0; nbs < len - 1 && entry[len - 1 - nbs] == '\\';
		    nbs++)
			;
		if (nbs % 2 == 0)
			len--;
	}
	if (len == 0) {
		errbuf_set(err, errlen, "%s: empty regular expression", entry);
		goto out;
	}
	if ((why = allow_regex_check(entry + 1, len)) != NULL) {
		errbuf_set(err, errlen, "%.80s%s: invalid regular expression: "
		    "%s", entry, strlen(entry) > 80 ? "..." : "", why);
		goto out;
	}

	if ((pat = malloc(len + 5)) == NULL) {
		errbuf_set(err, errlen, "%s: out of memory", entry);
		goto out;
	}
	memcpy(pat, "^(", 2);
	memcpy(pat + 2, entry + 1, len);
	memcpy(pat + 2 + len, ")$", 3);
	if ((r = regcomp(&e->re, pat, REG_EXTENDED | REG_ICASE)) != 0) {
		regerror(r, &e->re, msg, sizeof(msg));
		errbuf_set(err, errlen, "%s: invalid regular expression: %s",
		    entry, msg);
		goto out;
	}
	e->kind = ALLOW_REGEX;
	rc = 0;
 out:
	free(pat);
	return rc;
}

int
allow_add(struct allow_list *al, const char *entry, char *err,
    size_t errlen)
{
	struct allow_entry e, *v;
	const char *why, *dom;
	size_t len, i, cap;
	uint8_t a4[4];

	memset(&e, 0, sizeof(e));
	len = strlen(entry);
	if (len == 0) {
		errbuf_set(err, errlen, "empty entry");
		return -1;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)entry[i] <= 0x20 || entry[i] == 0x7f) {
			errbuf_set(err, errlen, "'%s': white space or control "
			    "character in entry", entry);
			return -1;
		}

	if (entry[0] == '^') {
		if (allow_add_regex(&e, entry, err, errlen) == -1)
			return -1;
	} else if (strchr(entry, '*') != NULL) {
		/* "*." then a domain; the star is nowhere else */
		dom = entry + 2;
		if (strncmp(entry, "*.", 2) != 0 || strchr(dom, '*') != NULL) {
			errbuf_set(err, errlen, "%s: a glob is '*.' followed "
			    "by a domain, e.g. *.example.org", entry);
			return -1;
		}
		len = strlen(dom);
		if (len > 0 && dom[len - 1] == '.')
			len--;
		if ((why = allow_name_check(dom, len, 0)) != NULL) {
			errbuf_set(err, errlen, "%s: %s", entry, why);
			return -1;
		}
		e.kind = ALLOW_GLOB;
		if ((e.text = strndup(dom, len)) == NULL)
			goto nomem;
	} else if (strchr(entry, '/') != NULL || strchr(entry, ':') != NULL) {
		if (allow_add_cidr(&e, entry, err, errlen) == -1)
			return -1;
	} else if (inet_pton(AF_INET, entry, a4) == 1) {
		if (allow_add_cidr(&e, entry, err, errlen) == -1)
			return -1;
	} else {
		if (entry[len - 1] == '.')
			len--;
		if ((why = allow_name_check(entry, len, 0)) != NULL) {
			errbuf_set(err, errlen, "%s: %s", entry, why);
			return -1;
		}
		e.kind = ALLOW_NAME;
		if ((e.text = strndup(entry, len)) == NULL)
			goto nomem;
	}
	if (e.text != NULL)
		for (i = 0; e.text[i] != '\0'; i++)
			if (e.text[i] >= 'A' && e.text[i] <= 'Z')
				e.text[i] += 'a' - 'A';

	if (al->n == al->cap) {
		cap = al->cap == 0 ? 8 : al->cap * 2;
		if ((v = reallocarray(al->v, cap, sizeof(*v))) == NULL)
			goto nomem;
		al->v = v;
		al->cap = cap;
	}
	al->v[al->n++] = e;
	return 0;
 nomem:
	if (e.kind == ALLOW_REGEX)
		regfree(&e.re);
	free(e.text);
	errbuf_set(err, errlen, "%s: out of memory", entry);
	return -1;
}

static int
allow_prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(a, net, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

/* Whole-string match; see allow_add_regex for why offsets are checked. */
static int
allow_regex_match(const regex_t *re, const char *s)
{
	regmatch_t m;

	if (regexec(re, s, 1, &m, 0) != 0)
		return 0;
	return m.rm_so == 0 && (size_t)m.rm_eo == strlen(s);
}

int
allow_match_addr(const struct allow_list *al, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char text[INET6_ADDRSTRLEN];
	uint8_t a[16];
	size_t i;
	int v6;

	if (al == NULL || sa == NULL)
		return 0;
	memset(a, 0, sizeof(a));
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		memcpy(a, &sin->sin_addr, 4);
		v6 = 0;
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* a dual-stack socket's IPv4 peer is an IPv4 peer */
			memcpy(a, sin6->sin6_addr.s6_addr + 12, 4);
			v6 = 0;
		} else {
			memcpy(a, &sin6->sin6_addr, 16);
			v6 = 1;
		}
		break;
	default:
		return 0;
	}
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, text, sizeof(text)) == NULL)
		text[0] = '\0';

	for (i = 0; i < al->n; i++) {
		switch (al->v[i].kind) {
		case ALLOW_ADDR4:
			if (!v6 && allow_prefix_match(a, al->v[i].addr,
			    al->v[i].prefix))
				return 1;
			break;
		case ALLOW_ADDR6:
			if (v6 && allow_prefix_match(a, al->v[i].addr,
			    al->v[i].prefix))
				return 1;
			break;
		case ALLOW_REGEX:
			if (text[0] != '\0' &&
			    allow_regex_match(&al->v[i].re, text))
				return 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/*
 * Copy a certificate name into buf, lower case, without a final dot.
 * 0 if it is a host name or an IP address in text (SAN IP entries come
 * as text), -1 otherwise: anything else (a wildcard SAN "*.example.org",
 * a CN with spaces) is not an identity any entry may match.  *isaddr is
 * set for IPv6 text, which only regexes may match.
 */
static int
allow_name_normalize(const char *name, char *buf, size_t buflen,
    int *isaddr)
{
	uint8_t a6[16];
	size_t len, i;

	*isaddr = 0;
	len = strnlen(name, buflen);
	if (len == 0 || len >= buflen)
		return -1;
	memcpy(buf, name, len + 1);
	if (strchr(buf, ':') != NULL) {
		if (inet_pton(AF_INET6, buf, a6) != 1)
			return -1;
		*isaddr = 1;
		return 0;
	}
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	if (allow_name_check(buf, len, 1) != NULL)
		return -1;
	for (i = 0; i < len; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] += 'a' - 'A';
	return 0;
}

int
allow_match_names(const struct allow_list *al, char *const *names,
    size_t nnames)
{
	char buf[ALLOW_NAME_MAX + 2];
	const struct allow_entry *e;
	size_t i, j, len, dlen;
	int isaddr;

	if (al == NULL || names == NULL)
		return 0;
	for (j = 0; j < nnames; j++) {
		if (names[j] == NULL ||
		    allow_name_normalize(names[j], buf, sizeof(buf),
		    &isaddr) == -1)
			continue;
		len = strlen(buf);
		for (i = 0; i < al->n; i++) {
			e = &al->v[i];
			switch (e->kind) {
			case ALLOW_NAME:
				if (!isaddr && strcmp(buf, e->text) == 0)
					return 1;
				break;
			case ALLOW_GLOB:
				/* one or more labels, then ".domain": never
				 * the domain itself, and the dot keeps
				 * "evilexample.org" out */
				dlen = strlen(e->text);
				if (!isaddr && len > dlen + 1 &&
				    buf[len - dlen - 1] == '.' &&
				    strcmp(buf + len - dlen, e->text) == 0)
					return 1;
				break;
			case ALLOW_REGEX:
				if (allow_regex_match(&e->re, buf))
					return 1;
				break;
			default:
				break;
			}
		}
	}
	return 0;
}
