/* auth.h - how an edge proves it holds its secret without sending it (docs/protocol.md).
 *
 * `ongrid-relay keys create` prints an access key (public, "ogk_" + 24 hex) and a secret
 * ("ogs_" + 64 hex). Neither side uses the secret directly: both derive
 *     K = HMAC-SHA256(key = secret, "ongrid-edge-key-v1")
 * and the relay stores only K (hex), never the secret. K is one-way: a copy of the relay's
 * database does not reveal the printed secret, though it does let its holder sign as the
 * edge until the key is revoked, as with any shared-key scheme (protect data_dir).
 *
 * At connect the relay sends a fresh random nonce; the edge answers with
 *     mac = HMAC-SHA256(K, "ongrid-auth-v1\n" access_key "\n" edge_id "\n" nonce "\n" ts_ms)
 * The relay accepts only the nonce it issued on that connection, once, within the
 * timestamp window, compared in constant time.
 */
#ifndef ONGRID_AUTH_H
#define ONGRID_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/compiler.h"

#define AUTH_KEY_BYTES    32                           /* K */
#define AUTH_HEX_MAX      ((size_t)2 * AUTH_KEY_BYTES) /* K, a mac, or a nonce, in hex */
#define AUTH_NONCE_BYTES  32
#define AUTH_ACCESS_BYTES 12
#define AUTH_ACCESS_LEN   (4 + 2 * AUTH_ACCESS_BYTES) /* "ogk_" + hex */
#define AUTH_SECRET_LEN   (4 + 2 * AUTH_KEY_BYTES)    /* "ogs_" + hex */
#define AUTH_EDGE_ID_MAX  64

/* Fill out with 2*nbytes lowercase hex characters of RAND_bytes and a NUL; outsz must be at
 * least 2*nbytes+1. Returns 0 or -EIO when the CSPRNG fails. */
_warn_unused_ int auth_random_hex(char *out, size_t outsz, size_t nbytes);

/* A new access key and secret; sizes AUTH_ACCESS_LEN+1 and AUTH_SECRET_LEN+1. */
_warn_unused_ int auth_new_credentials(char *access_key, char *secret);

bool auth_valid_access_key(const char *s); /* "ogk_" + 24 lowercase hex */
bool auth_valid_secret(const char *s);     /* "ogs_" + 64 lowercase hex */
bool auth_valid_edge_id(const char *s);    /* [A-Za-z0-9._-]{1,64}: host names */

/* K from a secret, as 64 hex characters (outsz >= 65). Returns 0, -EINVAL for a malformed
 * secret, -EIO when OpenSSL fails. */
_warn_unused_ int auth_derive_key(const char *secret, char *out_hex, size_t outsz);

/* The mac for one challenge, as 64 hex characters. key_hex is K. */
_warn_unused_ int auth_sign(const char *key_hex, const char *access_key, const char *edge_id,
                            const char *nonce, int64_t ts_ms, char *out_hex, size_t outsz);

/* 0 when mac_hex is the right mac (constant-time compare), -EACCES when not, -EINVAL when
 * an input is malformed. */
_warn_unused_ int auth_verify(const char *key_hex, const char *access_key, const char *edge_id,
                              const char *nonce, int64_t ts_ms, const char *mac_hex);

/* 0 when ts_ms is within window_ms of now_ms (either side), else -ETIMEDOUT. */
int auth_check_time(int64_t ts_ms, int64_t now_ms, int64_t window_ms);

/* Nonces already used, remembered for window_ms so the same answer never works twice,
 * even if a nonce were ever issued again. Bounded: past max entries the oldest go first
 * (they are also the first to expire). */
struct auth_replay;
struct auth_replay *auth_replay_new(int64_t window_ms, size_t max);
void auth_replay_free(struct auth_replay *r);
/* 0 and remembered, or -EALREADY when nonce was seen within the window. */
int auth_replay_check(struct auth_replay *r, const char *nonce, int64_t now_ms);
size_t auth_replay_size(const struct auth_replay *r);

/* "1a2b3c4d": the first 8 hex digits of SHA-256(s), for logs that must not show secrets. */
void auth_fingerprint8(const char *s, char out[9]);

#endif
