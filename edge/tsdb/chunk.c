/* chunk.c - Gorilla-style sample compression with a lossless decimal mode (see chunk.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tsdb/chunk.h"
#include "shared/alloc.h"
#include "shared/banned.h"

/* Powers of ten up to 1e9 are exact doubles, so i / pow10[k] is one correctly rounded
 * division: the encoder checks that exact expression, and the decoder repeats it. */
#define DEC_MAX_SCALE 9
static const double pow10_tab[DEC_MAX_SCALE + 1] = { 1e0, 1e1, 1e2, 1e3, 1e4,
	                                             1e5, 1e6, 1e7, 1e8, 1e9 };
/* Scaled integers stay within the doubles' exact integer range. */
#define DEC_MAX_ABS 9007199254740992.0 /* 2^53 */

static uint64_t dbits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double bitsd(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* ---- bit writer and reader ---- */

int bitw_put(struct bitw *w, uint64_t v, unsigned n)
{
	size_t need = (w->nbits + n + 7) / 8;

	if (need > w->max)
		return -E2BIG;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 16;
		while (cap < need)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		w->data = xrealloc(w->data, cap);
		memset(w->data + w->cap, 0, cap - w->cap);
		w->cap = cap;
	}
	if (n < 64)
		v &= (UINT64_C(1) << n) - 1;
	while (n > 0) {
		unsigned room = 8 - (unsigned)(w->nbits & 7);
		unsigned take = n < room ? n : room;
		uint8_t bits;

		if (take > 8) /* cannot happen; tells the analyzer the shifts are small */
			take = 8;
		bits = (uint8_t)((v >> (n - take)) & (0xffu >> (8 - take)));

		w->data[w->nbits >> 3] |= (uint8_t)(bits << (room - take));
		w->nbits += take;
		n -= take;
	}
	return 0;
}

/* Drop the bits after nbits so a failed append leaves no trace (bitw_put ORs bits in). */
static void bitw_truncate(struct bitw *w, size_t nbits)
{
	size_t end = (w->nbits + 7) / 8;

	if (nbits >= w->nbits)
		return;
	if (nbits & 7)
		w->data[nbits >> 3] &= (uint8_t)(0xff << (8 - (nbits & 7)));
	for (size_t i = (nbits + 7) / 8; i < end; i++)
		w->data[i] = 0;
	w->nbits = nbits;
}

void bitw_release(struct bitw *w)
{
	free(w->data);
	w->data = NULL;
	w->nbits = w->cap = 0;
}

void bitr_init(struct bitr *r, const uint8_t *p, size_t len)
{
	r->data = p;
	r->nbits = len * 8;
	r->pos = 0;
}

/* The decoder's hot path: inlined, with one unaligned 8-byte load for most reads. */
static inline int rd(struct bitr *r, unsigned n, uint64_t *ret)
{
	uint64_t out = 0;
	size_t pos = r->pos;

	if (n == 0 || n > 64 || r->nbits - r->pos < n)
		return -EPROTO;
	/* eight whole bytes readable, and the field within the 57 bits left after the
	 * in-byte offset */
	if (n <= 57 && (pos >> 3) + 8 <= r->nbits >> 3) {
		uint64_t w;

		memcpy(&w, r->data + (pos >> 3), sizeof(w));
		w = __builtin_bswap64(w); /* the stream is most significant bit first */
		*ret = (w << (pos & 7)) >> (64 - n);
		r->pos = pos + n;
		return 0;
	}
	while (n > 0) {
		unsigned avail = 8 - (unsigned)(pos & 7);
		unsigned take = n < avail ? n : avail;
		unsigned bits;

		if (take > 8) /* cannot happen; tells the analyzer the shifts are small */
			take = 8;
		bits = (r->data[pos >> 3] >> (avail - take)) & (0xffu >> (8 - take));

		out = (out << take) | bits;
		pos += take;
		n -= take;
	}
	r->pos = pos;
	*ret = out;
	return 0;
}

int bitr_get(struct bitr *r, unsigned n, uint64_t *ret)
{
	return rd(r, n, ret);
}

/* ---- variable-width signed integers (timestamp and decimal deltas) ----
 * '0' = 0; '10' + 7 bits; '110' + 10; '1110' + 14; '11110' + 20; '111110' + 32;
 * '111111' + 64. The 7- and 10-bit buckets keep small gauge steps, counter increments in
 * hundredths and millisecond jitter cheap. */
