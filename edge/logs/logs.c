/* logs.c - the log pipeline (tail + journal -> labels -> store + drain) and its queries. */
#define LOG_MODULE "logs"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "edge/logs/drain.h"
#include "edge/logs/journal.h"
#include "edge/logs/labels.h"
#include "edge/logs/logql.h"
#include "edge/logs/logs.h"
#include "edge/logs/logstore.h"
#include "edge/logs/tail.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/banned.h"

#define POLL_BUDGET      (8u << 20) /* default bytes read per poll: one poll near 20-100 ms */
#define JOURNAL_PER_POLL 20000
#define COMMIT_MS        1000   /* lines are durable and visible to readers within 1 s */
#define COMMIT_LINES     500000 /* or sooner under a flood, bounding what a crash re-reads */
#define IDLE_COMMIT_MS   5000   /* positions move without lines too (rotation, truncation) */
#define DRAIN_GRACE_MS   5000
#define TRUNC_MARK       "\xe2\x80\xa6[truncated]"
#define REPLACEMENT      "\xef\xbf\xbd"

struct stream_key {
	UT_hash_handle hh;
	uint32_t id;
	size_t len;
	char key[];
};

struct logs {
	struct logstore *store;
	struct tail *tail;
	struct journal *journal;
	char journal_why[ONGRID_DIAG_MAX];
	struct drain *drain;
	struct log_labels base;
	struct stream_key *streams;
	size_t max_line;
	struct buf clean, canon, key;
	int64_t now, last_commit, retention_ms;
	size_t budget;
	uint64_t ingested;
	struct diag *d;
	bool read_only;
};

/* ---- lines --------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need;
	uint32_t cp;

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

/* The line as it is stored: valid UTF-8, no NUL, no trailing CR, at most max_line bytes
 * plus the truncation mark. Returns a pointer to line itself when nothing changes. */
static const char *clean_line(struct logs *l, const char *line, size_t *len, bool cut)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t n = *len, i = 0;

	if (n && line[n - 1] == '\r')
		n--;
	while (i < n && u[i] >= 0x20 && u[i] < 0x80)
		i++;
	if (i == n && !cut && n <= l->max_line) {
		*len = n;
		return line;
	}
	buf_reset(&l->clean);
	for (i = 0; i < n;) {
		size_t s = utf8_seq(u + i, n - i);
		const char *piece = s ? line + i : REPLACEMENT;
		size_t plen = s ? s : 3;
		if (l->clean.len + plen > l->max_line) {
			cut = true;
			break;
		}
		if (buf_add(&l->clean, piece, plen) < 0)
			break;
		i += s ? s : 1;
	}
	if (cut) {
		int r = buf_adds(&l->clean, TRUNC_MARK);
		assert(r == 0); /* the buffer has room for the mark by construction */
		(void)r;
	}
	*len = l->clean.len;
	return buf_str(&l->clean);
}

static const struct {
	const char *word;
	const char *level;
} level_words[] = {
	{ "CRITICAL", "critical" }, { "CRIT", "critical" },  { "FATAL", "critical" },
	{ "PANIC", "critical" },    { "EMERG", "critical" }, { "ALERT", "critical" },
	{ "ERROR", "error" },       { "ERR", "error" },      { "WARNING", "warn" },
	{ "WARN", "warn" },         { "INFO", "info" },      { "NOTICE", "info" },
	{ "DEBUG", "debug" },       { "TRACE", "trace" },
};

static const char *level_of_word(const char *w, size_t n, bool any_case)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_words); i++) {
		const char *k = level_words[i].word;
		if (strlen(k) != n)
			continue;
		if (any_case ? strncasecmp(k, w, n) == 0 : strncmp(k, w, n) == 0)
			return level_words[i].level;
	}
	return NULL;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The value after a level key at p ("=error", "\":\"warn", "\": \"info"). */
