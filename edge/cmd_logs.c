/* cmd_logs.c - `ongrid-edge logs` (LogQL), `ongrid-edge patterns` (templates mined from
 * the lines) and `ongrid-edge tail` (the log pipeline alone, in the foreground).
 *
 * logs and patterns ask a running daemon over the control socket; with none (or one that
 * does not serve logs yet) they open <data_dir>/logs read-only and answer from what was
 * indexed. tail indexes logs.paths (and the journal) now: for operators ("index my logs
 * now") and for tests; the daemon runs the same pipeline (edge/logs/logs.h). */
#define LOG_MODULE "logs"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "edge/ctl.h"
#include "edge/edge.h"
#include "edge/logs/labels.h"
#include "edge/logs/logs.h"
#include "shared/cli.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define CTL_TIMEOUT_MS 30000

/* Ask the daemon; -ENOENT when it cannot answer (none runs, or it does not serve logs)
 * so the caller reads the store itself. */
static int ask_daemon(const struct edge_conf *c, cJSON *req, cJSON **ret, struct diag *d)
{
	int r = ctl_call(c->control_socket, req, CTL_TIMEOUT_MS, ret, d);

	if (r == -ECONNREFUSED || r == -ENOTDIR || r == -ENOENT ||
	    (r < 0 && str_startswith(d->msg, "unknown command"))) {
		memset(d, 0, sizeof(*d));
		return -ENOENT;
	}
	return r;
}

static int parse_dur_opt(const char *cmd, const char *opt, const char *v, int64_t min, int64_t *ret)
{
	if (str_to_duration_ms(v, ret) < 0 || *ret < min) {
		fprintf(stderr,
		        "ongrid-edge %s: --%s: expected a duration such as 1h or 15m, got '%s'\n",
		        cmd, opt, v);
		return 2;
	}
	return 0;
}

static void print_labels(const cJSON *o)
{
	const cJSON *it;
	bool first = true;

	putchar('{');
	cJSON_ArrayForEach(it, o) {
		printf("%s%s=\"%s\"", first ? "" : ",", it->string,
		       cJSON_IsString(it) ? it->valuestring : "");
		first = false;
	}
	putchar('}');
}

