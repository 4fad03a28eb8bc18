/* tsdb_bench - the driver of bench/tsdb.sh: writes a synthetic day of host metrics into
 * the edge's time-series store the way the daemon does, queries it, and measures a
 * directory, printing "NAME VALUE" lines for bench/compare.py.
 *
 *   tsdb_bench write DIR        append, flush each minute, compact; print bytes_per_sample
 *   tsdb_bench query DIR        read-only open, select every series over the whole day,
 *                               decode every sample; print query_ms (median of 5)
 *   tsdb_bench openmetrics      the same samples as OpenMetrics text on stdout
 *   tsdb_bench dirsize DIR      bytes under DIR per sample written (for a baseline)
 *
 * Options (before the command): --series N (500) --interval S (15) --hours H (24).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "edge/tsdb/tsdb.h"
#include "shared/clock.h"
#include "shared/str.h"
#include "shared/banned.h"

/* 2023-11-14T22:13:20Z: a fixed start so every run writes identical data. */
#define T0 INT64_C(1700000000000)

static long nseries = 500, interval_s = 15, hours = 24;

/* Four kinds of series in the proportions a host agent sees them. */
enum kind { K_COUNTER, K_GAUGE, K_BYTES, K_RATIO };
static const char *const kind_name[] = { "bench_cpu_seconds_total", "bench_load",
	                                 "bench_memory_bytes", "bench_utilisation_ratio" };

static enum kind kind_of(long i)
{
	long m = i % 10;

	return m < 4 ? K_COUNTER : m < 7 ? K_GAUGE : m < 9 ? K_BYTES : K_RATIO;
}

/* xorshift: deterministic per series, independent of the C library */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct gen {
	uint64_t rng;
	double v;
};

static void gen_init(struct gen *g, long i)
{
	g->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
	switch (kind_of(i)) {
	case K_COUNTER:
		g->v = (double)(next_rand(&g->rng) % 10000000) / 100;
		break;
	case K_GAUGE:
		g->v = 1.0;
		break;
	case K_BYTES:
		g->v = (double)(1 + next_rand(&g->rng) % 4000) * 1048576;
		break;
	default:
		g->v = 0.5;
	}
}

/* Counters advance by hundredths (cpu seconds), gauges walk in hundredths (load), byte
 * gauges move in pages, ratios are arbitrary doubles (a quotient of two counters). */
static double gen_next(struct gen *g, long i)
{
	uint64_t r = next_rand(&g->rng);

	switch (kind_of(i)) {
	case K_COUNTER:
		g->v = round((g->v + (double)(r % 300) / 100) * 100) / 100;
		break;
	case K_GAUGE:
		g->v = round((g->v + (double)((long)(r % 21) - 10) / 100) * 100) / 100;
		if (g->v < 0)
			g->v = 0;
		break;
	case K_BYTES:
		g->v += (double)((long)(r % 257) - 128) * 4096;
		break;
	default:
		g->v = (double)(r % 1000003) / 1000003.0;
	}
	return g->v;
}

static long nsteps(void)
{
	return hours * 3600 / interval_s;
}

