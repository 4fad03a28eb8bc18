/* approvals.c - pending dangerous calls and decisions in SQLite. See approvals.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/tools/approvals.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

struct approvals {
	sqlite3 *db;
};

static const char *const migrations[] = {
	"CREATE TABLE approvals ("
	"  id TEXT PRIMARY KEY,"
	"  tool TEXT NOT NULL,"
	"  args TEXT NOT NULL,"
	"  requested_by TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  reason TEXT,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  needed INTEGER NOT NULL CHECK (needed BETWEEN 1 AND 2),"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  result TEXT,"
	"  finished INTEGER"
	");"
	"CREATE TABLE decisions ("
	"  approval_id TEXT NOT NULL REFERENCES approvals(id),"
	"  who TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  decision TEXT NOT NULL CHECK (decision IN ('approve', 'deny'))"
	");"
	"CREATE INDEX decisions_by_approval ON decisions(approval_id);"
	"CREATE INDEX approvals_by_status ON approvals(status, created);",
};

int approvals_open(const char *dir, struct approvals **ret, struct diag *d)
{
	struct approvals *a;
	char *path;
	int r;

	r = mkdir_p(dir, 0700);
	if (r < 0)
		return diag_set(d, r, "cannot create data directory '%s': %s", dir, strerror(-r));
	path = xasprintf("%s/approvals.db", dir);
	/* created 0600 before SQLite sees it: its -wal and -shm files copy this mode, and they
	 * hold the same arguments and decisions */
	{
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
	}
	a = xcalloc(1, sizeof(*a));
	r = db_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), &a->db, d);
	if (r == 0)
		(void)chmod(path, 0600);
	free(path);
	if (r < 0) {
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

void approvals_close(struct approvals *a)
{
	if (!a)
		return;
	db_close(a->db);
	free(a);
}

static int sql_err(struct approvals *a, struct diag *d)
{
	return diag_set(d, -EIO, "approvals: sqlite: %s", sqlite3_errmsg(a->db));
}

static void new_id(char out[APPROVAL_ID_LEN + 1])
{
	unsigned char raw[APPROVAL_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			abort(); /* the kernel's CSPRNG is not optional */
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* Expire what is past its time, forget decided approvals past the keep period, and count
 * what is still pending. */
static int housekeep(struct approvals *a, int64_t now_ms, int64_t *ret_pending, struct diag *d)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(a->db,
	               "UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND"
	               " expires < ?1;",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	r = db_prepare(a->db,
	               "DELETE FROM decisions WHERE approval_id IN (SELECT id FROM approvals WHERE"
	               " status NOT IN ('pending', 'running') AND created < ?1)",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms - ONGRID_APPROVALS_KEEP_MS);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	r = db_prepare(a->db,
	               "DELETE FROM approvals WHERE status NOT IN ('pending', 'running') AND"
	               " created < ?1",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms - ONGRID_APPROVALS_KEEP_MS);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	r = db_prepare(a->db, "SELECT COUNT(*) FROM approvals WHERE status = 'pending'", &st, d);
	if (r < 0)
		return r;
	r = sqlite3_step(st) == SQLITE_ROW ? 0 : sql_err(a, d);
	if (r == 0)
		*ret_pending = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r;
}

int approvals_propose(struct approvals *a, const struct approval_request *req, int64_t now_ms,
                      char ret_id[APPROVAL_ID_LEN + 1], struct diag *d)
{
	sqlite3_stmt *st;
	char id[APPROVAL_ID_LEN + 1];
	int64_t ttl = req->ttl_ms, pending = 0;
	int r;

	r = housekeep(a, now_ms, &pending, d);
	if (r < 0)
		return r;
	if (pending >= ONGRID_APPROVALS_MAX_PENDING)
		return diag_set(d, -EAGAIN,
		                "%lld proposals already wait for a decision (the limit); decide or "
		                "deny them, or let them expire, before proposing more",
		                (long long)pending);

	if (ttl <= 0 || ttl > ONGRID_APPROVAL_TTL_MAX_MS)
		ttl = ONGRID_APPROVAL_TTL_MAX_MS;
	new_id(id);
	r = db_prepare(a->db,
	               "INSERT INTO approvals (id, tool, args, requested_by, role, reason, created,"
	               " expires, needed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, req->tool, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, req->args, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, req->requested_by, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, req->role, -1, SQLITE_TRANSIENT);
	if (req->reason)
		sqlite3_bind_text(st, 6, req->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, now_ms);
	sqlite3_bind_int64(st, 8, now_ms + ttl);
	sqlite3_bind_int(st, 9, req->needed >= 2 ? 2 : 1);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r == 0)
		memcpy(ret_id, id, sizeof(id));
	return r;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/* Ids are lower-case hex; one typed or pasted in capitals is the same id. */
static bool normalise_id(const char *id, char out[APPROVAL_ID_LEN + 1])
{
	if (strlen(id) != APPROVAL_ID_LEN)
		return false;
	for (size_t i = 0; i < APPROVAL_ID_LEN; i++) {
		char c = id[i] >= 'A' && id[i] <= 'F' ? (char)(id[i] - 'A' + 'a') : id[i];
		if (!c || !strchr("0123456789abcdef", c))
			return false;
		out[i] = c;
	}
	out[APPROVAL_ID_LEN] = '\0';
	return true;
}

int approvals_get(struct approvals *a, const char *id, struct approval *ret, struct diag *d)
{
	char norm[APPROVAL_ID_LEN + 1];
	sqlite3_stmt *st;
	int r, rc;

	memset(ret, 0, sizeof(*ret));
	if (!normalise_id(id, norm))
		return diag_set(d, -ENOENT, "no approval with id '%.40s' (ids are %d hex digits)",
		                id, APPROVAL_ID_LEN);
	r = db_prepare(a->db,
	               "SELECT id, tool, args, requested_by, role, reason, status, result, created,"
	               " expires, needed,"
	               " (SELECT COUNT(DISTINCT who) FROM decisions WHERE approval_id = a.id AND"
	               "  decision = 'approve'),"
	               " (SELECT COUNT(*) FROM decisions WHERE approval_id = a.id AND"
	               "  decision = 'deny')"
	               " FROM approvals a WHERE id = ?",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, norm, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(ret->id, sizeof(ret->id), "%s", (const char *)sqlite3_column_text(st, 0));
		ret->tool = col_dup(st, 1);
		ret->args = col_dup(st, 2);
		ret->requested_by = col_dup(st, 3);
		ret->role = col_dup(st, 4);
		ret->reason = col_dup(st, 5);
		ret->status = col_dup(st, 6);
		ret->result = col_dup(st, 7);
		ret->created_ms = sqlite3_column_int64(st, 8);
		ret->expires_ms = sqlite3_column_int64(st, 9);
		ret->needed = sqlite3_column_int(st, 10);
		ret->napproved = sqlite3_column_int(st, 11);
		ret->denied = sqlite3_column_int(st, 12) > 0;
	} else if (rc == SQLITE_DONE) {
		r = diag_set(d, -ENOENT, "no approval with id '%s'", norm);
	} else {
		r = sql_err(a, d);
	}
	sqlite3_finalize(st);
	return r;
}

void approval_release(struct approval *ap)
{
	if (!ap)
		return;
	free(ap->tool);
	free(ap->args);
	free(ap->requested_by);
	free(ap->role);
	free(ap->reason);
	free(ap->status);
	free(ap->result);
	memset(ap, 0, sizeof(*ap));
}

static int set_status(struct approvals *a, const char *id, const char *status, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(a->db, "UPDATE approvals SET status = ? WHERE id = ?", &st, d);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	return r;
}

static int has_approved(struct approvals *a, const char *id, const char *who, bool *ret,
                        struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(a->db,
	                   "SELECT 1 FROM decisions WHERE approval_id = ? AND who = ? AND"
	                   " decision = 'approve'",
	                   &st, d);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, who, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st);
	*ret = r == SQLITE_ROW;
	r = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	return r;
}

static int record(struct approvals *a, const char *id, const char *who, bool approve,
                  int64_t now_ms, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(
	        a->db, "INSERT INTO decisions (approval_id, who, at, decision) VALUES (?, ?, ?, ?)",
	        &st, d);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, who, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_text(st, 4, approve ? "approve" : "deny", -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	return r;
}

/* Inside the transaction: decide on a loaded approval. */
static int decide_locked(struct approvals *a, const struct approval *ap, const char *who,
                         bool approve, int64_t now_ms, enum approval_outcome *ret, struct diag *d)
{
	bool again = false;
	int r;

	if (!ap->status || strcmp(ap->status, "pending") != 0)
		return diag_set(d, -EALREADY, "approval '%s' is no longer pending (%s)", ap->id,
		                ap->status ? ap->status : "unknown");
	if (now_ms > ap->expires_ms) {
		char when[40];
		clock_format_rfc3339(when, sizeof(when), ap->expires_ms);
		r = set_status(a, ap->id, "expired", d);
		return r < 0 ? r
		             : diag_set(d, -ETIMEDOUT,
		                        "approval '%s' expired at %s; propose the call again",
		                        ap->id, when);
	}
	if (!approve) {
		r = record(a, ap->id, who, false, now_ms, d);
		if (r == 0)
			r = set_status(a, ap->id, "denied", d);
		if (r == 0)
			*ret = APPROVAL_DENIED;
		return r;
	}
	if (ap->needed >= 2 && strcmp(who, ap->requested_by) == 0)
		return diag_set(d, -EPERM,
		                "'%s' requested this call and cannot approve it: double_sign needs "
		                "two approvers other than the requester",
		                who);
	r = has_approved(a, ap->id, who, &again, d);
	if (r < 0)
		return r;
	if (again)
		return diag_set(d, -EPERM,
		                "'%s' has already approved '%s'; it needs %d distinct approvers",
		                who, ap->id, ap->needed);
	r = record(a, ap->id, who, true, now_ms, d);
	if (r < 0)
		return r;
	if (ap->napproved + 1 < ap->needed) {
		*ret = APPROVAL_WAITING;
		return 0;
	}
	r = set_status(a, ap->id, "running", d);
	if (r == 0)
		*ret = APPROVAL_GO;
	return r;
}

int approvals_decide(struct approvals *a, const char *id, const char *who, bool approve,
                     int64_t now_ms, enum approval_outcome *ret, struct diag *d)
{
	struct approval ap;
	int r;

	if (!who || !*who)
		return diag_set(d, -EINVAL, "a decision needs the name of who makes it");
	/* IMMEDIATE takes the write lock first: two approvers cannot both see "pending". */
	r = db_exec(a->db, "BEGIN IMMEDIATE;", d);
	if (r < 0)
		return r;
	r = approvals_get(a, id, &ap, d);
	if (r == 0) {
		r = decide_locked(a, &ap, who, approve, now_ms, ret, d);
		approval_release(&ap);
	}
	/* an expiry is a state change worth keeping even though the decision failed */
	if (r == 0 || r == -ETIMEDOUT) {
		int c = db_exec(a->db, "COMMIT;", r == 0 ? d : NULL);
		if (c < 0 && r == 0)
			r = c;
	} else {
		(void)db_exec(a->db, "ROLLBACK;", NULL);
	}
	return r;
}

int approvals_finish(struct approvals *a, const char *id, bool ok, const char *result,
                     int64_t now_ms, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(a->db,
	                   "UPDATE approvals SET status = ?, result = ?, finished = ? WHERE id = ?"
	                   " AND status = 'running'",
	                   &st, d);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, ok ? "done" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	return r;
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
	char t[40];

	clock_format_rfc3339(t, sizeof(t), ms);
	json_add_str(o, key, t);
}

static cJSON *describe(const struct approval *ap)
{
	cJSON *o = json_obj(), *args = cJSON_Parse(ap->args);

	json_add_str(o, "id", ap->id);
	json_add_str(o, "tool", ap->tool);
	json_add(o, "args", args ? args : cJSON_CreateString(ap->args));
	json_add_str(o, "status", ap->status);
	json_add_str(o, "requested_by", ap->requested_by);
	json_add_str(o, "role", ap->role);
	if (ap->reason)
		json_add_str(o, "reason", ap->reason);
	add_time(o, "created", ap->created_ms);
	add_time(o, "expires", ap->expires_ms);
	json_add_num(o, "needed", ap->needed);
	json_add_num(o, "approvals", ap->napproved);
	return o;
}

int approvals_describe(struct approvals *a, const char *id, cJSON **ret, struct diag *d)
{
	char norm[APPROVAL_ID_LEN + 1];
	struct approval ap;
	sqlite3_stmt *st;
	cJSON *o, *list;
	int r = approvals_get(a, id, &ap, d);

	if (r < 0)
		return r;
	memcpy(norm, ap.id, sizeof(norm));
	o = describe(&ap);
	if (ap.result) {
		cJSON *res = cJSON_Parse(ap.result);
		json_add(o, "result", res ? res : cJSON_CreateString(ap.result));
	}
	approval_release(&ap);
	list = json_arr();
	json_add(o, "decisions", list);
	r = db_prepare(a->db,
	               "SELECT who, decision, at FROM decisions WHERE approval_id = ? ORDER BY at,"
	               " rowid",
	               &st, d);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	sqlite3_bind_text(st, 1, norm, -1, SQLITE_TRANSIENT);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = json_obj();
		json_add_str(e, "who", (const char *)sqlite3_column_text(st, 0));
		json_add_str(e, "decision", (const char *)sqlite3_column_text(st, 1));
		add_time(e, "at", sqlite3_column_int64(st, 2));
		json_push(list, e);
	}
	r = r == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	*ret = o;
	return 0;
}

int approvals_list_pending(struct approvals *a, int64_t now_ms, cJSON **ret, struct diag *d)
{
	sqlite3_stmt *st;
	cJSON *list;
	int r;

	r = db_prepare(a->db,
	               "UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND"
	               " expires < ?",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	r = db_prepare(a->db,
	               "SELECT id FROM approvals WHERE status = 'pending' ORDER BY created DESC"
	               " LIMIT 100",
	               &st, d);
	if (r < 0)
		return r;
	list = json_arr();
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct approval ap;
		struct diag ignore = { 0 };
		if (approvals_get(a, (const char *)sqlite3_column_text(st, 0), &ap, &ignore) == 0) {
			json_push(list, describe(&ap));
			approval_release(&ap);
		}
	}
	r = r == SQLITE_DONE ? 0 : sql_err(a, d);
	sqlite3_finalize(st);
	if (r < 0) {
		cJSON_Delete(list);
		return r;
	}
	*ret = list;
	return 0;
}