static int print_text(const cJSON *res)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(res, "resultType");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(res, "result"), *it;

	if (!cJSON_IsString(type) || !cJSON_IsArray(arr))
		return 1;
	cJSON_ArrayForEach(it, arr) {
		if (strcmp(type->valuestring, "streams") == 0) {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "time");
			const cJSON *line = cJSON_GetObjectItemCaseSensitive(it, "line");
			printf("%s ", cJSON_IsString(t) ? t->valuestring : "");
			print_labels(cJSON_GetObjectItemCaseSensitive(it, "labels"));
			printf(" %s\n", cJSON_IsString(line) ? line->valuestring : "");
		} else if (strcmp(type->valuestring, "vector") == 0) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
			print_labels(cJSON_GetObjectItemCaseSensitive(it, "metric"));
			printf(" %s\n", cJSON_IsArray(v) && cJSON_GetArrayItem(v, 1)
			                        ? cJSON_GetArrayItem(v, 1)->valuestring
			                        : "");
		} else {
			const cJSON *vals = cJSON_GetObjectItemCaseSensitive(it, "values"), *p;
			print_labels(cJSON_GetObjectItemCaseSensitive(it, "metric"));
			putchar('\n');
			cJSON_ArrayForEach(p, vals) {
				char t[40];
				clock_format_rfc3339(
				        t, sizeof(t),
				        (int64_t)(cJSON_GetArrayItem(p, 0)->valuedouble * 1000));
				printf("  %s %s\n", t, cJSON_GetArrayItem(p, 1)->valuestring);
			}
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_logs(int argc, char **argv)
{
	const char *path = NULL, *since_s = "1h", *step_s = NULL, *limit_s = "100";
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL }, { "since", 0, true, &since_s, NULL },
		{ "step", 0, true, &step_s, NULL },   { "limit", 0, true, &limit_s, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct edge_conf c;
	struct diag d = { 0 };
	struct logs *l = NULL;
	cJSON *req, *res = NULL;
	int64_t since, step = 0, limit, now = now_ms();
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "logs", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs != 1) {
		fprintf(stderr, "ongrid-edge logs: expected one LogQL query, as in "
		                "'{file=~\".+\"} |= \"error\"' (see 'ongrid-edge logs --help')\n");
		return 2;
	}
	if (parse_dur_opt("logs", "since", since_s, 1, &since) ||
	    (step_s && parse_dur_opt("logs", "step", step_s, 1, &step)))
		return 2;
	if (str_to_i64(limit_s, &limit) < 0 || limit < 0 || limit > 1000000) {
		fprintf(stderr, "ongrid-edge logs: --limit: expected 0 to 1000000, got '%s'\n",
		        limit_s);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	req = json_obj();
	json_add_str(req, "cmd", "logs");
	json_add_str(req, "query", args[0]);
	json_add_num(req, "start", (double)(now - since));
	json_add_num(req, "end", (double)now);
	json_add_num(req, "step", (double)step);
	json_add_num(req, "limit", (double)limit);
	r = ask_daemon(&c, req, &res, &d);
	cJSON_Delete(req);
	if (r == -ENOENT) {
		r = logs_open_readonly(&c, &l, &d);
		if (r == 0)
			r = logs_query_json(l, args[0], now - since, now, step, (size_t)limit, &res,
			                    &d);
	}
	if (r < 0) {
		fprintf(stderr, "ongrid-edge logs: %s\n", d.msg);
		r = diag_exit_status(r);
	} else {
		r = json ? (json_print_stdout(res, true) < 0 ? 1 : 0) : print_text(res);
	}
	cJSON_Delete(res);
	logs_close(l);
	edge_conf_release(&c);
	return r;
}

static int print_patterns(const cJSON *res)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(res, "patterns"), *it;

	cJSON_ArrayForEach(it, arr) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "status");
		printf("%8.0f  %s  %s%s%s\n",
		       cJSON_GetObjectItemCaseSensitive(it, "count")->valuedouble,
		       cJSON_GetObjectItemCaseSensitive(it, "first_seen")->valuestring,
		       cJSON_IsString(st) ? st->valuestring : "", cJSON_IsString(st) ? "  " : "",
		       cJSON_GetObjectItemCaseSensitive(it, "template")->valuestring);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_patterns(int argc, char **argv)
{
	const char *path = NULL, *since_s = "1h", *changed_s = NULL, *limit_s = "20";
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "since", 0, true, &since_s, NULL },
		{ "changed-since", 0, true, &changed_s, NULL },
		{ "limit", 0, true, &limit_s, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct edge_conf c;
	struct diag d = { 0 };
	struct logs *l = NULL;
	cJSON *req, *res = NULL;
	int64_t start, limit, now = now_ms();
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "patterns", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge patterns: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	if (changed_s) {
		int64_t ago;
		if (clock_parse_time(changed_s, &start) < 0) {
			if (str_to_duration_ms(changed_s, &ago) < 0) {
				fprintf(stderr,
				        "ongrid-edge patterns: --changed-since: expected a time "
				        "(2026-11-24T02:46:00Z, Unix seconds) or a duration ago "
				        "(15m), "
				        "got '%s'\n",
				        changed_s);
				return 2;
			}
			start = now - ago;
		}
	} else {
		int64_t since;
		if (parse_dur_opt("patterns", "since", since_s, 1, &since))
			return 2;
		start = now - since;
	}
	if (str_to_i64(limit_s, &limit) < 0 || limit < 1 || limit > 10000) {
		fprintf(stderr, "ongrid-edge patterns: --limit: expected 1 to 10000, got '%s'\n",
		        limit_s);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	req = json_obj();
	json_add_str(req, "cmd", "log_patterns");
	json_add_str(req, "mode", changed_s ? "changed" : "top");
	json_add_num(req, "start", (double)start);
	json_add_num(req, "end", (double)now);
	json_add_num(req, "limit", (double)limit);
	r = ask_daemon(&c, req, &res, &d);
	cJSON_Delete(req);
	if (r == -ENOENT) {
		r = logs_open_readonly(&c, &l, &d);
		if (r == 0)
			r = logs_patterns_json(
			        l, changed_s ? LOGS_PATTERNS_CHANGED : LOGS_PATTERNS_TOP, start,
			        now, (size_t)limit, &res, &d);
	}
	if (r < 0) {
		fprintf(stderr, "ongrid-edge patterns: %s\n", d.msg);
		r = diag_exit_status(r);
	} else {
		r = json ? (json_print_stdout(res, true) < 0 ? 1 : 0) : print_patterns(res);
	}
	cJSON_Delete(res);
	logs_close(l);
	edge_conf_release(&c);
	return r;
}

static volatile sig_atomic_t tail_stop;

static void on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	/* a signal ends the sleep early: that is how SIGTERM stops us */
	(void)nanosleep(&ts, NULL);
}

