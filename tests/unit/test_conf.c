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

#include "edge/edge.h"
#include "relay/relay.h"
#include "shared/conf.h"

struct sample {
	char *name;
	int64_t workers;
	bool enabled;
	int64_t retention;
	uint64_t max_bytes;
	struct conf_strlist paths;
	char *mode;
};

static const struct conf_key keys[] = {
	{ "name", CONF_STRING, "edge-1", offsetof(struct sample, name), "", 0, 0, NULL },
	{ "workers", CONF_INT, "4", offsetof(struct sample, workers), "", 1, 64, NULL },
	{ "enabled", CONF_BOOL, "true", offsetof(struct sample, enabled), "", 0, 0, NULL },
	{ "store.retention", CONF_DURATION, "15d", offsetof(struct sample, retention), "", 0, 0,
	  NULL },
	{ "store.max_bytes", CONF_SIZE, "64MiB", offsetof(struct sample, max_bytes), "", 0, 0,
	  NULL },
	{ "logs.paths", CONF_STRLIST, "/var/log/syslog", offsetof(struct sample, paths), "", 0, 0,
	  NULL },
	{ "mode", CONF_STRING, "fast", offsetof(struct sample, mode), "", 0, 0, "fast|safe" },
};
static const struct conf_table table = {
	.daemon = "test",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
};

static char path[64];

static void write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/ongrid-test-conf.%d", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unsetenv("ONGRID_STORE_RETENTION");
	return 0;
}

static void defaults_apply_without_a_file(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(conf_load(&table, &s, NULL, &d), 0);
	assert_string_equal(s.name, "edge-1");
	assert_int_equal(s.workers, 4);
	assert_true(s.enabled);
	assert_int_equal(s.retention, 15LL * 86400000);
	assert_int_equal(s.max_bytes, 64ull << 20);
	assert_int_equal(s.paths.n, 1);
	assert_string_equal(s.paths.v[0], "/var/log/syslog");
	conf_release(&table, &s);
}

static void file_values_override_defaults(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	write_conf("name = \"web-1\";\nworkers = 8;\nenabled = false;\n"
	           "store: { retention = \"2h\"; max_bytes = \"1GiB\"; };\n"
	           "logs: { paths = [\"/a.log\", \"/b/*.log\"]; };\n");
	assert_int_equal(conf_load(&table, &s, path, &d), 0);
	assert_string_equal(s.name, "web-1");
	assert_int_equal(s.workers, 8);
	assert_false(s.enabled);
	assert_int_equal(s.retention, 7200000);
	assert_int_equal(s.max_bytes, 1ull << 30);
	assert_int_equal(s.paths.n, 2);
	assert_string_equal(s.paths.v[1], "/b/*.log");
	conf_release(&table, &s);
}

static void environment_overrides_the_file(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	write_conf("store: { retention = \"2h\"; };\n");
	setenv("ONGRID_STORE_RETENTION", "30m", 1);
	assert_int_equal(conf_load(&table, &s, path, &d), 0);
	assert_int_equal(s.retention, 1800000);
	conf_release(&table, &s);
}

static void unknown_key_names_file_line_and_key(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	write_conf("name = \"x\";\n\nstore: {\n  retension = \"2h\";\n};\n");
	assert_int_equal(conf_load(&table, &s, path, &d), -EINVAL);
	assert_non_null(strstr(d.msg, ":4: unknown key 'store.retension'"));
	conf_release(&table, &s);
}

static void wrong_type_names_key_and_expectation(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	write_conf("store: { retention = \"fortnight\"; };\n");
	assert_int_equal(conf_load(&table, &s, path, &d), -EINVAL);
	assert_non_null(strstr(d.msg, ":1: store.retention: expected a duration"));
	assert_non_null(strstr(d.msg, "'fortnight'"));
	conf_release(&table, &s);

	write_conf("workers = \"8\";\n");
	assert_int_equal(conf_load(&table, &s, path, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "workers: expected an integer"));
	conf_release(&table, &s);

	write_conf("workers = 1000;\n");
	assert_int_equal(conf_load(&table, &s, path, &d), -ERANGE);
	assert_non_null(strstr(d.msg, "out of range [1, 64]"));
	conf_release(&table, &s);

	write_conf("mode = \"reckless\";\n");
	assert_int_equal(conf_load(&table, &s, path, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "mode: expected one of fast|safe"));
	conf_release(&table, &s);
}

static void syntax_error_names_the_line(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	write_conf("name = \"x\";\nworkers = 4\nenabled = ;\n");
	assert_int_equal(conf_load(&table, &s, path, &d), -EINVAL);
	assert_non_null(strstr(d.msg, path));
	assert_non_null(strstr(d.msg, ":3:"));
	conf_release(&table, &s);
}

static void missing_explicit_file_is_an_error(void **state)
{
	struct sample s = { 0 };
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(conf_load(&table, &s, "/nonexistent/ongrid.conf", &d), -ENOENT);
	assert_non_null(strstr(d.msg, "/nonexistent/ongrid.conf"));
	conf_release(&table, &s);
}

/* The daemons' own tables: every default must parse (conf_defaults aborts otherwise) and
 * every key must be unique. */
static void check_table(const struct conf_table *t, size_t objsize)
{
	void *obj = calloc(1, objsize);

	for (size_t i = 0; i < t->nkeys; i++) {
		assert_true(t->keys[i].doc && *t->keys[i].doc);
		for (size_t j = i + 1; j < t->nkeys; j++)
			assert_string_not_equal(t->keys[i].name, t->keys[j].name);
	}
	conf_defaults(t, obj);
	conf_release(t, obj);
	free(obj);
}

static void daemon_tables_are_valid(void **state)
{
	(void)state;
	check_table(&edge_conf_table, sizeof(struct edge_conf));
	check_table(&relay_conf_table, sizeof(struct relay_conf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(defaults_apply_without_a_file, teardown),
		cmocka_unit_test_teardown(file_values_override_defaults, teardown),
		cmocka_unit_test_teardown(environment_overrides_the_file, teardown),
		cmocka_unit_test_teardown(unknown_key_names_file_line_and_key, teardown),
		cmocka_unit_test_teardown(wrong_type_names_key_and_expectation, teardown),
		cmocka_unit_test_teardown(syntax_error_names_the_line, teardown),
		cmocka_unit_test_teardown(missing_explicit_file_is_an_error, teardown),
		cmocka_unit_test(daemon_tables_are_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
