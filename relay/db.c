/* db.c - relay.sqlite: schema, audit rows and the pid file. See db.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay/db.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/str.h"
#include "shared/banned.h"

static const char *const migrations[] = {
	/* 1: keys store only the derived verifier K (shared/auth.h), never the secret. */
	"CREATE TABLE keys ("
	"  name TEXT PRIMARY KEY,"
	"  access_key TEXT NOT NULL UNIQUE,"
	"  verifier TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  revoked_ms INTEGER);"
	"CREATE TABLE edges ("
	"  name TEXT PRIMARY KEY,"
	"  key_name TEXT,"
	"  labels TEXT NOT NULL DEFAULT '{}',"
	"  version TEXT NOT NULL DEFAULT '',"
	"  address TEXT NOT NULL DEFAULT '',"
	"  connected INTEGER NOT NULL DEFAULT 0,"
	"  connected_since_ms INTEGER,"
	"  last_heartbeat_ms INTEGER,"
	"  last_seen_ms INTEGER,"
	"  shared_key INTEGER NOT NULL DEFAULT 0);"
	/* Exactly-once: a message id is recorded here in the same transaction that accepts
	 * it, before the ack leaves (docs/protocol.md, "Outbox"). */
	"CREATE TABLE inbox ("
	"  edge TEXT NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  received_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (edge, msg_id)) WITHOUT ROWID;"
	"CREATE INDEX inbox_received ON inbox(received_ms);"
	"CREATE TABLE topology ("
	"  edge TEXT PRIMARY KEY,"
	"  graph TEXT NOT NULL,"
	"  updated_ms INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at_ms INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  edge TEXT,"
	"  key_name TEXT,"
	"  detail TEXT NOT NULL DEFAULT '');",
};

int relay_db_open(const char *data_dir, sqlite3 **ret, struct diag *d)
{
	char path[4096];
	int fd, r;

	r = mkdir_p(data_dir, 0700);
	if (r < 0)
		return diag_set(d, r, "cannot create data directory '%s': %s", data_dir,
		                strerror(-r));
	snprintf(path, sizeof(path), "%s/%s", data_dir, RELAY_DB_FILE);
	/* The keys' verifiers let their reader sign as any edge (docs/protocol.md), and
	 * data_dir may already exist with looser modes (a packaged StateDirectory, a mkdir
	 * by hand): the database is the owner's alone, whatever the directory allows.
	 * SQLite gives its -wal and -shm files the database file's mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	r = fd < 0 || fchmod(fd, 0600) < 0 ? -errno : 0;
	if (fd >= 0)
		(void)close(fd);
	if (r < 0)
		return diag_set(d, r, "cannot create '%s' with mode 0600: %s", path, strerror(-r));
	for (int i = 0; i < 2; i++) { /* left by an older relay, which did not do this */
		char side[sizeof(path) + 8];
		snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
		if (chmod(side, 0600) < 0 && errno != ENOENT)
			return diag_set(d, -errno, "cannot make '%s' mode 0600: %s", side,
			                strerror(errno));
	}
	return db_open(path, migrations, ARRAY_SIZE(migrations), ret, d);
}

int relay_db_audit(sqlite3 *db, const char *event, const char *edge, const char *key,
                   const char *fmt, ...)
{
	sqlite3_stmt *st;
	char detail[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r = db_prepare(db,
	               "INSERT INTO audit(at_ms, event, edge, key_name, detail) "
	               "VALUES (?, ?, ?, ?, ?)",
	               &st, NULL);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, edge, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return r;
}

int relay_pidfile_write(const char *data_dir, struct diag *d)
{
	char path[4096], pid[32];
	int n, r;

	snprintf(path, sizeof(path), "%s/relay.pid", data_dir);
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	r = write_atomic(path, pid, (size_t)n, 0644);
	if (r < 0)
		return diag_set(d, r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}

void relay_pidfile_remove(const char *data_dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/relay.pid", data_dir);
	(void)unlink(path);
}

int relay_pidfile_alive(const char *data_dir)
{
	char path[4096];
	long long pid;

	snprintf(path, sizeof(path), "%s/relay.pid", data_dir);
	if (read_file_i64(path, &pid) < 0 || pid <= 0 || pid > 0x3fffffff)
		return 0;
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return 0;
	return (int)pid;
}
