/* drain.c - online log template mining with bounded memory. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "edge/logs/drain.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/db.h"
#include "shared/list.h"
#include "shared/banned.h"

#define WILD       "<*>"
#define SAMPLE_MAX 512
#define MAX_ROWS   50000 /* pattern rows kept in the store */
#define TOKEN_MAX  256   /* longer tokens are compared by their first bytes */

struct tok {
	const char *p;
	size_t n;
};

struct pend {
	int64_t minute;
	uint32_t count;
};

struct cluster {
	struct list_head lru;   /* dr->lru, most recent first */
	struct list_head dirty; /* dr->dirty while it has unsaved changes */
	struct leaf *leaf;
	int64_t db_id; /* 0 until saved */
	size_t ntok;
	char **tok;     /* template tokens, owned */
	uint16_t *tlen; /* their lengths */
	char *sample;
	int64_t first_seen, last_seen;
	uint64_t total_unsaved;
	bool tmpl_dirty, is_dirty;
	struct pend *pend;
	size_t npend, apend;
};

struct leaf {
	UT_hash_handle hh;
	struct cluster **c;
	size_t n, a;
	char key[];
};

struct drain {
	struct drain_opts o;
	struct leaf *leaves;
	struct list_head lru, dirty;
	size_t nclusters;
	int64_t last_prune_minute;
	char keybuf[TOKEN_MAX + 8];
	size_t keylen;
	char scratch[DRAIN_MAX_TOKENS][TOKEN_MAX];
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_num(const char *p, size_t n)
{
	size_t i = 0, digits = 0;
	bool dot = false;

	if (i < n && (p[i] == '-' || p[i] == '+'))
		i++;
	for (; i < n; i++) {
		if (is_digit(p[i]))
			digits++;
		else if (p[i] == '.' && !dot)
			dot = true;
		else
			return false;
	}
	return digits > 0;
}

static bool is_ipv4(const char *p, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t d = 0;
		while (i < n && is_digit(p[i]) && d < 3) {
			i++;
			d++;
		}
		if (!d)
			return false;
		if (part < 3) {
			if (i >= n || p[i] != '.')
				return false;
			i++;
		}
	}
	if (i < n && p[i] == ':') { /* port */
		size_t d = 0;
		for (i++; i < n && is_digit(p[i]); i++)
			d++;
		if (!d)
			return false;
	}
	return i == n;
}

static bool is_uuid(const char *p, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? p[i] != '-' : !is_hex(p[i]))
			return false;
	}
	return true;
}

static bool is_hexnum(const char *p, size_t n)
{
	size_t i = 0;
	bool digit = false;

	if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		i = 2;
	else if (n < 8)
		return false;
	for (size_t k = i; k < n; k++) {
		if (!is_hex(p[k]))
			return false;
		digit |= is_digit(p[k]);
	}
	return i == 2 || digit;
}

static int classify(const char *p, size_t n)
{
	size_t digits = 0;

	if (is_ipv4(p, n))
		return 0;
	if (is_uuid(p, n))
		return 1;
	if (is_hexnum(p, n))
		return 2;
	if (is_num(p, n))
		return 3;
	for (size_t i = 0; i < n; i++)
		digits += is_digit(p[i]);
	/* mostly digits (times, addresses, ids): a variable; a path with v1 in it is not */
	if (digits && digits * 3 >= n)
		return 4;
	return -1;
}

static bool memchr_digit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_digit(p[i]))
			return true;
	return false;
}

/* The token as the template sees it: a placeholder for variables, else itself; for
 * key=value, the key is kept and the value masked. scratch holds composed tokens. */
static struct tok mask(struct tok t, char *scratch)
{
	static const char *const names[] = { "<IP>", "<UUID>", "<HEX>", "<NUM>", WILD };
	const char *eq = memchr(t.p, '=', t.n);
	int k;

	if (eq && eq > t.p && (size_t)(eq - t.p) < TOKEN_MAX - 8) {
		size_t kl = (size_t)(eq - t.p) + 1;
		k = classify(eq + 1, t.n - kl);
		if (k >= 0) {
			memcpy(scratch, t.p, kl);
			memcpy(scratch + kl, names[k], strlen(names[k]));
			t.p = scratch;
			t.n = kl + strlen(names[k]);
		}
	} else {
		k = classify(t.p, t.n);
		if (k >= 0) {
			t.p = names[k];
			t.n = strlen(names[k]);
		} else if (memchr_digit(t.p, t.n)) {
			/* a word with numbers inside ({"time":"2026-11-24T02:46:01Z",...): each
			 * run of digits becomes '#', so the rest of the word still counts */
			size_t o = 0;
			for (size_t i = 0; i < t.n && o < TOKEN_MAX - 1; i++) {
				if (is_digit(t.p[i])) {
					if (!o || scratch[o - 1] != '#')
						scratch[o++] = '#';
				} else {
					scratch[o++] = t.p[i];
				}
			}
			t.p = scratch;
			t.n = o;
		}
	}
	if (t.n > TOKEN_MAX)
		t.n = TOKEN_MAX;
	return t;
}

