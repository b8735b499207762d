/*
 * The network side of the helper channel (relocd/hx.c): hx_ask and
 * hx_answer, which let a live copy's network process receive on while
 * the helper reads back, and hx_call, which must never take an answer
 * that a failure left unread for its own.  The helper's end of the
 * socketpair is written and read directly: its answers are queued
 * before they are asked for, as the socket buffer holds them.
 */
#include <sys/socket.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hx.h"
#include "relocd.h"

static Suite	*hx_suite(void);
static void	 hx_pair(struct hx *, int *);
static void	 hx_helper_says(int, int, int);

static void
hx_pair(struct hx *hx, int *helper)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(hx, 0, sizeof(*hx));
	hx->fd = sv[0];
	*helper = sv[1];
}

/* The helper answers TYPE, with {"n": N} (PT_ERROR: a code and message
 * naming N). */
static void
hx_helper_says(int fd, int type, int n)
{
	struct json_object *o = json_object_new_object();
	char err[128];

	json_object_object_add(o, "n", json_object_new_int(n));
	if (type == PT_ERROR) {
		json_object_object_add(o, "code", json_object_new_string(
		    "disk"));
		json_object_object_add(o, "message", json_object_new_string(
		    n == 1 ? "first" : "other"));
	}
	ck_assert_int_eq(hx_send(fd, type, o, NULL, 0, err, sizeof(err)), 0);
	json_object_put(o);
}

/* An answer after progress frames comes back whole, in order. */
START_TEST(ask_then_answer)
{
	struct json_object *reply = NULL, *op = NULL;
	struct hx hx;
	const char *code;
	char msg[256];
	int helper, type;

	hx_pair(&hx, &helper);
	ck_assert_int_eq(hx_ask(&hx, HX_RECV_DISK_VERIFY, NULL, -1, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(hx.asked, 1);
	hx_helper_says(helper, PT_PROGRESS, 0);
	hx_helper_says(helper, PT_OK, 7);
	ck_assert_int_eq(hx_answer(&hx, &reply, NULL, NULL, &code, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(proto_get_int(reply, "n", -1), 7);
	ck_assert_int_eq(hx.asked, 0);
	ck_assert_int_eq(hx_recv(helper, &type, &op, NULL, NULL, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(type, HX_RECV_DISK_VERIFY);
	json_object_put(op);
	json_object_put(reply);
	close(hx.fd);
	close(helper);
}
END_TEST

/* A batch asked for and never answered (the copy failed meanwhile):
 * the next call, the abort, gets its own answer, not the batch's
 * error. */
START_TEST(call_skips_an_owed_answer)
{
	struct json_object *reply = NULL, *op = NULL;
	struct hx hx;
	const char *code;
	char msg[256];
	int helper, type;

	hx_pair(&hx, &helper);
	ck_assert_int_eq(hx_ask(&hx, HX_RECV_DISK_VERIFY, NULL, -1, msg,
	    sizeof(msg)), 0);
	hx_helper_says(helper, PT_ERROR, 1);
	hx_helper_says(helper, PT_OK, 2);
	ck_assert_int_eq(hx_call(&hx, HX_RECV_ABORT, NULL, -1, &reply, NULL,
	    NULL, &code, msg, sizeof(msg)), 0);
	ck_assert_int_eq(proto_get_int(reply, "n", -1), 2);
	ck_assert_int_eq(hx.asked, 0);
	json_object_put(reply);
	/* The helper saw both, in order. */
	ck_assert_int_eq(hx_recv(helper, &type, &op, NULL, NULL, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(type, HX_RECV_DISK_VERIFY);
	json_object_put(op);
	ck_assert_int_eq(hx_recv(helper, &type, &op, NULL, NULL, msg,
	    sizeof(msg)), 0);
	ck_assert_int_eq(type, HX_RECV_ABORT);
	json_object_put(op);
	close(hx.fd);
	close(helper);
}
END_TEST

/* An error answer is the caller's, with its code and message. */
START_TEST(answer_error)
{
	struct json_object *reply = NULL;
	struct hx hx;
	const char *code;
	char msg[256];
	int helper;

	hx_pair(&hx, &helper);
	ck_assert_int_eq(hx_ask(&hx, HX_RECV_DISK_VERIFY, NULL, -1, msg,
	    sizeof(msg)), 0);
	hx_helper_says(helper, PT_ERROR, 1);
	ck_assert_int_eq(hx_answer(&hx, &reply, NULL, NULL, &code, msg,
	    sizeof(msg)), -1);
	ck_assert_ptr_null(reply);
	ck_assert_str_eq(code, "disk");
	ck_assert_str_eq(msg, "first");
	ck_assert_int_eq(hx.asked, 0);
	close(hx.fd);
	close(helper);
}
END_TEST

/* The helper gone with an answer owed: a failure naming the channel,
 * not a wait, and nothing owed after it. */
START_TEST(helper_gone)
{
	struct json_object *reply = NULL;
	struct hx hx;
	const char *code;
	char msg[256];
	int helper;

	hx_pair(&hx, &helper);
	ck_assert_int_eq(hx_ask(&hx, HX_RECV_DISK_VERIFY, NULL, -1, msg,
	    sizeof(msg)), 0);
	close(helper);
	ck_assert_int_eq(hx_call(&hx, HX_RECV_ABORT, NULL, -1, &reply, NULL,
	    NULL, &code, msg, sizeof(msg)), -1);
	ck_assert_str_eq(code, "helper");
	ck_assert_int_eq(hx.asked, 0);
	close(hx.fd);
}
END_TEST

static Suite *
hx_suite(void)
{
	Suite *s = suite_create("hx");
	TCase *tc = tcase_create("answers");

	tcase_add_test(tc, ask_then_answer);
	tcase_add_test(tc, call_skips_an_owed_answer);
	tcase_add_test(tc, answer_error);
	tcase_add_test(tc, helper_gone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(hx_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
