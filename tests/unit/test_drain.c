/* test_drain.c - template mining: masking, merging, bounds, persistence. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/logs/drain.h"
#include "edge/logs/logstore.h"
#include "shared/alloc.h"
#include "shared/db.h"

static const char *tmpl(struct drain *dr, const char *line)
{
	static char out[1024];

	return drain_template_of(dr, line, strlen(line), out, sizeof(out));
}

static void connection_resets_from_many_peers_are_one_pattern(void **state)
{
	struct drain *dr = drain_new(NULL);
	char line[256];

	(void)state;
	for (int i = 0; i < 240; i++) {
		int n = snprintf(
		        line, sizeof(line),
		        "2026-11-24T02:46:%02d.%03dZ ERROR read tcp 10.0.%d.%d:%d->10.0.0.7:5432: "
		        "read: connection reset by peer",
		        i % 60, i * 7 % 1000, i % 5, i % 250, 30000 + i * 13);
		drain_add(dr, line, (size_t)n, 1000 + i);
	}
	assert_int_equal(drain_nclusters(dr), 1);
	assert_string_equal(tmpl(dr, line),
	                    "<*> ERROR read tcp <*> read: connection reset by peer");
	drain_free(dr);
}

static void variables_are_masked_by_shape(void **state)
{
	struct drain *dr = drain_new(NULL);
	const char *l = "user 42 from 192.168.1.20:5555 req 0x7f3a9c id "
	                "123e4567-e89b-12d3-a456-426614174000 size=2048 path=/api/v1/users "
	                "hash deadbeef01";

	(void)state;
	drain_add(dr, l, strlen(l), 1);
	assert_string_equal(tmpl(dr, l), "user <NUM> from <IP> req <HEX> id <UUID> size=<NUM> "
	                                 "path=/api/v1/users hash <HEX>");
	drain_free(dr);
}

static void differing_words_merge_into_a_wildcard_unrelated_lines_do_not(void **state)
{
	struct drain *dr = drain_new(NULL);
	const char *a = "worker alpha finished job sync in time";
	const char *b = "worker beta finished job sync in time";
	const char *c = "disk quota exceeded for volume home now";

	(void)state;
	drain_add(dr, a, strlen(a), 1);
	drain_add(dr, b, strlen(b), 2);
	drain_add(dr, c, strlen(c), 3);
	assert_int_equal(drain_nclusters(dr), 2);
	assert_string_equal(tmpl(dr, a), "worker <*> finished job sync in time");
	assert_string_equal(tmpl(dr, c), "disk quota exceeded for volume home now");
	drain_free(dr);
}

static void clusters_are_bounded_least_recent_evicted(void **state)
{
	struct drain_opts o = { 16, 0.5 };
	struct drain *dr = drain_new(&o);
	char line[128];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		/* unique first words: a new cluster each */
		int n = snprintf(line, sizeof(line), "%c%c%c unique event kind", 'a' + i % 26,
		                 'a' + i / 26 % 26, 'a' + i / 676 % 26);
		drain_add(dr, line, (size_t)n, i);
		assert_true(drain_nclusters(dr) <= 16);
	}
	drain_free(dr);
}

static void counts_and_templates_persist_and_restore(void **state)
{
	char dir[] = "/tmp/test_drain.XXXXXX";
	struct logstore_opts lo = { 1u << 20, 0, false };
	struct logstore *s;
	struct drain *dr;
	struct diag d = { 0 };
	sqlite3_stmt *q;
	char line[200], *cmd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(logstore_open(dir, &lo, &s, &d), 0);
	dr = drain_new(NULL);
	/* 240 resets over minutes 10..13, 5 of another kind in minute 12 */
	for (int i = 0; i < 240; i++) {
		int n = snprintf(line, sizeof(line),
		                 "read tcp 10.0.0.%d:%d: connection reset by peer", i % 200,
		                 40000 + i);
		drain_add(dr, line, (size_t)n, 600000 + i * 1000);
	}
	for (int i = 0; i < 5; i++)
		drain_add(dr, "cache miss storm", 16, 720000 + i);
	assert_int_equal(db_exec(logstore_db(s), "BEGIN", &d), 0);
	assert_int_equal(drain_save(dr, logstore_db(s), 900000, &d), 0);
	assert_int_equal(db_exec(logstore_db(s), "COMMIT", &d), 0);
	assert_int_equal(
	        db_prepare(logstore_db(s),
	                   "SELECT p.template, p.first_seen, SUM(m.count), COUNT(m.minute) "
	                   "FROM patterns p JOIN pattern_minutes m ON m.pattern = p.id "
	                   "GROUP BY p.id ORDER BY 3 DESC",
	                   &q, &d),
	        0);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0),
	                    "read tcp <*> connection reset by peer");
	assert_int_equal(sqlite3_column_int64(q, 1), 600000);
	assert_int_equal(sqlite3_column_int64(q, 2), 240);
	assert_int_equal(sqlite3_column_int64(q, 3), 4); /* minutes 10, 11, 12, 13 */
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 2), 5);
	sqlite3_finalize(q);
	drain_free(dr);

	/* a new miner starts from the saved templates: same lines, same rows */
	dr = drain_new(NULL);
	assert_int_equal(drain_restore(dr, logstore_db(s), &d), 0);
	assert_int_equal(drain_nclusters(dr), 2);
	drain_add(dr, "read tcp 10.9.9.9:1: connection reset by peer", 45, 960000);
	assert_int_equal(db_exec(logstore_db(s), "BEGIN", &d), 0);
	assert_int_equal(drain_save(dr, logstore_db(s), 960000, &d), 0);
	assert_int_equal(db_exec(logstore_db(s), "COMMIT", &d), 0);
	assert_int_equal(
	        db_prepare(logstore_db(s), "SELECT COUNT(*), MAX(total) FROM patterns", &q, &d), 0);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), 2);
	assert_int_equal(sqlite3_column_int64(q, 1), 241);
	sqlite3_finalize(q);
	drain_free(dr);
	logstore_close(s);
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void hostile_lines_do_not_break_the_miner(void **state)
{
	struct drain *dr = drain_new(NULL);
	char *big = xmalloc(100000);

	(void)state;
	memset(big, 'a', 100000);
	for (int i = 0; i < 100000; i += 3)
		big[i] = ' '; /* thousands of tokens: capped */
	drain_add(dr, big, 100000, 1);
	drain_add(dr, "", 0, 2);
	drain_add(dr, "   \t  ", 6, 3);
	drain_add(dr, "\xff\xfe\x00\x01", 4, 4);
	assert_true(drain_nclusters(dr) >= 1);
	free(big);
	drain_free(dr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connection_resets_from_many_peers_are_one_pattern),
		cmocka_unit_test(variables_are_masked_by_shape),
		cmocka_unit_test(differing_words_merge_into_a_wildcard_unrelated_lines_do_not),
		cmocka_unit_test(clusters_are_bounded_least_recent_evicted),
		cmocka_unit_test(counts_and_templates_persist_and_restore),
		cmocka_unit_test(hostile_lines_do_not_break_the_miner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
