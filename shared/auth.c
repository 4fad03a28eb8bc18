/* auth.c - HMAC-SHA256 challenge/response and the replay window; see auth.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <uthash.h>

#include "shared/alloc.h"
#include "shared/auth.h"
#include "shared/list.h"
#include "shared/banned.h"

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly n bytes of lowercase hex. */
static int from_hex(const char *s, unsigned char *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

int auth_random_hex(char *out, size_t outsz, size_t nbytes)
{
	unsigned char buf[64];

	if (nbytes > sizeof(buf) || outsz < 2 * nbytes + 1)
		return -EINVAL;
	/* the kernel's CSPRNG, as RAND_bytes seeds from: an outbox id in the edge daemon must
	 * not map libcrypto (edge/tls_lazy.c) */
	for (size_t got = 0; got < nbytes;) {
		ssize_t k = getrandom(buf + got, nbytes - got, 0);

		if (k < 0 && errno != EINTR)
			return -EIO;
		if (k > 0)
			got += (size_t)k;
	}
	to_hex(buf, nbytes, out);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int auth_new_credentials(char *access_key, char *secret)
{
	int r;

	memcpy(access_key, "ogk_", 5);
	memcpy(secret, "ogs_", 5);
	r = auth_random_hex(access_key + 4, AUTH_ACCESS_LEN - 4 + 1, AUTH_ACCESS_BYTES);
	if (r == 0)
		r = auth_random_hex(secret + 4, AUTH_SECRET_LEN - 4 + 1, AUTH_KEY_BYTES);
	return r;
}

bool auth_valid_access_key(const char *s)
{
	return s && strncmp(s, "ogk_", 4) == 0 && is_hex(s + 4, (size_t)2 * AUTH_ACCESS_BYTES);
}

bool auth_valid_secret(const char *s)
{
	return s && strncmp(s, "ogs_", 4) == 0 && is_hex(s + 4, (size_t)2 * AUTH_KEY_BYTES);
}

bool auth_valid_edge_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > AUTH_EDGE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int hmac(const void *key, size_t keylen, const void *msg, size_t len,
                unsigned char out[AUTH_KEY_BYTES])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen) ||
	    outlen != AUTH_KEY_BYTES)
		return -EIO;
	return 0;
}

int auth_derive_key(const char *secret, char *out_hex, size_t outsz)
{
	static const char label[] = "ongrid-edge-key-v1";
	unsigned char k[AUTH_KEY_BYTES];
	int r;

	if (!auth_valid_secret(secret))
		return -EINVAL;
	if (outsz < 2 * AUTH_KEY_BYTES + 1)
		return -EINVAL;
	r = hmac(secret, strlen(secret), label, sizeof(label) - 1, k);
	if (r == 0)
		to_hex(k, sizeof(k), out_hex);
	explicit_bzero(k, sizeof(k));
	return r;
}

static int compute_mac(const char *key_hex, const char *access_key, const char *edge_id,
                       const char *nonce, int64_t ts_ms, unsigned char out[AUTH_KEY_BYTES])
{
	unsigned char k[AUTH_KEY_BYTES];
	char msg[256];
	int n, r;

	if (from_hex(key_hex, k, sizeof(k)) < 0 || !auth_valid_access_key(access_key) ||
	    !auth_valid_edge_id(edge_id) ||
	    !is_hex(nonce ? nonce : "", (size_t)2 * AUTH_NONCE_BYTES))
		return -EINVAL;
	n = snprintf(msg, sizeof(msg), "ongrid-auth-v1\n%s\n%s\n%s\n%lld", access_key, edge_id,
	             nonce, (long long)ts_ms);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -EINVAL;
	r = hmac(k, sizeof(k), msg, (size_t)n, out);
	explicit_bzero(k, sizeof(k));
	return r;
}

int auth_sign(const char *key_hex, const char *access_key, const char *edge_id, const char *nonce,
              int64_t ts_ms, char *out_hex, size_t outsz)
{
	unsigned char mac[AUTH_KEY_BYTES];
	int r;

	if (outsz < 2 * AUTH_KEY_BYTES + 1)
		return -EINVAL;
	r = compute_mac(key_hex, access_key, edge_id, nonce, ts_ms, mac);
	if (r == 0)
		to_hex(mac, sizeof(mac), out_hex);
	return r;
}

int auth_verify(const char *key_hex, const char *access_key, const char *edge_id, const char *nonce,
                int64_t ts_ms, const char *mac_hex)
{
	unsigned char want[AUTH_KEY_BYTES], got[AUTH_KEY_BYTES];
	int r;

	if (from_hex(mac_hex, got, sizeof(got)) < 0)
		return -EINVAL;
	r = compute_mac(key_hex, access_key, edge_id, nonce, ts_ms, want);
	if (r < 0)
		return r;
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0 ? 0 : -EACCES;
}

int auth_check_time(int64_t ts_ms, int64_t now_ms, int64_t window_ms)
{
	int64_t delta = ts_ms > now_ms ? ts_ms - now_ms : now_ms - ts_ms;

	return delta <= window_ms ? 0 : -ETIMEDOUT;
}

struct seen {
	char nonce[AUTH_HEX_MAX + 1];
	int64_t expires_ms;
	struct list_head fifo; /* oldest first: insertion order is expiry order */
	UT_hash_handle hh;
};

struct auth_replay {
	int64_t window_ms;
	size_t max, n;
	struct seen *by_nonce;
	struct list_head fifo;
};

struct auth_replay *auth_replay_new(int64_t window_ms, size_t max)
{
	struct auth_replay *r = xcalloc(1, sizeof(*r));

	r->window_ms = window_ms;
	r->max = max ? max : 1;
	list_init(&r->fifo);
	return r;
}

static void drop(struct auth_replay *r, struct seen *s)
{
	HASH_DEL(r->by_nonce, s);
	list_del(&s->fifo);
	free(s);
	r->n--;
}

void auth_replay_free(struct auth_replay *r)
{
	struct list_head *p, *n;

	if (!r)
		return;
	HASH_CLEAR(hh, r->by_nonce);
	list_for_each_safe(p, n, &r->fifo) {
		free(list_entry(p, struct seen, fifo));
	}
	free(r);
}

int auth_replay_check(struct auth_replay *r, const char *nonce, int64_t now_ms)
{
	struct seen *s;
	size_t len = strlen(nonce);

	if (len == 0 || len > AUTH_HEX_MAX)
		return -EINVAL;
	/* drop() unlinks s from the list before freeing it; the analyzer loses track of
	 * that through uthash's macros. */
	/* NOLINTBEGIN(clang-analyzer-unix.Malloc) */
	while (!list_empty(&r->fifo)) {
		s = list_entry(r->fifo.next, struct seen, fifo);
		if (s->expires_ms > now_ms && r->n < r->max)
			break;
		drop(r, s);
	}
	/* NOLINTEND(clang-analyzer-unix.Malloc) */
	HASH_FIND(hh, r->by_nonce, nonce, len, s);
	if (s)
		return -EALREADY;
	s = xcalloc(1, sizeof(*s));
	memcpy(s->nonce, nonce, len + 1);
	s->expires_ms = now_ms + r->window_ms;
	HASH_ADD(hh, r->by_nonce, nonce[0], len, s);
	list_add_tail(&s->fifo, &r->fifo);
	r->n++;
	return 0;
}

size_t auth_replay_size(const struct auth_replay *r)
{
	return r->n;
}

void auth_fingerprint8(const char *s, char out[9])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), md);
	to_hex(md, 4, out);
}
