/* tsdb.c - series index, postings, head chunks, flush, compaction, retention and queries.
 *
 * Memory: per active series its labels, a postings entry per label, the open head chunk
 * (only samples since the last flush) and 16 bytes per file that holds it. Flushed samples
 * stay on disk and are read with pread when a query needs them. A series that got no
 * sample for idle_ms (a few flush intervals) and has nothing left in the head leaves
 * memory altogether (evict_idle): the files that hold it only count it as dropped, and a
 * query or merge over such a file reads its index again (seg_reindex), which brings the
 * series back until the next tsdb_maintain. So memory follows the series that are
 * written to, not every label set seen within retention (processes, peers, commands).
 *
 * Files: every flush writes one level-0 segment with the samples appended since the last
 * flush. tsdb_maintain merges MERGE_FANIN consecutive segments of one level into one of
 * the next level (re-cutting full chunks, so compression recovers from the short chunks a
 * frequent flush makes), as long as the result spans at most MERGE_MAX_SPAN_MS and stays
 * a small part of max_bytes; then it deletes segments past retention and, while the
 * files pass max_bytes, the oldest segment. A merged segment names the segments it
 * replaces, so a crash between writing it and deleting them (or a reader that lists the
 * directory at that moment) never counts a sample twice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <xxhash.h>

#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = (unsigned)XXH3_64bits((keyptr), (keylen)))
#include <uthash.h>

#include "edge/tsdb/chunk.h"
#include "edge/tsdb/segment.h"
#include "edge/tsdb/tsdb.h"
#include "shared/alloc.h"
#include "shared/fsutil.h"
#include "shared/limits.h"
#include "shared/log.h"
#include "shared/banned.h"

/* A head chunk is cut at CHUNK_MAX_SAMPLES or when it would span more than this. */
#define CHUNK_MAX_SPAN_MS   INT64_C(7200000) /* 2 h */
/* Segments of one level merged at a time: with a 60 s flush, levels 1-3 span about 8 min,
 * 1 h and 8.5 h, so a 15-day store holds well under a hundred files. */
#define MERGE_FANIN         8
#define MERGE_MAX_LEVEL     6
/* A merged segment spans at most a day, so retention by age frees space within a day of
 * the limit, and one record stays far below ONGRID_TSDB_MAX_RECORD_BYTES. */
#define MERGE_MAX_SPAN_MS   INT64_C(86400000) /* 1 day */
/* ... and at most 1/16 of max_bytes (but at least 1 MiB), so dropping the oldest file to
 * honour max_bytes drops a small slice of history. */
#define MERGE_MAX_BYTES_DIV 16
/* Closed head chunks per series kept when flushes fail (disk full): then the oldest goes. */
#define HEAD_MAX_CLOSED     64
/* Without a flush interval, series idle this long may leave memory once on disk. */
#define IDLE_DEFAULT_MS     INT64_C(180000)
/* ... otherwise after this many flush intervals without a sample. */
#define IDLE_FLUSHES        3
/* PCRE2 work bounds for one label value: Prometheus label regexes are tiny. */
#define RE_MATCH_LIMIT      100000
#define RE_DEPTH_LIMIT      1000

struct hchunk {
	uint8_t *data;
	uint32_t len;
	int64_t mint, maxt;
	uint32_t n;
};

struct series {
	uint32_t idx, gen; /* ref = gen << 32 | (idx + 1) */
	uint32_t nlabels;
	struct label *labels; /* sorted by name, strings in key */
	char *key;            /* "name\0value\0..." : the hash key */
	size_t key_len;
	int64_t last_t; /* newest sample anywhere; INT64_MIN when none */
	int64_t head_mint;
	struct chunk_app head; /* samples since the last flush */
	struct hchunk *closed; /* full head chunks not yet flushed */
	size_t nclosed, aclosed;
	UT_hash_handle hh;
};

struct pvalue {
	char *value;
	uint32_t *ids; /* ascending */
	size_t n, alloc;
	UT_hash_handle hh;
};

struct pname {
	char *name;
	struct pvalue *values;
	UT_hash_handle hh;
};

struct tsdb {
	char *dir;
	bool read_only;
	int64_t retention_ms;
	uint64_t max_bytes;
	int64_t idle_ms; /* a series without samples for this long may leave memory */
	int lock_fd;
	struct series **series; /* by idx; NULL for a forgotten series' free slot */
	uint32_t *gens;         /* by idx: the generation of the slot's latest series */
	size_t nseries, aseries, agens;
	uint32_t *free_slots;
	size_t nfree, afree;
	size_t live;           /* series in the index */
	unsigned open_queries; /* series are not forgotten while a query holds their ids */
	struct series *by_key;
	struct pname *postings;
	struct seg **segs; /* sorted by mint, then seq */
	size_t nsegs, asegs;
	uint64_t next_seq;
	uint64_t damaged_files;
};

struct tsdb_query {
	struct tsdb *db;
	int64_t mint, maxt;
	uint32_t *ids;
	size_t n, pos;
	int64_t *t;
	double *v;
	size_t ns, as;
	struct seg_rec rec;
};

/* ---- series index and postings ---- */

