/* test_sse: the SSE parser accepts what reference §0.1 lists, in chunks of any size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "shared/sse.h"

struct rec {
	char log[8192]; /* "event|data\n" per event */
	size_t n;
	int fail_at; /* return -EIO on this event number (1-based); 0 never */
	int count;
};

static int on_event(void *udata, const char *event, const char *data, size_t len)
{
	struct rec *r = udata;

	r->count++;
	if (r->fail_at && r->count == r->fail_at)
		return -EIO;
	assert_int_equal(strlen(data), len);
	r->n += (size_t)snprintf(r->log + r->n, sizeof(r->log) - r->n, "%s|%s\n", event, data);
	return 0;
}

/* Feed the same bytes in every chunk size from 1 up; every split gives one result. */
static void parse_all_splits(const char *in, const char *want)
{
	size_t len = strlen(in);

	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct sse_parser p;
		struct rec r = { 0 };
		sse_init(&p, 4096);
		for (size_t i = 0; i < len; i += chunk)
			assert_int_equal(sse_feed(&p, in + i, len - i < chunk ? len - i : chunk,
			                          on_event, &r),
			                 0);
		assert_int_equal(sse_finish(&p, on_event, &r), 0);
		if (strcmp(r.log, want) != 0)
			fail_msg("chunk %zu: got\n%s\nwant\n%s", chunk, r.log, want);
		sse_release(&p);
	}
}

static void lf_and_crlf_separate_events_at_any_split(void **state)
{
	(void)state;
	parse_all_splits("data: a\n\ndata: b\r\n\r\nevent: x\r\ndata: c\r\n\r\n", "|a\n|b\nx|c\n");
}

static void lone_cr_ends_a_line(void **state)
{
	(void)state;
	parse_all_splits("data: a\r\rdata: b\r\r", "|a\n|b\n");
}

static void several_data_lines_join_with_newline(void **state)
{
	(void)state;
	parse_all_splits("data: {\"a\":\ndata: 1}\n\n", "|{\"a\":\n1}\n");
}

static void space_after_colon_is_optional_and_only_one_is_removed(void **state)
{
	(void)state;
	parse_all_splits("data:x\n\ndata:  y\n\n", "|x\n| y\n");
}

static void comments_and_keepalives_are_ignored(void **state)
{
	(void)state;
	parse_all_splits(": keep-alive\n\n: ping\ndata: [DONE]\n\n", "|[DONE]\n");
}

static void id_and_retry_are_ignored_and_event_resets(void **state)
{
	(void)state;
	parse_all_splits("id: 7\nretry: 100\nevent: ping\ndata: {}\n\ndata: z\n\n",
	                 "ping|{}\n|z\n");
}

static void an_event_without_data_is_not_dispatched(void **state)
{
	(void)state;
	parse_all_splits("event: lonely\n\ndata: a\n\n", "|a\n");
}

static void last_event_without_blank_line_is_dispatched_at_finish(void **state)
{
	(void)state;
	parse_all_splits("data: a\n\ndata: tail", "|a\n|tail\n");
}

static void non_sse_lines_are_kept_as_stray(void **state)
{
	struct sse_parser p;
	struct rec r = { 0 };
	const char *in = "{\n  \"error\": {\n    \"code\": 503\n  }\n}\n";

	(void)state;
	sse_init(&p, 4096);
	assert_int_equal(sse_feed(&p, in, strlen(in), on_event, &r), 0);
	assert_int_equal(sse_finish(&p, on_event, &r), 0);
	assert_int_equal(r.count, 0);
	assert_string_equal(p.stray.data, in);
	sse_release(&p);
}

static void a_line_past_the_cap_fails_with_e2big(void **state)
{
	struct sse_parser p;
	struct rec r = { 0 };
	char big[200];

	(void)state;
	memset(big, 'x', sizeof(big));
	sse_init(&p, 64);
	assert_int_equal(sse_feed(&p, "data: ", 6, on_event, &r), 0);
	assert_int_equal(sse_feed(&p, big, sizeof(big), on_event, &r), -E2BIG);
	sse_release(&p);
}

static void an_event_past_the_cap_fails_with_e2big(void **state)
{
	struct sse_parser p;
	struct rec r = { 0 };
	const char *line = "data: 0123456789012345678901234567890123456789\n";
	int rc = 0;

	(void)state;
	sse_init(&p, 128);
	for (int i = 0; i < 10 && rc == 0; i++)
		rc = sse_feed(&p, line, strlen(line), on_event, &r);
	assert_int_equal(rc, -E2BIG);
	assert_int_equal(r.count, 0);
	sse_release(&p);
}

static void a_callback_error_stops_the_feed(void **state)
{
	struct sse_parser p;
	struct rec r = { .fail_at = 2 };
	const char *in = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	(void)state;
	sse_init(&p, 4096);
	assert_int_equal(sse_feed(&p, in, strlen(in), on_event, &r), -EIO);
	assert_string_equal(r.log, "|1\n");
	sse_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lf_and_crlf_separate_events_at_any_split),
		cmocka_unit_test(lone_cr_ends_a_line),
		cmocka_unit_test(several_data_lines_join_with_newline),
		cmocka_unit_test(space_after_colon_is_optional_and_only_one_is_removed),
		cmocka_unit_test(comments_and_keepalives_are_ignored),
		cmocka_unit_test(id_and_retry_are_ignored_and_event_resets),
		cmocka_unit_test(an_event_without_data_is_not_dispatched),
		cmocka_unit_test(last_event_without_blank_line_is_dispatched_at_finish),
		cmocka_unit_test(non_sse_lines_are_kept_as_stray),
		cmocka_unit_test(a_line_past_the_cap_fails_with_e2big),
		cmocka_unit_test(an_event_past_the_cap_fails_with_e2big),
		cmocka_unit_test(a_callback_error_stops_the_feed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