static const struct {
	uint8_t prefix, prefix_bits, bits;
} buckets[] = {
	{ 0x2, 2, 7 },   { 0x6, 3, 10 },  { 0xe, 4, 14 },
	{ 0x1e, 5, 20 }, { 0x3e, 6, 32 }, { 0x3f, 6, 64 },
};

static int put_varbits(struct bitw *w, uint64_t u)
{
	int64_t x = (int64_t)u;
	int r;

	if (x == 0)
		return bitw_put(w, 0, 1);
	for (size_t i = 0; i < ARRAY_SIZE(buckets); i++) {
		unsigned b = buckets[i].bits;
		if (b < 64) {
			int64_t lo = -(INT64_C(1) << (b - 1)), hi = (INT64_C(1) << (b - 1)) - 1;
			if (x < lo || x > hi)
				continue;
		}
		r = bitw_put(w, buckets[i].prefix, buckets[i].prefix_bits);
		if (r < 0)
			return r;
		return bitw_put(w, u, b);
	}
	return -EINVAL; /* unreachable: the last bucket takes everything */
}

static inline int get_varbits(struct bitr *r, uint64_t *ret)
{
	unsigned avail = r->nbits - r->pos < 6 ? (unsigned)(r->nbits - r->pos) : 6;
	unsigned ones, used, b;
	uint64_t pre, x;
	int e;

	/* read the longest prefix at once and give back what it did not use */
	if (avail == 0)
		return -EPROTO;
	e = rd(r, avail, &pre);
	if (e < 0)
		return e;
	x = ~(pre << (64 - avail)); /* leading ones of the prefix become leading zeros */
	ones = x ? (unsigned)__builtin_clzll(x) : 64;
	if (ones > avail)
		ones = avail;
	if (ones < ARRAY_SIZE(buckets) && ones == avail)
		return -EPROTO; /* the prefix runs past the end */
	used = ones < ARRAY_SIZE(buckets) ? ones + 1 : ones;
	r->pos -= avail - used;
	if (ones == 0) {
		*ret = 0;
		return 0;
	}
	b = buckets[ones - 1].bits;
	e = rd(r, b, &x);
	if (e < 0)
		return e;
	if (b < 64 && (x >> (b - 1)) & 1)
		x |= ~UINT64_C(0) << b; /* sign-extend */
	*ret = x;
	return 0;
}

/* ---- Rice codes (CHUNK_DEC_RICE) ----
 * A residual x is zigzagged (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...), then written as
 * zz >> k in unary (ones, then a zero) and the low k bits. A quotient of RICE_ESCAPE or
 * more is written as RICE_ESCAPE ones and the 64 raw bits, so no value costs more than
 * 96 bits. With k chosen per chunk, a residual spread over 2^k costs about k + 2 bits,
 * against the 10-13 bits of the fixed buckets. */
#define RICE_ESCAPE 32

static uint64_t zigzag(uint64_t u)
{
	return (u << 1) ^ (0 - (u >> 63)); /* all ones when negative */
}

static uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (~(z & 1) + 1);
}

static int put_rice(struct bitw *w, uint64_t x, unsigned k)
{
	uint64_t zz = zigzag(x), q = zz >> k;
	int r;

	if (q >= RICE_ESCAPE) {
		r = bitw_put(w, (UINT64_C(1) << RICE_ESCAPE) - 1, RICE_ESCAPE);
		return r < 0 ? r : bitw_put(w, zz, 64);
	}
	r = bitw_put(w, ((UINT64_C(1) << q) - 1) << 1, (unsigned)q + 1);
	if (r == 0 && k > 0)
		r = bitw_put(w, zz, k);
	return r;
}

static inline int get_rice(struct bitr *r, unsigned k, uint64_t *ret)
{
	unsigned avail =
	        r->nbits - r->pos < RICE_ESCAPE ? (unsigned)(r->nbits - r->pos) : RICE_ESCAPE;
	uint64_t pre, zz, x;
	unsigned ones;
	int e;

	if (avail == 0)
		return -EPROTO;
	e = rd(r, avail, &pre);
	if (e < 0)
		return e;
	x = ~(pre << (64 - avail));
	ones = x ? (unsigned)__builtin_clzll(x) : 64;
	if (ones > avail)
		ones = avail;
	if (ones == RICE_ESCAPE) {
		e = rd(r, 64, &zz);
		if (e < 0)
			return e;
	} else {
		if (ones == avail)
			return -EPROTO; /* no terminating zero before the end */
		r->pos -= avail - (ones + 1);
		zz = (uint64_t)ones << k;
		if (k > 0) {
			e = rd(r, k, &x);
			if (e < 0)
				return e;
			zz |= x;
		}
	}
	*ret = unzigzag(zz);
	return 0;
}