static const char *level_after_key(const char *p, const char *end)
{
	const char *v = p, *e;

	if (v < end && *v == '"')
		v++;
	if (v < end && (*v == '=' || *v == ':'))
		v++;
	else
		return NULL;
	while (v < end && (*v == ' ' || *v == '"'))
		v++;
	for (e = v; e < end && is_alpha(*e); e++)
		;
	return level_of_word(v, (size_t)(e - v), true);
}

/* The level a line shows: level=X / "level":"X" / lvl=X / severity=X near its start, or
 * an upper-case level word (ERROR, [WARN]) in its first 160 bytes. NULL if none. */
static const char *detect_level(const char *line, size_t len)
{
	static const struct {
		const char *key;
		size_t n;
	} keys[] = { { "level", 5 }, { "lvl", 3 }, { "severity", 8 } };
	size_t n = MIN(len, 160);
	const char *end = line + len;

	/* a key counts only at a word start and followed by = or ": (level_after_key) */
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *p = memmem(line, n, keys[k].key, keys[k].n);
		if (p && (p == line || !is_alpha(p[-1]))) {
			const char *lv = level_after_key(p + keys[k].n, end);
			if (lv)
				return lv;
		}
	}
	for (size_t i = 0; i < n;) {
		size_t s = i;
		while (i < n && line[i] >= 'A' && line[i] <= 'Z')
			i++;
		if (i - s >= 3 && i - s <= 8 && (s == 0 || !is_alpha(line[s - 1])) &&
		    (i == len || !is_alpha(line[i]))) {
			const char *lv = level_of_word(line + s, i - s, false);
			if (lv)
				return lv;
		}
		if (i == s)
			i++;
	}
	return NULL;
}

static const char *level_of_priority(int prio)
{
	static const char *const names[] = { "critical", "critical", "critical", "error",
		                             "warn",     "info",     "info",     "debug" };

	return prio >= 0 && prio <= 7 ? names[prio] : NULL;
}

/* Stream id for (file or journal unit, level), cached. */
static int stream_for(struct logs *l, bool journal, const char *name, const char *level,
                      uint32_t *ret)
{
	struct stream_key *k;
	struct log_labels lab = { 0 };
	int r;

	buf_reset(&l->key);
	if (buf_addc(&l->key, journal ? 'j' : 'f') < 0 || buf_adds(&l->key, name) < 0 ||
	    buf_addc(&l->key, '\0') < 0 || buf_adds(&l->key, level ? level : "") < 0)
		return diag_set(l->d, -E2BIG, "stream name too long");
	HASH_FIND(hh, l->streams, l->key.data, l->key.len, k);
	if (k) {
		*ret = k->id;
		return 0;
	}
	log_labels_copy(&lab, &l->base);
	if (journal) {
		log_labels_set(&lab, "source", "journal");
		if (*name)
			log_labels_set(&lab, "unit", name);
	} else {
		log_labels_set(&lab, "file", name);
	}
	if (level)
		log_labels_set(&lab, "level", level);
	buf_reset(&l->canon);
	r = log_labels_format(&lab, &l->canon);
	log_labels_clear(&lab);
	if (r < 0)
		return diag_set(l->d, -E2BIG, "labels of '%s' too long", name);
	r = logstore_stream(l->store, buf_str(&l->canon), ret, l->d);
	if (r < 0)
		return r;
	k = xmalloc(sizeof(*k) + l->key.len + 1);
	k->id = *ret;
	k->len = l->key.len;
	memcpy(k->key, l->key.data, l->key.len + 1);
	HASH_ADD(hh, l->streams, key[0], k->len, k);
	return 0;
}

static int ingest(struct logs *l, int64_t ts, uint32_t stream, const char *line, size_t len)
{
	int r = logstore_append(l->store, ts, stream, line, len, l->d);

	if (r < 0)
		return r;
	drain_add(l->drain, line, len, ts);
	l->ingested++;
	return 0;
}

static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* YYYY-MM-DDTHH:MM:SS[.fff]Z without strptime/timegm: this runs for every line. Other
 * forms (offsets) go to clock_parse_time(). */