static int cmd_write(const char *dir)
{
	struct tsdb_opts o = { .dir = dir, .flush_interval_ms = 60000 };
	struct tsdb_stats st;
	struct diag d = { 0 };
	struct tsdb *db = NULL;
	uint64_t *refs = calloc((size_t)nseries, sizeof(*refs));
	struct gen *g = calloc((size_t)nseries, sizeof(*g));
	int64_t last_flush = T0;
	int rc = 1;

	if (!refs || !g || tsdb_open(&o, &db, &d) < 0) {
		fprintf(stderr, "tsdb_bench: cannot open '%s': %s\n", dir, d.msg);
		goto out;
	}
	for (long i = 0; i < nseries; i++) {
		char iv[24];
		struct label l[3] = { { "__name__", kind_name[kind_of(i)] },
			              { "instance", "bench-host" },
			              { "i", iv } };
		snprintf(iv, sizeof(iv), "%ld", i);
		gen_init(&g[i], i);
		if (tsdb_series(db, l, 3, &refs[i], &d) < 0)
			goto out_diag;
	}
	for (long s = 0; s < nsteps(); s++) {
		int64_t t = T0 + (int64_t)s * interval_s * 1000;
		for (long i = 0; i < nseries; i++)
			if (tsdb_append(db, refs[i], t, gen_next(&g[i], i)) < 0) {
				fprintf(stderr, "tsdb_bench: append failed\n");
				goto out;
			}
		/* as the daemon does: flush each minute, maintain after it */
		if (t - last_flush >= 60000) {
			if (tsdb_flush(db, &d) < 0 || tsdb_maintain(db, t, &d) < 0)
				goto out_diag;
			last_flush = t;
		}
	}
	if (tsdb_flush(db, &d) < 0 || tsdb_maintain(db, T0 + hours * 3600000, &d) < 0)
		goto out_diag;
	tsdb_get_stats(db, &st);
	printf("samples %llu\nfiles %llu\nbytes %llu\nbytes_per_sample %.4f\n",
	       (unsigned long long)st.disk_samples, (unsigned long long)st.files,
	       (unsigned long long)st.disk_bytes, (double)st.disk_bytes / (double)st.disk_samples);
	rc = 0;
	goto out;
out_diag:
	fprintf(stderr, "tsdb_bench: %s\n", d.msg);
out:
	tsdb_close(db);
	free(refs);
	free(g);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_query(const char *dir)
{
	struct tsdb_opts o = { .dir = dir, .read_only = true };
	struct tsdb_matcher m = { "__name__", TSDB_MATCH_RE, "bench_.*" };
	struct diag d = { 0 };
	struct tsdb *db;
	double ms[6];
	uint64_t total = 0;

	if (tsdb_open(&o, &db, &d) < 0) {
		fprintf(stderr, "tsdb_bench: cannot open '%s': %s\n", dir, d.msg);
		return 1;
	}
	/* one warm-up round (page cache, allocations), then five measured */
	for (int round = 0; round < 6; round++) {
		int64_t t0 = mono_ns();
		struct tsdb_query *q;
		const struct label *l;
		const int64_t *t;
		const double *v;
		size_t nl, n;
		double sum = 0;

		total = 0;
		if (tsdb_query_open(db, &m, 1, T0, T0 + hours * 3600000, &q, &d) < 0) {
			fprintf(stderr, "tsdb_bench: %s\n", d.msg);
			return 1;
		}
		while (tsdb_query_next(q, &l, &nl, &t, &v, &n) == 1) {
			total += n;
			sum += v[n - 1];
		}
		tsdb_query_close(q);
		ms[round] = (double)(mono_ns() - t0) / 1e6;
		if (sum == -1) /* keep the loop from being optimised away */
			puts("");
	}
	tsdb_close(db);
	qsort(ms + 1, 5, sizeof(double), cmp_double);
	printf("samples %llu\nquery_ms %.3f\n", (unsigned long long)total, ms[3]);
	return total == (uint64_t)nseries * (uint64_t)nsteps() ? 0 : 1;
}

static int cmd_openmetrics(void)
{
	/* series-major: OpenMetrics wants each family's lines together */
	for (int k = 0; k < 4; k++)
		for (long i = 0; i < nseries; i++) {
			struct gen g;
			if (kind_of(i) != (enum kind)k)
				continue;
			gen_init(&g, i);
			for (long s = 0; s < nsteps(); s++) {
				int64_t t = T0 + (int64_t)s * interval_s * 1000;
				printf("%s{instance=\"bench-host\",i=\"%ld\"} %.17g %lld.%03lld\n",
				       kind_name[k], i, gen_next(&g, i), (long long)(t / 1000),
				       (long long)(t % 1000));
			}
		}
	puts("# EOF");
	return fflush(stdout) == 0 ? 0 : 1;
}

/* NOLINTNEXTLINE(misc-no-recursion): a Prometheus block directory is two levels deep */
static long long dir_bytes(const char *path)
{
	DIR *dh = opendir(path);
	struct dirent *e;
	long long total = 0;

	if (!dh)
		return -1;
	while ((e = readdir(dh))) {
		char p[4096];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			total += dir_bytes(p); /* NOLINT(misc-no-recursion) */
		else if (S_ISREG(st.st_mode))
			total += st.st_size;
	}
	closedir(dh);
	return total;
}

static int parse_opt(const char *name, const char *val, long *out)
{
	int64_t v;

	if (!val || str_to_i64(val, &v) < 0 || v <= 0 || v > 1000000) {
		fprintf(stderr, "tsdb_bench: %s needs a positive integer\n", name);
		return -1;
	}
	*out = (long)v;
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		long *target = strcmp(argv[i], "--series") == 0     ? &nseries
		               : strcmp(argv[i], "--interval") == 0 ? &interval_s
		               : strcmp(argv[i], "--hours") == 0    ? &hours
		                                                    : NULL;
		if (!target) {
			fprintf(stderr, "tsdb_bench: unknown option '%s'\n", argv[i]);
			return 2;
		}
		if (parse_opt(argv[i], argv[i + 1], target) < 0)
			return 2;
	}
	if (i < argc && strcmp(argv[i], "write") == 0 && i + 1 < argc)
		return cmd_write(argv[i + 1]);
	if (i < argc && strcmp(argv[i], "query") == 0 && i + 1 < argc)
		return cmd_query(argv[i + 1]);
	if (i < argc && strcmp(argv[i], "openmetrics") == 0)
		return cmd_openmetrics();
	if (i < argc && strcmp(argv[i], "dirsize") == 0 && i + 1 < argc) {
		long long b = dir_bytes(argv[i + 1]);
		if (b < 0) {
			fprintf(stderr, "tsdb_bench: cannot read '%s'\n", argv[i + 1]);
			return 1;
		}
		printf("bytes %lld\nbytes_per_sample %.4f\n", b,
		       (double)b / ((double)nseries * (double)nsteps()));
		return 0;
	}
	fprintf(stderr, "usage: tsdb_bench [--series N] [--interval S] [--hours H] "
	                "write DIR | query DIR | openmetrics | dirsize DIR\n");
	return 2;
}
