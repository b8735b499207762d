/*
 * The lease holder the libxl backend's monitors run (xenops/leaseholder.c):
 * take, give and their refusals, two holders of one domain's lease, the
 * lease dropped when the holder's process dies, stale and live sockets,
 * requests that are not requests.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "leaseholder.h"

#define UUID	"6a3f2a5e-1b7c-4d2e-9f00-1234567890ab"

static char	tmpdir[256], cdir[300], sock_a[300], sock_b[300];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_lholder.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(cdir, sizeof(cdir), "%s/cluster", tmpdir);
	ck_assert_int_eq(mkdir(cdir, 0755), 0);
	snprintf(sock_a, sizeof(sock_a), "%s/1.sock", tmpdir);
	snprintf(sock_b, sizeof(sock_b), "%s/2.sock", tmpdir);
}

static void
teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
start(struct lholder *lh, const char *path, const char *uuid)
{
	char err[256];
	int lfd;

	lfd = lholder_listen(path, err, sizeof(err));
	ck_assert_msg(lfd != -1, "listen: %s", err);
	ck_assert_msg(lholder_start(lh, lfd, path, cdir, uuid, err,
	    sizeof(err)) == 0, "start: %s", err);
}

static void
ask(const char *path, const char *req, const char *want)
{
	char reply[512];

	ck_assert_msg(lholder_ask(path, req, reply, sizeof(reply)) == 0,
	    "%s: %s", req, strerror(errno));
	ck_assert_msg(strncmp(reply, want, strlen(want)) == 0,
	    "%s: got '%s', want '%s...'", req, reply, want);
}

static int
held(char *holder, size_t len)
{
	struct lease_info li;
	char err[256];

	ck_assert_msg(lease_probe(cdir, UUID, &li, err, sizeof(err)) == 0,
	    "%s", err);
	if (holder != NULL)
		snprintf(holder, len, "%s", li.holder);
	return li.held;
}

START_TEST(test_take_give)
{
	struct lholder lh;
	char who[256];

	start(&lh, sock_a, UUID);
	ask(sock_a, "held", "ok free");
	ck_assert_int_eq(held(NULL, 0), 0);
	ask(sock_a, "take hosta domain web (id 3)", "ok");
	ck_assert_int_eq(held(who, sizeof(who)), 1);
	ck_assert_ptr_nonnull(strstr(who, "hosta domain web (id 3)"));
	/* Idempotent: a resume after a failed suspend asks again. */
	ask(sock_a, "take hosta domain web (id 3)", "ok");
	ask(sock_a, "held", "ok held");
	ask(sock_a, "give", "ok");
	ck_assert_int_eq(held(NULL, 0), 0);
	ask(sock_a, "held", "ok free");
	lholder_stop(&lh);
	ck_assert_int_eq(access(sock_a, F_OK), -1);
}
END_TEST

/* Source and destination of one domain: never both. */
START_TEST(test_two_holders)
{
	struct lholder a, b;
	char reply[512], who[256];

	start(&a, sock_a, UUID);
	start(&b, sock_b, UUID);
	ask(sock_a, "take hosta domain web (id 3)", "ok");
	ck_assert_int_eq(lholder_ask(sock_b, "take hostb domain web (id 7)",
	    reply, sizeof(reply)), 0);
	ck_assert_msg(strstr(reply, "err the domain's lease is held "
	    "elsewhere (hosta domain web (id 3)") == reply, "%s", reply);
	ask(sock_b, "held", "ok free");
	ask(sock_a, "give", "ok");
	ask(sock_b, "take hostb domain web (id 7)", "ok");
	ck_assert_int_eq(held(who, sizeof(who)), 1);
	ck_assert_ptr_nonnull(strstr(who, "hostb domain web (id 7)"));
	/* The old source cannot take it back: a resume there is refused. */
	ck_assert_int_eq(lholder_ask(sock_a, "take hosta domain web (id 3)",
	    reply, sizeof(reply)), 0);
	ck_assert_ptr_nonnull(strstr(reply, "hostb domain web (id 7)"));
	lholder_stop(&a);
	lholder_stop(&b);
	ck_assert_int_eq(held(NULL, 0), 0);
}
END_TEST