static int fast_rfc3339(const char *s, size_t n, int64_t *ret)
{
	int y, mo, d, h, mi, sec, ms = 0;
	size_t i = 19;
	int64_t days;
	unsigned yy, era, yoe, doy, doe;

	if (n < 20 || s[13] != ':' || s[16] != ':')
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -EINVAL;
	if (s[i] == '.') {
		int nd = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 3)
				ms = ms * 10 + (s[i] - '0');
		for (; nd < 3; nd++)
			ms *= 10;
	}
	if (i + 1 != n || (s[i] != 'Z' && s[i] != 'z'))
		return -EINVAL;
	/* days from civil (H. Hinnant) */
	yy = (unsigned)(y - (mo <= 2));
	era = yy / 400;
	yoe = yy - era * 400;
	doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = (int64_t)era * 146097 + (int64_t)doe - 719468;
	*ret = ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
	return 0;
}

/* A line that starts with an RFC 3339 time ("2026-11-24T02:46:01.123Z", optionally in
 * brackets) is filed at that time, so lines read late (after a restart, from a rotated
 * file) still land where they happened; anything else, or a time outside the retention
 * window or in the future, is filed at the time it was read. */
static int64_t line_time(const struct logs *l, const char *line, size_t len)
{
	char tok[40];
	size_t n = 0;
	int64_t t;

	if (len && line[0] == '[') {
		line++;
		len--;
	}
	if (len < 20 || line[4] != '-' || line[7] != '-' || (line[10] != 'T' && line[10] != 't') ||
	    line[0] < '1' || line[0] > '9')
		return l->now;
	while (n < len && n < sizeof(tok) - 1 && line[n] != ' ' && line[n] != ']' &&
	       line[n] != '\t')
		n++;
	memcpy(tok, line, n);
	tok[n] = '\0';
	if (fast_rfc3339(tok, n, &t) < 0 && clock_parse_time(tok, &t) < 0)
		return l->now;
	if (t > l->now + 60000 || (l->retention_ms > 0 && t < l->now - l->retention_ms))
		return l->now;
	return t;
}

static int on_file_line(void *udata, const char *path, const char *line, size_t len, bool cut)
{
	struct logs *l = udata;
	const char *level;
	uint32_t stream;
	int r;

	line = clean_line(l, line, &len, cut);
	level = detect_level(line, len);
	r = stream_for(l, false, path, level, &stream);
	if (r < 0)
		return r;
	return ingest(l, line_time(l, line, len), stream, line, len);
}

static int on_journal(void *udata, int64_t ts, const char *unit, int prio, const char *msg,
                      size_t len)
{
	struct logs *l = udata;
	uint32_t stream;
	int r;

	msg = clean_line(l, msg, &len, false);
	r = stream_for(l, true, unit, level_of_priority(prio), &stream);
	if (r < 0)
		return r;
	return ingest(l, ts, stream, msg, len);
}

/* ---- open, poll, close --------------------------------------------------------------- */

static char *store_dir(const struct edge_conf *c)
{
	return xasprintf("%s/logs", c->data_dir);
}

static int open_common(const struct edge_conf *c, bool read_only, struct logs **ret, struct diag *d)
{
	struct logstore_opts o = { c->logs_max_bytes, c->logs_retention_ms, read_only };
	struct logs *l = xcalloc(1, sizeof(*l));
	char *dir = store_dir(c);
	int r;

	l->read_only = read_only;
	l->budget = POLL_BUDGET;
	l->retention_ms = c->logs_retention_ms;
	l->max_line = c->logs_max_line ? c->logs_max_line : 16384;
	buf_init(&l->clean, l->max_line + 64);
	buf_init(&l->canon, 64u << 10);
	buf_init(&l->key, 64u << 10);
	r = logstore_open(dir, &o, &l->store, d);
	free(dir);
	if (r < 0) {
		logs_close(l);
		return r;
	}
	*ret = l;
	return 0;
}

int logs_open_readonly(const struct edge_conf *c, struct logs **ret, struct diag *d)
{
	return open_common(c, true, ret, d);
}

