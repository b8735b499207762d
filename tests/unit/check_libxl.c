/*
 * The libxl backend's pure parts, against the real libxenlight: config
 * JSON through libxl_domain_config_from_json/_to_json and back into the
 * shared domcfg model, the error mapping, the stream bound, and the
 * message when there is no Xen.
 *
 * libxl_ctx_alloc opens the hypervisor (libxc) and xenstore, which this
 * machine does not have.  The two openers are replaced below by ones that
 * hand back a token, so a real libxl ctx exists for libxl's JSON code;
 * nothing here calls into the hypervisor.  xen_present = 0 makes them fail
 * as they do on a host without Xen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>
#include <libxl.h>
#include <xenctrl.h>
#include <xenstore.h>

#include "conf.h"
#include "domcfg.h"
#include "xenops.h"
#include "xenops_impl.h"
#include "xenops_libxl.h"

static int xen_present = 1;
static char token[64];
static xentoollog_logger *quiet;

xc_interface *
xc_interface_open(xentoollog_logger *lg, xentoollog_logger *dlg,
    unsigned flags)
{
	if (!xen_present) {
		errno = ENOENT;
		return NULL;
	}
	return (xc_interface *)token;
}

int
xc_interface_close(xc_interface *xch)
{
	return 0;
}

struct xs_handle *
xs_open(unsigned long flags)
{
	if (!xen_present) {
		errno = ENOENT;
		return NULL;
	}
	return (struct xs_handle *)(token + 32);
}

void
xs_close(struct xs_handle *xsh)
{
}

/* What libxl_retrieve_domain_configuration gives for a small PV guest
 * created by xl (abridged from a Xen 4.17 dom0). */
static const char pv_config[] =
    "{\"c_info\":{\"type\":\"pv\",\"name\":\"hb\","
    "\"uuid\":\"6f0d6c3c-3c55-4a8e-9d3b-2a4b3c5d6e7f\","
    "\"run_hotplug_scripts\":\"True\"},"
    "\"b_info\":{\"max_vcpus\":1,\"avail_vcpus\":[0],"
    "\"max_memkb\":131072,\"target_memkb\":131072,"
    "\"shadow_memkb\":2048,\"sched_params\":{},"
    "\"type.pv\":{\"kernel\":\"/boot/vmlinuz\",\"cmdline\":\"console=hvc0\","
    "\"ramdisk\":\"/boot/guest.cpio\"},\"arch_arm\":{},\"arch_x86\":{}},"
    "\"disks\":[{\"backend_domid\":0,\"pdev_path\":\"/srv/hb.img\","
    "\"vdev\":\"xvda\",\"backend\":\"phy\",\"format\":\"raw\","
    "\"readwrite\":1}],"
    "\"nics\":[{\"backend_domid\":0,\"devid\":0,"
    "\"mac\":\"00:16:3e:12:34:56\",\"bridge\":\"xenbr0\"}],"
    "\"on_poweroff\":\"destroy\",\"on_reboot\":\"restart\","
    "\"on_watchdog\":\"destroy\",\"on_crash\":\"preserve\"}";

static libxl_ctx *
ctx_new(void)
{
	libxl_ctx *ctx = NULL;

	xen_present = 1;
	/* libxl logs its refusals; keep them off the test's output. */
	if (quiet == NULL)
		quiet = (xentoollog_logger *)xtl_createlogger_stdiostream(
		    stderr, XTL_NUM_LEVELS, 0);
	ck_assert_ptr_nonnull(quiet);
	ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, quiet), 0);
	ck_assert_ptr_nonnull(ctx);
	return ctx;
}

