/* test_journal.c - the journal reader on real journal files (written by
 * systemd-journal-remote from export format): entries, fields, and a cursor that resumes
 * after a restart with nothing read twice. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/logs/journal.h"
#include "edge/logs/logstore.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"

#define REMOTE "/lib/systemd/systemd-journal-remote"

struct got {
	int n;
	char msg[16][64];
	char unit[16][64];
	int prio[16];
	int64_t ts[16];
};

static int on_entry(void *udata, int64_t ts, const char *unit, int prio, const char *msg,
                    size_t len)
{
	struct got *g = udata;

	assert_true(g->n < 16);
	snprintf(g->msg[g->n], sizeof(g->msg[0]), "%.*s", (int)len, msg);
	snprintf(g->unit[g->n], sizeof(g->unit[0]), "%s", unit);
	g->prio[g->n] = prio;
	g->ts[g->n] = ts;
	g->n++;
	return 0;
}

/* n entries "TAG i" for unit api.service, one second apart, ending first_s ago. */
static void write_journal(const char *dir, const char *file, const char *tag, int n, int64_t end_us)
{
	char *exp = xasprintf("%s/%s.export", dir, file), *cmd;
	FILE *f = fopen(exp, "w");

	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f,
		        "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%lld\n"
		        "_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT=api.service\n"
		        "PRIORITY=%d\nMESSAGE=%s %d\n\n",
		        (long long)(end_us - (int64_t)(n - i) * 1000000),
		        /* one boot: monotonic time follows real time across files */
		        (long long)(end_us - (int64_t)(n - i) * 1000000 - 1700000000000000LL),
		        i % 2 ? 3 : 6, tag, i);
	fclose(f);
	cmd = xasprintf(REMOTE " --output='%s/%s.journal' - <'%s' 2>/dev/null", dir, file, exp);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(exp);
}

static void entries_are_read_once_across_a_restart(void **state)
{
	char dir[] = "/tmp/test_journal.XXXXXX", *sdir, *cmd;
	struct logstore_opts o = { 1u << 20, 0, false };
	struct logstore *s;
	struct journal *j;
	struct diag d = { 0 };
	struct got g = { 0 };
	int64_t now = now_ms();

	(void)state;
	if (access(REMOTE, X_OK) < 0)
		skip(); /* install/deps.sh test installs systemd-journal-remote */
	assert_non_null(mkdtemp(dir));
	sdir = xasprintf("%s/store", dir);
	assert_int_equal(logstore_open(sdir, &o, &s, &d), 0);
	/* one entry older than the first-start lookback (1 h), then five recent ones */
	write_journal(dir, "old", "ancient", 1, (now - 2 * 3600 * 1000) * 1000);
	write_journal(dir, "a", "first", 5, now * 1000 - 60 * 1000000);

	assert_int_equal(journal_open(dir, logstore_db(s), now, &j, &d), 0);
	assert_int_equal(journal_poll(j, 100, on_entry, &g), 0);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.msg[0], "first 0");
	assert_string_equal(g.msg[4], "first 4");
	assert_string_equal(g.unit[1], "api.service");
	assert_int_equal(g.prio[0], 6);
	assert_int_equal(g.prio[1], 3);
	assert_true(g.ts[4] > now - 70000 && g.ts[4] < now);
	/* the cursor commits with the lines, as logs.c does it */
	assert_int_equal(db_exec(logstore_db(s), "BEGIN", &d), 0);
	assert_int_equal(journal_save(j, logstore_db(s), &d), 0);
	assert_int_equal(db_exec(logstore_db(s), "COMMIT", &d), 0);
	journal_close(j);

	/* while we are down, three more entries arrive */
	write_journal(dir, "b", "second", 3, now * 1000 - 10 * 1000000);
	memset(&g, 0, sizeof(g));
	assert_int_equal(journal_open(dir, logstore_db(s), now, &j, &d), 0);
	assert_int_equal(journal_poll(j, 100, on_entry, &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.msg[0], "second 0");
	assert_string_equal(g.msg[2], "second 2");
	/* and a poll with a small budget says more is waiting */
	journal_close(j);
	memset(&g, 0, sizeof(g));
	assert_int_equal(db_exec(logstore_db(s), "DELETE FROM kv", &d), 0);
	assert_int_equal(journal_open(dir, logstore_db(s), now, &j, &d), 0);
	assert_int_equal(journal_poll(j, 2, on_entry, &g), 1);
	assert_int_equal(g.n, 2);
	journal_close(j);

	logstore_close(s);
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(sdir);
}

static void no_journal_is_said_plainly(void **state)
{
	struct journal *j = NULL;
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(journal_open("/nonexistent/journal", NULL, now_ms(), &j, &d), -ENOENT);
	assert_string_equal(d.msg, "no systemd journal in '/nonexistent/journal'");
	assert_null(j);
	if (access("/var/log/journal", F_OK) == 0 || access("/run/log/journal", F_OK) == 0)
		return; /* this host has one: the message below cannot be seen here */
	assert_int_equal(journal_open(NULL, NULL, now_ms(), &j, &d), -ENOENT);
	assert_string_equal(d.msg, "no systemd journal on this host (neither /var/log/journal nor "
	                           "/run/log/journal exists)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entries_are_read_once_across_a_restart),
		cmocka_unit_test(no_journal_is_said_plainly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
