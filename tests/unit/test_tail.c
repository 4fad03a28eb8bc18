/* test_tail.c - following files: partial and long lines, rotation by rename and by
 * copytruncate, truncation, and positions restored across a restart. */
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
#include <unistd.h>

#include <cmocka.h>

#include "edge/logs/logstore.h"
#include "edge/logs/tail.h"
#include "shared/alloc.h"
#include "shared/db.h"

struct fx {
	char dir[64];
	char *log;
	char *globv[1];
	struct conf_strlist globs;
	struct logstore *store; /* for its tail_files table */
	/* what the tailer emitted */
	char got[64][256];
	bool cut[64];
	char path[64][128];
	size_t n;
};

static int on_line(void *udata, const char *path, const char *line, size_t len, bool cut)
{
	struct fx *f = udata;

	assert_true(f->n < 64);
	snprintf(f->got[f->n], sizeof(f->got[0]), "%.*s", (int)len, line);
	snprintf(f->path[f->n], sizeof(f->path[0]), "%s", path);
	f->cut[f->n] = cut;
	f->n++;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct logstore_opts o = { 1u << 20, 0, false };
	struct diag d = { 0 };
	char *sd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_tail.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->log = xasprintf("%s/app.log", f->dir);
	f->globv[0] = xasprintf("%s/*.log", f->dir);
	f->globs.v = f->globv;
	f->globs.n = 1;
	sd = xasprintf("%s/store", f->dir);
	assert_int_equal(logstore_open(sd, &o, &f->store, &d), 0);
	free(sd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	logstore_close(f->store);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->log);
	free(f->globv[0]);
	free(f);
	return 0;
}

static void append(const char *path, const char *s)
{
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	fputs(s, fp);
	fclose(fp);
}

static struct tail *open_tail(struct fx *f, size_t max_line)
{
	struct tail_opts o = { &f->globs, max_line, 0 };
	struct tail *t = NULL;
	struct diag d = { 0 };

	assert_int_equal(tail_open(&o, logstore_db(f->store), &t, &d), 0);
	return t;
}

static void poll_all(struct fx *f, struct tail *t, bool final)
{
	while (tail_poll(t, 1000, 1u << 20, final, on_line, f) > 0)
		;
}

static void save(struct fx *f, struct tail *t)
{
	struct diag d = { 0 };

	assert_int_equal(tail_save(t, logstore_db(f->store), &d), 0);
}

static void partial_line_is_held_until_its_newline(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 1024);

	append(f->log, "one\ntw");
	poll_all(f, t, false);
	assert_int_equal(f->n, 1);
	append(f->log, "o\r\nthree\n");
	poll_all(f, t, false);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->got[1], "two\r"); /* the pipeline strips the CR, not the tailer */
	assert_string_equal(f->got[2], "three");
	assert_string_equal(f->path[2], f->log);
	tail_close(t);
}

static void long_line_is_cut_and_flagged_and_the_next_is_whole(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 64);
	char big[300];

	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	append(f->log, big);
	append(f->log, "after\n");
	poll_all(f, t, false);
	assert_int_equal(f->n, 2);
	assert_int_equal(strlen(f->got[0]), 64);
	assert_true(f->cut[0]);
	assert_string_equal(f->got[1], "after");
	assert_false(f->cut[1]);
	tail_close(t);
}

static void rename_rotation_drains_the_old_file_then_reads_the_new(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 1024);
	char *rot = xasprintf("%s.1", f->log);
	int fd;

	append(f->log, "a1\n");
	poll_all(f, t, false);
	/* the writer keeps its descriptor across the rename and writes once more */
	fd = open(f->log, O_WRONLY | O_APPEND);
	assert_int_equal(rename(f->log, rot), 0);
	assert_int_equal(write(fd, "a2\n", 3), 3);
	close(fd);
	append(f->log, "b1\n");
	poll_all(f, t, true);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->got[1], "a2");
	assert_string_equal(f->got[2], "b1");
	assert_string_equal(f->path[1], f->log); /* the label stays the configured name */
	assert_int_equal(tail_nfiles(t), 1);     /* the rotated file was closed */
	tail_close(t);
	free(rot);
}

