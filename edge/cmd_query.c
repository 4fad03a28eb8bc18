/* cmd_query.c - `ongrid-edge query 'PROMQL'`: ask the running daemon, or read the store.
 *
 * The query is parsed here first, so a typo is reported with its position (exit 2) even
 * when no daemon runs. With a daemon on the control socket the daemon evaluates (it owns
 * the store and its unflushed head); without one the store under <data_dir>/tsdb is
 * opened read-only and evaluated in this process. Both paths produce the same JSON (the
 * `data` member of Prometheus' query API), which --json prints and the text view reads.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edge/ctl.h"
#include "edge/edge.h"
#include "edge/tsdb/promql.h"
#include "edge/tsdb/tsdb.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/cli.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/str.h"
#include "shared/banned.h"

#define PROG "ongrid-edge query"

/* A big range query may take the daemon a while; past this the CLI gives up on it. */
#define QUERY_CTL_TIMEOUT_MS 60000

struct query_args {
	const char *query;
	int64_t start, end, step; /* ms; start == end for an instant query */
};

static int parse_args(int argc, char **argv, struct query_args *qa, const char **ret_conf,
                      bool *ret_json)
{
	const char *conf = NULL, *since = NULL, *step = NULL, *at = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &conf, NULL }, { "since", 0, true, &since, NULL },
		{ "step", 0, true, &step, NULL },     { "time", 0, true, &at, NULL },
		{ "json", 0, false, NULL, &json },
	};
	int64_t t, since_ms = (int64_t)30 * 60 * 1000, step_ms = 15000;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "query", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs != 1) {
		fprintf(stderr, "%s: expected one PROMQL argument, got %d (quote the query)\n",
		        PROG, nargs);
		return 2;
	}
	if (at) {
		if (clock_parse_time(at, &t) < 0) {
			fprintf(stderr, "%s: --time: expected RFC 3339 or Unix seconds, got '%s'\n",
			        PROG, at);
			return 2;
		}
	} else {
		t = now_ms();
	}
	if (since && (str_to_duration_ms(since, &since_ms) < 0 || since_ms < 0)) {
		fprintf(stderr, "%s: --since: expected a duration such as 30m, got '%s'\n", PROG,
		        since);
		return 2;
	}
	if (step && (str_to_duration_ms(step, &step_ms) < 0 || step_ms <= 0)) {
		fprintf(stderr, "%s: --step: expected a positive duration such as 15s, got '%s'\n",
		        PROG, step);
		return 2;
	}
	qa->query = args[0];
	qa->end = t;
	if (since || step) {
		qa->start = t - since_ms;
		qa->step = step_ms;
		long long steps = since_ms / step_ms + 1;
		if (steps > ONGRID_PROMQL_MAX_STEPS) {
			fprintf(stderr,
			        "%s: --since/--step gives %lld steps, at most %d are allowed; "
			        "raise "
			        "--step\n",
			        PROG, steps, ONGRID_PROMQL_MAX_STEPS);
			return 2;
		}
	} else {
		qa->start = t;
		qa->step = 0;
	}
	*ret_conf = conf;
	*ret_json = json;
	return 0;
}

static int ask_daemon(const struct edge_conf *c, const struct query_args *qa, cJSON **ret,
                      struct diag *d)
{
	cJSON *req = json_obj();
	int r;

	json_add_str(req, "cmd", "query");
	json_add_str(req, "query", qa->query);
	json_add_num(req, "start", (double)qa->start);
	json_add_num(req, "end", (double)qa->end);
	json_add_num(req, "step", (double)qa->step);
	json_add_num(req, "time", (double)qa->end);
	r = ctl_call(c->control_socket, req, QUERY_CTL_TIMEOUT_MS, ret, d);
	cJSON_Delete(req);
	return r;
}

static int read_store(const struct edge_conf *c, const struct query_args *qa, cJSON **ret,
                      struct diag *d)
{
	char *dir = xasprintf("%s/tsdb", c->data_dir);
	struct tsdb_opts o = { .dir = dir, .read_only = true };
	struct tsdb *db;
	struct stat st;
	int r;

	if (stat(dir, &st) < 0) {
		r = diag_set(d, -ENOENT,
		             "no daemon is running and there is no time-series store in '%s' "
		             "(has the daemon run on this host with this data_dir?)",
		             dir);
		goto out;
	}
	r = tsdb_open(&o, &db, d);
	if (r < 0) {
		diag_prefix(d, "cannot open the time-series store in '%s': ", dir);
		goto out;
	}
	r = promql_query_json(db, qa->query, qa->start, qa->end, qa->step, ret, d);
	tsdb_close(db);
out:
	free(dir);
	return r;
}

