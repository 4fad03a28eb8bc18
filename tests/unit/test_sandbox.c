/* test_sandbox: the limits every tool run gets - timeout of the whole process group,
 * output cap, scrubbed environment, file-size limit, the read-only privilege drop and
 * seccomp filter - observed from outside on real processes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/tools/sandbox.h"

static int run(const char *const *argv, const struct sandbox_opts *o, struct sandbox_result *res)
{
	struct diag d = { 0 };
	int r = sandbox_run_argv((char *const *)argv, o, res, &d);

	if (r < 0)
		print_message("sandbox: %s\n", d.msg);
	return r;
}

/* A process killed by SIGKILL is gone or a zombie waiting for its reaper. */
static bool dead(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && (p[2] == 'Z' || p[2] == 'X');
}

static void timeout_kills_the_child_and_its_children(void **state)
{
	const char *argv[] = { "sh", "-c", "sleep 60 & echo $!; sleep 60", NULL };
	struct sandbox_opts o = { .timeout_ms = 400, .output_max = 4096 };
	struct sandbox_result res;
	pid_t bg;

	(void)state;
	assert_int_equal(run(argv, &o, &res), 0);
	assert_true(res.timed_out);
	assert_int_equal(res.term_signal, SIGKILL);
	assert_true(res.duration_ms < 3000);
	bg = (pid_t)atoi(res.output);
	assert_true(bg > 1);
	for (int i = 0; i < 100 && !dead(bg); i++)
		usleep(10000);
	assert_true(dead(bg));
	sandbox_result_release(&res);
}

static void output_is_capped_and_marked(void **state)
{
	const char *argv[] = { "head", "-c", "300000", "/dev/zero", NULL };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 1000, .read_only = true };
	struct sandbox_result res;

	(void)state;
	assert_int_equal(run(argv, &o, &res), 0);
	assert_int_equal(res.len, 1000);
	assert_true(res.truncated);
	assert_false(res.timed_out);
	assert_int_equal(res.exit_code, 0);
	sandbox_result_release(&res);
}

static void environment_is_scrubbed(void **state)
{
	const char *argv[] = { "env", NULL };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 4096, .read_only = true };
	struct sandbox_result res;

	(void)state;
	setenv("ONGRID_TEST_SECRET", "hunter2", 1);
	setenv("LD_PRELOAD", "/nonexistent.so", 1);
	assert_int_equal(run(argv, &o, &res), 0);
	unsetenv("LD_PRELOAD");
	assert_string_equal(res.output, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\n");
	sandbox_result_release(&res);
}

static void stdin_is_empty_and_cwd_is_root(void **state)
{
	const char *argv[] = { "sh", "-c", "pwd; cat; echo end", NULL };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 4096 };
	struct sandbox_result res;

	(void)state;
	assert_int_equal(run(argv, &o, &res), 0);
	assert_string_equal(res.output, "/\nend\n");
	sandbox_result_release(&res);
}

static void fsize_limit_stops_writes(void **state)
{
	char dir[] = "/tmp/ongrid-sbx-XXXXXX", cmd[1024], file[128];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct sandbox_opts o = {
		.timeout_ms = 5000, .output_max = 4096, .read_only = true, .no_filter = true
	};
	struct sandbox_result res;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0777);
	snprintf(file, sizeof(file), "%s/out", dir);
	snprintf(cmd, sizeof(cmd), "echo hello > %s", file);
	assert_int_equal(run(argv, &o, &res), 0);
	/* the open may succeed (no seccomp here), the write may not */
	assert_true(res.exit_code != 0 || res.term_signal != 0);
	assert_true(stat(file, &st) < 0 || st.st_size == 0);
	sandbox_result_release(&res);
	unlink(file);
	rmdir(dir);
}

