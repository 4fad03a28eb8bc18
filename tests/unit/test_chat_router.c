/* test_chat_router.c - the chat router's policy (relay/chat/policy.c): who may talk to the
 * relay, which role a chat user has, who may approve which class of action, double-sign,
 * and which messages are commands. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/chat/chat.h"

#define S(x) ((char[]){ x }) /* conf_strlist holds mutable strings */
static char *users_v[] = { S("slack:U1=admin"), S("slack:*=viewer"), S("telegram:5=operator"),
	                   S("telegram:6=none") };
static char *ws_v[] = { S("T1") }, *ch_v[] = { S("C1"), S("C2") }, *tg_v[] = { S("-100") };

static struct relay_conf conf(void)
{
	struct relay_conf c;

	memset(&c, 0, sizeof(c));
	c.chat_users.v = users_v;
	c.chat_users.n = 4;
	c.chat_default_role = (char *)"none";
	c.slack_workspaces.v = ws_v;
	c.slack_workspaces.n = 1;
	c.slack_channels.v = ch_v;
	c.slack_channels.n = 2;
	c.tg_chats.v = tg_v;
	c.tg_chats.n = 1;
	return c;
}

static void test_roles(void **state)
{
	struct relay_conf c = conf();

	(void)state;
	assert_int_equal(chat_user_role(&c, "slack", "U1"), CHAT_ROLE_ADMIN);
	assert_int_equal(chat_user_role(&c, "slack", "U2"), CHAT_ROLE_VIEWER); /* slack:* */
	assert_int_equal(chat_user_role(&c, "telegram", "5"), CHAT_ROLE_OPERATOR);
	assert_int_equal(chat_user_role(&c, "telegram", "6"), CHAT_ROLE_NONE);
	/* No wildcard for telegram: the default role. */
	assert_int_equal(chat_user_role(&c, "telegram", "7"), CHAT_ROLE_NONE);
	c.chat_default_role = (char *)"viewer";
	assert_int_equal(chat_user_role(&c, "telegram", "7"), CHAT_ROLE_VIEWER);
	/* A user id is not a prefix match, and the platform must be exact. */
	assert_int_equal(chat_user_role(&c, "telegram", "55"), CHAT_ROLE_VIEWER);
	assert_int_equal(chat_user_role(&c, "slac", "U1"), CHAT_ROLE_VIEWER);
	assert_int_equal(chat_user_role(&c, "slack", ""), CHAT_ROLE_NONE);
}

static void test_allowlists(void **state)
{
	struct relay_conf c = conf();

	(void)state;
	assert_true(chat_allowed(&c, "slack", "T1", "C1"));
	assert_true(chat_allowed(&c, "slack", "T1", "C2"));
	assert_false(chat_allowed(&c, "slack", "T2", "C1"));
	assert_false(chat_allowed(&c, "slack", "T1", "C3"));
	assert_false(chat_allowed(&c, "slack", NULL, "C1"));
	assert_true(chat_allowed(&c, "telegram", NULL, "-100"));
	assert_false(chat_allowed(&c, "telegram", NULL, "-200"));
	assert_true(chat_allowed(&c, "local", NULL, "local-1"));
	assert_false(chat_allowed(&c, "irc", NULL, "#ops"));
	/* Empty lists allow everything. */
	c.slack_workspaces.n = c.slack_channels.n = c.tg_chats.n = 0;
	assert_true(chat_allowed(&c, "slack", "T9", "C9"));
	assert_true(chat_allowed(&c, "telegram", NULL, "42"));
}

static void test_conf_check(void **state)
{
	char *bad[][1] = {
		{ S("U1=admin") }, { S("slack:U1=root") }, { S("slack:U1") }, { S("slack:=admin") }
	};
	struct relay_conf c = conf();
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(chat_conf_check(&c, &d), 0);
	for (size_t i = 0; i < 4; i++) {
		c.chat_users.v = bad[i];
		c.chat_users.n = 1;
		memset(&d, 0, sizeof(d));
		assert_int_equal(chat_conf_check(&c, &d), -EINVAL);
		assert_non_null(strstr(d.msg, "chat.users[0]"));
		assert_non_null(strstr(d.msg, bad[i][0]));
	}
	c = conf();
	c.slack_app_token = (char *)"xapp-1";
	c.slack_bot_token = (char *)"";
	assert_int_equal(chat_conf_check(&c, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "bot_token"));
}

