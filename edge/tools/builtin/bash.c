/* bash.c - the bash tool: one diagnostic command line, run without a shell when the
 * allowlist (argv_policy) accepts it, read-only in the sandbox. A command the allowlist
 * refuses is not an error but a `dangerous` call: the gate turns it into a proposal with
 * the refusal as its reason, and only after a human approves does it run, through
 * /bin/sh -c, still with the timeout, output cap and scrubbed environment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/tools/argv_policy.h"
#include "edge/tools/sandbox.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

static void rules_from_conf(const struct edge_conf *c, struct path_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->deny = (const char *const *)c->tools_deny_paths.v;
	r->ndeny = c->tools_deny_paths.n;
	r->read_roots = (const char *const *)c->tools_read_paths.v;
	r->nread_roots = c->tools_read_paths.n;
	r->data_dir = c->data_dir;
	r->conf_dir = "/etc/ongrid";
}

static const char *command_of(const cJSON *args)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(args, "command");

	return cJSON_IsString(c) ? c->valuestring : "";
}

static int bash_classify(struct tool_ctx *ctx, const cJSON *args, enum tool_class *ret_class,
                         struct diag *why)
{
	struct path_rules rules;
	struct argv_line l;
	struct diag d = { 0 };

	rules_from_conf(ctx->conf, &rules);
	if (argv_policy_vet(&rules, command_of(args), &l, &d) == 0) {
		argv_line_release(&l);
		*ret_class = TOOL_SAFE_READ;
		return 0;
	}
	*ret_class = TOOL_DANGEROUS;
	diag_set(why, -EPERM, "refused by the read-only allowlist: %s", d.msg);
	return 0;
}

static int64_t timeout_for(const struct tool_ctx *ctx, const cJSON *args)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(args, "timeout_s");
	int64_t ms =
	        ctx->conf->tools_bash_timeout_ms > 0 ? ctx->conf->tools_bash_timeout_ms : 10000;

	if (cJSON_IsNumber(t) && t->valuedouble * 1000 < (double)ms)
		ms = (int64_t)(t->valuedouble * 1000);
	return ms;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case 9:
		return "KILL";
	case 15:
		return "TERM";
	case 6:
		return "ABRT";
	case 11:
		return "SEGV";
	case 13:
		return "PIPE";
	case 24:
		return "XCPU";
	case 25:
		return "XFSZ";
	default:
		return "other";
	}
}

static cJSON *evidence_of(const char *cmd, const char *ran, const char *mode,
                          const struct sandbox_result *res, int64_t timeout_ms)
{
	cJSON *ev = json_obj();
	char finding[256];
	size_t lines = 0;

	for (size_t i = 0; i < res->len; i++)
		lines += res->output[i] == '\n';
	if (res->timed_out)
		snprintf(finding, sizeof(finding),
		         "killed after the %llds timeout; %zu lines of output",
		         (long long)(timeout_ms / 1000), lines);
	else if (res->term_signal)
		snprintf(finding, sizeof(finding), "ended by SIG%s; %zu lines of output",
		         signal_name(res->term_signal), lines);
	else
		snprintf(finding, sizeof(finding), "exit status %d; %zu lines of output%s",
		         res->exit_code, lines, res->truncated ? " (truncated)" : "");
	json_add_str(ev, "finding", finding);
	json_add_str(ev, "command", cmd);
	json_add_str(ev, "ran", ran);
	json_add_str(ev, "mode", mode);
	json_add_num(ev, "exit_code", res->exit_code);
	if (res->term_signal)
		json_add_str(ev, "signal", signal_name(res->term_signal));
	json_add_bool(ev, "timed_out", res->timed_out);
	json_add_bool(ev, "truncated", res->truncated);
	json_add_num(ev, "duration_ms", (double)res->duration_ms);
	tool_add_output(ev, "output", res->output, res->len, res->truncated);
	return ev;
}

static int bash_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *cmd = command_of(args);
	struct sandbox_opts o = { .timeout_ms = timeout_for(ctx, args),
		                  .output_max = ctx->output_max };
	struct sandbox_result res;
	struct path_rules rules;
	struct argv_line l;
	struct diag refusal = { 0 };
	char *ran;
	int r;

	rules_from_conf(ctx->conf, &rules);
	if (argv_policy_vet(&rules, cmd, &l, &refusal) == 0) {
		o.read_only = true;
		r = sandbox_run(&l, &o, &res, &ctx->diag);
		ran = argv_line_format(&l);
		argv_line_release(&l);
		if (r == 0)
			*ret_evidence = evidence_of(cmd, ran, "read-only", &res, o.timeout_ms);
		free(ran);
		sandbox_result_release(&res);
		return r;
	}
	/* Defence in depth: the gate never gets here without an approval, and neither may a
	 * caller that bypasses it. */
	if (!ctx->approval_id)
		return diag_set(&ctx->diag, -EPERM, "bash: %s (needs an approved proposal)",
		                refusal.msg);
	{
		char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
		r = sandbox_run_argv(argv, &o, &res, &ctx->diag);
		if (r == 0)
			*ret_evidence = evidence_of(cmd, cmd, "approved-shell", &res, o.timeout_ms);
		sandbox_result_release(&res);
	}
	return r;
}

const struct tool tool_bash = {
	.name = "bash",
	.class = TOOL_SAFE_READ,
	.summary = "run a read-only diagnostic command line (allowlisted programs, no shell)",
	.description =
	        "Run one diagnostic command on this host, e.g. \"ss -tlnp\", \"journalctl -u nginx "
	        "-n 50 --no-pager\", \"ps aux | grep java\". Only read-only programs on the "
	        "allowlist run directly (cat head tail grep sed awk sort uniq wc cut ls stat df du "
	        "free uptime ps top ss ip netstat lsof dmesg journalctl systemctl find date id "
	        "sysctl mount lsblk vmstat ...), with pipes between them but no other shell "
	        "syntax, and never on secrets (shadow, .ssh, keys, /proc/*/environ). Anything else "
	        "becomes a dangerous proposal that waits for a human. Returns the exit status and "
	        "the output (capped).",
	.args_schema = "{\"type\":\"object\",\"required\":[\"command\"],\"properties\":{"
	               "\"command\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096,"
	               "\"description\":\"the command line\"},"
	               "\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":300,"
	               "\"description\":\"at most tools.bash_timeout\"}},"
	               "\"additionalProperties\":false}",
	.run = bash_run,
	.classify = bash_classify,
};
