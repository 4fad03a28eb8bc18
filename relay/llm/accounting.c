/* accounting.c - usage, budgets, remembered downgrades and route overrides in
 * data_dir/llm.sqlite (see accounting.h). A separate file from relay.sqlite so the
 * router's schema versions independently of the relay core's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "relay/llm/accounting.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/banned.h"

struct llm_acct {
	sqlite3 *db;
};

static const char *const migrations[] = {
	"CREATE TABLE usage ("
	" day TEXT NOT NULL, edge TEXT NOT NULL, incident TEXT NOT NULL, purpose TEXT NOT NULL,"
	" provider TEXT NOT NULL, model TEXT NOT NULL, calls INTEGER NOT NULL,"
	" input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,"
	" cost_usd REAL NOT NULL,"
	" PRIMARY KEY (day, edge, incident, purpose, provider, model));"
	"CREATE INDEX usage_incident ON usage (incident);"
	"CREATE TABLE downgrades (base_url TEXT NOT NULL, model TEXT NOT NULL,"
	" bits INTEGER NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY (base_url, model));"
	"CREATE TABLE routes (purpose TEXT PRIMARY KEY, targets TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL);",
};

static void today(char out[11])
{
	char ts[40];

	clock_format_rfc3339(ts, sizeof(ts), now_ms());
	memcpy(out, ts, 10);
	out[10] = '\0';
}

int llm_acct_open(const char *data_dir, struct llm_acct **ret, struct diag *d)
{
	struct llm_acct *a;
	char *path;
	int r;

	r = mkdir_p(data_dir, 0700);
	if (r < 0)
		return diag_set(d, r, "%s: cannot create directory: %s", data_dir, strerror(-r));
	a = xcalloc(1, sizeof(*a));
	path = xasprintf("%s/%s", data_dir, LLM_DB_FILE);
	r = db_open(path, migrations, ARRAY_SIZE(migrations), &a->db, d);
	free(path);
	if (r < 0) {
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

void llm_acct_close(struct llm_acct *a)
{
	if (!a)
		return;
	db_close(a->db);
	free(a);
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, struct diag *d)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return diag_set(d, -EIO, "llm.sqlite: %s", sqlite3_errmsg(db));
	return 0;
}

int llm_acct_record(struct llm_acct *a, const char *edge, const char *incident, const char *purpose,
                    const char *provider, const char *model, const struct llm_usage *u,
                    double cost_usd, struct diag *d)
{
	sqlite3_stmt *st;
	char day[11];
	int r;

	today(day);
	r = db_prepare(a->db,
	               "INSERT INTO usage VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9)"
	               " ON CONFLICT (day, edge, incident, purpose, provider, model) DO UPDATE SET"
	               " calls = calls + 1, input_tokens = input_tokens + ?7,"
	               " output_tokens = output_tokens + ?8, cost_usd = cost_usd + ?9",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, edge ? edge : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, incident ? incident : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, purpose ? purpose : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, provider, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, model, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, u->input_tokens);
	sqlite3_bind_int64(st, 8, u->output_tokens);
	sqlite3_bind_double(st, 9, cost_usd);
	return step_done(a->db, st, d);
}

/* Sum cost and tokens where column = value. */
static int totals(struct llm_acct *a, const char *column, const char *value, double *ret_cost,
                  int64_t *ret_tokens, struct diag *d)
{
	sqlite3_stmt *st;
	char sql[160];
	int r;

	snprintf(sql, sizeof(sql),
	         "SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(input_tokens + output_tokens), 0)"
	         " FROM usage WHERE %s = ?1",
	         column);
	r = db_prepare(a->db, sql, &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = diag_set(d, -EIO, "llm.sqlite: %s", sqlite3_errmsg(a->db));
	} else {
		*ret_cost = sqlite3_column_double(st, 0);
		*ret_tokens = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return r;
}

int llm_acct_check_budget(struct llm_acct *a, const struct llm_conf *c, const char *incident,
                          struct diag *d)
{
	double cost = 0;
	int64_t tokens = 0;
	char day[11];
	int r;

	today(day);
	if (c->budget_day_usd > 0 || c->budget_day_tokens > 0) {
		r = totals(a, "day", day, &cost, &tokens, d);
		if (r < 0)
			return r;
		if (c->budget_day_usd > 0 && cost >= c->budget_day_usd)
			return diag_set(
			        d, -EDQUOT,
			        "daily LLM budget exhausted: $%.4f spent today (UTC), cap "
			        "llm.budget.day_usd = $%.4f; raise it or wait for 00:00 UTC",
			        cost, c->budget_day_usd);
		if (c->budget_day_tokens > 0 && tokens >= c->budget_day_tokens)
			return diag_set(
			        d, -EDQUOT,
			        "daily LLM token budget exhausted: %lld tokens today (UTC), "
			        "cap llm.budget.day_tokens = %lld",
			        (long long)tokens, (long long)c->budget_day_tokens);
	}
	if (incident && *incident &&
	    (c->budget_incident_usd > 0 || c->budget_incident_tokens > 0)) {
		r = totals(a, "incident", incident, &cost, &tokens, d);
		if (r < 0)
			return r;
		if (c->budget_incident_usd > 0 && cost >= c->budget_incident_usd)
			return diag_set(
			        d, -EDQUOT,
			        "investigation '%s' reached its LLM budget: $%.4f spent, cap "
			        "llm.budget.incident_usd = $%.4f; stopping this investigation",
			        incident, cost, c->budget_incident_usd);
		if (c->budget_incident_tokens > 0 && tokens >= c->budget_incident_tokens)
			return diag_set(
			        d, -EDQUOT,
			        "investigation '%s' reached its LLM token budget: %lld tokens, "
			        "cap llm.budget.incident_tokens = %lld; stopping this "
			        "investigation",
			        incident, (long long)tokens, (long long)c->budget_incident_tokens);
	}
	return 0;
}

int llm_acct_usage_json(struct llm_acct *a, const char *incident, cJSON **ret, struct diag *d)
{
	static const char *const cols[] = { "day",           "edge",    "incident", "purpose",
		                            "provider",      "model",   "calls",    "input_tokens",
		                            "output_tokens", "cost_usd" };
	sqlite3_stmt *st;
	cJSON *arr;
	char day[11];
	int r, rc;

	r = db_prepare(a->db,
	               incident ? "SELECT * FROM usage WHERE incident = ?1 ORDER BY day DESC"
	                        : "SELECT * FROM usage WHERE day = ?1 ORDER BY cost_usd DESC",
	               &st, d);
	if (r < 0)
		return r;
	today(day);
	sqlite3_bind_text(st, 1, incident ? incident : day, -1, SQLITE_TRANSIENT);
	arr = json_arr();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = json_obj();
		for (int i = 0; i < (int)ARRAY_SIZE(cols); i++) {
			if (sqlite3_column_type(st, i) == SQLITE_TEXT)
				json_add_str(o, cols[i], (const char *)sqlite3_column_text(st, i));
			else
				json_add_num(o, cols[i], sqlite3_column_double(st, i));
		}
		json_push(arr, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		return diag_set(d, -EIO, "llm.sqlite: %s", sqlite3_errmsg(a->db));
	}
	*ret = arr;
	return 0;
}

int llm_acct_downgrades_get(struct llm_acct *a, const char *base_url, const char *model,
                            unsigned *ret)
{
	sqlite3_stmt *st;
	int r;

	*ret = 0;
	r = db_prepare(a->db, "SELECT bits FROM downgrades WHERE base_url = ?1 AND model = ?2", &st,
	               NULL);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, base_url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, model, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		*ret = (unsigned)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int llm_acct_downgrades_add(struct llm_acct *a, const char *base_url, const char *model,
                            unsigned bits, struct diag *d)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(
	        a->db,
	        "INSERT INTO downgrades VALUES (?1, ?2, ?3, ?4) ON CONFLICT (base_url, model)"
	        " DO UPDATE SET bits = bits | ?3, updated_ms = ?4",
	        &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, base_url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, model, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, bits);
	sqlite3_bind_int64(st, 4, now_ms());
	return step_done(a->db, st, d);
}

void llm_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int llm_acct_route_get(struct llm_acct *a, const char *purpose, char ***ret, struct diag *d)
{
	sqlite3_stmt *st;
	char **v = NULL;
	int r;

	r = db_prepare(a->db, "SELECT targets FROM routes WHERE purpose = ?1", &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, purpose, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		/* Stored as one space-separated line: targets never contain spaces. */
		char *s = xstrdup((const char *)sqlite3_column_text(st, 0)), *save = NULL, *t;
		size_t n = 0;
		v = xcalloc(ONGRID_LLM_MAX_FALLBACKS + 1, sizeof(*v));
		for (t = strtok_r(s, " ", &save); t && n < ONGRID_LLM_MAX_FALLBACKS;
		     t = strtok_r(NULL, " ", &save))
			v[n++] = xstrdup(t);
		free(s);
	}
	sqlite3_finalize(st);
	if (!v || !v[0]) {
		llm_strv_free(v);
		return -ENOENT;
	}
	*ret = v;
	return 0;
}

int llm_acct_route_set(struct llm_acct *a, const char *purpose, char *const *targets, size_t n,
                       struct diag *d)
{
	struct buf line = BUF_INIT(4096);
	sqlite3_stmt *st;
	int r;

	for (size_t i = 0; i < n; i++)
		if ((i && buf_addc(&line, ' ') < 0) || buf_adds(&line, targets[i]) < 0) {
			buf_release(&line);
			return diag_set(d, -E2BIG, "route for '%s' is too long", purpose);
		}
	r = db_prepare(a->db,
	               "INSERT INTO routes VALUES (?1, ?2, ?3) ON CONFLICT (purpose) DO UPDATE SET"
	               " targets = ?2, updated_ms = ?3",
	               &st, d);
	if (r < 0) {
		buf_release(&line);
		return r;
	}
	sqlite3_bind_text(st, 1, purpose, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, buf_str(&line), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms());
	r = step_done(a->db, st, d);
	buf_release(&line);
	return r;
}

int llm_acct_route_clear(struct llm_acct *a, const char *purpose, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(a->db, "DELETE FROM routes WHERE purpose = ?1", &st, d);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, purpose, -1, SQLITE_TRANSIENT);
	return step_done(a->db, st, d);
}

int llm_acct_route_purposes(struct llm_acct *a, char ***ret, struct diag *d)
{
	sqlite3_stmt *st;
	char **v;
	size_t n = 0;
	int r = db_prepare(a->db, "SELECT purpose FROM routes ORDER BY purpose LIMIT 64", &st, d);

	if (r < 0)
		return r;
	v = xcalloc(65, sizeof(*v));
	while (sqlite3_step(st) == SQLITE_ROW && n < 64)
		v[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	*ret = v;
	return 0;
}
