/* journal.c - sd-journal reader with a cursor kept in the log store. */
#define LOG_MODULE "journal"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "edge/logs/journal.h"
#include "shared/alloc.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/banned.h"

#define CURSOR_KEY        "journal.cursor"
#define FIRST_LOOKBACK_MS (3600 * 1000LL)

struct journal {
	sd_journal *j;
	char *cursor; /* of the last entry handed out; NULL before the first */
};

static char *load_cursor(sqlite3 *db)
{
	sqlite3_stmt *st;
	char *c = NULL;

	if (!db ||
	    db_prepare(db, "SELECT value FROM kv WHERE key = '" CURSOR_KEY "'", &st, NULL) < 0)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		c = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return c;
}

int journal_open(const char *dir, sqlite3 *db, int64_t now_ms, struct journal **ret, struct diag *d)
{
	struct journal *j;
	int r;

	if (!dir && access("/var/log/journal", F_OK) < 0 && access("/run/log/journal", F_OK) < 0)
		return diag_set(d, -ENOENT,
		                "no systemd journal on this host (neither /var/log/journal nor "
		                "/run/log/journal exists)");
	if (dir && access(dir, F_OK) < 0)
		return diag_set(d, -ENOENT, "no systemd journal in '%s'", dir);
	j = xcalloc(1, sizeof(*j));
	r = dir ? sd_journal_open_directory(&j->j, dir, 0)
	        : sd_journal_open(&j->j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		free(j);
		return diag_set(d, r, "cannot open the systemd journal: %s", strerror(-r));
	}
	/* inotify on the journal directories, so files journald creates later are seen
	 * (sd_journal_process() in each poll) */
	(void)sd_journal_get_fd(j->j);
	j->cursor = load_cursor(db);
	if (j->cursor) {
		r = sd_journal_seek_cursor(j->j, j->cursor);
		/* the cursor names the entry already read: step past it */
		if (r >= 0 && sd_journal_next(j->j) > 0 &&
		    sd_journal_test_cursor(j->j, j->cursor) <= 0)
			sd_journal_previous(j->j);
	} else {
		r = sd_journal_seek_realtime_usec(j->j,
		                                  (uint64_t)(now_ms - FIRST_LOOKBACK_MS) * 1000);
	}
	if (r < 0) {
		journal_close(j);
		return diag_set(d, r, "cannot seek in the systemd journal: %s", strerror(-r));
	}
	*ret = j;
	return 0;
}

static int field(sd_journal *j, const char *name, const char **ret, size_t *len)
{
	const void *data;
	size_t n, nl = strlen(name);
	int r = sd_journal_get_data(j, name, &data, &n);

	if (r < 0 || n <= nl || ((const char *)data)[nl] != '=')
		return -ENOENT;
	*ret = (const char *)data + nl + 1;
	*len = n - nl - 1;
	return 0;
}

int journal_poll(struct journal *j, size_t max, journal_entry_fn *fn, void *udata)
{
	(void)sd_journal_process(j->j); /* pick up new and rotated journal files */
	for (size_t i = 0; i < max; i++) {
		const char *msg, *v;
		size_t mlen, vlen;
		char unit[256] = "";
		int prio = -1, r;
		uint64_t usec = 0;
		char *cur;

		r = sd_journal_next(j->j);
		if (r < 0) {
			log_warn("cannot read the journal: %s, retrying next time", strerror(-r));
			return 0;
		}
		if (r == 0)
			return 0;
		if (sd_journal_get_realtime_usec(j->j, &usec) < 0 ||
		    field(j->j, "MESSAGE", &msg, &mlen) < 0)
			continue;
		if (field(j->j, "_SYSTEMD_UNIT", &v, &vlen) == 0 ||
		    field(j->j, "SYSLOG_IDENTIFIER", &v, &vlen) == 0) {
			vlen = vlen < sizeof(unit) - 1 ? vlen : sizeof(unit) - 1;
			memcpy(unit, v, vlen);
			unit[vlen] = '\0';
		}
		if (field(j->j, "PRIORITY", &v, &vlen) == 0 && vlen == 1 && v[0] >= '0' &&
		    v[0] <= '7')
			prio = v[0] - '0';
		r = fn(udata, (int64_t)(usec / 1000), unit, prio, msg, mlen);
		if (r < 0)
			return r;
		if (sd_journal_get_cursor(j->j, &cur) >= 0) {
			free(j->cursor);
			j->cursor = cur;
		}
	}
	return 1;
}

int journal_save(struct journal *j, sqlite3 *db, struct diag *d)
{
	sqlite3_stmt *st;
	int r;

	if (!j->cursor)
		return 0;
	r = db_prepare(db, "INSERT OR REPLACE INTO kv(key, value) VALUES ('" CURSOR_KEY "', ?)",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, j->cursor, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->j)
		sd_journal_close(j->j);
	free(j->cursor);
	free(j);
}
