/* test_proto.c - the edge<->relay envelope: what is accepted, what is refused and how. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared/json.h"
#include "shared/proto.h"

static int decode(const char *s, struct proto_msg *m, struct diag *d)
{
	return proto_decode(s, strlen(s), 1 << 20, m, d);
}

static void request_round_trips(void **state)
{
	struct proto_msg m;
	cJSON *p = cJSON_Parse("{\"tool\":\"ping\",\"n\":3}");
	size_t len;
	char *f = proto_encode_request("tool.run", "e42", 1500, p, 1 << 20, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(strlen(f), len);
	assert_int_equal(proto_decode(f, len, 1 << 20, &m, NULL), 0);
	assert_int_equal(m.kind, PROTO_REQUEST);
	assert_string_equal(m.type, "tool.run");
	assert_string_equal(m.id, "e42");
	assert_int_equal(m.deadline_ms, 1500);
	assert_string_equal(cJSON_GetObjectItem(m.payload, "tool")->valuestring, "ping");
	proto_msg_release(&m);
	free(f);
	cJSON_Delete(p);
}

static void failed_reply_carries_code_and_message(void **state)
{
	struct proto_msg m;
	size_t len;
	char *f = proto_encode_failure(PROTO_REPLY, "r7", proto_code_from_errno(-ETIMEDOUT),
	                               "too slow", &len);

	(void)state;
	assert_int_equal(decode(f, &m, NULL), 0);
	assert_int_equal(m.kind, PROTO_REPLY);
	assert_false(m.ok);
	assert_string_equal(m.code, "timeout");
	assert_string_equal(m.message, "too slow");
	assert_int_equal(proto_errno_from_code(m.code), -ETIMEDOUT);
	proto_msg_release(&m);
	free(f);
}

static void oversized_frame_is_refused_before_parsing(void **state)
{
	struct proto_msg m;
	struct diag d = { 0 };
	char big[200];

	(void)state;
	memset(big, ' ', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(proto_decode(big, strlen(big), 100, &m, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "exceeds the limit of 100 bytes"));
	assert_null(m.root);
}

static void malformed_frames_name_the_field(void **state)
{
	static const struct {
		const char *frame, *want;
	} cases[] = {
		{ "not json", "invalid JSON" },
		{ "[1,2]", "expected a JSON object" },
		{ "{\"id\":\"a\"}", "frame.type" },
		{ "{\"type\":\"Tool Run\",\"id\":\"a\"}", "frame.type" },
		{ "{\"type\":\"ping\"}", "frame.id: missing" },
		{ "{\"type\":\"ping\",\"id\":\"has space\"}", "frame.id" },
		{ "{\"type\":\"ping\",\"id\":7}", "frame.id" },
		{ "{\"type\":\"ping\",\"id\":\"a\",\"payload\":[]}", "frame.payload" },
		{ "{\"type\":\"ping\",\"id\":\"a\",\"deadline_ms\":-1}", "frame.deadline_ms" },
		{ "{\"type\":\"ping\",\"id\":\"a\",\"deadline_ms\":1.5}", "frame.deadline_ms" },
		{ "{\"type\":\"reply\",\"id\":\"a\"}", "frame.ok" },
		{ "{\"type\":\"reply\",\"id\":\"a\",\"ok\":false}", "frame.error" },
		{ "{\"type\":\"error\",\"error\":{\"code\":\"NOPE!\"}}", "frame.error.code" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_msg m;
		struct diag d = { 0 };
		int r = decode(cases[i].frame, &m, &d);

		if (r != -EPROTO || !strstr(d.msg, cases[i].want))
			fail_msg("frame %s: got %d '%s', wanted -EPROTO naming '%s'",
			         cases[i].frame, r, d.msg, cases[i].want);
		assert_null(m.root);
	}
}

static void id_survives_a_bad_frame_so_the_error_can_name_it(void **state)
{
	struct proto_msg m;

	(void)state;
	assert_int_equal(decode("{\"type\":\"ping\",\"id\":\"x9\",\"payload\":5}", &m, NULL),
	                 -EPROTO);
	assert_string_equal(m.id, "x9");
}

static void deep_nesting_is_refused(void **state)
{
	struct proto_msg m;
	struct diag d = { 0 };
	char f[400];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(f, sizeof(f), "{\"type\":\"ping\",\"id\":\"a\",\"payload\":");
	for (int i = 0; i < 100; i++)
		f[n++] = '[';
	f[n] = '\0';
	assert_int_equal(decode(f, &m, &d), -EPROTO);
	assert_non_null(strstr(d.msg, "nested deeper"));
}

static void reserved_and_bad_types_are_not_request_types(void **state)
{
	(void)state;
	assert_true(proto_valid_type("tool.run"));
	assert_true(proto_valid_type("outbox.deliver"));
	assert_false(proto_valid_type("reply"));
	assert_false(proto_valid_type("cancel"));
	assert_false(proto_valid_type("error"));
	assert_false(proto_valid_type(""));
	assert_false(proto_valid_type("UPPER"));
	assert_false(proto_valid_type("a/b"));
	assert_true(proto_valid_id("e1"));
	assert_false(proto_valid_id(""));
	assert_false(proto_valid_id("a b"));
}

static void encoder_refuses_past_max_bytes(void **state)
{
	cJSON *p = json_obj();
	char big[300];
	size_t len = 0;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_add_str(p, "blob", big);
	assert_null(proto_encode_request("x", "1", 0, p, 200, &len));
	assert_null(proto_encode_reply("1", p, 200, &len));
	cJSON_Delete(p);
	p = NULL;
	{
		char *f = proto_encode_reply("1", NULL, 200, &len);
		assert_non_null(f);
		free(f);
	}
}

static void cancel_and_error_frames_decode(void **state)
{
	struct proto_msg m;
	size_t len;
	char *f = proto_encode_cancel("e5", &len);

	(void)state;
	assert_int_equal(decode(f, &m, NULL), 0);
	assert_int_equal(m.kind, PROTO_CANCEL);
	assert_string_equal(m.id, "e5");
	proto_msg_release(&m);
	free(f);
	f = proto_encode_failure(PROTO_ERROR, "", "bad_frame", "oops", &len);
	assert_int_equal(decode(f, &m, NULL), 0);
	assert_int_equal(m.kind, PROTO_ERROR);
	assert_string_equal(m.id, "");
	assert_string_equal(m.code, "bad_frame");
	proto_msg_release(&m);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_round_trips),
		cmocka_unit_test(failed_reply_carries_code_and_message),
		cmocka_unit_test(oversized_frame_is_refused_before_parsing),
		cmocka_unit_test(malformed_frames_name_the_field),
		cmocka_unit_test(id_survives_a_bad_frame_so_the_error_can_name_it),
		cmocka_unit_test(deep_nesting_is_refused),
		cmocka_unit_test(reserved_and_bad_types_are_not_request_types),
		cmocka_unit_test(encoder_refuses_past_max_bytes),
		cmocka_unit_test(cancel_and_error_frames_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
