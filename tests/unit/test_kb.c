/* test_kb.c - runbook ranking: tokens, BM25 order, title weight, snippets, limits. */
#include <errno.h>
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

#include "edge/tools/builtin/kb.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_kb.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put("disk-full.md", "# Disk full on /var\n\nWhen the disk is full, find the largest "
	                    "files with du.\nRotate logs; check deleted files held open.\n");
	put("postgres.md", "# Postgres connection refused\n\nCheck that postgres listens on 5432.\n"
	                   "Too many connections: raise max_connections or add a pooler.\n");
	put("notes.txt", "misc notes mentioning disk once\n");
	put("ignored.bin", "disk disk disk disk\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void collect(const char *tok, size_t len, void *udata)
{
	char *out = udata;
	(void)len;
	strcat(out, tok);
	strcat(out, "|");
}

static void tokens_are_lowercase_words(void **state)
{
	char out[256] = "";
	(void)state;
	assert_int_equal(kb_tokens("Disk FULL on /var: a x_y  max-connections- 5432", collect, out),
	                 7);
	assert_string_equal(out, "disk|full|on|var|x_y|max-connections|5432|");
	out[0] = '\0';
	assert_int_equal(kb_tokens("", collect, out), 0);
}

static void ranks_the_matching_runbook_first(void **state)
{
	cJSON *r = NULL;
	struct diag d = { 0 };
	(void)state;
	assert_int_equal(kb_search_dir(dir, "disk is full", 10, &r, &d), 0);
	assert_int_equal((int)cJSON_GetObjectItem(r, "documents")->valuedouble, 3);
	cJSON *res = cJSON_GetObjectItem(r, "results");
	assert_int_equal(cJSON_GetArraySize(res), 2); /* postgres.md has no query word */
	cJSON *top = cJSON_GetArrayItem(res, 0);
	assert_string_equal(cJSON_GetObjectItem(top, "title")->valuestring, "Disk full on /var");
	assert_non_null(strstr(cJSON_GetObjectItem(top, "snippet")->valuestring, "disk is full"));
	assert_int_equal((int)cJSON_GetObjectItem(top, "line")->valuedouble, 3);
	cJSON_Delete(r);
	assert_int_equal(kb_search_dir(dir, "postgres refused", 1, &r, &d), 0);
	res = cJSON_GetObjectItem(r, "results");
	assert_int_equal(cJSON_GetArraySize(res), 1);
	assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "path")->valuestring,
	                       "postgres.md"));
	cJSON_Delete(r);
}

static void errors_name_the_problem(void **state)
{
	cJSON *r = NULL;
	struct diag d = { 0 };
	(void)state;
	assert_int_equal(kb_search_dir("/nonexistent/kb", "disk", 5, &r, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "/nonexistent/kb"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(kb_search_dir(dir, "!! ?", 5, &r, &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens_are_lowercase_words),
		cmocka_unit_test(ranks_the_matching_runbook_first),
		cmocka_unit_test(errors_name_the_problem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
