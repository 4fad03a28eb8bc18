/* test_auth.c - HMAC challenge/response: known answers, refusals, the replay window,
 * fingerprints and reconnect backoff. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "edge/tunnel.h"
#include "shared/auth.h"
#include "shared/tls.h"

#define SECRET  "ogs_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define AK      "ogk_0123456789abcdef01234567"
#define NONCE   "aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00"
#define KEY_HEX "edc3f41dc3bbf516c1f295536c1223cfa0a6cf216ec8a1bbb727b4649279626e"
#define MAC_HEX "2b2ea3225be82d01183b438ec2f3d874329fc760812ff15042bbba7bad4171b3"

static void credentials_have_the_documented_shape(void **state)
{
	char ak[AUTH_ACCESS_LEN + 1], sk[AUTH_SECRET_LEN + 1], ak2[AUTH_ACCESS_LEN + 1],
	        sk2[AUTH_SECRET_LEN + 1];

	(void)state;
	assert_int_equal(auth_new_credentials(ak, sk), 0);
	assert_int_equal(auth_new_credentials(ak2, sk2), 0);
	assert_true(auth_valid_access_key(ak));
	assert_true(auth_valid_secret(sk));
	assert_string_not_equal(ak, ak2);
	assert_string_not_equal(sk, sk2);
	assert_false(auth_valid_secret("ogs_short"));
	assert_false(auth_valid_access_key("ogk_0123456789ABCDEF01234567"));
}

/* Known answer computed independently (Python hmac, as in tests/mock/edgeclient.py), so
 * both sides of the wire agree on the bytes, not just with themselves. */
static void sign_matches_an_independent_implementation(void **state)
{
	char k[AUTH_HEX_MAX + 1], mac[AUTH_HEX_MAX + 1];

	(void)state;
	assert_int_equal(auth_derive_key(SECRET, k, sizeof(k)), 0);
	assert_string_equal(k, KEY_HEX);
	assert_int_equal(auth_sign(k, AK, "web-1", NONCE, 1795500000000LL, mac, sizeof(mac)), 0);
	assert_string_equal(mac, MAC_HEX);
}

static void verify_refuses_any_changed_input(void **state)
{
	char k[AUTH_HEX_MAX + 1], mac[AUTH_HEX_MAX + 1], bad[AUTH_HEX_MAX + 1];

	(void)state;
	assert_int_equal(auth_derive_key(SECRET, k, sizeof(k)), 0);
	assert_int_equal(auth_sign(k, AK, "web-1", NONCE, 1000, mac, sizeof(mac)), 0);
	assert_int_equal(auth_verify(k, AK, "web-1", NONCE, 1000, mac), 0);
	assert_int_equal(auth_verify(k, AK, "web-2", NONCE, 1000, mac), -EACCES);
	assert_int_equal(auth_verify(k, AK, "web-1", NONCE, 1001, mac), -EACCES);
	snprintf(bad, sizeof(bad), "%s", mac);
	bad[0] = bad[0] == '0' ? '1' : '0';
	assert_int_equal(auth_verify(k, AK, "web-1", NONCE, 1000, bad), -EACCES);
	assert_int_equal(auth_verify(k, AK, "web-1", "00", 1000, mac), -EINVAL);
	assert_int_equal(auth_verify(k, AK, "bad id!", NONCE, 1000, mac), -EINVAL);
	assert_int_equal(auth_verify(k, AK, "web-1", NONCE, 1000, "zz"), -EINVAL);
}

static void stale_timestamps_are_refused_both_ways(void **state)
{
	(void)state;
	assert_int_equal(auth_check_time(100000, 100000, 1000), 0);
	assert_int_equal(auth_check_time(99000, 100000, 1000), 0);
	assert_int_equal(auth_check_time(98999, 100000, 1000), -ETIMEDOUT);
	assert_int_equal(auth_check_time(101001, 100000, 1000), -ETIMEDOUT);
}

static void replay_window_refuses_a_nonce_twice_then_forgets(void **state)
{
	struct auth_replay *r = auth_replay_new(1000, 4);

	(void)state;
	assert_int_equal(auth_replay_check(r, "n1", 0), 0);
	assert_int_equal(auth_replay_check(r, "n1", 500), -EALREADY);
	assert_int_equal(auth_replay_check(r, "n2", 500), 0);
	assert_int_equal(auth_replay_check(r, "n1", 1001), 0); /* expired, remembered again */
	/* bounded: past 4 entries the oldest go */
	for (int i = 0; i < 10; i++) {
		char n[16];
		snprintf(n, sizeof(n), "x%d", i);
		assert_int_equal(auth_replay_check(r, n, 1002), 0);
	}
	assert_true(auth_replay_size(r) <= 4);
	auth_replay_free(r);
}

static void fingerprints_compare_loosely_but_exactly(void **state)
{
	const char *a = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	const char *b = "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
	                "55:66:77:88:99:AA:BB:CC:DD:EE:FF";

	(void)state;
	assert_true(tls_fingerprint_equal(a, b));
	assert_false(tls_fingerprint_equal(a, "sha256:00"));
	assert_false(tls_fingerprint_equal(a,
	                                   "sha256:10112233445566778899aabbccddeeff00112233445566"
	                                   "778899aabbccddeeff"));
}

static void backoff_grows_to_the_cap_with_jitter(void **state)
{
	uint64_t seed = 42;
	int64_t prev_max = 0;

	(void)state;
	for (unsigned a = 0; a < 20; a++) {
		int64_t want = 500;
		for (unsigned i = 0; i < a && want < 60000; i++)
			want *= 2;
		if (want > 60000)
			want = 60000;
		for (int k = 0; k < 50; k++) {
			int64_t d = tunnel_backoff_ms(a, 500, 60000, &seed);
			assert_true(d >= want / 2 && d <= want);
			if (d > prev_max)
				prev_max = d;
		}
	}
	assert_true(prev_max <= 60000 && prev_max > 30000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(credentials_have_the_documented_shape),
		cmocka_unit_test(sign_matches_an_independent_implementation),
		cmocka_unit_test(verify_refuses_any_changed_input),
		cmocka_unit_test(stale_timestamps_are_refused_both_ways),
		cmocka_unit_test(replay_window_refuses_a_nonce_twice_then_forgets),
		cmocka_unit_test(fingerprints_compare_loosely_but_exactly),
		cmocka_unit_test(backoff_grows_to_the_cap_with_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
