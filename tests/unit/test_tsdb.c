#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/tsdb/tsdb.h"

#define T0     INT64_C(1700000000000)
#define DAY_MS INT64_C(86400000)

static char dir[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ongrid-test-tsdb.%d.XXXXXX", (int)getpid());
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct tsdb *open_store(const char *d, bool ro, int64_t retention_ms, uint64_t max_bytes)
{
	struct tsdb_opts o = { .dir = d,
		               .retention_ms = retention_ms,
		               .max_bytes = max_bytes,
		               .flush_interval_ms = 60000,
		               .read_only = ro };
	struct diag dg = { 0 };
	struct tsdb *db = NULL;

	if (tsdb_open(&o, &db, &dg) < 0)
		fail_msg("tsdb_open: %s", dg.msg);
	return db;
}

static uint64_t series2(struct tsdb *db, const char *name, const char *k, const char *v)
{
	struct label l[2] = { { "__name__", name }, { k, v } };
	struct diag dg = { 0 };
	uint64_t ref;

	if (tsdb_series(db, l, k ? 2 : 1, &ref, &dg) < 0)
		fail_msg("tsdb_series: %s", dg.msg);
	return ref;
}

static double value_at(uint64_t salt, int64_t t)
{
	return (double)((t / 1000) % 100000) / 4 + (double)salt;
}

/* Count and check the samples of the series matching {__name__=name}. */
static size_t query_count(struct tsdb *db, const char *name, int64_t mint, int64_t maxt,
                          uint64_t salt, int64_t *ret_first, int64_t *ret_last)
{
	struct tsdb_matcher m = { "__name__", TSDB_MATCH_EQ, name };
	struct tsdb_query *q;
	const struct label *l;
	const int64_t *t;
	const double *v;
	size_t nl, n, total = 0;
	struct diag dg = { 0 };

	assert_int_equal(tsdb_query_open(db, &m, 1, mint, maxt, &q, &dg), 0);
	while (tsdb_query_next(q, &l, &nl, &t, &v, &n) == 1) {
		for (size_t i = 0; i < n; i++) {
			assert_true(t[i] >= mint && t[i] <= maxt);
			if (i)
				assert_true(t[i] > t[i - 1]);
			if (salt != UINT64_MAX)
				assert_true(v[i] == value_at(salt, t[i]));
		}
		if (n && ret_first)
			*ret_first = t[0];
		if (n && ret_last)
			*ret_last = t[n - 1];
		total += n;
	}
	tsdb_query_close(q);
	return total;
}

static void flush_ok(struct tsdb *db)
{
	struct diag dg = { 0 };

	if (tsdb_flush(db, &dg) < 0)
		fail_msg("tsdb_flush: %s", dg.msg);
}

static void maintain_ok(struct tsdb *db, int64_t now)
{
	struct diag dg = { 0 };

	if (tsdb_maintain(db, now, &dg) < 0)
		fail_msg("tsdb_maintain: %s", dg.msg);
}

static void samples_survive_close_and_open(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t a = series2(db, "cpu_seconds_total", "cpu", "0");
	struct tsdb_stats st;

	(void)state;
	for (int64_t i = 0; i < 1000; i++)
		assert_int_equal(tsdb_append(db, a, T0 + i * 10000, value_at(1, T0 + i * 10000)),
		                 0);
	tsdb_close(db); /* flushes */

	db = open_store(dir, false, 0, 0);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 1);
	assert_int_equal(st.disk_samples, 1000);
	assert_int_equal(st.head_samples, 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.mint, T0);
	assert_int_equal(st.maxt, T0 + 999 * 10000);
	assert_int_equal(query_count(db, "cpu_seconds_total", INT64_MIN, INT64_MAX, 1, NULL, NULL),
	                 1000);
	/* the reopened series is the same one, and continues */
	assert_int_equal(series2(db, "cpu_seconds_total", "cpu", "0"), a);
	assert_int_equal(tsdb_append(db, a, T0 + 1000 * 10000, value_at(1, T0 + 1000 * 10000)), 0);
	assert_int_equal(query_count(db, "cpu_seconds_total", INT64_MIN, INT64_MAX, 1, NULL, NULL),
	                 1001);
	tsdb_close(db);
}