/* The k that makes the n residuals' Rice code shortest. */
static unsigned rice_best_k(const uint64_t *res, size_t n)
{
	uint64_t best = UINT64_MAX;
	unsigned best_k = 0;

	for (unsigned k = 0; k < 56; k++) {
		uint64_t bits = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t q = zigzag(res[i]) >> k;
			bits += q >= RICE_ESCAPE ? RICE_ESCAPE + 64 : q + 1 + k;
		}
		if (bits < best) {
			best = bits;
			best_k = k;
		}
	}
	return best_k;
}

/* ---- decimal detection ---- */

static bool dec_fits(double v, unsigned k, uint64_t *ret)
{
	double s = v * pow10_tab[k], back;
	int64_t i;

	if (!(s >= -DEC_MAX_ABS && s <= DEC_MAX_ABS)) /* also false for NaN */
		return false;
	i = (int64_t)(s < 0 ? s - 0.5 : s + 0.5);
	back = (double)i / pow10_tab[k];
	if (dbits(back) != dbits(v)) /* -0.0 and anything inexact end here */
		return false;
	*ret = (uint64_t)i;
	return true;
}

/* The smallest decimal scale that holds v exactly, or -1. */
static int dec_scale(double v)
{
	uint64_t i;

	for (unsigned k = 0; k <= DEC_MAX_SCALE; k++)
		if (dec_fits(v, k, &i))
			return (int)k;
	return -1;
}

/* ---- encoder ---- */

static void set_header(struct chunk_app *a)
{
	a->w.data[0] = (uint8_t)(a->enc | (a->scale << 4));
	a->w.data[1] = (uint8_t)(a->n >> 8);
	a->w.data[2] = (uint8_t)a->n;
}

void chunk_app_init(struct chunk_app *a)
{
	memset(a, 0, sizeof(*a));
	a->w.max = CHUNK_MAX_BYTES;
	a->leading = 0xff;
	a->step = 1;
}

void chunk_app_release(struct chunk_app *a)
{
	bitw_release(&a->w);
	chunk_app_init(a);
}

const uint8_t *chunk_app_bytes(const struct chunk_app *a, size_t *ret_len)
{
	*ret_len = (a->w.nbits + 7) / 8;
	return a->w.data;
}

int64_t chunk_app_last_t(const struct chunk_app *a)
{
	return (int64_t)a->t;
}

static int put_xor(struct chunk_app *a, uint64_t bits)
{
	uint64_t x = bits ^ a->vbits;
	unsigned lead, trail, sig;
	int r;

	if (x == 0)
		return bitw_put(&a->w, 0, 1);
	lead = (unsigned)__builtin_clzll(x);
	trail = (unsigned)__builtin_ctzll(x);
	if (lead > 31)
		lead = 31;
	if (a->leading != 0xff && lead >= a->leading && trail >= a->trailing) {
		r = bitw_put(&a->w, 0x2, 2);
		if (r == 0)
			r = bitw_put(&a->w, x >> a->trailing, 64u - a->leading - a->trailing);
		return r;
	}
	sig = 64 - lead - trail;
	r = bitw_put(&a->w, 0x3, 2);
	if (r == 0)
		r = bitw_put(&a->w, lead, 5);
	if (r == 0)
		r = bitw_put(&a->w, sig & 63, 6); /* 64 is written as 0 */
	if (r == 0)
		r = bitw_put(&a->w, x >> trail, sig);
	a->leading = (uint8_t)lead;
	a->trailing = (uint8_t)trail;
	return r;
}