static size_t tokenize(struct drain *dr, const char *line, size_t len, struct tok *out)
{
	size_t n = 0, i = 0;

	while (i < len && n < DRAIN_MAX_TOKENS) {
		size_t s;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		s = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		out[n].p = line + s;
		out[n].n = i - s;
		out[n] = mask(out[n], dr->scratch[n]);
		n++;
	}
	return n;
}

static bool tok_eq(const struct cluster *c, size_t i, struct tok x)
{
	return c->tlen[i] == x.n && memcmp(c->tok[i], x.p, x.n) == 0;
}

static bool tok_wild(const struct cluster *c, size_t i)
{
	return c->tlen[i] == 3 && memcmp(c->tok[i], WILD, 3) == 0;
}

/* The leaf of a line: its token count and first token ("7\x1fERROR"). Sets dr->keylen. */
static const char *leaf_key(struct drain *dr, const struct tok *t, size_t n)
{
	size_t w = 0;

	dr->keybuf[w++] = (char)('0' + n / 10);
	dr->keybuf[w++] = (char)('0' + n % 10);
	if (n) {
		dr->keybuf[w++] = '\x1f';
		memcpy(dr->keybuf + w, t[0].p, t[0].n);
		w += t[0].n;
	}
	dr->keybuf[w] = '\0';
	dr->keylen = w;
	return dr->keybuf;
}

struct drain *drain_new(const struct drain_opts *o)
{
	struct drain *dr = xcalloc(1, sizeof(*dr));

	dr->o.max_clusters = o && o->max_clusters ? o->max_clusters : 2000;
	dr->o.sim_threshold = o && o->sim_threshold > 0 ? o->sim_threshold : 0.5;
	list_init(&dr->lru);
	list_init(&dr->dirty);
	return dr;
}

static void cluster_free(struct cluster *c)
{
	for (size_t i = 0; i < c->ntok; i++)
		free(c->tok[i]);
	free(c->tok);
	free(c->tlen);
	free(c->sample);
	free(c->pend);
	free(c);
}

static void leaf_remove(struct drain *dr, struct cluster *c)
{
	struct leaf *l = c->leaf;

	for (size_t i = 0; i < l->n; i++)
		if (l->c[i] == c) {
			l->c[i] = l->c[--l->n];
			break;
		}
	if (!l->n) {
		HASH_DEL(dr->leaves, l);
		free(l->c);
		free(l);
	}
}

static void evict(struct drain *dr, struct cluster *c)
{
	list_del(&c->lru);
	if (c->is_dirty)
		list_del(&c->dirty);
	leaf_remove(dr, c);
	cluster_free(c);
	dr->nclusters--;
}

void drain_free(struct drain *dr)
{
	if (!dr)
		return;
	while (!list_empty(&dr->lru))
		evict(dr, list_entry(dr->lru.next, struct cluster, lru));
	free(dr);
}

size_t drain_nclusters(const struct drain *dr)
{
	return dr->nclusters;
}

static struct leaf *leaf_get(struct drain *dr, const char *key)
{
	struct leaf *l;
	size_t n = strlen(key);

	HASH_FIND(hh, dr->leaves, key, n, l);
	if (!l) {
		l = xcalloc(1, sizeof(*l) + n + 1);
		memcpy(l->key, key, n + 1);
		HASH_ADD(hh, dr->leaves, key[0], n, l);
	}
	return l;
}

static struct cluster *cluster_new(struct drain *dr, struct leaf *l, const struct tok *t, size_t n)
{
	struct cluster *c;

	if (dr->nclusters >= dr->o.max_clusters && !list_empty(&dr->lru)) {
		struct cluster *old = list_entry(dr->lru.prev, struct cluster, lru);
		if (old->leaf == l && l->n == 1)
			l = NULL; /* the leaf goes with it; fetch it again below */
		evict(dr, old);
	}
	if (!l)
		l = leaf_get(dr, leaf_key(dr, t, n));
	c = xcalloc(1, sizeof(*c));
	c->ntok = n;
	c->tok = xcalloc(n ? n : 1, sizeof(char *));
	c->tlen = xcalloc(n ? n : 1, sizeof(uint16_t));
	for (size_t i = 0; i < n; i++) {
		c->tok[i] = xstrndup(t[i].p, t[i].n);
		c->tlen[i] = (uint16_t)t[i].n;
	}
	c->leaf = l;
	c->tmpl_dirty = true;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	ALLOC_GROW(l->c, l->n + 1, l->a);
	l->c[l->n++] = c;
	list_add(&c->lru, &dr->lru);
	dr->nclusters++;
	return c;
}

