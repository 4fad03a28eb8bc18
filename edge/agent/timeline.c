/* timeline.c - every step of an investigation, kept twice: in memory for the report, and in
 * <data_dir>/timeline.db so an incident's follow-ups and `status` can see what was done.
 * The store is best effort: an investigation never fails because its diary cannot be
 * written (a read-only data_dir, a CLI run as a user); the report says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Steps kept in memory per investigation: a runaway loop is cut by the step budget long
 * before, this only bounds the report. */
#define TIMELINE_MAX_STEPS 512

static const char *const migrations[] = {
	"CREATE TABLE investigations ("
	" id TEXT PRIMARY KEY, incident TEXT, question TEXT NOT NULL, started_ms INTEGER NOT NULL,"
	" category TEXT, component TEXT, statement TEXT, summary TEXT);"
	"CREATE INDEX investigations_incident ON investigations(incident, started_ms);"
	"CREATE TABLE steps ("
	" investigation TEXT NOT NULL, seq INTEGER NOT NULL, t_ms INTEGER NOT NULL,"
	" agent TEXT NOT NULL, event TEXT NOT NULL, tool TEXT, args TEXT, digest TEXT,"
	" tokens_in INTEGER, tokens_out INTEGER, duration_ms INTEGER, detail TEXT,"
	" PRIMARY KEY (investigation, seq));",
};

struct timeline {
	sqlite3 *db;
	char *id;
	int64_t start_mono;
	cJSON *events;
	int seq;
	char why[1024]; /* why the store is off */
};

static char *db_path(const char *data_dir)
{
	return xasprintf("%s/timeline.db", data_dir);
}

int timeline_open(const char *data_dir, const char *inv_id, const char *incident,
                  const char *question, struct timeline **ret, struct diag *d)
{
	struct timeline *tl = xcalloc(1, sizeof(*tl));
	struct diag dd = { 0 };
	sqlite3_stmt *st;
	char *path;

	(void)d;
	tl->id = xstrdup(inv_id);
	tl->start_mono = mono_ms();
	tl->events = json_arr();
	if (!data_dir || !*data_dir) {
		snprintf(tl->why, sizeof(tl->why), "no data_dir");
		goto done;
	}
	path = db_path(data_dir);
	if (mkdir_p(data_dir, 0750) < 0 ||
	    db_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), &tl->db, &dd) <
	            0) {
		snprintf(tl->why, sizeof(tl->why), "cannot open %s: %s", path,
		         dd.msg[0] ? dd.msg : "cannot create data_dir");
		tl->db = NULL;
		free(path);
		goto done;
	}
	free(path);
	if (db_prepare(tl->db,
	               "INSERT INTO investigations (id, incident, question, started_ms) "
	               "VALUES (?, ?, ?, ?)",
	               &st, &dd) == 0) {
		sqlite3_bind_text(st, 1, inv_id, -1, SQLITE_TRANSIENT);
		if (incident && *incident)
			sqlite3_bind_text(st, 2, incident, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, question, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, now_ms());
		if (sqlite3_step(st) != SQLITE_DONE)
			snprintf(tl->why, sizeof(tl->why), "timeline.db: %s",
			         sqlite3_errmsg(tl->db));
		sqlite3_finalize(st);
	}
done:
	*ret = tl;
	return 0;
}

void timeline_close(struct timeline *tl)
{
	if (!tl)
		return;
	db_close(tl->db);
	cJSON_Delete(tl->events);
	free(tl->id);
	free(tl);
}

static const char *dstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void bind_num(sqlite3_stmt *st, int col, const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNumber(v))
		sqlite3_bind_int64(st, col, (sqlite3_int64)v->valuedouble);
}

