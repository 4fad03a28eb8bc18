/* test_logstore.c - the log index: round trips, crash safety, bounds, block skipping. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/logs/logstore.h"
#include "shared/alloc.h"
#include "shared/db.h"

static char *tmpdir(void)
{
	char *t = xstrdup("/tmp/test_logstore.XXXXXX");

	assert_non_null(mkdtemp(t));
	return t;
}

static void rmtree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static struct logstore *open_rw(const char *dir, uint64_t max_bytes, int64_t retention)
{
	struct logstore_opts o = { max_bytes, retention, false };
	struct logstore *s = NULL;
	struct diag d = { 0 };

	assert_int_equal(logstore_open(dir, &o, &s, &d), 0);
	return s;
}

struct collect {
	size_t n;
	int64_t last_ts;
	bool ordered;
	char first[128];
	const char *lit; /* for skip_without */
};

static int count_line(void *udata, int64_t ts, uint32_t stream, const char *line, size_t len)
{
	struct collect *c = udata;

	(void)stream;
	if (c->n == 0)
		snprintf(c->first, sizeof(c->first), "%.*s", (int)len, line);
	if (c->n && ts < c->last_ts)
		c->ordered = false;
	c->last_ts = ts;
	c->n++;
	return 0;
}

static size_t count_all(struct logstore *s, struct logstore_scan_stats *st)
{
	struct collect c = { .ordered = true };
	struct diag d = { 0 };

	assert_int_equal(
	        logstore_scan(s, INT64_MIN, INT64_MAX, false, NULL, count_line, &c, st, &d), 0);
	return c.n;
}

static void fill(struct logstore *s, uint32_t stream, int64_t t0, size_t n, const char *word)
{
	struct diag d = { 0 };
	char line[200];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "line %zu %s payload payload payload %zu", i,
		                   word, i * 7919);
		assert_int_equal(logstore_append(s, t0 + (int64_t)i, stream, line, (size_t)len, &d),
		                 0);
	}
}

static void committed_lines_survive_reopen_in_order(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 64u << 20, 0);
	struct diag d = { 0 };
	uint32_t a;

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	fill(s, a, 1000, 50000, "alpha");
	assert_int_equal(logstore_commit(s, 100000, NULL, NULL, &d), 0);
	logstore_close(s);

	s = open_rw(dir, 64u << 20, 0);
	{
		struct collect c = { .ordered = true };
		assert_int_equal(logstore_scan(s, INT64_MIN, INT64_MAX, false, NULL, count_line, &c,
		                               NULL, &d),
		                 0);
		assert_int_equal(c.n, 50000);
		assert_true(c.ordered);
		assert_string_equal(c.first, "line 0 alpha payload payload payload 0");
	}
	/* the stream keeps its id across opens */
	{
		uint32_t again;
		assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &again, &d), 0);
		assert_int_equal(again, a);
	}
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

static void uncommitted_lines_are_dropped_and_torn_tail_is_cut(void **state)
{
	char *dir = tmpdir(), *seg;
	struct logstore *s = open_rw(dir, 64u << 20, 0);
	struct diag d = { 0 };
	struct stat st;
	uint32_t a;
	int fd;

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	fill(s, a, 0, 1000, "kept");
	assert_int_equal(logstore_commit(s, 1000, NULL, NULL, &d), 0);
	fill(s, a, 2000, 1000, "lost");
	logstore_close(s); /* no commit: like a kill -9 before the commit */

	/* a torn write after the last committed block: garbage the index never named */
	seg = xasprintf("%s/seg-00000001.dat", dir);
	assert_int_equal(stat(seg, &st), 0);
	fd = open(seg, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "OGL1 torn garbage", 17), 17);
	close(fd);

	s = open_rw(dir, 64u << 20, 0);
	{
		struct stat st2;
		assert_int_equal(stat(seg, &st2), 0);
		assert_int_equal(st2.st_size, st.st_size);
	}
	assert_int_equal(count_all(s, NULL), 1000);
	/* and appending after the cut works */
	fill(s, a, 3000, 10, "after");
	assert_int_equal(logstore_commit(s, 4000, NULL, NULL, &d), 0);
	assert_int_equal(count_all(s, NULL), 1010);
	logstore_close(s);
	free(seg);
	rmtree(dir);
	free(dir);
}