static void out_of_order_append_is_refused_also_after_reopen(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t a = series2(db, "up", NULL, NULL);
	int64_t last = 0;

	(void)state;
	assert_int_equal(tsdb_append(db, a, T0, value_at(0, T0)), 0);
	assert_int_equal(tsdb_append(db, a, T0 + 10000, value_at(0, T0 + 10000)), 0);
	assert_int_equal(tsdb_append(db, a, T0 + 5000, 1.0), -ERANGE);
	/* an equal timestamp is accepted and replaces nothing */
	assert_int_equal(tsdb_append(db, a, T0 + 10000, 12345.0), 0);
	assert_int_equal(query_count(db, "up", INT64_MIN, INT64_MAX, 0, NULL, &last), 2);
	assert_int_equal(last, T0 + 10000);
	assert_int_equal(tsdb_append(db, 999, T0, 1.0), -ENOENT);
	tsdb_close(db);

	db = open_store(dir, false, 0, 0);
	a = series2(db, "up", NULL, NULL);
	assert_int_equal(tsdb_append(db, a, T0 + 9999, 1.0), -ERANGE);
	assert_int_equal(tsdb_append(db, a, T0 + 20000, value_at(0, T0 + 20000)), 0);
	tsdb_close(db);
}

static void bad_series_labels_are_refused(void **state)
{
	struct tsdb *db = open_store(NULL, false, 0, 0);
	struct label nameless[1] = { { "job", "x" } };
	struct label badname[2] = { { "__name__", "m" }, { "1job", "x" } };
	struct label dup[3] = { { "__name__", "m" }, { "a", "1" }, { "a", "2" } };
	struct diag dg = { 0 };
	uint64_t ref;

	(void)state;
	assert_int_equal(tsdb_series(db, nameless, 1, &ref, &dg), -EINVAL);
	assert_non_null(strstr(dg.msg, "__name__"));
	assert_int_equal(tsdb_series(db, badname, 2, &ref, &dg), -EINVAL);
	assert_non_null(strstr(dg.msg, "1job"));
	assert_int_equal(tsdb_series(db, dup, 3, &ref, &dg), -EINVAL);
	assert_non_null(strstr(dg.msg, "'a'"));
	tsdb_close(db);
}

/* Realistic series at 10 s: a cpu-seconds counter in hundredths and a load-like gauge. */
static void regular_series_cost_at_most_two_bytes_per_sample_on_disk(void **state)
{
	struct tsdb *db = open_store(dir, false, 30 * DAY_MS, 256u << 20);
	uint64_t c = series2(db, "node_cpu_seconds_total", "mode", "user");
	uint64_t g = series2(db, "node_load1", NULL, NULL);
	uint64_t b = series2(db, "node_memory_available_bytes", NULL, NULL);
	double cv = 81234.56, gv = 0.8, bv = 2.0e9;
	struct tsdb_stats st;
	int64_t n = DAY_MS / 10000;

	(void)state;
	srand(3);
	for (int64_t i = 0; i < n; i++) {
		int64_t t = T0 + i * 10000;
		cv = round((cv + (double)(rand() % 120) / 100.0) * 100) / 100;
		gv = round((gv + (double)(rand() % 11 - 5) / 100.0) * 100) / 100;
		if (gv < 0)
			gv = 0;
		bv += (double)((rand() % 64) - 32) * 4096;
		assert_int_equal(tsdb_append(db, c, t, cv), 0);
		assert_int_equal(tsdb_append(db, g, t, gv), 0);
		assert_int_equal(tsdb_append(db, b, t, bv), 0);
		/* flush every 10 minutes and compact as the daemon would */
		if (i % 60 == 59) {
			flush_ok(db);
			maintain_ok(db, t);
		}
	}
	flush_ok(db);
	maintain_ok(db, T0 + DAY_MS);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.disk_samples, 3 * n);
	print_message("# %llu files, %llu bytes, %.3f bytes/sample\n", (unsigned long long)st.files,
	              (unsigned long long)st.disk_bytes,
	              (double)st.disk_bytes / (double)st.disk_samples);
	assert_true(st.files < 20);
	assert_true(st.disk_bytes <= 2 * st.disk_samples);
	assert_int_equal(
	        query_count(db, "node_load1", INT64_MIN, INT64_MAX, UINT64_MAX, NULL, NULL), n);
	tsdb_close(db);
}