int logs_open(const struct edge_conf *c, struct logs **ret, struct diag *d)
{
	struct logs *l;
	int r;

	r = open_common(c, false, &l, d);
	if (r < 0)
		return r;
	if (c->name)
		log_labels_set(&l->base, "host", c->name);
	for (size_t i = 0; i < c->logs_labels.n; i++) {
		const char *kv = c->logs_labels.v[i], *eq = strchr(kv, '=');
		char name[128];
		if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(name) ||
		    !log_label_name_valid(kv, (size_t)(eq - kv))) {
			r = diag_set(
			        d, -EINVAL,
			        "logs.labels: expected items like \"env=prod\" with a label name "
			        "of letters, digits and _, got '%s'",
			        kv);
			goto fail;
		}
		memcpy(name, kv, (size_t)(eq - kv));
		name[eq - kv] = '\0';
		if (!strcmp(name, "file") || !strcmp(name, "unit") || !strcmp(name, "level") ||
		    !strcmp(name, "source") || !strcmp(name, "host")) {
			r = diag_set(d, -EINVAL, "logs.labels: '%s' is set by the edge itself",
			             name);
			goto fail;
		}
		log_labels_set(&l->base, name, eq + 1);
	}
	{
		struct tail_opts o = { &c->logs_paths, l->max_line, DRAIN_GRACE_MS };
		r = tail_open(&o, logstore_db(l->store), &l->tail, d);
		if (r < 0)
			goto fail;
	}
	l->drain = drain_new(NULL);
	r = drain_restore(l->drain, logstore_db(l->store), d);
	if (r < 0)
		goto fail;
	if (c->logs_journal) {
		struct diag why = { 0 };
		if (journal_open(NULL, logstore_db(l->store), now_ms(), &l->journal, &why) < 0) {
			snprintf(l->journal_why, sizeof(l->journal_why), "%s", why.msg);
			log_info("%s; reading log files only", why.msg);
		}
	} else {
		snprintf(l->journal_why, sizeof(l->journal_why), "logs.journal is off");
	}
	*ret = l;
	return 0;
fail:
	logs_close(l);
	return r;
}

static int commit_rows(void *udata, sqlite3 *db, struct diag *d)
{
	struct logs *l = udata;
	int r = tail_save(l->tail, db, d);

	if (r == 0 && l->journal)
		r = journal_save(l->journal, db, d);
	if (r == 0)
		r = drain_save(l->drain, db, l->now, d);
	return r;
}

int logs_flush(struct logs *l, int64_t now, struct diag *d)
{
	int r;

	if (l->read_only)
		return 0;
	l->now = now;
	r = logstore_commit(l->store, now, commit_rows, l, d);
	if (r == 0)
		l->last_commit = now;
	return r;
}

int logs_poll(struct logs *l, int64_t now, bool final, struct diag *d)
{
	int more = 0, r;

	if (l->read_only)
		return diag_set(d, -EPERM, "log index opened read-only");
	l->now = now;
	l->d = d;
	r = tail_poll(l->tail, now, l->budget, final, on_file_line, l);
	if (r < 0)
		return d && d->code ? d->code
		                    : diag_set(d, r, "cannot index log lines: %s", strerror(-r));
	more |= r;
	if (l->journal) {
		r = journal_poll(l->journal, MIN(JOURNAL_PER_POLL, l->budget / 128 + 1), on_journal,
		                 l);
		if (r < 0)
			return d && d->code ? d->code
			                    : diag_set(d, r, "cannot index journal entries: %s",
			                               strerror(-r));
		more |= r;
	}
	if (final || now - l->last_commit >= IDLE_COMMIT_MS ||
	    (logstore_pending(l->store) &&
	     (now - l->last_commit >= COMMIT_MS || logstore_pending(l->store) >= COMMIT_LINES))) {
		r = logs_flush(l, now, d);
		if (r < 0)
			return r;
	}
	return more;
}

