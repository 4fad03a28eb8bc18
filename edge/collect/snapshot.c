#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/collect/snapshot.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/banned.h"

void snapshot_init(struct snapshot *s, int64_t t_ms)
{
	memset(s, 0, sizeof(*s));
	s->t_ms = t_ms;
}

void snapshot_release(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->samples[i].labels);
	for (size_t i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->samples);
	free(s->strings);
	memset(s, 0, sizeof(*s));
}

static const char *keep(struct snapshot *s, const char *str)
{
	char *copy = xstrdup(str);

	ALLOC_GROW(s->strings, s->nstrings + 1, s->strings_alloc);
	s->strings[s->nstrings++] = copy;
	return copy;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* extra: one more label appended after labels (le for buckets), or NULL. */
static void add_series(struct snapshot *s, const struct metric_desc *m, const char *name,
                       const struct label *labels, size_t nlabels, const struct label *extra,
                       double value)
{
	struct snapshot_sample *x;
	size_t n = nlabels + (extra ? 1 : 0);

	ALLOC_GROW(s->samples, s->n + 1, s->alloc);
	x = &s->samples[s->n++];
	x->desc = m;
	x->name = name;
	x->labels = xcalloc(n ? n : 1, sizeof(*x->labels));
	for (size_t i = 0; i < nlabels; i++) {
		x->labels[i].name = keep(s, labels[i].name);
		x->labels[i].value = keep(s, labels[i].value);
	}
	if (extra) {
		x->labels[nlabels].name = extra->name;
		x->labels[nlabels].value = keep(s, extra->value);
	}
	x->nlabels = n;
	qsort(x->labels, n, sizeof(*x->labels), label_cmp);
	x->value = value;
}

void snapshot_add(struct snapshot *s, const struct metric_desc *m, const struct label *labels,
                  size_t nlabels, double value)
{
	add_series(s, m, m->name, labels, nlabels, NULL, value);
}

/* Format a bucket bound the way Prometheus clients do: shortest exact form. */
static void format_le(char *out, size_t outsz, double v)
{
	snprintf(out, outsz, "%.17g", v);
	for (int prec = 1; prec <= 17; prec++) {
		char tmp[40];
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v) {
			snprintf(out, outsz, "%s", tmp);
			return;
		}
	}
}

void snapshot_histogram(struct snapshot *s, const struct metric_desc *m, const struct label *labels,
                        size_t nlabels, const double *upper, const uint64_t *counts, size_t nb,
                        uint64_t overflow, double sum)
{
	char *bucket = xasprintf("%s_bucket", m->name);
	char *sum_name = xasprintf("%s_sum", m->name);
	char *count_name = xasprintf("%s_count", m->name);
	const char *bname = keep(s, bucket), *sname = keep(s, sum_name),
	           *cname = keep(s, count_name);
	uint64_t cum = 0;
	char le[40];

	free(bucket);
	free(sum_name);
	free(count_name);
	for (size_t i = 0; i < nb; i++) {
		struct label l = { "le", le };
		cum += counts[i];
		format_le(le, sizeof(le), upper[i]);
		add_series(s, m, bname, labels, nlabels, &l, (double)cum);
	}
	cum += overflow;
	add_series(s, m, bname, labels, nlabels, &(struct label){ "le", "+Inf" }, (double)cum);
	add_series(s, m, sname, labels, nlabels, NULL, sum);
	add_series(s, m, cname, labels, nlabels, NULL, (double)cum);
}

cJSON *snapshot_json(const struct snapshot *s)
{
	cJSON *arr = json_arr();

	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_sample *x = &s->samples[i];
		cJSON *o = json_obj(), *ls = json_obj();
		json_add_str(o, "name", x->name);
		for (size_t j = 0; j < x->nlabels; j++)
			json_add_str(ls, x->labels[j].name, x->labels[j].value);
		json_add(o, "labels", ls);
		json_add_num(o, "value", x->value);
		json_push(arr, o);
	}
	return arr;
}

int snapshot_to_tsdb(const struct snapshot *s, struct tsdb *db, struct diag *d)
{
	struct label *ls;
	size_t most = 0, failed = 0;
	struct diag fd = { 0 };
	int first = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->samples[i].nlabels > most)
			most = s->samples[i].nlabels;
	ls = xcalloc(st_add(most, 1), sizeof(*ls));
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_sample *x = &s->samples[i];
		struct diag sd = { 0 };
		uint64_t ref;
		int r;

		ls[0] = (struct label){ "__name__", x->name };
		memcpy(ls + 1, x->labels, x->nlabels * sizeof(*ls));
		r = tsdb_series(db, ls, x->nlabels + 1, &ref, &sd);
		if (r == 0)
			r = tsdb_append(db, ref, s->t_ms, x->value);
		if (r < 0) {
			failed++;
			if (!first) {
				first = r;
				diag_set(&fd, r, "series '%s': %s", x->name,
				         sd.code ? sd.msg : strerror(-r));
			}
		}
	}
	free(ls);
	if (first)
		diag_set(d, first, "%zu of %zu samples not stored; first: %s", failed, s->n,
		         fd.msg);
	return first;
}