static void query_merges_disk_and_head(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t a = series2(db, "m", "k", "v");
	int64_t first = 0, last = 0;
	struct tsdb_stats st;

	(void)state;
	for (int64_t i = 0; i < 600; i++) {
		int64_t t = T0 + i * 15000;
		assert_int_equal(tsdb_append(db, a, t, value_at(5, t)), 0);
		if (i == 299)
			flush_ok(db);
	}
	tsdb_get_stats(db, &st);
	assert_int_equal(st.disk_samples, 300);
	assert_int_equal(st.head_samples, 300);
	/* a range across the boundary, one only on disk, one only in the head */
	assert_int_equal(query_count(db, "m", T0 + 200 * 15000, T0 + 400 * 15000, 5, &first, &last),
	                 201);
	assert_int_equal(first, T0 + 200 * 15000);
	assert_int_equal(last, T0 + 400 * 15000);
	assert_int_equal(query_count(db, "m", T0, T0 + 299 * 15000, 5, NULL, NULL), 300);
	assert_int_equal(query_count(db, "m", T0 + 300 * 15000 + 1, INT64_MAX, 5, NULL, NULL), 299);
	assert_int_equal(query_count(db, "m", T0 - 100, T0 - 1, 5, NULL, NULL), 0);
	tsdb_close(db);
}

static size_t select_n(struct tsdb *db, const struct tsdb_matcher *m, size_t nm)
{
	struct tsdb_query *q;
	const struct label *l;
	const int64_t *t;
	const double *v;
	size_t nl, n, count = 0;
	struct diag dg = { 0 };

	if (tsdb_query_open(db, m, nm, INT64_MIN, INT64_MAX, &q, &dg) < 0)
		fail_msg("query: %s", dg.msg);
	while (tsdb_query_next(q, &l, &nl, &t, &v, &n) == 1) {
		for (size_t i = 1; i < nl; i++)
			assert_true(strcmp(l[i - 1].name, l[i].name) < 0);
		count++;
	}
	tsdb_query_close(q);
	return count;
}

static void matchers_follow_prometheus_semantics(void **state)
{
	struct tsdb *db = open_store(NULL, false, 0, 0);
	struct label s1[3] = { { "__name__", "http_requests" },
		               { "job", "api" },
		               { "code", "200" } };
	struct label s2[3] = { { "__name__", "http_requests" },
		               { "job", "api" },
		               { "code", "500" } };
	struct label s3[2] = { { "__name__", "http_requests" }, { "job", "web" } };
	struct label s4[2] = { { "__name__", "up" }, { "job", "apix" } };
	struct label *all[] = { s1, s2, s3, s4 };
	size_t nall[] = { 3, 3, 2, 2 };
	struct tsdb_query *q;
	struct diag dg = { 0 };

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		uint64_t ref;
		assert_int_equal(tsdb_series(db, all[i], nall[i], &ref, &dg), 0);
		assert_int_equal(tsdb_append(db, ref, T0, 1.0), 0);
	}
#define M(n, op, v) ((struct tsdb_matcher){ n, TSDB_MATCH_##op, v })
	{
		struct tsdb_matcher m[] = { M("__name__", EQ, "http_requests") };
		assert_int_equal(select_n(db, m, 1), 3);
	}
	{
		struct tsdb_matcher m[] = { M("job", NEQ, "api") };
		assert_int_equal(select_n(db, m, 1), 2);
	}
	{ /* {code=""}: series without code */
		struct tsdb_matcher m[] = { M("code", EQ, "") };
		assert_int_equal(select_n(db, m, 1), 2);
	}
	{ /* {code!=""}: series with code */
		struct tsdb_matcher m[] = { M("code", NEQ, "") };
		assert_int_equal(select_n(db, m, 1), 2);
	}
	{ /* != a value also selects series without the label */
		struct tsdb_matcher m[] = { M("code", NEQ, "500") };
		assert_int_equal(select_n(db, m, 1), 3);
	}
	{ /* regexes are anchored: "api" does not match "apix" */
		struct tsdb_matcher m[] = { M("job", RE, "api") };
		assert_int_equal(select_n(db, m, 1), 2);
	}
	{
		struct tsdb_matcher m[] = { M("job", RE, "api.*") };
		assert_int_equal(select_n(db, m, 1), 3);
	}
	{
		struct tsdb_matcher m[] = { M("code", RE, "5..|") }; /* also matches no code */
		assert_int_equal(select_n(db, m, 1), 3);
	}
	{
		struct tsdb_matcher m[] = { M("code", NRE, "2.*") };
		assert_int_equal(select_n(db, m, 1), 3);
	}
	{
		struct tsdb_matcher m[] = { M("job", NRE, "a.*") };
		assert_int_equal(select_n(db, m, 1), 1);
	}
	{
		struct tsdb_matcher m[] = { M("__name__", EQ, "http_requests"), M("job", EQ, "api"),
			                    M("code", RE, "2..") };
		assert_int_equal(select_n(db, m, 3), 1);
	}
	{
		struct tsdb_matcher m[] = { M("nosuch", EQ, "x") };
		assert_int_equal(select_n(db, m, 1), 0);
	}
	{
		struct tsdb_matcher m[] = { M("job", RE, "(unclosed") };
		assert_int_equal(tsdb_query_open(db, m, 1, 0, T0, &q, &dg), -EINVAL);
		assert_non_null(strstr(dg.msg, "(unclosed"));
	}
