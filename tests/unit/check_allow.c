/*
 * relocation_hosts_allow: what each kind of entry matches, and above all
 * what it must not match.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"

static struct allow_list *list_of(const char *, ...);
static int	addr_ok(const struct allow_list *, const char *);
static int	name_ok(const struct allow_list *, const char *);
static Suite	*allow_suite(void);

/* A list from NULL-terminated entries, all of which must be valid. */
static struct allow_list *
list_of(const char *first, ...)
{
	struct allow_list *al;
	const char *e;
	char err[256];
	va_list ap;

	al = allow_new();
	ck_assert_ptr_nonnull(al);
	va_start(ap, first);
	for (e = first; e != NULL; e = va_arg(ap, const char *))
		ck_assert_msg(allow_add(al, e, err, sizeof(err)) == 0,
		    "%s: %s", e, err);
	va_end(ap);
	return al;
}

/* Match a textual address as the socket would present it; "::ffff:"
 * addresses are given as AF_INET6, as a dual-stack socket does. */
static int
addr_ok(const struct allow_list *al, const char *text)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return allow_match_addr(al, (struct sockaddr *)&sin);
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	sin6.sin6_family = AF_INET6;
	return allow_match_addr(al, (struct sockaddr *)&sin6);
}

static int
name_ok(const struct allow_list *al, const char *name)
{
	char *names[1];

	names[0] = (char *)name;
	return allow_match_names(al, names, 1);
}

START_TEST(allow_empty_refuses_all)
{
	struct allow_list *al = list_of(NULL);

	ck_assert_uint_eq(allow_count(al), 0);
	ck_assert_int_eq(allow_addresses_only(al), 1);
	ck_assert_int_eq(addr_ok(al, "127.0.0.1"), 0);
	ck_assert_int_eq(addr_ok(al, "::1"), 0);
	ck_assert_int_eq(name_ok(al, "localhost"), 0);
	ck_assert_int_eq(allow_match_names(al, NULL, 0), 0);
	allow_free(al);
	allow_free(NULL);
}
END_TEST

