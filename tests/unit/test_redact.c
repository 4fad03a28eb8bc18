/* test_redact.c - secrets never leave the host: each kind of secret is replaced, the name of
 * the field stays, ordinary text is untouched, and JSON evidence is redacted in depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/agent/agent.h"

static void expect_redacted(const char *in, const char *secret, const char *kept)
{
	size_t n = 0;
	char *out = redact_text(in, &n);

	if (strstr(out, secret) || !strstr(out, REDACTED) || (kept && !strstr(out, kept)))
		fail_msg("redact_text(\"%s\") = \"%s\": expected '%s' gone and '%s' kept", in, out,
		         secret, kept ? kept : "");
	assert_true(n >= 1);
	free(out);
}

static void each_kind_of_secret_is_replaced(void **state)
{
	(void)state;
	expect_redacted("aws_access_key_id AKIAIOSFODNN7EXAMPLE in env", "AKIAIOSFODNN7EXAMPLE",
	                "aws_access_key_id");
	expect_redacted("Authorization: Bearer eyJhbGciOi.abc.def-ghijkl", "eyJhbGciOi", "Bearer ");
	expect_redacted("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA",
	                "Basic ");
	expect_redacted("db=postgres://app:s3cr3tPass@10.0.0.7:5432/orders", "s3cr3tPass",
	                "postgres://app:");
	expect_redacted("host=db1 user=app password=hunter2 dbname=x", "hunter2", "password=");
	expect_redacted("DB_PASSWORD=\"correct horse\"", "correct", "DB_PASSWORD");
	expect_redacted("{\"api_key\": \"abcd1234efgh\"}", "abcd1234efgh", "api_key");
	expect_redacted("client_secret: zzTopSecret99", "zzTopSecret99", "client_secret");
	expect_redacted("token ghp_0123456789abcdefghijABCDEFGHIJ012345 used",
	                "ghp_0123456789abcdefghij", "used");
	expect_redacted("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 ok", "abcdefghijklmnop",
	                " ok");
	expect_redacted("edge secret ogs_9f8e7d6c5b4a39281706 here", "ogs_9f8e7d6c5b4a", "here");
	expect_redacted("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n"
	                "-----END RSA PRIVATE KEY-----\nafter",
	                "MIIEpAIBAAKCAQEA", "after");
	/* a key block cut by an output cap is still removed to the end */
	expect_redacted("x\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk",
	                "b3BlbnNzaC1rZXk", "x\n");
}

static void ordinary_text_is_untouched(void **state)
{
	static const char *const plain[] = {
		"GET /api/orders 500 12ms",
		"disk /dev/vda1 is 97% full",
		"connect to 10.0.0.7:5432 timed out after 3000 ms",
		"http://example.com/path?q=1",
		"the author wrote 3 lines",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t n = 7;
		char *out = redact_text(plain[i], &n);

		assert_string_equal(out, plain[i]);
		assert_int_equal(n, 0);
		free(out);
	}
}

static void redaction_is_idempotent(void **state)
{
	char *once = redact_text("password=hunter2 and token: abc123", NULL);
	size_t n = 9;
	char *twice = redact_text(once, &n);

	(void)state;
	assert_string_equal(once, twice);
	assert_int_equal(n, 0);
	free(once);
	free(twice);
}

static void json_evidence_is_redacted_in_depth(void **state)
{
	cJSON *ev = cJSON_Parse("{\"findings\":[\"login with password=hunter2 failed\"],"
	                        "\"env\":{\"PASSWORD\":\"plainvalue\",\"HOME\":\"/root\"},"
	                        "\"rows\":[{\"line\":\"Bearer abcdefghijklmnop\"}]}");
	char *s;

	(void)state;
	assert_non_null(ev);
	assert_true(redact_json(ev) >= 3);
	s = cJSON_PrintUnformatted(ev);
	assert_null(strstr(s, "hunter2"));
	assert_null(strstr(s, "plainvalue"));
	assert_null(strstr(s, "abcdefghijklmnop"));
	assert_non_null(strstr(s, "\"HOME\":\"/root\""));
	free(s);
	cJSON_Delete(ev);
}

static void invalid_utf8_is_not_passed_through_unread(void **state)
{
	char *out = redact_text("password=\xff\xfe", NULL);

	(void)state;
	assert_null(strstr(out, "\xff"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_kind_of_secret_is_replaced),
		cmocka_unit_test(ordinary_text_is_untouched),
		cmocka_unit_test(redaction_is_idempotent),
		cmocka_unit_test(json_evidence_is_redacted_in_depth),
		cmocka_unit_test(invalid_utf8_is_not_passed_through_unread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
