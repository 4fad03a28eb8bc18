/* chunk.h - compressed runs of (int64 ms, double) samples, the unit the TSDB stores.
 *
 * A chunk holds up to CHUNK_MAX_SAMPLES samples in strictly increasing time. Timestamps
 * are delta-of-delta coded in variable-width buckets (Gorilla), so a regular series costs
 * one bit per timestamp. Values use one of four encodings chosen per chunk:
 *   CHUNK_XOR        Gorilla XOR of the IEEE bits: exact for every double (NaN payloads,
 *                    the Prometheus stale marker, -0.0, infinities).
 *   CHUNK_DEC_DOD    values that are decimals with at most 9 fractional digits (counters,
 *   CHUNK_DEC_DELTA  byte counts, /proc figures in hundredths) scaled to integers, then
 *   CHUNK_DEC_RICE   delta-of-delta or delta coded in the timestamps' buckets, or (RICE,
 *                    only when a whole chunk is known) the deltas minus their median in
 *                    a Rice code whose parameter fits the chunk.
 * A decimal encoding is used only when every value decodes back to the identical bits,
 * so all are lossless; which one wins is decided by size (chunk_encode) or, while
 * appending, by the values seen so far (the appender re-encodes when a value stops
 * fitting, at most a few times per chunk).
 *
 * Layout: byte 0 = encoding (low 4 bits) | decimal scale (high 4 bits); bytes 1-2 = sample
 * count, big endian; then one bit stream: for the decimal encodings the step (the common
 * divisor of the scaled values' distances, so byte counts moving in 4 KiB pages cost
 * 12 bits less), for RICE the base and parameter, then per sample the timestamp and the
 * value.
 * Decoding is bounds-checked everywhere: hostile bytes give -EPROTO, never a wild read.
 */
#ifndef ONGRID_TSDB_CHUNK_H
#define ONGRID_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/compiler.h"

/* Samples per chunk: 240 at a 15 s interval is one hour, enough to amortise the ~20-byte
 * header and index entry to under 0.1 byte per sample, small enough that a query for the
 * last minutes decodes little it does not need. */
#define CHUNK_MAX_SAMPLES  240
/* Worst case: 19 bytes of header parameters, and per sample 6+64 timestamp bits and at
 * most 32+64 value bits (21 bytes). */
#define CHUNK_MAX_BYTES    (3 + 19 + CHUNK_MAX_SAMPLES * 21)
#define CHUNK_HEADER_BYTES 3

enum chunk_enc {
	CHUNK_XOR = 1,
	CHUNK_DEC_DOD = 2,
	CHUNK_DEC_DELTA = 3,
	CHUNK_DEC_RICE = 4,
	_CHUNK_ENC_MAX
};

/* A bit writer over a growable buffer that never grows past max bytes. */
struct bitw {
	uint8_t *data; /* owned */
	size_t nbits;
	size_t cap; /* bytes allocated */
	size_t max; /* bytes */
};
/* Append the low n (1..64) bits of v, most significant first. -E2BIG past max. */
int bitw_put(struct bitw *w, uint64_t v, unsigned n) _warn_unused_;
void bitw_release(struct bitw *w);

/* A bit reader over len bytes; every read is checked against the end. */
struct bitr {
	const uint8_t *data;
	size_t nbits; /* total available */
	size_t pos;
};
void bitr_init(struct bitr *r, const uint8_t *p, size_t len);
/* Read n (1..64) bits into *ret. -EPROTO when fewer than n remain. */
int bitr_get(struct bitr *r, unsigned n, uint64_t *ret) _warn_unused_;

/* Incremental encoder. The bytes (chunk_app_bytes) form a valid chunk after every
 * successful append, so the head can be queried and flushed at any moment. */
struct chunk_app {
	struct bitw w;
	uint16_t n;
	uint8_t enc, scale;
	uint64_t t, tdelta;        /* last timestamp and delta, as wrapping unsigned */
	uint64_t vbits;            /* XOR: last value's bits */
	uint8_t leading, trailing; /* XOR: last window; leading 0xff = none yet */
	uint64_t iv, idelta;       /* DEC: last scaled value and delta (in steps) */
	uint64_t step;             /* DEC: every value differs from the first by k * step */
	uint64_t base;             /* RICE: subtracted from each delta before coding */
	uint8_t rice_k;            /* RICE: low bits written in binary */
};

/* Start an empty chunk. Nothing to release until the first append. */
void chunk_app_init(struct chunk_app *a);
/* Append one sample. -ERANGE when t is not after the last timestamp, -E2BIG when the chunk
 * already holds CHUNK_MAX_SAMPLES (cut a new one). The chunk is unchanged on error. */
int chunk_append(struct chunk_app *a, int64_t t, double v) _warn_unused_;
/* The encoded chunk (valid until the next append or release) and its sample count. */
const uint8_t *chunk_app_bytes(const struct chunk_app *a, size_t *ret_len);
static inline unsigned chunk_app_count(const struct chunk_app *a)
{
	return a->n;
}
int64_t chunk_app_last_t(const struct chunk_app *a);
void chunk_app_release(struct chunk_app *a);

/* Encode n (1..CHUNK_MAX_SAMPLES) samples, strictly increasing in t, with whichever
 * encoding is smallest. The caller frees *ret. -EINVAL for bad n or order. */
int chunk_encode(const int64_t *t, const double *v, size_t n, uint8_t **ret, size_t *ret_len);

/* Sequential decoder over borrowed bytes. */
struct chunk_iter {
	struct bitr r;
	uint16_t n, i;
	uint8_t enc, scale;
	uint64_t t, tdelta, vbits, iv, idelta, step, base;
	uint8_t rice_k;
	uint8_t leading, trailing;
};
/* Check the header; -EPROTO when it is malformed. */
int chunk_iter_init(struct chunk_iter *it, const uint8_t *p, size_t len) _warn_unused_;
/* 1 with the next sample, 0 at the end, -EPROTO on malformed bits or timestamps that do
 * not increase. */
int chunk_iter_next(struct chunk_iter *it, int64_t *ret_t, double *ret_v) _warn_unused_;
static inline unsigned chunk_iter_count(const struct chunk_iter *it)
{
	return it->n;
}

/* Decode a whole chunk into arrays of at least CHUNK_MAX_SAMPLES. */
int chunk_decode(const uint8_t *p, size_t len, int64_t *t, double *v, size_t *ret_n);

#endif