/* ---- text output ----------------------------------------------------------------- */

static void print_metric(const cJSON *metric)
{
	struct label l[64];
	struct buf b = BUF_INIT(64 << 10);
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, metric) {
		if (n < ARRAY_SIZE(l) && cJSON_IsString(it)) {
			l[n].name = it->string;
			l[n].value = it->valuestring;
			n++;
		}
	}
	if (promql_labels_format(l, n, &b) < 0)
		fputs("{...}", stdout);
	else
		fputs(buf_str(&b), stdout);
	buf_release(&b);
}

static const char *point_value(const cJSON *p)
{
	const cJSON *v = cJSON_GetArrayItem(p, 1);

	return cJSON_IsString(v) ? v->valuestring : "?";
}

/* A range result per series: the newest value, its min and max over the range and how
 * many points there were, so a terminal line stays a line. */
static void print_range(const cJSON *values)
{
	double mn = INFINITY, mx = -INFINITY;
	const cJSON *p, *last = NULL;
	int n = 0;

	cJSON_ArrayForEach(p, values) {
		double v = strtod(point_value(p), NULL);
		if (v < mn)
			mn = v;
		if (v > mx)
			mx = v;
		last = p;
		n++;
	}
	if (!last) {
		printf("  (no points)\n");
		return;
	}
	{
		char smin[32], smax[32], when[40];
		const cJSON *t = cJSON_GetArrayItem(last, 0);
		promql_format_value(mn, smin, sizeof(smin));
		promql_format_value(mx, smax, sizeof(smax));
		clock_format_rfc3339(when, sizeof(when),
		                     cJSON_IsNumber(t) ? (int64_t)llround(t->valuedouble * 1000)
		                                       : 0);
		printf("  last %s at %s  min %s  max %s  (%d point%s)\n", point_value(last), when,
		       smin, smax, n, n == 1 ? "" : "s");
	}
}

static int print_text(const cJSON *data, bool local, const struct edge_conf *c)
{
	const char *type = NULL;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result"), *it;
	int n = 0;

	if (json_get_string(data, "resultType", &type, "result", NULL) < 0 || !result)
		return fprintf(stderr, "%s: the answer is not a query result\n", PROG), 1;
	if (strcmp(type, "scalar") == 0) {
		printf("%s\n", point_value(result));
		return fflush(stdout) == 0 ? 0 : 1;
	}
	cJSON_ArrayForEach(it, result) {
		print_metric(cJSON_GetObjectItemCaseSensitive(it, "metric"));
		if (strcmp(type, "vector") == 0)
			printf(" %s\n", point_value(cJSON_GetObjectItemCaseSensitive(it, "value")));
		else
			print_range(cJSON_GetObjectItemCaseSensitive(it, "values"));
		n++;
	}
	if (n == 0) {
		if (local)
			fprintf(stderr,
			        "%s: no series matched (no daemon is running; read '%s/tsdb' "
			        "directly, which lacks samples not yet flushed)\n",
			        PROG, c->data_dir);
		else
			fprintf(stderr, "%s: no series matched\n", PROG);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_query(int argc, char **argv)
{
	struct query_args qa = { 0 };
	struct promql_expr *e;
	struct edge_conf c;
	struct diag d = { 0 };
	const char *conf_path;
	cJSON *data = NULL;
	bool json, local = false;
	int r;

	r = parse_args(argc, argv, &qa, &conf_path, &json);
	if (r)
		return r;
	/* a bad query is the user's to fix, daemon or not */
	if (promql_parse(qa.query, &e, &d) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, d.msg);
		return diag_exit_status(d.code);
	}
	if (promql_expr_type(e) == PROMQL_MATRIX && qa.start != qa.end) {
		promql_expr_free(e);
		fprintf(stderr,
		        "%s: a range vector cannot be queried over --since/--step; drop them for "
		        "the raw samples, or wrap it in a function such as rate()\n",
		        PROG);
		return 2;
	}
	promql_expr_free(e);
	r = edge_conf_load(&c, conf_path);
	if (r)
		return r;
	r = ask_daemon(&c, &qa, &data, &d);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR) {
		memset(&d, 0, sizeof(d));
		local = true;
		r = read_store(&c, &qa, &data, &d);
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, d.msg);
		r = diag_exit_status(r);
		goto out;
	}
	if (json)
		r = json_print_stdout(data, true) < 0 ? 1 : 0;
	else
		r = print_text(data, local, &c);
out:
	cJSON_Delete(data);
	edge_conf_release(&c);
	return r;
}
