/* fuzz_chunk: the chunk decoder must reject or decode any bytes without reading out of
 * bounds, and the encoder must round-trip any samples bit-exactly.
 *
 * The input is used twice: as a chunk to decode, and as a list of 16-byte samples
 * (int64 time delta, double bits) to encode with the appender and chunk_encode and decode
 * again; a mismatch aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tsdb/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const int64_t *t, const double *v, size_t n)
{
	int64_t dt[CHUNK_MAX_SAMPLES];
	double dv[CHUNK_MAX_SAMPLES];
	struct chunk_app a;
	const uint8_t *p;
	uint8_t *enc;
	size_t len, dn;

	chunk_app_init(&a);
	for (size_t i = 0; i < n; i++)
		if (chunk_append(&a, t[i], v[i]) != 0)
			abort();
	p = chunk_app_bytes(&a, &len);
	if (chunk_decode(p, len, dt, dv, &dn) != 0 || dn != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (dt[i] != t[i] || memcmp(&dv[i], &v[i], sizeof(double)) != 0)
			abort();
	chunk_app_release(&a);
	if (chunk_encode(t, v, n, &enc, &len) != 0)
		abort();
	if (chunk_decode(enc, len, dt, dv, &dn) != 0 || dn != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (dt[i] != t[i] || memcmp(&dv[i], &v[i], sizeof(double)) != 0)
			abort();
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t t[CHUNK_MAX_SAMPLES];
	double v[CHUNK_MAX_SAMPLES];
	size_t n = 0;
	int64_t last = 0;

	(void)chunk_decode(data, size, t, v, &n);

	n = 0;
	for (size_t off = 0; off + 16 <= size && n < CHUNK_MAX_SAMPLES; off += 16) {
		uint64_t d;
		memcpy(&d, data + off, 8);
		d = 1 + (d >> 1); /* a positive step, possibly huge */
		if (n == 0) {
			last = (int64_t)(d << 1); /* any start, negative too */
		} else {
			uint64_t room = (uint64_t)INT64_MAX - (uint64_t)last; /* exact, mod 2^64 */
			if (d > room)
				break;
			last = (int64_t)((uint64_t)last + d);
		}
		t[n] = last;
		memcpy(&v[n], data + off + 8, 8);
		n++;
	}
	if (n > 0)
		check_roundtrip(t, v, n);
	return 0;
}