void logs_close(struct logs *l)
{
	struct stream_key *k, *tmp;

	if (!l)
		return;
	if (!l->read_only && l->store && l->tail) {
		struct diag d = { 0 };
		if (logs_flush(l, now_ms(), &d) < 0)
			log_warn("cannot commit the last log lines: %s", d.msg);
	}
	HASH_ITER(hh, l->streams, k, tmp)
	{
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): HASH_ITER keeps the next element in tmp */
		HASH_DEL(l->streams, k);
		free(k);
	}
	tail_close(l->tail);
	journal_close(l->journal);
	drain_free(l->drain);
	logstore_close(l->store);
	log_labels_clear(&l->base);
	buf_release(&l->clean);
	buf_release(&l->canon);
	buf_release(&l->key);
	free(l);
}

void logs_set_budget(struct logs *l, size_t bytes)
{
	l->budget = bytes < 4096 ? 4096 : bytes;
}

const char *logs_journal_status(const struct logs *l)
{
	return l->journal_why;
}

uint64_t logs_lines_ingested(const struct logs *l)
{
	return l->ingested;
}

/* ---- queries ------------------------------------------------------------------------- */

int logs_query_json(struct logs *l, const char *logql, int64_t start, int64_t end, int64_t step,
                    size_t limit, cJSON **ret, struct diag *d)
{
	struct logql_params p = { start, end, step, limit };
	struct logql_expr *e;
	int r;

	r = logql_parse(logql, &e, d);
	if (r < 0)
		return r;
	r = logql_eval(l->store, e, &p, ret, d);
	logql_free(e);
	return r;
}

static cJSON *per_minute(sqlite3 *db, const char *tmpl, int64_t from_min, int64_t to_min)
{
	cJSON *arr = json_arr();
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db,
	                       "SELECT m.minute, SUM(m.count) FROM pattern_minutes m JOIN patterns "
	                       "p ON p.id = m.pattern WHERE p.template = ?1 AND m.minute BETWEEN "
	                       "?2 AND ?3 GROUP BY m.minute ORDER BY m.minute",
	                       -1, &st, NULL) != SQLITE_OK)
		return arr;
	sqlite3_bind_text(st, 1, tmpl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from_min);
	sqlite3_bind_int64(st, 3, to_min);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *o = json_obj();
		char t[40];
		clock_format_rfc3339(t, sizeof(t), sqlite3_column_int64(st, 0) * 60000);
		json_add_str(o, "minute", t);
		json_add_num(o, "count", (double)sqlite3_column_int64(st, 1));
		json_push(arr, o);
	}
	sqlite3_finalize(st);
	return arr;
}

struct changed {
	char *tmpl, *sample;
	int64_t first_seen;
	int64_t after, before;
	bool is_new;
	double ratio; /* after-rate / before-rate; 0 when before was silent */
};

static int cmp_changed(const void *a, const void *b)
{
	const struct changed *x = a, *y = b;

	if (x->is_new != y->is_new)
		return x->is_new ? -1 : 1;
	if (!x->is_new && x->ratio != y->ratio)
		return x->ratio > y->ratio ? -1 : 1;
	return x->after > y->after ? -1 : x->after < y->after;
}

static void add_pattern_common(cJSON *o, const char *tmpl, int64_t first_seen, const char *sample)
{
	char t[40];

	json_add_str(o, "template", tmpl);
	clock_format_rfc3339(t, sizeof(t), first_seen);
	json_add_str(o, "first_seen", t);
	json_add_num(o, "first_seen_ms", (double)first_seen);
	json_add_str(o, "sample", sample);
}