static const char *
jget(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

START_TEST(config_round_trip)
{
	libxl_ctx *ctx = ctx_new();
	libxl_domain_config dc;
	struct json_object *in, *out = NULL, *again = NULL;
	struct domcfg_info a, b;
	char err[512];

	in = json_tokener_parse(pv_config);
	ck_assert_ptr_nonnull(in);
	libxl_domain_config_init(&dc);
	ck_assert_int_eq(libxlbe_config_from_json(ctx, in, &dc, err,
	    sizeof(err)), 0);
	/* libxl read what relocd's policy reads. */
	ck_assert_str_eq(dc.c_info.name, "hb");
	ck_assert_int_eq(dc.c_info.type, LIBXL_DOMAIN_TYPE_PV);
	ck_assert_uint_eq(dc.b_info.max_memkb, 131072);
	ck_assert_int_eq(dc.num_disks, 1);
	ck_assert_str_eq(dc.disks[0].pdev_path, "/srv/hb.img");
	ck_assert_int_eq(dc.num_nics, 1);
	ck_assert_str_eq(dc.nics[0].bridge, "xenbr0");
	ck_assert_int_eq(dc.on_reboot, LIBXL_ACTION_ON_SHUTDOWN_RESTART);
	ck_assert_int_eq(dc.on_crash, LIBXL_ACTION_ON_SHUTDOWN_PRESERVE);
	ck_assert_int_eq(libxlbe_config_to_json(ctx, &dc, &out, err,
	    sizeof(err)), 0);
	libxl_domain_config_dispose(&dc);

	/* The same domain through the shared model on both sides. */
	ck_assert_int_eq(domcfg_info(in, &a, err, sizeof(err)), 0);
	ck_assert_msg(domcfg_info(out, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(a.name, b.name);
	ck_assert_str_eq(a.uuid, b.uuid);
	ck_assert_uint_eq(a.memory_kb, b.memory_kb);
	ck_assert_str_eq(a.type, b.type);
	ck_assert_str_eq(jget(out, "on_reboot", NULL), "restart");
	ck_assert_str_eq(jget(out, "on_crash", NULL), "preserve");

	/* And a second trip changes nothing. */
	libxl_domain_config_init(&dc);
	ck_assert_int_eq(libxlbe_config_from_json(ctx, out, &dc, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(libxlbe_config_to_json(ctx, &dc, &again, err,
	    sizeof(err)), 0);
	ck_assert(json_object_equal(out, again));
	libxl_domain_config_dispose(&dc);
	json_object_put(in);
	json_object_put(out);
	json_object_put(again);
	libxl_ctx_free(ctx);
}
END_TEST

static const char *bad_configs[] = {
	"{\"c_info\":{\"type\":\"nonsense\",\"name\":\"x\"}}",
	"{\"c_info\":{\"uuid\":\"not-a-uuid\"}}",
	"{\"nics\":[{\"mac\":\"zz:zz\"}]}",
	"{\"on_reboot\":\"explode\"}",
};

START_TEST(config_refused)
{
	libxl_ctx *ctx = ctx_new();
	libxl_domain_config dc;
	struct json_object *in;
	char err[512] = "";

	in = json_tokener_parse(bad_configs[_i]);
	ck_assert_ptr_nonnull(in);
	libxl_domain_config_init(&dc);
	ck_assert_int_eq(libxlbe_config_from_json(ctx, in, &dc, err,
	    sizeof(err)), XO_E_FAIL);
	ck_assert_msg(strstr(err, "libxl does not accept the domain config")
	    != NULL, "message: %s", err);
	libxl_domain_config_dispose(&dc);
	json_object_put(in);
	libxl_ctx_free(ctx);
}
END_TEST

static const struct {
	int	libxl;
	int	xo;
} errmap[] = {
	{ 0,				0 },
	{ ERROR_DOMAIN_NOTFOUND,	XO_E_NOTFOUND },
	{ ERROR_NOTFOUND,		XO_E_NOTFOUND },
	{ ERROR_NOMEM,			XO_E_NOMEM },
	{ ERROR_DEVICE_EXISTS,		XO_E_EXISTS },
	{ ERROR_NI,			XO_E_NOTSUP },
	{ ERROR_NOPARAVIRT,		XO_E_NOTSUP },
	{ ERROR_FEATURE_REMOVED,	XO_E_NOTSUP },
	{ ERROR_GUEST_TIMEDOUT,		XO_E_STATE },
	{ ERROR_DOMAIN_DESTROYED,	XO_E_STATE },
	{ ERROR_FAIL,			XO_E_FAIL },
	{ ERROR_INVAL,			XO_E_FAIL },
	{ ERROR_BADFAIL,		XO_E_FAIL },
	{ ERROR_ABORTED,		XO_E_FAIL },
	{ -999,				XO_E_FAIL },
};

START_TEST(error_map)
{
	ck_assert_int_eq(libxlbe_error_map(errmap[_i].libxl), errmap[_i].xo);
}
END_TEST

START_TEST(stream_limit)
{
	unsigned long long l128 = libxlbe_stream_limit(128 * 1024);

	/* Room for libxc's five pre-copy passes and the last round ... */
	ck_assert(l128 >= 6ULL * 128 * 1024 * 1024);
	/* ... but not unbounded, and growing with the guest. */
	ck_assert(l128 < 2ULL * 1024 * 1024 * 1024);
	ck_assert(libxlbe_stream_limit(256 * 1024) > l128);
}
END_TEST

/* The backend's own open, as xo_open calls it once it has loaded the
 * module (here the backend is linked in; xo_open would look for
 * relocd-libxl.so, which t_backend_module.sh checks). */
START_TEST(open_without_xen)
{
	struct relocd_conf conf;
	struct xo_ctx xo;

	memset(&conf, 0, sizeof(conf));
	memset(&xo, 0, sizeof(xo));
	conf.backend = BACKEND_LIBXL;
	xo.be = &xo_backend_libxl;
	xen_present = 0;
	ck_assert_int_ne(xo_backend_libxl.open(&xo, &conf), 0);
	ck_assert_ptr_null(xo.priv);
	ck_assert_msg(strncmp(xo.err, "cannot talk to Xen", 18) == 0 &&
	    strstr(xo.err, "dom0") != NULL, "message: %s", xo.err);
}
END_TEST

static Suite *
libxl_suite(void)
{
	Suite *s = suite_create("libxl");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_test(tc, config_round_trip);
	tcase_add_loop_test(tc, config_refused, 0,
	    sizeof(bad_configs) / sizeof(bad_configs[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, error_map, 0,
	    sizeof(errmap) / sizeof(errmap[0]));
	tcase_add_test(tc, stream_limit);
	tcase_add_test(tc, open_without_xen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(libxl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