#undef M
	tsdb_close(db);
}

static void copy_file(const char *from, const char *to, long keep)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	long total = 0;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (keep >= 0 && total + (long)n > keep)
			n = (size_t)(keep - total);
		assert_int_equal(fwrite(buf, 1, n, out), n);
		total += (long)n;
		if (keep >= 0 && total >= keep)
			break;
	}
	fclose(in);
	fclose(out);
}

static void flip_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	if (off < 0)
		off += lseek(fd, 0, SEEK_END);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void one_seg(char *out, size_t outsz)
{
	DIR *dh = opendir(dir);
	struct dirent *e;

	assert_non_null(dh);
	out[0] = '\0';
	while ((e = readdir(dh)))
		if (strstr(e->d_name, ".seg"))
			snprintf(out, outsz, "%s/%s", dir, e->d_name);
	closedir(dh);
	assert_true(out[0]);
}

static void torn_and_corrupt_files_are_reported_and_skipped(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t a = series2(db, "good", NULL, NULL);
	char seg[512], bad[600];
	struct tsdb_stats st;
	int64_t last = 0;
	FILE *f;

	(void)state;
	for (int64_t i = 0; i < 100; i++)
		assert_int_equal(tsdb_append(db, a, T0 + i * 1000, value_at(2, T0 + i * 1000)), 0);
	tsdb_close(db);
	one_seg(seg, sizeof(seg));

	/* a torn copy (as if renamed before its data reached the disk) */
	snprintf(bad, sizeof(bad), "%s/00000000000000f0.seg", dir);
	copy_file(seg, bad, 100);
	/* a copy whose index was damaged on disk */
	snprintf(bad, sizeof(bad), "%s/00000000000000f1.seg", dir);
	copy_file(seg, bad, -1);
	flip_byte(bad, -10);
	/* a copy whose header was damaged */
	snprintf(bad, sizeof(bad), "%s/00000000000000f2.seg", dir);
	copy_file(seg, bad, -1);
	flip_byte(bad, 20);
	/* garbage and an empty file */
	snprintf(bad, sizeof(bad), "%s/00000000000000f3.seg", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("this is not a segment at all, just some text that is long enough to matter", f);
	fclose(f);
	snprintf(bad, sizeof(bad), "%s/00000000000000f4.seg", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	fclose(f);
	/* an interrupted write leaves a tmp file that is never loaded */
	snprintf(bad, sizeof(bad), "%s/00000000000000f5.seg.tmp", dir);
	copy_file(seg, bad, 50);

	db = open_store(dir, false, 0, 0);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.damaged_files, 5);
	assert_int_equal(st.files, 1);
	assert_int_equal(query_count(db, "good", INT64_MIN, INT64_MAX, 2, NULL, NULL), 100);
	/* a new file never takes the name (sequence number) of a damaged one */
	a = series2(db, "good", NULL, NULL);
	assert_int_equal(tsdb_append(db, a, T0 + 100 * 1000, value_at(2, T0 + 100 * 1000)), 0);
	flush_ok(db);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.files, 2);
	tsdb_close(db);
	assert_int_equal(access(bad, F_OK), -1); /* the tmp file was cleaned up */
	db = open_store(dir, true, 0, 0);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.damaged_files, 5);
	assert_int_equal(st.files, 2);
	tsdb_close(db);
	snprintf(bad, sizeof(bad), "%s/00000000000000f5.seg", dir); /* after the damaged f4 */
	assert_int_equal(access(bad, F_OK), 0);

	/* a damaged record (data, not index): the file loads, the series' data there is
	 * skipped, and nothing wrong is returned */
	flip_byte(seg, 100);
	db = open_store(dir, true, 0, 0);
	assert_int_equal(query_count(db, "good", INT64_MIN, INT64_MAX, 2, NULL, &last), 1);
	assert_int_equal(last, T0 + 100 * 1000);
	tsdb_close(db);
}

