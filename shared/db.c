#include <errno.h>
#include <stdio.h>

#include "shared/db.h"
#include "shared/banned.h"

int db_exec(sqlite3 *db, const char *sql, struct diag *d)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		int r = diag_set(d, -EIO, "sqlite: %s", err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return r;
	}
	return 0;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, struct diag *d)
{
	if (sqlite3_prepare_v2(db, sql, -1, ret, NULL) != SQLITE_OK)
		return diag_set(d, -EINVAL, "sqlite: %s", sqlite3_errmsg(db));
	return 0;
}

static int user_version(sqlite3 *db, int *ret, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, "PRAGMA user_version", &st, d);

	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	} else {
		*ret = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return r;
}

int db_open(const char *path, const char *const *migrations, size_t nmigrations, sqlite3 **ret,
            struct diag *d)
{
	sqlite3 *db = NULL;
	int version = 0, r;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		r = diag_set(d, -EIO, "%s: cannot open database: %s", path,
		             db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 5000);
	r = db_exec(db,
	            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	            "PRAGMA foreign_keys=ON;",
	            d);
	if (r == 0)
		r = user_version(db, &version, d);
	if (r == 0 && (size_t)version > nmigrations)
		r = diag_set(d, -EINVAL,
		             "%s: schema version %d is newer than this ongrid knows (%zu); "
		             "refusing to touch it",
		             path, version, nmigrations);
	for (size_t i = (size_t)(version > 0 ? version : 0); r == 0 && i < nmigrations; i++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version=%zu;", i + 1);
		r = db_exec(db, "BEGIN IMMEDIATE;", d);
		if (r == 0)
			r = db_exec(db, migrations[i], d);
		if (r == 0)
			r = db_exec(db, bump, d);
		if (r == 0)
			r = db_exec(db, "COMMIT;", d);
		else
			db_exec(db, "ROLLBACK;", NULL);
		if (r < 0)
			diag_prefix(d, "%s: migration %zu: ", path, i + 1);
	}
	if (r < 0) {
		sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

void db_close(sqlite3 *db)
{
	if (db)
		sqlite3_close(db);
}