static bool label_name_valid(const char *s)
{
	if (!*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (i > 0 && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

static void postings_add(struct tsdb *db, const char *name, const char *value, uint32_t id)
{
	struct pname *pn;
	struct pvalue *pv;

	HASH_FIND_STR(db->postings, name, pn);
	if (!pn) {
		pn = xcalloc(1, sizeof(*pn));
		pn->name = xstrdup(name);
		HASH_ADD_KEYPTR(hh, db->postings, pn->name, strlen(pn->name), pn);
	}
	HASH_FIND_STR(pn->values, value, pv);
	if (!pv) {
		pv = xcalloc(1, sizeof(*pv));
		pv->value = xstrdup(value);
		HASH_ADD_KEYPTR(hh, pn->values, pv->value, strlen(pv->value), pv);
	}
	if (pv->n == pv->alloc) {
		/* from one id up: most values (a pid, a command, a peer) name one series, and
		 * ALLOC_GROW's minimum of eight would cost 28 bytes on each of them */
		pv->alloc = pv->alloc ? st_mul(pv->alloc, 2) : 1;
		pv->ids = xrealloc(pv->ids, st_mul(pv->alloc, sizeof(*pv->ids)));
	}
	pv->ids[pv->n++] = id; /* unordered: reused slots bring small ids back */
}

static void postings_remove(struct tsdb *db, const char *name, const char *value, uint32_t id)
{
	struct pname *pn;
	struct pvalue *pv;

	HASH_FIND_STR(db->postings, name, pn);
	if (!pn)
		return;
	HASH_FIND_STR(pn->values, value, pv);
	if (!pv)
		return;
	for (size_t i = 0; i < pv->n; i++)
		if (pv->ids[i] == id) {
			pv->ids[i] = pv->ids[--pv->n];
			break;
		}
	if (pv->n > 0)
		return;
	HASH_DEL(pn->values, pv);
	free(pv->value);
	free(pv->ids);
	free(pv);
	if (pn->values)
		return;
	HASH_DEL(db->postings, pn);
	free(pn->name);
	free(pn);
}

/* Canonical key of a sorted label set; empty values are dropped as in Prometheus. */
static char *make_key(const struct label *l, size_t n, size_t *ret_len, size_t *ret_nl)
{
	size_t len = 0, nl = 0;
	char *key, *p;

	for (size_t i = 0; i < n; i++) {
		if (!*l[i].value)
			continue;
		len = st_add(len, st_add(strlen(l[i].name), strlen(l[i].value) + 2));
		nl++;
	}
	key = xmalloc(len ? len : 1);
	p = key;
	for (size_t i = 0; i < n; i++) {
		size_t a, b;
		if (!*l[i].value)
			continue;
		a = strlen(l[i].name) + 1;
		b = strlen(l[i].value) + 1;
		memcpy(p, l[i].name, a);
		memcpy(p + a, l[i].value, b);
		p += a + b;
	}
	*ret_len = len;
	*ret_nl = nl;
	return key;
}

/* Find or create the series for a sorted, validated label set. */
static int series_get(struct tsdb *db, const struct label *l, size_t n, struct series **ret)
{
	struct series *s;
	size_t len, nl;
	char *key = make_key(l, n, &len, &nl), *p;

	HASH_FIND(hh, db->by_key, key, len, s);
	if (s) {
		free(key);
		*ret = s;
		return 0;
	}
	if (db->live >= ONGRID_TSDB_MAX_SERIES) {
		free(key);
		return -E2BIG;
	}
	s = xcalloc(1, sizeof(*s));
	if (db->nfree > 0) {
		s->idx = db->free_slots[--db->nfree];
		s->gen = ++db->gens[s->idx];
	} else {
		s->idx = (uint32_t)db->nseries;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		ALLOC_GROW(db->series, db->nseries + 1, db->aseries);
		ALLOC_GROW(db->gens, db->nseries + 1, db->agens);
		db->gens[db->nseries] = 0;
		db->series[db->nseries++] = NULL;
	}
	s->key = key;
	s->key_len = len;
	s->nlabels = (uint32_t)nl;
	s->labels = xcalloc(nl ? nl : 1, sizeof(*s->labels));
	p = key;
	for (size_t i = 0; i < nl; i++) {
		s->labels[i].name = p;
		p += strlen(p) + 1;
		s->labels[i].value = p;
		p += strlen(p) + 1;
	}
	s->last_t = INT64_MIN;
	chunk_app_init(&s->head);
	db->series[s->idx] = s;
	db->live++;
	HASH_ADD_KEYPTR(hh, db->by_key, s->key, s->key_len, s);
	for (size_t i = 0; i < nl; i++)
		postings_add(db, s->labels[i].name, s->labels[i].value, s->idx);
	*ret = s;
	return 0;
}

int tsdb_series(struct tsdb *db, const struct label *labels, size_t n, uint64_t *ret_ref,
                struct diag *d)
{
	struct label sorted[ONGRID_TSDB_MAX_LABELS];
	struct series *s;
	bool has_name = false;
	int r;

	if (n == 0 || n > ONGRID_TSDB_MAX_LABELS)
		return diag_set(d, -EINVAL, "a series needs 1 to %d labels, got %zu",
		                ONGRID_TSDB_MAX_LABELS, n);
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].name || !labels[i].value)
			return diag_set(d, -EINVAL, "label %zu has no name or value", i);
		if (!label_name_valid(labels[i].name))
			return diag_set(d, -EINVAL, "invalid label name '%s'", labels[i].name);
		if (strlen(labels[i].name) > ONGRID_TSDB_MAX_LABEL_BYTES ||
		    strlen(labels[i].value) > ONGRID_TSDB_MAX_LABEL_BYTES)
			return diag_set(d, -E2BIG, "label '%.64s' is longer than %d bytes",
			                labels[i].name, ONGRID_TSDB_MAX_LABEL_BYTES);
		if (strcmp(labels[i].name, "__name__") == 0 && *labels[i].value)
			has_name = true;
		sorted[i] = labels[i];
	}
	if (!has_name)
		return diag_set(d, -EINVAL, "series has no metric name (__name__)");
	qsort(sorted, n, sizeof(sorted[0]), cmp_label);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1].name, sorted[i].name) == 0)
			return diag_set(d, -EINVAL, "label '%s' appears twice", sorted[i].name);
	r = series_get(db, sorted, n, &s);
	if (r < 0)
		return diag_set(d, r, "too many series (the limit is %d)", ONGRID_TSDB_MAX_SERIES);
	*ret_ref = (uint64_t)s->gen << 32 | ((uint64_t)s->idx + 1);
	return 0;
}

static struct series *series_by_ref(struct tsdb *db, uint64_t ref)
{
	uint64_t idx = (ref & UINT32_MAX) - 1;
	struct series *s;

	if ((ref & UINT32_MAX) == 0 || idx >= db->nseries)
		return NULL;
	s = db->series[idx];
	return s && s->gen == ref >> 32 ? s : NULL;
}

static void series_free(struct series *s)
{
	for (size_t i = 0; i < s->nclosed; i++)
		free(s->closed[i].data);
	free(s->closed);
	chunk_app_release(&s->head);
	free(s->labels);
	free(s->key);
	free(s);
}

/* Forget a series: its slot is reused with the next generation, so an old ref fails with
 * -ENOENT instead of reaching another series. */
static void series_forget(struct tsdb *db, struct series *s)
{
	HASH_DEL(db->by_key, s);
	for (size_t i = 0; i < s->nlabels; i++)
		postings_remove(db, s->labels[i].name, s->labels[i].value, s->idx);
	db->series[s->idx] = NULL;
	ALLOC_GROW(db->free_slots, db->nfree + 1, db->afree);
	db->free_slots[db->nfree++] = s->idx;
	db->live--;
	series_free(s);
}

