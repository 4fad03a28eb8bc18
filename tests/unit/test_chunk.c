#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/tsdb/chunk.h"

#define STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

static uint64_t bits_of(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof(b));
	return b;
}

static double from_bits(uint64_t b)
{
	double v;
	memcpy(&v, &b, sizeof(v));
	return v;
}

/* Append every sample, decode, and require identical timestamps and value bits. */
static size_t roundtrip(const int64_t *t, const double *v, size_t n)
{
	struct chunk_app a;
	int64_t dt[CHUNK_MAX_SAMPLES];
	double dv[CHUNK_MAX_SAMPLES];
	const uint8_t *p;
	uint8_t *enc;
	size_t len, dn, elen;

	chunk_app_init(&a);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(chunk_append(&a, t[i], v[i]), 0);
	assert_int_equal(chunk_app_count(&a), n);
	p = chunk_app_bytes(&a, &len);
	assert_int_equal(chunk_decode(p, len, dt, dv, &dn), 0);
	assert_int_equal(dn, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(dt[i], t[i]);
		assert_int_equal(bits_of(dv[i]), bits_of(v[i]));
	}
	/* the one-shot encoder must agree and never be larger than the appender */
	assert_int_equal(chunk_encode(t, v, n, &enc, &elen), 0);
	assert_true(elen <= len);
	assert_int_equal(chunk_decode(enc, elen, dt, dv, &dn), 0);
	assert_int_equal(dn, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(dt[i], t[i]);
		assert_int_equal(bits_of(dv[i]), bits_of(v[i]));
	}
	free(enc);
	chunk_app_release(&a);
	return len;
}

static void special_values_round_trip_bit_exact(void **state)
{
	double v[] = { 0.0,
		       -0.0,
		       NAN,
		       from_bits(STALE_NAN_BITS),
		       INFINITY,
		       -INFINITY,
		       1.5,
		       -1.5,
		       2.2250738585072014e-308,
		       5e-324,
		       1.7e308,
		       from_bits(UINT64_C(0xfff8000000000001)),
		       42.0,
		       42.0,
		       0.1 + 0.2,
		       -0.0 };
	int64_t t[ARRAY_SIZE(v)];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		t[i] = 1700000000000 + (int64_t)i * 10000;
	roundtrip(t, v, ARRAY_SIZE(v));
}

static void irregular_timestamps_and_large_gaps_round_trip(void **state)
{
	int64_t t[] = { INT64_MIN + 1,
		        -5000000000000,
		        -1,
		        0,
		        1,
		        2,
		        1003,
		        1004,
		        86400000LL * 365,
		        86400000LL * 365 + 7,
		        INT64_MAX / 2,
		        INT64_MAX - 1,
		        INT64_MAX };
	double v[ARRAY_SIZE(t)];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		v[i] = (double)i * 1.25;
	roundtrip(t, v, ARRAY_SIZE(t));
}

static void random_values_switch_encoding_mid_chunk_and_stay_exact(void **state)
{
	int64_t t[CHUNK_MAX_SAMPLES];
	double v[CHUNK_MAX_SAMPLES];

	(void)state;
	srand(7);
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + (size_t)rand() % CHUNK_MAX_SAMPLES;
		int64_t ts = (int64_t)rand() * 1000;
		for (size_t i = 0; i < n; i++) {
			int kind = rand() % 6;
			ts += 1 + rand() % (round % 3 ? 20 : 100000);
			t[i] = ts;
			/* mostly decimals of growing precision, sometimes arbitrary bits */
			switch (kind) {
			case 0:
				v[i] = (double)(rand() % 1000);
				break;
			case 1:
				v[i] = (double)(rand() % 100000) / 100.0;
				break;
			case 2:
				v[i] = (double)(rand() - RAND_MAX / 2) / 1e6;
				break;
			case 3:
				v[i] = from_bits(((uint64_t)rand() << 33) ^
				                 ((uint64_t)rand() << 2) ^ (uint64_t)rand());
				break;
			default:
				v[i] = i ? v[i - 1] : 1.0;
				break;
			}
			if (round % 4 == 0 && kind == 3)
				v[i] = 3.0; /* some chunks stay decimal throughout */
		}
		roundtrip(t, v, n);
	}
}

static void decimal_counter_costs_under_two_bytes_per_sample(void **state)
{
	int64_t t[CHUNK_MAX_SAMPLES];
	double v[CHUNK_MAX_SAMPLES], c = 123456.78;
	uint8_t *enc;
	size_t len;

	(void)state;
	srand(1);
	for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++) {
		t[i] = 1700000000000 + (int64_t)i * 10000;
		c += (double)(rand() % 300) / 100.0; /* cpu seconds in hundredths */
		c = round(c * 100) / 100;
		v[i] = c;
	}
	len = roundtrip(t, v, CHUNK_MAX_SAMPLES);
	assert_true(len <= (size_t)CHUNK_MAX_SAMPLES * 2);
	assert_int_equal(chunk_encode(t, v, CHUNK_MAX_SAMPLES, &enc, &len), 0);
	assert_true(len <= (size_t)CHUNK_MAX_SAMPLES * 2);
	free(enc);
	/* XOR alone would need several bytes per sample for hundredths */
	for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++)
		v[i] += 1e-9 * (double)(i % 7);
	assert_int_equal(chunk_encode(t, v, CHUNK_MAX_SAMPLES, &enc, &len), 0);
	assert_true(len > (size_t)CHUNK_MAX_SAMPLES * 3);
	free(enc);
}

