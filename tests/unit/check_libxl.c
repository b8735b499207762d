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
#include "progress.h"
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

START_TEST(progress_round)
{
	ck_assert_int_eq(libxlbe_progress_round("Frames iteration 0", 0), 1);
	ck_assert_int_eq(libxlbe_progress_round("Frames iteration 4", 2), 5);
	ck_assert_int_eq(libxlbe_progress_round("Frames", 0), 1);
	ck_assert_int_eq(libxlbe_progress_round("Frames", 1), 1);
	ck_assert_int_eq(libxlbe_progress_round("Checkpointed save", 1), 0);
	ck_assert_int_eq(libxlbe_progress_round("Frames iteration x", 1), 0);
}
END_TEST

/* What the helper does with each report (helper_send.c), recorded. */
struct prog_seen {
	struct progress	 model;
	int		 calls, round_calls[8];
	int		 last_pct[8];
	uint64_t	 round_pages[8];
	uint64_t	 now;
	int		 backwards;
};

static void
prog_record(const struct xo_progress *p, void *arg)
{
	struct prog_seen *ps = arg;
	int pct;

	progress_update(&ps->model, p->round, p->pages_total, p->pages_sent,
	    p->pages_dirty, p->bytes, p->paused, ps->now);
	ck_assert_int_lt(p->round, 8);
	pct = progress_percent(&ps->model, 0);
	if (ps->round_calls[p->round] > 0 && pct < ps->last_pct[p->round])
		ps->backwards = 1;
	ps->round_calls[p->round]++;
	ps->last_pct[p->round] = pct;
	ps->round_pages[p->round] = ps->model.round_pages;
	ps->calls++;
}

/* libxc's reports for a live save of a 128 MiB PVH guest: the first
 * round walks 0xff000 frame numbers (the special pages sit high), in
 * 4 MiB steps a millisecond apart; the guest dirties 600 pages during it
 * and 40 during the second; the third is after the suspend. */
START_TEST(progress_live)
{
	struct libxlbe_prog pr;
	struct prog_seen ps;
	unsigned long done, total = 0xff000;

	memset(&pr, 0, sizeof(pr));
	memset(&ps, 0, sizeof(ps));
	progress_init(&ps.model);
	pr.p.pages_total = 32768;
	ps.now = 1000000;
	for (done = 0; done < total; done += 1024, ps.now += 10000) {
		pr.bytes = done < 32768 ? done * 4096 : 32768ULL * 4096;
		libxlbe_progress_step(&pr, "Frames iteration 0", done, total,
		    ps.now, prog_record, &ps);
		/* All the memory sent, 6% of the frame numbers walked (a
		 * report since): the percent follows the memory. */
		if (done == 65536)
			ck_assert_int_ge(progress_percent(&ps.model, 0), 95);
	}
	libxlbe_progress_step(&pr, "Frames iteration 0", total, total,
	    ps.now, prog_record, &ps);
	ck_assert_int_eq(ps.last_pct[1], 100);
	/* About ten seconds of steps: throttled, not ~1000. */
	ck_assert_int_le(ps.round_calls[1], 1 + 10200 / (LIBXLBE_PROGRESS_US /
	    1000) + 2);
	ck_assert_int_ge(ps.round_calls[1], 3);
	ck_assert_uint_eq(ps.round_pages[1], 32768);

	ps.now += 1000;
	libxlbe_progress_step(&pr, "Frames iteration 1", 0, 600, ps.now,
	    prog_record, &ps);
	/* Round 1's end said it left 600 dirty: round 2's size. */
	ck_assert_uint_eq(ps.round_pages[2], 600);
	ck_assert_uint_eq(ps.model.dirty, 600);
	ck_assert_int_eq(ps.last_pct[2], 0);
	ps.now += 300000;
	libxlbe_progress_step(&pr, "Frames iteration 1", 300, 600, ps.now,
	    prog_record, &ps);
	ck_assert_int_eq(ps.last_pct[2], 50);
	/* Too soon after the last one: not passed on. */
	libxlbe_progress_step(&pr, "Frames iteration 1", 400, 600,
	    ps.now + 1000, prog_record, &ps);
	ck_assert_int_eq(ps.last_pct[2], 50);
	libxlbe_progress_step(&pr, "Frames iteration 1", 600, 600,
	    ps.now + 2000, prog_record, &ps);
	ck_assert_int_eq(ps.last_pct[2], 100);

	ps.now += 400000;
	/* libxl asked the guest to suspend before round 3's first step:
	 * round 2 ended running, round 3 is paused. */
	pr.paused = 1;
	pr.paused_at_us = ps.now - 1000;
	libxlbe_progress_step(&pr, "Frames iteration 2", 0, 40, ps.now,
	    prog_record, &ps);
	ck_assert_int_eq(ps.model.ended.round, 2);
	ck_assert_int_eq(ps.model.ended.paused, 0);
	ck_assert_uint_eq(ps.round_pages[3], 40);
	ck_assert_int_eq(ps.model.paused, 1);
	ck_assert_uint_eq(pr.p.paused_at_us, ps.now - 1000);
	libxlbe_progress_end(&pr);
	prog_record(&pr.p, &ps);
	ck_assert_int_eq(ps.last_pct[3], 100);
	ck_assert_int_eq(ps.backwards, 0);
	/* A dirty rate from round 1: 600 pages over about ten seconds. */
	ck_assert(ps.model.ended.round == 2 && ps.model.dirty_rate > 10 &&
	    ps.model.dirty_rate < 200);
}
END_TEST

/* Offline: "Frames", one round, the guest paused from the start. */
START_TEST(progress_offline)
{
	struct libxlbe_prog pr;
	struct prog_seen ps;
	unsigned long done;

	memset(&pr, 0, sizeof(pr));
	memset(&ps, 0, sizeof(ps));
	progress_init(&ps.model);
	pr.p.pages_total = 32768;
	pr.p.round = 1;
	pr.p.paused = pr.paused = 1;
	ps.now = 1000000;
	prog_record(&pr.p, &ps);
	for (done = 0; done <= 32768; done += 1024, ps.now += 50000)
		libxlbe_progress_step(&pr, "Frames", done, 32768, ps.now,
		    prog_record, &ps);
	ck_assert_int_eq(ps.round_calls[2], 0);
	ck_assert_int_eq(ps.last_pct[1], 100);
	ck_assert_int_ge(ps.round_calls[1], 5);
	ck_assert_int_eq(ps.backwards, 0);
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

	tc = tcase_create("progress");
	tcase_add_test(tc, progress_round);
	tcase_add_test(tc, progress_live);
	tcase_add_test(tc, progress_offline);
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
