/* test_chat_render.c - escaping for each platform, Telegram's length measure, splitting
 * long answers without breaking a UTF-8 sequence, an HTML tag or an entity, and the
 * report rendering (relay/chat/render.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "relay/chat/chat.h"
#include "shared/json.h"

static char *esc(enum chat_format fmt, const char *s)
{
	struct buf b = BUF_INIT(1 << 20);

	assert_int_equal(render_escape(&b, fmt, s), 0);
	return buf_detach(&b, NULL);
}

static void test_escape_html_and_slack(void **state)
{
	char *s;

	(void)state;
	s = esc(CHAT_FMT_HTML, "a<b>&\"c'");
	assert_string_equal(s, "a&lt;b&gt;&amp;&quot;c'");
	free(s);
	/* Slack: only & < >, so a quote stays and a user's "<@U1>" cannot ping. */
	s = esc(CHAT_FMT_SLACK, "<@U1> & \"x\" > y");
	assert_string_equal(s, "&lt;@U1&gt; &amp; \"x\" &gt; y");
	free(s);
	s = esc(CHAT_FMT_MARKDOWN, "<b>&");
	assert_string_equal(s, "<b>&");
	free(s);
}

static void test_escape_markdown_v2(void **state)
{
	struct buf b = BUF_INIT(4096);

	(void)state;
	assert_int_equal(render_escape_mdv2(&b, "_*[]()~`>#+-=|{}.!\\ ok", false), 0);
	assert_string_equal(buf_str(&b),
	                    "\\_\\*\\[\\]\\(\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!\\\\ ok");
	buf_reset(&b);
	/* Inside code only ` and \ are special. */
	assert_int_equal(render_escape_mdv2(&b, "a_b `c` \\d.", true), 0);
	assert_string_equal(buf_str(&b), "a_b \\`c\\` \\\\d.");
	buf_release(&b);
}

static void test_utf16_len(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀 */

	(void)state;
	assert_int_equal(render_utf16_len(s, strlen(s)), 5);
	assert_int_equal(render_utf16_len("", 0), 0);
}

static size_t visible(const char *s)
{
	size_t n = 0;

	while (*s) {
		if (*s == '<') {
			s = strchr(s, '>') + 1;
			continue;
		}
		if (*s == '&') {
			s = strchr(s, ';') + 1;
			n++;
			continue;
		}
		n += render_utf16_len(s, 1 + ((unsigned char)*s >= 0xc0) +
		                                 ((unsigned char)*s >= 0xe0) +
		                                 ((unsigned char)*s >= 0xf0));
		s += 1 + ((unsigned char)*s >= 0xc0) + ((unsigned char)*s >= 0xe0) +
		     ((unsigned char)*s >= 0xf0);
	}
	return n;
}

static void test_split_on_lines(void **state)
{
	char **v;
	size_t n;

	(void)state;
	n = render_split("aaaa\nbbbb\ncccc", CHAT_FMT_PLAIN, 9, &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "aaaa\nbbbb");
	assert_string_equal(v[1], "cccc");
	assert_null(v[2]);
	render_chunks_free(v);
	n = render_split("short", CHAT_FMT_HTML, 4096, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "short");
	render_chunks_free(v);
	/* A long line breaks at a blank, which is dropped. */
	n = render_split("one two three", CHAT_FMT_PLAIN, 8, &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "one two");
	assert_string_equal(v[1], "three");
	render_chunks_free(v);
}

static void test_split_html_reopens_tags(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	struct buf joined = BUF_INIT(1 << 20);
	char **v;
	size_t n;

	(void)state;
	assert_int_equal(buf_adds(&b, "<b>"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_addc(&b, 'x'), 0);
	assert_int_equal(buf_adds(&b, "</b>\n<code>tail &amp; end</code>"), 0);
	n = render_split(buf_str(&b), CHAT_FMT_HTML, 4096, &v);
	assert_int_equal(n, 2);
	assert_true(visible(v[0]) <= 4096 && visible(v[1]) <= 4096);
	assert_true(strncmp(v[0], "<b>", 3) == 0);
	assert_true(strlen(v[0]) > 4 && !strcmp(v[0] + strlen(v[0]) - 4, "</b>"));
	assert_true(strncmp(v[1], "<b>", 3) == 0);
	assert_non_null(strstr(v[1], "<code>tail &amp; end</code>"));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_adds(&joined, v[i]), 0);
	/* 5000 x, the line end, "tail & end": no text lost or doubled */
	assert_int_equal(visible(buf_str(&joined)), 5000 + 1 + 10);
	render_chunks_free(v);
	buf_release(&b);
	buf_release(&joined);
}

