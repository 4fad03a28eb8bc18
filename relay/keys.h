/* keys.h - edge access keys in relay.sqlite: create, look up, list, revoke.
 *
 * A key has a name (usually the edge's host name), a public access key, the verifier K
 * derived from its secret (shared/auth.h; the secret itself is printed once and never
 * stored) and a role: the highest tool class an edge holding it may ask other edges to run
 * (safe-read, safe-write or dangerous). Revoking keeps the row, so audit rows still name it
 * and the name cannot be silently reused.
 */
#ifndef ONGRID_RELAY_KEYS_H
#define ONGRID_RELAY_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "shared/auth.h"
#include "shared/diag.h"

#define KEYS_NAME_MAX 64

struct relay_key {
	char name[KEYS_NAME_MAX + 1];
	char access_key[AUTH_ACCESS_LEN + 1];
	char verifier[AUTH_HEX_MAX + 1];
	char role[16];
	int64_t created_ms;
	int64_t revoked_ms; /* 0 while valid */
};

bool keys_valid_name(const char *name); /* [A-Za-z0-9._-]{1,64} */
bool keys_valid_role(const char *role); /* safe-read | safe-write | dangerous */

/* Make a key; on success ret_secret (AUTH_SECRET_LEN+1 bytes) holds the secret, which
 * exists nowhere else afterwards. -EEXIST when the name is taken (even if revoked). */
int keys_create(sqlite3 *db, const char *name, const char *role, struct relay_key *ret_key,
                char *ret_secret, struct diag *d);
/* -ENOENT when no key has this access key. Revoked keys are returned (revoked_ms set). */
int keys_lookup(sqlite3 *db, const char *access_key, struct relay_key *ret_key, struct diag *d);
/* -ENOENT for an unknown name, -EALREADY when already revoked. */
int keys_revoke(sqlite3 *db, const char *name, struct diag *d);
/* A JSON array of {name, access_key, role, created, revoked}. */
int keys_list(sqlite3 *db, cJSON **ret, struct diag *d);

#endif