static int write_kv(void *udata, sqlite3 *db, struct diag *d)
{
	(void)udata;
	return db_exec(db, "INSERT OR REPLACE INTO kv(key, value) VALUES ('test', 'v1')", d);
}

static int fail_commit(void *udata, sqlite3 *db, struct diag *d)
{
	(void)udata;
	(void)db;
	return diag_set(d, -EIO, "simulated failure");
}

static void caller_rows_commit_with_the_lines_or_not_at_all(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 64u << 20, 0);
	struct diag d = { 0 };
	sqlite3_stmt *q;
	uint32_t a;

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	fill(s, a, 0, 100, "x");
	assert_int_equal(logstore_commit(s, 100, fail_commit, NULL, &d), -EIO);
	logstore_close(s); /* the block was written but never named by the index */
	s = open_rw(dir, 64u << 20, 0);
	assert_int_equal(count_all(s, NULL), 0);
	fill(s, a, 0, 100, "x");
	assert_int_equal(logstore_commit(s, 100, write_kv, NULL, &d), 0);
	assert_int_equal(
	        db_prepare(logstore_db(s), "SELECT value FROM kv WHERE key='test'", &q, &d), 0);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	sqlite3_finalize(q);
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

static void size_bound_drops_oldest_segments(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 1u << 20, 0); /* 1 MiB budget, 1 MiB segments */
	struct logstore_stats st;
	struct diag d = { 0 };
	uint32_t a;
	char line[300];

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	/* incompressible-ish lines so segments fill up */
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 2000; i++) {
			int len = snprintf(line, sizeof(line), "%d %d %08x%08x%08x%08x", round, i,
			                   (unsigned)rand(), (unsigned)rand(), (unsigned)rand(),
			                   (unsigned)rand());
			assert_int_equal(
			        logstore_append(s, round * 10000 + i, a, line, (size_t)len, &d), 0);
		}
		assert_int_equal(logstore_commit(s, round * 10000, NULL, NULL, &d), 0);
	}
	assert_int_equal(logstore_stats(s, &st, &d), 0);
	/* bounded: the budget plus at most the segment being written */
	assert_true(st.segment_bytes <= (2u << 20));
	assert_true(st.lines < 80000);
	assert_true(st.lines > 10000);
	assert_true(st.t_min > 0); /* the oldest lines went first */
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

static void retention_drops_old_segments(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 1u << 20, 60000);
	struct diag d = { 0 };
	uint32_t a;
	char line[300];

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	for (int i = 0; i < 30000; i++) {
		int len = snprintf(line, sizeof(line), "old %d %08x%08x%08x", i, (unsigned)rand(),
		                   (unsigned)rand(), (unsigned)rand());
		assert_int_equal(logstore_append(s, 1000, a, line, (size_t)len, &d), 0);
	}
	assert_int_equal(logstore_commit(s, 1000, NULL, NULL, &d), 0);
	fill(s, a, 10000000, 10, "new");
	assert_int_equal(logstore_commit(s, 10000000, NULL, NULL, &d), 0);
	assert_true(count_all(s, NULL) < 30010);
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

static int skip_without(void *udata, const struct logstore_block_info *b)
{
	const struct collect *c = udata;

	return logstore_grams_may_contain(b->grams, c->lit, strlen(c->lit)) ? 1 : 0;
}

static void trigram_bitmaps_skip_blocks_without_the_literal(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 64u << 20, 0);
	struct logstore_scan_stats st;
	struct collect c = { .ordered = true, .lit = "needle-in-haystack" };
	struct diag d = { 0 };
	uint32_t a;

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	for (int i = 0; i < 20; i++) {
		fill(s, a, i * 100000, 5000, i == 13 ? "needle-in-haystack" : "hay");
		assert_int_equal(logstore_commit(s, 0, NULL, NULL, &d), 0);
	}
	assert_int_equal(
	        logstore_scan(s, INT64_MIN, INT64_MAX, true, skip_without, count_line, &c, &st, &d),
	        0);
	assert_true(st.blocks_total >= 20);
	assert_true(st.blocks_read <= 2);
	assert_int_equal(c.n, 5000);
	/* case-insensitive: the bitmap is folded */
	c.lit = "NEEDLE-in-HAYSTACK";
	c.n = 0;
	assert_int_equal(
	        logstore_scan(s, INT64_MIN, INT64_MAX, true, skip_without, count_line, &c, &st, &d),
	        0);
	assert_true(st.blocks_read <= 2);
	assert_int_equal(c.n, 5000);
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