static struct cluster *match(struct drain *dr, struct leaf *l, const struct tok *t, size_t n,
                             double *ret_sim)
{
	struct cluster *best = NULL;
	double best_sim = -1;

	for (size_t k = 0; l && k < l->n; k++) {
		struct cluster *c = l->c[k];
		size_t eq = 0;
		double sim;
		for (size_t i = 0; i < n; i++)
			if (tok_wild(c, i) || tok_eq(c, i, t[i]))
				eq++;
		sim = n ? (double)eq / (double)n : 1.0;
		if (sim > best_sim) {
			best_sim = sim;
			best = c;
		}
	}
	(void)dr;
	*ret_sim = best_sim;
	return best;
}

static void count(struct drain *dr, struct cluster *c, int64_t ts)
{
	int64_t minute = ts / 60000;

	if (!c->first_seen || ts < c->first_seen)
		c->first_seen = ts;
	if (ts > c->last_seen)
		c->last_seen = ts;
	c->total_unsaved++;
	if (c->npend && c->pend[c->npend - 1].minute == minute) {
		c->pend[c->npend - 1].count++;
	} else {
		ALLOC_GROW(c->pend, c->npend + 1, c->apend);
		c->pend[c->npend].minute = minute;
		c->pend[c->npend].count = 1;
		c->npend++;
	}
	if (!c->is_dirty) {
		list_add_tail(&c->dirty, &dr->dirty);
		c->is_dirty = true;
	}
	list_del(&c->lru);
	list_add(&c->lru, &dr->lru);
}

void drain_add(struct drain *dr, const char *line, size_t len, int64_t ts)
{
	struct tok t[DRAIN_MAX_TOKENS];
	size_t n = tokenize(dr, line, len, t);
	struct leaf *l;
	struct cluster *c;
	double sim;

	HASH_FIND(hh, dr->leaves, leaf_key(dr, t, n), dr->keylen, l);
	c = match(dr, l, t, n, &sim);
	if (!c || sim < dr->o.sim_threshold) {
		c = cluster_new(dr, l, t, n);
		c->sample = xstrndup(line, MIN(len, SAMPLE_MAX));
	} else {
		for (size_t i = 0; i < n; i++)
			if (!tok_wild(c, i) && !tok_eq(c, i, t[i])) {
				free(c->tok[i]);
				c->tok[i] = xstrdup(WILD);
				c->tlen[i] = 3;
				c->tmpl_dirty = true;
			}
	}
	count(dr, c, ts);
}

static void join(const struct cluster *c, struct buf *b)
{
	buf_reset(b);
	for (size_t i = 0; i < c->ntok; i++)
		if ((i && buf_addc(b, ' ') < 0) || buf_adds(b, c->tok[i]) < 0)
			break;
}

const char *drain_template_of(struct drain *dr, const char *line, size_t len, char *out,
                              size_t outsz)
{
	struct tok t[DRAIN_MAX_TOKENS];
	size_t n = tokenize(dr, line, len, t);
	struct leaf *l;
	struct cluster *c;
	double sim;
	struct buf b = BUF_INIT(outsz ? outsz - 1 : 0);

	out[0] = '\0';
	HASH_FIND(hh, dr->leaves, leaf_key(dr, t, n), dr->keylen, l);
	c = match(dr, l, t, n, &sim);
	if (c && sim >= dr->o.sim_threshold) {
		join(c, &b);
		if (b.data)
			snprintf(out, outsz, "%s", b.data);
	}
	buf_release(&b);
	return out;
}