static void age_retention_drops_old_files(void **state)
{
	struct tsdb *db = open_store(dir, false, 2 * DAY_MS, 0);
	uint64_t a = series2(db, "m", NULL, NULL);
	int64_t first = 0;
	struct tsdb_stats st;

	(void)state;
	for (int day = 0; day < 5; day++) {
		for (int64_t i = 0; i < 100; i++) {
			int64_t t = T0 + day * DAY_MS + i * 60000;
			assert_int_equal(tsdb_append(db, a, t, value_at(0, t)), 0);
		}
		flush_ok(db);
	}
	maintain_ok(db, T0 + 5 * DAY_MS);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(query_count(db, "m", INT64_MIN, INT64_MAX, 0, &first, NULL), 200);
	assert_true(first >= T0 + 3 * DAY_MS);
	tsdb_close(db);
	db = open_store(dir, true, 0, 0);
	assert_int_equal(query_count(db, "m", INT64_MIN, INT64_MAX, 0, NULL, NULL), 200);
	tsdb_close(db);
}

static void byte_limit_drops_oldest_data(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 200u << 10);
	uint64_t refs[50];
	int64_t first = 0, last = 0, t = T0;
	struct tsdb_stats st;

	(void)state;
	for (int i = 0; i < 50; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		refs[i] = series2(db, "noisy", "i", v);
	}
	for (int f = 0; f < 40; f++) {
		for (int k = 0; k < 20; k++, t += 1000)
			for (int i = 0; i < 50; i++)
				/* random bits: the worst case for compression */
				assert_int_equal(tsdb_append(db, refs[i], t,
				                             (double)rand() * 1.000001 / 3.0),
				                 0);
		flush_ok(db);
	}
	maintain_ok(db, t);
	tsdb_get_stats(db, &st);
	assert_true(st.disk_bytes <= 200u << 10);
	assert_true(st.files >= 1);
	assert_true(query_count(db, "noisy", INT64_MIN, INT64_MAX, UINT64_MAX, &first, &last) > 0);
	assert_int_equal(last, t - 1000); /* the newest data stays */
	assert_true(first > T0);          /* the oldest went */
	tsdb_close(db);
}

static void compaction_merges_files_without_changing_data(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t a = series2(db, "m", "x", "1"), b = series2(db, "m", "x", "2");
	struct tsdb_stats before, after;

	(void)state;
	for (int64_t i = 0; i < 2000; i++) {
		int64_t t = T0 + i * 10000;
		assert_int_equal(tsdb_append(db, a, t, value_at(7, t)), 0);
		if (i % 3 == 0)
			assert_int_equal(tsdb_append(db, b, t, value_at(7, t)), 0);
		if (i % 6 == 5)
			flush_ok(db);
	}
	flush_ok(db);
	tsdb_get_stats(db, &before);
	maintain_ok(db, T0 + 2000 * 10000);
	tsdb_get_stats(db, &after);
	assert_true(before.files > 300);
	assert_true(after.files < 30);
	assert_int_equal(after.disk_samples, before.disk_samples);
	assert_true(after.disk_bytes < before.disk_bytes / 3);
	assert_int_equal(query_count(db, "m", INT64_MIN, INT64_MAX, 7, NULL, NULL), 2000 + 667);
	tsdb_close(db);
	db = open_store(dir, false, 0, 0);
	tsdb_get_stats(db, &after);
	assert_int_equal(after.disk_samples, before.disk_samples);
	assert_int_equal(query_count(db, "m", INT64_MIN, INT64_MAX, 7, NULL, NULL), 2000 + 667);
	tsdb_close(db);
}