/* Encode one sample in the chunk's current mode; the caller has checked order and fit. */
static int put_sample(struct chunk_app *a, int64_t t, double v, uint64_t iv)
{
	uint64_t ut = (uint64_t)t;
	int r;

	if (a->n == 0) {
		r = bitw_put(&a->w, 0, 24); /* header, filled by set_header */
		if (r == 0 && a->enc != CHUNK_XOR)
			r = put_varbits(&a->w, a->step - 1);
		if (r == 0 && a->enc == CHUNK_DEC_RICE)
			r = put_varbits(&a->w, a->base);
		if (r == 0 && a->enc == CHUNK_DEC_RICE)
			r = bitw_put(&a->w, a->rice_k, 6);
		if (r == 0)
			r = bitw_put(&a->w, ut, 64);
		if (r == 0)
			r = bitw_put(&a->w, a->enc == CHUNK_XOR ? dbits(v) : iv, 64);
		if (r < 0)
			return r;
		a->t = ut;
		a->tdelta = 0;
		a->vbits = dbits(v);
		a->iv = iv;
		a->idelta = 0;
	} else {
		uint64_t delta = ut - a->t;

		r = put_varbits(&a->w, delta - a->tdelta);
		if (r < 0)
			return r;
		a->t = ut;
		a->tdelta = delta;
		switch (a->enc) {
		case CHUNK_XOR:
			r = put_xor(a, dbits(v));
			a->vbits = dbits(v);
			break;
		case CHUNK_DEC_DOD:
			delta = (uint64_t)((int64_t)(iv - a->iv) / (int64_t)a->step);
			r = put_varbits(&a->w, delta - a->idelta);
			a->idelta = delta;
			a->iv = iv;
			break;
		case CHUNK_DEC_DELTA:
			r = put_varbits(&a->w,
			                (uint64_t)((int64_t)(iv - a->iv) / (int64_t)a->step));
			a->iv = iv;
			break;
		default:
			delta = (uint64_t)((int64_t)(iv - a->iv) / (int64_t)a->step);
			r = put_rice(&a->w, delta - a->base, a->rice_k);
			a->iv = iv;
			break;
		}
		if (r < 0)
			return r;
	}
	a->n++;
	set_header(a);
	return 0;
}

static bool fits(const struct chunk_app *a, double v, uint64_t *ret_iv)
{
	*ret_iv = 0;
	if (a->enc == CHUNK_XOR)
		return true;
	if (!dec_fits(v, a->scale, ret_iv))
		return false;
	/* |values| < 2^53, so the difference cannot overflow */
	return a->n == 0 || (int64_t)(*ret_iv - a->iv) % (int64_t)a->step == 0;
}

/* Encode n samples into a fresh appender with a fixed encoding; -EDOM if a value does not
 * fit that encoding. */
struct enc_params {
	unsigned enc, scale;
	uint64_t step;
	uint64_t base;   /* CHUNK_DEC_RICE: subtracted from every delta (the median) */
	unsigned rice_k; /* CHUNK_DEC_RICE */
};

static int encode_fixed(const int64_t *t, const double *v, size_t n, const struct enc_params *p,
                        struct chunk_app *out)
{
	int r;

	chunk_app_init(out);
	out->enc = (uint8_t)p->enc;
	out->scale = (uint8_t)p->scale;
	out->step = p->step;
	out->base = p->base;
	out->rice_k = (uint8_t)p->rice_k;
	for (size_t i = 0; i < n; i++) {
		uint64_t iv;
		if (i > 0 && t[i] <= t[i - 1]) {
			r = -EINVAL;
			goto fail;
		}
		if (!fits(out, v[i], &iv)) {
			r = -EDOM;
			goto fail;
		}
		r = put_sample(out, t[i], v[i], iv);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	chunk_app_release(out);
	return r;
}

/* The decimal scale that holds all n values, or -1 when one of them is no decimal. */
static int common_scale(const double *v, size_t n)
{
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t iv;
		if (dec_fits(v[i], (unsigned)k, &iv))
			continue;
		k = dec_scale(v[i]);
		if (k < 0)
			return -1;
		/* a larger scale can still fail an earlier value past 2^53: recheck all */
		for (size_t j = 0; j < i; j++)
			if (!dec_fits(v[j], (unsigned)k, &iv))
				return -1;
	}
	return k;
}