/* The lease lives exactly as long as the holder's process. */
START_TEST(test_dies_with_its_process)
{
	struct lholder lh;
	char reply[512];
	pid_t pid;
	int st, i;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		start(&lh, sock_a, UUID);
		for (;;)
			pause();
	}
	/* The socket appears before the child answers; bounded wait. */
	for (i = 0; i < 200 && access(sock_a, F_OK) == -1; i++)
		usleep(10000);
	ask(sock_a, "take hosta domain web (id 3)", "ok");
	ck_assert_int_eq(held(NULL, 0), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(held(NULL, 0), 0);
	/* Its socket is left behind, stale: nobody answers... */
	ck_assert_int_eq(lholder_ask(sock_a, "held", reply, sizeof(reply)),
	    -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	/* ...and a new holder replaces it. */
	start(&lh, sock_a, UUID);
	ask(sock_a, "take hosta domain web (id 3)", "ok");
	lholder_stop(&lh);
}
END_TEST

START_TEST(test_one_holder_a_socket)
{
	struct lholder lh;
	char err[256], reply[64];

	ck_assert_int_eq(lholder_ask(sock_a, "held", reply, sizeof(reply)),
	    -1);
	ck_assert_int_eq(errno, ENOENT);
	start(&lh, sock_a, UUID);
	ck_assert_int_eq(lholder_listen(sock_a, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_ptr_nonnull(strstr(err, "answers there already"));
	ask(sock_a, "held", "ok free");
	/* The domain restarted under a new id: the socket follows. */
	ck_assert_int_eq(lholder_moved(&lh, sock_b), 0);
	ask(sock_b, "held", "ok free");
	ck_assert_int_eq(lholder_ask(sock_a, "held", reply, sizeof(reply)),
	    -1);
	ck_assert_int_eq(errno, ENOENT);
	lholder_stop(&lh);
	ck_assert_int_eq(access(sock_b, F_OK), -1);
}
END_TEST

START_TEST(test_not_requests)
{
	struct sockaddr_un sun;
	struct lholder lh;
	char buf[64];
	int fd;

	start(&lh, sock_a, UUID);
	ask(sock_a, "take", "err unknown request");
	ask(sock_a, "take ", "err unknown request");
	ask(sock_a, "steal everything", "err unknown request");
	/* Truncated: no newline, then EOF.  No answer, no lease. */
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_a);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(write(fd, "take hosta", 10), 10);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	ck_assert_int_eq(held(NULL, 0), 0);
	/* It still answers. */
	ask(sock_a, "take hosta domain web (id 3)", "ok");
	lholder_stop(&lh);
}
END_TEST

START_TEST(test_lease_unopenable)
{
	struct lholder lh;
	char path[400];
	FILE *f;

	/* leases/ is a file: every take says why, nothing else breaks. */
	snprintf(path, sizeof(path), "%s/leases", cdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	start(&lh, sock_a, UUID);
	ask(sock_a, "take hosta domain web (id 3)",
	    "err the domain's lease cannot be opened: ");
	ask(sock_a, "held", "ok free");
	lholder_stop(&lh);
	start(&lh, sock_a, "not-a-uuid");
	ask(sock_a, "take hosta domain web (id 3)",
	    "err the domain's lease cannot be opened: 'not-a-uuid' is not a "
	    "UUID");
	lholder_stop(&lh);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("leaseholder");
	TCase *tc = tcase_create("holder");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_take_give);
	tcase_add_test(tc, test_two_holders);
	tcase_add_test(tc, test_dies_with_its_process);
	tcase_add_test(tc, test_one_holder_a_socket);
	tcase_add_test(tc, test_not_requests);
	tcase_add_test(tc, test_lease_unopenable);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
