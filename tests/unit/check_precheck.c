/*
 * The destination's pre-flight (common/precheck.c): each check passes on
 * a host that has what the domain needs, and fails, naming the reason,
 * on one that lacks it; the failures come back with the code a
 * migration is refused with.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "conf.h"
#include "domcfg.h"
#include "precheck.h"

static char *host_bridges[] = { "xenbr0", NULL };
static char *allowed_bridges[] = { "xenbr0", "xenbr1", NULL };
static char *disk_paths[] = { "/srv/xen/", NULL };
static char *features[] = { "sse4_2", "avx2", NULL };
static char *src_features[] = { "sse4_2", "avx2", NULL };
static char *pci_free[] = { "0000:03:00.0", NULL };
static const struct precheck_dom doms[] = {
	{ "db1", "11111111-1111-1111-1111-111111111111", 2 },
};

static struct relocd_conf conf;
static struct precheck_host host;
static struct precheck_src src;
static struct json_object *paths;

static Suite	*precheck_suite(void);

static struct json_object *
config(const char *extra)
{
	struct json_object *out = NULL;
	struct cfg cfg;
	char text[2048], err[256];

	snprintf(text, sizeof(text), "name = \"web1\"\nmemory = 512\n"
	    "uuid = \"22222222-2222-2222-2222-222222222222\"\n%s\n", extra);
	cfg_init(&cfg);
	ck_assert_msg(cfg_parse_buf(&cfg, "web1.cfg", text, strlen(text), err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_msg(domcfg_from_cfg(&cfg, &out, err, sizeof(err)) == 0,
	    "%s", err);
	cfg_dispose(&cfg);
	return out;
}

static struct json_object *
stat_of(int exists, const char *kind, int writable, int inside)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "inside", json_object_new_boolean(inside));
	json_object_object_add(o, "exists", json_object_new_boolean(exists));
	if (kind != NULL)
		json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "writable",
	    json_object_new_boolean(writable));
	return o;
}

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.accept_migrations = 1;
	conf.incoming_disk_paths = disk_paths;
	conf.incoming_bridges = allowed_bridges;
	memset(&host, 0, sizeof(host));
	host.hostname = "xen2";
	host.arch = "x86_64";
	host.xen_version = "4.17.3";
	host.cap_pv = host.cap_hvm = host.cap_hap = 1;
	host.bridges = host_bridges;
	host.cpu_features = features;
	host.pci_free = pci_free;
	host.free_kb = 2048 * 1024;
	host.doms = doms;
	host.ndoms = 1;
	paths = json_object_new_object();
	json_object_object_add(paths, "/srv/xen/web1.img",
	    stat_of(1, "file", 1, 1));
	json_object_object_add(paths, "/srv/xen/ro.img",
	    stat_of(1, "block", 0, 1));
	json_object_object_add(paths, "/srv/xen/link.img",
	    stat_of(0, NULL, 0, 0));
	json_object_object_add(paths, "/srv/xen/dir",
	    stat_of(1, "directory", 1, 1));
	host.paths = paths;
	memset(&src, 0, sizeof(src));
	src.hostname = "xen1";
	src.arch = "x86_64";
	src.xen_version = "4.17.3";
	src.cpu_features = src_features;
}

static void
teardown(void)
{
	json_object_put(paths);
}

/* The status of check NAME in CHECKS, and its detail in *detail. */
static const char *
status_of(struct json_object *checks, const char *name, const char **detail)
{
	struct json_object *c, *v;
	size_t i;

	for (i = 0; i < json_object_array_length(checks); i++) {
		c = json_object_array_get_idx(checks, i);
		json_object_object_get_ex(c, "name", &v);
		if (strcmp(json_object_get_string(v), name) != 0)
			continue;
		json_object_object_get_ex(c, "detail", &v);
		if (detail != NULL)
			*detail = json_object_get_string(v);
		json_object_object_get_ex(c, "status", &v);
		return json_object_get_string(v);
	}
	return "absent";
}

/* Run the checks on EXTRA; expect check NAME to be STATUS with TEXT. */
static void
expect(const char *extra, int live, const char *name, const char *status,
    const char *text)
{
	struct json_object *cfg = config(extra), *checks;
	const char *st, *detail = "";
	char buf[2048];
	int fails;

	checks = json_object_new_array();
	fails = precheck_dest(&conf, &host, &src, cfg, live, checks);
	st = status_of(checks, name, &detail);
	ck_assert_msg(strcmp(st, status) == 0, "%s: %s, not %s (%s)", name, st,
	    status, detail);
	if (text != NULL)
		ck_assert_msg(strstr(detail, text) != NULL, "%s: '%s' lacks "
		    "'%s'", name, detail, text);
	if (strcmp(status, PRECHECK_FAIL) == 0) {
		ck_assert_int_gt(fails, 0);
		ck_assert_ptr_nonnull(precheck_failures(checks, buf,
		    sizeof(buf)));
		ck_assert_ptr_nonnull(strstr(buf, name));
	}
	json_object_put(checks);
	json_object_put(cfg);
}

START_TEST(all_pass)
{
	struct json_object *cfg, *checks, *hr;
	char buf[256];

	cfg = config("disk = [ \"/srv/xen/web1.img,raw,xvda,rw\" ]\n"
	    "vif = [ \"bridge=xenbr0\" ]");
	checks = json_object_new_array();
	ck_assert_int_eq(precheck_dest(&conf, &host, &src, cfg, 1, checks), 0);
	ck_assert_ptr_null(precheck_failures(checks, buf, sizeof(buf)));
	ck_assert_int_eq(json_object_array_length(checks), 12);
	hr = precheck_headroom(&conf, &host, cfg);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(hr,
	    "memory_mb")), 1536);
	json_object_put(hr);
	json_object_put(checks);
	json_object_put(cfg);
}
END_TEST

