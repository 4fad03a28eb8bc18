/* test_alert_rules: local alert rules over an in-memory store: loading (built-ins, a
 * file, replacement, errors that name the rule), and pending -> firing after `for` ->
 * resolved, per series. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/alert_rules.h"
#include "edge/tsdb/tsdb.h"
#include "shared/json.h"

#define S 1000

static struct tsdb *db;
static char events[64][160];
static size_t nev;

static void on_event(void *udata, const struct alert_event *ev)
{
	const char *dev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev->labels, "dev"));

	(void)udata;
	if (nev < 64)
		snprintf(events[nev++], sizeof(events[0]), "%s %s %s %lld", ev->rule,
		         alert_state_name(ev->state), dev ? dev : "-", (long long)(ev->at / S));
}

static uint64_t series(const char *dev)
{
	struct label l[2] = { { "__name__", "m" }, { "dev", dev } };
	struct diag d = { 0 };
	uint64_t ref;

	if (tsdb_series(db, l, 2, &ref, &d) < 0)
		fail_msg("tsdb_series: %s", d.msg);
	return ref;
}

static int setup(void **state)
{
	struct tsdb_opts o = { 0 };
	struct diag d = { 0 };

	(void)state;
	nev = 0;
	if (tsdb_open(&o, &db, &d) < 0)
		fail_msg("tsdb_open: %s", d.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsdb_close(db);
	return 0;
}

static char *write_rules(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_alert_rules.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults_load(void **state)
{
	struct alert_rules *rs;
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(alert_rules_load(NULL, true, &rs, &d), 0);
	assert_int_equal(alert_rules_count(rs), 6);
	alert_rules_free(rs);
	assert_int_equal(alert_rules_load(NULL, false, &rs, &d), 0);
	assert_int_equal(alert_rules_count(rs), 0);
	alert_rules_free(rs);
}

static void test_file_replaces_and_disables(void **state)
{
	struct alert_rules *rs;
	struct diag d = { 0 };
	char *p = write_rules("rules = ( { name = \"CrashLoop\"; enabled = false; },\n"
	                      "  { name = \"DiskAlmostFull\"; expr = \"m > 1\"; },\n"
	                      "  { name = \"Mine\"; expr = \"m > 2\"; for = \"1m\"; } );\n");
	cJSON *j;

	(void)state;
	assert_int_equal(alert_rules_load(p, true, &rs, &d), 0);
	unlink(p);
	assert_int_equal(alert_rules_count(rs), 6); /* 6 - CrashLoop + Mine */
	j = alert_rules_json(rs);
	for (int i = 0; i < cJSON_GetArraySize(j); i++) {
		const cJSON *r = cJSON_GetArrayItem(j, i);
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
		assert_string_not_equal(n, "CrashLoop");
		if (!strcmp(n, "DiskAlmostFull"))
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "expr")),
			                    "m > 1");
	}
	cJSON_Delete(j);
	alert_rules_free(rs);
}

static void test_errors_name_rule_and_field(void **state)
{
	struct alert_rules *rs;
	struct diag d = { 0 };
	char *p;

	(void)state;
	p = write_rules("rules = ( { name = \"A\"; expr = \"m > 1\"; for = \"soon\"; } );");
	assert_int_equal(alert_rules_load(p, false, &rs, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "rules[0] (A).for: expected a duration"));
	unlink(p);
	p = write_rules("rules = ( { name = \"B\"; expr = \"sum(m\"; } );");
	assert_int_equal(alert_rules_load(p, false, &rs, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "rules[0] (B).expr:"));
	unlink(p);
	p = write_rules("rules = ( { name = \"bad name\"; expr = \"m\"; } );");
	assert_int_equal(alert_rules_load(p, false, &rs, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "rules[0].name"));
	unlink(p);
	p = write_rules("rulez = ();");
	assert_int_equal(alert_rules_load(p, false, &rs, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "no 'rules"));
	unlink(p);
	assert_true(alert_rules_load("/nonexistent/rules.conf", false, &rs, &d) < 0);
	assert_non_null(strstr(d.msg, "/nonexistent/rules.conf"));
}

static void test_pending_firing_resolved(void **state)
{
	struct alert_rules *rs;
	struct diag d = { 0 };
	char *p = write_rules("rules = ( { name = \"High\"; expr = \"m > 5\"; for = \"10s\"; } );");
	uint64_t a = series("a"), b = series("b");

	(void)state;
	assert_int_equal(alert_rules_load(p, false, &rs, &d), 0);
	unlink(p);
	/* a: high from t=100 to t=130; b: high from 100 to 105 only (never fires). */
	for (int t = 90; t <= 150; t++) {
		assert_int_equal(tsdb_append(db, a, (int64_t)t * S, t >= 100 && t < 130 ? 9 : 1),
		                 0);
		assert_int_equal(tsdb_append(db, b, (int64_t)t * S, t >= 100 && t < 105 ? 9 : 1),
		                 0);
	}
	for (int t = 95; t <= 150; t += 5)
		(void)alert_rules_eval(rs, db, (int64_t)t * S, on_event, NULL);
	assert_int_equal(nev, 4);
	assert_string_equal(events[0], "High pending a 100");
	assert_string_equal(events[1], "High pending b 100");
	assert_string_equal(events[2], "High firing a 110");
	assert_string_equal(events[3], "High resolved a 130");
	alert_rules_free(rs);
}

/* A reload mid-incident: the unchanged rule keeps firing without a second "firing" and
 * resolves once; a rule whose threshold changed, or that is gone, resolves at the reload
 * (its thread closes) and the changed one starts again from pending. */