static void copytruncate_recovers_unread_lines_from_the_copy(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 1024);
	char *copy = xasprintf("%s-20261124", f->log);
	char *cmd = xasprintf("cp '%s' '%s' && : > '%s'", f->log, copy, f->log);

	append(f->log, "line one\n");
	poll_all(f, t, false);
	append(f->log, "line two, not yet read\n");
	assert_int_equal(system(cmd), 0); /* copy, then truncate */
	append(f->log, "line three, after the truncate and longer than before\n");
	poll_all(f, t, false);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->got[1], "line two, not yet read");
	assert_string_equal(f->got[2], "line three, after the truncate and longer than before");
	tail_close(t);
	free(copy);
	free(cmd);
}

static void plain_truncation_starts_over(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 1024);

	append(f->log, "first life, quite a long line\n");
	poll_all(f, t, false);
	assert_int_equal(truncate(f->log, 0), 0);
	append(f->log, "second\n");
	poll_all(f, t, false);
	assert_int_equal(f->n, 2);
	assert_string_equal(f->got[1], "second");
	tail_close(t);
}

static void restart_resumes_at_the_saved_offset_even_after_rotation(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 1024);
	char *rot = xasprintf("%s.1", f->log);

	append(f->log, "before\npartial");
	poll_all(f, t, false);
	save(f, t);
	tail_close(t);
	assert_int_equal(f->n, 1);

	/* while we are down: the line completes, the file is rotated, a new one starts */
	append(f->log, " now whole\nmore\n");
	assert_int_equal(rename(f->log, rot), 0);
	append(f->log, "new file\n");

	t = open_tail(f, 1024);
	poll_all(f, t, true);
	assert_int_equal(f->n, 4);
	assert_string_equal(f->got[1], "partial now whole");
	assert_string_equal(f->got[2], "more");
	assert_string_equal(f->got[3], "new file");
	save(f, t);
	tail_close(t);

	/* and nothing is read twice after another restart */
	t = open_tail(f, 1024);
	poll_all(f, t, true);
	assert_int_equal(f->n, 4);
	tail_close(t);
	free(rot);
}

static void new_files_matching_the_glob_are_picked_up(void **state)
{
	struct fx *f = *state;
	struct tail *t = open_tail(f, 1024);
	char *other = xasprintf("%s/other.log", f->dir), *nomatch = xasprintf("%s/x.txt", f->dir);

	poll_all(f, t, false);
	assert_int_equal(f->n, 0);
	append(other, "hello\n");
	append(nomatch, "ignored\n");
	poll_all(f, t, false);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->path[0], other);
	tail_close(t);
	free(other);
	free(nomatch);
}

static void relative_glob_is_refused(void **state)
{
	struct fx *f = *state;
	char relglob[] = "logs/*.log";
	char *rel[1] = { relglob };
	struct conf_strlist g = { rel, 1 };
	struct tail_opts o = { &g, 1024, 0 };
	struct tail *t = NULL;
	struct diag d = { 0 };

	assert_int_equal(tail_open(&o, logstore_db(f->store), &t, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "logs.paths: 'logs/*.log' is not an absolute path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(partial_line_is_held_until_its_newline, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(long_line_is_cut_and_flagged_and_the_next_is_whole,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        rename_rotation_drains_the_old_file_then_reads_the_new, setup, teardown),
		cmocka_unit_test_setup_teardown(copytruncate_recovers_unread_lines_from_the_copy,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(plain_truncation_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        restart_resumes_at_the_saved_offset_even_after_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(new_files_matching_the_glob_are_picked_up, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(relative_glob_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