START_TEST(memory_and_reservations)
{
	expect("", 0, "memory", PRECHECK_PASS, "512 MiB needed");
	host.reserved_kb = 1600 * 1024;
	host.nreserved = 1;
	expect("", 0, "memory", PRECHECK_FAIL, "448 MiB free after what "
	    "migrations on their way in have reserved");
}
END_TEST

START_TEST(capacity_and_max_domains)
{
	conf.capacity = 3;
	expect("", 0, "capacity", PRECHECK_PASS, "weight 1 of 1 left");
	host.reserved_weight = 1;
	expect("", 0, "capacity", PRECHECK_FAIL, "has 0 of its capacity 3");
	conf.capacity = 0;
	conf.max_domains = 2;
	host.nreserved = 1;
	expect("", 0, "capacity", PRECHECK_FAIL, "(max_domains = 2)");
}
END_TEST

START_TEST(cpu_arch_version)
{
	static char *lacking[] = { "sse4_2", NULL };

	host.cpu_features = lacking;
	expect("", 0, "cpu-features", PRECHECK_FAIL, "xen2 lacks CPU features "
	    "the guest was started with: avx2");
	host.cpu_features = features;
	src.arch = "aarch64";
	expect("", 0, "arch", PRECHECK_FAIL, "cannot change architecture");
	src.arch = "x86_64";
	src.xen_version = "4.18.0";
	expect("", 0, "xen-version", PRECHECK_FAIL, "newer Xen 4.18.0");
	src.xen_version = "4.16.2";
	expect("", 0, "xen-version", PRECHECK_PASS, NULL);
	src.cpu_features = NULL;
	expect("", 0, "cpu-features", PRECHECK_WARN, NULL);
}
END_TEST

START_TEST(storage)
{
	expect("disk = [ \"/srv/xen/absent.img,raw,xvda,rw\" ]", 0, "storage",
	    PRECHECK_FAIL, "was not looked up");
	json_object_object_add(paths, "/srv/xen/absent.img",
	    stat_of(0, NULL, 0, 1));
	expect("disk = [ \"/srv/xen/absent.img,raw,xvda,rw\" ]", 0, "storage",
	    PRECHECK_FAIL, "does not exist on xen2");
	expect("disk = [ \"/srv/xen/absent.img,raw,hdc:cdrom,r\" ]", 0,
	    "storage", PRECHECK_FAIL, "(the CD-ROM image)");
	expect("disk = [ \"/etc/passwd,raw,xvda,rw\" ]", 0, "storage",
	    PRECHECK_FAIL, "not under incoming_disk_paths");
	expect("disk = [ \"/srv/xen/link.img,raw,xvda,rw\" ]", 0, "storage",
	    PRECHECK_FAIL, "resolves outside");
	expect("disk = [ \"/srv/xen/ro.img,raw,xvda,rw\" ]", 0, "storage",
	    PRECHECK_FAIL, "read-only on xen2");
	expect("disk = [ \"/srv/xen/ro.img,raw,xvda,r\" ]", 0, "storage",
	    PRECHECK_PASS, "1 disk");
	expect("disk = [ \"/srv/xen/dir,raw,xvda,rw\" ]", 0, "storage",
	    PRECHECK_FAIL, "is a directory");
}
END_TEST

START_TEST(network_passthrough_name)
{
	expect("vif = [ \"bridge=xenbr1\" ]", 0, "network", PRECHECK_FAIL,
	    "bridge xenbr1 does not exist on xen2");
	expect("vif = [ \"bridge=xenbr0\" ]", 0, "network", PRECHECK_PASS,
	    "xenbr0");
	expect("pci = [ \"0000:03:00.0\" ]", 1, "passthrough", PRECHECK_FAIL,
	    "xl pci-detach web1 0000:03:00.0");
	expect("pci = [ \"0000:03:00.0\" ]", 0, "passthrough", PRECHECK_PASS,
	    "free on xen2");
	expect("pci = [ \"0000:04:00.0\" ]", 0, "passthrough", PRECHECK_FAIL,
	    "not free to assign on xen2");
	host.maintenance = 1;
	expect("", 0, "maintenance", PRECHECK_FAIL, "xmig maintenance on");
}
END_TEST

START_TEST(failures_code)
{
	struct json_object *checks = json_object_new_array();
	char buf[512];

	precheck_add(checks, PRECHECK_PASS, "arch", "x86_64 on both");
	precheck_add(checks, PRECHECK_FAIL, "memory", "not enough");
	precheck_add(checks, PRECHECK_FAIL, "storage", "disk xvda: gone");
	ck_assert_str_eq(precheck_failures(checks, buf, sizeof(buf)), "nomem");
	ck_assert_str_eq(buf, "memory: not enough; storage: disk xvda: gone");
	json_object_put(checks);
	ck_assert_int_eq(precheck_version_ge("4.17.0", "4.17"), 1);
	ck_assert_int_eq(precheck_version_ge("4.9", "4.17"), 0);
	ck_assert_int_eq(precheck_version_ge("", "4.17"), -1);
}
END_TEST

static Suite *
precheck_suite(void)
{
	Suite *s = suite_create("precheck");
	TCase *tc = tcase_create("dest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, all_pass);
	tcase_add_test(tc, memory_and_reservations);
	tcase_add_test(tc, capacity_and_max_domains);
	tcase_add_test(tc, cpu_arch_version);
	tcase_add_test(tc, storage);
	tcase_add_test(tc, network_passthrough_name);
	tcase_add_test(tc, failures_code);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(precheck_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