static void test_reload_keeps_state_of_unchanged_rules(void **state)
{
	struct alert_rules *old, *new;
	struct diag d = { 0 };
	char *p = write_rules("rules = ( { name = \"High\"; expr = \"m > 5\"; for = \"10s\"; },"
	                      "  { name = \"Higher\"; expr = \"m > 7\"; for = \"10s\"; },"
	                      "  { name = \"Gone\"; expr = \"m > 8\"; for = \"10s\"; } );");
	uint64_t a = series("a");

	(void)state;
	assert_int_equal(alert_rules_load(p, false, &old, &d), 0);
	unlink(p);
	for (int t = 90; t <= 160; t++)
		assert_int_equal(tsdb_append(db, a, (int64_t)t * S, t >= 100 && t < 140 ? 9 : 1),
		                 0);
	for (int t = 95; t <= 120; t += 5)
		(void)alert_rules_eval(old, db, (int64_t)t * S, on_event, NULL);
	assert_int_equal(nev, 6); /* three pending at 100, three firing at 110 */
	p = write_rules("rules = ( { name = \"High\"; expr = \"m > 5\"; for = \"10s\"; },"
	                "  { name = \"Higher\"; expr = \"m > 6\"; for = \"10s\"; } );");
	assert_int_equal(alert_rules_load(p, false, &new, &d), 0);
	unlink(p);
	nev = 0;
	assert_int_equal(alert_rules_adopt(new, old, 122 * S, on_event, NULL), 1);
	alert_rules_free(old);
	assert_int_equal(nev, 2);
	assert_string_equal(events[0], "Higher resolved a 122");
	assert_string_equal(events[1], "Gone resolved a 122");
	nev = 0;
	for (int t = 125; t <= 150; t += 5)
		(void)alert_rules_eval(new, db, (int64_t)t * S, on_event, NULL);
	assert_int_equal(nev, 4);
	assert_string_equal(events[0], "Higher pending a 125");
	assert_string_equal(events[1], "Higher firing a 135");
	assert_string_equal(events[2], "High resolved a 140");
	assert_string_equal(events[3], "Higher resolved a 140");
	alert_rules_free(new);
}

static void test_defaults_quiet_on_healthy_data(void **state)
{
	struct alert_rules *rs;
	struct diag d = { 0 };
	struct label fs[5] = { { "__name__", "ongrid_filesystem_avail_bytes" },
		               { "device", "/dev/sda1" },
		               { "fstype", "ext4" },
		               { "mountpoint", "/" } };
	struct label sz[4] = { { "__name__", "ongrid_filesystem_size_bytes" },
		               { "device", "/dev/sda1" },
		               { "fstype", "ext4" },
		               { "mountpoint", "/" } };
	uint64_t ra, rsz;

	(void)state;
	assert_int_equal(tsdb_series(db, fs, 4, &ra, &d), 0);
	assert_int_equal(tsdb_series(db, sz, 4, &rsz, &d), 0);
	for (int t = 0; t <= 3600; t += 10) {
		/* Half full and steady: healthy. */
		assert_int_equal(tsdb_append(db, ra, (int64_t)t * S, 50e9), 0);
		assert_int_equal(tsdb_append(db, rsz, (int64_t)t * S, 100e9), 0);
	}
	assert_int_equal(alert_rules_load(NULL, true, &rs, &d), 0);
	for (int t = 1800; t <= 3600; t += 15)
		(void)alert_rules_eval(rs, db, (int64_t)t * S, on_event, NULL);
	assert_int_equal(nev, 0);
	alert_rules_free(rs);
}

static void test_disk_full_fires(void **state)
{
	struct alert_rules *rs;
	struct diag d = { 0 };
	struct label fs[4] = { { "__name__", "ongrid_filesystem_avail_bytes" },
		               { "device", "/dev/sda1" },
		               { "fstype", "ext4" },
		               { "mountpoint", "/" } };
	struct label sz[4] = { { "__name__", "ongrid_filesystem_size_bytes" },
		               { "device", "/dev/sda1" },
		               { "fstype", "ext4" },
		               { "mountpoint", "/" } };
	uint64_t ra, rsz;

	(void)state;
	assert_int_equal(tsdb_series(db, fs, 4, &ra, &d), 0);
	assert_int_equal(tsdb_series(db, sz, 4, &rsz, &d), 0);
	for (int t = 0; t <= 3600; t += 10) {
		/* Filling at 13 MB/s from 50 GB: full in about an hour from the first
		 * evaluation (ETA fires after its 10 m), under 5 % left in the last 2 m
		 * (pending: its 5 m have not passed). */
		assert_int_equal(tsdb_append(db, ra, (int64_t)t * S, 50e9 - t * 13e6), 0);
		assert_int_equal(tsdb_append(db, rsz, (int64_t)t * S, 100e9), 0);
	}
	assert_int_equal(alert_rules_load(NULL, true, &rs, &d), 0);
	for (int t = 1800; t <= 3600; t += 15)
		(void)alert_rules_eval(rs, db, (int64_t)t * S, on_event, NULL);
	assert_true(nev >= 2);
	{
		bool eta = false, full = false;
		for (size_t i = 0; i < nev; i++) {
			eta |= !strncmp(events[i], "DiskFillsWithin4h firing", 24);
			full |= !strncmp(events[i], "DiskAlmostFull pending", 22);
		}
		assert_true(eta);
		assert_true(full);
	}
	alert_rules_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_replaces_and_disables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_name_rule_and_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_firing_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_state_of_unchanged_rules, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_defaults_quiet_on_healthy_data, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_fires, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
