/* logql_eval.c - run a parsed LogQL query over the log store.
 *
 * Log queries scan blocks newest first and keep the `limit` newest matching lines in a
 * heap; once the heap is full, a block whose newest line is older than the heap's oldest
 * ends the scan. Metric queries collect (time, bytes) of matching lines per series, then
 * slide each step's window over them. Both skip blocks by time, by stream ids, and by
 * the trigram bitmaps for the literals every match must contain (from |= filters and
 * from the literal runs of |~ regexes).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "edge/logs/labels.h"
#include "edge/logs/logql.h"
#include "edge/logs/logstore.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

#define MAX_EXTRACTED 128 /* labels a parser may add per line */

struct stream_info {
	uint32_t id;
	struct log_labels labels;
	char *canon;
};

/* Literals a line must contain: one alternative must have all of its literals. */
struct lit_alt {
	char **lit;
	size_t *len;
	size_t n;
};
struct lit_req {
	struct lit_alt *alt;
	size_t nalt;
};

struct entry {
	int64_t ts;
	uint64_t seq;
	char *labels; /* canonical */
	char *line;
	size_t len;
};

struct sample {
	int64_t ts;
	uint32_t bytes;
};

struct series {
	UT_hash_handle hh;
	struct log_labels labels;
	struct sample *s;
	size_t n, a;
	double *v; /* per step, NAN = absent */
	char key[];
};

struct ev {
	const struct logql_log *log;
	struct stream_info *streams; /* sorted by id */
	size_t nstreams, astreams;
	struct lit_req *req;
	size_t nreq;
	pcre2_match_data *md;
	pcre2_match_context *mctx; /* borrowed: logql_match_context() */
	struct log_labels work;
	struct buf fmt, canon;
	struct diag *d;
	/* log query */
	bool is_log;
	struct entry *heap;
	size_t nheap, limit;
	uint64_t seq, matched;
	/* metric query */
	struct series *series;
	size_t nseries;
	uint64_t nsamples;
	int err;
};

/* ---- literals for block skipping ----------------------------------------------------- */

static void alt_add(struct lit_alt *a, const char *p, size_t n)
{
	if (n < 3)
		return;
	a->lit = xrealloc(a->lit, st_mul(a->n + 1, sizeof(char *)));
	a->len = xrealloc(a->len, st_mul(a->n + 1, sizeof(size_t)));
	a->lit[a->n] = xstrndup(p, n);
	a->len[a->n] = n;
	a->n++;
}

static bool is_meta(char c)
{
	return strchr(".^$*+?()[]{}|\\", c) != NULL;
}

/* The literal runs of one regex alternative that every match contains. Conservative:
 * groups, classes and escapes such as \d end a run; a char made optional by ? * {
 * is dropped. Returns false if this alternative constrains nothing. */
static bool alt_literals(const char *p, size_t n, struct lit_alt *a)
{
	char run[256];
	size_t rl = 0;

	for (size_t i = 0; i < n;) {
		char c = p[i];
		size_t next;
		char lc = 0;

		if (c == '\\' && i + 1 < n && !isalnum((unsigned char)p[i + 1])) {
			lc = p[i + 1];
			next = i + 2;
		} else if (!is_meta(c)) {
			lc = c;
			next = i + 1;
		} else {
			/* anything else: end the run and skip the construct roughly */
			alt_add(a, run, rl);
			rl = 0;
			if (c == '(' || c == '[') {
				char close = c == '(' ? ')' : ']';
				int depth = 0;
				for (; i < n; i++) {
					if (p[i] == '\\') {
						i++;
						continue;
					}
					if (p[i] == c)
						depth++;
					else if (p[i] == close && --depth == 0)
						break;
				}
				i++;
			} else if (c == '\\') {
				i += 2;
			} else {
				i++;
			}
			continue;
		}
		if (next < n && (p[next] == '?' || p[next] == '*' || p[next] == '{')) {
			alt_add(a, run, rl); /* optional char: the run ends before it */
			rl = 0;
			i = next + 1;
			continue;
		}
		if (rl < sizeof(run))
			run[rl++] = lc;
		i = next;
		if (next < n && p[next] == '+') {
			alt_add(a, run, rl);
			rl = 0;
			i = next + 1;
		}
	}
	alt_add(a, run, rl);
	return a->n > 0;
}

static void req_free(struct lit_req *r)
{
	for (size_t i = 0; i < r->nalt; i++) {
		for (size_t k = 0; k < r->alt[i].n; k++)
			free(r->alt[i].lit[k]);
		free(r->alt[i].lit);
		free(r->alt[i].len);
	}
	free(r->alt);
}

