/*
 * The xl.conf-syntax reader (cfg.c) and the relocd.conf loader (conf.c).
 * Every error is checked word for word: the message is the interface.
 * Run from the repository root (the golden files are found relative to
 * it, or under $CONF_TEST_DIR).
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allow.h"
#include "cfg.h"
#include "conf.h"
#include "domcfg.h"

#ifndef CONF_TEST_DIR
#define CONF_TEST_DIR	"tests/conf"
#endif

static char tmpdir[PATH_MAX];
static char origdir[PATH_MAX];

static void	tmp_setup(void);
static void	tmp_teardown(void);
static void	write_file(const char *, const char *, size_t);
static int	parse(const char *, struct cfg *, char *, size_t);
static int	load(const char *, struct relocd_conf *, char *, size_t);
static const char *conf_test_dir(void);
static void	golden_dir(const char *, int);
static Suite	*cfg_suite(void);

/* Each test runs in a fresh directory (its own process, CK_FORK). */
static void
tmp_setup(void)
{
	ck_assert_ptr_nonnull(getcwd(origdir, sizeof(origdir)));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_cfg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chdir(tmpdir), 0);
}

static void
tmp_teardown(void)
{
	DIR *d;
	struct dirent *de;

	if (chdir(tmpdir) == 0 && (d = opendir(".")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlink(de->d_name);
		closedir(d);
	}
	if (chdir(origdir) == 0)
		rmdir(tmpdir);
}

static void
write_file(const char *name, const char *buf, size_t len)
{
	int fd;

	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static int
parse(const char *text, struct cfg *cfg, char *err, size_t errlen)
{
	cfg_init(cfg);
	err[0] = '\0';
	return cfg_parse_buf(cfg, "t.conf", text, strlen(text), err, errlen);
}

static int
load(const char *text, struct relocd_conf *c, char *err, size_t errlen)
{
	write_file("relocd.conf", text, strlen(text));
	conf_init(c);
	err[0] = '\0';
	return conf_load(c, "relocd.conf", err, errlen);
}

/* --- the reader --- */

START_TEST(cfg_good_all_kinds)
{
	static const char text[] =
	    "# a comment line\n"
	    "s1 = \"double\"   # trailing comment\n"
	    "s2 = 'single'; n1 = 42 ; n2 = 0x1F\n"
	    "\n"
	    "empty = []\n"
	    "l = [ \"a\", 'b', 3,   # comment inside\n"
	    "      \"d\",\n"
	    "    ]\n"
	    "esc = \"q\\\"q\\'\\\\\\n\\t\\x41\\101\\a\"\r\n"
	    "dotted.key_2 = 'x'\n"
	    "last = \"no newline at end\"";
	struct cfg cfg;
	struct cfg_setting *st;
	char err[256];
	long v;

	ck_assert_int_eq(parse(text, &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(cfg.nsettings, 9);

	st = cfg_get(&cfg, "s1");
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(st->value.kind, CFG_STRING);
	ck_assert_str_eq(st->value.str, "double");
	ck_assert_int_eq(st->line, 2);
	ck_assert_int_eq(st->used, 1);

	st = cfg_get(&cfg, "s2");
	ck_assert_str_eq(st->value.str, "single");
	ck_assert_int_eq(st->line, 3);
	st = cfg_get(&cfg, "n1");
	ck_assert_int_eq(st->value.kind, CFG_NUMBER);
	ck_assert_str_eq(st->value.str, "42");
	ck_assert_int_eq(cfg_get_long(&cfg, "n2", 0, 100, &v, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(v, 31);

	st = cfg_get(&cfg, "empty");
	ck_assert_int_eq(st->value.kind, CFG_LIST);
	ck_assert_uint_eq(st->value.nitems, 0);

	st = cfg_get(&cfg, "l");
	ck_assert_int_eq(st->value.kind, CFG_LIST);
	ck_assert_uint_eq(st->value.nitems, 4);
	ck_assert_str_eq(st->value.items[0].str, "a");
	ck_assert_str_eq(st->value.items[1].str, "b");
	ck_assert_int_eq(st->value.items[2].kind, CFG_NUMBER);
	ck_assert_str_eq(st->value.items[2].str, "3");
	ck_assert_str_eq(st->value.items[3].str, "d");
	ck_assert_int_eq(st->value.items[3].line, 7);
	ck_assert_int_eq(st->line, 6);

	st = cfg_get(&cfg, "esc");
	ck_assert_str_eq(st->value.str, "q\"q'\\\n\tAA\a");
	ck_assert_int_eq(st->line, 9);
	ck_assert_ptr_nonnull(cfg_get(&cfg, "dotted.key_2"));
	st = cfg_get(&cfg, "last");
	ck_assert_str_eq(st->value.str, "no newline at end");
	ck_assert_int_eq(st->line, 11);
	ck_assert_ptr_null(cfg_get(&cfg, "absent"));
	cfg_dispose(&cfg);
}
END_TEST

START_TEST(cfg_good_empty)
{
	struct cfg cfg;
	char err[256];

	ck_assert_int_eq(parse("", &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nsettings, 0);
	cfg_dispose(&cfg);
	ck_assert_int_eq(parse("\n# only\n;;\n", &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nsettings, 0);
	cfg_dispose(&cfg);
}
END_TEST

static const struct {
	const char	*text;
	const char	*msg;
} cfg_bad[] = {
	{ "a = 1\nb = \"abc\n", "t.conf:2: unterminated string" },
	{ "a = 'abc", "t.conf:1: unterminated string" },
	{ "a = \"abc\\", "t.conf:1: unterminated string" },
	{ "\nrelocation_port 8003\n",
	    "t.conf:2: expected '=' after 'relocation_port'" },
	{ "a =\n", "t.conf:1: missing value for 'a'" },
	{ "a = ; b = 1", "t.conf:1: missing value for 'a'" },
	{ "a =", "t.conf:1: missing value for 'a'" },
	{ "a = @", "t.conf:1: unexpected character '@'" },
	{ "a = -1", "t.conf:1: unexpected character '-'" },
	{ "a = \"x\"\n\x01", "t.conf:2: unexpected byte 0x01" },
	{ "a = sim", "t.conf:1: expected a value for 'a', got 'sim' "
	    "(strings need quotes)" },
	{ "a = ]", "t.conf:1: expected a value for 'a', got ']'" },
	{ "a = [ \"x\",\n \"y\"\n", "t.conf:1: unterminated list for 'a'" },
	{ "a = [\n", "t.conf:1: unterminated list for 'a'" },
	{ "a = [ \"x\", [ \"y\" ] ]",
	    "t.conf:1: nested lists are not supported (in 'a')" },
	{ "a = [ \"x\"\n  [ ] ]",
	    "t.conf:2: nested lists are not supported (in 'a')" },
	{ "a = [ \"x\" \"y\" ]", "t.conf:1: expected ',' or ']' in the list "
	    "for 'a' (opened at line 1), got a string" },
	{ "a = [ \"x\"\nb = 1\n", "t.conf:2: expected ',' or ']' in the list "
	    "for 'a' (opened at line 1), got 'b'" },
	{ "a = [ , ]", "t.conf:1: expected a value or ']' in the list for "
	    "'a', got ','" },
	{ "a = [ \"x\",, ]", "t.conf:1: expected a value or ']' in the list "
	    "for 'a', got ','" },
	{ "backend = \"sim\"\nx = 1\nbackend = \"libxl\"\n",
	    "t.conf:3: duplicate setting 'backend' (first set at line 1)" },
	{ "a = 1 b = 2", "t.conf:1: expected end of line or ';' after the "
	    "value of 'a', got 'b'" },
	{ "= 1", "t.conf:1: expected a setting name, got '='" },
	{ "a = 1\n\n'x' = 2", "t.conf:3: expected a setting name, got a "
	    "string" },
	{ "3a = 1", "t.conf:1: expected a setting name, got '3a'" },
	{ "a = \"\\q\"", "t.conf:1: invalid escape '\\q' in string (a "
	    "backslash is written '\\\\')" },
	{ "a = '^a\\.b$'", "t.conf:1: invalid escape '\\.' in string (a "
	    "backslash is written '\\\\')" },
	{ "a = \"\\x\"", "t.conf:1: invalid escape '\\x' in string (\\x needs "
	    "hex digits)" },
	{ "a = \"\\x00\"", "t.conf:1: NUL byte in string" },
	{ "a = \"\\0\"", "t.conf:1: NUL byte in string" },
	{ "a = \"\\777\"", "t.conf:1: octal escape out of range in string" },
	{ "a += \"x\"", "t.conf:1: '+=' is not supported" },
	{ "+= 1", "t.conf:1: '+=' is not supported" },
};

START_TEST(cfg_bad_syntax)
{
	struct cfg cfg;
	char err[256];

	ck_assert_int_eq(parse(cfg_bad[_i].text, &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, cfg_bad[_i].msg);
	ck_assert_ptr_null(strchr(err, '\n'));
	cfg_dispose(&cfg);
}
END_TEST

START_TEST(cfg_nul_in_file)
{
	static const char text[] = "a = 1\nb = \"x\0y\"\n";
	struct cfg cfg;
	char err[256];

	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_buf(&cfg, "t.conf", text, sizeof(text) - 1,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:2: NUL byte in string");
	cfg_dispose(&cfg);
}
END_TEST

START_TEST(cfg_getters)
{
	static const char text[] =
	    "port = 8003\nbig = 99999999999999999999999\nstr = \"s\"\n"
	    "hex = 0x10\nbad = 80a\nver = 1.3\nlist = [ \"a\", \"b\" ]\n"
	    "words = \" x  y\tz \"\nmixed = [ \"a\", 2 ]\nzero = 010\n";
	struct cfg cfg;
	char err[256], *s = NULL, **l = NULL;
	size_t n = 99;
	long v = -5;

	ck_assert_int_eq(parse(text, &cfg, err, sizeof(err)), 0);

	ck_assert_int_eq(cfg_get_long(&cfg, "absent", 0, 1, &v, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(cfg_get_long(&cfg, "port", 1, 65535, &v, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(v, 8003);
	ck_assert_int_eq(cfg_get_long(&cfg, "port", 1, 8000, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:1: port: 8003 is out of range "
	    "(1..8000)");
	ck_assert_int_eq(cfg_get_long(&cfg, "big", 0, 10, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:2: big: 99999999999999999999999 is out "
	    "of range (0..10)");
	ck_assert_int_eq(cfg_get_long(&cfg, "hex", 0, 100, &v, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(v, 16);
	/* no silent octal */
	ck_assert_int_eq(cfg_get_long(&cfg, "zero", 0, 100, &v, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(cfg_get_long(&cfg, "bad", 0, 100, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:5: bad: '80a' is not a number");
	ck_assert_int_eq(cfg_get_long(&cfg, "ver", 0, 100, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:6: ver: '1.3' is not a number");
	ck_assert_int_eq(cfg_get_long(&cfg, "str", 0, 100, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:3: str: expected a number, got a string");
	ck_assert_int_eq(cfg_get_long(&cfg, "list", 0, 100, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:7: list: expected a number, got a list");

	ck_assert_int_eq(cfg_get_string(&cfg, "str", &s, err, sizeof(err)), 1);
	ck_assert_str_eq(s, "s");
	ck_assert_int_eq(cfg_get_string(&cfg, "port", &s, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "t.conf:1: port: expected a string, got a "
	    "number");
	ck_assert_str_eq(s, "s");	/* untouched on error */
	free(s);

	ck_assert_int_eq(cfg_get_strlist(&cfg, "list", &l, &n, err,
	    sizeof(err)), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(l[0], "a");
	ck_assert_str_eq(l[1], "b");
	ck_assert_ptr_null(l[2]);
	ck_assert_int_eq(cfg_get_strlist(&cfg, "words", &l, &n, err,
	    sizeof(err)), 1);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(l[0], "x");
	ck_assert_str_eq(l[1], "y");
	ck_assert_str_eq(l[2], "z");
	ck_assert_ptr_null(l[3]);
	ck_assert_int_eq(cfg_get_strlist(&cfg, "mixed", &l, &n, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:9: mixed: expected a list of strings, "
	    "item 2 is a number");
	ck_assert_int_eq(cfg_get_strlist(&cfg, "port", &l, &n, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:1: port: expected a list or a string, "
	    "got a number");
	ck_assert_str_eq(l[0], "x");	/* untouched on error */
	cfg_strlist_free(l);
	cfg_dispose(&cfg);
}
END_TEST

START_TEST(cfg_too_big)
{
	struct cfg cfg;
	char err[256], *big;
	size_t len = CFG_MAX_FILE + 1;

	big = malloc(len);
	ck_assert_ptr_nonnull(big);
	memset(big, '\n', len);
	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_buf(&cfg, "t.conf", big, len, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf: file too large (more than 1048576 "
	    "bytes)");
	cfg_dispose(&cfg);
	/* exactly the limit is fine */
	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_buf(&cfg, "t.conf", big, len - 1, err,
	    sizeof(err)), 0);
	cfg_dispose(&cfg);

	write_file("big.conf", big, len);
	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_file(&cfg, "big.conf", err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "big.conf: file too large (more than 1048576 "
	    "bytes)");
	cfg_dispose(&cfg);
	free(big);
}
END_TEST

START_TEST(cfg_many_settings)
{
	struct cfg cfg;
	char err[256], *buf, *p;
	size_t i, n = 50000;

	/* linear, not quadratic, in the number of settings */
	buf = malloc(n * 16 + 32);
	ck_assert_ptr_nonnull(buf);
	p = buf;
	for (i = 0; i < n; i++)
		p += sprintf(p, "k%zu = %zu\n", i, i);
	p += sprintf(p, "k%zu = 1\n", n / 2);
	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_buf(&cfg, "t.conf", buf, p - buf, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:50001: duplicate setting 'k25000' "
	    "(first set at line 25001)");
	ck_assert_uint_eq(cfg.nsettings, n);
	cfg_dispose(&cfg);
	free(buf);
}
END_TEST

START_TEST(cfg_file_errors)
{
	struct cfg cfg;
	char err[256];

	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_file(&cfg, "missing.conf", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "missing.conf: cannot open: No such file or "
	    "directory");
	cfg_dispose(&cfg);
	ck_assert_int_eq(mkdir("adir", 0755), 0);
	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_file(&cfg, "adir", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "adir: cannot read: Is a directory");
	cfg_dispose(&cfg);
	rmdir("adir");
	write_file("ok.conf", "a = 1\n", 6);
	cfg_init(&cfg);
	ck_assert_int_eq(cfg_parse_file(&cfg, "ok.conf", err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.file, "ok.conf");
	cfg_dispose(&cfg);
}
END_TEST

START_TEST(cfg_suggestions)
{
	static const char *const known[] = {
		"relocation_port", "relocation_address", "backend",
	};

	ck_assert_str_eq(cfg_suggest("relocaton_port", known, 3),
	    "relocation_port");
	ck_assert_str_eq(cfg_suggest("relocation_prot", known, 3),
	    "relocation_port");	/* transposition */
	ck_assert_str_eq(cfg_suggest("backnd", known, 3), "backend");
	ck_assert_ptr_null(cfg_suggest("BACKEND", known, 3));
	ck_assert_ptr_null(cfg_suggest("frontend", known, 3));
	ck_assert_ptr_null(cfg_suggest("", known, 3));
}
END_TEST

/* --- relocd.conf --- */

START_TEST(conf_defaults)
{
	struct relocd_conf c;

	conf_init(&c);
	ck_assert_str_eq(c.relocation_address, "");
	ck_assert_int_eq(c.relocation_port, 8003);
	ck_assert_ptr_nonnull(c.hosts_allow);
	ck_assert_ptr_null(c.hosts_allow[0]);
	ck_assert_uint_eq(c.nhosts_allow, 0);
	ck_assert_ptr_nonnull(c.allow);
	ck_assert_uint_eq(allow_count(c.allow), 0);
	ck_assert_str_eq(c.tls_ca_file, "/etc/xen/relocd/ca.pem");
	ck_assert_str_eq(c.tls_cert_file, "/etc/xen/relocd/host.pem");
	ck_assert_str_eq(c.tls_key_file, "/etc/xen/relocd/host.key");
	ck_assert_str_eq(c.tls_crl_file, "");
	ck_assert_int_eq(c.tls_min_version, 13);
	ck_assert_str_eq(c.control_socket, "/run/relocd/control.sock");
	ck_assert_str_eq(c.state_dir, "/var/lib/relocd");
	ck_assert_int_eq(c.backend, BACKEND_LIBXL);
	ck_assert_int_eq(c.max_migrations, 4);
	ck_assert_int_eq(c.accept_migrations, 1);
	ck_assert_int_eq(c.max_domains, 0);
	ck_assert_int_eq(c.handshake_timeout, 10);
	ck_assert_int_eq(c.io_timeout, 30);
	ck_assert_ptr_null(c.incoming_disk_paths[0]);
	ck_assert_ptr_null(c.incoming_bridges[0]);
	ck_assert_int_eq(c.incoming_allow_bootloader, 0);
	ck_assert_int_eq(c.incoming_allow_device_model, 0);
	ck_assert_int_eq(c.incoming_max_memory_mb, 0);
	ck_assert_int_eq(c.incoming_max_vcpus, 0);
	ck_assert_int_eq(c.sim_memory_mb, 8192);
	ck_assert_str_eq(c.sim_arch, "x86_64");
	ck_assert_str_eq(c.sim_hostname, "");
	ck_assert_ptr_null(c.sim_bridges[0]);
	ck_assert_int_eq(c.sim_cap_shadow, 1);
	ck_assert_int_eq(c.line_tls_ca_file, 0);
	conf_dispose(&c);
	conf_dispose(&c);	/* idempotent */
}
END_TEST

START_TEST(conf_good_full)
{
	static const char text[] =
	    "# every key\n"
	    "relocation_address = \"127.0.0.2\"\n"
	    "relocation_port = 9003\n"
	    "relocation_hosts_allow = [ \"127.0.0.0/8\",\n"
	    "    \"hostb.example.org\",\n"
	    "    \"*.example.net\", '^host[ab]\\\\.example\\\\.com$', ]\n"
	    "tls_ca_file = \"pki/ca.pem\"\n"
	    "tls_cert_file = \"./pki/host.pem\"\n"
	    "tls_key_file = \"/abs/host.key\"\n"
	    "tls_crl_file = \"crl.pem\"\n"
	    "tls_min_version = 1.2\n"
	    "control_socket = \"run/control.sock\"\n"
	    "state_dir = \"state\"\n"
	    "backend = \"sim\"\n"
	    "max_migrations = 64; accept_migrations = 0; max_domains = 10\n"
	    "handshake_timeout = 300\n"
	    "io_timeout = 1\n"
	    "incoming_disk_paths = [ \"/srv/vm\", \"images\" ]\n"
	    "incoming_bridges = [ \"xenbr0\", \"xenbr1\" ]\n"
	    "incoming_allow_bootloader = 1\n"
	    "incoming_allow_device_model = 1\n"
	    "incoming_max_memory_mb = 4096\n"
	    "incoming_max_vcpus = 8\n"
	    "sim_memory_mb = 2048\n"
	    "sim_arch = \"aarch64\"\n"
	    "sim_hostname = \"hosta\"\n"
	    "sim_bridges = [ \"xenbr0\" ]\n"
	    "sim_cap_shadow = 0\n";
	struct relocd_conf c;
	char err[256], path[PATH_MAX + 64];

	ck_assert_int_eq(load(text, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.path, "relocd.conf");
	ck_assert_str_eq(c.relocation_address, "127.0.0.2");
	ck_assert_int_eq(c.line_relocation_address, 2);
	ck_assert_int_eq(c.relocation_port, 9003);
	ck_assert_uint_eq(c.nhosts_allow, 4);
	ck_assert_str_eq(c.hosts_allow[3], "^host[ab]\\.example\\.com$");
	ck_assert_ptr_null(c.hosts_allow[4]);
	ck_assert_uint_eq(allow_count(c.allow), 4);

	/* relative to the file's directory, made absolute */
	snprintf(path, sizeof(path), "%s/pki/ca.pem", tmpdir);
	ck_assert_str_eq(c.tls_ca_file, path);
	ck_assert_int_eq(c.line_tls_ca_file, 7);
	snprintf(path, sizeof(path), "%s/pki/host.pem", tmpdir);
	ck_assert_str_eq(c.tls_cert_file, path);
	ck_assert_int_eq(c.line_tls_cert_file, 8);
	ck_assert_str_eq(c.tls_key_file, "/abs/host.key");
	ck_assert_int_eq(c.line_tls_key_file, 9);
	snprintf(path, sizeof(path), "%s/crl.pem", tmpdir);
	ck_assert_str_eq(c.tls_crl_file, path);
	ck_assert_int_eq(c.line_tls_crl_file, 10);
	ck_assert_int_eq(c.tls_min_version, 12);
	snprintf(path, sizeof(path), "%s/run/control.sock", tmpdir);
	ck_assert_str_eq(c.control_socket, path);
	ck_assert_int_eq(c.line_control_socket, 12);
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	ck_assert_str_eq(c.state_dir, path);
	ck_assert_int_eq(c.line_state_dir, 13);
	ck_assert_int_eq(c.backend, BACKEND_SIM);
	ck_assert_int_eq(c.max_migrations, 64);
	ck_assert_int_eq(c.accept_migrations, 0);
	ck_assert_int_eq(c.max_domains, 10);
	ck_assert_int_eq(c.handshake_timeout, 300);
	ck_assert_int_eq(c.io_timeout, 1);
	ck_assert_str_eq(c.incoming_disk_paths[0], "/srv/vm");
	snprintf(path, sizeof(path), "%s/images", tmpdir);
	ck_assert_str_eq(c.incoming_disk_paths[1], path);
	ck_assert_ptr_null(c.incoming_disk_paths[2]);
	ck_assert_str_eq(c.incoming_bridges[1], "xenbr1");
	ck_assert_int_eq(c.incoming_allow_bootloader, 1);
	ck_assert_int_eq(c.incoming_allow_device_model, 1);
	ck_assert_int_eq(c.incoming_max_memory_mb, 4096);
	ck_assert_int_eq(c.incoming_max_vcpus, 8);
	ck_assert_int_eq(c.sim_memory_mb, 2048);
	ck_assert_str_eq(c.sim_arch, "aarch64");
	ck_assert_str_eq(c.sim_hostname, "hosta");
	ck_assert_str_eq(c.sim_bridges[0], "xenbr0");
	ck_assert_int_eq(c.sim_cap_shadow, 0);
	conf_dispose(&c);
}
END_TEST

START_TEST(conf_allow_string_form)
{
	struct relocd_conf c;
	char err[256];
	char *names[] = { "hosta.example.org" };

	/* xend's style: one string of space-separated entries */
	ck_assert_int_eq(load("relocation_hosts_allow = '^localhost$ "
	    "hosta.example.org  10.0.0.0/8'\n", &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.nhosts_allow, 3);
	ck_assert_str_eq(c.hosts_allow[0], "^localhost$");
	ck_assert_str_eq(c.hosts_allow[2], "10.0.0.0/8");
	ck_assert_int_eq(allow_match_names(c.allow, names, 1), 1);
	conf_dispose(&c);
}
END_TEST

static const struct {
	const char	*text;
	const char	*msg;
} conf_bad[] = {
	{ "backend = \"sim\"\nrelocaton_port = 8003\n",
	    "relocd.conf:2: unknown setting 'relocaton_port' (did you mean "
	    "'relocation_port'?)" },
	{ "tls_cafile = \"x\"\n", "relocd.conf:1: unknown setting "
	    "'tls_cafile' (did you mean 'tls_ca_file'?)" },
	{ "colour = 1\n", "relocd.conf:1: unknown setting 'colour'" },
	{ "relocation_port = \"8003\"\n", "relocd.conf:1: relocation_port: "
	    "expected a number, got a string" },
	{ "relocation_port = [ 8003 ]\n", "relocd.conf:1: relocation_port: "
	    "expected a number, got a list" },
	{ "tls_ca_file = 3\n", "relocd.conf:1: tls_ca_file: expected a "
	    "string, got a number" },
	{ "relocation_hosts_allow = 3\n", "relocd.conf:1: "
	    "relocation_hosts_allow: expected a list or a string, got a "
	    "number" },
	{ "incoming_bridges = [ \"a\", 3 ]\n", "relocd.conf:1: "
	    "incoming_bridges: expected a list of strings, item 2 is a "
	    "number" },
	{ "\n\nrelocation_port = 70000\n", "relocd.conf:3: relocation_port: "
	    "70000 is out of range (1..65535)" },
	{ "relocation_port = 0\n", "relocd.conf:1: relocation_port: 0 is out "
	    "of range (1..65535)" },
	{ "max_migrations = 0\n", "relocd.conf:1: max_migrations: 0 is out of "
	    "range (1..64)" },
	{ "max_migrations = 65\n", "relocd.conf:1: max_migrations: 65 is out "
	    "of range (1..64)" },
	{ "accept_migrations = 2\n", "relocd.conf:1: accept_migrations: 2 is "
	    "out of range (0..1)" },
	{ "handshake_timeout = 301\n", "relocd.conf:1: handshake_timeout: 301 "
	    "is out of range (1..300)" },
	{ "io_timeout = 3601\n", "relocd.conf:1: io_timeout: 3601 is out of "
	    "range (1..3600)" },
	{ "tls_min_version = \"1.1\"\n", "relocd.conf:1: tls_min_version: "
	    "\"1.1\" is not allowed: use \"1.2\" or \"1.3\" (1.2 is the "
	    "floor)" },
	{ "tls_min_version = 1.0\n", "relocd.conf:1: tls_min_version: "
	    "\"1.0\" is not allowed: use \"1.2\" or \"1.3\" (1.2 is the "
	    "floor)" },
	{ "tls_min_version = [ ]\n", "relocd.conf:1: tls_min_version: "
	    "expected a string, got a list" },
	{ "backend = \"xen\"\n", "relocd.conf:1: backend: unknown backend "
	    "'xen' (use \"libxl\" or \"sim\")" },
	/* a newline from an escape never splits the message */
	{ "backend = \"x\\ny\"\n", "relocd.conf:1: backend: unknown backend "
	    "'x?y' (use \"libxl\" or \"sim\")" },
	{ "relocation_hosts_allow = [\n  \"10.0.0.0/8\",\n  \"10.0.0.1/8\",\n"
	    "]\n", "relocd.conf:3: relocation_hosts_allow: 10.0.0.1/8: host "
	    "bits set (did you mean 10.0.0.0/8?)" },
	{ "relocation_hosts_allow = \"a.example.org *foo\"\n",
	    "relocd.conf:1: relocation_hosts_allow: *foo: a glob is '*.' "
	    "followed by a domain, e.g. *.example.org" },
	{ "relocation_hosts_allow = [ \"^host(\" ]\n", "relocd.conf:1: "
	    "relocation_hosts_allow: ^host(: invalid regular expression: "
	    "unbalanced parentheses" },
	{ "relocation_port = 8003\nrelocation_port = 8004\n",
	    "relocd.conf:2: duplicate setting 'relocation_port' (first set at "
	    "line 1)" },
	{ "state_dir = \"/x\"\nbackend = sim\n", "relocd.conf:2: expected a "
	    "value for 'backend', got 'sim' (strings need quotes)" },
};

START_TEST(conf_bad_values)
{
	struct relocd_conf c;
	char err[256];

	ck_assert_int_eq(load(conf_bad[_i].text, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, conf_bad[_i].msg);
	/* a failed load leaves the struct as it was: the defaults */
	ck_assert_int_eq(c.relocation_port, 8003);
	ck_assert_ptr_null(c.path);
	conf_dispose(&c);
}
END_TEST

START_TEST(conf_missing_file)
{
	struct relocd_conf c;
	char err[256];

	conf_init(&c);
	ck_assert_int_eq(conf_load(&c, "nonexistent.conf", err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "nonexistent.conf: cannot open: No such file or "
	    "directory");
	conf_dispose(&c);
}
END_TEST

START_TEST(conf_env_and_default)
{
	struct relocd_conf c;
	char err[256];

	unsetenv("XMIG_CONFIG");
	ck_assert_str_eq(conf_default_path(), CONF_DEFAULT_FILE);
	ck_assert_str_eq(conf_default_path(), "/etc/xen/relocd.conf");
	setenv("XMIG_CONFIG", "", 1);
	ck_assert_str_eq(conf_default_path(), CONF_DEFAULT_FILE);

	write_file("other.conf", "relocation_port = 9999\n", 23);
	setenv("XMIG_CONFIG", "other.conf", 1);
	ck_assert_str_eq(conf_default_path(), "other.conf");
	conf_init(&c);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(c.relocation_port, 9999);
	ck_assert_str_eq(c.path, "other.conf");
	conf_dispose(&c);

	setenv("XMIG_CONFIG", "gone.conf", 1);
	conf_init(&c);
	ck_assert_int_eq(conf_load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "gone.conf: cannot open: No such file or "
	    "directory");
	conf_dispose(&c);
}
END_TEST

START_TEST(conf_reload_replaces)
{
	struct relocd_conf c;
	char err[256];

	ck_assert_int_eq(load("relocation_port = 9000\nrelocation_hosts_allow "
	    "= [ \"10.0.0.0/8\" ]\n", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.relocation_port, 9000);
	ck_assert_uint_eq(allow_count(c.allow), 1);
	/* a good reload replaces everything, leaking nothing */
	write_file("relocd.conf", "io_timeout = 5\n", 15);
	ck_assert_int_eq(conf_load(&c, "relocd.conf", err, sizeof(err)), 0);
	ck_assert_int_eq(c.relocation_port, 8003);
	ck_assert_int_eq(c.io_timeout, 5);
	ck_assert_uint_eq(allow_count(c.allow), 0);
	/* a bad one changes nothing */
	write_file("relocd.conf", "io_timeout = 0\n", 15);
	ck_assert_int_eq(conf_load(&c, "relocd.conf", err, sizeof(err)), -1);
	ck_assert_int_eq(c.io_timeout, 5);
	conf_dispose(&c);
}
END_TEST

START_TEST(conf_dir_of_file)
{
	struct relocd_conf c;
	char err[256], path[PATH_MAX + 64];

	/* a file given with a directory: paths relative to that one */
	ck_assert_int_eq(mkdir("sub", 0755), 0);
	write_file("sub/h.conf", "state_dir = \"st\"\ntls_ca_file = \"\"\n",
	    33);
	conf_init(&c);
	ck_assert_int_eq(conf_load(&c, "sub/h.conf", err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/sub/st", tmpdir);
	ck_assert_str_eq(c.state_dir, path);
	ck_assert_str_eq(c.tls_ca_file, "");
	conf_dispose(&c);
	unlink("sub/h.conf");
	rmdir("sub");
}
END_TEST

/* LVM's names (incoming_volume_group, the LVs made there), and which
 * paths are LVs of that VG for the incoming policy. */
START_TEST(conf_lvm_names)
{
	char longname[CONF_LVM_NAME_MAX + 2];

	ck_assert(conf_lvm_name_ok("vg0"));
	ck_assert(conf_lvm_name_ok("web-disk_1.img+x"));
	ck_assert(!conf_lvm_name_ok(""));
	ck_assert(!conf_lvm_name_ok("-vg"));
	ck_assert(!conf_lvm_name_ok("."));
	ck_assert(!conf_lvm_name_ok(".."));
	ck_assert(!conf_lvm_name_ok("a/b"));
	ck_assert(!conf_lvm_name_ok("a b"));
	ck_assert(!conf_lvm_name_ok("dísk"));
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(!conf_lvm_name_ok(longname));
	longname[CONF_LVM_NAME_MAX] = '\0';
	ck_assert(conf_lvm_name_ok(longname));

	ck_assert(domcfg_vg_path("/dev/vg0/web", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/vg0/web", ""));
	ck_assert(!domcfg_vg_path("/dev/vg0/web", NULL));
	ck_assert(!domcfg_vg_path("/dev/vg0", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/vg0/", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/vg0/..", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/vg0/a/b", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/vg01/web", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/vg/web", "vg0"));
	ck_assert(!domcfg_vg_path("/dev/sda", "vg0"));
}
END_TEST

/* --- golden files: tests/conf/{good,bad} --- */

static const char *
conf_test_dir(void)
{
	const char *d = getenv("CONF_TEST_DIR");

	return d != NULL && d[0] != '\0' ? d : CONF_TEST_DIR;
}

/*
 * Every X.conf in DIR; for bad ones, X.expected holds the one-line
 * error.  Loaded from inside DIR so the expected text does not depend on
 * where the tree is.
 */
static void
golden_dir(const char *sub, int bad)
{
	struct relocd_conf c;
	struct dirent **ents;
	char dir[PATH_MAX], cwd[PATH_MAX], err[512], exp[512];
	char name[NAME_MAX + 16];
	FILE *f;
	size_t len;
	int i, n, checked = 0;

	snprintf(dir, sizeof(dir), "%s/%s", conf_test_dir(), sub);
	n = scandir(dir, &ents, NULL, alphasort);
	ck_assert_msg(n >= 0, "%s: %s (run from the repository root or set "
	    "CONF_TEST_DIR)", dir, strerror(errno));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	for (i = 0; i < n; i++) {
		len = strlen(ents[i]->d_name);
		if (len < 6 || strcmp(ents[i]->d_name + len - 5, ".conf") != 0)
			continue;
		conf_init(&c);
		err[0] = '\0';
		if (!bad) {
			ck_assert_msg(conf_load(&c, ents[i]->d_name, err,
			    sizeof(err)) == 0, "%s/%s: %s", dir,
			    ents[i]->d_name, err);
		} else {
			ck_assert_msg(conf_load(&c, ents[i]->d_name, err,
			    sizeof(err)) == -1, "%s/%s loaded", dir,
			    ents[i]->d_name);
			snprintf(name, sizeof(name), "%.*s.expected",
			    (int)(len - 5), ents[i]->d_name);
			f = fopen(name, "r");
			ck_assert_msg(f != NULL, "%s/%s: %s", dir, name,
			    strerror(errno));
			if (fgets(exp, sizeof(exp), f) == NULL)
				exp[0] = '\0';
			fclose(f);
			exp[strcspn(exp, "\n")] = '\0';
			ck_assert_msg(strcmp(err, exp) == 0,
			    "%s/%s:\n  got      %s\n  expected %s", dir,
			    ents[i]->d_name, err, exp);
		}
		conf_dispose(&c);
		checked++;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_msg(checked > 0, "no .conf files in %s", dir);
}

START_TEST(conf_golden_good)
{
	golden_dir("good", 0);
}
END_TEST

START_TEST(conf_golden_bad)
{
	golden_dir("bad", 1);
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("cfg");

	tc = tcase_create("reader");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, cfg_good_all_kinds);
	tcase_add_test(tc, cfg_good_empty);
	tcase_add_loop_test(tc, cfg_bad_syntax, 0,
	    sizeof(cfg_bad) / sizeof(cfg_bad[0]));
	tcase_add_test(tc, cfg_nul_in_file);
	tcase_add_test(tc, cfg_getters);
	tcase_add_test(tc, cfg_too_big);
	tcase_add_test(tc, cfg_many_settings);
	tcase_add_test(tc, cfg_file_errors);
	tcase_add_test(tc, cfg_suggestions);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, conf_defaults);
	tcase_add_test(tc, conf_good_full);
	tcase_add_test(tc, conf_allow_string_form);
	tcase_add_loop_test(tc, conf_bad_values, 0,
	    sizeof(conf_bad) / sizeof(conf_bad[0]));
	tcase_add_test(tc, conf_missing_file);
	tcase_add_test(tc, conf_env_and_default);
	tcase_add_test(tc, conf_reload_replaces);
	tcase_add_test(tc, conf_dir_of_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("golden");
	tcase_add_test(tc, conf_lvm_names);
	tcase_add_test(tc, conf_golden_good);
	tcase_add_test(tc, conf_golden_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(cfg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
