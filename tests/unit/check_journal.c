/*
 * The migration journal: durable records, the worker's lock as the sign
 * of life, final phases, pruning, junk in the directory, write failures.
 * journal.c lives with relocd, not in a library: it is compiled in here.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../relocd/journal.c"
#include "proto.h"

static char	tmpdir[256];
static struct relocd_conf conf;

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&conf, 0, sizeof(conf));
	conf.state_dir = tmpdir;
}

static void
teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct json_object *
list_all(void)
{
	struct json_object *arr = NULL;
	char dir[512], err[256];

	snprintf(dir, sizeof(dir), "%s/journal", tmpdir);
	ck_assert_int_eq(journal_list(dir, &arr, err, sizeof(err)), 0);
	return arr;
}

START_TEST(test_begin_phase_end)
{
	struct journal j;
	struct json_object *arr, *o;
	char err[256];

	journal_init(&j);
	ck_assert_int_eq(journal_begin(&j, &conf, JOURNAL_SOURCE, "web",
	    "0123", 7, "127.0.0.3", err, sizeof(err)), 0);
	arr = list_all();
	ck_assert_int_eq(json_object_array_length(arr), 1);
	o = json_object_array_get_idx(arr, 0);
	ck_assert_str_eq(proto_get_str(o, "phase"), "preflight");
	ck_assert_str_eq(proto_get_str(o, "domain"), "web");
	ck_assert_str_eq(proto_get_str(o, "role"), "source");
	ck_assert_str_eq(proto_get_str(o, "peer"), "127.0.0.3");
	ck_assert_int_eq(proto_get_int(o, "domid", 0), 7);
	ck_assert_int_eq(proto_get_int(o, "alive", 0), 1);
	json_object_put(arr);

	ck_assert_int_eq(journal_phase(&j, "go", err, sizeof(err)), 0);
	arr = list_all();
	ck_assert_str_eq(proto_get_str(json_object_array_get_idx(arr, 0),
	    "phase"), "go");
	json_object_put(arr);

	journal_end(&j, "done", 0, "migrated");
	ck_assert_ptr_null(j.rec);
	arr = list_all();
	o = json_object_array_get_idx(arr, 0);
	ck_assert_str_eq(proto_get_str(o, "phase"), "done");
	ck_assert_str_eq(proto_get_str(o, "message"), "migrated");
	ck_assert_int_eq(proto_get_int(o, "alive", 1), 0);
	ck_assert(journal_phase_final("done"));
	ck_assert(!journal_phase_final("go"));
	ck_assert(!journal_phase_final("unknown"));
	json_object_put(arr);
}
END_TEST

/* A worker that dies leaves its phase and frees its lock. */
START_TEST(test_dead_worker)
{
	struct json_object *arr, *o;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct journal j;
		char err[256];

		journal_init(&j);
		if (journal_begin(&j, &conf, JOURNAL_DEST, "db", "", 0,
		    "127.0.0.2", err, sizeof(err)) == -1 ||
		    journal_phase(&j, "ready", err, sizeof(err)) == -1)
			_exit(1);
		_exit(0);	/* "killed": no journal_end */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	arr = list_all();
	ck_assert_int_eq(json_object_array_length(arr), 1);
	o = json_object_array_get_idx(arr, 0);
	ck_assert_str_eq(proto_get_str(o, "phase"), "ready");
	ck_assert_int_eq(proto_get_int(o, "alive", 1), 0);
	ck_assert_int_eq(proto_get_int(o, "pid", 0), pid);
	json_object_put(arr);
}
END_TEST

START_TEST(test_prune_and_junk)
{
	struct journal j;
	struct json_object *arr;
	char err[256], path[600];
	int i, fd;

	for (i = 0; i < JOURNAL_KEEP + 5; i++) {
		journal_init(&j);
		ck_assert_int_eq(journal_begin(&j, &conf, JOURNAL_SOURCE,
		    "web", "", 1, "h", err, sizeof(err)), 0);
		journal_end(&j, "failed", 1, "x");
	}
	/* an unfinished one is never pruned */
	journal_init(&j);
	ck_assert_int_eq(journal_begin(&j, &conf, JOURNAL_SOURCE, "keep", "",
	    1, "h", err, sizeof(err)), 0);
	ck_assert_int_eq(journal_phase(&j, "unknown", err, sizeof(err)), 0);
	journal_dispose(&j);
	journal_prune(j.dir);
	/* junk: bad JSON, a bad name, a stray temp file, a mismatched id */
	snprintf(path, sizeof(path), "%s/journal/1-2-3-s.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "{not json", 9), 9);
	close(fd);
	snprintf(path, sizeof(path), "%s/journal/../evil.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	snprintf(path, sizeof(path), "%s/journal/UPPER.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "{\"id\":\"UPPER\"}", 14), 14);
	close(fd);
	snprintf(path, sizeof(path), "%s/journal/4-5-6-d.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "{\"id\":\"9-9-9-d\"}", 16), 16);
	close(fd);
	snprintf(path, sizeof(path), "%s/journal/7-8-9-s.json.tmp", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);

	arr = list_all();
	ck_assert_int_eq(json_object_array_length(arr), JOURNAL_KEEP + 1);
	json_object_put(arr);
}
END_TEST

/* A journal that cannot be written says where and why. */
START_TEST(test_write_failure)
{
	struct journal j;
	char err[256], path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/journal", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);	/* a file, not a dir */
	ck_assert_int_ne(fd, -1);
	close(fd);
	journal_init(&j);
	ck_assert_int_eq(journal_begin(&j, &conf, JOURNAL_SOURCE, "web", "",
	    1, "h", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, strerror(ENOTDIR)));
	journal_dispose(&j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("records");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_begin_phase_end);
	tcase_add_test(tc, test_dead_worker);
	tcase_add_test(tc, test_prune_and_junk);
	tcase_add_test(tc, test_write_failure);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