static void add_regex_req(struct ev *ev, const char *re)
{
	struct lit_req r = { 0 };
	size_t len = strlen(re), s = 0;
	int depth = 0;
	bool ok = true;

	if (strstr(re, "(?") && strncmp(re, "(?i)", 4) != 0)
		return; /* inline options other than (?i) may change what is literal */
	if (strncmp(re, "(?i)", 4) == 0) /* the bitmaps are case-folded already */
		s = 4;
	for (size_t i = s; i <= len && ok; i++) {
		if (i < len && re[i] == '\\') {
			i++;
			continue;
		}
		if (i < len && (re[i] == '(' || re[i] == '['))
			depth++;
		else if (i < len && (re[i] == ')' || re[i] == ']'))
			depth--;
		if (i == len || (re[i] == '|' && depth == 0)) {
			r.alt = xrealloc(r.alt, st_mul(r.nalt + 1, sizeof(*r.alt)));
			memset(&r.alt[r.nalt], 0, sizeof(r.alt[0]));
			ok = alt_literals(re + s, i - s, &r.alt[r.nalt]);
			r.nalt++;
			s = i + 1;
		}
	}
	if (!ok || !r.nalt) {
		req_free(&r);
		return;
	}
	ev->req = xrealloc(ev->req, st_mul(ev->nreq + 1, sizeof(*ev->req)));
	ev->req[ev->nreq++] = r;
}

static void build_requirements(struct ev *ev)
{
	for (size_t i = 0; i < ev->log->nst; i++) {
		const struct logql_stage *st = &ev->log->st[i];
		if (st->kind == LQ_LINE_FORMAT)
			break; /* later filters see another line */
		if (st->kind == LQ_LINE_HAS && st->len >= 3) {
			struct lit_req r = { xcalloc(1, sizeof(struct lit_alt)), 1 };
			alt_add(&r.alt[0], st->str, st->len);
			ev->req = xrealloc(ev->req, st_mul(ev->nreq + 1, sizeof(*ev->req)));
			ev->req[ev->nreq++] = r;
		} else if (st->kind == LQ_LINE_RE) {
			add_regex_req(ev, st->str);
		}
	}
}

/* ---- streams ------------------------------------------------------------------------- */

static int collect_stream(void *udata, uint32_t id, const char *text)
{
	struct ev *ev = udata;
	struct log_labels l = { 0 };

	if (log_labels_parse(text, &l) < 0)
		return 0; /* not ours to judge: a damaged row matches nothing */
	for (size_t i = 0; i < ev->log->nm; i++)
		if (!logql_matcher_ok(&ev->log->m[i], log_labels_get(&l, ev->log->m[i].name))) {
			log_labels_clear(&l);
			return 0;
		}
	ALLOC_GROW(ev->streams, ev->nstreams + 1, ev->astreams);
	ev->streams[ev->nstreams].id = id;
	ev->streams[ev->nstreams].labels = l;
	ev->streams[ev->nstreams].canon = xstrdup(text);
	ev->nstreams++;
	return 0;
}

