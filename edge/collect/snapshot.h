/* snapshot.h - the samples one collection round produced, before they go anywhere.
 *
 * Collectors add samples to a snapshot; the daemon then appends the snapshot to the
 * time-series store and keeps the latest one for the Prometheus endpoint, and
 * `ongrid-edge collect` prints it. A snapshot owns copies of every label string, so a
 * collector may pass stack buffers.
 *
 * Histograms are added whole (bucket upper bounds and per-bucket counts) and stored the
 * Prometheus way: NAME_bucket{le="..."} cumulative counts ending with le="+Inf",
 * NAME_sum and NAME_count, so histogram_quantile() works on them unchanged.
 */
#ifndef ONGRID_SNAPSHOT_H
#define ONGRID_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/tsdb/tsdb.h"

enum metric_type { METRIC_GAUGE, METRIC_COUNTER, METRIC_HISTOGRAM, _METRIC_TYPE_MAX };

/* A metric family: collectors declare these as static consts. */
struct metric_desc {
	const char *name; /* "ongrid_runq_latency_seconds"; counters end in _total */
	enum metric_type type;
	const char *help; /* one line for # HELP */
};

struct snapshot_sample {
	const struct metric_desc *desc; /* the family (for histograms: the histogram) */
	const char *name;               /* the series name: family name, or _bucket/_sum/_count */
	struct label *labels;           /* sorted by name; __name__ is not among them */
	size_t nlabels;
	double value;
};

struct snapshot {
	struct snapshot_sample *samples;
	size_t n, alloc;
	int64_t t_ms;   /* when the round ran */
	char **strings; /* owned copies of names and label values */
	size_t nstrings, strings_alloc;
};

void snapshot_init(struct snapshot *s, int64_t t_ms);
void snapshot_release(struct snapshot *s);

/* Add one gauge or counter sample. labels need not be sorted. */
void snapshot_add(struct snapshot *s, const struct metric_desc *m, const struct label *labels,
                  size_t nlabels, double value);

/* Add a histogram: nb buckets with upper bounds upper[i] (ascending, finite) and
 * non-cumulative counts[i]; overflow counts what fell above the last bound. */
void snapshot_histogram(struct snapshot *s, const struct metric_desc *m, const struct label *labels,
                        size_t nlabels, const double *upper, const uint64_t *counts, size_t nb,
                        uint64_t overflow, double sum);

/* Append every sample to db at s->t_ms as the series {__name__=name, labels...}. A sample
 * the store refuses (-ERANGE: older than the series' last one, e.g. after the clock
 * stepped back) does not stop the others. Returns 0, or the first error with d naming
 * the series and how many samples were not stored. */
int snapshot_to_tsdb(const struct snapshot *s, struct tsdb *db, struct diag *d);

/* [{"name": ..., "labels": {...}, "value": ...}, ...] */
cJSON *snapshot_json(const struct snapshot *s);

#endif