static void store(struct timeline *tl, int64_t t_ms, const char *agent, const char *event,
                  const cJSON *detail)
{
	sqlite3_stmt *st;
	struct diag dd = { 0 };
	char *args = NULL, *det = NULL;

	if (!tl->db)
		return;
	if (db_prepare(tl->db,
	               "INSERT INTO steps (investigation, seq, t_ms, agent, event, tool, args, "
	               "digest, tokens_in, tokens_out, duration_ms, detail) "
	               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	               &st, &dd) < 0)
		return;
	sqlite3_bind_text(st, 1, tl->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, tl->seq);
	sqlite3_bind_int64(st, 3, t_ms);
	sqlite3_bind_text(st, 4, agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, event, -1, SQLITE_STATIC);
	if (dstr(detail, "tool"))
		sqlite3_bind_text(st, 6, dstr(detail, "tool"), -1, SQLITE_STATIC);
	if (cJSON_GetObjectItemCaseSensitive(detail, "args")) {
		args = json_print(cJSON_GetObjectItemCaseSensitive(detail, "args"), false);
		sqlite3_bind_text(st, 7, args, -1, SQLITE_STATIC);
	}
	if (dstr(detail, "digest"))
		sqlite3_bind_text(st, 8, dstr(detail, "digest"), -1, SQLITE_STATIC);
	bind_num(st, 9, detail, "tokens_in");
	bind_num(st, 10, detail, "tokens_out");
	bind_num(st, 11, detail, "duration_ms");
	det = json_print(detail, false);
	sqlite3_bind_text(st, 12, det, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE && !tl->why[0])
		snprintf(tl->why, sizeof(tl->why), "timeline.db: %s", sqlite3_errmsg(tl->db));
	sqlite3_finalize(st);
	free(args);
	free(det);
}

int64_t timeline_add(struct timeline *tl, const char *agent, const char *event, cJSON *detail)
{
	int64_t t = mono_ms() - tl->start_mono;
	cJSON *e;

	if (!detail)
		detail = json_obj();
	store(tl, t, agent, event, detail);
	tl->seq++;
	if (cJSON_GetArraySize(tl->events) >= TIMELINE_MAX_STEPS) {
		cJSON_Delete(detail);
		return t;
	}
	e = json_obj();
	json_add_num(e, "t_ms", (double)t);
	json_add_str(e, "agent", agent);
	json_add_str(e, "event", event);
	json_add(e, "detail", detail);
	json_push(tl->events, e);
	return t;
}

const cJSON *timeline_events(const struct timeline *tl)
{
	return tl->events;
}

int64_t timeline_elapsed_ms(const struct timeline *tl)
{
	return mono_ms() - tl->start_mono;
}

bool timeline_persistent(const struct timeline *tl, const char **ret_why)
{
	if (ret_why)
		*ret_why = tl->why;
	return tl->db && !tl->why[0];
}

void timeline_conclude(struct timeline *tl, const cJSON *rep)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause");
	sqlite3_stmt *st;
	struct diag dd = { 0 };

	if (!tl->db || db_prepare(tl->db,
	                          "UPDATE investigations SET category = ?, component = ?, "
	                          "statement = ?, summary = ? WHERE id = ?",
	                          &st, &dd) < 0)
		return;
	sqlite3_bind_text(st, 1, dstr(rc, "category"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dstr(rc, "component"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dstr(rc, "statement"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, dstr(rep, "summary"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tl->id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

int timeline_incident_history(const char *data_dir, const char *incident, size_t max, cJSON **ret,
                              struct diag *d)
{
	char *path = db_path(data_dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	cJSON *arr;
	int r;

	r = db_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), &db, d);
	free(path);
	if (r < 0)
		return r;
	r = db_prepare(db,
	               "SELECT question, category, component, statement FROM ("
	               " SELECT * FROM investigations WHERE incident = ? AND category IS NOT NULL"
	               " ORDER BY started_ms DESC LIMIT ?) ORDER BY started_ms",
	               &st, d);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	arr = json_arr();
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *o = json_obj();
		static const char *const cols[] = { "question", "category", "component",
			                            "statement" };

		for (int i = 0; i < 4; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);
			json_add_str(o, cols[i], v ? (const char *)v : "");
		}
		json_push(arr, o);
	}
	sqlite3_finalize(st);
	if (cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr);
		r = -ENOENT;
		goto out;
	}
	*ret = arr;
	r = 0;
out:
	db_close(db);
	return r;
}
