/* main.c - ongrid-relay: argv -> the command table. */
#include <stddef.h>

#include "relay/relay.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/banned.h"

static const struct cli_cmd commands[] = {
	{ "config", cmd_config, "config [-c FILE] [--json | --doc | --check]",
	  "print the effective configuration, its reference, or check a file" },
	{ "run", cmd_run, "run [-c FILE]",
	  "the relay daemon, in the foreground (SIGHUP re-reads llm.* and log.level)" },
	{ "keys", cmd_keys,
	  "keys create NAME [--role safe-read|safe-write|dangerous] [--json] | list [--json] | "
	  "revoke NAME",
	  "enrol edges: make, list and revoke access keys" },
	{ "edges", cmd_edges, "edges [-c FILE] [--json]",
	  "the edges: labels, version, address, connected since, last heartbeat" },
	{ "model", cmd_model,
	  "model [-c FILE] list [--json] | use PURPOSE PROVIDER/MODEL [--only] | reset PURPOSE",
	  "which model serves each purpose; switch it at run time" },
	{ "llm", cmd_llm,
	  "llm ask [-c FILE] [--purpose P] [--json] [--stream] ('PROMPT' | --request FILE) | "
	  "usage [--incident I] [--json]",
	  "one call through the LLM router (test keys and routes); tokens and cost spent" },
	{ "ask", cmd_ask, "ask [-c FILE] [--json] HOST \"QUESTION\"",
	  "the chat conversation in a terminal: ask HOST, then follow-ups from stdin" },
	{ "enrol", cmd_enrol,
	  "enrol NAME [--role ROLE] [--url BASE] [-c FILE] | enrol --fingerprint",
	  "create an edge key and print the one command that installs and enrols that host" },
	{ "postmortem", cmd_postmortem,
	  "postmortem INCIDENT [--to thread|dingtalk|wecom|lark] [-c FILE]",
	  "a post-mortem draft of an incident: timeline, evidence, actions and who decided" },
};

static const struct cli relay_cli = {
	.prog = "ongrid-relay",
	.about = "The ongrid relay: authenticates edges that dial out to it and routes LLM calls,\n"
	         "chat messages and cross-host queries. Configuration: /etc/ongrid/relay.conf "
	         "(-c FILE),\nONGRID_* variables.",
	.cmds = commands,
	.ncmds = ARRAY_SIZE(commands),
};

int main(int argc, char **argv)
{
	return cli_main(&relay_cli, argc, argv);
}