static void read_only_open_of_missing_index_says_so(void **state)
{
	struct logstore_opts o = { 1u << 20, 0, true };
	struct logstore *s = NULL;
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(logstore_open("/nonexistent/ongrid-test", &o, &s, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "no log index"));
}

static void second_writer_is_refused(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 1u << 20, 0), *t = NULL;
	struct logstore_opts o = { 1u << 20, 0, false };
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(logstore_open(dir, &o, &t, &d), -EBUSY);
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

static void corrupt_block_is_skipped_not_trusted(void **state)
{
	char *dir = tmpdir(), *seg;
	struct logstore *s = open_rw(dir, 64u << 20, 0);
	struct logstore_scan_stats st;
	struct diag d = { 0 };
	uint32_t a;
	int fd;

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	fill(s, a, 0, 100, "first");
	assert_int_equal(logstore_commit(s, 0, NULL, NULL, &d), 0);
	fill(s, a, 1000, 100, "second");
	assert_int_equal(logstore_commit(s, 0, NULL, NULL, &d), 0);
	seg = xasprintf("%s/seg-00000001.dat", dir);
	fd = open(seg, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "XXXX", 4, 40), 4); /* inside the first block */
	close(fd);
	assert_int_equal(count_all(s, &st), 100);
	assert_int_equal(st.corrupt_blocks, 1);
	logstore_close(s);
	free(seg);
	rmtree(dir);
	free(dir);
}

static int collect_seq(void *udata, int64_t ts, uint32_t stream, const char *line, size_t len)
{
	int *seen = udata;
	int k;

	(void)stream;
	(void)len;
	assert_int_equal(sscanf(line, "trickle %d", &k), 1);
	assert_true(k >= 0 && k < 300);
	assert_int_equal(ts, 1000000 + k * 1000);
	seen[k]++;
	return 0;
}

static void small_blocks_from_a_trickle_are_merged_without_loss(void **state)
{
	char *dir = tmpdir();
	struct logstore *s = open_rw(dir, 64u << 20, 0);
	struct logstore_stats st;
	struct diag d = { 0 };
	int seen[300] = { 0 };
	uint32_t a;

	(void)state;
	assert_int_equal(logstore_stream(s, "{file=\"/a\"}", &a, &d), 0);
	/* 100 commits of 3 lines: 100 tiny blocks (compaction waits a minute between runs) */
	for (int c = 0; c < 100; c++) {
		for (int i = 0; i < 3; i++) {
			char line[64];
			int k = c * 3 + i;
			int n = snprintf(line, sizeof(line), "trickle %d", k);
			assert_int_equal(
			        logstore_append(s, 1000000 + k * 1000, a, line, (size_t)n, &d), 0);
		}
		assert_int_equal(logstore_commit(s, 1000, NULL, NULL, &d), 0);
	}
	assert_int_equal(logstore_stats(s, &st, &d), 0);
	assert_true(st.blocks >= 90);
	/* a minute later the next commit merges them */
	assert_int_equal(logstore_commit(s, 70000, NULL, NULL, &d), 0);
	assert_int_equal(logstore_stats(s, &st, &d), 0);
	assert_true(st.blocks <= 2);
	assert_int_equal(st.lines, 300);
	logstore_close(s);
	/* and after a reopen every line is there exactly once, with its time */
	s = open_rw(dir, 64u << 20, 0);
	assert_int_equal(
	        logstore_scan(s, INT64_MIN, INT64_MAX, false, NULL, collect_seq, seen, NULL, &d),
	        0);
	for (int k = 0; k < 300; k++)
		assert_int_equal(seen[k], 1);
	logstore_close(s);
	rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(committed_lines_survive_reopen_in_order),
		cmocka_unit_test(uncommitted_lines_are_dropped_and_torn_tail_is_cut),
		cmocka_unit_test(caller_rows_commit_with_the_lines_or_not_at_all),
		cmocka_unit_test(size_bound_drops_oldest_segments),
		cmocka_unit_test(retention_drops_old_segments),
		cmocka_unit_test(trigram_bitmaps_skip_blocks_without_the_literal),
		cmocka_unit_test(read_only_open_of_missing_index_says_so),
		cmocka_unit_test(second_writer_is_refused),
		cmocka_unit_test(corrupt_block_is_skipped_not_trusted),
		cmocka_unit_test(small_blocks_from_a_trickle_are_merged_without_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