int cmd_tail(int argc, char **argv)
{
	const char *path = NULL, *interval_s = "1s";
	bool once = false, json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "interval", 0, true, &interval_s, NULL },
		{ "once", 0, false, NULL, &once },
		{ "json", 0, false, NULL, &json },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct edge_conf c;
	struct diag d = { 0 };
	struct logs *l;
	cJSON *st = NULL;
	int64_t interval, t0 = mono_ms();
	uint64_t lines;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "tail", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge tail: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	if (str_to_duration_ms(interval_s, &interval) < 0 || interval < 10 || interval > 60000) {
		fprintf(stderr,
		        "ongrid-edge tail: --interval: expected a duration between 10ms and 1m, "
		        "got "
		        "'%s'\n",
		        interval_s);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	if (!c.logs_paths.n && !c.logs_journal) {
		fprintf(stderr, "ongrid-edge tail: nothing to read: logs.paths is empty and "
		                "logs.journal is off\n");
		edge_conf_release(&c);
		return 2;
	}
	r = logs_open(&c, &l, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge tail: %s\n", d.msg);
		edge_conf_release(&c);
		return diag_exit_status(r);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!tail_stop) {
		r = logs_poll(l, now_ms(), once, &d);
		if (r < 0)
			break;
		if (r == 0 && once)
			break;
		if (r == 0)
			sleep_ms(interval);
	}
	lines = logs_lines_ingested(l);
	if (r >= 0)
		r = logs_flush(l, now_ms(), &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge tail: %s\n", d.msg);
		logs_close(l);
		edge_conf_release(&c);
		return 1;
	}
	if (logs_stats_json(l, &st, &d) == 0) {
		double secs = (double)(mono_ms() - t0) / 1000.0;
		json_add_num(st, "lines_indexed_now", (double)lines);
		json_add_num(st, "seconds", secs);
		if (*logs_journal_status(l))
			json_add_str(st, "journal", logs_journal_status(l));
		if (json)
			r = json_print_stdout(st, true) < 0 ? 1 : 0;
		else
			printf("indexed %llu lines in %.1fs; the index holds %.0f lines in %.0f "
			       "bytes\n",
			       (unsigned long long)lines, secs,
			       cJSON_GetObjectItemCaseSensitive(st, "lines")->valuedouble,
			       cJSON_GetObjectItemCaseSensitive(st, "bytes_on_disk")->valuedouble);
		cJSON_Delete(st);
	}
	logs_close(l);
	edge_conf_release(&c);
	return r < 0 ? 1 : r;
}