int drain_restore(struct drain *dr, sqlite3 *db, struct diag *d)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(db,
	               "SELECT id, template, first_seen, last_seen, sample FROM patterns "
	               "ORDER BY last_seen ASC LIMIT -1 OFFSET MAX(0, (SELECT COUNT(*) FROM "
	               "patterns) - ?)",
	               &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)dr->o.max_clusters);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *tmpl = (const char *)sqlite3_column_text(st, 1);
		struct tok t[DRAIN_MAX_TOKENS] = { { NULL, 0 } };
		size_t n = 0, i = 0, len = strlen(tmpl);
		struct cluster *c;
		struct leaf *l;

		while (i < len && n < DRAIN_MAX_TOKENS) {
			size_t s = i;
			while (i < len && tmpl[i] != ' ')
				i++;
			t[n].p = tmpl + s;
			t[n].n = i - s;
			n++;
			i++;
		}
		l = leaf_get(dr, leaf_key(dr, t, n));
		c = cluster_new(dr, l, t, n);
		c->db_id = sqlite3_column_int64(st, 0);
		c->first_seen = sqlite3_column_int64(st, 2);
		c->last_seen = sqlite3_column_int64(st, 3);
		c->sample = xstrdup((const char *)sqlite3_column_text(st, 4));
		c->tmpl_dirty = false;
	}
	sqlite3_finalize(st);
	return 0;
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, struct diag *d)
{
	int r = sqlite3_step(st) == SQLITE_DONE || sqlite3_errcode(db) == SQLITE_ROW
	                ? 0
	                : diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	return r;
}

int drain_save(struct drain *dr, sqlite3 *db, int64_t now, struct diag *d)
{
	sqlite3_stmt *find = NULL, *ins = NULL, *upd = NULL, *min = NULL;
	struct buf tmpl = BUF_INIT((size_t)DRAIN_MAX_TOKENS * (TOKEN_MAX + 1));
	int r;

	r = db_prepare(db, "SELECT id FROM patterns WHERE template = ? LIMIT 1", &find, d);
	if (r == 0)
		r = db_prepare(
		        db,
		        "INSERT INTO patterns(template, first_seen, last_seen, total, sample) "
		        "VALUES (?, ?, ?, 0, ?)",
		        &ins, d);
	if (r == 0)
		r = db_prepare(
		        db,
		        "UPDATE patterns SET template = ?2, first_seen = MIN(first_seen, ?3), "
		        "last_seen = MAX(last_seen, ?4), total = total + ?5 WHERE id = ?1",
		        &upd, d);
	if (r == 0)
		r = db_prepare(
		        db,
		        "INSERT INTO pattern_minutes(pattern, minute, count) VALUES (?, ?, ?) "
		        "ON CONFLICT(pattern, minute) DO UPDATE SET count = count + "
		        "excluded.count",
		        &min, d);
	while (r == 0 && !list_empty(&dr->dirty)) {
		struct cluster *c = list_entry(dr->dirty.next, struct cluster, dirty);
		join(c, &tmpl);
		if (!c->db_id) {
			sqlite3_bind_text(find, 1, buf_str(&tmpl), -1, SQLITE_STATIC);
			if (sqlite3_step(find) == SQLITE_ROW)
				c->db_id = sqlite3_column_int64(find, 0);
			sqlite3_reset(find);
		}
		if (!c->db_id) {
			sqlite3_bind_text(ins, 1, buf_str(&tmpl), -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 2, c->first_seen);
			sqlite3_bind_int64(ins, 3, c->last_seen);
			sqlite3_bind_text(ins, 4, c->sample ? c->sample : "", -1, SQLITE_STATIC);
			r = step_done(db, ins, d);
			if (r < 0)
				break;
			c->db_id = sqlite3_last_insert_rowid(db);
		}
		sqlite3_bind_int64(upd, 1, c->db_id);
		sqlite3_bind_text(upd, 2, buf_str(&tmpl), -1, SQLITE_STATIC);
		sqlite3_bind_int64(upd, 3, c->first_seen);
		sqlite3_bind_int64(upd, 4, c->last_seen);
		sqlite3_bind_int64(upd, 5, (int64_t)c->total_unsaved);
		r = step_done(db, upd, d);
		for (size_t i = 0; r == 0 && i < c->npend; i++) {
			sqlite3_bind_int64(min, 1, c->db_id);
			sqlite3_bind_int64(min, 2, c->pend[i].minute);
			sqlite3_bind_int64(min, 3, c->pend[i].count);
			r = step_done(db, min, d);
		}
		if (r < 0)
			break;
		c->npend = 0;
		c->total_unsaved = 0;
		c->tmpl_dirty = false;
		c->is_dirty = false;
		list_del(&c->dirty);
	}
	sqlite3_finalize(find);
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_finalize(min);
	buf_release(&tmpl);
	if (r == 0 && now / 60000 != dr->last_prune_minute) {
		char sql[256];
		dr->last_prune_minute = now / 60000;
		snprintf(sql, sizeof(sql),
		         "DELETE FROM pattern_minutes WHERE minute < %lld; "
		         "DELETE FROM patterns WHERE id IN (SELECT id FROM patterns ORDER BY "
		         "last_seen DESC LIMIT -1 OFFSET %d);",
		         (long long)(now / 60000 - (int64_t)DRAIN_KEEP_MINUTES), MAX_ROWS);
		r = db_exec(db, sql, d);
	}
	return r;
}
