/* db.h - SQLite with the settings every ongrid database wants, and migrations.
 *
 * db_open() sets WAL journaling, synchronous=NORMAL (durable at checkpoints; a crash loses
 * at most the last transactions, never consistency), a busy timeout and foreign keys, then
 * brings the schema up to date: migrations[i] runs once to move user_version from i to
 * i+1, inside one transaction each.
 */
#ifndef ONGRID_DB_H
#define ONGRID_DB_H

#include <stddef.h>
#include <sqlite3.h>

#include "shared/diag.h"

int db_open(const char *path, const char *const *migrations, size_t nmigrations, sqlite3 **ret,
            struct diag *d);
void db_close(sqlite3 *db); /* NULL-safe */

/* Run SQL with no result rows; fills d with SQLite's message on error. */
int db_exec(sqlite3 *db, const char *sql, struct diag *d);

/* Prepare or die trying is not an option for user input; this returns -EINVAL with d set. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, struct diag *d);

#endif