static void read_only_runs_cannot_create_or_truncate_files(void **state)
{
	char dir[] = "/tmp/ongrid-sbx-XXXXXX", cmd[1024], file[128];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 4096, .read_only = true };
	struct sandbox_result res;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0777);
	snprintf(file, sizeof(file), "%s/precious", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
	chmod(file, 0666);
	snprintf(cmd, sizeof(cmd),
	         ": > %s; touch %s/new; rm -f %s; echo x >> %s; "
	         "dd if=/dev/zero of=%s bs=1 count=1 conv=notrunc,nocreat",
	         file, dir, file, file, file);
	assert_int_equal(run(argv, &o, &res), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_size, 8);
	f = fopen(file, "r");
	assert_non_null(f);
	assert_non_null(fgets(cmd, sizeof(cmd), f));
	fclose(f);
	assert_string_equal(cmd, "keep me\n");
	snprintf(cmd, sizeof(cmd), "%s/new", dir);
	assert_true(stat(cmd, &st) < 0);
	sandbox_result_release(&res);
	unlink(file);
	rmdir(dir);
}

static void read_only_runs_as_nobody_but_can_read_root_files(void **state)
{
	char dir[] = "/tmp/ongrid-sbx-XXXXXX", file[128];
	const char *id[] = { "id", "-u", NULL };
	const char *cat[] = { "cat", file, NULL };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 4096, .read_only = true };
	struct sandbox_result res;
	FILE *f;

	(void)state;
	if (geteuid() != 0) {
		/* unprivileged: the privilege drop is skipped, the command runs as we do */
		char want[32];
		assert_int_equal(run(id, &o, &res), 0);
		snprintf(want, sizeof(want), "%u\n", (unsigned)getuid());
		assert_string_equal(res.output, want);
		sandbox_result_release(&res);
		return;
	}
	assert_int_equal(run(id, &o, &res), 0);
	assert_string_equal(res.output, "65534\n");
	sandbox_result_release(&res);

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/root-only.log", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("disk full\n", f);
	fclose(f);
	chmod(file, 0600);
	assert_int_equal(run(cat, &o, &res), 0);
	assert_string_equal(res.output, "disk full\n");
	sandbox_result_release(&res);
	unlink(file);
	rmdir(dir);
}

static void read_only_runs_have_no_inet_sockets(void **state)
{
	const char *argv[] = { "bash", "-c", "echo x > /dev/tcp/127.0.0.1/9; echo rc=$?", NULL };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 4096, .read_only = true };
	struct sandbox_result res;

	(void)state;
	assert_int_equal(run(argv, &o, &res), 0);
	assert_non_null(strstr(res.output, "Permission denied"));
	assert_non_null(strstr(res.output, "rc=1"));
	sandbox_result_release(&res);
}

static void pipelines_connect_stages_and_report_the_last(void **state)
{
	struct argv_line l;
	struct diag d = { 0 };
	struct sandbox_opts o = { .timeout_ms = 5000, .output_max = 4096, .read_only = true };
	struct sandbox_result res;

	(void)state;
	assert_int_equal(argv_split("printf 'b\\na\\nb\\n' | sort | uniq -c", &l, &d), 0);
	assert_int_equal(sandbox_run(&l, &o, &res, &d), 0);
	assert_non_null(strstr(res.output, "1 a"));
	assert_non_null(strstr(res.output, "2 b"));
	assert_int_equal(res.exit_code, 0);
	sandbox_result_release(&res);
	argv_line_release(&l);

	assert_int_equal(argv_split("false", &l, &d), 0);
	assert_int_equal(sandbox_run(&l, &o, &res, &d), 0);
	assert_int_equal(res.exit_code, 1);
	sandbox_result_release(&res);
	argv_line_release(&l);

	assert_int_equal(argv_split("no-such-program-x", &l, &d), 0);
	assert_int_equal(sandbox_run(&l, &o, &res, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "not installed"));
	argv_line_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeout_kills_the_child_and_its_children),
		cmocka_unit_test(output_is_capped_and_marked),
		cmocka_unit_test(environment_is_scrubbed),
		cmocka_unit_test(stdin_is_empty_and_cwd_is_root),
		cmocka_unit_test(fsize_limit_stops_writes),
		cmocka_unit_test(read_only_runs_cannot_create_or_truncate_files),
		cmocka_unit_test(read_only_runs_as_nobody_but_can_read_root_files),
		cmocka_unit_test(read_only_runs_have_no_inet_sockets),
		cmocka_unit_test(pipelines_connect_stages_and_report_the_last),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
