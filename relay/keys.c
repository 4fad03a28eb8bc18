/* keys.c - edge access keys; see keys.h. */
#include <errno.h>
#include <string.h>

#include "relay/keys.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

bool keys_valid_name(const char *name)
{
	return auth_valid_edge_id(name);
}

bool keys_valid_role(const char *role)
{
	return role && (!strcmp(role, "safe-read") || !strcmp(role, "safe-write") ||
	                !strcmp(role, "dangerous"));
}

int keys_create(sqlite3 *db, const char *name, const char *role, struct relay_key *ret_key,
                char *ret_secret, struct diag *d)
{
	struct relay_key k = { 0 };
	char secret[AUTH_SECRET_LEN + 1];
	sqlite3_stmt *st;
	int r, rc;

	if (!keys_valid_name(name))
		return diag_set(d, -EINVAL,
		                "key name '%s': expected 1-64 characters of [A-Za-z0-9._-]", name);
	if (!keys_valid_role(role))
		return diag_set(d, -EINVAL,
		                "role '%s': expected safe-read, safe-write or dangerous", role);
	r = auth_new_credentials(k.access_key, secret);
	if (r == 0)
		r = auth_derive_key(secret, k.verifier, sizeof(k.verifier));
	if (r < 0)
		return diag_set(d, r, "cannot make a key: the random generator failed");
	str_copy(k.name, name, sizeof(k.name));
	str_copy(k.role, role, sizeof(k.role));
	k.created_ms = now_ms();
	r = db_prepare(db,
	               "INSERT INTO keys(name, access_key, verifier, role, created_ms) "
	               "VALUES (?, ?, ?, ?, ?)",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, k.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k.access_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k.verifier, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k.role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, k.created_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		r = diag_set(d, -EEXIST, "a key named '%s' already exists", name);
	else if (rc != SQLITE_DONE)
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (r == 0) {
		*ret_key = k;
		memcpy(ret_secret, secret, sizeof(secret));
	}
	memset(secret, 0, sizeof(secret));
	return r;
}

static void row_to_key(sqlite3_stmt *st, struct relay_key *k)
{
	memset(k, 0, sizeof(*k));
	str_copy(k->name, (const char *)sqlite3_column_text(st, 0), sizeof(k->name));
	str_copy(k->access_key, (const char *)sqlite3_column_text(st, 1), sizeof(k->access_key));
	str_copy(k->verifier, (const char *)sqlite3_column_text(st, 2), sizeof(k->verifier));
	str_copy(k->role, (const char *)sqlite3_column_text(st, 3), sizeof(k->role));
	k->created_ms = sqlite3_column_int64(st, 4);
	k->revoked_ms = sqlite3_column_int64(st, 5);
}

int keys_lookup(sqlite3 *db, const char *access_key, struct relay_key *ret_key, struct diag *d)
{
	sqlite3_stmt *st;
	int r, rc;

	r = db_prepare(db,
	               "SELECT name, access_key, verifier, role, created_ms, "
	               "coalesce(revoked_ms, 0) FROM keys WHERE access_key = ?",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, access_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_to_key(st, ret_key);
	else if (rc == SQLITE_DONE)
		r = diag_set(d, -ENOENT, "unknown access key");
	else
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

int keys_revoke(sqlite3 *db, const char *name, struct diag *d)
{
	sqlite3_stmt *st;
	int r, rc;

	r = db_prepare(db, "UPDATE keys SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	else if (sqlite3_changes(db) == 0)
		r = -ENOENT;
	sqlite3_finalize(st);
	if (r != -ENOENT)
		return r;
	/* Tell "never existed" from "already revoked". */
	r = db_prepare(db, "SELECT 1 FROM keys WHERE name = ?", &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return diag_set(d, -EALREADY, "key '%s' is already revoked", name);
	return diag_set(d, -ENOENT, "no key named '%s'", name);
}

int keys_list(sqlite3 *db, cJSON **ret, struct diag *d)
{
	sqlite3_stmt *st;
	cJSON *arr;
	char ts[40];
	int r, rc;

	r = db_prepare(db,
	               "SELECT name, access_key, verifier, role, created_ms, "
	               "coalesce(revoked_ms, 0) FROM keys ORDER BY name",
	               &st, d);
	if (r < 0)
		return r;
	arr = json_arr();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct relay_key k;
		cJSON *o = json_obj();

		row_to_key(st, &k);
		json_add_str(o, "name", k.name);
		json_add_str(o, "access_key", k.access_key);
		json_add_str(o, "role", k.role);
		clock_format_rfc3339(ts, sizeof(ts), k.created_ms);
		json_add_str(o, "created", ts);
		if (k.revoked_ms) {
			clock_format_rfc3339(ts, sizeof(ts), k.revoked_ms);
			json_add_str(o, "revoked", ts);
		} else {
			json_add(o, "revoked", cJSON_CreateNull());
		}
		json_push(arr, o);
	}
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	} else {
		*ret = arr;
	}
	sqlite3_finalize(st);
	return r;
}