/* ---- head ---- */

/* Free the head, the closed list's array included: a series between flushes holds no
 * closed chunks, and most never fill one before the next flush. */
static void head_reset(struct series *s)
{
	for (size_t i = 0; i < s->nclosed; i++)
		free(s->closed[i].data);
	FREE_AND_NULL(s->closed);
	s->nclosed = s->aclosed = 0;
	chunk_app_release(&s->head);
}

/* Move the open chunk to the closed list. persistent: the store has files, so a full
 * list means flushes are failing, which deserves a warning. */
static void head_cut(struct series *s, bool persistent)
{
	struct hchunk *c;
	const uint8_t *p;
	size_t len;

	if (chunk_app_count(&s->head) == 0)
		return;
	if (s->nclosed == HEAD_MAX_CLOSED) {
		if (persistent)
			log_warn("series '%s' holds %d unflushed chunks, dropping the oldest",
			         s->labels[0].value, HEAD_MAX_CLOSED);
		free(s->closed[0].data);
		memmove(s->closed, s->closed + 1, (s->nclosed - 1) * sizeof(*s->closed));
		s->nclosed--;
	}
	ALLOC_GROW(s->closed, s->nclosed + 1, s->aclosed);
	c = &s->closed[s->nclosed++];
	p = chunk_app_bytes(&s->head, &len);
	c->data = xmalloc(len);
	memcpy(c->data, p, len);
	c->len = (uint32_t)len;
	c->n = chunk_app_count(&s->head);
	c->mint = s->head_mint;
	c->maxt = chunk_app_last_t(&s->head);
	chunk_app_release(&s->head);
}

int tsdb_append(struct tsdb *db, uint64_t ref, int64_t t_ms, double v)
{
	struct series *s;
	int r;

	s = series_by_ref(db, ref);
	if (!s)
		return -ENOENT;
	if (db->read_only)
		return -EROFS;
	if (t_ms == s->last_t)
		return 0;
	if (t_ms < s->last_t)
		return -ERANGE;
	if (chunk_app_count(&s->head) > 0 && t_ms - s->head_mint >= CHUNK_MAX_SPAN_MS)
		head_cut(s, db->dir != NULL);
	r = chunk_append(&s->head, t_ms, v);
	if (r == -E2BIG) {
		head_cut(s, db->dir != NULL);
		r = chunk_append(&s->head, t_ms, v);
	}
	if (r < 0)
		return r;
	if (chunk_app_count(&s->head) == 1)
		s->head_mint = t_ms;
	s->last_t = t_ms;
	return 0;
}

/* ---- segments ---- */

static int intern_cb(void *udata, const struct label *l, size_t n, int64_t maxt, uint32_t *ret_sidx)
{
	struct tsdb *db = udata;
	struct series *s;
	int r = series_get(db, l, n, &s);

	if (r < 0)
		return r;
	if (maxt > s->last_t)
		s->last_t = maxt;
	*ret_sidx = s->idx;
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = *(struct seg *const *)a, *y = *(struct seg *const *)b;

	if (x->mint != y->mint)
		return x->mint < y->mint ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void segs_sort(struct tsdb *db)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(db->segs, db->nsegs, sizeof(*db->segs), cmp_seg);
}

static void segs_add(struct tsdb *db, struct seg *s)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	ALLOC_GROW(db->segs, db->nsegs + 1, db->asegs);
	db->segs[db->nsegs++] = s;
	if (s->seq >= db->next_seq)
		db->next_seq = s->seq + 1;
	segs_sort(db);
}

/* Remove segs[i]; unlink its file unless read-only. */
static void segs_drop(struct tsdb *db, size_t i, bool unlink_file)
{
	struct seg *s = db->segs[i];

	if (unlink_file && !db->read_only && unlink(s->path) < 0 && errno != ENOENT)
		log_warn("cannot remove '%s': %s", s->path, strerror(errno));
	seg_free(s);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	memmove(db->segs + i, db->segs + i + 1, (db->nsegs - i - 1) * sizeof(*db->segs));
	db->nsegs--;
}

static int load_one(struct tsdb *db, const char *path)
{
	struct diag d = { 0 };
	struct seg *s;
	int r = seg_load(path, intern_cb, db, &s, &d);

	if (r == -ENOENT)
		return 0; /* deleted by the writer between readdir and open */
	if (r < 0) {
		log_warn("time-series file '%s' is damaged (%s), ignoring it", path, d.msg);
		db->damaged_files++;
		return r;
	}
	segs_add(db, s);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct tsdb *db, struct diag *d)
{
	DIR *dh = opendir(db->dir);
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *e;
	uint64_t seq;

	if (!dh)
		return diag_set(d, -errno, "cannot open '%s': %s", db->dir, strerror(errno));
	while ((e = readdir(dh))) {
		size_t len = strlen(e->d_name);
		if (len > 8 && strcmp(e->d_name + len - 8, ".seg.tmp") == 0 && !db->read_only) {
			/* an interrupted write: never renamed, so never part of the store */
			char *p = xasprintf("%s/%s", db->dir, e->d_name);
			(void)unlink(p);
			free(p);
			continue;
		}
		if (len < 5 || strcmp(e->d_name + len - 4, ".seg") != 0)
			continue;
		/* never reuse the number of a file that exists, even one too damaged to load */
		seq = strtoull(e->d_name, NULL, 16);
		if (seq >= db->next_seq && seq < UINT64_MAX)
			db->next_seq = seq + 1;
		if (n == ONGRID_TSDB_MAX_FILES) {
			log_warn("'%s' holds more than %d time-series files, ignoring the rest",
			         db->dir, ONGRID_TSDB_MAX_FILES);
			break;
		}
		ALLOC_GROW(names, n + 1, alloc);
		names[n++] = xasprintf("%s/%s", db->dir, e->d_name);
	}
	closedir(dh);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		(void)load_one(db, names[i]);
		free(names[i]);
	}
	free(names);

	/* A merged segment lists the ones it replaced: those still present are leftovers of
	 * a crash (or, for a reader, of a merge in progress) and must not count twice. */
	bool *replaced = xcalloc(db->nsegs + 1, sizeof(*replaced));
	for (size_t i = 0; i < db->nsegs; i++)
		for (size_t p = 0; p < db->segs[i]->nparents; p++)
			for (size_t j = 0; j < db->nsegs; j++)
				if (j != i && db->segs[j]->seq == db->segs[i]->parents[p])
					replaced[j] = true;
	for (size_t i = db->nsegs; i-- > 0;)
		if (replaced[i]) {
			log_info("'%s' was merged into another file, removing it",
			         db->segs[i]->path);
			segs_drop(db, i, true);
		}
	free(replaced);
	return 0;
}