static void byte_gauge_moving_in_pages_costs_under_two_bytes_per_sample(void **state)
{
	int64_t t[CHUNK_MAX_SAMPLES];
	double v[CHUNK_MAX_SAMPLES], b = 3.0e9;
	uint8_t *enc;
	size_t len;

	(void)state;
	srand(2);
	for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++) {
		t[i] = 1700000000000 + (int64_t)i * 15000;
		b += (double)(rand() % 257 - 128) * 4096;
		v[i] = b;
	}
	roundtrip(t, v, CHUNK_MAX_SAMPLES);
	assert_int_equal(chunk_encode(t, v, CHUNK_MAX_SAMPLES, &enc, &len), 0);
	assert_true(len <= (size_t)CHUNK_MAX_SAMPLES * 2);
	free(enc);
}

static void out_of_order_and_full_chunk_are_refused_without_change(void **state)
{
	struct chunk_app a;
	const uint8_t *p;
	uint8_t before[CHUNK_MAX_BYTES];
	size_t len, len2;

	(void)state;
	chunk_app_init(&a);
	assert_int_equal(chunk_append(&a, 1000, 1.0), 0);
	assert_int_equal(chunk_append(&a, 2000, 2.5), 0);
	p = chunk_app_bytes(&a, &len);
	memcpy(before, p, len);
	assert_int_equal(chunk_append(&a, 2000, 3.0), -ERANGE);
	assert_int_equal(chunk_append(&a, 1500, 3.0), -ERANGE);
	p = chunk_app_bytes(&a, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(p, before, len);
	assert_int_equal(chunk_app_last_t(&a), 2000);
	for (int64_t i = 2; i < CHUNK_MAX_SAMPLES; i++)
		assert_int_equal(chunk_append(&a, 1000 + i * 1000, (double)i), 0);
	assert_int_equal(chunk_append(&a, 1000000, 1.0), -E2BIG);
	assert_int_equal(chunk_app_count(&a), CHUNK_MAX_SAMPLES);
	chunk_app_release(&a);
}

static void truncated_or_garbled_chunks_are_rejected(void **state)
{
	int64_t t[50], dt[CHUNK_MAX_SAMPLES];
	double v[50], dv[CHUNK_MAX_SAMPLES];
	uint8_t *enc, bad[8] = { 0 };
	size_t len, n;

	(void)state;
	for (int i = 0; i < 50; i++) {
		t[i] = i * 15000;
		v[i] = from_bits((uint64_t)i * UINT64_C(0x9e3779b97f4a7c15));
	}
	assert_int_equal(chunk_encode(t, v, 50, &enc, &len), 0);
	for (size_t cut = 0; cut < len - 1; cut++)
		assert_int_equal(chunk_decode(enc, cut, dt, dv, &n), -EPROTO);
	enc[0] = 0x0f; /* unknown encoding */
	assert_int_equal(chunk_decode(enc, len, dt, dv, &n), -EPROTO);
	enc[0] = CHUNK_XOR;
	enc[1] = 0xff; /* count beyond the maximum */
	assert_int_equal(chunk_decode(enc, len, dt, dv, &n), -EPROTO);
	free(enc);
	bad[0] = CHUNK_DEC_DOD | (10 << 4); /* scale past 9 */
	bad[2] = 1;
	assert_int_equal(chunk_decode(bad, sizeof(bad), dt, dv, &n), -EPROTO);
	assert_int_equal(chunk_encode(t, v, 0, &enc, &len), -EINVAL);
	t[3] = t[2];
	assert_int_equal(chunk_encode(t, v, 10, &enc, &len), -EINVAL);
}

static void bit_writer_stops_at_its_cap(void **state)
{
	struct bitw w = { .max = 2 };
	struct bitr r;
	uint64_t x;

	(void)state;
	assert_int_equal(bitw_put(&w, 0x5, 3), 0);
	assert_int_equal(bitw_put(&w, 0x1fff, 13), 0);
	assert_int_equal(bitw_put(&w, 1, 1), -E2BIG);
	bitr_init(&r, w.data, 2);
	assert_int_equal(bitr_get(&r, 3, &x), 0);
	assert_int_equal(x, 5);
	assert_int_equal(bitr_get(&r, 13, &x), 0);
	assert_int_equal(x, 0x1fff);
	assert_int_equal(bitr_get(&r, 1, &x), -EPROTO);
	bitw_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(special_values_round_trip_bit_exact),
		cmocka_unit_test(irregular_timestamps_and_large_gaps_round_trip),
		cmocka_unit_test(random_values_switch_encoding_mid_chunk_and_stay_exact),
		cmocka_unit_test(decimal_counter_costs_under_two_bytes_per_sample),
		cmocka_unit_test(byte_gauge_moving_in_pages_costs_under_two_bytes_per_sample),
		cmocka_unit_test(out_of_order_and_full_chunk_are_refused_without_change),
		cmocka_unit_test(truncated_or_garbled_chunks_are_rejected),
		cmocka_unit_test(bit_writer_stops_at_its_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