START_TEST(allow_cidr4_edges)
{
	struct allow_list *al;

	al = list_of("0.0.0.0/0", NULL);
	ck_assert_int_eq(addr_ok(al, "1.2.3.4"), 1);
	ck_assert_int_eq(addr_ok(al, "255.255.255.255"), 1);
	ck_assert_int_eq(addr_ok(al, "::1"), 0);	/* v4 only */
	ck_assert_int_eq(addr_ok(al, "2001:db8::1"), 0);
	allow_free(al);

	al = list_of("10.0.0.1/32", NULL);
	ck_assert_int_eq(addr_ok(al, "10.0.0.1"), 1);
	ck_assert_int_eq(addr_ok(al, "10.0.0.12"), 0);
	ck_assert_int_eq(addr_ok(al, "10.0.0.10"), 0);
	ck_assert_int_eq(addr_ok(al, "10.0.0.0"), 0);
	allow_free(al);

	al = list_of("10.0.0.1", NULL);	/* a bare address is a /32 */
	ck_assert_int_eq(addr_ok(al, "10.0.0.1"), 1);
	ck_assert_int_eq(addr_ok(al, "10.0.0.12"), 0);
	ck_assert_int_eq(addr_ok(al, "110.0.0.1"), 0);
	allow_free(al);

	al = list_of("192.0.2.6/31", NULL);
	ck_assert_int_eq(addr_ok(al, "192.0.2.5"), 0);
	ck_assert_int_eq(addr_ok(al, "192.0.2.6"), 1);
	ck_assert_int_eq(addr_ok(al, "192.0.2.7"), 1);
	ck_assert_int_eq(addr_ok(al, "192.0.2.8"), 0);
	allow_free(al);

	al = list_of("172.16.0.0/12", NULL);
	ck_assert_int_eq(addr_ok(al, "172.16.0.0"), 1);
	ck_assert_int_eq(addr_ok(al, "172.31.255.255"), 1);
	ck_assert_int_eq(addr_ok(al, "172.32.0.0"), 0);
	ck_assert_int_eq(addr_ok(al, "172.15.255.255"), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_cidr6_edges)
{
	struct allow_list *al;

	al = list_of("2001:db8::1/128", NULL);
	ck_assert_int_eq(addr_ok(al, "2001:db8::1"), 1);
	ck_assert_int_eq(addr_ok(al, "2001:db8::2"), 0);
	ck_assert_int_eq(addr_ok(al, "2001:db8::10"), 0);
	allow_free(al);

	al = list_of("::/0", NULL);
	ck_assert_int_eq(addr_ok(al, "2001:db8::1"), 1);
	ck_assert_int_eq(addr_ok(al, "::1"), 1);
	ck_assert_int_eq(addr_ok(al, "10.0.0.1"), 0);
	/* a mapped peer is an IPv4 peer, not "any IPv6" */
	ck_assert_int_eq(addr_ok(al, "::ffff:10.0.0.1"), 0);
	allow_free(al);

	al = list_of("2001:db8:abcc::/47", NULL);
	ck_assert_int_eq(addr_ok(al, "2001:db8:abcc::1"), 1);
	ck_assert_int_eq(addr_ok(al, "2001:db8:abcd:ffff::1"), 1);
	ck_assert_int_eq(addr_ok(al, "2001:db8:abce::"), 0);
	ck_assert_int_eq(addr_ok(al, "2001:db8:abcb:ffff::"), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_mapped_ipv6)
{
	struct allow_list *al;

	/* IPv4 entries match peers seen on a dual-stack socket */
	al = list_of("10.0.0.0/8", "192.0.2.7", NULL);
	ck_assert_int_eq(addr_ok(al, "::ffff:10.1.2.3"), 1);
	ck_assert_int_eq(addr_ok(al, "::ffff:192.0.2.7"), 1);
	ck_assert_int_eq(addr_ok(al, "::ffff:192.0.2.8"), 0);
	ck_assert_int_eq(addr_ok(al, "::ffff:11.0.0.1"), 0);
	/* the IPv4-compatible (deprecated) form is not mapped */
	ck_assert_int_eq(addr_ok(al, "::10.1.2.3"), 0);
	allow_free(al);

	/* and a mapped entry is an IPv4 entry */
	al = list_of("::ffff:10.0.0.0/104", NULL);
	ck_assert_int_eq(addr_ok(al, "10.9.9.9"), 1);
	ck_assert_int_eq(addr_ok(al, "::ffff:10.9.9.9"), 1);
	ck_assert_int_eq(addr_ok(al, "11.0.0.1"), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_names)
{
	struct allow_list *al;
	char *names[3];

	al = list_of("HostA.Example.Org", "hostb.example.org.", NULL);
	ck_assert_int_eq(allow_addresses_only(al), 0);
	ck_assert_int_eq(name_ok(al, "hosta.example.org"), 1);
	ck_assert_int_eq(name_ok(al, "HOSTA.EXAMPLE.ORG"), 1);
	ck_assert_int_eq(name_ok(al, "hosta.example.org."), 1);
	ck_assert_int_eq(name_ok(al, "hostb.example.org"), 1);
	ck_assert_int_eq(name_ok(al, "hosta.example.org.evil.net"), 0);
	ck_assert_int_eq(name_ok(al, "xhosta.example.org"), 0);
	ck_assert_int_eq(name_ok(al, "hosta.example.or"), 0);
	ck_assert_int_eq(name_ok(al, "a.hosta.example.org"), 0);
	/* a wildcard certificate name is not a host's identity */
	ck_assert_int_eq(name_ok(al, "*.example.org"), 0);
	/* names never match at accept, addresses never match names */
	ck_assert_int_eq(addr_ok(al, "127.0.0.1"), 0);
	/* any of several names */
	names[0] = "web.example.com";
	names[1] = "192.0.2.7";
	names[2] = "hostb.example.org";
	ck_assert_int_eq(allow_match_names(al, names, 3), 1);
	ck_assert_int_eq(allow_match_names(al, names, 2), 0);
	allow_free(al);

	/* an address entry does not match a SAN IP given as a name */
	al = list_of("192.0.2.7", NULL);
	ck_assert_int_eq(name_ok(al, "192.0.2.7"), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_globs)
{
	struct allow_list *al;

	al = list_of("*.example.org", NULL);
	ck_assert_int_eq(name_ok(al, "a.example.org"), 1);
	ck_assert_int_eq(name_ok(al, "a.b.example.org"), 1);
	ck_assert_int_eq(name_ok(al, "A.EXAMPLE.ORG."), 1);
	ck_assert_int_eq(name_ok(al, "example.org"), 0);	/* never bare */
	ck_assert_int_eq(name_ok(al, ".example.org"), 0);
	ck_assert_int_eq(name_ok(al, "example.org.evil.net"), 0);
	ck_assert_int_eq(name_ok(al, "a.example.org.evil.net"), 0);
	ck_assert_int_eq(name_ok(al, "evilexample.org"), 0);
	ck_assert_int_eq(name_ok(al, "a.evilexample.org"), 0);
	ck_assert_int_eq(name_ok(al, "a.example.orgx"), 0);
	ck_assert_int_eq(name_ok(al, "*.example.org"), 0);
	ck_assert_int_eq(name_ok(al, "a..example.org"), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_regexes)
{
	struct allow_list *al;

	al = list_of("^host[ab]$", NULL);
	ck_assert_int_eq(allow_addresses_only(al), 0);
	ck_assert_int_eq(name_ok(al, "hosta"), 1);
	ck_assert_int_eq(name_ok(al, "HOSTB"), 1);	/* REG_ICASE */
	ck_assert_int_eq(name_ok(al, "hostab"), 0);
	ck_assert_int_eq(name_ok(al, "xhosta"), 0);
	ck_assert_int_eq(name_ok(al, "hostc"), 0);
	allow_free(al);

	/* anchored at both ends even without '$' */
	al = list_of("^host[ab]\\.example\\.org", NULL);
	ck_assert_int_eq(name_ok(al, "hosta.example.org"), 1);
	ck_assert_int_eq(name_ok(al, "hosta.example.org.evil.net"), 0);
	ck_assert_int_eq(name_ok(al, "hostaxexample.org"), 0);
	allow_free(al);

	/* alternation stays inside the anchors */
	al = list_of("^a|b$", NULL);
	ck_assert_int_eq(name_ok(al, "a"), 1);
	ck_assert_int_eq(name_ok(al, "b"), 1);
	ck_assert_int_eq(name_ok(al, "ax"), 0);
	ck_assert_int_eq(name_ok(al, "xb"), 0);
	ck_assert_int_eq(name_ok(al, "xax"), 0);
	allow_free(al);

	/* ordinary repeats are fine */
	al = list_of("^host[0-9]{2}\\.example\\.org$",
	    "^(a|b)+(c|d)*x{1,3}y{2,}z{,2}$", "^[a-z0-9-]{1,63}\\.test$",
	    NULL);
	ck_assert_int_eq(name_ok(al, "host42.example.org"), 1);
	ck_assert_int_eq(name_ok(al, "host4.example.org"), 0);
	ck_assert_int_eq(name_ok(al, "abbaxyy"), 1);
	ck_assert_int_eq(name_ok(al, "abbaxxxxyy"), 0);
	allow_free(al);

	/* a literal dollar is not the anchor */
	al = list_of("^a\\$", NULL);
	allow_free(al);

	/* xend's regexes matched addresses too */
	al = list_of("^192\\.0\\.2\\.[0-9]+$", "^localhost$", NULL);
	ck_assert_int_eq(addr_ok(al, "192.0.2.77"), 1);
	ck_assert_int_eq(addr_ok(al, "::ffff:192.0.2.77"), 1);
	ck_assert_int_eq(addr_ok(al, "192.0.2.77"), 1);
	ck_assert_int_eq(addr_ok(al, "10.192.0.2"), 0);
	ck_assert_int_eq(name_ok(al, "192.0.2.5"), 1);	/* SAN IP text */
	ck_assert_int_eq(name_ok(al, "localhost"), 1);
	ck_assert_int_eq(name_ok(al, "localhost.evil"), 0);
	allow_free(al);

	al = list_of("^2001:db8::[0-9a-f]+$", NULL);
	ck_assert_int_eq(addr_ok(al, "2001:db8::17"), 1);
	ck_assert_int_eq(addr_ok(al, "2001:db8:1::17"), 0);
	allow_free(al);

	/* a name with blanks (a CN, say) never matches, even ".*" */
	al = list_of("^.*$", NULL);
	ck_assert_int_eq(name_ok(al, "relocd host a"), 0);
	ck_assert_int_eq(name_ok(al, "*.example.org"), 0);
	ck_assert_int_eq(name_ok(al, "a.example.org"), 1);
	allow_free(al);
}
END_TEST

START_TEST(allow_addresses_only_kinds)
{
	struct allow_list *al;

	al = list_of("10.0.0.0/8", "2001:db8::/32", "192.0.2.1", NULL);
	ck_assert_int_eq(allow_addresses_only(al), 1);
	ck_assert_uint_eq(allow_count(al), 3);
	allow_free(al);
	al = list_of("10.0.0.0/8", "hosta.example.org", NULL);
	ck_assert_int_eq(allow_addresses_only(al), 0);
	allow_free(al);
	al = list_of("10.0.0.0/8", "*.example.org", NULL);
	ck_assert_int_eq(allow_addresses_only(al), 0);
	allow_free(al);
	/* a regex may match names too: it cannot be judged at accept */
	al = list_of("10.0.0.0/8", "^10\\.1\\..*", NULL);
	ck_assert_int_eq(allow_addresses_only(al), 0);
	allow_free(al);
	ck_assert_int_eq(allow_addresses_only(NULL), 1);
}
END_TEST

static const struct {
	const char	*entry;
	const char	*msg;
} allow_bad[] = {
	{ "", "empty entry" },
	{ "10.0.0.1/8", "10.0.0.1/8: host bits set (did you mean "
	    "10.0.0.0/8?)" },
	{ "192.168.1.1/16", "192.168.1.1/16: host bits set (did you mean "
	    "192.168.0.0/16?)" },
	{ "2001:db8::1/64", "2001:db8::1/64: host bits set (did you mean "
	    "2001:db8::/64?)" },
	{ "10.0.0.0/33", "10.0.0.0/33: prefix length must be 0..32" },
	{ "10.0.0.0/", "10.0.0.0/: prefix length must be 0..32" },
	{ "10.0.0.0/-1", "10.0.0.0/-1: prefix length must be 0..32" },
	{ "10.0.0.0/08", "10.0.0.0/08: prefix length must be 0..32" },
	{ "10.0.0.0/8x", "10.0.0.0/8x: prefix length must be 0..32" },
	{ "10.0.0.0/99999999999", "10.0.0.0/99999999999: prefix length must be "
	    "0..32" },
	{ "::/129", "::/129: prefix length must be 0..128" },
	{ "10.0.0.256/32", "10.0.0.256/32: not a valid IPv4 address" },
	{ "10.0.0/24", "10.0.0/24: not a valid IPv4 address" },
	{ "2001:db8:::1", "2001:db8:::1: not a valid IPv6 address" },
	{ "fe80::1%eth0", "fe80::1%eth0: not a valid IPv6 address" },
	{ "10.0.0.256", "10.0.0.256: not a valid address, and the last label "
	    "of a name cannot be numeric" },
	{ "10.1", "10.1: not a valid address, and the last label of a name "
	    "cannot be numeric" },
	{ "*", "*: a glob is '*.' followed by a domain, e.g. *.example.org" },
	{ "*foo", "*foo: a glob is '*.' followed by a domain, e.g. "
	    "*.example.org" },
	{ "a.*.b", "a.*.b: a glob is '*.' followed by a domain, e.g. "
	    "*.example.org" },
	{ "*.*.org", "*.*.org: a glob is '*.' followed by a domain, e.g. "
	    "*.example.org" },
	{ "foo*.org", "foo*.org: a glob is '*.' followed by a domain, e.g. "
	    "*.example.org" },
	{ "*.", "*.: empty name" },
	{ "*.a..b", "*.a..b: empty label" },
	{ "host_a.example.org", "host_a.example.org: invalid character in "
	    "name (letters, digits, '-' and '.' only)" },
	{ "-a.example.org", "-a.example.org: label starts or ends with '-'" },
	{ "a-.example.org", "a-.example.org: label starts or ends with '-'" },
	{ "a..example.org", "a..example.org: empty label" },
	{ ".example.org", ".example.org: empty label" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".org",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".org: label longer than 63 characters" },
	{ "a b", "'a b': white space or control character in entry" },
	{ "^", "^: empty regular expression" },
	{ "^$", "^$: empty regular expression" },
	{ "^host(", "^host(: invalid regular expression: unbalanced "
	    "parentheses" },
	{ "^a)|(b", "^a)|(b: invalid regular expression: unbalanced "
	    "parentheses" },
	{ "^host[ab", "^host[ab: invalid regular expression: Unmatched [, "
	    "[^, [:, [., or [=" },
	{ "^a{2,1}", "^a{2,1}: invalid regular expression: Invalid content "
	    "of \\{\\}" },
	{ "^a++", "^a++: invalid regular expression: stacked repetition "
	    "operators" },
	{ "^.*********", "^.*********: invalid regular expression: stacked "
	    "repetition operators" },
	{ "^a{2}*", "^a{2}*: invalid regular expression: stacked repetition "
	    "operators" },
	{ "^a?{2}", "^a?{2}: invalid regular expression: stacked repetition "
	    "operators" },
	{ "^((a{99}){99}){99}", "^((a{99}){99}){99}: invalid regular "
	    "expression: too complex (nested repetitions)" },
	{ "^((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+",
	    "^((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+: invalid regular "
	    "expression: too complex (nested repetitions)" },
	{ "^(a)\\1", "^(a)\\1: invalid regular expression: back-references "
	    "are not supported" },
	{ "^0{,8010}", "^0{,8010}: invalid regular expression: too complex "
	    "(nested repetitions)" },
	{ "^a{,2}{,2}", "^a{,2}{,2}: invalid regular expression: stacked "
	    "repetition operators" },
	{ "^a{100001}", "^a{100001}: invalid regular expression: repeat count "
	    "too large" },
	{ "^(((((((((((((((((((((((((((((((((a)))))"
	    "))))))))))))))))))))))))))))",
	    "^(((((((((((((((((((((((((((((((((a)))))"
	    ")))))))))))))))))))))))))))): invalid regular expression: "
	    "too complex (groups nested more than 32 deep)" },
};

START_TEST(allow_invalid)
{
	struct allow_list *al = allow_new();
	char err[256];

	ck_assert_int_eq(allow_add(al, allow_bad[_i].entry, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, allow_bad[_i].msg);
	ck_assert_uint_eq(allow_count(al), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_regex_too_long)
{
	struct allow_list *al = allow_new();
	char entry[600], err[256];

	entry[0] = '^';
	memset(entry + 1, 'a', sizeof(entry) - 2);
	entry[sizeof(entry) - 1] = '\0';
	ck_assert_int_eq(allow_add(al, entry, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "^aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...: invalid regular expression: "
	    "too long (more than 512 bytes)");
	entry[513] = '\0';	/* exactly 512 after the '^' */
	ck_assert_int_eq(allow_add(al, entry, err, sizeof(err)), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_bracket_paren)
{
	struct allow_list *al;

	/* parentheses inside a bracket expression are not groups */
	al = list_of("^[()]x$", "^a[]()]b$", "^[[:digit:])]+$", NULL);
	ck_assert_int_eq(name_ok(al, "ab"), 0);
	ck_assert_int_eq(name_ok(al, "12"), 1);
	allow_free(al);
}
END_TEST

START_TEST(allow_long_names)
{
	struct allow_list *al;
	char name[400];

	al = list_of("*.example.org", "^.*$", NULL);
	/* 254+ bytes is not a DNS name: refused, and never overread */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name + sizeof(name) - 13, ".example.org", 13);
	ck_assert_int_eq(name_ok(al, name), 0);
	ck_assert_int_eq(name_ok(al, ""), 0);
	allow_free(al);
}
END_TEST

START_TEST(allow_other_family)
{
	struct allow_list *al = list_of("0.0.0.0/0", "::/0", "^.*$", NULL);
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert_int_eq(allow_match_addr(al, &sa), 0);
	ck_assert_int_eq(allow_match_addr(al, NULL), 0);
	ck_assert_int_eq(allow_match_addr(NULL, &sa), 0);
	allow_free(al);
}
END_TEST

static Suite *
allow_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("allow");
	tc = tcase_create("match");
	tcase_add_test(tc, allow_empty_refuses_all);
	tcase_add_test(tc, allow_cidr4_edges);
	tcase_add_test(tc, allow_cidr6_edges);
	tcase_add_test(tc, allow_mapped_ipv6);
	tcase_add_test(tc, allow_names);
	tcase_add_test(tc, allow_globs);
	tcase_add_test(tc, allow_regexes);
	tcase_add_test(tc, allow_addresses_only_kinds);
	tcase_add_test(tc, allow_bracket_paren);
	tcase_add_test(tc, allow_regex_too_long);
	tcase_add_test(tc, allow_long_names);
	tcase_add_test(tc, allow_other_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_loop_test(tc, allow_invalid, 0,
	    sizeof(allow_bad) / sizeof(allow_bad[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(allow_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