static void a_merged_file_hides_the_files_it_replaced(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t a = series2(db, "m", NULL, NULL);
	char path[300], save[300][300];
	int nsave = 0;
	DIR *dh;
	struct dirent *e;

	(void)state;
	for (int64_t i = 0; i < 8; i++) {
		assert_int_equal(tsdb_append(db, a, T0 + i * 1000, value_at(0, T0 + i * 1000)), 0);
		flush_ok(db);
	}
	/* keep copies of the level-0 files, then merge them */
	dh = opendir(dir);
	while ((e = readdir(dh)))
		if (strstr(e->d_name, ".seg") && nsave < 300)
			snprintf(save[nsave++], sizeof(save[0]), "%s", e->d_name);
	closedir(dh);
	for (int i = 0; i < nsave; i++) {
		char from[300];
		snprintf(from, sizeof(from), "%s/%s", dir, save[i]);
		snprintf(path, sizeof(path), "%s/%s.keep", dir, save[i]);
		copy_file(from, path, -1);
	}
	maintain_ok(db, T0);
	tsdb_close(db);
	/* a crash right after the merged file was renamed: the old ones are back */
	for (int i = 0; i < nsave; i++) {
		char to[300];
		snprintf(path, sizeof(path), "%s/%s.keep", dir, save[i]);
		snprintf(to, sizeof(to), "%s/%s", dir, save[i]);
		assert_int_equal(rename(path, to), 0);
	}
	db = open_store(dir, true, 0, 0);
	assert_int_equal(query_count(db, "m", INT64_MIN, INT64_MAX, 0, NULL, NULL), 8);
	tsdb_close(db);
}

static void reader_opens_while_writer_holds_the_store(void **state)
{
	struct tsdb *w = open_store(dir, false, 0, 0), *r, *w2 = NULL;
	struct tsdb_opts o = { .dir = dir };
	uint64_t a = series2(w, "m", NULL, NULL), ra;
	struct diag dg = { 0 };

	(void)state;
	for (int64_t i = 0; i < 10; i++)
		assert_int_equal(tsdb_append(w, a, T0 + i, value_at(0, T0 + i)), 0);
	flush_ok(w);
	assert_int_equal(tsdb_append(w, a, T0 + 100, value_at(0, T0 + 100)), 0);

	assert_int_equal(tsdb_open(&o, &w2, &dg), -EBUSY);
	assert_non_null(strstr(dg.msg, "in use"));
	r = open_store(dir, true, 0, 0);
	/* the reader sees what was flushed, not the writer's head */
	assert_int_equal(query_count(r, "m", INT64_MIN, INT64_MAX, 0, NULL, NULL), 10);
	ra = series2(r, "m", NULL, NULL);
	assert_int_equal(tsdb_append(r, ra, T0 + 1000, 1.0), -EROFS);
	tsdb_close(r);
	tsdb_close(w);
}

/* The child appends and flushes until killed; it reports each completed flush through
 * a pipe, so the parent knows exactly which samples must have survived. */
#define KILL_SERIES 20
static void child_writer(int fd)
{
	struct tsdb *db = open_store(dir, false, 0, 0);
	uint64_t refs[KILL_SERIES];

	for (int i = 0; i < KILL_SERIES; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		refs[i] = series2(db, "k", "i", v);
	}
	for (int64_t step = 0;; step++) {
		int64_t t = T0 + step * 1000;
		struct diag dg = { 0 };
		for (int i = 0; i < KILL_SERIES; i++)
			if (tsdb_append(db, refs[i], t, value_at((uint64_t)i, t)) < 0)
				_exit(3);
		if (step % 7 == 6) {
			if (tsdb_flush(db, &dg) < 0 || tsdb_maintain(db, t, &dg) < 0)
				_exit(4);
			if (write(fd, &t, sizeof(t)) != sizeof(t))
				_exit(5);
		}
	}
}

