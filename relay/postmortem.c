/* postmortem.c - a post-mortem draft from the relay's records; see postmortem.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/postmortem.h"
#include "shared/db.h"
#include "shared/str.h"
#include "shared/banned.h"

#define TEXT_CUT 400 /* characters of one turn or audit detail in the timeline */

/* One line of the timeline, gathered from several tables and sorted by time. */
struct entry {
	long long at_ms;
	char *text;
};

struct timeline {
	struct entry *v;
	size_t n, cap;
};

static void tl_add(struct timeline *tl, long long at, const char *fmt, ...) _printf_(3, 4);
static void tl_add(struct timeline *tl, long long at, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (tl->n >= 2000)
		return; /* a draft, not an archive */
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	if (tl->n == tl->cap) {
		size_t nc = tl->cap ? tl->cap * 2 : 32;
		struct entry *nv = realloc(tl->v, nc * sizeof(*nv));
		if (!nv) {
			free(s);
			return;
		}
		tl->v = nv;
		tl->cap = nc;
	}
	tl->v[tl->n].at_ms = at;
	tl->v[tl->n].text = s;
	tl->n++;
}

static int by_time(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return (x->at_ms > y->at_ms) - (x->at_ms < y->at_ms);
}

static void fmt_time(long long ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, outsz, "%lld", ms);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

/* Markdown inline text: keep it on one line and short. */
static void one_line(char *s)
{
	size_t n = strlen(s);

	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (n > TEXT_CUT)
		memcpy(s + TEXT_CUT - 3, "...", 4);
}

int postmortem_draft(sqlite3 *db, const char *incident, struct buf *md,
                     struct postmortem_thread *th, struct diag *d)
{
	struct timeline tl = { 0 };
	sqlite3_stmt *st;
	char edge[130] = "", question[600] = "", status[16] = "", summary[4096] = "";
	char title[700] = "", tbuf[32];
	long long created = 0, first_alert = 0, last_resolved = 0;
	int nactions = 0, r;

	memset(th, 0, sizeof(*th));
	r = db_prepare(db,
	               "SELECT platform, chat_id, thread_id, COALESCE(edge, ''), question, status, "
	               "created_ms FROM chat_incidents WHERE id = ?",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return diag_set(d, -ENOENT, "no incident '%s' (ongrid-relay keeps chat_incidents)",
		                incident);
	}
	str_copy(th->platform, col(st, 0), sizeof(th->platform));
	str_copy(th->chat_id, col(st, 1), sizeof(th->chat_id));
	str_copy(th->thread_id, col(st, 2), sizeof(th->thread_id));
	str_copy(edge, col(st, 3), sizeof(edge));
	str_copy(question, col(st, 4), sizeof(question));
	str_copy(status, col(st, 5), sizeof(status));
	created = sqlite3_column_int64(st, 6);
	sqlite3_finalize(st);
	one_line(question);

