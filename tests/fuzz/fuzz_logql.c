/* fuzz_logql: any query text parses or fails with a message, never a crash; a query that
 * parses also evaluates over a small store without a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/logs/logql.h"
#include "edge/logs/logstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct logstore *store;

static void make_store(void)
{
	static const char *const lines[] = {
		"{\"level\":\"error\",\"status\":503,\"msg\":\"upstream timeout\",\"t\":\"250ms\"}",
		"level=info msg=\"checkpoint complete\" table=orders dur=1.5s",
		"read tcp 10.0.0.1:5432: connection reset by peer",
		"\xef\xbf\xbd binary \xef\xbf\xbd",
		"",
	};
	struct logstore_opts o = { 1u << 20, 0, false };
	struct diag d = { 0 };
	char dir[64];
	uint32_t a, b;

	snprintf(dir, sizeof(dir), "/tmp/fuzz_logql.%d", (int)getpid());
	if (logstore_open(dir, &o, &store, &d) < 0)
		abort();
	if (logstore_stream(store, "{app=\"api\",level=\"error\"}", &a, &d) < 0 ||
	    logstore_stream(store, "{app=\"db\",file=\"/var/log/db.log\"}", &b, &d) < 0)
		abort();
	for (int i = 0; i < 50; i++) {
		const char *l = lines[i % 5];
		if (logstore_append(store, i * 1000, i % 2 ? a : b, l, strlen(l), &d) < 0)
			abort();
	}
	if (logstore_commit(store, 0, NULL, NULL, &d) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logql_params p = { 0, 60000, 0, 10 };
	struct logql_expr *e = NULL;
	struct diag d = { 0 };
	cJSON *out = NULL;
	char *q;

	if (!store)
		make_store();
	q = malloc(size + 1);
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	if (logql_parse(q, &e, &d) < 0) {
		if (!d.msg[0])
			abort(); /* every refusal says why */
		free(q);
		return 0;
	}
	if (e->kind != LQ_EXPR_LOG)
		p.step_ms = size % 2 ? 10000 : 0;
	if (logql_eval(store, e, &p, &out, &d) == 0)
		cJSON_Delete(out);
	logql_free(e);
	free(q);
	return 0;
}