static void kill_9_loses_at_most_the_unflushed_samples(void **state)
{
	(void)state;
	srand((unsigned)time(NULL));
	for (int round = 0; round < 3; round++) {
		int p[2], status;
		int64_t t, flushed = INT64_MIN;
		struct tsdb_stats st;
		struct tsdb *db;
		pid_t pid;
		struct timespec ts = { 0, 0 };

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child_writer(p[1]);
		}
		close(p[1]);
		/* wait for a few flushes, then a random moment */
		for (int k = 0; k < 3 + round; k++) {
			assert_int_equal(read(p[0], &t, sizeof(t)), sizeof(t));
			flushed = t;
		}
		ts.tv_nsec = (long)(rand() % 200) * 1000000L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		while (read(p[0], &t, sizeof(t)) == sizeof(t))
			flushed = t;
		close(p[0]);
		assert_true(flushed > T0);

		db = open_store(dir, false, 0, 0);
		tsdb_get_stats(db, &st);
		assert_int_equal(st.damaged_files, 0);
		for (int i = 0; i < KILL_SERIES; i++) {
			char v[16];
			struct tsdb_matcher m[2] = { { "__name__", TSDB_MATCH_EQ, "k" },
				                     { "i", TSDB_MATCH_EQ, v } };
			struct tsdb_query *q;
			const struct label *l;
			const int64_t *qt;
			const double *qv;
			size_t nl, n = 0;
			struct diag dg = { 0 };

			snprintf(v, sizeof(v), "%d", i);
			assert_int_equal(tsdb_query_open(db, m, 2, T0, flushed, &q, &dg), 0);
			assert_int_equal(tsdb_query_next(q, &l, &nl, &qt, &qv, &n), 1);
			/* every sample up to the last completed flush, each exactly once */
			assert_int_equal(n, (size_t)((flushed - T0) / 1000 + 1));
			for (size_t k = 0; k < n; k++) {
				assert_int_equal(qt[k], T0 + (int64_t)k * 1000);
				assert_true(qv[k] == value_at((uint64_t)i, qt[k]));
			}
			tsdb_query_close(q);
		}
		tsdb_close(db);
		print_message("# round %d: killed after t=%lld, %llu files\n", round,
		              (long long)(flushed - T0), (unsigned long long)st.files);
		/* start the next round from an empty store */
		teardown(NULL);
		setup(NULL);
	}
}

/* Short-lived label sets (a process, a command) leave memory a few flush intervals after
 * their last sample, yet every sample stays queryable, through merges and a reopen. */
static void idle_series_leave_memory_but_stay_queryable(void **state)
{
	struct tsdb *db = open_store(dir, false, 0, 0); /* flush every 60 s: idle after 3 min */
	struct tsdb_matcher five = { "pid", TSDB_MATCH_EQ, "5" };
	uint64_t keep = series2(db, "keep", NULL, NULL), again;
	int64_t t, end = T0 + 40 * 60000, last = 0;
	struct tsdb_stats st;

	(void)state;
	for (t = T0; t <= end; t += 10000) {
		assert_int_equal(tsdb_append(db, keep, t, value_at(1, t)), 0);
		/* 200 processes, each seen for 100 s in the first minutes */
		for (int i = 0; i < 200 && t < T0 + 100000; i++) {
			char v[16];
			snprintf(v, sizeof(v), "%d", i);
			assert_int_equal(
			        tsdb_append(db, series2(db, "short", "pid", v), t, value_at(1, t)),
			        0);
		}
		if ((t - T0) % 60000 == 0) {
			flush_ok(db);
			maintain_ok(db, t);
		}
	}
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 1); /* only "keep" is in memory */
	assert_true(st.files < 40);     /* merges ran over dropped series */
	assert_int_equal(st.disk_samples + st.head_samples, 200 * 10 + 241);
	/* a query brings back only the dropped series its matchers may select */
	assert_int_equal(query_count(db, "keep", INT64_MIN, INT64_MAX, 1, NULL, NULL), 241);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 1);
	assert_int_equal(query_count(db, "short", INT64_MIN, INT64_MAX, 1, NULL, &last), 200 * 10);
	assert_int_equal(last, T0 + 90000);
	assert_int_equal(query_count(db, "keep", INT64_MIN, INT64_MAX, 1, NULL, NULL), 241);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 201); /* the query brought them back ... */
	maintain_ok(db, end);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 1); /* ... until the next maintenance */

	/* the same labels again: one series with the old and the new samples */
	again = series2(db, "short", "pid", "5");
	assert_int_equal(tsdb_append(db, again, end, value_at(1, end)), 0);
	flush_ok(db);
	maintain_ok(db, end);
	assert_int_equal(select_n(db, &five, 1), 1);
	assert_int_equal(query_count(db, "short", INT64_MIN, INT64_MAX, 1, NULL, NULL),
	                 200 * 10 + 1);
	assert_int_equal(query_count(db, "short", end, end, 1, NULL, NULL), 1);

	tsdb_close(db);
	db = open_store(dir, true, 0, 0);
	assert_int_equal(query_count(db, "short", T0, T0 + 50000, 1, NULL, NULL), 200 * 6);
	assert_int_equal(query_count(db, "short", INT64_MIN, INT64_MAX, 1, NULL, NULL),
	                 200 * 10 + 1);
	tsdb_close(db);
}