/* ---- open and close ---- */

int tsdb_open(const struct tsdb_opts *o, struct tsdb **ret, struct diag *d)
{
	struct tsdb *db = xcalloc(1, sizeof(*db));
	int r;

	db->read_only = o->read_only;
	db->retention_ms = o->retention_ms > 0 ? o->retention_ms : INT64_MAX;
	db->max_bytes = o->max_bytes ? o->max_bytes : UINT64_MAX;
	db->idle_ms =
	        o->flush_interval_ms > 0 ? o->flush_interval_ms * IDLE_FLUSHES : IDLE_DEFAULT_MS;
	db->lock_fd = -1;
	db->next_seq = 1;
	if (o->dir) {
		char *lock;

		db->dir = xstrdup(o->dir);
		if (!db->read_only) {
			r = mkdir_p(db->dir, 0700);
			if (r < 0) {
				diag_set(d, r, "cannot create '%s': %s", db->dir, strerror(-r));
				goto fail;
			}
			/* one writer: a second daemon would interleave sequence numbers */
			lock = xasprintf("%s/LOCK", db->dir);
			db->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			free(lock);
			if (db->lock_fd < 0) {
				r = diag_set(d, -errno, "cannot create the lock in '%s': %s",
				             db->dir, strerror(errno));
				goto fail;
			}
			if (flock(db->lock_fd, LOCK_EX | LOCK_NB) < 0) {
				r = diag_set(d, -EBUSY,
				             "time-series store '%s' is in use by another process",
				             db->dir);
				goto fail;
			}
		}
		r = load_dir(db, d);
		if (r < 0)
			goto fail;
	}
	*ret = db;
	return 0;
fail:
	tsdb_close(db);
	return r;
}

void tsdb_close(struct tsdb *db)
{
	struct pname *pn;
	struct pvalue *pv;

	if (!db)
		return;
	if (db->dir && !db->read_only && db->lock_fd >= 0) {
		struct diag d = { 0 };
		if (tsdb_flush(db, &d) < 0)
			log_err("cannot flush the time-series store: %s", d.msg);
	}
	for (size_t i = 0; i < db->nsegs; i++)
		seg_free(db->segs[i]);
	free(db->segs);
	HASH_CLEAR(hh, db->by_key);
	for (size_t i = 0; i < db->nseries; i++)
		if (db->series[i])
			series_free(db->series[i]);
	free(db->series);
	free(db->gens);
	free(db->free_slots);
	/* HASH_CLEAR frees a table; its items stay linked through hh.next */
	pn = db->postings;
	HASH_CLEAR(hh, db->postings);
	while (pn) {
		struct pname *next_name = pn->hh.next;
		pv = pn->values;
		HASH_CLEAR(hh, pn->values);
		while (pv) {
			struct pvalue *next = pv->hh.next;
			free(pv->value);
			free(pv->ids);
			free(pv);
			pv = next;
		}
		free(pn->name);
		free(pn);
		pn = next_name;
	}
	if (db->lock_fd >= 0)
		close(db->lock_fd);
	free(db->dir);
	free(db);
}

/* ---- flush ---- */

/* Re-encode a head chunk with its best encoding (the appender picks greedily). */
static int best_chunk(const uint8_t *p, size_t len, struct seg_chunk *out, uint8_t **owned,
                      uint32_t *ret_n)
{
	int64_t t[CHUNK_MAX_SAMPLES];
	double v[CHUNK_MAX_SAMPLES];
	size_t n = 0, elen = 0;
	int r = chunk_decode(p, len, t, v, &n);

	*owned = NULL;
	if (r == 0 && n == 0)
		r = -EPROTO;
	if (r == 0)
		r = chunk_encode(t, v, n, owned, &elen);
	if (r < 0 || !*owned)
		return r < 0 ? r : -EPROTO;
	out->data = *owned;
	out->len = (uint32_t)elen;
	out->mint = t[0];
	out->maxt = t[n - 1];
	*ret_n = (uint32_t)n;
	return 0;
}

int tsdb_flush(struct tsdb *db, struct diag *d)
{
	struct seg_chunk ch[HEAD_MAX_CLOSED + 1];
	uint8_t *owned[HEAD_MAX_CLOSED + 1];
	struct segw *w = NULL;
	struct seg *seg;
	char *path;
	size_t written = 0;
	int r = 0;

	if (!db->dir || db->read_only)
		return 0;
	for (size_t i = 0; i < db->nseries; i++) {
		struct series *s = db->series[i];
		uint64_t nsamples = 0;
		size_t n = 0;

		if (!s || (s->nclosed == 0 && chunk_app_count(&s->head) == 0))
			continue;
		if (!w) {
			r = segw_open(db->dir, db->next_seq, 0, NULL, 0, &w, d);
			if (r < 0)
				return r;
		}
		for (size_t c = 0; c < s->nclosed && r == 0; c++) {
			uint32_t cn;
			r = best_chunk(s->closed[c].data, s->closed[c].len, &ch[n], &owned[n], &cn);
			if (r == 0) {
				n++;
				nsamples += cn;
			}
		}
		/* the open chunk goes straight from the appender: cutting it first would give
		 * every series a closed list (a 256-byte array) it keeps between flushes */
		if (r == 0 && chunk_app_count(&s->head) > 0) {
			size_t len;
			const uint8_t *p = chunk_app_bytes(&s->head, &len);
			uint32_t cn;
			r = best_chunk(p, len, &ch[n], &owned[n], &cn);
			if (r == 0) {
				n++;
				nsamples += cn;
			}
		}
		if (r == 0)
			r = segw_add(w, s->labels, s->nlabels, ch, n, nsamples, d);
		for (size_t c = 0; c < n; c++)
			free(owned[c]);
		if (r < 0) {
			diag_prefix(d, "flush: ");
			segw_abort(w);
			return r;
		}
		written++;
	}
	if (!w)
		return 0;
	r = segw_finish(w, &path, d);
	if (r < 0)
		return r;
	db->next_seq++;
	r = seg_load(path, intern_cb, db, &seg, d);
	if (r < 0) {
		diag_prefix(d, "cannot reopen '%s' just written: ", path);
		free(path);
		return r;
	}
	free(path);
	segs_add(db, seg);
	/* only now is the head on disk: drop it */
	for (size_t i = 0; i < db->nseries; i++)
		if (db->series[i])
			head_reset(db->series[i]);
	log_debug("flushed %zu series to segment %" PRIu64, written, seg->seq);
	return 0;
}