static const struct stream_info *stream_find(const struct ev *ev, uint32_t id)
{
	size_t lo = 0, hi = ev->nstreams;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ev->streams[mid].id == id)
			return &ev->streams[mid];
		if (ev->streams[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- block filter -------------------------------------------------------------------- */

static int block_ok(void *udata, const struct logstore_block_info *b)
{
	struct ev *ev = udata;
	size_t i = 0, k = 0;
	bool common = false;

	if (ev->is_log && ev->nheap == ev->limit && ev->limit && b->t_max <= ev->heap[0].ts)
		return -1; /* blocks come newest first: nothing older can enter the heap */
	while (i < b->nstreams && k < ev->nstreams) {
		if (b->streams[i] == ev->streams[k].id) {
			common = true;
			break;
		}
		if (b->streams[i] < ev->streams[k].id)
			i++;
		else
			k++;
	}
	if (!common)
		return 0;
	for (size_t r = 0; r < ev->nreq; r++) {
		bool any = false;
		for (size_t a = 0; a < ev->req[r].nalt && !any; a++) {
			const struct lit_alt *alt = &ev->req[r].alt[a];
			bool all = true;
			for (size_t l = 0; l < alt->n && all; l++)
				all = logstore_grams_may_contain(b->grams, alt->lit[l],
				                                 alt->len[l]);
			any = all;
		}
		if (!any)
			return 0;
	}
	return 1;
}

/* ---- parsers ------------------------------------------------------------------------- */

static void sanitize_name(char *s)
{
	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		*s = '_';
	for (char *p = s + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped at depth 8 below */
static void json_flatten(struct ev *ev, const cJSON *o, const char *prefix, int depth)
{
	const cJSON *it;

	if (depth > 8)
		return;
	cJSON_ArrayForEach(it, o) {
		char *name;
		if (!it->string || ev->work.n >= MAX_EXTRACTED)
			continue;
		name = prefix ? xasprintf("%s_%s", prefix, it->string) : xstrdup(it->string);
		sanitize_name(name);
		if (cJSON_IsObject(it)) {
			json_flatten(ev, it, name, depth + 1);
		} else if (cJSON_IsString(it)) {
			log_labels_set(&ev->work, name, it->valuestring);
		} else if (cJSON_IsNumber(it)) {
			char num[64];
			snprintf(num, sizeof(num), "%.17g", it->valuedouble);
			log_labels_set(&ev->work, name, num);
		} else if (cJSON_IsBool(it)) {
			log_labels_set(&ev->work, name, cJSON_IsTrue(it) ? "true" : "false");
		} else if (cJSON_IsNull(it)) {
			log_labels_set(&ev->work, name, "");
		}
		free(name);
	}
}

static void parse_json(struct ev *ev, const char *line, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(line, len);

	if (!o || !cJSON_IsObject(o)) {
		log_labels_set(&ev->work, "__error__", "JSONParserErr");
	} else {
		json_flatten(ev, o, NULL, 0);
	}
	cJSON_Delete(o);
}

static void parse_logfmt(struct ev *ev, const char *p, size_t len)
{
	const char *end = p + len;
	struct buf v = BUF_INIT(len + 1);

	while (p < end && ev->work.n < MAX_EXTRACTED) {
		const char *k;
		char key[128];
		size_t kl;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		k = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		kl = (size_t)(p - k);
		buf_reset(&v);
		if (p < end && *p == '=') {
			p++;
			if (p < end && *p == '"') {
				for (p++; p < end && *p != '"'; p++) {
					if (*p == '\\' && p + 1 < end)
						p++;
					if (buf_addc(&v, *p) < 0)
						break;
				}
				if (p < end)
					p++;
			} else {
				const char *s = p;
				while (p < end && *p != ' ' && *p != '\t')
					p++;
				if (buf_add(&v, s, (size_t)(p - s)) < 0)
					break;
			}
		}
		if (kl == 0 || kl >= sizeof(key))
			continue;
		memcpy(key, k, kl);
		key[kl] = '\0';
		sanitize_name(key);
		log_labels_setn(&ev->work, key, buf_str(&v), v.len);
	}
	buf_release(&v);
}

/* {{.name}} is replaced by the label's value; output past the buffer's cap is cut. */
static void line_format(struct ev *ev, const char *tmpl)
{
	buf_reset(&ev->fmt);
	for (const char *p = tmpl; *p;) {
		const char *open = strstr(p, "{{"), *close, *s, *e, *val;
		char name[128];

		if (!open) {
			if (buf_adds(&ev->fmt, p) < 0)
				return;
			break;
		}
		close = strstr(open, "}}");
		if (buf_add(&ev->fmt, p, (size_t)((close ? open : p + strlen(p)) - p)) < 0 ||
		    !close)
			return;
		s = open + 2;
		e = close;
		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		if (s < e && *s == '.')
			s++;
		if ((size_t)(e - s) < sizeof(name)) {
			memcpy(name, s, (size_t)(e - s));
			name[e - s] = '\0';
			val = log_labels_get(&ev->work, name);
			if (val && buf_adds(&ev->fmt, val) < 0)
				return;
		}
		p = close + 2;
	}
}

static bool to_number(const char *s, double *ret)
{
	int64_t ms;
	uint64_t sz;

	if (!s || !*s)
		return false;
	if (str_to_double(s, ret) == 0)
		return true;
	if (str_to_duration_ms(s, &ms) == 0) {
		*ret = (double)ms / 1000.0;
		return true;
	}
	if (str_to_size(s, &sz) == 0) {
		*ret = (double)sz;
		return true;
	}
	return false;
}

static bool label_filter_ok(struct ev *ev, const struct logql_stage *st)
{
	const char *v = log_labels_get(&ev->work, st->label);
	double x;

	if (!st->numeric) {
		struct logql_matcher m = { st->label, st->str, st->op, st->re };
		return logql_matcher_ok(&m, v);
	}
	if (!to_number(v, &x))
		return false;
	switch (st->op) {
	case LQ_EQEQ:
		return x == st->num;
	case LQ_NEQ:
		return x != st->num;
	case LQ_GT:
		return x > st->num;
	case LQ_GE:
		return x >= st->num;
	case LQ_LT:
		return x < st->num;
	case LQ_LE:
		return x <= st->num;
	default:
		return false;
	}
}

/* Run the pipeline. Returns true if the line passes; the line and its length may be replaced by
 * line_format; ev->work holds the labels when *labelled. */
static bool run_pipeline(struct ev *ev, const struct stream_info *si, const char **line,
                         size_t *len, bool *labelled)
{
	*labelled = false;
	for (size_t i = 0; i < ev->log->nst; i++) {
		const struct logql_stage *st = &ev->log->st[i];
		switch (st->kind) {
		case LQ_LINE_HAS:
			if (st->len && !memmem(*line, *len, st->str, st->len))
				return false;
			break;
		case LQ_LINE_HASNT:
			if (!st->len || memmem(*line, *len, st->str, st->len))
				return false;
			break;
		case LQ_LINE_RE:
		case LQ_LINE_NOT_RE: {
			bool hit = pcre2_match(st->re, (PCRE2_SPTR)*line, *len, 0, 0, ev->md,
			                       ev->mctx) >= 0;
			if (hit != (st->kind == LQ_LINE_RE))
				return false;
			break;
		}
		default:
			if (!*labelled) {
				log_labels_copy(&ev->work, &si->labels);
				*labelled = true;
			}
			if (st->kind == LQ_JSON)
				parse_json(ev, *line, *len);
			else if (st->kind == LQ_LOGFMT)
				parse_logfmt(ev, *line, *len);
			else if (st->kind == LQ_LABEL_FILTER && !label_filter_ok(ev, st))
				return false;
			else if (st->kind == LQ_LINE_FORMAT) {
				line_format(ev, st->str);
				*line = buf_str(&ev->fmt);
				*len = ev->fmt.len;
			}
			break;
		}
	}
	return true;
}

/* ---- log results: a min-heap on (ts, seq) of the newest `limit` lines ----------------- */

static bool entry_less(const struct entry *a, const struct entry *b)
{
	return a->ts != b->ts ? a->ts < b->ts : a->seq > b->seq;
}

static void heap_down(struct entry *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct entry t;
		if (l < n && entry_less(&h[l], &h[m]))
			m = l;
		if (r < n && entry_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_up(struct entry *h, size_t i)
{
	while (i) {
		size_t p = (i - 1) / 2;
		struct entry t;
		if (!entry_less(&h[i], &h[p]))
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void entry_free(struct entry *e)
{
	free(e->labels);
	free(e->line);
}

static int take_log(struct ev *ev, int64_t ts, const char *labels, const char *line, size_t len)
{
	struct entry e = { ts, ev->seq++, NULL, NULL, len };

	if (!ev->limit)
		return 0;
	if (ev->nheap == ev->limit) {
		if (!entry_less(&ev->heap[0], &e))
			return 0;
		entry_free(&ev->heap[0]);
		e.labels = xstrdup(labels);
		e.line = xstrndup(line, len);
		ev->heap[0] = e;
		heap_down(ev->heap, ev->nheap, 0);
		return 0;
	}
	e.labels = xstrdup(labels);
	e.line = xstrndup(line, len);
	ev->heap[ev->nheap++] = e;
	heap_up(ev->heap, ev->nheap - 1);
	return 0;
}

/* ---- metric samples ------------------------------------------------------------------ */

static int take_sample(struct ev *ev, int64_t ts, const struct log_labels *labels,
                       const char *canon, size_t bytes)
{
	struct series *s;
	size_t n = strlen(canon);

	HASH_FIND(hh, ev->series, canon, n, s);
	if (!s) {
		if (ev->nseries >= LOGQL_MAX_SERIES)
			return diag_set(
			        ev->d, -E2BIG,
			        "query makes more than %d series; group with sum by (...) or "
			        "narrow the selector",
			        LOGQL_MAX_SERIES);
		s = xcalloc(1, sizeof(*s) + n + 1);
		memcpy(s->key, canon, n + 1);
		log_labels_copy(&s->labels, labels);
		HASH_ADD(hh, ev->series, key[0], n, s);
		ev->nseries++;
	}
	if (++ev->nsamples > LOGQL_MAX_SAMPLES)
		return diag_set(
		        ev->d, -E2BIG,
		        "query touches more than %u lines; use a shorter range or a narrower "
		        "selector",
		        LOGQL_MAX_SAMPLES);
	ALLOC_GROW(s->s, s->n + 1, s->a);
	s->s[s->n].ts = ts;
	s->s[s->n].bytes = (uint32_t)bytes;
	s->n++;
	return 0;
}

static int on_line(void *udata, int64_t ts, uint32_t stream, const char *line, size_t len)
{
	struct ev *ev = udata;
	const struct stream_info *si = stream_find(ev, stream);
	size_t orig_len = len;
	bool labelled;
	const char *canon;
	int r;

	if (!si)
		return 0;
	if (!run_pipeline(ev, si, &line, &len, &labelled))
		return 0;
	ev->matched++;
	if (labelled) {
		log_labels_del(&ev->work, "__error__");
		buf_reset(&ev->canon);
		if (log_labels_format(&ev->work, &ev->canon) < 0)
			return 0;
		canon = buf_str(&ev->canon);
	} else {
		canon = si->canon;
	}
	if (ev->is_log)
		r = take_log(ev, ts, canon, line, len);
	else
		r = take_sample(ev, ts, labelled ? &ev->work : &si->labels, canon, orig_len);
	if (r < 0)
		ev->err = r;
	return r;
}

/* ---- evaluation ---------------------------------------------------------------------- */

struct vec {
	struct series **s; /* owned series (from ev or made by aggregation) */
	size_t n;
};

static void series_free(struct series *s)
{
	log_labels_clear(&s->labels);
	free(s->s);
	free(s->v);
	free(s);
}

static void vec_free(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		series_free(v->s[i]);
	free(v->s);
	v->s = NULL;
	v->n = 0;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static void ev_release(struct ev *ev)
{
	struct series *s, *tmp;

	for (size_t i = 0; i < ev->nstreams; i++) {
		log_labels_clear(&ev->streams[i].labels);
		free(ev->streams[i].canon);
	}
	free(ev->streams);
	for (size_t i = 0; i < ev->nreq; i++)
		req_free(&ev->req[i]);
	free(ev->req);
	pcre2_match_data_free(ev->md);
	log_labels_clear(&ev->work);
	buf_release(&ev->fmt);
	buf_release(&ev->canon);
	for (size_t i = 0; i < ev->nheap; i++)
		entry_free(&ev->heap[i]);
	free(ev->heap);
	HASH_ITER(hh, ev->series, s, tmp)
	{
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): HASH_ITER keeps the next element in tmp */
		HASH_DEL(ev->series, s);
		series_free(s);
	}
}

static int scan(struct logstore *store, struct ev *ev, const struct logql_log *log, int64_t start,
                int64_t end, bool backward, struct logstore_scan_stats *st, struct diag *d)
{
	int r;

	ev->log = log;
	ev->d = d;
	ev->md = pcre2_match_data_create(8, NULL);
	ev->mctx = logql_match_context();
	buf_init(&ev->fmt, 1u << 20);
	buf_init(&ev->canon, 1u << 20);
	r = logstore_streams(store, collect_stream, ev, d);
	if (r < 0)
		return r;
	build_requirements(ev);
	if (!ev->nstreams)
		return 0;
	r = logstore_scan(store, start, end, backward, block_ok, on_line, ev, st, d);
	if (ev->err)
		return ev->err;
	return r;
}

static void add_stats(cJSON *out, const struct logstore_scan_stats *st, uint64_t matched,
                      size_t nstreams)
{
	cJSON *s = json_obj();

	json_add_num(s, "streams", (double)nstreams);
	json_add_num(s, "blocks_total", (double)st->blocks_total);
	json_add_num(s, "blocks_read", (double)st->blocks_read);
	json_add_num(s, "lines_scanned", (double)st->lines_read);
	json_add_num(s, "lines_matched", (double)matched);
	if (st->corrupt_blocks)
		json_add_num(s, "corrupt_blocks", (double)st->corrupt_blocks);
	json_add(out, "stats", s);
}

static cJSON *labels_json(const struct log_labels *l)
{
	cJSON *o = json_obj();

	for (size_t i = 0; i < l->n; i++)
		json_add_str(o, l->v[i].name, l->v[i].value);
	return o;
}

static int eval_log(struct logstore *store, const struct logql_expr *e,
                    const struct logql_params *p, cJSON **ret, struct diag *d)
{
	struct ev ev = { 0 };
	struct logstore_scan_stats st = { 0 };
	cJSON *out, *arr;
	int r;

	ev.is_log = true;
	ev.limit = p->limit;
	ev.heap = xcalloc(p->limit ? p->limit : 1, sizeof(struct entry));
	r = scan(store, &ev, &e->log, p->start_ms, p->end_ms, true, &st, d);
	if (r < 0) {
		ev_release(&ev);
		return r;
	}
	/* newest first */
	for (size_t n = ev.nheap; n > 1; n--) {
		struct entry t = ev.heap[0];
		ev.heap[0] = ev.heap[n - 1];
		ev.heap[n - 1] = t;
		heap_down(ev.heap, n - 1, 0);
	}
	out = json_obj();
	json_add_str(out, "resultType", "streams");
	arr = json_arr();
	for (size_t i = 0; i < ev.nheap; i++) {
		struct log_labels l = { 0 };
		cJSON *o = json_obj();
		char t[40];
		clock_format_rfc3339(t, sizeof(t), ev.heap[i].ts);
		json_add_str(o, "time", t);
		json_add_num(o, "ts_ms", (double)ev.heap[i].ts);
		if (log_labels_parse(ev.heap[i].labels, &l) == 0)
			json_add(o, "labels", labels_json(&l));
		log_labels_clear(&l);
		json_add_str(o, "line", ev.heap[i].line);
		json_push(arr, o);
	}
	json_add(out, "result", arr);
	add_stats(out, &st, ev.matched, ev.nstreams);
	json_add_bool(out, "limited", ev.matched > ev.nheap);
	ev_release(&ev);
	*ret = out;
	return 0;
}

struct steps {
	int64_t *t;
	size_t n;
};

static int eval_metric(struct logstore *store, const struct logql_expr *e, const struct steps *sp,
                       struct vec *out, struct logstore_scan_stats *st, uint64_t *matched,
                       size_t *nstreams, struct diag *d);

static int eval_range(struct logstore *store, const struct logql_expr *e, const struct steps *sp,
                      struct vec *out, struct logstore_scan_stats *st, uint64_t *matched,
                      size_t *nstreams, struct diag *d)
{
	struct ev ev = { 0 };
	struct series *s, *tmp;
	double secs = (double)e->range_ms / 1000.0;
	int r;

	r = scan(store, &ev, &e->log, sp->t[0] - e->range_ms + 1, sp->t[sp->n - 1], false, st, d);
	*matched += ev.matched;
	*nstreams += ev.nstreams;
	if (r < 0) {
		ev_release(&ev);
		return r;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	out->s = xcalloc(ev.nseries ? ev.nseries : 1, sizeof(*out->s));
	HASH_ITER(hh, ev.series, s, tmp)
	{
		size_t lo = 0, hi = 0;
		uint64_t bytes = 0;
		HASH_DEL(ev.series, s);
		qsort(s->s, s->n, sizeof(s->s[0]), cmp_sample);
		s->v = xmalloc(st_mul(sp->n, sizeof(double)));
		for (size_t i = 0; i < sp->n; i++) {
			int64_t t = sp->t[i], from = t - e->range_ms; /* window (from, t] */
			size_t cnt;
			while (hi < s->n && s->s[hi].ts <= t)
				bytes += s->s[hi++].bytes;
			while (lo < hi && s->s[lo].ts <= from)
				bytes -= s->s[lo++].bytes;
			cnt = hi - lo;
			if (!cnt) {
				s->v[i] = NAN;
				continue;
			}
			switch (e->fn) {
			case LQ_COUNT_OVER_TIME:
				s->v[i] = (double)cnt;
				break;
			case LQ_RATE:
				s->v[i] = (double)cnt / secs;
				break;
			case LQ_BYTES_OVER_TIME:
				s->v[i] = (double)bytes;
				break;
			case LQ_BYTES_RATE:
				s->v[i] = (double)bytes / secs;
				break;
			}
		}
		FREE_AND_NULL(s->s);
		s->n = s->a = 0;
		out->s[out->n++] = s;
	}
	ev_release(&ev);
	return 0;
}

static bool group_keeps(const struct logql_expr *e, const char *name)
{
	for (size_t i = 0; i < e->nby; i++)
		if (strcmp(e->by[i], name) == 0)
			return !e->without;
	return e->without;
}

static void group_labels(const struct logql_expr *e, const struct log_labels *in,
                         struct log_labels *out)
{
	log_labels_clear(out);
	if (!e->grouped)
		return;
	for (size_t i = 0; i < in->n; i++)
		if (group_keeps(e, in->v[i].name))
			log_labels_set(out, in->v[i].name, in->v[i].value);
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= LOGQL_MAX_DEPTH */
static int eval_agg(struct logstore *store, const struct logql_expr *e, const struct steps *sp,
                    struct vec *out, struct logstore_scan_stats *st, uint64_t *matched,
                    size_t *nstreams, struct diag *d)
{
	struct vec in = { 0 };
	struct series *groups = NULL, *g, *tmp;
	struct log_labels gl = { 0 };
	struct buf key = BUF_INIT(1u << 20);
	size_t *gi;
	int r;

	r = eval_metric(store, e->arg, sp, &in, st, matched, nstreams, d);
	if (r < 0)
		return r;
	gi = xcalloc(in.n ? in.n : 1, sizeof(size_t));
	/* assign each input series to its group */
	for (size_t i = 0; i < in.n; i++) {
		group_labels(e, &in.s[i]->labels, &gl);
		buf_reset(&key);
		if (log_labels_format(&gl, &key) < 0)
			continue;
		HASH_FIND(hh, groups, key.data, key.len, g);
		if (!g) {
			g = xcalloc(1, sizeof(*g) + key.len + 1);
			memcpy(g->key, key.data, key.len + 1);
			log_labels_copy(&g->labels, &gl);
			g->v = xmalloc(st_mul(sp->n, sizeof(double)));
			for (size_t k = 0; k < sp->n; k++)
				g->v[k] = NAN;
			g->a = out->n; /* index in output, reused field */
			HASH_ADD(hh, groups, key[0], key.len, g);
			/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
			out->s = xrealloc(out->s, st_mul(out->n + 1, sizeof(*out->s)));
			out->s[out->n++] = g;
		}
		gi[i] = g->a;
	}
	if (e->agg == LQ_TOPK || e->agg == LQ_BOTTOMK) {
		/* the output is the input series, each kept at the steps where it ranks */
		double *vals = xmalloc(st_mul(in.n ? in.n : 1, sizeof(double)));
		for (size_t k = 0; k < sp->n; k++) {
			for (size_t gidx = 0; gidx < out->n; gidx++) {
				size_t m = 0;
				double cut;
				for (size_t i = 0; i < in.n; i++)
					if (gi[i] == gidx && !isnan(in.s[i]->v[k]))
						vals[m++] = e->agg == LQ_TOPK ? in.s[i]->v[k]
						                              : -in.s[i]->v[k];
				if ((int64_t)m <= e->k)
					continue;
				qsort(vals, m, sizeof(double), cmp_desc);
				cut = vals[e->k - 1];
				/* keep exactly k: drop values past the cut, ties beyond k too */
				{
					int64_t kept = 0;
					for (size_t i = 0; i < in.n; i++) {
						double v;
						if (gi[i] != gidx || isnan(in.s[i]->v[k]))
							continue;
						v = e->agg == LQ_TOPK ? in.s[i]->v[k]
						                      : -in.s[i]->v[k];
						if (v > cut)
							kept++;
					}
					for (size_t i = 0; i < in.n; i++) {
						double v;
						if (gi[i] != gidx || isnan(in.s[i]->v[k]))
							continue;
						v = e->agg == LQ_TOPK ? in.s[i]->v[k]
						                      : -in.s[i]->v[k];
						if (v < cut || (v == cut && kept >= e->k))
							in.s[i]->v[k] = NAN;
						else if (v == cut)
							kept++;
					}
				}
			}
		}
		free(vals);
		HASH_ITER(hh, groups, g, tmp)
		{
			HASH_DEL(groups, g);
		}
		vec_free(out);
		/* drop series that never rank */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		out->s = xcalloc(in.n ? in.n : 1, sizeof(*out->s));
		for (size_t i = 0; i < in.n; i++) {
			bool any = false;
			for (size_t k = 0; k < sp->n && !any; k++)
				any = !isnan(in.s[i]->v[k]);
			if (any)
				out->s[out->n++] = in.s[i];
			else
				series_free(in.s[i]);
		}
		free(in.s);
		free(gi);
		log_labels_clear(&gl);
		buf_release(&key);
		return 0;
	}
	for (size_t gidx = 0; gidx < out->n; gidx++) {
		for (size_t k = 0; k < sp->n; k++) {
			double acc = NAN;
			size_t cnt = 0;
			for (size_t i = 0; i < in.n; i++) {
				double v;
				if (gi[i] != gidx || isnan(in.s[i]->v[k]))
					continue;
				v = in.s[i]->v[k];
				if (!cnt)
					acc = e->agg == LQ_COUNT ? 0 : v;
				else if (e->agg == LQ_SUM || e->agg == LQ_AVG)
					acc += v;
				else if (e->agg == LQ_MIN)
					acc = MIN(acc, v);
				else if (e->agg == LQ_MAX)
					acc = MAX(acc, v);
				cnt++;
			}
			if (cnt && e->agg == LQ_AVG)
				acc /= (double)cnt;
			if (cnt && e->agg == LQ_COUNT)
				acc = (double)cnt;
			out->s[gidx]->v[k] = acc;
		}
	}
	HASH_ITER(hh, groups, g, tmp)
	{
		HASH_DEL(groups, g);
	}
	vec_free(&in);
	free(gi);
	log_labels_clear(&gl);
	buf_release(&key);
	return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= LOGQL_MAX_DEPTH */
static int eval_metric(struct logstore *store, const struct logql_expr *e, const struct steps *sp,
                       struct vec *out, struct logstore_scan_stats *st, uint64_t *matched,
                       size_t *nstreams, struct diag *d)
{
	if (e->kind == LQ_EXPR_RANGE)
		return eval_range(store, e, sp, out, st, matched, nstreams, d);
	if (e->kind == LQ_EXPR_AGG)
		return eval_agg(store, e, sp, out, st, matched, nstreams, d);
	return diag_set(d, -EINVAL, "a log query cannot be aggregated");
}

static cJSON *point(int64_t t, double v)
{
	cJSON *pt = json_arr();
	char num[64];

	json_push(pt, cJSON_CreateNumber((double)t / 1000.0));
	snprintf(num, sizeof(num), "%.17g", v);
	json_push(pt, cJSON_CreateString(num));
	return pt;
}

int logql_eval(struct logstore *s, const struct logql_expr *e, const struct logql_params *p,
               cJSON **ret, struct diag *d)
{
	struct logstore_scan_stats st = { 0 };
	struct steps sp = { 0 };
	struct vec v = { 0 };
	uint64_t matched = 0;
	size_t nstreams = 0;
	cJSON *out, *arr;
	int r;

	if (p->end_ms < p->start_ms)
		return diag_set(d, -EINVAL, "the query's end is before its start");
	if (e->kind == LQ_EXPR_LOG) {
		if (p->limit > LOGQL_MAX_LIMIT)
			return diag_set(d, -E2BIG, "limit over %d lines", LOGQL_MAX_LIMIT);
		return eval_log(s, e, p, ret, d);
	}
	if (p->step_ms > 0) {
		int64_t n = (p->end_ms - p->start_ms) / p->step_ms + 1;
		if (n > LOGQL_MAX_STEPS)
			return diag_set(
			        d, -E2BIG,
			        "%lld steps is over %d; use a larger step or a shorter range",
			        (long long)n, LOGQL_MAX_STEPS);
		sp.n = (size_t)n;
		sp.t = xmalloc(st_mul(sp.n, sizeof(int64_t)));
		for (size_t i = 0; i < sp.n; i++)
			sp.t[i] = p->start_ms + (int64_t)i * p->step_ms;
	} else {
		sp.n = 1;
		sp.t = xmalloc(sizeof(int64_t));
		sp.t[0] = p->end_ms;
	}
	r = eval_metric(s, e, &sp, &v, &st, &matched, &nstreams, d);
	if (r < 0) {
		vec_free(&v);
		free(sp.t);
		return r;
	}
	out = json_obj();
	json_add_str(out, "resultType", p->step_ms > 0 ? "matrix" : "vector");
	arr = json_arr();
	for (size_t i = 0; i < v.n; i++) {
		cJSON *o = json_obj(), *vals;
		bool any = false;
		json_add(o, "metric", labels_json(&v.s[i]->labels));
		if (p->step_ms > 0) {
			vals = json_arr();
			for (size_t k = 0; k < sp.n; k++)
				if (!isnan(v.s[i]->v[k])) {
					json_push(vals, point(sp.t[k], v.s[i]->v[k]));
					any = true;
				}
			json_add(o, "values", vals);
		} else if (!isnan(v.s[i]->v[0])) {
			json_add(o, "value", point(sp.t[0], v.s[i]->v[0]));
			any = true;
		}
		if (any)
			json_push(arr, o);
		else
			cJSON_Delete(o);
	}
	json_add(out, "result", arr);
	add_stats(out, &st, matched, nstreams);
	vec_free(&v);
	free(sp.t);
	*ret = out;
	return 0;
}