int logs_patterns_json(struct logs *l, enum logs_patterns_mode mode, int64_t start, int64_t end,
                       size_t limit, cJSON **ret, struct diag *d)
{
	sqlite3 *db = logstore_db(l->store);
	int64_t smin = start / 60000, emin = end / 60000;
	cJSON *out = json_obj(), *arr = json_arr();
	sqlite3_stmt *st;
	char t[40];
	int r;

	if (end < start) {
		cJSON_Delete(out);
		cJSON_Delete(arr);
		return diag_set(d, -EINVAL, "the window's end is before its start");
	}
	json_add_str(out, "mode", mode == LOGS_PATTERNS_TOP ? "top" : "changed");
	clock_format_rfc3339(t, sizeof(t), start);
	json_add_str(out, mode == LOGS_PATTERNS_TOP ? "start" : "since", t);
	clock_format_rfc3339(t, sizeof(t), end);
	json_add_str(out, "end", t);
	if (mode == LOGS_PATTERNS_TOP) {
		r = sqlite3_prepare_v2(
		        db,
		        "SELECT p.template, (SELECT MIN(first_seen) FROM patterns q "
		        "WHERE q.template = p.template), SUM(m.count) AS n, "
		        "MIN(p.sample) FROM pattern_minutes m JOIN patterns p ON p.id = "
		        "m.pattern WHERE m.minute BETWEEN ?1 AND ?2 GROUP BY p.template "
		        "ORDER BY n DESC, p.template LIMIT ?3",
		        -1, &st, NULL);
		if (r != SQLITE_OK)
			goto sql_fail;
		sqlite3_bind_int64(st, 1, smin);
		sqlite3_bind_int64(st, 2, emin);
		sqlite3_bind_int64(st, 3, (int64_t)limit);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *tmpl = (const char *)sqlite3_column_text(st, 0);
			cJSON *o = json_obj();
			add_pattern_common(o, tmpl, sqlite3_column_int64(st, 1),
			                   (const char *)sqlite3_column_text(st, 3));
			json_add_num(o, "count", (double)sqlite3_column_int64(st, 2));
			json_add(o, "per_minute", per_minute(db, tmpl, smin, emin));
			json_push(arr, o);
		}
		sqlite3_finalize(st);
	} else {
		struct changed *c = NULL;
		size_t n = 0, a = 0;
		double after_min = (double)(emin - smin + 1);
		r = sqlite3_prepare_v2(
		        db,
		        "SELECT p.template, (SELECT MIN(first_seen) FROM patterns q "
		        "WHERE q.template = p.template), SUM(CASE WHEN m.minute >= ?1 "
		        "THEN m.count ELSE 0 END), SUM(CASE WHEN m.minute < ?1 THEN "
		        "m.count ELSE 0 END), MIN(p.sample) FROM pattern_minutes m JOIN "
		        "patterns p ON p.id = m.pattern WHERE m.minute BETWEEN ?1 - 60 "
		        "AND ?2 GROUP BY p.template",
		        -1, &st, NULL);
		if (r != SQLITE_OK)
			goto sql_fail;
		sqlite3_bind_int64(st, 1, smin);
		sqlite3_bind_int64(st, 2, emin);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct changed x = { 0 };
			double ra, rb;
			x.first_seen = sqlite3_column_int64(st, 1);
			x.after = sqlite3_column_int64(st, 2);
			x.before = sqlite3_column_int64(st, 3);
			if (!x.after)
				continue;
			x.is_new = x.first_seen >= smin * 60000;
			ra = (double)x.after / after_min;
			rb = (double)x.before / 60.0;
			if (!x.is_new) {
				if (x.after < 10 || (x.before && ra < 3 * rb))
					continue;
				x.ratio = x.before ? ra / rb : 0;
			}
			x.tmpl = xstrdup((const char *)sqlite3_column_text(st, 0));
			x.sample = xstrdup((const char *)sqlite3_column_text(st, 4));
			ALLOC_GROW(c, n + 1, a);
			c[n++] = x;
		}
		sqlite3_finalize(st);
		if (n)
			qsort(c, n, sizeof(*c), cmp_changed);
		for (size_t i = 0; i < n; i++) {
			if (i < limit) {
				cJSON *o = json_obj();
				add_pattern_common(o, c[i].tmpl, c[i].first_seen, c[i].sample);
				json_add_str(o, "status", c[i].is_new ? "new" : "spiked");
				json_add_num(o, "count", (double)c[i].after);
				json_add_num(o, "count_hour_before", (double)c[i].before);
				if (!c[i].is_new && c[i].before)
					json_add_num(o, "ratio", c[i].ratio);
				json_add(o, "per_minute", per_minute(db, c[i].tmpl, smin, emin));
				json_push(arr, o);
			}
			free(c[i].tmpl);
			free(c[i].sample);
		}
		free(c);
	}
	json_add(out, "patterns", arr);
	*ret = out;
	return 0;
