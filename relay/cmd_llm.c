/* cmd_llm.c - `ongrid-relay llm ask`: one call through the LLM router, with the routes,
 * keys, retries and fallbacks of relay.conf (an operator's way to test a key or a route);
 * `ongrid-relay llm usage`: what the router has spent today or on one incident. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/llm/accounting.h"
#include "relay/llm/router.h"
#include "relay/relay.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

static void print_delta(void *udata, enum llm_delta_kind kind, const char *text, size_t len)
{
	(void)udata;
	if (kind != LLM_DELTA_TEXT)
		return;
	fwrite(text, 1, len, stdout);
	fflush(stdout);
}

static int load_request(const char *path, struct llm_request *req, struct diag *d)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *j;
	int r;

	r = read_file_max(path, ONGRID_LLM_MAX_REQUEST_BYTES, &text, &len);
	if (r < 0)
		return diag_set(d, r, "%s: cannot read: %s", path, strerror(-r));
	j = json_parse(text, len, ONGRID_LLM_MAX_REQUEST_BYTES, d);
	free(text);
	if (!j)
		return diag_prefix(d, "%s: ", path);
	r = llm_request_from_json(j, req, d);
	cJSON_Delete(j);
	if (r < 0)
		diag_prefix(d, "%s: ", path);
	return r;
}

static void print_text(const struct llm_response *resp, bool streamed)
{
	if (resp->text && !streamed)
		fputs(resp->text, stdout);
	if (resp->text)
		putchar('\n');
	for (size_t i = 0; i < resp->ncalls; i++)
		printf("tool call %s %s(%s)\n", resp->calls[i].id, resp->calls[i].name,
		       resp->calls[i].args);
	fprintf(stderr, "# %s/%s: %lld input + %lld output tokens, $%.6f, %u attempt%s, stop %s\n",
	        resp->provider, resp->model, (long long)resp->usage.input_tokens,
	        (long long)resp->usage.output_tokens, resp->cost_usd, resp->attempts,
	        resp->attempts == 1 ? "" : "s", llm_stop_name(resp->stop));
}

/* One call; prints the answer. Returns the exit status. */
static int ask_once(struct llm_router *router, const struct llm_request *req,
                    const struct llm_call_opts *o, bool json, struct llm_response *resp)
{
	struct diag d = { 0 };
	int r = llm_router_call(router, req, o, resp, &d);

	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "ongrid-relay llm ask: %s\n", d.msg);
		return r == -ENOENT ? 2 : 1;
	}
	if (json) {
		cJSON *j = llm_response_to_json(resp);
		r = json_print_stdout(j, true) < 0 ? 1 : 0;
		cJSON_Delete(j);
		fflush(stdout);
		return r;
	}
	print_text(resp, req->stream);
	fflush(stdout);
	return 0;
}

static int llm_ask(int argc, char **argv)
{
	const char *path = NULL, *purpose = "investigate", *system = NULL, *request = NULL;
	const char *edge = NULL, *incident = NULL, *repeat_s = NULL, *interval_s = NULL;
	bool json = false, stream = false, no_stream = false;
	int64_t repeat = 1, interval_ms = 1000;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "purpose", 'p', true, &purpose, NULL },
		{ "system", 0, true, &system, NULL },
		{ "request", 0, true, &request, NULL },
		{ "edge", 0, true, &edge, NULL },
		{ "incident", 0, true, &incident, NULL },
		{ "json", 0, false, NULL, &json },
		{ "stream", 0, false, NULL, &stream },
		{ "no-stream", 0, false, NULL, &no_stream },
		{ "repeat", 0, true, &repeat_s, NULL },
		{ "interval", 0, true, &interval_s, NULL },
	};
	struct llm_call_opts o = { 0 };
	struct llm_request req = { 0 };
	struct llm_response resp = { 0 };
	struct llm_router *router = NULL;
	struct relay_conf c;
	struct diag d = { 0 };
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-relay", "llm ask", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if ((nargs != 1 && !request) || (nargs > 0 && request)) {
		fprintf(stderr, "ongrid-relay llm ask: expected one PROMPT argument or --request "
		                "FILE\n");
		return 2;
	}
	if ((repeat_s && (str_to_i64(repeat_s, &repeat) < 0 || repeat < 1 || repeat > 1000)) ||
	    (interval_s && (str_to_duration_ms(interval_s, &interval_ms) < 0 || interval_ms < 0))) {
		fprintf(stderr, "ongrid-relay llm ask: --repeat takes 1-1000 and --interval a "
		                "duration such as 2s\n");
		return 2;
	}
	if (request) {
		r = load_request(request, &req, &d);
		if (r < 0) {
			fprintf(stderr, "ongrid-relay llm ask: %s\n", d.msg);
			return 2;
		}
	} else {
		llm_request_simple(&req, system, args[0]);
	}
	/* Text mode streams by default (the operator sees tokens arrive); --json waits
	 * for the whole answer unless --stream. */
	req.stream = request ? req.stream || stream : (json ? stream : !no_stream);
	r = relay_conf_load(&c, path);
	if (r) {
		llm_request_release(&req);
		return r;
	}
	r = llm_router_new(&c.llm, c.data_dir, &router, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay llm ask: %s\n", d.msg);
		r = 1;
		goto out;
	}
	o.purpose = purpose;
	o.edge = edge;
	o.incident = incident;
	o.on_delta = !json && req.stream ? print_delta : NULL;
	/* --repeat: the same router makes the call again, as a running relay would; a
	 * `model use` or budget change in between shows on the next call. */
	for (int64_t i = 0; i < repeat; i++) {
		if (i) {
			llm_response_release(&resp);
			poll(NULL, 0, (int)interval_ms);
		}
		r = ask_once(router, &req, &o, json, &resp);
		if (r)
			break;
	}