int chunk_append(struct chunk_app *a, int64_t t, double v)
{
	int64_t ts[CHUNK_MAX_SAMPLES];
	double vs[CHUNK_MAX_SAMPLES];
	struct chunk_app fresh;
	struct chunk_iter it;
	uint64_t iv;
	size_t n = 0;
	int k, r;

	if (a->n >= CHUNK_MAX_SAMPLES)
		return -E2BIG;
	if (a->n > 0 && t <= (int64_t)a->t)
		return -ERANGE;
	if (a->n == 0) {
		k = dec_scale(v);
		a->enc = k < 0 ? CHUNK_XOR : CHUNK_DEC_DOD;
		a->scale = (uint8_t)(k < 0 ? 0 : k);
	}
	if (fits(a, v, &iv)) {
		struct chunk_app save = *a;
		r = put_sample(a, t, v, iv);
		if (r < 0) {
			bitw_truncate(&a->w, save.w.nbits);
			save.w = a->w;
			*a = save;
		}
		return r;
	}

	/* The value needs a larger scale or XOR: re-encode the chunk so far with it. */
	r = chunk_iter_init(&it, a->w.data, (a->w.nbits + 7) / 8);
	if (r < 0)
		return r;
	while ((r = chunk_iter_next(&it, &ts[n], &vs[n])) == 1)
		n++;
	if (r < 0)
		return r;
	ts[n] = t;
	vs[n] = v;
	n++;
	k = common_scale(vs, n);
	r = -EDOM;
	if (k >= 0)
		r = encode_fixed(ts, vs, n,
		                 &(struct enc_params){ CHUNK_DEC_DOD, (unsigned)k, 1, 0, 0 },
		                 &fresh);
	if (r == -EDOM)
		r = encode_fixed(ts, vs, n, &(struct enc_params){ CHUNK_XOR, 0, 1, 0, 0 }, &fresh);
	if (r < 0)
		return r;
	chunk_app_release(a);
	*a = fresh;
	return 0;
}

/* The greatest common divisor of the scaled values' distances from the first: byte
 * counts that move in pages (4096) or kB (1024) then cost a dozen bits fewer. */
static uint64_t common_step(const double *v, size_t n, unsigned k)
{
	uint64_t g = 0, first, iv;

	if (!dec_fits(v[0], k, &first))
		return 1;
	for (size_t i = 1; i < n && g != 1; i++) {
		uint64_t a, b;
		if (!dec_fits(v[i], k, &iv))
			return 1;
		a = (int64_t)(iv - first) < 0 ? first - iv : iv - first;
		b = g;
		while (b) {
			uint64_t tmp = a % b;
			a = b;
			b = tmp;
		}
		g = a;
	}
	return g ? g : 1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Rice parameters for values at scale k and step: the median delta as base, and the best
 * k for the residuals. */
static void rice_params(const double *v, size_t n, struct enc_params *p)
{
	int64_t d[CHUNK_MAX_SAMPLES];
	uint64_t res[CHUNK_MAX_SAMPLES], prev = 0, iv;

	p->base = 0;
	p->rice_k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!dec_fits(v[i], p->scale, &iv))
			return; /* cannot happen: the scale holds every value */
		if (i > 0)
			d[i - 1] = (int64_t)(iv - prev) / (int64_t)p->step;
		prev = iv;
	}
	if (n < 2)
		return;
	qsort(d, n - 1, sizeof(d[0]), cmp_i64);
	p->base = (uint64_t)d[(n - 1) / 2];
	for (size_t i = 0; i + 1 < n; i++)
		res[i] = (uint64_t)d[i] - p->base; /* the order does not change the total */
	p->rice_k = rice_best_k(res, n - 1);
}

int chunk_encode(const int64_t *t, const double *v, size_t n, uint8_t **ret, size_t *ret_len)
{
	struct enc_params cand[5];
	struct chunk_app best, c;
	size_t ncand = 0;
	uint64_t step;
	int k, r;

	if (n == 0 || n > CHUNK_MAX_SAMPLES)
		return -EINVAL;
	r = encode_fixed(t, v, n, &(struct enc_params){ CHUNK_XOR, 0, 1, 0, 0 }, &best);
	if (r < 0)
		return r;
	k = common_scale(v, n);
	if (k >= 0) {
		step = common_step(v, n, (unsigned)k);
		cand[ncand++] = (struct enc_params){ CHUNK_DEC_DOD, (unsigned)k, 1, 0, 0 };
		cand[ncand++] = (struct enc_params){ CHUNK_DEC_DELTA, (unsigned)k, 1, 0, 0 };
		if (step > 1) {
			cand[ncand++] =
			        (struct enc_params){ CHUNK_DEC_DOD, (unsigned)k, step, 0, 0 };
			cand[ncand++] =
			        (struct enc_params){ CHUNK_DEC_DELTA, (unsigned)k, step, 0, 0 };
		}
		cand[ncand] = (struct enc_params){ CHUNK_DEC_RICE, (unsigned)k, step, 0, 0 };
		rice_params(v, n, &cand[ncand]);
		ncand++;
	}
	for (size_t i = 0; i < ncand; i++) {
		if (encode_fixed(t, v, n, &cand[i], &c) < 0)
			continue;
		if (c.w.nbits < best.w.nbits) {
			chunk_app_release(&best);
			best = c;
		} else {
			chunk_app_release(&c);
		}
	}
	*ret_len = (best.w.nbits + 7) / 8;
	*ret = best.w.data; /* ownership moves to the caller */
	return 0;
}