	/* Alerts that opened (and closed) this incident. */
	if (db_prepare(db,
	               "SELECT alertname, instance, severity, summary, received_ms, "
	               "COALESCE(resolved_ms, 0), repeats FROM alerts WHERE incident = ? "
	               "ORDER BY received_ms",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			long long rx = sqlite3_column_int64(st, 4),
			          res = sqlite3_column_int64(st, 5);
			if (!title[0])
				snprintf(title, sizeof(title), "%s on %s", col(st, 0), col(st, 1));
			if (!first_alert)
				first_alert = rx;
			tl_add(&tl, rx, "alert **%s** fired on %s (severity %s): %s", col(st, 0),
			       col(st, 1), col(st, 2)[0] ? col(st, 2) : "none", col(st, 3));
			if (res) {
				tl_add(&tl, res, "alert **%s** resolved", col(st, 0));
				if (res > last_resolved)
					last_resolved = res;
			}
		}
		sqlite3_finalize(st);
	}
	/* The conversation: questions, and the edge's answers (report summaries). */
	if (db_prepare(db,
	               "SELECT at_ms, who, text FROM chat_turns WHERE incident = ? ORDER BY at_ms",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char text[TEXT_CUT + 8];
			str_copy(text, col(st, 2), sizeof(text));
			one_line(text);
			if (!strcmp(col(st, 1), "ongrid")) {
				str_copy(summary, col(st, 2), sizeof(summary));
				tl_add(&tl, sqlite3_column_int64(st, 0), "report from %s: %s",
				       edge[0] ? edge : "the edge", text);
			} else {
				tl_add(&tl, sqlite3_column_int64(st, 0), "asked (%s): %s",
				       col(st, 1), text);
			}
		}
		sqlite3_finalize(st);
	}
	/* Actions, with who decided. */
	if (db_prepare(db,
	               "SELECT action_id, tool, class, status, COALESCE(first_user, ''), "
	               "COALESCE(first_ms, 0), COALESCE(decided_by, ''), COALESCE(decided_ms, 0) "
	               "FROM chat_approvals WHERE incident = ? ORDER BY action_id",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			nactions++;
			if (sqlite3_column_int64(st, 5) && col(st, 4)[0])
				tl_add(&tl, sqlite3_column_int64(st, 5),
				       "%s approved %s (%s) first", col(st, 4), col(st, 1),
				       col(st, 0));
			if (sqlite3_column_int64(st, 7))
				tl_add(&tl, sqlite3_column_int64(st, 7),
				       "action %s (%s, %s) %s by %s", col(st, 1), col(st, 0),
				       col(st, 2), col(st, 3), col(st, 6)[0] ? col(st, 6) : "?");
		}
		sqlite3_finalize(st);
	}

	if (!title[0])
		snprintf(title, sizeof(title), "%s", question[0] ? question : incident);
	r = buf_addf(md, "# Post-mortem (draft): %s\n\n", title);
	r |= buf_addf(md, "- **Incident**: %s (%s)\n", incident, status);
	r |= buf_addf(md, "- **Host**: %s\n", edge[0] ? edge : "(none)");
	if (th->platform[0])
		r |= buf_addf(md, "- **Thread**: %s:%s:%s\n", th->platform, th->chat_id,
		              th->thread_id);
	fmt_time(first_alert ? first_alert : created, tbuf, sizeof(tbuf));
	r |= buf_addf(md, "- **Started**: %s UTC\n", tbuf);
	if (last_resolved) {
		fmt_time(last_resolved, tbuf, sizeof(tbuf));
		r |= buf_addf(md, "- **Resolved**: %s UTC (%lld min)\n", tbuf,
		              (last_resolved - (first_alert ? first_alert : created)) / 60000);
	}
	r |= buf_adds(md, "\n## Timeline (UTC)\n\n");
	if (tl.n)
		qsort(tl.v, tl.n, sizeof(*tl.v), by_time);
	for (size_t i = 0; i < tl.n; i++) {
		fmt_time(tl.v[i].at_ms, tbuf, sizeof(tbuf));
		r |= buf_addf(md, "- %s %s\n", tbuf + 11, tl.v[i].text);
		free(tl.v[i].text);
	}
	free(tl.v);
	r |= buf_adds(md, "\n## Root cause and evidence\n\n");
	r |= buf_addf(md, "%s\n",
	              summary[0] ? summary : "(no report was recorded for this incident)");
	r |= buf_adds(md, "\n## Actions taken\n\n");
	if (!nactions)
		r |= buf_adds(md, "- none proposed\n");
	if (nactions &&
	    db_prepare(db,
	               "SELECT tool, class, status, COALESCE(decided_by, '') FROM chat_approvals "
	               "WHERE incident = ? ORDER BY action_id",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			r |= buf_addf(md, "- %s (%s): %s%s%s\n", col(st, 0), col(st, 1), col(st, 2),
			              col(st, 3)[0] ? " by " : "", col(st, 3));
		sqlite3_finalize(st);
	}
	r |= buf_adds(md, "\n## Follow-ups\n\n- [ ] (to be written by the team)\n");
	if (r < 0)
		return diag_set(d, -E2BIG, "the draft is over %u KiB", POSTMORTEM_MAX >> 10);
	return 0;
}
