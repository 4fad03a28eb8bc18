/* test_outbox.c - the persistent outbox: order, durability across reopen, acks, limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/outbox.h"
#include "shared/json.h"

static char dir[] = "/tmp/test_outbox.XXXXXX";
static char path[256];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/outbox.sqlite", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static cJSON *body(int n)
{
	cJSON *b = json_obj();
	json_add_num(b, "n", n);
	return b;
}

static void messages_survive_reopen_in_order_until_acked(void **state)
{
	struct outbox *ob;
	struct outbox_msg m[8];
	char ids[5][OUTBOX_ID_LEN + 1];
	size_t n;
	int64_t count;

	(void)state;
	assert_int_equal(outbox_open(path, 100, &ob, NULL), 0);
	for (int i = 0; i < 5; i++) {
		cJSON *b = body(i);
		assert_int_equal(outbox_put(ob, "report", b, ids[i], NULL), 0);
		cJSON_Delete(b);
	}
	outbox_close(ob);

	assert_int_equal(outbox_open(path, 100, &ob, NULL), 0);
	assert_int_equal(outbox_peek(ob, 0, 8, m, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "{\"n\":%zu}", i);
		assert_string_equal(m[i].id, ids[i]);
		assert_string_equal(m[i].kind, "report");
		assert_string_equal(m[i].body, want);
		if (i)
			assert_true(m[i].seq > m[i - 1].seq);
	}
	/* peek after a seq continues from there */
	{
		struct outbox_msg m2[8];
		size_t n2;
		assert_int_equal(outbox_peek(ob, m[2].seq, 8, m2, &n2), 0);
		assert_int_equal(n2, 2);
		assert_string_equal(m2[0].id, ids[3]);
		for (size_t i = 0; i < n2; i++)
			outbox_msg_release(&m2[i]);
	}
	for (size_t i = 0; i < n; i++)
		outbox_msg_release(&m[i]);
	assert_int_equal(outbox_ack(ob, ids[0]), 0);
	assert_int_equal(outbox_ack(ob, ids[0]), 0); /* a second ack is harmless */
	assert_int_equal(outbox_ack(ob, ids[3]), 0);
	assert_int_equal(outbox_count(ob, &count), 0);
	assert_int_equal(count, 3);
	outbox_close(ob);
	assert_int_equal(outbox_open(path, 100, &ob, NULL), 0);
	assert_int_equal(outbox_peek(ob, 0, 8, m, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].id, ids[1]);
	assert_string_equal(m[2].id, ids[4]);
	for (size_t i = 0; i < n; i++)
		outbox_msg_release(&m[i]);
	for (int i = 0; i < 5; i++)
		(void)outbox_ack(ob, ids[i]);
	outbox_close(ob);
}

static void ids_are_unique(void **state)
{
	struct outbox *ob;
	char a[OUTBOX_ID_LEN + 1], b[OUTBOX_ID_LEN + 1];
	cJSON *x = body(1);

	(void)state;
	assert_int_equal(outbox_open(path, 100, &ob, NULL), 0);
	assert_int_equal(outbox_put(ob, "alert", x, a, NULL), 0);
	assert_int_equal(outbox_put(ob, "alert", x, b, NULL), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), OUTBOX_ID_LEN);
	(void)outbox_ack(ob, a);
	(void)outbox_ack(ob, b);
	cJSON_Delete(x);
	outbox_close(ob);
}

static void full_outbox_and_bad_input_are_refused(void **state)
{
	struct outbox *ob;
	struct diag d = { 0 };
	char id[OUTBOX_ID_LEN + 1];
	cJSON *x = body(1), *big = json_obj();
	char *blob = malloc(OUTBOX_BODY_MAX + 10);
	int64_t count;

	(void)state;
	memset(blob, 'a', OUTBOX_BODY_MAX + 9);
	blob[OUTBOX_BODY_MAX + 9] = '\0';
	json_add_str(big, "blob", blob);
	free(blob);
	assert_int_equal(outbox_open(path, 2, &ob, NULL), 0);
	assert_int_equal(outbox_put(ob, "Bad Kind", x, id, &d), -EINVAL);
	assert_int_equal(outbox_put(ob, "report", big, id, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "exceeds the limit"));
	assert_int_equal(outbox_put(ob, "report", x, id, NULL), 0);
	assert_int_equal(outbox_put(ob, "report", x, id, NULL), 0);
	assert_int_equal(outbox_put(ob, "report", x, id, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "outbox is full"));
	assert_int_equal(outbox_count(ob, &count), 0);
	assert_int_equal(count, 2);
	cJSON_Delete(x);
	cJSON_Delete(big);
	outbox_close(ob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(messages_survive_reopen_in_order_until_acked),
		cmocka_unit_test(ids_are_unique),
		cmocka_unit_test(full_outbox_and_bad_input_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
