/* add_incident_note.c - append a note to an incident (safe-write: it only adds a row, and
 * a note can be superseded by another). Notes live in <data_dir>/notes.db. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

static const char *const migrations[] = {
	"CREATE TABLE notes ("
	"  id INTEGER PRIMARY KEY,"
	"  incident TEXT NOT NULL,"
	"  author TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  note TEXT NOT NULL"
	");"
	"CREATE INDEX notes_by_incident ON notes(incident, at);",
};

static int note_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *incident = cJSON_GetObjectItemCaseSensitive(args, "incident")->valuestring;
	const char *text = cJSON_GetObjectItemCaseSensitive(args, "note")->valuestring;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *path, finding[160];
	int64_t id = 0, count = 0;
	cJSON *ev;
	int r;

	r = mkdir_p(ctx->conf->data_dir, 0700);
	if (r < 0)
		return diag_set(&ctx->diag, r, "cannot create '%s': %s", ctx->conf->data_dir,
		                strerror(-r));
	path = xasprintf("%s/notes.db", ctx->conf->data_dir);
	{
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
	}
	r = db_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), &db, &ctx->diag);
	free(path);
	if (r < 0)
		return r;
	r = db_prepare(db, "SELECT COUNT(*) FROM notes WHERE incident = ?", &st, &ctx->diag);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_int64(st, 0) >= ONGRID_NOTES_MAX_PER_INCIDENT) {
		r = diag_set(&ctx->diag, -E2BIG, "incident '%s' already has %d notes (the limit)",
		             incident, ONGRID_NOTES_MAX_PER_INCIDENT);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = db_prepare(
	        db, "INSERT INTO notes (incident, author, role, at, note) VALUES (?, ?, ?, ?, ?)",
	        &st, &ctx->diag);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ctx->identity ? ctx->identity : "unknown", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ctx->role ? ctx->role : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms());
	sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = diag_set(&ctx->diag, -EIO, "notes: sqlite: %s", sqlite3_errmsg(db));
		goto out;
	}
	id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	r = db_prepare(db, "SELECT COUNT(*) FROM notes WHERE incident = ?", &st, &ctx->diag);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	ev = json_obj();
	snprintf(finding, sizeof(finding), "note %lld added to incident '%s' (%lld notes now)",
	         (long long)id, incident, (long long)count);
	json_add_str(ev, "finding", finding);
	json_add_str(ev, "incident", incident);
	json_add_num(ev, "note_id", (double)id);
	json_add_num(ev, "notes", (double)count);
	*ret_evidence = ev;
out:
	sqlite3_finalize(st);
	db_close(db);
	return r;
}

const struct tool tool_add_incident_note = {
	.name = "add_incident_note",
	.class = TOOL_SAFE_WRITE,
	.summary = "append a note to an incident's record",
	.description = "Record a finding or a decision on an incident, for the people who read it "
	               "later. Notes are appended, never edited.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"incident\",\"note\"],\"properties\":{"
	               "\"incident\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._:-]{1,64}$\"},"
	               "\"note\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4000}},"
	               "\"additionalProperties\":false}",
	.run = note_run,
};