sql_fail:
	cJSON_Delete(arr);
	cJSON_Delete(out);
	return diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
}

int logs_stats_json(struct logs *l, cJSON **ret, struct diag *d)
{
	struct logstore_stats st;
	cJSON *o;
	int r = logstore_stats(l->store, &st, d);

	if (r < 0)
		return r;
	o = json_obj();
	json_add_num(o, "bytes_on_disk", (double)(st.segment_bytes + st.index_bytes));
	json_add_num(o, "segment_bytes", (double)st.segment_bytes);
	json_add_num(o, "index_bytes", (double)st.index_bytes);
	json_add_num(o, "raw_bytes", (double)st.raw_bytes);
	json_add_num(o, "lines", (double)st.lines);
	json_add_num(o, "blocks", (double)st.blocks);
	json_add_num(o, "streams", (double)st.streams);
	if (st.lines) {
		char t[40];
		clock_format_rfc3339(t, sizeof(t), st.t_min);
		json_add_str(o, "oldest", t);
		clock_format_rfc3339(t, sizeof(t), st.t_max);
		json_add_str(o, "newest", t);
	}
	*ret = o;
	return 0;
}

/* ---- control socket handlers (edge/ctl.h) -------------------------------------------- */

static int req_i64(const cJSON *req, const char *key, int64_t def, int64_t *ret, struct diag *d)
{
	int r = json_get_int(req, key, ret, "request", d);

	if (r == -ENOENT) {
		*ret = def;
		return 0;
	}
	return r;
}

int logs_ctl_query(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct logs *l = udata;
	const char *q;
	int64_t now = now_ms(), start = 0, end = 0, step = 0, limit = 0;
	int r;

	r = json_get_string(req, "query", &q, "request", d);
	if (r == -ENOENT)
		return diag_set(d, -EINVAL, "request: 'query' is required");
	if (r == 0)
		r = req_i64(req, "end", now, &end, d);
	if (r == 0)
		r = req_i64(req, "start", end - 3600000, &start, d);
	if (r == 0)
		r = req_i64(req, "step", 0, &step, d);
	if (r == 0)
		r = req_i64(req, "limit", 100, &limit, d);
	if (r < 0)
		return r;
	if (limit < 0 || step < 0)
		return diag_set(d, -EINVAL, "request: 'limit' and 'step' must not be negative");
	return logs_query_json(l, q, start, end, step, (size_t)limit, ret, d);
}

int logs_ctl_patterns(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct logs *l = udata;
	const char *mode = "top";
	int64_t now = now_ms(), start = 0, end = 0, limit = 0;
	int r;

	r = json_get_string(req, "mode", &mode, "request", d);
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = req_i64(req, "end", now, &end, d);
	if (r == 0)
		r = req_i64(req, "start", end - 3600000, &start, d);
	if (r == 0)
		r = req_i64(req, "limit", 20, &limit, d);
	if (r < 0)
		return r;
	if (strcmp(mode, "top") != 0 && strcmp(mode, "changed") != 0)
		return diag_set(d, -EINVAL, "request: 'mode' must be top or changed, got '%s'",
		                mode);
	if (limit < 1 || limit > 10000)
		return diag_set(d, -EINVAL, "request: 'limit' must be 1 to 10000");
	return logs_patterns_json(l, mode[0] == 't' ? LOGS_PATTERNS_TOP : LOGS_PATTERNS_CHANGED,
	                          start, end, (size_t)limit, ret, d);
}
