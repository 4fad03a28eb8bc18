/* db.h - the relay's SQLite database (data_dir/relay.sqlite): edge keys (hash only), the
 * registry of edges, delivered outbox message ids, topology reports and the audit log.
 *
 * Other relay modules that need tables add a migration at the end of the list in db.c;
 * never edit a migration that has shipped.
 */
#ifndef ONGRID_RELAY_DB_H
#define ONGRID_RELAY_DB_H

#include <sqlite3.h>

#include "shared/compiler.h"
#include "shared/diag.h"

#define RELAY_DB_FILE "relay.sqlite"

/* Create data_dir (mode 0700) if needed and open data_dir/relay.sqlite. */
int relay_db_open(const char *data_dir, sqlite3 **ret, struct diag *d);

/* One audit row: event is "auth.refused", "key.revoked", "edge.duplicate", "xcall" ...;
 * edge and key may be NULL. Failures are returned, never fatal: the caller logs them. */
int relay_db_audit(sqlite3 *db, const char *event, const char *edge, const char *key,
                   const char *fmt, ...) _printf_(5, 6);

/* The pid file of a running relay in data_dir: written by `run`, read by the CLI to tell
 * whether registry rows marked connected are current. */
int relay_pidfile_write(const char *data_dir, struct diag *d);
void relay_pidfile_remove(const char *data_dir);
/* The pid of a live relay using data_dir, or 0. */
int relay_pidfile_alive(const char *data_dir);

#endif
