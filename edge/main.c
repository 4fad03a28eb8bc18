/* main.c - ongrid-edge: argv -> the command table. */
#include <stddef.h>

#include "edge/edge.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/banned.h"

static const struct cli_cmd commands[] = {
	{ "status", cmd_status, "status [-c FILE] [--json]",
	  "this host's capabilities, collectors on/off and why, configuration in use" },
	{ "topology", cmd_topology, "topology [-c FILE] [--json]",
	  "this host's connection graph now (the relay's report shape)" },
	{ "collect", cmd_collect,
	  "collect [--only NAMES] [--interval 1s] [--rounds 2] [--ready] [--json]",
	  "run the collectors in the foreground and print the last round's samples" },
	{ "run", cmd_run, "run [-c FILE]",
	  "run the edge daemon: collectors, time-series store, control socket, /metrics" },
	{ "query", cmd_query,
	  "query 'PROMQL' [--since 30m] [--step 15s] [--time T] [-c FILE] [--json]",
	  "evaluate PromQL over this host's time series: instant, or a range with --since/--step" },
	{ "logs", cmd_logs,
	  "logs 'LOGQL' [--since 1h] [--step 1m] [--limit 100] [-c FILE] [--json]",
	  "query this host's indexed logs with LogQL: lines, or counts and rates per series" },
	{ "patterns", cmd_patterns,
	  "patterns [--since 1h | --changed-since T] [--limit 20] [-c FILE] [--json]",
	  "log templates with counts per minute: the top ones, or those new or spiked since T" },
	{ "tail", cmd_tail, "tail [-c FILE] [--once] [--interval 1s] [--json]",
	  "run only the log pipeline in the foreground: tail logs.paths and the journal, index" },
	{ "tools", cmd_tools, "tools [--role ROLE] [-c FILE] [--json]",
	  "every tool: name, class (safe-read, safe-write, dangerous), summary, argument schema" },
	{ "tool", cmd_tool,
	  "tool NAME ['JSON'] [--role viewer|operator|admin] [--as NAME] [--json]",
	  "one tool call through the gate the agent uses; dangerous calls become proposals" },
	{ "investigate", cmd_investigate,
	  "investigate \"QUESTION\" [--incident ID] [--context FILE] [--offline] [-c FILE] "
	  "[--json]",
	  "find the root cause: metrics that moved, log spikes, latency tails, changes; a report" },
	{ "approve", cmd_approve, "approve ID [--as NAME] [--json] | approve --list",
	  "approve a proposed dangerous call; the last needed approval runs it" },
	{ "deny", cmd_deny, "deny ID [--as NAME] [--json]", "deny a proposed dangerous call" },
	{ "config", cmd_config, "config [-c FILE] [--json | --doc | --check]",
	  "print the effective configuration, its reference, or check a file" },
	{ "connect", cmd_connect,
	  "connect [-c FILE] [--topology FILE] [--call TYPE ['JSON']] [--timeout 10s] [--json]",
	  "the relay tunnel, outbox and topology reports, in the foreground; or one request to "
	  "the relay" },
	{ "alerts", cmd_alerts,
	  "alerts [-c FILE] [--json] | alerts --defaults | alerts --check FILE",
	  "local alert rules and what is pending or firing; the built-in rules; check a rules "
	  "file" },
	{ "outbox", cmd_outbox, "outbox add KIND 'JSON' | count [-c FILE] [--json]",
	  "queue a message for the relay (delivered exactly once), or show the queue" },
};

static const struct cli edge_cli = {
	.prog = "ongrid-edge",
	.about = "The ongrid edge agent: collects kernel and host telemetry, stores it locally, "
	         "runs tools\nand investigations on this host. Configuration: "
	         "/etc/ongrid/edge.conf (-c FILE), ONGRID_* variables.",
	.cmds = commands,
	.ncmds = ARRAY_SIZE(commands),
};

int main(int argc, char **argv)
{
	return cli_main(&edge_cli, argc, argv);
}