/* ---- reading a series ---- */

struct samples {
	int64_t *t;
	double *v;
	size_t n, alloc;
};

static int samples_add(struct samples *sm, int64_t t, double v)
{
	if (sm->n >= ONGRID_TSDB_MAX_QUERY_SAMPLES)
		return -E2BIG;
	if (sm->n + 1 > sm->alloc) {
		size_t a = sm->alloc ? sm->alloc * 2 : 256;
		sm->t = xrealloc(sm->t, st_mul(a, sizeof(*sm->t)));
		sm->v = xrealloc(sm->v, st_mul(a, sizeof(*sm->v)));
		sm->alloc = a;
	}
	sm->t[sm->n] = t;
	sm->v[sm->n] = v;
	sm->n++;
	return 0;
}

static int decode_into(const uint8_t *p, size_t len, int64_t mint, int64_t maxt, struct samples *sm)
{
	struct chunk_iter it;
	int64_t t;
	double v;
	int r = chunk_iter_init(&it, p, len);

	if (r < 0)
		return r;
	while ((r = chunk_iter_next(&it, &t, &v)) == 1) {
		if (t < mint)
			continue;
		if (t > maxt)
			break;
		r = samples_add(sm, t, v);
		if (r < 0)
			return r;
	}
	return r;
}

struct sample_pair {
	int64_t t;
	double v;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct sample_pair *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* Samples come from disjoint files and the head in time order; should two overlap (a
 * leftover file), sort and keep the first of equal timestamps instead of emitting
 * disorder. */
static void samples_normalize(struct samples *sm)
{
	struct sample_pair *p;
	size_t k = 0;
	bool sorted = true;

	for (size_t i = 1; i < sm->n && sorted; i++)
		sorted = sm->t[i] > sm->t[i - 1];
	if (sorted)
		return;
	p = xcalloc(sm->n, sizeof(*p));
	for (size_t i = 0; i < sm->n; i++)
		p[i] = (struct sample_pair){ sm->t[i], sm->v[i] };
	qsort(p, sm->n, sizeof(*p), cmp_pair); /* not stable, but duplicates are the same data */
	for (size_t i = 0; i < sm->n; i++) {
		if (k > 0 && p[i].t == sm->t[k - 1])
			continue;
		sm->t[k] = p[i].t;
		sm->v[k] = p[i].v;
		k++;
	}
	sm->n = k;
	free(p);
}

/* Every sample of series s in [mint, maxt], from the given segments and (if head) the
 * head. A damaged record is logged and skipped. */
static int series_read(struct tsdb *db, struct series *s, struct seg *const *segs, size_t nsegs,
                       bool head, int64_t mint, int64_t maxt, struct seg_rec *rec,
                       struct samples *sm)
{
	int r;