static void test_approvals(void **state)
{
	struct chat_approval_state w = { CHAT_CLASS_SAFE_WRITE, false, NULL };
	struct chat_approval_state dg = { CHAT_CLASS_DANGEROUS, false, "" };
	struct chat_approval_state rd = { CHAT_CLASS_SAFE_READ, false, NULL };

	(void)state;
	assert_int_equal(chat_approval_judge(&w, false, CHAT_ROLE_VIEWER, "a", true),
	                 CHAT_VERDICT_REFUSED);
	assert_int_equal(chat_approval_judge(&w, false, CHAT_ROLE_VIEWER, "a", false),
	                 CHAT_VERDICT_REFUSED); /* denying is deciding too */
	assert_int_equal(chat_approval_judge(&w, false, CHAT_ROLE_OPERATOR, "a", true),
	                 CHAT_VERDICT_APPROVED);
	assert_int_equal(chat_approval_judge(&w, true, CHAT_ROLE_OPERATOR, "a", false),
	                 CHAT_VERDICT_DENIED);
	assert_int_equal(chat_approval_judge(&dg, false, CHAT_ROLE_OPERATOR, "a", true),
	                 CHAT_VERDICT_REFUSED);
	assert_int_equal(chat_approval_judge(&dg, false, CHAT_ROLE_ADMIN, "a", true),
	                 CHAT_VERDICT_APPROVED);
	assert_int_equal(chat_approval_judge(&rd, false, CHAT_ROLE_NONE, "a", true),
	                 CHAT_VERDICT_REFUSED);
	assert_int_equal(chat_approval_judge(&rd, false, CHAT_ROLE_VIEWER, "a", true),
	                 CHAT_VERDICT_APPROVED);
	/* Double-sign: dangerous only, two different people. */
	assert_int_equal(chat_approval_judge(&dg, true, CHAT_ROLE_ADMIN, "slack:U1", true),
	                 CHAT_VERDICT_FIRST);
	dg.first_user = "slack:U1";
	assert_int_equal(chat_approval_judge(&dg, true, CHAT_ROLE_ADMIN, "slack:U1", true),
	                 CHAT_VERDICT_SAME_USER);
	assert_int_equal(chat_approval_judge(&dg, true, CHAT_ROLE_ADMIN, "telegram:5", true),
	                 CHAT_VERDICT_APPROVED);
	assert_int_equal(chat_approval_judge(&dg, true, CHAT_ROLE_ADMIN, "slack:U1", false),
	                 CHAT_VERDICT_DENIED); /* one no is enough */
	assert_int_equal(chat_approval_judge(&w, true, CHAT_ROLE_OPERATOR, "a", true),
	                 CHAT_VERDICT_APPROVED);
	dg.decided = true;
	assert_int_equal(chat_approval_judge(&dg, true, CHAT_ROLE_ADMIN, "x", true),
	                 CHAT_VERDICT_CLOSED);
	assert_int_equal(chat_role_for_class(CHAT_CLASS_DANGEROUS), CHAT_ROLE_ADMIN);
}

static void test_commands(void **state)
{
	char a[2][128];

	(void)state;
	assert_int_equal(chat_cmd_parse("status", a), CHAT_CMD_STATUS);
	assert_int_equal(chat_cmd_parse("  /status@ongrid_bot ", a), CHAT_CMD_STATUS);
	assert_int_equal(chat_cmd_parse("Help", a), CHAT_CMD_HELP);
	assert_int_equal(chat_cmd_parse("incidents", a), CHAT_CMD_INCIDENTS);
	assert_int_equal(chat_cmd_parse("models", a), CHAT_CMD_MODELS);
	assert_int_equal(chat_cmd_parse("model list", a), CHAT_CMD_MODELS);
	assert_int_equal(chat_cmd_parse("model use investigate openai/gpt-4o", a),
	                 CHAT_CMD_MODEL_USE);
	assert_string_equal(a[0], "investigate");
	assert_string_equal(a[1], "openai/gpt-4o");
	assert_int_equal(chat_cmd_parse("model reset investigate", a), CHAT_CMD_MODEL_RESET);
	assert_int_equal(chat_cmd_parse("approve act-1", a), CHAT_CMD_APPROVE);
	assert_string_equal(a[0], "act-1");
	assert_int_equal(chat_cmd_parse("deny act-1", a), CHAT_CMD_DENY);
	/* Questions that start like commands stay questions. */
	assert_int_equal(chat_cmd_parse("status of web-1 looks bad, why?", a), CHAT_CMD_NONE);
	assert_int_equal(chat_cmd_parse("approve act-1 please", a), CHAT_CMD_NONE);
	assert_int_equal(chat_cmd_parse("model use investigate", a), CHAT_CMD_NONE);
	assert_int_equal(chat_cmd_parse("", a), CHAT_CMD_NONE);
	assert_int_equal(chat_cmd_parse("why is web-1 slow?", a), CHAT_CMD_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),      cmocka_unit_test(test_allowlists),
		cmocka_unit_test(test_conf_check), cmocka_unit_test(test_approvals),
		cmocka_unit_test(test_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