static void series_without_samples_in_retention_are_forgotten(void **state)
{
	struct tsdb *db = open_store(dir, false, DAY_MS, 0);
	uint64_t keep = series2(db, "m", "pid", "1"), gone, again;
	struct tsdb_matcher m = { "pid", TSDB_MATCH_RE, ".+" };
	struct tsdb_query *q;
	struct tsdb_stats st;
	struct diag dg = { 0 };

	(void)state;
	/* a day of short-lived processes, one series each */
	for (int i = 2; i < 500; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		gone = series2(db, "m", "pid", v);
		assert_int_equal(tsdb_append(db, gone, T0 + i * 1000, 1.0), 0);
	}
	assert_int_equal(tsdb_append(db, keep, T0, 1.0), 0);
	flush_ok(db);
	assert_int_equal(tsdb_append(db, keep, T0 + 3 * DAY_MS, 2.0), 0);
	flush_ok(db);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 499);

	/* not while a query holds series ids */
	assert_int_equal(tsdb_query_open(db, &m, 1, INT64_MIN, INT64_MAX, &q, &dg), 0);
	maintain_ok(db, T0 + 3 * DAY_MS);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 499);
	tsdb_query_close(q);

	maintain_ok(db, T0 + 3 * DAY_MS);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 1);
	assert_int_equal(select_n(db, &m, 1), 1);
	/* the old ref is dead, never another series'; the labels get a new ref */
	assert_int_equal(tsdb_append(db, gone, T0 + 3 * DAY_MS, 1.0), -ENOENT);
	again = series2(db, "m", "pid", "499");
	assert_true(again != gone);
	assert_int_equal(tsdb_append(db, again, T0 + 3 * DAY_MS, 5.0), 0);
	assert_int_equal(tsdb_append(db, keep, T0 + 3 * DAY_MS + 1, 3.0), 0);
	assert_int_equal(select_n(db, &m, 1), 2);
	tsdb_close(db);
}

static void memory_store_applies_age_retention_to_the_head(void **state)
{
	struct tsdb *db = open_store(NULL, false, DAY_MS, 0);
	uint64_t a = series2(db, "m", NULL, NULL);
	int64_t first = 0;

	(void)state;
	for (int64_t i = 0; i < 3 * 24 * 60; i++)
		assert_int_equal(tsdb_append(db, a, T0 + i * 60000, value_at(0, T0 + i * 60000)),
		                 0);
	flush_ok(db); /* no directory: nothing to do */
	maintain_ok(db, T0 + 3 * DAY_MS);
	assert_true(query_count(db, "m", INT64_MIN, INT64_MAX, 0, &first, NULL) <= 24 * 60 + 240);
	assert_true(first >= T0 + 2 * DAY_MS - 2 * 3600 * 1000);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(samples_survive_close_and_open, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_order_append_is_refused_also_after_reopen,
		                                setup, teardown),
		cmocka_unit_test(bad_series_labels_are_refused),
		cmocka_unit_test_setup_teardown(
		        regular_series_cost_at_most_two_bytes_per_sample_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(query_merges_disk_and_head, setup, teardown),
		cmocka_unit_test(matchers_follow_prometheus_semantics),
		cmocka_unit_test_setup_teardown(torn_and_corrupt_files_are_reported_and_skipped,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(age_retention_drops_old_files, setup, teardown),
		cmocka_unit_test_setup_teardown(byte_limit_drops_oldest_data, setup, teardown),
		cmocka_unit_test_setup_teardown(compaction_merges_files_without_changing_data,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_merged_file_hides_the_files_it_replaced, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(reader_opens_while_writer_holds_the_store, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(kill_9_loses_at_most_the_unflushed_samples, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(series_without_samples_in_retention_are_forgotten,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(idle_series_leave_memory_but_stay_queryable, setup,
		                                teardown),
		cmocka_unit_test(memory_store_applies_age_retention_to_the_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
