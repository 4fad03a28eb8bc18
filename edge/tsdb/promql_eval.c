/* promql_eval.c - evaluate a parsed PromQL expression over the store.
 *
 * Every instant-vector value is held as "step series": a label set and one value (or a
 * hole) per evaluation step. Selectors and range functions are the only readers of the
 * store; they stream series from tsdb_query_next() one at a time and reduce each to its
 * step values at once, so raw samples are never gathered. Memory is therefore bounded by
 * series x steps, which is capped (ONGRID_PROMQL_MAX_POINTS, _SERIES, _STEPS).
 *
 * Semantics follow Prometheus 3: a range selector's window and the 5m lookback are
 * left-open, (t - range, t]; rate/increase/delta extrapolate as extrapolatedRate() does;
 * __name__ is dropped by arithmetic, bool comparisons, aggregations and functions that
 * change the meaning (all but last_over_time); a vector that would hold two series with
 * the same labels is an error, as in Prometheus.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tsdb/promql_ast.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

#define LOOKBACK_MS ((int64_t)5 * 60 * 1000)

struct ev {
	struct tsdb *db;
	int64_t start, step;
	size_t nsteps;
	struct diag *d;
	size_t points; /* step values alive now, across all values */
};

/* diag_set(), as an expression whose value the static analyser can see is code (it does
 * not follow variadic calls), so error paths are not mistaken for successes. */
#define eerr(ev, code, ...)                             \
	({                                              \
		diag_set((ev)->d, (code), __VA_ARGS__); \
		(code);                                 \
	})

static int64_t step_time(const struct ev *ev, size_t i)
{
	return ev->start + (int64_t)i * ev->step;
}

/* qsort() with no elements may be given NULL, which qsort does not allow. */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ---- labels ---------------------------------------------------------------------- */

static void labels_free(struct label *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((char *)l[i].name);
		free((char *)l[i].value);
	}
	free(l);
}

static struct label *labels_dup(const struct label *l, size_t n)
{
	struct label *out = xcalloc(n ? n : 1, sizeof(*out));
	size_t i;

