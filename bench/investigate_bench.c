/* investigate_bench.c - the offline investigation's wall time, and the tokens a model would
 * be sent: ongrid's first message (the planner's evidence, fenced, prompt.c) against a naive
 * agent loop that makes the same tool calls and sends each raw result, the whole
 * conversation again on every round trip (what a loop without pre-computed evidence costs).
 *
 * Tokens are estimated as bytes / 4 (the usual rule of thumb for English and JSON with
 * BPE tokenizers); both sides are estimated alike, so the ratio is what matters.
 *
 * usage: investigate_bench -c FILE [--runs N] "QUESTION"   (JSON on stdout)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "edge/edge.h"
#include "edge/tools/gate.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

#define MAX_RUNS 50

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double tokens(size_t bytes)
{
	return ceil((double)bytes / 4.0);
}

/* The naive loop: the same calls, raw results; round trip k resends everything before it. */
static int naive(const struct edge_conf *c, const cJSON *rep, size_t base_bytes, double *ret_in,
                 int *ret_trips)
{
	struct gate_caller who = { .role = "viewer", .identity = "bench-naive" };
	const cJSON *e;
	struct gate *g;
	struct diag d = { 0 };
	size_t convo = base_bytes;
	double in = 0;
	int trips = 0;

	if (gate_open(c, NULL, 0, &g, &d) < 0) {
		fprintf(stderr, "investigate_bench: %s\n", d.msg);
		return -1;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rep, "timeline")) {
		const cJSON *det = cJSON_GetObjectItemCaseSensitive(e, "detail");
		const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "event"));
		char *args;
		cJSON *res = NULL;

		if (!ev || strcmp(ev, "tool_call") != 0)
			continue;
		/* one round trip asks for this call with everything so far */
		in += tokens(convo);
		trips++;
		args = json_print(cJSON_GetObjectItemCaseSensitive(det, "args"), false);
		if (gate_call(g,
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(det, "tool")),
		              args, &who, &res, &d) == 0) {
			char *raw = json_print(res, false);
			convo += strlen(raw) + strlen(args) + 64;
			free(raw);
		}
		memset(&d, 0, sizeof(d));
		cJSON_Delete(res);
		free(args);
	}
	/* and a last one for the answer */
	in += tokens(convo);
	trips++;
	gate_close(g);
	*ret_in = in;
	*ret_trips = trips;
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *question = NULL;
	int runs = 5, trips_naive = 0, mid;
	int64_t wall[MAX_RUNS];
	struct edge_conf c;
	struct agent_opts o = { 0 };
	cJSON *rep = NULL, *out;
	double naive_in = 0, ours_in;
	char nonce[32], *prompt, *base;
	struct diag d = { 0 };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			int64_t v;
			runs = str_to_i64(argv[++i], &v) == 0 && v > 0 && v <= MAX_RUNS ? (int)v
			                                                                : -1;
		} else
			question = argv[i];
	}
	if (!question || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: investigate_bench -c FILE [--runs 1..%d] \"QUESTION\"\n",
		        MAX_RUNS);
		return 2;
	}
	if (edge_conf_load(&c, conf_path))
		return 2;
	o.question = question;
	o.mode = "offline";
	o.history = true;
	for (int i = 0; i < runs; i++) {
		int64_t t0 = mono_ms();

		cJSON_Delete(rep);
		rep = NULL;
		if (agent_investigate(&c, &o, &rep, &d) < 0) {
			fprintf(stderr, "investigate_bench: %s\n", d.msg);
			return 1;
		}
		wall[i] = mono_ms() - t0;
	}
	qsort(wall, (size_t)runs, sizeof(wall[0]), cmp_i64);
	prompt_nonce(nonce, sizeof(nonce));
	prompt = prompt_investigation(rep, nonce);
	/* one round trip with the evidence, one more to confirm or correct: two */
	ours_in = 2 * tokens(strlen(prompt));
	/* the naive loop starts from the same rules and question, without evidence */
	base = prompt_fence("question", question, nonce);
	if (naive(&c, rep, strlen(base) + 600, &naive_in, &trips_naive) < 0)
		return 1;
	out = json_obj();
	json_add_str(out, "question", question);
	json_add_num(out, "runs", runs);
	mid = runs / 2;
	json_add_num(out, "wall_ms_median", (double)wall[mid]);
	json_add_num(out, "wall_ms_max", (double)wall[runs - 1]);
	json_add_num(out, "tool_calls", trips_naive - 1);
	json_add_num(out, "ongrid_round_trips", 2);
	json_add_num(out, "ongrid_input_tokens_est", ours_in);
	json_add_num(out, "naive_round_trips", trips_naive);
	json_add_num(out, "naive_input_tokens_est", naive_in);
	json_add_num(out, "ratio", naive_in > 0 ? ours_in / naive_in : 0);
	json_add_str(out, "category",
	             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                     cJSON_GetObjectItemCaseSensitive(rep, "root_cause"), "category")));
	json_print_stdout(out, false);
	cJSON_Delete(out);
	cJSON_Delete(rep);
	free(prompt);
	free(base);
	edge_conf_release(&c);
	return 0;
}
