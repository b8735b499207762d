/*
 * The progress model (common/progress.c) that xmig migrate and xmig jobs
 * show: a round's percent, the rate, the dirty rate and the ETA, from
 * figures that arrive at the moments the backend chooses.
 */
#include <check.h>
#include <stdlib.h>

#include "progress.h"

#define MIB	(1024ULL * 1024)
#define PAGES(mib) ((mib) * MIB / PROGRESS_PAGE)

static Suite	*progress_suite(void);

/* A stream that starts with a slow second (headers, libxc mapping the
 * guest) must not show an ETA of hours; after it, the ETA is what is
 * left at the rate. */
START_TEST(eta_waits_for_a_rate)
{
	struct progress p;
	uint64_t now = 5000000, bytes = 0, t;

	progress_init(&p);
	progress_update(&p, 1, PAGES(128), 0, 0, 0, 0, now);
	ck_assert_int_eq(progress_eta(&p), -1);
	/* 100 ms: 4 KiB of headers. */
	now += 100000;
	progress_update(&p, 1, PAGES(128), 0, 0, 4096, 0, now);
	ck_assert_int_eq(progress_eta(&p), -1);
	/* Then 8 MiB/s, in 100 ms steps, for a second and a half. */
	for (t = 0; t < 15; t++) {
		now += 100000;
		bytes += 8 * MIB / 10;
		progress_update(&p, 1, PAGES(128), bytes / PROGRESS_PAGE, 0,
		    bytes, 0, now);
		if (now - 5000000 < PROGRESS_ETA_AFTER_US)
			ck_assert_int_eq(progress_eta(&p), -1);
	}
	/* 12 MiB of 128 sent: 116 MiB left at about 8 MiB/s. */
	ck_assert_int_ge(progress_eta(&p), 12);
	ck_assert_int_le(progress_eta(&p), 20);
	ck_assert_int_eq(progress_percent(&p, 0), 9);
	ck_assert_int_eq(progress_percent(&p, 1), 100);
}
END_TEST

/* Round 2 sends what round 1 left dirty; the dirty rate is that over
 * round 1's time; a paused round has no dirty rate in the ETA. */
START_TEST(rounds_and_dirty_rate)
{
	struct progress p;
	uint64_t now = 1000000;

	progress_init(&p);
	ck_assert_int_eq(progress_update(&p, 1, PAGES(64), 0, 0, 0, 0, now), 1);
	now += 2000000;
	ck_assert_int_eq(progress_update(&p, 1, PAGES(64), PAGES(64), 1000,
	    64 * MIB, 0, now), 0);
	ck_assert_int_eq(progress_update(&p, 2, PAGES(64), 0, 1000, 64 * MIB,
	    0, now), 1);
	ck_assert_uint_eq(p.round_pages, 1000);
	ck_assert(p.dirty_rate > 499 && p.dirty_rate < 501);
	ck_assert_int_eq(p.ended.round, 1);
	ck_assert_int_eq(progress_percent(&p, 0), 0);
	now += 500000;
	progress_update(&p, 3, PAGES(64), 0, 20, 64 * MIB + 4096000, 1, now);
	ck_assert_int_eq(p.paused, 1);
	ck_assert_uint_eq(p.round_pages, 1000);
	ck_assert_int_eq(p.ended.round, 2);
	ck_assert_int_eq(p.ended.paused, 0);
}
END_TEST

static Suite *
progress_suite(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, eta_waits_for_a_rate);
	tcase_add_test(tc, rounds_and_dirty_rate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(progress_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
