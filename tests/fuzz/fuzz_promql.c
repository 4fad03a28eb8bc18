/* fuzz_promql: any query text parses to a tree or a clean positioned error, never a crash
 * or a stack overflow; a parsed tree renders to text that parses back to the same tree
 * (the rendering is a fixed point); and evaluation over a small store stays in bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tsdb/promql.h"
#include "edge/tsdb/tsdb.h"
#include "shared/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tsdb *store(void)
{
	static struct tsdb *db;
	static const char *const les[] = { "0.1", "1", "+Inf" };
	struct tsdb_opts o = { 0 };
	struct label l[3];
	uint64_t ref;
	int i, t;

	if (db)
		return db;
	if (tsdb_open(&o, &db, NULL) < 0)
		abort();
	for (i = 0; i < 3; i++) {
		l[0] = (struct label){ "__name__", "x_bucket" };
		l[1] = (struct label){ "le", les[i] };
		l[2] = (struct label){ "job", i ? "a" : "b" };
		if (tsdb_series(db, l, 3, &ref, NULL) < 0)
			abort();
		for (t = 0; t <= 600; t += 15)
			(void)tsdb_append(db, ref, t * 1000LL, (double)(t * (i + 1)));
	}
	return db;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promql_expr *e = NULL, *again = NULL;
	struct promql_result *res = NULL;
	struct buf one = BUF_INIT(1 << 20), two = BUF_INIT(1 << 20);
	struct diag d = { 0 };
	char *q;

	if (size > 70000)
		return 0;
	q = malloc(size + 1);
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	if (promql_parse(q, &e, &d) < 0) {
		/* every error says where, or which limit */
		if (strncmp(d.msg, "position ", 9) != 0 &&
		    strncmp(d.msg, "query is longer", 15) != 0)
			abort();
		goto out;
	}
	if (promql_expr_format(e, &one) < 0)
		goto out;
	if (promql_parse(buf_str(&one), &again, &d) < 0) {
		fprintf(stderr, "rendering '%s' does not parse: %s\n", buf_str(&one), d.msg);
		abort();
	}
	if (promql_expr_format(again, &two) < 0 || strcmp(buf_str(&one), buf_str(&two)) != 0) {
		fprintf(stderr, "'%s' renders as '%s'\n", buf_str(&one), buf_str(&two));
		abort();
	}
	if (promql_eval(store(), e, 600000, 600000, 0, &res, &d) == 0)
		promql_result_free(res);
	res = NULL;
	if (promql_eval(store(), e, 0, 600000, 60000, &res, &d) == 0)
		promql_result_free(res);
out:
	promql_expr_free(e);
	promql_expr_free(again);
	buf_release(&one);
	buf_release(&two);
	free(q);
	return 0;
}