	sm->n = 0;
	for (size_t i = 0; i < nsegs; i++) {
		const struct seg_entry *e;
		if (segs[i]->maxt < mint || segs[i]->mint > maxt)
			continue;
		e = seg_find(segs[i], s->idx);
		if (!e)
			continue;
		r = seg_rec_read(segs[i], e, rec);
		if (r == -EPROTO) {
			log_warn("time-series file '%s' has a damaged record for '%s', "
			         "skipping it",
			         segs[i]->path, s->labels[0].value);
			continue;
		}
		if (r < 0)
			return r;
		for (size_t c = 0; c < rec->nch; c++) {
			if (rec->ch[c].maxt < mint || rec->ch[c].mint > maxt)
				continue;
			r = decode_into(rec->ch[c].data, rec->ch[c].len, mint, maxt, sm);
			if (r == -EPROTO) {
				log_warn("time-series file '%s' has a damaged chunk, skipping it",
				         segs[i]->path);
				continue;
			}
			if (r < 0)
				return r;
		}
	}
	(void)db;
	if (head) {
		for (size_t c = 0; c < s->nclosed; c++) {
			if (s->closed[c].maxt < mint || s->closed[c].mint > maxt)
				continue;
			r = decode_into(s->closed[c].data, s->closed[c].len, mint, maxt, sm);
			if (r < 0)
				return r;
		}
		if (chunk_app_count(&s->head) > 0 && s->head_mint <= maxt &&
		    chunk_app_last_t(&s->head) >= mint) {
			size_t len;
			const uint8_t *p = chunk_app_bytes(&s->head, &len);
			r = decode_into(p, len, mint, maxt, sm);
			if (r < 0)
				return r;
		}
	}
	samples_normalize(sm);
	return 0;
}

/* ---- matchers ---- */

struct bitmap {
	uint64_t *w;
	size_t nbits;
};

static void bm_set(struct bitmap *b, uint32_t i, bool on)
{
	if (on)
		b->w[i / 64] |= UINT64_C(1) << (i % 64);
	else
		b->w[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static bool bm_get(const struct bitmap *b, uint32_t i)
{
	return b->w[i / 64] >> (i % 64) & 1;
}

struct rx {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static int rx_compile(struct rx *x, const char *pattern, struct diag *d)
{
	int err;
	PCRE2_SIZE off;

	memset(x, 0, sizeof(*x));
	x->code =
	        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	                      PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL, &err, &off, NULL);
	if (!x->code) {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return diag_set(d, -EINVAL, "bad regex '%s' at offset %zu: %s", pattern,
		                (size_t)off, (const char *)msg);
	}
	x->md = pcre2_match_data_create_from_pattern(x->code, NULL);
	x->mc = pcre2_match_context_create(NULL);
	if (!x->md || !x->mc)
		return diag_set(d, -ENOMEM, "out of memory compiling regex '%s'", pattern);
	pcre2_set_match_limit(x->mc, RE_MATCH_LIMIT);
	pcre2_set_depth_limit(x->mc, RE_DEPTH_LIMIT);
	return 0;
}

static void rx_free(struct rx *x)
{
	pcre2_match_context_free(x->mc);
	pcre2_match_data_free(x->md);
	pcre2_code_free(x->code);
}

/* 1 match, 0 no match, -E2BIG when the value needs more work than the limits allow. */
static int rx_match(struct rx *x, const char *s)
{
	int r = pcre2_match(x->code, (PCRE2_SPTR)s, strlen(s), 0, 0, x->md, x->mc);

	if (r >= 0)
		return 1;
	if (r == PCRE2_ERROR_NOMATCH)
		return 0;
	return -E2BIG;
}

/* Does value (the empty string for a missing label) satisfy m? */
static int matcher_test(const struct tsdb_matcher *m, struct rx *x, const char *value)
{
	int r;

	switch (m->op) {
	case TSDB_MATCH_EQ:
		return strcmp(value, m->value) == 0;
	case TSDB_MATCH_NEQ:
		return strcmp(value, m->value) != 0;
	case TSDB_MATCH_RE:
		return rx_match(x, value);
	default:
		r = rx_match(x, value);
		return r < 0 ? r : !r;
	}
}

/* ---- bringing dropped series back ---- */

struct reindex {
	struct tsdb *db;
	const struct tsdb_matcher *m; /* NULL: every series */
	struct rx *rx;                /* compiled regexes, by matcher */
	size_t nm;
};

/* seg_intern_fn for seg_reindex: a series still in memory keeps its entry; one that left
 * comes back only when the query's matchers may select it, so an alert rule evaluated
 * every 15 s over the last minutes brings back its few series, not every dropped one. */
static int reindex_cb(void *udata, const struct label *l, size_t n, int64_t maxt,
                      uint32_t *ret_sidx)
{
	struct reindex *x = udata;
	struct series *s;
	size_t len, nl;
	char *key = make_key(l, n, &len, &nl);

	HASH_FIND(hh, x->db->by_key, key, len, s);
	free(key);
	if (s) {
		*ret_sidx = s->idx;
		return 0;
	}
	for (size_t i = 0; x->m && i < x->nm; i++) {
		const char *v = "";
		for (size_t k = 0; k < n; k++)
			if (strcmp(l[k].name, x->m[i].name) == 0)
				v = l[k].value;
		if (matcher_test(&x->m[i], &x->rx[i], v) == 0)
			return 1; /* (a regex too costly to test brings the series back) */
	}
	return intern_cb(x->db, l, n, maxt, ret_sidx);
}

/* Bring back, from the files overlapping [mint, maxt], the dropped series that the
 * matchers (all of them when m is NULL) may select. */
static int reindex_range(struct tsdb *db, const struct tsdb_matcher *m, size_t nm, int64_t mint,
                         int64_t maxt, struct diag *d)
{
	struct reindex x = { db, m, NULL, nm };
	bool any = false;
	int r = 0;

	for (size_t i = 0; i < db->nsegs && !any; i++)
		any = db->segs[i]->dropped > 0 && db->segs[i]->maxt >= mint &&
		      db->segs[i]->mint <= maxt;
	if (!any)
		return 0; /* the common case: nothing to read */
	x.rx = xcalloc(nm + 1, sizeof(*x.rx));
	for (size_t i = 0; m && i < nm && r == 0; i++) {
		if (!m[i].name || !m[i].value || m[i].op > TSDB_MATCH_NRE)
			r = diag_set(d, -EINVAL, "incomplete label matcher");
		else if (m[i].op == TSDB_MATCH_RE || m[i].op == TSDB_MATCH_NRE)
			r = rx_compile(&x.rx[i], m[i].value, d);
	}
	for (size_t i = 0; i < db->nsegs && r == 0; i++) {
		struct seg *g = db->segs[i];
		struct diag gd = { 0 };

		if (g->dropped == 0 || g->maxt < mint || g->mint > maxt)
			continue;
		if (seg_reindex(g, reindex_cb, &x, &gd) < 0)
			log_warn("cannot read the index of '%s' again (%s): %zu of its series are "
			         "missing from this query",
			         g->path, gd.msg, g->dropped);
	}
	for (size_t i = 0; i < nm; i++)
		if (x.rx[i].code)
			rx_free(&x.rx[i]);
	free(x.rx);
	return r;
}

/* AND the series matching m into sel. A series without the label is tested with "", as
 * in Prometheus: {foo=""} selects series that have no foo. */
static int apply_matcher(struct tsdb *db, const struct tsdb_matcher *m, struct bitmap *sel,
                         struct diag *d)
{
	struct bitmap mb = { xcalloc((sel->nbits + 63) / 64 + 1, 8), sel->nbits };
	struct pname *pn;
	struct pvalue *pv, *tmp;
	struct rx x = { 0 };
	int empty, r = 0;

	if (!m->name || !m->value || m->op > TSDB_MATCH_NRE) {
		r = diag_set(d, -EINVAL, "incomplete label matcher");
		goto out;
	}
	if (m->op == TSDB_MATCH_RE || m->op == TSDB_MATCH_NRE) {
		r = rx_compile(&x, m->value, d);
		if (r < 0)
			goto out;
	}
	empty = matcher_test(m, &x, "");
	if (empty < 0) {
		r = diag_set(d, empty, "regex '%s' is too expensive to match", m->value);
		goto out;
	}
	if (empty)
		for (size_t i = 0; i < sel->nbits; i++)
			bm_set(&mb, (uint32_t)i, true);
	HASH_FIND_STR(db->postings, m->name, pn);
	if (pn && m->op == TSDB_MATCH_EQ && *m->value) {
		/* the common case needs no scan: one postings list */
		HASH_FIND_STR(pn->values, m->value, pv);
		for (size_t i = 0; pv && i < pv->n; i++)
			bm_set(&mb, pv->ids[i], true);
	} else if (pn) {
		HASH_ITER(hh, pn->values, pv, tmp)
		{
			int ok = matcher_test(m, &x, pv->value);
			if (ok < 0) {
				r = diag_set(d, ok, "regex '%s' is too expensive to match '%.64s'",
				             m->value, pv->value);
				goto out;
			}
			if (ok != empty)
				for (size_t i = 0; i < pv->n; i++)
					bm_set(&mb, pv->ids[i], ok);
		}
	}
	for (size_t i = 0; i < (sel->nbits + 63) / 64; i++)
		sel->w[i] &= mb.w[i];
out:
	if (x.code)
		rx_free(&x);
	free(mb.w);
	return r;
}

static int cmp_series_labels(const void *a, const void *b, void *arg)
{
	const struct tsdb *db = arg;
	const struct series *x = db->series[*(const uint32_t *)a];
	const struct series *y = db->series[*(const uint32_t *)b];
	size_t n = MIN(x->key_len, y->key_len);
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

int tsdb_query_open(struct tsdb *db, const struct tsdb_matcher *m, size_t nm, int64_t mint,
                    int64_t maxt, struct tsdb_query **ret, struct diag *d)
{
	struct bitmap sel;
	struct tsdb_query *q;
	size_t aids = 0;
	int r;

	if (mint > maxt)
		return diag_set(d, -EINVAL, "query range ends before it starts");
	r = reindex_range(db, m, nm, mint, maxt, d);
	if (r < 0)
		return r;
	sel = (struct bitmap){ xcalloc((db->nseries + 63) / 64 + 1, 8), db->nseries };
	for (size_t i = 0; i < db->nseries; i++)
		bm_set(&sel, (uint32_t)i, true);
	for (size_t i = 0; i < nm; i++) {
		r = apply_matcher(db, &m[i], &sel, d);
		if (r < 0) {
			free(sel.w);
			return r;
		}
	}
	q = xcalloc(1, sizeof(*q));
	q->db = db;
	q->mint = mint;
	q->maxt = maxt;
	for (size_t i = 0; i < db->nseries; i++) {
		if (!db->series[i] || !bm_get(&sel, (uint32_t)i))
			continue;
		ALLOC_GROW(q->ids, q->n + 1, aids);
		q->ids[q->n++] = (uint32_t)i;
	}
	free(sel.w);
	db->open_queries++;
	if (q->n)
		qsort_r(q->ids, q->n, sizeof(*q->ids), cmp_series_labels, db);
	*ret = q;
	return 0;
}

int tsdb_query_next(struct tsdb_query *q, const struct label **ret_labels, size_t *ret_nlabels,
                    const int64_t **ret_t, const double **ret_v, size_t *ret_n)
{
	struct samples sm;
	int r;

	while (q->pos < q->n) {
		struct series *s = q->db->series[q->ids[q->pos++]];

		sm = (struct samples){ q->t, q->v, 0, q->as };
		r = series_read(q->db, s, q->db->segs, q->db->nsegs, true, q->mint, q->maxt,
		                &q->rec, &sm);
		q->t = sm.t;
		q->v = sm.v;
		q->as = sm.alloc;
		if (r < 0)
			return r;
		if (sm.n == 0)
			continue; /* no samples in range: not part of the result */
		*ret_labels = s->labels;
		*ret_nlabels = s->nlabels;
		*ret_t = q->t;
		*ret_v = q->v;
		*ret_n = sm.n;
		return 1;
	}
	return 0;
}

void tsdb_query_close(struct tsdb_query *q)
{
	if (!q)
		return;
	q->db->open_queries--;
	free(q->ids);
	free(q->t);
	free(q->v);
	seg_rec_release(&q->rec);
	free(q);
}

/* ---- compaction and retention ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Re-cut one series' samples into full chunks and add them to w. */
static int write_series(struct segw *w, struct series *s, const struct samples *sm, struct diag *d)
{
	struct seg_chunk *ch = NULL;
	uint8_t **owned = NULL;
	size_t nch = 0, ach = 0, aown = 0, i = 0;
	int r = 0;

	while (i < sm->n && r == 0) {
		size_t j = i, len;
		while (j < sm->n && j - i < CHUNK_MAX_SAMPLES &&
		       sm->t[j] - sm->t[i] < CHUNK_MAX_SPAN_MS)
			j++;
		ALLOC_GROW(ch, nch + 1, ach);
		ALLOC_GROW(owned, nch + 1, aown);
		r = chunk_encode(sm->t + i, sm->v + i, j - i, &owned[nch], &len);
		if (r < 0)
			break;
		ch[nch] = (struct seg_chunk){ sm->t[i], sm->t[j - 1], owned[nch], (uint32_t)len };
		nch++;
		i = j;
	}
	if (r == 0 && nch > 0)
		r = segw_add(w, s->labels, s->nlabels, ch, nch, sm->n, d);
	else if (r < 0)
		diag_set(d, r, "cannot encode series '%s'", s->labels[0].value);
	for (size_t k = 0; k < nch; k++)
		free(owned[k]);
	free(owned);
	free(ch);
	return r;
}

/* Merge segs[first .. first+n) (one level, in time order) into one segment of level+1. */
static int merge(struct tsdb *db, size_t first, size_t n, struct diag *d)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct seg **src = xcalloc(n, sizeof(*src));
	uint64_t *parents = xcalloc(n, sizeof(*parents));
	uint32_t *ids = NULL, level = db->segs[first]->level + 1;
	struct samples sm = { 0 };
	struct seg_rec rec = { 0 };
	size_t nids = 0, aids = 0;
	struct segw *w = NULL;
	struct seg *out;
	char *path = NULL;
	int r;

	for (size_t i = 0; i < n; i++) {
		src[i] = db->segs[first + i];
		parents[i] = src[i]->seq;
		/* the merged file must hold every series, also those that left memory */
		if (src[i]->dropped > 0) {
			struct reindex all = { db, NULL, NULL, 0 };
			r = seg_reindex(src[i], reindex_cb, &all, d);
			if (r < 0) {
				diag_prefix(d, "'%s': ", src[i]->path);
				goto out;
			}
		}
		for (size_t e = 0; e < src[i]->nent; e++) {
			ALLOC_GROW(ids, nids + 1, aids);
			ids[nids++] = src[i]->ent[e].sidx;
		}
	}
	if (nids)
		qsort(ids, nids, sizeof(*ids), cmp_u32);
	r = segw_open(db->dir, db->next_seq, level, parents, n, &w, d);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			continue;
		r = series_read(db, db->series[ids[i]], src, n, false, INT64_MIN, INT64_MAX, &rec,
		                &sm);
		if (r == 0 && sm.n > 0)
			r = write_series(w, db->series[ids[i]], &sm, d);
		if (r < 0) {
			if (d && !d->code)
				diag_set(d, r, "cannot read series for merging: %s", strerror(-r));
			segw_abort(w);
			goto out;
		}
	}
	r = segw_finish(w, &path, d);
	if (r < 0)
		goto out;
	db->next_seq++;
	r = seg_load(path, intern_cb, db, &out, d);
	if (r < 0)
		goto out;
	segs_add(db, out);
	/* the new file is durable; now the ones it replaces can go */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < db->nsegs; j++)
			if (db->segs[j] == src[i]) {
				segs_drop(db, j, true);
				break;
			}
	log_debug("merged %zu level-%u segments into '%s'", n, level - 1, path);
out:
	free(path);
	free(src);
	free(parents);
	free(ids);
	free(sm.t);
	free(sm.v);
	seg_rec_release(&rec);
	return r;
}

/* Find MERGE_FANIN consecutive segments of one level that may be merged; 1 if found. */
static int pick_merge(struct tsdb *db, size_t *ret_first)
{
	uint64_t cap = db->max_bytes / MERGE_MAX_BYTES_DIV;

	if (cap < (1u << 20))
		cap = 1u << 20;
	for (uint32_t level = 0; level < MERGE_MAX_LEVEL; level++) {
		size_t run[MERGE_FANIN], nrun = 0;

		for (size_t i = 0; i < db->nsegs; i++) {
			uint64_t bytes = 0;
			if (db->segs[i]->level != level)
				continue;
			if (nrun == MERGE_FANIN)
				memmove(run, run + 1, --nrun * sizeof(*run));
			run[nrun++] = i;
			if (nrun < MERGE_FANIN)
				continue;
			for (size_t k = 0; k < nrun; k++)
				bytes += db->segs[run[k]]->bytes;
			if (db->segs[run[nrun - 1]]->maxt - db->segs[run[0]]->mint >
			            MERGE_MAX_SPAN_MS ||
			    bytes > cap)
				continue;
			/* merge only segments that are adjacent among all files, so the merged
			 * time range overlaps no file of another level */
			if (run[nrun - 1] - run[0] != MERGE_FANIN - 1)
				continue;
			*ret_first = run[0];
			return 1;
		}
	}
	return 0;
}

static uint64_t disk_bytes(const struct tsdb *db)
{
	uint64_t b = 0;

	for (size_t i = 0; i < db->nsegs; i++)
		b += db->segs[i]->bytes;
	return b;
}

/* Memory-only stores apply retention by age to the head. */
static void head_retention(struct tsdb *db, int64_t cutoff)
{
	for (size_t i = 0; i < db->nseries; i++) {
		struct series *s = db->series[i];
		size_t k = 0;

		if (!s)
			continue;
		while (k < s->nclosed && s->closed[k].maxt < cutoff)
			free(s->closed[k++].data);
		memmove(s->closed, s->closed + k, (s->nclosed - k) * sizeof(*s->closed));
		s->nclosed -= k;
		if (s->nclosed == 0 && chunk_app_count(&s->head) > 0 &&
		    chunk_app_last_t(&s->head) < cutoff)
			chunk_app_release(&s->head);
	}
}

/* Series with no sample since cutoff and nothing in the head leave the index: those whose
 * every sample aged out, so label churn (processes, containers, peers) cannot grow memory
 * or reach ONGRID_TSDB_MAX_SERIES over the life of the daemon; and, in a store with files,
 * those idle for idle_ms, whose samples are all on disk (the files count them as dropped
 * until a query reads their index again). Not while a query holds series ids. */
static void evict_idle(struct tsdb *db, int64_t cutoff)
{
	struct bitmap drop;
	size_t n = 0;

	if (db->open_queries > 0)
		return;
	drop = (struct bitmap){ xcalloc((db->nseries + 63) / 64 + 1, 8), db->nseries };
	for (size_t i = 0; i < db->nseries; i++) {
		struct series *s = db->series[i];

		if (!s || s->last_t == INT64_MIN || s->last_t >= cutoff || s->nclosed > 0 ||
		    chunk_app_count(&s->head) > 0)
			continue;
		bm_set(&drop, s->idx, true);
		series_forget(db, s);
		n++;
	}
	if (n)
		for (size_t i = 0; i < db->nsegs; i++)
			seg_drop_entries(db->segs[i], drop.w, drop.nbits);
	free(drop.w);
	if (n)
		log_debug("%zu idle series left memory, %zu remain", n, db->live);
}

int tsdb_maintain(struct tsdb *db, int64_t now_ms, struct diag *d)
{
	int64_t cutoff = db->retention_ms == INT64_MAX ? INT64_MIN : now_ms - db->retention_ms;
	size_t first;
	int r;

	if (db->read_only)
		return 0;
	if (!db->dir) {
		head_retention(db, cutoff);
		evict_idle(db, cutoff); /* only what aged out: the head is all there is */
		return 0;
	}
	for (size_t i = 0; i < db->nsegs;) {
		if (db->segs[i]->maxt < cutoff) {
			log_debug("'%s' is past retention, removing it", db->segs[i]->path);
			segs_drop(db, i, true);
		} else {
			i++;
		}
	}
	while (pick_merge(db, &first) == 1) {
		r = merge(db, first, MERGE_FANIN, d);
		if (r < 0)
			return diag_prefix(d, "compaction: ");
	}
	while (db->nsegs > 0 && disk_bytes(db) > db->max_bytes) {
		log_info("time-series files use %" PRIu64 " bytes, over %" PRIu64
		         ", removing the oldest ('%s')",
		         disk_bytes(db), db->max_bytes, db->segs[0]->path);
		segs_drop(db, 0, true);
	}
	evict_idle(db, MAX(cutoff, now_ms - db->idle_ms));
	return 0;
}

void tsdb_get_stats(struct tsdb *db, struct tsdb_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->series = db->live;
	ret->mint = INT64_MAX;
	ret->maxt = INT64_MIN;
	for (size_t i = 0; i < db->nsegs; i++) {
		const struct seg *s = db->segs[i];
		ret->disk_samples += s->samples;
		ret->disk_bytes += s->bytes;
		ret->files++;
		ret->mint = MIN(ret->mint, s->mint);
		ret->maxt = MAX(ret->maxt, s->maxt);
	}
	for (size_t i = 0; i < db->nseries; i++) {
		const struct series *s = db->series[i];
		if (!s)
			continue;
		for (size_t c = 0; c < s->nclosed; c++) {
			ret->head_samples += s->closed[c].n;
			ret->mint = MIN(ret->mint, s->closed[c].mint);
			ret->maxt = MAX(ret->maxt, s->closed[c].maxt);
		}
		if (chunk_app_count(&s->head) > 0) {
			ret->head_samples += chunk_app_count(&s->head);
			ret->mint = MIN(ret->mint, s->head_mint);
			ret->maxt = MAX(ret->maxt, chunk_app_last_t(&s->head));
		}
	}
	if (ret->mint > ret->maxt)
		ret->mint = ret->maxt = 0;
	ret->damaged_files = db->damaged_files;
}