	for (i = 0; i < n; i++) {
		out[i].name = xstrdup(l[i].name);
		out[i].value = xstrdup(l[i].value);
	}
	return out;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

static const char *label_get(const struct label *l, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return l[i].value;
	return NULL;
}

static bool in_list(char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Remove, in place, the labels for which keep() says no; frees what it drops. */
enum label_filter { KEEP_ALL_BUT_NAME, KEEP_LISTED, DROP_LISTED_AND_NAME, DROP_LISTED };

static void labels_filter(struct label *l, size_t *n, enum label_filter how, char *const *list,
                          size_t nlist)
{
	size_t i, j = 0;

	for (i = 0; i < *n; i++) {
		bool keep;
		switch (how) {
		case KEEP_ALL_BUT_NAME:
			keep = strcmp(l[i].name, "__name__") != 0;
			break;
		case KEEP_LISTED:
			keep = in_list(list, nlist, l[i].name);
			break;
		case DROP_LISTED_AND_NAME:
			keep = strcmp(l[i].name, "__name__") != 0 &&
			       !in_list(list, nlist, l[i].name);
			break;
		default:
			keep = !in_list(list, nlist, l[i].name);
			break;
		}
		if (keep) {
			l[j++] = l[i];
		} else {
			free((char *)l[i].name);
			free((char *)l[i].value);
		}
	}
	*n = j;
}

/* A key that is equal for two label sets exactly when the sets are equal. 0xff never
 * occurs in UTF-8, so it cannot be forged by a label value (Prometheus does the same). */
static char *labels_key(const struct label *l, size_t n)
{
	struct buf b = BUF_INIT(SIZE_MAX / 2);
	size_t i;

	for (i = 0; i < n; i++)
		if (buf_adds(&b, l[i].name) < 0 || buf_addc(&b, '\xff') < 0 ||
		    buf_adds(&b, l[i].value) < 0 || buf_addc(&b, '\xff') < 0)
			abort(); /* cannot happen below SIZE_MAX / 2 */
	return buf_detach(&b, NULL);
}

/* ---- values ---------------------------------------------------------------------- */

struct sseries {
	struct label *labels;
	size_t nlabels;
	double *v;
	uint8_t *has;
};

struct value {
	enum promql_type type; /* SCALAR or VECTOR */
	double *scalar;        /* nsteps, for SCALAR */
	struct sseries *s;
	size_t n, alloc;
};

static void series_release(struct ev *ev, struct sseries *s)
{
	labels_free(s->labels, s->nlabels);
	free(s->v);
	free(s->has);
	s->labels = NULL;
	s->v = NULL;
	s->has = NULL;
	ev->points -= ev->nsteps;
}

static void value_release(struct ev *ev, struct value *val)
{
	size_t i;

	for (i = 0; i < val->n; i++)
		series_release(ev, &val->s[i]);
	free(val->s);
	free(val->scalar);
	memset(val, 0, sizeof(*val));
}

/* Add a series (taking labels) with every step a hole. */
static int value_add(struct ev *ev, struct value *val, struct label *labels, size_t nlabels,
                     struct sseries **ret)
{
	struct sseries *s;

	if (val->n >= ONGRID_PROMQL_MAX_SERIES) {
		labels_free(labels, nlabels);
		return eerr(ev, -E2BIG,
		            "query selects more than %d series; narrow the selector or "
		            "aggregate",
		            ONGRID_PROMQL_MAX_SERIES);
	}
	if (ev->points + ev->nsteps > ONGRID_PROMQL_MAX_POINTS) {
		labels_free(labels, nlabels);
		return eerr(ev, -E2BIG,
		            "query needs more than %u points (series x steps) in memory; narrow "
		            "the selector, shorten the range or raise the step",
		            ONGRID_PROMQL_MAX_POINTS);
	}
	ev->points += ev->nsteps;
	ALLOC_GROW(val->s, val->n + 1, val->alloc);
	s = &val->s[val->n++];
	s->labels = labels;
	s->nlabels = nlabels;
	s->v = xcalloc(ev->nsteps, sizeof(double));
	s->has = xcalloc(ev->nsteps, 1);
	*ret = s;
	return 0;
}

static bool series_empty(const struct ev *ev, const struct sseries *s)
{
	size_t i;

	for (i = 0; i < ev->nsteps; i++)
		if (s->has[i])
			return false;
	return true;
}

/* Drop series without any value left (after a filter). */
static void value_compact(struct ev *ev, struct value *val)
{
	size_t i, j = 0;

	for (i = 0; i < val->n; i++) {
		if (series_empty(ev, &val->s[i]))
			series_release(ev, &val->s[i]);
		else
			val->s[j++] = val->s[i];
	}
	val->n = j;
}

struct keyed {
	char *key;
	size_t idx;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void keyed_free(struct keyed *k, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(k[i].key);
	free(k);
}

/* Merge series whose label sets became equal (after __name__ was dropped). Two of them
 * holding a value at the same step is the error Prometheus reports as "vector cannot
 * contain metrics with the same labelset"; what names the case is in what. */
static int value_merge_dups(struct ev *ev, struct value *val, const char *what)
{
	struct keyed *k;
	size_t i, j, t, nk = val->n;
	int r = 0;

	if (val->n < 2)
		return 0;
	k = xcalloc(nk, sizeof(*k));
	for (i = 0; i < val->n; i++) {
		k[i].key = labels_key(val->s[i].labels, val->s[i].nlabels);
		k[i].idx = i;
	}
	sort_n(k, val->n, sizeof(*k), keyed_cmp);
	for (i = 1; i < val->n; i++) {
		struct sseries *a, *b;
		if (strcmp(k[i].key, k[i - 1].key) != 0)
			continue;
		/* fold the later one into the first of the run */
		for (j = i - 1; j > 0 && strcmp(k[j - 1].key, k[i].key) == 0;)
			j--;
		a = &val->s[k[j].idx];
		b = &val->s[k[i].idx];
		for (t = 0; t < ev->nsteps; t++) {
			if (!b->has[t])
				continue;
			if (a->has[t]) {
				struct buf shown = BUF_INIT(200);
				(void)promql_labels_format(a->labels, a->nlabels, &shown);
				r = eerr(ev, -EINVAL, "%s: %s", what, buf_str(&shown));
				buf_release(&shown);
				goto out;
			}
			a->has[t] = 1;
			a->v[t] = b->v[t];
			b->has[t] = 0;
		}
	}
	value_compact(ev, val);
out:
	keyed_free(k, nk);
	return r;
}

static const char dup_labelset[] = "vector cannot contain metrics with the same labelset";

/* ---- selectors ------------------------------------------------------------------- */

static int query_open(struct ev *ev, const struct promql_expr *sel, int64_t window_ms,
                      struct tsdb_query **ret)
{
	struct tsdb_matcher m[64];
	int64_t first = step_time(ev, 0) - sel->offset_ms;
	int64_t last = step_time(ev, ev->nsteps - 1) - sel->offset_ms;
	size_t i;
	int r;

	for (i = 0; i < sel->nmatchers && i < ARRAY_SIZE(m); i++) {
		m[i].name = sel->matchers[i].name;
		m[i].op = sel->matchers[i].op;
		m[i].value = sel->matchers[i].value;
	}
	/* windows are left-open: (t - window, t] */
	r = tsdb_query_open(ev->db, m, i, first - window_ms + 1, last, ret, ev->d);
	if (r < 0 && ev->d && !ev->d->code)
		diag_set(ev->d, r, "cannot query the time-series store");
	return r;
}

static int eval_selector(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	struct tsdb_query *q;
	const struct label *ls;
	const int64_t *T;
	const double *V;
	size_t nl, n;
	int r;

	out->type = PROMQL_VECTOR;
	r = query_open(ev, e, LOOKBACK_MS, &q);
	if (r < 0)
		return r;
	while ((r = tsdb_query_next(q, &ls, &nl, &T, &V, &n)) > 0) {
		struct sseries *s = NULL;
		size_t i, j = 0;

		for (i = 0; i < ev->nsteps; i++) {
			int64_t t = step_time(ev, i) - e->offset_ms;
			while (j < n && T[j] <= t)
				j++;
			if (j == 0 || T[j - 1] <= t - LOOKBACK_MS)
				continue;
			if (!s && (r = value_add(ev, out, labels_dup(ls, nl), nl, &s)) < 0)
				goto out;
			s->v[i] = V[j - 1];
			s->has[i] = 1;
		}
	}
	if (r < 0)
		diag_set(ev->d, r, "cannot read the time-series store");
out:
	tsdb_query_close(q);
	return r < 0 ? r : 0;
}

/* ---- functions over a range ------------------------------------------------------ */

/* Prometheus' extrapolatedRate(): the increase between the first and last sample in the
 * window (adding back counter resets), extrapolated towards the window's edges by at most
 * half the average sample interval, and never below a counter's zero point. */
static bool extrapolated_rate(const int64_t *T, const double *V, size_t n, int64_t range_start,
                              int64_t range_end, int64_t range_ms, bool is_counter, bool is_rate,
                              double *ret)
{
	double result, last, to_start, to_end, sampled, avg_between, threshold, interval, factor;
	size_t i;

	if (n < 2)
		return false;
	result = V[n - 1] - V[0];
	if (is_counter) {
		last = 0;
		for (i = 0; i < n; i++) {
			if (V[i] < last)
				result += last;
			last = V[i];
		}
	}
	to_start = (double)(T[0] - range_start) / 1000;
	to_end = (double)(range_end - T[n - 1]) / 1000;
	sampled = (double)(T[n - 1] - T[0]) / 1000;
	avg_between = sampled / (double)(n - 1);
	threshold = avg_between * 1.1;
	interval = sampled;
	if (to_start >= threshold)
		to_start = avg_between / 2;
	if (is_counter && result > 0 && V[0] >= 0) {
		double to_zero = sampled * (V[0] / result);
		if (to_zero < to_start)
			to_start = to_zero;
	}
	interval += to_start;
	if (to_end >= threshold)
		to_end = avg_between / 2;
	interval += to_end;
	factor = interval / sampled;
	if (is_rate)
		factor /= (double)range_ms / 1000;
	*ret = result * factor;
	return true;
}

/* irate/idelta: the last two samples only. */
static bool instant_value(const int64_t *T, const double *V, size_t n, bool is_rate, double *ret)
{
	double r;
	int64_t dt;

	if (n < 2)
		return false;
	dt = T[n - 1] - T[n - 2];
	if (dt == 0)
		return false;
	if (is_rate && V[n - 1] < V[n - 2])
		r = V[n - 1]; /* counter reset */
	else
		r = V[n - 1] - V[n - 2];
	if (is_rate)
		r /= (double)dt / 1000;
	*ret = r;
	return true;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x))
		return isnan(y) ? 0 : -1;
	if (isnan(y))
		return 1;
	return x < y ? -1 : x > y;
}

/* The window of quantile_over_time kept sorted from step to step: a step usually adds and
 * drops a sample or two, so moving the window costs a binary search and a memmove instead
 * of sorting every sample of the window again. NaNs sort first (they rank lowest) and are
 * only counted. */
struct qwin {
	double *v; /* the window's non-NaN values, ascending */
	size_t n, alloc;
	size_t nnan;
	size_t lo, hi; /* the window is samples [lo, hi) of the current series */
};

static size_t lower_bound(const double *v, size_t n, double x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void qwin_insert(struct qwin *w, double x)
{
	size_t at;

	if (isnan(x)) {
		w->nnan++;
		return;
	}
	ALLOC_GROW(w->v, w->n + 1, w->alloc);
	at = lower_bound(w->v, w->n, x);
	memmove(w->v + at + 1, w->v + at, (w->n - at) * sizeof(double));
	w->v[at] = x;
	w->n++;
}

static void qwin_remove(struct qwin *w, double x)
{
	size_t at;

	if (isnan(x)) {
		w->nnan--;
		return;
	}
	at = lower_bound(w->v, w->n, x);
	if (at < w->n) { /* always true: x was inserted */
		memmove(w->v + at, w->v + at + 1, (w->n - at - 1) * sizeof(double));
		w->n--;
	}
}

/* Move the window to samples [lo, hi) of V (both bounds only grow within a series). */
static void qwin_move(struct qwin *w, const double *V, size_t lo, size_t hi)
{
	size_t i;

	if (lo >= w->hi || (lo - w->lo) + (hi - w->hi) > w->n + w->nnan) {
		/* a jump past the old window: sorting afresh is cheaper */
		w->n = w->nnan = 0;
		for (i = lo; i < hi; i++) {
			if (isnan(V[i])) {
				w->nnan++;
				continue;
			}
			ALLOC_GROW(w->v, w->n + 1, w->alloc);
			w->v[w->n++] = V[i];
		}
		sort_n(w->v, w->n, sizeof(double), double_cmp);
	} else {
		for (i = w->lo; i < lo; i++)
			qwin_remove(w, V[i]);
		for (i = w->hi; i < hi; i++)
			qwin_insert(w, V[i]);
	}
	w->lo = lo;
	w->hi = hi;
}

/* quantile() over the window as it stands, NaNs first. */
static double qwin_quantile(const struct qwin *w, double q)
{
	size_t n = w->n + w->nnan, lo_i, hi_i;
	double rank, lo, hi, wt, a, b;

	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	rank = q * (double)(n - 1);
	lo = floor(rank);
	if (lo < 0)
		lo = 0;
	hi = lo + 1 > (double)(n - 1) ? (double)(n - 1) : lo + 1;
	wt = rank - floor(rank);
	lo_i = (size_t)lo;
	hi_i = (size_t)hi;
	if (!w->v) /* only NaNs so far */
		return NAN;
	a = lo_i < w->nnan ? NAN : w->v[lo_i - w->nnan];
	b = hi_i < w->nnan ? NAN : w->v[hi_i - w->nnan];
	return a * (1 - wt) + b * wt;
}

/* Kahan-compensated sum, as Prometheus' sum_over_time and avg_over_time use. */
static double kahan_sum(const double *v, size_t n)
{
	double sum = 0, c = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double t = sum + v[i];
		if (fabs(sum) >= fabs(v[i]))
			c += (sum - t) + v[i];
		else
			c += (v[i] - t) + sum;
		sum = t;
	}
	if (isinf(sum))
		return sum;
	return sum + c;
}

static bool range_fn(enum promql_fn_id id, const int64_t *T, const double *V, size_t n, int64_t t,
                     int64_t range_ms, double *ret)
{
	size_t i;
	double x;

	switch (id) {
	case FN_RATE:
		return extrapolated_rate(T, V, n, t - range_ms, t, range_ms, true, true, ret);
	case FN_INCREASE:
		return extrapolated_rate(T, V, n, t - range_ms, t, range_ms, true, false, ret);
	case FN_DELTA:
		return extrapolated_rate(T, V, n, t - range_ms, t, range_ms, false, false, ret);
	case FN_IRATE:
		return instant_value(T, V, n, true, ret);
	case FN_IDELTA:
		return instant_value(T, V, n, false, ret);
	default:
		break;
	}
	if (n == 0)
		return false;
	switch (id) {
	case FN_AVG_OVER_TIME:
		*ret = kahan_sum(V, n) / (double)n;
		return true;
	case FN_SUM_OVER_TIME:
		*ret = kahan_sum(V, n);
		return true;
	case FN_COUNT_OVER_TIME:
		*ret = (double)n;
		return true;
	case FN_LAST_OVER_TIME:
		*ret = V[n - 1];
		return true;
	case FN_MIN_OVER_TIME:
	case FN_MAX_OVER_TIME:
		x = V[0];
		for (i = 1; i < n; i++) {
			if (id == FN_MIN_OVER_TIME ? (V[i] < x || isnan(x))
			                           : (V[i] > x || isnan(x)))
				x = V[i];
		}
		*ret = x;
		return true;
	default:
		return false;
	}
}

static int eval_expr(struct ev *ev, const struct promql_expr *e, struct value *out);

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_range_call(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	const struct promql_expr *sel = e->args[e->fn->id == FN_QUANTILE_OVER_TIME ? 1 : 0];
	struct value qv = { 0 };
	struct tsdb_query *q;
	const struct label *ls;
	const int64_t *T;
	const double *V;
	struct qwin w = { 0 };
	size_t nl, n;
	int r;

	out->type = PROMQL_VECTOR;
	if (e->fn->id == FN_QUANTILE_OVER_TIME && (r = eval_expr(ev, e->args[0], &qv)) < 0)
		return r;
	r = query_open(ev, sel, sel->range_ms, &q);
	if (r < 0)
		goto out_q;
	while ((r = tsdb_query_next(q, &ls, &nl, &T, &V, &n)) > 0) {
		struct sseries *s = NULL;
		size_t i, lo = 0, hi = 0;

		w.n = w.nnan = w.lo = w.hi = 0; /* a new series: an empty window */
		for (i = 0; i < ev->nsteps; i++) {
			int64_t t = step_time(ev, i) - sel->offset_ms;
			double x;
			while (lo < n && T[lo] <= t - sel->range_ms)
				lo++;
			if (hi < lo)
				hi = lo;
			while (hi < n && T[hi] <= t)
				hi++;
			if (e->fn->id == FN_QUANTILE_OVER_TIME) {
				qwin_move(&w, V, lo, hi);
				if (hi == lo)
					continue;
				x = qwin_quantile(&w, qv.scalar[i]);
			} else if (!range_fn(e->fn->id, T + lo, V + lo, hi - lo, t, sel->range_ms,
			                     &x)) {
				continue;
			}
			if (!s) {
				struct label *l = labels_dup(ls, nl);
				size_t k = nl;
				if (e->fn->id != FN_LAST_OVER_TIME)
					labels_filter(l, &k, KEEP_ALL_BUT_NAME, NULL, 0);
				if ((r = value_add(ev, out, l, k, &s)) < 0)
					goto out;
			}
			s->v[i] = x;
			s->has[i] = 1;
		}
	}
	if (r < 0)
		diag_set(ev->d, r, "cannot read the time-series store");
	else
		r = value_merge_dups(ev, out, dup_labelset);
out:
	tsdb_query_close(q);
out_q:
	free(w.v);
	value_release(ev, &qv);
	return r < 0 ? r : 0;
}

/* ---- histogram_quantile ---------------------------------------------------------- */

static char le_name[] = "le";
static char *const le_list[] = { le_name };

struct bucket {
	double le;
	double count;
};

static int bucket_cmp(const void *a, const void *b)
{
	double x = ((const struct bucket *)a)->le, y = ((const struct bucket *)b)->le;

	return x < y ? -1 : x > y;
}

/* Prometheus' bucketQuantile() for classic histograms: buckets sorted by upper bound,
 * equal bounds merged, counts forced monotonic; the answer interpolates linearly inside
 * the bucket holding rank q * total; past the last finite bound it is that bound. */
static double bucket_quantile(double q, struct bucket *b, size_t n)
{
	double total, rank, start = 0, end, count;
	size_t i, j, k;

	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	sort_n(b, n, sizeof(*b), bucket_cmp);
	if (n == 0 || !(isinf(b[n - 1].le) && b[n - 1].le > 0))
		return NAN;
	for (i = 0, j = 0; i < n; i++) { /* coalesce equal bounds */
		if (j > 0 && b[j - 1].le == b[i].le)
			b[j - 1].count += b[i].count;
		else
			b[j++] = b[i];
	}
	n = j;
	for (i = 1; i < n; i++) /* monotonic, as ensureMonotonic() does */
		if (b[i].count < b[i - 1].count)
			b[i].count = b[i - 1].count;
	if (n < 2)
		return NAN;
	total = b[n - 1].count;
	if (total == 0 || isnan(total))
		return NAN;
	rank = q * total;
	for (k = 0; k < n - 1 && b[k].count < rank; k++)
		;
	if (k == n - 1)
		return b[n - 2].le;
	if (k == 0 && b[0].le <= 0)
		return b[0].le;
	end = b[k].le;
	count = b[k].count;
	if (k > 0) {
		start = b[k - 1].le;
		count -= b[k - 1].count;
		rank -= b[k - 1].count;
	}
	return start + (end - start) * (rank / count);
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_histogram_quantile(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	struct value qv = { 0 }, in = { 0 };
	struct keyed *k = NULL;
	struct bucket *bk = NULL;
	double *le = NULL;
	size_t nk = 0, i, g, t;
	int r;

	out->type = PROMQL_VECTOR;
	if ((r = eval_expr(ev, e->args[0], &qv)) < 0 || (r = eval_expr(ev, e->args[1], &in)) < 0)
		goto out;
	k = xcalloc(in.n ? in.n : 1, sizeof(*k));
	le = xcalloc(in.n ? in.n : 1, sizeof(*le));
	bk = xcalloc(in.n ? in.n : 1, sizeof(*bk));
	for (i = 0; i < in.n; i++) {
		const char *s = label_get(in.s[i].labels, in.s[i].nlabels, "le");
		char *end;
		struct label *l;
		size_t nl = in.s[i].nlabels;

		if (!s)
			continue; /* not a bucket: Prometheus ignores it too */
		le[i] = strtod(s, &end);
		if (end == s || *end)
			continue;
		l = labels_dup(in.s[i].labels, nl);
		labels_filter(l, &nl, DROP_LISTED_AND_NAME, le_list, 1);
		k[nk].key = labels_key(l, nl);
		k[nk].idx = i;
		nk++;
		labels_free(l, nl);
	}
	sort_n(k, nk, sizeof(*k), keyed_cmp);
	for (g = 0; g < nk;) {
		size_t end = g, nl;
		struct sseries *s = NULL;
		struct label *l;

		while (end < nk && strcmp(k[end].key, k[g].key) == 0)
			end++;
		for (t = 0; t < ev->nsteps; t++) {
			size_t nb = 0;
			for (i = g; i < end; i++) {
				const struct sseries *b = &in.s[k[i].idx];
				if (!b->has[t])
					continue;
				bk[nb].le = le[k[i].idx];
				bk[nb].count = b->v[t];
				nb++;
			}
			if (nb == 0)
				continue;
			if (!s) {
				const struct sseries *first = &in.s[k[g].idx];
				nl = first->nlabels;
				l = labels_dup(first->labels, nl);
				labels_filter(l, &nl, DROP_LISTED_AND_NAME, le_list, 1);
				if ((r = value_add(ev, out, l, nl, &s)) < 0)
					goto out;
			}
			s->v[t] = bucket_quantile(qv.scalar[t], bk, nb);
			s->has[t] = 1;
		}
		g = end;
	}
out:
	keyed_free(k, nk);
	free(le);
	free(bk);
	value_release(ev, &qv);
	value_release(ev, &in);
	return r;
}

/* Go's math.Max/Min, which Prometheus' clamp_min/clamp_max use: NaN wins, where C's
 * fmax/fmin would return the other operand. */
static double go_max(double a, double b)
{
	return isnan(a) || isnan(b) ? NAN : fmax(a, b);
}

static double go_min(double a, double b)
{
	return isnan(a) || isnan(b) ? NAN : fmin(a, b);
}

/* ---- other functions ------------------------------------------------------------- */

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_call(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	struct value a = { 0 }, b = { 0 };
	size_t i, t;
	int r;

	switch (e->fn->id) {
	case FN_RATE:
	case FN_IRATE:
	case FN_INCREASE:
	case FN_DELTA:
	case FN_IDELTA:
	case FN_AVG_OVER_TIME:
	case FN_MIN_OVER_TIME:
	case FN_MAX_OVER_TIME:
	case FN_SUM_OVER_TIME:
	case FN_COUNT_OVER_TIME:
	case FN_LAST_OVER_TIME:
	case FN_QUANTILE_OVER_TIME:
		return eval_range_call(ev, e, out);
	case FN_HISTOGRAM_QUANTILE:
		return eval_histogram_quantile(ev, e, out);
	case FN_TIME:
		out->type = PROMQL_SCALAR;
		out->scalar = xcalloc(ev->nsteps, sizeof(double));
		for (t = 0; t < ev->nsteps; t++)
			out->scalar[t] = (double)step_time(ev, t) / 1000;
		return 0;
	case FN_VECTOR: {
		struct sseries *s;
		if ((r = eval_expr(ev, e->args[0], &a)) < 0)
			return r;
		out->type = PROMQL_VECTOR;
		if ((r = value_add(ev, out, xcalloc(1, sizeof(struct label)), 0, &s)) == 0) {
			memcpy(s->v, a.scalar, ev->nsteps * sizeof(double));
			memset(s->has, 1, ev->nsteps);
		}
		value_release(ev, &a);
		return r;
	}
	case FN_SCALAR:
		if ((r = eval_expr(ev, e->args[0], &a)) < 0)
			return r;
		out->type = PROMQL_SCALAR;
		out->scalar = xcalloc(ev->nsteps, sizeof(double));
		for (t = 0; t < ev->nsteps; t++) {
			size_t found = 0;
			for (i = 0; i < a.n; i++)
				if (a.s[i].has[t] && found++ == 0)
					out->scalar[t] = a.s[i].v[t];
			if (found != 1)
				out->scalar[t] = NAN;
		}
		value_release(ev, &a);
		return 0;
	default:
		break;
	}
	/* element-wise functions of an instant vector, some with a scalar */
	if ((r = eval_expr(ev, e->args[0], &a)) < 0)
		return r;
	if (e->nargs > 1 && (r = eval_expr(ev, e->args[1], &b)) < 0) {
		value_release(ev, &a);
		return r;
	}
	for (i = 0; i < a.n; i++) {
		struct sseries *s = &a.s[i];
		labels_filter(s->labels, &s->nlabels, KEEP_ALL_BUT_NAME, NULL, 0);
		for (t = 0; t < ev->nsteps; t++) {
			double x = s->v[t];
			switch (e->fn->id) {
			case FN_ABS:
				x = fabs(x);
				break;
			case FN_CEIL:
				x = ceil(x);
				break;
			case FN_FLOOR:
				x = floor(x);
				break;
			case FN_SQRT:
				x = sqrt(x);
				break;
			case FN_EXP:
				x = exp(x);
				break;
			case FN_LN:
				x = log(x);
				break;
			case FN_CLAMP_MIN:
				x = b.scalar ? go_max(x, b.scalar[t]) : x;
				break;
			case FN_CLAMP_MAX:
				x = b.scalar ? go_min(x, b.scalar[t]) : x;
				break;
			default:
				break;
			}
			s->v[t] = x;
		}
	}
	value_release(ev, &b);
	*out = a;
	return value_merge_dups(ev, out, dup_labelset);
}

/* ---- aggregation ----------------------------------------------------------------- */

static struct label *group_labels(const struct promql_expr *e, const struct sseries *s,
                                  size_t *ret_n)
{
	struct label *l = labels_dup(s->labels, s->nlabels);
	size_t n = s->nlabels;

	if (e->without)
		labels_filter(l, &n, DROP_LISTED_AND_NAME, e->grouping, e->ngrouping);
	else if (e->grouping)
		labels_filter(l, &n, KEEP_LISTED, e->grouping, e->ngrouping);
	else
		labels_filter(l, &n, KEEP_LISTED, NULL, 0);
	*ret_n = n;
	return l;
}

/* Group keys of every series of in, sorted so each group is a run. */
static struct keyed *group_keys(const struct promql_expr *e, const struct value *in)
{
	struct keyed *k = xcalloc(in->n ? in->n : 1, sizeof(*k));
	size_t i, n;

	for (i = 0; i < in->n; i++) {
		struct label *l = group_labels(e, &in->s[i], &n);
		k[i].key = labels_key(l, n);
		k[i].idx = i;
		labels_free(l, n);
	}
	sort_n(k, in->n, sizeof(*k), keyed_cmp);
	return k;
}

struct ranked {
	double v;
	size_t idx;
};

static int ranked_desc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	/* NaN ranks below every number for topk */
	if (isnan(x->v) || isnan(y->v))
		return isnan(x->v) - isnan(y->v);
	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int ranked_asc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	/* NaN ranks above every number for bottomk */
	if (isnan(x->v) || isnan(y->v))
		return isnan(x->v) - isnan(y->v);
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* topk/bottomk keep the chosen series with all their labels; in a range query a series
 * holds values only at the steps where it was among the k. */
static int eval_topk(struct ev *ev, const struct promql_expr *e, struct value *in, const double *kv,
                     struct value *out)
{
	struct keyed *k = group_keys(e, in);
	struct ranked *rk = xcalloc(in->n ? in->n : 1, sizeof(*rk));
	uint8_t *keep = xcalloc(in->n ? in->n : 1, ev->nsteps);
	size_t g, i, t;

	for (g = 0; g < in->n;) {
		size_t end = g;
		while (end < in->n && strcmp(k[end].key, k[g].key) == 0)
			end++;
		for (t = 0; t < ev->nsteps; t++) {
			size_t nr = 0, want;
			double kk = kv[t];
			if (isnan(kk) || kk < 1)
				continue;
			want = kk >= (double)in->n ? in->n : (size_t)kk;
			for (i = g; i < end; i++)
				if (in->s[k[i].idx].has[t]) {
					rk[nr].v = in->s[k[i].idx].v[t];
					rk[nr].idx = k[i].idx;
					nr++;
				}
			sort_n(rk, nr, sizeof(*rk), e->agg == AGG_TOPK ? ranked_desc : ranked_asc);
			for (i = 0; i < nr && i < want; i++)
				keep[rk[i].idx * ev->nsteps + t] = 1;
		}
		g = end;
	}
	for (i = 0; i < in->n; i++)
		for (t = 0; t < ev->nsteps; t++)
			in->s[i].has[t] &= keep[i * ev->nsteps + t];
	keyed_free(k, in->n);
	free(rk);
	free(keep);
	value_compact(ev, in);
	*out = *in;
	memset(in, 0, sizeof(*in));
	return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_agg(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	struct value in = { 0 }, param = { 0 };
	struct keyed *k = NULL;
	size_t *cnt = NULL;
	size_t g, i, t;
	int r;

	out->type = PROMQL_VECTOR;
	if (e->param && (r = eval_expr(ev, e->param, &param)) < 0)
		return r;
	if ((r = eval_expr(ev, e->lhs, &in)) < 0)
		goto out;
	if (e->agg == AGG_TOPK || e->agg == AGG_BOTTOMK) {
		r = eval_topk(ev, e, &in, param.scalar, out);
		goto out;
	}
	k = group_keys(e, &in);
	cnt = xcalloc(ev->nsteps, sizeof(*cnt));
	for (g = 0; g < in.n;) {
		size_t end = g, nl;
		struct sseries *s;
		struct label *l;

		while (end < in.n && strcmp(k[end].key, k[g].key) == 0)
			end++;
		l = group_labels(e, &in.s[k[g].idx], &nl);
		if ((r = value_add(ev, out, l, nl, &s)) < 0)
			goto out;
		memset(cnt, 0, ev->nsteps * sizeof(*cnt));
		for (i = g; i < end; i++) {
			const struct sseries *x = &in.s[k[i].idx];
			for (t = 0; t < ev->nsteps; t++) {
				double v = x->v[t];
				if (!x->has[t])
					continue;
				if (cnt[t]++ == 0) {
					s->v[t] = e->agg == AGG_COUNT ? 1 : v;
					continue;
				}
				switch (e->agg) {
				case AGG_SUM:
				case AGG_AVG:
					s->v[t] += v;
					break;
				case AGG_COUNT:
					s->v[t] += 1;
					break;
				case AGG_MIN:
					if (v < s->v[t] || isnan(s->v[t]))
						s->v[t] = v;
					break;
				case AGG_MAX:
					if (v > s->v[t] || isnan(s->v[t]))
						s->v[t] = v;
					break;
				default:
					break;
				}
			}
		}
		for (t = 0; t < ev->nsteps; t++) {
			s->has[t] = cnt[t] > 0;
			if (e->agg == AGG_AVG && cnt[t])
				s->v[t] /= (double)cnt[t];
		}
		g = end;
	}
out:
	keyed_free(k, in.n);
	free(cnt);
	value_release(ev, &in);
	value_release(ev, &param);
	return r;
}

/* ---- binary operators ------------------------------------------------------------ */

/* Returns whether the result is kept (comparisons without bool filter). */
static bool binop(enum promql_op op, double l, double r, bool bool_mod, double *ret)
{
	bool c;

	switch (op) {
	case OP_ADD:
		*ret = l + r;
		return true;
	case OP_SUB:
		*ret = l - r;
		return true;
	case OP_MUL:
		*ret = l * r;
		return true;
	case OP_DIV:
		*ret = l / r;
		return true;
	case OP_MOD:
		*ret = fmod(l, r);
		return true;
	case OP_POW:
		*ret = pow(l, r);
		return true;
	case OP_EQLC:
		c = l == r;
		break;
	case OP_NEQ:
		c = l != r;
		break;
	case OP_GTR:
		c = l > r;
		break;
	case OP_LSS:
		c = l < r;
		break;
	case OP_GTE:
		c = l >= r;
		break;
	case OP_LTE:
		c = l <= r;
		break;
	default:
		return false;
	}
	if (bool_mod) {
		*ret = c ? 1 : 0;
		return true;
	}
	*ret = l;
	return c;
}

static bool drops_name(const struct promql_expr *e)
{
	return !promql_op_is_comparison(e->op) || e->bool_mod;
}

static int eval_vector_scalar(struct ev *ev, const struct promql_expr *e, struct value *l,
                              struct value *r, struct value *out)
{
	bool swap = l->type == PROMQL_SCALAR;
	struct value *vec = swap ? r : l;
	const double *sc = swap ? l->scalar : r->scalar;
	size_t i, t;

	for (i = 0; i < vec->n; i++) {
		struct sseries *s = &vec->s[i];
		if (drops_name(e))
			labels_filter(s->labels, &s->nlabels, KEEP_ALL_BUT_NAME, NULL, 0);
		for (t = 0; t < ev->nsteps; t++) {
			double x;
			bool keep;
			if (!s->has[t])
				continue;
			keep = swap ? binop(e->op, sc[t], s->v[t], e->bool_mod, &x)
			            : binop(e->op, s->v[t], sc[t], e->bool_mod, &x);
			if (promql_op_is_comparison(e->op) && !e->bool_mod)
				x = s->v[t]; /* a filter keeps the vector's value on either side */
			s->v[t] = x;
			s->has[t] = keep;
		}
	}
	value_compact(ev, vec);
	*out = *vec;
	memset(vec, 0, sizeof(*vec));
	out->type = PROMQL_VECTOR;
	return value_merge_dups(ev, out, dup_labelset);
}

static char *match_key(const struct promql_expr *e, const struct sseries *s)
{
	struct label *l = labels_dup(s->labels, s->nlabels);
	size_t n = s->nlabels;
	char *key;

	if (e->on)
		labels_filter(l, &n, KEEP_LISTED, e->grouping, e->ngrouping);
	else
		labels_filter(l, &n, DROP_LISTED_AND_NAME, e->grouping, e->ngrouping);
	key = labels_key(l, n);
	labels_free(l, n);
	return key;
}

/* One-to-one matching: each left series meets the right series with the same labels
 * (all but __name__, or only those of on(), or all but those of ignoring()). */
static int eval_vector_vector(struct ev *ev, const struct promql_expr *e, struct value *l,
                              struct value *rv, struct value *out)
{
	struct keyed *rk = xcalloc(rv->n ? rv->n : 1, sizeof(*rk));
	size_t i, t;
	int r = 0;

	out->type = PROMQL_VECTOR;
	for (i = 0; i < rv->n; i++) {
		rk[i].key = match_key(e, &rv->s[i]);
		rk[i].idx = i;
	}
	sort_n(rk, rv->n, sizeof(*rk), keyed_cmp);
	for (i = 0; i < l->n; i++) {
		struct keyed probe = { match_key(e, &l->s[i]), 0 };
		struct sseries *ls = &l->s[i], *s = NULL;
		size_t lo, hi;

		/* the first right series with this key (the run is sorted by key) */
		for (lo = 0, hi = rv->n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(rk[mid].key, probe.key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (t = 0; t < ev->nsteps; t++) {
			size_t j, found = 0;
			const struct sseries *m = NULL;
			double x;

			if (!ls->has[t])
				continue;
			for (j = lo; j < rv->n && strcmp(rk[j].key, probe.key) == 0; j++)
				if (rv->s[rk[j].idx].has[t]) {
					m = &rv->s[rk[j].idx];
					found++;
				}
			if (found > 1) {
				r = eerr(ev, -EINVAL,
				         "found duplicate series for the match group on the right "
				         "hand-side of '%s' (many-to-many matching is not allowed)",
				         promql_op_names[e->op]);
				free(probe.key);
				goto out;
			}
			if (!m || !binop(e->op, ls->v[t], m->v[t], e->bool_mod, &x))
				continue;
			if (!s) {
				struct label *nl = labels_dup(ls->labels, ls->nlabels);
				size_t n = ls->nlabels;
				if (drops_name(e))
					labels_filter(nl, &n, KEEP_ALL_BUT_NAME, NULL, 0);
				if (e->on)
					labels_filter(nl, &n, KEEP_LISTED, e->grouping,
					              e->ngrouping);
				else if (e->ignoring)
					labels_filter(nl, &n, DROP_LISTED, e->grouping,
					              e->ngrouping);
				if ((r = value_add(ev, out, nl, n, &s)) < 0) {
					free(probe.key);
					goto out;
				}
			}
			s->v[t] = x;
			s->has[t] = 1;
		}
		free(probe.key);
	}
	r = value_merge_dups(ev, out,
	                     "multiple matches for labels: many-to-one matching must be explicit "
	                     "(group_left/group_right are not supported)");
out:
	keyed_free(rk, rv->n);
	return r;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_binary(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	struct value l = { 0 }, r = { 0 };
	size_t t;
	int rc;

	if ((rc = eval_expr(ev, e->lhs, &l)) < 0)
		return rc;
	if ((rc = eval_expr(ev, e->rhs, &r)) < 0)
		goto out;
	if (l.type == PROMQL_SCALAR && r.type == PROMQL_SCALAR) {
		out->type = PROMQL_SCALAR;
		out->scalar = xcalloc(ev->nsteps, sizeof(double));
		for (t = 0; t < ev->nsteps; t++)
			binop(e->op, l.scalar[t], r.scalar[t], e->bool_mod, &out->scalar[t]);
	} else if (l.type == PROMQL_SCALAR || r.type == PROMQL_SCALAR) {
		rc = eval_vector_scalar(ev, e, &l, &r, out);
	} else {
		rc = eval_vector_vector(ev, e, &l, &r, out);
	}
out:
	value_release(ev, &l);
	value_release(ev, &r);
	return rc;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_node(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	size_t i, t;
	int r;

	switch (e->kind) {
	case NODE_NUMBER:
		out->type = PROMQL_SCALAR;
		out->scalar = xcalloc(ev->nsteps, sizeof(double));
		for (t = 0; t < ev->nsteps; t++)
			out->scalar[t] = e->num;
		return 0;
	case NODE_SELECTOR:
		if (e->range_ms > 0)
			return eerr(ev, -EINVAL,
			            "position %zu: a range vector cannot be evaluated here",
			            e->pos + 1);
		return eval_selector(ev, e, out);
	case NODE_CALL:
		return eval_call(ev, e, out);
	case NODE_AGG:
		return eval_agg(ev, e, out);
	case NODE_BINARY:
		return eval_binary(ev, e, out);
	case NODE_UNARY:
		if ((r = eval_expr(ev, e->lhs, out)) < 0)
			return r;
		if (out->type == PROMQL_SCALAR) {
			for (t = 0; t < ev->nsteps; t++)
				out->scalar[t] = -out->scalar[t];
			return 0;
		}
		for (i = 0; i < out->n; i++) {
			labels_filter(out->s[i].labels, &out->s[i].nlabels, KEEP_ALL_BUT_NAME, NULL,
			              0);
			for (t = 0; t < ev->nsteps; t++)
				out->s[i].v[t] = -out->s[i].v[t];
		}
		return value_merge_dups(ev, out, dup_labelset);
	}
	return eerr(ev, -EINVAL, "internal error: unknown expression kind");
}

/* Evaluate e into out; on failure out is left empty, whatever the node had built. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
static int eval_expr(struct ev *ev, const struct promql_expr *e, struct value *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = eval_node(ev, e, out);
	if (r < 0)
		value_release(ev, out);
	return r;
}

/* ---- results --------------------------------------------------------------------- */

static int series_label_cmp(const void *a, const void *b)
{
	const struct promql_series *x = a, *y = b;
	size_t i;

	for (i = 0; i < x->nlabels && i < y->nlabels; i++) {
		int c = strcmp(x->labels[i].name, y->labels[i].name);
		if (c)
			return c;
		c = strcmp(x->labels[i].value, y->labels[i].value);
		if (c)
			return c;
	}
	return x->nlabels < y->nlabels ? -1 : x->nlabels > y->nlabels;
}

static int series_value_desc(const void *a, const void *b)
{
	const struct promql_series *x = a, *y = b;

	if (isnan(x->v[0]) || isnan(y->v[0]))
		return isnan(x->v[0]) - isnan(y->v[0]);
	if (x->v[0] != y->v[0])
		return x->v[0] > y->v[0] ? -1 : 1;
	return series_label_cmp(a, b);
}

static int series_value_asc(const void *a, const void *b)
{
	const struct promql_series *x = a, *y = b;

	if (isnan(x->v[0]) || isnan(y->v[0]))
		return isnan(x->v[0]) - isnan(y->v[0]);
	if (x->v[0] != y->v[0])
		return x->v[0] < y->v[0] ? -1 : 1;
	return series_label_cmp(a, b);
}

void promql_result_free(struct promql_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->nseries; i++) {
		labels_free(res->series[i].labels, res->series[i].nlabels);
		free(res->series[i].t);
		free(res->series[i].v);
	}
	free(res->series);
	free(res);
}

/* An instant query of a bare range selector returns the raw samples in its window, as
 * Prometheus does. */
static int eval_raw_matrix(struct ev *ev, const struct promql_expr *sel, struct promql_result *res)
{
	struct tsdb_query *q;
	const struct label *ls;
	const int64_t *T;
	const double *V;
	size_t nl, n, alloc = 0, total = 0;
	int r;

	res->type = PROMQL_MATRIX;
	r = query_open(ev, sel, sel->range_ms, &q);
	if (r < 0)
		return r;
	while ((r = tsdb_query_next(q, &ls, &nl, &T, &V, &n)) > 0) {
		int64_t t = ev->start - sel->offset_ms;
		struct promql_series *s;
		size_t lo = 0, hi = n;

		while (lo < n && T[lo] <= t - sel->range_ms)
			lo++;
		while (hi > lo && T[hi - 1] > t)
			hi--;
		if (hi == lo)
			continue;
		total += hi - lo;
		if (res->nseries >= ONGRID_PROMQL_MAX_SERIES ||
		    total > ONGRID_PROMQL_MAX_RESULT_POINTS) {
			r = eerr(ev, -E2BIG,
			         "range selector returns more than %d series or %d samples; "
			         "narrow the selector or shorten the range",
			         ONGRID_PROMQL_MAX_SERIES, ONGRID_PROMQL_MAX_RESULT_POINTS);
			break;
		}
		ALLOC_GROW(res->series, res->nseries + 1, alloc);
		s = &res->series[res->nseries++];
		s->labels = labels_dup(ls, nl);
		s->nlabels = nl;
		s->n = hi - lo;
		s->t = xmalloc(st_mul(s->n, sizeof(int64_t)));
		s->v = xmalloc(st_mul(s->n, sizeof(double)));
		memcpy(s->t, T + lo, s->n * sizeof(int64_t));
		memcpy(s->v, V + lo, s->n * sizeof(double));
	}
	if (r < 0 && !ev->d->code)
		diag_set(ev->d, r, "cannot read the time-series store");
	tsdb_query_close(q);
	return r < 0 ? r : 0;
}

static int result_from_value(struct ev *ev, struct value *val, bool instant,
                             struct promql_result *res)
{
	size_t i, t, total = 0;

	for (i = 0; i < val->n; i++)
		for (t = 0; t < ev->nsteps; t++)
			total += val->s[i].has[t];
	if (total > ONGRID_PROMQL_MAX_RESULT_POINTS)
		return eerr(ev, -E2BIG,
		            "the answer would hold %zu points, more than %d; aggregate (sum, "
		            "topk), narrow the selector or raise the step",
		            total, ONGRID_PROMQL_MAX_RESULT_POINTS);

	if (val->type == PROMQL_SCALAR) {
		struct promql_series *s;
		res->type = instant ? PROMQL_SCALAR : PROMQL_MATRIX;
		res->series = xcalloc(1, sizeof(*res->series));
		res->nseries = 1;
		s = &res->series[0];
		s->labels = xcalloc(1, sizeof(struct label));
		s->t = xcalloc(ev->nsteps, sizeof(int64_t));
		s->v = xcalloc(ev->nsteps, sizeof(double));
		for (t = 0; t < ev->nsteps; t++) {
			s->t[t] = step_time(ev, t);
			s->v[t] = val->scalar[t];
		}
		s->n = ev->nsteps;
		return 0;
	}
	res->type = instant ? PROMQL_VECTOR : PROMQL_MATRIX;
	res->series = xcalloc(val->n ? val->n : 1, sizeof(*res->series));
	for (i = 0; i < val->n; i++) {
		struct sseries *in = &val->s[i];
		struct promql_series *s = &res->series[res->nseries];
		size_t n = 0;
		for (t = 0; t < ev->nsteps; t++)
			n += in->has[t];
		if (!n)
			continue;
		res->nseries++;
		s->labels = in->labels;
		s->nlabels = in->nlabels;
		sort_n(s->labels, s->nlabels, sizeof(*s->labels), label_cmp);
		in->labels = NULL;
		in->nlabels = 0;
		s->t = xcalloc(n, sizeof(int64_t));
		s->v = xcalloc(n, sizeof(double));
		for (t = 0; t < ev->nsteps; t++) {
			if (!in->has[t])
				continue;
			s->t[s->n] = step_time(ev, t);
			s->v[s->n++] = in->v[t];
		}
	}
	return 0;
}

int promql_eval(struct tsdb *db, const struct promql_expr *e, int64_t start, int64_t end,
                int64_t step, struct promql_result **ret, struct diag *d)
{
	struct diag local = { 0 };
	struct ev ev = { .db = db, .start = start, .step = step, .d = d ? d : &local };
	struct promql_result *res;
	const struct promql_expr *root = e;
	struct value val;
	bool instant = start == end;
	int r;

	if (start < -PROMQL_MAX_TIME_MS || end > PROMQL_MAX_TIME_MS || step > PROMQL_MAX_TIME_MS) {
		return eerr(&ev, -EINVAL, "evaluation time or step out of range");
	}
	if (end < start) {
		return eerr(&ev, -EINVAL, "the range ends before it starts");
	}
	if (!instant && step <= 0) {
		return eerr(&ev, -EINVAL, "the step of a range query must be positive");
	}
	if (instant) {
		ev.nsteps = 1;
		ev.step = 1;
	} else {
		long long steps = (end - start) / step + 1;
		if (steps > ONGRID_PROMQL_MAX_STEPS)
			return eerr(&ev, -E2BIG,
			            "a range query may have at most %d steps, this one has %lld; "
			            "raise the step or shorten the range",
			            ONGRID_PROMQL_MAX_STEPS, steps);
		ev.nsteps = (size_t)((end - start) / step) + 1;
	}
	res = xcalloc(1, sizeof(*res));
	if (e->type == PROMQL_MATRIX) {
		if (!instant || root->kind != NODE_SELECTOR) {
			free(res);
			return eerr(&ev, -EINVAL,
			            "a range query needs a scalar or instant vector, got range "
			            "vector (run it as an instant query, or wrap it in a "
			            "function such as rate())");
		}
		r = eval_raw_matrix(&ev, root, res);
		if (r < 0) {
			promql_result_free(res);
			return r;
		}
		sort_n(res->series, res->nseries, sizeof(*res->series), series_label_cmp);
		*ret = res;
		return 0;
	}
	r = eval_expr(&ev, e, &val);
	if (r < 0) {
		free(res);
		return r;
	}
	r = result_from_value(&ev, &val, instant, res);
	value_release(&ev, &val);
	if (r < 0) {
		promql_result_free(res);
		return r;
	}
	if (instant && res->type == PROMQL_VECTOR && root->kind == NODE_AGG &&
	    (root->agg == AGG_TOPK || root->agg == AGG_BOTTOMK))
		sort_n(res->series, res->nseries, sizeof(*res->series),
		       root->agg == AGG_TOPK ? series_value_desc : series_value_asc);
	else if (res->type != PROMQL_SCALAR)
		sort_n(res->series, res->nseries, sizeof(*res->series), series_label_cmp);
	*ret = res;
	return 0;
}

/* ---- JSON ------------------------------------------------------------------------ */

static cJSON *point_json(int64_t t, double v)
{
	cJSON *p = json_arr();
	char num[32];

	promql_format_value(v, num, sizeof(num));
	json_push(p, cJSON_CreateNumber((double)t / 1000));
	json_push(p, cJSON_CreateString(num));
	return p;
}

cJSON *promql_result_json(const struct promql_result *res)
{
	static const char *const kinds[] = { [PROMQL_SCALAR] = "scalar",
		                             [PROMQL_VECTOR] = "vector",
		                             [PROMQL_MATRIX] = "matrix",
		                             [PROMQL_STRING] = "string" };
	cJSON *o = json_obj(), *arr = json_arr();
	size_t i, j;

	json_add_str(o, "resultType", kinds[res->type]);
	if (res->type == PROMQL_SCALAR) {
		json_add(o, "result", point_json(res->series[0].t[0], res->series[0].v[0]));
		cJSON_Delete(arr);
		return o;
	}
	for (i = 0; i < res->nseries; i++) {
		const struct promql_series *s = &res->series[i];
		cJSON *item = json_obj(), *metric = json_obj();
		for (j = 0; j < s->nlabels; j++)
			json_add_str(metric, s->labels[j].name, s->labels[j].value);
		json_add(item, "metric", metric);
		if (res->type == PROMQL_VECTOR) {
			json_add(item, "value", point_json(s->t[0], s->v[0]));
		} else {
			cJSON *vals = json_arr();
			for (j = 0; j < s->n; j++)
				json_push(vals, point_json(s->t[j], s->v[j]));
			json_add(item, "values", vals);
		}
		json_push(arr, item);
	}
	json_add(o, "result", arr);
	return o;
}

int promql_query_json(struct tsdb *db, const char *query, int64_t start, int64_t end, int64_t step,
                      cJSON **ret, struct diag *d)
{
	struct promql_expr *e;
	struct promql_result *res;
	int r;

	r = promql_parse(query, &e, d);
	if (r < 0)
		return r;
	r = promql_eval(db, e, start, end, step, &res, d);
	promql_expr_free(e);
	if (r < 0)
		return r;
	*ret = promql_result_json(res);
	promql_result_free(res);
	return 0;
}