/* ---- decoder ---- */

int chunk_iter_init(struct chunk_iter *it, const uint8_t *p, size_t len)
{
	memset(it, 0, sizeof(*it));
	if (len < CHUNK_HEADER_BYTES)
		return -EPROTO;
	it->enc = p[0] & 0xf;
	it->scale = p[0] >> 4;
	it->n = (uint16_t)(p[1] << 8 | p[2]);
	if (it->enc == 0 || it->enc >= _CHUNK_ENC_MAX || it->n == 0 || it->n > CHUNK_MAX_SAMPLES ||
	    it->scale > DEC_MAX_SCALE || (it->enc == CHUNK_XOR && it->scale != 0))
		return -EPROTO;
	bitr_init(&it->r, p, len);
	it->r.pos = (size_t)CHUNK_HEADER_BYTES * 8;
	it->leading = 0xff;
	it->step = 1;
	if (it->enc != CHUNK_XOR) {
		uint64_t s;
		if (get_varbits(&it->r, &s) < 0 || s >= (UINT64_C(1) << 53))
			return -EPROTO;
		it->step = s + 1;
	}
	if (it->enc == CHUNK_DEC_RICE) {
		uint64_t k;
		if (get_varbits(&it->r, &it->base) < 0 || rd(&it->r, 6, &k) < 0 || k > 56)
			return -EPROTO;
		it->rice_k = (uint8_t)k;
	}
	return 0;
}

static inline int get_xor(struct chunk_iter *it)
{
	uint64_t b = 0, lead = 0, sig = 0, x = 0;
	int r;

	r = rd(&it->r, 1, &b);
	if (r < 0 || b == 0)
		return r;
	r = rd(&it->r, 1, &b);
	if (r < 0)
		return r;
	if (b == 0) {
		if (it->leading == 0xff)
			return -EPROTO;
		sig = 64u - it->leading - it->trailing;
	} else {
		r = rd(&it->r, 5, &lead);
		if (r == 0)
			r = rd(&it->r, 6, &sig);
		if (r < 0)
			return r;
		if (sig == 0)
			sig = 64;
		if (lead + sig > 64)
			return -EPROTO;
		it->leading = (uint8_t)lead;
		it->trailing = (uint8_t)(64 - lead - sig);
	}
	r = rd(&it->r, (unsigned)sig, &x);
	if (r < 0)
		return r;
	if (x == 0)
		return -EPROTO; /* the encoder writes '0' for an unchanged value */
	it->vbits ^= x << it->trailing;
	return 0;
}

int chunk_iter_next(struct chunk_iter *it, int64_t *ret_t, double *ret_v)
{
	uint64_t d = 0;
	int r;

	if (it->i >= it->n)
		return 0;
	if (it->i == 0) {
		r = rd(&it->r, 64, &it->t);
		if (r == 0)
			r = rd(&it->r, 64, &d);
		if (r < 0)
			return r;
		it->vbits = it->iv = d;
	} else {
		uint64_t prev = it->t;

		r = get_varbits(&it->r, &d);
		if (r < 0)
			return r;
		it->tdelta += d;
		it->t += it->tdelta;
		if ((int64_t)it->t <= (int64_t)prev)
			return -EPROTO;
		switch (it->enc) {
		case CHUNK_XOR:
			r = get_xor(it);
			break;
		case CHUNK_DEC_DOD:
			r = get_varbits(&it->r, &d);
			it->idelta += d;
			it->iv += it->idelta * it->step;
			break;
		case CHUNK_DEC_DELTA:
			r = get_varbits(&it->r, &d);
			it->iv += d * it->step;
			break;
		default:
			r = get_rice(&it->r, it->rice_k, &d);
			it->iv += (d + it->base) * it->step;
			break;
		}
		if (r < 0)
			return r;
	}
	it->i++;
	*ret_t = (int64_t)it->t;
	*ret_v = it->enc == CHUNK_XOR ? bitsd(it->vbits)
	                              : (double)(int64_t)it->iv / pow10_tab[it->scale];
	return 1;
}

int chunk_decode(const uint8_t *p, size_t len, int64_t *t, double *v, size_t *ret_n)
{
	struct chunk_iter it;
	size_t n = 0;
	int r;

	r = chunk_iter_init(&it, p, len);
	if (r < 0)
		return r;
	while ((r = chunk_iter_next(&it, &t[n], &v[n])) == 1)
		n++;
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}
