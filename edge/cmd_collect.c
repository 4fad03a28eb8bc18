/* cmd_collect.c - `ongrid-edge collect`: run the collectors in the foreground for a few
 * rounds and print what the last round saw. For operators checking what the edge
 * measures on this host, and for tests that drive real load. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "edge/collect/collector.h"
#include "edge/edge.h"
#include "shared/cli.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

static void print_text(const struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_sample *x = &s->samples[i];
		fputs(x->name, stdout);
		if (x->nlabels) {
			putchar('{');
			for (size_t j = 0; j < x->nlabels; j++)
				printf("%s%s=\"%s\"", j ? "," : "", x->labels[j].name,
				       x->labels[j].value);
			putchar('}');
		}
		printf(" %.17g\n", x->value);
	}
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cmd_collect(int argc, char **argv)
{
	const char *path = NULL, *only = NULL, *interval_s = "1s", *rounds_s = "2";
	bool json = false, ready = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },       { "only", 0, true, &only, NULL },
		{ "interval", 0, true, &interval_s, NULL }, { "rounds", 0, true, &rounds_s, NULL },
		{ "json", 0, false, NULL, &json },          { "ready", 0, false, NULL, &ready },
	};
	struct collector_set set;
	struct snapshot snap;
	struct edge_conf c;
	struct hostinfo h;
	struct diag d = { 0 };
	int64_t interval, rounds;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "collect", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge collect: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	if (str_to_duration_ms(interval_s, &interval) < 0 || interval < 10 || interval > 3600000) {
		fprintf(stderr,
		        "ongrid-edge collect: --interval: expected a duration between 10ms "
		        "and 1h, got '%s'\n",
		        interval_s);
		return 2;
	}
	if (str_to_i64(rounds_s, &rounds) < 0 || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "ongrid-edge collect: --rounds: expected 1 to 1000, got '%s'\n",
		        rounds_s);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	hostinfo_probe(&h);
	struct collect_env env = { &h, &c };
	r = collector_set_start(&set, &env, only, NULL, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge collect: %s\n", d.msg);
		edge_conf_release(&c);
		return 2;
	}
	for (size_t i = 0; i < set.n; i++)
		if (!set.slots[i].on && (!only || strcmp(set.slots[i].why, "not selected") != 0))
			fprintf(stderr, "ongrid-edge collect: %s is off: %s\n",
			        set.slots[i].c->name, set.slots[i].why);
	if (ready) {
		size_t on = 0;
		for (size_t i = 0; i < set.n; i++)
			on += set.slots[i].on;
		/* --ready: said once everything is attached, so a caller can start its load. */
		fprintf(stderr, "ongrid-edge collect: %zu collector%s on, collecting\n", on,
		        on == 1 ? "" : "s");
	}
	snapshot_init(&snap, now_ms());
	for (int64_t i = 0; i < rounds; i++) {
		if (i)
			sleep_ms(interval);
		snapshot_release(&snap);
		snapshot_init(&snap, now_ms());
		collector_set_collect(&set, &snap, snap.t_ms);
	}
	if (json) {
		cJSON *o = json_obj();
		json_add_num(o, "time_ms", (double)snap.t_ms);
		json_add(o, "collectors", collector_set_json(&set));
		json_add(o, "samples", snapshot_json(&snap));
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
		cJSON_Delete(o);
	} else {
		print_text(&snap);
		r = fflush(stdout) == 0 ? 0 : 1;
	}
	snapshot_release(&snap);
	collector_set_stop(&set);
	edge_conf_release(&c);
	return r;
}
