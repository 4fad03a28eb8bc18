/* journal.h - read the systemd journal (libsystemd's sd-journal) with a saved cursor.
 *
 * Where neither /var/log/journal nor /run/log/journal exists (containers, hosts without
 * systemd) journal_open() says so with -ENOENT and a reason, and the edge goes on with
 * files only. The cursor of the last entry handed out is saved by journal_save() in the
 * same transaction as the lines, so a restart resumes after it: nothing is read twice
 * and nothing is skipped. A first start reads from one hour back, not the whole journal.
 */
#ifndef ONGRID_LOGS_JOURNAL_H
#define ONGRID_LOGS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "shared/diag.h"

struct journal;

/* unit is "" when the entry has no _SYSTEMD_UNIT (then the identifier, if any);
 * priority is 0..7, or -1 when absent. Return 0, or a negative errno to stop. */
typedef int journal_entry_fn(void *udata, int64_t ts_ms, const char *unit, int priority,
                             const char *msg, size_t len);

/* dir: a journal directory to read instead of the system's (tests); NULL for the host's. */
int journal_open(const char *dir, sqlite3 *db, int64_t now_ms, struct journal **ret,
                 struct diag *d);
/* Hand out up to max entries. Returns 1 when more are waiting, 0, or a negative errno. */
int journal_poll(struct journal *j, size_t max, journal_entry_fn *fn, void *udata);
int journal_save(struct journal *j, sqlite3 *db, struct diag *d);
void journal_close(struct journal *j); /* NULL-safe */

#endif
