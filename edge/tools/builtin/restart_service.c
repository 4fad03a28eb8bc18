/* restart_service.c - restart a service (dangerous: it always waits for a human).
 *
 * How, in order:
 *   1. systemd is PID 1 (/run/systemd/system exists): `systemctl restart UNIT`, then
 *      `systemctl is-active UNIT` for the evidence;
 *   2. tools.restart_commands has "UNIT=command" (UNIT with or without ".service"): the
 *      command, split into words without a shell;
 *   3. tools.init_dir/UNIT (/etc/init.d by default) is executable: `... restart`.
 * Otherwise the call fails and says which of the three were missing. Each runs in the
 * sandbox with a 60 s timeout, a scrubbed environment and capped output, but not read-only:
 * restarting writes pid files and logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tools/argv_policy.h"
#include "edge/tools/sandbox.h"
#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

#define RESTART_TIMEOUT_MS 60000

static const char *init_dir(const struct edge_conf *c)
{
	return c->tools_init_dir && *c->tools_init_dir ? c->tools_init_dir : "/etc/init.d";
}

static bool systemd_booted(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* "nginx.service" and "nginx" name the same service outside systemd. */
static void base_name(const char *unit, char *out, size_t outsz)
{
	size_t n = strlen(unit);

	if (str_endswith(unit, ".service"))
		n -= strlen(".service");
	snprintf(out, outsz, "%.*s", (int)n, unit);
}

static const char *configured_command(const struct edge_conf *c, const char *base)
{
	size_t n = strlen(base);

	for (size_t i = 0; i < c->tools_restart_commands.n; i++) {
		const char *item = c->tools_restart_commands.v[i];
		const char *eq = strchr(item, '=');
		size_t klen = eq ? (size_t)(eq - item) : 0;

		if (!eq)
			continue;
		if (klen >= 8 && strncmp(item + klen - 8, ".service", 8) == 0)
			klen -= 8;
		if (klen == n && strncmp(item, base, n) == 0)
			return eq + 1;
	}
	return NULL;
}

static void add_run(cJSON *ev, const char *key, const char *cmd, const struct sandbox_result *res)
{
	cJSON *o = json_obj();

	json_add_str(o, "command", cmd);
	json_add_num(o, "exit_code", res->exit_code);
	json_add_bool(o, "timed_out", res->timed_out);
	json_add_num(o, "duration_ms", (double)res->duration_ms);
	tool_add_output(o, "output", res->output, res->len, res->truncated);
	json_add(ev, key, o);
}

static int restart_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *unit = cJSON_GetObjectItemCaseSensitive(args, "unit")->valuestring;
	struct sandbox_opts o = { .timeout_ms = RESTART_TIMEOUT_MS,
		                  .output_max = MIN(ctx->output_max, 16384),
		                  .keep_group = true };
	struct sandbox_result res = { 0 };
	char base[300], initd[400], finding[300];
	const char *method, *cmdline;
	struct argv_line l = { 0 };
	char *shown = NULL;
	bool ok;
	cJSON *ev;
	int r;

	base_name(unit, base, sizeof(base));
	snprintf(initd, sizeof(initd), "%s/%s", init_dir(ctx->conf), base);
	if (systemd_booted()) {
		char *const argv[] = { (char *)"systemctl", (char *)"restart", (char *)unit, NULL };
		method = "systemd";
		shown = xasprintf("systemctl restart %s", unit);
		r = sandbox_run_argv(argv, &o, &res, &ctx->diag);
	} else if ((cmdline = configured_command(ctx->conf, base))) {
		method = "tools.restart_commands";
		r = argv_split(cmdline, &l, &ctx->diag);
		if (r < 0)
			return diag_prefix(&ctx->diag, "tools.restart_commands: '%s': ", base);
		if (l.nstages != 1) {
			argv_line_release(&l);
			return diag_set(&ctx->diag, -EINVAL,
			                "tools.restart_commands: '%s': one command, no pipes",
			                base);
		}
		shown = argv_line_format(&l);
		r = sandbox_run_argv(l.stage[0].argv, &o, &res, &ctx->diag);
		argv_line_release(&l);
	} else if (access(initd, X_OK) == 0) {
		char *const argv[] = { initd, (char *)"restart", NULL };
		method = "init.d";
		shown = xasprintf("%s restart", initd);
		r = sandbox_run_argv(argv, &o, &res, &ctx->diag);
	} else {
		return diag_set(&ctx->diag, -ENOENT,
		                "restart_service: no way to restart '%s': systemd is not PID 1, "
		                "tools.restart_commands has no '%s=' entry and %s is not an "
		                "executable init script",
		                unit, base, initd);
	}
	if (r < 0) {
		free(shown);
		return r;
	}
	ok = !res.timed_out && res.exit_code == 0;
	ev = json_obj();
	if (ok)
		snprintf(finding, sizeof(finding), "restarted '%s' with %s", unit, method);
	else if (res.timed_out)
		snprintf(finding, sizeof(finding), "restart of '%s' with %s did not finish in %ds",
		         unit, method, RESTART_TIMEOUT_MS / 1000);
	else
		snprintf(finding, sizeof(finding),
		         "restart of '%s' with %s failed (exit status %d)", unit, method,
		         res.exit_code);
	json_add_str(ev, "finding", finding);
	json_add_str(ev, "unit", unit);
	json_add_str(ev, "method", method);
	json_add_bool(ev, "restarted", ok);
	add_run(ev, "restart", shown, &res);
	sandbox_result_release(&res);
	free(shown);
	if (strcmp(method, "systemd") == 0) {
		char *const argv[] = { (char *)"systemctl", (char *)"is-active", (char *)unit,
			               NULL };
		struct diag ignore = { 0 };
		struct sandbox_opts q = { .timeout_ms = 10000,
			                  .output_max = 1024,
			                  .read_only = true };
		if (sandbox_run_argv(argv, &q, &res, &ignore) == 0) {
			add_run(ev, "state", "systemctl is-active", &res);
			sandbox_result_release(&res);
		}
	}
	*ret_evidence = ev;
	return 0;
}

static int restart_classify(struct tool_ctx *ctx, const cJSON *args, enum tool_class *ret_class,
                            struct diag *why)
{
	const char *unit = cJSON_GetObjectItemCaseSensitive(args, "unit")->valuestring;
	char base[300];

	base_name(unit, base, sizeof(base));
	*ret_class = TOOL_DANGEROUS;
	if (systemd_booted())
		diag_set(why, 0, "would run 'systemctl restart %s'", unit);
	else if (configured_command(ctx->conf, base))
		diag_set(why, 0, "would run '%s' (tools.restart_commands)",
		         configured_command(ctx->conf, base));
	else
		diag_set(why, 0, "would run '%s/%s restart'", init_dir(ctx->conf), base);
	return 0;
}

const struct tool tool_restart_service = {
	.name = "restart_service",
	.class = TOOL_DANGEROUS,
	.summary = "restart a service: systemd unit, configured command, or /etc/init.d script",
	.description = "Restart one service by unit name (\"nginx\" or \"nginx.service\"). Always "
	               "needs a human approval. Works with systemd as PID 1 and without it.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"unit\"],\"properties\":{"
	               "\"unit\":{\"type\":\"string\",\"maxLength\":256,"
	               "\"pattern\":\"^[A-Za-z0-9][A-Za-z0-9@._:-]*$\"}},"
	               "\"additionalProperties\":false}",
	.run = restart_run,
	.classify = restart_classify,
};