out:
	llm_response_release(&resp);
	llm_router_free(router);
	llm_request_release(&req);
	relay_conf_release(&c);
	return r;
}

static int llm_usage(int argc, char **argv)
{
	const char *path = NULL, *incident = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "incident", 0, true, &incident, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct llm_acct *acct = NULL;
	struct relay_conf c;
	struct diag d = { 0 };
	cJSON *rows = NULL, *row;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-relay", "llm usage", argc, argv, opts, ARRAY_SIZE(opts), &args,
	              &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-relay llm usage: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = relay_conf_load(&c, path);
	if (r)
		return r;
	r = llm_acct_open(c.data_dir, &acct, &d);
	if (r == 0)
		r = llm_acct_usage_json(acct, incident, &rows, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay llm usage: %s\n", d.msg);
		r = 1;
		goto out;
	}
	if (json) {
		r = json_print_stdout(rows, true) < 0 ? 1 : 0;
		goto out;
	}
	printf("%-10s %-12s %-14s %-12s %-28s %6s %10s %10s %10s\n", "DAY", "EDGE", "INCIDENT",
	       "PURPOSE", "MODEL", "CALLS", "INPUT", "OUTPUT", "USD");
	cJSON_ArrayForEach(row, rows) {
		char model[160];
		snprintf(model, sizeof(model), "%s/%s",
		         cJSON_GetObjectItem(row, "provider")->valuestring,
		         cJSON_GetObjectItem(row, "model")->valuestring);
		printf("%-10s %-12s %-14s %-12s %-28s %6.0f %10.0f %10.0f %10.4f\n",
		       cJSON_GetObjectItem(row, "day")->valuestring,
		       cJSON_GetObjectItem(row, "edge")->valuestring,
		       cJSON_GetObjectItem(row, "incident")->valuestring,
		       cJSON_GetObjectItem(row, "purpose")->valuestring, model,
		       cJSON_GetObjectItem(row, "calls")->valuedouble,
		       cJSON_GetObjectItem(row, "input_tokens")->valuedouble,
		       cJSON_GetObjectItem(row, "output_tokens")->valuedouble,
		       cJSON_GetObjectItem(row, "cost_usd")->valuedouble);
	}
	r = 0;
out:
	cJSON_Delete(rows);
	llm_acct_close(acct);
	relay_conf_release(&c);
	return r;
}

int cmd_llm(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ask"))
		return llm_ask(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "usage"))
		return llm_usage(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: ongrid-relay llm ask [-c FILE] [--purpose P] [--json] [--stream] "
		       "[--system TEXT] [--edge E] [--incident I] ('PROMPT' | --request FILE)\n"
		       "       ongrid-relay llm usage [-c FILE] [--incident I] [--json]\n");
		return 0;
	}
	fprintf(stderr, "ongrid-relay llm: expected 'ask' or 'usage'%s%s%s\n",
	        argc >= 2 ? ", got '" : "", argc >= 2 ? argv[1] : "", argc >= 2 ? "'" : "");
	return 2;
}