static void test_split_never_cuts_entities_or_utf8(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	char **v;
	size_t n;

	(void)state;
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_adds(&b, "&amp;"), 0);
	n = render_split(buf_str(&b), CHAT_FMT_HTML, 1000, &v);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(v[i]) % 5, 0);
		assert_true(visible(v[i]) <= 1000);
	}
	render_chunks_free(v);
	buf_reset(&b);
	/* Emoji count two UTF-16 units each and are never split. */
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_adds(&b, "\xf0\x9f\x98\x80"), 0);
	n = render_split(buf_str(&b), CHAT_FMT_HTML, 4096, &v);
	assert_int_equal(n, 2);
	assert_int_equal(strlen(v[0]), 2048 * 4);
	assert_int_equal(strlen(v[1]), 952 * 4);
	render_chunks_free(v);
	buf_release(&b);
}

static const char report[] =
        "{\"question\":\"why 5xx\",\"host\":\"web-1\",\"planner\":\"offline\",\"duration_ms\":1840,"
        "\"summary\":\"api <pool> & co\",\"root_cause\":{\"statement\":\"pool full\","
        "\"category\":\"service\",\"component\":\"api.service\",\"confidence\":0.8},"
        "\"evidence\":[{\"id\":\"e1\",\"agent\":\"sre\",\"tool\":\"query_metrics\","
        "\"finding\":\"5xx at 40/s\"}],\"actions\":[{\"id\":\"a1\",\"tool\":\"restart_service\","
        "\"args\":{\"unit\":\"api\"},\"class\":\"dangerous\",\"status\":\"proposed\"}],"
        "\"tokens\":{\"input\":10,\"output\":5}}";

static char *rendered(enum chat_format fmt)
{
	struct buf b = BUF_INIT(1 << 20);
	cJSON *r = json_parse(report, strlen(report), 1 << 20, NULL);

	assert_non_null(r);
	assert_int_equal(render_report(&b, fmt, r), 0);
	cJSON_Delete(r);
	return buf_detach(&b, NULL);
}

static void test_report_formats(void **state)
{
	char *s;

	(void)state;
	s = rendered(CHAT_FMT_HTML);
	assert_non_null(strstr(s, "<b>Summary</b>: api &lt;pool&gt; &amp; co"));
	assert_non_null(strstr(s, "confidence 80%"));
	assert_non_null(strstr(s, "<code>query_metrics</code>"));
	assert_non_null(strstr(s, "web-1 · offline, 1.8 s, 10+5 tokens"));
	free(s);
	s = rendered(CHAT_FMT_SLACK);
	assert_non_null(strstr(s, "*Summary*: api &lt;pool&gt; &amp; co"));
	assert_non_null(strstr(s, "`restart_service`"));
	free(s);
	s = rendered(CHAT_FMT_MARKDOWN);
	assert_non_null(strstr(s, "### why 5xx\n**Summary**: api <pool> & co"));
	assert_non_null(strstr(s, "- `query_metrics` (sre) 5xx at 40/s"));
	free(s);
}

static void test_inbound_text(void **state)
{
	char a[] = "<@UBOT> why is &lt;web-1&gt; slow? see <https://x.y/z|the graph> in <#C1|ops> "
	           "cc <@U2>";
	char b[] = "@Ongrid_Bot, status  ";

	(void)state;
	render_strip_mention(a, "<@UBOT>");
	render_slack_unescape(a);
	assert_string_equal(a, "why is <web-1> slow? see https://x.y/z in #ops cc <@U2>");
	render_strip_mention(b, "@ongrid_bot");
	assert_string_equal(b, "status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_html_and_slack),
		cmocka_unit_test(test_escape_markdown_v2),
		cmocka_unit_test(test_utf16_len),
		cmocka_unit_test(test_split_on_lines),
		cmocka_unit_test(test_split_html_reopens_tags),
		cmocka_unit_test(test_split_never_cuts_entities_or_utf8),
		cmocka_unit_test(test_report_formats),
		cmocka_unit_test(test_inbound_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
